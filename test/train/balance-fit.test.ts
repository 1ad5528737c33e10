// Every balancing method trains a small model end to end (both gradient modes where LibMTL allows them), with
// masks; and one SGD step's update is exactly −lr·(Σ_t alpha_t·w_t·∂L_t/∂θ + the relation's gradient) on the shared
// parameters, with the per-task gradients taken independently from the program's own per-task backwards.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup, relErr } from "../helpers.ts";
import { validateSpec, WEIGHTINGS, WEIGHTING_GRADIENTS, type ModelSpec } from "../../src/model/spec.ts";
import { Model } from "../../src/model/model.ts";
import { fit } from "../../src/train/trainer.ts";
import { createWeighting } from "../../src/train/weighting/index.ts";
import { twoTaskPre, twoTaskData } from "./two-task.ts";

const { k } = await setup();

function spec(weighting: Record<string, unknown>, epochs = 3, optimizer: Record<string, unknown> = { type: "adam", lr: 0.01 }): ModelSpec {
  return validateSpec({
    inputs: { numeric: ["a", "b", "c", "d"] },
    architecture: { type: "mmoe", experts: 2, layers: [12] },
    tasks: [
      { name: "bin", type: "binary", label: "y1", tower: [6] },
      { name: "reg", type: "regression", label: "y2", weight: 0.5 },
    ],
    training: { epochs, batch_size: 50, optimizer, relations: [{ tasks: ["bin", "reg"], lambda: 0.1 }], weighting },
  });
}

/** The methods the registry builds (a method not wired yet is reported, not hidden). */
const wired = WEIGHTINGS.filter((type) => {
  const s = spec({ type });
  const m = new Model(s, twoTaskPre(s), k);
  try {
    createWeighting(m).dispose?.();
    return true;
  } catch (e) {
    console.log(`SKIP weighting ${type}: ${(e as Error).message}`);
    return false;
  } finally {
    m.dispose();
  }
});

for (const type of wired) {
  const kind = WEIGHTING_GRADIENTS[type];
  const modes = kind === "both" ? [false, true] : kind === "param" ? [false] : kind === "rep" ? [true] : [undefined];
  for (const rep of modes) {
    test(`${type}${rep === undefined ? "" : rep ? " (rep_grad)" : " (param grad)"}: 3 epochs on masked two-task data, finite and learning`, async () => {
      const s = spec(rep === undefined ? { type } : { type, rep_grad: rep });
      const model = new Model(s, twoTaskPre(s), k);
      model.initParams(5);
      const data = twoTaskData(400);
      const r = await fit(model, data, null);
      for (const h of r.history) {
        for (const [t, l] of Object.entries(h.trainLoss)) assert.ok(Number.isFinite(l), `epoch ${h.epoch} task ${t}: loss ${l}`);
        for (const [t, w] of Object.entries(h.weights)) assert.ok(Number.isFinite(w), `epoch ${h.epoch} task ${t}: weight ${w}`);
      }
      const first = r.history[0].trainLoss, last = r.history[r.history.length - 1].trainLoss;
      assert.ok(last.bin < first.bin || last.reg < first.reg, `no task's loss fell: ${JSON.stringify(first)} → ${JSON.stringify(last)}`);
      model.dispose();
    });
  }
}

// The methods whose whole effect is alpha (PCGrad, GradVac and DB-MTL also rewrite rows, GradDrop masks features:
// their transforms are checked against references in balance.test.ts).
for (const type of wired.filter((t) => ["mgda", "cagrad", "imtl", "aligned_mtl", "nash_mtl", "upgrad"].includes(t))) {
  test(`${type}: one SGD step moves the shared parameters by −lr·(Σ alpha_t·w_t·g_t + relation)`, async () => {
    const lr = 0.1;
    const s = spec({ type }, 1, { type: "sgd", lr });
    const model = new Model(s, twoTaskPre(s), k);
    model.initParams(9);
    const data = twoTaskData(50);
    const built = model.program(50, true);
    const order = Int32Array.from({ length: 50 }, (_, i) => i);
    // Independent per-task gradients (the program's own backward per loss, seed 1) and the relation's.
    model.feed(built, data, order, 0, 50);
    for (const f of built.program.forward) f();
    const per = built.io.tasks.map((t) => {
      for (const f of built.program.backwardFor([t.loss!])) f();
      return model.arena.readF32(model.store.g, model.store.total);
    });
    for (const f of built.program.backwardFor(model.graph.relations)) f();
    const rel = model.arena.readF32(model.store.g, model.store.total);
    const before = model.arena.readF32(model.store.p, model.store.total);
    let alpha: number[] = [];
    // One step of fit (one batch: the permutation does not matter for the full batch's gradient).
    await fit(model, data, null, { onStep: (_s, _l, scales) => (alpha = Array.from(scales)) });
    const after = model.arena.readF32(model.store.p, model.store.total);
    const shared = model.store.params.filter((p) => p.shared);
    // scales logged = alpha_t·w_t (task-gradients.ts finish).
    for (const p of shared) {
      const want = Float32Array.from({ length: p.size }, (_, i) => before[p.offset + i] - lr * (alpha[0] * per[0][p.offset + i] + alpha[1] * per[1][p.offset + i] + rel[p.offset + i]));
      const got = after.subarray(p.offset, p.offset + p.size);
      const e = relErr(Float32Array.from(got, (x, i) => x - before[p.offset + i]), Float32Array.from(want, (x, i) => x - before[p.offset + i]));
      assert.ok(e < 1e-4, `${p.name}: update differs by ${e.toExponential(2)} (alpha·w = ${alpha})`);
    }
    model.dispose();
  });
}

test.run();
