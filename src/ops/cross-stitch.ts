// cross_stitch (Misra et al. 2016): inputs x_0 … x_{T−1} (the task columns: f32, one shape of any rank, batch
// first) and alpha [T, T]; outputs y_0 … y_{T−1} of that shape, y_i = Σ_j alpha[i, j]·x_j elementwise.
// T separate outputs rather than one stacked value: stacking image columns [N, C, H, W] would need rank 5, and
// training programs have no views into a stack. The kernels take the columns' addresses as tables (scratch
// written in each step). Backward: one kernel writes every dx_j and dalpha with one beta (betaAll).
// ONNX: X = Concat(Reshape(x_j, [0, 1, −1]), axis 1) [N, T, F]; Y = MatMul(alpha, X) [N, T, F] (alpha broadcast
// over the batch); y_i = Gather(Y, i, axis 1) [N, F], then Reshape(·, [0, …dims]) when the columns are not [N, F].
import type { Value } from "../graph/graph.ts";
import { expect, sameShape, type FwdCtx, type ImportCtx, type OpDef } from "../graph/op.ts";
import { showShape } from "../graph/shape.ts";

const COLUMN = [0, 1, -1];

/** Write `ptrs` (byte addresses, 0 for none) into the u32 table at `table`. */
function table(c: FwdCtx, at: number, ptrs: readonly number[]): void {
  const v = c.i32();
  for (let j = 0; j < ptrs.length; j++) v[(at >> 2) + j] = ptrs[j];
}

export const crossStitch: OpDef = {
  op: "cross_stitch",
  infer(inputs) {
    const cols = inputs.slice(0, -1), alpha = inputs[inputs.length - 1], T = cols.length;
    expect(T >= 1, "expected the task columns and alpha");
    const s = cols[0].shape;
    for (const v of cols) expect(v.dtype === "f32" && v.shape.length >= 2 && sameShape(v.shape, s), `columns must all be f32 ${showShape(s)} (batch first), got ${showShape(v.shape)}`);
    expect(new Set(cols).size === T, "the columns must be distinct values");
    expect(alpha.dtype === "f32" && alpha.shape.length === 2 && alpha.shape[0] === T && alpha.shape[1] === T, `alpha must be [${T}, ${T}], got ${showShape(alpha.shape)}`);
    return cols.map(() => ({ dtype: "f32" as const, shape: [...s] }));
  },
  forward(c, n) {
    const cols = n.inputs.slice(0, -1), T = cols.length, len = c.numel(cols[0]);
    const f = c.call("cross_stitch_fwd_f32x4"), ap = c.ptr(n.inputs[T]);
    const xs = c.scratch(T), ys = c.scratch(T);
    const xp = cols.map((v) => c.ptr(v)), yp = n.outputs.map((v) => c.ptr(v));
    return () => {
      table(c, xs, xp);
      table(c, ys, yp);
      f(T, len, xs, ap, ys);
    };
  },
  backward(c, n) {
    const cols = n.inputs.slice(0, -1), alpha = n.inputs[cols.length], T = cols.length, len = c.numel(cols[0]);
    const dxp = cols.map((v) => c.grad(v)), da = c.grad(alpha);
    if (!da && dxp.every((d) => !d)) return null;
    const beta = c.betaAll(n.inputs.filter((v) => c.grad(v)));
    const g = c.call("cross_stitch_bwd_f32x4"), ap = c.ptr(alpha);
    const xp = cols.map((v) => c.ptr(v)), dyp = n.outputs.map((v) => c.grad(v));
    const xs = c.scratch(T), dys = c.scratch(T), dxs = c.scratch(T);
    return () => {
      table(c, xs, xp);
      table(c, dys, dyp);
      table(c, dxs, dxp);
      g(T, len, xs, ap, dys, dxs, da, beta);
    };
  },
  saves: (n) => [...n.inputs],
  onnx(e, n) {
    const cols = n.inputs.slice(0, -1), T = cols.length, rest = cols[0].shape.slice(1) as number[];
    const flat = e.i64("stitch_column", COLUMN);
    const X = e.g.node("Concat", cols.map((v) => e.g.node("Reshape", [e.name(v), flat])[0]), 1, { axis: 1 })[0];
    const Y = e.g.node("MatMul", [e.name(n.inputs[T]), X])[0];
    n.outputs.forEach((v, i) => {
      const o = e.outName(v);
      if (rest.length === 1) return void e.bind(v, e.g.node("Gather", [Y, e.i64Scalar("stitch_index", i)], o ? [o] : 1, { axis: 1 })[0]);
      const y = e.g.node("Gather", [Y, e.i64Scalar("stitch_index", i)], 1, { axis: 1 })[0];
      e.bind(v, e.g.node("Reshape", [y, e.i64("stitch_shape", [0, ...rest])], o ? [o] : 1)[0]);
    });
  },
  imports: [{ onnx: "Reshape", match: importStitch }],
  describe: (n) => `${n.inputs.length - 1} columns`,
};

/** The export's form above, starting at the first column's Reshape; false when the Reshape is another one. */
function importStitch(c: ImportCtx, i: number): boolean {
  const ints = (name: string) => {
    const t = c.initializer(name);
    return t && t.data instanceof BigInt64Array ? Array.from(t.data, Number) : null;
  };
  if (ints(c.nodes[i].input[1])?.join() !== COLUMN.join()) return false;
  const ci = c.soleReader(c.nodes[i].output[0]);
  const cat = ci >= 0 ? c.nodes[ci] : null;
  if (!cat || cat.opType !== "Concat" || Number(cat.attribute.find((a) => a.name === "axis")?.value) !== 1) return false;
  const rs = cat.input.map((s) => c.nodes.findIndex((q) => q.output[0] === s));
  if (rs.some((r) => r < 0 || c.nodes[r].opType !== "Reshape" || ints(c.nodes[r].input[1])?.join() !== COLUMN.join())) return false;
  const cols = rs.map((r) => c.value(c.nodes[r].input[0]));
  const mi = c.soleReader(cat.output[0]);
  const mm = mi >= 0 ? c.nodes[mi] : null;
  if (!mm || mm.opType !== "MatMul" || mm.input[1] !== cat.output[0]) return false;
  const alpha = c.value(mm.input[0]);
  if (cols.some((v) => !v) || !alpha) throw new Error(`${c.where(i)}: a cross-stitch reads a value not defined before it`);
  const T = cols.length, rank = cols[0]!.shape.length;
  // Every reader of Y is one output's Gather (axis 1, a constant index), followed by a Reshape for image columns.
  const outs: (string | null)[] = new Array(T).fill(null);
  const used: number[] = [];
  c.nodes.forEach((q, k) => {
    if (!q.input.includes(mm.output[0])) return;
    const idx = ints(q.input[1]);
    if (q.opType !== "Gather" || q.input[0] !== mm.output[0] || Number(q.attribute.find((a) => a.name === "axis")?.value) !== 1 || !idx || idx.length !== 1 || !(idx[0] >= 0 && idx[0] < T) || outs[idx[0]])
      throw new Error(`${c.where(k)}: a cross-stitch's mixed columns must each be read by one Gather (axis 1, a constant index below ${T})`);
    used.push(k);
    let out = q.output[0];
    if (rank > 2) {
      const r = c.soleReader(out);
      const want = [0, ...cols[0]!.shape.slice(1)].join();
      if (r < 0 || c.nodes[r].opType !== "Reshape" || ints(c.nodes[r].input[1])?.join() !== want) throw new Error(`${c.where(k)}: a cross-stitch over [${cols[0]!.shape}] columns must reshape each output back with [${want}]`);
      used.push(r);
      out = c.nodes[r].output[0];
    }
    outs[idx[0]] = out;
  });
  const ys = c.graph.add("cross_stitch", [...(cols as Value[]), alpha], {}, mm.name || undefined);
  outs.forEach((o, k) => o && c.bind(o, ys[k]));
  c.consume(...rs, ci, mi, ...used);
  return true;
}
