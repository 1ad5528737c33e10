// Export a trained Model to ONNX (IR 8, opset 17, symbolic batch dimension "N"): the model's graph at the raw
// boundary (src/model/lower.ts), each node lowered by its op's `onnx` (src/ops/), parameters as initializers.
//
// Inputs (only those the model uses):
//   numeric      float [N, F]  raw values in spec order; standardized inside the graph (Sub mean, Div std)
//   tensor       float [N, T]  the raw tensor input
//   categorical  int64 [N, C]  vocabulary indices in spec order (0 = unknown; vocabularies in metadata "mtl.preprocessing")
//   groups       int64 [N, G]  group index of each group_by task, in task order
//   tokens       int64 [N, L]  token ids (0 padding, 1 unknown, then the vocabulary in metadata "mtl.preprocessing"),
//                              L symbolic: real tokens first; the graph derives the mask from id > 0
// Outputs: one per task, named after it: probabilities (binary, multilabel: sigmoid; multiclass: softmax) or values
// (regression, in the label's units), each followed by the task's extra outputs `<task>.<name>` (ESMM's conditional
// `conversion.given_click`); a tagging task's output is [N, L, tags] (softmax per token). Dropout is omitted.
import type { Model } from "../model/model.ts";
import { INPUT, lowerSpec } from "../model/lower.ts";
import type { Value } from "../graph/graph.ts";
import { isNone, type OnnxCtx } from "../graph/op.ts";
import { opDef } from "../graph/registry.ts";
import { GraphBuilder, type ElemTypeName } from "./builder.ts";
import { encodeModel } from "./model.ts";

export const ONNX_OPSET = 17;
export const ONNX_IR_VERSION = 8;

const ELEM: Record<string, ElemTypeName> = { f32: "float", i64: "int64", i32: "int32" };

/** The ONNX model bytes of `model`'s current weights. */
export function exportOnnx(model: Model, opts: { producerVersion?: string } = {}): Uint8Array {
  const { spec, pre } = model;
  const graph = lowerSpec(spec, model.dims, pre, "raw");
  const g = new GraphBuilder(spec.name);
  const w = model.getWeights();
  const names = new Map<Value, string>();
  const outNames = new Map<Value, string>(graph.tasks.flatMap((t) => [[t.output, t.name] as const, ...(t.extras ?? []).map((x) => [x.value, `${t.name}.${x.name}`] as const)]));
  // The token input's length is symbolic: nothing in the graph depends on it.
  for (const v of graph.inputs()) names.set(v, g.input(v.name, ELEM[v.dtype], v.name === INPUT.tokens ? ["N", "L"] : [...v.shape]));
  const ctx: OnnxCtx = {
    g,
    name(v) {
      let n = names.get(v);
      if (n !== undefined) return n;
      if (v.kind === "param") {
        const data = w[v.name];
        if (!data) throw new Error(`ONNX export: no parameter ${v.name}`);
        n = g.initializer(v.name, data, v.shape as number[]);
      } else if (v.kind === "const") n = g.initializer(g.uniqueName(v.name), v.data!, v.shape as number[]);
      else throw new Error(`ONNX export: ${v.name} is used before the node that computes it`);
      names.set(v, n);
      return n;
    },
    bind(v, onnxName) {
      names.set(v, onnxName);
    },
    outName: (v) => outNames.get(v),
    f32: (name, values, dims) => g.initializer(g.uniqueName(name), Float32Array.from(values), dims ?? [values.length]),
    i64: (name, values) => g.initializer(g.uniqueName(name), BigInt64Array.from(values.map(BigInt)), [values.length]),
    i64Scalar: (name, value) => g.initializer(g.uniqueName(name), BigInt64Array.of(BigInt(value)), []),
  };
  for (const n of graph.needed([...outNames.keys()])) {
    const def = opDef(n.op);
    if (isNone(def.onnx)) throw new Error(`ONNX export: node ${n.name} (${n.op}) has no ONNX form (${def.onnx.none})`);
    def.onnx(ctx, n);
  }
  graph.tasks.forEach((t, i) => {
    const name = ctx.name(t.output);
    if (name !== t.name) throw new Error(`ONNX export: task ${t.name}'s output is named ${name}`);
    g.output(name, "float", spec.tasks[i].type === "tagging" ? ["N", "L", model.dims.outputs[i]] : ["N", model.dims.outputs[i]]);
    for (const x of t.extras ?? []) g.output(ctx.name(x.value), "float", ["N", model.dims.outputs[i]]);
  });
  g.metadata("mtl.format", "mtl-wasm/onnx");
  g.metadata("mtl.spec", JSON.stringify(spec));
  g.metadata("mtl.preprocessing", JSON.stringify(pre));
  g.metadata("mtl.inputs", JSON.stringify(onnxInputs(model)));
  return encodeModel(g.toModel({ producerName: "mtl-wasm", producerVersion: opts.producerVersion ?? "0.1.0", irVersion: ONNX_IR_VERSION, opset: ONNX_OPSET }));
}

/** What each ONNX input's columns are, for clients encoding raw rows. */
export function onnxInputs(model: Model): Record<string, string[]> {
  const { spec } = model;
  const out: Record<string, string[]> = {};
  if (model.pre.numeric.length) out.numeric = model.pre.numeric.map((s) => s.column);
  if (spec.inputs.tensor) out.tensor = Array.from({ length: spec.inputs.tensor }, (_, i) => `tensor[${i}]`);
  if (spec.inputs.categorical.length) out.categorical = spec.inputs.categorical.map((c) => c.column);
  if (spec.inputs.tokens) out.tokens = [spec.inputs.tokens.column];
  const grouped = spec.tasks.filter((t) => t.group_by);
  if (grouped.length) out.groups = grouped.map((t) => t.group_by!);
  return out;
}
