// NODE-ONLY: a worker_threads entry that serves one shard of data-parallel training (see parallel.ts).
import { parentPort } from "node:worker_threads";
import { serveParallel, type ParallelInit } from "./parallel-worker.ts";

parentPort!.once("message", (init: ParallelInit) => {
  serveParallel(init, parentPort!).then(
    () => process.exit(0),
    (e) => {
      parentPort!.postMessage({ type: "error", error: String((e as Error)?.stack ?? e) });
      process.exit(1);
    },
  );
});
