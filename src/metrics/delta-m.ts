// Δm (%): the average relative improvement of a multi-task model over single-task baselines, as LibMTL computes it
// (LibMTL/utils.py count_improvement, and Maninis et al. 2019 / Vandenhende et al.):
//
//   Δm = 100 · (1/T) · Σ_t (1/M_t) · Σ_m (−1)^{w_t,m} · (B_t,m − N_t,m) / B_t,m
//
// with B the single-task (baseline) metric, N the multi-task one, and w = 1 when HIGHER is better (LibMTL's task_dict
// 'weight': [1] for mIoU/accuracy, [0] for errors). Rewritten per metric:
//   higher is better (AUC, accuracy, R²):  +(N − B) / B
//   lower is better  (RMSE, MAE, loss):    −(N − B) / B = (B − N) / B
// so an IMPROVEMENT always counts POSITIVE and Δm > 0 means the MTL model is better on average. A task with several
// metrics first averages them (1/M_t), then tasks are averaged with equal weight. Portable.

/** One metric of one task: the multi-task model's value and the single-task baseline's. */
export interface DeltaMMetric {
  /** Metric of the multi-task model. */
  mtl: number;
  /** The same metric of the single-task baseline; must be non-zero. */
  single: number;
  /** true for AUC, accuracy, R² (an increase is an improvement); false for errors and losses. */
  higherIsBetter: boolean;
  /** Name in error messages, e.g. "income.auc". */
  name?: string;
}

/** A task: one metric, or several that are averaged first (as LibMTL does). */
export type DeltaMTask =
  | DeltaMMetric
  | {
      /** The task's name in error messages. */
      name?: string;
      /** Its metrics, averaged with equal weight. */
      metrics: readonly DeltaMMetric[];
    };

/** Relative improvement of one metric in % (positive = better than the baseline). */
export function relativeImprovement(m: DeltaMMetric): number {
  const label = m.name ? `"${m.name}"` : "metric";
  if (!Number.isFinite(m.mtl) || !Number.isFinite(m.single)) throw new Error(`deltaM: ${label}: values must be finite (mtl ${m.mtl}, single ${m.single})`);
  if (m.single === 0) throw new Error(`deltaM: ${label}: the single-task value is 0, so the relative change is undefined`);
  const sign = m.higherIsBetter ? 1 : -1;
  return (sign * (m.mtl - m.single) / m.single) * 100;
}

/** Δm in percent over the tasks (see the file comment for the sign convention). Throws for an empty list. */
export function deltaM(tasks: readonly DeltaMTask[]): number {
  if (!tasks.length) throw new Error("deltaM: no tasks");
  let sum = 0;
  for (const t of tasks) {
    if ("metrics" in t) {
      if (!t.metrics.length) throw new Error(`deltaM: task ${t.name ?? "?"} has no metrics`);
      let s = 0;
      for (const m of t.metrics) s += relativeImprovement(m);
      sum += s / t.metrics.length;
    } else {
      sum += relativeImprovement(t);
    }
  }
  return sum / tasks.length;
}
