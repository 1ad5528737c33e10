// conv2d: Y = act(conv(X, W) + b) over NCHW, act ∈ {none, relu} fused into the GEMM's store (as dense does).
// X [N, C, H, W], W [C_out, C, kh, kw] (ONNX/PyTorch order), b [C_out] (optional), Y [N, C_out, H_out, W_out].
// attrs: stride [sh, sw], pads [top, left, bottom, right] (explicit: the spec's valid/same are resolved when the
// model is lowered), dilation [dh, dw], act. H_out = ⌊(H + top + bottom − dh·(kh − 1) − 1)/sh⌋ + 1, W_out likewise.
// Kernels (assembly/kernels/conv.ts), chosen per shape by conv-kernels.ts, all working in the program's shared scratch
// (one buffer for every conv of the program); the Conv2dParams struct is written once per program:
// - Winograd (winogradPlan: 3×3, unit strides and dilations, ≥ 8 channels in and out), F(4×4, 3×3) from 6×6
//   outputs, else F(2×2, 3×3): conv2d_fwd_f32x4_wino[4], and one conv2d_bwd_f32x4_wino[4] call for dX, dW and db
//   with the relu's mask fused (dZ = dY ⊙ [Y > 0] never stored); scratch winograd[4]Scratch, images in chunks.
// - direct 3×3 (directConv: 3×3, unit strides and dilations, fewer than 8 input channels, outputs ≥ 8 wide):
//   conv2d_fwd_f32x4_direct and conv2d_bwd_w_f32x4_direct, the relu's mask fused into dW, db when no dX is needed
//   (a first layer's input is data); dX, when needed, by im2col below; scratch directScratch.
// - otherwise im2col (C·kh·kw·H_out·W_out f32 of scratch) + the shared GEMM. Backward: dZ = dY ⊙ [Y > 0] (relu,
//   into scratch: dY stays Y's gradient), dW,db (one call, one beta), dX.
// ONNX: Conv (+ Relu). Import: Conv with group = 1 and explicit pads (auto_pad NOTSET or VALID), a following
// Relu fused when it is the Conv's only reader.
import type { Node, Value } from "../graph/graph.ts";
import { attrStr, expect, type FwdCtx, type ImportCtx, type OpDef } from "../graph/op.ts";
import { showShape } from "../graph/shape.ts";
import { outExtent, pads, pair, writeParams } from "./window.ts";
import { directConv, directScratch, winogradPlan, winogradScratch, winograd4Scratch, type WinogradPlan } from "./conv-kernels.ts";

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

/**
 * The node's kernels: Winograd (`wino`), direct, or im2col, and the scratch f32 they need (`withDx`: the direct
 * path's backward also runs im2col's bwd_x).
 */
function plan(c: FwdCtx, n: Node, withDx = false): { wino: WinogradPlan | null; direct: boolean; scratch: number } {
  const g = geometry(c, n);
  const shape = { n: g.N, c: g.C, cOut: g.Co, kh: g.kh, kw: g.kw, stride: pair(n.attrs, "stride", [1, 1]), dil: pair(n.attrs, "dilation", [1, 1]), hOut: g.Ho, wOut: g.Wo };
  const wino = winogradPlan(shape);
  if (wino) {
    const size = wino.m === 4 ? winograd4Scratch : winogradScratch;
    return { wino, direct: false, scratch: Math.max(size(g.C, g.Co, g.Ho, g.Wo, wino.nbFwd), size(g.C, g.Co, g.Ho, g.Wo, wino.nbBwd)) };
  }
  if (directConv(shape)) {
    const s = directScratch(g.C, g.Co, g.H, g.Wd, pads(n.attrs), g.Ho, g.Wo);
    return { wino: null, direct: true, scratch: withDx ? Math.max(s, g.K * g.P) : s };
  }
  return { wino: null, direct: false, scratch: g.K * g.P };
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
    const { wino, direct, scratch } = plan(c, n), p = params(c, n), col = c.sharedScratch(scratch);
    const xp = c.ptr(x), wp = c.ptr(W), bp = b ? c.ptr(b) : 0, yp = c.ptr(y), relu = act(n) === "relu" ? 1 : 0;
    if (wino) {
      const f = c.call(wino.m === 4 ? "conv2d_fwd_f32x4_wino4" : "conv2d_fwd_f32x4_wino"), nb = wino.nbFwd;
      return () => void f(p, xp, wp, bp, yp, col.ptr, relu, nb);
    }
    if (direct) {
      const f = c.call("conv2d_fwd_f32x4_direct");
      return () => void f(p, xp, wp, bp, yp, col.ptr, relu);
    }
    const f = c.call("conv2d_fwd_f32x4");
    return () => void f(p, xp, wp, bp, yp, col.ptr, relu);
  },
  backward(c, n) {
    const [x, W, b] = n.inputs, y = n.outputs[0];
    const dw = c.grad(W), db = b ? c.grad(b) : 0, dx = c.grad(x);
    const { wino, direct, scratch } = plan(c, n, !!dx), p = params(c, n), col = c.sharedScratch(scratch);
    const relu = act(n) === "relu";
    const xp = c.ptr(x), yp = c.ptr(y), wp = c.ptr(W), dy = c.grad(y);
    const bw = dw || db ? c.betaAll(b ? [W, b] : [W]) : 0;
    const bx = dx ? c.beta(x) : 0;
    if (wino) {
      // one pass for dX, dW and db; the relu's mask applied as dY is read
      const f = c.call(wino.m === 4 ? "conv2d_bwd_f32x4_wino4" : "conv2d_bwd_f32x4_wino"), nb = wino.nbBwd;
      return () => void f(p, xp, relu ? yp : 0, dy, wp, dx, dw, db, col.ptr, bx, bw, nb);
    }
    const bwX = c.call("conv2d_bwd_x_f32x4"), reluB = c.call("relu_bwd_f32x4");
    const len = c.numel(y);
    // The dW kernels always write dW: a weight without a gradient (not reached) gets scratch.
    const dwp = dw || (db ? c.scratch(c.numel(W)) : 0);
    if (direct && !dx) {
      // dW and db straight from dY, the relu's mask applied as it is read
      const f = c.call("conv2d_bwd_w_f32x4_direct");
      return () => void (dwp && f(p, xp, relu ? yp : 0, dy, dwp, db, col.ptr, bw));
    }
    const dz = relu ? c.scratch(len) : dy;
    const bwW = direct ? c.call("conv2d_bwd_w_f32x4_direct") : c.call("conv2d_bwd_w_f32x4");
    if (direct) {
      return () => {
        if (relu) reluB(len, yp, dy, dz, 0);
        if (dwp) bwW(p, xp, 0, dz, dwp, db, col.ptr, bw);
        bwX(p, dz, wp, dx, col.ptr, bx);
      };
    }
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
