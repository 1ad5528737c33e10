// The data side of `npm run study:tabular` (bench/study-tabular.ts): read a config's data as `mtl train` reads it,
// make the split `mtl train --seed S` makes (src/data/load.ts splitRows), and write what the scikit-learn references
// (bench/study/sklearn_ref.py) train and score on:
//
//   <dir>/table.json          one entry per table row i (0-based, file order), column-major:
//                             { dataset, rows: n, row_ids: [data row of i, 1-based], numeric: { col: [number|null] },
//                               categorical: { col: [string] }, group: { name, values: [string] } | null,
//                               tasks: [{ name, type }], targets: { task: [number|null] } }
//                             numeric: the cell as a number, null when it is one of the spec's missing tokens;
//                             categorical: the cell as is (a missing token stays its own value);
//                             targets: binary 1 when the label is one of `positive` (or "1"), else 0; regression the
//                             number; null when the label is missing.
//   <dir>/split-<seed>.json   { seed, train: [i], validation: [i], validation_sha256, inner: { train, validation } | null }
//                             train / validation: ascending row indices, exactly splitRows(spec with this seed).
//                             inner: a split of the training rows only (indices into the table), for the references'
//                             own choices (ridge's alpha): 20 % of the training rows, identical rows (the input, group
//                             and label cells) kept on one side, stratified like the outer split.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { join, resolve } from "node:path";
import { readSpec, readTrainingData } from "../../src/cli/files.ts";
import { checkColumns, splitRows } from "../../src/data/load.ts";
import { trainValidationSplit } from "../../src/data/split.ts";
import { parseNumber, type Table } from "../../src/data/table.ts";
import { validateSpec, type ModelSpec } from "../../src/model/spec.ts";

export interface Dataset {
  /** "census" or "school": the key in tables and file names. */
  key: string;
  /** The config it comes from (models/census-mmoe.json ...), relative to the repository root. */
  config: string;
  spec: ModelSpec;
  table: Table;
  /** The data file the config names, resolved against the root it was loaded from. */
  dataPath: string;
}

/** Read `config` and its data exactly as `mtl train CONFIG` does when run in `root` (paths relative to it). */
export async function loadDataset(key: string, config: string, root = process.cwd()): Promise<Dataset> {
  const spec = readSpec(resolve(root, config));
  if (!spec.data?.path) throw new Error(`${config}: data.path is not set; the study needs the config's own data file`);
  if (spec.data.validation_path) throw new Error(`${config}: data.validation_path is set, so there is no seeded split to reproduce`);
  const dataPath = resolve(root, spec.data.path);
  const table = await readTrainingData(spec, dataPath);
  checkColumns(spec, table, { labels: true });
  return { key, config, spec, table, dataPath };
}

/** The spec with `training.seed` set to `seed` (what `mtl train --seed S` does). */
export function withSeed(spec: ModelSpec, seed: number): ModelSpec {
  return validateSpec({ ...spec, training: { ...spec.training, seed } });
}

/** The split `mtl train CONFIG --seed S` trains and validates on. */
export function ourSplit(d: Dataset, seed: number): { train: Uint32Array; validation: Uint32Array } {
  return splitRows(withSeed(d.spec, seed), d.table);
}

/** SHA-256 (hex) of the 1-based data-row numbers of `rows`, one per line: the fingerprint of a row set. */
export function rowIdHash(table: Table, rows: ArrayLike<number>): string {
  const h = createHash("sha256");
  for (let k = 0; k < rows.length; k++) h.update(`${table.dataRow(rows[k])}\n`);
  return h.digest("hex");
}

/** The group column of the first task that has one (School: "school"), or null. */
export function groupColumn(spec: ModelSpec): string | null {
  return spec.tasks.find((t) => t.group_by)?.group_by ?? null;
}

/** A target cell as the references read it (see the file comment); throws naming the row and column otherwise. */
function targetValue(d: Dataset, task: ModelSpec["tasks"][number], i: number, s: string): number | null {
  if (d.spec.inputs.missing.includes(s) || s === "") return null;
  const where = () => `${d.table.name}: data row ${d.table.dataRow(i)} (line ${d.table.line(i)}), column ${JSON.stringify(task.labels[0])}`;
  if (task.type === "binary") {
    if (task.positive) return task.positive.includes(s) ? 1 : 0;
    if (s === "0" || s === "1") return +s;
    throw new Error(`${where()}: binary label ${JSON.stringify(s)} is neither 0 nor 1 and the task gives no "positive" values`);
  }
  if (task.type === "regression") {
    const v = parseNumber(s);
    if (v === undefined || !Number.isFinite(v)) throw new Error(`${where()}: value ${JSON.stringify(s)} is not a finite number (task ${task.name} is regression)`);
    return v;
  }
  throw new Error(`task ${task.name}: type ${task.type} is not supported by the tabular study (binary and single-output regression only)`);
}

/** The contents of table.json (see the file comment). */
export function tableJson(d: Dataset): Record<string, unknown> {
  const { spec, table } = d;
  for (const t of spec.tasks) if (t.labels.length !== 1) throw new Error(`task ${t.name}: ${t.labels.length} label columns; the tabular study handles one label per task`);
  const numeric: Record<string, (number | null)[]> = {};
  for (const c of spec.inputs.numeric) {
    numeric[c] = table.stringColumn(c).map((s, i) => {
      if (spec.inputs.missing.includes(s)) return null;
      const v = parseNumber(s);
      if (v === undefined || !Number.isFinite(v)) throw new Error(`${table.name}: data row ${table.dataRow(i)} (line ${table.line(i)}), column ${JSON.stringify(c)}: value ${JSON.stringify(s)} is not a finite number`);
      return v;
    });
  }
  const categorical: Record<string, string[]> = {};
  for (const c of spec.inputs.categorical) categorical[c.column] = table.stringColumn(c.column);
  const g = groupColumn(spec);
  const targets: Record<string, (number | null)[]> = {};
  for (const t of spec.tasks) targets[t.name] = table.stringColumn(t.labels[0]).map((s, i) => targetValue(d, t, i, s));
  return {
    dataset: d.key,
    rows: table.rowCount,
    row_ids: Array.from({ length: table.rowCount }, (_, i) => table.dataRow(i)),
    numeric,
    categorical,
    group: g ? { name: g, values: table.stringColumn(g) } : null,
    tasks: spec.tasks.map((t) => ({ name: t.name, type: t.type })),
    targets,
  };
}

/** Row keys for keeping identical rows together in the inner split: the cells the references read. */
function contentKeys(d: Dataset, rows: ArrayLike<number>): string[] {
  const g = groupColumn(d.spec);
  const cols = [...d.spec.inputs.numeric, ...d.spec.inputs.categorical.map((c) => c.column), ...(g ? [g] : []), ...d.spec.tasks.map((t) => t.labels[0])];
  const data = cols.map((c) => d.table.stringColumn(c));
  return Array.from(rows as ArrayLike<number>, (i) => data.map((col) => col[i]).join("\u0001"));
}

/** A split of the training rows only (indices into the table): see the file comment. */
export function innerSplit(d: Dataset, train: Uint32Array, seed: number): { train: number[]; validation: number[] } {
  const strat = d.spec.data?.stratify;
  const col = strat ? d.table.stringColumn(strat) : null;
  const strata = col ? Array.from(train, (i) => col[i]) : undefined;
  const s = trainValidationSplit(train.length, 0.2, seed + 1000, { groups: contentKeys(d, train), ...(strata ? { strata } : {}) });
  return { train: Array.from(s.train, (k) => train[k]), validation: Array.from(s.validation, (k) => train[k]) };
}

/** Validation rows that have an identical copy (the cells the models read, and the labels) among the training rows. */
export function copiesAcrossSplit(d: Dataset, split: { train: Uint32Array; validation: Uint32Array }): number {
  const seen = new Set(contentKeys(d, split.train));
  return contentKeys(d, split.validation).filter((k) => seen.has(k)).length;
}

export interface ExportedSplit {
  seed: number;
  path: string;
  train: Uint32Array;
  validation: Uint32Array;
  validationSha256: string;
}

/** Write split-<seed>.json under `dir` (see the file comment); `inner` only when a reference needs it. */
export function writeSplit(d: Dataset, seed: number, dir: string, inner: boolean): ExportedSplit {
  const { train, validation } = ourSplit(d, seed);
  const validationSha256 = rowIdHash(d.table, validation);
  const path = join(dir, `split-${seed}.json`);
  writeFileSync(path, JSON.stringify({ seed, train: Array.from(train), validation: Array.from(validation), validation_sha256: validationSha256, inner: inner ? innerSplit(d, train, seed) : null }));
  return { seed, path, train, validation, validationSha256 };
}

/** Write table.json under `dir` (created); returns its path. */
export function writeTable(d: Dataset, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, "table.json");
  writeFileSync(path, JSON.stringify(tableJson(d)));
  return path;
}

/**
 * A data file of `rows` in the config's own format, copied line for line from the source (the census line format
 * has no header; a CSV keeps its header line), so `mtl evaluate DIR --data FILE` reads exactly those rows.
 */
export function writeRowsFile(d: Dataset, rows: ArrayLike<number>, path: string): void {
  const fmt = d.spec.data!.format;
  if (fmt !== "census" && fmt !== "csv") throw new Error(`${d.config}: data format ${fmt}; the study copies rows of census or csv files only`);
  const raw = readFileSync(d.dataPath);
  const text = (raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw).toString("utf8");
  const lines = text.split(/\r?\n/);
  const out = fmt === "csv" ? [lines[0]] : [];
  for (let k = 0; k < rows.length; k++) out.push(lines[d.table.line(rows[k]) - 1]);
  writeFileSync(path, out.join("\n") + "\n");
}
