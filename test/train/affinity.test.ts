// Task affinity (src/train/affinity.ts): the cosine matrix against each task's gradient from the full program's
// backwardFor([loss_t]) with cosines in float64 here; TAG's lookahead against a step applied in JS, the forward
// re-run with the step's dropout masks and the losses read back; inactive tasks give null; recording leaves
// training bit-identical; the grouping search against a brute force; training.affinity in the spec.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup, Rng } from "../helpers.ts";
import { validateSpec, SpecError, type ModelSpec } from "../../src/model/spec.ts";
import { Model } from "../../src/model/model.ts";
import { AffinityRecorder, bestGrouping, groupingScore, mostConflicting } from "../../src/train/affinity.ts";
import { fit, localGradients } from "../../src/train/trainer.ts";
import type { Encoded, Preprocessing } from "../../src/data/preprocess.ts";

const { k } = await setup();

function makeSpec(training: Record<string, unknown> = {}, arch: unknown = { type: "mmoe", experts: 2, layers: [{ units: 6, activation: "tanh", dropout: 0.2 }] }): ModelSpec {
  return validateSpec({
    inputs: { numeric: ["x0", "x1", "x2", "x3"], categorical: [{ column: "c0", dim: 3 }] },
    architecture: arch,
    tasks: [
      { name: "a", type: "binary", label: "ya", tower: [{ units: 5, activation: "tanh" }] },
      { name: "b", type: "regression", label: "yb", tower: [4] },
      { name: "c", type: "multiclass", label: "yc", classes: ["p", "q", "r"] },
    ],
    training: { batch_size: 8, epochs: 2, optimizer: { type: "adam", lr: 0.01 }, ...training },
  });
}
const pre = (spec: ModelSpec): Preprocessing => ({
  numeric: spec.inputs.numeric.map((column) => ({ column, mean: 0, std: 1 })),
  categorical: [{ column: "c0", vocab: ["u", "v", "w"] }],
  tasks: spec.tasks.map((t) => ({ name: t.name, classes: t.classes, groups: null, target: null })),
});
/** Labels that depend on the inputs (so the tasks relate); `maskC` = 0 leaves task c without labels. */
function data(n: number, rng: Rng, maskC = 0.9): Encoded {
  const x = Float32Array.from({ length: n * 4 }, () => rng.normal());
  const f = (g: (r: number) => number) => Float32Array.from({ length: n }, (_, r) => g(r));
  return {
    rows: n,
    numeric: x,
    categorical: [Int32Array.from({ length: n }, () => rng.int(4))],
    tensor: new Float32Array(0),
    tasks: [
      { labels: f((r) => (x[r * 4] + 0.3 * rng.normal() > 0 ? 1 : 0)), mask: f(() => (rng.next() < 0.8 ? 1 : 0)), group: new Int32Array(0) },
      { labels: f((r) => -x[r * 4] + 0.5 * x[r * 4 + 1]), mask: f(() => (rng.next() < 0.8 ? 1 : 0)), group: new Int32Array(0) },
      { labels: Int32Array.from({ length: n }, (_, r) => (x[r * 4 + 2] > 0.5 ? 0 : x[r * 4 + 3] > 0 ? 1 : 2)), mask: f(() => (rng.next() < maskC ? 1 : 0)), group: new Int32Array(0) },
    ],
  };
}

const cosine64 = (a: Float32Array, b: Float32Array) => {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) (ab += a[i] * b[i]), (aa += a[i] * a[i]), (bb += b[i] * b[i]);
  return ab / Math.sqrt(aa * bb);
};

/** A model fed one batch, forward and full backward run as in a training step; returns what record() needs. */
function stepState(spec: ModelSpec, maskC = 0.9) {
  const model = new Model(spec, pre(spec), k);
  model.initParams(4);
  const built = model.program(8, true);
  const enc = data(8, new Rng(3), maskC);
  const order = Int32Array.from({ length: 8 }, (_, i) => i);
  model.feed(built, enc, order, 0, 8);
  model.rng.counter = 1000; // the step's forward starts here; dropout draws advance it
  const counter = model.rng.counter;
  for (const f of built.program.forward) f();
  for (const f of built.program.backward) f();
  return { model, built, counter };
}

/** Task t's shared-parameter gradient, by the full program: the forward (same masks), then backwardFor([loss_t]). */
function independentGradients(model: Model, built: ReturnType<typeof stepState>["built"], counter: number): Float32Array[] {
  const { io, program } = built;
  const shared = model.store.params.filter((p) => p.shared);
  const saved = io.scales.slice();
  model.rng.counter = counter;
  for (const f of program.forward) f();
  const out = io.tasks.map((t, ti) => {
    io.scales.fill(0);
    io.scales[ti] = 1;
    for (const f of program.backwardFor([t.loss!])) f();
    const g = model.arena.readF32(model.store.g, model.store.total);
    return Float32Array.from(shared.flatMap((p) => Array.from(g.subarray(p.offset, p.offset + p.size))));
  });
  io.scales.set(saved);
  return out;
}

test("cosine: equals float64 cosines of each task's gradient from backwardFor([loss_t]); symmetric, unit diagonal", () => {
  const spec = makeSpec();
  const { model, built, counter } = stepState(spec);
  const rec = new AffinityRecorder(model, built, { every: 1 });
  const s = rec.record(0.05, counter, 1);
  assert.equal([...s.active], [0, 1, 2]);
  const g = independentGradients(model, built, counter);
  const T = 3;
  for (let i = 0; i < T; i++) {
    assert.is(s.cosine[i * T + i], 1, `diagonal ${i}`);
    for (let j = 0; j < T; j++) {
      assert.is(s.cosine[i * T + j], s.cosine[j * T + i], `symmetric ${i},${j}`);
      const want = i === j ? 1 : cosine64(g[i], g[j]);
      assert.ok(Math.abs(s.cosine[i * T + j] - want) < 1e-6, `cos(${i},${j}) = ${s.cosine[i * T + j]}, float64 reference ${want}`);
    }
  }
  // Not trivially all ±1 or 0: the tasks' gradients differ.
  assert.ok(Math.abs(s.cosine[1]) > 1e-3 && Math.abs(s.cosine[1]) < 0.999, `cos(a, b) = ${s.cosine[1]}`);
  const sum = rec.endEpoch();
  assert.is(sum.steps, 1);
  assert.is(sum.cosine[0][1], s.cosine[1]);
  rec.dispose();
});

test("TAG: Z[i→j] = 1 − L_j(θ_s − lr·g_i)/L_j(θ_s), the step applied in JS and the forward re-run with the step's dropout masks", () => {
  const spec = makeSpec();
  const { model, built, counter } = stepState(spec);
  const { io, program } = built;
  const L0 = io.losses.slice();
  const before = model.snapshot();
  const lr = 0.5;
  const rec = new AffinityRecorder(model, built, { every: 1 });
  const s = rec.record(lr, counter, 1);
  assert.equal(model.snapshot(), before, "parameters restored bit for bit");
  assert.equal(io.losses.slice(), L0, "host losses restored");
  const g = independentGradients(model, built, counter);
  const shared = model.store.params.filter((p) => p.shared);
  const T = 3;
  let moved = 0;
  for (let i = 0; i < T; i++) {
    const p = before.slice();
    let at = 0;
    for (const q of shared) for (let e = 0; e < q.size; e++) p[q.offset + e] = p[q.offset + e] - lr * g[i][at++];
    model.restore(p);
    model.rng.counter = counter;
    for (const f of program.forward) f();
    for (let j = 0; j < T; j++) {
      const want = 1 - io.losses[j] / L0[j];
      const got = s.tag[i * T + j];
      assert.ok(Math.abs(got - want) < 1e-5, `Z[${i}→${j}] = ${got}, reference ${want}`);
      moved = Math.max(moved, Math.abs(want));
    }
  }
  model.restore(before);
  assert.ok(moved > 1e-3, `the lookahead changes the losses (largest |Z| ${moved})`);
  // A step on a task lowers its own loss at this size.
  for (let i = 0; i < T; i++) assert.ok(s.tag[i * T + i] > 0, `Z[${i}→${i}] = ${s.tag[i * T + i]}`);
  rec.dispose();
});

test("a task without labels in the sampled batches gives null rows and columns", () => {
  const spec = makeSpec();
  const { model, built, counter } = stepState(spec, 0);
  const rec = new AffinityRecorder(model, built, { every: 1 });
  const s = rec.record(0.05, counter, 1);
  assert.equal([...s.active], [0, 1]);
  const sum = rec.endEpoch();
  for (let j = 0; j < 3; j++) {
    assert.is(sum.cosine[2][j], null);
    assert.is(sum.cosine[j][2], null);
    assert.is(sum.tag[2][j], null);
    assert.is(sum.tag[j][2], null);
  }
  assert.is(sum.cosine[0][0], 1);
  assert.type(sum.tag[0][1], "number");
  assert.is(mostConflicting(sum)!.i, 0);
  assert.is(mostConflicting(sum)!.j, 1);
  // The next epoch starts empty.
  assert.equal(rec.endEpoch(), { cosine: [[null, null, null], [null, null, null], [null, null, null]], tag: [[null, null, null], [null, null, null], [null, null, null]], steps: 0 });
  rec.dispose();
});

// Recording must not change training: the same final weights, bit for bit, with every = 1 (most interference),
// for a loss method with dropout, a gradient method (its own TaskGradients on the same program, relations), one
// that re-runs the forward after the update (lossesAfterUpdate: FAMO) and one on representation gradients.
const CASES: [string, Record<string, unknown>][] = [
  ["static + dropout", {}],
  ["pcgrad + relation", { weighting: { type: "pcgrad" }, relations: [{ tasks: ["a", "b"], lambda: 0.2 }] }],
  ["famo", { weighting: { type: "famo" } }],
  ["aligned_mtl, rep_grad", { weighting: { type: "aligned_mtl", rep_grad: true } }],
];
for (const [name, extra] of CASES) {
  test(`${name}: training with affinity every step ends with bit-identical weights`, async () => {
    const run = async (affinity: { every: number } | null) => {
      const spec = makeSpec({ ...extra, affinity });
      const model = new Model(spec, pre(spec), k);
      model.initParams(7);
      const r = await fit(model, data(60, new Rng(9)), null);
      return { w: model.snapshot(), s: model.arena.readF32(model.store.s1, model.store.total), r, counter: model.rng.counter };
    };
    const off = await run(null), on = await run({ every: 1 });
    assert.equal(on.w, off.w, "weights");
    assert.equal(on.s, off.s, "optimizer moments");
    assert.is(on.counter, off.counter, "dropout stream position");
    assert.equal(on.r.history.map((h) => h.trainLoss), off.r.history.map((h) => h.trainLoss), "logged losses");
    assert.is(off.r.history[0].affinity, undefined);
    assert.is(on.r.history[0].affinity!.steps, 8, "60 rows / batch 8 = 8 steps, all sampled");
    assert.is(on.r.affinity!.steps, 16);
  });
}

test("sampling: the first step of each epoch and every `every`-th after it; FitOptions.affinity overrides the spec", async () => {
  const spec = makeSpec({ affinity: { every: 3 }, epochs: 2 });
  const model = new Model(spec, pre(spec), k);
  model.initParams(7);
  const r = await fit(model, data(60, new Rng(9)), null); // 8 steps per epoch: indices 0, 3, 6
  assert.equal(r.history.map((h) => h.affinity!.steps), [3, 3]);
  const r2 = await fit(model, data(60, new Rng(9)), null, { affinity: null, epochs: 1 });
  assert.is(r2.history[0].affinity, undefined);
  assert.is(r2.affinity, undefined);
});

test("a gradient source without this thread's program (threads) is refused with the reason", async () => {
  const spec = makeSpec({ affinity: { every: 2 } });
  const model = new Model(spec, pre(spec), k);
  model.initParams(1);
  const { built: _, ...remote } = localGradients(model, 8);
  try {
    await fit(model, data(20, new Rng(1)), null, { gradients: remote });
    assert.unreachable("fit should refuse");
  } catch (e) {
    assert.match((e as Error).message, /training\.affinity is recorded on this thread's program.*train on one thread or set training\.affinity to null/);
  }
});

test("spec: training.affinity is { every } (default 10) or null; bad values name the path", () => {
  assert.is(makeSpec().training.affinity, null);
  assert.is(makeSpec({ affinity: null }).training.affinity, null);
  assert.equal(makeSpec({ affinity: {} }).training.affinity, { every: 10 });
  assert.equal(makeSpec({ affinity: { every: 1 } }).training.affinity, { every: 1 });
  const bad = (v: unknown, re: RegExp) => {
    try {
      makeSpec({ affinity: v });
      assert.unreachable(`accepted ${JSON.stringify(v)}`);
    } catch (e) {
      assert.instance(e, SpecError);
      assert.match((e as Error).message, re);
    }
  };
  bad({ every: 0 }, /^training\.affinity\.every: must be an integer in \[1, 2147483647\]/);
  bad({ every: 1.5 }, /^training\.affinity\.every: must be an integer/);
  bad({ every: 2 ** 31 }, /^training\.affinity\.every: 2147483648 is above the limit of 2147483647/);
  bad({ evry: 3 }, /^training\.affinity\.evry: unknown key; expected one of every/);
  bad(true, /^training\.affinity: expected an object, found true/);
});

// ---- grouping ----------------------------------------------------------------------------------------------------

/** Brute force: every assignment of T tasks to k labels with no empty label, scored here independently. */
function bruteForce(Z: (number | null)[][], k: number): { sets: string[]; score: number } {
  const T = Z.length;
  let best = { sets: [] as string[], score: -Infinity };
  for (let code = 0; code < k ** T; code++) {
    const lab = Array.from({ length: T }, (_, t) => Math.floor(code / k ** t) % k);
    if (new Set(lab).size !== k) continue;
    let score = 0;
    for (let j = 0; j < T; j++) {
      const mates = lab.map((l, i) => (l === lab[j] && i !== j ? i : -1)).filter((i) => i >= 0);
      if (mates.length) score += mates.reduce((s, i) => s + (Z[i][j] ?? 0), 0) / mates.length;
    }
    if (score > best.score + 1e-12) best = { sets: canon(Array.from({ length: k }, (_, g) => lab.map((l, i) => (l === g ? i : -1)).filter((i) => i >= 0))), score };
  }
  return best;
}
const canon = (groups: number[][]) => groups.map((g) => [...g].sort((a, b) => a - b).join(",")).sort();

test("grouping: two planted clusters are found, and the search equals a brute force on random matrices", () => {
  // Tasks {0, 1, 2} help each other, {3, 4} help each other, the two sets hurt each other.
  const Z = [
    [0.5, 0.3, 0.2, -0.2, -0.1],
    [0.25, 0.4, 0.3, -0.3, -0.2],
    [0.2, 0.35, 0.6, -0.1, -0.3],
    [-0.2, -0.1, -0.3, 0.5, 0.4],
    [-0.3, -0.2, -0.1, 0.45, 0.3],
  ];
  const two = bestGrouping(Z, 2);
  assert.equal(canon(two.groups), ["0,1,2", "3,4"]);
  assert.ok(Math.abs(two.score - ((0.25 + 0.2) / 2 + (0.3 + 0.35) / 2 + (0.2 + 0.3) / 2 + 0.45 + 0.4)) < 1e-12, `score ${two.score}`);
  assert.is(groupingScore(Z, two.groups), two.score);
  assert.is(groupingScore(Z, [[0], [1], [2], [3], [4]]), 0, "groups of one score 0");
  const rng = new Rng(11);
  for (let trial = 0; trial < 20; trial++) {
    const T = 2 + (trial % 5);
    const M = Array.from({ length: T }, () => Array.from({ length: T }, () => (rng.next() < 0.1 ? null : rng.uniform(-1, 1))));
    for (let kk = 1; kk <= Math.min(3, T); kk++) {
      const got = bestGrouping(M, kk), want = bruteForce(M, kk);
      assert.ok(Math.abs(got.score - want.score) < 1e-12, `T ${T}, k ${kk}: score ${got.score}, brute force ${want.score}`);
      assert.is(got.groups.length, kk);
      assert.equal(canon(got.groups).length, kk);
      assert.equal(got.groups.flat().sort((a, b) => a - b), Array.from({ length: T }, (_, i) => i), "a partition");
    }
  }
  assert.throws(() => bestGrouping(Array.from({ length: 11 }, () => Array(11).fill(0)), 2), /11 tasks is above the limit of 10/);
  assert.throws(() => bestGrouping(Z, 6), /cannot split 5 tasks into 6 groups/);
});

test.run();
