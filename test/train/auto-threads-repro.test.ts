// --threads auto never changes the numbers: its one-thread mode is the N-thread step computed shard by shard
// (sharded.ts), so a run that moves between one and N threads — here forced by a clock whose step times favour each
// mode in turn — ends with exactly the weights, optimizer moments and dropout stream position of a fixed N-thread
// run, for a loss-weighting and a gradient method, with dropout, and when resumed after an epoch under another
// schedule of switches.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { WASM_PATH } from "../helpers.ts";
import { loadKernels } from "../../src/runtime/load.ts";
import { validateSpec, type ModelSpec } from "../../src/model/spec.ts";
import { Model } from "../../src/model/model.ts";
import { fit, type TrainState } from "../../src/train/trainer.ts";
import { parallelGradients } from "../../src/train/parallel.ts";
import { autoGradients, autoThreadCount, type AutoGradients } from "../../src/train/auto-threads.ts";
import { nodeWorkerSpawner, TS_WORKER_ENTRY } from "../../src/train/node-workers.ts";
import { twoTaskData, twoTaskPre, twoTaskSpec } from "./two-task.ts";

const module = await WebAssembly.compile(readFileSync(WASM_PATH));
const spawn = nodeWorkerSpawner(TS_WORKER_ENTRY);
const enc = twoTaskData(1037); // 20 full batches of 50 + 37 per epoch

function spec(weighting: Record<string, unknown> | null, epochs: number): ModelSpec {
  const base = twoTaskSpec(epochs) as unknown as { architecture: Record<string, unknown>; training: Record<string, unknown> };
  return validateSpec({ ...base, architecture: { ...base.architecture, layers: [{ units: 12, dropout: 0.2 }] }, training: { ...base.training, ...(weighting ? { weighting } : {}) } });
}

/**
 * A clock for autoGradients: each step takes 2 ms on one thread and, on N threads, 1 ms or 5 ms in phases of
 * `phase` steps, so the chooser keeps moving between the modes. Counts the steps each mode ran.
 */
function fakeClock(phase: number) {
  let t = 0, calls = 0;
  const ran = { single: 0, parallel: 0, transitions: 0 };
  let last = "", g: AutoGradients | null = null;
  return {
    ran,
    attach: (x: AutoGradients) => (g = x),
    now: () => {
      // compute() reads the clock before and after the step: advance on the second read.
      if (calls++ % 2 === 1) {
        const mode = g!.mode;
        ran[mode]++;
        if (last && mode !== last) ran.transitions++;
        last = mode;
        t += mode === "single" ? 2 : Math.floor(calls / 2 / phase) % 2 === 0 ? 1 : 5;
      }
      return t;
    },
  };
}

function blocks(m: Model) {
  const n = m.store.total, f = (ptr: number) => Float32Array.from(m.arena.f32(ptr, n));
  return { p: f(m.store.p), s1: f(m.store.s1), s2: f(m.store.s2), counter: m.rng.counter };
}

function sameBits(a: Float32Array, b: Float32Array, what: string): void {
  let diff = 0;
  for (let i = 0; i < a.length; i++) if (Object.is(a[i], b[i]) === false) diff++;
  assert.is(diff, 0, `${what}: ${diff} of ${a.length} values differ`);
}

const OPTS = { probeSteps: 3, warmupSteps: 1, maxProbeSteps: 6, checkEvery: 6, recheckEvery: 12, guardSteps: 4 };

for (const [name, weighting] of [["uncertainty weighting", null], ["pcgrad", { type: "pcgrad" }]] as const) {
  test(`${name}, dropout: auto switching between 1 and 2 threads = 2 threads, bit for bit; and after a resume`, async () => {
    const s = spec(weighting, 3);
    const pre = twoTaskPre(s);
    const fixed = new Model(s, pre, await loadKernels(module));
    fixed.initParams(5);
    const par = await parallelGradients(fixed, enc, { threads: 2, spawn, module });
    try {
      await fit(fixed, enc, null, { gradients: par });
    } finally {
      par.close();
    }
    const want = blocks(fixed);

    // Uninterrupted auto run.
    const m = new Model(s, pre, await loadKernels(module));
    m.initParams(5);
    const clock = fakeClock(15);
    const auto = await autoGradients(m, enc, { threads: 2, spawn, module, now: clock.now, ...OPTS });
    clock.attach(auto);
    try {
      await fit(m, enc, null, { gradients: auto });
    } finally {
      auto.close();
    }
    assert.ok(clock.ran.single > 10 && clock.ran.parallel > 10, `both modes must run: ${JSON.stringify(clock.ran)}`);
    assert.ok(clock.ran.transitions >= 4, `the clock must move the run between the modes: ${JSON.stringify(clock.ran)}`);
    const got = blocks(m);
    sameBits(got.p, want.p, "parameters");
    sameBits(got.s1, want.s1, "first moments");
    sameBits(got.s2, want.s2, "second moments");
    assert.is(got.counter, want.counter, "dropout stream position");

    // Epoch 1 under one schedule, then resumed for epochs 2–3 under another (a new model from the epoch-1 state).
    const a = new Model(s, pre, await loadKernels(module));
    a.initParams(5);
    let saved: { state: TrainState; p: Float32Array; s1: Float32Array; s2: Float32Array } | null = null;
    const c1 = fakeClock(7);
    const g1 = await autoGradients(a, enc, { threads: 2, spawn, module, now: c1.now, ...OPTS });
    c1.attach(g1);
    try {
      await fit(a, enc, null, { gradients: g1, epochs: 1, afterEpoch: (st) => void (saved = { state: st, ...blocks(a) }) });
    } finally {
      g1.close();
    }
    const b = new Model(s, pre, await loadKernels(module));
    const n = b.store.total;
    b.arena.f32(b.store.p, n).set(saved!.p);
    b.arena.f32(b.store.s1, n).set(saved!.s1);
    b.arena.f32(b.store.s2, n).set(saved!.s2);
    const c2 = fakeClock(4);
    const g2 = await autoGradients(b, enc, { threads: 2, spawn, module, now: c2.now, ...OPTS });
    c2.attach(g2);
    try {
      await fit(b, enc, null, { gradients: g2, resume: saved!.state });
    } finally {
      g2.close();
    }
    const r = blocks(b);
    sameBits(r.p, want.p, "resumed parameters");
    sameBits(r.s1, want.s1, "resumed first moments");
    assert.is(r.counter, want.counter, "resumed dropout stream position");
  });
}

test("autoThreadCount: min(cores, 8, ⌊batch / 16⌋), one thread with the reason otherwise", () => {
  const s = (batch: number, affinity = false) => validateSpec({ ...twoTaskSpec(1), training: { ...twoTaskSpec(1).training, batch_size: batch, affinity: affinity ? { every: 1 } : null } });
  assert.equal(autoThreadCount(s(256), 2), { threads: 2, reason: "2 cores" });
  assert.is(autoThreadCount(s(256), 64).threads, 8);
  assert.is(autoThreadCount(s(50), 64).threads, 3);
  assert.is(autoThreadCount(s(48), 4).threads, 3);
  assert.match(autoThreadCount(s(20), 4).reason, /batch of 20 rows is too small/);
  assert.match(autoThreadCount(s(256), 1).reason, /1 core available/);
  assert.match(autoThreadCount(s(256, true), 4).reason, /training.affinity/);
  for (const [b, c] of [[20, 4], [256, 1]] as const) assert.is(autoThreadCount(s(b), c).threads, 1);
});

test.run();
