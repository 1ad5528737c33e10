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

/** An Encoded of `rows` rows laid out as encode() lays out the spec's (row-major; no tokens, no tensor). */
export function allocEncoded(spec: ModelSpec, pre: Preprocessing, rows: number): Encoded {
  const V = encodedWidth(pre.numeric);
  return {
    rows,
    numeric: new Float32Array(rows * V),
    categorical: pre.categorical.map(() => new Int32Array(rows)),
    tensor: new Float32Array(0),
    tasks: spec.tasks.map((t) => ({
      labels: t.type === "multiclass" ? new Int32Array(rows) : new Float32Array(rows * t.labels.length),
      mask: new Float32Array(rows),
      group: t.group_by ? new Int32Array(rows) : new Int32Array(0),
    })),
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
 * (NaN labels too) arrive unchanged, and every copy goes through one array type.
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

/** Copy row `si` of `src` into row `di` of `dst` (lanes of the same spec and preprocessing). */
function copyRow(dst: Lanes, di: number, src: Lanes, si: number): void {
  const da = dst.a, sa = src.a, ws = dst.w;
  for (let c = 0; c < da.length; c++) {
    const w = ws[c], d = da[c], s = sa[c];
    const x = di * w, y = si * w;
    for (let j = 0; j < w; j++) d[x + j] = s[y + j];
  }
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
}

/**
 * The training rows of the file `reopen` opens (the hash split's training side; `rows` of them, as pass 1 counted)
 * as a BatchSource for fit, encoded with `pre`, shuffled per epoch by a buffer of `bufferRows` rows.
 */
export function streamBatches(spec: ModelSpec, pre: Preprocessing, reopen: Reopen, rows: number, opts: StreamBatchesOptions = {}): StreamBatches {
  const S = Math.max(1, Math.min(opts.bufferRows ?? DEFAULT_SHUFFLE_BUFFER, rows));
  const chunkRows = opts.chunkRows ?? STREAM_CHUNK;
  const V = encodedWidth(pre.numeric);
  let buf: Encoded | null = null, batch: Encoded | null = null, order: Uint32Array | null = null, rest: Uint32Array | null = null;
  return {
    rows,
    bytes: () => (buf ? encodedBytes(buf) + rest!.byteLength : 0) + (batch ? encodedBytes(batch) + order!.byteLength : 0),
    async *epoch(epoch: number, size: number): AsyncGenerator<Batch> {
      buf ??= allocEncoded(spec, pre, S);
      rest ??= new Uint32Array(S);
      if (!batch || batch.rows !== size) (batch = allocEncoded(spec, pre, size)), (order = Uint32Array.from({ length: size }, (_, i) => i));
      const b = batch, o = order!, bf = lanes(buf, V), bl = lanes(b, V);
      const next = mulberry32(epochSeed(spec.training.seed, epoch));
      let filled = 0, n = 0, seen = 0, name = "data";
      let encoder: RowEncoder | null = null;
      for await (const c of rowChunks(spec, reopen, "train", chunkRows)) {
        name = c.name;
        encoder ??= new RowEncoder(spec, pre, c.name, c.columns, chunkRows);
        const enc = encoder.encode(c), el = lanes(enc, V);
        seen += enc.rows;
        for (let k = 0; k < enc.rows; k++) {
          if (filled < S) {
            copyRow(bf, filled++, el, k);
            continue;
          }
          const j = randomInt(next, S);
          copyRow(bl, n++, bf, j);
          copyRow(bf, j, el, k);
          if (n === size) {
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
        copyRow(bl, n++, bf, r[i]);
        if (n === size) {
          yield { data: b, order: o, start: 0, count: n };
          n = 0;
        }
      }
      if (n) yield { data: b, order: o, start: 0, count: n };
    },
  };
}
