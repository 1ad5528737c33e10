// Batch normalization over NCHW tensors (per channel, statistics over n and the hw positions of a plane):
// training forward (batch statistics), inference forward (running statistics), backward.
//
// Layout: X, Y, dY, dX [n, c, hw] (hw = h·w; a dense [n, c] input is hw = 1), γ, β, mean, inv_std,
// running mean/var [c]. Write m = n·hw (values per channel). Statistics are accumulated in f64
// (f64x2 lanes promoted from f32): mean = Σx/m, then var = Σ(x − mean)²/m (two passes: no cancellation);
// the biased var normalizes, inv_std = 1/√(var + eps).
//
// Running statistics follow PyTorch: running = (1 − momentum)·running + momentum·batch, with the unbiased
// batch variance var·m/(m − 1) (var itself when m == 1). Keras/ONNX state momentum as the weight of the
// old value: pass 1 − theirs. Pointers need 4-byte alignment; outputs must not alias inputs.
import { hi2 } from "../simd";

/** Σ over one plane of len f32 at x, in f64 (f64x2 lanes, f32x4 loads; scalar tail). */
// @ts-ignore: decorator
@inline function sum64(len: i32, x: usize): f64 {
  let a0 = f64x2.splat(0), a1 = a0;
  let j = 0;
  for (; j + 4 <= len; j += 4) {
    const v = v128.load(x + (<usize>j << 2));
    a0 = f64x2.add(a0, f64x2.promote_low_f32x4(v));
    a1 = f64x2.add(a1, f64x2.promote_low_f32x4(hi2(v)));
  }
  const a = f64x2.add(a0, a1);
  let s = f64x2.extract_lane(a, 0) + f64x2.extract_lane(a, 1);
  for (; j < len; j++) s += <f64>load<f32>(x + (<usize>j << 2));
  return s;
}

/** Σ (x − mu)² over one plane, in f64. */
// @ts-ignore: decorator
@inline function sqdev64(len: i32, x: usize, mu: f64): f64 {
  const vm = f64x2.splat(mu);
  let a0 = f64x2.splat(0), a1 = a0;
  let j = 0;
  for (; j + 4 <= len; j += 4) {
    const v = v128.load(x + (<usize>j << 2));
    const d0 = f64x2.sub(f64x2.promote_low_f32x4(v), vm), d1 = f64x2.sub(f64x2.promote_low_f32x4(hi2(v)), vm);
    a0 = f64x2.add(a0, f64x2.mul(d0, d0));
    a1 = f64x2.add(a1, f64x2.mul(d1, d1));
  }
  const a = f64x2.add(a0, a1);
  let s = f64x2.extract_lane(a, 0) + f64x2.extract_lane(a, 1);
  for (; j < len; j++) { const d = <f64>load<f32>(x + (<usize>j << 2)) - mu; s += d * d; }
  return s;
}

/** y = (x − mu)·a + b over one plane (f32x4 body, scalar tail). */
// @ts-ignore: decorator
@inline function affine(len: i32, x: usize, y: usize, mu: f32, a: f32, b: f32): void {
  const vm = f32x4.splat(mu), va = f32x4.splat(a), vb = f32x4.splat(b);
  let j = 0;
  for (; j + 4 <= len; j += 4) {
    const o = <usize>j << 2;
    v128.store(y + o, f32x4.add(f32x4.mul(f32x4.sub(v128.load(x + o), vm), va), vb));
  }
  for (; j < len; j++) { const o = <usize>j << 2; store<f32>(y + o, (load<f32>(x + o) - mu) * a + b); }
}

/**
 * Training forward: per channel, the mean and variance of the batch's first nv rows (its real rows: a last partial
 * batch's padding rows after them are left out; nv < 0 or > n means all n); Y = (X − mean)·inv_std·γ + β over all n
 * rows. nv = 0 (no real rows): Y = β, mean 0 and inv_std 0 saved (so the backward gives 0), running statistics kept. Saves mean [c] and inv_std [c] for the backward; updates running_mean/var [c] in place (read and written)
 * with `momentum` (PyTorch's convention, unbiased variance over the nv rows; see the file comment). n·hw ≥ 1.
 */
export function batchnorm_fwd_train_f32x4(n: i32, c: i32, hw: i32, nv: i32, x_ptr: usize, gamma_ptr: usize, beta_ptr: usize, y_ptr: usize, mean_ptr: usize, inv_std_ptr: usize, run_mean_ptr: usize, run_var_ptr: usize, momentum: f32, eps: f32): void {
  if (n <= 0 || c <= 0 || hw <= 0) return;
  if (nv < 0 || nv > n) nv = n;
  const m = <f64>nv * <f64>hw, cs = <usize>(c * hw) << 2, ps = <usize>hw << 2;
  for (let ch = 0; ch < c; ch++) {
    const x0 = x_ptr + <usize>ch * ps;
    if (nv == 0) {
      const o = <usize>ch << 2;
      store<f32>(mean_ptr + o, 0);
      store<f32>(inv_std_ptr + o, 0);
      for (let i = 0; i < n; i++) affine(hw, x0 + <usize>i * cs, y_ptr + <usize>ch * ps + <usize>i * cs, 0, 0, load<f32>(beta_ptr + o));
      continue;
    }
    let s: f64 = 0;
    for (let i = 0; i < nv; i++) s += sum64(hw, x0 + <usize>i * cs);
    const mu = s / m;
    let q: f64 = 0;
    for (let i = 0; i < nv; i++) q += sqdev64(hw, x0 + <usize>i * cs, mu);
    const v = q / m;
    const inv = 1.0 / Math.sqrt(v + <f64>eps);
    const o = <usize>ch << 2;
    store<f32>(mean_ptr + o, <f32>mu);
    store<f32>(inv_std_ptr + o, <f32>inv);
    const mom = <f64>momentum, unbiased = m > 1 ? q / (m - 1) : v;
    store<f32>(run_mean_ptr + o, <f32>((1 - mom) * <f64>load<f32>(run_mean_ptr + o) + mom * mu));
    store<f32>(run_var_ptr + o, <f32>((1 - mom) * <f64>load<f32>(run_var_ptr + o) + mom * unbiased));
    const a = <f32>(<f64>load<f32>(gamma_ptr + o) * inv), b = load<f32>(beta_ptr + o);
    for (let i = 0; i < n; i++) affine(hw, x0 + <usize>i * cs, y_ptr + <usize>ch * ps + <usize>i * cs, <f32>mu, a, b);
  }
}

/**
 * Inference forward: Y = (X − running_mean)/√(running_var + eps)·γ + β, per channel.
 */
export function batchnorm_fwd_infer_f32x4(n: i32, c: i32, hw: i32, x_ptr: usize, gamma_ptr: usize, beta_ptr: usize, run_mean_ptr: usize, run_var_ptr: usize, y_ptr: usize, eps: f32): void {
  if (n <= 0 || c <= 0 || hw <= 0) return;
  const cs = <usize>(c * hw) << 2, ps = <usize>hw << 2;
  for (let ch = 0; ch < c; ch++) {
    const o = <usize>ch << 2;
    const inv = 1.0 / Math.sqrt(<f64>load<f32>(run_var_ptr + o) + <f64>eps);
    const a = <f32>(<f64>load<f32>(gamma_ptr + o) * inv), b = load<f32>(beta_ptr + o), mu = load<f32>(run_mean_ptr + o);
    for (let i = 0; i < n; i++) affine(hw, x_ptr + <usize>ch * ps + <usize>i * cs, y_ptr + <usize>ch * ps + <usize>i * cs, mu, a, b);
  }
}

/**
 * Backward of the training forward (through the statistics of the first nv rows, as the forward took them):
 *   x̂ = (x − mean)·inv_std, dβ = Σ dy, dγ = Σ dy·x̂ (sums over the nv rows),
 *   dx = γ·inv_std·(dy − dβ/m − x̂·dγ/m) for those rows; the padding rows after them get dx 0 (their outputs feed
 *   nothing the objective reads), so no gradient reaches what computed them.
 * X, dY [n, c, hw]; γ, the saved mean and inv_std [c]; writes dX [n, c, hw], dγ [c], dβ [c] with beta
 * (0 overwrites, never reading them; 1 accumulates; other values scale). The sums run in f64.
 */
export function batchnorm_bwd_f32x4(n: i32, c: i32, hw: i32, nv: i32, x_ptr: usize, dy_ptr: usize, gamma_ptr: usize, mean_ptr: usize, inv_std_ptr: usize, dx_ptr: usize, dgamma_ptr: usize, dbeta_ptr: usize, beta: f32): void {
  if (n <= 0 || c <= 0 || hw <= 0) return;
  if (nv < 0 || nv > n) nv = n;
  const m = <f64>(nv > 0 ? nv : 1) * <f64>hw, cs = <usize>(c * hw) << 2, ps = <usize>hw << 2;
  for (let ch = 0; ch < c; ch++) {
    const o = <usize>ch << 2;
    const mu = load<f32>(mean_ptr + o), inv = <f64>load<f32>(inv_std_ptr + o), g = <f64>load<f32>(gamma_ptr + o);
    const vm = f64x2.splat(<f64>mu);
    // Σ dy and Σ dy·(x − mean), in f64
    let sdy: f64 = 0, sdx: f64 = 0;
    for (let i = 0; i < nv; i++) {
      const x = x_ptr + <usize>ch * ps + <usize>i * cs, dy = dy_ptr + <usize>ch * ps + <usize>i * cs;
      let a0 = f64x2.splat(0), a1 = a0, b0 = a0, b1 = a0;
      let j = 0;
      for (; j + 4 <= hw; j += 4) {
        const jo = <usize>j << 2;
        const vx = v128.load(x + jo), vd = v128.load(dy + jo);
        const d0 = f64x2.promote_low_f32x4(vd), d1 = f64x2.promote_low_f32x4(hi2(vd));
        a0 = f64x2.add(a0, d0); a1 = f64x2.add(a1, d1);
        b0 = f64x2.add(b0, f64x2.mul(d0, f64x2.sub(f64x2.promote_low_f32x4(vx), vm)));
        b1 = f64x2.add(b1, f64x2.mul(d1, f64x2.sub(f64x2.promote_low_f32x4(hi2(vx)), vm)));
      }
      const a = f64x2.add(a0, a1), b = f64x2.add(b0, b1);
      sdy += f64x2.extract_lane(a, 0) + f64x2.extract_lane(a, 1);
      sdx += f64x2.extract_lane(b, 0) + f64x2.extract_lane(b, 1);
      for (; j < hw; j++) {
        const jo = <usize>j << 2;
        const d = <f64>load<f32>(dy + jo);
        sdy += d; sdx += d * (<f64>load<f32>(x + jo) - <f64>mu);
      }
    }
    const dgam = sdx * inv, dbet = sdy;
    // dx = k1·dy + k2·(x − mean) + k3
    const k1 = <f32>(g * inv), k2 = <f32>(-g * inv * inv * inv * sdx / m), k3 = <f32>(-g * inv * sdy / m);
    const v1 = f32x4.splat(k1), v2 = f32x4.splat(k2), v3 = f32x4.splat(k3), vmu = f32x4.splat(mu), vb = f32x4.splat(beta);
    for (let i = nv; i < n; i++) {
      // Padding rows: dx = 0 (with beta: beta·dx).
      const dx = dx_ptr + <usize>ch * ps + <usize>i * cs;
      if (beta == 0) memory.fill(dx, 0, <usize>hw << 2);
      else if (beta != 1) for (let j = 0; j < hw; j++) store<f32>(dx + (<usize>j << 2), beta * load<f32>(dx + (<usize>j << 2)));
    }
    for (let i = 0; i < nv; i++) {
      const x = x_ptr + <usize>ch * ps + <usize>i * cs, dy = dy_ptr + <usize>ch * ps + <usize>i * cs, dx = dx_ptr + <usize>ch * ps + <usize>i * cs;
      let j = 0;
      for (; j + 4 <= hw; j += 4) {
        const jo = <usize>j << 2;
        let r = f32x4.add(f32x4.add(f32x4.mul(v1, v128.load(dy + jo)), f32x4.mul(v2, f32x4.sub(v128.load(x + jo), vmu))), v3);
        if (beta != 0) r = f32x4.add(r, f32x4.mul(vb, v128.load(dx + jo)));
        v128.store(dx + jo, r);
      }
      for (; j < hw; j++) {
        const jo = <usize>j << 2;
        let r = k1 * load<f32>(dy + jo) + k2 * (load<f32>(x + jo) - mu) + k3;
        if (beta != 0) r += beta * load<f32>(dx + jo);
        store<f32>(dx + jo, r);
      }
    }
    store<f32>(dgamma_ptr + o, beta == 0 ? <f32>dgam : <f32>(<f64>beta * <f64>load<f32>(dgamma_ptr + o) + dgam));
    store<f32>(dbeta_ptr + o, beta == 0 ? <f32>dbet : <f32>(<f64>beta * <f64>load<f32>(dbeta_ptr + o) + dbet));
  }
}
