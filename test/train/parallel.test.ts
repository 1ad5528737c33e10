// Data-parallel training: two threads give the single-thread result to float tolerance (same init, no
// dropout), with masks, a relation term and an uneven last batch.
//
// The strict checks (an oracle for any rewrite of the model core):
//  - one step's gradient block: the same batch through localGradients on one model and through parallelGradients
//    with 2 and with 3 threads on models with identical weights must give the same gradient, per parameter tensor
//    (max |Δg| ≤ GRAD_RTOL·max|g| over the tensor, element-wise |Δg_i| ≤ GRAD_ATOL·max|g| + GRAD_RTOL·|g_i|), the same losses,
//    loss scales, relation values and objective. Shards are split unevenly (50 → 25+25 / 17+17+16; 37 → 25+12 /
//    17+17+3), masks are deliberately uneven over the shards (shard 2 of 3 has no regression label in the partial
//    batch), with a categorical input (embeddings), layer norm, a relation and uncertainty weighting.
//  - SGD without momentum for 2 epochs with 1, 2 and 3 threads: the weights agree per tensor (WEIGHT_RTOL). With
//    plain SGD a wrong gradient scale lands in the weights as is; Adam would normalise it away.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { Rng, WASM_PATH } from "../helpers.ts";
import { loadKernels } from "../../src/runtime/load.ts";
import { validateSpec } from "../../src/model/spec.ts";
import { Model } from "../../src/model/model.ts";
import { fit, localGradients } from "../../src/train/trainer.ts";
import { createWeighting } from "../../src/train/weighting/index.ts";
import { parallelGradients } from "../../src/train/parallel.ts";
import { nodeWorkerSpawner, TS_WORKER_ENTRY } from "../../src/train/node-workers.ts";
import type { Encoded, Preprocessing } from "../../src/data/preprocess.ts";
import { twoTaskData, twoTaskPre, twoTaskSpec } from "./two-task.ts";

const module = await WebAssembly.compile(readFileSync(WASM_PATH));

const spec = twoTaskSpec(2);
const pre = twoTaskPre(spec);
const data = twoTaskData;

test("two threads train to the same weights as one (float tolerance)", async () => {
  const enc = data(437); // 437 = 8 batches of 50 + 37: the last batch is uneven across shards
  const single = new Model(spec, pre, await loadKernels(module));
  single.initParams(9);
  await fit(single, enc, null);
  const par = new Model(spec, pre, await loadKernels(module));
  par.initParams(9);
  const gradients = await parallelGradients(par, enc, { threads: 2, spawn: nodeWorkerSpawner(TS_WORKER_ENTRY), module });
  try {
    const r = await fit(par, enc, null, { gradients });
    assert.ok(r.history[1].trainLoss.bin < r.history[0].trainLoss.bin);
  } finally {
    gradients.close();
  }
  const a = single.snapshot(), b = par.snapshot();
  let worst = 0, scale = 0;
  for (let i = 0; i < a.length; i++) {
    worst = Math.max(worst, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(a[i]));
  }
  console.log(`  max abs diff ${worst.toExponential(2)}, largest weight ${scale.toFixed(3)}`);
  assert.ok(worst <= 1e-4 * scale, `max |single − parallel| = ${worst} (largest weight ${scale})`);
  assert.ok(worst > 0 || a.length > 0);
});

// ---- strict: one step's gradient block, and SGD weights over 1, 2 and 3 threads ------------------------------

/**
 * Per parameter tensor (largest reference magnitude `max|a|` over the tensor): max |Δ| ≤ RTOL·max|a|, and element-wise
 * |Δ_i| ≤ ATOL·max|a| + RTOL·|a_i|, so small elements must agree relatively too (measured: ≲ 4e-7 and ≲ 6e-7).
 */
const GRAD_RTOL = 1e-5, GRAD_ATOL = 1e-6;
const WEIGHT_RTOL = 1e-5, WEIGHT_ATOL = 1e-6;
const B = 50;

const strictSpec = validateSpec({
  name: "parallel-strict",
  inputs: { numeric: ["a", "b", "c", "d"], categorical: [{ column: "k", dim: 3 }] },
  architecture: { type: "mmoe", experts: 2, layers: [{ units: 12, activation: "relu", layernorm: true }] },
  tasks: [
    { name: "bin", type: "binary", label: "y1", tower: [{ units: 6, activation: "tanh" }] },
    { name: "reg", type: "regression", label: "y2" },
  ],
  training: {
    epochs: 2,
    batch_size: B,
    seed: 5,
    optimizer: { type: "sgd", lr: 0.1 },
    relations: [{ tasks: ["bin", "reg"], lambda: 0.1 }],
    weighting: { type: "uncertainty" },
  },
});
const strictPre: Preprocessing = {
  numeric: strictSpec.inputs.numeric.map((column) => ({ column, mean: 0, std: 1 })),
  categorical: [{ column: "k", vocab: ["p", "q", "r", "s"] }],
  tasks: strictSpec.tasks.map((t) => ({ name: t.name, classes: null, groups: null, target: null })),
};

/** 437 rows (8 batches of 50 + 37) with a categorical column (0 = unknown, 1..4) that moves both labels. */
function strictData(n: number, seed: number): Encoded {
  const rng = new Rng(seed);
  const x = rng.f32(n * 4, () => rng.normal());
  const k = Int32Array.from({ length: n }, () => rng.int(5));
  const effect = [0, 0.8, -0.6, 0.3, -1.1];
  const y1 = new Float32Array(n), y2 = new Float32Array(n), m1 = new Float32Array(n), m2 = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    y1[i] = x[i * 4] + x[i * 4 + 1] + effect[k[i]] > 0 ? 1 : 0;
    y2[i] = x[i * 4 + 2] - 0.5 * x[i * 4 + 3] + effect[k[i]];
    m1[i] = rng.next() < 0.8 ? 1 : 0;
    m2[i] = rng.next() < 0.6 ? 1 : 0;
  }
  return { rows: n, numeric: x, categorical: [k], tensor: new Float32Array(0), tasks: [{ labels: y1, mask: m1, group: new Int32Array(0) }, { labels: y2, mask: m2, group: new Int32Array(0) }] };
}

/** The batch order for the one-step checks, and masks made uneven over the shards along it. */
function strictBatches(d: Encoded): { order: Uint32Array; batches: { start: number; count: number }[] } {
  const rng = new Rng(77);
  const order = Uint32Array.from({ length: d.rows }, (_, i) => i);
  for (let i = d.rows - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const [bin, reg] = d.tasks.map((t) => t.mask);
  // Full batch [0, 50): "bin" fully labelled on the first 17 rows, sparse (30 %) from row 25 on.
  for (let r = 0; r < 17; r++) bin[order[r]] = 1;
  for (let r = 25; r < 50; r++) bin[order[r]] = rng.next() < 0.3 ? 1 : 0;
  // Partial batch [400, 437): no "reg" label in its rows 34..36 (shard 2 of 3 has none), every one in rows 0..16.
  for (let r = 400; r < 417; r++) reg[order[r]] = 1;
  for (let r = 434; r < 437; r++) reg[order[r]] = 0;
  return { order, batches: [{ start: 0, count: B }, { start: 400, count: 37 }] };
}

interface Step {
  g: Float32Array;
  obj: number;
  losses: number[];
  scales: number[];
  relations: number[];
}

async function stepModel(): Promise<Model> {
  const m = new Model(strictSpec, strictPre, await loadKernels(module));
  m.initParams(21);
  return m;
}

/** One step's gradient: NaN-fill the block first, so a gradient element nobody writes cannot pass unnoticed. */
function oneStep(model: Model, source: ReturnType<typeof localGradients>, d: Encoded, order: Uint32Array, start: number, count: number): Step {
  model.arena.f32(model.store.g, model.store.total).fill(NaN);
  const weighting = createWeighting(model);
  const obj = source.compute(d, order, start, count, (l, s) => weighting.step(l, s));
  return { g: model.arena.readF32(model.store.g, model.store.total), obj, losses: Array.from(source.losses), scales: Array.from(source.scales), relations: Array.from(source.relations) };
}

/** Per-tensor closeness; returns the worst relative difference (max |Δ| / max |a| over tensors). */
type Param = Model["store"]["params"][number];

function assertClose(what: string, params: readonly Param[], a: Float32Array, b: Float32Array, rtol: number, atol: number): number {
  let worstRel = 0;
  for (const p of params) {
    let scale = 0, worst = 0, at = -1;
    for (let i = p.offset; i < p.offset + p.size; i++) {
      scale = Math.max(scale, Math.abs(a[i]));
      const d = Math.abs(a[i] - b[i]);
      if (!(d <= worst)) (worst = d), (at = i); // NaN lands here
    }
    assert.ok(Number.isFinite(scale) && scale > 0, `${what}: ${p.name} is all zero or not finite in the reference (max |a| = ${scale})`);
    const rel = worst / scale;
    assert.ok(rel <= rtol, `${what}: ${p.name} [${p.shape}]: max |Δ| ${worst.toExponential(3)} at element ${at - p.offset} (${a[at]} vs ${b[at]}) = ${rel.toExponential(3)} × max |a| ${scale.toExponential(3)} > ${rtol}`);
    for (let i = p.offset; i < p.offset + p.size; i++) {
      const d = Math.abs(a[i] - b[i]);
      assert.ok(d <= atol * scale + rtol * Math.abs(a[i]), `${what}: ${p.name}[${i - p.offset}]: ${a[i]} vs ${b[i]} (|Δ| ${d.toExponential(3)}, max |a| ${scale.toExponential(3)})`);
    }
    worstRel = Math.max(worstRel, rel);
  }
  return worstRel;
}

function assertNumbersClose(what: string, a: number[], b: number[], rtol: number): void {
  assert.is(b.length, a.length, `${what}: length`);
  a.forEach((x, i) => assert.ok(Math.abs(x - b[i]) <= rtol * Math.max(1e-6, Math.abs(x)), `${what}[${i}]: ${x} vs ${b[i]}`));
}

test("one step: the gradient block with 2 and 3 threads equals localGradients' (per tensor, uneven shards and masks)", async () => {
  const enc = strictData(437, 31);
  const { order, batches } = strictBatches(enc);
  const ref = await stepModel();
  const local = localGradients(ref, B);
  const want = batches.map(({ start, count }) => oneStep(ref, local, enc, order, start, count));
  // The fixture must be as uneven as described: per shard labelled-row counts for each thread count.
  const shardCounts = (W: number, start: number, count: number, t: number) => {
    const shard = Math.ceil(B / W);
    return Array.from({ length: W }, (_, w) => {
      let c = 0;
      for (let r = Math.min(count, w * shard); r < Math.min(count, (w + 1) * shard); r++) c += enc.tasks[t].mask[order[start + r]];
      return c;
    });
  };
  assert.equal(shardCounts(3, 400, 37, 1)[2], 0, "shard 2 of 3 has no reg label in the partial batch");
  const worst: string[] = [];
  for (const threads of [2, 3]) {
    const model = await stepModel();
    assert.equal(model.snapshot(), ref.snapshot(), "identical initial weights");
    const gradients = await parallelGradients(model, enc, { threads, spawn: nodeWorkerSpawner(TS_WORKER_ENTRY), module });
    try {
      gradients.begin?.();
      gradients.prepare?.(0, 1);
      batches.forEach(({ start, count }, i) => {
        const what = `${threads} threads, rows [${start}, ${start + count}) (bin per shard ${shardCounts(threads, start, count, 0)}, reg ${shardCounts(threads, start, count, 1)})`;
        const got = oneStep(model, gradients, enc, order, start, count);
        assertNumbersClose(`${what}: losses`, want[i].losses, got.losses, 1e-6);
        assertNumbersClose(`${what}: scales`, want[i].scales, got.scales, 1e-6);
        assertNumbersClose(`${what}: relations`, want[i].relations, got.relations, 1e-6);
        assertNumbersClose(`${what}: objective`, [want[i].obj], [got.obj], 1e-6);
        const rel = assertClose(`${what}: gradient`, model.store.params, want[i].g, got.g, GRAD_RTOL, GRAD_ATOL);
        worst.push(`${threads}t/${count} rows ${rel.toExponential(1)}`);
      });
    } finally {
      gradients.close();
    }
  }
  console.log(`  one-step gradient, worst per-tensor max|Δg|/max|g|: ${worst.join(", ")} (tolerance ${GRAD_RTOL})`);
});

test("SGD (no momentum), 2 epochs: 1, 2 and 3 threads end at the same weights (per tensor)", async () => {
  const enc = strictData(437, 32); // the last batch of 37 rows splits 25+12 and 17+17+3
  const train = async (threads: number) => {
    const m = await stepModel();
    if (threads === 1) return { m, r: await fit(m, enc, null) };
    const gradients = await parallelGradients(m, enc, { threads, spawn: nodeWorkerSpawner(TS_WORKER_ENTRY), module });
    try {
      return { m, r: await fit(m, enc, null, { gradients }) };
    } finally {
      gradients.close();
    }
  };
  const one = await train(1);
  assert.ok(one.r.history[1].objective < one.r.history[0].objective, "the single-thread run learns");
  const init = (await stepModel()).snapshot(), w1 = one.m.snapshot();
  // The run must move every tensor well past the tolerance, else the comparison says little.
  for (const p of one.m.store.params) {
    let moved = 0, scale = 0;
    for (let i = p.offset; i < p.offset + p.size; i++) (moved = Math.max(moved, Math.abs(w1[i] - init[i]))), (scale = Math.max(scale, Math.abs(w1[i])));
    assert.ok(moved > 100 * WEIGHT_RTOL * scale, `${p.name}: SGD moved it by only ${moved} (max |w| ${scale})`);
  }
  const worst: string[] = [];
  for (const threads of [2, 3]) {
    const { m, r } = await train(threads);
    const rel = assertClose(`SGD, ${threads} threads vs 1`, m.store.params, w1, m.snapshot(), WEIGHT_RTOL, WEIGHT_ATOL);
    r.history.forEach((h, e) => assertNumbersClose(`${threads} threads, epoch ${e + 1} losses`, Object.values(one.r.history[e].trainLoss), Object.values(h.trainLoss), 1e-5));
    worst.push(`${threads}t ${rel.toExponential(1)}`);
  }
  console.log(`  SGD weights, worst per-tensor max|Δw|/max|w|: ${worst.join(", ")} (tolerance ${WEIGHT_RTOL})`);
});

test.run();
