// Float64 references for strided column-block copies (assembly/kernels/tensor.ts): concat and slice.

/** dst[i, 0:n] = beta·dst[i, 0:n] + src[i, 0:n] with element offsets and leading dims; returns a new dst. */
export function colsCopyRef(
  m: number, n: number, src: ArrayLike<number>, srcOff: number, ldSrc: number,
  dst: ArrayLike<number>, dstOff: number, ldDst: number, beta: number,
): Float64Array {
  const out = Float64Array.from(dst);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      const k = dstOff + i * ldDst + j;
      out[k] = (beta === 0 ? 0 : beta * out[k]) + src[srcOff + i * ldSrc + j];
    }
  return out;
}

/** Concatenate row-major parts [m, n_k] along features into [m, Σ n_k]. */
export function concatRef(m: number, parts: { n: number; data: ArrayLike<number> }[]): Float64Array {
  const w = parts.reduce((s, p) => s + p.n, 0);
  const out = new Float64Array(m * w);
  let col = 0;
  for (const p of parts) {
    for (let i = 0; i < m; i++) for (let j = 0; j < p.n; j++) out[i * w + col + j] = p.data[i * p.n + j];
    col += p.n;
  }
  return out;
}

/** Columns [col, col + n) of x [m, w]. */
export function sliceRef(m: number, w: number, x: ArrayLike<number>, col: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) out[i * n + j] = x[i * w + col + j];
  return out;
}
