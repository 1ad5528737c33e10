// Whole-model gradient check of PLE and cross-stitch (the harness of gradcheck.test.ts, reduced to static
// weighting without regularizers): after a stale step (other rows, other loss scales) and with the gradient
// block NaN-filled, one backward's gradient of J = Σ_t w_t·L_t equals float64-accumulated central differences of
// J for EVERY parameter element (relative error ≤ 5e-3 per tensor, rms floor 2e-3; elements next to a relu
// kink are skipped, at most 5 %). Also per task (program.backwardFor([loss_t]), what gradient-balancing
// strategies run): there the other tasks' columns send no gradient into a cross-stitch unit (0 dy entries).
// Cases: PLE with 2 levels, gate_input "previous" and "raw" (dropout on); cross-stitch over dense columns (3
// tasks) and over conv columns (conv → batch norm → pool → flatten → dense on an 6×6 image).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup, Rng, relErr } from "../helpers.ts";
import { validateSpec, type ModelSpec } from "../../src/model/spec.ts";
import { Model } from "../../src/model/model.ts";
import type { Encoded, Preprocessing } from "../../src/data/preprocess.ts";

const { k } = await setup();
// KINK_ABS: float32 noise of the finite differences at h/2 reaches ~3e-5 on small gradients (the dselect gate's α).
const TOL = 5e-3, FLOOR_RMS = 2e-3, KINK_ABS = 1e-4, KINK_REL = 1e-3, MAX_SKIPPED = 0.05;
const BATCH = 6, ROWS = 5; // the padding row must contribute nothing

const TASKS = [
  { name: "bin", type: "binary", label: "yb", pos_weight: 1.7, weight: 0.8, tower: [{ units: 3, activation: "tanh" }] },
  { name: "reg", type: "regression", label: "yr", weight: 1.3 },
  { name: "abs", type: "regression", label: "ya", loss: "huber", weight: 0.6, tower: [{ units: 2, activation: "gelu" }] },
];

interface Case {
  spec: ModelSpec;
  data: (n: number, rng: Rng) => Encoded;
  h: number;
}

const labels = (n: number, rng: Rng, T: number) =>
  Array.from({ length: T }, (_, t) => ({
    labels: Float32Array.from({ length: n }, () => (t === 0 ? (rng.next() < 0.5 ? 1 : 0) : rng.normal())),
    mask: Float32Array.from({ length: n }, () => (rng.next() < 0.85 ? 1 : 0)),
    group: new Int32Array(0),
  }));

function flatCase(architecture: unknown, T = 3): Case {
  const spec = validateSpec({ inputs: { numeric: ["x0", "x1", "x2", "x3"] }, architecture, tasks: TASKS.slice(0, T), training: { batch_size: BATCH } });
  return { spec, h: 1.5e-2, data: (n, rng) => ({ rows: n, numeric: Float32Array.from({ length: n * 4 }, () => rng.normal()), categorical: [], tensor: new Float32Array(0), tasks: labels(n, rng, T) }) };
}

function imageCase(architecture: unknown): Case {
  const spec = validateSpec({ inputs: { image: { channels: 1, height: 6, width: 6 } }, architecture, tasks: TASKS.slice(0, 2), training: { batch_size: BATCH } });
  return { spec, h: 4e-3, data: (n, rng) => ({ rows: n, numeric: new Float32Array(0), categorical: [], tensor: Float32Array.from({ length: n * 36 }, () => rng.normal()), tasks: labels(n, rng, 2) }) };
}

const pre = (spec: ModelSpec): Preprocessing => ({
  numeric: spec.inputs.numeric.map((column) => ({ column, mean: 0, std: 1 })),
  categorical: [],
  tasks: spec.tasks.map((t) => ({ name: t.name, classes: t.classes, groups: null, target: null })),
});

/** Failures (one line per offending tensor) of the gradient of Σ_t scale_t·L_t; `only`: task t's backward alone. */
function gradcheck(c: Case, only?: number): { failures: string[]; checked: number; skipped: number } {
  const { spec, h: H } = c, T = spec.tasks.length;
  const model = new Model(spec, pre(spec), k);
  model.initParams(3);
  const r0 = new Rng(17);
  const w = model.getWeights();
  for (const [n, v] of Object.entries(w)) v.forEach((z, i) => (v[i] = n.endsWith("bn_running_var") ? 1 + 0.2 * r0.next() : z + 0.2 * r0.normal()));
  model.setWeights(w);
  const built = model.program(BATCH, true);
  const { io, program } = built, { store, arena } = model;
  const order = Int32Array.from({ length: BATCH }, (_, i) => i);
  const forward = (enc: Encoded, count: number, counter = 0) => {
    model.rng.counter = counter; // the same dropout mask every forward
    model.feed(built, enc, order, 0, count);
    for (const f of program.forward) f();
  };
  const scales = spec.tasks.map((t, i) => (only === undefined ? t.weight : i === only ? 1 : 0));
  const backward = only === undefined ? program.backward : program.backwardFor([model.graph.tasks[only].loss!]);
  // Stale state: a full step on other rows with other scales, then every parameter gradient NaN until written.
  forward(c.data(BATCH, new Rng(99)), BATCH);
  io.scales.set(Array.from({ length: T }, (_, t) => 2.5 - 0.9 * t));
  for (const f of program.backward) f();
  arena.f32(store.g, store.total).fill(NaN);
  const rows = c.data(ROWS, new Rng(7));
  forward(rows, ROWS);
  io.scales.set(scales);
  for (const f of backward) f();
  const grads = arena.readF32(store.g, store.total);
  const objective = () => {
    forward(rows, ROWS);
    return scales.reduce((s, a, t) => s + a * io.losses[t], 0);
  };
  const p = () => arena.f32(store.p, store.total);
  const diff = (i: number, h: number) => {
    const view = p(), v = view[i], up = Math.fround(v + h), dn = Math.fround(v - h);
    view[i] = up;
    const fu = objective();
    view[i] = dn;
    const fd = objective();
    view[i] = v;
    return (fu - fd) / (up - dn);
  };
  const failures: string[] = [];
  let checked = 0, skipped = 0;
  for (const param of store.params) {
    if (param.role === "state") continue;
    const idx = Array.from({ length: param.size }, (_, j) => param.offset + j);
    const bad = idx.filter((i) => !Number.isFinite(grads[i])).length;
    if (bad) {
      failures.push(`${param.name}: ${bad} of ${param.size} gradient elements are not finite (never written, or accumulated into NaN)`);
      continue;
    }
    // Richardson over 2h, h, h/2; near a kink one octave lower, else skip (see gradcheck.test.ts).
    const D = idx.map((i) => [diff(i, 2 * H), diff(i, H), diff(i, H / 2)]);
    const rms = Math.sqrt(D.reduce((s, d) => s + d[1] * d[1], 0) / D.length), kappa = KINK_ABS + KINK_REL * rms;
    const analytic: number[] = [], numeric: number[] = [];
    let skip = 0;
    idx.forEach((i, j) => {
      let [a, b, cc] = D[j];
      if (Math.abs(a - 5 * b + 4 * cc) > kappa) {
        [a, b, cc] = [b, cc, diff(i, H / 4)];
        if (Math.abs(a - 5 * b + 4 * cc) > 2 * kappa) return void skip++;
      }
      analytic.push(grads[i]);
      numeric.push((4 * b - a) / 3);
    });
    checked += param.size;
    skipped += skip;
    if (skip > Math.max(1, param.size / 4)) failures.push(`${param.name}: ${skip} of ${param.size} elements sit on a kink`);
    if (!analytic.length) continue; // every element on a kink: reported above
    const e = relErr(analytic, numeric, FLOOR_RMS * Math.sqrt(analytic.length));
    if (!(e <= TOL)) {
      const w = analytic.map((x, j) => Math.abs(x - numeric[j])).reduce((m, d, j, arr) => (d > arr[m] ? j : m), 0);
      failures.push(`${param.name} [${param.shape}]: relative error ${e.toExponential(2)} > ${TOL}; worst element [${w}] analytic ${analytic[w].toExponential(4)}, finite differences ${numeric[w].toExponential(4)}`);
    }
  }
  if (skipped > MAX_SKIPPED * checked) failures.push(`${skipped} of ${checked} elements skipped near kinks`);
  model.dispose();
  return { failures, checked, skipped };
}

const expectPass = (r: ReturnType<typeof gradcheck>) => assert.ok(r.failures.length === 0, `${r.failures.length} finding(s) over ${r.checked} elements (${r.skipped} skipped):\n  ${r.failures.slice(0, 12).join("\n  ")}`);

const CONV_EXPERT = [{ type: "conv", filters: 2, kernel: 3, activation: "tanh" }, { type: "pool", mode: "avg", size: 2 }, { type: "flatten" }, { units: 3, activation: "tanh" }];
const PLE = (gate_input: string) => flatCase({ type: "ple", levels: 2, shared_experts: 1, task_experts: 1, gate_input, layers: [{ units: 4, activation: "tanh", dropout: 0.2 }, { units: 3, activation: "gelu" }] }, 2);
const CASES: [string, () => Case][] = [
  ["ple, 2 levels, gate_input previous", () => PLE("previous")],
  ["ple, 2 levels, gate_input raw", () => PLE("raw")],
  ["cross_stitch over dense columns, 3 tasks", () => flatCase({ type: "cross_stitch", layers: [{ units: 4, activation: "tanh" }, { units: 3, activation: "gelu" }] })],
  ["cross_stitch over conv columns (conv → batch norm → avg pool → flatten → dense)", () => imageCase({ type: "cross_stitch", layers: [{ type: "conv", filters: 2, kernel: 3, batchnorm: true, activation: "tanh" }, { type: "pool", mode: "avg", size: 2 }, { type: "flatten" }, { units: 3, activation: "tanh" }] })],
  // Conv experts under gates (the gates read the image flattened); PLE's levels above the first would read flat vectors, so one level.
  ["ple over conv experts (1 level)", () => imageCase({ type: "ple", levels: 1, shared_experts: 1, task_experts: 1, layers: CONV_EXPERT })],
  ["dselect_k over conv experts (4 experts, k 2)", () => imageCase({ type: "dselect_k", experts: 4, k: 2, layers: CONV_EXPERT })],
];
for (const [name, make] of CASES) {
  test(`${name}: every gradient element equals finite differences of Σ w_t·L_t`, () => expectPass(gradcheck(make())));
}
for (const [name, make] of [CASES[0], CASES[2], CASES[3]]) {
  test(`${name}: task 1's own backward equals finite differences of L_1`, () => expectPass(gradcheck(make(), 1)));
}

test.run();
