// Categorical inputs. embedding: y[i, :] = table[idx[i], :], table [V, d], idx i32 [N] → [N, d]; backward
// scatter-adds dy into the table's gradient (accumulate-only: the planner zero-fills it first).
// index_column: column `col` of an int64 [N, C] index input as i32 [N] (the ONNX interface carries indices
// as int64; training feeds i32 directly). Index ranges are checked where indices come from the caller
// (index_column, with `limit`): an out-of-range index is an error naming the node, row and value.
// ONNX: embedding → Gather(table, idx, axis 0); index_column → Gather(x, col, axis 1).
import { attrNum, expect, type ImportCtx, type OpDef } from "../graph/op.ts";
import { showShape } from "../graph/shape.ts";

export const embedding: OpDef = {
  op: "embedding",
  infer([table, idx]) {
    expect(table.dtype === "f32" && table.shape.length === 2, `table must be f32 [V, d], got ${showShape(table.shape)}`);
    expect(idx.dtype === "i32" && idx.shape.length === 1, `indices must be i32 [N], got ${idx.dtype} ${showShape(idx.shape)}`);
    return [{ dtype: "f32", shape: [idx.shape[0], table.shape[1]] }];
  },
  forward(c, n) {
    const [table, idx] = n.inputs, y = n.outputs[0];
    const f = c.call("embed_fwd_f32x4");
    const m = c.dims(idx)[0], d = c.dims(table)[1];
    const ip = c.ptr(idx), tp = c.ptr(table), yp = c.ptr(y);
    return () => void f(m, d, ip, tp, yp, d);
  },
  backward(c, n) {
    const [table, idx] = n.inputs, y = n.outputs[0];
    const dt = c.grad(table);
    if (!dt) return null;
    c.accumulate(table);
    const g = c.call("embed_bwd_f32x4");
    const m = c.dims(idx)[0], d = c.dims(table)[1], ip = c.ptr(idx), dy = c.grad(y);
    return () => void g(m, d, ip, dy, d, dt);
  },
  saves: (n) => [n.inputs[1]],
  onnx(e, n) {
    const o = e.outName(n.outputs[0]);
    e.bind(n.outputs[0], e.g.node("Gather", [e.name(n.inputs[0]), e.name(n.inputs[1])], o ? [o] : 1, { axis: 0 })[0]);
  },
  imports: [{ onnx: "Gather", match: importGather }],
};

export const indexColumn: OpDef = {
  op: "index_column",
  infer([x], attrs) {
    expect(x.dtype === "i64" && x.shape.length === 2, `expected i64 [N, C], got ${x.dtype} ${showShape(x.shape)}`);
    const col = attrNum(attrs, "col");
    expect(Number.isInteger(col) && col >= 0 && col < (x.shape[1] as number), `col ${col} is outside [0, ${String(x.shape[1])})`);
    return [{ dtype: "i32", shape: [x.shape[0]] }];
  },
  forward(c, n) {
    const x = n.inputs[0], y = n.outputs[0];
    const [m, C] = c.dims(x), col = attrNum(n.attrs, "col"), limit = attrNum(n.attrs, "limit", 2 ** 31 - 1);
    const xp = c.ptr(x) >>> 3, yp = c.ptr(y) >>> 2, what = c.where(n);
    return () => {
      const src = c.i64(), dst = c.i32();
      for (let r = 0; r < m; r++) {
        const v = Number(src[xp + r * C + col]);
        if (!(v >= 0 && v < limit)) throw new Error(`${what}: row ${r}, column ${col}: index ${v} is out of range [0, ${limit})`);
        dst[yp + r] = v;
      }
    };
  },
  backward: { none: "integer indices carry no gradient" },
  saves: () => [],
  onnx(e, n) {
    const col = attrNum(n.attrs, "col");
    e.bind(n.outputs[0], e.g.node("Gather", [e.name(n.inputs[0]), e.i64Scalar(`col_${col}`, col)], 1, { axis: 1 })[0]);
  },
  imports: { none: "imported through Gather (see embedding)" },
};

/** Gather(x, scalar col, axis 1) on an int64 [N, C] input → index_column; Gather(table, idx, axis 0) → embedding. */
function importGather(c: ImportCtx, i: number): boolean {
  const node = c.nodes[i];
  const axis = Number(node.attribute.find((a) => a.name === "axis")?.value ?? 0);
  const data = c.value(node.input[0]), idx = c.value(node.input[1]);
  if (!data || !idx) throw new Error(`${c.where(i)}: inputs ${JSON.stringify(node.input)} must be defined before this node`);
  const colT = c.initializer(node.input[1]);
  if (axis === 1 && data.dtype === "i64" && colT && colT.data.length === 1) {
    const col = Number(colT.data[0]);
    // The table this index column feeds (if any) bounds its values.
    let limit = 2 ** 31 - 1;
    const r = c.soleReader(node.output[0]);
    if (r >= 0 && c.nodes[r].opType === "Gather") {
      const t = c.value(c.nodes[r].input[0]);
      if (t && t.shape.length === 2) limit = t.shape[0] as number;
    }
    c.bind(node.output[0], c.graph.add1("index_column", [data], { col, limit }, node.name || undefined));
    c.consume(i);
    return true;
  }
  if (axis === 0 && data.dtype === "f32" && data.shape.length === 2 && idx.dtype === "i32" && idx.shape.length === 1) {
    c.bind(node.output[0], c.graph.add1("embedding", [data, idx], {}, node.name || undefined));
    c.consume(i);
    return true;
  }
  throw new Error(`${c.where(i)}: only Gather of an embedding row (axis 0) or of one int64 index column (axis 1) is supported`);
}
