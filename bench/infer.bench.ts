// Inference benchmark on workload W1: the exported ONNX model run by onnxruntime-web (engine "ort", wasm EP,
// one thread) and by our own kernels (engine "mtl"), both through createSession, in one process.
//
//   node --import tsx bench/infer.bench.ts [--json FILE] [--quick]
//
// W1: a raw tensor input of 64 floats; shared trunk Dense(256, relu) → Dense(256, relu); three heads, each a
// tower Dense(64, relu) and an output: A multiclass (10, softmax), B regression (1), C binary (sigmoid).
// Weights: random init from a fixed seed, then perturbed so no path is trivially zero.
//
// Before timing, both engines' outputs are compared on the same inputs (batch 1 and 128; max |mtl − ort| ≤ 1e-5).
// Timed: `await session.run({ tensor })` with a ready input tensor (no row encoding: W1 takes a raw tensor).
//  - batch-1 latency: every call timed on its own (performance.now); median and p90 over all calls.
//  - batch-128 throughput: rows / second of runs of many calls; median over timed runs.
// Engines alternate in interleaved rounds, so load from elsewhere on the machine hits them alike.
// "ort (raw)" is onnxruntime-web's own InferenceSession.run with a prebuilt ort.Tensor, without our wrapper
// (tensor wrapping, input checks, copying outputs out): the floor our "ort" engine could reach.
// MTL_WASM=path overrides the artifact (default build/mtl.wasm).
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-web";
import { loadKernels } from "../src/runtime/load.ts";
import { Model } from "../src/model/model.ts";
import { exportOnnx } from "../src/onnx/export.ts";
import { createSession, type Session } from "../src/infer/session.ts";
import type { InputTensor } from "../src/infer/rows.ts";
import { spec, pre, rng, SEED, F } from "./w1.ts";

const args = process.argv.slice(2);
const jsonAt = args.indexOf("--json");
const jsonFile = jsonAt >= 0 ? args[jsonAt + 1] : undefined;
if (jsonAt >= 0 && !jsonFile) throw new Error("--json needs a file name");
const quick = args.includes("--quick");
const ROUNDS = quick ? 4 : 15; // interleaved rounds
const LAT_CALLS = quick ? 300 : 2000; // batch-1 calls per engine per round
const TP_MIN_S = quick ? 0.05 : 0.25; // batch-128: seconds per timed run

// ---- W1 (bench/w1.ts) ------------------------------------------------------------------------------

const wasmPath = process.env.MTL_WASM ?? fileURLToPath(new URL("../build/mtl.wasm", import.meta.url));
const wasmModule = await WebAssembly.compile(readFileSync(wasmPath));
const model = new Model(spec, pre, await loadKernels(wasmModule));
model.initParams(SEED);
{
  const r = rng(7);
  const w = model.getWeights();
  for (const v of Object.values(w)) for (let i = 0; i < v.length; i++) v[i] += 0.05 * r.normal();
  model.setWeights(w);
}
const bytes = exportOnnx(model);

// ---- sessions ------------------------------------------------------------------------------------------
ort.env.wasm.numThreads = 1;
const sessions: Record<"ort" | "mtl", Session> = {
  ort: await createSession(bytes, { engine: "ort", ort }),
  // The mtl engine on its own instance of the artifact (its own memory), as a client would load it.
  mtl: await createSession(bytes, { engine: "mtl", wasm: wasmModule }),
};
const raw = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });

const r = rng(11);
const feedOf = (n: number): InputTensor => ({ type: "float32", data: Float32Array.from({ length: n * F }, () => r.normal()), dims: [n, F] });
const x1 = feedOf(1), x128 = feedOf(128);
const raw1 = { tensor: new ort.Tensor("float32", x1.data as Float32Array, [1, F]) };
const raw128 = { tensor: new ort.Tensor("float32", x128.data as Float32Array, [128, F]) };

// ---- agreement ---------------------------------------------------------------------------------------
let maxDiff = 0;
for (const x of [x1, x128, feedOf(7)]) {
  const a = await sessions.ort.run({ tensor: x });
  const b = await sessions.mtl.run({ tensor: x });
  for (const t of spec.tasks) {
    const p = a[t.name], q = b[t.name];
    if (p.length !== q.length) throw new Error(`${t.name}: ort gives ${p.length} values, mtl ${q.length}`);
    for (let i = 0; i < p.length; i++) maxDiff = Math.max(maxDiff, Math.abs(p[i] - q[i]));
  }
}
if (!(maxDiff <= 1e-5)) throw new Error(`engines disagree: max |mtl − ort| = ${maxDiff}`);

// ---- timing ------------------------------------------------------------------------------------------
type Contender = { name: string; run: (batch: 1 | 128) => Promise<unknown> };
const contenders: Contender[] = [
  { name: "mtl", run: (b) => sessions.mtl.run({ tensor: b === 1 ? x1 : x128 }) },
  { name: "ort", run: (b) => sessions.ort.run({ tensor: b === 1 ? x1 : x128 }) },
  { name: "ort (raw)", run: (b) => raw.run(b === 1 ? raw1 : raw128) },
];
const quantile = (a: number[], q: number) => {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
const median = (a: number[]) => quantile(a, 0.5);

// Warm-up: lets V8 tier both wasm modules up (Liftoff → TurboFan) and the JS around them.
for (const c of contenders) {
  const t0 = performance.now();
  while (performance.now() - t0 < (quick ? 150 : 600)) {
    await c.run(1);
    await c.run(128);
  }
}
// Calls per batch-128 timed run.
// Calls per batch-128 timed run (one session at a time: a session must not run concurrently with itself).
const tpCalls: number[] = [];
for (const c of contenders) {
  const t0 = performance.now();
  let n = 0;
  while (n < 5 || performance.now() - t0 < 50) (await c.run(128), n++);
  tpCalls.push(Math.max(3, Math.ceil(TP_MIN_S / ((performance.now() - t0) / 1e3 / n))));
}

const lat: number[][] = contenders.map(() => []);
const tp: number[][] = contenders.map(() => []);
for (let round = 0; round < ROUNDS; round++) {
  for (let ci = 0; ci < contenders.length; ci++) {
    const c = contenders[ci];
    for (let i = 0; i < LAT_CALLS; i++) {
      const t0 = performance.now();
      await c.run(1);
      lat[ci].push((performance.now() - t0) * 1e3);
    }
    const t0 = performance.now();
    for (let i = 0; i < tpCalls[ci]; i++) await c.run(128);
    tp[ci].push((128 * tpCalls[ci]) / ((performance.now() - t0) / 1e3));
  }
}

const rows = contenders.map((c, i) => ({
  engine: c.name,
  latencyMedianUs: median(lat[i]),
  latencyP90Us: quantile(lat[i], 0.9),
  rowsPerSec: median(tp[i]),
  rowsPerSecMin: Math.min(...tp[i]),
  rowsPerSecMax: Math.max(...tp[i]),
}));
const [m, o, oraw] = rows;
const ratios = {
  latencyMtlOverOrt: m.latencyMedianUs / o.latencyMedianUs,
  throughputMtlOverOrt: m.rowsPerSec / o.rowsPerSec,
  latencyMtlOverOrtRaw: m.latencyMedianUs / oraw.latencyMedianUs,
  throughputMtlOverOrtRaw: m.rowsPerSec / oraw.rowsPerSec,
};

console.log(`mtl-wasm inference bench, workload W1 — node ${process.version}, onnxruntime-web ${ort.env.versions?.web ?? "?"} (wasm EP, numThreads 1), artifact ${wasmPath}`);
console.log(`W1: tensor[64] → Dense 256 relu → Dense 256 relu → 3 × (Dense 64 relu → head): A softmax 10, B regression 1, C sigmoid 1; ONNX ${bytes.length} bytes`);
console.log(`agreement before timing: max |mtl − ort| over batches 1, 7, 128 and all outputs = ${maxDiff.toExponential(2)} (limit 1e-5)`);
console.log(`timed: await session.run({ tensor }) with a ready Float32Array input (no row encoding: W1 takes a raw tensor); ${ROUNDS} interleaved rounds;`);
console.log(`  batch 1: ${LAT_CALLS} calls per engine per round, each timed alone → median / p90 over ${ROUNDS * LAT_CALLS} calls;`);
console.log(`  batch 128: rows/s of a run of back-to-back calls (${contenders.map((c, i) => `${c.name} ${tpCalls[i]}`).join(", ")} calls per run) → median [min–max] of ${ROUNDS} runs.`);
console.log("  ort (raw) = InferenceSession.run with a prebuilt ort.Tensor, bypassing createSession's wrapper.\n");
const head = ["engine", "b=1 median µs", "b=1 p90 µs", "b=128 rows/s (median)", "[min – max]"];
console.log(`${head[0].padEnd(10)} ${head[1].padStart(14)} ${head[2].padStart(11)} ${head[3].padStart(22)}   ${head[4]}`);
console.log("-".repeat(88));
for (const x of rows) {
  console.log(`${x.engine.padEnd(10)} ${x.latencyMedianUs.toFixed(1).padStart(14)} ${x.latencyP90Us.toFixed(1).padStart(11)} ${Math.round(x.rowsPerSec).toLocaleString("en-US").padStart(22)}   [${Math.round(x.rowsPerSecMin).toLocaleString("en-US")} – ${Math.round(x.rowsPerSecMax).toLocaleString("en-US")}]`);
}
const mark = (ok: boolean) => (ok ? "met" : "NOT met");
console.log(`\nratios: batch-1 latency mtl/ort = ${ratios.latencyMtlOverOrt.toFixed(2)}× (target ≤ 0.5×: ${mark(ratios.latencyMtlOverOrt <= 0.5)}); batch-128 throughput mtl/ort = ${ratios.throughputMtlOverOrt.toFixed(2)}× (target ≥ 1.5×: ${mark(ratios.throughputMtlOverOrt >= 1.5)})`);
console.log(`        against ort (raw): latency ${ratios.latencyMtlOverOrtRaw.toFixed(2)}×, throughput ${ratios.throughputMtlOverOrtRaw.toFixed(2)}×`);

if (jsonFile) {
  writeFileSync(jsonFile, JSON.stringify({ date: new Date().toISOString(), node: process.version, artifact: wasmPath, workload: "W1", onnxBytes: bytes.length, maxAbsDiff: maxDiff, rounds: ROUNDS, latencyCallsPerRound: LAT_CALLS, engines: rows, ratios }, null, 2) + "\n");
  console.log(`wrote ${jsonFile}`);
}
