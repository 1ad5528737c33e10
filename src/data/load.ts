// Read a table in the spec's data format from a byte source, and split it for training. Portable.
import type { DataSource, ModelSpec } from "../model/spec.ts";
import type { ByteSource } from "./source.ts";
import { openCsv } from "./csv.ts";
import { openCensus } from "./census.ts";
import { openJsonl } from "./jsonl.ts";
import { openArff } from "./arff.ts";
import type { RowStream } from "./source.ts";
import { readIdx } from "./idx.ts";
import { Table } from "./table.ts";
import { trainValidationSplit } from "./split.ts";

/**
 * The Parquet reader, provided by src/index.ts and the CLI (src/data/parquet-lazy.ts): not imported here, so a bundle
 * without Parquet (the edge worker's, mtl-wasm/worker) leaves hyparquet out.
 */
let parquetReader: ((source: ByteSource) => Promise<RowStream>) | null = null;
export function provideParquet(open: (source: ByteSource) => Promise<RowStream>): void {
  parquetReader = open;
}

/**
 * Parse a whole source in `format` (csv with `delimiter`, the UCI census line format, JSON lines, Weka ARFF, or
 * Parquet). A source with no data rows (a CSV header only, or only blank lines) throws "<file>: no data rows ...":
 * nothing could be trained, evaluated or predicted from it.
 */
export async function readTable(source: ByteSource, data: Pick<DataSource, "format" | "delimiter">): Promise<Table> {
  let table: Table;
  switch (data.format) {
    case "csv":
      table = await Table.from(openCsv(source, { delimiter: data.delimiter }));
      break;
    case "census":
      table = await Table.from(openCensus(source));
      break;
    case "jsonl":
      table = await Table.from(openJsonl(source));
      break;
    case "arff":
      table = await Table.from(openArff(source));
      break;
    case "parquet":
      if (!parquetReader) throw new Error(`${source.name}: format "parquet" is not in this bundle (mtl-wasm/worker leaves the Parquet reader out to keep the edge bundle small): use mtl-wasm, or convert the file to CSV or JSON lines`);
      table = await Table.from(parquetReader(source));
      break;
    case "idx":
      throw new Error(`${source.name}: format "idx" reads two files (images and labels): use readIdxTable`);
    case "seqtag":
      throw new Error(`${source.name}: format "seqtag" reads a folder of aligned files (seq.in, seq.out, label): use readSeqtag (src/data/seqtag.ts)`);
  }
  if (table.rowCount === 0) {
    const what =
      data.format === "csv" ? `the file has a header line (${table.columns.length} columns) and nothing else`
      : data.format === "arff" ? `the header declares ${table.columns.length} attributes and @data holds no instance`
      : data.format === "parquet" ? "the file holds 0 rows"
      : "the file is empty or holds only blank lines";
    throw new Error(`${source.name}: no data rows (${what})`);
  }
  return table;
}

/**
 * An `idx` data set: the images (IDX, gzip or plain; uint8, float32 or float64; [N, ...] with any item shape) become
 * the table's per-row tensor [N, ∏ item dims] as float32 — uint8 pixels scaled to [0, 1] (p / 255), float images as
 * they are — and the labels CSV (`delimiter`) its columns, one row per image in file order. `labels` null gives a
 * table of N rows and no columns (prediction without labels). A labels file whose row count differs from the image
 * count is an error naming both files.
 */
export async function readIdxTable(images: ByteSource, labels: ByteSource | null, data: Pick<DataSource, "delimiter"> = { delimiter: "," }): Promise<Table> {
  const im = await readIdx(images);
  if (im.dims.length < 2) throw new Error(`${images.name}: IDX rank ${im.dims.length} (dimensions [${im.dims.join(", ")}]); expected images [N, rows, columns] (IDX3)`);
  if (im.type !== "uint8" && im.type !== "float32" && im.type !== "float64") throw new Error(`${images.name}: IDX element type ${im.type}; expected uint8 pixels (or float32/float64 values)`);
  const n = im.dims[0];
  const width = n ? im.data.length / n : im.dims.slice(1).reduce((a, b) => a * b, 1);
  let tensor: Float32Array;
  if (im.type === "uint8") {
    const scale = new Float32Array(256);
    for (let v = 0; v < 256; v++) scale[v] = v / 255;
    tensor = new Float32Array(im.data.length);
    for (let i = 0; i < tensor.length; i++) tensor[i] = scale[im.data[i]];
  } else {
    tensor = Float32Array.from(im.data);
    const bad = tensor.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new Error(`${images.name}: image ${Math.floor(bad / width) + 1}, value ${bad % width}: ${im.data[bad]} is not a finite float32`);
  }
  let table: Table;
  if (labels) {
    table = await Table.from(openCsv(labels, { delimiter: data.delimiter }));
    if (table.rowCount !== n) throw new Error(`${labels.name}: ${table.rowCount} label rows for the ${n} images of ${images.name}; expected one row per image, in the same order`);
  } else {
    const rows = Int32Array.from({ length: n }, (_, i) => i + 1);
    table = Table.fromCodes(images.name, [], [], [], rows, rows);
  }
  if (n === 0) throw new Error(`${images.name}: no images (the IDX file holds 0 items)`);
  return table.withTensor(width, tensor, images.name);
}

/** Check that every column the spec reads exists, naming the file and listing the available columns otherwise. */
export function checkColumns(spec: ModelSpec, table: Table, opts: { labels: boolean }): void {
  const cols = [...spec.inputs.numeric, ...spec.inputs.categorical.map((c) => c.column), ...(spec.inputs.tokens ? [spec.inputs.tokens.column] : [])];
  for (const t of spec.tasks) {
    if (opts.labels) cols.push(...t.labels);
    if (t.group_by) cols.push(t.group_by);
  }
  if (spec.data?.stratify) cols.push(spec.data.stratify);
  for (const c of cols) table.columnIndex(c);
}

/** Tables made by joinValidation → their training row count (the validation rows follow). */
const joined = new WeakMap<Table, number>();

/** Where a table from joinValidation starts its validation rows; null for any other table. */
export function validationStart(table: Table): number | null {
  return joined.get(table) ?? null;
}

/**
 * The training rows of `train` then the validation rows of `validation` (a data.validation_path file, or train()'s
 * validation set) as one table over `train`'s columns, every one of which `validation` must have (an error names
 * the validation file and its columns). Row and line numbers stay each file's own. splitRows splits it back where
 * the validation rows start.
 */
export function joinValidation(train: Table, validation: Table): Table {
  if (train.tensor || validation.tensor) throw new Error(`${validation.name}: a separate validation set is not supported for data with a per-row tensor (idx); use a validation fraction`);
  const cols = [...train.columns];
  const data = cols.map((c) => [...train.stringColumn(c), ...validation.stringColumn(c)]);
  const rowNo = [...Array.from({ length: train.rowCount }, (_, i) => train.dataRow(i)), ...Array.from({ length: validation.rowCount }, (_, i) => validation.dataRow(i))];
  const lineNo = [...Array.from({ length: train.rowCount }, (_, i) => train.line(i)), ...Array.from({ length: validation.rowCount }, (_, i) => validation.line(i))];
  const t = Table.fromColumns(train.name, cols, data, rowNo, lineNo);
  joined.set(t, train.rowCount);
  return t;
}

/**
 * The seeded train/validation split, a function of the rows, the fraction, the seed and `data.stratify` only
 * (not of the model), so different models on one data set compare on the same split. Identical rows stay on
 * one side (a copy on each side would flatter validation), compared on every column but `data.row_id`; with `stratify` the fraction applies inside each
 * value of that column (e.g. 20 % of every school). A table from joinValidation is split where its validation rows
 * start (no fraction, no shuffle); a spec with data.validation_path needs such a table.
 */
export function splitRows(spec: ModelSpec, table: Table, fraction = spec.training.validation, seed = spec.training.seed): {
  /** The training rows' indices (0-based rows of `table`), ascending. */
  train: Uint32Array;
  /** The validation rows' indices, ascending; disjoint from `train`, and the two cover every row. */
  validation: Uint32Array;
} {
  const ntrain = joined.get(table);
  if (ntrain !== undefined) return { train: Uint32Array.from({ length: ntrain }, (_, i) => i), validation: Uint32Array.from({ length: table.rowCount - ntrain }, (_, i) => ntrain + i) };
  if (spec.data?.validation_path) throw new Error(`${table.name}: data.validation_path (${JSON.stringify(spec.data.validation_path)}) gives the validation rows, but they were not read with the training rows (the CLI reads both with readTrainingData; train() takes them as its validation option)`);
  const n = table.rowCount;
  const rowId = spec.data?.row_id;
  if (rowId && !table.columns.includes(rowId)) throw new Error(`${table.name}: data.row_id names column ${JSON.stringify(rowId)}, which the file does not have`);
  const cols = table.columns.filter((c) => c !== rowId).map((c) => table.stringColumn(c));
  const keys = new Array<string>(n);
  for (let i = 0; i < n; i++) keys[i] = cols.map((c) => c[i]).join("\u0001");
  const strat = spec.data?.stratify;
  return trainValidationSplit(n, fraction, seed, { groups: keys, ...(strat ? { strata: table.stringColumn(strat) } : {}) });
}
