// Direct 3×3, stride-1, undilated convolution for few input channels (internal: conv.ts exports the kernels; index.ts
// does not re-export this file). With K = 9·c_in small, im2col's GEMM spends its 4×8 blocks on a 9-step reduction
// after copying K·P floats; here the GEMM reads its right operand straight from the input rows (implicit im2col) and
// the weight gradient's dot products run over dZ and the input rows (the relu's mask applied as dY is read).
//
// Forward: Y[o][oy][ox] = act(b[o] + Σ_t W[o][t]·X_t[oy][ox]) over the K = 9·c_in taps t = (c, ky, kx), where
// X_t[oy][ox] = plane_c[oy + ky][ox + kx]: 4 output channels × 8 columns of one output row (eight f32x4 accumulators)
// per block; each tap loads the 8 input floats under the block's columns (two f32x4 at the tap's offset) and splats
// the 4 channels' weights: 6 loads and 16 flops' worth of f32x4 ops. The taps come as one stream per group of 4
// output channels, {byte offset, 4 weights} per tap (built in the scratch once per call), walked by one pointer: V8
// schedules a loop body's loads ahead of its arithmetic and keeps few pointers in registers, so a body of one tap
// (8 accumulators + 6 loaded values, 3 pointers) runs without spills. A row's last 1..4 columns get a 4-column block,
// its last 5..7 an 8-column block moved back to end at w_out − 1 (stores are idempotent): w_out ≥ 8. A last group of 2
// or 3 channels has zero weights in the others' places and stores only its own; a lone channel (c_out ≡ 1 mod 4, a
// depthwise conv's slice) runs one-channel blocks of 16 columns instead (fwd_row1), not a 4-channel block 3/4 idle.
// Weight gradient: per image and pair of output channels, dZ = dY ⊙ mask is first written in the input plane's layout
// (row stride pw = w_out + 2, the 2 columns past w_out zero; db sums it), so that dW[o][c][ky][kx] = Σ_i dZ[i]·
// plane_c[i + ky·pw + kx] over one flat index i: per input channel and kernel row ky, six f32x4 accumulators
// (2 channels × kx 0..2) run over consecutive vectors of dZ and the plane (5 loads, 12 flops' worth of ops per step, no
// offset table; a lone last channel: 3 accumulators). V8 loads a loop body's values ahead of its arithmetic: 9
// accumulators (all taps of a channel) spill and run 1.6× slower.
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

/**
 * Scratch f32 of the direct kernels: [ db sums: c_out f64 | tap streams: ⌈c_out/4⌉·9·c_in·5 | padded planes:
 * c_in·plane_size | two dZ planes in the input's layout: 2·h_out·(w + pad_left + pad_right) ], each part a multiple of 4
 * f32 (the scratch needs 8-byte alignment for the f64 sums).
 */
export function direct_scratch(c_in: i32, c_out: i32, h: i32, w: i32, pt: i32, pl: i32, pb: i32, pr: i32, ho: i32, wo: i32): i32 {
  return ((2 * c_out + 3) & ~3) + ((channel_groups(c_out) * 45 * c_in + 3) & ~3) + ((c_in * plane_size(h, w, pt, pl, pb, pr) + 3) & ~3) + 2 * ((ho * (w + pl + pr) + 3) & ~3);
}

/**
 * The tap streams: for each group of 4 output channels, per tap t = (c, ky, kx) five words: the tap's byte offset in
 * the planes ((c·plane + ky·pw + kx)·4, i32) and W[4g + r][t] for r < 4 (0 past c_out).
 */
function tap_streams(ci: i32, co: i32, plane: i32, pw: i32, w_ptr: usize, st: usize): void {
  const K = 9 * ci;
  let q = st;
  for (let g = 0; g < channel_groups(co); g++) {
    let t = 0;
    for (let c = 0; c < ci; c++) {
      for (let ky = 0; ky < 3; ky++) {
        for (let kx = 0; kx < 3; kx++) {
          store<i32>(q, (c * plane + ky * pw + kx) << 2);
          for (let r = 0; r < 4; r++) {
            const o = 4 * g + r;
            store<f32>(q + 4 + (<usize>r << 2), o < co ? load<f32>(w_ptr + (<usize>(o * K + t) << 2)) : 0);
          }
          q += 20;
          t++;
        }
      }
    }
  }
}

/**
 * One block: Y[o + r][oy][ox..ox + 7] = act(b_r + Σ_t W[o + r][t]·X_t) for r < nr (1..4); x: the input under the
 * block's first column at tap offset 0; taps: the group's stream (K taps of 20 bytes); y: Y[o][oy][ox] (channel
 * planes ys bytes apart).
 */
function fwd_block(nr: i32, K: i32, x: usize, taps: usize, b0: v128, b1: v128, b2: v128, b3: v128, y: usize, ys: usize, relu: bool): void {
  let c00 = b0, c01 = b0, c10 = b1, c11 = b1, c20 = b2, c21 = b2, c30 = b3, c31 = b3;
  const end = taps + <usize>K * 20;
  for (let q = taps; q < end; q += 20) {
    const s = x + <usize>load<i32>(q);
    const v0 = v128.load(s), v1 = v128.load(s, 16);
    let w = v128.load32_splat(q, 4);
    c00 = f32x4.add(c00, f32x4.mul(w, v0)); c01 = f32x4.add(c01, f32x4.mul(w, v1));
    w = v128.load32_splat(q, 8);
    c10 = f32x4.add(c10, f32x4.mul(w, v0)); c11 = f32x4.add(c11, f32x4.mul(w, v1));
    w = v128.load32_splat(q, 12);
    c20 = f32x4.add(c20, f32x4.mul(w, v0)); c21 = f32x4.add(c21, f32x4.mul(w, v1));
    w = v128.load32_splat(q, 16);
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

/** fwd_block over 4 columns (one f32x4 per channel): a row's last 1..4 columns, ending at w_out − 1. */
function fwd_block4(nr: i32, K: i32, x: usize, taps: usize, b0: v128, b1: v128, b2: v128, b3: v128, y: usize, ys: usize, relu: bool): void {
  let c0 = b0, c1 = b1, c2 = b2, c3 = b3;
  const end = taps + <usize>K * 20;
  for (let q = taps; q < end; q += 20) {
    const v = v128.load(x + <usize>load<i32>(q));
    c0 = f32x4.add(c0, f32x4.mul(v128.load32_splat(q, 4), v));
    c1 = f32x4.add(c1, f32x4.mul(v128.load32_splat(q, 8), v));
    c2 = f32x4.add(c2, f32x4.mul(v128.load32_splat(q, 12), v));
    c3 = f32x4.add(c3, f32x4.mul(v128.load32_splat(q, 16), v));
  }
  if (relu) {
    const z = f32x4.splat(0);
    c0 = f32x4.pmax(c0, z); c1 = f32x4.pmax(c1, z); c2 = f32x4.pmax(c2, z); c3 = f32x4.pmax(c3, z);
  }
  v128.store(y, c0);
  if (nr > 1) v128.store(y + ys, c1);
  if (nr > 2) v128.store(y + 2 * ys, c2);
  if (nr > 3) v128.store(y + 3 * ys, c3);
}

/**
 * One channel's block of 8·nv columns (nv 1 or 2: 2 or 4 f32x4 accumulators): Y[o][oy][ox..] = act(b + Σ_t W[o][t]·X_t),
 * for a lone last channel (nr = 1, e.g. a depthwise conv's slice), where fwd_block would compute 3 zero-weight
 * channels beside it. Each tap: 2·nv input loads and one splat for 4·nv flops' worth of f32x4 ops.
 */
// @ts-ignore: decorator
@inline function fwd_block1(nv: i32, K: i32, x: usize, taps: usize, b0: v128, y: usize, relu: bool): void {
  let c0 = b0, c1 = b0, c2 = b0, c3 = b0;
  const end = taps + <usize>K * 20;
  for (let q = taps; q < end; q += 20) {
    const s = x + <usize>load<i32>(q), w = v128.load32_splat(q, 4);
    c0 = f32x4.add(c0, f32x4.mul(w, v128.load(s))); c1 = f32x4.add(c1, f32x4.mul(w, v128.load(s, 16)));
    if (nv > 1) { c2 = f32x4.add(c2, f32x4.mul(w, v128.load(s, 32))); c3 = f32x4.add(c3, f32x4.mul(w, v128.load(s, 48))); }
  }
  if (relu) {
    const z = f32x4.splat(0);
    c0 = f32x4.pmax(c0, z); c1 = f32x4.pmax(c1, z); c2 = f32x4.pmax(c2, z); c3 = f32x4.pmax(c3, z);
  }
  v128.store(y, c0); v128.store(y, c1, 16);
  if (nv > 1) { v128.store(y, c2, 32); v128.store(y, c3, 48); }
}

/**
 * One output row of a lone channel: 16-column blocks, then the rest as one 16-column block moved back to end at
 * w_out − 1 (w_out ≥ 16) or 8-column blocks (the last moved back), or a 4-column fwd_block4 (stores are idempotent).
 */
function fwd_row1(K: i32, wo: i32, xr: usize, taps: usize, b0: v128, yr: usize, ys: usize, relu: bool): void {
  let ox = 0;
  for (; ox + 16 <= wo; ox += 16) fwd_block1(2, K, xr + (<usize>ox << 2), taps, b0, yr + (<usize>ox << 2), relu);
  const rem = wo - ox;
  if (rem > 8 && wo >= 16) fwd_block1(2, K, xr + (<usize>(wo - 16) << 2), taps, b0, yr + (<usize>(wo - 16) << 2), relu);
  else if (rem > 4) {
    if (rem > 8) fwd_block1(1, K, xr + (<usize>ox << 2), taps, b0, yr + (<usize>ox << 2), relu);
    fwd_block1(1, K, xr + (<usize>(wo - 8) << 2), taps, b0, yr + (<usize>(wo - 8) << 2), relu);
  } else if (rem > 0) fwd_block4(1, K, xr + (<usize>(wo - 4) << 2), taps, b0, b0, b0, b0, yr + (<usize>(wo - 4) << 2), ys, relu);
}

/** Bias of channel o, splatted (b_ptr 0: zero). */
// @ts-ignore: decorator
@inline function bias_of(b_ptr: usize, o: i32): v128 {
  return f32x4.splat(b_ptr ? load<f32>(b_ptr + (<usize>o << 2)) : 0);
}

/**
 * Forward over one image: y [co, ho, wo] = act(Σ_t W[o][t]·X_t + b[o]); planes: its ci input planes, pw columns;
 * st: the tap streams (tap_streams).
 */
function fwd_image(ci: i32, co: i32, ho: i32, wo: i32, planes: usize, pw: i32, st: usize, b_ptr: usize, y: usize, relu: bool): void {
  const K = 9 * ci, ys = <usize>(ho * wo) << 2, rs = <usize>pw << 2;
  for (let g = 0; g < channel_groups(co); g++) {
    const o = 4 * g, nr = min(4, co - o), taps = st + <usize>(g * K) * 20;
    const b0 = bias_of(b_ptr, o), b1 = nr > 1 ? bias_of(b_ptr, o + 1) : b0, b2 = nr > 2 ? bias_of(b_ptr, o + 2) : b0, b3 = nr > 3 ? bias_of(b_ptr, o + 3) : b0;
    const yo = y + <usize>o * ys;
    // 8-column blocks; a remainder of 1..4 columns gets a 4-column block ending at w_out − 1, one of 5..7 an
    // 8-column block moved back to end there (w_out = 26: 8 + 8 + 8 + 4 columns computed, not 4·8).
    const full = wo & ~7, tail = wo - full;
    for (let oy = 0; oy < ho; oy++) {
      const xr = planes + <usize>oy * rs, yr = yo + (<usize>(oy * wo) << 2);
      if (nr == 1) { fwd_row1(K, wo, xr, taps, b0, yr, ys, relu); continue; }
      for (let ox = 0; ox < full; ox += 8) fwd_block(nr, K, xr + (<usize>ox << 2), taps, b0, b1, b2, b3, yr + (<usize>ox << 2), ys, relu);
      if (tail > 4) fwd_block(nr, K, xr + (<usize>(wo - 8) << 2), taps, b0, b1, b2, b3, yr + (<usize>(wo - 8) << 2), ys, relu);
      else if (tail > 0) fwd_block4(nr, K, xr + (<usize>(wo - 4) << 2), taps, b0, b1, b2, b3, yr + (<usize>(wo - 4) << 2), ys, relu);
    }
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

/** Forward, all images: see conv.ts conv2d_fwd_f32x4_direct. */
export function direct_fwd(n: i32, ci: i32, co: i32, h: i32, w: i32, ho: i32, wo: i32, pt: i32, pl: i32, pb: i32, pr: i32, x_ptr: usize, w_ptr: usize, b_ptr: usize, y_ptr: usize, scratch: usize, relu: bool): void {
  const st = scratch + (<usize>((2 * co + 3) & ~3) << 2), pad = st + (<usize>((channel_groups(co) * 45 * ci + 3) & ~3) << 2);
  const padded = (pt | pl | pb | pr) != 0, pw = padded ? w + pl + pr : w, plane = padded ? (h + pt + pb) * pw : h * w;
  tap_streams(ci, co, plane, pw, w_ptr, st);
  for (let i = 0; i < n; i++) {
    const x = x_ptr + (<usize>(i * ci * h * w) << 2);
    image_planes(ci, h, w, pt, pl, pb, pr, x, pad);
    fwd_image(ci, co, ho, wo, padded ? pad : x, pw, st, b_ptr, y_ptr + (<usize>(i * co * ho * wo) << 2), relu);
  }
}

/** Σ of the four lanes, in f32, as (l0 + l1) + (l2 + l3). */
// @ts-ignore: decorator
@inline function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** dw[0..3) = b·dw + (hsum(a0), hsum(a1), hsum(a2)) (b 0: overwrite). */
// @ts-ignore: decorator
@inline function put3(dw: usize, a0: v128, a1: v128, a2: v128, b: f32): void {
  if (b == 0) { store<f32>(dw, hsum(a0)); store<f32>(dw, hsum(a1), 4); store<f32>(dw, hsum(a2), 8); }
  else {
    store<f32>(dw, b * load<f32>(dw) + hsum(a0));
    store<f32>(dw, b * load<f32>(dw, 4) + hsum(a1), 4);
    store<f32>(dw, b * load<f32>(dw, 8) + hsum(a2), 8);
  }
}

/**
 * The dZ of one output plane laid out like the input plane it multiplies: dst[oy·pw + ox] = dZ[oy][ox] for ox < wo,
 * 0 in the pw − wo = 2 columns after (pw = wo + 2: 3×3, stride 1), dZ = dY ⊙ [mask > 0] (mask 0: dY); ho·pw f32.
 * A row's last 1..3 columns come from a vector ending at wo − 1 (rewriting lanes already written, with equal values).
 * Returns the f32x4 sum of dZ (that vector's rewritten lanes zeroed).
 */
function dz_flat(dy: usize, mask: usize, ho: i32, wo: i32, pw: i32, dst: usize): v128 {
  const z = f32x4.splat(0), t = wo & 3, full = wo & ~3;
  const keep = i32x4.ge_s(i32x4(0, 1, 2, 3), i32x4.splat(t ? 4 - t : 0));
  let sum = z;
  for (let r = 0; r < ho; r++) {
    const q = <usize>(r * wo) << 2, d = dst + (<usize>(r * pw) << 2);
    for (let x = 0; x < full; x += 4) {
      const o = q + (<usize>x << 2);
      let v = v128.load(dy + o);
      if (mask) v = v128.and(v, f32x4.gt(v128.load(mask + o), z));
      v128.store(d + (<usize>x << 2), v);
      sum = f32x4.add(sum, v);
    }
    if (t) {
      const o = q + (<usize>(wo - 4) << 2);
      let v = v128.load(dy + o);
      if (mask) v = v128.and(v, f32x4.gt(v128.load(mask + o), z));
      v128.store(d + (<usize>(wo - 4) << 2), v);
      sum = f32x4.add(sum, v128.and(v, keep));
    }
    store<i64>(d + (<usize>wo << 2), 0);
  }
  return sum;
}

/**
 * dW[o][c][ky][0..3) (and dW[o + 1] when two) += Σ_i dz0[i] (dz1[i]) · r0[i + kx] over the flat index i < L = ho·pw − 2
 * (dz_flat's layout: the 2 zero columns of each row make the sum exactly the valid correlation): six f32x4
 * accumulators (three when !two) over L >> 2 vectors, then one vector ending at L − 1 with its first lanes zeroed.
 * r0: the input plane's row ky (every read stays in the plane).
 */
// @ts-ignore: decorator
@inline function grad_row(two: bool, L: i32, dz0: usize, dz1: usize, r0: usize, g0: usize, g1: usize, b: f32): void {
  const z = f32x4.splat(0), nv = L >> 2, t = L & 3;
  let a0 = z, a1 = z, a2 = z, e0 = z, e1 = z, e2 = z;
  const end = dz0 + (<usize>nv << 4), dd = dz1 - dz0;
  for (let d = dz0, s = r0; d < end; d += 16, s += 16) {
    const x0 = v128.load(s), x1 = v128.load(s, 4), x2 = v128.load(s, 8), v = v128.load(d);
    a0 = f32x4.add(a0, f32x4.mul(v, x0)); a1 = f32x4.add(a1, f32x4.mul(v, x1)); a2 = f32x4.add(a2, f32x4.mul(v, x2));
    if (two) {
      const u = v128.load(d + dd);
      e0 = f32x4.add(e0, f32x4.mul(u, x0)); e1 = f32x4.add(e1, f32x4.mul(u, x1)); e2 = f32x4.add(e2, f32x4.mul(u, x2));
    }
  }
  if (t) {
    const keep = i32x4.ge_s(i32x4(0, 1, 2, 3), i32x4.splat(4 - t)), q = <usize>(L - 4) << 2, s = r0 + q;
    const x0 = v128.load(s), x1 = v128.load(s, 4), x2 = v128.load(s, 8), v = v128.and(v128.load(dz0 + q), keep);
    a0 = f32x4.add(a0, f32x4.mul(v, x0)); a1 = f32x4.add(a1, f32x4.mul(v, x1)); a2 = f32x4.add(a2, f32x4.mul(v, x2));
    if (two) {
      const u = v128.and(v128.load(dz1 + q), keep);
      e0 = f32x4.add(e0, f32x4.mul(u, x0)); e1 = f32x4.add(e1, f32x4.mul(u, x1)); e2 = f32x4.add(e2, f32x4.mul(u, x2));
    }
  }
  put3(g0, a0, a1, a2, b);
  if (two) put3(g1, e0, e1, e2, b);
}

/**
 * dW (and db) over all images: see conv.ts conv2d_bwd_w_f32x4_direct. Per image and pair of output channels: their
 * dZ planes (dz_flat), then per input channel and kernel row grad_row, reduced and added to dW (the first image
 * applies beta); db sums each image's dZ in f32x4, the images in f64.
 */
export function direct_bwd_w(n: i32, ci: i32, co: i32, h: i32, w: i32, ho: i32, wo: i32, pt: i32, pl: i32, pb: i32, pr: i32, x_ptr: usize, ymask: usize, dy_ptr: usize, dw_ptr: usize, db_ptr: usize, beta: f32, scratch: usize): void {
  const dbs = scratch, pad = scratch + (<usize>(((2 * co + 3) & ~3) + ((channel_groups(co) * 45 * ci + 3) & ~3)) << 2), padded = (pt | pl | pb | pr) != 0;
  const P = ho * wo, pw0 = pt | pl | pb | pr ? w + pl + pr : w, L = ho * pw0 - 2;
  const dz0 = pad + (<usize>((ci * plane_size(h, w, pt, pl, pb, pr) + 3) & ~3) << 2), dz1 = dz0 + (<usize>((ho * pw0 + 3) & ~3) << 2);
  if (db_ptr) for (let o = 0; o < co; o++) store<f64>(dbs + (<usize>o << 3), 0);
  if (n == 0) {
    for (let q = 0; q < co * ci * 9; q++) { const p = dw_ptr + (<usize>q << 2); store<f32>(p, beta == 0 ? 0 : beta * load<f32>(p)); }
  }
  for (let i = 0; i < n; i++) {
    const x = x_ptr + (<usize>(i * ci * h * w) << 2);
    const pw = image_planes(ci, h, w, pt, pl, pb, pr, x, pad), rs = <usize>pw << 2;
    const planes = padded ? pad : x, ps = <usize>(padded ? (h + pt + pb) * pw : h * w) << 2;
    const b = i == 0 ? beta : 1;
    for (let o = 0; o < co; o += 2) {
      const two = o + 1 < co, m = two ? 2 : 1;
      for (let j = 0; j < m; j++) {
        const q = <usize>((i * co + o + j) * P) << 2;
        const sd = dz_flat(dy_ptr + q, ymask ? ymask + q : 0, ho, wo, pw, j ? dz1 : dz0);
        if (db_ptr) {
          const s = dbs + (<usize>(o + j) << 3);
          store<f64>(s, load<f64>(s) + ((<f64>f32x4.extract_lane(sd, 0) + <f64>f32x4.extract_lane(sd, 1)) + (<f64>f32x4.extract_lane(sd, 2) + <f64>f32x4.extract_lane(sd, 3))));
        }
      }
      for (let c = 0; c < ci; c++) {
        const pc = planes + <usize>c * ps, g0 = dw_ptr + <usize>(o * ci + c) * 36, g1 = g0 + <usize>ci * 36;
        for (let ky = 0; ky < 3; ky++) {
          if (two) grad_row(true, L, dz0, dz1, pc + <usize>ky * rs, g0 + <usize>(12 * ky), g1 + <usize>(12 * ky), b);
          else grad_row(false, L, dz0, dz1, pc + <usize>ky * rs, g0 + <usize>(12 * ky), g1, b);
        }
      }
    }
  }
  if (db_ptr) {
    for (let o = 0; o < co; o++) {
      const q = db_ptr + (<usize>o << 2), s = load<f64>(dbs + (<usize>o << 3));
      store<f32>(q, beta == 0 ? <f32>s : <f32>(<f64>beta * <f64>load<f32>(q) + s));
    }
  }
}
