// Row-wise softmax over the last dimension of a row-major [m, n] matrix.
import { exp_f32x4, hmax_f32x4, hsum_f32x4, off4, splat } from "../simd";

/** Scalar e^x computed by the vector code, so tail elements get bit-identical results. */
// @ts-ignore: decorator
@inline function exp_f32(x: f32): f32 {
  return f32x4.extract_lane(exp_f32x4(f32x4.splat(x)), 0);
}

/**
 * y[i, :] = softmax(x[i, :]) = e^(x[i,:] − max_j x[i,j]) / Σ_j e^(x[i,j] − max). x, y: [m, n] row-major.
 * Subtracting the row max makes it stable for any finite input (e.g. 1000 or −1e30); −inf entries get
 * exactly 0; a row that is entirely −inf (or holds NaN or +inf) yields NaN, as in PyTorch.
 * y may alias x.
 */
export function softmax_fwd_f32x4(m: i32, n: i32, x_ptr: usize, y_ptr: usize): void {
  if (n <= 0) return;
  for (let i = 0; i < m; i++) {
    const xr = x_ptr + off4(i * n);
    const yr = y_ptr + off4(i * n);
    // row max
    let mx: f32 = load<f32>(xr);
    let j = 0;
    if (n >= 4) {
      let mv = v128.load(xr);
      for (j = 4; j + 4 <= n; j += 4) mv = f32x4.max(mv, v128.load(xr + off4(j)));
      mx = hmax_f32x4(mv);
    } else {
      j = 1;
    }
    for (; j < n; j++) mx = max(mx, load<f32>(xr + off4(j)));
    // exponentials and their sum
    const mxv = f32x4.splat(mx);
    let sv = f32x4.splat(0);
    j = 0;
    for (; j + 4 <= n; j += 4) {
      const e = exp_f32x4(f32x4.sub(v128.load(xr + off4(j)), mxv));
      v128.store(yr + off4(j), e);
      sv = f32x4.add(sv, e);
    }
    let s = hsum_f32x4(sv);
    for (; j < n; j++) {
      const e = exp_f32(load<f32>(xr + off4(j)) - mx);
      store<f32>(yr + off4(j), e);
      s += e;
    }
    // normalize
    const inv: f32 = 1 / s;
    const iv = f32x4.splat(inv);
    j = 0;
    for (; j + 4 <= n; j += 4) v128.store(yr + off4(j), f32x4.mul(v128.load(yr + off4(j)), iv));
    for (; j < n; j++) store<f32>(yr + off4(j), load<f32>(yr + off4(j)) * inv);
  }
}

/**
 * dx[i, :] = beta·dx[i, :] + y[i, :] ⊙ (dy[i, :] − Σ_j dy[i,j]·y[i,j]) — the softmax Jacobian-vector
 * product from the forward output y. y, dy, dx: [m, n] row-major. beta == 0: dx is not read (may hold
 * NaN). dx may alias dy when beta == 0 (each row's dot product is taken before the row is written).
 */
export function softmax_bwd_f32x4(m: i32, n: i32, y_ptr: usize, dy_ptr: usize, dx_ptr: usize, beta: f32): void {
  if (n <= 0) return;
  const bv = f32x4.splat(beta);
  for (let i = 0; i < m; i++) {
    const yr = y_ptr + off4(i * n);
    const dyr = dy_ptr + off4(i * n);
    const dxr = dx_ptr + off4(i * n);
    let sv = f32x4.splat(0);
    let j = 0;
    for (; j + 4 <= n; j += 4) sv = f32x4.add(sv, f32x4.mul(v128.load(yr + off4(j)), v128.load(dyr + off4(j))));
    let s = hsum_f32x4(sv);
    for (; j < n; j++) s += load<f32>(yr + off4(j)) * load<f32>(dyr + off4(j));
    const ssv = f32x4.splat(s);
    j = 0;
    if (beta == 0) {
      for (; j + 4 <= n; j += 4) {
        v128.store(dxr + off4(j), f32x4.mul(v128.load(yr + off4(j)), f32x4.sub(v128.load(dyr + off4(j)), ssv)));
      }
      for (; j < n; j++) store<f32>(dxr + off4(j), load<f32>(yr + off4(j)) * (load<f32>(dyr + off4(j)) - s));
    } else {
      for (; j + 4 <= n; j += 4) {
        const g = f32x4.mul(v128.load(yr + off4(j)), f32x4.sub(v128.load(dyr + off4(j)), ssv));
        v128.store(dxr + off4(j), f32x4.add(f32x4.mul(v128.load(dxr + off4(j)), bv), g));
      }
      for (; j < n; j++) {
        store<f32>(dxr + off4(j), beta * load<f32>(dxr + off4(j)) + load<f32>(yr + off4(j)) * (load<f32>(dyr + off4(j)) - s));
      }
    }
  }
}
