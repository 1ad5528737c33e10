// Float64 oracle of the DSelect-k gate (Hazimeh et al. 2021, eqs. of §3 and the authors' dselect_k_moe.py):
//   S_γ(t) = 0 for t ≤ −γ/2, 1 for t ≥ γ/2, −2t³/γ³ + 3t/(2γ) + ½ between;
//   expert j's code is j written in m = ⌈log₂ e⌉ binary digits, most significant first (numpy's binary_repr);
//   r_ij = Π_b (digit_b(j) = 1 ? S(z_ib) : 1 − S(z_ib)),  q_j = Σ_i softmax(α)_i·r_ij;
//   entropy of selector i: −Σ_j r_ij·log(r_ij + 1e-6);  reach term of selector i: 1/(Σ_j r_ij + 1e-6).
// z: [n, k·m], α: [n, k] row-major; everything here is float64.

export const bitsFor = (e: number): number => Math.ceil(Math.log2(e));

export function smoothStep(t: number, gamma: number): number {
  if (t <= -gamma / 2) return 0;
  if (t >= gamma / 2) return 1;
  return (-2 * t ** 3) / gamma ** 3 + (3 * t) / (2 * gamma) + 0.5;
}

/** The code of expert j as digits (most significant first), from its string form: independent of bit shifts. */
export const code = (j: number, m: number): number[] => (m === 0 ? [] : j.toString(2).padStart(m, "0").split("").map(Number));

/** Selector outputs r [k][e] of one row. */
export function selectors(z: ArrayLike<number>, row: number, k: number, e: number, gamma: number): number[][] {
  const m = bitsFor(e);
  return Array.from({ length: k }, (_, i) =>
    Array.from({ length: e }, (_, j) => code(j, m).reduce((p, c, b) => p * (c ? smoothStep(z[(row * k + i) * m + b], gamma) : 1 - smoothStep(z[(row * k + i) * m + b], gamma)), 1)),
  );
}

/** q [n, e]. */
export function dselectRef(n: number, k: number, e: number, z: ArrayLike<number>, alpha: ArrayLike<number>, gamma: number): Float64Array {
  const q = new Float64Array(n * e);
  for (let r = 0; r < n; r++) {
    const a = Array.from({ length: k }, (_, i) => alpha[r * k + i]);
    const mx = Math.max(...a), ex = a.map((v) => Math.exp(v - mx)), s = ex.reduce((x, y) => x + y, 0);
    const sel = selectors(z, r, k, e, gamma);
    for (let j = 0; j < e; j++) for (let i = 0; i < k; i++) q[r * e + j] += (ex[i] / s) * sel[i][j];
  }
  return q;
}

/** Σ_r w_r·Σ_i entropy(r_i) (w = 1 when valid is null; rows with w ≤ 0 skipped). */
export function entropyRef(n: number, k: number, e: number, z: ArrayLike<number>, valid: ArrayLike<number> | null, gamma: number): number {
  let t = 0;
  for (let r = 0; r < n; r++) {
    const w = valid ? valid[r] : 1;
    if (!(w > 0)) continue;
    for (const p of selectors(z, r, k, e, gamma)) t += w * p.reduce((h, x) => h - x * Math.log(x + 1e-6), 0);
  }
  return t;
}

/** Σ_r w_r·Σ_i 1/(Σ_j r_ij + 1e-6). */
export function reachRef(n: number, k: number, e: number, z: ArrayLike<number>, valid: ArrayLike<number> | null, gamma: number): number {
  let t = 0;
  for (let r = 0; r < n; r++) {
    const w = valid ? valid[r] : 1;
    if (!(w > 0)) continue;
    for (const p of selectors(z, r, k, e, gamma)) t += w / (p.reduce((a, b) => a + b, 0) + 1e-6);
  }
  return t;
}
