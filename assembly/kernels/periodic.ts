// Periodic embeddings of numeric features (Gorishniy et al. 2022, "On Embeddings for Numerical Features in Tabular
// Deep Learning"): x [m, p], frequencies c [p, k] → y [m, p·2k], per row r and feature j
//   t_ji = (2π)·c_ji,  θ = x_rj·t_ji   (f32, one rounding each: the ONNX form's Mul, Mul)
//   y[r, j·2k + i] = sin θ,  y[r, j·2k + k + i] = cos θ.
// sin/cos: θ = q·π/2 + ρ with q = round(θ·2/π) (the 1.5·2²³ trick: |θ| < 2²²) and π/2 in three f32 parts (Cody–Waite;
// q·P1 is exact while |q| < 2¹⁶, |θ| < ~1e5), then the Cephes sinf/cosf polynomials on |ρ| ≤ π/4 and the quadrant
// q mod 4. Absolute error ≈ 1e−7 for |θ| ≤ 1e3. The frequencies run 4 at a time; the last k mod 4 go through the same
// vector code with partial loads and stores, so every element's result is bit-identical wherever it sits.
import { hsum_f32x4, load_part, off4, sel, splat, store_part } from "../simd";

const TWO_PI: f32 = 6.28318530717958647692;

// @ts-ignore: decorator
@inline function quadrant(x: v128): v128 {
  const t = f32x4.add(f32x4.mul(x, splat(0.636619772367581343)), splat(12582912.0));
  return f32x4.sub(t, splat(12582912.0));
}

// @ts-ignore: decorator
@inline function reduced(x: v128, q: v128): v128 {
  let r = f32x4.sub(x, f32x4.mul(q, splat(1.5703125)));
  r = f32x4.sub(r, f32x4.mul(q, splat(4.837512969970703125e-4)));
  return f32x4.sub(r, f32x4.mul(q, splat(7.54978995489188216e-8)));
}

// @ts-ignore: decorator
@inline function sin_poly(r: v128, z: v128): v128 {
  let p = splat(-1.9515295891e-4);
  p = f32x4.add(f32x4.mul(p, z), splat(8.3321608736e-3));
  p = f32x4.add(f32x4.mul(p, z), splat(-1.6666654611e-1));
  return f32x4.add(f32x4.mul(f32x4.mul(p, z), r), r);
}

// @ts-ignore: decorator
@inline function cos_poly(z: v128): v128 {
  let p = splat(2.443315711809948e-5);
  p = f32x4.add(f32x4.mul(p, z), splat(-1.388731625493765e-3));
  p = f32x4.add(f32x4.mul(p, z), splat(4.166664568298827e-2));
  return f32x4.add(f32x4.sub(splat(1.0), f32x4.mul(z, splat(0.5))), f32x4.mul(f32x4.mul(z, z), p));
}

/** sin θ per lane (quadrant bits select and negate the polynomials). */
// @ts-ignore: decorator
@inline function sin_f32x4(x: v128): v128 {
  const q = quadrant(x), r = reduced(x, q), z = f32x4.mul(r, r);
  const qi = i32x4.trunc_sat_f32x4_s(q);
  const odd = i32x4.ne(v128.and(qi, i32x4.splat(1)), i32x4.splat(0));
  const v = sel(odd, cos_poly(z), sin_poly(r, z));
  return v128.xor(v, i32x4.shl(v128.and(qi, i32x4.splat(2)), 30));
}

/** cos θ per lane. */
// @ts-ignore: decorator
@inline function cos_f32x4(x: v128): v128 {
  const q = quadrant(x), r = reduced(x, q), z = f32x4.mul(r, r);
  const qi = i32x4.trunc_sat_f32x4_s(q);
  const odd = i32x4.ne(v128.and(qi, i32x4.splat(1)), i32x4.splat(0));
  const v = sel(odd, sin_poly(r, z), cos_poly(z));
  return v128.xor(v, i32x4.shl(v128.and(i32x4.add(qi, i32x4.splat(1)), i32x4.splat(2)), 30));
}

/** y = periodic(x; c) (see the file comment). x [m, p], c [p, k], y [m, p·2k]. */
export function periodic_fwd_f32x4(m: i32, p: i32, k: i32, x_ptr: usize, c_ptr: usize, y_ptr: usize): void {
  const two_pi = splat(TWO_PI);
  for (let r = 0; r < m; r++) {
    for (let j = 0; j < p; j++) {
      const xv = splat(load<f32>(x_ptr + off4(r * p + j)));
      const cj = c_ptr + off4(j * k), ys = y_ptr + off4((r * p + j) * 2 * k), yc = ys + off4(k);
      let i = 0;
      for (; i + 4 <= k; i += 4) {
        const th = f32x4.mul(xv, f32x4.mul(two_pi, v128.load(cj + off4(i))));
        v128.store(ys + off4(i), sin_f32x4(th));
        v128.store(yc + off4(i), cos_f32x4(th));
      }
      const t = k - i;
      if (t > 0) {
        const th = f32x4.mul(xv, f32x4.mul(two_pi, load_part(cj + off4(i), t)));
        store_part(ys + off4(i), sin_f32x4(th), t);
        store_part(yc + off4(i), cos_f32x4(th), t);
      }
    }
  }
}

/**
 * Backward of periodic_fwd_f32x4. With g = cos θ·dy_sin − sin θ·dy_cos per element:
 *   dc_ji = beta·dc_ji + Σ_r 2π·x_rj·g   (rows in order),   dx_rj = beta·dx_rj + Σ_i t_ji·g   (dx_ptr 0: not written).
 * x [m, p], c [p, k], dy [m, p·2k], dx [m, p], dc [p, k]. beta == 0: dc and dx are not read.
 */
export function periodic_bwd_f32x4(m: i32, p: i32, k: i32, x_ptr: usize, c_ptr: usize, dy_ptr: usize, dx_ptr: usize, dc_ptr: usize, beta: f32): void {
  const two_pi = splat(TWO_PI);
  for (let e = 0; e < p * k; e++) store<f32>(dc_ptr + off4(e), beta == 0 ? 0 : beta * load<f32>(dc_ptr + off4(e)));
  for (let r = 0; r < m; r++) {
    for (let j = 0; j < p; j++) {
      const xs = load<f32>(x_ptr + off4(r * p + j)), xv = splat(xs), x2 = splat(xs * TWO_PI);
      const cj = c_ptr + off4(j * k), dcj = dc_ptr + off4(j * k), ds = dy_ptr + off4((r * p + j) * 2 * k), dco = ds + off4(k);
      let acc = splat(0);
      let i = 0;
      for (; i + 4 <= k; i += 4) {
        const t = f32x4.mul(two_pi, v128.load(cj + off4(i))), th = f32x4.mul(xv, t);
        const g = f32x4.sub(f32x4.mul(cos_f32x4(th), v128.load(ds + off4(i))), f32x4.mul(sin_f32x4(th), v128.load(dco + off4(i))));
        v128.store(dcj + off4(i), f32x4.add(v128.load(dcj + off4(i)), f32x4.mul(x2, g)));
        acc = f32x4.add(acc, f32x4.mul(t, g));
      }
      const tl = k - i;
      if (tl > 0) {
        const t = f32x4.mul(two_pi, load_part(cj + off4(i), tl)), th = f32x4.mul(xv, t);
        const g = f32x4.sub(f32x4.mul(cos_f32x4(th), load_part(ds + off4(i), tl)), f32x4.mul(sin_f32x4(th), load_part(dco + off4(i), tl)));
        store_part(dcj + off4(i), f32x4.add(load_part(dcj + off4(i), tl), f32x4.mul(x2, g)), tl);
        acc = f32x4.add(acc, f32x4.mul(t, g));
      }
      if (dx_ptr) {
        const at = dx_ptr + off4(r * p + j), s = hsum_f32x4(acc);
        store<f32>(at, beta == 0 ? s : beta * load<f32>(at) + s);
      }
    }
  }
}
