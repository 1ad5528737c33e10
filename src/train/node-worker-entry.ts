// NODE-ONLY: a worker_threads entry that serves one shard of data-parallel training (see parallel.ts), or, when the
// first message is a StreamWorkerInit ({type: "stream"}), the parsing of a streamed file (src/data/stream-serve.ts).
import { parentPort } from "node:worker_threads";
import { serveParallel, type ParallelInit } from "./parallel-worker.ts";
import { serveStream, type StreamWorkerInit } from "../data/stream-serve.ts";

parentPort!.once("message", (init: ParallelInit | StreamWorkerInit) => {
  if ((init as StreamWorkerInit).type === "stream") {
    parentPort!.on("message", serveStream(init as StreamWorkerInit, parentPort!));
    return;
  }
  serveParallel(init as ParallelInit, parentPort!).then(
    () => process.exit(0),
    (e) => {
      parentPort!.postMessage({ type: "error", error: String((e as Error)?.stack ?? e) });
      process.exit(1);
    },
  );
});
