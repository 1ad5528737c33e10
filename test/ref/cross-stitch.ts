// Float64 reference for the cross-stitch unit (assembly/kernels/stitch.ts).

/** y_i = Σ_j alpha[i, j]·x_j; xs: t columns of len, alpha [t, t] row-major. */
export function crossStitchRef(t: number, len: number, xs: readonly ArrayLike<number>[], alpha: ArrayLike<number>): Float64Array[] {
  return Array.from({ length: t }, (_, i) => {
    const y = new Float64Array(len);
    for (let j = 0; j < t; j++) for (let c = 0; c < len; c++) y[c] += alpha[i * t + j] * xs[j][c];
    return y;
  });
}
