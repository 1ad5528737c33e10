// Export parity for image models (issue 13 item 5): conv trunks with batch norm, MMoE and CGC over conv experts,
// towers that start with conv. On real MNIST test images (pixels / 255, as data.format "idx" feeds them), the
// exported ONNX model run by onnxruntime-web and by the mtl engine equals our own wasm forward within 1e-5, and
// the python3-onnx checker (full check + strict shape inference) accepts every export.
// ONNX forms: Reshape (tensor → NCHW), Conv (+ Relu), BatchNormalization (inference form, running statistics as
// initializers; not folded), MaxPool, AveragePool, GlobalAveragePool, Flatten.
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
import { readIdx } from "../../src/data/idx.ts";
import { fileSource } from "../../src/data/node-file.ts";
import type { Encoded, Preprocessing } from "../../src/data/preprocess.ts";
import { checkWithPython } from "./checker.ts";
import { skipOrFail, needFile } from "../skip.ts";

const { k } = await setup();
const MNIST = "../shared/data/mnist/t10k-images-idx3-ubyte.gz";
const ROWS = 37; // not a power of two: the inference plan pads the last batch

const tasks = [
  { name: "left", type: "multiclass", label: "left", classes: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"], tower: [{ units: 6, activation: "tanh" }] },
  { name: "big", type: "binary", label: "big" },
];
const image = { image: { channels: 1, height: 28, width: 28 } };
const SPECS: Record<string, unknown> = {
  "hps conv + batchnorm + maxpool + global avg": {
    inputs: image,
    tasks,
    architecture: { type: "hps", layers: [{ type: "conv", filters: 4, kernel: 3, padding: "same", batchnorm: true, activation: "relu" }, { type: "pool", mode: "max", size: 2 }, { type: "conv", filters: 6, kernel: 3, stride: 2, dilation: 1, activation: "relu" }, { type: "batchnorm" }, { type: "pool", mode: "global_avg" }, { type: "flatten" }, { units: 8 }] },
  },
  "hps LeNet (conv → maxpool → relu, ×2, flatten, dense)": {
    inputs: image,
    tasks,
    architecture: { type: "hps", layers: [{ type: "conv", filters: 3, kernel: 5, activation: "none" }, { type: "pool", mode: "max", size: 2 }, { type: "activation", activation: "relu" }, { type: "conv", filters: 4, kernel: 5, activation: "none" }, { type: "pool", mode: "max", size: 2 }, { type: "activation", activation: "relu" }, { type: "flatten" }, { units: 10 }] },
  },
  "mmoe over conv experts (avg pool, gelu)": {
    inputs: image,
    tasks,
    architecture: { type: "mmoe", experts: 2, layers: [{ type: "conv", filters: 3, kernel: 5, stride: 2, padding: [1, 2, 0, 1], activation: "gelu" }, { type: "pool", mode: "avg", size: 3, stride: 2 }, { type: "flatten" }, { units: 6 }] },
  },
  "cgc over conv experts": {
    inputs: image,
    tasks,
    architecture: { type: "cgc", shared_experts: 1, task_experts: 1, layers: [{ type: "conv", filters: 2, kernel: 4, stride: 3 }, { type: "flatten" }, { units: 5 }] },
  },
  // Grouped convs (ONNX Conv group > 1), one per kernel path, each run per (image, group): depthwise 3×3 "same"
  // (direct), groups 2 with 8 → 8 channels a group (Winograd F(4×4)), groups 4 with stride 2 (im2col), and a
  // depthwise conv with 2 filters per channel (im2col: 4 columns).
  "grouped and depthwise convs": {
    inputs: image,
    tasks,
    architecture: {
      type: "hps",
      layers: [
        { type: "conv", filters: 16, kernel: 3, padding: "same", activation: "relu" },
        { type: "conv", filters: 16, kernel: 3, groups: "depthwise", padding: "same", activation: "relu" },
        { type: "conv", filters: 16, kernel: 3, groups: 2, activation: "relu" },
        { type: "pool", mode: "max", size: 2 },
        { type: "conv", filters: 8, kernel: 3, groups: 4, stride: 2, activation: "tanh" },
        { type: "conv", filters: 16, kernel: 3, groups: 8, batchnorm: true },
        { type: "pool", mode: "global_avg" },
        { type: "flatten" },
        { units: 8 },
      ],
    },
  },
  "conv towers on an image trunk": {
    inputs: image,
    tasks: tasks.map((t) => ({ ...t, tower: [{ type: "conv", filters: 3, kernel: 3, batchnorm: true }, { type: "pool", mode: "global_avg" }, { type: "flatten" }] })),
    architecture: { type: "hps", layers: [{ type: "conv", filters: 4, kernel: 3, stride: 2 }, { type: "pool", mode: "max", size: 2 }] },
  },
};

const pre = (spec: ModelSpec): Preprocessing => ({ numeric: [], categorical: [], tasks: spec.tasks.map((t) => ({ name: t.name, classes: t.classes, groups: null, target: null })) });

let pixels: Float32Array | null = null;
async function images(): Promise<Float32Array | null> {
  if (pixels) return pixels;
  if (!needFile(MNIST, "conv export parity on MNIST test images")) return null;
  const arr = await readIdx(fileSource(MNIST));
  pixels = Float32Array.from(arr.data.subarray(0, ROWS * 784), (p) => p / 255);
  return pixels;
}

const maxAbs = (a: Float32Array, b: Float32Array) => {
  assert.is(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

const exported: Uint8Array[] = [];
const worst = { d: 0 };
for (const [name, json] of Object.entries(SPECS)) {
  test(`${name}: onnxruntime-web and the mtl engine equal our forward within 1e-5 on MNIST test images`, async () => {
    const x = await images();
    if (!x) return;
    const spec = validateSpec(json);
    const model = new Model(spec, pre(spec), k);
    model.initParams(5);
    // Perturb every parameter, and give the batch norms non-trivial running statistics (variance > 0).
    const rng = new Rng(9);
    const w = model.getWeights();
    for (const [n, v] of Object.entries(w)) v.forEach((z, i) => (v[i] = n.endsWith("bn_running_var") ? 0.5 + rng.next() : z + 0.2 * rng.normal()));
    model.setWeights(w);
    const enc: Encoded = { rows: ROWS, numeric: new Float32Array(0), categorical: [], tensor: x, tasks: spec.tasks.map(() => ({ labels: new Float32Array(0), mask: new Float32Array(0), group: new Int32Array(0) })) };
    const ours = model.predict(enc);
    const bytes = exportOnnx(model);
    exported.push(bytes);
    const ops = new Set(decodeModel(bytes).graph.node.map((n) => n.opType));
    for (const op of ["Reshape", "Conv", "Flatten"]) assert.ok(ops.has(op), `${name}: no ${op} in the export (${[...ops]})`);
    const imported = importOnnx(decodeModel(bytes)).graph.nodes.map((n) => n.op);
    assert.ok(imported.includes("conv2d"), `import has no conv2d: ${imported}`);
    const feeds = { tensor: { type: "float32" as const, data: x, dims: [ROWS, 784] } };
    const ort = await createOrtRunner(bytes);
    const out = await ort.run(feeds);
    const mtl = await createSession(bytes, { engine: "mtl", kernels: k });
    const viaMtl = await mtl.run(feeds);
    const one = await mtl.run({ tensor: { type: "float32", data: x.subarray(784 * 3, 784 * 4), dims: [1, 784] } });
    spec.tasks.forEach((t, i) => {
      const d = maxAbs(out[t.name], ours[i]), e = maxAbs(viaMtl[t.name], ours[i]);
      worst.d = Math.max(worst.d, d, e);
      assert.ok(d <= 1e-5, `${t.name}: max |ort − ours| = ${d.toExponential(2)}`);
      assert.ok(e <= 1e-5, `${t.name}: max |mtl − ours| = ${e.toExponential(2)}`);
      const wd = model.dims.outputs[i];
      assert.ok(maxAbs(one[t.name], ours[i].slice(3 * wd, 4 * wd)) <= 1e-5, `${t.name}: batch of one`);
    });
    mtl.dispose?.();
    model.dispose();
  });
}

test("python3-onnx checker accepts every conv export (IR ≤ 8, opset ≤ 17)", () => {
  if (!exported.length) return skipOrFail("python3-onnx checker on conv exports", "no exports (MNIST test images missing)");
  const r = checkWithPython(exported);
  if (!r.available) return skipOrFail("python3-onnx checker on conv exports", `checker unavailable (${r.output})`);
  assert.ok(r.ok, r.output);
  assert.is(r.output.split("\n").filter((l) => l.startsWith("OK")).length, exported.length, r.output);
});

test.after(() => console.log(`\n  conv export parity: worst max |engine − ours| ${worst.d.toExponential(2)} over ${exported.length} models`));

test.run();
