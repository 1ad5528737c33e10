// Gate insight (src/metrics/gates.ts): per mixture of experts, the mean and std over rows of each expert's gate
// weight. Hand-set gates are checked against a float64 softmax written here; expert labels and tasks come from the
// graph walk (MMoE and CGC); a trained MMoE (train() and `mtl train`) reports gates whose means sum to 1.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng, setup, WASM_PATH } from "../helpers.ts";
import { validateSpec } from "../../src/model/spec.ts";
import { Model } from "../../src/model/model.ts";
import type { Encoded, Preprocessing } from "../../src/data/preprocess.ts";
import { gateLines, gateWeights, mixtures } from "../../src/metrics/gates.ts";
import { mmoeSynthetic } from "../../src/data/synthetic.ts";
import { train } from "../../src/api/train.ts";
import { main } from "../../src/cli/main.ts";

const D = 4;
const pre: Preprocessing = { numeric: [], categorical: [], tasks: ["a", "b"].map((name) => ({ name, classes: null, groups: null, target: null })) };

function specOf(architecture: Record<string, unknown>) {
  return validateSpec({
    name: "gates",
    inputs: { tensor: D },
    architecture,
    tasks: [
      { name: "a", type: "regression", label: "a", tower: [3] },
      { name: "b", type: "regression", label: "b", tower: [3] },
    ],
    training: { epochs: 1, batch_size: 8, seed: 3 },
  });
}

function data(rows: number, seed: number): Encoded {
  const rng = new Rng(seed), none = new Int32Array(0);
  const lab = () => ({ labels: new Float32Array(rows), mask: new Float32Array(rows).fill(1), group: none });
  return { rows, numeric: new Float32Array(0), categorical: [], tensor: rng.f32(rows * D, () => rng.normal()), tasks: [lab(), lab()] };
}

/** float64 softmax of each row of z [R, E]. */
function softmaxRows(z: Float64Array, E: number): Float64Array {
  const p = new Float64Array(z.length);
  for (let r = 0; r < z.length / E; r++) {
    let m = -Infinity, s = 0;
    for (let j = 0; j < E; j++) m = Math.max(m, z[r * E + j]);
    for (let j = 0; j < E; j++) s += p[r * E + j] = Math.exp(z[r * E + j] - m);
    for (let j = 0; j < E; j++) p[r * E + j] /= s;
  }
  return p;
}

/** Column means and population stds of p [R, E] in float64, two passes. */
function colStats(p: Float64Array, E: number): { mean: number[]; std: number[] } {
  const R = p.length / E, mean = new Array(E).fill(0), std = new Array(E).fill(0);
  for (let r = 0; r < R; r++) for (let j = 0; j < E; j++) mean[j] += p[r * E + j] / R;
  for (let r = 0; r < R; r++) for (let j = 0; j < E; j++) std[j] += (p[r * E + j] - mean[j]) ** 2 / R;
  return { mean, std: std.map(Math.sqrt) };
}

const close = (got: number[], want: number[], tol: number, what: string) => {
  assert.is(got.length, want.length, `${what}: length`);
  got.forEach((g, j) => assert.ok(Math.abs(g - want[j]) <= tol, `${what}[${j}]: got ${g}, expected ${want[j]} (tolerance ${tol})`));
};

test("hand-set MMoE gates: constant softmax(bias) and softmax(x·W + b) averaged over rows, against float64", async () => {
  const { k } = await setup();
  const E = 3;
  const model = new Model(specOf({ type: "mmoe", experts: E, layers: [{ units: 6, dropout: 0.2 }, 5] }), pre, k);
  model.initParams(5);
  const w = model.getWeights();
  // Task a: zero weights, chosen biases → every row's gate is softmax(bias).
  const biasA = [0.5, -1, 2];
  w["gate.a.weight"] = new Float32Array(D * E);
  w["gate.a.bias"] = Float32Array.from(biasA);
  // Task b: seeded weights and biases, W [D, E] row-major.
  const rng = new Rng(11);
  w["gate.b.weight"] = rng.f32(D * E, () => rng.uniform(-1.5, 1.5));
  w["gate.b.bias"] = rng.f32(E, () => rng.uniform(-0.5, 0.5));
  model.setWeights(w);
  // 37 rows in batches of 16: two full batches and a partial one (padding rows must not count).
  const x = data(37, 2);
  const g = gateWeights(model, x, 16);
  assert.equal(Object.keys(g), ["mix.a", "mix.b"]);

  const constA = colStats(softmaxRows(Float64Array.from(biasA), E), E).mean;
  assert.equal(g["mix.a"].experts, ["expert.0", "expert.1", "expert.2"]);
  assert.is(g["mix.a"].task, "a");
  assert.is(g["mix.a"].rows, 37);
  close(g["mix.a"].mean, constA, 1e-6, "mix.a mean");
  close(g["mix.a"].std, [0, 0, 0], 1e-6, "mix.a std");

  const W = w["gate.b.weight"], b = w["gate.b.bias"];
  const z = new Float64Array(x.rows * E);
  for (let r = 0; r < x.rows; r++) for (let j = 0; j < E; j++) {
    let s = b[j];
    for (let i = 0; i < D; i++) s += x.tensor[r * D + i] * W[i * E + j];
    z[r * E + j] = s;
  }
  const want = colStats(softmaxRows(z, E), E);
  assert.ok(Math.min(...want.std) > 0.05, `the reference gates vary over rows (std ${want.std})`);
  assert.is(g["mix.b"].task, "b");
  close(g["mix.b"].mean, want.mean, 1e-5, "mix.b mean");
  close(g["mix.b"].std, want.std, 1e-5, "mix.b std");
  // The same numbers whatever the batch.
  close(gateWeights(model, x, 512)["mix.b"].mean, g["mix.b"].mean, 1e-6, "mix.b mean at batch 64");
  assert.equal(gateLines(g)[0], `gates a: expert.0 ${constA[0].toFixed(2)} · expert.1 ${constA[1].toFixed(2)} · expert.2 ${constA[2].toFixed(2)}`);
  model.dispose();
});

test("CGC: each task's mixture lists its own experts then the shared ones, labels from the graph", async () => {
  const { k } = await setup();
  const model = new Model(specOf({ type: "cgc", shared_experts: 2, task_experts: 1, layers: [4, { units: 3, activation: "tanh" }] }), pre, k);
  model.initParams(1);
  const m = mixtures(model.graph);
  assert.equal(m.map((x) => [x.node.name, x.task, x.experts]), [
    ["mix.a", "a", ["task_expert.a.0", "shared_expert.0", "shared_expert.1"]],
    ["mix.b", "b", ["task_expert.b.0", "shared_expert.0", "shared_expert.1"]],
  ]);
  const g = gateWeights(model, data(20, 4));
  for (const s of Object.values(g)) assert.ok(Math.abs(s.mean.reduce((p, q) => p + q, 0) - 1) < 1e-6, `means sum to 1: ${s.mean}`);
  model.dispose();
});

test("HPS has no mixtures: no gates", async () => {
  const { k } = await setup();
  const model = new Model(specOf({ type: "hps", layers: [4] }), pre, k);
  model.initParams(1);
  assert.equal(gateWeights(model, data(10, 1)), {});
  model.dispose();
});

// ---- trained on Ma et al.'s synthetic data ----------------------------------------------------------------------
const DIM = 8;
const syn = mmoeSynthetic({ rows: 500, dim: DIM, correlation: 0.5, seed: 9 });
const rows = Array.from({ length: syn.rows }, (_, r) => ({ ...Object.fromEntries(Array.from({ length: DIM }, (_, i) => [`x${i}`, syn.x[r * DIM + i]])), y1: syn.y1[r], y2: syn.y2[r] }));
const synSpec = {
  name: "syn-mmoe",
  inputs: { numeric: Array.from({ length: DIM }, (_, i) => `x${i}`) },
  architecture: { type: "mmoe", experts: 4, layers: [8] },
  tasks: [
    { name: "y1", type: "regression", label: "y1", tower: [4] },
    { name: "y2", type: "regression", label: "y2", tower: [4] },
  ],
  training: { epochs: 4, batch_size: 32, seed: 2, validation: 0.2, optimizer: { type: "adam", lr: 0.01 } },
};
const sumsToOne = (s: { mean: number[] }, what: string) => assert.ok(Math.abs(s.mean.reduce((p, q) => p + q, 0) - 1) < 1e-6, `${what}: means ${s.mean} sum to ${s.mean.reduce((p, q) => p + q, 0)}`);

test("train(): a trained MMoE's gates over the validation rows, means sum to 1 per gate", async () => {
  const run = await train(synSpec, rows, { kernels: await WebAssembly.compile(readFileSync(WASM_PATH)), threads: 1, onWarning: () => {} });
  assert.equal(Object.keys(run.gates), ["mix.y1", "mix.y2"]);
  for (const [name, s] of Object.entries(run.gates)) {
    sumsToOne(s, name);
    assert.is(s.rows, run.rows.validation);
    assert.equal(s.experts, ["expert.0", "expert.1", "expert.2", "expert.3"]);
    assert.ok(s.mean.every((v) => v > 0 && v < 1), `${name}: means in (0, 1): ${s.mean}`);
  }
  await run.dispose();
});

test("mtl train: metrics.json's gates and one summary line per task", async () => {
  const dir = mkdtempSync(join(tmpdir(), "mtl-gates-"));
  const header = Object.keys(rows[0]);
  writeFileSync(join(dir, "d.csv"), [header.join(","), ...rows.map((r) => header.map((h) => String((r as Record<string, number>)[h])).join(","))].join("\n") + "\n");
  writeFileSync(join(dir, "s.json"), JSON.stringify({ ...synSpec, data: { format: "csv", path: join(dir, "d.csv") } }));
  const lines: string[] = [], errors: string[] = [];
  const code = await main(["train", join(dir, "s.json"), "--out", join(dir, "out"), "--threads", "1"], () => WebAssembly.compile(readFileSync(WASM_PATH)), { log: (l) => void lines.push(l), error: (l) => void errors.push(l) });
  assert.is(code, 0, errors.join("\n"));
  const m = JSON.parse(readFileSync(join(dir, "out", "metrics.json"), "utf8"));
  assert.equal(Object.keys(m.gates), ["mix.y1", "mix.y2"]);
  for (const [name, s] of Object.entries(m.gates) as [string, { mean: number[]; rows: number; task: string }][]) {
    sumsToOne(s, name);
    assert.is(s.rows, m.rows.validation);
    assert.is(s.task, name.slice(4));
    const line = lines.find((l) => l.startsWith(`gates ${s.task}: `));
    assert.ok(line, `a summary line for ${s.task} in:\n${lines.join("\n")}`);
    assert.is(line, `gates ${s.task}: ${s.mean.map((v, j) => `expert.${j} ${v.toFixed(2)}`).join(" · ")}`);
  }
});

test.run();
