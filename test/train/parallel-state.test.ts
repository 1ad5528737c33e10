// Batch norm's running statistics are not combined across data-parallel shards yet: parallelGradients refuses a
// model that has them (naming them), and --threads auto keeps such a model on one thread instead of failing.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { WASM_PATH, rejects } from "../helpers.ts";
import { loadKernels } from "../../src/runtime/load.ts";
import { validateSpec } from "../../src/model/spec.ts";
import { Model } from "../../src/model/model.ts";
import { parallelGradients } from "../../src/train/parallel.ts";
import { autoGradients } from "../../src/train/auto-threads.ts";
import { nodeWorkerSpawner, TS_WORKER_ENTRY } from "../../src/train/node-workers.ts";
import { twoTaskData, twoTaskPre } from "./two-task.ts";

const module = await WebAssembly.compile(readFileSync(WASM_PATH));

test("a model with batch norm: parallelGradients refuses it by name, auto stays on one thread", async () => {
  const spec = validateSpec({
    inputs: { numeric: ["a", "b", "c", "d"] },
    architecture: { type: "hps", layers: [8, { type: "batchnorm" }] },
    tasks: [{ name: "bin", type: "binary", label: "y1" }, { name: "reg", type: "regression", label: "y2" }],
    training: { epochs: 1, batch_size: 50 },
  });
  const model = new Model(spec, twoTaskPre(spec), await loadKernels(module));
  model.initParams(1);
  const data = twoTaskData(100);
  await rejects(parallelGradients(model, data, { threads: 2, spawn: nodeWorkerSpawner(TS_WORKER_ENTRY), module }), "running statistics", "batch norm", "train on one thread");
  const auto = await autoGradients(model, data, { threads: 2, spawn: nodeWorkerSpawner(TS_WORKER_ENTRY), module });
  assert.is(auto.threads, 1);
  auto.close();
});

test.run();
