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
