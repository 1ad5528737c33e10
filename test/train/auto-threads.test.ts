// --threads auto (src/train/auto-threads.ts): the chooser fed scripted step times (picks the faster mode, keeps
// one thread unless N threads win by the margin, re-probes and switches when the chosen mode's time changes),
// the adaptive source over fake sources and a fake clock (which source runs, begin() on every take-over),
// no parallel mode where canRunParallel() is false, and real runs that switch back and forth and still end at the
// one-thread weights to float tolerance (no dropout).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { WASM_PATH } from "../helpers.ts";
import { loadKernels } from "../../src/runtime/load.ts";
import { Model } from "../../src/model/model.ts";
import { fit, type GradientSource } from "../../src/train/trainer.ts";
import { adaptiveGradients, autoGradients, ThreadChooser, type AutoGradients, type ThreadMode } from "../../src/train/auto-threads.ts";
import { nodeWorkerSpawner, TS_WORKER_ENTRY } from "../../src/train/node-workers.ts";
import type { Encoded } from "../../src/data/preprocess.ts";
import { twoTaskData, twoTaskPre, twoTaskSpec } from "./two-task.ts";
import { mulberry32 } from "../../src/data/split.ts";

/** Feed `n` steps of `ms` each; returns the decisions made. */
function feed(c: ThreadChooser, n: number, ms: number | ((mode: ThreadMode) => number)) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const d = c.record(typeof ms === "number" ? ms : ms(c.mode));
    if (d) out.push(d);
  }
  return out;
}

const opts = { parallel: true, probeSteps: 4, warmupSteps: 1, checkEvery: 10, degrade: 1.5, recheckEvery: 0, margin: 0.05 };

test("chooser: probes one thread then N, picks the faster; ties and small wins stay on one thread", () => {
  for (const [single, parallel, want] of [[10, 6, "parallel"], [10, 12, "single"], [10, 9.8, "single"], [10, 9.4, "parallel"]] as const) {
    const c = new ThreadChooser(opts);
    const modes: ThreadMode[] = [];
    const ds = feed(c, 10, (m) => (modes.push(m), m === "single" ? single : parallel));
    assert.equal(modes, [...Array(5).fill("single"), ...Array(5).fill("parallel")], "warm-up + probe per mode, one thread first");
    assert.is(ds.length, 1);
    assert.equal(ds[0], { at: 10, mode: want, previous: null, reason: "start", single, parallel }, `${single} vs ${parallel}`);
    assert.is(c.mode, want);
    assert.is(c.reference, want === "single" ? single : parallel);
  }
  // The median, not the mean: one outlier (a GC pause) does not decide.
  const c = new ThreadChooser(opts);
  const script = [99, 10, 10, 500, 10, 99, 6, 6, 6, 6];
  const ds = feed(c, 10, () => script.shift()!);
  assert.is(ds[0].mode, "parallel");
  // Warm-up that lasts longer than warmupSteps (workers' first steps run unoptimised code): the probe goes on
  // until its last probeSteps times are steady, so the slow start does not decide; maxProbeSteps caps it.
  const w = new ThreadChooser({ ...opts, maxProbeSteps: 20 });
  const par = [30, 50, 0.4, 0.1, 20, 0.1, 0.06, 9, 0.2, 5, 0.05, 0.05, 0.06, 0.05, 0.05];
  const wd = feed(w, 5 + 1 + par.length, (m) => (m === "single" ? 0.1 : par.shift()!));
  assert.equal(wd.map((d) => [d.at, d.mode, d.parallel]), [[18, "parallel", 0.055]]);
  const cap = new ThreadChooser({ ...opts, maxProbeSteps: 20 });
  let k = 0;
  const cd = feed(cap, 5 + 1 + 20, (m) => (m === "single" ? 10 : k++ % 2 ? 1 : 30));
  assert.equal(cd.map((d) => [d.at, d.mode]), [[26, "single"]], "ends after maxProbeSteps timed steps; the median (15.5 ms) loses to 10 ms");
});

test("chooser: switches when the chosen mode degrades, and back when the other recovers; steady times never re-probe", () => {
  // The window-based re-probe alone (the guard, tested below, would fall back sooner).
  const c = new ThreadChooser({ ...opts, guardSteps: 0 });
  feed(c, 10, (m) => (m === "single" ? 10 : 6)); // → parallel at 6 ms
  assert.is(c.mode, "parallel");
  // Steady, and noise within the threshold: no probe for 200 steps.
  let i = 0;
  assert.equal(feed(c, 200, () => [6, 7, 8.9, 5][i++ % 4]), []);
  assert.is(c.mode, "parallel");
  assert.not.ok(c.probing);
  // A competing load: parallel slows to 3× (one thread only to 1.3×). At the next check it probes one thread…
  const loaded = (m: ThreadMode) => (m === "single" ? 13 : 18);
  let ds = feed(c, 10, loaded);
  assert.equal(ds, []);
  assert.is(c.mode, "single");
  assert.ok(c.probing);
  ds = feed(c, 5, loaded);
  assert.equal(ds, [{ at: 225, mode: "single", previous: "parallel", reason: "slower", single: 13, parallel: 18 }]);
  // Still loaded: stays on one thread.
  assert.equal(feed(c, 100, loaded), []);
  assert.is(c.mode, "single");
  // The load goes away: one thread gets faster than 13/1.5, so it re-probes N threads and switches back.
  ds = feed(c, 30, (m) => (m === "single" ? 8 : 5));
  assert.is(ds.length, 1);
  assert.equal(ds[0], { ...ds[0], mode: "parallel", previous: "single", reason: "faster", single: 8, parallel: 5 });
  assert.is(c.mode, "parallel");
  // A probe that confirms the current mode keeps it and takes the new time as its reference.
  ds = feed(c, 30, (m) => (m === "single" ? 20 : 9)); // parallel 1.8× slower, single slower still
  assert.is(ds.length, 1);
  assert.equal([ds[0].mode, ds[0].previous, ds[0].reason], ["parallel", "parallel", "slower"]);
  assert.is(c.reference, 9);
});

test("chooser: periodic re-check (recheckEvery), and no parallel mode at all when unavailable", () => {
  const c = new ThreadChooser({ ...opts, recheckEvery: 50 });
  feed(c, 10, (m) => (m === "single" ? 10 : 6));
  const ds = feed(c, 60, (m) => (m === "single" ? 10 : 6));
  assert.is(ds.length, 1);
  assert.equal([ds[0].mode, ds[0].reason], ["parallel", "recheck"]);
  // Re-checks that confirm the mode back off (50, 100, 200, …, 16× at most); a switch resets the interval.
  const b = new ThreadChooser({ ...opts, recheckEvery: 20 });
  feed(b, 10, (m) => (m === "single" ? 10 : 6));
  const at = feed(b, 3000, (m) => (m === "single" ? 10 : 6)).map((d) => d.at);
  const gaps = at.map((x, i) => x - (i ? at[i - 1] : 10));
  // Each gap: the run steps until the re-check (rounded up to a check) plus the 5-step probe of the other mode.
  assert.equal(gaps.slice(0, 6), [25, 45, 85, 165, 325, 325]);
  const off = new ThreadChooser({ ...opts, parallel: false });
  for (let i = 0; i < 500; i++) {
    assert.is(off.mode, "single");
    assert.is(off.record(i % 7 === 0 ? 1000 : 1), null);
  }
  assert.equal(off.decisions, []);
});

test("chooser guard: N threads slower than one thread's time fall back within guardSteps, and quick failures back off", () => {
  const c = new ThreadChooser({ ...opts, guardSteps: 8, recheckEvery: 100 });
  feed(c, 10, (m) => (m === "single" ? 10 : 6)); // → parallel at 6 ms (single measured 10)
  assert.is(c.mode, "parallel");
  // A load makes N threads 3× slower than one thread: the guard falls back after 8 steps, no probe.
  let ds = feed(c, 8, (m) => (m === "single" ? 13 : 18));
  assert.equal(ds, [{ at: 18, mode: "single", previous: "parallel", reason: "guard", single: 10, parallel: 18 }]);
  assert.is(c.mode, "single");
  assert.not.ok(c.probing);
  // Blocked (a quick failure: 100·2¹ steps): one thread getting faster does not re-probe N threads yet…
  ds = feed(c, 150, (m) => (m === "single" ? 5 : 3));
  assert.equal(ds, []);
  assert.is(c.mode, "single");
  // …after the block it does, and N threads win again.
  ds = feed(c, 100, (m) => (m === "single" ? 5 : 3));
  assert.is(ds.length, 1);
  assert.equal([ds[0].mode, ds[0].reason], ["parallel", "recheck"]);
  // Noise below one thread's time never trips the guard.
  let i = 0;
  const noisy = feed(c, 200, (m) => (m === "single" ? 5 : [3, 4, 4.7, 2.5][i++ % 4]));
  assert.ok(noisy.every((d) => d.mode === "parallel" && d.reason === "recheck"), JSON.stringify(noisy));
  assert.is(c.mode, "parallel");
});

/**
 * Seeded step-time traces of one thread vs N threads under loads (the machine's other work), per step: the total time
 * of --threads auto must stay within 5 % of the better fixed choice on every trace, and within 1 % of N threads when
 * idle. Before the guard, bursty and fast-alternating loads made auto 12–34 % slower than one thread.
 */
test("chooser under simulated loads: never more than 5 % slower than the better fixed choice", () => {
  for (const seed of [5, 6, 7]) {
    const r = mulberry32(seed), u = () => r() / 4294967296;
    const a = Array.from({ length: 6000 }, u), b = Array.from({ length: 6000 }, u);
    const traces: [string, (step: number, mode: ThreadMode) => number][] = [
      ["idle", (t, m) => (m === "single" ? 1 : 0.6) * (1 + 0.05 * a[t])],
      ["heavy steady", (t, m) => (m === "single" ? 1.6 : 3.5) * (1 + 0.2 * a[t])],
      ["heavy, per-step fluctuation", (t, m) => (m === "single" ? 1 + 1.5 * a[t] : 1 + 6 * b[t])],
      ["load in phases of 300 steps", (t, m) => ((Math.floor(t / 300) % 2 ? (m === "single" ? 1.5 : 4) : m === "single" ? 1 : 0.6) * (1 + 0.2 * b[t]))],
      ["load in phases of 50 steps", (t, m) => ((Math.floor(t / 50) % 2 ? (m === "single" ? 1.5 : 4) : m === "single" ? 1 : 0.6) * (1 + 0.2 * b[t]))],
      ["random 10-step bursts", (t, m) => (a[Math.floor(t / 10)] < 0.5 ? (m === "single" ? 1.8 : 5 * (1 + 0.2 * b[t])) : m === "single" ? 1 : 0.6)],
      ["both modes 2× slower after step 1000", (t, m) => (m === "single" ? (t < 1000 ? 1 : 2.5) : t < 1000 ? 0.6 : 1.1) * (1 + 0.05 * a[t])],
    ];
    for (const [name, cost] of traces) {
      const c = new ThreadChooser({ parallel: true });
      let auto = 0, single = 0, parallel = 0;
      for (let t = 0; t < 6000; t++) {
        const ms = cost(t, c.mode);
        auto += ms;
        c.record(ms);
        single += cost(t, "single");
        parallel += cost(t, "parallel");
      }
      const best = Math.min(single, parallel);
      assert.ok(auto <= 1.05 * best, `seed ${seed}, ${name}: auto ${auto.toFixed(0)} vs one thread ${single.toFixed(0)}, N threads ${parallel.toFixed(0)} (${(auto / best).toFixed(3)}× the better)`);
      if (name === "idle") assert.ok(auto <= 1.01 * parallel, `idle: auto ${(auto / parallel).toFixed(3)}× N threads`);
    }
  }
});

/** A fake gradient source: each compute advances the fake clock by its cost. */
function fakeSource(name: string, clock: { t: number }, cost: () => number, log: string[]): GradientSource & { threads: number; close(): void } {
  return {
    batch: 8,
    threads: 2,
    losses: Float64Array.of(name === "single" ? 1 : 2),
    scales: new Float64Array(1),
    relations: new Float64Array(0),
    compute() {
      log.push(name);
      clock.t += cost();
      return 0;
    },
    prepare: (lr, step) => void log.push(`${name}.prepare(${lr},${step})`),
    begin: () => void log.push(`${name}.begin`),
    close: () => void log.push(`${name}.close`),
  };
}

test("adaptive source: runs the chosen source, begin() on each take-over, forwards prepare, copies losses", () => {
  const clock = { t: 0 }, log: string[] = [];
  let pCost = 6;
  const single = fakeSource("single", clock, () => 10, log), par = fakeSource("parallel", clock, () => pCost, log);
  const decisions: string[] = [];
  const auto = adaptiveGradients(single, par, { ...opts, now: () => clock.t, onDecision: (d) => void decisions.push(`${d.mode}:${d.reason}`) });
  const d = { rows: 100 } as Encoded, weigh = () => 0;
  auto.begin!();
  const ran: string[] = [];
  for (let s = 1; s <= 40; s++) {
    if (s === 21) pCost = 30; // parallel degrades
    auto.prepare!(0.1, s);
    auto.compute(d, [], 0, 8, weigh);
    ran.push(log.filter((l) => l === "single" || l === "parallel").at(-1)!);
    assert.is(auto.losses[0], ran.at(-1) === "single" ? 1 : 2);
  }
  assert.equal(ran.slice(0, 10), [...Array(5).fill("single"), ...Array(5).fill("parallel")]);
  assert.equal(decisions, ["parallel:start", "single:guard"]);
  assert.is(auto.mode, "single");
  // begin() exactly when a source takes over: single at the start, parallel after its probe began, single again.
  assert.equal(log.filter((l) => l.endsWith(".begin")), ["single.begin", "parallel.begin", "single.begin"]);
  // prepare goes to the source that computes the step, before it.
  const i = log.indexOf("parallel");
  assert.is(log[i - 1], "parallel.prepare(0.1,6)");
  // A short batch is not timed; a gradient stage (combine) runs on the chosen source (here: single).
  const before = auto.chooser.decisions.length;
  auto.compute(d, [], 0, 3, weigh);
  auto.compute(d, [], 0, 8, weigh, () => {});
  assert.is(log.filter((l) => l === "single" || l === "parallel").at(-1), "single");
  assert.is(auto.chooser.decisions.length, before);
  // fit restarting (begin) makes the next source resync.
  auto.begin!();
  auto.compute(d, [], 0, 8, weigh);
  assert.equal(log.slice(-3), ["single.begin", "single.prepare(0.1,40)", "single"]);
  auto.close();
  // Both sources are released (the one-thread mode holds shard programs' buffers: sharded.ts).
  assert.equal(log.slice(-2), ["parallel.close", "single.close"]);
});

// ---- real runs -------------------------------------------------------------------------------------------------

const module = await WebAssembly.compile(readFileSync(WASM_PATH));
const spec = twoTaskSpec(8);
const pre = twoTaskPre(spec);
const data = twoTaskData;

async function model(): Promise<Model> {
  const m = new Model(spec, pre, await loadKernels(module));
  m.initParams(9);
  return m;
}

function assertSameWeights(a: Float32Array, b: Float32Array, what: string): void {
  let worst = 0, scale = 0;
  for (let i = 0; i < a.length; i++) (worst = Math.max(worst, Math.abs(a[i] - b[i]))), (scale = Math.max(scale, Math.abs(a[i])));
  console.log(`  ${what}: max |single − auto| ${worst.toExponential(2)}, largest weight ${scale.toFixed(3)}`);
  assert.ok(worst <= 1e-4 * scale, `${what}: max |single − auto| = ${worst} (largest weight ${scale})`);
}

const enc = data(437); // 9 steps per epoch (8 full), 72 over 8 epochs
const single = await model();
await fit(single, enc, null);
const want = single.snapshot();

test("real run: auto switching one thread ↔ two threads several times ends at the one-thread weights (no dropout)", async () => {
  // A scripted clock: two threads are fast for the first 30 steps, then slow (a competing load), then fast again.
  let auto: AutoGradients | null = null, calls = 0, t = 0, computes = 0;
  const cost = (mode: ThreadMode) => (mode === "single" ? 10 : computes < 30 || computes > 50 ? 5 : 40);
  const now = () => {
    if (++calls % 2 === 0) (t += cost(auto!.mode)), computes++;
    return t;
  };
  const m = await model();
  auto = await autoGradients(m, enc, { threads: 2, spawn: nodeWorkerSpawner(TS_WORKER_ENTRY), module, now, probeSteps: 3, warmupSteps: 1, checkEvery: 6, recheckEvery: 12 });
  try {
    assert.is(auto.threads, 2);
    await fit(m, enc, null, { gradients: auto });
  } finally {
    auto.close();
  }
  const path = auto.decisions.map((d) => `${d.mode}@${d.at}`);
  console.log(`  decisions: ${path.join(" → ")}`);
  assert.is(auto.decisions[0].mode, "parallel");
  assert.ok(auto.decisions.some((d) => d.mode === "single" && d.previous === "parallel"), path.join(", "));
  assert.ok(auto.decisions.some((d) => d.mode === "parallel" && d.previous === "single"), path.join(", "));
  assertSameWeights(want, m.snapshot(), "scripted switches");
});

test("real run: auto with the real clock ends at the one-thread weights; no workers when canRunParallel() is false", async () => {
  const m = await model();
  const auto = await autoGradients(m, enc, { threads: 2, spawn: nodeWorkerSpawner(TS_WORKER_ENTRY), module });
  try {
    await fit(m, enc, null, { gradients: auto });
  } finally {
    auto.close();
  }
  console.log(`  real clock: ${auto.decisions.map((d) => `${d.mode} (1 thread ${d.single.toFixed(3)} ms, 2 threads ${d.parallel.toFixed(3)} ms)`).join(" → ")}`);
  assertSameWeights(want, m.snapshot(), "real clock");
  // No SharedArrayBuffer: canRunParallel() is false, so no worker is spawned and every step runs on this thread.
  const sab = Object.getOwnPropertyDescriptor(globalThis, "SharedArrayBuffer")!;
  delete (globalThis as { SharedArrayBuffer?: unknown }).SharedArrayBuffer;
  let spawned = 0;
  try {
    const m2 = await model();
    const off = await autoGradients(m2, enc, { threads: 4, spawn: () => (spawned++, nodeWorkerSpawner(TS_WORKER_ENTRY)()), module, probeSteps: 1, warmupSteps: 0, checkEvery: 1 });
    assert.is(off.threads, 1);
    await fit(m2, enc, null, { gradients: off, epochs: 2 });
    assert.is(off.mode, "single");
    assert.equal(off.decisions, []);
    off.close();
  } finally {
    Object.defineProperty(globalThis, "SharedArrayBuffer", sab);
  }
  assert.is(spawned, 0);
});

test.run();
