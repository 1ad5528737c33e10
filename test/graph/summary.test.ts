// summarize / formatSummary / toDot: parameter counts by role equal an independent count from the spec's arithmetic
// (for hps, mmoe and cgc, with categorical embeddings, a group_by task, layer norm and dropout), every parameter is
// counted once at its first reader, weighting's log-variances (in the store, not the graph) are in the totals,
// the table is aligned, and the Graphviz text is a digraph with one node per graph node.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { validateSpec, type AnyLayer, type Layer, type ModelSpec } from "../../src/model/spec.ts";
import { lowerSpec, type DataDims } from "../../src/model/lower.ts";
import type { Preprocessing } from "../../src/data/preprocess.ts";
import { Graph } from "../../src/graph/graph.ts";
import { formatSummary, summarize, thousands, toDot } from "../../src/graph/summary.ts";
import { Model } from "../../src/model/model.ts";
import { setup } from "../helpers.ts";
import { parseDot } from "./dot.ts";

// ---- the model under test: sizes the data would give are fixed here ------------------------------------------------
const F = 3; // numeric columns
const CATS = [
  { column: "c1", dim: 3, vocab: 5 }, // vocab includes the unknown bucket
  { column: "c2", dim: 2, vocab: 7 },
];
const K = 4; // classes of task b
const G = 5; // groups of task s
const TASKS = [
  { name: "a", type: "binary", label: "ya", tower: [8] },
  { name: "b", type: "multiclass", label: "yb", classes: ["p", "q", "r", "s"], tower: [{ units: 6, layernorm: true, activation: "tanh", dropout: 0.2 }] },
  { name: "s", type: "regression", label: "ys", group_by: "school", tower: [4] },
  { name: "m", type: "multilabel", labels: ["m1", "m2"] },
];
const WIDTH: Record<string, number> = { a: 1, b: K, s: 1, m: 2 };
const GROUPS: Record<string, number> = { a: 0, b: 0, s: G, m: 0 };

function specWith(architecture: unknown, training: unknown = {}): ModelSpec {
  return validateSpec({
    name: "toy",
    inputs: { numeric: ["x0", "x1", "x2"], categorical: CATS.map(({ column, dim }) => ({ column, dim })) },
    architecture,
    tasks: TASKS,
    training,
  });
}

const pre: Preprocessing = {
  numeric: ["x0", "x1", "x2"].map((column, j) => ({ column, mean: j, std: 1 + j })),
  categorical: CATS.map((c) => ({ column: c.column, vocab: Array.from({ length: c.vocab - 1 }, (_, k) => `v${k}`) })),
  tasks: TASKS.map((t) => ({
    name: t.name,
    classes: t.type === "multiclass" ? ["p", "q", "r", "s"] : null,
    groups: t.name === "s" ? Array.from({ length: G }, (_, k) => `g${k}`) : null,
    target: t.type === "regression" ? [{ mean: 10, std: 2 }] : null,
  })),
};
const dims: DataDims = { numeric: F, vocab: CATS.map((c) => c.vocab), outputs: TASKS.map((t) => WIDTH[t.name]), groups: TASKS.map((t) => GROUPS[t.name]) };

// ---- the independent count: only the spec's arithmetic ---------------------------------------------------------------
const D = F + CATS.reduce((s, c) => s + c.dim, 0); // the concatenated input width
const EMB = CATS.reduce((s, c) => s + c.vocab * c.dim, 0);

/** Dense layers in·u + u, plus 2u for layer norm's scale and bias; returns the count and the output width. */
function mlpCount(inW: number, all: readonly AnyLayer[]): [number, number] {
  const layers = all as readonly Layer[]; // these specs are dense only
  let n = 0, w = inW;
  for (const l of layers) {
    n += w * l.units + l.units + (l.layernorm ? 2 * l.units : 0);
    w = l.units;
  }
  return [n, w];
}

/** A task's tower and head (plus the group deviations head of a group_by task) over a representation of width repW. */
function taskCount(spec: ModelSpec, name: string, repW: number): number {
  const t = spec.tasks.find((x) => x.name === name)!;
  const [tower, h] = mlpCount(repW, t.tower);
  const w = WIDTH[name], g = GROUPS[name];
  return tower + (h * w + w) + (g ? h * g * w + g * w : 0);
}

function expected(spec: ModelSpec): Record<string, number> {
  const a = spec.architecture;
  const [expert, repW] = mlpCount(D, a.layers);
  const out: Record<string, number> = {};
  if (a.type === "hps") {
    out.shared = EMB + expert;
    for (const t of TASKS) out[`task:${t.name}`] = taskCount(spec, t.name, repW);
  } else if (a.type === "mmoe") {
    out.shared = EMB + a.experts * expert;
    for (const t of TASKS) out[`task:${t.name}`] = taskCount(spec, t.name, repW);
    for (const t of TASKS) out[`gate:${t.name}`] = D * a.experts + a.experts;
  } else {
    const e = a.shared_experts + a.task_experts;
    out.shared = EMB + a.shared_experts * expert;
    for (const t of TASKS) out[`task:${t.name}`] = a.task_experts * expert + taskCount(spec, t.name, repW);
    for (const t of TASKS) out[`gate:${t.name}`] = D * e + e;
  }
  return out;
}

const ARCHS: [string, unknown][] = [
  ["hps", { type: "hps", layers: [16, { units: 8, layernorm: true, dropout: 0.1 }] }],
  ["mmoe", { type: "mmoe", experts: 3, layers: [12, { units: 7, dropout: 0.1 }] }],
  ["cgc", { type: "cgc", shared_experts: 2, task_experts: 1, layers: [10, { units: 6, layernorm: true }] }],
];

for (const [label, arch] of ARCHS) {
  test(`${label}: parameters by role equal the spec's arithmetic`, () => {
    const spec = specWith(arch);
    const s = summarize(lowerSpec(spec, dims, pre, "encoded"));
    const want = expected(spec);
    assert.equal(s.totals.byRole, want);
    // The totals' order: shared, each task, each gate.
    assert.equal(Object.keys(s.totals.byRole), Object.keys(want));
    const sum = Object.values(want).reduce((x, y) => x + y, 0);
    assert.is(s.totals.parameters, sum);
    assert.is(s.totals.total, sum);
    assert.is(s.totals.constants, 0);
    // Rows carry every parameter exactly once.
    assert.is(s.rows.reduce((x, r) => x + r.params, 0), sum);
    const counted = s.rows.flatMap((r) => r.weights);
    assert.is(new Set(counted).size, counted.length);
    assert.is(counted.length, s.totals.tensors);
  });

  test(`${label}: the raw (export) graph has the same parameters and its constants counted apart`, () => {
    const spec = specWith(arch);
    const s = summarize(lowerSpec(spec, dims, pre, "raw"));
    assert.equal(s.totals.byRole, expected(spec));
    // numeric mean and std, and task s's target std and mean.
    assert.is(s.totals.constants, 2 * F + 2);
    assert.is(s.totals.total, s.totals.parameters + 2 * F + 2);
    assert.ok(s.rows.some((r) => r.op === "standardize" && r.shape === `[N, ${F}]`));
    assert.not.ok(s.rows.some((r) => r.op === "bce" || r.op === "xent" || r.op === "mse"));
  });
}

test("rows: one per graph node, with the op's describe() detail, output shapes with N, the role of what it reads", () => {
  const spec = specWith(ARCHS[0][1]);
  const g = lowerSpec(spec, dims, pre, "encoded");
  const s = summarize(g);
  assert.equal(s.rows.map((r) => r.name), g.nodes.map((n) => n.name));
  const row = (name: string) => s.rows.find((r) => r.name === name)!;
  assert.equal([row("shared.0").op, row("shared.0").detail, row("shared.0").shape, row("shared.0").params, row("shared.0").role], ["dense", "relu", "[N, 16]", D * 16 + 16, "shared"]);
  assert.equal([row("shared.1.ln").op, row("shared.1.ln").params], ["layernorm", 16]);
  assert.equal([row("shared.1.drop").op, row("shared.1.drop").detail, row("shared.1.drop").params, row("shared.1.drop").role], ["dropout", "p=0.1", 0, ""]);
  assert.equal([row("tower.b.0.act").op, row("tower.b.0.drop").detail], ["tanh", "p=0.2"]);
  assert.equal([row("embed.c2").shape, row("embed.c2").params, row("embed.c2").role], ["[N, 2]", 7 * 2, "shared"]);
  assert.equal([row("head.s.groups").shape, row("head.s.groups").params, row("head.s.groups").role], ["[N, 5]", 4 * G + G, "task:s"]);
  assert.equal([row("head.b").shape, row("out.b").op], [`[N, ${K}]`, "softmax"]);
  assert.is(row("loss.a").shape, "scalar");
});

test("a parameter read by several nodes is counted once, at its first reader; the list must agree with the graph", () => {
  const g = new Graph("tied");
  const x = g.input("x", "f32", ["N", 3]);
  const W = g.param("W", [3, 3], { kind: "zeros" }, "shared");
  const b = g.param("b", [3], { kind: "zeros" }, "shared");
  const c = g.param("c", [3], { kind: "zeros" }, "task:t");
  const h = g.add1("dense", [x, W, b], { act: "relu" }, "first");
  g.add1("dense", [h, W, c], { act: "none" }, "second");
  const s = summarize(g);
  assert.equal(s.rows.map((r) => [r.name, r.params, r.weights, r.role]), [
    ["first", 12, ["W", "b"], "shared"],
    ["second", 3, ["c"], "shared,task:t"],
  ]);
  assert.equal(s.totals.byRole, { shared: 12, "task:t": 3 });
  // A parameter list that disagrees with the graph is an error naming the parameter.
  const list = g.params().map((v) => ({ name: v.name, shape: v.shape as number[], role: v.role! }));
  assert.throws(() => summarize(g, list.map((p) => (p.name === "b" ? { ...p, shape: [4] } : p))), /parameter "b" is \[3\] in the graph but \[4\]/);
  assert.throws(() => summarize(g, list.filter((p) => p.name !== "c")), /graph parameter "c" \[3\] is not in the parameter list/);
  // Extra parameters of the list (not in the graph) count in the totals under their role.
  const extra = summarize(g, [...list, { name: "weighting.log_var", shape: [2], role: "weighting" }]);
  assert.equal(extra.totals.byRole, { shared: 12, "task:t": 3, weighting: 2 });
  assert.equal(extra.params.at(-1), { name: "weighting.log_var", shape: [2], size: 2, role: "weighting", reader: null });
});

test("uncertainty weighting: the model's log-variances are in the totals (role weighting), beside the graph's parameters", async () => {
  const { k } = await setup();
  const spec = specWith(ARCHS[1][1], { weighting: { type: "uncertainty" } });
  const model = new Model(spec, pre, k);
  try {
    const s = summarize(model.graph, model.store.params);
    assert.equal(s.totals.byRole, { ...expected(spec), weighting: TASKS.length });
    assert.is(s.totals.parameters, model.store.params.reduce((x, p) => x + p.size, 0));
    assert.is(s.totals.tensors, model.store.params.length);
    assert.equal(s.params.filter((p) => p.reader === null).map((p) => p.name), ["weighting.log_var"]);
    assert.match(formatSummary(s), /Not read by the graph: weighting\.log_var \[4\] \(weighting\)/);
    assert.match(formatSummary(s), new RegExp(`\\n  weighting\\s+${TASKS.length}\\n`));
  } finally {
    model.dispose();
  }
});

test("formatSummary: a header, a separator, aligned columns, totals at the bottom", () => {
  const spec = specWith(ARCHS[2][1]);
  const s = summarize(lowerSpec(spec, dims, pre, "encoded"));
  const lines = formatSummary(s).split("\n");
  assert.match(lines[0], /^Layer\s+Op\s+Output shape\s+Params\s+Role$/);
  assert.match(lines[1], /^─+$/);
  const paramsEnd = lines[0].indexOf("Params") + "Params".length, shapeAt = lines[0].indexOf("Output shape"), opAt = lines[0].indexOf("Op");
  s.rows.forEach((r, i) => {
    const l = lines[2 + i];
    assert.ok(l.startsWith(r.name + " "), l);
    assert.is(l.slice(opAt).split("  ")[0], r.detail ? `${r.op} (${r.detail})` : r.op, l);
    assert.is(l.slice(shapeAt).split("  ")[0], r.shape, l);
    // Params right-aligned under its header.
    assert.is(l.slice(0, paramsEnd).trimStart().split(/\s{2,}/).at(-1), thousands(r.params), l);
    assert.is(l.slice(paramsEnd).trim(), r.role, l);
  });
  assert.match(lines[2 + s.rows.length], /^─+$/);
  const tail = lines.slice(3 + s.rows.length).join("\n");
  for (const [role, n] of Object.entries(expected(spec))) assert.match(tail, new RegExp(`\\n  ${role.replace(".", "\\.")}\\s+${thousands(n)}(\\n|$)`));
  assert.match(tail, new RegExp(`Trainable parameters: ${thousands(s.totals.parameters)} in ${s.totals.tensors} tensors`));
  assert.ok(lines.at(-1) === `Total: ${thousands(s.totals.total)}`, lines.at(-1));
});

test("toDot: a digraph, one node per graph node, edges from each input's producer to its reader", () => {
  for (const boundary of ["encoded", "raw"] as const) {
    const g = lowerSpec(specWith(ARCHS[1][1]), dims, pre, boundary);
    const dot = parseDot(toDot(g));
    assert.is(dot.name, "toy");
    assert.is(dot.nodes.size, g.nodes.length);
    const want = new Set<string>();
    for (const n of g.nodes) for (const v of n.inputs) if (v.producer) want.add(`n${v.producer.id}->n${n.id}`);
    assert.equal(new Set(dot.edges.map(([a, b]) => `${a}->${b}`)), want);
    assert.is(dot.edges.length, want.size);
    // Labels: name, op (detail), shape; graph inputs named in the reader's label; parameters counted, not drawn.
    const label = (name: string) => dot.nodes.get(`n${g.nodes.find((n) => n.name === name)!.id}`)!.label;
    assert.is(label("expert.0.0"), `expert.0.0\ndense (relu)\n[N, 12]\n${thousands(D * 12 + 12)} params`);
    if (boundary === "encoded") assert.is(label("embed.c1"), `embed.c1\nembedding\n[N, 3]\n← cat:c1 [N]\n15 params`);
    else assert.ok(label("numeric.standardized").includes("← numeric_mean [3]"));
  }
  // Names with quotes and backslashes are escaped.
  const g = new Graph('odd "name" \\');
  g.add1("sigmoid", [g.input("x", "f32", ["N", 2])], {}, 'say "hi"');
  const dot = parseDot(toDot(g));
  assert.is(dot.name, 'odd "name" \\');
  assert.ok(dot.nodes.get("n0")!.label.startsWith('say "hi"\nsigmoid\n[N, 2]'));
});

test.run();
