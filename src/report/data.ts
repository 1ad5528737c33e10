// What `mtl report` shows, assembled from a model directory's files and the model's predictions on the validation
// rows: plain JSON the report page (src/report/page.ts) draws. Pure: the caller reads the files and runs the model
// (src/report/load.ts); nothing here reads a clock, so the same inputs give the same data, byte for byte.
// Portable: no node:* imports.
import type { ModelSpec, Task } from "../model/spec.ts";
import type { Preprocessing } from "../data/preprocess.ts";
import type { Summary } from "../graph/summary.ts";
import { opText } from "../graph/summary.ts";
import { higherIsBetter } from "../model/spec.ts";
import { relativeImprovement } from "../metrics/delta-m.ts";
import { calibrationBins, confusionMatrix, evenIndices, prCurve, rocCurve, thin, type CalibrationBin } from "./curves.ts";

/** Points kept per ROC / PR curve, per scatter plot and per step series (evenly spaced; see curves.ts thin). */
export const MAX_CURVE_POINTS = 1000;
export const MAX_SCATTER_POINTS = 2000;
export const MAX_STEPS = 2000;
export const CALIBRATION_BINS = 10;

type Num = number | null;

export interface BinaryColumn {
  label: string;
  rows: number;
  positives: number;
  roc: { fpr: number[]; tpr: number[]; auc: number } | null;
  pr: { recall: number[]; precision: number[]; ap: number; base: number } | null;
  calibration: CalibrationBin[];
}

export interface TaskReport {
  name: string;
  type: Task["type"];
  loss: string;
  /** 1-based epochs of the history. */
  epochs: number[];
  trainLoss: Num[];
  /** Validation loss per epoch, derived from the validation metrics when the loss allows (see validationLoss). */
  validationLoss: Num[];
  /** How validationLoss was derived, or why there is none. */
  validationLossNote: string;
  /** Each validation metric per epoch. */
  metrics: { name: string; values: Num[]; higherIsBetter: boolean }[];
  /** The kept model's validation metrics (metrics.json's validation). */
  final: Record<string, number>;
  binary?: BinaryColumn[];
  multiclass?: { classes: string[]; matrix: number[][]; rows: number };
  regression?: { label: string; rows: number; shown: number; actual: number[]; predicted: number[] }[];
}

export interface ReportData {
  model: string;
  architecture: string;
  /** The epoch whose weights were kept (early stopping's best, else the last). */
  keptEpoch: number;
  epochsRun: number;
  rows: { train: number | null; validation: number };
  tasks: TaskReport[];
  /** steps.csv: per-step task losses and the weights the balancing strategy used (thinned to MAX_STEPS rows). */
  steps: { step: number[]; epoch: number[]; loss: Record<string, Num[]>; weight: Record<string, Num[]>; total: number } | null;
  /** Per-epoch task affinity (affinity.json, else metrics.json's history), when it was recorded. */
  affinity: { tasks: string[]; epochs: number[]; cosine: Num[][][]; tag: Num[][][] } | null;
  /** Δm against the single-task runs of `mtl train --single-task`, when present. */
  deltaM: { value: number; rows: { task: string; metric: string; mtl: number; single: number; improvement: number }[] } | null;
  summary: { rows: { name: string; op: string; shape: string; params: number; role: string }[]; byRole: Record<string, number>; parameters: number; tensors: number };
  spec: ModelSpec;
  /** How the run was made: data, seed, times, runtime (the only place a timestamp may appear). */
  environment: Record<string, string | number | boolean | null>;
}

/** One epoch of metrics.json's history (trainer.ts EpochLog as JSON). */
export interface HistoryEntry {
  epoch: number;
  trainLoss: Record<string, number>;
  weights?: Record<string, number>;
  validation: Record<string, Record<string, number>> | null;
  affinity?: { cosine: Num[][]; tag: Num[][]; steps: number };
}

export interface ReportInputs {
  spec: ModelSpec;
  pre: Preprocessing;
  /** DIR/metrics.json (parsed). */
  metrics: Record<string, unknown>;
  /** DIR/steps.csv text, or null. */
  steps: string | null;
  /** DIR/affinity.json (parsed), or null. */
  affinity: { tasks: string[]; epochs: { epoch: number; cosine: Num[][]; tag: Num[][] }[] } | null;
  summary: Summary;
  /** The model's output width per task, and its predictions on the validation rows ([rows, width] each). */
  widths: number[];
  predictions: Float32Array[];
  /** The validation rows' encoded labels and masks (Encoded.tasks). */
  labels: { labels: Float32Array | Int32Array; mask: Float32Array }[];
  validationRows: number;
}

const finite = (v: unknown): Num => (typeof v === "number" && Number.isFinite(v) ? v : null);

/**
 * The validation loss of an epoch as the training loss defines it, from its validation metrics: bce and xent are
 * the log-loss (without pos_weight); mse is (RMSE / std)² and mae is MAE / std on one standardized column (the
 * network trains on standardized targets; RMSE and MAE are reported in the label's units). Otherwise none.
 */
export function validationLossOf(task: Task, target: { mean: number; std: number }[] | null): { note: string; from: (m: Record<string, number> | undefined) => Num } {
  const has = (m: string) => (task.metrics as string[]).includes(m);
  if ((task.loss === "bce" && task.pos_weight === 1) || task.loss === "xent") {
    if (has("logloss")) return { note: "validation log-loss", from: (m) => finite(m?.logloss) };
    return { note: "no validation loss: the task's metrics do not include logloss", from: () => null };
  }
  if ((task.loss === "mse" || task.loss === "mae") && target && target.length === 1) {
    const std = target[0].std;
    if (task.loss === "mse" && has("rmse")) return { note: "validation (RMSE / std)², standardized as trained", from: (m) => (finite(m?.rmse) === null ? null : (m!.rmse / std) ** 2) };
    if (task.loss === "mae" && has("mae")) return { note: "validation MAE / std, standardized as trained", from: (m) => (finite(m?.mae) === null ? null : m!.mae / std) };
  }
  return { note: `no validation loss: loss ${task.loss}${task.pos_weight !== 1 ? ` with pos_weight ${task.pos_weight}` : ""} is not derivable from the validation metrics`, from: () => null };
}

/** Rows whose labels are present. */
function present(mask: Float32Array): number[] {
  const r: number[] = [];
  for (let i = 0; i < mask.length; i++) if (mask[i] > 0) r.push(i);
  return r;
}

/** The per-row analyses of one task: ROC / PR / calibration, confusion matrix, or predicted vs actual. */
function taskPlots(task: Task, pre: Preprocessing["tasks"][number], width: number, pred: Float32Array, labels: Float32Array | Int32Array, mask: Float32Array): Pick<TaskReport, "binary" | "multiclass" | "regression"> {
  const rows = present(mask);
  if (task.type === "multiclass") {
    const y = rows.map((i) => labels[i]);
    const p = new Float64Array(rows.length * width);
    rows.forEach((i, k) => p.set(pred.subarray(i * width, (i + 1) * width), k * width));
    const classes = pre.classes ?? Array.from({ length: width }, (_, k) => String(k));
    return { multiclass: { classes, matrix: confusionMatrix(y, p, width), rows: rows.length } };
  }
  if (task.type === "tagging") {
    // Token level: labels int32 [N, L] (−1 at padding and unlabelled tokens), pred [N, L, width] (width = tags).
    const y: number[] = [], p: number[] = [];
    for (let e = 0; e < labels.length; e++) if (labels[e] >= 0) y.push(labels[e]), p.push(...pred.subarray(e * width, (e + 1) * width));
    const classes = pre.classes ?? Array.from({ length: width }, (_, k) => String(k));
    return { multiclass: { classes, matrix: confusionMatrix(y, p, width), rows: y.length } };
  }
  const names = task.labels.length === width ? task.labels : Array.from({ length: width }, (_, j) => `${task.name}[${j}]`);
  if (task.type === "binary" || task.type === "multilabel") {
    return {
      binary: names.map((label, j) => {
        const y = rows.map((i) => labels[i * width + j]), s = rows.map((i) => pred[i * width + j]);
        const roc = rocCurve(y, s), pr = prCurve(y, s);
        return {
          label,
          rows: rows.length,
          positives: y.reduce((a, b) => a + b, 0),
          roc: roc && { ...thin({ fpr: roc.fpr, tpr: roc.tpr }, ["fpr", "tpr"], MAX_CURVE_POINTS), auc: roc.auc },
          pr: pr && { ...thin({ recall: pr.recall, precision: pr.precision }, ["recall", "precision"], MAX_CURVE_POINTS), ap: pr.ap, base: pr.base },
          calibration: calibrationBins(y, s, CALIBRATION_BINS),
        };
      }),
    };
  }
  const target = pre.target;
  const keep = evenIndices(rows.length, MAX_SCATTER_POINTS).map((k) => rows[k]);
  return {
    regression: names.map((label, j) => ({
      label,
      rows: rows.length,
      shown: keep.length,
      actual: keep.map((i) => (target ? labels[i * width + j] * target[j].std + target[j].mean : labels[i * width + j])),
      predicted: keep.map((i) => pred[i * width + j]),
    })),
  };
}

/** steps.csv → per-task series (thinned to MAX_STEPS evenly spaced rows). */
export function parseSteps(text: string, tasks: string[]): ReportData["steps"] {
  const lines = text.trim().split("\n");
  if (lines.length < 2) return null;
  const head = lines[0].split(",");
  const col = (name: string) => head.indexOf(name);
  const all = lines.slice(1).map((l) => l.split(",").map(Number));
  const keep = evenIndices(all.length, MAX_STEPS).map((i) => all[i]);
  const series = (prefix: string) => Object.fromEntries(tasks.map((t) => [t, col(`${prefix}:${t}`) < 0 ? [] : keep.map((r) => finite(r[col(`${prefix}:${t}`)]))]));
  return { step: keep.map((r) => r[col("step")]), epoch: keep.map((r) => r[col("epoch")]), loss: series("loss"), weight: series("weight"), total: all.length };
}

/** The per-epoch part of each task's report (what the training-curve charts draw), from the run's history. */
export function taskCurves(spec: ModelSpec, pre: Preprocessing, history: readonly HistoryEntry[], validation: Record<string, Record<string, number>>): TaskReport[] {
  const epochs = history.map((h) => h.epoch);
  return spec.tasks.map((t, i) => {
    const vl = validationLossOf(t, pre.tasks[i].target);
    return {
      name: t.name,
      type: t.type,
      loss: t.loss,
      epochs,
      trainLoss: history.map((h) => finite(h.trainLoss?.[t.name])),
      validationLoss: history.map((h) => vl.from(h.validation?.[t.name])),
      validationLossNote: vl.note,
      metrics: (t.metrics as string[]).map((m) => ({ name: m, values: history.map((h) => finite(h.validation?.[t.name]?.[m])), higherIsBetter: higherIsBetter(m) })),
      final: validation[t.name] ?? {},
    };
  });
}

export function assembleReport(inp: ReportInputs): ReportData {
  const { spec, pre, metrics } = inp;
  const history = (Array.isArray(metrics.history) ? metrics.history : []) as HistoryEntry[];
  const validation = (metrics.validation ?? {}) as Record<string, Record<string, number>>;
  const tasks: TaskReport[] = taskCurves(spec, pre, history, validation).map((t, i) => ({
    ...t,
    ...taskPlots(spec.tasks[i], pre.tasks[i], inp.widths[i], inp.predictions[i], inp.labels[i].labels, inp.labels[i].mask),
  }));
  const names = spec.tasks.map((t) => t.name);

  let affinity: ReportData["affinity"] = null;
  const fromFile = inp.affinity?.epochs?.length ? inp.affinity.epochs : null;
  const fromHistory = history.filter((h) => h.affinity).map((h) => ({ epoch: h.epoch, cosine: h.affinity!.cosine, tag: h.affinity!.tag }));
  const aff = fromFile ?? (fromHistory.length ? fromHistory : null);
  if (aff) affinity = { tasks: inp.affinity?.tasks ?? names, epochs: aff.map((e) => e.epoch), cosine: aff.map((e) => e.cosine), tag: aff.map((e) => e.tag) };

  let deltaM: ReportData["deltaM"] = null;
  const single = metrics.single_task as Record<string, Record<string, number>> | undefined;
  if (single && typeof metrics.delta_m === "number") {
    const rows: NonNullable<ReportData["deltaM"]>["rows"] = [];
    for (const t of spec.tasks)
      for (const m of t.metrics as string[]) {
        const mtl = validation[t.name]?.[m], s = single[t.name]?.[m];
        if (!Number.isFinite(mtl) || !Number.isFinite(s) || s === 0) continue;
        rows.push({ task: t.name, metric: m, mtl, single: s, improvement: relativeImprovement({ mtl, single: s, higherIsBetter: higherIsBetter(m) }) });
      }
    deltaM = { value: metrics.delta_m, rows };
  }

  const s = inp.summary;
  const rowsInfo = (metrics.rows ?? {}) as { train?: number; validation?: number };
  const env = (metrics.environment ?? {}) as Record<string, string | number | boolean | null>;
  const environment: ReportData["environment"] = {
    data: typeof metrics.data === "string" ? metrics.data : (spec.data?.path ?? null),
    seed: spec.training.seed,
    "weighting": spec.training.weighting.type,
    "optimizer": `${spec.training.optimizer.type}, lr ${spec.training.optimizer.lr}, batch ${spec.training.batch_size}`,
    "rows (train / validation)": `${rowsInfo.train ?? "?"} / ${rowsInfo.validation ?? inp.validationRows}`,
    "epochs run": finite(metrics.epochs_run) ?? history.length,
    "kept epoch": finite(metrics.best_epoch) ?? history.length,
    "training time (s)": finite(metrics.train_seconds) === null ? null : +(metrics.train_seconds as number).toFixed(1),
    ...env,
  };
  return {
    model: spec.name,
    architecture: spec.architecture.type,
    keptEpoch: finite(metrics.best_epoch) ?? history.length,
    epochsRun: finite(metrics.epochs_run) ?? history.length,
    rows: { train: rowsInfo.train ?? null, validation: inp.validationRows },
    tasks,
    steps: inp.steps ? parseSteps(inp.steps, names) : null,
    affinity,
    deltaM,
    summary: { rows: s.rows.map((r) => ({ name: r.name, op: opText(r), shape: r.shape, params: r.params, role: r.role })), byRole: s.totals.byRole, parameters: s.totals.parameters, tensors: s.totals.tensors },
    spec,
    environment,
  };
}
