// Training benchmark on workload W1: samples/s of mtl-wasm's fit beside TensorFlow.js (tfjs-layers on
// tfjs-backend-wasm, SIMD, one thread, and on the pure-JS cpu backend), in one process, engines alternating.
//
//   node --import tsx bench/train.bench.ts [--json FILE] [--profile] [--quick] [--methods] [--w2]
//
// W1: 8,192 synthetic rows (fixed seed) of a raw tensor input of 64 floats, labelled by a fixed random teacher
// (tanh(x·T) then per-task linear maps): A multiclass 10 (argmax), B regression 1 (linear + noise), C binary (sign).
// Model: shared trunk Dense(256, relu) → Dense(256, relu); per task a tower Dense(64, relu) and a head (A softmax
// cross-entropy, B mean squared error, C binary cross-entropy); loss = sum of the three; Adam lr 1e-3; batch 128.
// All engines start from the same initial weights (mtl's initParams with the fixed seed).
//
// Timing: one repeat = one epoch over the 8,192 rows (64 steps of 128). Every engine first trains one untimed
// warm-up epoch (V8 tiers wasm up, tfjs builds its kernels and the Adam slots); then repeats run in interleaved
// rounds — mtl, tfjs-wasm, tfjs-cpu, mtl, … — so load from elsewhere on the machine hits all engines alike
// (tfjs-cpu, much slower, in the first rounds only). samples/s = 8,192 / wall time of the epoch; reported as the
// median and [min – max] over repeats. Each engine trains one model from its own initialization all along,
// so "loss" is comparable at the same step: the mean over the epoch that ends at a common step of the summed
// per-task training loss (masked means; tfjs: trainOnBatch's total).
//   mtl:        fit(model, data, null, { epochs, resume }) — the library's training loop, one epoch per call
//               (resumed, so the step counter and Adam's bias correction continue as in one run).
//   tfjs-*:     tf.model (tfjs-layers) with three outputs, losses [categoricalCrossentropy (one-hot labels),
//               meanSquaredError, binaryCrossentropy] summed, tf.train.adam(1e-3); model.trainOnBatch on
//               prebuilt batch tensors in order (no shuffle), which also reads the losses back each step.
//   torch-cpu-Nt: when /usr/bin/python3 (TORCH_PYTHON) imports torch, W1 in PyTorch on N = 1 and 2 threads
//               (bench/torch-w1.ts, bench/torch-w1.py: a subprocess per thread count, same weights, rows in order,
//               torch.optim.Adam), timed in the same rounds by wall time around its epoch request; before timing,
//               torch's task losses on the first batch at the initial weights must equal mtl's within 1e-4.
// --profile: mtl's step split by phase (feed, forward, weighting, backward, optimizer), timed with
// performance.now() around each phase over many steps of the same kernel calls fit makes.
// --w2: also workload W2 (bench/w2.ts, issue 13: a small conv net on 1×28×28 images, two 10-class heads, batch 64),
// its engines in the same rounds as W1's (W1's engines, then W2's, every round): mtl on 1 and 2 threads, tfjs-layers
// on tfjs-backend-wasm with a Conv2DBackpropFilter kernel registered for it from its own Transpose/Conv2D kernels
// (bench/tfjs-wasm-shim.ts; checked against tfjs-cpu's kernel at start-up, the run aborts if they differ) and on
// tfjs-cpu. One W2 repeat = one epoch of 1,024 images (16 steps). Then the conv layers' kernels at W2's shapes:
// GFLOP/s of forward, bwd_x and bwd_w beside the f32x4 peak measured in the same rounds (bench/conv-rows.ts).
// MTL_WASM=path overrides the artifact (default build/mtl.wasm).
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import "@tensorflow/tfjs-backend-cpu";
import * as tfwasm from "@tensorflow/tfjs-backend-wasm";
import { loadKernels, type Kernels } from "../src/runtime/load.ts";
import { Arena } from "../src/runtime/heap.ts";
import { Model } from "../src/model/model.ts";
import { parallelGradients } from "../src/train/parallel.ts";
import { nodeWorkerSpawner, TS_WORKER_ENTRY } from "../src/train/node-workers.ts";
import { fit, type TrainState } from "../src/train/trainer.ts";
import { createWeighting } from "../src/train/weighting/index.ts";
import { spec, pre, SEED, F, BATCH, CLASSES, W1_ROWS, w1Data } from "./w1.ts";
import { w2Spec, w2Pre, W2_SEED, W2_BATCH, W2_CLASSES, W2_ROWS, W2_H, W2_W, w2Data } from "./w2.ts";
import { registerConv2DBackpropFilterShim, verifyConv2DBackpropFilterShim } from "./tfjs-wasm-shim.ts";
import { timeConvRows, printConvRows, type ConvRow } from "./conv-rows.ts";
import type { ModelSpec } from "../src/model/spec.ts";
import type { Encoded, Preprocessing } from "../src/data/preprocess.ts";
import { mtlFirstBatchLosses, torchAvailable, torchW1Engine, TORCH_PYTHON } from "./torch-w1.ts";

const args = process.argv.slice(2);
// --methods: the task-balancing methods' step cost instead (bench/methods.bench.ts).
if (args.includes("--methods")) {
  await import("./methods.bench.ts");
  process.exit(0);
}
const jsonAt = args.indexOf("--json");
const jsonFile = jsonAt >= 0 ? args[jsonAt + 1] : undefined;
if (jsonAt >= 0 && !jsonFile) throw new Error("--json needs a file name");
const quick = args.includes("--quick");
const profile = args.includes("--profile");
const withW2 = args.includes("--w2");
const REPEATS = quick ? 2 : 7; // timed epochs of mtl and tfjs-wasm
const CPU_REPEATS = quick ? 1 : 3; // timed epochs of tfjs-cpu
const PROFILE_STEPS = quick ? 64 : 320;
const W2_CPU_REPEATS = 1;
/**
 * tfjs-cpu's W2 "epoch" is its first W2_CPU_STEPS batches only, and it has no warm-up epoch: its convolutions are
 * plain JS loops (4 steps took 415 s here with the machine shared, load ~10 on 2 cores).
 */
const W2_CPU_STEPS = 1;

// ---- W1 (bench/w1.ts) ------------------------------------------------------------------------------
const ROWS = W1_ROWS, STEPS_PER_EPOCH = ROWS / BATCH;
const data = w1Data(ROWS);

// ---- engines ---------------------------------------------------------------------------------------
interface Engine {
  name: string;
  /** Train one epoch (W1: 64 steps, W2: 16); push each step's summed loss onto `losses` and its task losses onto `tasks`. */
  epoch(): Promise<void>;
  losses: number[];
  tasks: number[][];
  times: number[];
  /** Rows one epoch() trains (samples/s = rows / seconds); default the workload's rows. */
  rows?: number;
}

const wasmPath = process.env.MTL_WASM ?? fileURLToPath(new URL("../build/mtl.wasm", import.meta.url));
const wasmModule = await WebAssembly.compile(readFileSync(wasmPath));

async function mtlEngine(k: Kernels, threads = 1, w: { spec: ModelSpec; pre: Preprocessing; seed: number; data: Encoded } = { spec, pre, seed: SEED, data }): Promise<Engine> {
  const model = new Model(w.spec, w.pre, k);
  model.initParams(w.seed);
  let state: TrainState | undefined;
  // Two threads: this one computes half of each batch, a worker_threads worker the other half (parallel.ts).
  const gradients = threads > 1 ? await parallelGradients(model, w.data, { threads, spawn: nodeWorkerSpawner(TS_WORKER_ENTRY), module: wasmModule }) : undefined;
  if (gradients) closers.push(() => gradients.close());
  const e: Engine = {
    name: threads > 1 ? `mtl-${threads}workers` : "mtl",
    losses: [],
    tasks: [],
    times: [],
    async epoch() {
      const r = await fit(model, w.data, null, {
        epochs: (state?.epoch ?? 0) + 1,
        resume: state,
        gradients,
        onStep: (_s, l) => {
          e.losses.push(l.reduce((a, b) => a + b, 0));
          e.tasks.push([...l]);
        },
      });
      state = r.state;
    },
  };
  return e;
}

const require = createRequire(import.meta.url);
tfwasm.setWasmPaths(dirname(require.resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm")) + "/");
if (typeof tfwasm.setThreadsCount === "function") tfwasm.setThreadsCount(1);

/** The W1 network as a tfjs-layers model, with its batches as tensors, on the given backend. */
async function tfjsEngine(backend: "wasm" | "cpu"): Promise<Engine> {
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs: the ${backend} backend failed to initialise`);
  await tf.ready();
  // Every layer starts from the same weights as the mtl model (its initParams(SEED)), so the loss columns
  // compare the training arithmetic, not two initializers.
  const layers: [tfl.layers.Layer, string][] = [];
  const dense = (units: number, activation: "relu" | "softmax" | "sigmoid" | "linear", param: string) => {
    const l = tfl.layers.dense({ units, activation });
    layers.push([l, param]);
    return l;
  };
  const input = tfl.input({ shape: [F] });
  let h = dense(256, "relu", "shared.0").apply(input) as tfl.SymbolicTensor;
  h = dense(256, "relu", "shared.1").apply(h) as tfl.SymbolicTensor;
  const head = (t: string, act: "softmax" | "linear" | "sigmoid", units: number) => dense(units, act, `head.${t}`).apply(dense(64, "relu", `tower.${t}.0`).apply(h)) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: [head("A", "softmax", CLASSES), head("B", "linear", 1), head("C", "sigmoid", 1)] });
  for (const [l, param] of layers) {
    const w = initWeights[`${param}.weight`], b = initWeights[`${param}.bias`];
    l.setWeights([tf.tensor2d(w, [w.length / b.length, b.length]), tf.tensor1d(b)]);
  }
  model.compile({ optimizer: tf.train.adam(1e-3), loss: ["categoricalCrossentropy", "meanSquaredError", "binaryCrossentropy"] });
  const batches = Array.from({ length: STEPS_PER_EPOCH }, (_, s) => {
    const lo = s * BATCH, hi = lo + BATCH;
    const onehot = new Float32Array(BATCH * CLASSES);
    const a = data.tasks[0].labels as Int32Array;
    for (let r = 0; r < BATCH; r++) onehot[r * CLASSES + a[lo + r]] = 1;
    return {
      x: tf.tensor2d(data.tensor.subarray(lo * F, hi * F), [BATCH, F]),
      y: [tf.tensor2d(onehot, [BATCH, CLASSES]), tf.tensor2d(data.tasks[1].labels.subarray(lo, hi) as Float32Array, [BATCH, 1]), tf.tensor2d(data.tasks[2].labels.subarray(lo, hi) as Float32Array, [BATCH, 1])],
    };
  });
  const e: Engine = {
    name: `tfjs-${backend}`,
    losses: [],
    tasks: [],
    times: [],
    async epoch() {
      if (tf.getBackend() !== backend) await tf.setBackend(backend);
      for (const bt of batches) {
        const l = (await model.trainOnBatch(bt.x, bt.y)) as number[];
        e.losses.push(l[0]);
        e.tasks.push(l.slice(1, 4));
      }
    },
  };
  return e;
}

/**
 * The W2 network as a tfjs-layers model (NHWC; with one input channel the NCHW pixels are the same floats) on the
 * given backend, starting from the mtl model's initial weights: conv kernels [C_out, C_in, kh, kw] → [kh, kw,
 * C_in, C_out]; the first dense layer's rows permuted from mtl's flatten order (c, y, x) to tfjs's (y, x, c).
 */
async function tfjsW2Engine(backend: "wasm" | "cpu", init: Record<string, Float32Array>, w2: Encoded): Promise<Engine> {
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs: the ${backend} backend failed to initialise`);
  await tf.ready();
  const conv = (filters: number) => tfl.layers.conv2d({ filters, kernelSize: 3, activation: "relu" });
  const c1 = conv(32), c2 = conv(64), d = tfl.layers.dense({ units: 128, activation: "relu" });
  const hl = tfl.layers.dense({ units: W2_CLASSES, activation: "softmax" }), hr = tfl.layers.dense({ units: W2_CLASSES, activation: "softmax" });
  const input = tfl.input({ shape: [W2_H, W2_W, 1] });
  let h = c1.apply(input) as tfl.SymbolicTensor;
  h = tfl.layers.maxPooling2d({ poolSize: 2 }).apply(h) as tfl.SymbolicTensor;
  h = c2.apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.maxPooling2d({ poolSize: 2 }).apply(h) as tfl.SymbolicTensor;
  h = d.apply(tfl.layers.flatten().apply(h)) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: [hl.apply(h) as tfl.SymbolicTensor, hr.apply(h) as tfl.SymbolicTensor] });
  const convW = (name: string, co: number, ci: number) => {
    const src = init[`${name}.weight`], dst = new Float32Array(src.length);
    for (let o = 0; o < co; o++) for (let c = 0; c < ci; c++) for (let t = 0; t < 9; t++) dst[(t * ci + c) * co + o] = src[(o * ci + c) * 9 + t];
    return [tf.tensor4d(dst, [3, 3, ci, co]), tf.tensor1d(init[`${name}.bias`])];
  };
  c1.setWeights(convW("shared.0", 32, 1));
  c2.setWeights(convW("shared.2", 64, 32));
  const fc = init["shared.5.weight"], fcT = new Float32Array(fc.length), S = 5 * 5, U = 128;
  for (let c = 0; c < 64; c++) for (let q = 0; q < S; q++) fcT.set(fc.subarray((c * S + q) * U, (c * S + q + 1) * U), (q * 64 + c) * U);
  d.setWeights([tf.tensor2d(fcT, [64 * S, U]), tf.tensor1d(init["shared.5.bias"])]);
  for (const [l, t] of [[hl, "left"], [hr, "right"]] as const) l.setWeights([tf.tensor2d(init[`head.${t}.weight`], [U, W2_CLASSES]), tf.tensor1d(init[`head.${t}.bias`])]);
  model.compile({ optimizer: tf.train.adam(1e-3), loss: ["categoricalCrossentropy", "categoricalCrossentropy"] });
  const px = W2_H * W2_W;
  const steps = backend === "cpu" ? W2_CPU_STEPS : W2_ROWS / W2_BATCH;
  const batches = Array.from({ length: steps }, (_, s) => {
    const lo = s * W2_BATCH;
    const onehot = (t: number) => {
      const y = new Float32Array(W2_BATCH * W2_CLASSES), a = w2.tasks[t].labels as Int32Array;
      for (let r = 0; r < W2_BATCH; r++) y[r * W2_CLASSES + a[lo + r]] = 1;
      return tf.tensor2d(y, [W2_BATCH, W2_CLASSES]);
    };
    return { x: tf.tensor4d(w2.tensor.subarray(lo * px, (lo + W2_BATCH) * px), [W2_BATCH, W2_H, W2_W, 1]), y: [onehot(0), onehot(1)] };
  });
  const e: Engine = {
    name: `tfjs-${backend}`,
    losses: [],
    tasks: [],
    times: [],
    rows: steps * W2_BATCH,
    async epoch() {
      if (tf.getBackend() !== backend) await tf.setBackend(backend);
      for (const bt of batches) {
        const l = (await model.trainOnBatch(bt.x, bt.y)) as number[];
        e.losses.push(l[0]);
        e.tasks.push(l.slice(1, 3));
      }
    },
  };
  return e;
}

const mtlKernels = await loadKernels(wasmModule);
const initWeights = (() => {
  const m = new Model(spec, pre, mtlKernels);
  m.initParams(SEED);
  return m.getWeights();
})();
const closers: (() => void)[] = [];
const engines = [await mtlEngine(mtlKernels), await mtlEngine(await loadKernels(wasmModule), 2), await tfjsEngine("wasm"), await tfjsEngine("cpu")];
// torch-cpu on 1 and 2 threads, when python3-torch is present; the same work: first-batch losses equal mtl's.
let torchCheck = "";
if (torchAvailable()) {
  const ours = mtlFirstBatchLosses(mtlKernels, data);
  for (const threads of [1, 2]) {
    const t = await torchW1Engine(threads, initWeights, data);
    closers.push(() => t.close());
    const theirs = await t.check();
    const err = Math.max(...theirs.map((v, i) => Math.abs(v - ours[i]) / Math.max(1e-6, Math.abs(ours[i]))));
    if (!(err <= 1e-4)) throw new Error(`torch-cpu W1 does not compute mtl's losses at the same weights: first batch A, B, C torch ${theirs.join(", ")} vs mtl ${ours.join(", ")}`);
    torchCheck = `first-batch losses at the initial weights: mtl ${ours.map((v) => v.toFixed(6)).join(" + ")}, torch max rel. diff ${err.toExponential(1)}`;
    engines.push(t);
  }
} else console.log(`(no torch-cpu column: ${TORCH_PYTHON} cannot import torch; apt-get install python3-torch)`);
// ---- W2 (bench/w2.ts) ----------------------------------------------------------------------------------
let engines2: Engine[] = [];
let shimCheck: { label: string; relErr: number }[] = [];
const w2 = withW2 ? w2Data(W2_ROWS) : null;
if (w2) {
  await tf.setBackend("wasm");
  registerConv2DBackpropFilterShim();
  shimCheck = await verifyConv2DBackpropFilterShim();
  const worst = Math.max(...shimCheck.map((c) => c.relErr));
  if (!(worst <= 1e-4)) throw new Error(`the tfjs-wasm Conv2DBackpropFilter shim disagrees with tfjs-cpu: ${shimCheck.map((c) => `${c.label}: ${c.relErr.toExponential(2)}`).join("; ")}`);
  const m = new Model(w2Spec, w2Pre, mtlKernels);
  m.initParams(W2_SEED);
  const init2 = m.getWeights();
  const wl = { spec: w2Spec, pre: w2Pre, seed: W2_SEED, data: w2 };
  engines2 = [await mtlEngine(await loadKernels(wasmModule), 1, wl), await mtlEngine(await loadKernels(wasmModule), 2, wl), await tfjsW2Engine("wasm", init2, w2), await tfjsW2Engine("cpu", init2, w2)];
}
await tf.setBackend("wasm");
const tfSimd = (await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT")) as boolean;
const tfThreads = (await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT")) as boolean;

console.log(`mtl-wasm training bench, workload W1 — node ${process.version}, artifact ${wasmPath}`);
console.log(`tfjs ${tf.version_core} (layers ${tfl.version_layers}): wasm backend SIMD=${tfSimd} multithread-capable=${tfThreads} (setThreadsCount(1)), cpu backend = pure JS`);
if (torchCheck) console.log(`torch-cpu: ${TORCH_PYTHON} (bench/torch-w1.py), torch.set_num_threads(1 | 2), batches in order; ${torchCheck}`);
console.log(`W1: ${ROWS} rows × tensor[${F}] → Dense 256 relu → Dense 256 relu → 3 × (Dense 64 relu → head): A xent 10, B mse, C bce; loss = sum; Adam 1e-3; batch ${BATCH}`);

if (w2) {
  console.log(`W2: ${W2_ROWS} random images 1×${W2_H}×${W2_W} (seed ${W2_SEED}) → Conv 32 3×3 relu → MaxPool 2 → Conv 64 3×3 relu → MaxPool 2 → Flatten → Dense 128 relu → 2 × Dense 10 xent; loss = sum; Adam 1e-3; batch ${W2_BATCH}`);
  console.log(`tfjs-wasm W2 runs with a Conv2DBackpropFilter kernel registered for 'wasm' from its own PadV2/Transpose/Conv2D/Slice kernels (bench/tfjs-wasm-shim.ts);`);
  console.log(`  checked against tfjs-cpu's Conv2DBackpropFilter on random inputs, max |wasm − cpu| / max |cpu|: ${shimCheck.map((c) => `${c.label} ${c.relErr.toExponential(1)}`).join("; ")}`);
}

for (const [wl, e] of [...engines.map((e) => ["W1", e] as const), ...engines2.map((e) => ["W2", e] as const)]) {
  if (wl === "W2" && e.name === "tfjs-cpu") continue;
  const t0 = performance.now();
  await e.epoch();
  console.log(`  warm-up epoch ${wl} ${e.name.padEnd(12)} ${((performance.now() - t0) / 1e3).toFixed(2)} s`);
}
// Interleaved rounds: W1's engines, then W2's, every round, so load from elsewhere hits all of them alike.
for (let round = 0; round < REPEATS; round++) {
  for (const e of engines) {
    if (e.name === "tfjs-cpu" && round >= CPU_REPEATS) continue;
    const t0 = performance.now();
    await e.epoch();
    e.times.push((performance.now() - t0) / 1e3);
  }
  for (const e of engines2) {
    if (e.name === "tfjs-cpu" && round >= W2_CPU_REPEATS) continue;
    const t0 = performance.now();
    await e.epoch();
    e.times.push((performance.now() - t0) / 1e3);
  }
}

// ---- results ---------------------------------------------------------------------------------------
const median = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const commonSteps = Math.min(...engines.map((e) => e.losses.length));
const lossAt = (e: Engine) => e.losses.slice(commonSteps - STEPS_PER_EPOCH, commonSteps).reduce((s, x) => s + x, 0) / STEPS_PER_EPOCH;
const taskLossAt = (e: Engine) => [0, 1, 2].map((t) => e.tasks.slice(commonSteps - STEPS_PER_EPOCH, commonSteps).reduce((s, x) => s + x[t], 0) / STEPS_PER_EPOCH);
const results: Record<string, { samplesPerSec: number; min: number; max: number; finalLoss: number; taskLosses: number[]; repeats: number; steps: number } | { samplesPerSec: null; note: string }> = {};
for (const e of engines) {
  const sps = e.times.map((t) => ROWS / t);
  results[e.name] = { samplesPerSec: median(sps), min: Math.min(...sps), max: Math.max(...sps), finalLoss: lossAt(e), taskLosses: taskLossAt(e), repeats: e.times.length, steps: commonSteps };
}

const wasmSps = (results["tfjs-wasm"] as { samplesPerSec: number }).samplesPerSec;
const firstLoss = (e: Engine) => e.losses.slice(0, STEPS_PER_EPOCH).reduce((s, x) => s + x, 0) / STEPS_PER_EPOCH;
console.log(`\nsamples/s = ${ROWS} / wall seconds of one epoch (${STEPS_PER_EPOCH} steps), median [min – max] over timed epochs after one warm-up epoch;`);
console.log(`loss = mean summed task loss over the epoch ending at step ${commonSteps} (the same step for every engine); epoch-1 mean shown for reference.`);
const head = `${"engine".padEnd(13)} ${"samples/s".padStart(10)}   ${"[min – max]".padEnd(20)} ${"repeats".padStart(7)} ${"vs tfjs-wasm".padStart(12)}  ${"loss@" + commonSteps} = A xent + B mse + C bce   (epoch 1)`;
console.log(head);
console.log("-".repeat(head.length + 4));
for (const e of engines) {
  const r = results[e.name] as { samplesPerSec: number; min: number; max: number; finalLoss: number; repeats: number };
  console.log(`${e.name.padEnd(13)} ${Math.round(r.samplesPerSec).toLocaleString("en-US").padStart(10)}   ${`[${Math.round(r.min).toLocaleString("en-US")} – ${Math.round(r.max).toLocaleString("en-US")}]`.padEnd(20)} ${String(r.repeats).padStart(7)} ${`${(r.samplesPerSec / wasmSps).toFixed(2)}×`.padStart(12)}  ${r.finalLoss.toFixed(4).padStart(8)} = ${taskLossAt(e).map((x) => x.toFixed(4)).join(" + ")}   (${firstLoss(e).toFixed(4)})`);
}
const mtlSps = (results.mtl as { samplesPerSec: number }).samplesPerSec, cpuSps = (results["tfjs-cpu"] as { samplesPerSec: number }).samplesPerSec;
const mtl2Sps = (results["mtl-2workers"] as { samplesPerSec: number }).samplesPerSec;
console.log(`\nratios: mtl / tfjs-wasm = ${(mtlSps / wasmSps).toFixed(2)}×, mtl-2workers / tfjs-wasm = ${(mtl2Sps / wasmSps).toFixed(2)}×, mtl-2workers / mtl = ${(mtl2Sps / mtlSps).toFixed(2)}×, tfjs-cpu / tfjs-wasm = ${(cpuSps / wasmSps).toFixed(2)}×, mtl / tfjs-cpu = ${(mtlSps / cpuSps).toFixed(1)}×`);
const torchSps = (n: number) => (results[`torch-cpu-${n}t`] as { samplesPerSec: number } | undefined)?.samplesPerSec;
if (torchSps(1) && torchSps(2)) console.log(`torch ratios: mtl / torch-cpu-1t = ${(mtlSps / torchSps(1)!).toFixed(2)}×, mtl / torch-cpu-2t = ${(mtlSps / torchSps(2)!).toFixed(2)}×, mtl-2workers / torch-cpu-2t = ${(mtl2Sps / torchSps(2)!).toFixed(2)}×, torch-cpu-2t / torch-cpu-1t = ${(torchSps(2)! / torchSps(1)!).toFixed(2)}×`);

// Why tfjs-wasm trains slowly here: its BatchMatMul is fast for X·W but not with a transpose flag, which the
// backward pass of every dense layer uses (dX = dY·Wᵀ, dW = Xᵀ·dY). Measured on the trunk's 256×256 layer.
const tfMatMul = (() => {
  const a = tf.tensor2d(data.tensor.subarray(0, BATCH * 256), [BATCH, 256]), w = tf.tensor2d(data.tensor.subarray(0, 256 * 256), [256, 256]);
  const time = (ta: boolean, tb: boolean, x: tf.Tensor2D, y: tf.Tensor2D) => {
    for (let i = 0; i < 3; i++) tf.matMul(x, y, ta, tb).dispose();
    const t0 = performance.now();
    for (let i = 0; i < 20; i++) tf.matMul(x, y, ta, tb).dispose();
    return (performance.now() - t0) / 20;
  };
  const r = { xw: time(false, false, a, w), dyWt: time(false, true, a, w), xtDy: time(true, false, a, a) };
  a.dispose();
  w.dispose();
  return r;
})();
console.log(`note: tfjs-wasm tf.matMul at 128×256·256×256: X·W ${tfMatMul.xw.toFixed(2)} ms, dY·Wᵀ (transposeB) ${tfMatMul.dyWt.toFixed(2)} ms, Xᵀ·dY (transposeA, 256×128·128×256) ${tfMatMul.xtDy.toFixed(2)} ms:`);
console.log("      the backward pass uses the transposed forms, which tfjs-backend-wasm 4.22 runs far slower than the plain product.");

// ---- W2 results and the conv layers' GFLOP/s ----------------------------------------------------------------
type W2Result = { samplesPerSec: number; min: number; max: number; finalLoss: number; taskLosses: number[]; repeats: number; steps: number };
const results2: Record<string, W2Result> = {};
let convRows: ConvRow[] = [];
if (w2) {
  const STEPS2 = W2_ROWS / W2_BATCH;
  const common2 = Math.min(...engines2.map((e) => e.losses.length));
  const win2 = Math.min(STEPS2, common2);
  const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
  for (const e of engines2) {
    const sps = e.times.map((t) => (e.rows ?? W2_ROWS) / t);
    const win = e.tasks.slice(common2 - win2, common2);
    results2[e.name] = { samplesPerSec: median(sps), min: Math.min(...sps), max: Math.max(...sps), finalLoss: mean(e.losses.slice(common2 - win2, common2)), taskLosses: [0, 1].map((t) => mean(win.map((x) => x[t]))), repeats: e.times.length, steps: common2 };
  }
  const base = results2["tfjs-wasm"].samplesPerSec;
  console.log(`\nW2: samples/s = ${W2_ROWS} / wall seconds of one epoch (${STEPS2} steps of ${W2_BATCH}; tfjs-cpu: its first ${W2_CPU_STEPS} steps),`);
  console.log(`median [min – max] over timed epochs after one warm-up epoch, in the same rounds as W1's engines; loss = mean summed task loss`);
  console.log(`over steps ${common2 - win2 + 1}–${common2}, the same steps for every engine from the same initial weights (random labels: ≈ 2·ln 10 = 4.61).`);
  const head2 = `${"engine".padEnd(13)} ${"samples/s".padStart(10)}   ${"[min – max]".padEnd(20)} ${"repeats".padStart(7)} ${"vs tfjs-wasm".padStart(12)}  loss@${common2} = left + right`;
  console.log(head2);
  console.log("-".repeat(head2.length + 4));
  for (const e of engines2) {
    const r = results2[e.name];
    console.log(`${e.name.padEnd(13)} ${Math.round(r.samplesPerSec).toLocaleString("en-US").padStart(10)}   ${`[${Math.round(r.min).toLocaleString("en-US")} – ${Math.round(r.max).toLocaleString("en-US")}]`.padEnd(20)} ${String(r.repeats).padStart(7)} ${`${(r.samplesPerSec / base).toFixed(2)}×`.padStart(12)}  ${r.finalLoss.toFixed(4).padStart(8)} = ${r.taskLosses.map((x) => x.toFixed(4)).join(" + ")}`);
  }
  const r2 = (a: string, b: string) => (results2[a].samplesPerSec / results2[b].samplesPerSec).toFixed(2);
  console.log(`W2 ratios: mtl / tfjs-wasm = ${r2("mtl", "tfjs-wasm")}× (target ≥ 10×), mtl-2workers / tfjs-wasm = ${r2("mtl-2workers", "tfjs-wasm")}×, mtl-2workers / mtl = ${r2("mtl-2workers", "mtl")}×, tfjs-cpu / tfjs-wasm = ${r2("tfjs-cpu", "tfjs-wasm")}×`);
  const arena = new Arena(mtlKernels);
  convRows = timeConvRows(mtlKernels, arena, { minRunS: quick ? 0.05 : 0.2, repeats: quick ? 3 : 5 });
  console.log(`\nW2's conv layers, the kernels the conv2d op picks, alone (NCHW, batch ${W2_BATCH}): GFLOP/s = 2·n·c_out·K·P per pass / CPU time`);
  console.log(`(the direct convolution's flops: Winograd rows are effective rates, bench/conv-rows.ts),`);
  console.log(`beside peak_f32x4 timed the same way in the same rounds (target ≥ 60 % of peak); median [min – max] over rounds`);
  printConvRows(convRows);
}

// ---- --profile: mtl's step by phase ----------------------------------------------------------------------
let profileOut: Record<string, number> | null = null;
if (profile) {
  // A fresh model on its own instance, stepped exactly as fit steps it (src/train/trainer.ts), static weighting
  // (scales = 1), no regularizers or clipping (W1 has none), one fused Adam pass over the whole block.
  const k = await loadKernels(wasmModule);
  const model = new Model(spec, pre, k);
  model.initParams(SEED);
  const built = model.program(BATCH, true);
  const { io, program } = built;
  const store = model.store, op = spec.training.optimizer, n = store.total;
  const weighting = createWeighting(model);
  const adam = k.adam_step_f32x4 as (...a: number[]) => number;
  const order = Int32Array.from({ length: ROWS }, (_, i) => i);
  const phases = ["feed", "forward", "weighting", "backward", "optimizer"] as const;
  const acc = new Float64Array(phases.length);
  let step = 0;
  const run = (timed: boolean, steps: number) => {
    for (let s = 0; s < steps; s++) {
      const start = (step % STEPS_PER_EPOCH) * BATCH;
      const t0 = performance.now();
      model.feed(built, data, order, start, BATCH);
      const t1 = performance.now();
      for (const f of program.forward) f();
      const t2 = performance.now();
      weighting.step(io.losses, io.scales);
      const t3 = performance.now();
      for (const f of program.backward) f();
      const t4 = performance.now();
      step++;
      adam(n, store.g, store.p, store.s1, store.s2, op.lr, op.beta1, op.beta2, op.eps, op.weight_decay, step, 0);
      const t5 = performance.now();
      if (timed) (acc[0] += t1 - t0), (acc[1] += t2 - t1), (acc[2] += t3 - t2), (acc[3] += t4 - t3), (acc[4] += t5 - t4);
    }
  };
  run(false, STEPS_PER_EPOCH); // warm-up
  run(true, PROFILE_STEPS);
  const total = acc.reduce((s, x) => s + x, 0);
  profileOut = {};
  console.log(`\n--profile: mtl, ms per step by phase (mean over ${PROFILE_STEPS} steps after ${STEPS_PER_EPOCH} warm-up steps; performance.now() around each phase):`);
  phases.forEach((p, i) => {
    const ms = acc[i] / PROFILE_STEPS;
    profileOut![p] = ms;
    const label = { feed: "data loading (Model.feed)", forward: "forward", weighting: "weighting (static)", backward: "backward", optimizer: `optimizer (adam_step_f32x4, ${n.toLocaleString("en-US")} params)` }[p];
    console.log(`  ${label.padEnd(46)} ${ms.toFixed(3).padStart(8)} ms  ${((100 * acc[i]) / total).toFixed(1).padStart(5)} %`);
  });
  console.log(`  ${"step".padEnd(46)} ${(total / PROFILE_STEPS).toFixed(3).padStart(8)} ms  = ${Math.round((BATCH * PROFILE_STEPS) / (total / 1e3)).toLocaleString("en-US")} samples/s`);
}

if (jsonFile) {
  const out: Record<string, unknown> = { W1: results };
  if (w2) out.W2 = { engines: results2, shimCheck, convRows, rows: W2_ROWS, batch: W2_BATCH };
  if (profileOut) out.profile = { W1: { mtl: { msPerStep: profileOut } } };
  out.meta = { date: new Date().toISOString(), node: process.version, artifact: wasmPath, tfjs: { version: tf.version_core, simd: tfSimd }, rows: ROWS, batch: BATCH, repeats: REPEATS, cpuRepeats: CPU_REPEATS };
  writeFileSync(jsonFile, JSON.stringify(out, null, 2) + "\n");
  console.log(`wrote ${jsonFile}`);
}
for (const close of closers) close();
