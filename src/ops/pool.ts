// 2-D pooling over NCHW: maxpool2d and avgpool2d (global average pooling is avgpool2d with global: true).
// X [N, C, H, W] → Y [N, C, H_out, W_out]; attrs kernel [kh, kw], stride (default: the kernel), pads [top, left,
// bottom, right] (each < its kernel extent, as ONNX and PyTorch require), count_include_pad (avg; default 0,
// ONNX's), global (avg: kernel = [H, W], Y [N, C, 1, 1]). Floor mode: H_out = ⌊(H + pads − kh)/sh⌋ + 1.
// Kernels: assembly/kernels/pool.ts with a Pool2dParams struct written once per program. Max pool's training
// forward saves the argmax (i32 plane index per output, program scratch) that its backward routes dY through;
// inference skips it. Ties: the first maximum in window order wins.
// ONNX: MaxPool / AveragePool / GlobalAveragePool (explicit pads, ceil_mode 0); the same forms import back.
import type { Attrs, Node, Value } from "../graph/graph.ts";
import { expect, type FwdCtx, type ImportCtx, type OpDef } from "../graph/op.ts";
import { showShape } from "../graph/shape.ts";
import { outExtent, pads, pair, writeParams } from "./window.ts";
import { onnxAttr } from "./conv.ts";

interface Geometry {
  kernel: [number, number];
  stride: [number, number];
  pads: [number, number, number, number];
  global: boolean;
}

function geometryOf(x: Value, attrs: Attrs): Geometry {
  const global = attrs.global === true;
  if (global) return { kernel: [x.shape[2] as number, x.shape[3] as number], stride: [1, 1], pads: [0, 0, 0, 0], global };
  const kernel = pair(attrs, "kernel", [0, 0]);
  return { kernel, stride: pair(attrs, "stride", kernel), pads: pads(attrs), global };
}

function infer(inputs: readonly Value[], attrs: Attrs) {
  const [x] = inputs;
  expect(inputs.length === 1 && x.dtype === "f32" && x.shape.length === 4, `expected one f32 [N, C, H, W] input, got ${inputs.map((v) => showShape(v.shape)).join(", ")}`);
  const g = geometryOf(x, attrs);
  const [, , H, W] = x.shape as number[];
  const [kh, kw] = g.kernel, [pt, pl, pb, pr] = g.pads;
  expect(pt < kh && pb < kh && pl < kw && pr < kw, `pads ${g.pads.join(",")} must each be smaller than the ${kh}×${kw} window`);
  const ho = outExtent(H, kh, g.stride[0], pt, pb), wo = outExtent(W, kw, g.stride[1], pl, pr);
  expect(ho > 0 && wo > 0, `a ${kh}×${kw} window does not fit a ${H}×${W} input`);
  return [{ dtype: "f32" as const, shape: [x.shape[0], x.shape[1], ho, wo] }];
}

function params(c: FwdCtx, n: Node): number {
  const x = n.inputs[0], g = geometryOf(x, n.attrs);
  const [N, C, H, W] = c.dims(x), [, , ho, wo] = c.dims(n.outputs[0]);
  return writeParams(c, n, { n: N, c: C, h: H, w: W, kh: g.kernel[0], kw: g.kernel[1], stride: g.stride, pads: g.pads, dil: [1, 1], hOut: ho, wOut: wo });
}

const describe = (n: Node) => {
  const g = geometryOf(n.inputs[0], n.attrs);
  return g.global ? "global" : `${g.kernel[0]}×${g.kernel[1]}${g.stride[0] !== g.kernel[0] ? `/${g.stride[0]}` : ""}`;
};

function poolAttrs(n: Node) {
  const g = geometryOf(n.inputs[0], n.attrs);
  return { kernel_shape: g.kernel, strides: g.stride, pads: g.pads };
}

function importPool(op: "maxpool2d" | "avgpool2d", onnx: string) {
  return {
    onnx,
    match(c: ImportCtx, i: number) {
      const node = c.nodes[i];
      const x = c.value(node.input[0]);
      if (!x) throw new Error(`${c.where(i)}: input ${JSON.stringify(node.input[0])} is not defined before this node`);
      let attrs: Attrs;
      if (onnx === "GlobalAveragePool") attrs = { global: true };
      else {
        const auto = String(onnxAttr(c, i, "auto_pad") ?? "NOTSET");
        if (auto !== "NOTSET" && auto !== "VALID") throw new Error(`${c.where(i)}: auto_pad ${auto} is not supported (give explicit pads)`);
        if (Number(onnxAttr(c, i, "ceil_mode") ?? 0) !== 0) throw new Error(`${c.where(i)}: ceil_mode 1 is not supported`);
        const dil = onnxAttr(c, i, "dilations") as number[] | undefined;
        if (dil && dil.some((d) => Number(d) !== 1)) throw new Error(`${c.where(i)}: dilations are not supported`);
        if (node.output.length > 1 && node.output[1] !== "") throw new Error(`${c.where(i)}: the Indices output is not supported`);
        const ints = (key: string, d: number[]) => ((onnxAttr(c, i, key) as number[] | undefined) ?? d).map(Number);
        const kernel = ints("kernel_shape", []);
        attrs = { kernel, stride: ints("strides", [1, 1]), pads: auto === "VALID" ? [0, 0, 0, 0] : ints("pads", [0, 0, 0, 0]) };
        if (op === "avgpool2d") attrs.count_include_pad = Number(onnxAttr(c, i, "count_include_pad") ?? 0);
      }
      c.bind(node.output[0], c.graph.add1(op, [x], attrs, node.name || undefined));
      c.consume(i);
      return true;
    },
  };
}

export const maxpool2d: OpDef = {
  op: "maxpool2d",
  infer(inputs, attrs) {
    expect(attrs.global !== true, "global max pooling is not supported");
    return infer(inputs, attrs);
  },
  forward(c, n) {
    const p = params(c, n), f = c.call("maxpool2d_fwd_f32x4");
    const xp = c.ptr(n.inputs[0]), yp = c.ptr(n.outputs[0]);
    const idx = c.training ? c.scratch(c.numel(n.outputs[0]), 4) : 0;
    c.memo(n).idx = idx;
    return () => void f(p, xp, yp, idx);
  },
  backward(c, n) {
    const x = n.inputs[0], dx = c.grad(x);
    if (!dx) return null;
    const idx = c.memo(n).idx;
    if (!idx) throw new Error("backward lowered before a training forward");
    const p = params(c, n), f = c.call("maxpool2d_bwd_f32x4"), dy = c.grad(n.outputs[0]), beta = c.beta(x);
    return () => void f(p, dy, idx, dx, beta);
  },
  saves: () => [],
  onnx(e, n) {
    const o = e.outName(n.outputs[0]);
    e.bind(n.outputs[0], e.g.node("MaxPool", [e.name(n.inputs[0])], o ? [o] : 1, poolAttrs(n))[0]);
  },
  imports: [importPool("maxpool2d", "MaxPool")],
  describe,
};

const includePad = (n: Node) => (n.attrs.count_include_pad ? 1 : 0);

export const avgpool2d: OpDef = {
  op: "avgpool2d",
  infer,
  forward(c, n) {
    const p = params(c, n), f = c.call("avgpool2d_fwd_f32x4");
    const xp = c.ptr(n.inputs[0]), yp = c.ptr(n.outputs[0]), inc = includePad(n);
    return () => void f(p, xp, yp, inc);
  },
  backward(c, n) {
    const x = n.inputs[0], dx = c.grad(x);
    if (!dx) return null;
    const p = params(c, n), f = c.call("avgpool2d_bwd_f32x4"), dy = c.grad(n.outputs[0]), beta = c.beta(x), inc = includePad(n);
    return () => void f(p, dy, dx, inc, beta);
  },
  saves: () => [],
  onnx(e, n) {
    const o = e.outName(n.outputs[0]), x = e.name(n.inputs[0]);
    if (n.attrs.global === true) e.bind(n.outputs[0], e.g.node("GlobalAveragePool", [x], o ? [o] : 1)[0]);
    else e.bind(n.outputs[0], e.g.node("AveragePool", [x], o ? [o] : 1, { ...poolAttrs(n), count_include_pad: includePad(n) })[0]);
  },
  imports: [importPool("avgpool2d", "AveragePool"), importPool("avgpool2d", "GlobalAveragePool")],
  describe,
};
