// Training batches streamed from a file, epoch after epoch, through a seeded shuffle buffer: each pass re-reads the
// file (reopen), keeps the hash split's training rows, encodes them a chunk at a time straight from their fields
// (stream-encode.ts RowEncoder: encode()'s values and errors, bit for bit, without building a Table), and holds at most `bufferRows` encoded rows. Once the buffer is
// full, each arriving row replaces a uniformly drawn buffered row, which goes to the batch; at the end of the file
// the rest of the buffer leaves in a Fisher–Yates order. Every epoch is thus a permutation of the training rows,
// drawn from mulberry32(epochSeed(seed, epoch)) alone, so a resumed run (checkpoints) draws the same batches as
// an uninterrupted one. The buffer and the batch are typed arrays allocated once, sized by bufferRows and the batch
// size, never by the file. Portable.
import type { ModelSpec } from "../model/spec.ts";
import type { Encoded, Preprocessing } from "./preprocess.ts";
import { encodedWidth } from "./numeric-encodings.ts";
import { mulberry32, randomInt } from "./split.ts";
import { rowChunks, type Reopen } from "./stream-rows.ts";
import { RowEncoder } from "./stream-encode.ts";
import { STREAM_CHUNK } from "./stream-stats.ts";
import type { Batch, BatchSource } from "../train/batches.ts";

/** Default data.shuffle_buffer: rows held for shuffling. */
export const DEFAULT_SHUFFLE_BUFFER = 65536;

/** The shuffle seed of one epoch (0-based): a function of the training seed and the epoch only. */
export function epochSeed(seed: number, epoch: number): number {
  return (Math.imul((seed >>> 0) ^ 0x5bd1e995, 0x9e3779b1) + Math.imul(epoch + 1, 0x85ebca6b)) >>> 0;
}

/** The 32-bit arrays of an Encoded of `rows` rows (no tokens, no tensor), in allocEncoded's order: [kind, length]. */
function encodedArrays(spec: ModelSpec, pre: Preprocessing, rows: number): ["f" | "i", number][] {
  const a: ["f" | "i", number][] = [["f", rows * encodedWidth(pre.numeric)], ...pre.categorical.map(() => ["i", rows] as ["i", number])];
  for (const t of spec.tasks) a.push(t.type === "multiclass" ? ["i", rows] : ["f", rows * t.labels.length], ["f", rows], ["i", t.group_by ? rows : 0]);
  return a;
}

/** Bytes of allocEncoded(spec, pre, rows)'s one buffer. */
export function encodedBufferBytes(spec: ModelSpec, pre: Preprocessing, rows: number): number {
  return encodedArrays(spec, pre, rows).reduce((n, [, len]) => n + 4 * len, 0);
}

/**
 * An Encoded of `rows` rows laid out as encode() lays out the spec's (row-major; no tokens, no tensor), its arrays
 * views of one buffer of encodedBufferBytes bytes (`buffer`, or a new one): one transferable object holds the rows.
 */
export function allocEncoded(spec: ModelSpec, pre: Preprocessing, rows: number, buffer?: ArrayBuffer): Encoded {
  const buf = buffer ?? new ArrayBuffer(encodedBufferBytes(spec, pre, rows));
  let at = 0;
  const views = encodedArrays(spec, pre, rows).map(([kind, len]) => {
    const v = kind === "f" ? new Float32Array(buf, at, len) : new Int32Array(buf, at, len);
    at += 4 * len;
    return v;
  });
  let k = 0;
  const next = <T>() => views[k++] as T;
  const numeric = next<Float32Array>();
  const categorical = pre.categorical.map(() => next<Int32Array>());
  return {
    rows,
    numeric,
    categorical,
    tensor: new Float32Array(0),
    tasks: spec.tasks.map(() => ({ labels: next<Float32Array | Int32Array>(), mask: next<Float32Array>(), group: next<Int32Array>() })),
  };
}

/** Bytes held by an Encoded's typed arrays. */
export function encodedBytes(e: Encoded): number {
  let n = e.numeric.byteLength + e.tensor.byteLength;
  for (const c of e.categorical) n += c.byteLength;
  for (const t of e.tasks) n += t.labels.byteLength + t.mask.byteLength + t.group.byteLength;
  return n;
}

/**
 * An Encoded's per-row arrays as 32-bit lanes: `a[c]` an Int32Array view of one array (numeric, each categorical,
 * each task's labels, mask and group when present), `w[c]` its values per row. Rows are copied as bits, so floats
 * (NaN labels too) arrive unchanged, and every copy goes through one array type. A packed row is the lanes' values
 * one after another: R = Σ w words.
 */
interface Lanes {
  a: Int32Array[];
  w: Int32Array;
}

function lanes(e: Encoded, V: number): Lanes {
  const a: Int32Array[] = [], w: number[] = [];
  const add = (x: Float32Array | Int32Array, width: number) => width > 0 && (a.push(new Int32Array(x.buffer, x.byteOffset, x.length)), w.push(width));
  add(e.numeric, V);
  for (const c of e.categorical) add(c, 1);
  for (const t of e.tasks) {
    add(t.labels, e.rows ? t.labels.length / e.rows : 0);
    add(t.mask, 1);
    if (t.group.length) add(t.group, 1);
  }
  return { a, w: Int32Array.from(w) };
}

/** Rows [0, rows) of `src` packed into `dst` [rows · R] (R = Σ src.w), lane after lane. */
function pack(src: Lanes, rows: number, dst: Int32Array, R: number): void {
  for (let c = 0, o = 0; c < src.a.length; o += src.w[c++]) {
    const a = src.a[c], w = src.w[c];
    if (w === 1) for (let r = 0; r < rows; r++) dst[r * R + o] = a[r];
    else for (let r = 0; r < rows; r++) for (let j = 0; j < w; j++) dst[r * R + o + j] = a[r * w + j];
  }
}

/** Packed rows [0, rows) of `src` [· R] into the lanes of `dst`: pack's inverse. */
function unpack(src: Int32Array, rows: number, R: number, dst: Lanes): void {
  for (let c = 0, o = 0; c < dst.a.length; o += dst.w[c++]) {
    const a = dst.a[c], w = dst.w[c];
    if (w === 1) for (let r = 0; r < rows; r++) a[r] = src[r * R + o];
    else for (let r = 0; r < rows; r++) for (let j = 0; j < w; j++) a[r * w + j] = src[r * R + o + j];
  }
}

/** Copy R words: dst[d, d + R) = src[s, s + R). */
function copyWords(dst: Int32Array, d: number, src: Int32Array, s: number, R: number): void {
  for (let j = 0; j < R; j++) dst[d + j] = src[s + j];
}

/** Options of streamBatches. */
export interface StreamBatchesOptions {
  /** Rows the shuffle buffer holds (data.shuffle_buffer). */
  bufferRows?: number;
  /** Rows parsed and encoded at a time. */
  chunkRows?: number;
}

/** A BatchSource streaming the file's training rows; `bytes()` is what its buffer and batch arrays hold. */
export interface StreamBatches extends BatchSource {
  /** Bytes of the typed arrays allocated (buffer + batch), once the first epoch has started. */
  bytes(): number;
  /** Stop its worker, if it has one (a later epoch starts another). */
  close(): void;
}

/**
 * The training rows of the file `reopen` opens (the hash split's training side; `rows` of them, as pass 1 counted)
 * as a BatchSource for fit, encoded with `pre`, shuffled per epoch by a buffer of `bufferRows` rows.
 */
export function streamBatches(spec: ModelSpec, pre: Preprocessing, reopen: Reopen, rows: number, opts: StreamBatchesOptions = {}): StreamBatches {
  const S = Math.max(1, Math.min(opts.bufferRows ?? DEFAULT_SHUFFLE_BUFFER, rows));
  const chunkRows = opts.chunkRows ?? STREAM_CHUNK;
  const V = encodedWidth(pre.numeric);
  // The buffer, the arriving chunk and the batch being drawn are packed rows of R words; a full batch is unpacked
  // into `batch`, the Encoded that fit reads.
  const R = lanes(allocEncoded(spec, pre, 1), V).w.reduce((a, b) => a + b, 0);
  let buf: Int32Array | null = null, chunk: Int32Array | null = null, drawn: Int32Array | null = null, batch: Encoded | null = null, order: Uint32Array | null = null, rest: Uint32Array | null = null;
  return {
    rows,
    close: () => {},
    bytes: () => (buf ? buf.byteLength + chunk!.byteLength + rest!.byteLength : 0) + (batch ? encodedBytes(batch) + drawn!.byteLength + order!.byteLength : 0),
    async *epoch(epoch: number, size: number): AsyncGenerator<Batch> {
      buf ??= new Int32Array(S * R);
      chunk ??= new Int32Array(chunkRows * R);
      rest ??= new Uint32Array(S);
      if (!batch || batch.rows !== size) (batch = allocEncoded(spec, pre, size)), (drawn = new Int32Array(size * R)), (order = Uint32Array.from({ length: size }, (_, i) => i));
      const b = batch, o = order!, bl = lanes(b, V), bp = buf, cp = chunk, dp = drawn!;
      const next = mulberry32(epochSeed(spec.training.seed, epoch));
      let filled = 0, n = 0, seen = 0, name = "data";
      let encoder: RowEncoder | null = null;
      for await (const c of rowChunks(spec, reopen, "train", chunkRows)) {
        name = c.name;
        encoder ??= new RowEncoder(spec, pre, c.name, c.columns, chunkRows);
        const enc = encoder.encode(c);
        pack(lanes(enc, V), enc.rows, cp, R);
        seen += enc.rows;
        for (let k = 0; k < enc.rows; k++) {
          if (filled < S) {
            copyWords(bp, filled++ * R, cp, k * R, R);
            continue;
          }
          const j = randomInt(next, S);
          copyWords(dp, n++ * R, bp, j * R, R);
          copyWords(bp, j * R, cp, k * R, R);
          if (n === size) {
            unpack(dp, n, R, bl);
            yield { data: b, order: o, start: 0, count: n };
            n = 0;
          }
        }
      }
      if (seen !== rows) throw new Error(`${name}: epoch ${epoch + 1} read ${seen} training rows where the statistics pass read ${rows}; the file changed between passes`);
      const r = rest!;
      for (let i = 0; i < filled; i++) r[i] = i;
      for (let i = filled - 1; i > 0; i--) {
        const j = randomInt(next, i + 1);
        const x = r[i];
        (r[i] = r[j]), (r[j] = x);
      }
      for (let i = 0; i < filled; i++) {
        copyWords(dp, n++ * R, bp, r[i] * R, R);
        if (n === size) {
          unpack(dp, n, R, bl);
          yield { data: b, order: o, start: 0, count: n };
          n = 0;
        }
      }
      if (n) {
        unpack(dp, n, R, bl);
        yield { data: b, order: o, start: 0, count: n };
      }
    },
  };
}
