// Preprocessing learnt from the training rows (numeric means and standard deviations, categorical
// vocabularies, multiclass classes, task groups) and the encoding of any table with it into the dense
// arrays the trainer feeds to wasm. The learnt state is plain JSON and goes into model.json and the ONNX
// metadata, so clients can encode raw rows the same way.
import type { ModelSpec, Task } from "../model/spec.ts";
import type { DataDims } from "../model/lower.ts";
import { nonFiniteMessage, parseFiniteNumber, parseNumber, type NumericColumnOptions, type Table } from "./table.ts";
import { encodeTokens, fitVocabulary, RESERVED_IDS, splitTokens, type TokenVocabulary } from "./tokens.ts";
import { encodedWidth, encoderPlan, firstOverflow, fitEncoding, makeEncoder, needsEncoder, type NumericStats, type TreeRows } from "./numeric-encodings.ts";

/** The class a task with `unknown` (multiclass, tagging) gives labels unseen in training: index 0 of its classes. */
export const UNKNOWN_CLASS = "<unk>";

/**
 * What the training rows decided, applied identically to every later row (validation, predict, the ONNX graph):
 * numeric standardization statistics, categorical vocabularies, class and group lists, regression target scaling.
 * Fitted by fitPreprocessing; JSON-serializable (model.json and the ONNX metadata carry it).
 */
export interface Preprocessing {
  /**
   * One entry per numeric input, in spec order: column, mean and std (x ↦ (x − mean) / std), and for the other
   * encodings (spec inputs.numeric_encodings) their statistics (src/data/numeric-encodings.ts).
   */
  numeric: NumericStats[];
  /** One entry per categorical input, in spec order. */
  categorical: {
    /** The column. */
    column: string;
    /** vocab[k] has index k + 1; index 0 is the unknown bucket (unseen or rare values). */
    vocab: string[];
  }[];
  /** inputs.tokens: the learnt token vocabulary (src/data/tokens.ts); absent without a token input. */
  tokens?: TokenVocabulary;
  /** One entry per task, in spec order. */
  tasks: {
    /** The task's name. */
    name: string;
    /** multiclass, tagging: class values (tags) in output order; UNKNOWN_CLASS first when the task has `unknown`. */
    classes: string[] | null;
    /** group_by: group values in head order. */
    groups: string[] | null;
    /**
     * regression: per label column, the training mean and standard deviation. The network learns the
     * standardized target (y − mean) / std; predictions are mapped back (the ONNX graph does the same).
     * null for loss "giou", which learns the raw coordinates.
     */
    target:
      | {
          /** Training mean of the label column. */
          mean: number;
          /** Its standard deviation. */
          std: number;
        }[]
      | null;
  }[];
}

/** A table encoded for training or evaluation. Row-major unless stated. */
export interface Encoded {
  /** Number of rows. */
  rows: number;
  /**
   * Encoded numeric inputs [rows, V]: standardized [rows, F] (missing → 0, i.e. the training mean), or with
   * inputs.numeric_encodings the encoder's columns (layout in src/data/numeric-encodings.ts).
   */
  numeric: Float32Array;
  /** Categorical indices, one Int32Array [rows] per categorical input. */
  categorical: Int32Array[];
  /** Raw tensor input [rows, tensor] (empty unless the spec declares one; filled by the caller). */
  tensor: Float32Array;
  /**
   * inputs.tokens (absent without one): token ids, mask and lengths (fields below); layout in src/data/tokens.ts.
   */
  tokens?: {
    /** L, the ids per row (inputs.tokens.max_length). */
    maxLength: number;
    /** Token ids [rows, L]: 0 padding, 1 unknown, then the vocabulary's. */
    ids: Int32Array;
    /** 1 at a real token, 0 at padding, [rows, L]. */
    mask: Float32Array;
    /** Each row's token count before truncation to L, [rows]. */
    lengths: Int32Array;
  };
  /** Per task, in spec order: labels, presence mask and group indices. */
  tasks: {
    /**
     * multiclass: i32 class index [rows]; tagging: i32 tag class [rows, L] (−1 at padding and in unlabelled rows);
     * otherwise f32 [rows, width] (regression: standardized). NaN/−1 where missing.
     */
    labels: Float32Array | Int32Array;
    /**
     * 1 where every label of the row is present, else 0; tagging: the row's labelled tokens (0 without a tag sequence),
     * so summing it over a shard's rows weighs that shard's mean token loss (the trainers' shard combination).
     */
    mask: Float32Array;
    /** tagging only: f32 [rows, L], 1 where a token's tag trains (a real token of a labelled row), else 0. */
    tokenMask?: Float32Array;
    /** tagging only: each row's full gold tag sequence (past L too, unseen tags as written), null when unlabelled. */
    gold?: (string[] | null)[];
    /** group index [rows] (group_by tasks), else empty. */
    group: Int32Array;
  }[];
}

/** How the spec reads numeric input and label cells: its missing tokens and its non-finite policy. */
export function numericOptions(spec: ModelSpec): NumericColumnOptions {
  return { missing: spec.inputs.missing, nonfinite: spec.inputs.nonfinite ?? "error" };
}

const where = (t: Table, i: number, column: string) => `${t.name}: data row ${t.dataRow(i)} (line ${t.line(i)}), column ${JSON.stringify(column)}`;

/** Vocabulary order: numeric order when every value is a number, else code-unit order (stream-stats.ts shares it). */
export function sortValues(values: Iterable<string>): string[] {
  const all = [...values];
  const numeric = all.every((v) => parseNumber(v) !== undefined);
  return numeric ? all.sort((a, b) => +a - +b) : all.sort();
}

/** Mean and (population) standard deviation of v over `rows`, skipping NaN; a constant column gets std 1. */
function meanStd(v: Float64Array, rows: ArrayLike<number>): { mean: number; std: number } {
  let s = 0, n = 0;
  for (let k = 0; k < rows.length; k++) {
    const x = v[rows[k]];
    if (x === x) (s += x), n++;
  }
  const mean = n ? s / n : 0;
  let ss = 0;
  for (let k = 0; k < rows.length; k++) {
    const x = v[rows[k]];
    if (x === x) ss += (x - mean) * (x - mean);
  }
  const std = n > 1 ? Math.sqrt(ss / n) : 0;
  return { mean, std: std > 1e-12 ? std : 1 };
}

/**
 * The training rows a target-aware ple column's tree fits: the column's present values `x` (`v`: the column over every
 * table row) and task `ti`'s labels `y` (class indices, or standardized regression targets; encodeLabels over `train`)
 * on the training rows where both are present.
 */
function treeRows(spec: ModelSpec, v: Float64Array, train: ArrayLike<number>, ti: number, tasks: Preprocessing["tasks"], { labels, mask }: ReturnType<typeof encodeLabels>): TreeRows {
  const x: number[] = [], y: number[] = [];
  for (let k = 0; k < train.length; k++) {
    const xv = v[train[k]];
    if (mask[k] && xv === xv) x.push(xv), y.push(labels[k]);
  }
  const classes = spec.tasks[ti].type === "multiclass" ? tasks[ti].classes!.length : spec.tasks[ti].type === "binary" ? 2 : 0;
  return { x: Float64Array.from(x), y: Float64Array.from(y), classes };
}

/** Learn preprocessing from the training rows `train` of `table`. */
export function fitPreprocessing(spec: ModelSpec, table: Table, train: ArrayLike<number>): Preprocessing {
  const missing = spec.inputs.missing;
  const nopts = numericOptions(spec);
  const encodings = spec.inputs.numeric_encodings;
  const categorical = spec.inputs.categorical.map((c) => {
    const cells = table.stringColumn(c.column);
    const counts = new Map<string, number>();
    for (let k = 0; k < train.length; k++) {
      const s = cells[train[k]].trim();
      counts.set(s, (counts.get(s) ?? 0) + 1);
    }
    const vocab = sortValues([...counts].filter(([, n]) => n >= c.min_count).map(([s]) => s));
    return { column: c.column, vocab };
  });
  const tasks = spec.tasks.map((t) => {
    let classes: string[] | null = null;
    if (t.type === "tagging") {
      if (t.classes) classes = t.classes;
      else {
        const cells = table.stringColumn(t.labels[0]);
        const seen = new Set<string>();
        for (let k = 0; k < train.length; k++) {
          const s = cells[train[k]].trim();
          if (!missing.includes(s)) for (const tag of splitTokens(s)) seen.add(tag);
        }
        classes = sortValues(seen);
        if (classes.length < 1) throw new Error(`${table.name}: task ${t.name}: label column ${JSON.stringify(t.labels[0])} holds no tags in the training rows`);
      }
      if (t.unknown) classes = [UNKNOWN_CLASS, ...classes];
    } else if (t.type === "multiclass") {
      if (t.classes) classes = t.classes;
      else {
        const cells = table.stringColumn(t.labels[0]);
        const seen = new Set<string>();
        for (let k = 0; k < train.length; k++) {
          const s = cells[train[k]].trim();
          if (!missing.includes(s)) seen.add(s);
        }
        classes = sortValues(seen);
        if (classes.length < 2) throw new Error(`${table.name}: task ${t.name}: label column ${JSON.stringify(t.labels[0])} has ${classes.length} class(es) in the training rows; multiclass needs at least 2`);
      }
      if (t.unknown) classes = [UNKNOWN_CLASS, ...classes];
    }
    let groups: string[] | null = null;
    if (t.group_by) {
      const cells = table.stringColumn(t.group_by);
      const seen = new Set<string>();
      for (let k = 0; k < train.length; k++) seen.add(cells[train[k]].trim());
      groups = sortValues(seen);
    }
    let target: { mean: number; std: number }[] | null = null;
    // GIoU is defined on the box's own coordinates (a per-column standardization would change its geometry), so a
    // giou task learns its raw targets; every other regression task learns standardized ones.
    if (t.type === "regression" && t.loss !== "giou") {
      target = t.labels.map((col) => meanStd(table.numericColumn(col, nopts), train));
    }
    return { name: t.name, classes, groups, target };
  });
  // Target-aware ple columns fit their trees on a task's training labels, parsed once per task.
  const treeLabels = new Map<number, ReturnType<typeof encodeLabels>>();
  const numeric = spec.inputs.numeric.map((column, j): NumericStats => {
    const v = table.numericColumn(column, nopts), ms = meanStd(v, train);
    if (!encodings) return { column, ...ms };
    let missingCells = false;
    const present: number[] = [];
    for (let k = 0; k < train.length; k++) {
      const x = v[train[k]];
      if (x === x) present.push(x);
      else missingCells = true;
    }
    const e = encodings[j];
    let labeled: TreeRows | undefined;
    if (e.encoding === "ple" && e.tree) {
      const ti = spec.tasks.findIndex((t) => t.name === e.tree!.task);
      if (!treeLabels.has(ti)) treeLabels.set(ti, encodeLabels(spec, ti, tasks[ti], table, train, true));
      labeled = treeRows(spec, v, train, ti, tasks, treeLabels.get(ti)!);
    }
    return fitEncoding(e, ms.mean, ms.std, Float64Array.from(present).sort(), missingCells, labeled);
  });
  const tok = spec.inputs.tokens;
  return { numeric, categorical, ...(tok ? { tokens: fitVocabulary(tok, table.stringColumn(tok.column), train) } : {}), tasks };
}

/**
 * One cell of a binary, multilabel or regression label column (trimmed): NaN when missing (a missing token, or a
 * non-finite number with inputs.nonfinite "missing"), 0/1 by `positive` for a binary task that names its positive
 * values, else the number. Errors name the place (`where()`: file, row, column) and the task.
 */
export function labelValue(t: Task, s: string, missing: readonly string[], nonfinite: string | undefined, where: () => string): number {
  if (missing.includes(s)) return NaN;
  if (t.type === "binary" && t.positive) return t.positive.includes(s) ? 1 : 0;
  const x = parseFiniteNumber(s);
  if (x === null) {
    // ±Infinity, 1e400, "nan" ...: an error, or missing with inputs.nonfinite "missing".
    if (nonfinite !== "missing") throw new Error(`${where()}: ${nonFiniteMessage(JSON.stringify(s))} (task ${t.name})`);
    return NaN;
  }
  if (x === undefined) throw new Error(`${where()}: value ${JSON.stringify(s)} is not a number (task ${t.name} is ${t.type}${t.type === "binary" ? '; give "positive" values for a text label' : ""})`);
  if ((t.type === "binary" || t.type === "multilabel") && x !== 0 && x !== 1) throw new Error(`${where()}: ${t.type} label ${JSON.stringify(s)} is not 0 or 1 (task ${t.name})`);
  return x;
}

/**
 * The labels [rows·width] (multiclass: class indices [rows], −1 = missing) and row mask of the non-tagging task `ti`
 * over the rows `idx` of `table`, regression targets standardized by `info.target`; `withLabels` false: all missing.
 */
function encodeLabels(spec: ModelSpec, ti: number, info: Preprocessing["tasks"][number], table: Table, idx: ArrayLike<number>, withLabels: boolean): { labels: Float32Array | Int32Array; mask: Float32Array } {
  const t = spec.tasks[ti], n = idx.length, missing = spec.inputs.missing, nopts = numericOptions(spec);
  const width = t.type === "multiclass" ? 1 : t.labels.length;
  const mask = new Float32Array(n);
  let labels: Float32Array | Int32Array;
  if (!withLabels) {
    labels = t.type === "multiclass" ? new Int32Array(n).fill(-1) : new Float32Array(n * width).fill(NaN);
  } else if (t.type === "multiclass") {
    const col = t.labels[0];
    const cells = table.stringColumn(col);
    const map = new Map(info.classes!.map((c, k) => [c, k]));
    labels = new Int32Array(n);
    for (let k = 0; k < n; k++) {
      const s = cells[idx[k]].trim();
      if (missing.includes(s)) {
        labels[k] = -1;
        continue;
      }
      const c = map.get(s) ?? (t.unknown ? 0 : undefined);
      if (c === undefined) throw new Error(`${where(table, idx[k], col)}: unknown label ${JSON.stringify(s)} for task ${t.name}; known classes: ${info.classes!.map((x) => JSON.stringify(x)).join(", ")} (set "unknown": true on the task to map unseen labels to ${JSON.stringify(UNKNOWN_CLASS)})`);
      labels[k] = c;
      mask[k] = 1;
    }
  } else {
    const lab = new Float32Array(n * width);
    labels = lab;
    mask.fill(1);
    t.labels.forEach((col, j) => {
      const cells = table.stringColumn(col), tg = info.target?.[j];
      for (let k = 0; k < n; k++) {
        const v = labelValue(t, cells[idx[k]].trim(), missing, nopts.nonfinite, () => where(table, idx[k], col));
        lab[k * width + j] = tg ? (v - tg.mean) / tg.std : v;
        if (v !== v) mask[k] = 0;
      }
    });
  }
  return { labels, mask };
}

/** The data-dependent sizes the model builder needs (tagging: outputs = tags per token). */
export function dataDims(spec: ModelSpec, pre: Preprocessing): DataDims {
  if (spec.inputs.tokens && !pre.tokens) throw new Error(`model ${spec.name}: the spec declares inputs.tokens but the preprocessing has no token vocabulary (fitted by another spec?)`);
  return {
    numeric: encodedWidth(pre.numeric),
    vocab: pre.categorical.map((c) => c.vocab.length + 1),
    outputs: spec.tasks.map((t, i) => (t.type === "multiclass" || t.type === "tagging" ? pre.tasks[i].classes!.length : t.labels.length)),
    groups: spec.tasks.map((_, i) => pre.tasks[i].groups?.length ?? 0),
    tokens: pre.tokens ? { vocab: pre.tokens.vocab.length + RESERVED_IDS, length: pre.tokens.max_length } : null,
  };
}

/**
 * Encode the rows `rows` (default: all) of `table`. Errors name the file, row and column: a non-numeric value
 * in a numeric column, a numeric input or label that is not a finite float32 (unless `inputs.nonfinite` is
 * "missing"), a binary label that is neither a positive value nor 0/1, an unknown multiclass label or
 * group. `labels: false` skips the label columns (prediction on unlabeled data).
 */
export function encode(spec: ModelSpec, pre: Preprocessing, table: Table, rows?: ArrayLike<number>, opts: { labels?: boolean } = {}): Encoded {
  const idx = rows ?? Int32Array.from({ length: table.rowCount }, (_, i) => i);
  const n = idx.length;
  const nopts = numericOptions(spec);
  const F = pre.numeric.length;
  const numeric = needsEncoder(pre.numeric) ? encodeNumeric(pre, table, idx, nopts) : new Float32Array(n * F);
  // Standardize in f32 exactly as the exported graph does (float input, Sub mean, Div std), so the wasm
  // model and its ONNX export see bit-identical inputs.
  const f = Math.fround;
  if (!needsEncoder(pre.numeric)) pre.numeric.forEach((s, j) => {
    const v = table.numericColumn(s.column, nopts);
    const mean = f(s.mean), std = f(s.std);
    for (let k = 0; k < n; k++) {
      const x = v[idx[k]];
      const z = x === x ? f(f(f(x) - mean) / std) : 0;
      // Inputs are finite float32, but x − mean can still overflow float32 when a column spans ±3.4e38.
      if (!Number.isFinite(z)) throw new Error(`${where(table, idx[k], s.column)}: value ${x} standardized with mean ${mean} and std ${std} overflows float32`);
      numeric[k * F + j] = z;
    }
  });
  const categorical = pre.categorical.map((c) => {
    const map = new Map(c.vocab.map((v, k) => [v, k + 1]));
    const cells = table.stringColumn(c.column);
    const out = new Int32Array(n);
    for (let k = 0; k < n; k++) out[k] = map.get(cells[idx[k]].trim()) ?? 0;
    return out;
  });
  const withLabels = opts.labels ?? true;
  const tasks = spec.tasks.map((t, ti) => {
    const info = pre.tasks[ti];
    let mask: Float32Array, labels: Float32Array | Int32Array;
    let tokenMask: Float32Array | undefined, gold: (string[] | null)[] | undefined;
    if (t.type === "tagging") {
      mask = new Float32Array(n);
      ({ labels, tokenMask, gold } = encodeTagging(spec, info.classes!, table, idx, ti, withLabels, mask));
    } else ({ labels, mask } = encodeLabels(spec, ti, info, table, idx, withLabels));
    let group = new Int32Array(0);
    if (t.group_by) {
      const map = new Map(info.groups!.map((g, k) => [g, k]));
      const cells = table.stringColumn(t.group_by);
      group = new Int32Array(n);
      for (let k = 0; k < n; k++) {
        const s = cells[idx[k]].trim();
        const g = map.get(s);
        if (g === undefined) throw new Error(`${where(table, idx[k], t.group_by)}: group ${JSON.stringify(s)} of task ${t.name} was not in the training data`);
        group[k] = g;
      }
    }
    return { labels, mask, group, ...(tokenMask ? { tokenMask } : {}), ...(gold ? { gold } : {}) };
  });
  const tok = spec.inputs.tokens;
  if (tok && !pre.tokens) throw new Error(`model ${spec.name}: the spec declares inputs.tokens but the preprocessing has no token vocabulary (fitted by another spec?)`);
  const tokens = pre.tokens ? encodeTokens(pre.tokens, table.stringColumn(pre.tokens.column), idx) : undefined;
  return { rows: n, numeric, categorical, tensor: tensorRows(spec, table, idx), ...(tokens ? { tokens } : {}), tasks };
}

/**
 * The numeric inputs of rows `idx` through the encoder of inputs.numeric_encodings ([rows, V], layout in
 * src/data/numeric-encodings.ts), exactly as the exported graph's numeric_encode node computes them. A value whose
 * encoding overflows float32 (a standardized or edge-bin value beyond ±3.4e38) throws naming the row and column.
 */
function encodeNumeric(pre: Preprocessing, table: Table, idx: ArrayLike<number>, nopts: NumericColumnOptions): Float32Array {
  const n = idx.length, F = pre.numeric.length;
  const x = new Float32Array(n * F);
  pre.numeric.forEach((s, j) => {
    const v = table.numericColumn(s.column, nopts);
    for (let k = 0; k < n; k++) x[k * F + j] = v[idx[k]];
  });
  const enc = makeEncoder(encoderPlan(pre.numeric)), V = enc.plan.V;
  const out = new Float32Array(n * V);
  enc.run(n, x, 0, out, 0);
  const o = firstOverflow(enc, n, x, out);
  if (o) throw new Error(`${where(table, idx[o.row], pre.numeric[o.column].column)}: ${overflowMessage(pre.numeric[o.column], x[o.row * F + o.column])}`);
  return out;
}

/** The overflow error's text after "<where>: " (encode() and the streaming encoder say the same). */
export function overflowMessage(s: NumericStats, value: number): string {
  return `value ${value} encoded as ${s.encoding ?? "standardize"} overflows float32`;
}

/**
 * A tagging task's labels int32 [rows, L] and token mask f32 [rows, L] (L = inputs.tokens.max_length; layout in
 * src/data/tokens.ts), and its row mask (written into `mask`: the row's labelled tokens, min(tags, L); 0 without tags). A row's tag cell splits like
 * its token cell and must hold one tag per token (an error names the file, row, both columns and both counts); a
 * missing cell leaves the row unlabelled (−1, mask 0). A tag unseen in training is UNKNOWN_CLASS (index 0) with
 * `unknown`, an error otherwise. Tags past L are dropped with their tokens.
 */
function encodeTagging(spec: ModelSpec, classes: readonly string[], table: Table, idx: ArrayLike<number>, ti: number, withLabels: boolean, mask: Float32Array): { labels: Int32Array; tokenMask: Float32Array; gold: (string[] | null)[] } {
  const t = spec.tasks[ti], tok = spec.inputs.tokens!;
  const L = tok.max_length, n = idx.length;
  const labels = new Int32Array(n * L).fill(-1), tokenMask = new Float32Array(n * L), gold = new Array<string[] | null>(n).fill(null);
  if (!withLabels) return { labels, tokenMask, gold };
  const col = t.labels[0];
  const cells = table.stringColumn(col), words = table.stringColumn(tok.column);
  const map = new Map(classes.map((c, k) => [c, k]));
  for (let k = 0; k < n; k++) {
    const s = cells[idx[k]].trim();
    if (spec.inputs.missing.includes(s)) continue;
    const tags = splitTokens(s), nw = splitTokens(words[idx[k]]).length;
    if (tags.length !== nw) throw new Error(`${where(table, idx[k], col)}: ${tags.length} tags for the ${nw} tokens of column ${JSON.stringify(tok.column)} (task ${t.name}); expected one tag per token`);
    mask[k] = Math.min(L, tags.length);
    gold[k] = tags;
    for (let j = 0; j < Math.min(L, tags.length); j++) {
      const c = map.get(tags[j]) ?? (t.unknown ? 0 : undefined);
      if (c === undefined) throw new Error(`${where(table, idx[k], col)}: tag ${JSON.stringify(tags[j])} (token ${j + 1}) was not in the training data of task ${t.name} (set "unknown": true to map unseen tags to ${JSON.stringify(UNKNOWN_CLASS)})`);
      labels[k * L + j] = c;
      tokenMask[k * L + j] = 1;
    }
  }
  return { labels, tokenMask, gold };
}

/**
 * The tensor input [rows, inputs.tensor]: the table's own per-row tensor when it has one (the images of an `idx` data
 * set, whose width must equal inputs.tensor), zeros otherwise (a caller feeding its own tensor fills them).
 */
function tensorRows(spec: ModelSpec, table: Table, idx: ArrayLike<number>): Float32Array {
  const T = spec.inputs.tensor, n = idx.length;
  const own = table.tensor;
  if (!own || !T) return new Float32Array(n * T);
  if (own.width !== T) throw new Error(`${own.source}: each row carries ${own.width} tensor values (e.g. the pixels of an image) but the spec's inputs.tensor is ${T}`);
  const out = new Float32Array(n * T);
  for (let k = 0; k < n; k++) out.set(own.data.subarray(idx[k] * T, (idx[k] + 1) * T), k * T);
  return out;
}
