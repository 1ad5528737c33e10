// Per-task metrics of a model's predictions against encoded labels (rows whose label is missing are skipped).
import type { ModelSpec, Task } from "../model/spec.ts";
import type { Encoded, Preprocessing } from "../data/preprocess.ts";
import { rocAuc } from "./auc.ts";
import { binaryAccuracy, binaryLogLoss, multiclassAccuracy, multiclassLogLoss } from "./classification.ts";
import { explainedVariance, mae, r2, rmse } from "./regression.ts";
import { iouRate, meanIou } from "./box.ts";

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
    }
  }
  return out;
}

/** Metrics for every task, keyed by task name. */
export function evaluatePredictions(spec: ModelSpec, pre: Preprocessing, widths: number[], preds: Float32Array[], data: Encoded): Record<string, TaskMetrics> {
  const out: Record<string, TaskMetrics> = {};
  spec.tasks.forEach((t, i) => (out[t.name] = taskMetrics(t, widths[i], preds[i], data.tasks[i].labels, data.tasks[i].mask, pre.tasks[i].target)));
  return out;
}

/** Resolve a metric reference (`loss`, `TASK.METRIC`, `mean.METRIC`) against evaluated metrics. */
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
