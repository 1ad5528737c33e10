// Batch norm on a last partial batch: the padding rows the program batch holds past the real rows count in no
// statistic and get no gradient, so a batch of 13 rows in a program of 32 trains exactly as a batch of 13 rows in a
// program of 13 (parameters, Adam moments and running statistics, within float tolerance), as PyTorch would.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { WASM_PATH } from "../helpers.ts";
import { loadKernels } from "../../src/runtime/load.ts";
import { validateSpec } from "../../src/model/spec.ts";
import { Model } from "../../src/model/model.ts";
import { fit } from "../../src/train/trainer.ts";
import { twoTaskData, twoTaskPre } from "./two-task.ts";

const module = await WebAssembly.compile(readFileSync(WASM_PATH));

async function trained(batch: number, rows: number, epochs = 3): Promise<{ p: Float32Array; s1: Float32Array }> {
  const spec = validateSpec({
    inputs: { numeric: ["a", "b", "c", "d"] },
    architecture: { type: "hps", layers: [{ type: "batchnorm" }, { units: 8 }, { type: "batchnorm" }] },
    tasks: [{ name: "bin", type: "binary", label: "y1" }, { name: "reg", type: "regression", label: "y2" }],
    training: { epochs, batch_size: batch, optimizer: { type: "adam", lr: 0.01 } },
  });
  const m = new Model(spec, twoTaskPre(spec), await loadKernels(module));
  try {
    m.initParams(3);
    if (epochs) await fit(m, twoTaskData(rows), null);
    return { p: m.arena.readF32(m.store.p, m.store.total), s1: m.arena.readF32(m.store.s1, m.store.total) };
  } finally {
    m.dispose();
  }
}

test("13 rows in a batch of 32 train as 13 rows in a batch of 13 (parameters, moments, running statistics)", async () => {
  const padded = await trained(32, 13), exact = await trained(13, 13);
  let worst = 0;
  for (const k of ["p", "s1"] as const) {
    const a = padded[k], b = exact[k];
    assert.is(a.length, b.length);
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / (1e-3 + Math.abs(b[i])));
  }
  assert.ok(worst < 1e-4, `largest relative difference ${worst.toExponential(2)}`);
  // The runs trained: the weights moved from their initial values.
  const init = await trained(13, 13, 0);
  assert.ok(init.p.some((v, i) => Math.abs(v - exact.p[i]) > 1e-3), "3 epochs changed the weights");
});

test.run();
