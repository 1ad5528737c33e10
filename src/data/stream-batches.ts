// Training batches streamed from a file, epoch after epoch, through a seeded shuffle buffer: each pass re-reads the
// file (reopen), keeps the hash split's training rows, encodes them a chunk at a time with the in-memory encoder
// (preprocess.ts encode: the same values and errors), and holds at most `bufferRows` encoded rows. Once the buffer is
// full, each arriving row replaces a uniformly drawn buffered row, which goes to the batch; at the end of the file
// the rest of the buffer leaves in a Fisher–Yates order. Every epoch is thus a permutation of the training rows,
// drawn from mulberry32(epochSeed(seed, epoch)) alone, so a resumed run (checkpoints) draws the same batches as
// an uninterrupted one. The buffer and the batch are typed arrays allocated once, sized by bufferRows and the batch
// size, never by the file. Portable.
import type { ModelSpec } from "../model/spec.ts";
import { encode, type Encoded, type Preprocessing } from "./preprocess.ts";
import { encodedWidth } from "./numeric-encodings.ts";
import { mulberry32, randomInt } from "./split.ts";
import { chunks, type Reopen } from "./stream-rows.ts";
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

/** Copy row `si` of `src` into row `di` of `dst` (same spec and preprocessing). */
function copyRow(dst: Encoded, di: number, src: Encoded, si: number, V: number): void {
  for (let j = 0; j < V; j++) dst.numeric[di * V + j] = src.numeric[si * V + j];
  for (let c = 0; c < dst.categorical.length; c++) dst.categorical[c][di] = src.categorical[c][si];
  for (let t = 0; t < dst.tasks.length; t++) {
    const d = dst.tasks[t], s = src.tasks[t];
    const w = d.mask.length ? d.labels.length / d.mask.length : 0;
    for (let j = 0; j < w; j++) d.labels[di * w + j] = s.labels[si * w + j];
    d.mask[di] = s.mask[si];
    if (d.group.length) d.group[di] = s.group[si];
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
      const b = batch, o = order!, bf = buf;
      const next = mulberry32(epochSeed(spec.training.seed, epoch));
      let filled = 0, n = 0, seen = 0, name = "data";
      for await (const t of chunks(spec, reopen, "train", chunkRows)) {
        name = t.name;
        const enc = encode(spec, pre, t);
        seen += enc.rows;
        for (let k = 0; k < enc.rows; k++) {
          if (filled < S) {
            copyRow(bf, filled++, enc, k, V);
            continue;
          }
          const j = randomInt(next, S);
          copyRow(b, n++, bf, j, V);
          copyRow(bf, j, enc, k, V);
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
        copyRow(b, n++, bf, r[i], V);
        if (n === size) {
          yield { data: b, order: o, start: 0, count: n };
          n = 0;
        }
      }
      if (n) yield { data: b, order: o, start: 0, count: n };
    },
  };
}
