import { test } from "uvu";
import * as assert from "uvu/assert";
import { binaryAccuracy, binaryLogLoss, multiclassAccuracy, multiclassLogLoss, LOG_LOSS_EPS } from "../../src/metrics/classification.ts";
import { Rng } from "../helpers.ts";

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

test("binary accuracy at 0.5 (p = 0.5 predicts 0), custom threshold", () => {
  assert.is(binaryAccuracy([1, 0, 1, 0], [0.9, 0.2, 0.4, 0.7]), 0.5);
  assert.is(binaryAccuracy([0, 1], [0.5, 0.5]), 0.5);
  assert.is(binaryAccuracy([0], [0.5]), 1); // strictly greater: p = threshold predicts 0
  assert.is(binaryAccuracy([1, 0], [0.3, 0.3], 0.3), 0.5);
  assert.is(binaryAccuracy([1, 0, 1, 0], [0.9, 0.2, 0.4, 0.7], 0.3), 0.75); // preds 1, 0, 1, 1
  assert.ok(Number.isNaN(binaryAccuracy([], [])));
  assert.throws(() => binaryAccuracy([0.5], [0.5]), /^binaryAccuracy: labels\[0\] = 0.5, expected 0 or 1$/);
  assert.throws(() => binaryAccuracy([0, 1], [0.5]), /^binaryAccuracy: labels have 2 entries but probabilities have 1$/);
});

test("binary log-loss vs direct formula, with clipping at eps = 1e-7", () => {
  const rng = new Rng(1);
  const n = 1000, y = new Float64Array(n), p = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = rng.int(2);
    p[i] = rng.next();
  }
  p[0] = 0; y[0] = 1; // clipped: contributes −ln(1e−7)
  p[1] = 1; y[1] = 0;
  let want = 0;
  for (let i = 0; i < n; i++) {
    const q = Math.min(Math.max(p[i], 1e-7), 1 - 1e-7);
    want += -(y[i] * Math.log(q) + (1 - y[i]) * Math.log(1 - q));
  }
  close(binaryLogLoss(y, p), want / n);
  assert.is(LOG_LOSS_EPS, 1e-7);
  close(binaryLogLoss([1], [0]), -Math.log(1e-7));
  close(binaryLogLoss([1, 0], [0.8, 0.4]), -(Math.log(0.8) + Math.log(0.6)) / 2);
  close(binaryLogLoss([1], [1]), -Math.log(1 - 1e-7)); // clipped at 1 − eps too
  close(binaryLogLoss([0, 1], [0.5, 0.5], 0.25), Math.log(2));
  close(binaryLogLoss([0], [0.9], 0.25), -Math.log(0.25));
  assert.ok(Number.isNaN(binaryLogLoss([], [])));
  assert.throws(() => binaryLogLoss([0, 1], [0.5]), /^binaryLogLoss: labels have 2 entries but probabilities have 1$/);
  assert.throws(() => binaryLogLoss([0, 2], [0.5, 0.5]), /^binaryLogLoss: labels\[1\] = 2, expected 0 or 1$/);
});

test("multiclass accuracy (argmax, first max on ties) and log-loss, row-major [n, c]", () => {
  const probs = [
    0.1, 0.7, 0.2, // argmax 1
    0.5, 0.3, 0.2, // argmax 0
    0.3, 0.3, 0.4, // argmax 2
    0.4, 0.4, 0.2, // tie → 0
  ];
  const labels = [1, 2, 2, 1];
  assert.is(multiclassAccuracy(labels, probs, 3), 0.5);
  close(multiclassLogLoss(labels, probs, 3), -(Math.log(0.7) + Math.log(0.2) + Math.log(0.4) + Math.log(0.4)) / 4);
  close(multiclassLogLoss([0], [0, 1], 2), -Math.log(1e-7));
  close(multiclassLogLoss([1], [0, 1], 2), -Math.log(1 - 1e-7)); // clipped at 1 − eps
  close(multiclassLogLoss([1], [0.5, 0.05], 2, 0.1), -Math.log(0.1));
  assert.ok(Number.isNaN(multiclassAccuracy([], [], 3)));
  assert.ok(Number.isNaN(multiclassLogLoss([], [], 3)));
  // One class is a valid (if trivial) shape.
  assert.is(multiclassAccuracy([0, 0], [0.3, 0.9], 1), 1);
  assert.throws(() => multiclassAccuracy([0, 1], [0.5, 0.5, 1], 2), /^multiclassAccuracy: probabilities have 3 entries, expected n·c = 2·2 = 4$/);
  assert.throws(() => multiclassLogLoss([0, 1], [0.5, 0.5, 1], 2), /^multiclassLogLoss: probabilities have 3 entries, expected n·c = 2·2 = 4$/);
  assert.throws(() => multiclassLogLoss([3], [0.5, 0.5, 0], 3), /^multiclassLogLoss: labels\[0\] = 3, expected an integer class in \[0, 3\)$/);
  assert.throws(() => multiclassAccuracy([0, 3], [0.5, 0.5, 0, 1, 0, 0], 3), /^multiclassAccuracy: labels\[1\] = 3, expected an integer class in \[0, 3\)$/);
  for (const bad of [-1, 0.5, NaN]) {
    assert.throws(() => multiclassAccuracy([bad], [0.5, 0.5], 2), /labels\[0\] = .*expected an integer class in \[0, 2\)/, `label ${bad}`);
    assert.throws(() => multiclassLogLoss([bad], [0.5, 0.5], 2), /labels\[0\] = .*expected an integer class in \[0, 2\)/, `label ${bad}`);
  }
  // numClasses must be a positive integer (checked before the shape, which an empty input would pass).
  for (const c of [0, -2, 1.5, NaN]) {
    const probs = Number.isInteger(c) ? [] : [0.5, 0.5, 0.5];
    const labels = Number.isInteger(c) ? [] : [0, 0];
    assert.throws(() => multiclassAccuracy(labels, probs, c), new RegExp(`^multiclassAccuracy: numClasses must be a positive integer, got ${c}$`), `c = ${c}`);
    assert.throws(() => multiclassLogLoss(labels, probs, c), new RegExp(`^multiclassLogLoss: numClasses must be a positive integer, got ${c}$`), `c = ${c}`);
  }
});

test("random multiclass vs independent loops", () => {
  const rng = new Rng(8);
  const n = 500, c = 5;
  const probs = new Float64Array(n * c), labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < c; k++) s += probs[i * c + k] = rng.next();
    for (let k = 0; k < c; k++) probs[i * c + k] /= s;
    labels[i] = rng.int(c);
  }
  let correct = 0, ll = 0;
  for (let i = 0; i < n; i++) {
    const row = Array.from(probs.subarray(i * c, i * c + c));
    if (row.indexOf(Math.max(...row)) === labels[i]) correct++;
    ll -= Math.log(Math.min(Math.max(row[labels[i]], 1e-7), 1 - 1e-7));
  }
  assert.is(multiclassAccuracy(labels, probs, c), correct / n);
  close(multiclassLogLoss(labels, probs, c), ll / n);
});

test.run();
