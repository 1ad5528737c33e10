import type { TaskMetrics } from "../metrics/evaluate.ts";

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
