import { test } from "uvu";
import * as assert from "uvu/assert";
import { explainedVariance, mae, mse, r2, rmse } from "../../src/metrics/regression.ts";
import { Rng } from "../helpers.ts";

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

test("hand case", () => {
  const y = [1, 2, 3, 4], p = [2, 2, 2, 2];
  // residuals -1, 0, 1, 2: SSres = 6, mean y = 2.5, SStot = 5
  close(mse(y, p), 1.5);
  close(rmse(y, p), Math.sqrt(1.5));
  close(mae(y, p), 1);
  close(r2(y, p), 1 - 6 / 5);
  // Var(residual) = mean((r − 0.5)²) = (2.25 + 0.25 + 0.25 + 2.25)/4 = 1.25; Var(y) = 1.25 → 0
  close(explainedVariance(y, p), 0);
});

test("random data vs independent formulas", () => {
  const rng = new Rng(3);
  const n = 2000, y = new Float64Array(n), p = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = 20 + 12 * rng.normal();
    p[i] = 0.7 * y[i] + 3 + 6 * rng.normal();
  }
  const ybar = y.reduce((a, b) => a + b, 0) / n;
  const res = Array.from(y, (v, i) => v - p[i]);
  const rbar = res.reduce((a, b) => a + b, 0) / n;
  const ssRes = res.reduce((a, r) => a + r * r, 0);
  const ssTot = y.reduce((a, v) => a + (v - ybar) ** 2, 0);
  const varRes = res.reduce((a, r) => a + (r - rbar) ** 2, 0) / n;
  close(rmse(y, p), Math.sqrt(ssRes / n));
  close(mae(y, p), res.reduce((a, r) => a + Math.abs(r), 0) / n);
  close(r2(y, p), 1 - ssRes / ssTot);
  close(explainedVariance(y, p), 1 - varRes / (ssTot / n));
  // Adding to the existing bias (mean residual ≈ +3 here) lowers R² but not the explained variance.
  assert.ok(rbar > 1, String(rbar));
  const shifted = p.map((v) => v - 5);
  close(explainedVariance(y, shifted), explainedVariance(y, p), 1e-9);
  assert.ok(r2(y, shifted) < r2(y, p));
});

test("degenerate inputs", () => {
  assert.ok(Number.isNaN(r2([3, 3], [3, 3])));
  assert.ok(Number.isNaN(r2([3, 3], [1, 2])), "constant targets: NaN even when the residuals are not 0");
  assert.ok(Number.isNaN(explainedVariance([3, 3], [3, 3])));
  assert.ok(Number.isNaN(r2([], [])));
  assert.ok(Number.isNaN(explainedVariance([], [])));
  assert.ok(Number.isNaN(mae([], [])));
  assert.ok(Number.isNaN(mse([], [])));
  assert.ok(Number.isNaN(explainedVariance([3, 3], [1, 2])));
  assert.ok(Number.isNaN(rmse([], [])));
  assert.is(rmse([1.5], [1.5]), 0);
  assert.throws(() => mae([1, 2], [1]), /^mae: targets have 2 entries but predictions have 1$/);
  assert.throws(() => mse([1, 2], [1]), /^mse: targets have 2 entries but predictions have 1$/);
  assert.throws(() => rmse([1], [1, 2]), /targets have 1 entries but predictions have 2$/);
  assert.throws(() => r2([1, 2], [1]), /^r2: targets have 2 entries but predictions have 1$/);
  assert.throws(() => explainedVariance([1, 2], [1]), /^explainedVariance: targets have 2 entries but predictions have 1$/);
});

test.run();
