// Per-task metrics of predictions against encoded labels: masked rows skipped, multi-column tasks macro-averaged,
// standardized regression labels mapped back to their units, and metric references resolved. Every expected value
// comes from the float64 loops below, written from the metrics' definitions (not from src/metrics).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { evaluatePredictions, metricValue, taskMetrics, type TaskMetrics } from "../../src/metrics/evaluate.ts";
import type { ModelSpec, Task, MetricName, TaskType } from "../../src/model/spec.ts";
import type { Encoded, Preprocessing } from "../../src/data/preprocess.ts";
import { Rng } from "../helpers.ts";

const task = (name: string, type: TaskType, metrics: MetricName[]) => ({ name, type, metrics }) as unknown as Task;

// --- independent references (one column, plain arrays) ---
const meanOf = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
function aucRef(y: number[], s: number[]): number {
  let num = 0, pairs = 0;
  for (let i = 0; i < y.length; i++) for (let j = 0; j < y.length; j++) {
    if (y[i] !== 1 || y[j] !== 0) continue;
    pairs++;
    num += s[i] > s[j] ? 1 : s[i] === s[j] ? 0.5 : 0;
  }
  return num / pairs;
}
const accRef = (y: number[], p: number[]) => meanOf(y.map((v, i) => (Number(p[i] > 0.5) === v ? 1 : 0)));
const clip = (p: number) => Math.min(Math.max(p, 1e-7), 1 - 1e-7);
const loglossRef = (y: number[], p: number[]) => meanOf(y.map((v, i) => -(v * Math.log(clip(p[i])) + (1 - v) * Math.log(1 - clip(p[i])))));
const rmseRef = (y: number[], p: number[]) => Math.sqrt(meanOf(y.map((v, i) => (v - p[i]) ** 2)));
const maeRef = (y: number[], p: number[]) => meanOf(y.map((v, i) => Math.abs(v - p[i])));
function r2Ref(y: number[], p: number[]): number {
  const m = meanOf(y);
  return 1 - y.reduce((s, v, i) => s + (v - p[i]) ** 2, 0) / y.reduce((s, v) => s + (v - m) ** 2, 0);
}
function evRef(y: number[], p: number[]): number {
  const r = y.map((v, i) => v - p[i]), mr = meanOf(r), my = meanOf(y);
  return 1 - meanOf(r.map((x) => (x - mr) ** 2)) / meanOf(y.map((v) => (v - my) ** 2));
}

/** Expect exactly these keys, each value within a relative 1e-12 (NaN matches NaN). */
function expectMetrics(got: TaskMetrics, want: TaskMetrics, what: string): void {
  assert.equal(Object.keys(got).sort(), Object.keys(want).sort(), `${what}: metric names`);
  for (const [k, w] of Object.entries(want)) {
    const g = got[k];
    const ok = Number.isNaN(w) ? Number.isNaN(g) : Math.abs(g - w) <= 1e-12 * Math.max(1, Math.abs(w));
    assert.ok(ok, `${what}.${k}: ${g} vs ${w}`);
  }
}

/** A mask with some rows missing (at least one present, at least one missing). */
function maskOf(rng: Rng, n: number): Float32Array {
  const m = Float32Array.from({ length: n }, () => (rng.next() < 0.7 ? 1 : 0));
  m[0] = 1;
  m[1] = 0;
  return m;
}

test("binary and multilabel: masked rows skipped, each metric macro-averaged over the columns", () => {
  const rng = new Rng(41);
  for (const width of [1, 3]) {
    const n = 60;
    const labels = new Float32Array(n * width), pred = new Float32Array(n * width);
    for (let i = 0; i < n * width; i++) {
      labels[i] = rng.next() < 0.4 ? 1 : 0;
      pred[i] = Math.round(rng.next() * 20) / 20; // ties, and exact 0 / 1 (clipped by logloss)
    }
    const mask = maskOf(rng, n);
    // Masked rows hold garbage the metrics would choke on (labels −1 or NaN, NaN predictions).
    for (let i = 0; i < n; i++) if (!mask[i]) for (let j = 0; j < width; j++) (labels[i * width + j] = j ? NaN : -1), (pred[i * width + j] = NaN);
    const rows = [...Array(n).keys()].filter((i) => mask[i] > 0);
    const col = (a: Float32Array, j: number) => rows.map((i) => a[i * width + j]);
    const avg = (f: (y: number[], p: number[]) => number) => meanOf(Array.from({ length: width }, (_, j) => f(col(labels, j), col(pred, j))));
    const type = width === 1 ? "binary" : "multilabel";
    const got = taskMetrics(task("t", type, ["auc", "accuracy", "logloss"]), width, pred, labels, mask);
    expectMetrics(got, { count: rows.length, auc: avg(aucRef), accuracy: avg(accRef), logloss: avg(loglossRef) }, type);
    // Only the metrics asked for, in any subset.
    expectMetrics(taskMetrics(task("t", type, ["auc"]), width, pred, labels, mask), { count: rows.length, auc: avg(aucRef) }, `${type} auc`);
    expectMetrics(taskMetrics(task("t", type, ["accuracy"]), width, pred, labels, mask), { count: rows.length, accuracy: avg(accRef) }, `${type} accuracy`);
    expectMetrics(taskMetrics(task("t", type, ["logloss"]), width, pred, labels, mask), { count: rows.length, logloss: avg(loglossRef) }, `${type} logloss`);
  }
});

test("regression: labels un-standardized per column (y·std + mean), predictions already in units; macro average", () => {
  const rng = new Rng(42);
  for (const width of [1, 2]) {
    const n = 80;
    const target = Array.from({ length: width }, (_, j) => ({ mean: 10 - 7 * j, std: 3 + 2 * j }));
    const labels = new Float32Array(n * width), pred = new Float32Array(n * width);
    for (let i = 0; i < n; i++) for (let j = 0; j < width; j++) {
      labels[i * width + j] = rng.normal();
      pred[i * width + j] = labels[i * width + j] * target[j].std + target[j].mean + (1 + j) * rng.normal() + 0.5;
    }
    const mask = maskOf(rng, n);
    for (let i = 0; i < n; i++) if (!mask[i]) for (let j = 0; j < width; j++) (labels[i * width + j] = NaN), (pred[i * width + j] = NaN);
    const rows = [...Array(n).keys()].filter((i) => mask[i] > 0);
    const ys = (j: number, t: typeof target | null) => rows.map((i) => (t ? labels[i * width + j] * t[j].std + t[j].mean : labels[i * width + j]));
    const ps = (j: number) => rows.map((i) => pred[i * width + j]);
    const all: MetricName[] = ["rmse", "mae", "r2", "explained_variance"];
    const refs = { rmse: rmseRef, mae: maeRef, r2: r2Ref, explained_variance: evRef };
    for (const t of [target, null]) {
      const want: TaskMetrics = { count: rows.length };
      for (const m of all) want[m] = meanOf(Array.from({ length: width }, (_, j) => refs[m as keyof typeof refs](ys(j, t), ps(j))));
      expectMetrics(taskMetrics(task("r", "regression", all), width, pred, labels, mask, t), want, `regression width ${width}${t ? "" : " (no target)"}`);
      for (const m of all) expectMetrics(taskMetrics(task("r", "regression", [m]), width, pred, labels, mask, t), { count: rows.length, [m]: want[m] }, `regression ${m}`);
    }
  }
});

test("multiclass: argmax accuracy and log-loss over the present rows' probability rows", () => {
  const rng = new Rng(43);
  const n = 70, c = 4;
  const labels = new Int32Array(n), pred = new Float32Array(n * c);
  for (let i = 0; i < n; i++) {
    labels[i] = rng.int(c);
    let s = 0;
    for (let k = 0; k < c; k++) s += pred[i * c + k] = rng.next() + (k === labels[i] ? 0.6 : 0);
    for (let k = 0; k < c; k++) pred[i * c + k] /= s;
  }
  const mask = maskOf(rng, n);
  for (let i = 0; i < n; i++) if (!mask[i]) labels[i] = -1;
  const rows = [...Array(n).keys()].filter((i) => mask[i] > 0);
  const row = (i: number) => Array.from(pred.subarray(i * c, i * c + c));
  const acc = meanOf(rows.map((i) => (row(i).indexOf(Math.max(...row(i))) === labels[i] ? 1 : 0)));
  const ll = meanOf(rows.map((i) => -Math.log(clip(row(i)[labels[i]]))));
  expectMetrics(taskMetrics(task("m", "multiclass", ["accuracy", "logloss"]), c, pred, labels, mask), { count: rows.length, accuracy: acc, logloss: ll }, "multiclass");
  expectMetrics(taskMetrics(task("m", "multiclass", ["accuracy"]), c, pred, labels, mask), { count: rows.length, accuracy: acc }, "multiclass accuracy");
  expectMetrics(taskMetrics(task("m", "multiclass", ["logloss"]), c, pred, labels, mask), { count: rows.length, logloss: ll }, "multiclass logloss");
  // Metrics that do not apply to multiclass are ignored.
  expectMetrics(taskMetrics(task("m", "multiclass", ["auc", "rmse"]), c, pred, labels, mask), { count: rows.length }, "multiclass auc/rmse");
});

test("no labelled rows: only the count (0), no metric computed", () => {
  const none = new Float32Array(4);
  for (const [type, width] of [["binary", 1], ["multiclass", 2], ["regression", 1]] as const) {
    const labels = type === "multiclass" ? new Int32Array(4).fill(-1) : new Float32Array(4 * width).fill(NaN);
    const metrics: MetricName[] = type === "regression" ? ["rmse", "r2"] : ["accuracy", "logloss"];
    assert.equal(taskMetrics(task("t", type, metrics), width, new Float32Array(4 * width), labels, none), { count: 0 }, type);
  }
});

test("evaluatePredictions: every task by name, each with its own width, labels, mask and target", () => {
  const rng = new Rng(44);
  const n = 40;
  const spec = { tasks: [task("click", "binary", ["auc"]), task("kind", "multiclass", ["accuracy"]), task("price", "regression", ["mae"])] } as unknown as ModelSpec;
  const widths = [1, 3, 1];
  const target = [{ mean: 100, std: 20 }];
  const pre = { numeric: [], categorical: [], tasks: [{ name: "click", classes: null, groups: null, target: null }, { name: "kind", classes: ["a", "b", "c"], groups: null, target: null }, { name: "price", classes: null, groups: null, target }] } as unknown as Preprocessing;
  const yb = Float32Array.from({ length: n }, () => rng.int(2)), pb = Float32Array.from({ length: n }, () => rng.next());
  const yk = Int32Array.from({ length: n }, () => rng.int(3)), pk = Float32Array.from({ length: n * 3 }, () => rng.next());
  const yp = Float32Array.from({ length: n }, () => rng.normal()), pp = Float32Array.from({ length: n }, () => 100 + 25 * rng.normal());
  const masks = [maskOf(rng, n), maskOf(rng, n), maskOf(rng, n)];
  const data = { rows: n, numeric: new Float32Array(0), categorical: [], tensor: new Float32Array(0), tasks: [yb, yk, yp].map((labels, i) => ({ labels, mask: masks[i], group: new Int32Array(0) })) } as unknown as Encoded;
  const got = evaluatePredictions(spec, pre, widths, [pb, pk, pp], data);
  assert.equal(Object.keys(got).sort(), ["click", "kind", "price"]);
  const rows = (t: number) => [...Array(n).keys()].filter((i) => masks[t][i] > 0);
  const r0 = rows(0), r1 = rows(1), r2 = rows(2);
  expectMetrics(got.click, { count: r0.length, auc: aucRef(r0.map((i) => yb[i]), r0.map((i) => pb[i])) }, "click");
  const am = (i: number) => { const r = Array.from(pk.subarray(3 * i, 3 * i + 3)); return r.indexOf(Math.max(...r)); };
  expectMetrics(got.kind, { count: r1.length, accuracy: meanOf(r1.map((i) => (am(i) === yk[i] ? 1 : 0))) }, "kind");
  expectMetrics(got.price, { count: r2.length, mae: maeRef(r2.map((i) => yp[i] * 20 + 100), r2.map((i) => pp[i])) }, "price");
});

test("metricValue: loss, TASK.METRIC (last dot splits, so task names may hold dots), mean.METRIC over finite values", () => {
  const metrics: Record<string, TaskMetrics> = {
    a: { count: 5, auc: 0.75, rmse: 2 },
    "b.c": { count: 4, auc: 0.5 },
    d: { count: 0 },
    e: { count: 3, auc: NaN, rmse: Infinity },
  };
  assert.is(metricValue("loss", metrics, 0.125), 0.125);
  assert.is(metricValue("a.auc", metrics, 0.125), 0.75);
  assert.is(metricValue("a.rmse", metrics, 0.125), 2);
  assert.is(metricValue("b.c.auc", metrics, 0.125), 0.5);
  assert.is(metricValue("d.count", metrics, 0.125), 0);
  assert.ok(Number.isNaN(metricValue("d.auc", metrics, 0.125)), "missing metric → NaN");
  assert.ok(Number.isNaN(metricValue("zz.auc", metrics, 0.125)), "unknown task → NaN");
  // mean skips tasks without the metric (d) and non-finite values (e).
  assert.is(metricValue("mean.auc", metrics, 0.125), (0.75 + 0.5) / 2);
  assert.is(metricValue("mean.rmse", metrics, 0.125), 2);
  assert.is(metricValue("mean.count", metrics, 0.125), (5 + 4 + 0 + 3) / 4);
  assert.ok(Number.isNaN(metricValue("mean.mae", metrics, 0.125)), "no task has it → NaN");
});

test.run();
