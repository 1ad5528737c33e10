/**
 * mtl-wasm for Node ≥ 20, Deno and browsers (through a bundler): the whole public API plus {@link loadInlineKernels}.
 * The kernel artifact is embedded in this bundle, so nothing is fetched. Start with {@link train} (train from rows,
 * a Table or CSV text) and {@link createSession} (run an exported ONNX model); the README has the guides.
 * @module mtl-wasm
 */
// Bundle entry for Node, Deno and browsers: the artifact's bytes are inlined by esbuild's binary loader.
import wasm from "../../build/mtl.wasm";
import { loadKernels, type Kernels } from "../runtime/load.ts";
import { provideKernels, provideWorkers } from "../api/train.ts";
import type { WorkerLike } from "../train/parallel.ts";

export * from "../index.ts";

/** Instantiate the inlined build/mtl.wasm (no file system, no network). */
export function loadInlineKernels(): Promise<Kernels> {
  return loadKernels(wasm as Uint8Array);
}

// train() without { kernels } uses the inlined artifact.
provideKernels(loadInlineKernels);

// train()'s threads in Node: worker_threads running dist/train-worker.mjs beside this bundle (reached through
// process.getBuiltinModule, so the bundle imports nothing Node-only and still loads in Deno and browsers, which
// train auto's shards on one thread). Only from the bundle: the sources have no train-worker.mjs beside them.
provideWorkers(async () => {
  const g = globalThis as { Deno?: unknown; process?: { versions?: { node?: string }; getBuiltinModule?: (id: string) => unknown } };
  if (g.Deno !== undefined || !g.process?.versions?.node || !import.meta.url.endsWith(".mjs")) return null;
  const wt = g.process.getBuiltinModule?.("node:worker_threads") as { Worker: new (url: URL) => WorkerLike } | undefined;
  if (!wt?.Worker) return null;
  const entry = new URL("./train-worker.mjs", import.meta.url);
  return { spawn: () => new wt.Worker(entry), module: await WebAssembly.compile(wasm as Uint8Array<ArrayBuffer>) };
});
