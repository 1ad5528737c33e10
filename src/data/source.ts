// Portable byte sources and the row-stream type shared by the CSV, census and JSON-lines readers.
// Library-side: Web APIs only (TextDecoder, DecompressionStream, ReadableStream), no node:* imports,
// so the same code runs in Node 20, Deno, browsers and Cloudflare workers.

/** A named stream of bytes: the input of every reader. `name` appears in every error message. */
export interface ByteSource {
  /** The source's name (a file name or path), the prefix of every error message about its contents. */
  name: string;
  /** The bytes in order, in chunks of any size (a chunk boundary may fall anywhere, inside a UTF-8 character too); read once. */
  chunks: AsyncIterable<Uint8Array>;
}

/** One parsed data row: its fields (in column order), its 1-based data-row number and the 1-based line it starts on. */
export interface ParsedRow {
  /** The row's cells as text, one per column of the stream, in column order (the spec's inputs.missing decides what is missing). */
  fields: string[];
  /** 1-based data-row number (header and skipped blank lines excluded). */
  row: number;
  /** 1-based physical line number of the row's first line in the (decompressed) text. */
  line: number;
}

/**
 * A stream of rows with known column names (the CSV header, CENSUS_COLUMNS, or the JSON-lines keys). Single use:
 * iterate it row by row, or call batches() once for the same rows in arrays (one await per batch instead of one per
 * row; readers that parse a chunk of text at a time yield that chunk's rows together).
 */
export interface RowStream extends AsyncIterable<ParsedRow> {
  /** The source's name, as in error messages. */
  readonly name: string;
  /** Column names in order; every row has one field per column. */
  readonly columns: readonly string[];
  /** The same rows in file order, in non-empty arrays (each array is the caller's; the rows are not reused). */
  batches(): AsyncIterable<ParsedRow[]>;
}

/** A source over bytes already in memory; `chunkSize` splits them (tests use it to exercise chunk boundaries). */
export function fromBytes(name: string, bytes: Uint8Array, chunkSize = 1 << 16): ByteSource {
  if (!(chunkSize >= 1)) throw new RangeError(`fromBytes(${name}): chunkSize must be >= 1, got ${chunkSize}`);
  return {
    name,
    chunks: (async function* () {
      for (let i = 0; i < bytes.length; i += chunkSize) yield bytes.subarray(i, Math.min(bytes.length, i + chunkSize));
    })(),
  };
}

/** A source over a string (UTF-8 encoded). */
export function fromString(name: string, text: string, chunkSize?: number): ByteSource {
  return fromBytes(name, new TextEncoder().encode(text), chunkSize);
}

/** A source over explicit chunks (sync or async iterable). */
export function fromChunks(name: string, chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): ByteSource {
  return {
    name,
    chunks: (async function* () {
      yield* chunks;
    })(),
  };
}

/** A source over a web ReadableStream (fetch() bodies, Blob.stream(), Deno files...). */
export function fromReadableStream(name: string, stream: ReadableStream<Uint8Array>): ByteSource {
  return { name, chunks: iterateStream(stream) };
}

/** Iterate a ReadableStream with a reader (ReadableStream's own async iterator is missing in some browsers). */
export async function* iterateStream<T>(stream: ReadableStream<T>): AsyncGenerator<T> {
  const reader = stream.getReader();
  let done = false;
  try {
    for (;;) {
      const r = await reader.read();
      if (r.done) {
        done = true;
        return;
      }
      yield r.value;
    }
  } finally {
    if (!done) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

/** True when the bytes start with the gzip magic number 1f 8b. */
export function isGzip(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

/**
 * The source's bytes, gunzipped when they start with the gzip magic 1f 8b (checked on the first two bytes,
 * however the input is chunked), passed through unchanged otherwise. Decompression uses DecompressionStream('gzip');
 * its failures (truncated or corrupt gzip) are rethrown naming the source.
 */
export async function* decompressedChunks(source: ByteSource): AsyncGenerator<Uint8Array> {
  const it = source.chunks[Symbol.asyncIterator]();
  // Collect at least two bytes to look at the magic number.
  const head: Uint8Array[] = [];
  let headLen = 0;
  let ended = false;
  while (headLen < 2) {
    const r = await it.next();
    if (r.done) {
      ended = true;
      break;
    }
    if (r.value.length === 0) continue;
    head.push(r.value);
    headLen += r.value.length;
  }
  const first = head.length === 1 ? head[0] : concatBytes(head);
  if (!isGzip(first)) {
    if (first.length) yield first;
    if (ended) return;
    let finished = false;
    try {
      for (;;) {
        const r = await it.next();
        if (r.done) {
          finished = true;
          return;
        }
        yield r.value;
      }
    } finally {
      if (!finished) await it.return?.();
    }
  }
  let sentFirst = false;
  let sourceError: unknown = undefined;
  const input = new ReadableStream<Uint8Array>({
    async pull(ctrl) {
      if (!sentFirst) {
        sentFirst = true;
        ctrl.enqueue(first);
        return;
      }
      let r: IteratorResult<Uint8Array>;
      try {
        r = ended ? { done: true, value: undefined } : await it.next();
      } catch (e) {
        sourceError = e;
        throw e;
      }
      if (r.done) ctrl.close();
      else ctrl.enqueue(r.value);
    },
    async cancel(reason) {
      await it.return?.(reason);
    },
  });
  const ds = new DecompressionStream("gzip");
  // The cast bridges lib.dom's BufferSource generics; the bytes are plain Uint8Arrays either way.
  const out = input.pipeThrough(ds as unknown as ReadableWritablePair<Uint8Array, Uint8Array>);
  try {
    yield* iterateStream(out);
  } catch (e) {
    if (sourceError !== undefined && e === sourceError) throw e;
    throw new Error(`${source.name}: gzip decompression failed (truncated or corrupt file?): ${(e as Error)?.message ?? e}`, { cause: e });
  }
}

/** The source's text: gunzipped if needed, decoded as UTF-8 (a leading BOM is dropped), in chunks. */
export async function* textChunks(source: ByteSource): AsyncGenerator<string> {
  const dec = new TextDecoder("utf-8");
  for await (const c of decompressedChunks(source)) {
    const s = dec.decode(c, { stream: true });
    if (s) yield s;
  }
  const tail = dec.decode();
  if (tail) yield tail;
}

/**
 * The source's lines with 1-based line numbers; the terminator (LF or CRLF) is removed. A final line without a
 * terminator is yielded too; an empty input yields nothing, and a trailing terminator does not produce an empty last line.
 */
export async function* textLines(source: ByteSource): AsyncGenerator<{ text: string; line: number }> {
  for await (const b of textLineBatches(source)) yield* b;
}

/** textLines, the lines each text chunk completes together (non-empty arrays): one await per chunk, not per line. */
export async function* textLineBatches(source: ByteSource): AsyncGenerator<{ text: string; line: number }[]> {
  // The unfinished line is kept as its pieces and joined once its terminator arrives: only new text is searched for
  // "\n", so a long line arriving in many small chunks costs linear time (re-scanning and re-flattening the
  // accumulated prefix on every chunk was quadratic: a 1 MB line in 1-byte chunks took minutes).
  const parts: string[] = [];
  let line = 0;
  for await (const chunk of textChunks(source)) {
    let start = 0;
    const out: { text: string; line: number }[] = [];
    for (;;) {
      const nl = chunk.indexOf("\n", start);
      if (nl < 0) break;
      let text = chunk.slice(start, nl);
      if (parts.length) {
        parts.push(text);
        text = parts.join("");
        parts.length = 0;
      }
      if (text.charCodeAt(text.length - 1) === 13) text = text.slice(0, -1);
      out.push({ text, line: ++line });
      start = nl + 1;
    }
    if (start < chunk.length) parts.push(start ? chunk.slice(start) : chunk);
    if (out.length) yield out;
  }
  if (parts.length) {
    const text = parts.join("");
    yield [{ text: text.endsWith("\r") ? text.slice(0, -1) : text, line: ++line }];
  }
}

/** All bytes of the source, decompressed when gzip. */
export async function readAllBytes(source: ByteSource, opts: { decompress?: boolean } = {}): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const chunks = opts.decompress === false ? source.chunks : decompressedChunks(source);
  for await (const c of chunks) parts.push(c);
  return concatBytes(parts);
}

/** Concatenate byte arrays into a new one. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Rows as plain objects keyed by column name (convenient, slower than the field arrays). */
export async function* rowRecords(stream: RowStream): AsyncGenerator<Record<string, string>> {
  const cols = stream.columns;
  for await (const r of stream) {
    const rec: Record<string, string> = {};
    for (let j = 0; j < cols.length; j++) rec[cols[j]] = r.fields[j];
    yield rec;
  }
}

/** Wrap a row generator (that has already learned its columns) as a RowStream. Single use. */
export function makeRowStream(name: string, columns: readonly string[], rows: AsyncIterator<ParsedRow>): RowStream {
  return rowStreamOf(name, columns, () => rows, async function* () {
    for (;;) {
      const r = await rows.next();
      if (r.done) return;
      yield [r.value];
    }
  });
}

/** Wrap a generator of row arrays (each non-empty) as a RowStream. Single use. */
export function makeBatchedRowStream(name: string, columns: readonly string[], batches: AsyncIterator<ParsedRow[]>): RowStream {
  return rowStreamOf(name, columns, async function* () {
    for (;;) {
      const b = await batches.next();
      if (b.done) return;
      yield* b.value;
    }
  }, () => batches);
}

function rowStreamOf(name: string, columns: readonly string[], rows: () => AsyncIterator<ParsedRow>, batches: () => AsyncIterator<ParsedRow[]>): RowStream {
  let used = false;
  const use = () => {
    if (used) throw new Error(`${name}: a row stream can be iterated only once`);
    used = true;
  };
  return {
    name,
    columns,
    [Symbol.asyncIterator]() {
      use();
      return rows();
    },
    batches() {
      use();
      const it = batches();
      return { [Symbol.asyncIterator]: () => it };
    },
  };
}
