// Small dense linear algebra for gradient-level task balancing (issue 12: MGDA-UB, PCGrad, GradDrop, GradVac,
// CAGrad, IMTL-G, Aligned-MTL, Nash-MTL, UPGrad, DB-MTL, GradNorm).
//
// Two kinds of kernel live here:
// - SIMD reductions over the T per-task gradient rows of the shared-parameter block (f32, [T, n], row stride
//   ld_g elements): the Gram matrix and weighted sums, with every product and sum in f64 (f32 lanes promoted to
//   f64x2, as dot64 does), plus three small GradDrop kernels.
// - Scalar f64 solvers on T×T matrices (T is the number of tasks, small): min-norm point of a convex hull,
//   symmetric eigen-decomposition, Gaussian elimination, a non-negative QP, Nash-MTL's bargaining system and
//   CAGrad's inner problem.
// All f64 matrices are row-major. No kernel allocates or keeps state: callers pass scratch (`work_ptr`, sizes in
// f64 elements below). Sizes and strides are in elements, addresses in bytes. Unless a comment says otherwise,
// outputs must not alias inputs or work.
import { dot64, hi2, off4 } from "../simd";

/** Byte offset of element i of an f64 array. */
// @ts-ignore: decorator
@inline function off8(i: i32): usize {
  return <usize>i << 3;
}

// @ts-ignore: decorator
@inline function ld8(p: usize, i: i32): f64 {
  return load<f64>(p + off8(i));
}

// @ts-ignore: decorator
@inline function st8(p: usize, i: i32, v: f64): void {
  store<f64>(p + off8(i), v);
}

/** Two f64x2 vectors (lanes 0-1 and 2-3) rounded to f32 and packed into one f32x4. */
// @ts-ignore: decorator
@inline function demote4(a0: v128, a1: v128): v128 {
  return v128.shuffle<i32>(f32x4.demote_f64x2_zero(a0), f32x4.demote_f64x2_zero(a1), 0, 1, 4, 5);
}

// ───────────────────────────── SIMD reductions over the gradient rows ─────────────────────────────

/**
 * Gram matrix of T gradient rows: gram[i·T + j] = Σ_k g[i,k]·g[j,k].
 * g: [T, n] f32, row i at g_ptr + 4·i·ld_g (ld_g ≥ n); gram: [T, T] f64, both triangles written.
 * Products and sums in f64 (each entry is exactly dot_f32x4 of the two rows); entries are computed for i ≤ j and
 * copied, so gram is symmetric bit for bit. gram must not overlap g. T == 0 writes nothing; n == 0 gives zeros.
 */
export function gram_f32x4(T: i32, n: i32, g_ptr: usize, ld_g: i32, gram_ptr: usize): void {
  const rs = <usize>ld_g << 2;
  for (let i = 0; i < T; i++) {
    const gi = g_ptr + <usize>i * rs;
    for (let j = i; j < T; j++) {
      const v = dot64(n, gi, g_ptr + <usize>j * rs);
      st8(gram_ptr, i * T + j, v);
      st8(gram_ptr, j * T + i, v);
    }
  }
}

/**
 * Weighted sum of gradient rows: out[k] = beta·out[k] + Σ_t w[t]·g[t,k].
 * g: [T, n] f32 with row stride ld_g (≥ n); w: [T] f64; out: [n] f32.
 * Computed in f64 (Σ over t in order, then beta·out added) and rounded to f32 once. beta == 0 never reads out
 * (it may hold NaN). out must not overlap g or w. T == 0 gives out = beta·out.
 */
export function wsum_f32x4(T: i32, n: i32, g_ptr: usize, ld_g: i32, w_ptr: usize, out_ptr: usize, beta: f32): void {
  const rs = <usize>ld_g << 2;
  const b64 = <f64>beta;
  const bv = f64x2.splat(b64);
  let k = 0;
  for (; k + 4 <= n; k += 4) {
    let a0 = f64x2.splat(0);
    let a1 = a0;
    let p = g_ptr + off4(k);
    for (let t = 0; t < T; t++) {
      const wv = f64x2.splat(ld8(w_ptr, t));
      const v = v128.load(p);
      a0 = f64x2.add(a0, f64x2.mul(wv, f64x2.promote_low_f32x4(v)));
      a1 = f64x2.add(a1, f64x2.mul(wv, f64x2.promote_low_f32x4(hi2(v))));
      p += rs;
    }
    const q = out_ptr + off4(k);
    if (beta != 0) {
      const o = v128.load(q);
      a0 = f64x2.add(f64x2.mul(bv, f64x2.promote_low_f32x4(o)), a0);
      a1 = f64x2.add(f64x2.mul(bv, f64x2.promote_low_f32x4(hi2(o))), a1);
    }
    v128.store(q, demote4(a0, a1));
  }
  for (; k < n; k++) {
    let s: f64 = 0;
    let p = g_ptr + off4(k);
    for (let t = 0; t < T; t++) {
      s += ld8(w_ptr, t) * <f64>load<f32>(p);
      p += rs;
    }
    const q = out_ptr + off4(k);
    if (beta != 0) s = b64 * <f64>load<f32>(q) + s;
    store<f32>(q, <f32>s);
  }
}

// ───────────────────────────── min-norm point (MGDA-UB) ─────────────────────────────

/**
 * The weight γ on v1 of the min-norm point of the segment [v1, v2] given its three inner products (Sener &
 * Koltun's _min_norm_element_from2, with the exact end points 1 and 0 where LibMTL uses 0.999 and 0.001).
 * In the last branch v1v2 < v1v1 and v1v2 < v2v2, so the denominator is positive.
 */
// @ts-ignore: decorator
@inline function seg_gamma(v1v1: f64, v1v2: f64, v2v2: f64): f64 {
  if (v1v2 >= v1v1) return 1;
  if (v1v2 >= v2v2) return 0;
  return (v2v2 - v1v2) / (v1v1 + v2v2 - 2 * v1v2);
}

/**
 * Min-norm point of the convex hull of T vectors given their Gram matrix: w = argmin_{w ∈ simplex} wᵀ·G·w,
 * by Frank–Wolfe as in Sener & Koltun 2018 (MGDA-UB):
 *   start from the best pair (i < j, smallest 2-task min-norm value, first pair on ties) with its closed form;
 *   then repeat: Gw = G·w, t* = argmin_i (Gw)_i (first on ties), exact line search between w and e_{t*} with
 *   v1v1 = wᵀGw, v1v2 = (Gw)_{t*}, v2v2 = G_{t*t*}: γ = 1 if v1v2 ≥ v1v1, γ = 0 if v1v2 ≥ v2v2, else
 *   γ = (v2v2 − v1v2)/(v1v1 + v2v2 − 2·v1v2); w ← γ·w + (1 − γ)·e_{t*};
 *   stop after the update whose Σ|Δw| < tol, or after max_iter updates.
 * LibMTL clamps γ to 0.999 / 0.001 in the two end branches; this kernel uses the exact values 1 and 0.
 * Plain Frank–Wolfe zigzags (O(1/k): ~1e-5 relative error after thousands of steps when the optimum lies inside a
 * face), so an iteration takes an away step instead when the away gap is the larger (Lacoste-Julien & Jaggi
 * 2015: linear convergence on the simplex): a = argmax over the support (0 < w_a < 1) of (Gw)_a; if
 * (Gw)_a − wᵀGw > wᵀGw − (Gw)_{t*}, w ← w + λ·(w − e_a) with the exact λ on the quadratic, clipped to
 * w_a/(1 − w_a) (where w_a becomes exactly 0).
 * gram: [T, T] f64 symmetric PSD (read only); work: [T] f64 scratch (holds G·w); w: [T] f64 output.
 * T == 1 gives w = [1]; T == 2 is the exact closed form (no iteration). Returns the iterations used (0 for T ≤ 2).
 */
export function minnorm_f64(T: i32, gram_ptr: usize, work_ptr: usize, w_ptr: usize, max_iter: i32, tol: f64): i32 {
  if (T <= 0) return 0;
  for (let i = 0; i < T; i++) st8(w_ptr, i, 0);
  if (T == 1) {
    st8(w_ptr, 0, 1);
    return 0;
  }
  let bi = 0, bj = 1;
  let bg = seg_gamma(ld8(gram_ptr, 0), ld8(gram_ptr, 1), ld8(gram_ptr, T + 1));
  let bc = f64.POSITIVE_INFINITY;
  for (let i = 0; i < T; i++) {
    const ii = ld8(gram_ptr, i * T + i);
    for (let j = i + 1; j < T; j++) {
      const ij = ld8(gram_ptr, i * T + j), jj = ld8(gram_ptr, j * T + j);
      const g = seg_gamma(ii, ij, jj);
      const cost = g * g * ii + 2 * g * (1 - g) * ij + (1 - g) * (1 - g) * jj;
      if (cost < bc) {
        bc = cost;
        bi = i;
        bj = j;
        bg = g;
      }
    }
  }
  st8(w_ptr, bi, bg);
  st8(w_ptr, bj, 1 - bg);
  if (T == 2) return 0;
  for (let it = 0; it < max_iter; it++) {
    let v1v1: f64 = 0;
    let ts = 0, ai = -1;
    let best = f64.POSITIVE_INFINITY, worst = f64.NEGATIVE_INFINITY;
    for (let i = 0; i < T; i++) {
      let s: f64 = 0;
      for (let j = 0; j < T; j++) s += ld8(gram_ptr, i * T + j) * ld8(w_ptr, j);
      st8(work_ptr, i, s);
      const wi = ld8(w_ptr, i);
      v1v1 += wi * s;
      if (s < best) {
        best = s;
        ts = i;
      }
      if (wi > 0 && wi < 1 && s > worst) {
        worst = s;
        ai = i;
      }
    }
    let change: f64 = 0;
    if (ai >= 0 && worst - v1v1 > v1v1 - best) {
      // Away step: w ← w + λ·(w − e_a), 0 ≤ λ ≤ w_a/(1 − w_a), exact on the quadratic.
      const wa = ld8(w_ptr, ai);
      const dgd = v1v1 - 2 * worst + ld8(gram_ptr, ai * T + ai);
      const lmax = wa / (1 - wa);
      let lam = dgd > 0 ? (worst - v1v1) / dgd : lmax;
      if (lam > lmax) lam = lmax;
      for (let i = 0; i < T; i++) {
        const wi = ld8(w_ptr, i);
        let nw = i == ai ? wi + lam * (wi - 1) : wi + lam * wi;
        if (i == ai && lam == lmax) nw = 0; // leaves the support exactly
        change += abs(nw - wi);
        st8(w_ptr, i, nw);
      }
    } else {
      const g = seg_gamma(v1v1, ld8(work_ptr, ts), ld8(gram_ptr, ts * T + ts));
      for (let i = 0; i < T; i++) {
        const wi = ld8(w_ptr, i);
        const nw = i == ts ? g * wi + (1 - g) : g * wi;
        change += abs(nw - wi);
        st8(w_ptr, i, nw);
      }
    }
    if (change < tol) return it + 1;
  }
  return max_iter;
}

// ───────────────────────────── symmetric eigen-decomposition ─────────────────────────────

/**
 * Symmetric eigen-decomposition by cyclic Jacobi rotations in f64: a = V·diag(vals)·Vᵀ.
 * a: [T, T] f64 symmetric, read only (copied into work); work: [T·T] f64; vals: [T] ascending (stable: equal
 * values keep their diagonal order); vecs: [T, T] with eigenvector j in column j (vecs[i·T + j]), orthonormal.
 * Sign convention: each eigenvector's largest-magnitude component is positive (the first one on ties).
 * Sweeps (each rotates every pair p < q with a nonzero a_pq, in row order) stop when the off-diagonal Frobenius
 * norm is ≤ 1e-15·‖a‖_F (both taken of a/max|a|), or after max_sweeps. Returns the sweeps used (0 for a diagonal or empty a).
 * vals and vecs must not overlap a or work.
 */
export function symeig_f64(T: i32, a_ptr: usize, work_ptr: usize, vals_ptr: usize, vecs_ptr: usize, max_sweeps: i32): i32 {
  if (T <= 0) return 0;
  const nn = T * T;
  let mx: f64 = 0;
  for (let i = 0; i < nn; i++) {
    const v = ld8(a_ptr, i);
    st8(work_ptr, i, v);
    mx = max(mx, abs(v));
  }
  // Norms are taken of A/mx, so squares neither underflow (1e-200) nor overflow.
  const sc: f64 = mx > 0 ? 1 / mx : 1;
  let norm2: f64 = 0;
  for (let i = 0; i < nn; i++) {
    const v = ld8(a_ptr, i) * sc;
    norm2 += v * v;
  }
  for (let i = 0; i < T; i++) for (let j = 0; j < T; j++) st8(vecs_ptr, i * T + j, i == j ? 1 : 0);
  const thresh = 1e-15 * sqrt(norm2);
  const A = work_ptr, V = vecs_ptr;
  let sweeps = 0;
  while (true) {
    let off: f64 = 0;
    for (let p = 0; p < T; p++) {
      for (let q = p + 1; q < T; q++) {
        const v = ld8(A, p * T + q) * sc;
        off += v * v;
      }
    }
    if (!(sqrt(2 * off) > thresh) || sweeps >= max_sweeps) break;
    sweeps++;
    for (let p = 0; p < T; p++) {
      for (let q = p + 1; q < T; q++) {
        const apq = ld8(A, p * T + q);
        if (apq == 0) continue;
        const app = ld8(A, p * T + p), aqq = ld8(A, q * T + q);
        // Golub & Van Loan's sym.schur2: J = [c s; −s c] in rows/columns p, q zeroes (JᵀAJ)_pq.
        const tau = (aqq - app) / (2 * apq);
        const t = abs(tau) > 1e150 ? 0.5 / tau : (tau >= 0 ? 1.0 : -1.0) / (abs(tau) + sqrt(1 + tau * tau));
        const c = 1 / sqrt(1 + t * t), s = t * c;
        for (let k = 0; k < T; k++) {
          // columns p, q (A·J), then rows p, q (Jᵀ·A); entries off rows/columns p, q stay symmetric exactly.
          const akp = ld8(A, k * T + p), akq = ld8(A, k * T + q);
          st8(A, k * T + p, c * akp - s * akq);
          st8(A, k * T + q, s * akp + c * akq);
        }
        for (let k = 0; k < T; k++) {
          const apk = ld8(A, p * T + k), aqk = ld8(A, q * T + k);
          st8(A, p * T + k, c * apk - s * aqk);
          st8(A, q * T + k, s * apk + c * aqk);
        }
        st8(A, p * T + p, app - t * apq);
        st8(A, q * T + q, aqq + t * apq);
        st8(A, p * T + q, 0);
        st8(A, q * T + p, 0);
        for (let k = 0; k < T; k++) {
          const vkp = ld8(V, k * T + p), vkq = ld8(V, k * T + q);
          st8(V, k * T + p, c * vkp - s * vkq);
          st8(V, k * T + q, s * vkp + c * vkq);
        }
      }
    }
  }
  for (let i = 0; i < T; i++) st8(vals_ptr, i, ld8(A, i * T + i));
  // Stable insertion sort, ascending, moving eigenvector columns with their values.
  for (let i = 1; i < T; i++) {
    for (let j = i; j > 0 && ld8(vals_ptr, j - 1) > ld8(vals_ptr, j); j--) {
      const tv = ld8(vals_ptr, j);
      st8(vals_ptr, j, ld8(vals_ptr, j - 1));
      st8(vals_ptr, j - 1, tv);
      for (let k = 0; k < T; k++) {
        const x = ld8(V, k * T + j);
        st8(V, k * T + j, ld8(V, k * T + j - 1));
        st8(V, k * T + j - 1, x);
      }
    }
  }
  for (let j = 0; j < T; j++) {
    let bi = 0;
    let bm: f64 = -1;
    for (let i = 0; i < T; i++) {
      const m = abs(ld8(V, i * T + j));
      if (m > bm) {
        bm = m;
        bi = i;
      }
    }
    if (ld8(V, bi * T + j) < 0) for (let i = 0; i < T; i++) st8(V, i * T + j, -ld8(V, i * T + j));
  }
  return sweeps;
}

// ───────────────────────────── linear systems ─────────────────────────────

/**
 * In-place Gaussian elimination with partial pivoting (largest |pivot|, first row on ties) on m: [n, n] and the
 * right-hand side r: [n], both destroyed; back substitution writes x: [n] (x must not overlap m or r).
 * Returns 1, or 0 as soon as a pivot is not > small in magnitude (x then undefined).
 */
// @ts-ignore: decorator
@inline function gauss_solve(n: i32, m: usize, r: usize, x: usize, small: f64): i32 {
  for (let col = 0; col < n; col++) {
    let piv = col;
    let pm = abs(ld8(m, col * n + col));
    for (let i = col + 1; i < n; i++) {
      const v = abs(ld8(m, i * n + col));
      if (v > pm) {
        pm = v;
        piv = i;
      }
    }
    if (!(pm > small)) return 0;
    if (piv != col) {
      for (let k = col; k < n; k++) {
        const tmp = ld8(m, col * n + k);
        st8(m, col * n + k, ld8(m, piv * n + k));
        st8(m, piv * n + k, tmp);
      }
      const tr = ld8(r, col);
      st8(r, col, ld8(r, piv));
      st8(r, piv, tr);
    }
    const d = ld8(m, col * n + col);
    for (let i = col + 1; i < n; i++) {
      const f = ld8(m, i * n + col) / d;
      if (f == 0) continue;
      for (let k = col + 1; k < n; k++) st8(m, i * n + k, ld8(m, i * n + k) - f * ld8(m, col * n + k));
      st8(r, i, ld8(r, i) - f * ld8(r, col));
    }
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = ld8(r, i);
    for (let k = i + 1; k < n; k++) s -= ld8(m, i * n + k) * ld8(x, k);
    st8(x, i, s / ld8(m, i * n + i));
  }
  return 1;
}

/**
 * Solves a·x = b by Gaussian elimination with partial pivoting on a copy.
 * a: [n, n] f64, b: [n] f64, both read only; work: [n·n + n] f64 (the copies); x: [n] f64 (may alias a or b:
 * both are copied before x is written; must not overlap work).
 * Returns 1, or 0 when a pivot is ≤ n·2⁻⁵²·max|a| in magnitude (singular to working precision; x then undefined).
 * n == 0 returns 1.
 */
export function solve_f64(n: i32, a_ptr: usize, b_ptr: usize, work_ptr: usize, x_ptr: usize): i32 {
  if (n <= 0) return 1;
  const nn = n * n;
  let mx: f64 = 0;
  for (let i = 0; i < nn; i++) {
    const v = ld8(a_ptr, i);
    st8(work_ptr, i, v);
    mx = max(mx, abs(v));
  }
  const r = work_ptr + off8(nn);
  for (let i = 0; i < n; i++) st8(r, i, ld8(b_ptr, i));
  return gauss_solve(n, work_ptr, r, x_ptr, <f64>n * 2.220446049250313e-16 * mx);
}

// ───────────────────────────── non-negative QP (UPGrad) ─────────────────────────────

/**
 * min ½·xᵀQx + cᵀx subject to x ≥ 0, by cyclic coordinate descent with exact coordinate minimisation:
 * x_k ← max(0, x_k − (Qx + c)_k / Q_kk), k = 0 … T−1 in order. A coordinate with Q_kk ≤ 0 is set to 0 (for a PSD
 * Q its row is then zero and the objective is linear in it: 0 is its minimiser when c_k ≥ 0; when c_k < 0 the
 * problem is unbounded and 0 is what this kernel returns).
 * Q: [T, T] f64 symmetric PSD, c: [T] f64, both read only; work: [T] f64 (Qx + c, recomputed at each sweep's
 * start and updated incrementally within it); x: [T] f64, the start on entry (clamped to ≥ 0, NaN → 0) and the
 * solution on exit. Stops after the first sweep whose largest |Δx_k| is ≤ tol·max(1, max_k x_k), or after
 * max_iter sweeps. Returns the sweeps used.
 */
export function nnqp_f64(T: i32, q_ptr: usize, c_ptr: usize, work_ptr: usize, x_ptr: usize, max_iter: i32, tol: f64): i32 {
  for (let k = 0; k < T; k++) {
    const v = ld8(x_ptr, k);
    st8(x_ptr, k, v > 0 ? v : 0);
  }
  const r = work_ptr;
  let sweeps = 0;
  while (sweeps < max_iter) {
    for (let i = 0; i < T; i++) {
      let s = ld8(c_ptr, i);
      for (let j = 0; j < T; j++) s += ld8(q_ptr, i * T + j) * ld8(x_ptr, j);
      st8(r, i, s);
    }
    sweeps++;
    let maxd: f64 = 0, maxx: f64 = 0;
    for (let k = 0; k < T; k++) {
      const qkk = ld8(q_ptr, k * T + k);
      const xk = ld8(x_ptr, k);
      let nk: f64 = 0;
      if (qkk > 0) {
        const v = xk - ld8(r, k) / qkk;
        nk = v > 0 ? v : 0;
      }
      const d = nk - xk;
      if (d != 0) {
        st8(x_ptr, k, nk);
        for (let i = 0; i < T; i++) st8(r, i, ld8(r, i) + d * ld8(q_ptr, k * T + i));
      }
      maxd = max(maxd, abs(d));
      maxx = max(maxx, nk);
    }
    if (maxd <= tol * max(1.0, maxx)) break;
  }
  return sweeps;
}

// ───────────────────────────── Nash-MTL ─────────────────────────────

/** f(α) = ½·αᵀKα − Σ log α_i (+∞ when some α_i ≤ 0). */
// @ts-ignore: decorator
@inline function nash_obj(T: i32, k_ptr: usize, a: usize): f64 {
  let q: f64 = 0, lg: f64 = 0;
  for (let i = 0; i < T; i++) {
    const ai = ld8(a, i);
    if (!(ai > 0)) return f64.POSITIVE_INFINITY;
    let s: f64 = 0;
    for (let j = 0; j < T; j++) s += ld8(k_ptr, i * T + j) * ld8(a, j);
    q += ai * s;
    lg += Math.log(ai);
  }
  return 0.5 * q - lg;
}

/**
 * Nash-MTL's bargaining solution (Navon et al. 2022): α > 0 with (K·α)_i = 1/α_i, i.e. the minimiser of the
 * strictly convex (and self-concordant) f(α) = ½·αᵀKα − Σ log α_i, ∇f = Kα − 1/α, ∇²f = K + diag(1/α²).
 * Damped Newton: the Newton system is solved by the same elimination as solve_f64 (pivot threshold
 * T·2⁻⁵²·max|∇²f|); the step starts at 1 and is halved (at most 60 times) until α stays > 0 and the Armijo
 * condition f(α + s·d) ≤ f(α) + 10⁻⁴·s·∇fᵀd holds. Where the squared Newton decrement −∇fᵀd is ≤ 0.1 (the
 * quadratic-convergence region of a self-concordant f, where the full step is feasible and decreasing in exact
 * arithmetic) the full step is taken without the Armijo test whenever it keeps α > 0, so rounding in f cannot stall
 * the last iterations.
 * K: [T, T] f64 symmetric PSD (Gram of the task gradients), read only; work: [T·T + 3T] f64; alpha: [T] f64, a
 * positive start on entry (an entry that is not a finite positive number is replaced by 1/√K_ii, or 1 when
 * K_ii ≤ 0) and the solution on exit.
 * Stops when max_i |α_i·(Kα)_i − 1| ≤ tol (checked before each step). Returns the Newton steps taken, or −1 when
 * not converged within max_iter steps, or when the Newton system is singular or the line search fails (alpha
 * then holds the last iterate, still > 0).
 */
export function nash_f64(T: i32, k_ptr: usize, work_ptr: usize, alpha_ptr: usize, max_iter: i32, tol: f64): i32 {
  if (T <= 0) return 0;
  const H = work_ptr;
  const r = H + off8(T * T); // right-hand side, then the trial point
  const d = r + off8(T);
  const ka = d + off8(T);
  const a = alpha_ptr;
  for (let i = 0; i < T; i++) {
    const v = ld8(a, i);
    if (!(v > 0 && v < f64.POSITIVE_INFINITY)) {
      const kii = ld8(k_ptr, i * T + i);
      st8(a, i, kii > 0 ? 1 / sqrt(kii) : 1);
    }
  }
  for (let it = 0; ; it++) {
    let res: f64 = 0, q: f64 = 0, lg: f64 = 0;
    for (let i = 0; i < T; i++) {
      let s: f64 = 0;
      for (let j = 0; j < T; j++) s += ld8(k_ptr, i * T + j) * ld8(a, j);
      st8(ka, i, s);
      const ai = ld8(a, i);
      const e = abs(ai * s - 1);
      if (!(e <= res)) res = e; // NaN propagates
      q += ai * s;
      lg += Math.log(ai);
    }
    if (res <= tol) return it;
    if (it >= max_iter) return -1;
    const f0 = 0.5 * q - lg;
    let hm: f64 = 0;
    for (let i = 0; i < T; i++) {
      const ai = ld8(a, i);
      for (let j = 0; j < T; j++) {
        let h = ld8(k_ptr, i * T + j);
        if (i == j) h += 1 / (ai * ai);
        st8(H, i * T + j, h);
        hm = max(hm, abs(h));
      }
      st8(r, i, 1 / ai - ld8(ka, i));
    }
    if (!gauss_solve(T, H, r, d, <f64>T * 2.220446049250313e-16 * hm)) return -1;
    let slope: f64 = 0;
    for (let i = 0; i < T; i++) slope += ld8(d, i) * (ld8(ka, i) - 1 / ld8(a, i));
    let s: f64 = 1;
    let ok = false;
    for (let h = 0; h <= 60; h++) {
      let pos = true;
      for (let i = 0; i < T; i++) {
        const v = ld8(a, i) + s * ld8(d, i);
        st8(r, i, v);
        if (!(v > 0)) pos = false;
      }
      if (pos && ((s == 1 && -slope <= 0.1) || nash_obj(T, k_ptr, r) <= f0 + 1e-4 * s * slope)) {
        ok = true;
        break;
      }
      s *= 0.5;
    }
    if (!ok) return -1;
    for (let i = 0; i < T; i++) st8(a, i, ld8(r, i));
  }
  return -1; // not reached: the loop returns
}

// ───────────────────────────── CAGrad ─────────────────────────────

/** F(w) = wᵀ·(A·b) + c·sqrt(wᵀAw + 1e-8); writes A·w to aw. */
// @ts-ignore: decorator
@inline function cagrad_obj(T: i32, a_ptr: usize, ab: usize, w: usize, aw: usize, c: f64): f64 {
  let lin: f64 = 0, quad: f64 = 0;
  for (let i = 0; i < T; i++) {
    let s: f64 = 0;
    for (let j = 0; j < T; j++) s += ld8(a_ptr, i * T + j) * ld8(w, j);
    st8(aw, i, s);
    lin += ld8(w, i) * ld8(ab, i);
    quad += ld8(w, i) * s;
  }
  return lin + c * sqrt(max(quad, 0.0) + 1e-8);
}

/** ∇F(w) = A·b + c·A·w / sqrt(wᵀAw + 1e-8), from aw = A·w. */
// @ts-ignore: decorator
@inline function cagrad_grad(T: i32, ab: usize, w: usize, aw: usize, c: f64, g: usize): void {
  let quad: f64 = 0;
  for (let i = 0; i < T; i++) quad += ld8(w, i) * ld8(aw, i);
  const k = c / sqrt(max(quad, 0.0) + 1e-8);
  for (let i = 0; i < T; i++) st8(g, i, ld8(ab, i) + k * ld8(aw, i));
}

/** Euclidean projection of y: [T] onto the simplex {x ≥ 0, Σx = 1} into x (sort-based; srt: [T] scratch). */
// @ts-ignore: decorator
@inline function proj_simplex(T: i32, y: usize, srt: usize, x: usize): void {
  for (let i = 0; i < T; i++) {
    const v = ld8(y, i);
    let j = i;
    for (; j > 0 && ld8(srt, j - 1) < v; j--) st8(srt, j, ld8(srt, j - 1));
    st8(srt, j, v);
  }
  let cum: f64 = 0, theta: f64 = 0;
  for (let i = 0; i < T; i++) {
    cum += ld8(srt, i);
    const t = (cum - 1) / <f64>(i + 1);
    if (ld8(srt, i) - t > 0) theta = t;
  }
  for (let i = 0; i < T; i++) st8(x, i, max(ld8(y, i) - theta, 0.0));
}

/**
 * CAGrad's inner problem (Liu et al. 2021; LibMTL CAGrad.py): w = argmin_{w ∈ simplex} F(w),
 * F(w) = wᵀ·A·b + c·sqrt(wᵀAw + 1e-8), A = gram, b = (1/T)·1. The caller passes c (LibMTL:
 * c = calpha·sqrt(mean(A) + 1e-8) + 1e-8). F is convex.
 * Method: spectral projected gradient (Birgin, Martínez & Raydan) with a monotone Armijo search: from w = b,
 * d = P(w − η·∇F(w)) − w (P: sort-based Euclidean projection onto the simplex; η: the Barzilai–Borwein step
 * sᵀs/sᵀy of the last move, 1/‖∇F‖_∞ at first), then w ← w + λ·d with λ = 1, ½, … (at most 50 halvings) until
 * F(w + λd) ≤ F(w) + 10⁻⁴·λ·∇Fᵀd. Stops when a move has max|Δw| ≤ tol, when d = 0, when the search finds no
 * decrease (F is then flat to rounding), or after max_iter moves.
 * gram: [T, T] f64 symmetric PSD, read only; work: [8T] f64; w: [T] f64 output (ignored on entry).
 * T == 1 gives w = [1]. Returns the iterations used (0 for T ≤ 1).
 */
export function cagrad_f64(T: i32, gram_ptr: usize, work_ptr: usize, w_ptr: usize, c: f64, max_iter: i32, tol: f64): i32 {
  if (T <= 0) return 0;
  const invT = 1.0 / <f64>T;
  for (let i = 0; i < T; i++) st8(w_ptr, i, invT);
  if (T == 1) {
    st8(w_ptr, 0, 1);
    return 0;
  }
  const ab = work_ptr; // A·b
  const aw = ab + off8(T); // A·w
  const g = aw + off8(T); // ∇F(w)
  const y = g + off8(T); // w − η∇F, then the trial point
  const p = y + off8(T); // the projected point
  const awt = p + off8(T); // A·(trial)
  const gt = awt + off8(T); // ∇F(trial)
  const srt = gt + off8(T); // projection scratch
  for (let i = 0; i < T; i++) {
    let s: f64 = 0;
    for (let j = 0; j < T; j++) s += ld8(gram_ptr, i * T + j);
    st8(ab, i, s * invT);
  }
  const w = w_ptr;
  let F = cagrad_obj(T, gram_ptr, ab, w, aw, c);
  cagrad_grad(T, ab, w, aw, c, g);
  let gmax: f64 = 0;
  for (let i = 0; i < T; i++) gmax = max(gmax, abs(ld8(g, i)));
  let eta: f64 = gmax > 0 ? 1 / gmax : 1;
  for (let it = 1; it <= max_iter; it++) {
    for (let i = 0; i < T; i++) st8(y, i, ld8(w, i) - eta * ld8(g, i));
    proj_simplex(T, y, srt, p);
    let slope: f64 = 0, dmax: f64 = 0;
    for (let i = 0; i < T; i++) {
      const di = ld8(p, i) - ld8(w, i);
      st8(p, i, di); // p now holds d
      slope += ld8(g, i) * di;
      dmax = max(dmax, abs(di));
    }
    if (dmax == 0) return it;
    let lam: f64 = 1;
    let Ft: f64 = 0;
    let ok = false;
    for (let h = 0; h <= 50; h++) {
      for (let i = 0; i < T; i++) st8(y, i, ld8(w, i) + lam * ld8(p, i));
      Ft = cagrad_obj(T, gram_ptr, ab, y, awt, c);
      if (Ft <= F + 1e-4 * lam * slope) {
        ok = true;
        break;
      }
      lam *= 0.5;
    }
    if (!ok) return it;
    cagrad_grad(T, ab, y, awt, c, gt);
    let sts: f64 = 0, sty: f64 = 0, smax: f64 = 0;
    for (let i = 0; i < T; i++) {
      const si = ld8(y, i) - ld8(w, i), yi = ld8(gt, i) - ld8(g, i);
      sts += si * si;
      sty += si * yi;
      smax = max(smax, abs(si));
      st8(w, i, ld8(y, i));
      st8(aw, i, ld8(awt, i));
      st8(g, i, ld8(gt, i));
    }
    F = Ft;
    if (smax <= tol) return it;
    eta = sty > 0 ? min(max(sts / sty, 1e-30), 1e30) : min(eta * 10, 1e30);
  }
  return max_iter;
}

// ───────────────────────────── GradDrop (rep_grad mode) ─────────────────────────────

/**
 * out[k] = Σ_b dy[b,k]·sign(x[b,k]) with sign(0) = 0 (and sign(NaN) = 0; the product dy·sign is taken in f32,
 * so ±∞·0 gives NaN as in torch). x, dy: [B, d] f32; out: [d] f32, the sum over b in f64 rounded once.
 * out must not overlap x or dy. B == 0 gives zeros.
 */
export function signed_colsum_f32x4(B: i32, d: i32, x_ptr: usize, dy_ptr: usize, out_ptr: usize): void {
  const rs = <usize>d << 2;
  const one = f32x4.splat(1), zero = f32x4.splat(0);
  let k = 0;
  for (; k + 4 <= d; k += 4) {
    let a0 = f64x2.splat(0);
    let a1 = a0;
    let o = off4(k);
    for (let b = 0; b < B; b++) {
      const xv = v128.load(x_ptr + o), dv = v128.load(dy_ptr + o);
      const sg = f32x4.sub(v128.and(f32x4.gt(xv, zero), one), v128.and(f32x4.lt(xv, zero), one));
      const pv = f32x4.mul(dv, sg);
      a0 = f64x2.add(a0, f64x2.promote_low_f32x4(pv));
      a1 = f64x2.add(a1, f64x2.promote_low_f32x4(hi2(pv)));
      o += rs;
    }
    v128.store(out_ptr + off4(k), demote4(a0, a1));
  }
  for (; k < d; k++) {
    let s: f64 = 0;
    let o = off4(k);
    for (let b = 0; b < B; b++) {
      const xv = load<f32>(x_ptr + o);
      const sg: f32 = <f32>(xv > 0 ? 1 : 0) - <f32>(xv < 0 ? 1 : 0);
      s += <f64>(load<f32>(dy_ptr + o) * sg);
      o += rs;
    }
    store<f32>(out_ptr + off4(k), <f32>s);
  }
}

/**
 * GradDrop's mask (Chen et al. 2020; LibMTL GradDrop.py). g: [T, d] f32, the signed column sums per task;
 * u: [d] f32 uniforms in [0, 1); m: [T, d] f32 output.
 * P_k = 0.5·(1 + Σ_t g[t,k] / (Σ_t |g[t,k]| + 1e-7)) with the sums and P in f64;
 * M[t,k] = 1 if (P_k > u_k and g[t,k] > 0) or (P_k < u_k and g[t,k] < 0), else 0;
 * m[t,k] = leak + (1 − leak)·M[t,k], i.e. exactly 1 where M = 1 and leak where M = 0.
 * m must not overlap g or u.
 */
export function graddrop_mask_f32x4(T: i32, d: i32, g_ptr: usize, u_ptr: usize, m_ptr: usize, leak: f32): void {
  const rs = <usize>d << 2;
  const one = f32x4.splat(1), zero = f32x4.splat(0), lv = f32x4.splat(leak);
  const half = f64x2.splat(0.5), one64 = f64x2.splat(1), eps = f64x2.splat(1e-7);
  let k = 0;
  for (; k + 4 <= d; k += 4) {
    let s0 = f64x2.splat(0), s1 = s0, a0 = s0, a1 = s0;
    let o = off4(k);
    for (let t = 0; t < T; t++) {
      const gv = v128.load(g_ptr + o);
      const av = f32x4.abs(gv);
      s0 = f64x2.add(s0, f64x2.promote_low_f32x4(gv));
      s1 = f64x2.add(s1, f64x2.promote_low_f32x4(hi2(gv)));
      a0 = f64x2.add(a0, f64x2.promote_low_f32x4(av));
      a1 = f64x2.add(a1, f64x2.promote_low_f32x4(hi2(av)));
      o += rs;
    }
    const p0 = f64x2.mul(half, f64x2.add(one64, f64x2.div(s0, f64x2.add(a0, eps))));
    const p1 = f64x2.mul(half, f64x2.add(one64, f64x2.div(s1, f64x2.add(a1, eps))));
    const uv = v128.load(u_ptr + off4(k));
    const u0 = f64x2.promote_low_f32x4(uv), u1 = f64x2.promote_low_f32x4(hi2(uv));
    // 64-bit lane masks narrowed to 32-bit lanes (each half of a 64-bit mask lane is the same).
    const gt = v128.shuffle<i32>(f64x2.gt(p0, u0), f64x2.gt(p1, u1), 0, 2, 4, 6);
    const lt = v128.shuffle<i32>(f64x2.lt(p0, u0), f64x2.lt(p1, u1), 0, 2, 4, 6);
    o = off4(k);
    for (let t = 0; t < T; t++) {
      const gv = v128.load(g_ptr + o);
      const M = v128.or(v128.and(gt, f32x4.gt(gv, zero)), v128.and(lt, f32x4.lt(gv, zero)));
      v128.store(m_ptr + o, v128.bitselect(one, lv, M));
      o += rs;
    }
  }
  for (; k < d; k++) {
    let s: f64 = 0, a: f64 = 0;
    let o = off4(k);
    for (let t = 0; t < T; t++) {
      const gv = <f64>load<f32>(g_ptr + o);
      s += gv;
      a += abs(gv);
      o += rs;
    }
    const P = 0.5 * (1 + s / (a + 1e-7));
    const u = <f64>load<f32>(u_ptr + off4(k));
    o = off4(k);
    for (let t = 0; t < T; t++) {
      const gv = load<f32>(g_ptr + o);
      const M = (P > u && gv > 0) || (P < u && gv < 0);
      store<f32>(m_ptr + o, M ? 1 : leak);
      o += rs;
    }
  }
}

/** x[b,k] *= s[k] in place, x: [B, d] f32, s: [d] f32 (s must not overlap x). */
export function scale_cols_f32x4(B: i32, d: i32, s_ptr: usize, x_ptr: usize): void {
  const rs = <usize>d << 2;
  for (let b = 0; b < B; b++) {
    const row = x_ptr + <usize>b * rs;
    let k = 0;
    for (; k + 4 <= d; k += 4) v128.store(row + off4(k), f32x4.mul(v128.load(row + off4(k)), v128.load(s_ptr + off4(k))));
    for (; k < d; k++) store<f32>(row + off4(k), load<f32>(row + off4(k)) * load<f32>(s_ptr + off4(k)));
  }
}
