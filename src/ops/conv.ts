// conv2d: Y = act(conv(X, W) + b) over NCHW, act ∈ {none, relu} fused into the GEMM's store (as dense does).
// X [N, C, H, W], W [C_out, C, kh, kw] (ONNX/PyTorch order), b [C_out] (optional), Y [N, C_out, H_out, W_out].
// attrs: stride [sh, sw], pads [top, left, bottom, right] (explicit: the spec's valid/same are resolved when the
// model is lowered), dilation [dh, dw], act. H_out = ⌊(H + top + bottom − dh·(kh − 1) − 1)/sh⌋ + 1, W_out likewise.
// Kernels (assembly/kernels/conv.ts): im2col into the program's shared scratch (C·kh·kw·H_out·W_out f32, one
// buffer for every conv of the program) + the shared GEMM. The Conv2dParams struct is written once per program.
// Backward: dZ = dY ⊙ [Y > 0] (relu, into scratch: dY stays Y's gradient), dW,db (one call, one beta), dX.
// ONNX: Conv (+ Relu). Import: Conv with group = 1 and explicit pads (auto_pad NOTSET or VALID), a following
// Relu fused when it is the Conv's only reader.
import type { Node, Value } from "../graph/graph.ts";
import { attrStr, expect, type FwdCtx, type ImportCtx, type OpDef } from "../graph/op.ts";
import { showShape } from "../graph/shape.ts";
import { outExtent, pads, pair, writeParams } from "./window.ts";

const act = (n: Node) => attrStr(n.attrs, "act", "none");

/** The node's geometry at batch B. */
function geometry(c: FwdCtx, n: Node) {
  const [x, W] = n.inputs, y = n.outputs[0];
  const [N, C, H, Wd] = c.dims(x), [Co, , kh, kw] = c.dims(W), [, , Ho, Wo] = c.dims(y);
  return { N, C, H, Wd, Co, kh, kw, Ho, Wo, K: C * kh * kw, P: Ho * Wo };
}

function params(c: FwdCtx, n: Node): number {
  const g = geometry(c, n);
  return writeParams(c, n, { n: g.N, c: g.C, h: g.H, w: g.Wd, cOut: g.Co, kh: g.kh, kw: g.kw, stride: pair(n.attrs, "stride", [1, 1]), pads: pads(n.attrs), dil: pair(n.attrs, "dilation", [1, 1]), hOut: g.Ho, wOut: g.Wo });
}

export const conv2d: OpDef = {
  op: "conv2d",
  infer(inputs, attrs) {
    const [x, W, b] = inputs;
    expect(inputs.length === 2 || inputs.length === 3, `expected inputs (x, W[, b]), got ${inputs.length}`);
    expect(x.dtype === "f32" && x.shape.length === 4, `x must be f32 [N, C, H, W], got ${x.dtype} ${showShape(x.shape)}`);
    expect(W.dtype === "f32" && W.shape.length === 4 && W.shape[1] === x.shape[1], `W must be [C_out, ${String(x.shape[1])}, kh, kw], got ${showShape(W.shape)}`);
    if (b) expect(b.shape.length === 1 && b.shape[0] === W.shape[0], `b must be [${String(W.shape[0])}], got ${showShape(b.shape)}`);
    const [sh, sw] = pair(attrs, "stride", [1, 1]), [dh, dw] = pair(attrs, "dilation", [1, 1]), [pt, pl, pb, pr] = pads(attrs);
    const a = attrs.act ?? "none";
    expect(a === "none" || a === "relu", `act must be "none" or "relu", got ${String(a)}`);
    const [, , H, Wd] = x.shape as number[], kh = W.shape[2] as number, kw = W.shape[3] as number;
    const ho = outExtent(H, kh, sh, pt, pb, dh), wo = outExtent(Wd, kw, sw, pl, pr, dw);
    expect(ho > 0 && wo > 0, `a ${kh}×${kw} kernel (dilation ${dh}×${dw}, pads ${pt},${pl},${pb},${pr}) does not fit a ${H}×${Wd} input`);
    return [{ dtype: "f32", shape: [x.shape[0], W.shape[0], ho, wo] }];
  },
  forward(c, n) {
    const [x, W, b] = n.inputs, y = n.outputs[0];
    const g = geometry(c, n), p = params(c, n), col = c.sharedScratch(g.K * g.P);
    const f = c.call("conv2d_fwd_f32x4");
    const xp = c.ptr(x), wp = c.ptr(W), bp = b ? c.ptr(b) : 0, yp = c.ptr(y), relu = act(n) === "relu" ? 1 : 0;
    return () => void f(p, xp, wp, bp, yp, col.ptr, relu);
  },
  backward(c, n) {
    const [x, W, b] = n.inputs, y = n.outputs[0];
    const g = geometry(c, n), p = params(c, n), col = c.sharedScratch(g.K * g.P);
    const relu = act(n) === "relu";
    const bwW = c.call("conv2d_bwd_w_f32x4"), bwX = c.call("conv2d_bwd_x_f32x4"), reluB = c.call("relu_bwd_f32x4");
    const xp = c.ptr(x), yp = c.ptr(y), wp = c.ptr(W), dy = c.grad(y);
    const dw = c.grad(W), db = b ? c.grad(b) : 0, dx = c.grad(x);
    const bw = dw || db ? c.betaAll(b ? [W, b] : [W]) : 0;
    const bx = dx ? c.beta(x) : 0;
    const len = c.numel(y);
    const dz = relu ? c.scratch(len) : dy;
    // The kernel always writes dW: a weight without a gradient (not reached) gets scratch.
    const dwp = dw || (db ? c.scratch(c.numel(W)) : 0);
    return () => {
      if (relu) reluB(len, yp, dy, dz, 0);
      if (dwp) bwW(p, xp, dz, dwp, db, col.ptr, bw);
      if (dx) bwX(p, dz, wp, dx, col.ptr, bx);
    };
  },
  saves: (n) => (act(n) === "relu" ? [n.inputs[0], n.outputs[0]] : [n.inputs[0]]),
  onnx(e, n) {
    const [x, W, b] = n.inputs, y = n.outputs[0];
    const ins = b ? [e.name(x), e.name(W), e.name(b)] : [e.name(x), e.name(W)];
    const attrs = {
      kernel_shape: [W.shape[2] as number, W.shape[3] as number],
      strides: pair(n.attrs, "stride", [1, 1]),
      pads: pads(n.attrs),
      dilations: pair(n.attrs, "dilation", [1, 1]),
      group: 1,
    };
    const o = e.outName(y);
    if (act(n) === "relu") e.bind(y, e.g.node("Relu", [e.g.node("Conv", ins, 1, attrs)[0]], o ? [o] : 1)[0]);
    else e.bind(y, e.g.node("Conv", ins, o ? [o] : 1, attrs)[0]);
  },
  imports: [{ onnx: "Conv", match: importConv }],
  describe: (n) => {
    const W = n.inputs[1], s = pair(n.attrs, "stride", [1, 1]);
    return `${String(W.shape[2])}×${String(W.shape[3])}${s[0] !== 1 || s[1] !== 1 ? `/${s[0]}` : ""}${act(n) === "relu" ? " relu" : ""}`;
  },
};

/** An INTS / INT / STRING attribute of an ONNX node. */
export function onnxAttr(c: ImportCtx, i: number, key: string): unknown {
  return c.nodes[i].attribute.find((a) => a.name === key)?.value;
}

function importConv(c: ImportCtx, i: number): boolean {
  const node = c.nodes[i];
  const ins = node.input.filter((s) => s !== "").map((s) => {
    const v = c.value(s);
    if (!v) throw new Error(`${c.where(i)}: input ${JSON.stringify(s)} is not defined before this node`);
    return v;
  });
  const group = Number(onnxAttr(c, i, "group") ?? 1);
  if (group !== 1) throw new Error(`${c.where(i)}: only group = 1 is supported (group ${group})`);
  const auto = String(onnxAttr(c, i, "auto_pad") ?? "NOTSET");
  if (auto !== "NOTSET" && auto !== "VALID") throw new Error(`${c.where(i)}: auto_pad ${auto} is not supported (give explicit pads)`);
  const ints = (key: string, d: number[]) => ((onnxAttr(c, i, key) as number[] | undefined) ?? d).map(Number);
  const r = c.soleReader(node.output[0]);
  const relu = r >= 0 && c.nodes[r].opType === "Relu" ? r : -1;
  const attrs = { stride: ints("strides", [1, 1]), pads: auto === "VALID" ? [0, 0, 0, 0] : ints("pads", [0, 0, 0, 0]), dilation: ints("dilations", [1, 1]), act: relu >= 0 ? "relu" : "none" };
  const y = c.graph.add1("conv2d", ins as Value[], attrs, node.name || undefined);
  c.bind(relu >= 0 ? c.nodes[relu].output[0] : node.output[0], y);
  c.consume(i);
  if (relu >= 0) c.consume(relu);
  return true;
}
