// Cross-stitch (src/arch/cross-stitch.ts, src/ops/cross-stitch.ts): the model's forward equals a float64
// cross-stitch network written from the paper (columns per task, x̃_i = Σ_j α[i, j]·x_j after every layer),
// reading the weights by name; α starts at the paper's 0.9 / 0.1/(T − 1); one task is the column alone; the
// spec's and the op's named errors.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup, throwsWith } from "../helpers.ts";
import { validateSpec } from "../../src/model/spec.ts";
import { Model } from "../../src/model/model.ts";
import { Graph } from "../../src/graph/graph.ts";
import { dense64, identityPre, maxDiff, numericRows, perturb, randomRows, regressionSpec, type Rows, type Weights } from "./ref.ts";

const { k } = await setup();
const LAYERS = [{ units: 4, activation: "tanh" }, { units: 3, activation: "relu" }, { units: 5, activation: "tanh" }];
const ACTS = ["tanh", "relu", "tanh"]; // LAYERS' activations

/** Misra et al.'s network in float64: per layer, every column's dense layer, then the unit's mix. */
function stitch64(x: Rows, w: Weights, tasks: string[]): Rows[] {
  const T = tasks.length;
  let cols = tasks.map(() => x);
  ACTS.forEach((a, l) => {
    cols = tasks.map((t, c) => dense64(cols[c], w, `column.${t}.${l}`).map((r) => r.map(a === "tanh" ? Math.tanh : (v) => Math.max(0, v))));
    if (T < 2) return;
    const A = w[`cross_stitch.${l}.alpha`];
    cols = tasks.map((_, i) => cols[0].map((row, n) => row.map((__, c) => cols.reduce((s, col, j) => s + A[i * T + j] * col[n][c], 0))));
  });
  return tasks.map((t, i) => dense64(cols[i], w, `head.${t}`));
}

for (const tasks of [["a", "b"], ["a", "b", "c"], ["solo"]]) {
  test(`${tasks.length} task(s): forward equals the float64 cross-stitch network; α starts at 0.9 / 0.1/(T − 1)`, () => {
    const spec = regressionSpec({ type: "cross_stitch", layers: LAYERS }, tasks);
    const model = new Model(spec, identityPre(spec), k);
    model.initParams(6);
    const T = tasks.length;
    const w0 = model.getWeights();
    for (let l = 0; l < LAYERS.length; l++) {
      const A = w0[`cross_stitch.${l}.alpha`];
      if (T === 1) {
        assert.is(A, undefined, "one task: no unit");
        continue;
      }
      assert.equal(Array.from(A), Array.from({ length: T * T }, (_, e) => Math.fround(Math.floor(e / T) === e % T ? 0.9 : 0.1 / (T - 1))));
      assert.is(model.store.get(`cross_stitch.${l}.alpha`).role, "shared");
    }
    for (const p of model.store.params) if (!p.name.startsWith("cross_stitch.")) assert.is(p.role, `task:${/^(?:column|head)\.(\w+)\./.exec(p.name)![1]}`, p.name);
    const w = perturb(w0, 21);
    model.setWeights(w);
    const x = randomRows(9, 5, 22);
    const ours = model.predict(numericRows(spec, x));
    const ref = stitch64(x, w, tasks);
    tasks.forEach((t, i) => {
      const d = maxDiff(ours[i], ref[i]);
      assert.ok(d <= 2e-5, `task ${t}: max |ours − float64| = ${d.toExponential(2)}`);
    });
    model.dispose();
  });
}

test("spec: cross_stitch needs layers; columns may end in an image the towers flatten; foreign keys are named", () => {
  throwsWith(() => regressionSpec({ type: "cross_stitch", layers: [] }, ["a", "b"]), "architecture.layers", "needs at least one layer");
  throwsWith(() => regressionSpec({ type: "cross_stitch", layers: [4], levels: 2 }, ["a", "b"]), "architecture.levels", `only applies to type "ple"`);
  throwsWith(() => regressionSpec({ type: "cross_stitch", layers: [4], task_experts: 2 }, ["a", "b"]), "architecture.task_experts", `only applies to type "cgc" or "ple"`);
  const image = (tower: unknown[]) =>
    validateSpec({
      inputs: { image: { channels: 1, height: 6, width: 6 } },
      architecture: { type: "cross_stitch", layers: [{ type: "conv", filters: 2, kernel: 3 }, { type: "pool", mode: "max", size: 2 }] },
      tasks: [{ name: "a", type: "binary", label: "ya", tower }, { name: "b", type: "binary", label: "yb", tower }],
    });
  assert.is(image([{ type: "flatten" }]).architecture.type, "cross_stitch");
  throwsWith(() => image([]), "tasks[0].tower", "needs a flat input");
});

test("op: columns of one shape and alpha [T, T], with named errors", () => {
  const g = new Graph("t");
  const x = g.input("x", "f32", ["N", 4]), y = g.input("y", "f32", ["N", 4]), z = g.input("z", "f32", ["N", 5]);
  const a2 = g.param("a2", [2, 2], { kind: "mix", diag: 0.9, off: 0.1 }, "shared"), a3 = g.param("a3", [3, 3], { kind: "zeros" }, "shared");
  const outs = g.add("cross_stitch", [x, y, a2]);
  assert.equal(outs.map((v) => v.shape), [["N", 4], ["N", 4]]);
  throwsWith(() => g.add("cross_stitch", [x, z, a2]), "columns must all be f32 [N, 4]", "got [N, 5]");
  throwsWith(() => g.add("cross_stitch", [x, y, a3]), "alpha must be [2, 2], got [3, 3]");
  throwsWith(() => g.add("cross_stitch", [x, x, a2]), "the columns must be distinct values");
});

test.run();
