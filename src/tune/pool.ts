// NODE-ONLY: trials of one rung spread over worker_threads, one trial per thread at a time (each trial single-threaded
// inside). Each worker reads the data file once, makes the same split as the main thread (the spec's seed) and runs
// runTrial for the jobs it is sent; results come back in job order, so the search does not depend on timing.
import { Worker } from "node:worker_threads";
import type { RunRung } from "./halving.ts";

/** The worker script: the TypeScript source under tsx (loaded through tsx's hooks), else dist/tune-worker.mjs. */
function spawn(): Worker {
  const ts = import.meta.url.endsWith(".ts");
  const entry = ts ? new URL("./worker.ts", import.meta.url) : new URL("./tune-worker.mjs", import.meta.url);
  if (!ts) return new Worker(entry);
  return new Worker(`import("tsx/esm/api").then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); })`, { eval: true });
}

/** Init message: the compiled kernels, the data file, every trial's concrete spec JSON (validated again there). */
export interface PoolInit {
  threads: number;
  module: WebAssembly.Module;
  dataPath: string;
  specs: unknown[];
}

export async function tunePool(init: PoolInit): Promise<{ run: RunRung; close: () => Promise<void> }> {
  const workers = Array.from({ length: init.threads }, spawn);
  let failure: Error | null = null;
  const pending = new Map<number, { resolve: (r: { metric: number; error?: string; seconds: number }) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  for (const w of workers) {
    w.on("message", (m: { id: number; metric: number | null; error?: string; seconds: number; fatal?: string }) => {
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      if (m.fatal) p.reject(new Error(m.fatal));
      else p.resolve({ metric: m.metric ?? NaN, ...(m.error ? { error: m.error } : {}), seconds: m.seconds });
    });
    w.on("error", (e) => {
      failure = e;
      for (const p of pending.values()) p.reject(e);
      pending.clear();
    });
    w.postMessage({ type: "init", module: init.module, dataPath: init.dataPath, specs: init.specs });
  }
  const call = (w: Worker, trial: number, epochs: number) =>
    new Promise<{ metric: number; error?: string; seconds: number }>((resolve, reject) => {
      if (failure) return reject(failure);
      const id = nextId++;
      pending.set(id, { resolve, reject });
      w.postMessage({ type: "run", id, trial, epochs });
    });
  const run: RunRung = async (jobs) => {
    const out: { metric: number; error?: string; seconds: number }[] = new Array(jobs.length);
    let next = 0;
    // Each worker takes the next job when it finishes one; results land at their job's index.
    await Promise.all(workers.map(async (w) => {
      while (next < jobs.length) {
        const i = next++;
        out[i] = await call(w, jobs[i].trial, jobs[i].epochs);
      }
    }));
    return out;
  };
  return { run, close: async () => void (await Promise.all(workers.map((w) => w.terminate()))) };
}
