// The relation loss tying two related tasks' outputs: R = ½·Σ_i w_i·Σ_j (a_ij − b_ij)², a masked SUM
// (the caller passes a scale such as λ/m to normalise). mask_ptr: f32 [m] row weights or 0 (all rows 1);
// a row whose weight is not > 0 is skipped by selection, so its a/b values may be NaN or garbage.
import { hsum64, off4, zero_or_scale } from "../simd";

// Partial f32x4 sums are flushed into f64 every FLUSH elements.
const FLUSH: i32 = 256;

/** Σ (a − b)² over cnt contiguous elements, f64. */
// @ts-ignore: decorator
@inline function sqdiff_sum(cnt: i32, a_ptr: usize, b_ptr: usize): f64 {
  let total: f64 = 0;
  const cnt4 = cnt & ~3;
  let i = 0;
  while (i < cnt4) {
    let acc = f32x4.splat(0);
    const end = min(cnt4, i + FLUSH);
    for (; i < end; i += 4) {
      const d = f32x4.sub(v128.load(a_ptr + off4(i)), v128.load(b_ptr + off4(i)));
      acc = f32x4.add(acc, f32x4.mul(d, d));
    }
    total += hsum64(acc);
  }
  for (; i < cnt; i++) {
    const d = load<f32>(a_ptr + off4(i)) - load<f32>(b_ptr + off4(i));
    total += <f64>(d * d);
  }
  return total;
}

/** out = (beta·out if accum) + c·(a − b) over cnt contiguous elements. */
// @ts-ignore: decorator
@inline function diff_grad(accum: bool, cnt: i32, a_ptr: usize, b_ptr: usize, out_ptr: usize, c: f32, beta: f32): void {
  const cv = f32x4.splat(c);
  const bv = f32x4.splat(beta);
  let i = 0;
  for (; i + 4 <= cnt; i += 4) {
    let g = f32x4.mul(cv, f32x4.sub(v128.load(a_ptr + off4(i)), v128.load(b_ptr + off4(i))));
    if (accum) g = f32x4.add(f32x4.mul(bv, v128.load(out_ptr + off4(i))), g);
    v128.store(out_ptr + off4(i), g);
  }
  for (; i < cnt; i++) {
    let g = c * (load<f32>(a_ptr + off4(i)) - load<f32>(b_ptr + off4(i)));
    if (accum) g = beta * load<f32>(out_ptr + off4(i)) + g;
    store<f32>(out_ptr + off4(i), g);
  }
}


// @ts-ignore: decorator
@inline function side_grad(cnt: i32, a_ptr: usize, b_ptr: usize, out_ptr: usize, c: f32, beta: f32): void {
  if (beta == 0) diff_grad(false, cnt, a_ptr, b_ptr, out_ptr, c, beta);
  else diff_grad(true, cnt, a_ptr, b_ptr, out_ptr, c, beta);
}

/**
 * Relation loss R = ½·Σ_i w_i·Σ_j (a_ij − b_ij)² (a sum, not a mean), accumulated in f64.
 * a, b: [m, n]; mask: f32 [m] row weights or 0 (all 1); rows with weight not > 0 are skipped.
 */
export function relation_fwd_f32x4(m: i32, n: i32, a_ptr: usize, b_ptr: usize, mask_ptr: usize): f32 {
  if (m <= 0 || n <= 0) return 0;
  if (!mask_ptr) return <f32>(0.5 * sqdiff_sum(m * n, a_ptr, b_ptr));
  let acc: f64 = 0;
  for (let i = 0; i < m; i++) {
    const w = load<f32>(mask_ptr + off4(i));
    if (!(w > 0)) continue;
    const row = (<usize>i * <usize>n) << 2;
    acc += <f64>w * sqdiff_sum(n, a_ptr + row, b_ptr + row);
  }
  return <f32>(0.5 * acc);
}

/**
 * Gradient of scale·R: da = beta·da + scale·w_i·(a − b), db = beta·db − scale·w_i·(a − b); rows with weight
 * not > 0 contribute 0 (da = beta·da, db = beta·db). a, b, da, db: [m, n]; mask: f32 [m] or 0.
 * da_ptr or db_ptr may be 0: that side is skipped (e.g. a detached output). beta = 0 overwrites (the
 * gradient is never read), beta = 1 accumulates. da and db must not alias each other or a/b.
 */
export function relation_bwd_f32x4(m: i32, n: i32, a_ptr: usize, b_ptr: usize, mask_ptr: usize, da_ptr: usize, db_ptr: usize, scale: f32, beta: f32): void {
  if (m <= 0 || n <= 0) return;
  if (!mask_ptr) {
    const total = m * n;
    if (da_ptr) side_grad(total, a_ptr, b_ptr, da_ptr, scale, beta);
    if (db_ptr) side_grad(total, a_ptr, b_ptr, db_ptr, -scale, beta);
    return;
  }
  for (let i = 0; i < m; i++) {
    const w = load<f32>(mask_ptr + off4(i));
    const row = (<usize>i * <usize>n) << 2;
    if (!(w > 0)) {
      if (da_ptr) zero_or_scale(n, da_ptr + row, beta);
      if (db_ptr) zero_or_scale(n, db_ptr + row, beta);
      continue;
    }
    const c = scale * w;
    if (da_ptr) side_grad(n, a_ptr + row, b_ptr + row, da_ptr + row, c, beta);
    if (db_ptr) side_grad(n, a_ptr + row, b_ptr + row, db_ptr + row, -c, beta);
  }
}
