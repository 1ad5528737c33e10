// JSON-lines reader: one JSON value per line, blank lines skipped, gzip detected by its magic bytes. Portable.
// Numbering: "line N" is the 1-based physical line; "data row M" counts non-blank lines.

import { makeRowStream, textLines, type ByteSource, type ParsedRow, type RowStream } from "./source.ts";

/** Every non-blank line parsed with JSON.parse; a line that is not valid JSON throws naming the file and line. */
export async function* jsonlValues(source: ByteSource): AsyncGenerator<{ value: unknown; row: number; line: number }> {
  let row = 0;
  for await (const { text, line } of textLines(source)) {
    if (text.trim() === "") continue;
    row++;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new Error(`${source.name}: line ${line}: invalid JSON (${(e as Error).message}): ${JSON.stringify(text.length > 120 ? text.slice(0, 117) + "..." : text)}`);
    }
    yield { value, row, line };
  }
}

/** The objects of a JSON-lines source as plain records; a line holding a non-object (array, number ...) throws. */
export async function* readJsonl(source: ByteSource): AsyncGenerator<Record<string, unknown>> {
  for await (const { value, line } of jsonlValues(source)) yield asObject(source.name, value, line);
}

function asObject(name: string, value: unknown, line: number): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new Error(`${name}: line ${line}: expected a JSON object, found ${value === null ? "null" : Array.isArray(value) ? "an array" : typeof value}`);
  }
  return value as Record<string, unknown>;
}

/**
 * Cell text of a JSON value: strings as is, null → "" (missing), numbers/booleans via String, arrays/objects as JSON
 * (so a token array `["show", "me"]` stays a JSON array of strings, which splitTokens in src/data/tokens.ts reads back).
 */
export function jsonCell(v: unknown): string {
  if (typeof v === "string") return v;
  if (v === null || v === undefined) return "";
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return JSON.stringify(v);
}

/** Options of {@link openJsonl}. */
export interface JsonlOptions {
  /** Column names; default: the keys of the first object, in order. */
  columns?: readonly string[];
}

/**
 * Open a JSON-lines source of objects as a RowStream of string cells (see jsonCell). A key missing from an object
 * gives "" (missing); a key not among the columns throws naming the file, line and key.
 */
export async function openJsonl(source: ByteSource, opts: JsonlOptions = {}): Promise<RowStream> {
  const it = jsonlValues(source);
  const name = source.name;
  let first: { value: unknown; row: number; line: number } | undefined;
  let columns: string[];
  if (opts.columns) {
    columns = [...opts.columns];
  } else {
    const r = await it.next();
    first = r.done ? undefined : r.value;
    columns = first ? Object.keys(asObject(name, first.value, first.line)) : [];
  }
  const index = new Map(columns.map((c, j) => [c, j] as const));
  const toRow = (v: { value: unknown; row: number; line: number }): ParsedRow => {
    const obj = asObject(name, v.value, v.line);
    const fields = new Array<string>(columns.length).fill("");
    for (const k of Object.keys(obj)) {
      const j = index.get(k);
      if (j === undefined) throw new Error(`${name}: line ${v.line} (data row ${v.row}): key ${JSON.stringify(k)} is not one of the columns ${columns.map((c) => JSON.stringify(c)).join(", ")}`);
      try {
        fields[j] = jsonCell(obj[k]);
      } catch (e) {
        // JSON.stringify recurses: a value nested thousands deep overflows the stack.
        throw new Error(`${name}: line ${v.line} (data row ${v.row}): key ${JSON.stringify(k)}: the value cannot be read as a cell (${(e as Error).message})`);
      }
    }
    return { fields, row: v.row, line: v.line };
  };
  async function* rows(): AsyncGenerator<ParsedRow> {
    if (first) yield toRow(first);
    for await (const v of it) yield toRow(v);
  }
  return makeRowStream(name, columns, rows());
}
