// One trial of `mtl tune` on this thread: build the model of a concrete (validated) spec on the shared split, train it
// single-threaded for `epochs`, and score it on the validation rows with the tuning metric. Portable (no node:*).
import type { Kernels } from "../runtime/load.ts";
import { higherIsBetter, type ModelSpec } from "../model/spec.ts";
import type { Table } from "../data/table.ts";
import { buildModel, validationMetrics, type Split } from "../api/train.ts";
import { fit } from "../train/trainer.ts";
import { metricValue, type TaskMetrics } from "../metrics/evaluate.ts";

/** The metric trials are compared on: the spec's training.early_stopping.metric, else "loss" (mean validation loss). */
export function tuneMetric(spec: ModelSpec): { ref: string; higherIsBetter: boolean } {
  const ref = spec.training.early_stopping?.metric ?? "loss";
  return { ref, higherIsBetter: ref !== "loss" && higherIsBetter(ref) };
}

/** Mean over tasks of the validation log-loss or RMSE (as the trainer's "loss" monitor). */
function meanLoss(m: Record<string, TaskMetrics>): number {
  const v = Object.values(m).map((x) => x.logloss ?? x.rmse).filter((x) => x !== undefined && Number.isFinite(x));
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN;
}

/**
 * Train `spec` for `epochs` on `split` (one program, this thread) and return the tuning metric on the validation rows
 * of the weights the run keeps (the best epoch's under early stopping). A diverged run (non-finite objective) gives
 * metric NaN and its message; any other error throws.
 */
export async function runTrial(spec: ModelSpec, table: Table, split: Split, k: Kernels, epochs: number): Promise<{ metric: number; error?: string; seconds: number }> {
  const t0 = performance.now();
  const { model, train, validation } = buildModel(spec, table, split, k);
  try {
    await fit(model, train, validation, { epochs });
    const { metrics } = validationMetrics(model, validation);
    const metric = metricValue(tuneMetric(spec).ref, metrics, meanLoss(metrics));
    return { metric: Number.isFinite(metric) ? metric : NaN, ...(Number.isFinite(metric) ? {} : { error: `the metric is ${metric}` }), seconds: (performance.now() - t0) / 1000 };
  } catch (e) {
    if (e instanceof Error && /not finite|objective/.test(e.message)) return { metric: NaN, error: e.message, seconds: (performance.now() - t0) / 1000 };
    throw e;
  } finally {
    model.dispose();
  }
}
