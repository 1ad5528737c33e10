// Float64 reference for layer normalization over the last dimension (assembly/kernels/norm.ts).

export interface LayerNormOut {
  y: Float64Array;
  mean: Float64Array;
  rstd: Float64Array;
}

/** y = (x − μ)/√(σ² + eps) ⊙ g + b per row of x [m, n]; σ² is the biased variance. */
export function layernormRef(m: number, n: number, x: ArrayLike<number>, g: ArrayLike<number>, b: ArrayLike<number>, eps: number): LayerNormOut {
  const y = new Float64Array(m * n), mean = new Float64Array(m), rstd = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += x[i * n + j];
    const mu = s / n;
    let q = 0;
    for (let j = 0; j < n; j++) q += (x[i * n + j] - mu) ** 2;
    const r = 1 / Math.sqrt(q / n + eps);
    mean[i] = mu;
    rstd[i] = r;
    for (let j = 0; j < n; j++) y[i * n + j] = (x[i * n + j] - mu) * r * g[j] + b[j];
  }
  return { y, mean, rstd };
}
