// Layer normalization over the last dimension of a row-major [m, n] matrix.
import { hsum_f32x4, off4 } from "../simd";

/**
 * Per row i: μ = mean(x[i,:]), σ² = mean((x[i,:] − μ)²) (two-pass, biased), rstd = 1/√(σ² + eps),
 * y[i,:] = (x[i,:] − μ)·rstd ⊙ g + b. Saves mean[i] = μ and rstd[i] for the backward.
 * x, y: [m, n]; g, b: [n]; mean, rstd: [m]. y may alias x. n == 0 writes nothing.
 */
export function layernorm_fwd_f32x4(
  m: i32, n: i32, x_ptr: usize, g_ptr: usize, b_ptr: usize, y_ptr: usize, mean_ptr: usize, rstd_ptr: usize, eps: f32,
): void {
  if (n <= 0) return;
  const invn: f32 = 1 / <f32>n;
  for (let i = 0; i < m; i++) {
    const xr = x_ptr + off4(i * n);
    const yr = y_ptr + off4(i * n);
    // mean
    let sv = f32x4.splat(0);
    let j = 0;
    for (; j + 4 <= n; j += 4) sv = f32x4.add(sv, v128.load(xr + off4(j)));
    let s = hsum_f32x4(sv);
    for (; j < n; j++) s += load<f32>(xr + off4(j));
    const mu = s * invn;
    const muv = f32x4.splat(mu);
    // variance around the mean
    let qv = f32x4.splat(0);
    j = 0;
    for (; j + 4 <= n; j += 4) {
      const d = f32x4.sub(v128.load(xr + off4(j)), muv);
      qv = f32x4.add(qv, f32x4.mul(d, d));
    }
    let q = hsum_f32x4(qv);
    for (; j < n; j++) {
      const d = load<f32>(xr + off4(j)) - mu;
      q += d * d;
    }
    const rstd: f32 = 1 / Mathf.sqrt(q * invn + eps);
    store<f32>(mean_ptr + off4(i), mu);
    store<f32>(rstd_ptr + off4(i), rstd);
    // y = (x − μ)·rstd·g + b
    const rv = f32x4.splat(rstd);
    j = 0;
    for (; j + 4 <= n; j += 4) {
      const xh = f32x4.mul(f32x4.sub(v128.load(xr + off4(j)), muv), rv);
      v128.store(yr + off4(j), f32x4.add(f32x4.mul(xh, v128.load(g_ptr + off4(j))), v128.load(b_ptr + off4(j))));
    }
    for (; j < n; j++) {
      const xh = (load<f32>(xr + off4(j)) - mu) * rstd;
      store<f32>(yr + off4(j), xh * load<f32>(g_ptr + off4(j)) + load<f32>(b_ptr + off4(j)));
    }
  }
}

/** Scale a gradient vector v[0:n] by beta, or zero it when beta == 0 (without reading it). */
// @ts-ignore: decorator
@inline function scale_grad(n: i32, p: usize, beta: f32): void {
  if (beta == 1) return;
  let j = 0;
  if (beta == 0) {
    const z = f32x4.splat(0);
    for (; j + 4 <= n; j += 4) v128.store(p + off4(j), z);
    for (; j < n; j++) store<f32>(p + off4(j), 0);
  } else {
    const bv = f32x4.splat(beta);
    for (; j + 4 <= n; j += 4) v128.store(p + off4(j), f32x4.mul(v128.load(p + off4(j)), bv));
    for (; j < n; j++) store<f32>(p + off4(j), beta * load<f32>(p + off4(j)));
  }
}

/**
 * Layer-norm backward from the saved mean/rstd. With x̂ = (x − μ)·rstd and ĝ = dy ⊙ g, per row:
 *   dx[i,:] = beta·dx[i,:] + rstd·(ĝ − mean_j(ĝ) − x̂ ⊙ mean_j(ĝ ⊙ x̂)),
 *   dg = beta·dg + Σ_i dy[i,:] ⊙ x̂[i,:],   db = beta·db + Σ_i dy[i,:]   (sums over the m rows).
 * x, dy, dx: [m, n]; g, dg, db: [n]; mean, rstd: [m]. beta applies to dx, dg and db alike; beta == 0
 * never reads them (NaN garbage is fine). dx may alias dy when beta == 0. dg, db must not alias inputs.
 */
export function layernorm_bwd_f32x4(
  m: i32, n: i32, x_ptr: usize, g_ptr: usize, mean_ptr: usize, rstd_ptr: usize, dy_ptr: usize,
  dx_ptr: usize, dg_ptr: usize, db_ptr: usize, beta: f32,
): void {
  if (n <= 0) return;
  scale_grad(n, dg_ptr, beta);
  scale_grad(n, db_ptr, beta);
  const invn: f32 = 1 / <f32>n;
  const bv = f32x4.splat(beta);
  for (let i = 0; i < m; i++) {
    const xr = x_ptr + off4(i * n);
    const dyr = dy_ptr + off4(i * n);
    const dxr = dx_ptr + off4(i * n);
    const mu = load<f32>(mean_ptr + off4(i));
    const rstd = load<f32>(rstd_ptr + off4(i));
    const muv = f32x4.splat(mu);
    const rv = f32x4.splat(rstd);
    // pass 1: row sums of ĝ and ĝ·x̂; accumulate dg, db
    let s1v = f32x4.splat(0);
    let s2v = f32x4.splat(0);
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const xh = f32x4.mul(f32x4.sub(v128.load(xr + off4(j)), muv), rv);
      const dy = v128.load(dyr + off4(j));
      const gh = f32x4.mul(dy, v128.load(g_ptr + off4(j)));
      s1v = f32x4.add(s1v, gh);
      s2v = f32x4.add(s2v, f32x4.mul(gh, xh));
      v128.store(dg_ptr + off4(j), f32x4.add(v128.load(dg_ptr + off4(j)), f32x4.mul(dy, xh)));
      v128.store(db_ptr + off4(j), f32x4.add(v128.load(db_ptr + off4(j)), dy));
    }
    let s1 = hsum_f32x4(s1v);
    let s2 = hsum_f32x4(s2v);
    for (; j < n; j++) {
      const xh = (load<f32>(xr + off4(j)) - mu) * rstd;
      const dy = load<f32>(dyr + off4(j));
      const gh = dy * load<f32>(g_ptr + off4(j));
      s1 += gh;
      s2 += gh * xh;
      store<f32>(dg_ptr + off4(j), load<f32>(dg_ptr + off4(j)) + dy * xh);
      store<f32>(db_ptr + off4(j), load<f32>(db_ptr + off4(j)) + dy);
    }
    const a = s1 * invn;
    const c = s2 * invn;
    const av = f32x4.splat(a);
    const cv = f32x4.splat(c);
    // pass 2: dx
    j = 0;
    if (beta == 0) {
      for (; j + 4 <= n; j += 4) {
        const xh = f32x4.mul(f32x4.sub(v128.load(xr + off4(j)), muv), rv);
        const gh = f32x4.mul(v128.load(dyr + off4(j)), v128.load(g_ptr + off4(j)));
        v128.store(dxr + off4(j), f32x4.mul(rv, f32x4.sub(f32x4.sub(gh, av), f32x4.mul(xh, cv))));
      }
      for (; j < n; j++) {
        const xh = (load<f32>(xr + off4(j)) - mu) * rstd;
        const gh = load<f32>(dyr + off4(j)) * load<f32>(g_ptr + off4(j));
        store<f32>(dxr + off4(j), rstd * (gh - a - xh * c));
      }
    } else {
      for (; j + 4 <= n; j += 4) {
        const xh = f32x4.mul(f32x4.sub(v128.load(xr + off4(j)), muv), rv);
        const gh = f32x4.mul(v128.load(dyr + off4(j)), v128.load(g_ptr + off4(j)));
        const nd = f32x4.mul(rv, f32x4.sub(f32x4.sub(gh, av), f32x4.mul(xh, cv)));
        v128.store(dxr + off4(j), f32x4.add(f32x4.mul(v128.load(dxr + off4(j)), bv), nd));
      }
      for (; j < n; j++) {
        const xh = (load<f32>(xr + off4(j)) - mu) * rstd;
        const gh = load<f32>(dyr + off4(j)) * load<f32>(g_ptr + off4(j));
        store<f32>(dxr + off4(j), beta * load<f32>(dxr + off4(j)) + rstd * (gh - a - xh * c));
      }
    }
  }
}
