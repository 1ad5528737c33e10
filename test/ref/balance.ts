// Float64 references of the gradient-level balancing methods (issue 12), written from the papers with plain JS
// arrays, and with other algorithms than the wasm kernels: the simplex QPs by active-set enumeration or by grid
// search plus pairwise refinement, Nash-MTL's fixed point by cyclic coordinate minimisation, eigenpairs by power
// iteration with deflation, the UPGrad projection by active-set enumeration. Rows are number[][] ([T][n]).
export type Mat = number[][];
export type Vec = number[];

export const dot = (a: Vec, b: Vec) => a.reduce((s, x, i) => s + x * b[i], 0);
export const norm = (a: Vec) => Math.sqrt(dot(a, a));
export const gram = (g: Mat): Mat => g.map((a) => g.map((b) => dot(a, b)));
export const combine = (g: Mat, alpha: Vec): Vec => g[0].map((_, k) => g.reduce((s, r, t) => s + alpha[t] * r[k], 0));
export const matVec = (A: Mat, x: Vec): Vec => A.map((r) => dot(r, x));
const quad = (A: Mat, x: Vec) => dot(x, matVec(A, x));

/** Solve A x = b by Gauss–Jordan with full pivoting; null when singular (|pivot| ≤ 1e-13·max|A|). */
export function solve(A: Mat, b: Vec): Vec | null {
  const n = b.length;
  const M = A.map((r, i) => [...r, b[i]]);
  const scale = Math.max(1e-300, ...A.flat().map(Math.abs));
  const col = [...Array(n).keys()];
  for (let c = 0; c < n; c++) {
    let pi = c, pj = c, pm = -1;
    for (let i = c; i < n; i++) for (let j = c; j < n; j++) if (Math.abs(M[i][j]) > pm) (pm = Math.abs(M[i][j])), (pi = i), (pj = j);
    if (pm <= 1e-13 * scale) return null;
    [M[c], M[pi]] = [M[pi], M[c]];
    for (const r of M) [r[c], r[pj]] = [r[pj], r[c]];
    [col[c], col[pj]] = [col[pj], col[c]];
    for (let i = 0; i < n; i++) {
      if (i === c) continue;
      const f = M[i][c] / M[c][c];
      for (let j = c; j <= n; j++) M[i][j] -= f * M[c][j];
    }
  }
  const x = Array(n).fill(0);
  for (let c = 0; c < n; c++) x[col[c]] = M[c][n] / M[c][c];
  return x;
}

const subsets = (m: number) => Array.from({ length: (1 << m) - 1 }, (_, s) => [...Array(m).keys()].filter((i) => ((s + 1) >> i) & 1));

/** argmin_{w ∈ simplex} wᵀAw by enumerating supports S: on S the KKT system [A_SS 1; 1ᵀ 0][w; −λ] = [0; 1]. */
export function minNormSimplex(A: Mat): Vec {
  const m = A.length;
  let best: Vec | null = null, bv = Infinity;
  for (const S of subsets(m)) {
    const K = S.map((i) => [...S.map((j) => A[i][j]), 1]);
    K.push([...S.map(() => 1), 0]);
    const sol = solve(K, [...S.map(() => 0), 1]);
    if (!sol || sol.slice(0, S.length).some((x) => x < -1e-12)) continue;
    const w = Array(m).fill(0);
    S.forEach((i, k) => (w[i] = Math.max(0, sol[k])));
    const v = quad(A, w);
    if (v < bv) (bv = v), (best = w);
  }
  return best!;
}

/** MGDA-UB with normalizers n_t: w = min-norm point of {g_t/n_t}, combined Σ w_t g_t/n_t. Returns alpha = w/n. */
export function mgda(g: Mat, losses: Vec, normalization: string): Vec {
  const n = g.map((r, t) => {
    const l2 = norm(r), L = losses[t];
    const v = normalization === "l2" ? l2 : normalization === "loss" ? L : normalization === "loss+" ? L * l2 : 1;
    return v > 0 ? v : 1;
  });
  const w = minNormSimplex(gram(g.map((r, t) => r.map((x) => x / n[t]))));
  return w.map((x, t) => x / n[t]);
}

/** PCGrad's projected rows for given orders (orders[i]: the other tasks in the order i visits them). */
export function pcgrad(g: Mat, orders: number[][]): Mat {
  return g.map((gi, i) => {
    const p = [...gi];
    for (const j of orders[i]) {
      const d = dot(p, g[j]);
      if (d < 0) {
        const c = d / dot(g[j], g[j]);
        for (let k = 0; k < p.length; k++) p[k] -= c * g[j][k];
      }
    }
    return p;
  });
}

/** All orderings of `a`. */
export function permutations(a: number[]): number[][] {
  if (a.length <= 1) return [a.slice()];
  return a.flatMap((x, i) => permutations([...a.slice(0, i), ...a.slice(i + 1)]).map((p) => [x, ...p]));
}

/** Golden-section minimum of a convex f on [lo, hi]. */
export function golden(f: (x: number) => number, lo = 0, hi = 1, iters = 200): number {
  const r = (Math.sqrt(5) - 1) / 2;
  let a = lo, b = hi;
  for (let i = 0; i < iters; i++) {
    const c = b - r * (b - a), d = a + r * (b - a);
    if (f(c) <= f(d)) b = d;
    else a = c;
  }
  return (a + b) / 2;
}

/**
 * Minimum of a convex f over the simplex in m dimensions: the best point of a grid with step 1/N, then pairwise
 * mass transfers of size h (h halved from 1/N to 1e-14 whenever no transfer improves).
 */
export function simplexMin(f: (w: Vec) => number, m: number, N: number): Vec {
  if (m === 1) return [1];
  if (m === 2) {
    const x = golden((t) => f([t, 1 - t]));
    return [x, 1 - x];
  }
  let best: Vec = [], bv = Infinity;
  const rec = (k: number, left: number, acc: number[]): void => {
    if (k === m - 1) {
      const w = [...acc, left / N], v = f(w);
      if (v < bv) (bv = v), (best = w);
      return;
    }
    for (let i = 0; i <= left; i++) rec(k + 1, left - i, [...acc, i / N]);
  };
  rec(0, N, []);
  const w = best.slice();
  for (let h = 1 / N; h > 1e-14; h /= 2) {
    for (let improved = true; improved; ) {
      improved = false;
      for (let i = 0; i < m; i++)
        for (let j = 0; j < m; j++) {
          if (i === j || w[j] <= 0) continue;
          const d = Math.min(h, w[j]);
          w[i] += d;
          w[j] -= d;
          const v = f(w);
          if (v < bv) (bv = v), (improved = true);
          else (w[i] -= d), (w[j] += d);
        }
    }
  }
  return w;
}

/** CAGrad (LibMTL's form): w = argmin F on the simplex (grid + refinement), alpha_t = (1/m + λ w_t)/r. */
export function cagrad(g: Mat, c: number, rescale: number): { alpha: Vec; w: Vec; F: (w: Vec) => number } {
  const m = g.length, A = gram(g);
  const mean = A.flat().reduce((s, x) => s + x, 0) / (m * m);
  const phi = c * Math.sqrt(mean + 1e-8) + 1e-8;
  const b = Array(m).fill(1 / m);
  const F = (w: Vec) => dot(w, matVec(A, b)) + phi * Math.sqrt(quad(A, w) + 1e-8);
  const w = simplexMin(F, m, m <= 3 ? 200 : 20);
  const gw = combine(g, w);
  const lambda = phi / (norm(gw) + 1e-8);
  const r = rescale === 0 ? 1 : rescale === 1 ? 1 + c * c : 1 + c;
  return { alpha: w.map((x) => (1 / m + lambda * x) / r), w, F };
}

/** IMTL-G from the vectors: D_i = g_1 − g_i, U_i = u_1 − u_i, alpha_{2..} = g_1 Uᵀ (D Uᵀ)⁻¹, alpha_1 = 1 − Σ. */
export function imtl(g: Mat): Vec {
  const m = g.length;
  if (m === 1) return [1];
  const u = g.map((r) => r.map((x) => x / norm(r)));
  const D = g.slice(1).map((r) => g[0].map((x, k) => x - r[k]));
  const U = u.slice(1).map((r) => u[0].map((x, k) => x - r[k]));
  const DU = D.map((d) => U.map((uu) => dot(d, uu)));
  const b = U.map((uu) => dot(g[0], uu));
  // row vector a = b·DU⁻¹  ⇔  DUᵀ·aᵀ = bᵀ
  const a = solve(DU[0].map((_, j) => DU.map((r) => r[j])), b)!;
  return [1 - a.reduce((s, x) => s + x, 0), ...a];
}

/**
 * Eigenpairs of a symmetric PSD matrix (descending) by power iteration restricted to the orthogonal complement of
 * the pairs already found (projected twice per step); a complement that M maps to ~0 keeps its current vector.
 */
export function eigPSD(M: Mat): { vals: Vec; vecs: Vec[] } {
  const m = M.length;
  const scale = Math.max(1e-300, ...M.flat().map(Math.abs));
  const vals: Vec = [], vecs: Vec[] = [];
  const orth = (x: Vec) => {
    for (let pass = 0; pass < 2; pass++)
      for (const q of vecs) {
        const d = dot(x, q);
        x = x.map((y, i) => y - d * q[i]);
      }
    const n = norm(x);
    return x.map((y) => y / n);
  };
  for (let k = 0; k < m; k++) {
    let v = orth(Array.from({ length: m }, (_, i) => 1 + 0.37 * i * (k + 1) + (i === k ? 3 : 0)));
    for (let it = 0; it < 20000; it++) {
      const w = matVec(M, v);
      if (norm(w) <= 1e-13 * scale) break;
      v = orth(w);
    }
    vals.push(quad(M, v));
    vecs.push(v);
  }
  return { vals, vecs };
}

/** Aligned-MTL: B = √λ_min·V Λ^{-1/2} Vᵀ over the eigenpairs with λ > λ_max·m·eps32; alpha = B·1. */
export function alignedMtl(g: Mat): { alpha: Vec; B: Mat; rank: number; lmin: number } {
  const M = gram(g), m = g.length;
  const { vals, vecs } = eigPSD(M);
  const tol = vals[0] * m * 1.1920928955078125e-7;
  const keep = vals.map((_, k) => k).filter((k) => vals[k] > tol);
  const lmin = vals[keep[keep.length - 1]];
  const B = M.map((_, i) => M.map((_, j) => Math.sqrt(lmin) * keep.reduce((s, k) => s + (vecs[k][i] * vecs[k][j]) / Math.sqrt(vals[k]), 0)));
  return { alpha: B.map((r) => r.reduce((s, x) => s + x, 0)), B, rank: keep.length, lmin };
}

/** Nash-MTL: α > 0 with Kα = 1/α (K = Gram/‖Gram‖_F) by cyclic exact coordinate minimisation of ½αᵀKα − Σ log α. */
export function nash(g: Mat): Vec {
  const A = gram(g), m = g.length;
  const fro = Math.sqrt(A.flat().reduce((s, x) => s + x * x, 0));
  const K = A.map((r) => r.map((x) => x / fro));
  const a = Array(m).fill(1);
  for (let sweep = 0; sweep < 1_000_000; sweep++) {
    let change = 0;
    for (let i = 0; i < m; i++) {
      const b = K[i].reduce((s, x, j) => s + (j === i ? 0 : x * a[j]), 0);
      const v = (-b + Math.sqrt(b * b + 4 * K[i][i])) / (2 * K[i][i]);
      change = Math.max(change, Math.abs(v - a[i]));
      a[i] = v;
    }
    if (change < 1e-15) break;
  }
  return a;
}

/** UPGrad (LibMTL): G = A/tr(A) + reg·I, v_i = argmin_{v ≥ e_i/m} vᵀGv (active-set enumeration), alpha = Σ_i v_i. */
export function upgrad(g: Mat, normEps = 1e-4, regEps = 1e-4): Vec {
  const A = gram(g), m = g.length;
  const tr = A.reduce((s, r, i) => s + r[i], 0);
  const G = A.map((r, i) => r.map((x, j) => (tr < normEps ? 0 : x / tr) + (i === j ? regEps : 0)));
  const alpha = Array(m).fill(0);
  for (let i = 0; i < m; i++) {
    const u = Array.from({ length: m }, (_, j) => (j === i ? 1 / m : 0));
    let best = u, bv = quad(G, u);
    for (const S of subsets(m)) {
      const out = [...Array(m).keys()].filter((j) => !S.includes(j));
      const rhs = S.map((p) => -out.reduce((s, q) => s + G[p][q] * u[q], 0));
      const vs = solve(S.map((p) => S.map((q) => G[p][q])), rhs);
      if (!vs || vs.some((x, k) => x < u[S[k]] - 1e-12)) continue;
      const v = u.slice();
      S.forEach((p, k) => (v[p] = vs[k]));
      const val = quad(G, v);
      if (val < bv) (bv = val), (best = v);
    }
    best.forEach((x, j) => (alpha[j] += x));
  }
  return alpha;
}

/** GradVac, one step: rows and the EMA targets ρ̂ after it (orders[i]: the tasks i visits, in order). */
export function gradvac(g: Mat, orders: number[][], rho: Mat, beta: number): { rows: Mat; rho: Mat } {
  const R = rho.map((r) => r.slice());
  const rows = g.map((gi, i) => {
    const p = [...gi];
    for (const j of orders[i]) {
      const r = dot(p, g[j]) / (norm(p) * norm(g[j]) + 1e-8), t = R[i][j];
      if (r < t) {
        const w = (norm(p) * (t * Math.sqrt(1 - r * r) - r * Math.sqrt(1 - t * t))) / (norm(g[j]) * Math.sqrt(1 - t * t) + 1e-8);
        for (let k = 0; k < p.length; k++) p[k] += w * g[j][k];
      }
      R[i][j] = (1 - beta) * t + beta * r;
    }
    return p;
  });
  return { rows, rho: R };
}

/** DB-MTL, one step: buffers b_t ← ĝ_t + β_k(b_t − ĝ_t), ĝ_t = g_t/(L_t + 1e-8); alpha_t = max‖b‖/(‖b_t‖ + 1e-8). */
export function dbMtl(g: Mat, losses: Vec, buffers: Mat, step: number, beta: number, sigma: number): { buffers: Mat; alpha: Vec } {
  const bk = beta / Math.pow(step, sigma);
  const b = g.map((r, t) => r.map((x, k) => x / (losses[t] + 1e-8) + bk * (buffers[t][k] - x / (losses[t] + 1e-8))));
  const u = b.map(norm), mx = Math.max(...u);
  return { buffers: b, alpha: u.map((x) => mx / (x + 1e-8)) };
}

/** GradDrop: the signed column sums G_t (z, dz: [B][d] per task, weights w), purity P and the mask for uniforms U. */
export function graddrop(z: Mat[], dz: Mat[], w: Vec, U: Vec, leak: number): { G: Mat; P: Vec; mask: Mat } {
  const d = U.length;
  const G = z.map((zt, t) => Array.from({ length: d }, (_, k) => w[t] * zt.reduce((s, row, b) => s + Math.sign(row[k]) * dz[t][b][k], 0)));
  const P = U.map((_, k) => 0.5 * (1 + G.reduce((s, r) => s + r[k], 0) / (G.reduce((s, r) => s + Math.abs(r[k]), 0) + 1e-7)));
  const mask = G.map((r) => r.map((x, k) => ((P[k] > U[k] && x > 0) || (P[k] < U[k] && x < 0) ? 1 : leak)));
  return { G, P, mask };
}
