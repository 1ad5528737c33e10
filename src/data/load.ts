// Read a table in the spec's data format from a byte source, and split it for training. Portable.
import type { DataSource, ModelSpec } from "../model/spec.ts";
import type { ByteSource } from "./source.ts";
import { openCsv } from "./csv.ts";
import { openCensus } from "./census.ts";
import { openJsonl } from "./jsonl.ts";
import { Table } from "./table.ts";
import { trainValidationSplit } from "./split.ts";

/**
 * Parse a whole source in `format` (csv with `delimiter`, the UCI census line format, or JSON lines). A source with
 * no data rows (a CSV header only, or only blank lines) throws "<file>: no data rows ...": nothing could be trained,
 * evaluated or predicted from it.
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
  }
  if (table.rowCount === 0) {
    const what = data.format === "csv" ? `the file has a header line (${table.columns.length} columns) and nothing else` : "the file is empty or holds only blank lines";
    throw new Error(`${source.name}: no data rows (${what})`);
  }
  return table;
}

/** Check that every column the spec reads exists, naming the file and listing the available columns otherwise. */
export function checkColumns(spec: ModelSpec, table: Table, opts: { labels: boolean }): void {
  const cols = [...spec.inputs.numeric, ...spec.inputs.categorical.map((c) => c.column)];
  for (const t of spec.tasks) {
    if (opts.labels) cols.push(...t.labels);
    if (t.group_by) cols.push(t.group_by);
  }
  if (spec.data?.stratify) cols.push(spec.data.stratify);
  for (const c of cols) table.columnIndex(c);
}

/**
 * The seeded train/validation split, a function of the rows, the fraction, the seed and `data.stratify` only
 * (not of the model), so different models on one data set compare on the same split. Identical rows stay on
 * one side (a copy on each side would flatter validation); with `stratify` the fraction applies inside each
 * value of that column (e.g. 20 % of every school).
 */
export function splitRows(spec: ModelSpec, table: Table, fraction = spec.training.validation, seed = spec.training.seed): { train: Uint32Array; validation: Uint32Array } {
  const n = table.rowCount;
  const cols = table.columns.map((c) => table.stringColumn(c));
  const keys = new Array<string>(n);
  for (let i = 0; i < n; i++) keys[i] = cols.map((c) => c[i]).join("\u0001");
  const strat = spec.data?.stratify;
  return trainValidationSplit(n, fraction, seed, { groups: keys, ...(strat ? { strata: table.stringColumn(strat) } : {}) });
}
