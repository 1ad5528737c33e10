// NODE-ONLY: spawn training workers with worker_threads. The worker runs node-worker-entry.ts (under tsx
// when the caller runs TypeScript, or the bundled dist/train-worker.mjs).
import { Worker } from "node:worker_threads";
import type { WorkerLike } from "./parallel.ts";

/**
 * A spawn function for parallelGradients: `entry` is the worker script's URL. A .ts entry (tests, benches run
 * with tsx) is loaded through tsx's ESM hooks registered inside the worker, since workers do not inherit them.
 */
export function nodeWorkerSpawner(entry: URL): () => WorkerLike {
  if (!entry.pathname.endsWith(".ts")) return () => new Worker(entry);
  const boot = `import("tsx/esm/api").then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); })`;
  return () => new Worker(boot, { eval: true });
}

/** The worker entry next to this file (TypeScript source, run with tsx). */
export const TS_WORKER_ENTRY = new URL("./node-worker-entry.ts", import.meta.url);

/**
 * The worker entry for the code that is running: the TypeScript source when run with tsx, else the bundle
 * dist/train-worker.mjs next to the bundle that imported this file (dist/cli.mjs).
 */
export function defaultWorkerEntry(): URL {
  return import.meta.url.endsWith(".ts") ? TS_WORKER_ENTRY : new URL("./train-worker.mjs", import.meta.url);
}
