// Float64 reference for the mixture-of-experts combine (assembly/kernels/gate.ts).

/** y[i, :] = Σ_j gate[i, j]·experts[j, i, :]; experts [e, m, n], gate [m, e]. */
export function moeCombineRef(m: number, e: number, n: number, experts: ArrayLike<number>, gate: ArrayLike<number>): Float64Array {
  const y = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < e; j++) {
      const g = gate[i * e + j];
      for (let c = 0; c < n; c++) y[i * n + c] += g * experts[(j * m + i) * n + c];
    }
  return y;
}
