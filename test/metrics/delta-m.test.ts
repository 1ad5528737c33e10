import { test } from "uvu";
import * as assert from "uvu/assert";
import { deltaM, relativeImprovement } from "../../src/metrics/delta-m.ts";

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-9, `${a} vs ${b}`);

test("sign convention: improvements count positive for both directions", () => {
  // AUC 0.90 → 0.99 (higher better): +10 %.  RMSE 10 → 8 (lower better): +20 %.
  close(relativeImprovement({ mtl: 0.99, single: 0.9, higherIsBetter: true }), 10);
  close(relativeImprovement({ mtl: 8, single: 10, higherIsBetter: false }), 20);
  // Worse on both: negative.
  close(relativeImprovement({ mtl: 0.81, single: 0.9, higherIsBetter: true }), -10);
  close(relativeImprovement({ mtl: 12, single: 10, higherIsBetter: false }), -20);
});

test("hand-checked Δm from the formula (1/T) Σ (−1)^{w_t} (B_t − N_t)/B_t · 100, w_t = 1 when higher is better", () => {
  // Task 1: AUC B = 0.80, N = 0.84 (w = 1): (−1)·(0.80 − 0.84)/0.80 = +0.05
  // Task 2: RMSE B = 10, N = 11 (w = 0): (10 − 11)/10 = −0.10
  // Δm = 100 · (0.05 − 0.10) / 2 = −2.5
  close(deltaM([
    { mtl: 0.84, single: 0.8, higherIsBetter: true },
    { mtl: 11, single: 10, higherIsBetter: false },
  ]), -2.5);
});

test("multi-metric tasks average their metrics first (LibMTL's docstring example)", () => {
  // base A = [96, 98], new A = [93, 99], weight A = [1, 0]; base B = [0.2], new B = [0.5], weight B = [1]
  // A: ((−1)(96 − 93)/96 + (98 − 99)/98)/2 = (−0.03125 − 0.0102041)/2; B: (−1)(0.2 − 0.5)/0.2 = 1.5
  const a = (-3 / 96 - 1 / 98) / 2, b = 1.5;
  close(deltaM([
    { name: "A", metrics: [{ mtl: 93, single: 96, higherIsBetter: true }, { mtl: 99, single: 98, higherIsBetter: false }] },
    { name: "B", mtl: 0.5, single: 0.2, higherIsBetter: true },
  ]), ((a + b) / 2) * 100);
});

test("errors: empty list, zero baseline, non-finite values", () => {
  assert.throws(() => deltaM([]), /no tasks/);
  assert.throws(() => deltaM([{ name: "x", mtl: 1, single: 0, higherIsBetter: true }]), /"x".*0/);
  assert.throws(() => deltaM([{ mtl: NaN, single: 1, higherIsBetter: true }]), /^deltaM: metric: values must be finite \(mtl NaN, single 1\)$/);
  assert.throws(() => deltaM([{ name: "auc", mtl: 1, single: Infinity, higherIsBetter: true }]), /^deltaM: "auc": values must be finite \(mtl 1, single Infinity\)$/);
  assert.throws(() => deltaM([{ mtl: 1, single: 0, higherIsBetter: false }]), /^deltaM: metric: the single-task value is 0, so the relative change is undefined$/);
  assert.throws(() => deltaM([{ name: "A", metrics: [] }]), /^deltaM: task A has no metrics$/);
  assert.throws(() => deltaM([{ metrics: [] }]), /^deltaM: task \? has no metrics$/);
});

test.run();
