// Preprocessing learnt by streaming the training rows of a file (the hash split's training side) instead of holding
// them: the same Preprocessing fitPreprocessing learns from the same rows in memory, bit for bit. Pass 1 sums each
// numeric column in file order (the in-memory sum's order, so the same float64 mean) and counts categorical values,
// classes and groups; pass 2 sums squared deviations from that mean (the in-memory two-pass variance: a one-pass
// Welford std would differ from it in the last bits). The validation rows are collected in pass 1 (held in memory:
// a small fraction). Numeric encodings stream when they need no more than that: standardize and periodic columns,
// and missing indicators (pass 1 counts missing cells). Not streamed, refused by name: inputs.tokens, inputs.tensor,
// quantile and ple encodings (their quantiles need the sorted column) and tagging tasks. Portable.
import type { ModelSpec } from "../model/spec.ts";
import { numericOptions, sortValues, UNKNOWN_CLASS, type Preprocessing } from "./preprocess.ts";
import { fitEncoding } from "./numeric-encodings.ts";
import { checkColumns } from "./load.ts";
import { Table, TableBuilder } from "./table.ts";
import { chunks, type Reopen } from "./stream-rows.ts";

/** Rows per parsed chunk (bounded memory; the results do not depend on it). */
export const STREAM_CHUNK = 4096;

/** What the statistics passes learnt. */
export interface StreamedStats {
  /** The preprocessing, equal to fitPreprocessing(spec, table, trainRows) in memory. */
  pre: Preprocessing;
  /** Training rows (the hash split's training side). */
  trainRows: number;
  /** The validation rows as a Table (file row and line numbers kept). */
  validation: Table;
}

/** Throws naming the first spec feature the streaming path cannot learn or feed in one row-by-row pass. */
export function checkStreamable(spec: ModelSpec): void {
  const no = (what: string, why: string) => {
    throw new Error(`data.streaming: ${what} is not supported when streaming (${why}); turn data.streaming off`);
  };
  if (spec.inputs.tokens) no("inputs.tokens", "its vocabulary is not learnt from a stream yet");
  if (spec.inputs.tensor) no("inputs.tensor", "per-row tensors come from idx files, which are read whole");
  const sorted = spec.inputs.numeric_encodings?.find((e) => e.encoding === "quantile" || e.encoding === "ple");
  if (sorted) no(`inputs.numeric_encodings (${sorted.column}: ${sorted.encoding})`, "its quantiles need the whole sorted column; standardize and periodic columns, with missing indicators, stream");
  if (spec.data?.validation_path) no("data.validation_path", "the validation rows are chosen by a hash of the row");
  for (const t of spec.tasks) if (t.type === "tagging") no(`task ${t.name} (tagging)`, "tag sequences need inputs.tokens");
}

/** Sum, count and squared deviations of one numeric column over the training rows, in file order. */
class Moments {
  s = 0;
  n = 0;
  /** Missing cells seen. */
  missing = 0;
  ss = 0;
  mean = 0;
  add(v: Float64Array): void {
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (x === x) (this.s += x), this.n++;
      else this.missing++;
    }
  }
  fix(): void {
    this.mean = this.n ? this.s / this.n : 0;
  }
  addSquares(v: Float64Array): void {
    const m = this.mean;
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (x === x) this.ss += (x - m) * (x - m);
    }
  }
  /** preprocess.ts meanStd's result: population std, 1 for a constant column. */
  result(): { mean: number; std: number } {
    const std = this.n > 1 ? Math.sqrt(this.ss / this.n) : 0;
    return { mean: this.mean, std: std > 1e-12 ? std : 1 };
  }
}

/** Learn the preprocessing from two streaming passes over the training rows, and collect the validation rows. */
export async function streamPreprocessing(spec: ModelSpec, reopen: Reopen, chunkRows = STREAM_CHUNK): Promise<StreamedStats> {
  checkStreamable(spec);
  const nopts = numericOptions(spec), missing = spec.inputs.missing;
  const numCols = spec.inputs.numeric;
  const targets = spec.tasks.map((t) => (t.type === "regression" && t.loss !== "giou" ? t.labels : []));
  const mNum = numCols.map(() => new Moments());
  const mTarget = targets.map((cols) => cols.map(() => new Moments()));
  const counts = spec.inputs.categorical.map(() => new Map<string, number>());
  const classes = spec.tasks.map((t) => (t.type === "multiclass" && !t.classes ? new Set<string>() : null));
  const groups = spec.tasks.map((t) => (t.group_by ? new Set<string>() : null));
  let val: TableBuilder | null = null, name = "data", trainRows = 0;
  const onColumns = (columns: readonly string[], n: string) => {
    name = n;
    checkColumns(spec, Table.fromColumns(n, columns, columns.map(() => [])), { labels: true });
    val = new TableBuilder(n, columns);
  };
  for await (const t of chunks(spec, reopen, "train", chunkRows, { onColumns, other: (r) => val!.add(r.fields, r.row, r.line) })) {
    trainRows += t.rowCount;
    numCols.forEach((c, j) => mNum[j].add(t.numericColumn(c, nopts)));
    targets.forEach((cols, i) => cols.forEach((c, j) => mTarget[i][j].add(t.numericColumn(c, nopts))));
    spec.inputs.categorical.forEach((c, j) => {
      const m = counts[j];
      for (const raw of t.stringColumn(c.column)) {
        const s = raw.trim();
        m.set(s, (m.get(s) ?? 0) + 1);
      }
    });
    spec.tasks.forEach((task, i) => {
      const seen = classes[i];
      if (seen) for (const raw of t.stringColumn(task.labels[0])) {
        const s = raw.trim();
        if (!missing.includes(s)) seen.add(s);
      }
      const g = groups[i];
      if (g) for (const raw of t.stringColumn(task.group_by!)) g.add(raw.trim());
    });
  }
  if (trainRows === 0) throw new Error(`${name}: no training rows (the file is empty, or every row hashed to validation)`);
  const all = [...mNum, ...mTarget.flat()];
  all.forEach((m) => m.fix());
  if (all.length) {
    for await (const t of chunks(spec, reopen, "train", chunkRows)) {
      numCols.forEach((c, j) => mNum[j].addSquares(t.numericColumn(c, nopts)));
      targets.forEach((cols, i) => cols.forEach((c, j) => mTarget[i][j].addSquares(t.numericColumn(c, nopts))));
    }
  }
  const pre: Preprocessing = {
    // fitPreprocessing's statistics: periodic columns need only the mean and std, an indicator only whether cells were missing.
    numeric: numCols.map((column, j) => {
      const ms = mNum[j].result(), enc = spec.inputs.numeric_encodings?.[j];
      return enc ? fitEncoding(enc, ms.mean, ms.std, new Float64Array(0), mNum[j].missing > 0) : { column, ...ms };
    }),
    categorical: spec.inputs.categorical.map((c, j) => ({ column: c.column, vocab: sortValues([...counts[j]].filter(([, n]) => n >= c.min_count).map(([s]) => s)) })),
    tasks: spec.tasks.map((t, i) => {
      let cls: string[] | null = null;
      if (t.type === "multiclass") {
        cls = t.classes ?? sortValues(classes[i]!);
        if (!t.classes && cls.length < 2) throw new Error(`${name}: task ${t.name}: label column ${JSON.stringify(t.labels[0])} has ${cls.length} class(es) in the training rows; multiclass needs at least 2`);
        if (t.unknown) cls = [UNKNOWN_CLASS, ...cls];
      }
      return { name: t.name, classes: cls, groups: groups[i] ? sortValues(groups[i]!) : null, target: targets[i].length ? mTarget[i].map((m) => m.result()) : null };
    }),
  };
  return { pre, trainRows, validation: (val as TableBuilder | null)?.finish() ?? Table.fromColumns(name, [], []) };
}
