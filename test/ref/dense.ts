// Float64 references for the dense kernels (assembly/kernels/dense.ts). Row-major, W stored [k, n].

/** act(X·W + b): X [m, k], W [k, n], b [n] or null, act 0 identity / 1 relu. Returns Y [m, n]. */
export function denseFwd(m: number, k: number, n: number, x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number> | null, act: 0 | 1): Float64Array {
  const y = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = b ? b[j] : 0;
      for (let p = 0; p < k; p++) s += x[i * k + p] * w[p * n + j];
      y[i * n + j] = act === 1 ? Math.max(s, 0) : s;
    }
  }
  return y;
}

/** dY·Wᵀ: dY [m, n], W [k, n]. Returns dX [m, k]. */
export function denseBwdX(m: number, k: number, n: number, dy: ArrayLike<number>, w: ArrayLike<number>): Float64Array {
  const dx = new Float64Array(m * k);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += dy[i * n + j] * w[p * n + j];
      dx[i * k + p] = s;
    }
  }
  return dx;
}

/** Xᵀ·dY and Σ_rows dY: X [m, k], dY [m, n]. Returns dW [k, n] and db [n]. */
export function denseBwdW(m: number, k: number, n: number, x: ArrayLike<number>, dy: ArrayLike<number>): { dw: Float64Array; db: Float64Array } {
  const dw = new Float64Array(k * n);
  const db = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      const g = dy[i * n + j];
      db[j] += g;
      for (let p = 0; p < k; p++) dw[p * n + j] += x[i * k + p] * g;
    }
  }
  return { dw, db };
}

/** Σ r ⊙ act(X·W + b): the scalar objective whose gradients the backward kernels compute. */
export function denseObjective(m: number, k: number, n: number, x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number> | null, act: 0 | 1, r: ArrayLike<number>): number {
  const y = denseFwd(m, k, n, x, w, b, act);
  let s = 0;
  for (let i = 0; i < y.length; i++) s += r[i] * y[i];
  return s;
}
