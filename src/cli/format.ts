import type { TaskMetrics } from "../metrics/evaluate.ts";
import type { EpochLog } from "../train/trainer.ts";
import { mostConflicting } from "../train/affinity.ts";

/** `income auc 0.9471 acc 0.9512 · never_married auc 0.9948`: the metrics a person scans for. */
export function formatMetrics(m: Record<string, TaskMetrics>, maxTasks = 6): string {
  const short: Record<string, string> = { accuracy: "acc", logloss: "logloss", explained_variance: "ev" };
  const entries = Object.entries(m);
  const shown = entries.slice(0, maxTasks).map(
    ([t, v]) =>
      `${t} ${Object.entries(v)
        .filter(([k]) => k !== "count")
        .map(([k, x]) => `${short[k] ?? k} ${Number.isFinite(x) ? x.toFixed(4) : x}`)
        .join(" ")}`,
  );
  if (entries.length > maxTasks) shown.push(`… ${entries.length - maxTasks} more tasks`);
  return shown.join(" · ");
}

/**
 * The progress line of one epoch: time, per-task losses, relation values, task weights, validation metrics, and,
 * when task affinity is recorded, the most conflicting pair (lowest mean gradient cosine): `conflict bin~reg cos -0.31`.
 * `names`: the tasks in spec order (the affinity matrices' order).
 */
export function epochLine(l: EpochLog, epochs: number, names: readonly string[] = Object.keys(l.trainLoss)): string {
  const num = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(1) : x.toPrecision(4));
  const loss = Object.entries(l.trainLoss).map(([t, v]) => `${t} ${num(v)}`).join(", ");
  const w = Object.entries(l.weights).map(([t, v]) => `${t} ${num(v)}`).join(", ");
  const rel = l.relations.length ? `  relation ${l.relations.map(num).join(", ")}` : "";
  const val = l.validation ? `  val ${formatMetrics(l.validation)}` : "";
  const c = l.affinity && mostConflicting(l.affinity);
  const conflict = c ? `  conflict ${names[c.i]}~${names[c.j]} cos ${c.cosine.toFixed(2)}` : "";
  return `epoch ${l.epoch}/${epochs} ${l.seconds.toFixed(1)}s  loss ${loss}${rel}  weights ${w}${val}${conflict}`;
}
