import type { TaskMetrics } from "../metrics/evaluate.ts";
import type { EpochLog, TrainState } from "../train/trainer.ts";
import { higherIsBetter } from "../model/spec.ts";
import { formatNumber } from "./table.ts";
import { mostConflicting } from "../train/affinity.ts";

/** `income auc 0.9471 acc 0.9512 · never_married auc 0.9948`: the metrics a person scans for. */
export function formatMetrics(m: Record<string, TaskMetrics>, maxTasks = 6): string {
  const short: Record<string, string> = { accuracy: "acc", logloss: "logloss", explained_variance: "ev", hamming_loss: "ham", ranking_loss: "rank", one_error: "1err", coverage: "cov", average_precision: "ap", micro_f1: "miF1", macro_f1: "maF1", macro_auc: "mAUC" };
  // A multilabel group's entry (binary tasks evaluated as one label set) comes first, outside the task cap.
  const entries = Object.entries(m).sort(([a], [b]) => Number(b === "multilabel") - Number(a === "multilabel"));
  if (m.multilabel) maxTasks++;
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

/**
 * After training with early stopping: whether it stopped, when and why, and which epoch's weights are kept:
 * `early stopping: stopped after epoch 13 of 50: validation mean.accuracy did not improve for 5 epochs (patience 5,
 * higher is better); kept epoch 8 (mean.accuracy 0.9482)`. `st`: the trainer's final state.
 */
export function earlyStopLine(es: { metric: string; patience: number }, st: Pick<TrainState, "stopped" | "epoch" | "best" | "bestEpoch">, epochs: number): string {
  const what = es.metric === "loss" ? "validation loss (mean over tasks of log loss or RMSE)" : `validation ${es.metric}`;
  const rule = `patience ${es.patience}, ${higherIsBetter(es.metric) ? "higher" : "lower"} is better`;
  const kept = st.bestEpoch > 0 && st.best !== null ? `kept epoch ${st.bestEpoch} (${es.metric} ${formatNumber(st.best)})` : `kept the last epoch (${st.epoch}): ${es.metric} was never a finite number`;
  if (st.stopped) return `early stopping: stopped after epoch ${st.epoch} of ${epochs}: ${what} did not improve for ${es.patience} epoch${es.patience === 1 ? "" : "s"} (${rule}); ${kept}`;
  const since = st.bestEpoch > 0 ? `; it last improved at epoch ${st.bestEpoch}` : "";
  return `early stopping: did not stop, ran ${st.epoch} of ${epochs} epochs (${what}, ${rule}${since}); ${kept}`;
}

/** Δm with its sign convention: `Δm vs single-task models: +3.142 % (higher is better: …)`. */
export function deltaMLine(dm: number): string {
  const verdict = dm > 0 ? "the multi-task model beats the single-task ones on average" : dm < 0 ? "the single-task models beat the multi-task one on average" : "no difference on average";
  return `Δm vs single-task models: ${dm >= 0 ? "+" : ""}${dm.toFixed(3)} % (higher is better: ${verdict})`;
}
