// Direct 3×3, stride-1, undilated convolution for few input channels (internal: conv.ts exports the kernels; index.ts
// does not re-export this file). With K = 9·c_in small, im2col's GEMM spends its 4×8 blocks on a 9-step reduction;
// here the forward keeps 4 channels × 8 pixels in registers across all K taps, and the weight gradient's dot products
// run over dZ and the input rows (the relu's mask applied as dY is read).
//
// Forward: Y[o][p] = act(b[o] + Σ_t W[o][t]·X_t[p]) over the K = 9·c_in taps t = (c, ky, kx) and the output pixels p
// = (oy, ox), X_t[p] = plane_c[oy + ky][ox + kx]. Blocks of 4 output channels × 8 pixels (eight f32x4 accumulators):
// per tap, 2 loads of X_t under the block and 4 of the channels' weights, each pre-splatted in a weight stream ({4
// biases, K × 4 weights} per group, built in the scratch once per call), for 16 flops' worth of f32x4 ops. With more
// than one group, each chunk of output rows is first copied as an im2col, cols[t][p] over the chunk's flattened pixels,
// so that a tap's values sit a constant stride from the previous tap's and a block's 8 pixels may span rows: the loop
// body is one tap with two pointers and no lookups, and the copy, K·P floats, is shared by all groups (W2's conv1: 36
// GFLOP/s, 78 % of the f32x4 peak; 26 reading the planes per output row through a stream of tap offsets, each weight
// splatted as loaded, and 33 with the im2col read through a table of tap offsets). One group (c_out ≤ 4, e.g. a
// depthwise conv's slice) reads the planes in place through the offset table instead, where the copy would cost about
// as much as the products. V8 schedules a loop body's loads ahead of its arithmetic: a body of one tap (8 accumulators
// + 6 loaded values) runs without spills, two taps do not. A last group of 2 or 3 channels has zero weights in the
// others' places and stores only its own; a lone channel (c_out ≡ 1 mod 4) runs one-channel blocks of 16 pixels.
// Weight gradient: dW[o][c][ky][kx] = Σ_i dZ[i]·X_(c,ky,kx)[i] over the flat output index i, dZ = dY ⊙ mask (the
// relu's), per image and pair of output channels: per input channel and kernel row ky, six f32x4 accumulators (2
// channels × kx 0..2) run over consecutive vectors of the two dZ planes and of three input rows (5 loads, 12 flops'
// worth of ops per step; a lone last channel: 3 accumulators), added to f32x4 partial sums of dW reduced once at the
// end. With ≥ 8 output channels (and planes within DZ_GAP), each image's channels are first copied shifted by kx = 0,
// 1, 2 into rows of w_out (shifted_copies), so X_(c,ky,kx)[i] = xs_kx[i + ky·w_out]: dZ stays flat, every load is
// aligned and at a constant offset (W2's conv1 1.12× over the planes). Fewer channels cannot repay the
// copies: dZ is written in the input plane's layout instead (row stride pw = w_out + 2, the 2 columns past w_out
// zero), so that X[i] = plane_c[i + ky·pw + kx] (grad_row; 7 % more steps at W2's width, unaligned loads). V8 loads a
// loop body's values ahead of its arithmetic: 9 accumulators (3 channels, or all taps of one) spill one, whose reload
// and store each step chain the loop through memory (2× slower). The dZ pass, one read of dY and the mask, walks
// three pointers four vectors a step with the mask test resolved at compile time.
//
// Padding: with any pad, each image's channels are first copied into zero-padded planes in the scratch
// (plane.ts fill_plane); unpadded inputs are read in place. Scratch: direct_scratch f32 (layout below).
import { fill_plane } from "./plane";

/** Padded plane extent (f32) of one input channel: (h + pad_top + pad_bottom)·(w + pad_left + pad_right), or 0 unpadded. */
// @ts-ignore: decorator
@inline function plane_size(h: i32, w: i32, pt: i32, pl: i32, pb: i32, pr: i32): i32 {
  return pt | pl | pb | pr ? (h + pt + pb) * (w + pl + pr) : 0;
}

/** Groups of 4 output channels. */
// @ts-ignore: decorator
@inline function channel_groups(co: i32): i32 {
  return (co + 3) >> 2;
}

/** Output rows per forward chunk: the chunk's im2col (K·rows·w_out f32) stays within 16384 f32 (64 KB); at least one row. */
// @ts-ignore: decorator
@inline function chunk_rows(K: i32, ho: i32, wo: i32): i32 {
  return max(1, min(ho, 16384 / (K * wo)));
}

/** Weight stream f32 of one group of 4 output channels: 4 splatted biases, then K taps × 4 splatted weights. */
// @ts-ignore: decorator
@inline function group_stream(K: i32): i32 {
  return 16 * (K + 1);
}

/**
 * Scratch f32 of the direct kernels: [ db sums: c_out f64 | weight streams: ⌈c_out/4⌉·16·(9·c_in + 1) | tap offsets in
 * the planes: 9·c_in i32 | padded planes: c_in·plane_size | the weight gradient's operands: bwd_size (shifted copies
 * and two dZ planes, or two dZ planes in the input's layout) | a forward chunk's im2col: 9·c_in·chunk_rows·w_out ],
 * each part a multiple of 4 f32 (the scratch needs 8-byte alignment for the f64 sums).
 */
export function direct_scratch(c_in: i32, c_out: i32, h: i32, w: i32, pt: i32, pl: i32, pb: i32, pr: i32, ho: i32, wo: i32): i32 {
  const K = 9 * c_in;
  return ((2 * c_out + 3) & ~3) + channel_groups(c_out) * group_stream(K) + ((K + 3) & ~3) + ((c_in * plane_size(h, w, pt, pl, pb, pr) + 3) & ~3) + bwd_size(c_in, c_out, h + pt + pb, w + pl + pr, ho, wo) + ((K * chunk_rows(K, ho, wo) * wo + 3) & ~3);
}

/**
 * Byte distance of the second dZ plane from the first when a plane fits in it (dz_gapped): the gradient loop then
 * reads both from one pointer at constant offsets (W2's conv1 bwd_w 1.05× faster than with the distance in a register).
 */
const DZ_GAP: usize = 16384;

/** The dZ planes (ho·pw f32 each) are DZ_GAP bytes apart. */
// @ts-ignore: decorator
@inline function dz_gapped(ho: i32, pw: i32): bool {
  return <usize>(ho * pw) << 2 <= DZ_GAP;
}

/** f32 of the two dZ planes: DZ_GAP/4 + one plane when dz_gapped, else two planes. */
// @ts-ignore: decorator
@inline function dz_size(ho: i32, pw: i32): i32 {
  const one = (ho * pw + 3) & ~3;
  return dz_gapped(ho, pw) ? <i32>(DZ_GAP >> 2) + one : 2 * one;
}

/**
 * The weight gradient reads column-shifted copies of the input (shifted_copies) when there are ≥ 8 output channels to
 * share the copies and a copy (hp·wo f32, hp the padded height) fits in DZ_GAP bytes; else the planes (grad_row).
 */
// @ts-ignore: decorator
@inline function uses_shifted(co: i32, hp: i32, wo: i32): bool {
  return co >= 8 && <usize>(hp * wo) << 2 <= DZ_GAP;
}

/** f32 of the weight gradient's operands: 3·c_in shifted copies and two dZ planes DZ_GAP bytes apart, or dz_size. */
// @ts-ignore: decorator
@inline function bwd_size(ci: i32, co: i32, hp: i32, pw: i32, ho: i32, wo: i32): i32 {
  return uses_shifted(co, hp, wo) ? (3 * ci + 2) * <i32>(DZ_GAP >> 2) : dz_size(ho, pw);
}

/** Byte offset of the padded planes in the scratch (past the db sums, the weight streams and the tap offsets). */
// @ts-ignore: decorator
@inline function planes_at(ci: i32, co: i32): usize {
  return <usize>(((2 * co + 3) & ~3) + channel_groups(co) * group_stream(9 * ci) + ((9 * ci + 3) & ~3)) << 2;
}

/** Byte address of the weight gradient's operands in the scratch (past the padded planes at pad). */
// @ts-ignore: decorator
@inline function operands_at(pad: usize, ci: i32, h: i32, w: i32, pt: i32, pl: i32, pb: i32, pr: i32): usize {
  return pad + (<usize>((ci * plane_size(h, w, pt, pl, pb, pr) + 3) & ~3) << 2);
}

/**
 * The weight streams: for each group g of 4 output channels (group_stream(K) f32 each), b[4g + r] splatted for r < 4,
 * then per tap t = (c, ky, kx) W[4g + r][t] splatted for r < 4 (0 past c_out; b 0 when b_ptr is 0).
 */
function weight_streams(ci: i32, co: i32, w_ptr: usize, b_ptr: usize, st: usize): void {
  const K = 9 * ci;
  let q = st;
  for (let g = 0; g < channel_groups(co); g++) {
    for (let r = 0; r < 4; r++) {
      const o = 4 * g + r;
      v128.store(q, f32x4.splat(o < co && b_ptr ? load<f32>(b_ptr + (<usize>o << 2)) : 0));
      q += 16;
    }
    for (let t = 0; t < K; t++) {
      for (let r = 0; r < 4; r++) {
        const o = 4 * g + r;
        v128.store(q, f32x4.splat(o < co ? load<f32>(w_ptr + (<usize>(o * K + t) << 2)) : 0));
        q += 16;
      }
    }
  }
}

/**
 * dst[0..wo) = src[0..wo) (f32): fb = 4·(wo & ~3) bytes in vectors, then, when wo mod 4 ≠ 0, a vector ending at wo − 1
 * (tail = 4·(wo − 4): rewriting lanes with equal values; wo ≥ 4). Two pointers walk the row.
 */
// @ts-ignore: decorator
@inline function copy_row(src: usize, dst: usize, wo: i32, fb: usize, tail: usize): void {
  for (let s = src, d = dst, e = src + fb; s < e; s += 16, d += 16) v128.store(d, v128.load(s));
  if (wo & 3) v128.store(dst + tail, v128.load(src + tail));
}

/**
 * A chunk's im2col: cols[t][r·wo + ox] = plane_c[(oy0 + r + ky)·pw + ox + kx] for the taps t = (c, ky, kx), rows
 * r < R, ox < wo; tap t's row of R·wo f32 at cols + t·R·wo·4 (rows copied by copy_row).
 */
function cols_fill(ci: i32, planes: usize, plane: i32, pw: i32, oy0: i32, R: i32, wo: i32, cols: usize): void {
  const fb = <usize>(wo & ~3) << 2, tail = <usize>(wo - 4) << 2, rs = <usize>pw << 2, rd = <usize>wo << 2;
  let dst = cols;
  for (let c = 0; c < ci; c++) {
    for (let ky = 0; ky < 3; ky++) {
      for (let kx = 0; kx < 3; kx++) {
        const src = planes + (<usize>(c * plane + (oy0 + ky) * pw + kx) << 2);
        for (let r = 0, s = src; r < R; r++, s += rs, dst += rd) copy_row(s, dst, wo, fb, tail);
      }
    }
  }
}

/**
 * One block: Y[o + r][p..p + 7] = act(b[o + r] + Σ_t W[o + r][t]·X_t[p..p + 7]) for r < nr (1..4), eight f32x4
 * accumulators; g: the group's weight stream; y: Y[o] at p (channel planes ys bytes apart). X_t: !tabled, the chunk's
 * im2col, s = cols + 4p and tap rows a = cb bytes apart; tabled, the planes, s under the block's first column and tap t
 * at s + offs[t] (a = offs: byte offsets, i32; one more load and add per tap). Each tap: 2 loads of X_t, 4 of weights,
 * 16 flops' worth of f32x4 ops (V8 loads a loop body's values ahead of its arithmetic: a body of one tap, 8
 * accumulators and 6 loaded values, does not spill; two taps do).
 */
// @ts-ignore: decorator
@inline function block4(tabled: bool, nr: i32, K: i32, s: usize, a: usize, g: usize, y: usize, ys: usize, relu: bool): void {
  const b0 = v128.load(g), b1 = v128.load(g, 16), b2 = v128.load(g, 32), b3 = v128.load(g, 48);
  let c00 = b0, c01 = b0, c10 = b1, c11 = b1, c20 = b2, c21 = b2, c30 = b3, c31 = b3;
  const end = g + (<usize>(K + 1) << 6);
  for (let q = g + 64, o = a; q < end; q += 64) {
    let x = s;
    if (tabled) { x += <usize>load<i32>(o); o += 4; } else s += a;
    const v0 = v128.load(x), v1 = v128.load(x, 16);
    let w = v128.load(q);
    c00 = f32x4.add(c00, f32x4.mul(w, v0)); c01 = f32x4.add(c01, f32x4.mul(w, v1));
    w = v128.load(q, 16);
    c10 = f32x4.add(c10, f32x4.mul(w, v0)); c11 = f32x4.add(c11, f32x4.mul(w, v1));
    w = v128.load(q, 32);
    c20 = f32x4.add(c20, f32x4.mul(w, v0)); c21 = f32x4.add(c21, f32x4.mul(w, v1));
    w = v128.load(q, 48);
    c30 = f32x4.add(c30, f32x4.mul(w, v0)); c31 = f32x4.add(c31, f32x4.mul(w, v1));
  }
  if (relu) {
    const z = f32x4.splat(0);
    c00 = f32x4.pmax(c00, z); c01 = f32x4.pmax(c01, z); c10 = f32x4.pmax(c10, z); c11 = f32x4.pmax(c11, z);
    c20 = f32x4.pmax(c20, z); c21 = f32x4.pmax(c21, z); c30 = f32x4.pmax(c30, z); c31 = f32x4.pmax(c31, z);
  }
  v128.store(y, c00); v128.store(y, c01, 16);
  if (nr > 1) { v128.store(y + ys, c10); v128.store(y + ys, c11, 16); }
  if (nr > 2) { v128.store(y + 2 * ys, c20); v128.store(y + 2 * ys, c21, 16); }
  if (nr > 3) { v128.store(y + 3 * ys, c30); v128.store(y + 3 * ys, c31, 16); }
}

/** block4 over a chunk's im2col (s = cols + 4p, cb: a tap row's bytes). */
function fwd_block(nr: i32, K: i32, s: usize, cb: usize, g: usize, y: usize, ys: usize, relu: bool): void {
  block4(false, nr, K, s, cb, g, y, ys, relu);
}

/** block4 over the planes (x under the block's first column, offs: the taps' byte offsets). */
function fwd_block_planes(nr: i32, K: i32, x: usize, offs: usize, g: usize, y: usize, ys: usize, relu: bool): void {
  block4(true, nr, K, x, offs, g, y, ys, relu);
}

/**
 * A lone channel's block (c_out ≡ 1 mod 4, e.g. a depthwise conv's slice, where block4 would compute 3 zero-weight
 * channels beside it): 8·nv columns (nv 1 or 2: 2 or 4 f32x4 accumulators), Y[o][p..] = act(b + Σ_t W[o][t]·X_t[p..]),
 * X_t as in block4; each tap 2·nv loads of X_t and one of the weight for 4·nv flops' worth of f32x4 ops.
 */
// @ts-ignore: decorator
@inline function block1(tabled: bool, nv: i32, K: i32, s: usize, a: usize, g: usize, y: usize, relu: bool): void {
  const b0 = v128.load(g);
  let c0 = b0, c1 = b0, c2 = b0, c3 = b0;
  const end = g + (<usize>(K + 1) << 6);
  for (let q = g + 64, o = a; q < end; q += 64) {
    let x = s;
    if (tabled) { x += <usize>load<i32>(o); o += 4; } else s += a;
    const w = v128.load(q);
    c0 = f32x4.add(c0, f32x4.mul(w, v128.load(x))); c1 = f32x4.add(c1, f32x4.mul(w, v128.load(x, 16)));
    if (nv > 1) { c2 = f32x4.add(c2, f32x4.mul(w, v128.load(x, 32))); c3 = f32x4.add(c3, f32x4.mul(w, v128.load(x, 48))); }
  }
  if (relu) {
    const z = f32x4.splat(0);
    c0 = f32x4.pmax(c0, z); c1 = f32x4.pmax(c1, z); c2 = f32x4.pmax(c2, z); c3 = f32x4.pmax(c3, z);
  }
  v128.store(y, c0); v128.store(y, c1, 16);
  if (nv > 1) { v128.store(y, c2, 32); v128.store(y, c3, 48); }
}

/**
 * One group of ≤ 4 output channels over one image, from its planes (row stride rs bytes; the taps at offs), where an
 * im2col would cost about as much as the products: per output row, blocks of 8 columns (a lone channel: 16, 8 when
 * w_out < 16), the last moved back to end at w_out − 1 (stores are idempotent; w_out ≥ 8).
 */
function fwd_planes(co: i32, K: i32, ho: i32, wo: i32, planes: usize, rs: usize, offs: usize, g: usize, y: usize, ys: usize, relu: bool): void {
  const wide = co == 1 && wo >= 16, step = wide ? 16 : 8;
  for (let oy = 0; oy < ho; oy++) {
    const xr = planes + <usize>oy * rs, yr = y + (<usize>(oy * wo) << 2);
    for (let p = 0; p < wo; p += step) {
      const pp = <usize>min(p, wo - step) << 2;
      if (co > 1) fwd_block_planes(co, K, xr + pp, offs, g, yr + pp, ys, relu);
      else if (wide) block1(true, 2, K, xr + pp, offs, g, yr + pp, relu);
      else block1(true, 1, K, xr + pp, offs, g, yr + pp, relu);
    }
  }
}

/**
 * Forward over one chunk of cs ≥ 8 output pixels (flat, row-major; cols: its im2col): column blocks of 8, the last
 * moved back to end at cs − 1 when cs mod 8 ≠ 0 (stores are idempotent), each through every group of ≥ 2 channels
 * (the block's cols stay in L1 while the groups' streams pass); a lone last channel after, in blocks of 16 (of 8 when
 * cs < 16), the last likewise moved back. y: Y of the image at the chunk's first pixel, channel planes ys bytes apart.
 */
function fwd_chunk(co: i32, K: i32, cols: usize, cs: i32, st: usize, y: usize, ys: usize, relu: bool): void {
  const cb = <usize>cs << 2, gs = <usize>group_stream(K) << 2, lone = (co & 3) == 1, gn = channel_groups(co) - (lone ? 1 : 0);
  for (let p = 0; p < cs; p += 8) {
    const pp = <usize>min(p, cs - 8) << 2;
    for (let g = 0; g < gn; g++) fwd_block(min(4, co - 4 * g), K, cols + pp, cb, st + <usize>g * gs, y + <usize>(4 * g) * ys + pp, ys, relu);
  }
  if (!lone) return;
  const g = st + <usize>gn * gs, yo = y + <usize>(co - 1) * ys;
  if (cs >= 16) {
    for (let p = 0; p < cs; p += 16) { const pp = <usize>min(p, cs - 16) << 2; block1(false, 2, K, cols + pp, cb, g, yo + pp, relu); }
  } else {
    for (let p = 0; p < cs; p += 8) { const pp = <usize>min(p, cs - 8) << 2; block1(false, 1, K, cols + pp, cb, g, yo + pp, relu); }
  }
}

/** The planes of one image: x in place (unpadded) or its zero-padded copy in the scratch; returns the plane width. */
// @ts-ignore: decorator
@inline function image_planes(ci: i32, h: i32, w: i32, pt: i32, pl: i32, pb: i32, pr: i32, x: usize, pad: usize): i32 {
  if (!(pt | pl | pb | pr)) return w;
  const hp = h + pt + pb, wp = w + pl + pr;
  for (let c = 0; c < ci; c++) fill_plane(pad + (<usize>(c * hp * wp) << 2), hp, wp, x + (<usize>(c * h * w) << 2), h, w, pt, pl);
  return wp;
}

/**
 * Forward, all images: see conv.ts conv2d_fwd_f32x4_direct. Per image (its planes padded in the scratch or read in
 * place), chunks of chunk_rows output rows: the chunk's im2col (cols_fill), then fwd_chunk; one group of ≤ 4 output
 * channels (e.g. a depthwise conv's slice): fwd_planes from the planes.
 */
export function direct_fwd(n: i32, ci: i32, co: i32, h: i32, w: i32, ho: i32, wo: i32, pt: i32, pl: i32, pb: i32, pr: i32, x_ptr: usize, w_ptr: usize, b_ptr: usize, y_ptr: usize, scratch: usize, relu: bool): void {
  const K = 9 * ci, st = scratch + (<usize>((2 * co + 3) & ~3) << 2), pad = scratch + planes_at(ci, co);
  const padded = (pt | pl | pb | pr) != 0, pw = padded ? w + pl + pr : w, hp = padded ? h + pt + pb : h, plane = hp * pw;
  const cols = operands_at(pad, ci, h, w, pt, pl, pb, pr) + (<usize>bwd_size(ci, co, hp, pw, ho, wo) << 2);
  const R = chunk_rows(K, ho, wo), ys = <usize>(ho * wo) << 2;
  weight_streams(ci, co, w_ptr, b_ptr, st);
  const offs = st + (<usize>(channel_groups(co) * group_stream(K)) << 2);
  for (let c = 0, t = 0; c < ci; c++) for (let ky = 0; ky < 3; ky++) for (let kx = 0; kx < 3; kx++, t++) store<i32>(offs + (<usize>t << 2), (c * plane + ky * pw + kx) << 2);
  for (let i = 0; i < n; i++) {
    const x = x_ptr + (<usize>(i * ci * h * w) << 2), y = y_ptr + <usize>(i * co) * ys;
    image_planes(ci, h, w, pt, pl, pb, pr, x, pad);
    if (co <= 4) { fwd_planes(co, K, ho, wo, padded ? pad : x, <usize>pw << 2, offs, st, y, ys, relu); continue; }
    for (let oy0 = 0; oy0 < ho; oy0 += R) {
      const rows = min(R, ho - oy0);
      cols_fill(ci, padded ? pad : x, plane, pw, oy0, rows, wo, cols);
      fwd_chunk(co, K, cols, rows * wo, st, y + (<usize>(oy0 * wo) << 2), ys, relu);
    }
  }
}

/** Σ of the four lanes, in f32, as (l0 + l1) + (l2 + l3). */
// @ts-ignore: decorator
@inline function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** g[0..3) += (a0, a1, a2): three f32x4 partial sums of dW. */
// @ts-ignore: decorator
@inline function add3(g: usize, a0: v128, a1: v128, a2: v128): void {
  v128.store(g, f32x4.add(v128.load(g), a0)); v128.store(g, f32x4.add(v128.load(g, 16), a1), 16); v128.store(g, f32x4.add(v128.load(g, 32), a2), 32);
}

/**
 * Four vectors of dZ = dY ⊙ [mask > 0] (masked; else dY) from s (mask at m) to d; returns their sum (v0 + v1) +
 * (v2 + v3).
 */
// @ts-ignore: decorator
@inline function dz4(masked: bool, s: usize, m: usize, d: usize): v128 {
  const z = f32x4.splat(0);
  let v0 = v128.load(s), v1 = v128.load(s, 16), v2 = v128.load(s, 32), v3 = v128.load(s, 48);
  if (masked) {
    v0 = v128.and(v0, f32x4.gt(v128.load(m), z)); v1 = v128.and(v1, f32x4.gt(v128.load(m, 16), z));
    v2 = v128.and(v2, f32x4.gt(v128.load(m, 32), z)); v3 = v128.and(v3, f32x4.gt(v128.load(m, 48), z));
  }
  v128.store(d, v0); v128.store(d, v1, 16); v128.store(d, v2, 32); v128.store(d, v3, 48);
  return f32x4.add(f32x4.add(v0, v1), f32x4.add(v2, v3));
}

/** One vector of dZ (as dz4) from s to d; returns it. */
// @ts-ignore: decorator
@inline function dz1(masked: bool, s: usize, m: usize, d: usize): v128 {
  let v = v128.load(s);
  if (masked) v = v128.and(v, f32x4.gt(v128.load(m), f32x4.splat(0)));
  v128.store(d, v);
  return v;
}

/**
 * The vector of dZ (as dz4) ending where a run of t = 1..3 more f32 ends (s, m, d at the run's start): it rewrites
 * 4 − t lanes already written, with equal values; returns it with those lanes zeroed (keep: lanes ≥ 4 − t set).
 */
// @ts-ignore: decorator
@inline function dz_tail(masked: bool, s: usize, m: usize, d: usize, t: i32, keep: v128): v128 {
  const back = <usize>(4 - t) << 2;
  return v128.and(dz1(masked, s - back, m - back, d - back), keep);
}

/**
 * The dZ of one output plane laid out like the input plane it multiplies: dst[oy·pw + ox] = dZ[oy][ox] for ox < wo,
 * 0 in the pw − wo = 2 columns after (pw = wo + 2: 3×3, stride 1), dZ = dY ⊙ [mask > 0] (mask 0: dY); ho·pw f32.
 * A row's last 1..3 columns come from a vector ending at wo − 1 (rewriting lanes already written, with equal values).
 * Returns the f32x4 sum of dZ (that vector's rewritten lanes zeroed).
 */
function dz_flat(dy: usize, mask: usize, ho: i32, wo: i32, pw: i32, dst: usize): v128 {
  return mask ? dz_rows(true, dy, mask, ho, wo, pw, dst) : dz_rows(false, dy, 0, ho, wo, pw, dst);
}

/**
 * dz_flat with the mask test resolved at compile time. Three pointers walk dY, the mask and dst (a wasm address is
 * one i32: base + index costs an add per access, a pointer an add per step), four vectors a step, then two, one and
 * the tail; a row's sum is its own accumulator, added to the plane's once per row.
 */
// @ts-ignore: decorator
@inline function dz_rows(masked: bool, dy: usize, mask: usize, ho: i32, wo: i32, pw: i32, dst: usize): v128 {
  const z = f32x4.splat(0), t = wo & 3, fb = <usize>(wo & ~3) << 2, pairs = <usize>(wo & ~7) << 2, quads = <usize>(wo & ~15) << 2;
  const keep = i32x4.ge_s(i32x4(0, 1, 2, 3), i32x4.splat(t ? 4 - t : 0));
  let sum = z, s = dy, m = mask, d = dst;
  for (let r = 0; r < ho; r++) {
    const e4 = s + quads, e2 = s + pairs, e = s + fb;
    let rs = z;
    for (; s < e4; s += 64, m += 64, d += 64) rs = f32x4.add(rs, dz4(masked, s, m, d));
    if (s < e2) {
      let v = v128.load(s), u = v128.load(s, 16);
      if (masked) { v = v128.and(v, f32x4.gt(v128.load(m), z)); u = v128.and(u, f32x4.gt(v128.load(m, 16), z)); }
      v128.store(d, v); v128.store(d, u, 16);
      rs = f32x4.add(rs, f32x4.add(v, u));
      s += 32; m += 32; d += 32;
    }
    if (s < e) {
      rs = f32x4.add(rs, dz1(masked, s, m, d));
      s += 16; m += 16; d += 16;
    }
    if (t) {
      rs = f32x4.add(rs, dz_tail(masked, s, m, d, t, keep));
      s += <usize>t << 2; m += <usize>t << 2; d += <usize>t << 2;
    }
    store<i64>(d, 0);
    d += <usize>(pw - wo) << 2;
    sum = f32x4.add(sum, rs);
  }
  return sum;
}

/**
 * g0[kx] (and g1[kx] when two) += Σ_i dz0[i] (dz1[i]) · X_kx[i] lanewise, kx < 3, over the flat index i < n: six f32x4
 * accumulators (three when !two) over n >> 2 vectors, then one vector ending at n − 1 with its first lanes zeroed;
 * g0, g1: the f32x4 partial sums of dW[o][c][ky][0..3) and dW[o + 1][c][ky][0..3). X_kx from s0:
 * - !shifted: the input plane's row ky, X_kx[i] = s0[i + kx] (dz_flat's layout: the 2 zero columns of each row make
 *   the sum over n = ho·pw − 2 exactly the valid correlation; every read stays in the plane);
 * - shifted: the shifted copies' row ky, X_kx[i] = s0[i + kx·DZ_GAP/4] over the output's n = P pixels, every load
 *   16-byte aligned.
 * gapped (always when shifted): dz1 = dz0 + DZ_GAP, read at a constant offset (one add fewer per step).
 */
// @ts-ignore: decorator
@inline function grad_row(two: bool, shifted: bool, gapped: bool, n: i32, dz0: usize, dz1: usize, s0: usize, g0: usize, g1: usize): void {
  const z = f32x4.splat(0), nv = n >> 2, t = n & 3;
  let a0 = z, a1 = z, a2 = z, e0 = z, e1 = z, e2 = z;
  const end = dz0 + (<usize>nv << 4), dd = dz1 - dz0;
  for (let d = dz0, s = s0; d < end; d += 16, s += 16) {
    const x0 = v128.load(s), v = v128.load(d);
    const x1 = shifted ? v128.load(s, DZ_GAP) : v128.load(s, 4), x2 = shifted ? v128.load(s, 2 * DZ_GAP) : v128.load(s, 8);
    a0 = f32x4.add(a0, f32x4.mul(v, x0)); a1 = f32x4.add(a1, f32x4.mul(v, x1)); a2 = f32x4.add(a2, f32x4.mul(v, x2));
    if (two) {
      const u = gapped ? v128.load(d, DZ_GAP) : v128.load(d + dd);
      e0 = f32x4.add(e0, f32x4.mul(u, x0)); e1 = f32x4.add(e1, f32x4.mul(u, x1)); e2 = f32x4.add(e2, f32x4.mul(u, x2));
    }
  }
  if (t) {
    const keep = i32x4.ge_s(i32x4(0, 1, 2, 3), i32x4.splat(4 - t)), q = <usize>(n - 4) << 2, s = s0 + q;
    const x0 = v128.load(s), v = v128.and(v128.load(dz0 + q), keep);
    const x1 = shifted ? v128.load(s, DZ_GAP) : v128.load(s, 4), x2 = shifted ? v128.load(s, 2 * DZ_GAP) : v128.load(s, 8);
    a0 = f32x4.add(a0, f32x4.mul(v, x0)); a1 = f32x4.add(a1, f32x4.mul(v, x1)); a2 = f32x4.add(a2, f32x4.mul(v, x2));
    if (two) {
      const u = v128.and(v128.load(dz1 + q), keep);
      e0 = f32x4.add(e0, f32x4.mul(u, x0)); e1 = f32x4.add(e1, f32x4.mul(u, x1)); e2 = f32x4.add(e2, f32x4.mul(u, x2));
    }
  }
  add3(g0, a0, a1, a2);
  if (two) add3(g1, e0, e1, e2);
}

/**
 * The input's column-shifted copies: xs_kx[r·wo + ox] = plane_c[r·pw + ox + kx] for rows r < hp, columns ox < wo, at
 * xs + (3c + kx)·DZ_GAP, so that X_t[i] = xs_kx[i + ky·wo] over the flat output index i = oy·wo + ox. A row's last
 * wo mod 4 columns come from a vector ending at wo − 1 (copy_row; wo ≥ 4).
 */
function shifted_copies(ci: i32, planes: usize, plane: i32, pw: i32, hp: i32, wo: i32, xs: usize): void {
  const fb = <usize>(wo & ~3) << 2, tail = <usize>(wo - 4) << 2, rs = <usize>pw << 2, rd = <usize>wo << 2;
  for (let c = 0; c < ci; c++) {
    for (let kx = 0; kx < 3; kx++) {
      let src = planes + (<usize>(c * plane + kx) << 2), dst = xs + <usize>(3 * c + kx) * DZ_GAP;
      for (let r = 0; r < hp; r++, src += rs, dst += rd) copy_row(src, dst, wo, fb, tail);
    }
  }
}

/**
 * dst[i] = dZ[i] = dY[i] ⊙ [mask[i] > 0] over one output plane, flat (P ≥ 4 f32; mask 0: dY): four vectors a step,
 * then one, then a vector ending at P − 1 (rewriting lanes with equal values). Returns the f32x4 sum of dZ (that
 * vector's rewritten lanes zeroed).
 */
function dz_plane(dy: usize, mask: usize, P: i32, dst: usize): v128 {
  return mask ? dz_flat_masked(true, dy, mask, P, dst) : dz_flat_masked(false, dy, 0, P, dst);
}

/** dz_plane with the mask test resolved at compile time; three pointers walk dY, the mask and dst. */
// @ts-ignore: decorator
@inline function dz_flat_masked(masked: bool, dy: usize, mask: usize, P: i32, dst: usize): v128 {
  const z = f32x4.splat(0), t = P & 3, e4 = dy + (<usize>(P & ~15) << 2), e = dy + (<usize>(P & ~3) << 2);
  let sum = z, s = dy, m = mask, d = dst;
  for (; s < e4; s += 64, m += 64, d += 64) sum = f32x4.add(sum, dz4(masked, s, m, d));
  for (; s < e; s += 16, m += 16, d += 16) sum = f32x4.add(sum, dz1(masked, s, m, d));
  if (t) sum = f32x4.add(sum, dz_tail(masked, s, m, d, t, i32x4.ge_s(i32x4(0, 1, 2, 3), i32x4.splat(4 - t))));
  return sum;
}

/**
 * dW (and db) over all images: see conv.ts conv2d_bwd_w_f32x4_direct. Per image (its shifted copies first when
 * uses_shifted) and pair of output channels: their dZ planes (dz_plane, or dz_flat in the planes' layout), then per
 * input channel and kernel row grad_row (over the copies or the planes), which adds to G, f32x4 partial sums of every dW entry (co·K
 * vectors in the weight streams' place: ⌈co/4⌉·16·(K + 1) ≥ 4·co·K f32); then dW = beta·dW + Σ lanes of G. db sums
 * each image's dZ in f32x4, the images in f64.
 */
export function direct_bwd_w(n: i32, ci: i32, co: i32, h: i32, w: i32, ho: i32, wo: i32, pt: i32, pl: i32, pb: i32, pr: i32, x_ptr: usize, ymask: usize, dy_ptr: usize, dw_ptr: usize, db_ptr: usize, beta: f32, scratch: usize): void {
  const dbs = scratch, G = scratch + (<usize>((2 * co + 3) & ~3) << 2), pad = scratch + planes_at(ci, co), padded = (pt | pl | pb | pr) != 0;
  const P = ho * wo, pw0 = padded ? w + pl + pr : w, L = ho * pw0 - 2, KG = co * ci * 9;
  const hp = padded ? h + pt + pb : h, plane = hp * pw0, shifted = uses_shifted(co, hp, wo), xs = operands_at(pad, ci, h, w, pt, pl, pb, pr);
  const dz0 = shifted ? xs + <usize>(3 * ci) * DZ_GAP : xs, gap = shifted || dz_gapped(ho, pw0), dz1 = dz0 + (gap ? DZ_GAP : <usize>((ho * pw0 + 3) & ~3) << 2);
  if (db_ptr) for (let o = 0; o < co; o++) store<f64>(dbs + (<usize>o << 3), 0);
  for (let q = 0; q < KG; q++) v128.store(G + (<usize>q << 4), f32x4.splat(0));
  for (let i = 0; i < n; i++) {
    const x = x_ptr + (<usize>(i * ci * h * w) << 2);
    const pw = image_planes(ci, h, w, pt, pl, pb, pr, x, pad), rs = <usize>pw << 2;
    const planes = padded ? pad : x, ps = <usize>plane << 2;
    if (shifted) shifted_copies(ci, planes, plane, pw, hp, wo, xs);
    for (let o = 0; o < co; o += 2) {
      const two = o + 1 < co, m = two ? 2 : 1;
      for (let j = 0; j < m; j++) {
        const q = <usize>((i * co + o + j) * P) << 2, mk = ymask ? ymask + q : 0;
        const sd = shifted ? dz_plane(dy_ptr + q, mk, P, j ? dz1 : dz0) : dz_flat(dy_ptr + q, mk, ho, wo, pw, j ? dz1 : dz0);
        if (db_ptr) {
          const s = dbs + (<usize>(o + j) << 3);
          store<f64>(s, load<f64>(s) + ((<f64>f32x4.extract_lane(sd, 0) + <f64>f32x4.extract_lane(sd, 1)) + (<f64>f32x4.extract_lane(sd, 2) + <f64>f32x4.extract_lane(sd, 3))));
        }
      }
      for (let c = 0; c < ci; c++) {
        const g0 = G + (<usize>((o * ci + c) * 9) << 4), g1 = g0 + (<usize>(ci * 9) << 4), pc = planes + <usize>c * ps;
        for (let ky = 0; ky < 3; ky++) {
          const a = g0 + <usize>(48 * ky), b = g1 + <usize>(48 * ky);
          if (shifted) {
            const s0 = xs + <usize>(3 * c) * DZ_GAP + (<usize>(ky * wo) << 2);
            if (two) grad_row(true, true, true, P, dz0, dz1, s0, a, b);
            else grad_row(false, true, true, P, dz0, dz1, s0, a, b);
          } else {
            const s0 = pc + <usize>ky * rs;
            if (two && gap) grad_row(true, false, true, L, dz0, dz1, s0, a, b);
            else if (two) grad_row(true, false, false, L, dz0, dz1, s0, a, b);
            else grad_row(false, false, false, L, dz0, dz1, s0, a, b);
          }
        }
      }
    }
  }
  for (let q = 0; q < KG; q++) {
    const p = dw_ptr + (<usize>q << 2), g = hsum(v128.load(G + (<usize>q << 4)));
    store<f32>(p, beta == 0 ? g : beta * load<f32>(p) + g);
  }
  if (db_ptr) {
    for (let o = 0; o < co; o++) {
      const q = db_ptr + (<usize>o << 2), s = load<f64>(dbs + (<usize>o << 3));
      store<f32>(q, beta == 0 ? <f32>s : <f32>(<f64>beta * <f64>load<f32>(q) + s));
    }
  }
}
