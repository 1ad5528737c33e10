// seq_pool: masked pooling over time for sentence-level heads. x f32 [N, L, D], mask f32 [N, L] (1 real token,
// 0 padding) → y [N, D]; attr mode "max" | "mean".
// - max: the largest real value per channel; the backward routes dy to that position (the first maximum). The
//   training forward saves the argmax (i32 [N, D], program scratch); inference skips it.
// - mean: the sum over real positions divided by the row's real length.
// A row without real tokens gives 0 and passes no gradient. Kernels: assembly/kernels/seq.ts.
// ONNX (mask 0/1): m3 = Unsqueeze(mask, [2]);
//   mean: Div(ReduceSum(Mul(x, m3), [1], keepdims 0), Max(ReduceSum(mask, [1]), 1))
//   max:  Mul(ReduceMax(Add(x, Mul(Sub(m3, 1), 1e30)), [1], keepdims 0), Min(ReduceSum(mask, [1]), 1))
// Both chains import back (seq-onnx.ts: consecutive nodes).
import type { Node } from "../graph/graph.ts";
import { attrStr, expect, type ImportCtx, type OnnxCtx, type OpDef } from "../graph/op.ts";
import { showShape } from "../graph/shape.ts";
import { chainAt, ints, scalar, attr } from "./seq-onnx.ts";

const mode = (n: Node) => attrStr(n.attrs, "mode", "max");
const BIG = 1e30;

const MEAN = ["Unsqueeze", "Mul", "ReduceSum", "ReduceSum", "Max", "Div"];
const MAX = ["Unsqueeze", "Sub", "Mul", "Add", "ReduceMax", "ReduceSum", "Min", "Mul"];

function lower(e: OnnxCtx, n: Node): void {
  const [x, mask] = n.inputs, y = n.outputs[0], o = e.outName(y);
  const g = e.g, mk = e.name(mask), one = e.f32("one", [1]);
  const m3 = g.node("Unsqueeze", [mk, e.i64("axes2", [2])])[0];
  if (mode(n) === "mean") {
    const s = g.node("ReduceSum", [g.node("Mul", [e.name(x), m3])[0], e.i64("axes1", [1])], 1, { keepdims: 0 })[0];
    const cnt = g.node("ReduceSum", [mk, e.i64("axes1", [1])], 1, { keepdims: 1 })[0];
    e.bind(y, g.node("Div", [s, g.node("Max", [cnt, one])[0]], o ? [o] : 1)[0]);
    return;
  }
  const pen = g.node("Mul", [g.node("Sub", [m3, one])[0], e.f32("big", [BIG])])[0];
  const mx = g.node("ReduceMax", [g.node("Add", [e.name(x), pen])[0]], 1, { axes: [1], keepdims: 0 })[0];
  const cnt = g.node("ReduceSum", [mk, e.i64("axes1", [1])], 1, { keepdims: 1 })[0];
  e.bind(y, g.node("Mul", [mx, g.node("Min", [cnt, one])[0]], o ? [o] : 1)[0]);
}

function importPool(c: ImportCtx, i: number): boolean {
  const mean = chainAt(c, i, MEAN), max = mean ? null : chainAt(c, i, MAX);
  const ch = mean ?? max;
  if (!ch || ints(c, ch[0].input[1])?.join() !== "2") return false;
  const mask = c.value(ch[0].input[0]);
  const x = c.value(mean ? ch[1].input[0] : ch[3].input[0]);
  if (!mask || !x || x.shape.length !== 3 || mask.shape.length !== 2) return false;
  if (mean) {
    if (ch[1].input[1] !== ch[0].output[0] || ch[2].input[0] !== ch[1].output[0] || ch[3].input[0] !== ch[0].input[0] || ch[5].input[0] !== ch[2].output[0]) return false;
  } else {
    if (ch[1].input[0] !== ch[0].output[0] || scalar(c, ch[2].input[1]) !== Math.fround(BIG) || ch[4].input[0] !== ch[3].output[0]) return false;
    if ((attr(c, i + 4, "axes") as number[] | undefined)?.map(Number).join() !== "1" || ch[5].input[0] !== ch[0].input[0] || ch[7].input[0] !== ch[4].output[0]) return false;
  }
  c.bind(ch[ch.length - 1].output[0], c.graph.add1("seq_pool", [x, mask], { mode: mean ? "mean" : "max" }, ch[0].name || undefined));
  c.consume(...ch.map((_, j) => i + j));
  return true;
}

export const seqPool: OpDef = {
  op: "seq_pool",
  infer([x, mask], attrs) {
    expect(x.dtype === "f32" && x.shape.length === 3, `x must be f32 [N, L, D], got ${x.dtype} ${showShape(x.shape)}`);
    expect(mask && mask.dtype === "f32" && mask.shape.length === 2 && mask.shape[1] === x.shape[1], `mask must be f32 [N, ${String(x.shape[1])}], got ${mask ? `${mask.dtype} ${showShape(mask.shape)}` : "none"}`);
    const m = attrStr(attrs, "mode", "max");
    expect(m === "max" || m === "mean", `mode must be "max" or "mean", got ${JSON.stringify(m)}`);
    return [{ dtype: "f32", shape: [x.shape[0], x.shape[2]] }];
  },
  forward(c, n) {
    const [x, mask] = n.inputs, y = n.outputs[0];
    const [N, L, D] = c.dims(x), xp = c.ptr(x), mp = c.ptr(mask), yp = c.ptr(y);
    if (mode(n) === "mean") {
      const f = c.call("seq_mean_fwd_f32x4");
      return () => void f(N, L, D, xp, mp, yp);
    }
    const f = c.call("seq_max_fwd_f32x4");
    const idx = c.training ? c.scratch(N * D, 4) : 0;
    c.memo(n).idx = idx;
    return () => void f(N, L, D, xp, mp, yp, idx);
  },
  backward(c, n) {
    const [x, mask] = n.inputs, dx = c.grad(x);
    if (!dx) return null;
    const [N, L, D] = c.dims(x), dy = c.grad(n.outputs[0]), beta = c.beta(x);
    if (mode(n) === "mean") {
      const g = c.call("seq_mean_bwd_f32x4"), mp = c.ptr(mask);
      return () => void g(N, L, D, dy, mp, dx, beta);
    }
    const idx = c.memo(n).idx;
    if (!idx) throw new Error("backward lowered before a training forward");
    const g = c.call("seq_max_bwd_f32x4");
    return () => void g(N, L, D, dy, idx, dx, beta);
  },
  saves: (n) => (mode(n) === "mean" ? [n.inputs[1]] : []),
  onnx: lower,
  imports: [{ onnx: "Unsqueeze", match: importPool }],
  describe: (n) => `${mode(n)} over time`,
};
