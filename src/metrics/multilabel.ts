// Multi-label metrics in float64 over n rows × L labels (one binary task per label, or one multilabel task).
// Portable.
//
// Layout: `labels` and `scores` are row-major [n, L]. labels[i·L + j] is 1 (relevant), 0 (irrelevant) or NaN
// (missing: that cell is masked out of every metric). scores are probabilities; a present cell's score must not be NaN.
//
// Conventions (sklearn's where sklearn has the metric; the definitions of Zhang & Zhou 2006/2007 and Mulan otherwise).
// Ranking metrics look, in each row, at its present labels only; ties rank pessimistically: the rank of label j is
// |{k : s_k ≥ s_j}| (1 = top).
//   hamming_loss       fraction of present cells where (p > threshold) ≠ y
//   ranking_loss       per row |{(r, q) : r relevant, q irrelevant, s_r ≤ s_q}| / (|R|·|I|); 0 when R or I is empty
//   one_error          per row 1 when a top-scored label is irrelevant (any label tied at the top score), else 0
//   coverage           per row (rank of the lowest-ranked relevant label) − 1 (Mulan's: sklearn's coverage_error − 1);
//                      0 when the row has no relevant label
//   average_precision  per row mean over relevant j of |{r ∈ R : s_r ≥ s_j}| / rank(j) (sklearn's
//                      label_ranking_average_precision_score); 1 when the row has no relevant label
//   micro_f1           2·TP / (2·TP + FP + FN) over every present cell, predictions p > threshold; 0 when that is 0/0
//   macro_f1           mean over labels (with ≥ 1 present row) of each label's F1; a label with 2·TP + FP + FN = 0
//                      scores 0 (sklearn's zero_division = 0)
//   macro_auc          mean ROC AUC over the labels whose present rows hold both classes (others are skipped); NaN
//                      when no label does
// Row metrics are averaged over the rows with at least one present label (`count`).

import { rocAuc } from "./auc.ts";

/**
 * The multi-label metrics, in report order, over rows × labels with missing cells masked: hamming_loss, ranking_loss,
 * one_error and coverage are losses (lower is better); average_precision, micro_f1, macro_f1 and macro_auc are
 * higher-is-better. F1 and Hamming threshold probabilities at 0.5.
 */
export const MULTILABEL_METRICS = ["hamming_loss", "ranking_loss", "one_error", "coverage", "average_precision", "micro_f1", "macro_f1", "macro_auc"] as const;
/** One of MULTILABEL_METRICS. */
export type MultilabelMetricName = (typeof MULTILABEL_METRICS)[number];
/** The multi-label metrics where a larger value is better (the others are losses). */
export const MULTILABEL_HIGHER_IS_BETTER: readonly MultilabelMetricName[] = ["average_precision", "micro_f1", "macro_f1", "macro_auc"];

/** Default decision threshold on probabilities for hamming_loss and the F1 scores (p > 0.5 predicts relevant). */
export const MULTILABEL_THRESHOLD = 0.5;

function check(what: string, labels: ArrayLike<number>, scores: ArrayLike<number>, L: number): number {
  if (!(Number.isInteger(L) && L >= 1)) throw new Error(`${what}: the number of labels must be a positive integer, got ${L}`);
  if (labels.length !== scores.length) throw new Error(`${what}: labels have ${labels.length} entries but scores have ${scores.length}`);
  if (labels.length % L) throw new Error(`${what}: ${labels.length} entries are not rows of ${L} labels`);
  const n = labels.length / L;
  for (let k = 0; k < labels.length; k++) {
    const y = labels[k];
    if (y !== 0 && y !== 1 && y === y) throw new Error(`${what}: labels[row ${Math.floor(k / L)}, label ${k % L}] = ${y}, expected 0, 1 or NaN (missing)`);
    if (y === y && Number.isNaN(scores[k])) throw new Error(`${what}: scores[row ${Math.floor(k / L)}, label ${k % L}] is NaN where the label is present`);
  }
  return n;
}

/** Per-row ranking statistics of the present labels (see the file comment); null for a row with no present label. */
interface RowRanking {
  rankingLoss: number;
  oneError: number;
  coverage: number;
  averagePrecision: number;
}

function rowRanking(labels: ArrayLike<number>, scores: ArrayLike<number>, base: number, L: number, order: Uint32Array): RowRanking | null {
  let m = 0, R = 0;
  for (let j = 0; j < L; j++) {
    const y = labels[base + j];
    if (y === y) {
      order[m++] = j;
      R += y;
    }
  }
  if (!m) return null;
  const I = m - R;
  const idx = order.subarray(0, m);
  idx.sort((a, b) => scores[base + b] - scores[base + a]);
  // Walk groups of equal scores from the top: cum = labels ranked at or above the group, relCum / irrCum likewise.
  let cum = 0, relCum = 0, irrCum = 0, lossPairs = 0, apSum = 0, lastRelCum = 0, oneError = 0;
  for (let g = 0; g < m; ) {
    const s = scores[base + idx[g]];
    let e = g, rel = 0;
    while (e < m && scores[base + idx[e]] === s) rel += labels[base + idx[e++]];
    const size = e - g;
    cum += size;
    relCum += rel;
    irrCum += size - rel;
    if (g === 0) oneError = rel < size ? 1 : 0;
    if (rel) {
      lossPairs += rel * irrCum;
      apSum += (rel * relCum) / cum;
      lastRelCum = cum;
    }
    g = e;
  }
  return {
    rankingLoss: R && I ? lossPairs / (R * I) : 0,
    oneError,
    coverage: R ? lastRelCum - 1 : 0,
    averagePrecision: R ? apSum / R : 1,
  };
}

/** Confusion counts per label over the present rows, predictions p > threshold. */
function confusion(labels: ArrayLike<number>, scores: ArrayLike<number>, n: number, L: number, threshold: number) {
  const tp = new Float64Array(L), fp = new Float64Array(L), fn = new Float64Array(L), present = new Float64Array(L);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < L; j++) {
      const y = labels[i * L + j];
      if (y !== y) continue;
      present[j]++;
      const p = scores[i * L + j] > threshold;
      if (p && y === 1) tp[j]++;
      else if (p) fp[j]++;
      else if (y === 1) fn[j]++;
    }
  }
  return { tp, fp, fn, present };
}

const f1 = (tp: number, fp: number, fn: number) => (2 * tp + fp + fn > 0 ? (2 * tp) / (2 * tp + fp + fn) : 0);

/**
 * The multi-label metrics `which` (default all) of [n, L] labels and scores, plus `count` (rows with at least one
 * present label). Every metric is NaN when no cell is present.
 */
export function multilabelMetrics(labels: ArrayLike<number>, scores: ArrayLike<number>, L: number, which: readonly MultilabelMetricName[] = MULTILABEL_METRICS, threshold = MULTILABEL_THRESHOLD): Record<string, number> {
  const n = check("multilabelMetrics", labels, scores, L);
  const out: Record<string, number> = {};
  const want = new Set(which);
  const ranking = ["ranking_loss", "one_error", "coverage", "average_precision"].some((m) => want.has(m as MultilabelMetricName));
  let rows = 0, rl = 0, oe = 0, cov = 0, ap = 0;
  const order = new Uint32Array(L);
  for (let i = 0; i < n; i++) {
    let any = false;
    for (let j = 0; j < L && !any; j++) any = labels[i * L + j] === labels[i * L + j];
    if (!any) continue;
    rows++;
    if (!ranking) continue;
    const r = rowRanking(labels, scores, i * L, L, order)!;
    rl += r.rankingLoss;
    oe += r.oneError;
    cov += r.coverage;
    ap += r.averagePrecision;
  }
  out.count = rows;
  const { tp, fp, fn, present } = confusion(labels, scores, n, L, threshold);
  let cells = 0, wrong = 0, TP = 0, FP = 0, FN = 0, f1Sum = 0, f1Labels = 0;
  for (let j = 0; j < L; j++) {
    cells += present[j];
    wrong += fp[j] + fn[j];
    TP += tp[j];
    FP += fp[j];
    FN += fn[j];
    if (present[j]) (f1Sum += f1(tp[j], fp[j], fn[j])), f1Labels++;
  }
  const per = (x: number) => (rows ? x / rows : NaN);
  for (const m of which) {
    switch (m) {
      case "hamming_loss":
        out.hamming_loss = cells ? wrong / cells : NaN;
        break;
      case "ranking_loss":
        out.ranking_loss = per(rl);
        break;
      case "one_error":
        out.one_error = per(oe);
        break;
      case "coverage":
        out.coverage = per(cov);
        break;
      case "average_precision":
        out.average_precision = per(ap);
        break;
      case "micro_f1":
        out.micro_f1 = cells ? f1(TP, FP, FN) : NaN;
        break;
      case "macro_f1":
        out.macro_f1 = f1Labels ? f1Sum / f1Labels : NaN;
        break;
      case "macro_auc":
        out.macro_auc = macroAuc(labels, scores, L);
        break;
      default:
        throw new Error(`multilabelMetrics: unknown metric ${JSON.stringify(m)}; expected one of ${MULTILABEL_METRICS.join(", ")}`);
    }
  }
  return out;
}

/** Mean ROC AUC over the labels whose present rows hold both classes; NaN when none does. */
export function macroAuc(labels: ArrayLike<number>, scores: ArrayLike<number>, L: number): number {
  const n = check("macroAuc", labels, scores, L);
  let sum = 0, k = 0;
  for (let j = 0; j < L; j++) {
    const y: number[] = [], s: number[] = [];
    for (let i = 0; i < n; i++) {
      const v = labels[i * L + j];
      if (v === v) y.push(v), s.push(scores[i * L + j]);
    }
    const a = rocAuc(y, s);
    if (a === a) (sum += a), k++;
  }
  return k ? sum / k : NaN;
}

/** One metric of multilabelMetrics (see the file comment). */
export function multilabelMetric(name: MultilabelMetricName, labels: ArrayLike<number>, scores: ArrayLike<number>, L: number, threshold = MULTILABEL_THRESHOLD): number {
  return multilabelMetrics(labels, scores, L, [name], threshold)[name];
}
