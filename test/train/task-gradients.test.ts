// Per-task gradients: one backward per task loss gives each task's gradient of the shared parameters and of
// its shared representation; the gradient stage recombines them. Checked against the full backward seeded
// with one-hot scales (an independent path through the same program), against finite differences of one
// task's loss, and through fit with a strategy that rewrites the shared gradient.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup, Rng, relErr } from "../helpers.ts";
import { validateSpec, type ModelSpec } from "../../src/model/spec.ts";
import { Model } from "../../src/model/model.ts";
import { TaskGradients, type GradientStage } from "../../src/train/task-gradients.ts";
import { localGradients } from "../../src/train/trainer.ts";
import type { Encoded, Preprocessing } from "../../src/data/preprocess.ts";

const { k } = await setup();

function makeSpec(architecture: unknown): ModelSpec {
  return validateSpec({
    inputs: { numeric: ["x0", "x1", "x2", "x3"], categorical: [{ column: "c0", dim: 3 }] },
    architecture,
    tasks: [
      { name: "a", type: "binary", label: "ya", tower: [{ units: 5, activation: "tanh" }], weight: 0.7 },
      { name: "b", type: "regression", label: "yb", tower: [{ units: 4, activation: "gelu" }], weight: 1.6 },
      { name: "c", type: "multiclass", label: "yc", classes: ["p", "q", "r"] },
    ],
    training: { batch_size: 8, relations: [{ tasks: ["a", "b"], lambda: 0.3 }] },
  });
}
const pre = (spec: ModelSpec): Preprocessing => ({
  numeric: spec.inputs.numeric.map((column) => ({ column, mean: 0, std: 1 })),
  categorical: [{ column: "c0", vocab: ["u", "v", "w"] }],
  tasks: spec.tasks.map((t) => ({ name: t.name, classes: t.classes, groups: null, target: null })),
});
function data(n: number, rng: Rng): Encoded {
  const f = (len: number, g: () => number) => Float32Array.from({ length: len }, g);
  return {
    rows: n,
    numeric: f(n * 4, () => rng.normal()),
    categorical: [Int32Array.from({ length: n }, () => rng.int(4))],
    tensor: new Float32Array(0),
    tasks: [
      { labels: f(n, () => (rng.next() < 0.5 ? 1 : 0)), mask: f(n, () => (rng.next() < 0.8 ? 1 : 0)), group: new Int32Array(0) },
      { labels: f(n, () => rng.normal()), mask: f(n, () => (rng.next() < 0.8 ? 1 : 0)), group: new Int32Array(0) },
      { labels: Int32Array.from({ length: n }, () => rng.int(3)), mask: f(n, () => 1), group: new Int32Array(0) },
    ],
  };
}

const ARCHS: [string, unknown][] = [
  ["hps", { type: "hps", layers: [{ units: 6, activation: "tanh" }] }],
  ["mmoe", { type: "mmoe", experts: 3, layers: [{ units: 5, activation: "tanh" }] }],
  ["cgc", { type: "cgc", shared_experts: 2, task_experts: 1, layers: [{ units: 5, activation: "tanh", layernorm: true }] }],
];

for (const [name, arch] of ARCHS) {
  test(`${name}: per-task gradients equal the full backward seeded with one-hot scales`, () => {
    const spec = makeSpec(arch);
    const model = new Model(spec, pre(spec), k);
    model.initParams(4);
    const built = model.program(8, true);
    const { io, program } = built;
    const enc = data(7, new Rng(3));
    const order = Int32Array.from({ length: 7 }, (_, i) => i);
    model.feed(built, enc, order, 0, 7);
    for (const f of program.forward) f();
    const scales = Float64Array.from([0.7, 1.6, 1]);
    const tg = new TaskGradients(model, built, { weights: Array.from(scales) });
    const shared = model.store.params.filter((p) => p.shared);
    const sharedOf = (g: Float32Array) => Float32Array.from(shared.flatMap((p) => Array.from(g.subarray(p.offset, p.offset + p.size))));
    const stageShared = (v: Float32Array) => {
      // The stage concatenates the shared ranges with each parameter padded to a multiple of 4.
      const out: number[] = [];
      let at = 0;
      for (const p of shared) {
        out.push(...v.subarray(at, at + p.size));
        at += (p.size + 3) & ~3;
      }
      return Float32Array.from(out);
    };
    const stage = tg.run(scales);
    // Rows hold the gradients of the weighted losses w_t·L_t.
    const perTask = spec.tasks.map((_, t) => stageShared(Float32Array.from(stage.taskGradient(t), (x) => x / scales[t])));
    const reps = spec.tasks.map((_, t) => Float32Array.from(stage.representationGradient(t)));
    assert.equal(Array.from(stage.alpha), [1, 1, 1], "alpha starts at 1 for tasks with labels");
    tg.finish();
    const viaStage = model.arena.readF32(model.store.g, model.store.total);
    for (let t = 0; t < spec.tasks.length; t++) {
      // Independent: the full backward (all losses, relations off by zero λ via scales) with scale e_t.
      io.scales.set(spec.tasks.map((_, u) => (u === t ? 1 : 0)));
      const relSave = io.relations.slice();
      for (const f of program.backwardFor([io.tasks[t].loss!])) f();
      void relSave;
      const want = sharedOf(model.arena.readF32(model.store.g, model.store.total));
      assert.ok(relErr(perTask[t], want) < 1e-6, `task ${t}: shared gradient differs (${relErr(perTask[t], want).toExponential(2)})`);
      const rep = io.tasks[t].representation;
      const repWant = model.arena.readF32(rep.grad, rep.size);
      assert.ok(relErr(reps[t], repWant) < 1e-6, `task ${t}: representation gradient differs`);
      assert.ok(perTask[t].some((x) => x !== 0), `task ${t}: shared gradient is all zero`);
    }
    // With the stage left alone, the step's gradient is the ordinary full backward's.
    io.scales.set(scales);
    for (const f of program.backward) f();
    const full = model.arena.readF32(model.store.g, model.store.total);
    const e = relErr(viaStage, full);
    assert.ok(e < 1e-6, `stage gradient vs full backward: relative error ${e.toExponential(2)}`);
    tg.dispose();
  });
}

for (const [name, arch] of ARCHS) {
  test(`${name}, rep_grad: rows are Σ_rows w_t·∂L_t/∂z_t; alpha = 1 gives the full backward, alpha = e_1 task 1's + the relation's`, () => {
    const spec = makeSpec(arch);
    const model = new Model(spec, pre(spec), k);
    model.initParams(6);
    const built = model.program(8, true);
    const { io, program } = built;
    const enc = data(8, new Rng(4));
    const order = Int32Array.from({ length: 8 }, (_, i) => i);
    model.feed(built, enc, order, 0, 8);
    for (const f of program.forward) f();
    const scales = Float64Array.from([0.7, 1.6, 1]);
    const T = 3, B = 8;
    // Independent references from the full program: each task's backward alone, the relation's alone, all together.
    const perTaskFull: Float32Array[] = [], repFull: Float32Array[] = [];
    for (let t = 0; t < T; t++) {
      io.scales.set([0, 0, 0]);
      io.scales[t] = 1;
      for (const f of program.backwardFor([io.tasks[t].loss!])) f();
      perTaskFull.push(model.arena.readF32(model.store.g, model.store.total));
      const rep = io.tasks[t].representation;
      repFull.push(model.arena.readF32(rep.grad, rep.size));
    }
    for (const f of program.backwardFor(model.graph.relations)) f();
    const relFull = model.arena.readF32(model.store.g, model.store.total);
    io.scales.set(scales);
    for (const f of program.backward) f();
    const full = model.arena.readF32(model.store.g, model.store.total);

    const tg = new TaskGradients(model, built, { mode: "rep", weights: Array.from(scales), signed: true });
    for (const alpha of [[1, 1, 1], [0, 1, 0]]) {
      const stage = tg.run(scales);
      const d = stage.size;
      assert.is(d * B, io.tasks[0].representation.size);
      for (let t = 0; t < T; t++) {
        const want = Array.from({ length: d }, (_, c) => {
          let s = 0;
          for (let b = 0; b < B; b++) s += repFull[t][b * d + c];
          return scales[t] * s;
        });
        assert.ok(relErr(Float32Array.from(stage.row(t)), Float32Array.from(want)) < 1e-5, `task ${t}: row is not w_t·Σ_rows ∂L_t/∂z_t`);
        // S_t = w_t·Σ_rows ∂L_t/∂z_t ⊙ sign(z_t) (GradDrop's statistic), with z_t read from the program.
        const rep = io.tasks[t].representation, z = model.arena.readF32(rep.ptr, rep.size);
        const wantS = Array.from({ length: d }, (_, c) => {
          let s = 0;
          for (let b = 0; b < B; b++) s += repFull[t][b * d + c] * Math.sign(z[b * d + c]);
          return scales[t] * s;
        });
        const gotS = new Float32Array(k.memory.buffer, stage.ptr.signed + t * stage.ld * 4, d);
        assert.ok(relErr(Float32Array.from(gotS), Float32Array.from(wantS)) < 1e-5, `task ${t}: signed row is not w_t·Σ_rows ∂L_t/∂z_t·sign(z_t)`);
      }
      stage.alpha.set(alpha);
      tg.finish();
      const got = model.arena.readF32(model.store.g, model.store.total);
      for (const p of model.store.params) {
        const a = got.subarray(p.offset, p.offset + p.size);
        let want: Float32Array;
        // Towers and heads read the representation (their gradient is their task's, as in the full backward);
        // everything below it (trunk, experts, gates) gets the alpha-weighted representation gradients.
        if (/^(tower|head)\./.test(p.name)) want = full.subarray(p.offset, p.offset + p.size);
        else want = Float32Array.from(a, (_, i) => relFull[p.offset + i] + alpha.reduce((s, al, t) => s + al * scales[t] * perTaskFull[t][p.offset + i], 0));
        const e = relErr(a, want);
        assert.ok(e < 2e-5, `alpha ${alpha}: ${p.name} (${p.role}) differs (relative error ${e.toExponential(2)})`);
      }
    }
    tg.dispose();
  });
}

test("one task's shared gradient equals finite differences of that task's loss", () => {
  const spec = makeSpec(ARCHS[1][1]);
  const model = new Model(spec, pre(spec), k);
  model.initParams(8);
  const built = model.program(8, true);
  const enc = data(8, new Rng(5));
  const order = Int32Array.from({ length: 8 }, (_, i) => i);
  const loss = (t: number) => {
    model.feed(built, enc, order, 0, 8);
    for (const f of built.program.forward) f();
    return built.io.losses[t];
  };
  loss(0);
  const tg = new TaskGradients(model, built);
  const stage = tg.run(Float64Array.from([1, 1, 1]));
  const t = 1;
  const g = Float32Array.from(stage.taskGradient(t));
  const p = model.arena.f32(model.store.p, model.store.total);
  const rng = new Rng(2);
  const analytic: number[] = [], numeric: number[] = [];
  let at = 0;
  for (const prm of model.store.params.filter((q) => q.shared)) {
    for (let s = 0; s < 6; s++) {
      const i = rng.int(prm.size), h = 1e-2;
      const v = p[prm.offset + i];
      p[prm.offset + i] = v + h;
      const up = loss(t);
      p[prm.offset + i] = v - h;
      const down = loss(t);
      p[prm.offset + i] = v;
      analytic.push(g[at + i]);
      numeric.push((up - down) / (2 * h));
    }
    at += (prm.size + 3) & ~3;
  }
  const e = relErr(analytic, numeric, 1e-4);
  assert.ok(e < 5e-3, `relative error ${e.toExponential(2)}`);
  tg.dispose();
});

test("a strategy's gradient stage replaces the shared gradient and leaves the task parameters' gradient", () => {
  const spec = makeSpec(ARCHS[0][1]);
  const model = new Model(spec, pre(spec), k);
  model.initParams(1);
  const src = localGradients(model, 8);
  const enc = data(8, new Rng(9));
  const order = Int32Array.from({ length: 8 }, (_, i) => i);
  const weigh = (l: Float64Array, s: Float64Array) => {
    s.set([0.7, 1.6, 1]);
    return 0.7 * l[0] + 1.6 * l[1] + l[2];
  };
  src.compute(enc, order, 0, 8, weigh);
  const plain = model.arena.readF32(model.store.g, model.store.total);
  let g0: Float32Array | null = null;
  const before = model.arena.used;
  // Keep task 0's gradient only (alpha = e_0, a stand-in for a method): shared = w_0·g_0 + the relation's gradient.
  const onlyFirst = (stage: GradientStage) => {
    g0 = Float32Array.from(stage.taskGradient(0));
    stage.alpha.set([1, 0, 0]);
  };
  for (let rep = 0; rep < 3; rep++) src.compute(enc, order, 0, 8, weigh, onlyFirst);
  assert.is(model.arena.used > before, true, "the first stage allocates its buffers once");
  const used = model.arena.used;
  src.compute(enc, order, 0, 8, weigh, onlyFirst);
  assert.is(model.arena.used, used, "later steps allocate nothing in wasm memory");
  const after = model.arena.readF32(model.store.g, model.store.total);
  // The relation term's shared gradient, independently: its own backward on the same forward.
  const built = model.program(8, true);
  for (const f of built.program.backwardFor(model.graph.relations)) f();
  const relG = model.arena.readF32(model.store.g, model.store.total);
  let at = 0;
  for (const p of model.store.params) {
    const a = after.subarray(p.offset, p.offset + p.size), b = plain.subarray(p.offset, p.offset + p.size);
    if (p.shared) {
      const want = Float32Array.from(g0!.subarray(at, at + p.size), (x, i) => x + relG[p.offset + i]);
      assert.ok(relErr(a, want) < 1e-6, `${p.name}: not alpha·G + the relation's gradient (${relErr(a, want).toExponential(2)})`);
      at += (p.size + 3) & ~3;
    } else assert.ok(relErr(a, b) < 1e-6, `${p.name}: task parameter gradient changed (${relErr(a, b).toExponential(2)})`);
  }
});

test.run();
