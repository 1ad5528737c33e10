// Numeric input encodings (spec: inputs.numeric_encodings, src/model/spec.ts NumericEncoding): fitting their
// statistics on the training rows, and the one encoder that both the training data (src/data/preprocess.ts) and the
// exported graph (op numeric_encode, src/ops/numeric-encode.ts) run, so both see the same f32 values.
//
// The encoder. Raw values x [n, F] (NaN = missing) become E [n, V]:
//   xi_j = x_j, or mean_j when x_j is NaN;  z = [xi | isnan(x)]  [n, 2F]
//   c_k  = min(max((z[cols_k] − lo_k) / width_k, cmin_k), cmax_k)   for k < W   (f32, one rounding per operation)
//   E_v  = Σ_k M[k, v] · c_k                                      (M [W, V], summed in ascending k)
// Every encoding is a block of components k:
//   standardize   lo = mean, width = std, unbounded; M = 1                                     → 1 column
//   indicator     z = isnan(x_j) (0/1), lo = 0, width = 1, unbounded; M = 1                    → 1 column
//   ple           component t of T: lo = b_{t−1}, width = b_t − b_{t−1}, clipped to [0, 1] except the first below
//                 and the last above (Gorishniy et al. 2022); M = 1 each                        → T columns
//   quantile      a constant component (cmin = cmax = 1, M = r_0), then ramps over the knots: lo = q_{k−1},
//                 width = q_k − q_{k−1}, clipped to [0, 1], M = r_k − r_{k−1}                    → 1 column
// so the quantile column is r_0 + Σ_k (r_k − r_{k−1})·ramp_k: the linear interpolation between the knots, constant
// r_0 below the first and r_K above the last. The references r are multiples of 2^−20 (|r| < 8), so every partial
// sum of saturated ramps is exact in f32 and the sum depends on its order only through the one partial ramp: an
// engine that sums M·c in another order (onnxruntime's MatMul) agrees to about one ulp.
// Column order of E: the non-periodic columns' blocks in spec order, then the indicators in spec order, then the
// periodic columns' standardized values in spec order (the model applies the periodic op to that last block).
import type { NumericEncoding } from "../model/spec.ts";
import { treeThresholds } from "./tree-bins.ts";

/** The training rows a target-aware ple column's tree fits: values x and labels y (class indices below `classes`, or regression targets when `classes` is 0). */
export interface TreeRows {
  x: Float64Array;
  y: Float64Array;
  classes: number;
}

/** One numeric input's statistics in Preprocessing.numeric (model.json, ONNX metadata "mtl.preprocessing"). */
export interface NumericStats {
  /** The column. */
  column: string;
  /** Mean of the training rows' present values (float64); missing cells take it before encoding. */
  mean: number;
  /** Their population standard deviation (1 for a constant column). */
  std: number;
  /** The encoding when it is not "standardize" (absent: standardize). */
  encoding?: "quantile" | "ple" | "periodic";
  /** quantile: the distinct training quantiles (f32 values, increasing), K + 1 ≥ 1 knots. */
  knots?: number[];
  /** quantile: the output at each knot (multiples of 2^−20). */
  refs?: number[];
  /** ple: the bin edges b_0 < … < b_T (f32 values, T ≥ 1). */
  edges?: number[];
  /** periodic: the number of frequencies k (the column becomes 2k features). */
  frequencies?: number;
  /** true when the column has a missing indicator (it asked for one and the training rows have missing cells). */
  indicator?: true;
}

const f = Math.fround;
const REF_SCALE = 2 ** 20;
/** scikit-learn's QuantileTransformer clips the uniform level to [1e−7, 1 − 1e−7] before the normal quantile function. */
const BOUND = 1e-7;

/**
 * Φ⁻¹(p), the standard normal quantile function, for p in (0, 1): Acklam's rational approximation (relative error
 * < 1.2e−9), then one Halley step on Φ computed from erfc (W. J. Cody's rational erfc, ≈ 1e−15): float64 accuracy.
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile: p must be in (0, 1), got ${p}`);
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  let x: number;
  if (p < 0.02425) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p <= 1 - 0.02425) {
    const q = p - 0.5, r = q * q;
    x = ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  const e = 0.5 * erfc(-x / Math.SQRT2) - p;
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
  return x - u / (1 + (x * u) / 2);
}

/** erfc(x) in float64: W. J. Cody's (1969) rational approximations on [0, 0.5), [0.5, 4) and [4, ∞). */
function erfc(x: number): number {
  const ax = Math.abs(x);
  let r: number;
  if (ax < 0.5) {
    const t = x * x;
    const top = (((0.185777706184603153 * t + 3.16112374387056560) * t + 113.864154151050156) * t + 377.485237685302021) * t + 3209.37758913846947;
    const bot = (((t + 23.6012909523441209) * t + 244.024637934444173) * t + 1282.61652607737228) * t + 2844.23683343917062;
    return 1 - (x * top) / bot;
  } else if (ax < 4) {
    const top = (((((((2.15311535474403846e-8 * ax + 0.564188496988670089) * ax + 8.88314979438837594) * ax + 66.1191906371416295) * ax + 298.635138197400131) * ax + 881.952221241769090) * ax + 1712.04761263407058) * ax + 2051.07837782607147) * ax + 1230.33935479799725;
    const bot = (((((((ax + 15.7449261107098347) * ax + 117.693950891312499) * ax + 537.181101862009858) * ax + 1621.38957456669019) * ax + 3290.79923573345963) * ax + 4362.61909014324716) * ax + 3439.36767414372164) * ax + 1230.33935480374942;
    r = (Math.exp(-ax * ax) * top) / bot;
  } else {
    const z = 1 / (ax * ax);
    const top = ((((0.0163153871373020978 * z + 0.305326634961232344) * z + 0.360344899949804439) * z + 0.125781726111229246) * z + 0.0160837851487422766) * z + 6.58749161529837803e-4;
    const bot = ((((z + 2.56852019228982242) * z + 1.87295284992346725) * z + 0.527905102951428412) * z + 0.0605183413124413191) * z + 0.00233520497626869185;
    r = (Math.exp(-ax * ax) / ax) * (1 / Math.sqrt(Math.PI) - (z * top) / bot);
  }
  return x < 0 ? 2 - r : r;
}

/** The p-quantile of sorted present values (numpy's default "linear" method: h = (n − 1)·p, interpolated). */
export function quantile(sorted: Float64Array, p: number): number {
  const h = (sorted.length - 1) * p, lo = Math.floor(h), hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/** f32 values of `qs` with repeats merged: the distinct values, increasing, and the index range in `qs` of each. */
function distinctF32(qs: number[]): { values: number[]; first: number[]; last: number[] } {
  const values: number[] = [], first: number[] = [], last: number[] = [];
  qs.forEach((q, i) => {
    const v = f(q);
    if (values.length && values[values.length - 1] === v) last[last.length - 1] = i;
    else values.push(v), first.push(i), last.push(i);
  });
  return { values, first, last };
}

/**
 * Fit one numeric input's encoding on its training rows' values `present` (sorted, missing cells removed, as read
 * from the table: float64). `hasMissing`: the training rows have missing cells in the column. Mean and std are the
 * caller's (the same as plain standardization). `labeled`: the rows a target-aware ple's tree fits (required then).
 */
export function fitEncoding(enc: NumericEncoding, mean: number, std: number, present: Float64Array, hasMissing: boolean, labeled?: TreeRows): NumericStats {
  const s: NumericStats = { column: enc.column, mean, std };
  const n = present.length;
  if (enc.encoding === "quantile") {
    // scikit-learn: n_quantiles = min(quantiles, n) levels i/(n_q − 1), the quantiles by linear interpolation. Where
    // several levels share one value (a point mass such as zero capital gains) the knot's output is their mean
    // level, except that the lowest value maps to 0 and the highest to 1 (scikit-learn's bound handling).
    const nq = Math.max(2, Math.min(enc.quantiles, n));
    const levels = Array.from({ length: nq }, (_, i) => i / (nq - 1));
    const qs = n ? levels.map((p) => quantile(present, p)) : levels.map(() => mean);
    const { values, first, last } = distinctF32(qs);
    const uniform = values.map((_, u) => (first[u] === 0 ? 0 : last[u] === nq - 1 ? 1 : (levels[first[u]] + levels[last[u]]) / 2));
    const out = enc.output === "normal" ? uniform.map((p) => normalQuantile(Math.min(1 - BOUND, Math.max(BOUND, p)))) : uniform;
    Object.assign(s, { encoding: "quantile", knots: values, refs: out.map((r) => Math.round(r * REF_SCALE) / REF_SCALE) });
  } else if (enc.encoding === "ple") {
    let qs: number[];
    if (enc.tree) {
      // The paper's tree-based bins: the extremes and the tree's thresholds, sorted, in f32, repeats merged.
      if (!labeled) throw new Error(`fitEncoding: ple column ${JSON.stringify(enc.column)} has target-aware bins but no labeled rows were given`);
      const cut = treeThresholds(labeled.x, labeled.y, { bins: enc.bins, minSamplesLeaf: enc.tree.min_samples_leaf, minImpurityDecrease: enc.tree.min_impurity_decrease, classes: labeled.classes });
      qs = n ? [present[0], ...cut, present[n - 1]].sort((a, b) => a - b) : [mean];
    } else qs = n ? Array.from({ length: enc.bins + 1 }, (_, t) => quantile(present, t / enc.bins)) : [mean];
    let edges = distinctF32(qs).values;
    // One distinct value: a single bin [v, v + 1) (its component is x − v, unbounded both sides).
    if (edges.length < 2) edges = [edges[0], f(edges[0] + Math.max(1, Math.abs(edges[0]) * 2 ** -20))];
    Object.assign(s, { encoding: "ple", edges });
  } else if (enc.encoding === "periodic") Object.assign(s, { encoding: "periodic", frequencies: enc.frequencies });
  if (enc.missing_indicator && hasMissing) s.indicator = true;
  return s;
}

/** The encoded width of one numeric input: quantile and standardize 1, ple T, periodic 1 (its standardized value). */
const valueWidth = (s: NumericStats) => (s.encoding === "ple" ? s.edges!.length - 1 : 1);

/** Whether `stats` need the encoder (some column is not plain standardization without an indicator). */
export function needsEncoder(stats: readonly NumericStats[]): boolean {
  return stats.some((s) => s.encoding !== undefined || s.indicator);
}

/** The encoder's constants (see the file header). Sizes: F raw columns, W components, V encoded columns. */
export interface EncoderPlan {
  F: number;
  W: number;
  V: number;
  /** Imputation value of each raw column [F] (f32 of the mean). */
  mean: Float32Array;
  /** Column of z = [xi | isnan(x)] each component reads [W], in [0, 2F). */
  cols: Int32Array;
  lo: Float32Array;
  width: Float32Array;
  cmin: Float32Array;
  cmax: Float32Array;
  /** M [W, V] row-major (dense: the ONNX initializer). */
  M: Float32Array;
  /** The periodic columns: their index in `stats`, their column in E (a contiguous block at the end), frequencies. */
  periodic: { index: number; at: number; frequencies: number }[];
}

/** The encoder for fitted statistics. */
export function encoderPlan(stats: readonly NumericStats[]): EncoderPlan {
  const F = stats.length;
  const comps: { col: number; lo: number; width: number; cmin: number; cmax: number; v: number; m: number }[] = [];
  let V = 0;
  const std = (j: number, v: number) => comps.push({ col: j, lo: f(stats[j].mean), width: f(stats[j].std), cmin: -Infinity, cmax: Infinity, v, m: 1 });
  stats.forEach((s, j) => {
    if (s.encoding === "periodic") return;
    if (s.encoding === "quantile") {
      const q = s.knots!, r = s.refs!;
      comps.push({ col: j, lo: 0, width: 1, cmin: 1, cmax: 1, v: V, m: r[0] });
      for (let k = 1; k < q.length; k++) comps.push({ col: j, lo: q[k - 1], width: f(q[k] - q[k - 1]), cmin: 0, cmax: 1, v: V, m: r[k] - r[k - 1] });
      V++;
    } else if (s.encoding === "ple") {
      const b = s.edges!, T = b.length - 1;
      for (let t = 1; t <= T; t++) comps.push({ col: j, lo: b[t - 1], width: f(b[t] - b[t - 1]), cmin: t === 1 ? -Infinity : 0, cmax: t === T ? Infinity : 1, v: V++, m: 1 });
    } else std(j, V++);
  });
  stats.forEach((s, j) => {
    if (s.indicator) comps.push({ col: F + j, lo: 0, width: 1, cmin: -Infinity, cmax: Infinity, v: V++, m: 1 });
  });
  const periodic: EncoderPlan["periodic"] = [];
  stats.forEach((s, j) => {
    if (s.encoding !== "periodic") return;
    periodic.push({ index: j, at: V, frequencies: s.frequencies! });
    std(j, V++);
  });
  const W = comps.length;
  const M = new Float32Array(W * V);
  comps.forEach((c, k) => (M[k * V + c.v] = c.m));
  return {
    F, W, V, periodic,
    mean: Float32Array.from(stats, (s) => s.mean),
    cols: Int32Array.from(comps, (c) => c.col),
    lo: Float32Array.from(comps, (c) => c.lo),
    width: Float32Array.from(comps, (c) => c.width),
    cmin: Float32Array.from(comps, (c) => c.cmin),
    cmax: Float32Array.from(comps, (c) => c.cmax),
    M,
  };
}

/** The encoded width V of fitted statistics (what the model's numeric input holds). */
export function encodedWidth(stats: readonly NumericStats[]): number {
  return stats.reduce((a, s) => a + valueWidth(s) + (s.indicator ? 1 : 0), 0);
}

/** An encoder over a plan: M's nonzeros per output column, in ascending k. */
export interface Encoder {
  readonly plan: EncoderPlan;
  /** Encode rows: x [n, F] (read as f32, NaN = missing) into out [n, V]; xOff/outOff are element offsets. */
  run(n: number, x: ArrayLike<number>, xOff: number, out: Float32Array, outOff: number): void;
}

export function makeEncoder(plan: EncoderPlan): Encoder {
  const { F, W, V, mean, cols, lo, width, cmin, cmax, M } = plan;
  const start = new Int32Array(V + 1), ks: number[] = [], ws: number[] = [];
  for (let v = 0; v < V; v++) {
    for (let k = 0; k < W; k++) if (M[k * V + v] !== 0) ks.push(k), ws.push(M[k * V + v]);
    start[v + 1] = ks.length;
  }
  const K = Int32Array.from(ks), Wt = Float32Array.from(ws);
  const z = new Float64Array(2 * F), c = new Float64Array(W);
  return {
    plan,
    run(n, x, xOff, out, outOff) {
      for (let r = 0; r < n; r++) {
        for (let j = 0; j < F; j++) {
          const v = f(x[xOff + r * F + j]);
          const miss = v !== v;
          z[j] = miss ? mean[j] : v;
          z[F + j] = miss ? 1 : 0;
        }
        for (let k = 0; k < W; k++) c[k] = Math.min(Math.max(f(f(z[cols[k]] - lo[k]) / width[k]), cmin[k]), cmax[k]);
        for (let v = 0; v < V; v++) {
          let acc = 0;
          for (let e = start[v]; e < start[v + 1]; e++) acc = f(acc + f(Wt[e] * c[K[e]]));
          out[outOff + r * V + v] = acc;
        }
      }
    },
  };
}

/**
 * The first row of out [n, V] (enc.run's output for raw [n, F]) holding a non-finite value, and the raw column that
 * overflows alone (the row's other columns at their means; column 0 when none does alone): what the overflow error
 * names. null when every value is finite.
 */
export function firstOverflow(enc: Encoder, n: number, raw: Float32Array, out: Float32Array): { row: number; column: number } | null {
  const { F, V } = enc.plan;
  for (let e = 0; e < n * V; e++) {
    if (Number.isFinite(out[e])) continue;
    const row = Math.floor(e / V), x = raw.subarray(row * F, (row + 1) * F), y = new Float32Array(V);
    const alone = (c: number) => {
      enc.run(1, Float32Array.from(enc.plan.mean, (m, j) => (j === c ? x[c] : m)), 0, y, 0);
      return !y.every(Number.isFinite);
    };
    return { row, column: Math.max(0, x.findIndex((_, c) => alone(c))) };
  }
  return null;
}
