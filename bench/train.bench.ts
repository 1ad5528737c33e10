// Training benchmark on workload W1: samples/s of mtl-wasm's fit beside TensorFlow.js (tfjs-layers on
// tfjs-backend-wasm, SIMD, one thread, and on the pure-JS cpu backend), in one process, engines alternating.
//
//   node --import tsx bench/train.bench.ts [--json FILE] [--profile] [--quick] [--methods]
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
// --profile: mtl's step split by phase (feed, forward, weighting, backward, optimizer), timed with
// performance.now() around each phase over many steps of the same kernel calls fit makes.
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
import { Model } from "../src/model/model.ts";
import { parallelGradients } from "../src/train/parallel.ts";
import { nodeWorkerSpawner, TS_WORKER_ENTRY } from "../src/train/node-workers.ts";
import { fit, type TrainState } from "../src/train/trainer.ts";
import { createWeighting } from "../src/train/weighting/index.ts";
import { spec, pre, SEED, F, BATCH, CLASSES, W1_ROWS, w1Data } from "./w1.ts";

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
const REPEATS = quick ? 2 : 7; // timed epochs of mtl and tfjs-wasm
const CPU_REPEATS = quick ? 1 : 3; // timed epochs of tfjs-cpu
const PROFILE_STEPS = quick ? 64 : 320;

// ---- W1 (bench/w1.ts) ------------------------------------------------------------------------------
const ROWS = W1_ROWS, STEPS_PER_EPOCH = ROWS / BATCH;
const data = w1Data(ROWS);

// ---- engines ---------------------------------------------------------------------------------------
interface Engine {
  name: string;
  /** Train one epoch (64 steps); push each step's summed loss onto `losses` and its task losses onto `tasks`. */
  epoch(): Promise<void>;
  losses: number[];
  tasks: number[][];
  times: number[];
}

const wasmPath = process.env.MTL_WASM ?? fileURLToPath(new URL("../build/mtl.wasm", import.meta.url));
const wasmModule = await WebAssembly.compile(readFileSync(wasmPath));

async function mtlEngine(k: Kernels, threads = 1): Promise<Engine> {
  const model = new Model(spec, pre, k);
  model.initParams(SEED);
  let state: TrainState | undefined;
  // Two threads: this one computes half of each batch, a worker_threads worker the other half (parallel.ts).
  const gradients = threads > 1 ? await parallelGradients(model, data, { threads, spawn: nodeWorkerSpawner(TS_WORKER_ENTRY), module: wasmModule }) : undefined;
  if (gradients) closers.push(() => gradients.close());
  const e: Engine = {
    name: threads > 1 ? `mtl-${threads}workers` : "mtl",
    losses: [],
    tasks: [],
    times: [],
    async epoch() {
      const r = await fit(model, data, null, {
        epochs: (state?.epoch ?? 0) + 1,
        resume: state,
        gradients,
        onStep: (_s, l) => {
          e.losses.push(l[0] + l[1] + l[2]);
          e.tasks.push([l[0], l[1], l[2]]);
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

const mtlKernels = await loadKernels(wasmModule);
const initWeights = (() => {
  const m = new Model(spec, pre, mtlKernels);
  m.initParams(SEED);
  return m.getWeights();
})();
const closers: (() => void)[] = [];
const engines = [await mtlEngine(mtlKernels), await mtlEngine(await loadKernels(wasmModule), 2), await tfjsEngine("wasm"), await tfjsEngine("cpu")];
await tf.setBackend("wasm");
const tfSimd = (await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT")) as boolean;
const tfThreads = (await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT")) as boolean;

console.log(`mtl-wasm training bench, workload W1 — node ${process.version}, artifact ${wasmPath}`);
console.log(`tfjs ${tf.version_core} (layers ${tfl.version_layers}): wasm backend SIMD=${tfSimd} multithread-capable=${tfThreads} (setThreadsCount(1)), cpu backend = pure JS`);
console.log(`W1: ${ROWS} rows × tensor[${F}] → Dense 256 relu → Dense 256 relu → 3 × (Dense 64 relu → head): A xent 10, B mse, C bce; loss = sum; Adam 1e-3; batch ${BATCH}`);

for (const e of engines) {
  const t0 = performance.now();
  await e.epoch();
  console.log(`  warm-up epoch ${e.name.padEnd(10)} ${((performance.now() - t0) / 1e3).toFixed(2)} s`);
}
for (let round = 0; round < REPEATS; round++) {
  for (const e of engines) {
    if (e.name === "tfjs-cpu" && round >= CPU_REPEATS) continue;
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
  if (profileOut) out.profile = { W1: { mtl: { msPerStep: profileOut } } };
  out.meta = { date: new Date().toISOString(), node: process.version, artifact: wasmPath, tfjs: { version: tf.version_core, simd: tfSimd }, rows: ROWS, batch: BATCH, repeats: REPEATS, cpuRepeats: CPU_REPEATS };
  writeFileSync(jsonFile, JSON.stringify(out, null, 2) + "\n");
  console.log(`wrote ${jsonFile}`);
}
for (const close of closers) close();
