import { test } from "uvu";
import * as assert from "uvu/assert";
import { rocAuc } from "../../src/metrics/auc.ts";
import { Rng } from "../helpers.ts";

/** Independent O(n²) definition: fraction of (positive, negative) pairs ranked correctly, ties counting ½. */
function bruteAuc(y: ArrayLike<number>, s: ArrayLike<number>): number {
  let num = 0, pairs = 0;
  for (let i = 0; i < y.length; i++) {
    if (y[i] !== 1) continue;
    for (let j = 0; j < y.length; j++) {
      if (y[j] !== 0) continue;
      pairs++;
      num += s[i] > s[j] ? 1 : s[i] === s[j] ? 0.5 : 0;
    }
  }
  return num / pairs;
}

test("matches the brute-force pair count on random data with many ties", () => {
  const rng = new Rng(2024);
  for (let trial = 0; trial < 40; trial++) {
    const n = 2 + rng.int(400);
    const levels = 1 + rng.int(trial % 2 ? 5 : 60); // few distinct scores → many ties
    const y = new Float64Array(n), s = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = rng.int(levels) / levels;
      y[i] = rng.next() < 0.2 + 0.6 * s[i] ? 1 : 0;
    }
    y[0] = 1;
    y[1] = 0;
    const got = rocAuc(y, s), want = bruteAuc(y, s);
    assert.ok(Math.abs(got - want) < 1e-12, `trial ${trial}: ${got} vs ${want}`);
  }
});

test("hand cases: perfect, reversed, all tied, Float32 scores, ±Infinity", () => {
  assert.is(rocAuc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]), 1);
  assert.is(rocAuc([1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9]), 0);
  assert.is(rocAuc([1, 0, 1, 0], [0.5, 0.5, 0.5, 0.5]), 0.5);
  // pairs: (p=.8 vs .1,.4 → 2), (p=.4 vs .1 → 1, vs .4 → ½) = 3.5 / 4
  assert.is(rocAuc(new Float32Array([0, 1, 1, 0]), new Float32Array([0.1, 0.8, 0.4, 0.4])), 3.5 / 4);
  assert.is(rocAuc([0, 1, 0, 1], [-Infinity, Infinity, Infinity, 0]), bruteAuc([0, 1, 0, 1], [-Infinity, Infinity, Infinity, 0]));
});

test("degenerate: one class absent → NaN; empty → NaN", () => {
  assert.ok(Number.isNaN(rocAuc([1, 1, 1], [0.1, 0.5, 0.9])));
  assert.ok(Number.isNaN(rocAuc([0, 0], [0.1, 0.5])));
  assert.ok(Number.isNaN(rocAuc([], [])));
});

test("input errors name the problem", () => {
  assert.throws(() => rocAuc([0, 1], [0.5]), /^rocAuc: labels have 2 entries but predictions have 1$/);
  assert.throws(() => rocAuc([0, 2], [0.5, 0.5]), /labels\[1\] = 2/);
  assert.throws(() => rocAuc([0, 1], [0.5, NaN]), /scores\[1\] is NaN/);
});

test("50k rows: AUC of unit-variance normals one apart is Φ(1/√2)", () => {
  const rng = new Rng(5);
  const n = 50000, y = new Float64Array(n), s = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = rng.next() < 0.06 ? 1 : 0;
    s[i] = y[i] + rng.normal();
  }
  const a = rocAuc(y, s);
  assert.ok(Math.abs(a - 0.7602) < 0.015, String(a)); // Φ(1/√2) ≈ 0.7602 for unit-variance normals one apart
});

test.run();
