// conv2d: Y = act(conv(X, W) + b) over NCHW, act ∈ {none, relu} fused into the GEMM's store (as dense does).
// X [N, C, H, W], W [C_out, C / G, kh, kw] (ONNX/PyTorch order), b [C_out] (optional), Y [N, C_out, H_out, W_out].
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
// attr group G (default 1): C and C_out split into G groups convolved apart, W [C_out, C / G, kh, kw]; G > 1 runs the
// kernel chosen for one group's shape once per (image, group) slice (no grouped kernel of its own).
// ONNX: Conv (+ Relu), its `group` = G. Import: Conv with explicit pads (auto_pad NOTSET or VALID), any group, a
// following Relu fused when it is the Conv's only reader.
import type { Node, Value } from "../graph/graph.ts";
import { attrNum, attrStr, expect, type FwdCtx, type ImportCtx, type OpDef } from "../graph/op.ts";
import { showShape } from "../graph/shape.ts";
import { outExtent, pads, pair, writeParams } from "./window.ts";
import { directConv, directScratch, winogradPlan, winogradScratch, winograd4Scratch, type WinogradPlan } from "./conv-kernels.ts";

const act = (n: Node) => attrStr(n.attrs, "act", "none");
/** Channel groups G (attr `group`, default 1). */
const groupsOf = (n: Node) => attrNum(n.attrs, "group", 1);

/**
 * The node's geometry at batch B, per call of a kernel: G = 1 runs all N images in one call; G > 1 runs one call per
 * (image, group) over that group's C / G input and C_out / G output channels (n = 1), each slice contiguous in NCHW
 * and in W [C_out, C / G, kh, kw]: x at (i·C + g·C/G)·H·W, W at g·(C_out/G)·K, b and db at g·C_out/G, y at
 * (i·C_out + g·C_out/G)·P (elements).
 */
function geometry(c: FwdCtx, n: Node) {
  const [x, W] = n.inputs, y = n.outputs[0];
  const [N, Cx, H, Wd] = c.dims(x), [CoAll, C, kh, kw] = c.dims(W), [, , Ho, Wo] = c.dims(y);
  const G = groupsOf(n), Co = CoAll / G;
  return { N, G, C, Cx, H, Wd, Co, CoAll, kh, kw, Ho, Wo, K: C * kh * kw, P: Ho * Wo, calls: G === 1 ? 1 : N * G };
}

function params(c: FwdCtx, n: Node): number {
  const g = geometry(c, n);
  return writeParams(c, n, { n: g.G === 1 ? g.N : 1, c: g.C, h: g.H, w: g.Wd, cOut: g.Co, kh: g.kh, kw: g.kw, stride: pair(n.attrs, "stride", [1, 1]), pads: pads(n.attrs), dil: pair(n.attrs, "dilation", [1, 1]), hOut: g.Ho, wOut: g.Wo });
}

/** The address `ptr` + `off`, or 0 (no buffer) when `ptr` is 0. */
const at = (ptr: number, off: number) => ptr && ptr + off;

/** Byte offsets of each call's slices (see geometry): x, W, b, y, for call j = image i·G + group g; computed once per program. */
function slices(g: ReturnType<typeof geometry>): { x: number; w: number; b: number; y: number; first: boolean }[] {
  if (g.G === 1) return [{ x: 0, w: 0, b: 0, y: 0, first: true }];
  return Array.from({ length: g.calls }, (_, j) => {
    const i = Math.floor(j / g.G), q = j % g.G;
    return { x: 4 * (i * g.Cx + q * g.C) * g.H * g.Wd, w: 4 * q * g.Co * g.K, b: 4 * q * g.Co, y: 4 * (i * g.CoAll + q * g.Co) * g.P, first: i === 0 };
  });
}

/**
 * The node's kernels: Winograd (`wino`), direct, or im2col, and the scratch f32 they need (`withDx`: the direct
 * path's backward also runs im2col's bwd_x), chosen for one call's shape.
 */
function plan(c: FwdCtx, n: Node, withDx = false): { wino: WinogradPlan | null; direct: boolean; scratch: number } {
  const g = geometry(c, n);
  const shape = { n: g.G === 1 ? g.N : 1, c: g.C, cOut: g.Co, kh: g.kh, kw: g.kw, stride: pair(n.attrs, "stride", [1, 1]), dil: pair(n.attrs, "dilation", [1, 1]), hOut: g.Ho, wOut: g.Wo };
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
    const gv = attrs.group ?? 1;
    expect(typeof gv === "number" && Number.isInteger(gv) && gv >= 1, `group must be an integer ≥ 1, got ${String(gv)}`);
    const G = gv as number;
    expect(x.dtype === "f32" && x.shape.length === 4, `x must be f32 [N, C, H, W], got ${x.dtype} ${showShape(x.shape)}`);
    const C = x.shape[1] as number;
    expect(C % G === 0, `group ${G} must divide x's ${C} channels`);
    expect(W.dtype === "f32" && W.shape.length === 4 && W.shape[1] === C / G && (W.shape[0] as number) % G === 0, `W must be [C_out, ${String(C / G)}, kh, kw]${G > 1 ? ` with C_out a multiple of group ${G}` : ""}, got ${showShape(W.shape)}`);
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
    const { wino, direct, scratch } = plan(c, n), p = params(c, n), col = c.sharedScratch(scratch), sl = slices(geometry(c, n));
    const xp = c.ptr(x), wp = c.ptr(W), bp = b ? c.ptr(b) : 0, yp = c.ptr(y), relu = act(n) === "relu" ? 1 : 0;
    const f = c.call(wino ? (wino.m === 4 ? "conv2d_fwd_f32x4_wino4" : "conv2d_fwd_f32x4_wino") : direct ? "conv2d_fwd_f32x4_direct" : "conv2d_fwd_f32x4");
    const nb = wino ? wino.nbFwd : 0;
    return () => {
      for (const s of sl) {
        f(p, xp + s.x, wp + s.w, at(bp, s.b), yp + s.y, col.ptr, relu, nb);
      }
    };
  },
  backward(c, n) {
    const [x, W, b] = n.inputs, y = n.outputs[0];
    const dw = c.grad(W), db = b ? c.grad(b) : 0, dx = c.grad(x);
    const { wino, direct, scratch } = plan(c, n, !!dx), p = params(c, n), col = c.sharedScratch(scratch), sl = slices(geometry(c, n));
    const relu = act(n) === "relu";
    const xp = c.ptr(x), yp = c.ptr(y), wp = c.ptr(W), dy = c.grad(y);
    const bw = dw || db ? c.betaAll(b ? [W, b] : [W]) : 0;
    const bx = dx ? c.beta(x) : 0;
    // dW, db accumulate over a group's images: the first image's call applies bw, the others add (β = 1).
    if (wino) {
      // one pass for dX, dW and db; the relu's mask applied as dY is read
      const f = c.call(wino.m === 4 ? "conv2d_bwd_f32x4_wino4" : "conv2d_bwd_f32x4_wino"), nb = wino.nbBwd;
      return () => {
        for (const s of sl) {
          f(p, xp + s.x, relu ? yp + s.y : 0, dy + s.y, wp + s.w, at(dx, s.x), at(dw, s.w), at(db, s.b), col.ptr, bx, s.first ? bw : 1, nb);
        }
      };
    }
    const bwX = c.call("conv2d_bwd_x_f32x4"), reluB = c.call("relu_bwd_f32x4");
    const len = c.numel(y);
    // The dW kernels always write dW: a weight without a gradient (not reached) gets scratch.
    const dwp = dw || (db ? c.scratch(c.numel(W)) : 0);
    if (direct && !dx) {
      // dW and db straight from dY, the relu's mask applied as it is read
      const f = c.call("conv2d_bwd_w_f32x4_direct");
      return () => {
        if (!dwp) return;
        for (const s of sl) {
          f(p, xp + s.x, relu ? yp + s.y : 0, dy + s.y, dwp + s.w, at(db, s.b), col.ptr, s.first ? bw : 1);
        }
      };
    }
    const dz = relu ? c.scratch(len) : dy;
    if (direct) {
      const bwW = c.call("conv2d_bwd_w_f32x4_direct");
      return () => {
        if (relu) reluB(len, yp, dy, dz, 0);
        for (const s of sl) {
          if (dwp) bwW(p, xp + s.x, 0, dz + s.y, dwp + s.w, at(db, s.b), col.ptr, s.first ? bw : 1);
          bwX(p, dz + s.y, wp + s.w, dx + s.x, col.ptr, bx);
        }
      };
    }
    const bwW = c.call("conv2d_bwd_w_f32x4");
    return () => {
      if (relu) reluB(len, yp, dy, dz, 0);
      for (const s of sl) {
        if (dwp) bwW(p, xp + s.x, dz + s.y, dwp + s.w, at(db, s.b), col.ptr, s.first ? bw : 1);
        if (dx) bwX(p, dz + s.y, wp + s.w, dx + s.x, col.ptr, bx);
      }
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
      group: groupsOf(n),
    };
    const o = e.outName(y);
    if (act(n) === "relu") e.bind(y, e.g.node("Relu", [e.g.node("Conv", ins, 1, attrs)[0]], o ? [o] : 1)[0]);
    else e.bind(y, e.g.node("Conv", ins, o ? [o] : 1, attrs)[0]);
  },
  imports: [{ onnx: "Conv", match: importConv }],
  describe: (n) => {
    const W = n.inputs[1], s = pair(n.attrs, "stride", [1, 1]);
    const G = groupsOf(n);
    return `${String(W.shape[2])}×${String(W.shape[3])}${s[0] !== 1 || s[1] !== 1 ? `/${s[0]}` : ""}${G > 1 ? (G === n.inputs[0].shape[1] ? " depthwise" : ` groups ${G}`) : ""}${act(n) === "relu" ? " relu" : ""}`;
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
  if (!Number.isInteger(group) || group < 1) throw new Error(`${c.where(i)}: group must be an integer ≥ 1 (group ${group})`);
  const auto = String(onnxAttr(c, i, "auto_pad") ?? "NOTSET");
  if (auto !== "NOTSET" && auto !== "VALID") throw new Error(`${c.where(i)}: auto_pad ${auto} is not supported (give explicit pads)`);
  const ints = (key: string, d: number[]) => ((onnxAttr(c, i, key) as number[] | undefined) ?? d).map(Number);
  const r = c.soleReader(node.output[0]);
  const relu = r >= 0 && c.nodes[r].opType === "Relu" ? r : -1;
  const attrs = { stride: ints("strides", [1, 1]), pads: auto === "VALID" ? [0, 0, 0, 0] : ints("pads", [0, 0, 0, 0]), dilation: ints("dilations", [1, 1]), act: relu >= 0 ? "relu" : "none", ...(group > 1 ? { group } : {}) };
  const y = c.graph.add1("conv2d", ins as Value[], attrs, node.name || undefined);
  c.bind(relu >= 0 ? c.nodes[relu].output[0] : node.output[0], y);
  c.consume(i);
  if (relu >= 0) c.consume(relu);
  return true;
}
