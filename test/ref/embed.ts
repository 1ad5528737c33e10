// Float64 references for embedding lookup and its scatter-add backward (assembly/kernels/embed.ts).

/** y[i, :] = table[idx[i], :]; table [v, d], y [m, d] dense. */
export function embedRef(m: number, d: number, idx: ArrayLike<number>, table: ArrayLike<number>): Float64Array {
  const y = new Float64Array(m * d);
  for (let i = 0; i < m; i++) for (let j = 0; j < d; j++) y[i * d + j] = table[idx[i] * d + j];
  return y;
}

/** dtable = init + Σ_i e_{idx[i]} ⊗ dy[i, :] (repeated indices sum); dy [m, d] dense, dtable [v, d]. */
export function embedBwdRef(m: number, d: number, v: number, idx: ArrayLike<number>, dy: ArrayLike<number>, init?: ArrayLike<number>): Float64Array {
  const dt = init ? Float64Array.from(init) : new Float64Array(v * d);
  for (let i = 0; i < m; i++) for (let j = 0; j < d; j++) dt[idx[i] * d + j] += dy[i * d + j];
  return dt;
}
