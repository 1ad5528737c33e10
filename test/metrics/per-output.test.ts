// perOutputMetrics: each output of a multi-output regression (labels standardized, mapped back to their units) and
// of a multilabel task gets its own metrics, equal to a float64 computation written here; the task's macro value is
// their mean; single-output, multiclass and box-only tasks have no entry.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Rng } from "../helpers.ts";
import { validateSpec } from "../../src/model/spec.ts";
import { evaluatePredictions, perOutputMetrics } from "../../src/metrics/evaluate.ts";
import type { Encoded, Preprocessing } from "../../src/data/preprocess.ts";

const spec = validateSpec({
  inputs: { numeric: ["a"] },
  architecture: { type: "hps", layers: [4] },
  tasks: [
    { name: "joints", type: "regression", label: ["t1", "t2", "t3"], metrics: ["rmse", "mae", "r2"] },
    { name: "tags", type: "multilabel", label: ["x", "y"], metrics: ["auc", "accuracy"] },
    { name: "one", type: "regression", label: "z" },
    { name: "digit", type: "multiclass", label: "d", classes: ["0", "1", "2"] },
  ],
});
const scales = [1, 20, 400], means = [0, -3, 50];
const n = 200, rng = new Rng(5);
const pre: Preprocessing = {
  numeric: [{ column: "a", mean: 0, std: 1 }],
  categorical: [],
  tasks: [
    { name: "joints", classes: null, groups: null, target: scales.map((std, j) => ({ mean: means[j], std })) },
    { name: "tags", classes: null, groups: null, target: null },
    { name: "one", classes: null, groups: null, target: [{ mean: 0, std: 1 }] },
    { name: "digit", classes: ["0", "1", "2"], groups: null, target: null },
  ],
};
// Standardized labels; predictions in units (label·std + mean + noise·std·0.3); a few rows unlabelled.
const yJ = rng.f32(n * 3, () => rng.normal()), pJ = new Float32Array(n * 3);
for (let r = 0; r < n; r++) for (let j = 0; j < 3; j++) pJ[r * 3 + j] = (yJ[r * 3 + j] + 0.3 * rng.normal()) * scales[j] + means[j];
const yT = rng.f32(n * 2, () => (rng.next() < 0.4 ? 1 : 0)), pT = Float32Array.from(yT, (y) => Math.min(0.99, Math.max(0.01, 0.5 * y + 0.5 * rng.next())));
const mask = rng.f32(n, () => (rng.next() < 0.9 ? 1 : 0));
const ones = new Float32Array(n).fill(1);
const data: Encoded = {
  rows: n, numeric: new Float32Array(n), categorical: [], tensor: new Float32Array(0),
  tasks: [
    { labels: yJ, mask, group: new Int32Array(0) },
    { labels: yT, mask: ones, group: new Int32Array(0) },
    { labels: rng.f32(n, () => rng.normal()), mask: ones, group: new Int32Array(0) },
    { labels: Int32Array.from({ length: n }, (_, i) => i % 3), mask: ones, group: new Int32Array(0) },
  ],
};
const preds = [pJ, pT, rng.f32(n, () => rng.normal()), rng.f32(n * 3, () => 1 / 3)];
const widths = [3, 2, 1, 3];

test("each joint's RMSE, MAE and R² in its own units, against float64; the task's value is their mean", () => {
  const per = perOutputMetrics(spec, pre, widths, preds, data);
  assert.equal(Object.keys(per), ["joints", "tags"]);
  assert.equal(Object.keys(per.joints), ["t1", "t2", "t3"]);
  const whole = evaluatePredictions(spec, pre, widths, preds, data);
  let sum = 0;
  for (let j = 0; j < 3; j++) {
    let se = 0, ae = 0, k = 0, mean = 0;
    const ys: number[] = [], ps: number[] = [];
    for (let r = 0; r < n; r++) {
      if (!mask[r]) continue;
      const y = yJ[r * 3 + j] * scales[j] + means[j], p = pJ[r * 3 + j];
      ys.push(y), ps.push(p);
      se += (y - p) ** 2, ae += Math.abs(y - p), k++, mean += y;
    }
    mean /= k;
    const sst = ys.reduce((s, y) => s + (y - mean) ** 2, 0);
    const m = per.joints[`t${j + 1}`];
    assert.is(m.count, k);
    assert.ok(Math.abs(m.rmse - Math.sqrt(se / k)) <= 1e-6 * Math.sqrt(se / k), `t${j + 1} rmse ${m.rmse} vs ${Math.sqrt(se / k)}`);
    assert.ok(Math.abs(m.mae - ae / k) <= 1e-6 * (ae / k), `t${j + 1} mae`);
    assert.ok(Math.abs(m.r2 - (1 - se / sst)) < 1e-6, `t${j + 1} r2 ${m.r2} vs ${1 - se / sst}`);
    // The scales differ 400×: the joints' RMSEs do too (what a pooled number hides).
    sum += m.rmse;
  }
  assert.ok(per.joints.t3.rmse > 100 * per.joints.t1.rmse);
  assert.ok(Math.abs(whole.joints.rmse - sum / 3) <= 1e-9 * whole.joints.rmse);
});

test("multilabel outputs: per-label AUC and accuracy; the task's value is their mean", () => {
  const per = perOutputMetrics(spec, pre, widths, preds, data);
  const whole = evaluatePredictions(spec, pre, widths, preds, data);
  for (const [j, label] of ["x", "y"].entries()) {
    let pos = 0, neg = 0, wins = 0, correct = 0;
    for (let a = 0; a < n; a++) {
      if ((pT[a * 2 + j] >= 0.5 ? 1 : 0) === yT[a * 2 + j]) correct++;
      if (!yT[a * 2 + j]) continue;
      pos++;
      for (let b = 0; b < n; b++) if (!yT[b * 2 + j]) wins += pT[a * 2 + j] > pT[b * 2 + j] ? 1 : pT[a * 2 + j] === pT[b * 2 + j] ? 0.5 : 0;
    }
    neg = n - pos;
    assert.ok(Math.abs(per.tags[label].auc - wins / (pos * neg)) < 1e-9, `${label} auc ${per.tags[label].auc} vs ${wins / (pos * neg)}`);
    assert.ok(Math.abs(per.tags[label].accuracy - correct / n) < 1e-9, `${label} accuracy`);
  }
  assert.ok(Math.abs(whole.tags.auc - (per.tags.x.auc + per.tags.y.auc) / 2) < 1e-12);
});

test("a box task keeps only its column-wise metrics; iou is not per output", () => {
  const s = validateSpec({ ...spec, tasks: [{ name: "box", type: "regression", label: ["x0", "y0", "x1", "y1"], metrics: ["iou", "mae"] }] });
  const p = rng.f32(n * 4, () => rng.next()), y = rng.f32(n * 4, () => rng.next());
  const per = perOutputMetrics(s, { ...pre, tasks: [{ name: "box", classes: null, groups: null, target: null }] }, [4], [p], { ...data, tasks: [{ labels: y, mask: ones, group: new Int32Array(0) }] });
  assert.equal(Object.keys(per.box.x0), ["count", "mae"]);
  const only = validateSpec({ ...spec, tasks: [{ name: "box", type: "regression", label: ["x0", "y0", "x1", "y1"], metrics: ["iou"] }] });
  assert.equal(perOutputMetrics(only, { ...pre, tasks: [{ name: "box", classes: null, groups: null, target: null }] }, [4], [p], { ...data, tasks: [{ labels: y, mask: ones, group: new Int32Array(0) }] }), {});
});

test.run();
