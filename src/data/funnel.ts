// A synthetic click → conversion funnel with known probabilities, for ESMM and AITM (src/model/funnel.ts).
// Portable (no node:*).
//
//   x ~ N(0, I_8)                                                    the impression's features x1 … x8
//   p_click(x) = σ(c(x)),   c(x) = −4 + 2·x1 + 0.5·x2                click rate ≈ 6%, clicks concentrated at x1 > 1
//   p_cvr(x) = p(convert | click, x) = σ(v(x)),   v(x) = 0.5 + x3 − 0.6·(x1 − 1.5)²
//   click ~ Bernoulli(p_click(x));   convert ~ Bernoulli(p_cvr(x)) if click, else 0 (no conversion without a click)
//
// Sample selection: the conversion label exists only on clicked rows, which sit at large x1, while the model ranks
// every impression; v bends down away from the clicked region (the quadratic in x1), so a model that only sees
// clicked rows must extrapolate p_cvr to most impressions. x1 is shared by both steps (what a shared trunk can learn
// from the click task on every row). The expected conversion p(convert, x) = p_click·p_cvr.
//
// Randomness: one mulberry32 stream (src/data/split.ts) seeded with `seed`, uniforms u = (k + 1) / 2^32 ∈ (0, 1];
// per row: x by Box–Muller (4 pairs, cos then sin), then u_click, then u_convert (drawn on every row, so rows do not
// shift with the labels). x is stored as float32 and the probabilities are computed in float64 from the stored x.
// Only + − × ÷ and src/util/dmath.ts's log, cos, sin, exp are used: every JS engine produces identical arrays.
import { mulberry32 } from "./split.ts";
import { cos, exp, log, sin } from "../util/dmath.ts";

/** Feature columns, in order. */
export const FUNNEL_FEATURES = ["x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8"] as const;
/**
 * CSV columns: the features, the true probabilities (never inputs), the labels `click` and `conversion` (0/1 on every
 * row: 1 only where both happened) and `conversion_if_clicked` (the same, blank where there was no click: what a
 * plain cvr head trained on clicked rows reads).
 */
export const FUNNEL_COLUMNS = [...FUNNEL_FEATURES, "p_click", "p_cvr", "click", "conversion", "conversion_if_clicked"] as const;

/** The generated rows (see the file header for the formulas). */
export interface Funnel {
  rows: number;
  /** Features, row-major [rows, 8]. */
  x: Float32Array;
  /** [rows] true p(click | x). */
  pClick: Float64Array;
  /** [rows] true p(convert | click, x). */
  pCvr: Float64Array;
  /** [rows] 0/1. */
  click: Uint8Array;
  /** [rows] 0/1, 1 only where click is 1. */
  convert: Uint8Array;
}

const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z)));

/** c(x), the click logit (file header). */
export const clickLogit = (x: ArrayLike<number>, o = 0) => -4 + 2 * x[o] + 0.5 * x[o + 1];
/** v(x), the conversion-given-click logit (file header). */
export const cvrLogit = (x: ArrayLike<number>, o = 0) => 0.5 + x[o + 2] - 0.6 * (x[o] - 1.5) ** 2;

/** `rows` funnel rows from `seed` (the same seed and count give the same arrays everywhere). */
export function generateFunnel(rows: number, seed: number): Funnel {
  if (!Number.isSafeInteger(rows) || rows < 0) throw new Error(`funnel: rows must be a non-negative integer, found ${rows}`);
  const next = mulberry32(seed >>> 0);
  const u = () => (next() + 1) / 4294967296;
  const d = FUNNEL_FEATURES.length;
  const x = new Float32Array(rows * d), pClick = new Float64Array(rows), pCvr = new Float64Array(rows);
  const click = new Uint8Array(rows), convert = new Uint8Array(rows);
  for (let r = 0; r < rows; r++) {
    const o = r * d;
    for (let j = 0; j < d; j += 2) {
      const rad = Math.sqrt(-2 * log(u())), th = 2 * Math.PI * u();
      x[o + j] = rad * cos(th);
      x[o + j + 1] = rad * sin(th);
    }
    pClick[r] = sigmoid(clickLogit(x, o));
    pCvr[r] = sigmoid(cvrLogit(x, o));
    const uc = u(), uv = u();
    click[r] = uc < pClick[r] ? 1 : 0;
    convert[r] = click[r] && uv < pCvr[r] ? 1 : 0;
  }
  return { rows, x, pClick, pCvr, click, convert };
}

/** The rows as CSV text with a header (FUNNEL_COLUMNS); features as float32 values, probabilities to 17 digits. */
export function funnelCsv(f: Funnel): string {
  const d = FUNNEL_FEATURES.length;
  const lines = [FUNNEL_COLUMNS.join(",")];
  for (let r = 0; r < f.rows; r++) {
    const cells: string[] = [];
    for (let j = 0; j < d; j++) cells.push(String(f.x[r * d + j]));
    cells.push(String(f.pClick[r]), String(f.pCvr[r]), String(f.click[r]), String(f.convert[r]), f.click[r] ? String(f.convert[r]) : "");
    lines.push(cells.join(","));
  }
  return lines.join("\n") + "\n";
}
