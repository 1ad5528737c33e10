// PLE (src/arch/ple.ts): the model's forward equals a float64 PLE written from the paper's description, reading
// the weights by name (levels 2 and 3, gate_input "previous" and "raw", with and without shared or task experts);
// levels: 1 is CGC (same parameter count, same outputs from the same parameters); the spec's named errors.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup, throwsWith } from "../helpers.ts";
import { validateSpec } from "../../src/model/spec.ts";
import { Model } from "../../src/model/model.ts";
import { lowerSpec } from "../../src/model/lower.ts";
import { dense64, identityPre, maxDiff, mix64, mlp64, numericRows, perturb, randomRows, regressionSpec, softmax64, type Rows, type Weights } from "./ref.ts";

const { k } = await setup();
const TASKS = ["a", "b", "c"];
const LAYERS = [{ units: 4, activation: "tanh" }, { units: 3, activation: "relu" }];
const ACTS = ["tanh", "relu"];

/** The paper's PLE in float64: per level, experts of each branch, task gates, and (below the top) the shared gate. */
function ple64(x: Rows, w: Weights, L: number, S: number, E: number, raw: boolean): Rows[] {
  let s = x;
  let h = TASKS.map(() => x);
  for (let l = 1; l <= L; l++) {
    const shared = Array.from({ length: S }, (_, j) => mlp64(s, w, `level.${l}.shared_expert.${j}`, ACTS));
    const own = TASKS.map((t, i) => Array.from({ length: E }, (_, j) => mlp64(h[i], w, `level.${l}.task_expert.${t}.${j}`, ACTS)));
    const next = TASKS.map((t, i) => mix64([...own[i], ...shared], softmax64(dense64(raw ? x : h[i], w, `level.${l}.gate.${t}`))));
    if (l < L) s = mix64([...own.flat(), ...shared], softmax64(dense64(raw ? x : s, w, `level.${l}.shared_gate`)));
    h = next;
  }
  return TASKS.map((t, i) => dense64(h[i], w, `head.${t}`));
}

const CASES: [number, number, number, "previous" | "raw"][] = [
  [2, 2, 1, "previous"],
  [2, 2, 1, "raw"],
  [3, 1, 2, "previous"],
  [3, 0, 1, "raw"],
  [2, 2, 0, "previous"],
];
for (const [L, S, E, gi] of CASES) {
  test(`levels ${L}, ${S} shared + ${E} per task, gate_input ${gi}: forward equals the float64 PLE`, () => {
    const spec = regressionSpec({ type: "ple", levels: L, shared_experts: S, task_experts: E, gate_input: gi, layers: LAYERS }, TASKS);
    const model = new Model(spec, identityPre(spec), k);
    model.initParams(4);
    const w = perturb(model.getWeights(), 11);
    model.setWeights(w);
    const x = randomRows(9, 5, 12);
    const ours = model.predict(numericRows(spec, x));
    const ref = ple64(x, w, L, S, E, gi === "raw");
    TASKS.forEach((t, i) => {
      const d = maxDiff(ours[i], ref[i]);
      assert.ok(d <= 2e-5, `task ${t}: max |ours − float64| = ${d.toExponential(2)}`);
    });
    // The gate-weight report's contract: every gate is a moe_combine over a stack (L·T task gates, L − 1 shared).
    const g = lowerSpec(spec, model.dims, model.pre, "encoded");
    const mixes = g.nodes.filter((n) => n.op === "moe_combine");
    assert.is(mixes.length, L * TASKS.length + L - 1);
    for (const n of mixes) assert.is(n.inputs[0].producer?.op, "stack");
    // Roles: shared experts and the shared gate are shared; task gates gate:<task>; task experts task:<task>.
    for (const p of model.store.params) {
      const want = /^level\.\d+\.(shared_expert|shared_gate)\./.test(p.name) ? "shared" : /^level\.\d+\.gate\.(\w+)\./.test(p.name) ? `gate:${/gate\.(\w+)\./.exec(p.name)![1]}` : /^(level\.\d+\.task_expert|head)\.(\w+)\./.test(p.name) ? `task:${/^(?:level\.\d+\.task_expert|head)\.(\w+)\./.exec(p.name)![1]}` : "?";
      assert.is(p.role, want, p.name);
    }
    model.dispose();
  });
}

test("levels: 1 equals cgc: same parameter count, same outputs from the same parameters", () => {
  for (const [S, E] of [[2, 1], [0, 2], [3, 0]]) {
    const arch = { shared_experts: S, task_experts: E, layers: LAYERS };
    const ple = regressionSpec({ type: "ple", levels: 1, ...arch }, TASKS), cgc = regressionSpec({ type: "cgc", ...arch }, TASKS);
    const mp = new Model(ple, identityPre(ple), k), mc = new Model(cgc, identityPre(cgc), k);
    mc.initParams(2);
    const wc = perturb(mc.getWeights(), 5);
    mc.setWeights(wc);
    assert.is(mp.store.params.length, mc.store.params.length);
    assert.is(mp.store.total, mc.store.total);
    // Same parameters in the same order: level.1.<name> ↔ <name>.
    mp.setWeights(Object.fromEntries(mp.store.params.map((p, i) => {
      const q = mc.store.params[i];
      assert.is(p.name.replace(/^level\.1\./, ""), q.name);
      assert.equal(p.shape, q.shape);
      return [p.name, wc[q.name]];
    })));
    const x = randomRows(7, 5, 3);
    const a = mp.predict(numericRows(ple, x)), b = mc.predict(numericRows(cgc, x));
    a.forEach((v, i) => assert.equal(Array.from(v), Array.from(b[i]), `task ${TASKS[i]} (S=${S}, E=${E})`));
    mp.dispose();
    mc.dispose();
  }
});

test("spec: defaults, and named errors for levels, gate_input and the expert counts", () => {
  const base = { type: "ple", shared_experts: 1, task_experts: 1, layers: [4] };
  const a = regressionSpec(base, TASKS).architecture;
  assert.is(a.levels, 2);
  assert.is(a.gate_input, "previous");
  assert.is(regressionSpec({ type: "cgc", shared_experts: 1, task_experts: 1, layers: [4] }, TASKS).architecture.levels, undefined);
  throwsWith(() => regressionSpec({ ...base, levels: 0 }, TASKS), "architecture.levels", "integer in [1, 64]");
  throwsWith(() => regressionSpec({ ...base, levels: 1.5 }, TASKS), "architecture.levels", "integer");
  throwsWith(() => regressionSpec({ ...base, levels: 65 }, TASKS), "architecture.levels", "above the limit of 64");
  throwsWith(() => regressionSpec({ ...base, gate_input: "input" }, TASKS), "architecture.gate_input", `"input" is not one of previous, raw`);
  throwsWith(() => regressionSpec({ type: "cgc", shared_experts: 1, task_experts: 1, layers: [4], levels: 2 }, TASKS), "architecture.levels", `only applies to type "ple", not "cgc"`);
  throwsWith(() => regressionSpec({ type: "mmoe", experts: 2, layers: [4], gate_input: "raw" }, TASKS), "architecture.gate_input", `only applies to type "ple", not "mmoe"`);
  throwsWith(() => regressionSpec({ type: "hps", layers: [4], shared_experts: 2 }, TASKS), "architecture.shared_experts", `only applies to type "cgc" or "ple"`);
  throwsWith(() => regressionSpec({ ...base, shared_experts: 0, task_experts: 0 }, TASKS), "architecture", "ple needs shared_experts + task_experts ≥ 1");
  throwsWith(() => regressionSpec({ type: "ple", task_experts: 1, layers: [4] }, TASKS), "architecture.shared_experts", "is required");
  throwsWith(() => regressionSpec({ ...base, layers: [] }, TASKS), "architecture.layers", "needs at least one expert layer");
  // Level 2 applies the layers to level 1's flat output: conv layers cannot, and the error says where it came from.
  const image = (levels: number) =>
    validateSpec({
      inputs: { image: { channels: 1, height: 6, width: 6 } },
      architecture: { type: "ple", levels, shared_experts: 1, task_experts: 1, layers: [{ type: "conv", filters: 2, kernel: 3 }, { type: "flatten" }, { units: 3 }] },
      tasks: [{ name: "a", type: "binary", label: "ya" }, { name: "b", type: "binary", label: "yb" }],
    });
  assert.is(image(1).architecture.levels, 1);
  throwsWith(() => image(2), "architecture.layers[0]", "level 1's experts");
});

test.run();
