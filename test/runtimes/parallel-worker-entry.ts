// Worker entry for data-parallel training in Deno and browsers (bundled to parallel-worker.mjs by
// tools/runtimes.mjs): the first message is parallel.ts's ParallelInit; serveParallel answers {type:"ready"}
// (or {type:"error"}) on this worker's global scope and then serves one shard, blocking between commands,
// until the coordinator sends EXIT. A first message {type: "stream"} makes it a streaming worker instead
// (serveStream: parses a streamed file's epochs). The Node equivalent is src/train/node-worker-entry.ts.
import { serveParallel, type ParallelInit, type Port } from "../../src/train/parallel-worker.ts";
import { serveStream, type StreamWorkerInit } from "../../src/data/stream-serve.ts";

const scope = globalThis as unknown as Port & { onmessage: ((e: { data: unknown }) => void) | null; close?: () => void };

scope.onmessage = (e) => {
  scope.onmessage = null; // one init per worker
  if ((e.data as StreamWorkerInit).type === "stream") {
    // A streaming worker (src/data/stream-serve.ts): every later message goes to its handler.
    const handle = serveStream(e.data as StreamWorkerInit, scope);
    scope.onmessage = (m) => handle(m.data);
    return;
  }
  serveParallel(e.data as ParallelInit, scope).then(
    () => scope.close?.(),
    (err) => {
      scope.postMessage({ type: "error", error: String((err as Error)?.stack ?? err) });
      scope.close?.();
    },
  );
};
