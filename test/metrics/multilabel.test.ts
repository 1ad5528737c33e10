// Multi-label metrics (src/metrics/multilabel.ts) against a brute-force float64 reference written here from the
// definitions (pairs of labels, ranks counted label by label), hand-computed cases from sklearn's user guide, and named
// errors. sklearn itself is a second reference when Debian's python3-sklearn is installed (SKIP otherwise).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { MULTILABEL_METRICS, multilabelMetrics, multilabelMetric, type MultilabelMetricName } from "../../src/metrics/multilabel.ts";
import { evaluatePredictions, metricValue, taskMetrics } from "../../src/metrics/evaluate.ts";
import { higherIsBetter, SpecError, validateSpec, type Task } from "../../src/model/spec.ts";
import type { Encoded, Preprocessing } from "../../src/data/preprocess.ts";
import { Rng, throwsWith } from "../helpers.ts";
import { skipOrFail } from "../skip.ts";

/** Debian's python (python3-sklearn installs there), as tools/deps.mjs uses it for python3-onnx. */
const PY = "/usr/bin/python3";

// ---- brute-force reference: rows are arrays of { y, s } over the present labels --------------------------------------
type Cell = { y: number; s: number };
const mean = (a: number[]) => (a.length ? a.reduce((x, v) => x + v, 0) / a.length : NaN);

function rowsOf(labels: number[], scores: number[], L: number): Cell[][] {
  const rows: Cell[][] = [];
  for (let i = 0; i < labels.length / L; i++) {
    const r: Cell[] = [];
    for (let j = 0; j < L; j++) if (!Number.isNaN(labels[i * L + j])) r.push({ y: labels[i * L + j], s: scores[i * L + j] });
    if (r.length) rows.push(r);
  }
  return rows;
}
const rank = (row: Cell[], c: Cell) => row.filter((k) => k.s >= c.s).length;

function reference(labels: number[], scores: number[], L: number): Record<string, number> {
  const rows = rowsOf(labels, scores, L);
  const rankingLoss = rows.map((row) => {
    const R = row.filter((c) => c.y === 1), I = row.filter((c) => c.y === 0);
    if (!R.length || !I.length) return 0;
    let bad = 0;
    for (const r of R) for (const q of I) if (r.s <= q.s) bad++;
    return bad / (R.length * I.length);
  });
  const oneError = rows.map((row) => {
    const top = Math.max(...row.map((c) => c.s));
    return row.some((c) => c.s === top && c.y === 0) ? 1 : 0;
  });
  const coverage = rows.map((row) => {
    const R = row.filter((c) => c.y === 1);
    return R.length ? Math.max(...R.map((r) => rank(row, r))) - 1 : 0;
  });
  const ap = rows.map((row) => {
    const R = row.filter((c) => c.y === 1);
    return R.length ? mean(R.map((r) => R.filter((q) => q.s >= r.s).length / rank(row, r))) : 1;
  });
  // Threshold metrics over the present cells.
  let cells = 0, wrong = 0;
  const tp = new Array(L).fill(0), fp = new Array(L).fill(0), fn = new Array(L).fill(0), present = new Array(L).fill(0);
  for (let k = 0; k < labels.length; k++) {
    const y = labels[k];
    if (Number.isNaN(y)) continue;
    const j = k % L, p = scores[k] > 0.5 ? 1 : 0;
    cells++;
    present[j]++;
    if (p !== y) wrong++;
    if (p && y) tp[j]++;
    if (p && !y) fp[j]++;
    if (!p && y) fn[j]++;
  }
  const f1 = (a: number, b: number, c: number) => (2 * a + b + c ? (2 * a) / (2 * a + b + c) : 0);
  const sum = (a: number[]) => a.reduce((x, v) => x + v, 0);
  const aucs: number[] = [];
  for (let j = 0; j < L; j++) {
    let num = 0, pairs = 0;
    for (let a = 0; a < labels.length / L; a++) for (let b = 0; b < labels.length / L; b++) {
      if (labels[a * L + j] !== 1 || labels[b * L + j] !== 0) continue;
      pairs++;
      const sa = scores[a * L + j], sb = scores[b * L + j];
      num += sa > sb ? 1 : sa === sb ? 0.5 : 0;
    }
    if (pairs) aucs.push(num / pairs);
  }
  return {
    count: rows.length,
    hamming_loss: cells ? wrong / cells : NaN,
    ranking_loss: mean(rankingLoss),
    one_error: mean(oneError),
    coverage: mean(coverage),
    average_precision: mean(ap),
    micro_f1: cells ? f1(sum(tp), sum(fp), sum(fn)) : NaN,
    macro_f1: mean(present.flatMap((n, j) => (n ? [f1(tp[j], fp[j], fn[j])] : []))),
    macro_auc: mean(aucs),
  };
}

function close(got: Record<string, number>, want: Record<string, number>, what: string, tol = 1e-12): void {
  assert.equal(Object.keys(got).sort(), Object.keys(want).sort(), `${what}: metric names`);
  for (const [k, w] of Object.entries(want)) {
    const g = got[k];
    const ok = Number.isNaN(w) ? Number.isNaN(g) : Math.abs(g - w) <= tol * Math.max(1, Math.abs(w));
    assert.ok(ok, `${what}.${k}: ${g} vs ${w}`);
  }
}

/** Random [n, L] labels (some missing, some rows empty or all-relevant) and scores with ties, exact 0/0.5/1 included. */
function randomCase(rng: Rng, n: number, L: number, missing: number) {
  const labels: number[] = [], scores: number[] = [];
  for (let i = 0; i < n; i++) {
    const kind = rng.int(8); // 0: no relevant label, 1: all relevant, else random
    for (let j = 0; j < L; j++) {
      labels.push(rng.next() < missing ? NaN : kind === 0 ? 0 : kind === 1 ? 1 : rng.next() < 0.4 ? 1 : 0);
      scores.push(rng.next() < 0.5 ? Math.round(rng.next() * 10) / 10 : rng.next());
    }
  }
  return { labels, scores };
}

test("every metric equals the brute-force reference (ties, missing cells, empty and all-relevant rows)", () => {
  const rng = new Rng(2024);
  for (const [n, L, missing] of [[1, 1, 0], [5, 2, 0], [40, 3, 0.1], [60, 6, 0.25], [30, 14, 0.05], [25, 9, 0.6]] as const) {
    for (let rep = 0; rep < 5; rep++) {
      const { labels, scores } = randomCase(rng, n, L, missing);
      const want = reference(labels, scores, L);
      close(multilabelMetrics(labels, scores, L), want, `n ${n} L ${L} missing ${missing} #${rep}`);
      // Typed arrays (Float32 scores as a model gives them) read the same as plain arrays of their values.
      const f32 = Float32Array.from(scores);
      close(multilabelMetrics(Float32Array.from(labels), f32, L), reference(labels, Array.from(f32), L), `n ${n} L ${L} (f32)`);
      // One metric at a time gives the same value, and only that one.
      for (const m of MULTILABEL_METRICS) {
        const one = multilabelMetrics(labels, scores, L, [m]);
        close(one, { count: want.count, [m]: want[m] }, `only ${m}`);
        assert.ok(Object.is(multilabelMetric(m, labels, scores, L), one[m]) || Math.abs(multilabelMetric(m, labels, scores, L) - one[m]) === 0, m);
      }
    }
  }
});

test("hand-computed cases (sklearn user guide 3.4.4 examples and a worked F1 case)", () => {
  // sklearn: coverage_error = 2.5 (so Mulan's coverage 1.5), label_ranking_loss = 0.75, LRAP = 5/12.
  const y = [1, 0, 0, 0, 0, 1], s = [0.75, 0.5, 1, 1, 0.2, 0.1];
  const m = multilabelMetrics(y, s, 3);
  assert.is(m.coverage, 1.5);
  assert.is(m.ranking_loss, 0.75);
  assert.ok(Math.abs(m.average_precision - 5 / 12) < 1e-15, String(m.average_precision));
  assert.is(m.one_error, 1); // both rows put an irrelevant label on top
  // Worked F1: predictions (p > 0.5) [[1,1,0],[0,1,0]] vs [[1,0,1],[0,1,0]]: per label F1 1, 2/3, 0; micro 2·2/(2·2+1+1).
  const f = multilabelMetrics([1, 0, 1, 0, 1, 0], [0.9, 0.6, 0.4, 0.2, 0.7, 0.1], 3);
  assert.ok(Math.abs(f.macro_f1 - 5 / 9) < 1e-15, String(f.macro_f1));
  assert.ok(Math.abs(f.micro_f1 - 2 / 3) < 1e-15, String(f.micro_f1));
  assert.ok(Math.abs(f.hamming_loss - 1 / 3) < 1e-15, String(f.hamming_loss));
  assert.is(f.one_error, 0);
  // p = 0.5 exactly predicts irrelevant (strict threshold, as binary accuracy).
  assert.is(multilabelMetrics([1, 0], [0.5, 0.5], 2, ["hamming_loss"]).hamming_loss, 0.5);
  // A tie at the top between a relevant and an irrelevant label is a one-error (pessimistic ties).
  assert.is(multilabelMetrics([1, 0, 0], [0.9, 0.9, 0.1], 3, ["one_error"]).one_error, 1);
  // Missing cells are ignored; a row whose labels are all missing is not counted.
  const g = multilabelMetrics([1, NaN, 0, NaN, NaN, NaN], [0.9, 0.99, 0.2, 0.1, 0.1, 0.1], 3);
  assert.is(g.count, 1);
  assert.is(g.one_error, 0);
  assert.is(g.hamming_loss, 0);
  // macro_auc skips a label with a single class; NaN when every label has one class; NaN metrics with nothing present.
  assert.is(multilabelMetrics([1, 1, 0, 1], [0.8, 0.1, 0.3, 0.2], 2, ["macro_auc"]).macro_auc, 1);
  assert.ok(Number.isNaN(multilabelMetrics([1, 1, 1, 1], [0.8, 0.1, 0.3, 0.2], 2, ["macro_auc"]).macro_auc));
  const none = multilabelMetrics([NaN, NaN], [0.1, 0.2], 2);
  assert.is(none.count, 0);
  for (const k of MULTILABEL_METRICS) assert.ok(Number.isNaN(none[k]), k);
});

test("errors name the bad entry", () => {
  throwsWith(() => multilabelMetrics([1, 2], [0.1, 0.2], 2), "labels[row 0, label 1] = 2", "expected 0, 1 or NaN");
  throwsWith(() => multilabelMetrics([1, 0, 1, 1], [0.1, 0.2, NaN, 0.3], 2), "scores[row 1, label 0] is NaN");
  throwsWith(() => multilabelMetrics([1, 0, 1], [0.1, 0.2, 0.3], 2), "3 entries are not rows of 2 labels");
  throwsWith(() => multilabelMetrics([1, 0], [0.1], 2), "labels have 2 entries but scores have 1");
  throwsWith(() => multilabelMetrics([1], [0.1], 0), "positive integer");
  throwsWith(() => multilabelMetrics([1], [0.1], 1, ["hamming" as MultilabelMetricName]), 'unknown metric "hamming"');
  // A NaN score where the label is missing is fine (masked rows may hold anything).
  assert.is(multilabelMetrics([NaN, 1], [NaN, 0.9], 2).count, 1);
});

test("sklearn agrees (second, independent reference)", () => {
  const rng = new Rng(77);
  const n = 50, L = 7;
  const { labels, scores } = randomCase(rng, n, L, 0);
  // sklearn's ranking metrics take the full label matrix (no missing cells) and skip nothing.
  const py = `
import json, sys, numpy as np
from sklearn import metrics as M
d = json.load(sys.stdin); y = np.array(d["y"]).reshape(-1, ${L}).astype(int); s = np.array(d["s"]).reshape(-1, ${L}); p = (s > 0.5).astype(int)
aucs = [M.roc_auc_score(y[:, j], s[:, j]) for j in range(${L}) if 0 < y[:, j].sum() < len(y)]
k = y.sum(1) > 0  # coverage_error counts a row without relevant labels as 0 (ours: 0 after the -1): compare on the others
print(json.dumps({"hamming_loss": M.hamming_loss(y, p), "ranking_loss": M.label_ranking_loss(y, s), "coverage": M.coverage_error(y[k], s[k]) - 1,
  "average_precision": M.label_ranking_average_precision_score(y, s), "micro_f1": M.f1_score(y, p, average="micro", zero_division=0),
  "macro_f1": M.f1_score(y, p, average="macro", zero_division=0), "macro_auc": float(np.mean(aucs))}))`;
  const r = spawnSync(PY, ["-c", py], { input: JSON.stringify({ y: labels, s: scores }), encoding: "utf8" });
  if (r.error || /No module named '(sklearn|numpy)'/.test(r.stderr ?? "")) return skipOrFail("multilabel metrics vs sklearn", `${PY} with sklearn is not available (Debian: python3-sklearn)`);
  assert.is(r.status, 0, r.stderr);
  const sk = JSON.parse(r.stdout) as Record<string, number>;
  const ours = multilabelMetrics(labels, scores, L);
  const hasRel = (k: number) => labels.slice(Math.floor(k / L) * L, Math.floor(k / L) * L + L).includes(1);
  ours.coverage = multilabelMetrics(labels.filter((_, k) => hasRel(k)), scores.filter((_, k) => hasRel(k)), L, ["coverage"]).coverage;
  assert.ok(labels.length / L - labels.filter((_, k) => hasRel(k)).length / L >= 3, "the case has rows without a relevant label");
  for (const k of Object.keys(sk)) assert.ok(Math.abs(ours[k] - sk[k]) < 1e-12, `${k}: ${ours[k]} vs sklearn ${sk[k]}`);
});

// ---- the hook into evaluation and the spec ---------------------------------------------------------------------------
const specOf = (extra: object = {}, tasks?: object[]) =>
  validateSpec({
    inputs: { numeric: ["x"] },
    tasks: tasks ?? [
      { name: "a", type: "binary", label: "ya" },
      { name: "r", type: "regression", label: "yr" },
      { name: "b", type: "binary", label: "yb" },
      { name: "c", type: "binary", label: "yc" },
    ],
    ...extra,
  });

test("a multilabel task reports the multi-label metrics of its present rows, in its metrics' order", () => {
  const rng = new Rng(5);
  const n = 50, W = 4;
  const { labels, scores } = randomCase(rng, n, W, 0);
  const mask = Float32Array.from({ length: n }, (_, i) => (i % 7 === 3 ? 0 : 1));
  const lab = Float32Array.from(labels), pred = Float32Array.from(scores);
  // Masked rows hold garbage (−1, NaN) that must not reach the metrics.
  for (let i = 0; i < n; i++) if (!mask[i]) for (let j = 0; j < W; j++) (lab[i * W + j] = j % 2 ? NaN : -1), (pred[i * W + j] = NaN);
  const keep = (a: ArrayLike<number>) => Array.from(a).filter((_, k) => mask[Math.floor(k / W)] > 0);
  const want = reference(keep(lab), keep(pred), W);
  const t = { name: "m", type: "multilabel", metrics: ["coverage", "auc", "hamming_loss", "macro_f1"] } as unknown as Task;
  const got = taskMetrics(t, W, pred, lab, mask);
  assert.equal(Object.keys(got), ["count", "coverage", "auc", "hamming_loss", "macro_f1"]);
  close({ ...got, auc: 0 }, { count: want.count, coverage: want.coverage, auc: 0, hamming_loss: want.hamming_loss, macro_f1: want.macro_f1 }, "multilabel task");
  // The spec's defaults for a multilabel task include every multi-label metric; binary tasks take none.
  const s = specOf({}, [{ name: "m", type: "multilabel", labels: ["y0", "y1"] }]);
  assert.equal(s.tasks[0].metrics, ["auc", "accuracy", "logloss", ...MULTILABEL_METRICS]);
  assert.throws(() => specOf({}, [{ name: "a", type: "binary", label: "y", metrics: ["hamming_loss"] }]), /tasks\[0\]\.metrics\[0\]: "hamming_loss" does not apply to type "binary"/);
});

test("a multilabel group of binary tasks: metrics.multilabel over their labels, each task's missing rows masked", () => {
  const spec = specOf({ multilabel: ["a", "b", "c"] });
  assert.equal(spec.multilabel, { tasks: ["a", "b", "c"], metrics: [...MULTILABEL_METRICS] });
  const rng = new Rng(9);
  const n = 40;
  const { labels, scores } = randomCase(rng, n, 3, 0.2);
  // Encoded binary tasks: width 1, NaN / mask 0 where missing; the regression task in between is not part of the group.
  // A masked row's label holds garbage (−1): the mask, not the value, says it is missing.
  const task = (j: number) => {
    const y = Float32Array.from({ length: n }, (_, i) => labels[i * 3 + j]);
    return { labels: y.map((v) => (Number.isNaN(v) ? -1 : v)), mask: Float32Array.from(y, (v) => (Number.isNaN(v) ? 0 : 1)), group: new Int32Array(0) };
  };
  const pr = (j: number) => Float32Array.from({ length: n }, (_, i) => (Number.isNaN(labels[i * 3 + j]) ? NaN : scores[i * 3 + j]));
  const reg = { labels: new Float32Array(n).fill(0.5), mask: new Float32Array(n).fill(1), group: new Int32Array(0) };
  const data = { rows: n, numeric: new Float32Array(n), categorical: [], tensor: new Float32Array(0), tasks: [task(0), reg, task(1), task(2)] } as Encoded;
  const pre = { numeric: [], categorical: [], tasks: spec.tasks.map((t) => ({ name: t.name, classes: null, groups: null, target: t.type === "regression" ? [{ mean: 0, std: 1 }] : null })) } as Preprocessing;
  const preds = [pr(0), new Float32Array(n).fill(0.4), pr(1), pr(2)];
  const m = evaluatePredictions(spec, pre, [1, 1, 1, 1], preds, data);
  assert.equal(Object.keys(m), ["a", "r", "b", "c", "multilabel"]);
  const f32 = Array.from(Float32Array.from(scores));
  close(m.multilabel, reference(labels, f32, 3), "group");
  // The group is an entry like a task's: metric references resolve against it.
  assert.is(metricValue("multilabel.ranking_loss", m, 0), m.multilabel.ranking_loss);
  // A subset of metrics; a spec cut down to one task (single-task baselines) drops the group.
  const sub = specOf({ multilabel: { tasks: ["c", "a"], metrics: ["one_error", "micro_f1"] } });
  const g = evaluatePredictions(sub, pre, [1, 1, 1, 1], preds, data).multilabel;
  const cols = (a: number[]) => a.flatMap((_, k) => (k % 3 === 0 ? [a[k + 2], a[k]] : []));
  close(g, (({ count, one_error, micro_f1 }) => ({ count, one_error, micro_f1 }))(reference(cols(labels), cols(f32), 2)), "group subset");
  assert.not.ok("multilabel" in evaluatePredictions({ ...spec, tasks: [spec.tasks[0]] }, pre, [1], [preds[0]], { ...data, tasks: [data.tasks[0]] }));
});

test("spec: the multilabel group's errors name the path; early stopping may monitor it; normalization is idempotent", () => {
  const bad = (multilabel: unknown, path: string, text: RegExp, tasks?: object[]) => {
    try {
      specOf({ multilabel }, tasks);
    } catch (e) {
      assert.instance(e, SpecError);
      assert.is((e as SpecError).path, path, (e as Error).message);
      assert.match((e as Error).message, text);
      return;
    }
    assert.unreachable(`expected an error at ${path}`);
  };
  bad(["a", "zz"], "multilabel.tasks[1]", /no task named "zz"; tasks are a, r, b, c/);
  bad(["a", "r"], "multilabel.tasks[1]", /task "r" is "regression"; the group takes ungrouped binary tasks/);
  bad(["a", "b", "a"], "multilabel.tasks[2]", /listed twice/);
  bad(["a"], "multilabel.tasks", /at least 2 binary tasks, found 1/);
  bad({ tasks: ["a", "b"], metrics: ["hamming"] }, "multilabel.metrics[0]", /"hamming" is not one of hamming_loss, ranking_loss/);
  bad({ tasks: ["a", "b"], metric: [] }, "multilabel.metric", /unknown key/);
  bad({ metrics: ["coverage"] }, "multilabel.tasks", /is required/);
  bad(["a", "multilabel"], "multilabel", /a task is named "multilabel"/, [{ name: "a", type: "binary", label: "ya" }, { name: "multilabel", type: "binary", label: "yb" }]);
  const es = (metric: string, multilabel: unknown = ["a", "b"]) => specOf({ multilabel, training: { early_stopping: { metric } } }).training.early_stopping!.metric;
  assert.is(es("multilabel.average_precision"), "multilabel.average_precision");
  assert.throws(() => es("multilabel.coverage", { tasks: ["a", "b"], metrics: ["one_error"] }), /the multilabel group does not report "coverage"; it reports one_error/);
  assert.throws(() => specOf({ training: { early_stopping: { metric: "multilabel.coverage" } } }), /no task named "multilabel"/);
  assert.ok(higherIsBetter("multilabel.average_precision") && higherIsBetter("macro_auc") && higherIsBetter("micro_f1") && higherIsBetter("macro_f1"));
  assert.ok(!higherIsBetter("multilabel.hamming_loss") && !higherIsBetter("ranking_loss") && !higherIsBetter("one_error") && !higherIsBetter("coverage"));
  const once = specOf({ multilabel: { tasks: ["b", "a"], metrics: ["coverage"] } });
  assert.equal(validateSpec(JSON.parse(JSON.stringify(once))), once);
  assert.not.ok("multilabel" in specOf(), "no group unless declared");
});

test.run();
