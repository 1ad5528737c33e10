// The curves `mtl report` draws from a model's validation predictions, in float64: ROC and precision–recall curves
// (one point per distinct score threshold, ties taken as one step, as scikit-learn's roc_curve and
// precision_recall_curve do before dropping collinear points), reliability (calibration) bins, the confusion matrix,
// and deterministic thinning for large validation sets. Portable: no node:* imports.

export interface RocCurve {
  /** False positive rate, non-decreasing, from 0 to 1. */
  fpr: number[];
  /** True positive rate, non-decreasing, from 0 to 1. */
  tpr: number[];
  /** Score threshold of each point (the point counts scores ≥ threshold as positive); +Infinity at (0, 0). */
  threshold: number[];
  /** Area under the curve by the trapezoid rule (equals the Mann–Whitney AUC, metrics/auc.ts). */
  auc: number;
}

export interface PrCurve {
  /** Recall, non-decreasing, from 0 to 1. */
  recall: number[];
  /** Precision at each recall; the first point is (recall 0, precision 1), as scikit-learn appends it. */
  precision: number[];
  threshold: number[];
  /** Average precision Σ_k (R_k − R_{k−1}) · P_k (scikit-learn's average_precision_score: no interpolation). */
  ap: number;
  /** The precision of a random ranking: the fraction of positives. */
  base: number;
}

/** Rows sorted by score, descending (ties in input order), after checking the labels are 0/1 and scores are numbers. */
function ranked(what: string, labels: ArrayLike<number>, scores: ArrayLike<number>): { order: number[]; pos: number; neg: number } {
  if (labels.length !== scores.length) throw new Error(`${what}: labels have ${labels.length} entries but scores have ${scores.length}`);
  let pos = 0;
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (y !== 0 && y !== 1) throw new Error(`${what}: labels[${i}] = ${y}, expected 0 or 1`);
    if (Number.isNaN(scores[i])) throw new Error(`${what}: scores[${i}] is NaN`);
    pos += y;
  }
  const order = Array.from({ length: labels.length }, (_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
  return { order, pos, neg: labels.length - pos };
}

/** Cumulative (threshold, TP, FP) at the end of each run of equal scores, highest threshold first. */
function steps(labels: ArrayLike<number>, scores: ArrayLike<number>, order: number[]): { threshold: number; tp: number; fp: number }[] {
  const out: { threshold: number; tp: number; fp: number }[] = [];
  let tp = 0, fp = 0;
  for (let k = 0; k < order.length; ) {
    const v = scores[order[k]];
    while (k < order.length && scores[order[k]] === v) {
      if (labels[order[k]] === 1) tp++;
      else fp++;
      k++;
    }
    out.push({ threshold: v, tp, fp });
  }
  return out;
}

/** The ROC curve of `scores` against 0/1 `labels`; null when either class is absent (the curve is undefined). */
export function rocCurve(labels: ArrayLike<number>, scores: ArrayLike<number>): RocCurve | null {
  const { order, pos, neg } = ranked("rocCurve", labels, scores);
  if (pos === 0 || neg === 0) return null;
  const fpr = [0], tpr = [0], threshold = [Infinity];
  for (const s of steps(labels, scores, order)) {
    fpr.push(s.fp / neg);
    tpr.push(s.tp / pos);
    threshold.push(s.threshold);
  }
  let auc = 0;
  for (let i = 1; i < fpr.length; i++) auc += ((fpr[i] - fpr[i - 1]) * (tpr[i] + tpr[i - 1])) / 2;
  return { fpr, tpr, threshold, auc };
}

/** The precision–recall curve; null when there is no positive (recall is undefined). */
export function prCurve(labels: ArrayLike<number>, scores: ArrayLike<number>): PrCurve | null {
  const { order, pos } = ranked("prCurve", labels, scores);
  if (pos === 0) return null;
  const recall = [0], precision = [1], threshold = [Infinity];
  let ap = 0;
  for (const s of steps(labels, scores, order)) {
    const r = s.tp / pos, p = s.tp / (s.tp + s.fp);
    ap += (r - recall[recall.length - 1]) * p;
    recall.push(r);
    precision.push(p);
    threshold.push(s.threshold);
  }
  return { recall, precision, threshold, ap, base: pos / labels.length };
}

export interface CalibrationBin {
  /** The bin is [lo, hi) (the last one includes 1). */
  lo: number;
  hi: number;
  count: number;
  /** Mean predicted probability of the bin's rows (null: empty bin). */
  meanPredicted: number | null;
  /** Fraction of the bin's rows that are positive (null: empty bin). */
  fractionPositive: number | null;
}

/** Reliability diagram: `bins` equal-width bins over [0, 1]; a score outside [0, 1] is clamped into the end bins. */
export function calibrationBins(labels: ArrayLike<number>, scores: ArrayLike<number>, bins = 10): CalibrationBin[] {
  if (labels.length !== scores.length) throw new Error(`calibrationBins: labels have ${labels.length} entries but scores have ${scores.length}`);
  if (!(Number.isInteger(bins) && bins >= 1)) throw new Error(`calibrationBins: bins must be a positive integer, got ${bins}`);
  const n = new Float64Array(bins), sp = new Float64Array(bins), sy = new Float64Array(bins);
  for (let i = 0; i < labels.length; i++) {
    const s = scores[i], y = labels[i];
    if (y !== 0 && y !== 1) throw new Error(`calibrationBins: labels[${i}] = ${y}, expected 0 or 1`);
    if (Number.isNaN(s)) throw new Error(`calibrationBins: scores[${i}] is NaN`);
    const b = Math.min(bins - 1, Math.max(0, Math.floor(s * bins)));
    n[b]++;
    sp[b] += s;
    sy[b] += y;
  }
  return Array.from({ length: bins }, (_, b) => ({
    lo: b / bins,
    hi: (b + 1) / bins,
    count: n[b],
    meanPredicted: n[b] ? sp[b] / n[b] : null,
    fractionPositive: n[b] ? sy[b] / n[b] : null,
  }));
}

/** Confusion matrix counts[actual][predicted] of integer labels against the argmax of probability rows [n, c]. */
export function confusionMatrix(labels: ArrayLike<number>, probs: ArrayLike<number>, classes: number): number[][] {
  if (probs.length !== labels.length * classes) throw new Error(`confusionMatrix: probabilities have ${probs.length} entries, expected ${labels.length}·${classes}`);
  const m = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (!(Number.isInteger(y) && y >= 0 && y < classes)) throw new Error(`confusionMatrix: labels[${i}] = ${y}, expected an integer class in [0, ${classes})`);
    let best = 0, bv = -Infinity;
    for (let k = 0; k < classes; k++) if (probs[i * classes + k] > bv) (bv = probs[i * classes + k]), (best = k);
    m[y][best]++;
  }
  return m;
}

/**
 * At most `max` evenly spaced indices of 0..n-1 (always the first and the last), in order: the same rows every
 * time, so a report of the same run is the same file.
 */
export function evenIndices(n: number, max: number): number[] {
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  if (max < 2) return n ? [0] : [];
  return Array.from({ length: max }, (_, k) => Math.round((k * (n - 1)) / (max - 1)));
}

/** Keep `max` evenly spaced points of parallel arrays (a curve with thousands of thresholds looks the same with 1,000). */
export function thin<T extends Record<string, number[]>>(curve: T, keys: (keyof T)[], max: number): T {
  const n = curve[keys[0]].length;
  if (n <= max) return curve;
  const idx = evenIndices(n, max);
  const out = { ...curve };
  for (const k of keys) (out as Record<string, number[]>)[k as string] = idx.map((i) => curve[k][i]);
  return out;
}
