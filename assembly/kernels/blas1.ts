// BLAS-1 helpers for the trainer: fill, scale, axpy, and f64-accumulated sum and dot.
import { dot64, hi2, off4 } from "../simd";


/** dst[i] = value for dst: [n]. */
export function fill_f32x4(n: i32, dst_ptr: usize, value: f32): void {
  const vv = f32x4.splat(value);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(dst_ptr + off4(i), vv);
  for (; i < n; i++) store<f32>(dst_ptr + off4(i), value);
}

/** x[i] = s·x[i] in place, x: [n]. */
export function scale_f32x4(n: i32, x_ptr: usize, s: f32): void {
  const sv = f32x4.splat(s);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(x_ptr + off4(i), f32x4.mul(sv, v128.load(x_ptr + off4(i))));
  for (; i < n; i++) store<f32>(x_ptr + off4(i), s * load<f32>(x_ptr + off4(i)));
}

/** y[i] += a·x[i], x, y: [n]. y may alias x exactly (then y = (1 + a)·y); no partial overlap. */
export function axpy_f32x4(n: i32, x_ptr: usize, y_ptr: usize, a: f32): void {
  const av = f32x4.splat(a);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    v128.store(y_ptr + off4(i), f32x4.add(v128.load(y_ptr + off4(i)), f32x4.mul(av, v128.load(x_ptr + off4(i)))));
  }
  for (; i < n; i++) store<f32>(y_ptr + off4(i), load<f32>(y_ptr + off4(i)) + a * load<f32>(x_ptr + off4(i)));
}

/**
 * y[i] = d·y[i] + (1 − d)·x[i], x, y: [n] (an exponential moving average, or a running mean with d = k/(k + 1)).
 * 1 − d is rounded to f32 once; each element is two f32 products and one f32 sum. y may alias x exactly; no partial overlap.
 */
export function ema_f32x4(n: i32, x_ptr: usize, y_ptr: usize, d: f32): void {
  const e: f32 = <f32>1 - d;
  const dv = f32x4.splat(d), ev = f32x4.splat(e);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    v128.store(y_ptr + off4(i), f32x4.add(f32x4.mul(dv, v128.load(y_ptr + off4(i))), f32x4.mul(ev, v128.load(x_ptr + off4(i)))));
  }
  for (; i < n; i++) store<f32>(y_ptr + off4(i), d * load<f32>(y_ptr + off4(i)) + e * load<f32>(x_ptr + off4(i)));
}

/** Σ x[i] over x: [n], every partial sum in f64 (f32 lanes promoted to f64x2). */
export function sum_f32x4(n: i32, x_ptr: usize): f64 {
  let a0 = f64x2.splat(0);
  let a1 = f64x2.splat(0);
  let a2 = f64x2.splat(0);
  let a3 = f64x2.splat(0);
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const u = v128.load(x_ptr + off4(i));
    const v = v128.load(x_ptr + off4(i), 16);
    a0 = f64x2.add(a0, f64x2.promote_low_f32x4(u));
    a1 = f64x2.add(a1, f64x2.promote_low_f32x4(hi2(u)));
    a2 = f64x2.add(a2, f64x2.promote_low_f32x4(v));
    a3 = f64x2.add(a3, f64x2.promote_low_f32x4(hi2(v)));
  }
  if (i + 4 <= n) {
    const u = v128.load(x_ptr + off4(i));
    a0 = f64x2.add(a0, f64x2.promote_low_f32x4(u));
    a1 = f64x2.add(a1, f64x2.promote_low_f32x4(hi2(u)));
    i += 4;
  }
  const s = f64x2.add(f64x2.add(a0, a1), f64x2.add(a2, a3));
  let total = f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
  for (; i < n; i++) total += <f64>load<f32>(x_ptr + off4(i));
  return total;
}

/** Σ x[i]·y[i] over x, y: [n], products and sums in f64 (exact products of the f32 inputs). */
export function dot_f32x4(n: i32, x_ptr: usize, y_ptr: usize): f64 {
  return dot64(n, x_ptr, y_ptr);
}

/**
 * Column sums out[k] = Σ_b x[b, k] over x: [B, d] (row-major), each sum in f64, rounded once to f32; out: [d].
 * Used for a representation's gradient summed over the batch rows (rep_grad balancing).
 */
export function colsum_f32x4(B: i32, d: i32, x_ptr: usize, out_ptr: usize): void {
  let k = 0;
  for (; k + 4 <= d; k += 4) {
    let lo = f64x2.splat(0);
    let hi = f64x2.splat(0);
    for (let b = 0; b < B; b++) {
      const v = v128.load(x_ptr + off4(b * d + k));
      lo = f64x2.add(lo, f64x2.promote_low_f32x4(v));
      hi = f64x2.add(hi, f64x2.promote_low_f32x4(hi2(v)));
    }
    v128.store(out_ptr + off4(k), f32x4.replace_lane(f32x4.replace_lane(f32x4.replace_lane(f32x4.splat(<f32>f64x2.extract_lane(lo, 0)), 1, <f32>f64x2.extract_lane(lo, 1)), 2, <f32>f64x2.extract_lane(hi, 0)), 3, <f32>f64x2.extract_lane(hi, 1)));
  }
  for (; k < d; k++) {
    let s: f64 = 0;
    for (let b = 0; b < B; b++) s += <f64>load<f32>(x_ptr + off4(b * d + k));
    store<f32>(out_ptr + off4(k), <f32>s);
  }
}
