// Export parity for PLE and cross-stitch: the exported ONNX model run by onnxruntime-web and by the mtl engine
// equals our own wasm forward within 1e-5 (PLE with 2 and 3 levels, gate_input both ways; cross-stitch over dense
// columns with 3 tasks and over conv columns), the mtl engine's import rebuilds the cross_stitch op (not a
// generic MatMul), and the python3-onnx checker (full check + strict shape inference) accepts every export.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup, Rng } from "../helpers.ts";
import { validateSpec, type ModelSpec } from "../../src/model/spec.ts";
import { Model } from "../../src/model/model.ts";
import { exportOnnx } from "../../src/onnx/export.ts";
import { createOrtRunner } from "../../src/infer/ort.ts";
import { createSession } from "../../src/infer/session.ts";
import { decodeModel } from "../../src/onnx/model.ts";
import { importOnnx } from "../../src/onnx/import.ts";
import type { Encoded, Preprocessing } from "../../src/data/preprocess.ts";
import { checkWithPython } from "./checker.ts";
import { skipOrFail } from "../skip.ts";

const { k } = await setup();
const ROWS = 37; // not a power of two: the inference plan pads the last batch

const TASKS = [
  { name: "bin", type: "binary", label: "yb", tower: [{ units: 4, activation: "tanh" }] },
  { name: "reg", type: "regression", label: "yr" },
  { name: "third", type: "regression", label: "y3", tower: [{ units: 3, activation: "gelu" }] },
];
const flat = (architecture: unknown, T = 2) => ({ inputs: { numeric: ["x0", "x1", "x2", "x3", "x4"] }, architecture, tasks: TASKS.slice(0, T) });
const image = (architecture: unknown) => ({ inputs: { image: { channels: 2, height: 7, width: 7 } }, architecture, tasks: TASKS.slice(0, 2).map((t) => ({ ...t, tower: [{ type: "flatten" }, ...(t.tower ?? [])] })) });
const SPECS: Record<string, [unknown, string]> = {
  "ple, 2 levels, gate_input previous": [flat({ type: "ple", levels: 2, shared_experts: 2, task_experts: 1, layers: [6, { units: 4, activation: "gelu" }] }), "moe_combine"],
  "ple, 3 levels, gate_input raw, 3 tasks": [flat({ type: "ple", levels: 3, shared_experts: 1, task_experts: 2, gate_input: "raw", layers: [{ units: 5, activation: "tanh", layernorm: true }] }, 3), "moe_combine"],
  "cross_stitch over dense columns, 3 tasks": [flat({ type: "cross_stitch", layers: [8, { units: 5, activation: "tanh", dropout: 0.1 }] }, 3), "cross_stitch"],
  "cross_stitch over conv columns ending in an image": [image({ type: "cross_stitch", layers: [{ type: "conv", filters: 3, kernel: 3, padding: "same", batchnorm: true }, { type: "pool", mode: "max", size: 2 }, { type: "conv", filters: 2, kernel: 2, activation: "tanh" }] }), "cross_stitch"],
};

const pre = (spec: ModelSpec): Preprocessing => ({
  numeric: spec.inputs.numeric.map((column) => ({ column, mean: 0, std: 1 })),
  categorical: [],
  tasks: spec.tasks.map((t) => ({ name: t.name, classes: t.classes, groups: null, target: null })),
});

const maxAbs = (a: Float32Array, b: Float32Array) => {
  assert.is(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

const exported: Uint8Array[] = [];
const worst = { d: 0 };
for (const [name, [json, op]] of Object.entries(SPECS)) {
  test(`${name}: onnxruntime-web and the mtl engine equal our forward within 1e-5`, async () => {
    const spec = validateSpec(json);
    const model = new Model(spec, pre(spec), k);
    model.initParams(5);
    const rng = new Rng(9);
    const w = model.getWeights();
    for (const [n, v] of Object.entries(w)) v.forEach((z, i) => (v[i] = n.endsWith("bn_running_var") ? 0.5 + rng.next() : z + 0.2 * rng.normal()));
    model.setWeights(w);
    const img = spec.inputs.tensor;
    const x = Float32Array.from({ length: ROWS * (img || 5) }, () => rng.normal());
    const enc: Encoded = { rows: ROWS, numeric: img ? new Float32Array(0) : x, categorical: [], tensor: img ? x : new Float32Array(0), tasks: spec.tasks.map(() => ({ labels: new Float32Array(0), mask: new Float32Array(0), group: new Int32Array(0) })) };
    const ours = model.predict(enc);
    const bytes = exportOnnx(model);
    exported.push(bytes);
    const imported = importOnnx(decodeModel(bytes)).graph.nodes.map((n) => n.op);
    assert.ok(imported.includes(op), `the import has no ${op}: ${imported}`);
    const input = img ? "tensor" : "numeric";
    const feeds = { [input]: { type: "float32" as const, data: x, dims: [ROWS, img || 5] } };
    const out = await createOrtRunner(bytes).then((r) => r.run(feeds));
    const mtl = await createSession(bytes, { engine: "mtl", kernels: k });
    const viaMtl = await mtl.run(feeds);
    spec.tasks.forEach((t, i) => {
      const d = maxAbs(out[t.name], ours[i]), e = maxAbs(viaMtl[t.name], ours[i]);
      worst.d = Math.max(worst.d, d, e);
      assert.ok(d <= 1e-5, `${t.name}: max |ort − ours| = ${d.toExponential(2)}`);
      assert.ok(e <= 1e-5, `${t.name}: max |mtl − ours| = ${e.toExponential(2)}`);
    });
    mtl.dispose?.();
    model.dispose();
  });
}

test("python3-onnx checker accepts every PLE and cross-stitch export", () => {
  const r = checkWithPython(exported);
  if (!r.available) return skipOrFail("python3-onnx checker on PLE / cross-stitch exports", `checker unavailable (${r.output})`);
  assert.ok(r.ok, r.output);
  assert.is(r.output.split("\n").filter((l) => l.startsWith("OK")).length, exported.length, r.output);
});

test.after(() => console.log(`\n  ple / cross-stitch export parity: worst max |engine − ours| ${worst.d.toExponential(2)} over ${exported.length} models`));

test.run();
