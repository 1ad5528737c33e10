// Import an ONNX model into the typed graph, for the mtl engine: initializers become constants, graph inputs
// become inputs (a symbolic first dimension is the batch), and every node is recognized by one op's importer
// (src/ops/: each op knows its own ONNX form, including multi-node ones such as GELU or a mixture). An operator
// no op recognizes is refused by name before anything runs.
import { Graph, type Value } from "../graph/graph.ts";
import type { Dim, DType } from "../graph/shape.ts";
import { isNone, type ImportCtx, type Importer } from "../graph/op.ts";
import { OPS } from "../graph/registry.ts";
import { DataType, dataTypeName, type ModelProto, type TensorProto } from "./model.ts";

/** Importers by the ONNX op type they start at, in registry order. */
const IMPORTERS = new Map<string, Importer[]>();
for (const d of OPS) {
  if (isNone(d.imports)) continue;
  for (const im of d.imports) {
    let l = IMPORTERS.get(im.onnx);
    if (!l) IMPORTERS.set(im.onnx, (l = []));
    l.push(im);
  }
}
/** ONNX ops that only appear inside a pattern started by another op (GELU's Erf, a mixture's Mul and ReduceSum, a cross-stitch's MatMul, DSelect-k's Clip and ReduceProd, …). */
const INSIDE = ["Erf", "Mul", "Add", "Div", "Concat", "ReduceSum", "GatherElements", "Relu", "MatMul", "Clip", "ReduceProd", "Transpose", "Sub", "Max", "Min", "ReduceMax", "Cast", "GRU", "Where", "Sin", "Cos"];

/** Every ONNX operator the mtl engine runs (in some form). */
export const SUPPORTED_OPS: readonly string[] = [...new Set([...IMPORTERS.keys(), ...INSIDE])].sort();

export interface Imported {
  graph: Graph;
  /** The graph inputs a caller feeds, in the model's order. */
  inputs: Value[];
  outputs: { name: string; value: Value }[];
}

/**
 * `symbols` fixes symbolic input dimensions other than the batch by name (an mtl-wasm text model's token length "L"
 * is its inputs.tokens.max_length); any other symbolic dimension after the first is an error.
 */
export function importOnnx(model: ModelProto, label = "model.onnx", symbols: Readonly<Record<string, number>> = {}): Imported {
  const og = model.graph;
  const where = (i: number) => `${label}: node ${JSON.stringify(og.node[i].name || `#${i}`)} (index ${i})`;
  og.node.forEach((n, i) => {
    if ((n.domain !== "" && n.domain !== "ai.onnx") || !IMPORTERS.has(n.opType) && !INSIDE.includes(n.opType))
      throw new Error(`${where(i)} uses operator ${n.domain ? `${n.domain}.` : ""}${n.opType}, which the mtl engine does not support; supported: ${SUPPORTED_OPS.join(", ")}`);
  });
  const g = new Graph(og.name || label);
  const values = new Map<string, Value>();
  const inits = new Map<string, TensorProto>();
  for (const t of og.initializer) {
    let data: Float32Array | Int32Array | BigInt64Array;
    if (t.dataType === DataType.FLOAT) data = t.data as Float32Array;
    else if (t.dataType === DataType.INT64) data = t.data as BigInt64Array;
    else throw new Error(`${label}: initializer ${JSON.stringify(t.name)} has data type ${dataTypeName(t.dataType)}; the mtl engine supports FLOAT and INT64`);
    inits.set(t.name, t);
    values.set(t.name, g.constant(t.name, data, t.dims));
  }
  const inputs: Value[] = [];
  for (const v of og.input) {
    if (inits.has(v.name)) continue;
    const et = v.type?.elemType;
    const dtype: DType | null = et === DataType.FLOAT ? "f32" : et === DataType.INT64 ? "i64" : null;
    if (!dtype) throw new Error(`${label}: input ${JSON.stringify(v.name)} has element type ${dataTypeName(et ?? 0)}; the mtl engine takes FLOAT and INT64 inputs`);
    const shape: Dim[] = (v.type?.shape ?? []).map((d, j) => {
      if (typeof d === "number") return d;
      if (j === 0) return "N";
      if (typeof d === "string" && Number.isInteger(symbols[d]) && symbols[d] > 0) return symbols[d];
      throw new Error(`${label}: input ${JSON.stringify(v.name)} has a symbolic dimension ${j} (${String(d)}); only the first (batch) dimension may be symbolic`);
    });
    if (shape[0] !== "N") throw new Error(`${label}: input ${JSON.stringify(v.name)} must have a symbolic batch dimension first, got [${shape}]`);
    const x = g.input(v.name, dtype, shape);
    values.set(v.name, x);
    inputs.push(x);
  }
  const consumed = new Uint8Array(og.node.length);
  const outputs = new Set(og.output.map((o) => o.name));
  const ctx: ImportCtx = {
    graph: g,
    nodes: og.node,
    value: (n) => values.get(n),
    initializer: (n) => inits.get(n),
    soleReader(n) {
      if (outputs.has(n)) return -1;
      let at = -1;
      for (let i = 0; i < og.node.length; i++) {
        if (consumed[i] || !og.node[i].input.includes(n)) continue;
        if (at >= 0) return -1;
        at = i;
      }
      return at;
    },
    bind(n, v) {
      if (values.has(n)) throw new Error(`${label}: value ${JSON.stringify(n)} is defined twice`);
      values.set(n, v);
    },
    consume: (...is) => is.forEach((i) => (consumed[i] = 1)),
    where,
  };
  og.node.forEach((n, i) => {
    if (consumed[i]) return;
    for (const im of IMPORTERS.get(n.opType) ?? []) if (im.match(ctx, i)) return;
    throw new Error(`${where(i)}: this ${n.opType} is not in a form the mtl engine runs (it runs the graphs mtl-wasm exports)`);
  });
  const outs = og.output.map((o) => {
    const v = values.get(o.name);
    if (!v) throw new Error(`${label}: graph output ${JSON.stringify(o.name)} is never computed`);
    return { name: o.name, value: v };
  });
  return { graph: g, inputs, outputs: outs };
}
