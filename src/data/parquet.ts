// Parquet reader over hyparquet (pure JS): flat columns of booleans, integers, floats, decimals and strings (plain or
// dictionary-encoded; uncompressed or snappy, other codecs through `compressors`) become a RowStream of text cells like
// every other reader's. Portable: bytes in, no node:* (browsers and workers pass the bytes, or an AsyncBuffer over a
// File or ranged fetches).
//
// Parquet keeps its footer at the end, so a ByteSource is read whole (not gunzipped); row groups are then decoded one
// at a time. Cells: null → "" (missing under the default inputs.missing); booleans → "1" / "0"; integers (INT32,
// INT64 as exact decimal text), floats, doubles, decimals and float16 → their shortest decimal text ("NaN" and
// "Infinity" meet inputs.missing / inputs.nonfinite as a CSV cell would); strings as they are. Nested columns (LIST,
// MAP, structs, repeated fields), binary without a string annotation, dates, times, timestamps, INT96, UUID, JSON,
// BSON, intervals and geometry are refused naming the column and its type. "data row R" is the 1-based row of the
// file; Parquet has no lines, so a table's "(line L)" repeats R.

import { parquetMetadata, parquetRead, parquetSchema } from "hyparquet/src/index.js";
import type { AsyncBuffer, Compressors, FileMetaData, SchemaElement, SchemaTree } from "hyparquet/src/index.js";
import { makeRowStream, readAllBytes, type ByteSource, type ParsedRow, type RowStream } from "./source.ts";

/** Options of openParquet and openParquetBuffer. */
export interface ParquetOptions {
  /** Read only these columns (default: every top-level column), e.g. to leave out a column of an unsupported type. */
  columns?: readonly string[];
  /** Decompressors for codecs other than UNCOMPRESSED and SNAPPY (hyparquet's `compressors`, e.g. hyparquet-compressors). */
  compressors?: Compressors;
}

/** How one column's values become cells, or why it cannot. */
type Kind = "bool" | "number" | "string";

/** The schema type of a column as shown in errors, e.g. `INT64 (TIMESTAMP_MICROS)` or `group (LIST)`. */
function typeName(e: SchemaElement, nested: boolean): string {
  const ann = e.logical_type?.type ?? e.converted_type;
  const base = nested ? "group" : (e.type ?? "?");
  return ann ? `${base} (${ann})` : e.repetition_type === "REPEATED" ? `repeated ${base}` : base;
}

function kindOf(t: SchemaTree): Kind | null {
  const e = t.element;
  if (t.children.length || e.repetition_type === "REPEATED") return null;
  const ct = e.converted_type, lt = e.logical_type?.type;
  if (ct === "DECIMAL" || lt === "DECIMAL") return e.type === "INT32" || e.type === "INT64" || e.type === "BYTE_ARRAY" || e.type === "FIXED_LEN_BYTE_ARRAY" ? "number" : null;
  switch (e.type) {
    case "BOOLEAN":
      return ct || lt ? null : "bool";
    case "INT32":
    case "INT64": {
      const intAnn = !ct || /^U?INT_\d+$/.test(ct);
      return intAnn && (!lt || lt === "INTEGER") ? "number" : null;
    }
    case "FLOAT":
    case "DOUBLE":
      return ct || (lt && lt !== "FLOAT16") ? null : "number";
    case "FIXED_LEN_BYTE_ARRAY":
      return lt === "FLOAT16" ? "number" : null;
    case "BYTE_ARRAY":
      return ct === "UTF8" || ct === "ENUM" || lt === "STRING" || lt === "ENUM" ? "string" : null;
    default:
      return null;
  }
}

/** Cell text of one decoded value (see the file comment); throws for a value of an unexpected JS type. */
function cellOf(v: unknown, kind: Kind): string | null {
  if (v === null || v === undefined) return "";
  switch (kind) {
    case "bool":
      return typeof v === "boolean" ? (v ? "1" : "0") : null;
    case "number":
      return typeof v === "number" || typeof v === "bigint" ? String(v) : null;
    case "string":
      return typeof v === "string" ? v : null;
  }
}

/** An AsyncBuffer over bytes in memory. */
export function bytesAsyncBuffer(bytes: Uint8Array): AsyncBuffer {
  const buf = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer ? bytes.buffer : bytes.slice().buffer;
  return { byteLength: buf.byteLength, slice: (start: number, end?: number) => buf.slice(start, end) };
}

/** Open a Parquet source (its bytes, read whole) as a RowStream; see openParquetBuffer. */
export async function openParquet(source: ByteSource, opts: ParquetOptions = {}): Promise<RowStream> {
  const bytes = await readAllBytes(source, { decompress: false });
  return openParquetBuffer(source.name, bytesAsyncBuffer(bytes), opts);
}

/**
 * Open Parquet data given as an AsyncBuffer (in memory, a browser File, or ranged fetches) as a RowStream named
 * `name`. The footer and schema are read here: a file hyparquet cannot parse throws "<name>: not a readable Parquet
 * file (…)", an unsupported or unknown column throws naming it; row groups are decoded as the rows are iterated.
 */
export async function openParquetBuffer(name: string, file: AsyncBuffer, opts: ParquetOptions = {}): Promise<RowStream> {
  const wrap = (e: unknown, what: string) => new Error(`${name}: not a readable Parquet file (${what}: ${(e as Error)?.message ?? String(e)})`, { cause: e });
  if (file.byteLength < 12) throw new Error(`${name}: not a Parquet file (${file.byteLength} bytes; a Parquet file starts and ends with "PAR1" around its footer)`);
  let metadata: FileMetaData, top: SchemaTree[];
  try {
    const tail = await file.slice(Math.max(0, file.byteLength - (1 << 20)), file.byteLength);
    const head = new Uint8Array(await file.slice(0, 4));
    if (String.fromCharCode(...head) !== "PAR1") throw new Error(`the file does not start with "PAR1"`);
    metadata = tail.byteLength === file.byteLength ? parquetMetadata(tail) : parquetMetadata(await file.slice(0, file.byteLength));
    top = parquetSchema(metadata).children;
  } catch (e) {
    throw wrap(e, "footer");
  }
  const kinds = new Map<string, { kind: Kind | null; type: string }>();
  for (const t of top) kinds.set(t.element.name, { kind: kindOf(t), type: typeName(t.element, t.children.length > 0) });
  const columns = opts.columns ? [...opts.columns] : top.map((t) => t.element.name);
  const seen = new Set<string>();
  for (const c of columns) {
    const k = kinds.get(c);
    if (!k) throw new Error(`${name}: no column ${JSON.stringify(c)}; the file's columns (${top.length}): ${top.map((t) => JSON.stringify(t.element.name)).join(", ")}`);
    if (seen.has(c)) throw new Error(`${name}: duplicate column name ${JSON.stringify(c)}`);
    seen.add(c);
    if (!k.kind) throw new Error(`${name}: column ${JSON.stringify(c)} has type ${k.type}, which is not read as a table cell (supported: booleans, integers, floats, decimals and strings, plain or dictionary-encoded); leave it out with the reader's columns option`);
  }
  const colKinds = columns.map((c) => kinds.get(c)!.kind!);
  const groups = metadata.row_groups.map((g) => Number(g.num_rows));
  const declared = Number(metadata.num_rows);
  const sum = groups.reduce((a, b) => a + b, 0);
  if (!(groups.every((g) => Number.isSafeInteger(g) && g >= 0) && sum === declared)) throw new Error(`${name}: not a readable Parquet file (footer: the row groups hold ${groups.join(" + ")} rows, the file declares ${declared})`);

  async function* rows(): AsyncGenerator<ParsedRow> {
    let start = 0;
    for (let gi = 0; gi < groups.length; gi++) {
      const n = groups[gi];
      if (!n) continue;
      let data: unknown[][] = [];
      try {
        await parquetRead({ file, metadata, columns: columns.length ? columns : undefined, rowStart: start, rowEnd: start + n, compressors: opts.compressors, onComplete: (r: unknown[][]) => (data = r) });
      } catch (e) {
        throw wrap(e, `row group ${gi + 1} of ${groups.length}`);
      }
      if (columns.length && data.length !== n) throw new Error(`${name}: not a readable Parquet file (row group ${gi + 1} of ${groups.length}: decoded ${data.length} rows, the footer declares ${n})`);
      for (let i = 0; i < n; i++) {
        const row = start + i + 1;
        const src = columns.length ? data[i] : [];
        const fields = new Array<string>(columns.length);
        for (let j = 0; j < columns.length; j++) {
          const v = src[j];
          const cell = cellOf(v, colKinds[j]);
          if (cell === null) throw new Error(`${name}: data row ${row}, column ${JSON.stringify(columns[j])}: decoded a ${typeof v} where a ${colKinds[j]} was declared (corrupt file?)`);
          fields[j] = cell;
        }
        yield { fields, row, line: row };
      }
      start += n;
    }
  }
  return makeRowStream(name, columns, rows());
}
