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

/**
 * One pass over the file: its rows on `side` of the spec's hash split (training.validation, training.seed,
 * data.row_id), as Tables of at most `size` rows, in file order. `onColumns` sees the stream's columns first;
 * `other` sees every row of the other side.
 */
export async function* chunks(spec: ModelSpec, reopen: Reopen, side: Side, size: number, hooks: { onColumns?: (columns: readonly string[], name: string) => void; other?: (row: ParsedRow) => void } = {}): AsyncGenerator<Table> {
  const source = await reopen();
  const stream = await openRows(source, spec.data ?? { format: "csv", delimiter: "," });
  hooks.onColumns?.(stream.columns, stream.name);
  const isVal = hashSplit(stream.columns, spec.training.validation, spec.training.seed, spec.data?.row_id, stream.name);
  let b = new TableBuilder(stream.name, stream.columns), n = 0;
  for await (const r of stream) {
    if (side !== "all" && isVal(r.fields) !== (side === "validation")) {
      hooks.other?.(r);
      continue;
    }
    b.add(r.fields, r.row, r.line);
    if (++n === size) {
      yield b.finish();
      (b = new TableBuilder(stream.name, stream.columns)), (n = 0);
    }
  }
  if (n) yield b.finish();
}
