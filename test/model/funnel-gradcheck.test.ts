// Whole-model gradient check of the funnel heads: click → cart (aitm) → conversion (esmm after click, or aitm after
// cart). After one training step (static weighting, scales = task weights, stale gradients and a NaN-filled gradient
// block before it), every parameter element's gradient equals central differences (Richardson, as
// test/model/gradcheck.test.ts) of J = Σ_t w_t·L_t + Σ_i λ_i·term_i, the terms being the graph's (AITM calibrators),
// read independently from the model's own host values in float64. Masked labels and a padding row included.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup, Rng, relErr } from "../helpers.ts";
import { validateSpec, type ModelSpec } from "../../src/model/spec.ts";
import { Model } from "../../src/model/model.ts";
import type { Encoded, Preprocessing } from "../../src/data/preprocess.ts";

const { k } = await setup();
const BATCH = 8, ROWS = 7, H = 1e-2, TOL = 5e-3;

const makeSpec = (last: "esmm" | "aitm"): ModelSpec =>
  validateSpec({
    inputs: { numeric: ["x0", "x1", "x2", "x3"] },
    architecture: { type: "hps", layers: [{ units: 6, activation: "tanh" }] },
    tasks: [
      { name: "click", type: "binary", label: "y0", weight: 0.8, tower: [{ units: 4, activation: "tanh" }] },
      { name: "cart", type: "binary", label: "y1", weight: 1.3, tower: [{ units: 5, activation: "tanh" }], funnel: "aitm", after: "click", calibrator: 2.5 },
      { name: "buy", type: "binary", label: "y2", weight: 0.6, tower: [{ units: 3, activation: "tanh" }], funnel: last, after: last === "esmm" ? "click" : "cart" },
    ],
    training: { batch_size: BATCH },
  });
const pre = (spec: ModelSpec): Preprocessing => ({
  numeric: spec.inputs.numeric.map((column) => ({ column, mean: 0, std: 1 })),
  categorical: [],
  tasks: spec.tasks.map((t) => ({ name: t.name, classes: null, groups: null, target: null })),
});
const data = (n: number, rng: Rng): Encoded => ({
  rows: n,
  numeric: Float32Array.from({ length: n * 4 }, () => 1.5 * rng.normal()),
  categorical: [],
  tensor: new Float32Array(0),
  tasks: [0, 1, 2].map(() => ({ labels: Float32Array.from({ length: n }, () => (rng.next() < 0.5 ? 1 : 0)), mask: Float32Array.from({ length: n }, () => (rng.next() < 0.8 ? 1 : 0)), group: new Int32Array(0) })),
});

function gradcheck(spec: ModelSpec): string[] {
  const model = new Model(spec, pre(spec), k);
  model.initParams(5);
  const rng = new Rng(11);
  // Larger weights than the initializer's, so the calibrator's hinge is active on some rows and not on others.
  const w = model.getWeights();
  for (const name of Object.keys(w)) w[name] = w[name].map(() => (name.endsWith("bias") ? 0.4 : 1.2) * rng.normal());
  model.setWeights(w);
  const built = model.program(BATCH, true), { io, program } = built, { store, arena } = model;
  const order = Int32Array.from({ length: BATCH }, (_, i) => i);
  const forward = (enc: Encoded, count: number) => {
    model.feed(built, enc, order, 0, count);
    for (const f of program.forward) f();
  };
  const terms = model.graph.terms;
  assert.is(terms.length, spec.tasks.filter((t) => t.funnel === "aitm").length, "one calibrator term per aitm task");
  // Stale step, then NaN gradients.
  forward(data(BATCH, new Rng(3)), BATCH);
  io.scales.set([2, -1, 0.5]);
  for (const f of program.backward) f();
  arena.f32(store.g, store.total).fill(NaN);
  const rows = data(ROWS, new Rng(4));
  forward(rows, ROWS);
  io.scales.set(spec.tasks.map((t) => t.weight));
  for (const f of program.backward) f();
  const grads = arena.readF32(store.g, store.total);
  const J = () => {
    forward(rows, ROWS);
    let s = 0;
    spec.tasks.forEach((t, i) => (s += t.weight * io.losses[i]));
    terms.forEach((t, i) => (s += t.lambda * io.relations[i]));
    return s;
  };
  const p = () => arena.f32(store.p, store.total);
  const diff = (i: number, h: number) => {
    const v = p()[i], up = Math.fround(v + h), dn = Math.fround(v - h);
    p()[i] = up;
    const a = J();
    p()[i] = dn;
    const b = J();
    p()[i] = v;
    return (a - b) / (up - dn);
  };
  const failures: string[] = [];
  let skipped = 0, checked = 0;
  for (const param of store.params) {
    const an: number[] = [], nu: number[] = [];
    for (let j = 0; j < param.size; j++) {
      const i = param.offset + j;
      if (!Number.isFinite(grads[i])) {
        failures.push(`${param.name}[${j}] gradient not finite`);
        continue;
      }
      const [a, b, c] = [diff(i, 2 * H), diff(i, H), diff(i, H / 2)];
      // A kink (relu, the hinge) within reach: differences at 2h, h, h/2 disagree beyond O(h⁴); skip (bounded).
      if (Math.abs(a - 5 * b + 4 * c) > 1e-4 + 1e-3 * Math.abs(b)) {
        skipped++;
        continue;
      }
      an.push(grads[i]);
      nu.push((4 * b - a) / 3);
    }
    checked += param.size;
    const e = relErr(an, nu, 2e-3 * Math.sqrt(an.length));
    if (!(e <= TOL)) failures.push(`${param.name} [${param.shape}]: relative error ${e.toExponential(2)}`);
  }
  if (skipped > 0.05 * checked) failures.push(`${skipped} of ${checked} elements skipped near kinks`);
  model.dispose();
  return failures;
}

for (const last of ["esmm", "aitm"] as const) {
  test(`click → cart (aitm) → buy (${last}): every gradient element equals finite differences of the objective`, () => {
    const f = gradcheck(makeSpec(last));
    assert.ok(f.length === 0, f.join("\n"));
  });
}

test("spec errors name the task and the field", () => {
  const base = (t: Record<string, unknown>) => ({ inputs: { numeric: ["x"] }, tasks: [{ name: "click", type: "binary", label: "c" }, { name: "buy", type: "binary", label: "b", ...t }] });
  const msg = (t: Record<string, unknown>) => {
    try {
      validateSpec(base(t));
    } catch (e) {
      return (e as Error).message;
    }
    return "";
  };
  assert.match(msg({ funnel: "esmm" }), /tasks\[1\]\.after: funnel "esmm" needs "after"/);
  assert.match(msg({ after: "click" }), /tasks\[1\]\.funnel: "after" needs "funnel"/);
  assert.match(msg({ funnel: "esmm", after: "nope" }), /tasks\[1\]\.after: no task named "nope"/);
  assert.match(msg({ funnel: "esmm", after: "buy" }), /tasks\[1\]\.after: task "buy" must come before "buy"/);
  assert.match(msg({ funnel: "esmm", after: "click", calibrator: 1 }), /tasks\[1\]\.calibrator: only applies to funnel "aitm"/);
  assert.match(msg({ funnel: "aitm", after: "click", type: "regression" }), /tasks\[1\]\.funnel: funnel heads are for binary tasks/);
  assert.is(validateSpec(base({ funnel: "aitm", after: "click" })).tasks[1].calibrator, 0.6);
});

test.run();
