// A file's rows for streaming training, pass after pass: the row stream of a formatted source, cut into small Tables
// of at most `size` rows (each a Table like readTable's, so parsing, checks and error messages are the in-memory
// path's, with the file's own row and line numbers). Memory is bounded by the chunk size, not the file. Portable.
import type { DataSource, ModelSpec } from "../model/spec.ts";
import type { ByteSource, ParsedRow, RowStream } from "./source.ts";
import { openCsv } from "./csv.ts";
import { openCensus } from "./census.ts";
import { openJsonl } from "./jsonl.ts";
import { Table, TableBuilder } from "./table.ts";
import { hashSplit } from "./stream-split.ts";

/** Opens the data source afresh for each pass (a file path reopened, `() => fileSource(path)`, or a new fetch / File.stream()). */
export type Reopen = () => ByteSource | Promise<ByteSource>;

/** The formats a streaming run reads (row by row, in one pass each). */
export const STREAMING_FORMATS = ["csv", "census", "jsonl"] as const;

/** The row stream of `source` in `data.format`; other formats are refused by name. */
export async function openRows(source: ByteSource, data: Pick<DataSource, "format" | "delimiter">): Promise<RowStream> {
  switch (data.format) {
    case "csv":
      return openCsv(source, { delimiter: data.delimiter });
    case "census":
      return openCensus(source);
    case "jsonl":
      return openJsonl(source);
    default:
      throw new Error(`${source.name}: data.streaming reads formats ${STREAMING_FORMATS.join(", ")} row by row; format ${JSON.stringify(data.format)} is read whole (turn data.streaming off)`);
  }
}

/** Which side of the hash split a pass reads: the training rows, the validation rows, or both (`all`). */
export type Side = "train" | "validation" | "all";

/** A chunk of raw rows: `count` rows' fields in the stream's column order, with their data-row and line numbers. */
export interface RowChunk {
  /** The source's name, as in error messages. */
  readonly name: string;
  /** The stream's columns. */
  readonly columns: readonly string[];
  /** Rows in this chunk (≤ the size asked for). */
  count: number;
  /** fields[i] for i < count: the row's cells, one per column (checked). */
  readonly fields: string[][];
  /** 1-based data-row numbers [count]. */
  readonly rows: Int32Array;
  /** 1-based line numbers [count]. */
  readonly lines: Int32Array;
}

type Hooks = { onColumns?: (columns: readonly string[], name: string) => void; other?: (row: ParsedRow) => void };

/**
 * One pass over the file: its rows on `side` of the spec's hash split (training.validation, training.seed,
 * data.row_id), in chunks of at most `size` rows, in file order. The one RowChunk object is refilled for each yield
 * (valid until the next). A row with another number of fields than the header throws as TableBuilder.add does.
 * `onColumns` sees the stream's columns first; `other` sees every row of the other side.
 */
export async function* rowChunks(spec: ModelSpec, reopen: Reopen, side: Side, size: number, hooks: Hooks = {}): AsyncGenerator<RowChunk> {
  const source = await reopen();
  const stream = await openRows(source, spec.data ?? { format: "csv", delimiter: "," });
  hooks.onColumns?.(stream.columns, stream.name);
  const isVal = hashSplit(stream.columns, spec.training.validation, spec.training.seed, spec.data?.row_id, stream.name);
  const ncol = stream.columns.length, name = stream.name;
  const c: RowChunk = { name, columns: stream.columns, count: 0, fields: new Array(size), rows: new Int32Array(size), lines: new Int32Array(size) };
  for await (const batch of stream.batches()) {
    for (const r of batch) {
      if (side !== "all" && isVal(r.fields) !== (side === "validation")) {
        hooks.other?.(r);
        continue;
      }
      if (r.fields.length !== ncol) throw new Error(`${name}: data row ${r.row} (line ${r.line}): expected ${ncol} fields, found ${r.fields.length}`);
      const n = c.count;
      (c.fields[n] = r.fields), (c.rows[n] = r.row), (c.lines[n] = r.line);
      if ((c.count = n + 1) === size) {
        yield c;
        c.count = 0;
      }
    }
  }
  if (c.count) yield c;
}

/** rowChunks as Tables (readTable's, so parsing, checks and error messages are the in-memory path's). */
export async function* chunks(spec: ModelSpec, reopen: Reopen, side: Side, size: number, hooks: Hooks = {}): AsyncGenerator<Table> {
  for await (const c of rowChunks(spec, reopen, side, size, hooks)) {
    const b = new TableBuilder(c.name, c.columns);
    for (let i = 0; i < c.count; i++) b.add(c.fields[i], c.rows[i], c.lines[i]);
    yield b.finish();
  }
}
