// conv2d's kernel choice and scratch sizes (TS decides, wasm computes): which of the assembly/kernels/conv.ts kernels a
// convolution of a given shape runs (Winograd F(2×2, 3×3) or F(4×4, 3×3), direct 3×3, or im2col + GEMM), in chunks of
// how many images, and how many f32 of scratch each needs. The scratch formulas mirror the kernels' own
// (conv2d_wino_scratch, conv2d_wino4_scratch, conv2d_direct_scratch: test/kernels/conv-wino.test.ts and
// conv-direct.test.ts check them equal). Used by src/ops/conv.ts and bench/conv-rows.ts.

/** Winograd pays from this many channels in and out (bench/w2-profile.ts, bench:kernels: at c_in 1 it runs 2.3× slower than im2col). */
const WINO_MIN_C = 8;
/**
 * Tiles per Winograd chunk of images (measured at W2's conv2, 64×32×13×13 → 64: F(4×4, 3×3) fastest with 72 tiles
 * forward, 144 backward; F(2×2, 3×3) with 72 both), and at most WINO_CHUNK_F32 f32 of transformed data per chunk.
 */
const WINO_TILES = { 2: { fwd: 72, bwd: 72 }, 4: { fwd: 72, bwd: 144 } } as const;
const WINO_CHUNK_F32 = 1 << 20;

/** What the kernel choice needs to know of a convolution. */
export interface ConvShape { n: number; c: number; cOut: number; kh: number; kw: number; stride: [number, number]; dil: [number, number]; hOut: number; wOut: number }

/** A Winograd plan: tile m×m outputs (F(2×2, 3×3) or F(4×4, 3×3)) and the images per chunk of each pass. */
export interface WinogradPlan { m: 2 | 4; nbFwd: number; nbBwd: number }

/**
 * The Winograd plan for this convolution at batch n, or null when Winograd does not apply (not 3×3, a stride or
 * dilation other than 1) or does not pay (fewer than WINO_MIN_C channels in or out). F(4×4, 3×3) from 6×6 outputs
 * (1.78× fewer products than F(2×2, 3×3) on whole tiles; below 6 its 4×4 tiles cover as much padding as F(2×2)'s).
 */
export function winogradPlan(d: ConvShape): WinogradPlan | null {
  if (d.kh !== 3 || d.kw !== 3 || d.stride[0] !== 1 || d.stride[1] !== 1 || d.dil[0] !== 1 || d.dil[1] !== 1) return null;
  if (d.c < WINO_MIN_C || d.cOut < WINO_MIN_C) return null;
  const m = d.hOut >= 6 && d.wOut >= 6 ? 4 : 2, alpha = m + 2;
  const tImg = Math.ceil(d.hOut / m) * Math.ceil(d.wOut / m);
  const cap = Math.floor(WINO_CHUNK_F32 / (alpha * alpha * (d.c + d.cOut)));
  const nb = (tiles: number) => Math.max(1, Math.min(d.n, Math.floor(Math.min(tiles, cap) / tImg)));
  return { m, nbFwd: nb(WINO_TILES[m].fwd), nbBwd: nb(WINO_TILES[m].bwd) };
}

/**
 * Scratch f32 of the Winograd F(4×4, 3×3) kernels (conv2d_fwd_f32x4_wino4, conv2d_bwd_f32x4_wino4) for ci → co
 * channels over an ho × wo output, images in chunks of nb: assembly/kernels/conv_wino4.ts wino4_scratch (exported as
 * conv2d_wino4_scratch).
 */
export function winograd4Scratch(ci: number, co: number, ho: number, wo: number, nb: number): number {
  const ty = Math.ceil(ho / 4), tx = Math.ceil(wo / 4), g = Math.ceil(tx / 4), ts = 16 + 32 * Math.max(0, Math.ceil((nb * ty * tx - 8) / 32));
  const slice = (ch: number) => ch * ts + (ch % 2 ? 0 : 16), c4 = Math.ceil(ci / 4) * 4;
  return 72 * co * ci + 36 * (slice(c4) + slice(co)) + (4 * ty + 2) * (16 * g + 4) + 4 * ty * 16 * g + 256 + Math.ceil((2 * co) / 4) * 4 + 36 * c4 * (ty * tx + 4);
}

/** The direct 3×3 kernels apply: 3×3, unit strides and dilations, outputs at least 8 wide, and they pay: fewer than WINO_MIN_C input channels. */
export function directConv(d: ConvShape): boolean {
  return d.kh === 3 && d.kw === 3 && d.stride[0] === 1 && d.stride[1] === 1 && d.dil[0] === 1 && d.dil[1] === 1 && d.wOut >= 8 && d.c < WINO_MIN_C;
}

/**
 * Scratch f32 of the direct kernels (conv2d_fwd_f32x4_direct, conv2d_bwd_w_f32x4_direct): c_out f64 sums, the weight
 * streams (per group of 4 output channels: 4 splatted biases and 4 splatted weights per tap), the taps' offsets in the
 * input planes, when padded zero-padded copies of one image's planes, the weight gradient's operands (column-shifted
 * copies of the input and two flat dZ planes, or two dZ planes in the input plane's layout), and the forward's im2col
 * of a chunk of output rows (as many as keep it within 16384 f32, at least one): assembly/kernels/conv_direct.ts
 * direct_scratch (exported as conv2d_direct_scratch).
 */
export function directScratch(c: number, cOut: number, h: number, w: number, pads: readonly number[], hOut: number, wOut: number): number {
  const [pt, pl, pb, pr] = pads, plane = pt || pl || pb || pr ? (h + pt + pb) * (w + pl + pr) : 0;
  const up4 = (v: number) => Math.ceil(v / 4) * 4, K = 9 * c;
  const rows = Math.max(1, Math.min(hOut, Math.floor(16384 / (K * wOut))));
  // the weight gradient's operands (conv_direct.ts bwd_size): with ≥ 8 output channels and a shifted copy of h_p·w_out
  // f32 within 16384 bytes, 3·c copies and two dZ planes 16384 bytes apart; else two dZ planes in the input's layout,
  // 16384 bytes apart when one fits there
  const dzPlane = up4(hOut * (w + pl + pr)), hp = h + pt + pb;
  const dz = cOut >= 8 && 4 * hp * wOut <= 16384 ? (3 * c + 2) * 4096 : 4 * hOut * (w + pl + pr) <= 16384 ? 4096 + dzPlane : 2 * dzPlane;
  return up4(2 * cOut) + Math.ceil(cOut / 4) * 16 * (K + 1) + up4(K) + up4(c * plane) + dz + up4(K * rows * wOut);
}

/**
 * Scratch f32 of the Winograd F(2×2, 3×3) kernels (conv2d_fwd_f32x4_wino, conv2d_bwd_f32x4_wino) for ci → co channels
 * over an ho × wo output, images in chunks of nb: assembly/kernels/conv_wino.ts wino_scratch (exported as
 * conv2d_wino_scratch).
 */
export function winogradScratch(ci: number, co: number, ho: number, wo: number, nb: number): number {
  const ty = Math.ceil(ho / 2), tx = Math.ceil(wo / 2), g = Math.ceil(tx / 4), ts = 16 + 32 * Math.max(0, Math.ceil((nb * ty * tx - 8) / 32));
  const slice = (ch: number) => ch * ts + (ch % 2 ? 0 : 16);
  return 32 * co * ci + 16 * (slice(ci) + slice(co)) + 2 * (2 * ty + 2) * (8 * g + 8) + 2 * ty * 8 * g + 2 * co;
}
