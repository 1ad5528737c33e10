// DSelect-k gate (Hazimeh et al. 2021), per-example: k single-expert selectors over m = ⌈log₂ e⌉ binary codes.
//   S_γ(t) = 0 (t ≤ −γ/2), 1 (t ≥ γ/2), −2t³/γ³ + 3t/(2γ) + ½ otherwise (the smooth-step);
//   r_ij = Π_b (c_jb ? S(z_ib) : 1 − S(z_ib)), c_jb = bit b of j, b = 0 the most significant (expert j's code);
//   s = softmax(α) over the k selectors;  q_j = Σ_i s_i·r_ij.
// z: [n, k·m] row-major (selector i's bits at i·m … i·m + m − 1), α: [n, k], q: [n, e]. Only the codes 0 … e − 1
// exist: with e not a power of two Σ_j r_ij may be below 1 (see dselect_reach_*).
// Scalar on purpose: per row the work is k·e·m² multiply-adds on tiny, ragged dims (m ≤ 10, k ≤ e), negligible
// beside the experts' GEMMs; f64 accumulation. Nothing is allocated; inputs and outputs must not overlap.
import { off4 } from "../simd";

/** ε inside the entropy's logarithm and the reach term's reciprocal (the reference's EPSILON). */
const EPS: f64 = 1e-6;

/** Smooth-step S_γ(t). */
// @ts-ignore: decorator
@inline function sstep(t: f64, gamma: f64): f64 {
  if (t <= -0.5 * gamma) return 0;
  if (t >= 0.5 * gamma) return 1;
  return ((-2 / (gamma * gamma * gamma)) * t * t + 3 / (2 * gamma)) * t + 0.5;
}

/** S_γ'(t): 0 outside (−γ/2, γ/2). */
// @ts-ignore: decorator
@inline function dsstep(t: f64, gamma: f64): f64 {
  if (t <= -0.5 * gamma || t >= 0.5 * gamma) return 0;
  return (-6 / (gamma * gamma * gamma)) * t * t + 3 / (2 * gamma);
}

/** Factor of bit b of expert j: S(z_b) when the bit is set, else 1 − S(z_b). zr: selector's first bit. */
// @ts-ignore: decorator
@inline function factor(zr: usize, m: i32, j: i32, b: i32, gamma: f64): f64 {
  const s = sstep(<f64>load<f32>(zr + off4(b)), gamma);
  return (j >> (m - 1 - b)) & 1 ? s : 1 - s;
}

/** r_ij: the product of expert j's factors. */
// @ts-ignore: decorator
@inline function selector(zr: usize, m: i32, j: i32, gamma: f64): f64 {
  let p: f64 = 1;
  for (let b = 0; b < m; b++) p *= factor(zr, m, j, b, gamma);
  return p;
}

/** ∂r_ij/∂z_ib = ±S'(z_ib)·Π_{b' ≠ b} factors (the product without bit b: no division, exact at 0). */
// @ts-ignore: decorator
@inline function dselector(zr: usize, m: i32, j: i32, b: i32, gamma: f64): f64 {
  const d = dsstep(<f64>load<f32>(zr + off4(b)), gamma);
  if (d == 0) return 0;
  let p: f64 = (j >> (m - 1 - b)) & 1 ? d : -d;
  for (let c = 0; c < m; c++) if (c != b) p *= factor(zr, m, j, c, gamma);
  return p;
}

/** Row max and Σ exp(α − max) of one row of α (k values). */
// @ts-ignore: decorator
@inline function softmax_max(ar: usize, k: i32): f64 {
  let mx: f64 = -Infinity;
  for (let i = 0; i < k; i++) mx = max(mx, <f64>load<f32>(ar + off4(i)));
  return mx;
}

// @ts-ignore: decorator
@inline function softmax_sum(ar: usize, k: i32, mx: f64): f64 {
  let s: f64 = 0;
  for (let i = 0; i < k; i++) s += Math.exp(<f64>load<f32>(ar + off4(i)) - mx);
  return s;
}

/** q[r, j] = Σ_i softmax(α[r])_i·r_ij(z[r]); q: [n, e]. */
export function dselect_fwd_f32(n: i32, k: i32, m: i32, e: i32, z_ptr: usize, a_ptr: usize, q_ptr: usize, gamma: f32): void {
  const g = <f64>gamma;
  for (let r = 0; r < n; r++) {
    const ar = a_ptr + off4(r * k), zrow = z_ptr + off4(r * k * m), qr = q_ptr + off4(r * e);
    const mx = softmax_max(ar, k), sum = softmax_sum(ar, k, mx);
    for (let j = 0; j < e; j++) {
      let q: f64 = 0;
      for (let i = 0; i < k; i++) q += (Math.exp(<f64>load<f32>(ar + off4(i)) - mx) / sum) * selector(zrow + off4(i * m), m, j, g);
      store<f32>(qr + off4(j), <f32>q);
    }
  }
}

/**
 * Backward of dselect_fwd_f32 given dq [n, e]:
 *   dα[r, i] = beta_a·dα + s_i·(t_i − Σ_l s_l·t_l),  t_i = Σ_j dq_j·r_ij;
 *   dz[r, i·m + b] = beta_z·dz + s_i·Σ_j dq_j·∂r_ij/∂z_ib.
 * dz_ptr or da_ptr may be 0 (that gradient is skipped). beta 0 overwrites without reading (NaN garbage is fine).
 */
export function dselect_bwd_f32(
  n: i32, k: i32, m: i32, e: i32, z_ptr: usize, a_ptr: usize, dq_ptr: usize, dz_ptr: usize, da_ptr: usize, gamma: f32, beta_z: f32, beta_a: f32,
): void {
  const g = <f64>gamma;
  for (let r = 0; r < n; r++) {
    const ar = a_ptr + off4(r * k), zrow = z_ptr + off4(r * k * m), dqr = dq_ptr + off4(r * e);
    const mx = softmax_max(ar, k), sum = softmax_sum(ar, k, mx);
    if (da_ptr) {
      // Two passes recompute t_i instead of storing it: Σ_l s_l·t_l first, then each dα_i.
      let dot: f64 = 0;
      for (let i = 0; i < k; i++) {
        let t: f64 = 0;
        for (let j = 0; j < e; j++) t += <f64>load<f32>(dqr + off4(j)) * selector(zrow + off4(i * m), m, j, g);
        dot += (Math.exp(<f64>load<f32>(ar + off4(i)) - mx) / sum) * t;
      }
      for (let i = 0; i < k; i++) {
        let t: f64 = 0;
        for (let j = 0; j < e; j++) t += <f64>load<f32>(dqr + off4(j)) * selector(zrow + off4(i * m), m, j, g);
        const s = Math.exp(<f64>load<f32>(ar + off4(i)) - mx) / sum;
        const p = da_ptr + off4(r * k + i);
        const v = <f32>(s * (t - dot));
        store<f32>(p, beta_a == 0 ? v : beta_a * load<f32>(p) + v);
      }
    }
    if (dz_ptr) {
      for (let i = 0; i < k; i++) {
        const s = Math.exp(<f64>load<f32>(ar + off4(i)) - mx) / sum;
        const zr = zrow + off4(i * m);
        for (let b = 0; b < m; b++) {
          let acc: f64 = 0;
          for (let j = 0; j < e; j++) acc += <f64>load<f32>(dqr + off4(j)) * dselector(zr, m, j, b, g);
          const p = dz_ptr + off4((r * k + i) * m + b);
          const v = <f32>(s * acc);
          store<f32>(p, beta_z == 0 ? v : beta_z * load<f32>(p) + v);
        }
      }
    }
  }
}

/** Per selector: H(r_i) = −Σ_j r_ij·log(r_ij + ε) (ENTROPY) or 1/(Σ_j r_ij + ε) (REACH). */
const ENTROPY = 0;
const REACH = 1;

// @ts-ignore: decorator
@inline function reg_value(kind: i32, zr: usize, m: i32, e: i32, g: f64): f64 {
  let v: f64 = 0;
  for (let j = 0; j < e; j++) {
    const p = selector(zr, m, j, g);
    v += kind == ENTROPY ? -p * Math.log(p + EPS) : p;
  }
  return kind == ENTROPY ? v : 1 / (v + EPS);
}

// @ts-ignore: decorator
@inline function reg_fwd(kind: i32, n: i32, k: i32, m: i32, e: i32, z_ptr: usize, valid_ptr: usize, gamma: f32): f64 {
  const g = <f64>gamma;
  let total: f64 = 0;
  for (let r = 0; r < n; r++) {
    const w = valid_ptr ? <f64>load<f32>(valid_ptr + off4(r)) : 1;
    if (!(w > 0)) continue;
    for (let i = 0; i < k; i++) total += w * reg_value(kind, z_ptr + off4((r * k + i) * m), m, e, g);
  }
  return total;
}

// @ts-ignore: decorator
@inline function reg_bwd(kind: i32, n: i32, k: i32, m: i32, e: i32, z_ptr: usize, valid_ptr: usize, dz_ptr: usize, scale: f32, gamma: f32, beta: f32): void {
  const g = <f64>gamma;
  for (let r = 0; r < n; r++) {
    const w = valid_ptr ? <f64>load<f32>(valid_ptr + off4(r)) : 1;
    for (let i = 0; i < k; i++) {
      const zr = z_ptr + off4((r * k + i) * m);
      // dV/dr_ij: −(log(r + ε) + r/(r + ε)) for the entropy, −1/(Σ r + ε)² (the same for every j) for reach.
      const c: f64 = kind == REACH && w > 0 ? -Math.pow(reg_value(REACH, zr, m, e, g), 2) : 0;
      for (let b = 0; b < m; b++) {
        let acc: f64 = 0;
        if (w > 0)
          for (let j = 0; j < e; j++) {
            const d = dselector(zr, m, j, b, g);
            if (d == 0) continue;
            if (kind == ENTROPY) {
              const p = selector(zr, m, j, g);
              acc += -(Math.log(p + EPS) + p / (p + EPS)) * d;
            } else acc += c * d;
          }
        const p = dz_ptr + off4((r * k + i) * m + b);
        const v = <f32>(<f64>scale * w * acc);
        store<f32>(p, beta == 0 ? v : beta * load<f32>(p) + v);
      }
    }
  }
}

/**
 * Σ_r valid_r·Σ_i H(r_i(z[r])), H(p) = −Σ_j p_j·log(p_j + ε): the selectors' entropy, a SUM over rows (the caller
 * divides). z: [n, k·m]; valid: f32 [n] row weights or 0 (all 1); rows whose weight is not > 0 are skipped.
 */
export function dselect_entropy_fwd_f32(n: i32, k: i32, m: i32, e: i32, z_ptr: usize, valid_ptr: usize, gamma: f32): f64 {
  return reg_fwd(ENTROPY, n, k, m, e, z_ptr, valid_ptr, gamma);
}

/** dz = beta·dz + scale·valid_r·∂(Σ_i H(r_i))/∂z; rows with weight not > 0 get beta·dz. */
export function dselect_entropy_bwd_f32(n: i32, k: i32, m: i32, e: i32, z_ptr: usize, valid_ptr: usize, dz_ptr: usize, scale: f32, gamma: f32, beta: f32): void {
  reg_bwd(ENTROPY, n, k, m, e, z_ptr, valid_ptr, dz_ptr, scale, gamma, beta);
}

/**
 * Σ_r valid_r·Σ_i 1/(Σ_j r_ij + ε): keeps each selector on the reachable codes when e is not a power of two
 * (the reference adds Σ 1/Σ_j r_ij; it is k per row once every selector's reachable weights sum to 1).
 */
export function dselect_reach_fwd_f32(n: i32, k: i32, m: i32, e: i32, z_ptr: usize, valid_ptr: usize, gamma: f32): f64 {
  return reg_fwd(REACH, n, k, m, e, z_ptr, valid_ptr, gamma);
}

/** dz = beta·dz + scale·valid_r·∂(Σ_i 1/(Σ_j r_ij + ε))/∂z. */
export function dselect_reach_bwd_f32(n: i32, k: i32, m: i32, e: i32, z_ptr: usize, valid_ptr: usize, dz_ptr: usize, scale: f32, gamma: f32, beta: f32): void {
  reg_bwd(REACH, n, k, m, e, z_ptr, valid_ptr, dz_ptr, scale, gamma, beta);
}
