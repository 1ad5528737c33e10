// The worker side of streamed batches on a worker (stream-worker.ts): the bytes the coordinator reads arrive as
// messages; this worker parses, splits, encodes and shuffles them with streamBatches itself (so its batches are the
// one-thread path's, bit for bit) and sends them back a group at a time in transferable buffers. Portable: the entry
// (src/train/node-worker-entry.ts in Node; a Web Worker's or Deno worker's script) passes the init message and then
// every further message to the handler serveStream returns.
//
// Messages in (after the init, a StreamWorkerInit):
//   {type: "epoch", epoch, size, name}   start epoch `epoch` (0-based) in batches of `size`; `name` is the source's
//   {type: "bytes", chunk}               the next bytes of the file (the chunk's buffer is transferred)
//   {type: "end"}                        the file's end
//   {type: "return", buffer}             a group buffer the coordinator is done with
// Messages out:
//   {type: "consumed", bytes}            the parser took a chunk of that many bytes (the coordinator sends more)
//   {type: "group", buffer, rows}        rows [0, rows) of an Encoded of groupBatches · size rows laid out in
//                                        `buffer` (allocEncoded), batches of `size` rows one after another (transferred)
//   {type: "done", bytes}                the epoch's last group was sent; `bytes`, what this worker's arrays hold
//   {type: "error", message}             the epoch failed (a bad row: streamBatches' error, word for word)
import type { ModelSpec } from "../model/spec.ts";
import type { Encoded, Preprocessing } from "./preprocess.ts";
import type { ByteSource } from "./source.ts";
import { allocEncoded, encodedBufferBytes, streamBatches } from "./stream-batches.ts";

/** The first message a streaming worker receives. */
export interface StreamWorkerInit {
  /** Tells a worker entry that serves both kinds (src/train/node-worker-entry.ts) this is a streaming worker. */
  type: "stream";
  /** The validated spec (data.streaming). */
  spec: ModelSpec;
  /** The preprocessing learnt by the statistics passes. */
  pre: Preprocessing;
  /** Training rows per epoch (as the statistics pass counted them). */
  rows: number;
  /** Shuffle buffer rows. */
  bufferRows: number;
  /** Rows parsed and encoded at a time. */
  chunkRows: number;
  /** Batches per group message (the last group of an epoch may hold fewer, its last batch fewer rows). */
  groupBatches: number;
  /** Group buffers this worker may fill before the coordinator returns one. */
  groupBuffers: number;
}

/** Where a streaming worker posts (Node's parentPort, a Web Worker's `self`). */
export interface StreamPort {
  /** Send a message to the coordinator, transferring the listed buffers. */
  postMessage(msg: unknown, transfer?: ArrayBuffer[]): void;
}

/** The file's bytes as messages bring them: an async iterable of chunks that reports each one taken. */
class ChunkQueue implements AsyncIterable<Uint8Array> {
  private readonly q: Uint8Array[] = [];
  private ended = false;
  private wake: (() => void) | null = null;
  constructor(private readonly port: StreamPort) {}
  push(c: Uint8Array): void {
    this.q.push(c);
    this.wake?.();
  }
  end(): void {
    this.ended = true;
    this.wake?.();
  }
  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    for (;;) {
      const c = this.q.shift();
      if (c) {
        this.port.postMessage({ type: "consumed", bytes: c.byteLength });
        yield c;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((r) => (this.wake = r));
      this.wake = null;
    }
  }
}

/** Copy rows [0, n) of `src` into `dst` from row `at` (Encodeds of one spec and preprocessing). */
function copyRows(src: Encoded, n: number, dst: Encoded, at: number): void {
  const put = (d: Float32Array | Int32Array, s: Float32Array | Int32Array, rows: number) => {
    if (!d.length) return;
    const w = s.length / rows;
    (d as Int32Array).set((s as Int32Array).subarray(0, n * w), at * w);
  };
  put(dst.numeric, src.numeric, src.rows);
  dst.categorical.forEach((c, j) => put(c, src.categorical[j], src.rows));
  dst.tasks.forEach((t, j) => {
    const st = src.tasks[j];
    put(t.labels, st.labels, src.rows);
    put(t.mask, st.mask, src.rows);
    put(t.group, st.group, src.rows);
  });
}

/** Start serving `init`; returns the handler for every later message. */
export function serveStream(init: StreamWorkerInit, port: StreamPort): (msg: unknown) => void {
  const { spec, pre, rows } = init;
  let queue: ChunkQueue | null = null, name = "data";
  const sb = streamBatches(spec, pre, () => ({ name, chunks: queue! }) as ByteSource, rows, { bufferRows: init.bufferRows, chunkRows: init.chunkRows });
  // Group buffers: `groupBuffers` of them circulate (here, in a message, or with the coordinator); one of another
  // size than the epoch's groups is replaced when taken.
  const free: ArrayBuffer[] = [];
  for (let i = 0; i < init.groupBuffers; i++) free.push(new ArrayBuffer(0));
  let freed: (() => void) | null = null, groupBytes = 0;
  const takeFree = async (): Promise<ArrayBuffer> => {
    while (!free.length) await new Promise<void>((r) => (freed = r));
    freed = null;
    const b = free.pop()!;
    return b.byteLength === groupBytes ? b : new ArrayBuffer(groupBytes);
  };

  async function runEpoch(epoch: number, size: number): Promise<void> {
    const groupRows = init.groupBatches * size;
    groupBytes = encodedBufferBytes(spec, pre, groupRows);
    let buffer = await takeFree(), group = allocEncoded(spec, pre, groupRows, buffer), filled = 0;
    const send = async () => {
      port.postMessage({ type: "group", buffer, rows: filled }, [buffer]);
      buffer = await takeFree();
      group = allocEncoded(spec, pre, groupRows, buffer);
      filled = 0;
    };
    for await (const b of sb.epoch(epoch, size)) {
      if (filled + b.count > groupRows) await send();
      copyRows(b.data, b.count, group, filled);
      filled += b.count;
    }
    if (filled) await send();
    free.push(buffer);
    port.postMessage({ type: "done", bytes: sb.bytes() + init.groupBuffers * groupBytes });
  }

  return (raw: unknown) => {
    const m = raw as { type: string; epoch: number; size: number; name: string; chunk: Uint8Array; buffer: ArrayBuffer };
    switch (m.type) {
      case "epoch":
        name = m.name;
        queue = new ChunkQueue(port);
        runEpoch(m.epoch, m.size).catch((e) => port.postMessage({ type: "error", message: (e as Error)?.message ?? String(e) }));
        break;
      case "bytes":
        queue!.push(m.chunk);
        break;
      case "end":
        queue!.end();
        break;
      case "return":
        free.push(m.buffer);
        freed?.();
        break;
    }
  };
}
