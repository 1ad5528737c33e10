// The streaming encoder: raw rows (field arrays, stream-rows.ts RowChunk) straight into typed arrays, without a Table.
// It applies encode()'s rules (preprocess.ts) cell for cell, so its Encoded equals encode(spec, pre, table) on a
// Table of the same rows bit for bit, and its errors are encode's, word for word and in the same order (column by
// column: numeric inputs, where a column's unparsable cell is found before a standardization overflow; then
// categorical; then each task's labels and groups): numbers parsed as Table.numericColumn parses them (a number,
// else a missing-value token → NaN, else a non-finite number → an error or NaN under inputs.nonfinite "missing"),
// standardized in f32 (missing → 0, the training mean), categories looked up after trimming (unknown → 0), labels
// and masks as encode. With numeric encodings (standardize, periodic, missing indicators: what checkStreamable lets
// through) the parsed values go through encode()'s encoder (numeric-encodings.ts makeEncoder) into its columns. No
// tokens or tensors (checkStreamable refuses them). The output arrays are allocated once for `capacity` rows and
// reused for every chunk. Portable.
import type { ModelSpec } from "../model/spec.ts";
import { labelValue, numericOptions, overflowMessage, UNKNOWN_CLASS, type Encoded, type Preprocessing } from "./preprocess.ts";
import { nonFiniteMessage, parseFiniteNumber } from "./table.ts";
import type { RowChunk } from "./stream-rows.ts";
import { checkStreamable } from "./stream-stats.ts";
import { encodedWidth, encoderPlan, firstOverflow, makeEncoder, needsEncoder, type Encoder } from "./numeric-encodings.ts";

/** What one task's labels need, resolved once. */
interface TaskPlan {
  cols: number[];
  names: string[];
  classes: Map<string, number> | null;
  groups: Map<string, number> | null;
  groupCol: number;
}

/** Encodes RowChunks of the stream with columns `columns` (a chunk of at most `capacity` rows at a time). */
export class RowEncoder {
  private readonly out: Encoded;
  private readonly x: Float64Array;
  private readonly num: number[];
  private readonly cat: number[];
  private readonly catMaps: Map<string, number>[];
  private readonly tasks: TaskPlan[];
  private readonly missingSet: Set<string>;
  private readonly missingTokens: string;
  /** The encoder of inputs.numeric_encodings, and its input rows [capacity, F] (null: plain standardization). */
  private readonly encoder: Encoder | null;
  private readonly raw: Float32Array;

  constructor(readonly spec: ModelSpec, readonly pre: Preprocessing, readonly name: string, readonly columns: readonly string[], readonly capacity: number) {
    checkStreamable(spec);
    this.encoder = needsEncoder(pre.numeric) ? makeEncoder(encoderPlan(pre.numeric)) : null;
    this.raw = new Float32Array(this.encoder ? capacity * pre.numeric.length : 0);
    const col = (c: string) => {
      const j = columns.indexOf(c);
      if (j < 0) throw new Error(`${name}: no column ${JSON.stringify(c)}; available columns (${columns.length}): ${columns.map((x) => JSON.stringify(x)).join(", ")}`);
      return j;
    };
    this.num = pre.numeric.map((s) => col(s.column));
    this.cat = pre.categorical.map((c) => col(c.column));
    this.catMaps = pre.categorical.map((c) => new Map(c.vocab.map((v, k) => [v, k + 1])));
    this.tasks = spec.tasks.map((t, i) => {
      const info = pre.tasks[i];
      return {
        cols: t.labels.map(col),
        names: t.labels,
        classes: t.type === "multiclass" ? new Map(info.classes!.map((c, k) => [c, k])) : null,
        groups: t.group_by ? new Map(info.groups!.map((g, k) => [g, k])) : null,
        groupCol: t.group_by ? col(t.group_by) : -1,
      };
    });
    const nopts = numericOptions(spec);
    this.missingSet = new Set((nopts.missing ?? []).map((m) => m.trim()));
    this.missingTokens = this.missingSet.size ? [...this.missingSet].map((m) => JSON.stringify(m)).join(", ") : "none";
    this.x = new Float64Array(capacity);
    this.out = {
      rows: capacity,
      numeric: new Float32Array(capacity * encodedWidth(pre.numeric)),
      categorical: pre.categorical.map(() => new Int32Array(capacity)),
      tensor: new Float32Array(0),
      tasks: spec.tasks.map((t) => ({
        labels: t.type === "multiclass" ? new Int32Array(capacity) : new Float32Array(capacity * t.labels.length),
        mask: new Float32Array(capacity),
        group: t.group_by ? new Int32Array(capacity) : new Int32Array(0),
      })),
    };
  }

  /** The parsed rows [n, F] through the encoder, and encode()'s overflow error (the first row, its column). */
  private encodeNumeric(c: RowChunk, n: number): void {
    const enc = this.encoder!, F = this.pre.numeric.length;
    enc.run(n, this.raw, 0, this.out.numeric, 0);
    const o = firstOverflow(enc, n, this.raw, this.out.numeric);
    if (o) throw new Error(`${this.where(c, o.row, this.pre.numeric[o.column].column)}: ${overflowMessage(this.pre.numeric[o.column], this.raw[o.row * F + o.column])}`);
  }

  private where(c: RowChunk, i: number, column: string): string {
    return `${c.name}: data row ${c.rows[i]} (line ${c.lines[i]}), column ${JSON.stringify(column)}`;
  }

  /**
   * The chunk's rows encoded: an Encoded of `c.count` rows whose arrays are views of this encoder's own (valid until
   * the next call).
   */
  encode(c: RowChunk): Encoded {
    const n = c.count, spec = this.spec, pre = this.pre, o = this.out, fields = c.fields;
    if (n > this.capacity) throw new RangeError(`${this.name}: a chunk of ${n} rows exceeds the encoder's ${this.capacity}`);
    const F = pre.numeric.length, f = Math.fround, x = this.x;
    const nonfiniteMissing = spec.inputs.nonfinite === "missing";
    for (let j = 0; j < F; j++) {
      const s = pre.numeric[j], cj = this.num[j];
      // Table.numericColumn: every cell read before any is standardized.
      for (let k = 0; k < n; k++) {
        const cell = fields[k][cj];
        const v = parseFiniteNumber(cell);
        if (typeof v === "number") x[k] = v;
        else if (this.missingSet.has(cell.trim())) x[k] = NaN;
        else if (v === null && nonfiniteMissing) x[k] = NaN;
        else if (v === null) throw new Error(`${this.where(c, k, s.column)}: ${nonFiniteMessage(JSON.stringify(cell))}`);
        else throw new Error(`${this.where(c, k, s.column)}: value ${JSON.stringify(cell)} is not a number (missing-value tokens: ${this.missingTokens})`);
      }
      if (this.encoder) {
        for (let k = 0; k < n; k++) this.raw[k * F + j] = x[k];
        continue;
      }
      const mean = f(s.mean), std = f(s.std), out = o.numeric;
      for (let k = 0; k < n; k++) {
        const v = x[k];
        const z = v === v ? f(f(f(v) - mean) / std) : 0;
        if (!Number.isFinite(z)) throw new Error(`${this.where(c, k, s.column)}: value ${v} standardized with mean ${mean} and std ${std} overflows float32`);
        out[k * F + j] = z;
      }
    }
    if (this.encoder) this.encodeNumeric(c, n);
    for (let j = 0; j < this.cat.length; j++) {
      const m = this.catMaps[j], cj = this.cat[j], out = o.categorical[j];
      for (let k = 0; k < n; k++) out[k] = m.get(fields[k][cj].trim()) ?? 0;
    }
    const missing = spec.inputs.missing, nopts = { nonfinite: spec.inputs.nonfinite ?? "error" };
    spec.tasks.forEach((t, ti) => {
      const plan = this.tasks[ti], info = pre.tasks[ti], e = o.tasks[ti], mask = e.mask;
      if (t.type === "multiclass") {
        const labels = e.labels as Int32Array, cj = plan.cols[0], map = plan.classes!;
        mask.fill(0, 0, n);
        for (let k = 0; k < n; k++) {
          const s = fields[k][cj].trim();
          if (missing.includes(s)) {
            labels[k] = -1;
            continue;
          }
          const cls = map.get(s) ?? (t.unknown ? 0 : undefined);
          if (cls === undefined) throw new Error(`${this.where(c, k, plan.names[0])}: unknown label ${JSON.stringify(s)} for task ${t.name}; known classes: ${info.classes!.map((v) => JSON.stringify(v)).join(", ")} (set "unknown": true on the task to map unseen labels to ${JSON.stringify(UNKNOWN_CLASS)})`);
          labels[k] = cls;
          mask[k] = 1;
        }
      } else {
        const lab = e.labels as Float32Array, width = plan.cols.length;
        mask.fill(1, 0, n);
        for (let j = 0; j < width; j++) {
          const cj = plan.cols[j], colName = plan.names[j], tg = info.target?.[j];
          for (let k = 0; k < n; k++) {
            const v = labelValue(t, fields[k][cj].trim(), missing, nopts.nonfinite, () => this.where(c, k, colName));
            lab[k * width + j] = tg ? (v - tg.mean) / tg.std : v;
            if (v !== v) mask[k] = 0;
          }
        }
      }
      if (plan.groups) {
        const g = e.group, cj = plan.groupCol, map = plan.groups;
        for (let k = 0; k < n; k++) {
          const s = fields[k][cj].trim();
          const v = map.get(s);
          if (v === undefined) throw new Error(`${this.where(c, k, t.group_by!)}: group ${JSON.stringify(s)} of task ${t.name} was not in the training data`);
          g[k] = v;
        }
      }
    });
    if (n === this.capacity) return o;
    const V = encodedWidth(pre.numeric);
    return {
      rows: n,
      numeric: o.numeric.subarray(0, n * V),
      categorical: o.categorical.map((a) => a.subarray(0, n)),
      tensor: o.tensor,
      tasks: o.tasks.map((t, i) => {
        const w = this.spec.tasks[i].type === "multiclass" ? 1 : this.spec.tasks[i].labels.length;
        return { labels: t.labels.subarray(0, n * w), mask: t.mask.subarray(0, n), group: t.group.length ? t.group.subarray(0, n) : t.group };
      }),
    };
  }
}
