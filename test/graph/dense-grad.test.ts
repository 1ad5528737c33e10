// Gradients of a relu-fused dense layer's output stay readable after the backward: program.grad(Y) is ∂J/∂Y (not
// the relu-masked ∂J/∂Z the layer computes from it), so TaskGradients' representationGradient(t) is ∂L_t/∂z_t for an
// hps trunk ending in relu. (Found by these tests: the relu backward used to run in place on dY.)
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup, Rng, relErr } from "../helpers.ts";
import { Graph, type Value } from "../../src/graph/graph.ts";
import { validateSpec } from "../../src/model/spec.ts";
import { Model } from "../../src/model/model.ts";
import { TaskGradients } from "../../src/train/task-gradients.ts";
import type { Preprocessing } from "../../src/data/preprocess.ts";
import { Rig, type Feed } from "./harness.ts";

{
  const { k, arena } = await setup();

  test("bug 1: after the backward, program.grad(Y) of a relu-fused dense output is ∂J/∂Y (it holds the masked ∂J/∂Z)", () => {
    const B = 4, rng = new Rng(1);
    const g = new Graph("relu-grad");
    const x = g.input("x", "f32", ["N", 3]), t = g.input("t", "f32", ["N", 2]), m = g.input("m", "f32", ["N"]);
    const h = g.add1("dense", [x, g.param("W", [3, 4], { kind: "zeros" }, "shared"), g.param("b", [4], { kind: "zeros" }, "shared")], { act: "relu" }, "h");
    const W2 = g.param("W2", [4, 2], { kind: "zeros" }, "task:a");
    const y = g.add1("dense", [h, W2], {}, "y");
    const loss = g.add1("mse", [y, t, m], { task: 0 });
    const feeds = new Map<Value, Feed>([
      [x, rng.f32(B * 3, () => rng.normal())],
      [t, rng.f32(B * 2)],
      [m, new Float32Array(B).fill(1)],
    ]);
    const rig = new Rig({ graph: g, k, arena, batch: B, training: true, targets: [y, loss, h], roots: [loss], feeds, init: (v) => rng.f32((v.shape as number[]).reduce((a, c) => a * c, 1)) });
    try {
      rig.forward();
      rig.run(rig.program.backward);
      const dy = rig.readActGrad(y), w2 = rig.readParam(W2), dh = rig.readActGrad(h);
      const want = new Float64Array(B * 4); // ∂J/∂h = dY·W2ᵀ
      for (let r = 0; r < B; r++) for (let i = 0; i < 4; i++) for (let c = 0; c < 2; c++) want[r * 4 + i] += dy[r * 2 + c] * w2[i * 2 + c];
      assert.ok(relErr(dh, want) < 1e-5, `grad(h) = [${Array.from(dh, (v) => v.toFixed(3))}]\n   ∂J/∂h = [${Array.from(want, (v) => v.toFixed(3))}]`);
    } finally {
      rig.dispose();
    }
  });

  test("bug 1 through TaskGradients: representationGradient(t) of an hps trunk ending in relu is ∂L_t/∂z_t", () => {
    const spec = validateSpec({
      inputs: { numeric: ["a", "b", "c"] },
      architecture: { type: "hps", layers: [{ units: 6, activation: "relu" }] },
      tasks: [{ name: "r", type: "regression", label: "y", tower: [{ units: 3, activation: "tanh" }] }],
    });
    const pre: Preprocessing = { numeric: spec.inputs.numeric.map((column) => ({ column, mean: 0, std: 1 })), categorical: [], tasks: [{ name: "r", classes: undefined, groups: null, target: null }] } as unknown as Preprocessing;
    const model = new Model(spec, pre, k);
    try {
      model.initParams(3);
      const built = model.program(8, true);
      const rng = new Rng(4);
      const enc = {
        rows: 8,
        numeric: rng.f32(24, () => rng.normal()),
        categorical: [],
        tensor: new Float32Array(0),
        tasks: [{ labels: rng.f32(8, () => rng.normal()), mask: new Float32Array(8).fill(1), group: new Int32Array(0) }],
      };
      model.feed(built, enc, Int32Array.from({ length: 8 }, (_, i) => i), 0, 8);
      for (const f of built.program.forward) f();
      const tg = new TaskGradients(model, built);
      const stage = tg.run(Float64Array.of(1));
      const got = Float32Array.from(stage.representationGradient(0));
      // ∂L/∂z = dTowerPre·W_towerᵀ, from the tower's first dense layer (tanh follows it, so its dY is intact).
      const graph = model.graph;
      const towerPre = graph.get("tower.r.0"), W = model.getWeights()["tower.r.0.weight"];
      const d = model.arena.readF32(built.program.grad(towerPre), 8 * 3);
      const want = new Float64Array(8 * 6);
      for (let r = 0; r < 8; r++) for (let i = 0; i < 6; i++) for (let c = 0; c < 3; c++) want[r * 6 + i] += d[r * 3 + c] * W[i * 3 + c];
      const z = model.arena.readF32(built.io.tasks[0].representation.ptr, 8 * 6);
      const inactive = Array.from(z).filter((v) => v === 0).length;
      tg.dispose();
      assert.ok(relErr(got, want) < 1e-5, `representationGradient differs from ∂L/∂z (relative error ${relErr(got, want).toExponential(2)}; ${inactive} of 48 relu outputs are 0, where it reads 0)`);
    } finally {
      model.dispose();
    }
  });

  test.run();
}
