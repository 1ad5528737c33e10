// Whole-model gradient check of a joint text model (issue 16), in the style of gradcheck.test.ts: token ids →
// embedding → conv1d (dilated, tanh, dropout) → bigru as the shared trunk; an intent head (multiclass, max-pooled, a
// gelu tower), a tagging head (a per-token conv1d tower, then the per-token head and tag_xent), a binary and a
// regression sentence task (mean-pooled) tied by a relation term. The gradient block after one training step —
// backward, weighting, regularizers — equals central finite differences (Richardson) of the complete objective
//   J = weighting(L) + λ·relation + λ_shared·‖θ_shared‖²
// for every parameter element, under static, uncertainty and gls weighting. Rows have different lengths (one has no
// tokens), some rows are unlabelled, some real tokens are unlabelled (label −1), and the batch has a padding row.
// Stale state: before the checked step a step on other rows runs and the gradient block is filled with NaN.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup, Rng, relErr } from "../helpers.ts";
import { validateSpec, type ModelSpec } from "../../src/model/spec.ts";
import { Model } from "../../src/model/model.ts";
import { createWeighting } from "../../src/train/weighting/index.ts";
import { makeRegularizers } from "../../src/train/update.ts";
import type { Encoded, Preprocessing } from "../../src/data/preprocess.ts";
import { regularizerCoefficients, regularizerValue } from "./objective.ts";

const { k } = await setup();

const TOL = 5e-3, FLOOR_RMS = 2e-3, H = 1.5e-2, KINK = 1.5e-4;
const BATCH = 5, ROWS = 4, L = 6, VOCAB = ["a", "b", "c", "d", "e", "f", "g"], TAGS = ["<unk>", "B-x", "I-x", "O"], INTENTS = ["p", "q", "r"];

function makeSpec(weighting: string): ModelSpec {
  return validateSpec({
    inputs: { tokens: { column: "text", max_length: L, dim: 5 } },
    architecture: { type: "hps", layers: [{ type: "conv1d", filters: 6, kernel: 3, dilation: 2, activation: "tanh", dropout: 0.25 }, { type: "bigru", units: 4 }] },
    tasks: [
      { name: "intent", type: "multiclass", label: "intent", classes: INTENTS, weight: 1.3, tower: [{ units: 5, activation: "gelu" }] },
      { name: "slots", type: "tagging", label: "slots", classes: TAGS.slice(1), weight: 0.8, tower: [{ type: "conv1d", filters: 5, kernel: 1, activation: "tanh" }] },
      { name: "flag", type: "binary", label: "flag", pool: "mean", weight: 0.6 },
      { name: "size", type: "regression", label: "size", pool: "mean", weight: 1.1, tower: [{ units: 3, activation: "tanh" }] },
    ],
    training: { batch_size: BATCH, weighting: { type: weighting }, shared_l2: 0.03, relations: [{ tasks: ["flag", "size"], lambda: 0.4 }] },
  });
}

const pre = (spec: ModelSpec): Preprocessing => ({
  numeric: [],
  categorical: [],
  tokens: { column: "text", lowercase: true, max_length: L, vocab: VOCAB },
  tasks: spec.tasks.map((t) => ({ name: t.name, classes: t.type === "tagging" ? TAGS : t.classes, groups: null, target: null })),
});

/** Rows of lengths 6, 3, 0, 5, …; ids in [1, V) at real tokens; tags with some −1 (unlabelled tokens). */
function data(n: number, rng: Rng): Encoded {
  const lens = Array.from({ length: n }, (_, r) => [L, 3, 0, 5, 2][r % 5]);
  const ids = new Int32Array(n * L), tags = new Int32Array(n * L).fill(-1), tm = new Float32Array(n * L), rowTok = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    const labelled = r !== 1;
    for (let j = 0; j < lens[r]; j++) {
      ids[r * L + j] = 1 + rng.int(VOCAB.length + 1);
      if (labelled && rng.next() < 0.85) (tags[r * L + j] = rng.int(TAGS.length)), (tm[r * L + j] = 1), rowTok[r]++;
    }
  }
  const mask = () => Float32Array.from({ length: n }, () => (rng.next() < 0.8 ? 1 : 0));
  return {
    rows: n,
    numeric: new Float32Array(0),
    categorical: [],
    tensor: new Float32Array(0),
    tokens: { maxLength: L, ids, mask: Float32Array.from(ids, (x) => (x > 0 ? 1 : 0)), lengths: Int32Array.from(lens) },
    tasks: [
      { labels: Int32Array.from({ length: n }, () => rng.int(INTENTS.length)), mask: mask(), group: new Int32Array(0) },
      { labels: tags, mask: rowTok, tokenMask: tm, group: new Int32Array(0) },
      { labels: Float32Array.from({ length: n }, () => (rng.next() < 0.5 ? 1 : 0)), mask: mask(), group: new Int32Array(0) },
      { labels: Float32Array.from({ length: n }, () => rng.normal()), mask: mask(), group: new Int32Array(0) },
    ],
  };
}

/** Parameter values from the name only: weights U·√(3/fan_in)·1.2 (GRU tensors U·0.6), biases 0.3·N, embeddings 0.5·N. */
function testWeights(params: readonly { name: string; shape: number[]; size: number }[]): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  params.forEach((p, i) => {
    const r = new Rng(1000 + p.name.length * 31 + i);
    const leaf = p.name.slice(p.name.lastIndexOf(".") + 1);
    let gen: () => number;
    if (p.name.startsWith("embedding.")) gen = () => 0.5 * r.normal();
    else if (p.shape.length === 3 && p.shape[0] === 2) gen = () => 0.6 * r.uniform(); // bigru W, R
    else if (leaf === "bias") gen = () => 0.3 * r.normal();
    else if (leaf === "log_var") gen = () => 0.4 * r.normal();
    else if (leaf === "weight") gen = () => r.uniform() * 1.2 * Math.sqrt(3 / (p.size / p.shape[p.shape.length === 3 ? 0 : 1]));
    else throw new Error(`testWeights: no rule for ${p.name}`);
    out[p.name] = Float32Array.from({ length: p.size }, gen);
  });
  return out;
}

function gradcheck(weighting: string): string[] {
  const spec = makeSpec(weighting);
  const model = new Model(spec, pre(spec), k);
  model.initParams(3);
  model.setWeights(testWeights(model.store.params));
  const built = model.program(BATCH, true), { io, program } = built, { store, arena } = model;
  const T = spec.tasks.length, order = Int32Array.from({ length: BATCH }, (_, i) => i);
  const rows = data(ROWS, new Rng(7)), stale = data(BATCH, new Rng(99));
  const forward = (enc: Encoded, count: number, counter = 0) => {
    model.rng.counter = counter;
    model.feed(built, enc, order, 0, count);
    for (const f of program.forward) f();
  };
  const w = createWeighting(model), regularize = makeRegularizers(model), failures: string[] = [];
  forward(stale, BATCH);
  io.scales.set([2, -1, 0.5, 1.5]);
  for (const f of program.backward) f();
  arena.f32(store.g, store.total).fill(NaN);
  forward(rows, ROWS);
  const losses0 = Float64Array.from(io.losses);
  // tag_xent averages over the labelled tokens: the feeder counts them (the shards weigh by that count).
  const want = rows.tasks[1].tokenMask!.reduce((x, y) => x + y, 0);
  if (!(want > 5 && io.labelled[1] === want)) failures.push(`labelled tokens: fed ${io.labelled[1]}, expected ${want}`);
  w.step(io.losses, io.scales);
  for (const f of program.backward) f();
  regularize();
  const grads = arena.readF32(store.g, store.total);
  const params = store.params, coef = regularizerCoefficients(spec, params), p = () => arena.f32(store.p, store.total);
  const scratch = new Float64Array(T);
  const objective = () => {
    forward(rows, ROWS);
    return w.step(io.losses, scratch) + 0.4 * io.relations[0] + regularizerValue(params, coef, p());
  };
  objective();
  if (Array.from(io.losses).some((x, t) => x !== losses0[t])) failures.push("the forward is not reproducible");
  forward(rows, ROWS, 1 << 20);
  if (Array.from(io.losses).every((x, t) => x === losses0[t])) failures.push("dropout has no effect");
  const diff = (i: number, h: number) => {
    const view = p(), v = view[i], up = Math.fround(v + h), dn = Math.fround(v - h);
    view[i] = up;
    const fu = objective();
    view[i] = dn;
    const fd = objective();
    view[i] = v;
    return (fu - fd) / (up - dn);
  };
  let skipped = 0, checked = 0;
  for (const q of params) {
    const idx = Array.from({ length: q.size }, (_, j) => q.offset + j);
    if (idx.some((i) => !Number.isFinite(grads[i]))) {
      failures.push(`${q.name}: gradient not finite (never written)`);
      continue;
    }
    const a: number[] = [], num: number[] = [];
    for (const i of idx) {
      const [d2, d1, d0] = [diff(i, 2 * H), diff(i, H), diff(i, H / 2)];
      if (Math.abs(d2 - 5 * d1 + 4 * d0) > KINK + 1e-3 * Math.abs(d1)) {
        if (process.env.GRADCHECK_DEBUG) console.log(q.name, i - q.offset, d2, d1, d0);
        skipped++;
        continue;
      }
      a.push(grads[i]);
      num.push((4 * d0 - d1) / 3);
    }
    checked += q.size;
    const e = relErr(a, num, FLOOR_RMS * Math.sqrt(a.length));
    if (!(e <= TOL)) failures.push(`${q.name} [${q.shape}]: relative error ${e.toExponential(2)}`);
  }
  if (skipped > 0.05 * checked) failures.push(`${skipped} of ${checked} elements skipped near kinks`);
  model.dispose();
  return failures;
}

for (const weighting of ["static", "uncertainty", "gls"]) {
  test(`joint text model, ${weighting} weighting: gradient = finite differences of the objective, every parameter`, () => {
    const f = gradcheck(weighting);
    assert.ok(f.length === 0, f.join("\n  "));
  });
}

test("spec: sequence layers over tokens, pooled sentence towers; named errors for what does not fit", async () => {
  const { throwsWith } = await import("../helpers.ts");
  const s = makeSpec("static");
  assert.equal(s.inputs.tokens!.dim, 5);
  assert.equal(s.tasks.map((t) => t.pool), ["max", undefined, "mean", "mean"]);
  assert.equal(s.architecture.layers[0], { type: "conv1d", filters: 6, kernel: 3, dilation: 2, activation: "tanh", dropout: 0.25 });
  const base = { inputs: { tokens: { column: "t", max_length: 8 } }, tasks: [{ name: "i", type: "multiclass", label: "y" }] };
  assert.equal(validateSpec(base).inputs.tokens!.dim, 64, "default embedding width");
  throwsWith(() => validateSpec({ ...base, architecture: { layers: [16] } }), "architecture.layers[0]", "dense does not take token rows", "conv1d");
  throwsWith(() => validateSpec({ ...base, architecture: { type: "mmoe", experts: 2, layers: [{ type: "bigru", units: 4 }] } }), "architecture.type", '"mmoe" over inputs.tokens is not supported', '"hps"');
  throwsWith(() => validateSpec({ inputs: { numeric: ["x"] }, architecture: { layers: [{ type: "bigru", units: 4 }] }, tasks: base.tasks }), "architecture.layers[0]", "bigru needs token rows");
  throwsWith(() => validateSpec({ ...base, tasks: [{ name: "i", type: "multiclass", label: "y", tower: [{ type: "conv1d", filters: 3, kernel: 1 }] }] }), "tasks[0].tower[0]", "conv1d needs token rows", "pooled");
  throwsWith(() => validateSpec({ ...base, tasks: [{ name: "s", type: "tagging", label: "y", tower: [8] }] }), "tasks[0].tower[0]", "dense does not take token rows", "kernel 1");
  throwsWith(() => validateSpec({ ...base, tasks: [{ name: "s", type: "tagging", label: "y", pool: "max" }] }), "tasks[0].pool", "tagging task reads every token");
  throwsWith(() => validateSpec({ inputs: { numeric: ["x"] }, tasks: [{ name: "i", type: "binary", label: "y", pool: "max" }] }), "tasks[0].pool", "no inputs.tokens");
  throwsWith(() => validateSpec({ ...base, inputs: { numeric: ["x"], tokens: { column: "t", max_length: 8 } } }), "inputs.tokens", "cannot be combined with inputs.numeric");
  throwsWith(() => validateSpec({ ...base, tasks: [{ name: "i", type: "multiclass", label: "y", pool: "sum" }] }), "tasks[0].pool", '"sum" is not one of max, mean');
});

test.run();
