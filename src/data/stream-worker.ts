// Streamed batches with the parsing on a worker: this thread reads the file's bytes (reopen, as the one-thread path)
// and posts them to a worker (stream-serve.ts), which parses, splits, encodes and shuffles them with streamBatches and
// sends the batches back a group at a time, while this thread trains on the previous group. The batches are the
// one-thread path's, bit for bit (the same streamBatches computes them); only where the work runs differs.
//
// Memory stays bounded: at most `byteBudget` bytes of the file are in flight to the worker, and `groupBuffers`
// group buffers circulate between the two threads (a group is returned to the worker once its batches are trained).
// An epoch abandoned midway (an error in training) terminates the worker; the next epoch starts a new one.
// Portable: `spawn` starts a worker whose entry hands the messages to serveStream (Node: src/train/node-worker-entry.ts).
import type { ModelSpec } from "../model/spec.ts";
import type { Preprocessing } from "./preprocess.ts";
import type { Batch } from "../train/batches.ts";
import { listen, type WorkerLike } from "../train/parallel.ts";
import type { Reopen } from "./stream-rows.ts";
import { allocEncoded, DEFAULT_SHUFFLE_BUFFER, type StreamBatches, type StreamBatchesOptions } from "./stream-batches.ts";
import { STREAM_CHUNK } from "./stream-stats.ts";
import type { StreamWorkerInit } from "./stream-serve.ts";

/** Options of workerBatches. */
export interface WorkerBatchesOptions extends StreamBatchesOptions {
  /** Start a worker whose script serves streaming (serveStream) as well as training shards. */
  spawn: () => WorkerLike;
  /** Bytes of the file posted ahead of the worker's parser (default 4 MiB). */
  byteBudget?: number;
  /** Batches per message from the worker (default 16). */
  groupBatches?: number;
  /** Group buffers in circulation (default 3). */
  groupBuffers?: number;
}

type Msg = { type: "consumed"; bytes: number } | { type: "group"; buffer: ArrayBuffer; rows: number } | { type: "done"; bytes: number } | { type: "error"; message?: string; error?: string };

/** A started worker: its messages in order, and its failure (an 'error' event) as a rejected wait. */
class Connection {
  private readonly inbox: Msg[] = [];
  private wake: (() => void) | null = null;
  private failure: Error | null = null;
  private closed = false;
  constructor(readonly worker: WorkerLike) {
    const handle = (m: unknown) => {
      this.inbox.push(m as Msg);
      this.wake?.();
    };
    const failed = (e: unknown) => {
      this.failure = e instanceof Error ? e : new Error(`streaming worker failed: ${String((e as { message?: string })?.message ?? e)}`);
      this.wake?.();
    };
    // Node: a worker that exits on its own (not terminated here) fails the wait too.
    listen(worker, handle, failed, (code) => this.closed || failed(new Error(`streaming worker exited with code ${String(code)}`)));
  }
  /** The next message (waits for one); throws when the worker failed. */
  async next(): Promise<Msg> {
    for (;;) {
      if (this.failure) throw this.failure;
      const m = this.inbox.shift();
      if (m) return m;
      await new Promise<void>((r) => (this.wake = r));
      this.wake = null;
    }
  }
  post(msg: unknown, transfer?: ArrayBuffer[]): void {
    (this.worker.postMessage as (m: unknown, t?: ArrayBuffer[]) => void).call(this.worker, msg, transfer);
  }
  terminate(): void {
    this.closed = true;
    this.worker.terminate();
  }
}

/**
 * The training rows of the file `reopen` opens as a BatchSource, as streamBatches gives them (the same batches, bit
 * for bit), parsed on a worker started with `opts.spawn`. close() stops the worker.
 */
export function workerBatches(spec: ModelSpec, pre: Preprocessing, reopen: Reopen, rows: number, opts: WorkerBatchesOptions): StreamBatches & { close(): void } {
  const budget = opts.byteBudget ?? 1 << 22, G = opts.groupBatches ?? 16, NB = opts.groupBuffers ?? 3;
  const init: StreamWorkerInit = {
    type: "stream", spec, pre, rows,
    bufferRows: Math.max(1, Math.min(opts.bufferRows ?? DEFAULT_SHUFFLE_BUFFER, rows)),
    chunkRows: opts.chunkRows ?? STREAM_CHUNK,
    groupBatches: G,
    groupBuffers: NB,
  };
  let conn: Connection | null = null, workerBytes = 0, groupBytes = 0;
  const close = () => {
    conn?.terminate();
    conn = null;
  };
  return {
    rows,
    bytes: () => workerBytes + groupBytes,
    close,
    async *epoch(epoch: number, size: number): AsyncGenerator<Batch> {
      if (!conn) {
        conn = new Connection(opts.spawn());
        conn.post(init);
      }
      const c = conn, order = Uint32Array.from({ length: G * size }, (_, i) => i);
      let inflight = 0, ended = false, finished = false, it: AsyncIterator<Uint8Array> | null = null;
      try {
        const source = await reopen();
        it = source.chunks[Symbol.asyncIterator]();
        c.post({ type: "epoch", epoch, size, name: source.name });
        for (;;) {
          while (!ended && inflight < budget) {
            const r = await it.next();
            if (r.done) {
              ended = true;
              c.post({ type: "end" });
              break;
            }
            const chunk = r.value.slice(); // a buffer of its own, transferred
            inflight += chunk.byteLength;
            c.post({ type: "bytes", chunk }, [chunk.buffer as ArrayBuffer]);
          }
          const m = await c.next();
          if (m.type === "consumed") inflight -= m.bytes;
          else if (m.type === "group") {
            const data = allocEncoded(spec, pre, G * size, m.buffer);
            groupBytes = Math.max(groupBytes, m.buffer.byteLength);
            for (let start = 0; start < m.rows; start += size) yield { data, order, start, count: Math.min(size, m.rows - start) };
            c.post({ type: "return", buffer: m.buffer }, [m.buffer]);
          } else if (m.type === "done") {
            workerBytes = m.bytes;
            finished = true;
            return;
          } else throw new Error(m.message ?? m.error ?? "streaming worker failed");
        }
      } finally {
        if (!finished) {
          close();
          await it?.return?.();
        }
      }
    },
  };
}
