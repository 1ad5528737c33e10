// The report's curves against hand-worked examples (float64, ties as one step, scikit-learn's conventions) and
// against metrics/auc.ts; calibration bins, confusion matrix, thinning, the derived validation loss, steps.csv.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { calibrationBins, confusionMatrix, evenIndices, prCurve, rocCurve, thin } from "../../src/report/curves.ts";
import { parseSteps, validationLossOf } from "../../src/report/data.ts";
import { rocAuc } from "../../src/metrics/auc.ts";
import type { Task } from "../../src/model/spec.ts";
import { Rng } from "../helpers.ts";

const close = (a: number[], b: number[], what: string) => {
  assert.is(a.length, b.length, `${what}: ${a} vs ${b}`);
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < 1e-15, `${what}[${i}]: ${v} vs ${b[i]}`));
};

test("ROC and PR of four rows, worked by hand (sklearn: roc_auc 0.75, average_precision 0.8333…)", () => {
  const y = [1, 0, 1, 0], s = [0.9, 0.8, 0.7, 0.1];
  const roc = rocCurve(y, s)!;
  close(roc.fpr, [0, 0, 0.5, 0.5, 1], "fpr");
  close(roc.tpr, [0, 0.5, 0.5, 1, 1], "tpr");
  assert.equal(roc.threshold, [Infinity, 0.9, 0.8, 0.7, 0.1]);
  assert.is(roc.auc, 0.75);
  const pr = prCurve(y, s)!;
  close(pr.recall, [0, 0.5, 0.5, 1, 1], "recall");
  close(pr.precision, [1, 1, 0.5, 2 / 3, 0.5], "precision");
  assert.ok(Math.abs(pr.ap - (0.5 + 0.5 * (2 / 3))) < 1e-15, `ap ${pr.ap}`);
  assert.is(pr.base, 0.5);
});

test("tied scores are one step (a diagonal ROC segment), as the Mann–Whitney AUC counts a tie as ½", () => {
  const y = [1, 0, 1, 0], s = [0.5, 0.5, 0.9, 0.1];
  const roc = rocCurve(y, s)!;
  close(roc.fpr, [0, 0, 0.5, 1], "fpr");
  close(roc.tpr, [0, 0.5, 1, 1], "tpr");
  assert.is(roc.auc, 0.875);
  assert.is(roc.auc, rocAuc(y, s));
  const pr = prCurve(y, s)!;
  close(pr.recall, [0, 0.5, 1, 1], "recall");
  close(pr.precision, [1, 1, 2 / 3, 0.5], "precision");
});

test("the trapezoid area under rocCurve equals rocAuc on random data with ties", () => {
  const rng = new Rng(11);
  for (let trial = 0; trial < 20; trial++) {
    const n = 5 + rng.int(300);
    const y = Array.from({ length: n }, () => (rng.next() < 0.3 ? 1 : 0));
    if (!y.includes(1) || !y.includes(0)) continue;
    const s = y.map((v) => Math.round((rng.normal() + v) * 4) / 4); // coarse: many ties
    const roc = rocCurve(y, s)!;
    assert.ok(Math.abs(roc.auc - rocAuc(y, s)) < 1e-12, `trial ${trial}: ${roc.auc} vs ${rocAuc(y, s)}`);
    for (let i = 1; i < roc.fpr.length; i++) assert.ok(roc.fpr[i] >= roc.fpr[i - 1] && roc.tpr[i] >= roc.tpr[i - 1]);
    assert.equal([roc.fpr.at(-1), roc.tpr.at(-1)], [1, 1]);
  }
});

test("one class only: no ROC; no positive: no PR; bad labels are named", () => {
  assert.is(rocCurve([1, 1], [0.2, 0.3]), null);
  assert.is(prCurve([0, 0], [0.2, 0.3]), null);
  assert.ok(prCurve([1, 1], [0.2, 0.3]));
  assert.throws(() => rocCurve([1, 2], [0.1, 0.2]), /labels\[1\] = 2/);
  assert.throws(() => prCurve([1, 0], [0.1, NaN]), /scores\[1\] is NaN/);
});

test("calibration bins: equal width, 1.0 in the last bin, empty bins null", () => {
  const b = calibrationBins([0, 0, 1, 1, 1], [0.05, 0.15, 0.12, 0.95, 1.0], 10);
  assert.is(b.length, 10);
  assert.equal(b[0], { lo: 0, hi: 0.1, count: 1, meanPredicted: 0.05, fractionPositive: 0 });
  assert.is(b[1].count, 2);
  assert.ok(Math.abs(b[1].meanPredicted! - 0.135) < 1e-15);
  assert.is(b[1].fractionPositive, 0.5);
  assert.equal([b[9].count, b[9].meanPredicted, b[9].fractionPositive], [2, 0.975, 1]);
  for (const k of [2, 3, 4, 5, 6, 7, 8]) assert.equal([b[k].count, b[k].meanPredicted, b[k].fractionPositive], [0, null, null]);
});

test("confusion matrix: rows actual, columns the argmax", () => {
  const probs = [0.7, 0.2, 0.1, 0.1, 0.3, 0.6, 0.2, 0.2, 0.6, 0.1, 0.8, 0.1];
  assert.equal(confusionMatrix([0, 1, 2, 1], probs, 3), [
    [1, 0, 0],
    [0, 1, 1],
    [0, 0, 1],
  ]);
  assert.throws(() => confusionMatrix([0, 3], probs.slice(0, 6), 3), /labels\[1\] = 3/);
});

test("thinning keeps the ends and is the same every time", () => {
  assert.equal(evenIndices(10, 4), [0, 3, 6, 9]);
  assert.equal(evenIndices(3, 4), [0, 1, 2]);
  const c = thin({ a: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], b: [9, 8, 7, 6, 5, 4, 3, 2, 1, 0] }, ["a", "b"], 4);
  assert.equal(c, { a: [0, 3, 6, 9], b: [9, 6, 3, 0] });
});

test("validation loss from the metrics: log-loss for bce/xent, (RMSE/std)² for mse, MAE/std for mae, none otherwise", () => {
  const task = (o: Partial<Task>) => ({ loss: "bce", pos_weight: 1, metrics: ["auc", "logloss"], ...o }) as Task;
  assert.is(validationLossOf(task({}), null).from({ logloss: 0.3 }), 0.3);
  assert.is(validationLossOf(task({ loss: "xent" }), null).from({ logloss: 0.9 }), 0.9);
  assert.is(validationLossOf(task({ loss: "mse", metrics: ["rmse"] }), [{ mean: 5, std: 2 }]).from({ rmse: 1 }), 0.25);
  assert.is(validationLossOf(task({ loss: "mae", metrics: ["mae"] }), [{ mean: 5, std: 4 }]).from({ mae: 2 }), 0.5);
  const weighted = validationLossOf(task({ pos_weight: 3 }), null);
  assert.is(weighted.from({ logloss: 0.3 }), null);
  assert.match(weighted.note, /pos_weight 3/);
  assert.is(validationLossOf(task({ loss: "huber", metrics: ["rmse"] }), [{ mean: 0, std: 1 }]).from({ rmse: 1 }), null);
  assert.is(validationLossOf(task({ metrics: ["auc"] }), null).from({ auc: 0.9 }), null);
});

test("steps.csv: per-task losses and weights by step", () => {
  const s = parseSteps("step,epoch,loss:a,loss:b,weight:a,weight:b\n1,1,0.5,0.7,1,1\n2,1,0.4,0.6,1.1,0.9\n", ["a", "b"])!;
  assert.equal(s, { step: [1, 2], epoch: [1, 1], loss: { a: [0.5, 0.4], b: [0.7, 0.6] }, weight: { a: [1, 1.1], b: [1, 0.9] }, total: 2 });
  assert.is(parseSteps("step,epoch\n", ["a"]), null);
});

test.run();
