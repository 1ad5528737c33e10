// conv1d: 1-D convolution over time with `same` length, on channels-last token rows.
// Inputs x f32 [N, L, C], mask f32 [N, L] (1 real, 0 padding), W [C_out, C, k] (ONNX Conv's layout), b [C_out]
// (optional) → y [N, L, C_out]: y[n, t, o] = act(b[o] + Σ_c Σ_j W[o, c, j]·x[n, t + d·j − pl, c]) at real t,
// 0 at padding t; x reads 0 outside the row and at padding positions. attrs dilation d (default 1), act
// "none" | "relu". `same`: d·(k − 1) padding, pl = ⌊d·(k − 1)/2⌋ on the left, the rest on the right (PyTorch's).
// Layout: channels last (the embedding's and the GRU's) so a token's C values are contiguous and one GEMM over
// all N·L positions does the work: im2col [N·L, C·k] (masked, shifted) then col·Wᵀ (assembly/kernels/seq.ts),
// in the program's shared scratch (col, then dZ for the backward).
// ONNX: m3 = Unsqueeze(mask, [2]); Mul(Transpose(Relu?(Conv(Transpose(Mul(x, m3), [0, 2, 1]), W, b)), [0, 2, 1]), m3);
// the same chain imports back.
import type { Node, Value } from "../graph/graph.ts";
import { attrNum, attrStr, expect, type ImportCtx, type OpDef } from "../graph/op.ts";
import { showShape } from "../graph/shape.ts";
import { chainAt, ints, attr } from "./seq-onnx.ts";

const act = (n: Node) => attrStr(n.attrs, "act", "none");
const dil = (n: Node) => attrNum(n.attrs, "dilation", 1);

function geometry(n: Node, dims: (v: Value) => number[]) {
  const [x, , W] = n.inputs;
  const [N, L, C] = dims(x), [Co, , k] = dims(W), d = dil(n);
  const pl = Math.floor((d * (k - 1)) / 2);
  return { N, L, C, Co, k, d, pl, pr: d * (k - 1) - pl };
}

export const conv1d: OpDef = {
  op: "conv1d",
  infer(inputs, attrs) {
    const [x, mask, W, b] = inputs;
    expect(inputs.length === 3 || inputs.length === 4, `expected inputs (x, mask, W[, b]), got ${inputs.length}`);
    expect(x.dtype === "f32" && x.shape.length === 3, `x must be f32 [N, L, C], got ${x.dtype} ${showShape(x.shape)}`);
    expect(mask.dtype === "f32" && mask.shape.length === 2 && mask.shape[1] === x.shape[1], `mask must be f32 [N, ${String(x.shape[1])}], got ${mask.dtype} ${showShape(mask.shape)}`);
    expect(W.dtype === "f32" && W.shape.length === 3 && W.shape[1] === x.shape[2], `W must be f32 [C_out, ${String(x.shape[2])}, k], got ${showShape(W.shape)}`);
    if (b) expect(b.dtype === "f32" && b.shape.length === 1 && b.shape[0] === W.shape[0], `b must be [${String(W.shape[0])}], got ${showShape(b.shape)}`);
    const d = attrNum(attrs, "dilation", 1);
    expect(Number.isInteger(d) && d >= 1, `dilation must be an integer ≥ 1, got ${d}`);
    const a = attrs.act ?? "none";
    expect(a === "none" || a === "relu", `act must be "none" or "relu", got ${String(a)}`);
    return [{ dtype: "f32", shape: [x.shape[0], x.shape[1], W.shape[0]] }];
  },
  forward(c, n) {
    const [x, mask, W, b] = n.inputs, y = n.outputs[0];
    const g = geometry(n, c.dims), f = c.call("conv1d_fwd_f32x4"), col = c.sharedScratch(g.N * g.L * g.C * g.k);
    const xp = c.ptr(x), mp = c.ptr(mask), wp = c.ptr(W), bp = b ? c.ptr(b) : 0, yp = c.ptr(y), relu = act(n) === "relu" ? 1 : 0;
    return () => void f(g.N, g.L, g.C, g.Co, g.k, g.d, g.pl, xp, wp, bp, mp, yp, col.ptr, relu);
  },
  backward(c, n) {
    const [x, mask, W, b] = n.inputs, y = n.outputs[0];
    const dx = c.grad(x), dw = c.grad(W), db = b ? c.grad(b) : 0;
    if (!dx && !dw && !db) return null;
    const g = geometry(n, c.dims), f = c.call("conv1d_bwd_f32x4");
    const colElems = g.N * g.L * g.C * g.k, work = c.sharedScratch(colElems + g.N * g.L * g.Co);
    const bx = dx ? c.beta(x) : 0, bw = dw || db ? c.betaAll(b && db ? (dw ? [W, b] : [b]) : [W]) : 0;
    const xp = c.ptr(x), mp = c.ptr(mask), wp = c.ptr(W), yp = c.ptr(y), dy = c.grad(y), relu = act(n) === "relu" ? 1 : 0;
    return () => void f(g.N, g.L, g.C, g.Co, g.k, g.d, g.pl, xp, yp, dy, wp, mp, dx, dw, db, work.ptr, work.ptr + 4 * colElems, relu, bx, bw);
  },
  saves: (n) => [n.inputs[0], n.inputs[1], n.outputs[0]],
  onnx(e, n) {
    const [x, mask, W, b] = n.inputs, y = n.outputs[0], o = e.outName(y), g = e.g;
    const k = W.shape[2] as number, d = dil(n), pl = Math.floor((d * (k - 1)) / 2);
    const m3 = g.node("Unsqueeze", [e.name(mask), e.i64("axes2", [2])])[0];
    const xt = g.node("Transpose", [g.node("Mul", [e.name(x), m3])[0]], 1, { perm: [0, 2, 1] })[0];
    let z = g.node("Conv", b ? [xt, e.name(W), e.name(b)] : [xt, e.name(W)], 1, { kernel_shape: [k], dilations: [d], pads: [pl, d * (k - 1) - pl], strides: [1], group: 1 })[0];
    if (act(n) === "relu") z = g.node("Relu", [z])[0];
    e.bind(y, g.node("Mul", [g.node("Transpose", [z], 1, { perm: [0, 2, 1] })[0], m3], o ? [o] : 1)[0]);
  },
  imports: [{ onnx: "Unsqueeze", match: importConv1d }],
  describe: (n) => `k=${String(n.inputs[2].shape[2])}${dil(n) !== 1 ? ` d=${dil(n)}` : ""}${act(n) === "relu" ? " relu" : ""}`,
};

function importConv1d(c: ImportCtx, i: number): boolean {
  const relu = chainAt(c, i, ["Unsqueeze", "Mul", "Transpose", "Conv", "Relu", "Transpose", "Mul"]);
  const ch = relu ?? chainAt(c, i, ["Unsqueeze", "Mul", "Transpose", "Conv", "Transpose", "Mul"]);
  if (!ch || ints(c, ch[0].input[1])?.join() !== "2") return false;
  const conv = ch[3], ci = i + 3, last = ch[ch.length - 1];
  const mask = c.value(ch[0].input[0]), x = c.value(ch[1].input[0]);
  const [W, b] = conv.input.slice(1).filter((s) => s !== "").map((s) => c.value(s));
  if (!mask || !x || !W || x.shape.length !== 3 || W.shape.length !== 3 || ch[1].input[1] !== ch[0].output[0] || last.input[1] !== ch[0].output[0]) return false;
  const perm = (j: number) => (attr(c, i + j, "perm") as number[] | undefined)?.map(Number).join();
  if (perm(2) !== "0,2,1" || perm(ch.length - 2) !== "0,2,1") return false;
  const ia = (key: string, dflt: number[]) => ((attr(c, ci, key) as number[] | undefined) ?? dflt).map(Number);
  const k = W.shape[2] as number, [d] = ia("dilations", [1]), [pl, pr] = ia("pads", [0, 0]);
  if (Number(attr(c, ci, "group") ?? 1) !== 1 || ia("strides", [1]).join() !== "1" || pl !== Math.floor((d * (k - 1)) / 2) || pl + pr !== d * (k - 1)) {
    throw new Error(`${c.where(ci)}: a sequence Conv must have group 1, stride 1 and \`same\` pads [⌊d(k−1)/2⌋, ⌈d(k−1)/2⌉]`);
  }
  const ins = b ? [x, mask, W, b] : [x, mask, W];
  c.bind(last.output[0], c.graph.add1("conv1d", ins, { dilation: d, act: relu ? "relu" : "none" }, conv.name || undefined));
  c.consume(...ch.map((_, j) => i + j));
  return true;
}
