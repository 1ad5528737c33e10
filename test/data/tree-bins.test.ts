// Target-aware ple bins (src/data/tree-bins.ts, spec `tree` on a ple encoding) against scikit-learn's own trees:
// DecisionTreeClassifier / DecisionTreeRegressor(max_leaf_nodes, min_samples_leaf, min_impurity_decrease) on one
// float32 feature, whose split thresholds are the reference (Gorishniy et al.'s compute_bins does the same), from
// Debian's python3-sklearn (SKIP outside CI when it is missing). Then the preprocessing path on real census rows
// (labels from the spec's task, missing labels left out, regression targets standardized) and the spec's forms and
// errors.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { Rng, throwsWith } from "../helpers.ts";
import { skipOrFail, needFile } from "../skip.ts";
import { treeThresholds } from "../../src/data/tree-bins.ts";
import { validateSpec } from "../../src/model/spec.ts";
import { Table } from "../../src/data/table.ts";
import { fitPreprocessing, encode } from "../../src/data/preprocess.ts";
import { readTable, splitRows } from "../../src/data/load.ts";
import { fileSource } from "../../src/data/node-file.ts";

const PY = "/usr/bin/python3";
const SKLEARN = `
import json, sys
import numpy as np
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
out = []
for c in json.load(sys.stdin):
    X = np.asarray(c["x"], dtype=np.float32).reshape(-1, 1)
    kw = dict(max_leaf_nodes=c["bins"], min_samples_leaf=c["leaf"], min_impurity_decrease=c["dec"], random_state=0)
    tree = (DecisionTreeClassifier(**kw) if c["classes"] else DecisionTreeRegressor(**kw)).fit(X, np.asarray(c["y"], dtype=np.float64)).tree_
    out.append(sorted(float(tree.threshold[i]) for i in range(tree.node_count) if tree.children_left[i] != tree.children_right[i]))
json.dump(out, sys.stdout)
`;

interface Case {
  what: string;
  x: number[];
  y: number[];
  classes: number;
  bins: number;
  leaf: number;
  dec: number;
}

/** scikit-learn's thresholds for each case, or null (reported skip) when python3-sklearn is missing. */
function sklearnThresholds(cases: Case[], what: string): number[][] | null {
  const probe = spawnSync(PY, ["-c", "import sklearn"], { stdio: "ignore" });
  if (probe.status !== 0) {
    skipOrFail(what, "Debian's python3-sklearn is not installed (tools/deps.mjs installs it)");
    return null;
  }
  const r = spawnSync(PY, ["-c", SKLEARN], { input: JSON.stringify(cases), encoding: "utf8", maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`sklearn reference failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const ours = (c: Case) => treeThresholds(c.x, c.y, { bins: c.bins, minSamplesLeaf: c.leaf, minImpurityDecrease: c.dec, classes: c.classes });

test("the thresholds equal scikit-learn's best-first trees: Gini for 2 and 3 classes, squared error, every stopping rule", () => {
  const rng = new Rng(17), cases: Case[] = [];
  const data = (n: number, classes: number, round: number) => {
    const x: number[] = [], y: number[] = [];
    for (let i = 0; i < n; i++) {
      const v = Math.round((rng.next() * 10 - 3) * round) / round;
      const p = 1 / (1 + Math.exp(-3 * Math.sin(v)));
      x.push(v);
      y.push(classes === 0 ? Math.sin(v) + rng.normal() * 0.5 : classes === 2 ? +(rng.next() < p) : Math.min(classes - 1, Math.floor(rng.next() * 1.5 + (v > 2 ? 1 : 0) + (v > 5 ? 1 : 0))));
    }
    return { x, y };
  };
  for (const classes of [2, 3, 4, 0])
    for (const [bins, leaf, dec, round] of [
      [8, 1, 0, 1000], // every split the leaves allow, continuous values
      [16, 20, 0, 1000],
      [32, 5, 1e-4, 100],
      [64, 1, 3e-3, 100], // min_impurity_decrease stops the growth before 63 splits
      [40, 150, 0, 10], // min_samples_leaf stops it; many tied values
      [2, 1, 0, 1], // one split over integers
    ]) cases.push({ what: `classes ${classes}, bins ${bins}, leaf ${leaf}, decrease ${dec}`, classes, bins, leaf, dec, ...data(1500, classes, round) });
  // Values within f32(x + 1e−7) are not split apart (1 and its float32 neighbour 1 + 2^−23 are not, in float32
  // arithmetic); a constant column and pure labels give no split.
  cases.push({ what: "near-equal values", classes: 2, bins: 8, leaf: 1, dec: 0, x: [1, 1 + 2 ** -23, 1 + 2 ** -22, 2, 2, 3], y: [0, 1, 0, 1, 1, 0] });
  cases.push({ what: "constant column", classes: 2, bins: 8, leaf: 1, dec: 0, x: [5, 5, 5, 5], y: [0, 1, 0, 1] });
  cases.push({ what: "pure labels", classes: 2, bins: 8, leaf: 1, dec: 0, x: [1, 2, 3, 4], y: [1, 1, 1, 1] });
  cases.push({ what: "equal decreases", classes: 2, bins: 2, leaf: 1, dec: 0, x: [1, 2, 3, 4], y: [0, 1, 1, 0] });
  const ref = sklearnThresholds(cases, "tree bins against scikit-learn");
  if (!ref) return;
  let stopped = 0;
  cases.forEach((c, i) => {
    assert.equal(ours(c), ref[i], c.what);
    if (ref[i].length < c.bins - 1) stopped++;
  });
  // The stopping rules were exercised: some trees end with fewer than bins − 1 splits, and the near-equal case splits once.
  assert.ok(stopped >= 8, `only ${stopped} cases stopped early`);
  assert.equal(ref[cases.length - 4].length, 2, "near-equal values: splits only between 1.0000002 and 2, and between 2 and 3");
});

test("the splits follow the labels: a step in the label gets a threshold at the step, quantile bins do not", () => {
  const x = Array.from({ length: 1000 }, (_, i) => i), y = x.map((v) => +(v >= 731));
  assert.equal(treeThresholds(x, y, { bins: 4, minSamplesLeaf: 1, minImpurityDecrease: 0, classes: 2 }), [730.5]);
  assert.equal(treeThresholds(x, y, { bins: 1, minSamplesLeaf: 1, minImpurityDecrease: 0, classes: 2 }), [], "one bin: no split");
  assert.equal(treeThresholds(x, y.map((v) => 5 * v), { bins: 4, minSamplesLeaf: 1, minImpurityDecrease: 0, classes: 0 }), [730.5]);
  // min_samples_leaf keeps the split 300 rows away from either end.
  assert.equal(treeThresholds(x, x.map((v) => +(v >= 950)), { bins: 2, minSamplesLeaf: 300, minImpurityDecrease: 0, classes: 2 }), [699.5]);
  assert.equal(treeThresholds(x, x.map((v) => +(v >= 950)), { bins: 2, minSamplesLeaf: 300, minImpurityDecrease: 0, classes: 0 }), [699.5], "regression");
  // Equal decreases: the first position wins (0 | 1 1 0 and 0 1 1 | 0 split the same), as in scikit-learn.
  assert.equal(treeThresholds([1, 2, 3, 4], [0, 1, 1, 0], { bins: 2, minSamplesLeaf: 1, minImpurityDecrease: 0, classes: 2 }), [1.5]);
  assert.equal(treeThresholds([1, 2, 3, 4], [0, 1, 1, 0], { bins: 2, minSamplesLeaf: 1, minImpurityDecrease: 0, classes: 0 }), [1.5]);
  const o = { bins: 2, minSamplesLeaf: 1, minImpurityDecrease: 0, classes: 2 };
  for (const y of [[0, 2], [0, -1], [0, 0.5]]) throwsWith(() => treeThresholds([1, 2], y, o), `label ${y[1]} at row 1 is not a class index below 2`);
  throwsWith(() => treeThresholds([1, 2], [0], o), "2 values but 1 labels");
  throwsWith(() => treeThresholds([1, 1e39], [0, 1], o), "value 1e+39 at row 1 is not a finite float32");
  throwsWith(() => treeThresholds([1, 2], [0, 1], { ...o, bins: 0 }), "bins 0 and minSamplesLeaf 1 must be at least 1");
  throwsWith(() => treeThresholds([1, 2], [0, 1], { ...o, minSamplesLeaf: 0 }), "bins 2 and minSamplesLeaf 0 must be at least 1");
});

const census = JSON.parse(readFileSync("models/census-mmoe.json", "utf8"));

test("census: fitted edges are the column's extremes and scikit-learn's thresholds on the training rows' labels", async () => {
  const cols = ["age", "capital_gains", "weeks_worked"];
  const spec = validateSpec({ ...census, inputs: { ...census.inputs, numeric: cols.map((column, j) => ({ column, encoding: "ple", bins: 8 + 8 * j, tree: j === 2 ? { task: "never_married", min_samples_leaf: 10, min_impurity_decrease: 0 } : true })) } });
  if (!needFile(spec.data!.path!, "census tree bins")) return;
  const table = await readTable(fileSource(spec.data!.path!), spec.data!);
  const split = splitRows(spec, table);
  const pre = fitPreprocessing(spec, table, split.train);
  const enc = encode(spec, pre, table, split.train);
  const cases: Case[] = cols.map((column, j) => {
    const tree = spec.inputs.numeric_encodings![j];
    if (tree.encoding !== "ple" || !tree.tree) throw new Error("expected a tree-binned ple column");
    const ti = spec.tasks.findIndex((t) => t.name === tree.tree!.task);
    const v = table.numericColumn(column, { missing: spec.inputs.missing, nonfinite: "error" });
    const labels = enc.tasks[ti].labels;
    return { what: column, x: Array.from(split.train, (r) => v[r]), y: Array.from(labels), classes: 2, bins: tree.bins, leaf: tree.tree.min_samples_leaf, dec: tree.tree.min_impurity_decrease };
  });
  assert.equal(spec.inputs.numeric_encodings!.map((e) => e.encoding === "ple" && e.tree?.task), ["income", "income", "never_married"], "tree: true takes the first task");
  const ref = sklearnThresholds(cases, "census tree bins against scikit-learn");
  if (!ref) return;
  cases.forEach((c, j) => {
    const lo = Math.min(...c.x), hi = Math.max(...c.x);
    const want = [...new Set([lo, ...ref[j], hi].map(Math.fround))].sort((a, b) => a - b);
    assert.equal(pre.numeric[j].edges, want, c.what);
    assert.ok(want.length >= 3, `${c.what}: ${want.length - 1} bins`);
  });
});

test("missing labels are left out of the tree, and regression targets are standardized (the decrease is scale-free)", () => {
  const rng = new Rng(4), n = 600;
  const rows = Array.from({ length: n }, (_, i) => {
    const x = rng.next() * 20;
    return { x: x.toFixed(3), b: i % 5 === 0 ? "?" : String(+(x > 7 + rng.normal())), r: (1000 * Math.sin(x / 3) + 200 * rng.normal()).toFixed(2) };
  });
  const table = Table.fromRecords("t", rows), all = Uint32Array.from({ length: n }, (_, i) => i);
  const make = (task: string, dec: number, r = "r") =>
    validateSpec({ inputs: { numeric: [{ column: "x", encoding: "ple", bins: 12, tree: { task, min_samples_leaf: 20, min_impurity_decrease: dec } }], missing: ["?"] }, tasks: [{ name: "b", type: "binary", label: "b" }, { name: "r", type: "regression", label: r }] });
  const fit = (task: string, dec: number, tbl = table) => fitPreprocessing(make(task, dec), tbl, all).numeric[0].edges!;
  // Binary: the tree on the 480 labeled rows only.
  const lab = rows.filter((r) => r.b !== "?");
  const xb = lab.map((r) => +r.x), yb = lab.map((r) => +r.b);
  const cut = treeThresholds(xb, yb, { bins: 12, minSamplesLeaf: 20, minImpurityDecrease: 1e-3, classes: 2 });
  const xs = rows.map((r) => +r.x);
  assert.equal(fit("b", 1e-3), [...new Set([Math.min(...xs), ...cut, Math.max(...xs)].map(Math.fround))].sort((a, b) => a - b));
  // Regression with a decrease threshold: the same edges whatever the targets' unit.
  const scaled = Table.fromRecords("t", rows.map((r) => ({ ...r, r: (+r.r * 1e-3).toFixed(8) })));
  const a = fit("r", 0.01), b = fit("r", 0.01, scaled);
  assert.equal(a, b);
  assert.ok(a.length > 3 && a.length < 13, `${a.length - 1} bins: the decrease threshold should stop the tree before 12 (on standardized targets)`);
});

test("spec: tree forms, defaults, normalization and errors naming the field", () => {
  const tasks = [{ name: "m", type: "multilabel", labels: ["a", "b"] }, { name: "c", type: "multiclass", label: "k" }, { name: "y", type: "regression", labels: ["u", "v"] }];
  const s = validateSpec({ inputs: { numeric: ["x"], numeric_encoding: { type: "ple", bins: 9, tree: { task: "c" } } }, tasks });
  assert.equal(s.inputs.numeric_encodings, [{ column: "x", encoding: "ple", bins: 9, tree: { task: "c", min_samples_leaf: 64, min_impurity_decrease: 1e-4 }, missing_indicator: false }]);
  assert.equal(validateSpec(JSON.parse(JSON.stringify(s))).inputs, s.inputs, "the normalized spec reads back unchanged");
  assert.not.ok("tree" in validateSpec({ inputs: { numeric: [{ column: "x", encoding: "ple", tree: false }] }, tasks }).inputs.numeric_encodings![0]);
  const bad = (inputs: Record<string, unknown>, path: string, msg: string) => throwsWith(() => validateSpec({ inputs, tasks }), path, msg);
  bad({ numeric: ["x"], numeric_encoding: { type: "ple", tree: true } }, "inputs.numeric[0].tree.task", 'task "m" is multilabel; target-aware bins need a binary, multiclass or one-column regression task');
  bad({ numeric: [{ column: "x", encoding: "ple", tree: { task: "y" } }] }, "inputs.numeric[0].tree.task", 'task "y" is regression over 2 label columns');
  bad({ numeric: [{ column: "x", encoding: "ple", tree: { task: "z" } }] }, "inputs.numeric[0].tree.task", 'names no task (the tasks: "m", "c", "y")');
  bad({ numeric: [{ column: "x", encoding: "quantile", tree: true }] }, "inputs.numeric[0].tree", 'is not an option of encoding "quantile"');
  bad({ numeric: [{ column: "x", encoding: "ple", tree: { task: "c", min_samples_leaf: 0 } }] }, "inputs.numeric[0].tree.min_samples_leaf", "must be ≥ 1");
  bad({ numeric: [{ column: "x", encoding: "ple", tree: { task: "c", depth: 3 } }] }, "inputs.numeric[0].tree.depth", "");
  bad({ numeric: [{ column: "x", encoding: "ple", tree: { task: "c", min_impurity_decrease: -1 } }] }, "inputs.numeric[0].tree.min_impurity_decrease", "must be ≥ 0");
});

test.run();
