// Row-wise softmax over the last dimension of a row-major [m, n] matrix.
import { hmax_f32x4, hsum_f32x4, off4 } from "../simd";

// @ts-ignore: decorator
@inline function splat(c: f32): v128 {
  return f32x4.splat(c);
}

/**
 * e^x per lane — the same code as act.ts's exp (kept private here because an exported helper would leak
 * into the artifact's exports): Cephes range reduction + degree-6 polynomial, 2^k applied as two
 * exponent-bit multiplies; ≈1 ulp over [−104, 88.7], exactly 0 below −104 (so e^−inf = 0).
 */
// @ts-ignore: decorator
@inline function exp_f32x4(x: v128): v128 {
  // clamp with pmin/pmax (single instructions; a NaN x falls through both and stays NaN)
  const xc = f32x4.pmax(f32x4.pmin(x, splat(88.8)), splat(-104.0));
  // k = round-to-nearest(x·log2 e) by the 1.5·2²³ trick: the integer k sits in t's low mantissa bits
  const t = f32x4.add(f32x4.mul(xc, splat(1.44269504088896341)), splat(12582912.0));
  const k = f32x4.sub(t, splat(12582912.0));
  let r = f32x4.sub(xc, f32x4.mul(k, splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(k, splat(-2.12194440e-4)));
  let p = splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), splat(5.0000001201e-1));
  p = f32x4.add(f32x4.add(f32x4.mul(p, f32x4.mul(r, r)), r), splat(1.0));
  const ki = i32x4.sub(t, i32x4.splat(0x4B400000));
  const k1 = i32x4.shr_s(ki, 1);
  const k2 = i32x4.sub(ki, k1);
  const s1 = i32x4.shl(i32x4.add(k1, i32x4.splat(127)), 23);
  const s2 = i32x4.shl(i32x4.add(k2, i32x4.splat(127)), 23);
  return f32x4.mul(f32x4.mul(p, s1), s2);
}

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
