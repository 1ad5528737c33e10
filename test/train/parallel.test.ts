// Data-parallel training: two threads give the single-thread result to float tolerance (same init, no
// dropout), with masks, a relation term and an uneven last batch.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { Rng, WASM_PATH } from "../helpers.ts";
import { loadKernels } from "../../src/runtime/load.ts";
import { validateSpec } from "../../src/model/spec.ts";
import { Model } from "../../src/model/model.ts";
import { fit } from "../../src/train/trainer.ts";
import { parallelGradients } from "../../src/train/parallel.ts";
import { nodeWorkerSpawner, TS_WORKER_ENTRY } from "../../src/train/node-workers.ts";
import type { Encoded } from "../../src/data/preprocess.ts";

const module = await WebAssembly.compile(readFileSync(WASM_PATH));

const spec = validateSpec({
  inputs: { numeric: ["a", "b", "c", "d"] },
  architecture: { type: "mmoe", experts: 2, layers: [12] },
  tasks: [
    { name: "bin", type: "binary", label: "y1", tower: [6] },
    { name: "reg", type: "regression", label: "y2" },
  ],
  training: { epochs: 2, batch_size: 50, optimizer: { type: "adam", lr: 0.01 }, relations: [{ tasks: ["bin", "reg"], lambda: 0.1 }], weighting: { type: "uncertainty" } },
});
const pre = { numeric: spec.inputs.numeric.map((column) => ({ column, mean: 0, std: 1 })), categorical: [], tasks: spec.tasks.map((t) => ({ name: t.name, classes: null, groups: null, target: null })) };

function data(n: number): Encoded {
  const rng = new Rng(4);
  const x = rng.f32(n * 4, () => rng.normal());
  const y1 = new Float32Array(n), y2 = new Float32Array(n), m1 = new Float32Array(n), m2 = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    y1[i] = x[i * 4] + x[i * 4 + 1] > 0 ? 1 : 0;
    y2[i] = x[i * 4 + 2] - 0.5 * x[i * 4 + 3];
    m1[i] = rng.next() < 0.8 ? 1 : 0; // missing labels, unevenly spread over shards
    m2[i] = rng.next() < 0.6 ? 1 : 0;
  }
  return { rows: n, numeric: x, categorical: [], tensor: new Float32Array(0), tasks: [{ labels: y1, mask: m1, group: new Int32Array(0) }, { labels: y2, mask: m2, group: new Int32Array(0) }] };
}

test("two threads train to the same weights as one (float tolerance)", async () => {
  const enc = data(437); // 437 = 8 batches of 50 + 37: the last batch is uneven across shards
  const single = new Model(spec, pre, await loadKernels(module));
  single.initParams(9);
  await fit(single, enc, null);
  const par = new Model(spec, pre, await loadKernels(module));
  par.initParams(9);
  const gradients = await parallelGradients(par, enc, { threads: 2, spawn: nodeWorkerSpawner(TS_WORKER_ENTRY), module });
  try {
    const r = await fit(par, enc, null, { gradients });
    assert.ok(r.history[1].trainLoss.bin < r.history[0].trainLoss.bin);
  } finally {
    gradients.close();
  }
  const a = single.snapshot(), b = par.snapshot();
  let worst = 0, scale = 0;
  for (let i = 0; i < a.length; i++) {
    worst = Math.max(worst, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(a[i]));
  }
  console.log(`  max abs diff ${worst.toExponential(2)}, largest weight ${scale.toFixed(3)}`);
  assert.ok(worst <= 1e-4 * scale, `max |single − parallel| = ${worst} (largest weight ${scale})`);
  assert.ok(worst > 0 || a.length > 0);
});

test.run();
