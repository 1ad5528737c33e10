// The synthetic two-task regression data of Ma et al. 2018 (KDD, "Modeling Task Relationships in Multi-task
// Learning with Multi-gate Mixture-of-Experts", §4.1), whose task correlation is a parameter. Portable (no node:*).
//
//   u1, u2 ∈ R^d   two orthogonal unit vectors (Gram–Schmidt on two Gaussian draws)
//   w1 = c·u1,  w2 = c·(p·u1 + √(1 − p²)·u2)          so cos(w1, w2) = p and w1·w2 = c²·p
//   x ~ N(0, I_d)
//   y_t = w_tᵀx + Σ_{i=1..m} sin(α_i·w_tᵀx + β_i) + ε_t,   t = 1, 2
//   α_i, β_i ~ N(0, 1), drawn once and shared by both tasks;  ε_t ~ N(0, noise²) independently per row and task
//
// The paper uses d = 100, c = 1, m = 10 and ε ~ N(0, 0.01) (noise = 0.1 here is the standard deviation). Since x is
// isotropic, the linear parts w1ᵀx and w2ᵀx have Pearson correlation exactly p; the labels' correlation falls with p
// too, but the sine terms make it differ from p.
//
// Randomness: one mulberry32 stream (src/data/split.ts) seeded with `seed`, uniforms u = (k + 1) / 2^32 ∈ (0, 1],
// normals by Box–Muller (both values of each pair used, cos first). Draw order: u1's Gaussian draw (d), u2's (d),
// α (m), β (m), then per row: x (d), ε1, ε2. x is stored as float32 and the targets are computed in float64 from the
// stored (rounded) x, so y is an exact function of the returned x plus noise. Only + − × ÷, sqrt and
// src/util/dmath.ts's log, cos and sin are used: every JS engine (V8, JavaScriptCore, SpiderMonkey) produces identical arrays.
import { mulberry32 } from "./split.ts";
import { cos, log, sin } from "../util/dmath.ts";

/** Options of {@link mmoeSynthetic} (the paper's settings by default). */
export interface MmoeSyntheticOptions {
  /** Number of rows. */
  rows: number;
  /** Input dimension d (default 100). */
  dim?: number;
  /** Task correlation p ∈ [−1, 1]: the cosine similarity of w1 and w2. */
  correlation: number;
  /** Scale c of the weight vectors (default 1). */
  c?: number;
  /** Number of sine terms m (default 10). */
  m?: number;
  /** Standard deviation of the label noise ε (default 0.1, i.e. variance 0.01 as in the paper). */
  noise?: number;
  /** Seed of the one random stream (same seed and options → the same arrays in every engine). */
  seed: number;
}

/** The generated data and the draws that define it (see the file header for the formulas). */
export interface MmoeSynthetic {
  /** Number of rows. */
  rows: number;
  /** Input dimension d. */
  dim: number;
  /** Inputs, row-major [rows, dim]. */
  x: Float32Array;
  /** [rows] task 1's labels y1. */
  y1: Float32Array;
  /** [rows] task 2's labels y2. */
  y2: Float32Array;
  /** [d] the first unit vector u1. */
  u1: Float64Array;
  /** [d] the second unit vector u2, orthogonal to u1. */
  u2: Float64Array;
  /** [d] task 1's weights w1 = c·u1. */
  w1: Float64Array;
  /** [d] task 2's weights w2 = c·(p·u1 + √(1 − p²)·u2). */
  w2: Float64Array;
  /** [m] the sine terms' frequencies α_i. */
  alpha: Float64Array;
  /** [m] the sine terms' phases β_i. */
  beta: Float64Array;
}

/** A seeded N(0, 1) source: Box–Muller over a mulberry32 stream. */
export function gaussian(seed: number): () => number {
  const next = mulberry32(seed);
  let spare = NaN;
  return () => {
    if (spare === spare) {
      const s = spare;
      spare = NaN;
      return s;
    }
    const a = (next() + 1) / 4294967296, b = (next() + 1) / 4294967296;
    const r = Math.sqrt(-2 * log(a)), t = 2 * Math.PI * b;
    spare = r * sin(t);
    return r * cos(t);
  };
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>, n: number, offA = 0): number => {
  let s = 0;
  for (let j = 0; j < n; j++) s += a[offA + j] * b[j];
  return s;
};

/** Generate the Ma et al. 2018 synthetic data set (see the formula above). */
export function mmoeSynthetic(opts: MmoeSyntheticOptions): MmoeSynthetic {
  const { rows, correlation: p, seed } = opts;
  const d = opts.dim ?? 100, c = opts.c ?? 1, m = opts.m ?? 10, noise = opts.noise ?? 0.1;
  if (!(Number.isInteger(rows) && rows >= 0)) throw new RangeError(`mmoeSynthetic: rows must be a non-negative integer, got ${rows}`);
  if (!(Number.isInteger(d) && d >= 2)) throw new RangeError(`mmoeSynthetic: dim must be an integer ≥ 2, got ${d}`);
  if (!(p >= -1 && p <= 1)) throw new RangeError(`mmoeSynthetic: correlation must be in [-1, 1], got ${p}`);
  if (!(Number.isInteger(m) && m >= 0)) throw new RangeError(`mmoeSynthetic: m must be a non-negative integer, got ${m}`);
  if (!(noise >= 0) || !Number.isFinite(c)) throw new RangeError(`mmoeSynthetic: need noise ≥ 0 and a finite c, got noise ${noise}, c ${c}`);
  const normal = gaussian(seed);

  // Gram–Schmidt: u1 = g1/|g1|, u2 = (g2 − (g2·u1)u1)/|…|.
  const u1 = new Float64Array(d), u2 = new Float64Array(d);
  for (let j = 0; j < d; j++) u1[j] = normal();
  for (let j = 0; j < d; j++) u2[j] = normal();
  const n1 = Math.sqrt(dot(u1, u1, d));
  for (let j = 0; j < d; j++) u1[j] /= n1;
  const proj = dot(u2, u1, d);
  for (let j = 0; j < d; j++) u2[j] -= proj * u1[j];
  const n2 = Math.sqrt(dot(u2, u2, d));
  for (let j = 0; j < d; j++) u2[j] /= n2;

  const q = Math.sqrt(Math.max(0, 1 - p * p));
  const w1 = new Float64Array(d), w2 = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    w1[j] = c * u1[j];
    w2[j] = c * (p * u1[j] + q * u2[j]);
  }
  const alpha = new Float64Array(m), beta = new Float64Array(m);
  for (let i = 0; i < m; i++) alpha[i] = normal();
  for (let i = 0; i < m; i++) beta[i] = normal();

  const x = new Float32Array(rows * d), y1 = new Float32Array(rows), y2 = new Float32Array(rows);
  const target = (lin: number) => {
    let s = lin;
    for (let i = 0; i < m; i++) s += sin(alpha[i] * lin + beta[i]);
    return s;
  };
  for (let r = 0; r < rows; r++) {
    const o = r * d;
    for (let j = 0; j < d; j++) x[o + j] = normal();
    const e1 = normal(), e2 = normal();
    y1[r] = target(dot(x, w1, d, o)) + noise * e1;
    y2[r] = target(dot(x, w2, d, o)) + noise * e2;
  }
  return { rows, dim: d, x, y1, y2, u1, u2, w1, w2, alpha, beta };
}
