// Data checks before training: problems that make a run meaningless (level "error": nothing to train on) or partly
// meaningless (level "warning": a task that cannot learn, a column that carries no information, no validation).
// A pure function of the spec, the table, the split and (optionally) the fitted preprocessing; the caller prints the
// lines and stops on an error. Portable.
import type { ModelSpec, Task } from "../model/spec.ts";
import type { Preprocessing } from "./preprocess.ts";
import { parseFiniteNumber, type Table } from "./table.ts";

/** A finding of the data checks before training (see dataWarnings). */
export interface DataWarning {
  /** "error": training would be meaningless (no training rows), so it stops; "warning": it goes on. */
  level: "warning" | "error";
  /** One line naming the file and the task or column, e.g. `d.csv: task "reg": ...`. */
  message: string;
}

const q = (s: string) => JSON.stringify(s);
const list = (xs: readonly string[], max = 8) => xs.slice(0, max).map(q).join(", ") + (xs.length > max ? `, ... (${xs.length} in all)` : "");
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/**
 * Check the data a run will train on. Errors: no data rows; no training rows after the split; early stopping with
 * training.validation 0 (nothing to measure). Warnings: no validation rows although training.validation asks for
 * some (none is no warning when it is 0); a task whose labels are missing in every training row (its loss is 0 for the whole run); a multiclass class,
 * a binary positive value or a 0/1 label value that never appears in the training rows; a categorical input whose
 * every value is unknown (empty vocabulary, or no validation value in it); a numeric input missing in every training
 * row. `pre` (from fitPreprocessing or a resumed model.json) supplies the vocabularies and classes; without it they
 * are recomputed from the training rows as fitPreprocessing would. Messages name the file and the task or column.
 */
export function dataWarnings(
  spec: ModelSpec,
  table: Table,
  split: { train: ArrayLike<number>; validation: ArrayLike<number> },
  pre?: Preprocessing | null,
): DataWarning[] {
  const out: DataWarning[] = [];
  const name = table.name;
  const warn = (message: string) => void out.push({ level: "warning", message: `${name}: ${message}` });
  const n = table.rowCount, train = split.train, ntr = train.length, nval = split.validation.length;
  const frac = `training.validation = ${spec.training.validation}, seed ${spec.training.seed}${spec.data?.stratify ? `, stratify ${q(spec.data.stratify)}` : ""}`;

  if (n === 0) return [{ level: "error", message: `${name}: no data rows: nothing to train on` }];
  if (ntr === 0) {
    let why = "";
    const distinct = distinctRows(table);
    if (distinct < n) why = `; identical rows stay on one side of the split, and the ${n} rows hold only ${plural(distinct, "distinct row")}`;
    return [{ level: "error", message: `${name}: no training rows after the split (${plural(n, "row")}, ${nval} in validation; ${frac})${why}` }];
  }
  if (nval === 0 && spec.training.validation === 0) {
    // No validation by choice: nothing to warn about, but early stopping would have nothing to measure.
    const es = spec.training.early_stopping;
    if (es) return [{ level: "error", message: `${name}: training.early_stopping (on ${q(es.metric)}) needs validation rows, but training.validation is 0 (no validation split): remove early_stopping, or set training.validation above 0 or data.validation_path` }];
  } else if (nval === 0) {
    const es = spec.training.early_stopping ? `; early stopping on ${q(spec.training.early_stopping.metric)} has nothing to measure` : "";
    warn(`no validation rows after the split (${plural(n, "row")}, all ${ntr} in training; ${frac}): validation metrics are not computed${es}`);
  }

  const missing = new Set(spec.inputs.missing);
  const nonfiniteMissing = (spec.inputs.nonfinite ?? "error") === "missing";
  /** A trimmed numeric cell that reads as missing: a missing token, or a non-finite number read as missing. */
  const numericMissing = (s: string) => missing.has(s) || (nonfiniteMissing && parseFiniteNumber(s) === null);
  const trainCells = (column: string) => {
    const cells = table.stringColumn(column);
    return Array.from({ length: ntr }, (_, k) => cells[train[k]].trim());
  };

  // Numeric inputs missing in every training row.
  for (const column of spec.inputs.numeric) {
    if (trainCells(column).every(numericMissing)) {
      warn(`column ${q(column)} (numeric input): missing in every training row (${ntr}), so it is the constant training mean and carries no information`);
    }
  }

  // Categorical inputs whose every value is unknown.
  spec.inputs.categorical.forEach((c) => {
    const cells = trainCells(c.column);
    let vocab = pre?.categorical.find((x) => x.column === c.column)?.vocab;
    if (!vocab) {
      const counts = new Map<string, number>();
      for (const s of cells) counts.set(s, (counts.get(s) ?? 0) + 1);
      vocab = [...counts].filter(([, k]) => k >= c.min_count).map(([s]) => s);
    }
    const known = new Set(vocab);
    if (known.size === 0) {
      const d = new Set(cells).size;
      warn(`column ${q(c.column)} (categorical input): every value is unknown: none of the ${plural(d, "distinct value")} in the ${plural(ntr, "training row")} appears min_count = ${c.min_count} times, so the column is one unknown bucket and carries no information`);
    } else if (nval > 0) {
      const all = table.stringColumn(c.column);
      let anyKnown = false;
      for (let k = 0; k < nval && !anyKnown; k++) anyKnown = known.has(all[split.validation[k]].trim());
      if (!anyKnown) warn(`column ${q(c.column)} (categorical input): every value in the ${plural(nval, "validation row")} is unknown (none is among the ${known.size} values learnt from the training rows)`);
    }
  });

  spec.tasks.forEach((t, ti) => taskWarnings(t, pre?.tasks[ti]?.classes ?? t.classes, trainCells, numericMissing, missing, ntr, warn));
  return out;
}

function taskWarnings(
  t: Task,
  classes: readonly string[] | null,
  trainCells: (column: string) => string[],
  numericMissing: (s: string) => boolean,
  missing: ReadonlySet<string>,
  ntr: number,
  warn: (message: string) => void,
): void {
  const task = `task ${q(t.name)}`;
  const textLabel = t.type === "multiclass" || (t.type === "binary" && t.positive);
  const isMissing = textLabel ? (s: string) => missing.has(s) : numericMissing;
  const cols = t.labels.map((c) => trainCells(c));

  // Every training row has some label missing: the task's mask is 0 everywhere.
  let present = 0;
  for (let k = 0; k < ntr; k++) if (cols.every((c) => !isMissing(c[k]))) present++;
  if (present === 0) {
    const where = t.labels.length === 1 ? `the label (column ${q(t.labels[0])}) is missing in all ${plural(ntr, "training row")}` : `no training row has every label present (columns ${list(t.labels)})`;
    warn(`${task}: ${where}, so its loss is 0 for the whole run and it learns nothing`);
    return;
  }

  if (t.type === "multiclass") {
    if (!classes) return;
    const seen = new Set(cols[0].filter((s) => !isMissing(s)));
    const unseen = classes.filter((c) => !seen.has(c));
    if (unseen.length) {
      const what = unseen.length === 1 ? `class ${q(unseen[0])}` : `classes ${list(unseen)}`;
      warn(`${task}: ${what} (column ${q(t.labels[0])}) never ${unseen.length === 1 ? "appears" : "appear"} in the training rows; the model cannot learn to predict ${unseen.length === 1 ? "it" : "them"}`);
    }
    return;
  }

  if (t.type === "binary" && t.positive) {
    const values = cols[0].filter((s) => !isMissing(s));
    const seen = new Set(values);
    const unseen = t.positive.filter((p) => !seen.has(p));
    if (unseen.length === t.positive.length) {
      warn(`${task}: no training row is positive: positive ${list(t.positive)} never appears in column ${q(t.labels[0])} (values seen: ${list([...seen].sort())}), so the task learns a constant`);
    } else {
      for (const p of unseen) warn(`${task}: positive value ${q(p)} (column ${q(t.labels[0])}) never appears in the training rows`);
      if (values.every((s) => t.positive!.includes(s))) warn(`${task}: every training label in column ${q(t.labels[0])} is positive, so the task learns a constant`);
    }
    return;
  }

  if (t.type === "binary" || t.type === "multilabel") {
    t.labels.forEach((col, j) => {
      let ones = 0, zeros = 0;
      for (const s of cols[j]) {
        if (isMissing(s)) continue;
        const v = parseFiniteNumber(s);
        if (v === 1) ones++;
        else if (v === 0) zeros++;
      }
      if (ones + zeros === 0) return; // all missing or invalid (encode reports invalid values)
      if (ones === 0) warn(`${task}: no training row is positive (column ${q(col)} is never 1), so this output learns a constant`);
      else if (zeros === 0) warn(`${task}: every training label in column ${q(col)} is 1, so this output learns a constant`);
    });
  }
}

/** Number of distinct rows (all columns), the unit the split keeps on one side. */
function distinctRows(table: Table): number {
  const cols = table.columns.map((c) => table.stringColumn(c));
  const keys = new Set<string>();
  for (let i = 0; i < table.rowCount; i++) keys.add(cols.map((c) => c[i]).join("\u0001"));
  return keys.size;
}
