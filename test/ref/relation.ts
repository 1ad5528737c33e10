// Float64 reference for the relation loss (assembly/kernels/relation.ts): R = ½·Σ_i w_i·Σ_j (a_ij − b_ij)²,
// a masked SUM; rows whose weight is not > 0 are skipped (their values may be NaN).
import { rowWeight } from "./loss.ts";

export function relationRef(m: number, n: number, a: ArrayLike<number>, b: ArrayLike<number>, mask: ArrayLike<number> | null): number {
  let acc = 0;
  for (let i = 0; i < m; i++) {
    const w = rowWeight(mask, i);
    if (!(w > 0)) continue;
    let s = 0;
    for (let j = 0; j < n; j++) s += (a[i * n + j] - b[i * n + j]) ** 2;
    acc += w * s;
  }
  return 0.5 * acc;
}
