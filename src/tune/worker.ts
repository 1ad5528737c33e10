// NODE-ONLY: a tune worker thread (pool.ts). Messages in: {type: "init", module, dataPath, specs} once, then
// {type: "run", id, trial, epochs}; out: {id, metric (null: diverged), error?, seconds} or {id, fatal} for any other error.
import { parentPort } from "node:worker_threads";
import { loadKernels, type Kernels } from "../runtime/load.ts";
import { validateSpec, type ModelSpec } from "../model/spec.ts";
import { splitRows } from "../data/load.ts";
import type { Table } from "../data/table.ts";
import type { Split } from "../api/train.ts";
import { readTrainingData } from "../cli/files.ts";
import { runTrial } from "./trial.ts";

let ready: Promise<{ k: Kernels; specs: ModelSpec[]; table: Table; split: Split }> | null = null;
parentPort!.on("message", async (m: { type: "init"; module: WebAssembly.Module; dataPath: string; specs: unknown[] } | { type: "run"; id: number; trial: number; epochs: number }) => {
  if (m.type === "init") {
    ready = (async () => {
      const specs = m.specs.map((s) => validateSpec(s as never));
      const table = await readTrainingData(specs[0], m.dataPath);
      return { k: await loadKernels(m.module), specs, table, split: splitRows(specs[0], table) };
    })();
    ready.catch(() => {}); // reported with the first run
    return;
  }
  try {
    const { k, specs, table, split } = await ready!;
    const r = await runTrial(specs[m.trial], table, split, k, m.epochs);
    parentPort!.postMessage({ id: m.id, metric: Number.isNaN(r.metric) ? null : r.metric, error: r.error, seconds: r.seconds });
  } catch (e) {
    parentPort!.postMessage({ id: m.id, fatal: `trial ${m.trial}: ${(e as Error).message}` });
  }
});
