// Export a trained Model to ONNX (IR 8, opset 17, symbolic batch dimension "N").
//
// Inputs (only those the model uses):
//   numeric      float [N, F]  raw values in spec order; standardized inside the graph (Sub mean, Div std)
//   categorical  int64 [N, C]  vocabulary indices in spec order (0 = unknown; vocabularies in metadata "mtl.preprocessing")
//   tensor       float [N, T]  the raw tensor input
//   groups       int64 [N, G]  group index of each group_by task, in task order
// Outputs: one per task, named after it: probabilities (binary, multilabel: sigmoid; multiclass: softmax) or values
// (regression, in the label's units). Dropout is omitted. The layer walk mirrors src/model/build.ts; parity tests
// compare the two on every architecture.
import type { Activation, Layer, Task } from "../model/spec.ts";
import type { Model } from "../model/model.ts";
import { attr, GraphBuilder } from "./builder.ts";
import { encodeModel } from "./model.ts";

export const ONNX_OPSET = 17;
export const ONNX_IR_VERSION = 8;

/** The ONNX model bytes of `model`'s current weights. */
export function exportOnnx(model: Model, opts: { producerVersion?: string } = {}): Uint8Array {
  const { spec, pre } = model;
  const g = new GraphBuilder(spec.name);
  const w = model.getWeights();
  const N = "N";
  const weight = (name: string, shape: number[]) => {
    const data = w[name];
    if (!data) throw new Error(`ONNX export: no parameter ${name}`);
    return g.initializer(name, data, shape);
  };
  const shapeOf = (name: string) => model.store.get(name).shape;
  const f32 = (name: string, values: number[]) => g.initializer(g.uniqueName(name), Float32Array.from(values), [values.length]);
  const scalar = (name: string, v: number) => g.initializer(g.uniqueName(name), Float32Array.of(v), []);
  const i64 = (name: string, values: number[]) => g.initializer(g.uniqueName(name), BigInt64Array.from(values.map(BigInt)), [values.length]);

  // ---- inputs ---------------------------------------------------------------------------------------
  const parts: string[] = [];
  const F = pre.numeric.length;
  if (F) {
    const x = g.input("numeric", "float", [N, F]);
    const centered = g.node("Sub", [x, f32("numeric_mean", pre.numeric.map((s) => s.mean))])[0];
    parts.push(g.node("Div", [centered, f32("numeric_std", pre.numeric.map((s) => s.std))])[0]);
  }
  if (spec.inputs.tensor) parts.push(g.input("tensor", "float", [N, spec.inputs.tensor]));
  const C = spec.inputs.categorical.length;
  if (C) {
    const cat = g.input("categorical", "int64", [N, C]);
    spec.inputs.categorical.forEach((c, j) => {
      const idx = g.node("Gather", [cat, g.initializer(g.uniqueName(`col_${j}`), BigInt64Array.of(BigInt(j)), [])], 1, { axis: 1 })[0];
      const name = `embedding.${c.column}`;
      parts.push(g.node("Gather", [weight(name, shapeOf(name)), idx], 1, { axis: 0 })[0]);
    });
  }
  const x0 = parts.length === 1 ? parts[0] : g.node("Concat", parts, 1, { axis: 1 })[0];
  const grouped = spec.tasks.filter((t) => t.group_by);
  const groupsIn = grouped.length ? g.input("groups", "int64", [N, grouped.length]) : null;

  // ---- layers ---------------------------------------------------------------------------------------
  function activation(x: string, act: Activation): string {
    switch (act) {
      case "none":
        return x;
      case "relu":
        return g.node("Relu", [x])[0];
      case "leaky_relu":
        return g.node("LeakyRelu", [x], 1, { alpha: attr.float(0.01) })[0];
      case "sigmoid":
        return g.node("Sigmoid", [x])[0];
      case "tanh":
        return g.node("Tanh", [x])[0];
      case "gelu": {
        // 0.5·x·(1 + erf(x/√2)), exact (opset 17 has no Gelu).
        const e = g.node("Erf", [g.node("Div", [x, scalar("sqrt2", Math.SQRT2)])[0]])[0];
        const onePlus = g.node("Add", [e, scalar("one", 1)])[0];
        return g.node("Mul", [g.node("Mul", [x, scalar("half", 0.5)])[0], onePlus])[0];
      }
    }
  }
  const dense = (x: string, name: string) => g.node("Gemm", [x, weight(`${name}.weight`, shapeOf(`${name}.weight`)), weight(`${name}.bias`, shapeOf(`${name}.bias`))])[0];
  function mlp(x: string, ls: Layer[], name: string): string {
    let h = x;
    ls.forEach((l, i) => {
      h = dense(h, `${name}.${i}`);
      if (l.layernorm) {
        const s = `${name}.${i}`;
        h = g.node("LayerNormalization", [h, weight(`${s}.ln_scale`, shapeOf(`${s}.ln_scale`)), weight(`${s}.ln_bias`, shapeOf(`${s}.ln_bias`))], 1, { axis: -1, epsilon: attr.float(1e-5) })[0];
      }
      h = activation(h, l.activation);
    });
    return h;
  }
  /** Σ_j gate[:, j]·expert_j: stack [N, E, n] times gate [N, E, 1], summed over experts. */
  function combine(experts: string[], gate: string): string {
    const axes1 = i64("axes1", [1]);
    const stacked = g.node("Concat", experts.map((e) => g.node("Unsqueeze", [e, axes1])[0]), 1, { axis: 1 })[0];
    const g3 = g.node("Unsqueeze", [gate, i64("axes2", [2])])[0];
    return g.node("ReduceSum", [g.node("Mul", [stacked, g3])[0], axes1], 1, { keepdims: 0 })[0];
  }
  const gateOf = (t: Task) => g.node("Softmax", [dense(x0, `gate.${t.name}`)], 1, { axis: -1 })[0];

  const a = spec.architecture;
  let towerIn: string[];
  if (a.type === "hps") {
    const h = mlp(x0, a.layers, "shared");
    towerIn = spec.tasks.map(() => h);
  } else if (a.type === "mmoe") {
    const experts = Array.from({ length: a.experts }, (_, j) => mlp(x0, a.layers, `expert.${j}`));
    towerIn = spec.tasks.map((t) => combine(experts, gateOf(t)));
  } else {
    const shared = Array.from({ length: a.shared_experts }, (_, j) => mlp(x0, a.layers, `shared_expert.${j}`));
    towerIn = spec.tasks.map((t) => {
      const own = Array.from({ length: a.task_experts }, (_, j) => mlp(x0, a.layers, `task_expert.${t.name}.${j}`));
      return combine([...own, ...shared], gateOf(t));
    });
  }

  // ---- heads and outputs -------------------------------------------------------------------------------
  spec.tasks.forEach((t, i) => {
    const width = model.dims.outputs[i];
    const h = mlp(towerIn[i], t.tower, `tower.${t.name}`);
    let logits = dense(h, `head.${t.name}`);
    if (t.group_by) {
      if (width !== 1) throw new Error(`ONNX export: task ${t.name}: group_by heads are exported for single-output tasks only (width ${width})`);
      // pred = shared + dev[:, g]: GatherElements picks each row's own group column.
      const dev = dense(h, `head.${t.name}.groups`);
      const gi = g.node("Gather", [groupsIn!, g.initializer(g.uniqueName(`group_${grouped.indexOf(t)}`), BigInt64Array.of(BigInt(grouped.indexOf(t))), [])], 1, { axis: 1 })[0];
      const picked = g.node("GatherElements", [dev, g.node("Unsqueeze", [gi, i64("axes1", [1])])[0]], 1, { axis: 1 })[0];
      logits = g.node("Add", [logits, picked])[0];
    }
    let out: string;
    if (t.type === "multiclass") out = g.node("Softmax", [logits], [t.name], { axis: -1 })[0];
    else if (t.type === "regression") {
      const tg = pre.tasks[i].target;
      out = tg
        ? g.node("Add", [g.node("Mul", [logits, f32(`${t.name}_std`, tg.map((s) => s.std))])[0], f32(`${t.name}_mean`, tg.map((s) => s.mean))], [t.name])[0]
        : g.node("Identity", [logits], [t.name])[0];
    } else out = g.node("Sigmoid", [logits], [t.name])[0];
    g.output(out, "float", [N, width]);
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
  const grouped = spec.tasks.filter((t) => t.group_by);
  if (grouped.length) out.groups = grouped.map((t) => t.group_by!);
  return out;
}
