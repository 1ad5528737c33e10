// W2's training step (bench/w2.ts: 1×28×28 → Conv 32 → MaxPool → Conv 64 → MaxPool → Dense 128 → 2 heads, batch 64),
// one thread, split by kernel call: every kernel the compiled program calls is wrapped in a timer, and each call is
// labelled by kernel name and its layer (conv/pool: the params struct's dims; dense: m×k×n; others: first argument).
// The step is run exactly as bench:train's --profile runs W1's (feed, forward, weighting, backward, one Adam pass).
//
//   node --import tsx bench/w2-profile.ts [--steps N]
//
// Times are CPU time of this process (process.cpuUsage around each call: ~1 µs per call against kernels of 0.01–10 ms),
// so other jobs on the machine do not inflate them; the step is also given in wall time, and the load shows as the gap
// between the two. MTL_WASM=path overrides the artifact (default build/mtl.wasm).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { loadKernels, type Kernels, type KernelFn } from "../src/runtime/load.ts";
import { Model } from "../src/model/model.ts";
import { createWeighting } from "../src/train/weighting/index.ts";
import { w2Spec, w2Pre, W2_SEED, W2_BATCH, W2_ROWS, w2Data } from "./w2.ts";

const args = process.argv.slice(2);
const at = args.indexOf("--steps");
const STEPS = at >= 0 ? Number(args[at + 1]) : 160;
if (!(STEPS > 0)) throw new Error(`--steps must be a positive number, got ${args[at + 1]}`);

const wasmPath = process.env.MTL_WASM ?? fileURLToPath(new URL("../build/mtl.wasm", import.meta.url));
const raw = await loadKernels(readFileSync(wasmPath));

/** Label of one kernel call: name and layer. */
function label(name: string, a: number[]): string {
  const i32 = new Int32Array(raw.memory.buffer);
  if (name.startsWith("conv2d_")) {
    const p = a[0] >> 2, [n, ci, h, w, co, kh, kw] = i32.subarray(p, p + 7);
    return `${name} ${n}×${ci}×${h}×${w}→${co} ${kh}×${kw}`;
  }
  if (name.startsWith("maxpool2d_") || name.startsWith("avgpool2d_")) {
    const p = a[0] >> 2, [n, c, h, w, kh, kw] = i32.subarray(p, p + 6);
    return `${name} ${n}×${c}×${h}×${w} ${kh}×${kw}`;
  }
  if (name.startsWith("dense_")) return `${name} ${a[0]}×${a[1]}×${a[2]}`;
  return `${name} (${a[0]})`;
}

/** CPU milliseconds this process has used (user + system). */
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e3;
};

const acc = new Map<string, { ms: number; calls: number; phase: string }>();
let phase = "forward";
let timing = false;
const wrapped: Record<string, unknown> = Object.create(null);
for (const [name, f] of Object.entries(raw)) {
  if (typeof f !== "function" || name === "heap_base" || name === "abi_version") { wrapped[name] = f; continue; }
  const g = f as KernelFn;
  wrapped[name] = (...a: number[]) => {
    if (!timing) return g(...a);
    const t0 = cpuMs();
    const r = g(...a);
    const dt = cpuMs() - t0;
    const key = `${phase}\t${label(name, a)}`;
    const e = acc.get(key);
    if (e) (e.ms += dt), e.calls++;
    else acc.set(key, { ms: dt, calls: 1, phase });
    return r;
  };
}
const k = wrapped as unknown as Kernels;

const data = w2Data(W2_ROWS);
const model = new Model(w2Spec, w2Pre, k);
model.initParams(W2_SEED);
const built = model.program(W2_BATCH, true);
const { io, program } = built;
const store = model.store, op = w2Spec.training.optimizer, n = store.total;
if (op.type !== "adam") throw new Error("W2 trains with Adam");
const weighting = createWeighting(model);
const adam = k.adam_step_f32x4 as KernelFn;
const order = Int32Array.from({ length: W2_ROWS }, (_, i) => i);
const perEpoch = W2_ROWS / W2_BATCH;
let step = 0;
const phaseMs = { feed: 0, forward: 0, weighting: 0, backward: 0, optimizer: 0 };
const run = (steps: number) => {
  for (let s = 0; s < steps; s++) {
    const t0 = cpuMs();
    phase = "feed";
    model.feed(built, data, order, (step % perEpoch) * W2_BATCH, W2_BATCH);
    const t1 = cpuMs();
    phase = "forward";
    for (const f of program.forward) f();
    const t2 = cpuMs();
    phase = "weighting";
    weighting.step(io.losses, io.scales);
    const t3 = cpuMs();
    phase = "backward";
    for (const f of program.backward) f();
    const t4 = cpuMs();
    step++;
    phase = "optimizer";
    adam(n, store.g, store.p, store.s1, store.s2, op.lr, op.beta1, op.beta2, op.eps, op.weight_decay, step, 0);
    const t5 = cpuMs();
    if (timing) (phaseMs.feed += t1 - t0), (phaseMs.forward += t2 - t1), (phaseMs.weighting += t3 - t2), (phaseMs.backward += t4 - t3), (phaseMs.optimizer += t5 - t4);
  }
};
run(2 * perEpoch); // warm-up: V8 tiers the wasm up
timing = true;
const c0 = cpuMs(), w0 = performance.now();
run(STEPS);
const wallMs = (performance.now() - w0) / STEPS, stepCpu = (cpuMs() - c0) / STEPS;

console.log(`W2 training step by kernel call, mtl one thread, batch ${W2_BATCH}, mean over ${STEPS} steps after ${2 * perEpoch} warm-up; artifact ${wasmPath}`);
console.log(`step: ${stepCpu.toFixed(3)} ms CPU (${Math.round((W2_BATCH * 1e3) / stepCpu).toLocaleString("en-US")} samples/s of CPU time), ${wallMs.toFixed(3)} ms wall; ${n.toLocaleString("en-US")} parameters`);
const rows = [...acc.entries()].map(([key, e]) => ({ what: key.split("\t")[1], phase: e.phase, ms: e.ms / STEPS, calls: e.calls / STEPS }));
rows.sort((a, b) => b.ms - a.ms);
console.log(`${"phase".padEnd(10)} ${"kernel call".padEnd(54)} ${"ms/step".padStart(8)} ${"%".padStart(6)} ${"calls".padStart(6)}`);
for (const r of rows) console.log(`${r.phase.padEnd(10)} ${r.what.padEnd(54)} ${r.ms.toFixed(3).padStart(8)} ${((100 * r.ms) / stepCpu).toFixed(1).padStart(6)} ${r.calls.toFixed(0).padStart(6)}`);
const kernelMs = rows.reduce((s, r) => s + r.ms, 0);
console.log(`${"".padEnd(10)} ${"(all kernel calls)".padEnd(54)} ${kernelMs.toFixed(3).padStart(8)} ${((100 * kernelMs) / stepCpu).toFixed(1).padStart(6)}`);
console.log("by phase (CPU ms/step): " + Object.entries(phaseMs).map(([p, ms]) => `${p} ${(ms / STEPS).toFixed(3)}`).join(", "));
