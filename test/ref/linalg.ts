// Plain float64 references for the task-balancing linear algebra (assembly/kernels/linalg.ts), written from the
// definitions, not from the kernels: straightforward loops, Gauss–Jordan instead of elimination + back
// substitution, exhaustive active-set enumeration instead of iterative solvers.

/** G[i][j] = Σ_k g[i·ld + k]·g[j·ld + k] (row-major T×T, float64). */
export function gramRef(T: number, n: number, g: ArrayLike<number>, ld: number): Float64Array {
  const G = new Float64Array(T * T);
  for (let i = 0; i < T; i++) {
    for (let j = 0; j < T; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += g[i * ld + k] * g[j * ld + k];
      G[i * T + j] = s;
    }
  }
  return G;
}

/** Σ_t w[t]·g[t·ld + k] (+ beta·out[k] when beta ≠ 0), in float64, not rounded. */
export function wsumRef(T: number, n: number, g: ArrayLike<number>, ld: number, w: ArrayLike<number>, out: ArrayLike<number>, beta: number): Float64Array {
  const r = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    let s = 0;
    for (let t = 0; t < T; t++) s += w[t] * g[t * ld + k];
    r[k] = beta !== 0 ? beta * out[k] + s : s;
  }
  return r;
}

/** y = A·x for A: [m, n] row-major. */
export function matvec(m: number, n: number, A: ArrayLike<number>, x: ArrayLike<number>): Float64Array {
  const y = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += A[i * n + j] * x[j];
    y[i] = s;
  }
  return y;
}

/** xᵀ·A·x. */
export function quad(n: number, A: ArrayLike<number>, x: ArrayLike<number>): number {
  const y = matvec(n, n, A, x);
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i] * y[i];
  return s;
}

/** Solve A·x = b by Gauss–Jordan elimination with partial pivoting on an augmented copy; null if singular. */
export function gaussJordan(n: number, A: ArrayLike<number>, b: ArrayLike<number>): Float64Array | null {
  const M: number[][] = [];
  for (let i = 0; i < n; i++) M.push([...Array.from({ length: n }, (_, j) => A[i * n + j]), b[i]]);
  let scale = 0;
  for (let i = 0; i < n * n; i++) scale = Math.max(scale, Math.abs(A[i]));
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[p][c])) p = r;
    if (!(Math.abs(M[p][c]) > 1e-13 * scale * n)) return null;
    [M[c], M[p]] = [M[p], M[c]];
    const piv = M[c][c];
    for (let j = c; j <= n; j++) M[c][j] /= piv;
    for (let r = 0; r < n; r++) {
      if (r === c || M[r][c] === 0) continue;
      const f = M[r][c];
      for (let j = c; j <= n; j++) M[r][j] -= f * M[c][j];
    }
  }
  return Float64Array.from(M, (row) => row[n]);
}

/**
 * min ½xᵀQx + cᵀx over x ≥ 0 by enumerating every free set S: x_S solves Q_SS·x_S = −c_S, x elsewhere 0; a
 * candidate counts when x_S ≥ 0 and the gradient Qx + c ≥ −tol off S. Returns the candidate with the least
 * objective (the exact minimiser for small T), or null if none qualifies.
 */
export function nnqpBrute(T: number, Q: ArrayLike<number>, c: ArrayLike<number>, tol = 1e-9): Float64Array | null {
  let best: Float64Array | null = null;
  let bestF = Infinity;
  for (let mask = 0; mask < 1 << T; mask++) {
    const S = [...Array(T).keys()].filter((i) => mask & (1 << i));
    const x = new Float64Array(T);
    if (S.length) {
      const sub = new Float64Array(S.length * S.length);
      S.forEach((i, a) => S.forEach((j, b) => (sub[a * S.length + b] = Q[i * T + j])));
      const xs = gaussJordan(S.length, sub, S.map((i) => -c[i]));
      if (!xs || xs.some((v) => v < -1e-12)) continue;
      S.forEach((i, a) => (x[i] = Math.max(0, xs[a])));
    }
    const g = matvec(T, T, Q, x).map((v, i) => v + c[i]);
    if (g.some((v, i) => !(mask & (1 << i)) && v < -tol)) continue;
    const f = 0.5 * quad(T, Q, x) + x.reduce((s, v, i) => s + v * c[i], 0);
    if (f < bestF) {
      bestF = f;
      best = x;
    }
  }
  return best;
}

/**
 * min wᵀGw over the simplex, exactly, by enumerating supports S: on S, [2G_SS 1; 1ᵀ 0]·[w; μ] = [0; 1];
 * a candidate counts when w_S ≥ 0. Returns the least objective value found.
 */
export function minnormBrute(T: number, G: ArrayLike<number>): number {
  let best = Infinity;
  for (let mask = 1; mask < 1 << T; mask++) {
    const S = [...Array(T).keys()].filter((i) => mask & (1 << i));
    const m = S.length + 1;
    const K = new Float64Array(m * m);
    S.forEach((i, a) => {
      S.forEach((j, b) => (K[a * m + b] = 2 * G[i * T + j]));
      K[a * m + S.length] = 1;
      K[S.length * m + a] = 1;
    });
    const rhs = new Float64Array(m);
    rhs[S.length] = 1;
    const sol = gaussJordan(m, K, rhs);
    if (!sol) continue;
    const w = new Float64Array(T);
    if (S.some((_, a) => sol[a] < -1e-12)) continue;
    S.forEach((i, a) => (w[i] = Math.max(0, sol[a])));
    best = Math.min(best, quad(T, G, w));
  }
  // Vertices (single tasks) are covered by |S| = 1.
  return best;
}

/** Every point of the simplex in T dimensions whose coordinates are multiples of 1/steps, passed to `f`. */
export function simplexGrid(T: number, steps: number, f: (w: Float64Array) => void): void {
  const idx = new Array(T).fill(0);
  const rec = (t: number, left: number) => {
    if (t === T - 1) {
      idx[t] = left;
      f(Float64Array.from(idx, (v) => v / steps));
      return;
    }
    for (let v = 0; v <= left; v++) {
      idx[t] = v;
      rec(t + 1, left - v);
    }
  };
  rec(0, steps);
}

/** CAGrad's objective F(w) = wᵀ·A·(1/T) + c·sqrt(wᵀAw + 1e-8). */
export function cagradObj(T: number, A: ArrayLike<number>, w: ArrayLike<number>, c: number): number {
  const Aw = matvec(T, T, A, w);
  let lin = 0, q = 0;
  for (let i = 0; i < T; i++) {
    let rowsum = 0;
    for (let j = 0; j < T; j++) rowsum += A[i * T + j];
    lin += (w[i] * rowsum) / T;
    q += w[i] * Aw[i];
  }
  return lin + c * Math.sqrt(q + 1e-8);
}

/** out[k] = Σ_b dy[b,k]·sign(x[b,k]) in float64 (Math.sign; sign(0) = 0). */
export function signedColsumRef(B: number, d: number, x: ArrayLike<number>, dy: ArrayLike<number>): Float64Array {
  const out = new Float64Array(d);
  for (let b = 0; b < B; b++) for (let k = 0; k < d; k++) out[k] += dy[b * d + k] * Math.sign(x[b * d + k]);
  return out;
}

/** GradDrop's P_k and mask M[t,k] (0/1) as LibMTL writes them, in float64. */
export function graddropRef(T: number, d: number, g: ArrayLike<number>, u: ArrayLike<number>): { P: Float64Array; M: Uint8Array } {
  const P = new Float64Array(d);
  const M = new Uint8Array(T * d);
  for (let k = 0; k < d; k++) {
    let s = 0, a = 0;
    for (let t = 0; t < T; t++) {
      s += g[t * d + k];
      a += Math.abs(g[t * d + k]);
    }
    P[k] = 0.5 * (1 + s / (a + 1e-7));
    for (let t = 0; t < T; t++) {
      const v = g[t * d + k];
      M[t * d + k] = (P[k] > u[k] && v > 0) || (P[k] < u[k] && v < 0) ? 1 : 0;
    }
  }
  return { P, M };
}
