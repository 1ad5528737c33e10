// Float64 reference for the row-wise softmax (assembly/kernels/softmax.ts).

/** y[i, :] = softmax(x[i, :]) for x [m, n] row-major, with the row max subtracted. */
export function softmaxRef(m: number, n: number, x: ArrayLike<number>): Float64Array {
  const y = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    let mx = -Infinity;
    for (let j = 0; j < n; j++) mx = Math.max(mx, x[i * n + j]);
    let s = 0;
    for (let j = 0; j < n; j++) s += y[i * n + j] = Math.exp(x[i * n + j] - mx);
    for (let j = 0; j < n; j++) y[i * n + j] /= s;
  }
  return y;
}
