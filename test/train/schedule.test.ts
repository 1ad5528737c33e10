// Learning-rate schedules against their closed forms.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { validateSpec } from "../../src/model/spec.ts";
import { learningRate } from "../../src/train/schedule.ts";

const opts = (schedule: Record<string, unknown>) =>
  validateSpec({ inputs: { numeric: ["x"] }, tasks: [{ name: "t", type: "regression", label: "y" }], training: { optimizer: { lr: 0.1 }, schedule } }).training;

test("linear warm-up reaches lr at the end of warm-up, then the schedule takes over", () => {
  const o = opts({ type: "constant", warmup_steps: 10 });
  assert.ok(Math.abs(learningRate(o, 0, 100, 10) - 0.01) < 1e-15);
  assert.ok(Math.abs(learningRate(o, 4, 100, 10) - 0.05) < 1e-15);
  assert.ok(Math.abs(learningRate(o, 9, 100, 10) - 0.1) < 1e-15);
  assert.is(learningRate(o, 50, 100, 10), 0.1);
});

test("step decay multiplies by gamma every step_size epochs", () => {
  const o = opts({ type: "step", step_size: 2, gamma: 0.5 });
  // 10 steps per epoch: epochs 0–1 → 0.1, 2–3 → 0.05, 4–5 → 0.025.
  assert.is(learningRate(o, 19, 1000, 10), 0.1);
  assert.is(learningRate(o, 20, 1000, 10), 0.05);
  assert.is(learningRate(o, 45, 1000, 10), 0.025);
});

test("cosine goes from lr to min_lr over the run, half-way at the middle", () => {
  const o = opts({ type: "cosine", min_lr: 0.01, warmup_steps: 0 });
  assert.ok(Math.abs(learningRate(o, 0, 100, 10) - 0.1) < 1e-15);
  assert.ok(Math.abs(learningRate(o, 50, 100, 10) - 0.055) < 1e-12);
  assert.ok(Math.abs(learningRate(o, 100, 100, 10) - 0.01) < 1e-12);
  for (let s = 1; s <= 100; s++) assert.ok(learningRate(o, s, 100, 10) <= learningRate(o, s - 1, 100, 10));
});

test.run();
