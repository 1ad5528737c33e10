// Shared by the windowed NCHW ops (conv.ts, pool.ts): attribute readers, output extents, padding resolution, and
// writing the kernels' parameter structs (assembly/abi.ts Conv2dParams / Pool2dParams) into wasm memory once per
// program. TS decides every size here; the kernels only check the struct is self-consistent.
import type { Attrs, Node } from "../graph/graph.ts";
import type { FwdCtx } from "../graph/op.ts";

/** [h, w] pair attribute (a number means both), each an integer ≥ min. */
export function pair(attrs: Attrs, key: string, dflt: [number, number], min = 1): [number, number] {
  const v = attrs[key] ?? dflt;
  const p = typeof v === "number" ? [v, v] : v;
  if (!Array.isArray(p) || p.length !== 2 || !p.every((x) => Number.isInteger(x) && x >= min)) throw new Error(`attribute ${key} must be two integers ≥ ${min}, got ${JSON.stringify(v)}`);
  return p as [number, number];
}

/** Explicit pads [top, left, bottom, right] (elements), default none. */
export function pads(attrs: Attrs): [number, number, number, number] {
  const v = attrs.pads ?? [0, 0, 0, 0];
  if (!Array.isArray(v) || v.length !== 4 || !v.every((x) => Number.isInteger(x) && x >= 0)) throw new Error(`attribute pads must be four integers ≥ 0 (top, left, bottom, right), got ${JSON.stringify(v)}`);
  return v as [number, number, number, number];
}

/** Output extent along one axis: ⌊(in + pad0 + pad1 − dil·(k − 1) − 1) / stride⌋ + 1, or ≤ 0 when the window does not fit. */
export function outExtent(len: number, k: number, stride: number, pad0: number, pad1: number, dil = 1): number {
  const span = len + pad0 + pad1 - dil * (k - 1) - 1;
  return span < 0 ? 0 : Math.floor(span / stride) + 1;
}

/**
 * "same" padding along one axis (ONNX SAME_UPPER / TensorFlow): out = ⌈len / stride⌉, the total pad split with
 * the odd element at the end. Returns [pad0, pad1].
 */
export function samePads(len: number, k: number, stride: number, dil = 1): [number, number] {
  const out = Math.ceil(len / stride);
  const total = Math.max(0, (out - 1) * stride + dil * (k - 1) + 1 - len);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** The fields of Conv2dParams (17 i32) / Pool2dParams (16 i32), in struct order. */
export interface Window {
  n: number;
  c: number;
  h: number;
  w: number;
  /** conv only: output channels. */
  cOut?: number;
  kh: number;
  kw: number;
  stride: [number, number];
  pads: [number, number, number, number];
  dil: [number, number];
  hOut: number;
  wOut: number;
}

/**
 * Allocate the node's parameter struct in program scratch and write it (once, at lowering; a dry plan has no
 * memory and only counts the bytes). Returns its byte address.
 */
export function writeParams(c: FwdCtx, n: Node, w: Window): number {
  const memo = c.memo(n);
  if (memo.params) return memo.params;
  const fields = [w.n, w.c, w.h, w.w, ...(w.cOut === undefined ? [] : [w.cOut]), w.kh, w.kw, w.stride[0], w.stride[1], w.pads[0], w.pads[1], w.pads[2], w.pads[3], w.dil[0], w.dil[1], w.hOut, w.wOut];
  const at = c.scratch(fields.length, 4);
  if (c.k.memory) c.i32().set(fields, at >>> 2);
  memo.params = at;
  return at;
}
