// Gradient-level balancing on data-parallel threads: the shards' per-task gradients are summed before the method
// runs, so 2 and 3 threads train to the single-thread weights (float tolerance), in parameter and representation
// mode, with masks spread unevenly over the shards, a relation term and an uneven last batch. Plain SGD, so a
// wrong share or a method run on one shard's gradients lands in the weights as is.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { WASM_PATH } from "../helpers.ts";
import { loadKernels } from "../../src/runtime/load.ts";
import { validateSpec } from "../../src/model/spec.ts";
import { Model } from "../../src/model/model.ts";
import { fit } from "../../src/train/trainer.ts";
import { parallelGradients } from "../../src/train/parallel.ts";
import { nodeWorkerSpawner, TS_WORKER_ENTRY } from "../../src/train/node-workers.ts";
import { twoTaskData, twoTaskPre, twoTaskSpec } from "./two-task.ts";

const module = await WebAssembly.compile(readFileSync(WASM_PATH));
const enc = twoTaskData(237); // 4 batches of 50 + 37

const CASES: [string, Record<string, unknown>][] = [
  ["mgda (param)", { type: "mgda" }],
  ["mgda (rep)", { type: "mgda", rep_grad: true }],
  ["pcgrad", { type: "pcgrad" }],
  ["graddrop (rep)", { type: "graddrop" }],
  ["gradnorm (rep)", { type: "gradnorm", rep_grad: true }],
  ["nash_mtl", { type: "nash_mtl" }],
  ["famo (losses after the update)", { type: "famo" }],
];

for (const [name, weighting] of CASES) {
  test(`${name}: 2 and 3 threads train to the single-thread weights`, async () => {
    const base = twoTaskSpec(3);
    const spec = validateSpec({ ...base, training: { ...base.training, optimizer: { type: "sgd", lr: 0.05 }, weighting } });
    const pre = twoTaskPre(spec);
    const single = new Model(spec, pre, await loadKernels(module));
    single.initParams(9);
    await fit(single, enc, null);
    const a = single.snapshot();
    for (const threads of [2, 3]) {
      const par = new Model(spec, pre, await loadKernels(module));
      par.initParams(9);
      const gradients = await parallelGradients(par, enc, { threads, spawn: nodeWorkerSpawner(TS_WORKER_ENTRY), module });
      try {
        await fit(par, enc, null, { gradients });
      } finally {
        gradients.close();
      }
      const b = par.snapshot();
      let worst = 0, scale = 0, moved = 0;
      const init = new Model(spec, pre, await loadKernels(module));
      init.initParams(9);
      const i0 = init.snapshot();
      for (let i = 0; i < a.length; i++) {
        worst = Math.max(worst, Math.abs(a[i] - b[i]));
        scale = Math.max(scale, Math.abs(a[i]));
        moved = Math.max(moved, Math.abs(a[i] - i0[i]));
      }
      assert.ok(moved > 1e-3, `training moved no weight (${moved})`);
      assert.ok(worst <= 1e-4 * scale, `${threads} threads: max |single − parallel| = ${worst.toExponential(2)} (largest weight ${scale.toFixed(3)}, largest move ${moved.toExponential(2)})`);
    }
  });
}

test.run();
