// Kernels of the funnel heads (ESMM, AITM; src/ops/funnel.ts):
//   mul       y = a ⊙ b elementwise (ESMM's p(ctcvr) = p(ctr)·p(cvr));
//   rowdot    y_i = scale·Σ_j a_ij·b_ij, [m, n] × [m, n] → [m] (AITM's attention scores ⟨h2(u), h3(u)⟩/√d);
//   hinge     Σ_i w_i·Σ_j max(a_ij − b_ij, 0), a masked SUM (AITM's behavioural-expectation calibrator);
//   esmm_bce  binary cross-entropy of p = σ(a)·σ(b) on the logits a (ctr) and b (cvr), masked mean.
// Row masks as in loss.ts: f32 [m] row weights or 0 (all 1); a row whose weight is not > 0 is skipped by
// selection (its values may be NaN). Backward kernels take beta: 0 overwrites, 1 accumulates. Outputs of backward
// kernels must not alias their inputs.
import { hsum64, off4, zero_or_scale } from "../simd";

// Partial f32x4 sums are flushed into f64 every FLUSH elements.
const FLUSH: i32 = 256;

/** y = a ⊙ b over n contiguous elements (y may alias a or b). */
export function mul_fwd_f32x4(n: i32, a_ptr: usize, b_ptr: usize, y_ptr: usize): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(y_ptr + off4(i), f32x4.mul(v128.load(a_ptr + off4(i)), v128.load(b_ptr + off4(i))));
  for (; i < n; i++) store<f32>(y_ptr + off4(i), load<f32>(a_ptr + off4(i)) * load<f32>(b_ptr + off4(i)));
}

/** One side of mul's backward: d = beta·d + dy ⊙ other over n contiguous elements (other: the other factor). */
export function mul_bwd_f32x4(n: i32, other_ptr: usize, dy_ptr: usize, d_ptr: usize, beta: f32): void {
  const bv = f32x4.splat(beta);
  let i = 0;
  if (beta == 0) {
    for (; i + 4 <= n; i += 4) v128.store(d_ptr + off4(i), f32x4.mul(v128.load(dy_ptr + off4(i)), v128.load(other_ptr + off4(i))));
    for (; i < n; i++) store<f32>(d_ptr + off4(i), load<f32>(dy_ptr + off4(i)) * load<f32>(other_ptr + off4(i)));
    return;
  }
  for (; i + 4 <= n; i += 4) {
    const g = f32x4.mul(v128.load(dy_ptr + off4(i)), v128.load(other_ptr + off4(i)));
    v128.store(d_ptr + off4(i), f32x4.add(f32x4.mul(bv, v128.load(d_ptr + off4(i))), g));
  }
  for (; i < n; i++) store<f32>(d_ptr + off4(i), beta * load<f32>(d_ptr + off4(i)) + load<f32>(dy_ptr + off4(i)) * load<f32>(other_ptr + off4(i)));
}

/** y_i = scale·Σ_j a_ij·b_ij; a, b: [m, n] row-major, y: [m]. Each row's sum in f32x4 lanes, then the tail. */
export function rowdot_fwd_f32x4(m: i32, n: i32, a_ptr: usize, b_ptr: usize, y_ptr: usize, scale: f32): void {
  for (let i = 0; i < m; i++) {
    const row = (<usize>i * <usize>n) << 2;
    const ar = a_ptr + row, br = b_ptr + row;
    let acc = f32x4.splat(0);
    let j = 0;
    for (; j + 4 <= n; j += 4) acc = f32x4.add(acc, f32x4.mul(v128.load(ar + off4(j)), v128.load(br + off4(j))));
    let s = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
    for (; j < n; j++) s += load<f32>(ar + off4(j)) * load<f32>(br + off4(j));
    store<f32>(y_ptr + off4(i), scale * s);
  }
}

/**
 * One side of rowdot's backward: d_ij = beta·d_ij + scale·dy_i·other_ij (other: the other factor [m, n]; dy: [m]).
 */
export function rowdot_bwd_f32x4(m: i32, n: i32, other_ptr: usize, dy_ptr: usize, d_ptr: usize, scale: f32, beta: f32): void {
  const bv = f32x4.splat(beta);
  for (let i = 0; i < m; i++) {
    const row = (<usize>i * <usize>n) << 2;
    const o = other_ptr + row, d = d_ptr + row;
    const c = scale * load<f32>(dy_ptr + off4(i));
    const cv = f32x4.splat(c);
    let j = 0;
    if (beta == 0) {
      for (; j + 4 <= n; j += 4) v128.store(d + off4(j), f32x4.mul(cv, v128.load(o + off4(j))));
      for (; j < n; j++) store<f32>(d + off4(j), c * load<f32>(o + off4(j)));
    } else {
      for (; j + 4 <= n; j += 4) v128.store(d + off4(j), f32x4.add(f32x4.mul(bv, v128.load(d + off4(j))), f32x4.mul(cv, v128.load(o + off4(j)))));
      for (; j < n; j++) store<f32>(d + off4(j), beta * load<f32>(d + off4(j)) + c * load<f32>(o + off4(j)));
    }
  }
}

/** Σ max(a − b, 0) over cnt contiguous elements, f64. */
// @ts-ignore: decorator
@inline function hinge_sum(cnt: i32, a_ptr: usize, b_ptr: usize): f64 {
  let total: f64 = 0;
  const cnt4 = cnt & ~3;
  const zero = f32x4.splat(0);
  let i = 0;
  while (i < cnt4) {
    let acc = f32x4.splat(0);
    const end = min(cnt4, i + FLUSH);
    for (; i < end; i += 4) acc = f32x4.add(acc, f32x4.max(f32x4.sub(v128.load(a_ptr + off4(i)), v128.load(b_ptr + off4(i))), zero));
    total += hsum64(acc);
  }
  for (; i < cnt; i++) total += <f64>max<f32>(load<f32>(a_ptr + off4(i)) - load<f32>(b_ptr + off4(i)), 0);
  return total;
}

/**
 * Calibrator H = Σ_i w_i·Σ_j max(a_ij − b_ij, 0), a masked SUM in f64 (the caller divides by the valid count).
 * a, b: [m, n]; mask: f32 [m] row weights or 0 (all 1); rows with weight not > 0 are skipped.
 */
export function hinge_fwd_f32x4(m: i32, n: i32, a_ptr: usize, b_ptr: usize, mask_ptr: usize): f32 {
  if (m <= 0 || n <= 0) return 0;
  if (!mask_ptr) return <f32>hinge_sum(m * n, a_ptr, b_ptr);
  let acc: f64 = 0;
  for (let i = 0; i < m; i++) {
    const w = load<f32>(mask_ptr + off4(i));
    if (!(w > 0)) continue;
    const row = (<usize>i * <usize>n) << 2;
    acc += <f64>w * hinge_sum(n, a_ptr + row, b_ptr + row);
  }
  return <f32>acc;
}

/**
 * One side of scale·H's gradient: d_ij = beta·d_ij + scale·w_i·[a_ij > b_ij] (pass scale for a's side, −scale for
 * b's); rows with weight not > 0 get beta·d. a, b, d: [m, n]; mask: f32 [m] or 0. At a = b the subgradient is 0.
 */
export function hinge_bwd_f32x4(m: i32, n: i32, a_ptr: usize, b_ptr: usize, mask_ptr: usize, d_ptr: usize, scale: f32, beta: f32): void {
  if (m <= 0 || n <= 0) return;
  const bv = f32x4.splat(beta);
  for (let i = 0; i < m; i++) {
    const row = (<usize>i * <usize>n) << 2;
    const w: f32 = mask_ptr ? load<f32>(mask_ptr + off4(i)) : 1;
    const d = d_ptr + row, a = a_ptr + row, b = b_ptr + row;
    if (!(w > 0)) {
      zero_or_scale(n, d, beta);
      continue;
    }
    const c = scale * w;
    const cv = f32x4.splat(c);
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const g = v128.and(cv, f32x4.gt(v128.load(a + off4(j)), v128.load(b + off4(j))));
      v128.store(d + off4(j), beta == 0 ? g : f32x4.add(f32x4.mul(bv, v128.load(d + off4(j))), g));
    }
    for (; j < n; j++) {
      const g: f32 = load<f32>(a + off4(j)) > load<f32>(b + off4(j)) ? c : 0;
      store<f32>(d + off4(j), beta == 0 ? g : beta * load<f32>(d + off4(j)) + g);
    }
  }
}

/** softplus(u) = log(1 + e^u), f64, without overflow. */
// @ts-ignore: decorator
@inline function softplus(u: f64): f64 {
  return max(u, 0) + Math.log1p(Math.exp(-Math.abs(u)));
}

/** log(e^x + e^y), f64, without overflow. */
// @ts-ignore: decorator
@inline function logaddexp(x: f64, y: f64): f64 {
  return max(x, y) + Math.log1p(Math.exp(-Math.abs(x - y)));
}

/**
 * ESMM loss: binary cross-entropy of p = σ(a)·σ(b) against targets t ∈ [0, 1], from the logits (never from p):
 *   −log p = softplus(−a) + softplus(−b),   −log(1 − p) = softplus(−a) + softplus(−b) − l,
 *   l = log(e^−a + e^−b + e^−(a+b)),   so ℓ = softplus(−a) + softplus(−b) − (1 − t)·l.
 * a, b, targets: [m, n]; mask: f32 [m] or 0. Returns Σ_i w_i·Σ_j ℓ_ij / (n·Σ w), 0 if no row is present.
 * One f64 evaluation per element (exp/log have no f32x4 form here; the loss is O(m·n) beside the towers' GEMMs).
 */
export function esmm_bce_fwd_f32x4(m: i32, n: i32, a_ptr: usize, b_ptr: usize, targets_ptr: usize, mask_ptr: usize): f32 {
  let acc: f64 = 0, wsum: f64 = 0;
  for (let i = 0; i < m; i++) {
    const w: f64 = mask_ptr ? <f64>load<f32>(mask_ptr + off4(i)) : 1;
    if (!(w > 0)) continue;
    wsum += w;
    let s: f64 = 0;
    for (let j = 0; j < n; j++) {
      const k = off4(i * n + j);
      const a = <f64>load<f32>(a_ptr + k), b = <f64>load<f32>(b_ptr + k), t = <f64>load<f32>(targets_ptr + k);
      const l = logaddexp(logaddexp(-a, -b), -a - b);
      s += softplus(-a) + softplus(-b) - (1 - t) * l;
    }
    acc += w * s;
  }
  return wsum > 0 ? <f32>(acc / (<f64>n * wsum)) : 0;
}

/**
 * Gradient of scale·esmm_bce_fwd into both logits, each with its own beta (da_ptr or db_ptr 0: that side skipped):
 *   ∂ℓ/∂a = −t·σ(−a) + (1 − t)·e^(−softplus(a) − l),   ∂ℓ/∂b = −t·σ(−b) + (1 − t)·e^(−softplus(b) − l),
 * each times scale·w_i/(n·Σ w); missing rows get beta·d. Shapes as esmm_bce_fwd_f32x4; da, db: [m, n].
 */
export function esmm_bce_bwd_f32x4(m: i32, n: i32, a_ptr: usize, b_ptr: usize, targets_ptr: usize, mask_ptr: usize, da_ptr: usize, db_ptr: usize, scale: f32, beta_a: f32, beta_b: f32): void {
  let wsum: f64 = 0;
  for (let i = 0; i < m; i++) {
    const w: f64 = mask_ptr ? <f64>load<f32>(mask_ptr + off4(i)) : 1;
    if (w > 0) wsum += w;
  }
  const inv: f64 = wsum > 0 ? <f64>scale / (<f64>n * wsum) : 0;
  for (let i = 0; i < m; i++) {
    const w: f64 = mask_ptr ? <f64>load<f32>(mask_ptr + off4(i)) : 1;
    if (!(w > 0)) {
      if (da_ptr) zero_or_scale(n, da_ptr + off4(i * n), beta_a);
      if (db_ptr) zero_or_scale(n, db_ptr + off4(i * n), beta_b);
      continue;
    }
    const c = inv * w;
    for (let j = 0; j < n; j++) {
      const k = off4(i * n + j);
      const a = <f64>load<f32>(a_ptr + k), b = <f64>load<f32>(b_ptr + k), t = <f64>load<f32>(targets_ptr + k);
      const l = logaddexp(logaddexp(-a, -b), -a - b);
      if (da_ptr) {
        const g = <f32>(c * (-t * Math.exp(-softplus(a)) + (1 - t) * Math.exp(-softplus(a) - l)));
        store<f32>(da_ptr + k, beta_a == 0 ? g : beta_a * load<f32>(da_ptr + k) + g);
      }
      if (db_ptr) {
        const g = <f32>(c * (-t * Math.exp(-softplus(b)) + (1 - t) * Math.exp(-softplus(b) - l)));
        store<f32>(db_ptr + k, beta_b == 0 ? g : beta_b * load<f32>(db_ptr + k) + g);
      }
    }
  }
}
