// DSelect-k as an architecture (src/arch/dselect-k.ts): spec errors; the whole model's gradient (task losses, the
// entropy term and, with 5 experts, the reach term) equals central differences of the objective for every
// parameter element; the trainer's objective equals the weighted task losses + λ·(mean selector entropy computed
// here in float64 from the weights); and training on the MMoE synthetic data with λ > 0 makes the selectors (near)
// binary while λ = 0 leaves them much softer.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { setup, Rng, relErr, throwsWith, WASM_PATH } from "../helpers.ts";
import { validateSpec, type ModelSpec } from "../../src/model/spec.ts";
import { Model } from "../../src/model/model.ts";
import { localGradients } from "../../src/train/trainer.ts";
import type { Encoded, Preprocessing } from "../../src/data/preprocess.ts";
import { mmoeSynthetic } from "../../src/data/synthetic.ts";
import { train } from "../../src/api/train.ts";
import { bitsFor, selectors } from "../ref/dselect.ts";

const { k } = await setup();
const D = 5, BATCH = 6, ROWS = 5; // 5 real rows in a batch of 6: the padding row must not count

const specOf = (architecture: Record<string, unknown>): ModelSpec =>
  validateSpec({
    name: "ds",
    inputs: { tensor: D },
    architecture: { type: "dselect_k", layers: [{ units: 4, activation: "tanh" }], ...architecture },
    tasks: [
      { name: "bin", type: "binary", label: "yb", pos_weight: 2, weight: 0.7, tower: [{ units: 3, activation: "tanh" }] },
      { name: "reg", type: "regression", label: "yr", weight: 1.3, tower: [{ units: 3, activation: "gelu" }] },
      { name: "cls", type: "multiclass", label: "yc", classes: ["a", "b", "c"], weight: 0.9 },
    ],
    training: { batch_size: BATCH },
  });
const pre = (spec: ModelSpec): Preprocessing => ({ numeric: [], categorical: [], tasks: spec.tasks.map((t) => ({ name: t.name, classes: t.classes, groups: null, target: null })) });

function data(n: number, rng: Rng): Encoded {
  const f = (len: number, g: () => number) => Float32Array.from({ length: len }, g);
  const mask = () => f(n, () => (rng.next() < 0.85 ? 1 : 0));
  return {
    rows: n, numeric: new Float32Array(0), categorical: [], tensor: rng.f32(n * D, () => rng.normal()),
    tasks: [
      { labels: f(n, () => (rng.next() < 0.5 ? 1 : 0)), mask: mask(), group: new Int32Array(0) },
      { labels: f(n, () => rng.normal()), mask: mask(), group: new Int32Array(0) },
      { labels: Int32Array.from({ length: n }, () => rng.int(3)), mask: mask(), group: new Int32Array(0) },
    ],
  };
}

/** Weights from each parameter's name: U·√(3/fan_in) (gate z scaled so z sits on both sides of the band), biases 0.3·N. */
function setTestWeights(model: Model): void {
  const w = model.getWeights();
  for (const [name, v] of Object.entries(w)) {
    const r = new Rng([...name].reduce((h, c) => Math.imul(h ^ c.charCodeAt(0), 0x01000193), 0x811c9dc5) >>> 0);
    const fan = v.length / (model.store.params.find((p) => p.name === name)!.shape.at(-1) ?? 1);
    const s = /\.z\.weight$/.test(name) ? 0.45 : 1.2;
    v.forEach((_, i) => (v[i] = name.endsWith(".bias") ? 0.3 * r.normal() : s * r.uniform() * Math.sqrt(3 / fan)));
  }
  model.setWeights(w);
}

/** Selector outputs of each row, float64, from the weights: z = x·W_z + b_z. */
function rowSelectors(w: Record<string, Float32Array>, task: string, x: ArrayLike<number>, rows: number, dim: number, E: number, kk: number, gamma: number): number[][][] {
  const W = w[`gate.${task}.z.weight`], b = w[`gate.${task}.z.bias`], cols = b.length;
  assert.is(cols, kk * bitsFor(E));
  return Array.from({ length: rows }, (_, r) => {
    const z = Array.from({ length: cols }, (_, c) => {
      let s = b[c];
      for (let i = 0; i < dim; i++) s += x[r * dim + i] * W[i * cols + c];
      return s;
    });
    return selectors(z, 0, kk, E, gamma);
  });
}
const entropy = (p: number[]) => p.reduce((h, x) => h - x * Math.log(x + 1e-6), 0);

test("spec: k ≤ experts, gamma > 0, entropy ≥ 0, experts ≥ 2, and the fields only for dselect_k", () => {
  const base = { inputs: { tensor: 3 }, tasks: [{ name: "a", type: "regression", label: "a" }] };
  const v = (architecture: Record<string, unknown>) => () => validateSpec({ ...base, architecture: { layers: [4], ...architecture } });
  throwsWith(v({ type: "dselect_k", experts: 4, k: 5 }), "architecture.k: must be ≤ experts (4), found 5");
  throwsWith(v({ type: "dselect_k", experts: 4 }), "architecture.k", "required");
  throwsWith(v({ type: "dselect_k", experts: 4, k: 0 }), "architecture.k", "[1, 1024]");
  throwsWith(v({ type: "dselect_k", experts: 4, k: 2, gamma: 0 }), "architecture.gamma: must be > 0, found 0");
  throwsWith(v({ type: "dselect_k", experts: 4, k: 2, entropy: -1 }), "architecture.entropy: must be ≥ 0, found -1");
  throwsWith(v({ type: "dselect_k", experts: 1, k: 1 }), "architecture.experts", "[2, 1024]");
  throwsWith(v({ type: "mmoe", experts: 4, k: 2 }), 'architecture.k: only applies to type "dselect_k", not "mmoe"');
  throwsWith(v({ type: "cgc", shared_experts: 1, task_experts: 1, gamma: 2 }), 'architecture.gamma: only applies to type "dselect_k"');
  const s = validateSpec({ ...base, architecture: { type: "dselect_k", experts: 6, k: 2, layers: [4] } });
  assert.equal([s.architecture.experts, s.architecture.k, s.architecture.gamma, s.architecture.entropy], [6, 2, 1, 0]);
});

test("graph: terms dselect.<task> (λ > 0) and dselect.<task>.reach (experts not a power of two); none when λ = 0 and E = 2^m", () => {
  const m1 = new Model(specOf({ experts: 5, k: 2, entropy: 0.25 }), pre(specOf({ experts: 5, k: 2 })), k);
  assert.equal(m1.graph.terms, ["bin", "reg", "cls"].flatMap((t) => [{ name: `dselect.${t}`, lambda: 0.25 }, { name: `dselect.${t}.reach`, lambda: 1 }]));
  const m2 = new Model(specOf({ experts: 4, k: 2 }), pre(specOf({ experts: 4, k: 2 })), k);
  assert.equal(m2.graph.terms, []);
  assert.equal(m2.graph.nodes.filter((n) => n.op === "moe_combine").map((n) => [n.inputs[0].name, n.inputs[1].producer!.op]), [["experts", "dselect_gate"], ["experts", "dselect_gate"], ["experts", "dselect_gate"]]);
});

/** Every parameter's gradient after one step vs Richardson-extrapolated central differences of J (float64 sum). */
function gradcheck(spec: ModelSpec): string[] {
  const model = new Model(spec, pre(spec), k);
  model.initParams(3);
  setTestWeights(model);
  const built = model.program(BATCH, true), { io, program } = built, { store, arena } = model;
  const w = spec.tasks.map((t) => t.weight), terms = model.graph.terms;
  const order = Int32Array.from({ length: BATCH }, (_, i) => i);
  const rows = data(ROWS, new Rng(7)), stale = data(BATCH, new Rng(99));
  const forward = (enc: Encoded, n: number) => {
    model.feed(built, enc, order, 0, n);
    for (const f of program.forward) f();
  };
  // Stale gradient buffers first (another batch, other scales); then the gradient block is NaN until written.
  forward(stale, BATCH);
  io.scales.set([2, -1, 0.5]);
  for (const f of program.backward) f();
  arena.f32(store.g, store.total).fill(NaN);
  forward(rows, ROWS);
  io.scales.set(w);
  for (const f of program.backward) f();
  const grads = arena.readF32(store.g, store.total);
  const J = () => {
    forward(rows, ROWS);
    let s = 0;
    w.forEach((x, t) => (s += x * io.losses[t]));
    terms.forEach((r, i) => (s += r.lambda * io.relations[i]));
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
  const H = 4e-3, failures: string[] = [];
  for (const q of store.params) {
    const an: number[] = [], fd: number[] = [];
    for (let i = q.offset; i < q.offset + q.size; i++) {
      an.push(grads[i]);
      fd.push((4 * diff(i, H / 2) - diff(i, H)) / 3);
    }
    const e = relErr(an, fd, 2e-3 * Math.sqrt(q.size));
    if (!(e <= 5e-3)) failures.push(`${q.name} [${q.shape}]: relative error ${e.toExponential(2)}; analytic ${an.slice(0, 4).map((x) => x.toExponential(3))}, differences ${fd.slice(0, 4).map((x) => x.toExponential(3))}`);
  }
  return failures;
}

for (const [label, arch] of [
  ["8 experts, k = 2, γ = 1, λ = 0.3", { experts: 8, k: 2, gamma: 1, entropy: 0.3 }],
  ["5 experts (reach term), k = 3, γ = 1.3, λ = 0.2", { experts: 5, k: 3, gamma: 1.3, entropy: 0.2 }],
  ["3 experts, k = 1, γ = 0.7, λ = 0", { experts: 3, k: 1, gamma: 0.7 }],
] as const) {
  test(`whole model, ${label}: every gradient element equals central differences of the objective`, () => {
    const f = gradcheck(specOf(arch));
    assert.ok(f.length === 0, f.join("\n"));
  });
}

test("the trainer's objective = Σ w_t·L_t + λ·mean over real rows of Σ_i H(r_i) (float64 here), per task", () => {
  const E = 8, K = 2, gamma = 1, lambda = 0.3;
  const spec = specOf({ experts: E, k: K, gamma, entropy: lambda });
  const model = new Model(spec, pre(spec), k);
  model.initParams(3);
  setTestWeights(model);
  const src = localGradients(model, BATCH);
  const rows = data(ROWS, new Rng(5)), w = spec.tasks.map((t) => t.weight);
  let weighted = 0;
  const obj = src.compute(rows, Int32Array.from({ length: BATCH }, (_, i) => i), 0, ROWS, (L, S) => {
    S.set(w);
    weighted = w.reduce((s, x, t) => s + x * L[t], 0);
    return weighted;
  });
  const weights = model.getWeights();
  let want = weighted;
  spec.tasks.forEach((t, i) => {
    const sel = rowSelectors(weights, t.name, rows.tensor, ROWS, D, E, K, gamma);
    const mean = sel.reduce((s, r) => s + r.reduce((h, p) => h + entropy(p), 0), 0) / ROWS;
    assert.ok(mean > 0.1, `${t.name}: entropy ${mean} is not trivially 0`);
    assert.ok(Math.abs(src.relations[i] - mean) <= 1e-5 * mean, `${t.name}: term ${src.relations[i]}, float64 mean entropy ${mean}`);
    want += lambda * mean;
  });
  assert.ok(Math.abs(obj - want) <= 1e-6 * Math.abs(want), `objective ${obj}, expected ${want}`);
});

// The MMoE synthetic data (Ma et al. 2018), 16 inputs, ρ = 0.5, 30 epochs: measured on the first 400 rows, with
// λ = 1 most selectors end on one expert (max_j r_ij ≥ 0.9; ≥ 0.99 for most too) and the mean entropy falls several
// fold against λ = 0. (Per-example gating keeps some rows near a bit's hyperplane, so not all reach 0.99.)
const DIM = 16;
const syn = mmoeSynthetic({ rows: 2000, dim: DIM, correlation: 0.5, seed: 4 });
const synRows = Array.from({ length: syn.rows }, (_, r) => ({ ...Object.fromEntries(Array.from({ length: DIM }, (_, i) => [`x${i}`, syn.x[r * DIM + i]])), y1: syn.y1[r], y2: syn.y2[r] }));
const synSpec = (entropy: number) => ({
  name: "syn-dselect",
  inputs: { numeric: Array.from({ length: DIM }, (_, i) => `x${i}`) },
  architecture: { type: "dselect_k", experts: 8, k: 2, entropy, layers: [16] },
  tasks: [
    { name: "y1", type: "regression", label: "y1", tower: [8] },
    { name: "y2", type: "regression", label: "y2", tower: [8] },
  ],
  training: { epochs: 30, batch_size: 64, seed: 3, validation: 0.2, optimizer: { type: "adam", lr: 0.01 } },
});

test("training on the MMoE synthetic data: λ > 0 makes the selectors (near) binary", async () => {
  const kernels = await WebAssembly.compile(readFileSync(WASM_PATH));
  const stats: Record<string, { binary: number; near: number; entropy: number }> = {};
  const LAMBDA = 1;
  for (const lambda of [0, LAMBDA]) {
    const run = await train(synSpec(lambda), synRows, { kernels, threads: 1, onWarning: () => {} });
    const wts = run.model.getWeights(), num = run.model.pre.numeric;
    const val = synRows.slice(0, 400);
    const x = Float64Array.from(val.flatMap((r) => num.map((c) => ((r[c.column as keyof typeof r] as number) - c.mean) / c.std)));
    let binary = 0, near = 0, ent = 0, n = 0;
    for (const t of ["y1", "y2"])
      for (const row of rowSelectors(wts, t, x, val.length, DIM, 8, 2, 1))
        for (const p of row) (binary += Math.max(...p) >= 0.99 ? 1 : 0), (near += Math.max(...p) >= 0.9 ? 1 : 0), (ent += entropy(p)), n++;
    stats[lambda] = { binary: binary / n, near: near / n, entropy: ent / n };
    await run.dispose();
  }
  const show = (l: number) => `λ = ${l}: ${stats[l].binary.toFixed(3)} / ${stats[l].near.toFixed(3)} / ${stats[l].entropy.toFixed(3)}`;
  console.log(`  selectors with max_j r_ij ≥ 0.99 / ≥ 0.9 / mean entropy (nats): ${show(0)}; ${show(LAMBDA)}`);
  const on = stats[LAMBDA], off = stats[0];
  assert.ok(on.near >= 0.8 && on.binary >= 0.7, `λ = ${LAMBDA}: only ${on.near} (${on.binary}) of the selectors reach 0.9 (0.99)`);
  assert.ok(on.entropy < 0.15 && on.entropy < off.entropy / 4, `λ = ${LAMBDA}: mean entropy ${on.entropy} vs λ = 0: ${off.entropy}`);
  assert.ok(off.near < 0.5, `λ = 0: ${off.near} of the selectors reach 0.9 already; the regularizer's effect is not shown`);
});

test.run();
