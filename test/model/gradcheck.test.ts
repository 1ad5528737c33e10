// Whole-program gradient check: for every architecture, the planned backward (heads accumulating into the
// trunk, embeddings, gates, group heads, relation terms, layer norm, every activation, dropout with a fixed
// mask) equals central finite differences of the forward objective Σ scale_t·L_t + Σ λ·R.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup, Rng, relErr } from "../helpers.ts";
import { validateSpec, type ModelSpec } from "../../src/model/spec.ts";
import { Model } from "../../src/model/model.ts";
import type { Encoded, Preprocessing } from "../../src/data/preprocess.ts";

const { k } = await setup();

function makeSpec(architecture: unknown, extra: Partial<Record<string, unknown>> = {}): ModelSpec {
  return validateSpec({
    inputs: { numeric: ["x0", "x1", "x2", "x3", "x4"], categorical: [{ column: "c0", dim: 3 }, { column: "c1", dim: 2 }] },
    architecture,
    tasks: [
      { name: "bin", type: "binary", label: "yb", tower: [{ units: 4, activation: "tanh" }] },
      { name: "cls", type: "multiclass", label: "yc", classes: ["a", "b", "c"], tower: [{ units: 5, activation: "gelu" }] },
      { name: "reg", type: "regression", label: "yr", tower: [{ units: 3, activation: "leaky_relu" }] },
      { name: "grp", type: "regression", label: "yg", group_by: "g", group_l2: 0, loss: "huber" },
      { name: "ml", type: "multilabel", labels: ["m0", "m1"], tower: [{ units: 4, activation: "sigmoid" }] },
    ],
    training: { relations: [{ tasks: ["bin", "reg"], lambda: 0.7 }], batch_size: 6, ...extra },
  });
}

const pre = (spec: ModelSpec): Preprocessing => ({
  numeric: spec.inputs.numeric.map((column) => ({ column, mean: 0, std: 1 })),
  categorical: [
    { column: "c0", vocab: ["p", "q", "r"] },
    { column: "c1", vocab: ["u", "v"] },
  ],
  tasks: spec.tasks.map((t) => ({ name: t.name, classes: t.classes, groups: t.group_by ? ["g0", "g1", "g2"] : null, target: null })),
});

/** Random encoded rows; some labels missing (mask 0) so masking is part of what is checked. */
function data(n: number, rng: Rng): Encoded {
  const f = (len: number, g: () => number) => Float32Array.from({ length: len }, g);
  const mask = () => f(n, () => (rng.next() < 0.8 ? 1 : 0));
  return {
    rows: n,
    numeric: f(n * 5, () => rng.normal()),
    categorical: [Int32Array.from({ length: n }, () => rng.int(4)), Int32Array.from({ length: n }, () => rng.int(3))],
    tensor: new Float32Array(0),
    tasks: [
      { labels: f(n, () => (rng.next() < 0.5 ? 1 : 0)), mask: mask(), group: new Int32Array(0) },
      { labels: Int32Array.from({ length: n }, () => rng.int(3)), mask: mask(), group: new Int32Array(0) },
      { labels: f(n, () => rng.normal()), mask: mask(), group: new Int32Array(0) },
      { labels: f(n, () => 2 * rng.normal()), mask: mask(), group: Int32Array.from({ length: n }, () => rng.int(3)) },
      { labels: f(n * 2, () => (rng.next() < 0.5 ? 1 : 0)), mask: mask(), group: new Int32Array(0) },
    ],
  };
}

function check(name: string, spec: ModelSpec, tol = 2e-2) {
  test(`${name}: backward equals finite differences of the forward objective`, () => {
    const rng = new Rng(7);
    const model = new Model(spec, pre(spec), k);
    model.initParams(3);
    // Non-zero group deviations and biases, so every path carries gradient.
    const w = model.getWeights();
    for (const [pn, v] of Object.entries(w)) if (/bias|groups|ln_bias/.test(pn)) v.forEach((_, i) => (v[i] = 0.3 * rng.normal()));
    model.setWeights(w);
    const built = model.program(6, true);
    const enc = data(5, rng); // 5 rows in a batch of 6: the padding row must contribute nothing
    const order = Int32Array.from({ length: 5 }, (_, i) => i);
    const scales = [1, 0.5, 2, 1.5, 0.8];
    const objective = () => {
      model.rng.counter = 0; // same dropout mask every forward
      model.feed(built, enc, order, 0, 5);
      for (const f of built.program.forward) f();
      let s = 0;
      scales.forEach((c, t) => (s += c * built.io.losses[t]));
      spec.training.relations.forEach((r, i) => (s += r.lambda * built.io.relations[i]));
      return s;
    };
    objective();
    built.io.scales.set(scales);
    for (const f of built.program.backward) f();
    const grads = model.arena.readF32(model.store.g, model.store.total);
    const p = model.arena.f32(model.store.p, model.store.total);
    const h = 2e-3;
    for (const param of model.store.params) {
      const idx = Array.from({ length: Math.min(param.size, 24) }, () => param.offset + rng.int(param.size));
      const analytic: number[] = [], numeric: number[] = [];
      for (const i of idx) {
        const v = p[i];
        p[i] = v + h;
        const up = objective();
        p[i] = v - h;
        const down = objective();
        p[i] = v;
        analytic.push(grads[i]);
        numeric.push((up - down) / (2 * h));
      }
      const e = relErr(analytic, numeric, 1e-4);
      assert.ok(e <= tol, `${param.name}: relative error ${e.toExponential(2)} (analytic ${analytic.slice(0, 4).map((x) => x.toExponential(3))} vs numeric ${numeric.slice(0, 4).map((x) => x.toExponential(3))})`);
    }
  });
}

check("hps with layer norm and dropout", makeSpec({ type: "hps", layers: [{ units: 8, activation: "relu", layernorm: true, dropout: 0.25 }, { units: 6, activation: "relu" }] }));
check("mmoe", makeSpec({ type: "mmoe", experts: 3, layers: [7, { units: 6, activation: "tanh" }] }));
check("cgc", makeSpec({ type: "cgc", shared_experts: 2, task_experts: 1, layers: [{ units: 6, activation: "gelu" }] }));
check("linear (no hidden layers)", makeSpec({ type: "hps", layers: [] }));

test("a masked row's label never reaches the gradient", () => {
  const spec = makeSpec({ type: "mmoe", experts: 2, layers: [5] });
  const model = new Model(spec, pre(spec), k);
  model.initParams(1);
  const built = model.program(6, true);
  const rng = new Rng(11);
  const enc = data(6, rng);
  const order = Int32Array.from({ length: 6 }, (_, i) => i);
  const run = () => {
    model.feed(built, enc, order, 0, 6);
    for (const f of built.program.forward) f();
    built.io.scales.fill(1);
    for (const f of built.program.backward) f();
    return { g: model.arena.readF32(model.store.g, model.store.total), losses: Float64Array.from(built.io.losses) };
  };
  enc.tasks[2].mask[1] = 0;
  const a = run();
  (enc.tasks[2].labels as Float32Array)[1] = NaN; // garbage in a masked row
  const b = run();
  assert.equal(Array.from(b.g), Array.from(a.g));
  assert.equal(Array.from(b.losses), Array.from(a.losses));
  assert.ok(b.g.every(Number.isFinite));
});

test.run();
