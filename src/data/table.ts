// A columnar in-memory table of string cells built from a RowStream (CSV, census, JSON lines), with typed column
// extraction for the trainer. Every row remembers its data-row and line number, so a bad cell found later is reported
// as precisely as a parse error. Portable (no node:*).

import type { RowStream } from "./source.ts";

/** What to do with a non-finite or float32-overflowing number (see parseFiniteNumber): throw, or read it as missing. */
export type NonFinitePolicy = "error" | "missing";

/** How {@link Table.numericColumn} reads cells: missing tokens and the non-finite policy. */
export interface NumericColumnOptions {
  /**
   * Cell values that mean "missing" and become NaN, compared after trimming spaces, e.g. ["?"] for census or [""] for
   * empty cells. Default: none, so every cell must be a number. Checked before `nonfinite`, so a declared "NaN" token
   * is simply missing.
   */
  missing?: readonly string[];
  /**
   * A number that is not a finite float32 (±Infinity, NaN spelled as "nan", "inf", or a magnitude such as 1e400 or
   * 3.5e38 that overflows float32): "error" (default) throws naming the file, row, line and column; "missing" reads
   * it as NaN.
   */
  nonfinite?: NonFinitePolicy;
}

/** A categorical column as integer codes ({@link Table.categoricalColumn}). */
export interface CategoricalColumn {
  /** Code of each row: index into `levels`, or -1 for a value not in explicitly given levels. */
  codes: Int32Array;
  /** The distinct values codes index: the given levels, or those present sorted by code unit. */
  levels: string[];
}

/** Decimal number syntax accepted by numericColumn (surrounding spaces allowed): 12, -3.5, .5, 1e-3, +Infinity. */
const NUM_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$|^[+-]?Infinity$/;

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

/**
 * Parse a cell as a float64; undefined when it is not a number (hex, "", "1,5", "NaN" ... are rejected). ±Infinity
 * and overflowing values (1e400 → Infinity) are returned as is: use parseFiniteNumber for data values.
 */
export function parseNumber(s: string): number | undefined {
  const v = plainDecimal(s);
  if (v === v) return v;
  let t = s;
  if (t.length && (isSpace(t.charCodeAt(0)) || isSpace(t.charCodeAt(t.length - 1)))) t = t.trim();
  return NUM_RE.test(t) ? +t : undefined;
}

/** Exact powers of ten as doubles: 10^0 … 10^22. */
const POW10 = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));

/**
 * The value of a plain decimal such as "-0.0593", "12", "1.5e3" (NUM_RE's first form, no spaces) when its digits
 * form an integer m < 2^53 and its decimal exponent e has |e| ≤ 22: then m and 10^|e| are exact doubles and one
 * multiplication or division rounds correctly (Clinger's fast path), which is +s. NaN for anything else (other
 * syntax, more digits, a larger exponent): parseNumber then takes the general path.
 */
function plainDecimal(s: string): number {
  const n = s.length;
  let i = 0, c = n ? s.charCodeAt(0) : 0, neg = false;
  if (c === 45 || c === 43) {
    neg = c === 45;
    c = ++i < n ? s.charCodeAt(i) : 0;
  }
  let m = 0, e = 0, digits = 0;
  while (c >= 48 && c <= 57) {
    m = m * 10 + (c - 48);
    digits++;
    c = ++i < n ? s.charCodeAt(i) : 0;
  }
  if (c === 46) {
    c = ++i < n ? s.charCodeAt(i) : 0;
    while (c >= 48 && c <= 57) {
      m = m * 10 + (c - 48);
      digits++;
      e--;
      c = ++i < n ? s.charCodeAt(i) : 0;
    }
  }
  if (digits === 0) return NaN; // "", "+", ".", "-."
  if (i < n) {
    if (c !== 101 && c !== 69) return NaN;
    c = ++i < n ? s.charCodeAt(i) : 0;
    let eneg = false;
    if (c === 45 || c === 43) {
      eneg = c === 45;
      c = ++i < n ? s.charCodeAt(i) : 0;
    }
    let x = 0, xd = 0;
    while (c >= 48 && c <= 57 && xd < 6) {
      x = x * 10 + (c - 48);
      xd++;
      c = ++i < n ? s.charCodeAt(i) : 0;
    }
    if (xd === 0 || i < n) return NaN;
    e += eneg ? -x : x;
  }
  if (m > 9007199254740991 || e < -22 || e > 22) return NaN;
  const v = e < 0 ? m / POW10[-e] : m * POW10[e];
  return neg ? -v : v;
}

/** The largest finite float32, 3.4028234663852886e38. */
export const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * Whether v is a finite number that stays finite as a float32: Math.fround(v) is not ±Infinity or NaN. A value a hair
 * above FLOAT32_MAX that rounds to it (the usual literal 3.4028235e38) is fine; 3.5e38, 1e400, ±Infinity and NaN are not.
 * Underflow (1e-400 → 0) is not an error.
 */
export function isFiniteFloat32(v: number): boolean {
  return Number.isFinite(Math.fround(v));
}

/** Non-finite spellings that are not decimal syntax: NaN and infinity as written by numpy, pandas, C printf, R... */
const NONFINITE_RE = /^[+-]?(?:nan|inf|infinity)$/i;

/**
 * Parse a cell as a number that is a finite float32: the number; `null` when it is a number but not a finite float32
 * (±Infinity, 1e400, 3.5e38, or a spelling of NaN / infinity such as "nan", "NaN", "-inf"); undefined when it is not
 * a number at all. Surrounding spaces are allowed.
 */
export function parseFiniteNumber(s: string): number | null | undefined {
  const v = parseNumber(s);
  if (v !== undefined) return isFiniteFloat32(v) ? v : null;
  return NONFINITE_RE.test(s.trim()) ? null : undefined;
}

/** The error text for a non-finite value (after "<where>: "); `hint` replaces the advice after the semicolon. */
export function nonFiniteMessage(value: string, hint = 'set inputs.nonfinite to "missing" to read such values as missing'): string {
  return `value ${value} is not a finite float32 (|v| ≤ 3.4028234663852886e38); ${hint}`;
}

/** Incremental builder of a dictionary-encoded Table (used by Table.from; handy for custom readers). */
export class TableBuilder {
  private readonly maps: Map<string, number>[];
  private readonly levels: string[][];
  private codes: Int32Array[];
  private rows = new Int32Array(1024);
  private lines = new Int32Array(1024);
  private n = 0;

  constructor(readonly name: string, readonly columns: readonly string[]) {
    this.maps = columns.map(() => new Map());
    this.levels = columns.map(() => []);
    this.codes = columns.map(() => new Int32Array(1024));
  }

  /** Append one row (fields in column order) with its 1-based data-row and line numbers. */
  add(fields: readonly string[], row: number, line: number): void {
    const ncol = this.columns.length;
    if (fields.length !== ncol) throw new Error(`${this.name}: data row ${row} (line ${line}): expected ${ncol} fields, found ${fields.length}`);
    const i = this.n;
    if (i === this.rows.length) {
      const grow = <T extends Int32Array>(a: T) => {
        const b = new Int32Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.codes = this.codes.map(grow);
      this.rows = grow(this.rows);
      this.lines = grow(this.lines);
    }
    for (let j = 0; j < ncol; j++) {
      const v = fields[j];
      const m = this.maps[j];
      let k = m.get(v);
      if (k === undefined) {
        k = this.levels[j].length;
        m.set(v, k);
        this.levels[j].push(v);
      }
      this.codes[j][i] = k;
    }
    this.rows[i] = row;
    this.lines[i] = line;
    this.n = i + 1;
  }

  finish(): Table {
    const n = this.n;
    return Table.fromCodes(this.name, this.columns, this.codes.map((c) => c.slice(0, n)), this.levels, this.rows.slice(0, n), this.lines.slice(0, n));
  }
}

/**
 * Columnar table of string cells. Each column is dictionary-encoded (an Int32Array of codes into the column's distinct
 * values, in order of first appearance), which keeps 50k × 42 census cells cheap to hold and makes numericColumn parse
 * each distinct value once.
 */
export class Table {
  /** The data's name (a file name), used in error messages. */
  readonly name: string;
  /** Column names in file order. */
  readonly columns: readonly string[];
  /** Number of data rows. */
  readonly rowCount: number;
  private readonly codes: Int32Array[];
  private readonly dict: string[][];
  private readonly rowNo: Int32Array;
  private readonly lineNo: Int32Array;
  private readonly index = new Map<string, number>();
  private rowTensor: { width: number; data: Float32Array; source: string } | null = null;

  private constructor(name: string, columns: readonly string[], codes: Int32Array[], dict: string[][], rowNo: Int32Array, lineNo: Int32Array) {
    columns.forEach((c, j) => {
      if (this.index.has(c)) throw new Error(`${name}: duplicate column name ${JSON.stringify(c)}`);
      this.index.set(c, j);
    });
    this.name = name;
    this.columns = [...columns];
    this.codes = codes;
    this.dict = dict;
    this.rowCount = rowNo.length;
    this.rowNo = rowNo;
    this.lineNo = lineNo;
  }

  /** @internal Used by TableBuilder and select(). */
  static fromCodes(name: string, columns: readonly string[], codes: Int32Array[], dict: string[][], rowNo: Int32Array, lineNo: Int32Array): Table {
    return new Table(name, columns, codes, dict, rowNo, lineNo);
  }

  /**
   * Build from column-major string data. `rowNumbers` / `lineNumbers` give each row's 1-based data row and line in
   * the source (default: i + 1 for both).
   */
  static fromColumns(name: string, columns: readonly string[], data: readonly (readonly string[])[], rowNumbers?: ArrayLike<number>, lineNumbers?: ArrayLike<number>): Table {
    if (data.length !== columns.length) throw new Error(`${name}: ${columns.length} column names but ${data.length} columns of data`);
    const n = data.length ? data[0].length : 0;
    for (let j = 0; j < data.length; j++) {
      if (data[j].length !== n) throw new Error(`${name}: column "${columns[j]}" has ${data[j].length} rows, expected ${n}`);
    }
    const b = new TableBuilder(name, columns);
    const fields = new Array<string>(columns.length);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < columns.length; j++) fields[j] = data[j][i];
      b.add(fields, rowNumbers ? rowNumbers[i] : i + 1, lineNumbers ? lineNumbers[i] : i + 1);
    }
    return b.finish();
  }

  /** Build from row objects (e.g. from readCsv); columns default to the first row's keys. */
  static fromRecords(name: string, records: readonly Record<string, string>[], columns?: readonly string[]): Table {
    const cols = columns ?? (records.length ? Object.keys(records[0]) : []);
    const b = new TableBuilder(name, cols);
    records.forEach((r, i) => {
      b.add(
        cols.map((c) => {
          const v = r[c];
          if (typeof v !== "string") throw new Error(`${name}: data row ${i + 1}: column "${c}" is missing or not a string`);
          return v;
        }),
        i + 1,
        i + 1,
      );
    });
    return b.finish();
  }

  /** Read a whole RowStream into a table. */
  static async from(stream: RowStream | Promise<RowStream>): Promise<Table> {
    const s = await stream;
    const b = new TableBuilder(s.name, s.columns);
    for await (const rows of s.batches()) for (const r of rows) b.add(r.fields, r.row, r.line);
    return b.finish();
  }

  /**
   * Per-row float features that travel with the rows (the images of an `idx` data set): [rowCount, width] row-major,
   * or null. select() keeps each selected row's features; encode() hands them to the model's tensor input.
   */
  get tensor(): {
    /** Features per row. */
    readonly width: number;
    /** [rowCount, width] float32, row-major. */
    readonly data: Float32Array;
    /** Where the features came from (a file name), for error messages. */
    readonly source: string;
  } | null {
    return this.rowTensor;
  }

  /**
   * This table with `data` ([rowCount, width] row-major) as its per-row tensor, read from the file `source` (named in
   * errors about it; default the table's name). The cells are shared, not copied.
   */
  withTensor(width: number, data: Float32Array, source = this.name): Table {
    if (!(Number.isInteger(width) && width >= 0 && data.length === this.rowCount * width)) throw new Error(`${this.name}: a tensor of ${data.length} values is not ${this.rowCount} rows × ${width}`);
    const t = new Table(this.name, this.columns, this.codes, this.dict, this.rowNo, this.lineNo);
    t.rowTensor = { width, data, source };
    return t;
  }

  /** Whether the table has a column named `column` (exact, case-sensitive). */
  has(column: string): boolean {
    return this.index.has(column);
  }

  /** Position of a column; throws naming the file and column and listing the available columns. */
  columnIndex(column: string): number {
    const j = this.index.get(column);
    if (j === undefined) {
      throw new Error(`${this.name}: no column ${JSON.stringify(column)}; available columns (${this.columns.length}): ${this.columns.map((c) => JSON.stringify(c)).join(", ")}`);
    }
    return j;
  }

  /** 1-based data-row number of row i in the source. */
  dataRow(i: number): number {
    return this.rowNo[i];
  }

  /** 1-based line number (in the decompressed text) where row i starts. */
  line(i: number): number {
    return this.lineNo[i];
  }

  /** The cells of a column (a new array). */
  stringColumn(column: string): string[] {
    const j = this.columnIndex(column);
    const codes = this.codes[j], dict = this.dict[j];
    const out = new Array<string>(codes.length);
    for (let i = 0; i < codes.length; i++) out[i] = dict[codes[i]];
    return out;
  }

  /** The distinct values of a column present in this table, sorted by code unit. */
  distinct(column: string): string[] {
    const j = this.columnIndex(column);
    const used = new Uint8Array(this.dict[j].length);
    for (const k of this.codes[j]) used[k] = 1;
    return this.dict[j].filter((_, k) => used[k]).sort();
  }

  /**
   * A column as float64 whose every value is a finite float32 or NaN (missing). A cell that is neither a number nor
   * one of `opts.missing` (→ NaN) throws an Error naming the file, data row, line, column and the bad value (the first
   * such row); so does a non-finite or float32-overflowing number unless `opts.nonfinite` is "missing" (→ NaN).
   */
  numericColumn(column: string, opts: NumericColumnOptions = {}): Float64Array {
    const j = this.columnIndex(column);
    const codes = this.codes[j], dict = this.dict[j];
    const missing = new Set((opts.missing ?? []).map((m) => m.trim()));
    const nonfiniteMissing = opts.nonfinite === "missing";
    // Parse each distinct value once; `bad` marks values that are neither numbers nor missing tokens (1), or
    // non-finite numbers that are an error (2).
    const vals = new Float64Array(dict.length);
    const bad = new Uint8Array(dict.length);
    let anyBad = false;
    for (let k = 0; k < dict.length; k++) {
      const v = parseFiniteNumber(dict[k]);
      if (typeof v === "number") vals[k] = v;
      else if (missing.has(dict[k].trim())) vals[k] = NaN;
      else if (v === null && nonfiniteMissing) vals[k] = NaN;
      else bad[k] = v === null ? 2 : 1, (anyBad = true);
    }
    const out = new Float64Array(codes.length);
    for (let i = 0; i < codes.length; i++) {
      const k = codes[i];
      if (anyBad && bad[k]) {
        const at = `${this.name}: data row ${this.rowNo[i]} (line ${this.lineNo[i]}), column ${JSON.stringify(column)}`;
        if (bad[k] === 2) throw new Error(`${at}: ${nonFiniteMessage(JSON.stringify(dict[k]))}`);
        const tokens = missing.size ? [...missing].map((m) => JSON.stringify(m)).join(", ") : "none";
        throw new Error(`${at}: value ${JSON.stringify(dict[k])} is not a number (missing-value tokens: ${tokens})`);
      }
      out[i] = vals[k];
    }
    return out;
  }

  /**
   * Integer codes of a categorical column. Without `levels`, the levels are the distinct values present, sorted by
   * code unit (deterministic); with `levels` (e.g. the training split's), values outside them get code -1.
   */
  categoricalColumn(column: string, levels?: readonly string[]): CategoricalColumn {
    const j = this.columnIndex(column);
    const codes = this.codes[j], dict = this.dict[j];
    const lv = levels ? [...levels] : this.distinct(column);
    const pos = new Map<string, number>();
    lv.forEach((v, k) => {
      if (!pos.has(v)) pos.set(v, k);
    });
    const remap = Int32Array.from(dict, (v) => pos.get(v) ?? -1);
    const out = new Int32Array(codes.length);
    for (let i = 0; i < codes.length; i++) out[i] = remap[codes[i]];
    return { codes: out, levels: lv };
  }

  /** Row i as an object keyed by column name. */
  row(i: number): Record<string, string> {
    if (!(Number.isInteger(i) && i >= 0 && i < this.rowCount)) throw new RangeError(`${this.name}: row index ${i} out of range [0, ${this.rowCount})`);
    const rec: Record<string, string> = {};
    for (let j = 0; j < this.columns.length; j++) rec[this.columns[j]] = this.dict[j][this.codes[j][i]];
    return rec;
  }

  /** A new table with the given rows (e.g. a split's indices); row and line numbers are kept for error messages. */
  select(indices: ArrayLike<number>): Table {
    const m = indices.length;
    const rows = new Int32Array(m), lines = new Int32Array(m);
    for (let k = 0; k < m; k++) {
      const i = indices[k];
      if (!(Number.isInteger(i) && i >= 0 && i < this.rowCount)) throw new RangeError(`${this.name}: select: index ${i} out of range [0, ${this.rowCount})`);
      rows[k] = this.rowNo[i];
      lines[k] = this.lineNo[i];
    }
    const codes = this.codes.map((col) => {
      const out = new Int32Array(m);
      for (let k = 0; k < m; k++) out[k] = col[indices[k]];
      return out;
    });
    const t = new Table(this.name, this.columns, codes, this.dict, rows, lines);
    if (this.rowTensor) {
      const { width, data, source } = this.rowTensor;
      const out = new Float32Array(m * width);
      for (let k = 0; k < m; k++) out.set(data.subarray(indices[k] * width, (indices[k] + 1) * width), k * width);
      t.rowTensor = { width, data: out, source };
    }
    return t;
  }
}

/** Read a whole RowStream (or a promise of one, e.g. openCsv(...)) into a Table. */
export function loadTable(stream: RowStream | Promise<RowStream>): Promise<Table> {
  return Table.from(stream);
}
