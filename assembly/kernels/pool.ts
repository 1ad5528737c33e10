// 2-D max and average pooling over NCHW tensors, forward and backward. Dims in a Pool2dParams struct
// (abi.ts) at `p_ptr`: X [n, c, h, w], Y [n, c, h_out, w_out]; windows of kh × kw taps with strides,
// dilations and explicit pads (the host resolves valid/same; floor mode: h_out as in abi.ts).
//
// Padding is never read: a tap outside the input is skipped (max pool), or counted as a zero (average
// pool with count_include_pad = 1; with 0 the divisor is the number of taps inside the input). A window
// with no tap inside the input (possible only when a pad reaches past the kernel's extent, which the host
// must reject, as ONNX and PyTorch do) gives max pool y = −∞ with index −1, average pool y = 0.
//
// Max pool ties: the first maximal tap in row-major window order (ky, then kx) wins (strict >), and a NaN
// tap wins over any number (the first NaN), so NaN propagates as in PyTorch. The forward saves, per output,
// the winning tap's index inside its (n, c) input plane (iy·w + ix, i32) when idx_ptr != 0 (training); the
// backward routes dY through those indices (overlapping windows add). Inference passes idx_ptr = 0.
//
// Fast paths (f32x4, 4 outputs per step): 2×2 windows with stride 2, no padding, no dilation (max and average),
// and global pooling (kh = h, kw = w, h_out = w_out = 1) for the average. With w_out ≥ 4 the max pool's last
// w_out % 4 outputs of a row are one vector ending at w_out − 1 (its stores are idempotent); narrower rows and the
// average's tail run scalar. The max pool's backward with beta 0 writes dX directly from dY and the indices (each
// window's four cells at once, no scatter). Everything else runs the general scalar loop. Pointers need 4-byte
// alignment; outputs must not alias inputs.
import { Pool2dParams } from "../abi";
import { zero_or_scale } from "../simd";

// @ts-ignore: decorator
@inline function out_extent(len: i32, k: i32, stride: i32, pad0: i32, pad1: i32, dil: i32): i32 {
  const span = len + pad0 + pad1 - dil * (k - 1) - 1;
  return span < 0 ? 0 : span / stride + 1;
}

function check(p: Pool2dParams): void {
  assert(p.n >= 0 && p.c >= 0 && p.h > 0 && p.w > 0 && p.kh > 0 && p.kw > 0);
  assert(p.stride_h > 0 && p.stride_w > 0 && p.dil_h > 0 && p.dil_w > 0);
  assert(p.pad_top >= 0 && p.pad_left >= 0 && p.pad_bottom >= 0 && p.pad_right >= 0);
  assert(p.h_out > 0 && p.h_out == out_extent(p.h, p.kh, p.stride_h, p.pad_top, p.pad_bottom, p.dil_h));
  assert(p.w_out > 0 && p.w_out == out_extent(p.w, p.kw, p.stride_w, p.pad_left, p.pad_right, p.dil_w));
}

/** 2×2 window, stride 2, no padding, no dilation. */
// @ts-ignore: decorator
@inline function is_2x2s2(p: Pool2dParams): bool {
  return p.kh == 2 && p.kw == 2 && p.stride_h == 2 && p.stride_w == 2 && p.dil_h == 1 && p.dil_w == 1 &&
    p.pad_top == 0 && p.pad_left == 0 && p.pad_bottom == 0 && p.pad_right == 0;
}

/** Global: one window covering the whole plane. */
// @ts-ignore: decorator
@inline function is_global(p: Pool2dParams): bool {
  return p.kh == p.h && p.kw == p.w && p.dil_h == 1 && p.dil_w == 1 &&
    p.pad_top == 0 && p.pad_left == 0 && p.pad_bottom == 0 && p.pad_right == 0;
}

/** Lanes of c that replace `best` under the tie/NaN rule: c > best, or c is NaN and best is not. */
// @ts-ignore: decorator
@inline function wins(c: v128, best: v128): v128 {
  return v128.or(f32x4.gt(c, best), v128.and(f32x4.ne(c, c), f32x4.eq(best, best)));
}

/** Scalar max over one window: writes y (and the index when idx != 0). */
// @ts-ignore: decorator
@inline function max_window(p: Pool2dParams, x: usize, oy: i32, ox: i32, y: usize, idx: usize): void {
  let best: f32 = -Infinity, bi = -1;
  const iy0 = oy * p.stride_h - p.pad_top, ix0 = ox * p.stride_w - p.pad_left;
  for (let ky = 0; ky < p.kh; ky++) {
    const iy = iy0 + ky * p.dil_h;
    if (iy < 0 || iy >= p.h) continue;
    for (let kx = 0; kx < p.kw; kx++) {
      const ix = ix0 + kx * p.dil_w;
      if (ix < 0 || ix >= p.w) continue;
      const v = load<f32>(x + (<usize>(iy * p.w + ix) << 2));
      if (bi < 0 || v > best || (v != v && best == best)) { best = v; bi = iy * p.w + ix; }
    }
  }
  store<f32>(y, best);
  if (idx) store<i32>(idx, bi);
}

/**
 * Max pool forward. p_ptr: Pool2dParams. X [n, c, h, w] → Y [n, c, h_out, w_out] (overwritten);
 * idx_ptr: i32 [n, c, h_out, w_out], the argmax index inside each input plane (iy·w + ix), or 0 to skip.
 */
export function maxpool2d_fwd_f32x4(p_ptr: usize, x_ptr: usize, y_ptr: usize, idx_ptr: usize): void {
  const p = changetype<Pool2dParams>(p_ptr);
  check(p);
  const planes = p.n * p.c, hw = p.h * p.w, P = p.h_out * p.w_out, w = p.w, wo = p.w_out;
  const fast = is_2x2s2(p);
  for (let q = 0; q < planes; q++) {
    const x = x_ptr + <usize>(q * hw) * 4, y = y_ptr + <usize>(q * P) * 4, idx = idx_ptr ? idx_ptr + <usize>(q * P) * 4 : 0;
    for (let oy = 0; oy < p.h_out; oy++) {
      if (fast && wo >= 4) {
        const r0 = x + (<usize>(2 * oy * w) << 2), r1 = r0 + (<usize>w << 2);
        const yr = y + (<usize>(oy * wo) << 2);
        for (let g = 0; g < wo; g += 4) {
          const ox = min(g, wo - 4); // the row's last vector ends at wo − 1
          const o = <usize>(2 * ox) << 2;
          const a0 = v128.load(r0 + o), a1 = v128.load(r0 + o, 16), b0 = v128.load(r1 + o), b1 = v128.load(r1 + o, 16);
          // window taps in order (0,0), (0,1), (1,0), (1,1): even/odd lanes of rows 0 and 1
          let best = f32x4.shuffle(a0, a1, 0, 2, 4, 6);
          const t1 = f32x4.shuffle(a0, a1, 1, 3, 5, 7);
          const t2 = f32x4.shuffle(b0, b1, 0, 2, 4, 6);
          const t3 = f32x4.shuffle(b0, b1, 1, 3, 5, 7);
          let m = wins(t1, best);
          let which = v128.and(m, i32x4.splat(1));
          best = v128.bitselect(t1, best, m);
          m = wins(t2, best);
          which = v128.bitselect(i32x4.splat(w), which, m);
          best = v128.bitselect(t2, best, m);
          m = wins(t3, best);
          which = v128.bitselect(i32x4.splat(w + 1), which, m);
          best = v128.bitselect(t3, best, m);
          v128.store(yr + (<usize>ox << 2), best);
          if (idx) {
            const base = i32x4.add(i32x4.splat(2 * oy * w + 2 * ox), i32x4(0, 2, 4, 6));
            v128.store(idx + (<usize>(oy * wo + ox) << 2), i32x4.add(base, which));
          }
        }
      } else {
        for (let ox = 0; ox < wo; ox++) {
          const o = <usize>(oy * wo + ox) << 2;
          max_window(p, x, oy, ox, y + o, idx ? idx + o : 0);
        }
      }
    }
  }
}

/**
 * The 2×2 / stride 2 max pool backward with beta 0 over one plane (w_out ≥ 4): each window's four cells written at
 * once, dY in the cell its index names and 0 in the others (the row's last vector ending at w_out − 1: its stores are
 * idempotent); the cells no window covers (the last row / column of an odd h / w) are zeroed.
 */
function maxpool_bwd_2x2(h: i32, w: i32, ho: i32, wo: i32, dy: usize, idx: usize, dx: usize): void {
  const vw = i32x4.splat(w), vw1 = i32x4.splat(w + 1), lanes = i32x4(0, 2, 4, 6), one = i32x4.splat(1);
  for (let oy = 0; oy < ho; oy++) {
    const r0 = dx + (<usize>(2 * oy * w) << 2), r1 = r0 + (<usize>w << 2);
    for (let g = 0; g < wo; g += 4) {
      const ox = min(g, wo - 4), q = <usize>(oy * wo + ox) << 2;
      const d = v128.load(dy + q);
      // the index relative to the window's top-left cell: 0, 1, w or w + 1
      const rel = i32x4.sub(v128.load(idx + q), i32x4.add(i32x4.splat(2 * oy * w + 2 * ox), lanes));
      const e0 = v128.and(d, i32x4.eq(rel, i32x4.splat(0))), o0 = v128.and(d, i32x4.eq(rel, one));
      const e1 = v128.and(d, i32x4.eq(rel, vw)), o1 = v128.and(d, i32x4.eq(rel, vw1));
      const o = <usize>(2 * ox) << 2;
      v128.store(r0 + o, f32x4.shuffle(e0, o0, 0, 4, 1, 5)); v128.store(r0 + o, f32x4.shuffle(e0, o0, 2, 6, 3, 7), 16);
      v128.store(r1 + o, f32x4.shuffle(e1, o1, 0, 4, 1, 5)); v128.store(r1 + o, f32x4.shuffle(e1, o1, 2, 6, 3, 7), 16);
    }
    if (2 * wo < w) for (let c = 2 * wo; c < w; c++) { store<f32>(r0 + (<usize>c << 2), 0); store<f32>(r1 + (<usize>c << 2), 0); }
  }
  if (2 * ho < h) zero_or_scale((h - 2 * ho) * w, dx + (<usize>(2 * ho * w) << 2), 0);
}

/**
 * Max pool backward: dX = beta·dX + scatter(dY at the saved indices); overlapping windows add.
 * p_ptr: Pool2dParams. dY [n, c, h_out, w_out], idx i32 [n, c, h_out, w_out] from the forward (−1: no
 * tap, skipped), dX [n, c, h, w]. beta 0 overwrites (dX never read), 1 accumulates.
 */
export function maxpool2d_bwd_f32x4(p_ptr: usize, dy_ptr: usize, idx_ptr: usize, dx_ptr: usize, beta: f32): void {
  const p = changetype<Pool2dParams>(p_ptr);
  check(p);
  const planes = p.n * p.c, hw = p.h * p.w, P = p.h_out * p.w_out;
  if (beta == 0 && is_2x2s2(p) && p.w_out >= 4) {
    for (let q = 0; q < planes; q++) {
      maxpool_bwd_2x2(p.h, p.w, p.h_out, p.w_out, dy_ptr + <usize>(q * P) * 4, idx_ptr + <usize>(q * P) * 4, dx_ptr + <usize>(q * hw) * 4);
    }
    return;
  }
  zero_or_scale(planes * hw, dx_ptr, beta);
  for (let q = 0; q < planes; q++) {
    const dx = dx_ptr + <usize>(q * hw) * 4, dy = dy_ptr + <usize>(q * P) * 4, idx = idx_ptr + <usize>(q * P) * 4;
    for (let j = 0; j < P; j++) {
      const t = load<i32>(idx + (<usize>j << 2));
      if (t < 0) continue;
      const d = dx + (<usize>t << 2);
      store<f32>(d, load<f32>(d) + load<f32>(dy + (<usize>j << 2)));
    }
  }
}

/** Number of taps of window (oy, ox) inside the input (count_include_pad = 0) or kh·kw (= 1). */
// @ts-ignore: decorator
@inline function window_count(p: Pool2dParams, oy: i32, ox: i32, include_pad: i32): i32 {
  if (include_pad) return p.kh * p.kw;
  const iy0 = oy * p.stride_h - p.pad_top, ix0 = ox * p.stride_w - p.pad_left;
  let ny = 0, nx = 0;
  for (let ky = 0; ky < p.kh; ky++) { const iy = iy0 + ky * p.dil_h; if (iy >= 0 && iy < p.h) ny++; }
  for (let kx = 0; kx < p.kw; kx++) { const ix = ix0 + kx * p.dil_w; if (ix >= 0 && ix < p.w) nx++; }
  return ny * nx;
}

/**
 * Average pool forward: Y = mean over each window. p_ptr: Pool2dParams. X [n, c, h, w] → Y [n, c,
 * h_out, w_out] (overwritten). count_include_pad: 1 divides by kh·kw (padding taps count as zeros),
 * 0 by the taps inside the input (ONNX's default). Global pooling sums each plane in f32x4.
 */
export function avgpool2d_fwd_f32x4(p_ptr: usize, x_ptr: usize, y_ptr: usize, count_include_pad: i32): void {
  const p = changetype<Pool2dParams>(p_ptr);
  check(p);
  const planes = p.n * p.c, hw = p.h * p.w, P = p.h_out * p.w_out, w = p.w, wo = p.w_out;
  if (is_global(p)) {
    const inv = <f32>(1.0 / <f64>hw);
    for (let q = 0; q < planes; q++) {
      const x = x_ptr + <usize>(q * hw) * 4;
      let a0 = f32x4.splat(0), a1 = a0;
      let j = 0;
      for (; j + 8 <= hw; j += 8) {
        a0 = f32x4.add(a0, v128.load(x + (<usize>j << 2)));
        a1 = f32x4.add(a1, v128.load(x + (<usize>j << 2), 16));
      }
      for (; j + 4 <= hw; j += 4) a0 = f32x4.add(a0, v128.load(x + (<usize>j << 2)));
      const a = f32x4.add(a0, a1);
      let s = (f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 1)) + (f32x4.extract_lane(a, 2) + f32x4.extract_lane(a, 3));
      for (; j < hw; j++) s += load<f32>(x + (<usize>j << 2));
      store<f32>(y_ptr + (<usize>q << 2), s * inv);
    }
    return;
  }
  const fast = is_2x2s2(p);
  for (let q = 0; q < planes; q++) {
    const x = x_ptr + <usize>(q * hw) * 4, y = y_ptr + <usize>(q * P) * 4;
    for (let oy = 0; oy < p.h_out; oy++) {
      let ox = 0;
      if (fast) {
        const r0 = x + (<usize>(2 * oy * w) << 2), r1 = r0 + (<usize>w << 2);
        const quarter = f32x4.splat(0.25);
        for (; ox + 4 <= wo; ox += 4) {
          const o = <usize>(2 * ox) << 2;
          const s0 = f32x4.add(v128.load(r0 + o), v128.load(r1 + o)), s1 = f32x4.add(v128.load(r0 + o, 16), v128.load(r1 + o, 16));
          const s = f32x4.add(f32x4.shuffle(s0, s1, 0, 2, 4, 6),
            f32x4.shuffle(s0, s1, 1, 3, 5, 7));
          v128.store(y + (<usize>(oy * wo + ox) << 2), f32x4.mul(s, quarter));
        }
      }
      for (; ox < wo; ox++) {
        const iy0 = oy * p.stride_h - p.pad_top, ix0 = ox * p.stride_w - p.pad_left;
        let s: f32 = 0;
        for (let ky = 0; ky < p.kh; ky++) {
          const iy = iy0 + ky * p.dil_h;
          if (iy < 0 || iy >= p.h) continue;
          for (let kx = 0; kx < p.kw; kx++) {
            const ix = ix0 + kx * p.dil_w;
            if (ix >= 0 && ix < w) s += load<f32>(x + (<usize>(iy * w + ix) << 2));
          }
        }
        const cnt = window_count(p, oy, ox, count_include_pad);
        store<f32>(y + (<usize>(oy * wo + ox) << 2), cnt ? s / <f32>cnt : 0);
      }
    }
  }
}

/**
 * Average pool backward: dX = beta·dX + Σ_windows dY/count spread over each window's taps inside the
 * input. p_ptr: Pool2dParams. dY [n, c, h_out, w_out], dX [n, c, h, w]; count_include_pad as in the
 * forward. beta 0 overwrites (dX never read), 1 accumulates.
 */
export function avgpool2d_bwd_f32x4(p_ptr: usize, dy_ptr: usize, dx_ptr: usize, count_include_pad: i32, beta: f32): void {
  const p = changetype<Pool2dParams>(p_ptr);
  check(p);
  const planes = p.n * p.c, hw = p.h * p.w, P = p.h_out * p.w_out, w = p.w;
  if (is_global(p)) {
    const inv = <f32>(1.0 / <f64>hw), vb = f32x4.splat(beta);
    for (let q = 0; q < planes; q++) {
      const dx = dx_ptr + <usize>(q * hw) * 4;
      const g = load<f32>(dy_ptr + (<usize>q << 2)) * inv, vg = f32x4.splat(g);
      let j = 0;
      if (beta == 0) {
        for (; j + 4 <= hw; j += 4) v128.store(dx + (<usize>j << 2), vg);
        for (; j < hw; j++) store<f32>(dx + (<usize>j << 2), g);
      } else {
        for (; j + 4 <= hw; j += 4) { const d = dx + (<usize>j << 2); v128.store(d, f32x4.add(f32x4.mul(vb, v128.load(d)), vg)); }
        for (; j < hw; j++) { const d = dx + (<usize>j << 2); store<f32>(d, beta * load<f32>(d) + g); }
      }
    }
    return;
  }
  zero_or_scale(planes * hw, dx_ptr, beta);
  for (let q = 0; q < planes; q++) {
    const dx = dx_ptr + <usize>(q * hw) * 4, dy = dy_ptr + <usize>(q * P) * 4;
    for (let oy = 0; oy < p.h_out; oy++) {
      for (let ox = 0; ox < p.w_out; ox++) {
        const cnt = window_count(p, oy, ox, count_include_pad);
        if (!cnt) continue;
        const g = load<f32>(dy + (<usize>(oy * p.w_out + ox) << 2)) / <f32>cnt;
        const iy0 = oy * p.stride_h - p.pad_top, ix0 = ox * p.stride_w - p.pad_left;
        for (let ky = 0; ky < p.kh; ky++) {
          const iy = iy0 + ky * p.dil_h;
          if (iy < 0 || iy >= p.h) continue;
          for (let kx = 0; kx < p.kw; kx++) {
            const ix = ix0 + kx * p.dil_w;
            if (ix < 0 || ix >= w) continue;
            const d = dx + (<usize>(iy * w + ix) << 2);
            store<f32>(d, load<f32>(d) + g);
          }
        }
      }
    }
  }
}
