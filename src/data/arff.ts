// Streaming reader of Weka ARFF files (the format of the Mulan multi-label benchmarks) over a ByteSource. Portable.
//
// Header: `@relation NAME`, then `@attribute NAME TYPE` lines, then `@data`. Keywords and type names are
// case-insensitive; NAME and nominal values may be quoted ('…' or "…", backslash escapes \\ \' \" \n \t \r); `%` starts
// a comment (whole lines, or the rest of a line outside quotes); blank lines are skipped. TYPE is numeric, real or
// integer (all read as numbers), string, date [FORMAT] (kept as text), or a nominal set {a, b, 'c d'}; relational
// attributes are refused.
//
// Data: one instance per line. Dense rows are comma-separated values, one per attribute; sparse rows are
// `{INDEX VALUE, …}` with 0-based attribute indices in increasing order, the others being 0 (numeric) or the first
// declared value (nominal); a sparse row may not leave out a string or date attribute (its value would be undefined).
// An unquoted `?` is a missing value and becomes the empty cell "" (which the spec's default inputs.missing reads as
// missing). Numbers are checked (parseFiniteNumber syntax: 1e400 or "nan" pass here and meet inputs.nonfinite later),
// nominal values must be declared. Cells stay text, as every reader's: a nominal {0,1} attribute is a binary label
// read as 0/1, a nominal attribute with text values is a categorical input, or a binary label with `positive`.
//
// Numbering in errors: "line L" is the 1-based physical line (of the decompressed text); "data row R" counts instances.

import { makeRowStream, textLines, type ByteSource, type ParsedRow, type RowStream } from "./source.ts";
import { parseFiniteNumber } from "./table.ts";

/** An attribute's kind: numeric (numeric, real and integer declarations), nominal ({a, b, …}), string or date. */
export type ArffType = "numeric" | "nominal" | "string" | "date";

/** One `@attribute` declaration of the header; the stream's columns are the attributes' names, in this order. */
export interface ArffAttribute {
  /** The attribute's name (unquoted), the column name; unique in the file. */
  name: string;
  /** Its kind; every kind's cells are text (numbers checked, dates kept as written). */
  type: ArffType;
  /** nominal: the declared values in order; null otherwise. */
  values: string[] | null;
  /** 1-based line of its `@attribute` declaration. */
  line: number;
}

/** A RowStream over an ARFF file's instances, with its header. */
export interface ArffStream extends RowStream {
  /** The `@relation` name (the data set's name in the file). */
  readonly relation: string;
  /** The declared attributes in order (one per column). */
  readonly attributes: readonly ArffAttribute[];
}

const show = (s: string) => JSON.stringify(s.length > 60 ? s.slice(0, 57) + "..." : s);

const ESCAPES: Record<string, string> = { n: "\n", t: "\t", r: "\r", "\\": "\\", "'": "'", '"': '"', "%": "%" };

/** Cursor over one line: quoted strings, bare words, separators. Errors are raised by the caller's `fail`. */
class LineScanner {
  i = 0;
  constructor(readonly text: string, private readonly fail: (msg: string) => never) {}

  skipSpace(): void {
    while (this.i < this.text.length && (this.text[this.i] === " " || this.text[this.i] === "\t")) this.i++;
  }
  /** At the end of the line, or at a comment. */
  atEnd(): boolean {
    this.skipSpace();
    return this.i >= this.text.length || this.text[this.i] === "%";
  }
  peek(): string {
    return this.text[this.i];
  }
  /** A quoted string starting at the cursor (which is on the quote). */
  quoted(): string {
    const q = this.text[this.i++];
    let out = "";
    for (;;) {
      if (this.i >= this.text.length) this.fail(`quoted value starting with ${q} is not closed on its line`);
      const c = this.text[this.i++];
      if (c === q) return out;
      if (c === "\\" && this.i < this.text.length) {
        const e = this.text[this.i++];
        out += ESCAPES[e] ?? e;
      } else out += c;
    }
  }
  /** A name or value: quoted, or bare up to whitespace or one of `stops` (trimmed). `quoted` tells which it was. */
  token(stops: string): { text: string; quoted: boolean } {
    this.skipSpace();
    const c = this.text[this.i];
    if (c === "'" || c === '"') return { text: this.quoted(), quoted: true };
    const start = this.i;
    while (this.i < this.text.length) {
      const d = this.text[this.i];
      if (d === "%" || stops.includes(d)) break;
      this.i++;
    }
    return { text: this.text.slice(start, this.i).trim(), quoted: false };
  }
}

const NUMERIC_TYPES = new Set(["numeric", "real", "integer"]);

/**
 * Open an ARFF source: reads the header up to `@data`, then yields one row per instance (fields in attribute order;
 * see the file comment for the cell values). Header errors throw here; data errors when the row is reached, naming the
 * file, data row, line and attribute.
 */
export async function openArff(source: ByteSource): Promise<ArffStream> {
  const name = source.name;
  const lines = textLines(source)[Symbol.asyncIterator]();
  let relation: string | null = null;
  const attributes: ArffAttribute[] = [];
  const seen = new Set<string>();
  let inData = false;
  while (!inData) {
    const r = await lines.next();
    if (r.done) throw new Error(relation === null ? `${name}: no @relation line: not an ARFF file (or an empty one)` : `${name}: no @data line after the ${attributes.length} attributes: the file ends in its header`);
    const { text, line } = r.value;
    const fail = (msg: string): never => {
      throw new Error(`${name}: line ${line}: ${msg}`);
    };
    const sc = new LineScanner(text, fail);
    if (sc.atEnd()) continue;
    const kw = sc.token(" \t").text.toLowerCase();
    if (relation === null) {
      if (kw !== "@relation") fail(`expected @relation (the first line of an ARFF header), found ${show(text.trim())}`);
      if (sc.atEnd()) fail("@relation needs a name");
      relation = sc.token(" \t").text;
      if (!sc.atEnd()) fail(`unexpected text after the relation name: ${show(text.slice(sc.i).trim())}`);
      continue;
    }
    if (kw === "@data") {
      if (!sc.atEnd()) fail(`unexpected text after @data: ${show(text.slice(sc.i).trim())}`);
      inData = true;
      continue;
    }
    if (kw !== "@attribute") fail(`expected @attribute or @data, found ${show(text.trim())}`);
    if (sc.atEnd()) fail("@attribute needs a name and a type");
    const attr = sc.token(" \t{").text;
    if (attr === "") fail("@attribute has an empty name");
    const at = (msg: string): never => fail(`attribute ${JSON.stringify(attr)}: ${msg}`);
    if (seen.has(attr)) at(`declared twice (attribute names must be unique)`);
    seen.add(attr);
    if (sc.atEnd()) at("no type (expected numeric, real, integer, string, date or a nominal {a, b, …})");
    if (sc.peek() === "{") {
      sc.i++;
      const values: string[] = [];
      for (;;) {
        if (sc.atEnd()) at("the nominal values' { is not closed by } on its line");
        const v = sc.token(",}");
        if (v.text === "" && !v.quoted) at(`empty nominal value at position ${values.length + 1}`);
        if (values.includes(v.text)) at(`nominal value ${JSON.stringify(v.text)} is declared twice`);
        values.push(v.text);
        sc.skipSpace();
        const c = sc.peek();
        if (c === ",") sc.i++;
        else if (c === "}") {
          sc.i++;
          break;
        } else if (c === undefined || c === "%") at("the nominal values' { is not closed by } on its line");
        else at(`expected "," or "}" after nominal value ${JSON.stringify(v.text)}, found ${JSON.stringify(c)}`);
      }
      if (!sc.atEnd()) at(`unexpected text after the nominal values: ${show(text.slice(sc.i).trim())}`);
      attributes.push({ name: attr, type: "nominal", values, line });
      continue;
    }
    const type = sc.token(" \t").text.toLowerCase();
    if (NUMERIC_TYPES.has(type)) {
      if (!sc.atEnd()) at(`unexpected text after the type: ${show(text.slice(sc.i).trim())}`);
      attributes.push({ name: attr, type: "numeric", values: null, line });
    } else if (type === "string") {
      if (!sc.atEnd()) at(`unexpected text after the type: ${show(text.slice(sc.i).trim())}`);
      attributes.push({ name: attr, type: "string", values: null, line });
    } else if (type === "date") {
      attributes.push({ name: attr, type: "date", values: null, line }); // an optional date format follows; dates stay text
    } else if (type === "relational") {
      at("relational attributes (multi-instance data) are not supported");
    } else at(`unknown type ${show(type)}; expected numeric, real, integer, string, date or a nominal {a, b, …}`);
  }
  if (!attributes.length) throw new Error(`${name}: the header declares no @attribute before @data`);

  const ncol = attributes.length;
  const nominal = attributes.map((a) => (a.values ? new Set(a.values) : null));
  async function* rows(): AsyncGenerator<ParsedRow> {
    let row = 0;
    for (;;) {
      const r = await lines.next();
      if (r.done) return;
      const { text, line } = r.value;
      const where = () => `${name}: data row ${row} (line ${line})`;
      const fail = (msg: string): never => {
        throw new Error(`${where()}: ${msg}`);
      };
      const sc = new LineScanner(text, fail);
      if (sc.atEnd()) continue;
      row++;
      const cell = (j: number, v: { text: string; quoted: boolean }): string => {
        if (!v.quoted && v.text === "?") return "";
        const a = attributes[j];
        if (a.type === "numeric") {
          if (parseFiniteNumber(v.text) === undefined) fail(`attribute ${JSON.stringify(a.name)}: expected a number, found ${show(v.text)}`);
        } else if (nominal[j] && !nominal[j]!.has(v.text)) {
          fail(`attribute ${JSON.stringify(a.name)}: value ${show(v.text)} is not one of its declared values {${a.values!.join(", ")}}`);
        }
        return v.text;
      };
      let fields: string[];
      if (sc.peek() === "{") fields = sparse(sc, cell, fail);
      else {
        fields = [];
        for (;;) {
          sc.skipSpace();
          if (sc.peek() === "{") fail(`instance weights ({…} after the values) are not supported`);
          const v = sc.token(",");
          if (v.text === "" && !v.quoted) fail(`empty value at position ${fields.length + 1} (write ? for a missing value)`);
          if (fields.length < ncol) fields.push(cell(fields.length, v));
          else fields.length++;
          if (sc.atEnd()) break;
          if (sc.peek() !== ",") fail(`expected "," after value ${fields.length}, found ${show(text.slice(sc.i))}`);
          sc.i++;
          if (sc.atEnd()) fail(`the line ends with "," (value ${fields.length + 1} is missing; write ? for a missing value)`);
        }
        if (fields.length !== ncol) fail(`expected ${ncol} values (one per @attribute), found ${fields.length}`);
      }
      yield { fields, row, line };
    }
  }

  /** A sparse row {i v, …}: indices increasing; left-out attributes are 0 / the first nominal value. */
  function sparse(sc: LineScanner, cell: (j: number, v: { text: string; quoted: boolean }) => string, fail: (msg: string) => never): string[] {
    sc.i++;
    const given = new Array<string | undefined>(ncol);
    let last = -1;
    sc.skipSpace();
    if (sc.peek() === "}") sc.i++;
    else {
      for (;;) {
        const idx = sc.token(" \t,}").text;
        if (!/^\d+$/.test(idx)) fail(`sparse entry ${show(idx)}: expected "INDEX VALUE" with a 0-based attribute index`);
        const j = +idx;
        if (j >= ncol) fail(`sparse index ${j} is out of range (the header declares ${ncol} attributes, indices 0 to ${ncol - 1})`);
        if (j <= last) fail(`sparse index ${j} after ${last}: indices must increase`);
        last = j;
        const v = sc.token(",}");
        if (v.text === "" && !v.quoted) fail(`sparse index ${j} (attribute ${JSON.stringify(attributes[j].name)}) has no value`);
        given[j] = cell(j, v);
        sc.skipSpace();
        const c = sc.peek();
        if (c === ",") sc.i++;
        else if (c === "}") {
          sc.i++;
          break;
        } else fail(`sparse row: expected "," or "}" after index ${j}, found ${c === undefined ? "the end of the line" : JSON.stringify(c)}`);
      }
    }
    if (!sc.atEnd()) {
      sc.skipSpace();
      if (sc.peek() === "," || sc.peek() === "{") fail(`instance weights ({…} after the values) are not supported`);
      fail(`unexpected text after the sparse row's }: ${show(sc.text.slice(sc.i))}`);
    }
    const fields = new Array<string>(ncol);
    for (let j = 0; j < ncol; j++) {
      const v = given[j];
      if (v !== undefined) fields[j] = v;
      else {
        const a = attributes[j];
        if (a.type === "numeric") fields[j] = "0";
        else if (a.values) fields[j] = a.values[0];
        else fail(`sparse row leaves out ${a.type} attribute ${JSON.stringify(a.name)}, whose value would be undefined; give it explicitly`);
      }
    }
    return fields;
  }

  const stream = makeRowStream(name, attributes.map((a) => a.name), rows());
  return Object.assign(stream, { relation: relation!, attributes });
}
