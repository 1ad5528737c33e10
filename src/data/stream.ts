// data.streaming: everything training needs from a file that is not held in memory. Two statistics passes
// (stream-stats.ts) learn the Preprocessing and collect the validation rows (hash split, stream-split.ts); each epoch
// then re-reads the file through a shuffle buffer (stream-batches.ts), on this thread or a worker (stream-worker.ts). `reopen` opens the source afresh for every pass:
// Node `() => fileSource(path)` (node-file.ts); browsers `() => fromReadableStream(file.name, file.stream())` for a
// File, or a new fetch() body per pass. Portable.
import type { ModelSpec } from "../model/spec.ts";
import { encode, type Encoded, type Preprocessing } from "./preprocess.ts";
import { streamPreprocessing, STREAM_CHUNK } from "./stream-stats.ts";
import { DEFAULT_SHUFFLE_BUFFER, streamBatches, type StreamBatches } from "./stream-batches.ts";
import type { Table } from "./table.ts";
import type { Reopen } from "./stream-rows.ts";
import type { WorkerLike } from "../train/parallel.ts";
import { workerBatches } from "./stream-worker.ts";

export type { Reopen } from "./stream-rows.ts";

/** A streamed data set, ready for fit(model, train, validation). */
export interface StreamingData {
  /** Learnt from the training rows (equal to fitPreprocessing on the same rows in memory). */
  pre: Preprocessing;
  /** Training rows per epoch. */
  trainRows: number;
  /** The training batches (fit's BatchSource). */
  train: StreamBatches;
  /** The validation rows, encoded (held in memory). */
  validation: Encoded;
  /** The validation rows as read (data rows and lines of the file). */
  validationTable: Table;
}

/** Options of openStreaming. */
export interface StreamingOptions {
  /** Rows of the shuffle buffer (default: data.shuffle_buffer, else 65536). */
  bufferRows?: number;
  /** Rows parsed and encoded at a time (default 4096; results do not depend on it). */
  chunkRows?: number;
  /**
   * Parse, encode and shuffle the epochs' rows on a worker while this thread trains (stream-worker.ts): `spawn` starts
   * a worker whose script serves streaming (serveStream; the package's Node worker does). The batches are the same,
   * bit for bit; without it, this thread does everything. Call `train.close()` when done.
   */
  worker?: {
    /** Start one worker (Node worker_threads, a Web Worker) whose script hands its messages to serveStream. */
    spawn: () => WorkerLike;
  };
}

/** Learn the preprocessing from the file `reopen` opens, encode its validation rows, and stream its training rows. */
export async function openStreaming(spec: ModelSpec, reopen: Reopen, opts: StreamingOptions = {}): Promise<StreamingData> {
  const chunkRows = opts.chunkRows ?? STREAM_CHUNK;
  const { pre, trainRows, validation } = await streamPreprocessing(spec, reopen, chunkRows);
  const bufferRows = opts.bufferRows ?? spec.data?.shuffle_buffer ?? DEFAULT_SHUFFLE_BUFFER;
  return {
    pre,
    trainRows,
    train: opts.worker ? workerBatches(spec, pre, reopen, trainRows, { bufferRows, chunkRows, spawn: opts.worker.spawn }) : streamBatches(spec, pre, reopen, trainRows, { bufferRows, chunkRows }),
    validation: encode(spec, pre, validation),
    validationTable: validation,
  };
}
