// The ensemble export (src/onnx/ensemble.ts) from train({ ensemble: K }): one graph holding K prefixed copies of the
// model and a mean per output, run by onnxruntime-web and by the mtl engine within 1e-5 of a float64 mean of the
// members' in-wasm outputs (Model.predict on the encoded rows: probabilities, regression values in the label's units).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { WASM_PATH, rejects, throwsWith } from "../helpers.ts";
import { train, toTable } from "../../src/api/train.ts";
import { encode } from "../../src/data/preprocess.ts";
import { createSession } from "../../src/infer/session.ts";
import { decodeModel } from "../../src/onnx/model.ts";
import { ensembleOnnx } from "../../src/onnx/ensemble.ts";
import { validateSpec } from "../../src/model/spec.ts";
import { loadKernels } from "../../src/runtime/load.ts";

const kernels = await WebAssembly.compile(readFileSync(WASM_PATH));

const spec = validateSpec({
  name: "ens",
  inputs: { numeric: ["x0", "x1"], categorical: [{ column: "color", dim: 2 }] },
  architecture: { type: "mmoe", experts: 2, layers: [8] },
  tasks: [
    { name: "big", type: "binary", label: "y" },
    { name: "kind", type: "multiclass", label: "k" },
    { name: "size", type: "regression", label: "r" },
  ],
  training: { epochs: 2, batch_size: 32, seed: 11, validation: 0.25 },
});

function rows(n: number) {
  let s = 99;
  const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0), s / 2 ** 32);
  return Array.from({ length: n }, (_, i) => {
    const x0 = rnd() * 2 - 1, x1 = rnd() * 2 - 1, color = ["red", "green", "blue"][i % 3];
    return { x0, x1, color, y: x0 + x1 > 0 ? 1 : 0, k: x0 > 0.3 ? "a" : x1 > 0 ? "b" : "c", r: 40 + 3 * x0 - x1 };
  });
}

test("train({ ensemble: 3 }): the export's outputs are the mean of the members' in-wasm outputs (ort and mtl, ≤ 1e-5)", async () => {
  const data = rows(240);
  const run = await train(spec, data, { kernels, ensemble: 3, threads: 1, onWarning: () => {} });
  assert.is(run.members!.length, 3);
  assert.equal(run.members!.map((m) => m.spec.training.seed), [11, 12, 13]);
  // Different seeds, different members (else averaging proves nothing).
  const w0 = run.members![0].model.snapshot(), w1 = run.members![1].model.snapshot();
  assert.ok(w0.some((v, i) => v !== w1[i]), "members 0 and 1 have different weights");

  const probe = data.slice(0, 50);
  const inputs = probe.map(({ y: _, k: __, r: ___, ...x }) => x);
  const table = await toTable(spec, probe);
  const pre = run.members![0].model.pre;
  const enc = encode(run.members![0].spec, pre, table, undefined, { labels: false });
  const mean: Record<string, Float64Array> = {};
  spec.tasks.forEach((t, ti) => {
    const outs = run.members!.map((m) => m.model.predict(enc)[ti]);
    mean[t.name] = Float64Array.from(outs[0], (_, j) => {
      let sum = 0;
      for (const o of outs) sum += o[j];
      return sum / outs.length;
    });
  });
  const onnx = run.export();
  const g = decodeModel(onnx).graph;
  assert.ok(g.initializer.some((t) => t.name.startsWith("m2/")), "member 2's parameters are in the graph, prefixed m2/");
  for (const engine of ["ort", "mtl"] as const) {
    const session = await createSession(onnx, { engine, kernels: await loadKernels(kernels), name: "ensemble.onnx" });
    const got = await session.run(inputs);
    for (const t of spec.tasks) {
      let max = 0;
      got[t.name].forEach((v, j) => (max = Math.max(max, Math.abs(v - mean[t.name][j]))));
      assert.ok(max <= 1e-5, `${engine} ${t.name}: max |export − mean of members| ${max}`);
    }
    await session.dispose();
  }
  // predict() is the ensemble too.
  const p = await run.predict(inputs);
  p.big.forEach((v, j) => assert.ok(Math.abs(v - mean.big[j]) <= 1e-5, `predict row ${j}`));
  await run.dispose();
});

test("bad ensemble sizes and mismatched members are named errors", async () => {
  await rejects(train(spec, rows(100), { kernels, ensemble: 1, onWarning: () => {} }), "train: ensemble must be an integer in [2, 64] (members), got 1");
  await rejects(train(spec, rows(100), { kernels, ensemble: 2.5, onWarning: () => {} }), "train: ensemble must be an integer in [2, 64]");
  const a = await train(spec, rows(100), { kernels, epochs: 1, threads: 1, onWarning: () => {} });
  const other = validateSpec({ ...spec, tasks: spec.tasks.slice(0, 2) });
  const b = await train(other, rows(100), { kernels, epochs: 1, threads: 1, onWarning: () => {} });
  throwsWith(() => ensembleOnnx([a.export(), b.export()]), "ensemble export: member 1 has outputs");
  throwsWith(() => ensembleOnnx([ensembleOnnx([a.export(), a.export()])]), "ensemble export: member 0 is itself an ensemble");
  await a.dispose();
  await b.dispose();
});

test.run();
