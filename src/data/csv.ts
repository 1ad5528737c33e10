// Streaming CSV reader (RFC 4180) over a ByteSource: quoted fields with embedded delimiters, doubled quotes and
// newlines; LF, CRLF (and lone CR) record terminators; any single-character delimiter (',' by default, ';' for the
// UCI student-performance and wine-quality files); gzip input detected by its magic bytes. Portable (no node:*).
//
// Numbering used in errors: "data row N" is the 1-based index of the record among the data rows (the header and
// skipped blank lines are not counted); "line L" is the 1-based line where the record starts: every record terminator
// (LF, CRLF, or a lone CR) ends a line, and so does an LF inside a quoted field.

import { makeBatchedRowStream, textChunks, type ByteSource, type ParsedRow, type RowStream } from "./source.ts";

/** Options of {@link openCsv}: RFC 4180 CSV with a configurable delimiter and quote. */
export interface CsvOptions {
  /** Field delimiter, one character. Default ",". */
  delimiter?: string;
  /** Quote character, one character. Default '"'. */
  quote?: string;
  /**
   * true (default): the first record is the header. An array: the file has no header line and these are the
   * column names.
   */
  header?: true | readonly string[];
  /** Skip lines that are completely empty (default true). A line `""` (an explicitly quoted empty field) is not empty. */
  skipEmptyLines?: boolean;
}

/** A raw record from the tokenizer: fields and the 1-based line where it starts. */
export interface CsvRecord {
  fields: string[];
  line: number;
}

const ST_FIELD_START = 0, ST_UNQUOTED = 1, ST_QUOTED = 2, ST_QUOTE_IN_QUOTED = 3;

/** Incremental RFC 4180 tokenizer: push() text chunks, end() at EOF; complete records accumulate in `out`. */
export class CsvTokenizer {
  /** Complete records not yet taken (take() hands them over). */
  out: CsvRecord[] = [];
  private readonly delim: number;
  private readonly quote: number;
  private readonly quoteStr: string;
  private readonly skipEmpty: boolean;
  private state = ST_FIELD_START;
  private field = "";
  private fieldQuoted = false;
  private row: string[] = [];
  private line = 1;
  private rowLine = 1;
  private quoteLine = 1;
  private pendingCR = false;

  constructor(private readonly name: string, opts: { delimiter?: string; quote?: string; skipEmptyLines?: boolean } = {}) {
    const d = opts.delimiter ?? ",", q = opts.quote ?? '"';
    if (d.length !== 1) throw new Error(`${name}: CSV delimiter must be one character, got ${JSON.stringify(d)}`);
    if (q.length !== 1) throw new Error(`${name}: CSV quote must be one character, got ${JSON.stringify(q)}`);
    if (d === q || d === "\n" || d === "\r" || q === "\n" || q === "\r") throw new Error(`${name}: invalid CSV delimiter/quote pair ${JSON.stringify(d)} / ${JSON.stringify(q)}`);
    this.delim = d.charCodeAt(0);
    this.quote = q.charCodeAt(0);
    this.quoteStr = q;
    this.skipEmpty = opts.skipEmptyLines ?? true;
  }

  private endField(): void {
    this.row.push(this.field);
    this.field = "";
  }

  private endRecord(): void {
    const row = this.row;
    this.row = [];
    const empty = row.length === 1 && row[0] === "" && !this.fieldQuoted;
    this.fieldQuoted = false;
    if (!(empty && this.skipEmpty)) this.out.push({ fields: row, line: this.rowLine });
    this.rowLine = this.line;
  }

  /** The complete records so far (the tokenizer starts a new list). */
  take(): CsvRecord[] {
    const o = this.out;
    this.out = [];
    return o;
  }

  /**
   * From i, at the start of a record, when no quote is ahead in this chunk: whole lines split at the delimiter (the
   * records the state machine makes of them, found faster). Stops before a partial last line, or before a line with a
   * CR not just before its LF (a lone CR ends a record of its own); the state machine takes those. Returns the index
   * it stopped at.
   */
  private plainLines(s: string, i: number): number {
    const n = s.length, D = String.fromCharCode(this.delim);
    let cr = s.indexOf("\r", i);
    while (i < n) {
      const nl = s.indexOf("\n", i);
      if (nl < 0) return i;
      let end = nl;
      if (cr >= 0 && cr < i) cr = s.indexOf("\r", i);
      if (cr >= 0 && cr < nl) {
        if (cr !== nl - 1) return i;
        end = cr;
      }
      const text = s.slice(i, end);
      if (text.length || !this.skipEmpty) this.out.push({ fields: text.split(D), line: this.line });
      this.rowLine = ++this.line;
      i = nl + 1;
    }
    return i;
  }

  push(s: string): void {
    const n = s.length, D = this.delim, Q = this.quote;
    let i = 0;
    if (this.pendingCR) {
      // A record ended with CR at the end of the previous chunk: swallow the LF of a CRLF.
      this.pendingCR = false;
      if (n > 0 && s.charCodeAt(0) === 10) {
        i = 1;
      }
    }
    // The next quote at or after i (n when none): lines before it may take the fast path.
    let q = -1;
    while (i < n) {
      switch (this.state) {
        case ST_FIELD_START: {
          if (this.row.length === 0) {
            if (q < i) q = s.indexOf(this.quoteStr, i) >>> 0;
            if (q >= n) {
              const j = this.plainLines(s, i);
              if (j !== i) {
                i = j;
                break;
              }
            }
          }
          if (s.charCodeAt(i) === Q) {
            this.state = ST_QUOTED;
            this.fieldQuoted = true;
            this.quoteLine = this.line;
            i++;
            break;
          }
          this.state = ST_UNQUOTED;
          this.fieldQuoted = false;
        }
        // falls through
        case ST_UNQUOTED: {
          let j = i;
          let c = 0;
          while (j < n) {
            c = s.charCodeAt(j);
            if (c === D || c === 10 || c === 13) break;
            j++;
          }
          if (j > i) this.field += s.slice(i, j);
          if (j === n) {
            i = n;
            break;
          }
          i = this.terminate(s, j, c);
          break;
        }
        case ST_QUOTED: {
          const j = s.indexOf(this.quoteStr, i);
          const end = j < 0 ? n : j;
          const seg = s.slice(i, end);
          for (let k = seg.indexOf("\n"); k >= 0; k = seg.indexOf("\n", k + 1)) this.line++;
          this.field += seg;
          if (j < 0) {
            i = n;
          } else {
            this.state = ST_QUOTE_IN_QUOTED;
            i = j + 1;
          }
          break;
        }
        case ST_QUOTE_IN_QUOTED: {
          const c = s.charCodeAt(i);
          if (c === Q) {
            this.field += this.quoteStr; // "" inside a quoted field
            this.state = ST_QUOTED;
            i++;
          } else if (c === D || c === 10 || c === 13) {
            i = this.terminate(s, i, c);
          } else {
            throw new Error(
              `${this.name}: line ${this.line}: unexpected character ${JSON.stringify(s[i])} after the closing quote of a field (a quote inside a quoted field must be doubled)`,
            );
          }
          break;
        }
      }
    }
  }

  /** Handle a delimiter or line terminator at s[j] (code c); returns the next index. */
  private terminate(s: string, j: number, c: number): number {
    this.endField();
    this.state = ST_FIELD_START;
    if (c === this.delim) return j + 1;
    this.line++;
    this.endRecord();
    if (c === 13) {
      if (j + 1 < s.length) return s.charCodeAt(j + 1) === 10 ? j + 2 : j + 1;
      this.pendingCR = true;
    }
    return j + 1;
  }

  /** Signal end of input: flushes a last record without a terminator; throws on an unterminated quoted field. */
  end(): void {
    if (this.state === ST_QUOTED) {
      throw new Error(`${this.name}: line ${this.quoteLine}: quoted field is not closed before the end of the file`);
    }
    if (this.state === ST_FIELD_START && this.row.length === 0) return; // nothing pending
    this.endField();
    this.state = ST_FIELD_START;
    this.endRecord();
  }
}

/** Raw CSV records of a source, each text chunk's complete records together (no header handling, no field-count check). */
export async function* csvRecordBatches(source: ByteSource, opts: CsvOptions = {}): AsyncGenerator<CsvRecord[]> {
  const tok = new CsvTokenizer(source.name, opts);
  for await (const chunk of textChunks(source)) {
    tok.push(chunk);
    if (tok.out.length) yield tok.take();
  }
  tok.end();
  if (tok.out.length) yield tok.take();
}

/** Raw CSV records of a source (no header handling, no field-count check). */
export async function* csvRecords(source: ByteSource, opts: CsvOptions = {}): AsyncGenerator<CsvRecord> {
  for await (const b of csvRecordBatches(source, opts)) yield* b;
}

/**
 * Open a CSV source as a RowStream: reads up to the header (unless `opts.header` gives the columns), then yields data
 * rows. A row whose field count differs from the header's throws an Error naming the file, the data row and line
 * number, and the expected and found counts. Duplicate header names throw.
 */
export async function openCsv(source: ByteSource, opts: CsvOptions = {}): Promise<RowStream> {
  const it = csvRecordBatches(source, opts);
  let columns: string[];
  let recs: CsvRecord[] = [];
  if (Array.isArray(opts.header)) {
    columns = [...opts.header];
  } else {
    const first = await it.next();
    if (first.done) throw new Error(`${source.name}: empty CSV file (no header line)`);
    columns = first.value[0].fields;
    recs = first.value.slice(1);
  }
  const seen = new Set<string>();
  for (const c of columns) {
    if (seen.has(c)) throw new Error(`${source.name}: duplicate column name ${JSON.stringify(c)} in the CSV header`);
    seen.add(c);
  }
  const ncol = columns.length;
  const name = source.name;
  let row = 0;
  // A record with the wrong field count: the rows before it are yielded first, then the error is thrown.
  async function* batches(): AsyncGenerator<ParsedRow[]> {
    for (;;) {
      const out: ParsedRow[] = new Array(recs.length);
      for (let k = 0; k < recs.length; k++) {
        const rec = recs[k];
        row++;
        if (rec.fields.length !== ncol) {
          if (k) yield out.slice(0, k);
          throw new Error(`${name}: data row ${row} (line ${rec.line}): expected ${ncol} fields (as in the header), found ${rec.fields.length}`);
        }
        out[k] = { fields: rec.fields, row, line: rec.line };
      }
      if (out.length) yield out;
      const b = await it.next();
      if (b.done) return;
      recs = b.value;
    }
  }
  return makeBatchedRowStream(name, columns, batches());
}

/** Convenience: the data rows of a CSV source as objects keyed by the header names. */
export async function* readCsv(source: ByteSource, opts: CsvOptions = {}): AsyncGenerator<Record<string, string>> {
  const stream = await openCsv(source, opts);
  const cols = stream.columns;
  for await (const r of stream) {
    const rec: Record<string, string> = {};
    for (let j = 0; j < cols.length; j++) rec[cols[j]] = r.fields[j];
    yield rec;
  }
}
