// Token embedding. embed_seq: table [V, D] and ids i32 [N, L] → [N, L, D], y[n, t, :] = table[ids[n, t], :]
// (assembly/kernels/embed.ts's lookup over the N·L ids). Backward scatter-adds dy into the table's gradient
// (accumulate-only: the planner zero-fills it) and skips attr `pad` (default 0; −1 trains every row): the padding
// row is never trained, so it keeps its initial value (zero it at init) and padding carries no learnt signal,
// whatever reads the embedding. Every sequence op downstream ignores padding positions anyway.
// seq_ids: an int64 [N, L] token input (the ONNX interface) as i32 [N, L]; an id outside [0, limit) is an error
// naming the node, row and position.
// ONNX: embed_seq → Gather(table, ids, axis 0), which accepts the int64 ids directly, so seq_ids emits nothing.
// Import: Gather(table [V, D], ids [N, L]) → (seq_ids when the ids are int64) + embed_seq.
import { attrNum, expect, type ImportCtx, type OpDef } from "../graph/op.ts";
import { showShape } from "../graph/shape.ts";

export const embedSeq: OpDef = {
  op: "embed_seq",
  infer([table, ids], attrs) {
    expect(table.dtype === "f32" && table.shape.length === 2, `table must be f32 [V, D], got ${showShape(table.shape)}`);
    expect(ids.dtype === "i32" && ids.shape.length === 2, `ids must be i32 [N, L], got ${ids.dtype} ${showShape(ids.shape)}`);
    attrNum(attrs, "pad", 0);
    return [{ dtype: "f32", shape: [ids.shape[0], ids.shape[1], table.shape[1]] }];
  },
  forward(c, n) {
    const [table, ids] = n.inputs, y = n.outputs[0];
    const f = c.call("embed_fwd_f32x4");
    const m = c.numel(ids), d = c.dims(table)[1];
    const ip = c.ptr(ids), tp = c.ptr(table), yp = c.ptr(y);
    return () => void f(m, d, ip, tp, yp, d);
  },
  backward(c, n) {
    const [table, ids] = n.inputs, y = n.outputs[0];
    const dt = c.grad(table);
    if (!dt) return null;
    c.accumulate(table);
    const g = c.call("embed_seq_bwd_f32x4");
    const m = c.numel(ids), d = c.dims(table)[1], ip = c.ptr(ids), dy = c.grad(y), pad = attrNum(n.attrs, "pad", 0);
    return () => void g(m, d, ip, dy, dt, pad);
  },
  saves: (n) => [n.inputs[1]],
  onnx(e, n) {
    const o = e.outName(n.outputs[0]);
    e.bind(n.outputs[0], e.g.node("Gather", [e.name(n.inputs[0]), e.name(n.inputs[1])], o ? [o] : 1, { axis: 0 })[0]);
  },
  imports: [{ onnx: "Gather", match: importGather }],
  describe: (n) => (attrNum(n.attrs, "pad", 0) >= 0 ? `pad id ${attrNum(n.attrs, "pad", 0)} fixed` : ""),
};

export const seqIds: OpDef = {
  op: "seq_ids",
  infer([x], attrs) {
    expect(x.dtype === "i64" && x.shape.length === 2, `token ids must be i64 [N, L], got ${x.dtype} ${showShape(x.shape)}`);
    attrNum(attrs, "limit");
    return [{ dtype: "i32", shape: [...x.shape] }];
  },
  forward(c, n) {
    const x = n.inputs[0], y = n.outputs[0];
    const [m, L] = c.dims(x), limit = attrNum(n.attrs, "limit");
    const xp = c.ptr(x) >>> 3, yp = c.ptr(y) >>> 2, what = c.where(n);
    return () => {
      const src = c.i64(), dst = c.i32();
      for (let i = 0; i < m * L; i++) {
        const v = Number(src[xp + i]);
        if (!(v >= 0 && v < limit)) throw new Error(`${what}: row ${Math.floor(i / L)}, position ${i % L}: token id ${v} is out of range [0, ${limit})`);
        dst[yp + i] = v;
      }
    };
  },
  backward: { none: "integer ids carry no gradient" },
  saves: () => [],
  onnx(e, n) {
    e.bind(n.outputs[0], e.name(n.inputs[0]));
  },
  imports: { none: "imported through Gather (see embed_seq)" },
};

/** Gather(table [V, D], ids [N, L], axis 0): ids i32, or i64 through seq_ids (bounded by V). */
function importGather(c: ImportCtx, i: number): boolean {
  const node = c.nodes[i];
  const axis = Number(node.attribute.find((a) => a.name === "axis")?.value ?? 0);
  const table = c.value(node.input[0]), ids = c.value(node.input[1]);
  if (!table || !ids || axis !== 0 || table.dtype !== "f32" || table.shape.length !== 2 || ids.shape.length !== 2) return false;
  if (ids.dtype !== "i32" && ids.dtype !== "i64") return false;
  const idx = ids.dtype === "i64" ? c.graph.add1("seq_ids", [ids], { limit: table.shape[0] as number }) : ids;
  c.bind(node.output[0], c.graph.add1("embed_seq", [table, idx], { pad: -1 }, node.name || undefined));
  c.consume(i);
  return true;
}
