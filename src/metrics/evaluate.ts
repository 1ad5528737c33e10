// Per-task metrics of a model's predictions against encoded labels (rows whose label is missing are skipped), and the
// multi-label metrics of a spec's `multilabel` group of binary tasks.
import type { ModelSpec, Task } from "../model/spec.ts";
import type { Encoded, Preprocessing } from "../data/preprocess.ts";
import { rocAuc } from "./auc.ts";
import { binaryAccuracy, binaryLogLoss, multiclassAccuracy, multiclassLogLoss } from "./classification.ts";
import { explainedVariance, mae, r2, rmse } from "./regression.ts";
import { iouRate, meanIou } from "./box.ts";
import { MULTILABEL_METRICS, multilabelMetrics, type MultilabelMetricName } from "./multilabel.ts";
import { sentenceAccuracy, spanScores } from "./spans.ts";
import { decodeTags } from "../data/tokens.ts";

/**
 * One task's metrics by name: `count` (rows with the label present) and each of the task's `metrics` (spec names,
 * e.g. auc, rmse; regression in the label's units; multilabel and multi-output tasks average over their columns).
 * Only `count` when no row has the label.
 */
export type TaskMetrics = Record<string, number>;

/** Rows (indices) whose labels are present. */
function present(mask: Float32Array): number[] {
  const r: number[] = [];
  for (let i = 0; i < mask.length; i++) if (mask[i] > 0) r.push(i);
  return r;
}

/**
 * Metrics of one task; multilabel and multi-output regression average over their columns (macro).
 * `target` maps standardized regression labels back to their units (predictions are already in them).
 */
export function taskMetrics(task: Task, width: number, pred: Float32Array, labels: Float32Array | Int32Array, mask: Float32Array, target: { mean: number; std: number }[] | null = null): TaskMetrics {
  const rows = present(mask);
  const out: TaskMetrics = { count: rows.length };
  if (!rows.length) return out;
  if (task.type === "multiclass") {
    const y = rows.map((i) => labels[i]);
    const p = new Float64Array(rows.length * width);
    rows.forEach((i, k) => p.set(pred.subarray(i * width, i * width + width), k * width));
    for (const m of task.metrics) {
      if (m === "accuracy") out.accuracy = multiclassAccuracy(y, p, width);
      else if (m === "logloss") out.logloss = multiclassLogLoss(y, p, width);
    }
    return out;
  }
  const cols = Array.from({ length: width }, (_, j) => ({
    y: rows.map((i) => (target ? labels[i * width + j] * target[j].std + target[j].mean : labels[i * width + j])),
    p: rows.map((i) => pred[i * width + j]),
  }));
  const avg = (f: (y: number[], p: number[]) => number) => cols.reduce((s, c) => s + f(c.y, c.p), 0) / width;
  // Multi-label metrics (multilabel tasks) read the present rows as one [rows, width] block.
  const ml = task.metrics.filter((m): m is MultilabelMetricName => (MULTILABEL_METRICS as readonly string[]).includes(m));
  let mlValues: Record<string, number> = {};
  if (ml.length) {
    const y = new Float64Array(rows.length * width), p = new Float64Array(rows.length * width);
    rows.forEach((i, k) => {
      for (let j = 0; j < width; j++) (y[k * width + j] = labels[i * width + j]), (p[k * width + j] = pred[i * width + j]);
    });
    mlValues = multilabelMetrics(y, p, width, ml);
  }
  // Box metrics read each row's 4 outputs (labels mapped back to their units) as one box [x0, y0, x1, y1].
  const boxes = () => ({ y: rows.flatMap((_, k) => cols.map((c) => c.y[k])), p: rows.flatMap((_, k) => cols.map((c) => c.p[k])) });
  for (const m of task.metrics) {
    switch (m) {
      case "auc":
        out.auc = avg(rocAuc);
        break;
      case "accuracy":
        out.accuracy = avg((y, p) => binaryAccuracy(y, p));
        break;
      case "logloss":
        out.logloss = avg(binaryLogLoss);
        break;
      case "rmse":
        out.rmse = avg(rmse);
        break;
      case "mae":
        out.mae = avg(mae);
        break;
      case "r2":
        out.r2 = avg(r2);
        break;
      case "explained_variance":
        out.explained_variance = avg(explainedVariance);
        break;
      case "iou": {
        const b = boxes();
        out.iou = meanIou(b.y, b.p);
        break;
      }
      case "iou50": {
        const b = boxes();
        out.iou50 = iouRate(b.y, b.p, 0.5);
        break;
      }
      default:
        if (m in mlValues) out[m] = mlValues[m];
    }
  }
  return out;
}

/**
 * Metrics for every task, keyed by task name; with a `multilabel` group in the spec, also `multilabel`: its metrics
 * (src/metrics/multilabel.ts) and `count`, the rows with at least one of the group's labels present. The group is
 * left out when one of its tasks is not in `spec.tasks` (a single-task model cut from the spec).
 */
export function evaluatePredictions(spec: ModelSpec, pre: Preprocessing, widths: number[], preds: Float32Array[], data: Encoded): Record<string, TaskMetrics> {
  const out: Record<string, TaskMetrics> = {};
  spec.tasks.forEach((t, i) => (out[t.name] = t.type === "tagging" ? taggingMetrics(spec, pre, i, widths, preds, data) : taskMetrics(t, widths[i], preds[i], data.tasks[i].labels, data.tasks[i].mask, pre.tasks[i].target)));
  if (spec.multilabel) {
    const g = groupMetrics(spec, preds, data);
    if (g) out.multilabel = g;
  }
  return out;
}

/**
 * Each row's predicted tags as strings: the most probable class at each of its first min(n, L) tokens (the lowest
 * class on ties), "O" past L (truncation, src/data/tokens.ts decodeTags), n = the row's token count. `probs` is
 * [rows, L, C].
 */
export function predictedTags(probs: Float32Array, L: number, classes: readonly string[], lengths: ArrayLike<number>, rows: ArrayLike<number>): string[][] {
  const C = classes.length;
  return Array.from(rows, (r) => {
    const m = Math.min(lengths[r], L), ids = new Int32Array(m);
    for (let j = 0; j < m; j++) {
      const at = (r * L + j) * C;
      let best = 0;
      for (let c = 1; c < C; c++) if (probs[at + c] > probs[at + best]) best = c;
      ids[j] = best;
    }
    return decodeTags(ids, lengths[r], classes);
  });
}

/**
 * A tagging task's metrics over its labelled rows, against each row's full gold tag sequence (Encoded.gold; tags
 * past max_length count as predicted "O"): `count` (rows), span_f1 (CoNLL, src/metrics/spans.ts), accuracy (per
 * token) and sentence_accuracy (the spec's one multiclass task's class right too, over the rows labelled for both).
 */
function taggingMetrics(spec: ModelSpec, pre: Preprocessing, i: number, widths: number[], preds: Float32Array[], data: Encoded): TaskMetrics {
  const t = spec.tasks[i], enc = data.tasks[i], tok = data.tokens;
  if (!tok || !enc.gold) throw new Error(`task ${t.name}: tagging metrics need the encoded tokens and gold tags (encode with labels)`);
  const rows = present(enc.mask);
  const out: TaskMetrics = { count: rows.length };
  if (!rows.length) return out;
  const classes = pre.tasks[i].classes!, L = tok.maxLength;
  const pred = predictedTags(preds[i], L, classes, tok.lengths, rows);
  const gold = rows.map((r) => enc.gold![r]!);
  const s = spanScores(gold, pred);
  for (const m of t.metrics) {
    if (m === "span_f1") out.span_f1 = s.f1;
    else if (m === "accuracy") out.accuracy = s.accuracy;
    else if (m === "sentence_accuracy") {
      const ci = spec.tasks.findIndex((x) => x.type === "multiclass"), W = widths[ci], cls = data.tasks[ci];
      const both = rows.map((r, k) => [r, k] as const).filter(([r]) => cls.mask[r] > 0);
      const argmax = (r: number) => {
        let b = 0;
        for (let c = 1; c < W; c++) if (preds[ci][r * W + c] > preds[ci][r * W + b]) b = c;
        return b;
      };
      out.sentence_accuracy = sentenceAccuracy(both.map(([r]) => cls.labels[r]), both.map(([r]) => argmax(r)), both.map(([, k]) => gold[k]), both.map(([, k]) => pred[k]));
    }
  }
  return out;
}

/** Metrics that are computed column by column, so they have a value per output. */
const COLUMN_METRICS = new Set(["auc", "accuracy", "logloss", "rmse", "mae", "r2", "explained_variance"]);

/**
 * Per output column of every multi-output task (multilabel, multi-output regression): the task's column-wise
 * metrics on that column alone, keyed by task name, then label column (in the label's units). What the task's macro
 * average hides: a pooled RMSE over outputs whose scales differ 400× is the largest output's. Box metrics (iou, iou50)
 * read the 4 columns together and are left out; single-output tasks have no entry.
 */
export function perOutputMetrics(spec: ModelSpec, pre: Preprocessing, widths: number[], preds: Float32Array[], data: Encoded): Record<string, Record<string, TaskMetrics>> {
  const out: Record<string, Record<string, TaskMetrics>> = {};
  spec.tasks.forEach((t, i) => {
    const w = widths[i];
    const metrics = t.metrics.filter((m) => COLUMN_METRICS.has(m));
    if (t.type === "multiclass" || t.type === "tagging" || w < 2 || !metrics.length) return;
    const { labels, mask } = data.tasks[i];
    const target = pre.tasks[i].target;
    const n = mask.length, one: Task = { ...t, metrics };
    out[t.name] = Object.fromEntries(
      t.labels.map((label, j) => {
        const p = new Float32Array(n), y = new Float32Array(n);
        for (let r = 0; r < n; r++) (p[r] = preds[i][r * w + j]), (y[r] = labels[r * w + j]);
        return [label, taskMetrics(one, 1, p, y, mask, target ? [target[j]] : null)];
      }),
    );
  });
  return out;
}

/**
 * The multilabel group's metrics: labels and probabilities of its binary tasks gathered into [rows, L] (a task's
 * masked rows become missing cells), or null when a task of the group is absent from the spec.
 */
export function groupMetrics(spec: ModelSpec, preds: Float32Array[], data: Encoded): TaskMetrics | null {
  const g = spec.multilabel;
  if (!g) return null;
  const idx = g.tasks.map((n) => spec.tasks.findIndex((t) => t.name === n));
  if (idx.some((i) => i < 0)) return null;
  const L = idx.length, n = data.rows;
  const y = new Float64Array(n * L), p = new Float64Array(n * L);
  idx.forEach((ti, j) => {
    const { labels, mask } = data.tasks[ti];
    const pr = preds[ti];
    for (let i = 0; i < n; i++) {
      const present = mask[i] > 0;
      y[i * L + j] = present ? labels[i] : NaN;
      p[i * L + j] = present ? pr[i] : NaN;
    }
  });
  return multilabelMetrics(y, p, L, g.metrics);
}

/** Resolve a metric reference (`loss`, `TASK.METRIC`, `mean.METRIC`, `multilabel.METRIC`) against evaluated metrics. */
export function metricValue(ref: string, metrics: Record<string, TaskMetrics>, loss: number): number {
  if (ref === "loss") return loss;
  const dot = ref.lastIndexOf(".");
  const who = ref.slice(0, dot), m = ref.slice(dot + 1);
  if (who === "mean") {
    const v = Object.values(metrics).map((x) => x[m]).filter((x) => x !== undefined && Number.isFinite(x));
    return v.reduce((a, b) => a + b, 0) / v.length;
  }
  return metrics[who]?.[m] ?? NaN;
}
