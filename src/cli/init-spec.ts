// The spec `mtl init` writes: built from the column decisions (src/data/infer-columns.ts) and the checked tasks, with
// defaults sized from the data, rendered as JSONC with a comment on every choice. Portable (no node:*).
import { DEFAULT_MISSING, type TaskType } from "../model/spec.ts";
import type { ColumnDecision, LabelCheck, TaskRequest } from "../data/infer-columns.ts";

export interface InitInput {
  /** The data file as the spec's data.path (relative to the directory `mtl train` runs in). */
  path: string;
  delimiter: string;
  format: "csv" | "jsonl";
  name: string;
  decisions: ColumnDecision[];
  tasks: { req: TaskRequest; check: LabelCheck }[];
  /** Sampled rows, and whether the file holds more. */
  rows: number;
  more: boolean;
  /** The command line that made the spec, for the header comment. */
  command: string;
}

/** Rows at which the defaults switch from a small-data to a large-data regime. */
export const LARGE_ROWS = 10_000;

/** Metrics written per task type (multilabel: left out, so the spec's defaults apply, the multi-label ones included). */
const METRICS: Partial<Record<TaskType, string[]>> = { binary: ["auc", "accuracy", "logloss"], multiclass: ["accuracy", "logloss"], regression: ["rmse", "mae", "r2"] };

/**
 * The spec (a JSON value validateSpec accepts) and its comments, keyed by JSON path (`inputs.numeric[2]`):
 * `before` lines go above the key, `after` at the end of its line.
 *
 * Defaults: an HPS trunk [h, h/2] with h the power of two ≥ 2 × the input width, in [16, 128] and (small data) at
 * most the power of two ≤ 1/8 of the training rows, one dense tower of
 * max(8, h/4) per task, dropout 0.1; Adam (lr 1e-3); validation 0.2; early stopping on the validation loss. Small
 * data (under LARGE_ROWS rows, all read) gets 100 epochs, patience 10 and batches of about 1/20 of the training rows
 * (a power of two in [16, 256]); larger data 30 epochs, patience 5, batches of 256.
 */
export function buildInitSpec(x: InitInput): { spec: Record<string, unknown>; before: Map<string, string[]>; after: Map<string, string> } {
  const before = new Map<string, string[]>(), after = new Map<string, string>();
  const numeric = x.decisions.filter((d) => d.kind === "numeric");
  const categorical = x.decisions.filter((d) => d.kind === "categorical");
  const dropped = x.decisions.filter((d) => d.kind === "drop");
  const width = numeric.length + categorical.reduce((a, d) => a + d.dim!, 0);
  const large = x.more || x.rows >= LARGE_ROWS;
  const trainRows = Math.floor(0.8 * x.rows);
  const cap = large ? 128 : Math.min(128, Math.max(16, 2 ** Math.floor(Math.log2(Math.max(1, trainRows / 8)))));
  const h = Math.min(cap, Math.max(16, 2 ** Math.ceil(Math.log2(2 * width))));
  const tower = Math.max(8, h / 4);
  const batch = large ? 256 : Math.min(256, Math.max(16, 2 ** Math.floor(Math.log2(Math.max(1, trainRows / 20)))));
  const extra = [...new Set([...numeric.flatMap((d) => d.extraMissing), ...x.tasks.flatMap((t) => t.check.extraMissing)])].filter((s) => !DEFAULT_MISSING.includes(s));
  const nonfinite = numeric.some((d) => d.stats.nonfinite > 0) || x.tasks.some((t) => (t.check.nonfinite ?? 0) > 0);

  const inputs: Record<string, unknown> = {};
  if (numeric.length) {
    inputs.numeric = numeric.map((d) => d.column);
    before.set("inputs.numeric", ["Standardized with the training rows' mean and standard deviation; a missing cell becomes the mean."]);
    numeric.forEach((d, i) => after.set(`inputs.numeric[${i}]`, d.reason));
  }
  if (categorical.length) {
    inputs.categorical = categorical.map((d) => ({ column: d.column, dim: d.dim, ...(d.minCount! > 1 ? { min_count: d.minCount } : {}) }));
    before.set("inputs.categorical", ["One embedding per column (dim: its width, round(1.6·values^0.56) in [2, 16]); values not seen in training", "(or seen fewer than min_count times) share the unknown bucket."]);
    categorical.forEach((d, i) => after.set(`inputs.categorical[${i}]`, d.reason));
  }
  inputs.missing = [...DEFAULT_MISSING, ...extra];
  before.set("inputs.missing", [`Cells read as missing${extra.length ? `; ${extra.map((s) => JSON.stringify(s)).join(", ")} added: the non-number cells of numeric columns` : ""}.`]);
  if (nonfinite) {
    inputs.nonfinite = "missing";
    before.set("inputs.nonfinite", ["Some numeric input or label cells are inf/nan: read them as missing (\"error\" would stop training at the first)."]);
  }
  if (dropped.length) before.set("architecture", [`Not used (add a column to inputs to use it): ${dropped.map((d) => `${JSON.stringify(d.column)} (${d.reason})`).join("; ")}.`]);

  const tasks = x.tasks.map(({ req, check }, i) => {
    after.set(`tasks[${i}].type`, check.summary);
    const t: Record<string, unknown> = { name: req.name, type: req.type, ...(req.labels.length === 1 ? { label: req.labels[0] } : { labels: req.labels }) };
    if (check.positive !== null) {
      t.positive = check.positive;
      after.set(`tasks[${i}].positive`, "this value is 1, the other 0");
    }
    t.tower = [tower];
    if (METRICS[req.type]) t.metrics = METRICS[req.type];
    else after.set(`tasks[${i}].tower`, "metrics: the type's defaults (README, \"The model spec\")");
    return t;
  });

  const spec: Record<string, unknown> = {
    name: x.name,
    description: `Written by mtl init from the ${x.more ? "first " : ""}${x.rows.toLocaleString("en-US")} rows of ${x.path}${x.more ? " (the file holds more)" : ""}; edit freely.`,
    data: { format: x.format, path: x.path, ...(x.delimiter !== "," && x.format === "csv" ? { delimiter: x.delimiter } : {}) },
    inputs,
    architecture: { type: "hps", layers: [h, h / 2], dropout: 0.1 },
    tasks,
    training: {
      epochs: large ? 30 : 100,
      batch_size: batch,
      seed: 1,
      validation: 0.2,
      optimizer: { type: "adam", lr: 0.001 },
      early_stopping: { metric: "loss", patience: large ? 5 : 10 },
    },
  };
  before.set("", [
    `Made by: ${x.command}`,
    `Train it: npx mtl train SPEC --out DIR (README: "Start from your own CSV"). Column kinds were inferred from the`,
    `${x.more ? "first " : ""}${x.rows.toLocaleString("en-US")} rows read; each input's reason is at the end of its line.`,
  ]);
  after.set("data.path", "relative to the directory mtl runs in");
  after.set("architecture.layers", `hard parameter sharing: a trunk sized from the ${width} input features${h < Math.min(128, Math.max(16, 2 ** Math.ceil(Math.log2(2 * width)))) ? ` and the ${trainRows.toLocaleString("en-US")} training rows` : ""}`);
  after.set("training.batch_size", large ? "large data" : `about 1/20 of the ${trainRows.toLocaleString("en-US")} training rows`);
  after.set("training.validation", "a seeded 20 % of the rows, identical rows kept on one side");
  after.set("training.early_stopping", "stop when the validation loss has not improved for `patience` epochs; keep the best epoch");
  return { spec, before, after };
}

/** JSONC text of `value` with the comments (see buildInitSpec): objects one key a line, arrays of scalars inline unless commented. */
export function renderJsonc(value: unknown, before: ReadonlyMap<string, string[]>, after: ReadonlyMap<string, string>): string {
  const lines: string[] = [];
  const oneLine = (v: unknown): string =>
    Array.isArray(v) ? `[${v.map(oneLine).join(", ")}]` : v !== null && typeof v === "object" ? `{ ${Object.entries(v).map(([k, e]) => `${JSON.stringify(k)}: ${oneLine(e)}`).join(", ")} }` : JSON.stringify(v);
  const hasComment = (path: string) => [...before.keys(), ...after.keys()].some((k) => k.startsWith(`${path}[`) || k.startsWith(`${path}.`));
  const emit = (v: unknown, path: string, ind: string, head: string, last: boolean) => {
    for (const c of before.get(path) ?? []) lines.push(`${ind}// ${c.replace(/[\r\n]/g, " ")}`);
    const comma = last ? "" : ",";
    const note = after.get(path);
    const tail = note ? ` // ${note.replace(/[\r\n]/g, " ")}` : "";
    const composite = v !== null && typeof v === "object";
    // Inline: scalars, arrays of scalars, and array elements that are small flat objects, when nothing inside is commented.
    const flat = (o: object) => Object.values(o).every((e) => e === null || typeof e !== "object");
    const simple = !composite || (!hasComment(path) && (Array.isArray(v) ? flat(v) : path.endsWith("]") && flat(v as object) && oneLine(v).length <= 100));
    if (simple) {
      lines.push(`${ind}${head}${composite ? oneLine(v) : JSON.stringify(v)}${comma}${tail}`);
      return;
    }
    const entries: [string, unknown][] = Array.isArray(v) ? v.map((e, i) => [`[${i}]`, e]) : Object.entries(v as object);
    lines.push(`${ind}${head}${Array.isArray(v) ? "[" : "{"}${tail}`);
    entries.forEach(([k, e], i) => {
      const sub = Array.isArray(v) ? `${path}${k}` : path ? `${path}.${k}` : k;
      emit(e, sub, `${ind}  `, Array.isArray(v) ? "" : `${JSON.stringify(k)}: `, i === entries.length - 1);
    });
    lines.push(`${ind}${Array.isArray(v) ? "]" : "}"}${comma}`);
  };
  emit(value, "", "", "", true);
  return lines.join("\n") + "\n";
}
