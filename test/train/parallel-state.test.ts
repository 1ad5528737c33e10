// Batch norm on data-parallel shards (src/train/shard-state.ts): each shard updates the running statistics from the
// step's starting state with its own rows, and the step's state is the shards' mean. Checked three ways: one step
// against a float64 reference computed here from the shards' rows; W threads (parallel.ts) against W shards on one
// thread (sharded.ts) bit for bit over whole trainings (parameters, moments and state), FAMO's second forward
// included; and --threads auto now shards a batch-norm model.
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
import { autoGradients } from "../../src/train/auto-threads.ts";
import { stateView } from "../../src/train/shard-state.ts";
import { BN_MOMENTUM } from "../../src/ops/batchnorm.ts";
import { nodeWorkerSpawner, TS_WORKER_ENTRY } from "../../src/train/node-workers.ts";
import { twoTaskData, twoTaskPre } from "./two-task.ts";

const module = await WebAssembly.compile(readFileSync(WASM_PATH));
const spawn = nodeWorkerSpawner(TS_WORKER_ENTRY);

/** Batch norm straight on the 4 inputs (standardization is the identity in twoTaskPre), then a dense layer with batch norm. */
function bnSpec(weighting: Record<string, unknown> | null = null, dropout = 0): ModelSpec {
  return validateSpec({
    inputs: { numeric: ["a", "b", "c", "d"] },
    architecture: { type: "hps", layers: [{ type: "batchnorm" }, { units: 8, dropout }, { type: "batchnorm" }] },
    tasks: [{ name: "bin", type: "binary", label: "y1" }, { name: "reg", type: "regression", label: "y2" }],
    training: { epochs: 2, batch_size: 50, optimizer: { type: "adam", lr: 0.01 }, ...(weighting ? { weighting } : {}) },
  });
}

async function model(spec: ModelSpec): Promise<Model> {
  const m = new Model(spec, twoTaskPre(spec), await loadKernels(module));
  m.initParams(3);
  return m;
}

const staticWeigh = (l: Float64Array, s: Float64Array) => (s.fill(1), l.reduce((a, b) => a + b, 0));

/** The first batch norm's running mean and variance [4] each (the state block: mean then var, in graph order). */
const firstBn = (m: Model) => {
  const rm = m.store.get("shared.0.bn_running_mean"), rv = m.store.get("shared.0.bn_running_var");
  return { mean: Float64Array.from(m.arena.f32(m.store.addr(rm), 4)), var: Float64Array.from(m.arena.f32(m.store.addr(rv), 4)) };
};

test("one step on W shards: running statistics = the mean of each shard's update (float64 reference)", async () => {
  const B = 50, data = twoTaskData(B), order = Uint32Array.from({ length: B }, (_, i) => i);
  for (const W of [2, 3]) {
    const shard = Math.ceil(B / W);
    // Reference: shard w's statistics over its own real rows [w·shard, min(B, (w + 1)·shard)); the padding rows of a
    // short last shard (W = 3: 16 rows of 17) count in no statistic.
    const mean = new Float64Array(4), variance = new Float64Array(4);
    for (let w = 0; w < W; w++) {
      for (let c = 0; c < 4; c++) {
        const xs: number[] = [];
        for (let r = 0; r < shard && w * shard + r < B; r++) xs.push(data.numeric[(w * shard + r) * 4 + c]);
        const mu = xs.reduce((a, b) => a + b, 0) / xs.length;
        const v = xs.reduce((a, b) => a + (b - mu) ** 2, 0) / (xs.length - 1);
        mean[c] += (BN_MOMENTUM * mu) / W; // from running mean 0
        variance[c] += ((1 - BN_MOMENTUM) * 1 + BN_MOMENTUM * v) / W; // from running variance 1
      }
    }
    for (const kind of ["sharded", "parallel"] as const) {
      const m = await model(bnSpec());
      const g: GradientSource & { close(): void } = kind === "sharded" ? shardedGradients(m, W) : await parallelGradients(m, data, { threads: W, spawn, module });
      try {
        g.begin?.();
        g.prepare?.(0.01, 1); // the workers apply the step's update after their backward
        g.compute(data, order, 0, B, staticWeigh);
      } finally {
        g.close();
      }
      const got = firstBn(m);
      for (let c = 0; c < 4; c++) {
        assert.ok(Math.abs(got.mean[c] - mean[c]) < 1e-6, `${kind} W=${W} running mean[${c}]: ${got.mean[c]} vs ${mean[c]}`);
        assert.ok(Math.abs(got.var[c] - variance[c]) < 1e-6, `${kind} W=${W} running var[${c}]: ${got.var[c]} vs ${variance[c]}`);
      }
    }
  }
});

function sameBits(a: Float32Array, b: Float32Array, what: string): void {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length), ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  let diff = 0, first = -1;
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) (diff++, first < 0 && (first = i));
  assert.is(diff, 0, `${what}: ${diff} of ${a.length} values differ (first at ${first}: ${a[first]} vs ${b[first]})`);
}

async function train(spec: ModelSpec, source: (m: Model) => Promise<GradientSource & { close(): void }>) {
  const m = await model(spec);
  const state0 = Float32Array.from(stateView(m));
  const g = await source(m);
  try {
    await fit(m, twoTaskData(237), null, { gradients: g });
  } finally {
    g.close();
  }
  const n = m.store.total, f = (ptr: number) => Float32Array.from(m.arena.f32(ptr, n));
  return { p: f(m.store.p), s1: f(m.store.s1), s2: f(m.store.s2), state: Float32Array.from(stateView(m)), state0 };
}

for (const [name, weighting, dropout] of [["static weights", null, 0], ["dropout 0.2, famo (a second forward per step)", { type: "famo" }, 0.2]] as const) {
  test(`batch norm, ${name}: W threads = W shards on one thread, bit for bit, state included (W = 2, 3)`, async () => {
    const spec = bnSpec(weighting, dropout);
    for (const W of [2, 3]) {
      const par = await train(spec, (m) => parallelGradients(m, twoTaskData(237), { threads: W, spawn, module }));
      const one = await train(spec, async (m) => shardedGradients(m, W));
      let moved = 0;
      for (let i = 0; i < par.state.length; i++) moved = Math.max(moved, Math.abs(par.state[i] - par.state0[i]));
      assert.ok(moved > 1e-2, `the running statistics did not move (${moved})`);
      sameBits(one.p, par.p, `W=${W} parameters and state`);
      sameBits(one.s1, par.s1, `W=${W} first moments`);
      sameBits(one.s2, par.s2, `W=${W} second moments`);
    }
  });
}

test("--threads auto shards a batch-norm model (2 threads on 2 cores)", async () => {
  const m = await model(bnSpec());
  const auto = await autoGradients(m, twoTaskData(100), { threads: 2, spawn, module });
  try {
    assert.is(auto.threads, 2);
  } finally {
    auto.close();
  }
});

test.run();
