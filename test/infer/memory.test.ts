// Inference memory stays bounded (src/infer/runner.ts, src/infer/session.ts, src/model/model.ts):
//   (a) 1,000 mtl-engine sessions created, run (batch sizes 1…70) and disposed on ONE kernel instance leave the
//       arena's `used` exactly where it started after every dispose, wasm memory does not grow after the first 50,
//       every run gives the bits the first session of that batch size gave, and process RSS (information; a loose
//       bound, since `node --expose-gc` is not how the suite runs) stays flat from session 100 to 1,000;
//   (b) one runner fed 200 different batch sizes keeps at most INFER_PLANS plans, its memory is flat after one
//       pass over the sizes, and every output equals a fresh session's for the same rows; dispose returns every byte;
//   (c) Model.predict on 1…100 rows keeps model.inferencePlans ≤ INFER_PLANS with memory flat after warm-up and
//       outputs stable across plan evictions; model.dispose() returns `used` to its value before the model existed.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup, Rng } from "../helpers.ts";
import { validateSpec, type ModelSpec } from "../../src/model/spec.ts";
import { Model, INFER_PLANS, planBatch } from "../../src/model/model.ts";
import type { Encoded, Preprocessing } from "../../src/data/preprocess.ts";
import { exportOnnx } from "../../src/onnx/export.ts";
import { createSession } from "../../src/infer/session.ts";
import { MtlRunner } from "../../src/infer/runner.ts";
import type { InputTensor } from "../../src/infer/rows.ts";

const { k, arena } = await setup();

const spec: ModelSpec = validateSpec({
  inputs: { numeric: ["a", "b", "c", "d"], categorical: [{ column: "colour", dim: 3 }] },
  architecture: { type: "hps", layers: [{ units: 12, activation: "relu" }, { units: 8, activation: "tanh", layernorm: true }] },
  tasks: [
    { name: "bin", type: "binary", label: "yb", tower: [{ units: 4, activation: "gelu" }] },
    { name: "cls", type: "multiclass", label: "yc", classes: ["p", "q", "r"] },
    { name: "reg", type: "regression", label: "yr" },
    { name: "grp", type: "regression", label: "yg", group_by: "school" },
  ],
});
const pre: Preprocessing = {
  numeric: spec.inputs.numeric.map((column, i) => ({ column, mean: 0.1 * i, std: 1 + 0.5 * i })),
  categorical: [{ column: "colour", vocab: ["red", "green", "blue", "teal"] }],
  tasks: spec.tasks.map((t) => ({ name: t.name, classes: t.classes, groups: t.group_by ? ["s1", "s2", "s3"] : null, target: t.type === "regression" ? [{ mean: 3, std: 2 }] : null })),
};
const VOCAB = 5, GROUPS = 3, F = 4;

/** A model with non-trivial weights, and its ONNX export. */
function trained(): Model {
  const m = new Model(spec, pre, k);
  m.initParams(7);
  const rng = new Rng(9);
  const w = m.getWeights();
  for (const v of Object.values(w)) v.forEach((x, i) => (v[i] = x + 0.2 * rng.normal()));
  m.setWeights(w);
  return m;
}
const bytes = (() => {
  const m = trained();
  try {
    return exportOnnx(m);
  } finally {
    m.dispose();
  }
})();

/** Feeds for rows [0, n) of a fixed pool of 256 random rows. */
const POOL = 256;
const pool = (() => {
  const rng = new Rng(11);
  return {
    numeric: Float32Array.from({ length: POOL * F }, () => 2 * rng.normal()),
    categorical: BigInt64Array.from({ length: POOL }, () => BigInt(rng.int(VOCAB))),
    groups: BigInt64Array.from({ length: POOL }, () => BigInt(rng.int(GROUPS))),
  };
})();
const feeds = (n: number): Record<string, InputTensor> => ({
  numeric: { type: "float32", data: pool.numeric.subarray(0, n * F), dims: [n, F] },
  categorical: { type: "int64", data: pool.categorical.subarray(0, n), dims: [n, 1] },
  groups: { type: "int64", data: pool.groups.subarray(0, n), dims: [n, 1] },
});
const flat = (out: Record<string, Float32Array>) => spec.tasks.map((t) => Array.from(out[t.name]));
const MB = 1024 * 1024;
const gc = (globalThis as { gc?: () => void }).gc;

test("(a) 1,000 mtl sessions on one kernel instance: `used` returns after each dispose, memory stops growing, outputs stable", async () => {
  const start = arena.used;
  const rng = new Rng(3);
  // The largest batch first, so the warm-up sees the largest plan (128 rows) early.
  const sizes = Array.from({ length: 1000 }, (_, i) => (i === 0 ? 70 : i === 1 ? 1 : 1 + rng.int(70)));
  const reference = new Map<number, number[][]>();
  let bytesAfterWarmup = 0, rss100 = process.memoryUsage();
  for (let i = 0; i < sizes.length; i++) {
    const n = sizes[i];
    const s = await createSession(bytes, { engine: "mtl", kernels: k });
    const out = flat(await s.run(feeds(n)));
    assert.ok(arena.used > start, `session ${i}: holds no memory while alive?`);
    await s.dispose();
    await s.dispose(); // idempotent
    assert.is(arena.used, start, `session ${i} (batch ${n}): ${arena.used - start} bytes still allocated after dispose`);
    const ref = reference.get(n);
    if (!ref) reference.set(n, out);
    else assert.equal(out, ref, `session ${i}: batch ${n} gave other outputs than its first run`);
    if (i === 49) bytesAfterWarmup = k.memory.buffer.byteLength;
    if (i >= 50) assert.is(k.memory.buffer.byteLength, bytesAfterWarmup, `session ${i}: wasm memory grew from ${bytesAfterWarmup} to ${k.memory.buffer.byteLength} bytes`);
    if (i === 99) {
      gc?.();
      rss100 = process.memoryUsage();
    }
  }
  gc?.();
  const now = process.memoryUsage();
  const grown = (now.rss - rss100.rss) / MB, heap = (now.heapUsed - rss100.heapUsed) / MB;
  const sign = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(1)} MB`;
  process.stdout.write(`\n  [memory] sessions 100 → 1,000: RSS ${sign(grown)}, JS heap ${sign(heap)} (gc ${gc ? "exposed: after collection" : "not exposed: garbage included"}); wasm memory ${(bytesAfterWarmup / MB).toFixed(2)} MB throughout\n`);
  if (gc) {
    // After a full collection the JS heap is what sessions retain: flat (measured: < 1 MB over 900 sessions).
    assert.ok(heap < 4, `the JS heap kept ${heap.toFixed(1)} MB more after 900 more sessions`);
    assert.ok(grown < 64, `RSS grew by ${grown.toFixed(1)} MB from session 100 to 1,000`);
  } else {
    // Without gc, RSS includes uncollected garbage and V8's own growth (measured: +20 … +35 MB, flattening out);
    // the bound only catches gross leaks (wasm memory and the arena are checked exactly above).
    assert.ok(grown < 128, `RSS grew by ${grown.toFixed(1)} MB from session 100 to 1,000`);
  }
});

test("(b) one runner, 200 batch sizes: at most INFER_PLANS plans, memory flat after a pass, outputs equal a fresh session's", async () => {
  const start = arena.used;
  const runner = MtlRunner.create(bytes, k);
  const sizes = Array.from({ length: 200 }, (_, i) => i + 1);
  const rng = new Rng(5);
  const shuffled = [...sizes];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
  }
  const first = new Map<number, number[][]>();
  let peak = 0;
  for (const n of shuffled) {
    first.set(n, flat(runner.run(feeds(n))));
    assert.ok(runner.planCount <= INFER_PLANS, `batch ${n}: ${runner.planCount} plans kept (limit ${INFER_PLANS})`);
    peak = Math.max(peak, arena.used);
  }
  assert.is(runner.planCount, INFER_PLANS, "after 9 distinct plan sizes the cache is full");
  const after = k.memory.buffer.byteLength;
  // Second pass, in another order: nothing grows, nothing changes.
  for (const n of [...shuffled].reverse()) {
    const out = flat(runner.run(feeds(n)));
    assert.equal(out, first.get(n), `batch ${n}: outputs changed after plan evictions`);
    assert.ok(runner.planCount <= INFER_PLANS);
    assert.ok(arena.used <= peak, `batch ${n}: ${arena.used} bytes used, above the first pass's peak ${peak}`);
    assert.is(k.memory.buffer.byteLength, after, `batch ${n}: wasm memory grew`);
  }
  // A fresh session for every size gives the same bits (it compiles the same plan for the same rows).
  for (const n of sizes) {
    const s = await createSession(bytes, { engine: "mtl", kernels: k });
    assert.equal(flat(await s.run(feeds(n))), first.get(n), `batch ${n}: a fresh session disagrees`);
    await s.dispose();
  }
  runner.dispose();
  assert.is(arena.used, start, `${arena.used - start} bytes left after runner.dispose()`);
  assert.throws(() => runner.run(feeds(1)), /disposed/);
  // Plan sizes are powers of two: 200 sizes are 9 plans.
  assert.is(new Set(sizes.map((n) => planBatch(n))).size, 9);
});

test("(b) the same through createSession: memory flat over 200 batch sizes, every byte back on dispose", async () => {
  const start = arena.used;
  const s = await createSession(bytes, { engine: "mtl", kernels: k });
  let peak = 0;
  for (let n = 1; n <= 200; n++) {
    await s.run(feeds(n));
    peak = Math.max(peak, arena.used);
  }
  const after = k.memory.buffer.byteLength;
  for (let n = 200; n >= 1; n -= 3) {
    await s.run(feeds(n));
    assert.ok(arena.used <= peak, `batch ${n}: ${arena.used} > ${peak}`);
    assert.is(k.memory.buffer.byteLength, after);
  }
  // Least recently used out: after a 200-row run (the 256-row plan, the largest) and runs needing four other
  // plans, the large plan is gone, so the session holds less than it did with the large plan alone.
  const s2 = await createSession(bytes, { engine: "mtl", kernels: k });
  const base = arena.used;
  await s2.run(feeds(200));
  const withLarge = arena.used - base;
  for (const n of [1, 2, 3, 5]) await s2.run(feeds(n));
  const withSmall = arena.used - base;
  assert.ok(withSmall < withLarge, `after 1, 2, 3, 5 rows the session holds ${withSmall} bytes, with only the 256-row plan ${withLarge}: the large plan was not evicted`);
  await s2.dispose();
  await s.dispose();
  assert.is(arena.used, start);
  await assert.not.throws(async () => await s.dispose());
  let err = "";
  await s.run(feeds(1)).catch((e) => (err = String(e)));
  assert.match(err, /disposed/);
});

/** n encoded rows (the model's encoded boundary), from the same pool. */
function encoded(n: number): Encoded {
  const f = (len: number, g: (i: number) => number) => Float32Array.from({ length: len }, (_, i) => g(i));
  return {
    rows: n,
    // Standardized as the exported graph's Sub/Div do, in f32.
    numeric: f(n * F, (i) => Math.fround(Math.fround(pool.numeric[i] - Math.fround(pre.numeric[i % F].mean)) / Math.fround(pre.numeric[i % F].std))),
    categorical: [Int32Array.from({ length: n }, (_, i) => Number(pool.categorical[i]))],
    tensor: new Float32Array(0),
    tasks: spec.tasks.map((t) => ({
      labels: t.type === "multiclass" ? new Int32Array(n) : new Float32Array(n),
      mask: new Float32Array(n),
      group: t.group_by ? Int32Array.from({ length: n }, (_, i) => Number(pool.groups[i])) : new Int32Array(0),
    })),
  };
}

test("(c) Model.predict on 1…100 rows: at most INFER_PLANS plans, memory flat, outputs stable; dispose returns every byte", () => {
  const before = arena.used;
  const model = trained();
  const first = new Map<number, number[][]>();
  let peak = 0;
  for (let n = 1; n <= 100; n++) {
    first.set(n, model.predict(encoded(n)).map((a) => Array.from(a)));
    assert.ok(model.inferencePlans <= INFER_PLANS, `${n} rows: ${model.inferencePlans} inference plans (limit ${INFER_PLANS})`);
    peak = Math.max(peak, arena.used);
  }
  assert.is(model.inferencePlans, INFER_PLANS);
  const after = k.memory.buffer.byteLength;
  const rng = new Rng(8);
  for (let j = 0; j < 150; j++) {
    const n = 1 + rng.int(100);
    const out = model.predict(encoded(n)).map((a) => Array.from(a));
    assert.equal(out, first.get(n), `${n} rows: outputs changed after plan evictions`);
    assert.ok(model.inferencePlans <= INFER_PLANS);
    assert.ok(arena.used <= peak, `${n} rows: ${arena.used} bytes used > first pass peak ${peak}`);
    assert.is(k.memory.buffer.byteLength, after, `${n} rows: wasm memory grew`);
  }
  // Training programs are kept too (per batch size); dispose releases them with everything else.
  model.program(8, true);
  model.dispose();
  assert.is(arena.used, before, `${arena.used - before} bytes left after model.dispose()`);
  assert.throws(() => model.predict(encoded(1)), /dispose/);
  // The mtl engine on the same kernels agrees with predict (the model is gone; its export is the reference here).
});

test("(c) predict agrees with the mtl engine on the exported model for every plan size", async () => {
  const model = trained();
  const s = await createSession(bytes, { engine: "mtl", kernels: k });
  try {
    for (const n of [1, 2, 3, 5, 8, 13, 33, 64, 100]) {
      const ours = model.predict(encoded(n));
      const theirs = await s.run(feeds(n));
      spec.tasks.forEach((t, i) => {
        let d = 0;
        for (let j = 0; j < ours[i].length; j++) d = Math.max(d, Math.abs(ours[i][j] - theirs[t.name][j]));
        assert.ok(d <= 1e-5, `${t.name}, ${n} rows: max |predict − mtl| = ${d}`);
      });
    }
  } finally {
    await s.dispose();
    model.dispose();
  }
});

test.run();
