// 2-D convolution over NCHW tensors, four kernel families (the host picks one per shape: src/ops/conv-kernels.ts):
// - im2col into caller-provided scratch, then the blocked f32x4 GEMMs dense.ts uses (gemm.ts, and dense_bwd_x for
//   bwd_w at small K): any kernel, stride, dilation and padding. Forward and both backward passes. (This comment's
//   sections below describe these.)
// - Winograd F(2×2, 3×3) and F(4×4, 3×3) (conv_wino.ts, conv_wino4.ts): 3×3, unit strides and dilations; a forward
//   and one backward computing dX, dW and db together (the relu's mask fused). At the end of this file.
// - direct 3×3 (conv_direct.ts): few input channels; forward and dW, db (the relu's mask fused). At the end.
//
// Layout: X [n, c_in, h, w], W [c_out, c_in, kh, kw] (PyTorch/ONNX order), b [c_out],
// Y [n, c_out, h_out, w_out], all contiguous. Dims come in a Conv2dParams struct (abi.ts) at `p_ptr`.
// Write K = c_in·kh·kw (the patch length) and P = h_out·w_out (output positions per image).
//
// Per image (X_n [c_in, h·w], Y_n [c_out, P]):
//   forward  Y_n = act(W·col_n + b)          col_n [K, P] = im2col(X_n): row (ci, ky, kx), column (oy, ox)
//   bwd_x    dcol = Wᵀ·dY_n, dX_n += col2im(dcol)          (Wᵀ read in place: A = W with swapped strides)
//   bwd_w    dW += dY_n·col_nᵀ, db += Σ_p dY_n: for K ≤ 32 as dot products along P (dense.ts's dY·Wᵀ
//            kernel, both operands contiguous), above as gemm_nn over row_n [P, K] = im2row(X_n)
// The padding is never materialised: im2col writes zeros where the window leaves the input, col2im
// skips those entries. A 1×1, stride-1, unpadded convolution needs no im2col (col_n is X_n itself; its
// bwd_x writes dX_n straight from the GEMM; its bwd_w with K > 32 still gathers row_n = X_nᵀ).
//
// Scratch: every kernel takes `col_ptr`, a buffer of K·P f32 (the host computes it;
// 16-byte alignment recommended, 4 required). It is overwritten; its contents after a call are
// unspecified. Pointers need 4-byte alignment. Outputs must not alias inputs or the scratch.
//
// Edges without scalar loops where they cost (measured at W2's conv2, 64×32×13×13 → 64, 3×3: P = 121 = 15·8 + 1):
// a store-mode GEMM computes its last cols % 4 columns as one 4-wide block overlapping the previous one
// (gemm_store); im2col copies rows with an overlapping last f32x4; col2im adds its last len % 4 as one f32x4 whose
// already-added lanes are masked to +0; im2row copies 3-wide (kw < 4) runs as f32x4 whose extra lanes the next run
// overwrites. im2col/col2im compute each (ky, kx)'s valid output range once, without division at stride 1.
//
// Why im2col + GEMM as the general path: the GEMM's 4×8 register block keeps 8 f32x4 accumulators busy for any
// K ≥ 1; the im2col pass costs K·P copies against 2·c_out·K·P flops, i.e. 1/(2·c_out) of the arithmetic.
import { Conv2dParams } from "../abi";
import { zero_or_scale } from "../simd";
import { gemm_nn, EPI_STORE, EPI_RELU, EPI_BETA, EPI_ROWBIAS } from "./gemm";
import { dense_bwd_x_f32x4 } from "./dense";
import { zero_fill, copy_row, bias_grad } from "./plane";
import { wino_filter, wino_fwd, wino_bwd, wino_scratch } from "./conv_wino";
import { direct_fwd, direct_bwd_w, direct_scratch } from "./conv_direct";
import { wino4_filter, wino4_fwd, wino4_bwd, wino4_scratch } from "./conv_wino4";

/**
 * bwd_w takes the dot-product form (im2col + dense_bwd_x) up to this K and im2row + gemm_nn above it.
 * Measured at the W2 shapes (interleaved runs, 2-core machine under load): K = 9 (c_in 1, 3×3):
 * 1.83 ms dot vs 3.04 ms gemm_nn; K = 288 (c_in 32, 3×3): 17.0 ms dot vs 13.7 ms gemm_nn.
 */
const BWDW_DOT_MAX_K: i32 = 32;

/** Reduction block of the forward GEMM (rows of col_n per pass): a panel of 8 columns (16 KB) stays in L1. */
const FWD_KC: i32 = 512;

/**
 * gemm_nn for a store mode (EPI_STORE / EPI_RELU, optionally EPI_ROWBIAS; never EPI_BETA): when cols ≥ 4 and
 * cols % 4 ≠ 0, the last cols % 4 columns are not left to gemm_nn's scalar 1×1 tail but recomputed as one 4-wide
 * block ending at cols − 1, which rewrites up to 3 already stored columns with the same values (stores are
 * idempotent; the operands are the same). Needs C not to alias A or B.
 */
function gemm_store(rows: i32, cols: i32, kk: i32, a: usize, ars: usize, acs: usize, b: usize, bs: usize, c: usize, cs: usize, bias: usize, mode: i32): void {
  const t = cols & 3;
  if (t == 0 || cols < 4) { gemm_nn(rows, cols, kk, a, ars, acs, b, bs, c, cs, bias, mode, 0); return; }
  const main = cols - t;
  gemm_nn(rows, main, kk, a, ars, acs, b, bs, c, cs, bias, mode, 0);
  const off = <usize>(cols - 4) << 2;
  gemm_nn(rows, 4, kk, a, ars, acs, b + off, bs, c + off, cs, mode & EPI_ROWBIAS ? bias : bias ? bias + off : 0, mode, 0);
}

// @ts-ignore: decorator
@inline function ceil_div(a: i32, b: i32): i32 {
  return a >= 0 ? (a + b - 1) / b : -(-a / b);
}

// @ts-ignore: decorator
@inline function floor_div(a: i32, b: i32): i32 {
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/** Output extent along one axis: ⌊(in + pads − dil·(k − 1) − 1) / stride⌋ + 1 (≤ 0: empty). */
// @ts-ignore: decorator
@inline function out_extent(len: i32, k: i32, stride: i32, pad0: i32, pad1: i32, dil: i32): i32 {
  const span = len + pad0 + pad1 - dil * (k - 1) - 1;
  return span < 0 ? 0 : span / stride + 1;
}

/** Trap unless the struct is self-consistent (positive dims, strides, dilations; h_out/w_out as computed). */
function check(p: Conv2dParams): void {
  assert(p.n >= 0 && p.c_in > 0 && p.h > 0 && p.w > 0 && p.c_out > 0 && p.kh > 0 && p.kw > 0);
  assert(p.stride_h > 0 && p.stride_w > 0 && p.dil_h > 0 && p.dil_w > 0);
  assert(p.pad_top >= 0 && p.pad_left >= 0 && p.pad_bottom >= 0 && p.pad_right >= 0);
  assert(p.h_out > 0 && p.h_out == out_extent(p.h, p.kh, p.stride_h, p.pad_top, p.pad_bottom, p.dil_h));
  assert(p.w_out > 0 && p.w_out == out_extent(p.w, p.kw, p.stride_w, p.pad_left, p.pad_right, p.dil_w));
}

/** True when col_n is X_n itself: 1×1 kernel, unit strides, no padding. */
// @ts-ignore: decorator
@inline function is_pointwise(p: Conv2dParams): bool {
  return p.kh == 1 && p.kw == 1 && p.stride_h == 1 && p.stride_w == 1 &&
    p.pad_top == 0 && p.pad_left == 0 && p.pad_bottom == 0 && p.pad_right == 0;
}

/** The ox range [lo, hi) whose input column ox·sw − pl + kx·dw lies in [0, w) (no division when sw == 1). */
// @ts-ignore: decorator
@inline function ox_lo(p: Conv2dParams, kx: i32): i32 {
  const a = p.pad_left - kx * p.dil_w;
  return min(p.w_out, max(0, p.stride_w == 1 ? a : ceil_div(a, p.stride_w)));
}
// @ts-ignore: decorator
@inline function ox_hi(p: Conv2dParams, kx: i32): i32 {
  const a = p.w - 1 + p.pad_left - kx * p.dil_w;
  return max(0, min(p.w_out, (p.stride_w == 1 ? a : floor_div(a, p.stride_w)) + 1));
}
/** The oy range [lo, hi) whose input row oy·sh − pt + ky·dh lies in [0, h). */
// @ts-ignore: decorator
@inline function oy_lo(p: Conv2dParams, ky: i32): i32 {
  const a = p.pad_top - ky * p.dil_h;
  return min(p.h_out, max(0, p.stride_h == 1 ? a : ceil_div(a, p.stride_h)));
}
// @ts-ignore: decorator
@inline function oy_hi(p: Conv2dParams, ky: i32): i32 {
  const a = p.h - 1 + p.pad_top - ky * p.dil_h;
  return max(0, min(p.h_out, (p.stride_h == 1 ? a : floor_div(a, p.stride_h)) + 1));
}

/** col [K, P] = im2col(x [c_in, h, w]); zeros where the window is in the padding. */
function im2col(p: Conv2dParams, x: usize, col: usize): void {
  const h = p.h, w = p.w, wo = p.w_out, ho = p.h_out, sw = p.stride_w, sh = p.stride_h;
  const rs = <usize>(sh * w) << 2; // input bytes between consecutive oy
  let dst = col;
  for (let ci = 0; ci < p.c_in; ci++) {
    const xc = x + <usize>(ci * h * w) * 4;
    for (let ky = 0; ky < p.kh; ky++) {
      const y0 = oy_lo(p, ky), y1 = max(y0, oy_hi(p, ky));
      for (let kx = 0; kx < p.kw; kx++) {
        const lo = ox_lo(p, kx), hi = max(lo, ox_hi(p, kx)), len = hi - lo;
        const ix0 = lo * sw - p.pad_left + kx * p.dil_w; // input column of ox = lo
        zero_fill(dst, y0 * wo);
        let d = dst + <usize>(y0 * wo) * 4;
        let src = xc + (<usize>((y0 * sh - p.pad_top + ky * p.dil_h) * w + ix0) << 2);
        if (sw == 1 && lo == 0 && hi == wo) {
          // Every column inside: one contiguous copy per output row.
          for (let oy = y0; oy < y1; oy++) { copy_row(d, src, wo); d += <usize>wo << 2; src += rs; }
        } else {
          for (let oy = y0; oy < y1; oy++) {
            zero_fill(d, lo);
            const dl = d + (<usize>lo << 2);
            if (sw == 1) copy_row(dl, src, len);
            else {
              const step = <usize>sw << 2;
              let q = src;
              for (let o = 0; o < len; o++) { store<f32>(dl + (<usize>o << 2), load<f32>(q)); q += step; }
            }
            zero_fill(d + (<usize>hi << 2), wo - hi);
            d += <usize>wo << 2;
            src += rs;
          }
        }
        zero_fill(d, (ho - y1) * wo);
        dst += <usize>(ho * wo) << 2;
      }
    }
  }
}

/** dx [c_in, h, w] += col2im(dcol [K, P]): the adjoint of im2col (padding entries dropped). */
function col2im_add(p: Conv2dParams, dcol: usize, dx: usize): void {
  const h = p.h, w = p.w, wo = p.w_out, ho = p.h_out, sw = p.stride_w, sh = p.stride_h;
  const rs = <usize>(sh * w) << 2;
  const lane = i32x4(0, 1, 2, 3);
  let src = dcol;
  for (let ci = 0; ci < p.c_in; ci++) {
    const xc = dx + <usize>(ci * h * w) * 4;
    for (let ky = 0; ky < p.kh; ky++) {
      const y0 = oy_lo(p, ky), y1 = max(y0, oy_hi(p, ky));
      for (let kx = 0; kx < p.kw; kx++) {
        const lo = ox_lo(p, kx), hi = max(lo, ox_hi(p, kx)), len = hi - lo;
        const ix0 = lo * sw - p.pad_left + kx * p.dil_w;
        let s = src + (<usize>(y0 * wo + lo) << 2);
        let d = xc + (<usize>((y0 * sh - p.pad_top + ky * p.dil_h) * w + ix0) << 2);
        if (sw == 1) {
          const t = len & 3, body = len - t;
          // The last t < 4 as one vector ending at len − 1 whose first 4 − t lanes (already added) add +0.
          const keep = i32x4.ge_s(lane, i32x4.splat(4 - t));
          const q = <usize>(len - 4) << 2;
          for (let oy = y0; oy < y1; oy++) {
            let o = 0;
            for (; o < body; o += 4) {
              const r = d + (<usize>o << 2);
              v128.store(r, f32x4.add(v128.load(r), v128.load(s + (<usize>o << 2))));
            }
            if (t) {
              if (len >= 4) v128.store(d + q, f32x4.add(v128.load(d + q), v128.and(v128.load(s + q), keep)));
              else for (; o < len; o++) { const r = d + (<usize>o << 2); store<f32>(r, load<f32>(r) + load<f32>(s + (<usize>o << 2))); }
            }
            s += <usize>wo << 2;
            d += rs;
          }
        } else {
          const step = <usize>sw << 2;
          for (let oy = y0; oy < y1; oy++) {
            let r = d;
            for (let o = 0; o < len; o++) { store<f32>(r, load<f32>(r) + load<f32>(s + (<usize>o << 2))); r += step; }
            s += <usize>wo << 2;
            d += rs;
          }
        }
        src += <usize>(ho * wo) << 2;
      }
    }
  }
}

/** row [P, K] = im2col(x)ᵀ: one patch per output position, in W's (ci, ky, kx) order. */
function im2row(p: Conv2dParams, x: usize, row: usize): void {
  const h = p.h, w = p.w, kh = p.kh, kw = p.kw, ci_n = p.c_in, hw = h * w;
  const dh = p.dil_h, dw = p.dil_w;
  // Inside windows with dw == 1 and kw < 4 copy each (ci, ky) run of kw floats as one f32x4 whose extra lanes
  // the next run overwrites (the patch's last run is stored element by element); the load reads past the run
  // only within the same input row (ix0 + 4 ≤ w).
  const vec = dw == 1 && kw < 4;
  let dst = row;
  for (let oy = 0; oy < p.h_out; oy++) {
    const iy0 = oy * p.stride_h - p.pad_top;
    for (let ox = 0; ox < p.w_out; ox++) {
      const ix0 = ox * p.stride_w - p.pad_left;
      const inside = iy0 >= 0 && iy0 + (kh - 1) * dh < h && ix0 >= 0 && ix0 + (kw - 1) * dw < w;
      if (inside && vec && ix0 + 4 <= w) {
        const runs = ci_n * kh;
        let r = 0;
        for (let ci = 0; ci < ci_n; ci++) {
          let s = x + (<usize>(ci * hw + iy0 * w + ix0) << 2);
          for (let ky = 0; ky < kh; ky++) {
            if (++r < runs) v128.store(dst, v128.load(s));
            else for (let kx = 0; kx < kw; kx++) store<f32>(dst + (<usize>kx << 2), load<f32>(s + (<usize>kx << 2)));
            dst += <usize>kw << 2;
            s += <usize>(dh * w) << 2;
          }
        }
      } else if (inside) {
        for (let ci = 0; ci < ci_n; ci++) {
          let s = x + (<usize>(ci * hw + iy0 * w + ix0) << 2);
          for (let ky = 0; ky < kh; ky++) {
            let t = s;
            for (let kx = 0; kx < kw; kx++) { store<f32>(dst, load<f32>(t)); dst += 4; t += <usize>dw << 2; }
            s += <usize>(dh * w) << 2;
          }
        }
      } else {
        for (let ci = 0; ci < ci_n; ci++) {
          for (let ky = 0; ky < kh; ky++) {
            const iy = iy0 + ky * dh;
            const rowok = iy >= 0 && iy < h;
            for (let kx = 0; kx < kw; kx++) {
              const ix = ix0 + kx * dw;
              store<f32>(dst, rowok && ix >= 0 && ix < w ? load<f32>(x + (<usize>(ci * hw + iy * w + ix) << 2)) : 0);
              dst += 4;
            }
          }
        }
      }
    }
  }
}

/**
 * Forward: Y = act(conv(X, W) + b).
 * p_ptr: Conv2dParams. X [n, c_in, h, w], W [c_out, c_in, kh, kw], b [c_out] (b_ptr == 0: no bias),
 * Y [n, c_out, h_out, w_out] (overwritten, never read). col_ptr: scratch of K·P = c_in·kh·kw·h_out·w_out f32
 * (unused for 1×1 stride-1 unpadded convolutions). act: 1 relu (fused into the GEMM's store), anything
 * else identity. Per image, the reduction over K runs in blocks of FWD_KC (bias on the first block, relu
 * on the last).
 */
export function conv2d_fwd_f32x4(p_ptr: usize, x_ptr: usize, w_ptr: usize, b_ptr: usize, y_ptr: usize, col_ptr: usize, act: i32): void {
  const p = changetype<Conv2dParams>(p_ptr);
  check(p);
  const K = p.c_in * p.kh * p.kw, P = p.h_out * p.w_out, co = p.c_out;
  const xs = <usize>(p.c_in * p.h * p.w) << 2, ys = <usize>(co * P) << 2, ps = <usize>P << 2, ks = <usize>K << 2;
  const direct = is_pointwise(p);
  const relu = act == 1 ? EPI_RELU : EPI_STORE;
  for (let i = 0; i < p.n; i++) {
    const xn = x_ptr + <usize>i * xs, yn = y_ptr + <usize>i * ys;
    let col = xn;
    if (!direct) { im2col(p, xn, col_ptr); col = col_ptr; }
    for (let k0 = 0; k0 < K; k0 += FWD_KC) {
      const kc = min(FWD_KC, K - k0), last = k0 + kc >= K;
      const mode = (k0 == 0 ? EPI_STORE | EPI_ROWBIAS : EPI_BETA) | (last ? relu : 0);
      if (k0 == 0) gemm_store(co, P, kc, w_ptr, ks, 4, col, ps, yn, ps, b_ptr, mode);
      else gemm_nn(co, P, kc, w_ptr + (<usize>k0 << 2), ks, 4, col + <usize>k0 * ps, ps, yn, ps, 0, mode, 1);
    }
  }
}

/**
 * Backward w.r.t. the input: dX = beta·dX + conv_transpose(dY, W).
 * p_ptr: Conv2dParams. dY [n, c_out, h_out, w_out] (the gradient at the convolution's output, i.e.
 * after the relu's backward when act was relu), W [c_out, c_in, kh, kw], dX [n, c_in, h, w].
 * col_ptr: scratch of K·P = c_in·kh·kw·h_out·w_out f32 (unused for 1×1 stride-1 unpadded convolutions).
 * beta 0 overwrites (dX never read), 1 accumulates, other values scale the old gradient.
 */
export function conv2d_bwd_x_f32x4(p_ptr: usize, dy_ptr: usize, w_ptr: usize, dx_ptr: usize, col_ptr: usize, beta: f32): void {
  const p = changetype<Conv2dParams>(p_ptr);
  check(p);
  const K = p.c_in * p.kh * p.kw, P = p.h_out * p.w_out, co = p.c_out, xe = p.c_in * p.h * p.w;
  const xs = <usize>xe << 2, ys = <usize>(co * P) << 2, ps = <usize>P << 2, ks = <usize>K << 2;
  const direct = is_pointwise(p);
  for (let i = 0; i < p.n; i++) {
    const dyn = dy_ptr + <usize>i * ys, dxn = dx_ptr + <usize>i * xs;
    // A = Wᵀ [K, c_out]: element (k, o) = W[o, k] at w + k·4 + o·K·4 (ars = 4: gemm's transposed-A kernel).
    if (direct) {
      if (beta == 0) gemm_store(K, P, co, w_ptr, 4, ks, dyn, ps, dxn, ps, 0, EPI_STORE);
      else gemm_nn(K, P, co, w_ptr, 4, ks, dyn, ps, dxn, ps, 0, EPI_BETA, beta);
    } else {
      gemm_store(K, P, co, w_ptr, 4, ks, dyn, ps, col_ptr, ps, 0, EPI_STORE);
      zero_or_scale(xe, dxn, beta);
      col2im_add(p, col_ptr, dxn);
    }
  }
}

/**
 * Backward w.r.t. the weights and bias: dW = beta·dW + Σ_n dY_n·im2col(X_n)ᵀ, db = beta·db + Σ_{n,p} dY.
 * p_ptr: Conv2dParams. X [n, c_in, h, w], dY [n, c_out, h_out, w_out] (after the relu's backward),
 * dW [c_out, c_in, kh, kw], db [c_out] (db_ptr == 0: skipped). col_ptr: scratch of
 * K·P = c_in·kh·kw·h_out·w_out f32 (unused for 1×1 stride-1 unpadded convolutions with K ≤ 32). beta 0 overwrites (dW/db never read),
 * 1 accumulates, other values scale the old gradient. n == 0 gives dW = beta·dW, db = beta·db.
 * Each image's product is reduced over P in registers and added to dW (f32); db sums in f64.
 */
export function conv2d_bwd_w_f32x4(p_ptr: usize, x_ptr: usize, dy_ptr: usize, dw_ptr: usize, db_ptr: usize, col_ptr: usize, beta: f32): void {
  const p = changetype<Conv2dParams>(p_ptr);
  check(p);
  const K = p.c_in * p.kh * p.kw, P = p.h_out * p.w_out, co = p.c_out;
  const xs = <usize>(p.c_in * p.h * p.w) << 2, ys = <usize>(co * P) << 2, ps = <usize>P << 2, ks = <usize>K << 2;
  const direct = is_pointwise(p);
  if (p.n == 0) zero_or_scale(co * K, dw_ptr, beta);
  for (let i = 0; i < p.n; i++) {
    const xn = x_ptr + <usize>i * xs, dyn = dy_ptr + <usize>i * ys, b = i == 0 ? beta : 1;
    // The first image applies beta, the later ones accumulate.
    if (K <= BWDW_DOT_MAX_K) {
      // dW [c_out, K] (+)= dY_n [c_out, P] · col [K, P]ᵀ: dot products along P, both operands contiguous
      // (dense.ts's dY·Wᵀ kernel); a short K leaves gemm_nn mostly in its 1-column scalar tail.
      let col = xn;
      if (!direct) { im2col(p, xn, col_ptr); col = col_ptr; }
      dense_bwd_x_f32x4(co, K, P, dyn, col, dw_ptr, b);
    } else {
      // dW (+)= dY_n · row_n with row_n [P, K] = im2row(X_n): gemm_nn's 4×8 blocks over K columns.
      im2row(p, xn, col_ptr);
      gemm_nn(co, K, P, dyn, ps, 4, col_ptr, ks, dw_ptr, ks, 0, b == 0 ? EPI_STORE : EPI_BETA, b);
    }
  }
  bias_grad(p.n, co, P, dy_ptr, db_ptr, beta);
}

// ---- Winograd F(2×2, 3×3) (conv_wino.ts): 3×3 kernels, unit strides and dilations, any pads --------------------------
// The host picks these where they pay (src/ops/conv-kernels.ts) and sizes their scratch with wino_scratch(c_in, c_out, h_out,
// w_out, nb) f32 (conv_wino.ts, exported as conv2d_wino_scratch; src/ops/conv-kernels.ts winogradScratch), images in chunks
// of nb ≥ 1. The scratch needs 16-byte alignment (it holds f64 sums).

/** Trap unless the convolution is 3×3 with unit strides and dilations and nb ≥ 1. */
function check_wino(p: Conv2dParams, nb: i32, scratch: usize): void {
  check(p);
  assert(p.kh == 3 && p.kw == 3 && p.stride_h == 1 && p.stride_w == 1 && p.dil_h == 1 && p.dil_w == 1 && nb > 0 && (scratch & 15) == 0);
}

/**
 * Forward by Winograd F(2×2, 3×3): the contract of conv2d_fwd_f32x4 (Y = act(conv(X, W) + b); act 1 relu, else
 * identity; b_ptr == 0: no bias). scratch_ptr: wino_scratch(c_in, c_out, h_out, w_out, nb) f32.
 */
export function conv2d_fwd_f32x4_wino(p_ptr: usize, x_ptr: usize, w_ptr: usize, b_ptr: usize, y_ptr: usize, scratch_ptr: usize, act: i32, nb: i32): void {
  const p = changetype<Conv2dParams>(p_ptr);
  check_wino(p, nb, scratch_ptr);
  wino_filter(w_ptr, p.c_out, p.c_in, scratch_ptr);
  wino_fwd(p.n, p.c_in, p.c_out, p.h, p.w, p.h_out, p.w_out, p.pad_top, p.pad_left, x_ptr, y_ptr, b_ptr, act == 1, scratch_ptr, nb);
}

/**
 * The whole backward by Winograd F(2×2, 3×3), in one pass over dY: with dZ = dY ⊙ [Y > 0] when y_ptr != 0 (the
 * forward's relu fused: Y its output) and dZ = dY when y_ptr == 0,
 *   dX = beta_x·dX + conv_transpose(dZ, W)        (dx_ptr == 0: skipped)
 *   dW = beta_w·dW + Σ_n dZ_n ⋆ X_n,  db = beta_w·db + Σ dZ   (dw_ptr / db_ptr == 0: skipped; db sums in f64)
 * X [n, c_in, h, w], Y and dY [n, c_out, h_out, w_out], W and dW [c_out, c_in, 3, 3], db [c_out]. beta 0 overwrites
 * (never reads). scratch_ptr: wino_scratch(c_in, c_out, h_out, w_out, nb) f32. n == 0 gives dW = beta_w·dW, db = beta_w·db.
 */
export function conv2d_bwd_f32x4_wino(p_ptr: usize, x_ptr: usize, y_ptr: usize, dy_ptr: usize, w_ptr: usize, dx_ptr: usize, dw_ptr: usize, db_ptr: usize, scratch_ptr: usize, beta_x: f32, beta_w: f32, nb: i32): void {
  const p = changetype<Conv2dParams>(p_ptr);
  check_wino(p, nb, scratch_ptr);
  if (dx_ptr) wino_filter(w_ptr, p.c_out, p.c_in, scratch_ptr);
  wino_bwd(p.n, p.c_in, p.c_out, p.h, p.w, p.h_out, p.w_out, p.pad_top, p.pad_left, x_ptr, y_ptr, dy_ptr, dx_ptr, dw_ptr, db_ptr, beta_x, beta_w, scratch_ptr, nb);
}

/**
 * Forward by Winograd F(4×4, 3×3) (conv_wino4.ts): the contract of conv2d_fwd_f32x4_wino; scratch_ptr:
 * wino4_scratch(c_in, c_out, h_out, w_out, nb) f32 (conv2d_wino4_scratch).
 */
export function conv2d_fwd_f32x4_wino4(p_ptr: usize, x_ptr: usize, w_ptr: usize, b_ptr: usize, y_ptr: usize, scratch_ptr: usize, act: i32, nb: i32): void {
  const p = changetype<Conv2dParams>(p_ptr);
  check_wino(p, nb, scratch_ptr);
  wino4_filter(w_ptr, p.c_out, p.c_in, scratch_ptr, scratch_ptr + (<usize>(36 * p.c_out * p.c_in) << 2));
  wino4_fwd(p.n, p.c_in, p.c_out, p.h, p.w, p.h_out, p.w_out, p.pad_top, p.pad_left, x_ptr, y_ptr, b_ptr, act == 1, scratch_ptr, nb);
}

/**
 * The whole backward by Winograd F(4×4, 3×3): the contract of conv2d_bwd_f32x4_wino; scratch_ptr:
 * wino4_scratch(c_in, c_out, h_out, w_out, nb) f32.
 */
export function conv2d_bwd_f32x4_wino4(p_ptr: usize, x_ptr: usize, y_ptr: usize, dy_ptr: usize, w_ptr: usize, dx_ptr: usize, dw_ptr: usize, db_ptr: usize, scratch_ptr: usize, beta_x: f32, beta_w: f32, nb: i32): void {
  const p = changetype<Conv2dParams>(p_ptr);
  check_wino(p, nb, scratch_ptr);
  if (dx_ptr) wino4_filter(w_ptr, p.c_out, p.c_in, scratch_ptr, scratch_ptr + (<usize>(36 * p.c_out * p.c_in) << 2));
  wino4_bwd(p.n, p.c_in, p.c_out, p.h, p.w, p.h_out, p.w_out, p.pad_top, p.pad_left, x_ptr, y_ptr, dy_ptr, dx_ptr, dw_ptr, db_ptr, beta_x, beta_w, scratch_ptr, nb);
}

/** Scratch f32 of the F(4×4, 3×3) kernels for c_in → c_out channels over an h_out × w_out output, chunks of nb images. */
export function conv2d_wino4_scratch(c_in: i32, c_out: i32, h_out: i32, w_out: i32, nb: i32): i32 {
  return wino4_scratch(c_in, c_out, h_out, w_out, nb);
}

/** Scratch f32 of the Winograd kernels for c_in → c_out channels over an h_out × w_out output, chunks of nb images. */
export function conv2d_wino_scratch(c_in: i32, c_out: i32, h_out: i32, w_out: i32, nb: i32): i32 {
  return wino_scratch(c_in, c_out, h_out, w_out, nb);
}

// ---- direct 3×3 (conv_direct.ts): few input channels, unit strides and dilations, any pads, w_out ≥ 8 ------------------
// The host picks these where K = 9·c_in is too short for im2col's GEMM and Winograd does not pay (src/ops/conv-kernels.ts) and
// sizes their scratch with conv2d_direct_scratch (src/ops/conv-kernels.ts directScratch): 8-byte aligned.

/** Trap unless the convolution is 3×3 with unit strides and dilations and outputs at least 8 wide. */
function check_direct(p: Conv2dParams, scratch: usize): void {
  check(p);
  assert(p.kh == 3 && p.kw == 3 && p.stride_h == 1 && p.stride_w == 1 && p.dil_h == 1 && p.dil_w == 1 && p.w_out >= 8 && (scratch & 7) == 0);
}

/**
 * Forward, direct: the contract of conv2d_fwd_f32x4 (Y = act(conv(X, W) + b); act 1 relu, else identity; b_ptr == 0:
 * no bias). scratch_ptr: conv2d_direct_scratch f32.
 */
export function conv2d_fwd_f32x4_direct(p_ptr: usize, x_ptr: usize, w_ptr: usize, b_ptr: usize, y_ptr: usize, scratch_ptr: usize, act: i32): void {
  const p = changetype<Conv2dParams>(p_ptr);
  check_direct(p, scratch_ptr);
  direct_fwd(p.n, p.c_in, p.c_out, p.h, p.w, p.h_out, p.w_out, p.pad_top, p.pad_left, p.pad_bottom, p.pad_right, x_ptr, w_ptr, b_ptr, y_ptr, scratch_ptr, act == 1);
}

/**
 * Backward w.r.t. the weights and bias, direct: dW = beta·dW + Σ_n dZ_n ⋆ X_n, db = beta·db + Σ dZ (db_ptr == 0:
 * skipped; sums in f64), with dZ = dY ⊙ [Y > 0] when y_ptr != 0 (the forward's relu fused: Y its output) and dZ = dY
 * when y_ptr == 0. X [n, c_in, h, w], Y and dY [n, c_out, h_out, w_out]. beta 0 overwrites (never reads); n == 0
 * gives dW = beta·dW, db = beta·db. scratch_ptr: conv2d_direct_scratch f32.
 */
export function conv2d_bwd_w_f32x4_direct(p_ptr: usize, x_ptr: usize, y_ptr: usize, dy_ptr: usize, dw_ptr: usize, db_ptr: usize, scratch_ptr: usize, beta: f32): void {
  const p = changetype<Conv2dParams>(p_ptr);
  check_direct(p, scratch_ptr);
  direct_bwd_w(p.n, p.c_in, p.c_out, p.h, p.w, p.h_out, p.w_out, p.pad_top, p.pad_left, p.pad_bottom, p.pad_right, x_ptr, y_ptr, dy_ptr, dw_ptr, db_ptr, beta, scratch_ptr);
}

/** Scratch f32 of the direct kernels for this convolution's dims (Conv2dParams at p_ptr). */
export function conv2d_direct_scratch(p_ptr: usize): i32 {
  const p = changetype<Conv2dParams>(p_ptr);
  return direct_scratch(p.c_in, p.c_out, p.h, p.w, p.pad_top, p.pad_left, p.pad_bottom, p.pad_right, p.h_out, p.w_out);
}
