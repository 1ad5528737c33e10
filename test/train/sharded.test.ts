// shardedGradients (one thread) reproduces parallelGradients (W threads) bit for bit: the same weights, the same
// optimizer state and the same dropout stream position after training, for W = 2 and 3, on the two-task fixture
// (masks uneven over the shards, a relation term, uncertainty weighting's own parameters, an uneven last batch of
// 37 rows: with 3 shards of 17 the last shard has 3 rows), with and without dropout, and for gradient methods in
// parameter mode, representation mode (float32 alpha sent to the shards), GradDrop's feature multipliers and
// FAMO's losses after the update.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { WASM_PATH } from "../helpers.ts";
import { loadKernels } from "../../src/runtime/load.ts";
import { validateSpec, type ModelSpec } from "../../src/model/spec.ts";
import { Model } from "../../src/model/model.ts";
import { fit, type GradientSource } from "../../src/train/trainer.ts";
import { parallelGradients } from "../../src/train/parallel.ts";
import { shardedGradients } from "../../src/train/sharded.ts";
import { nodeWorkerSpawner, TS_WORKER_ENTRY } from "../../src/train/node-workers.ts";
import { twoTaskData, twoTaskPre, twoTaskSpec } from "./two-task.ts";

const module = await WebAssembly.compile(readFileSync(WASM_PATH));
const enc = twoTaskData(237); // 4 batches of 50 + 37

function specWith(weighting: Record<string, unknown> | null, dropout: number): ModelSpec {
  const base = twoTaskSpec(2) as unknown as { architecture: Record<string, unknown>; training: Record<string, unknown> };
  return validateSpec({
    ...base,
    architecture: { ...base.architecture, ...(dropout ? { layers: [{ units: 12, dropout }] } : {}) },
    training: { ...base.training, ...(weighting ? { weighting } : {}) },
  });
}

/** Train from the same init with `source(model)`; the parameter, moment and gradient blocks and the stream position. */
async function run(spec: ModelSpec, source: (m: Model) => Promise<GradientSource & { close(): void }>) {
  const m = new Model(spec, twoTaskPre(spec), await loadKernels(module));
  m.initParams(9);
  const g = await source(m);
  try {
    await fit(m, enc, null, { gradients: g });
  } finally {
    g.close();
  }
  const n = m.store.total, f = (ptr: number) => Float32Array.from(m.arena.f32(ptr, n));
  return { p: f(m.store.p), s1: f(m.store.s1), s2: f(m.store.s2), counter: m.rng.counter, initial: (() => { const i = new Model(spec, twoTaskPre(spec), m.k); i.initParams(9); return i.snapshot(); })() };
}

function sameBits(a: Float32Array, b: Float32Array, what: string): void {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length), ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  let diff = 0, first = -1;
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) (diff++, first < 0 && (first = i));
  assert.is(diff, 0, `${what}: ${diff} of ${a.length} values differ (first at ${first}: ${a[first]} vs ${b[first]})`);
}

const CASES: [string, Record<string, unknown> | null, number][] = [
  ["uncertainty weighting", null, 0],
  ["uncertainty weighting, dropout 0.2", null, 0.2],
  ["pcgrad (parameter mode)", { type: "pcgrad" }, 0],
  ["mgda (representation mode), dropout 0.1", { type: "mgda", rep_grad: true }, 0.1],
  ["graddrop (feature multipliers)", { type: "graddrop" }, 0],
  ["famo (losses after the update)", { type: "famo" }, 0.1],
];

for (const [name, weighting, dropout] of CASES) {
  test(`${name}: one thread over W shards = W threads, bit for bit (W = 2, 3)`, async () => {
    const spec = specWith(weighting, dropout);
    for (const W of [2, 3]) {
      const par = await run(spec, (m) => parallelGradients(m, enc, { threads: W, spawn: nodeWorkerSpawner(TS_WORKER_ENTRY), module }));
      const one = await run(spec, async (m) => shardedGradients(m, W));
      let moved = 0;
      for (let i = 0; i < par.p.length; i++) moved = Math.max(moved, Math.abs(par.p[i] - par.initial[i]));
      assert.ok(moved > 1e-3, `training moved no weight (${moved})`);
      sameBits(one.p, par.p, `W=${W} parameters`);
      sameBits(one.s1, par.s1, `W=${W} first moments`);
      sameBits(one.s2, par.s2, `W=${W} second moments`);
      assert.is(one.counter, par.counter, `W=${W} dropout stream position`);
    }
  });
}

test("shards differ from one program at the whole batch (the test above can tell sources apart)", async () => {
  const spec = specWith(null, 0.2);
  const whole = await run(spec, async (m) => {
    const { localGradients } = await import("../../src/train/trainer.ts");
    return { ...localGradients(m, spec.training.batch_size), close() {} };
  });
  const two = await run(spec, async (m) => shardedGradients(m, 2));
  let diff = 0;
  for (let i = 0; i < whole.p.length; i++) if (whole.p[i] !== two.p[i]) diff++;
  assert.ok(diff > whole.p.length / 2, `only ${diff} of ${whole.p.length} weights differ between one program and 2 shards under dropout`);
});

test("bad shard counts are refused by name", async () => {
  const spec = specWith(null, 0);
  const m = new Model(spec, twoTaskPre(spec), await loadKernels(module));
  assert.throws(() => shardedGradients(m, 1), /shards must be an integer ≥ 2, got 1/);
  assert.throws(() => shardedGradients(m, 2.5), /got 2\.5/);
});

test.run();
