// mtl summary end to end: on a spec (the data read as `mtl train` reads it, only when the spec leaves sizes to it) the
// parameter counts by role equal the spec's arithmetic for hps, mmoe and cgc (categorical embeddings, a multiclass
// and a group_by task); on the shipped models/census-mmoe the total is the sum of weights.safetensors' tensor sizes
// and a tampered weights file is an error naming the tensor; --dot is a digraph with one node per graph node.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Rng, WASM_PATH } from "../helpers.ts";
import { main } from "../../src/cli/main.ts";
import { deserialize, serialize } from "../../src/io/safetensors.ts";
import { parseDot } from "../graph/dot.ts";

const dir = mkdtempSync(join(tmpdir(), "mtl-summary-"));
const compiled = WebAssembly.compile(readFileSync(WASM_PATH));
const SHIPPED = fileURLToPath(new URL("../../models/census-mmoe", import.meta.url));
const CENSUS_CONFIG = fileURLToPath(new URL("../../models/census-mmoe.json", import.meta.url));

async function run(argv: string[]) {
  const out: string[] = [], err: string[] = [];
  const code = await main(argv, () => compiled, { log: (s) => out.push(s), error: (s) => err.push(s) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

async function json(argv: string[]) {
  const r = await run([...argv, "--json"]);
  assert.is(r.code, 0, r.err);
  return JSON.parse(r.out);
}

// ---- a data file: numeric x0..x2, categorical c (3 values), school s (4 groups), labels ------------------------------
const COLOURS = ["red", "green", "blue"];
const SCHOOLS = ["s1", "s2", "s3", "s4"];
{
  const rng = new Rng(5);
  const lines = ["x0,x1,x2,c,school,bin,cls,score"];
  for (let i = 0; i < 400; i++) {
    const x = [rng.normal(), rng.normal(), rng.normal()];
    lines.push([...x.map((v) => v.toFixed(4)), COLOURS[i % 3], SCHOOLS[i % 4], x[0] > 0 ? 1 : 0, ["a", "b", "c"][i % 3], (50 + 3 * x[1]).toFixed(3)].join(","));
  }
  writeFileSync(join(dir, "data.csv"), lines.join("\n") + "\n");
}

const EMB_DIM = 3;
const V = COLOURS.length + 1; // the vocabulary and its unknown bucket
const G = SCHOOLS.length;
const K = 3; // classes of cls, learnt from the data
const Dx = 3 + EMB_DIM;
const TASKS = [
  { name: "bin", type: "binary", label: "bin", tower: [5] },
  { name: "cls", type: "multiclass", label: "cls", tower: [{ units: 4, layernorm: true, dropout: 0.1 }] },
  { name: "score", type: "regression", label: "score", group_by: "school", tower: [3] },
];
const WIDTH: Record<string, number> = { bin: 1, cls: K, score: 1 };
const GROUPS: Record<string, number> = { bin: 0, cls: 0, score: G };

const config = (name: string, architecture: unknown, extra: Record<string, unknown> = {}) => {
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify({ name, data: { format: "csv", path: join(dir, "data.csv") }, inputs: { numeric: ["x0", "x1", "x2"], categorical: [{ column: "c", dim: EMB_DIM }] }, architecture, tasks: TASKS, ...extra }));
  return path;
};

type L = { units: number; layernorm?: boolean };
const norm = (l: number | L): L => (typeof l === "number" ? { units: l } : l);
function mlp(inW: number, layers: (number | L)[]): [number, number] {
  let n = 0, w = inW;
  for (const l of layers.map(norm)) {
    n += w * l.units + l.units + (l.layernorm ? 2 * l.units : 0);
    w = l.units;
  }
  return [n, w];
}
function task(name: string, repW: number): number {
  const t = TASKS.find((x) => x.name === name)!;
  const [tower, h] = mlp(repW, t.tower as (number | L)[]);
  const w = WIDTH[name], g = GROUPS[name];
  return tower + h * w + w + (g ? h * g * w + g * w : 0);
}

const CASES: { name: string; arch: Record<string, unknown>; want: (layers: (number | L)[]) => Record<string, number> }[] = [
  {
    name: "hps",
    arch: { type: "hps", layers: [8, { units: 6, layernorm: true }] },
    want: (layers) => {
      const [e, w] = mlp(Dx, layers);
      return { shared: V * EMB_DIM + e, ...Object.fromEntries(TASKS.map((t) => [`task:${t.name}`, task(t.name, w)])) };
    },
  },
  {
    name: "mmoe",
    arch: { type: "mmoe", experts: 4, layers: [7] },
    want: (layers) => {
      const [e, w] = mlp(Dx, layers);
      return {
        shared: V * EMB_DIM + 4 * e,
        ...Object.fromEntries(TASKS.map((t) => [`task:${t.name}`, task(t.name, w)])),
        ...Object.fromEntries(TASKS.map((t) => [`gate:${t.name}`, Dx * 4 + 4])),
      };
    },
  },
  {
    name: "cgc",
    arch: { type: "cgc", shared_experts: 2, task_experts: 2, layers: [6, 5] },
    want: (layers) => {
      const [e, w] = mlp(Dx, layers);
      return {
        shared: V * EMB_DIM + 2 * e,
        ...Object.fromEntries(TASKS.map((t) => [`task:${t.name}`, 2 * e + task(t.name, w)])),
        ...Object.fromEntries(TASKS.map((t) => [`gate:${t.name}`, Dx * 4 + 4])),
      };
    },
  },
];

for (const c of CASES) {
  test(`mtl summary CONFIG.json (${c.name}): parameters by role equal the spec's arithmetic`, async () => {
    const want = c.want(c.arch.layers as (number | L)[]);
    const j = await json(["summary", config(c.name, c.arch)]);
    assert.equal(j.totals.byRole, want);
    assert.is(j.totals.parameters, Object.values(want).reduce((a, b) => a + b, 0));
    assert.is(j.graph, "training");
    // With uncertainty weighting, its log-variances (one per task) join the totals.
    const u = await json(["summary", config(`${c.name}-uw`, c.arch, { training: { weighting: { type: "uncertainty" } } })]);
    assert.equal(u.totals.byRole, { ...want, weighting: TASKS.length });
    // The text table has the same totals.
    const r = await run(["summary", join(dir, `${c.name}.json`)]);
    assert.is(r.code, 0, r.err);
    for (const [role, n] of Object.entries(want)) assert.match(r.out, new RegExp(`\\n  ${role}\\s+${n.toLocaleString("en-US")}\\n`));
  });
}

test("mtl summary models/census-mmoe: the total is the sum of weights.safetensors' tensor sizes, and the table agrees", async () => {
  const bytes = readFileSync(join(SHIPPED, "weights.safetensors"));
  const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString("utf8"));
  delete header.__metadata__;
  const sizes = Object.values(header as Record<string, { shape: number[] }>).map((t) => t.shape.reduce((a, b) => a * b, 1));
  const values = sizes.reduce((a, b) => a + b, 0);
  const j = await json(["summary", SHIPPED]);
  assert.is(j.totals.parameters, values);
  assert.is(j.totals.total, values);
  assert.is(j.totals.tensors, sizes.length);
  assert.equal(j.weights.tensors, sizes.length);
  assert.equal(j.weights.values, values);
  for (const p of j.params) assert.equal(header[p.name].shape, p.shape, p.name);
  // The same count from the spec's arithmetic: embeddings of the learnt vocabularies, 8 periodic frequencies per
  // numeric column (each column becomes 16 features), one cross layer [240 → 240], 8 experts [240 → 64 → 32], two
  // gates [240 → 8], towers [32 → 16] and heads [16 → 1].
  const m = JSON.parse(readFileSync(join(SHIPPED, "model.json"), "utf8"));
  const emb = m.preprocessing.categorical.reduce((s: number, c: { vocab: string[] }) => s + (c.vocab.length + 1) * 4, 0);
  const F = m.preprocessing.numeric.length, D = 16 * F + 4 * m.preprocessing.categorical.length;
  assert.is(D, 240);
  assert.equal(j.totals.byRole, {
    shared: emb + 8 * F + (D * D + D) + 8 * (D * 64 + 64 + 64 * 32 + 32),
    "task:income": 32 * 16 + 16 + 16 + 1,
    "task:never_married": 32 * 16 + 16 + 16 + 1,
    "gate:income": D * 8 + 8,
    "gate:never_married": D * 8 + 8,
  });
  const r = await run(["summary", SHIPPED]);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, `agrees with weights.safetensors (${sizes.length} tensors, ${values.toLocaleString("en-US")} values)`);
  assert.match(r.out, `Total: ${values.toLocaleString("en-US")}`);
  assert.is(r.out.split("\n").filter((l) => /^(expert\.\d\.0)\s+dense\s+\[N, 64\]\s+15,424\s+shared$/.test(l)).length, 8);
  assert.match(r.out, /^cross\.0\s+dense\s+\[N, 240\]\s+57,840\s+shared$/m);
});

/**
 * A copy of the shipped model whose weights.safetensors is rewritten by `edit`; model.json without its weights_sha256
 * (`keepHash`: with it, so the copy is refused as not model.json's weights before any tensor is read).
 */
function tampered(name: string, edit: (t: ReturnType<typeof deserialize>["tensors"]) => void, keepHash = false): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  const m = JSON.parse(readFileSync(join(SHIPPED, "model.json"), "utf8"));
  if (!keepHash) delete m.weights_sha256;
  writeFileSync(join(d, "model.json"), JSON.stringify(m));
  const f = deserialize(readFileSync(join(SHIPPED, "weights.safetensors")));
  edit(f.tensors);
  writeFileSync(join(d, "weights.safetensors"), serialize(f.tensors, f.metadata));
  return d;
}

test("a tampered weights.safetensors is an error naming the tensor", async () => {
  // Same element count, other shape.
  const t1 = tampered("transposed", (t) => void (t["expert.3.0.weight"].shape = [64, 240]));
  let r = await run(["summary", t1]);
  assert.is(r.code, 1);
  assert.match(r.err, /^mtl summary: .*weights\.safetensors: tensor "expert\.3\.0\.weight" has shape \[64, 240\] \(15360 values\), but the model has \[240, 64\] \(15360 values; read by node expert\.3\.0\)$/);
  // Fewer values.
  const t2 = tampered("smaller", (t) => {
    t["head.income.weight"].shape = [15, 1];
    t["head.income.weight"].data = (t["head.income.weight"].data as Float32Array).slice(0, 15);
  });
  r = await run(["summary", t2]);
  assert.is(r.code, 1);
  assert.match(r.err, /tensor "head\.income\.weight" has shape \[15, 1\] \(15 values\), but the model has \[16, 1\] \(16 values/);
  // Missing and extra tensors.
  r = await run(["summary", tampered("missing", (t) => void delete t["gate.never_married.bias"])]);
  assert.is(r.code, 1);
  assert.match(r.err, /no tensor "gate\.never_married\.bias"; the model has it as \[8\]/);
  r = await run(["summary", tampered("extra", (t) => void (t["stray.weight"] = { dtype: "F32", shape: [2], data: new Float32Array(2) }))]);
  assert.is(r.code, 1);
  assert.match(r.err, /tensor "stray\.weight" not in the model/);
  // The untouched copy agrees.
  r = await run(["summary", tampered("same", () => {})]);
  assert.is(r.code, 0, r.err);
  // With model.json's weights hash kept, any edit is refused first, naming the file.
  r = await run(["summary", tampered("hashed", (t) => void (t["expert.3.0.weight"].shape = [64, 240]), true)]);
  assert.is(r.code, 2);
  assert.match(r.err, /hashed: weights\.safetensors is not the one model\.json was written with/);
  r = await run(["summary", tampered("hashed-same", () => {}, true)]);
  assert.is(r.code, 0, r.err);
});

test("--dot writes a digraph with one node per graph node; --raw summarizes the exported graph", async () => {
  for (const raw of [false, true]) {
    const file = join(dir, raw ? "raw.dot" : "train.dot");
    const extra = raw ? ["--raw"] : [];
    const j = await json(["summary", SHIPPED, "--dot", file, ...extra]);
    const dot = parseDot(readFileSync(file, "utf8"));
    assert.is(dot.name, "census-mmoe");
    assert.is(dot.nodes.size, j.rows.length);
    const ids = [...dot.nodes.keys()];
    j.rows.forEach((row: { name: string; shape: string }, i: number) => assert.ok(dot.nodes.get(ids[i])!.label.startsWith(`${row.name}\n`), row.name));
    for (const [a, b] of dot.edges) assert.ok(dot.nodes.has(a) && dot.nodes.has(b), `${a} -> ${b}`);
    // Every layer but those reading the graph's inputs reads something computed: it has an incoming edge.
    const into = new Set(dot.edges.map(([, b]) => b));
    const readsInput = (row: { name: string; op: string }) => ["embedding", "index_column", "standardize", "numeric_encode"].includes(row.op) || (row.op === "slice" && !raw && row.name.startsWith("numeric."));
    j.rows.forEach((row: { name: string; op: string }, i: number) => assert.ok(into.has(ids[i]) || readsInput(row), `${j.rows[i].name} has no input edge`));
    assert.is(j.graph, raw ? "raw" : "training");
    if (raw) {
      // Raw boundary: no losses, the encoder's constants counted apart: 7 means (for missing cells), per component
      // (one per column, all periodic) its column, lo, width and clip bounds (5 × 7), and M [7 × 7].
      assert.not.ok(j.rows.some((r: { op: string }) => r.op === "bce"));
      assert.is(j.totals.constants, 7 + 5 * 7 + 7 * 7);
      assert.is(j.totals.total, j.totals.parameters + 7 + 5 * 7 + 7 * 7);
    } else assert.is(j.rows.filter((r: { op: string }) => r.op === "bce").length, 2);
  }
});

test("a spec that leaves no size to the data needs no data; one that does names the missing file", async () => {
  const path = join(dir, "nodata.json");
  writeFileSync(
    path,
    JSON.stringify({
      name: "nodata",
      data: { format: "csv", path: join(dir, "absent.csv") },
      inputs: { numeric: ["x0", "x1"] },
      architecture: { type: "hps", layers: [4] },
      tasks: [
        { name: "k", type: "multiclass", label: "y", classes: ["a", "b", "c"] },
        { name: "r", type: "regression", labels: ["r1", "r2"], tower: [2] },
      ],
    }),
  );
  const j = await json(["summary", path]);
  assert.equal(j.totals.byRole, { shared: 2 * 4 + 4, "task:k": 4 * 3 + 3, "task:r": 4 * 2 + 2 + 2 * 2 + 2 });
  // Categorical inputs need the vocabularies: the missing data file is named.
  const cat = config("needsdata", { type: "hps", layers: [4] });
  const spec = JSON.parse(readFileSync(cat, "utf8"));
  spec.data.path = join(dir, "gone.csv");
  writeFileSync(cat, JSON.stringify(spec));
  let r = await run(["summary", cat]);
  assert.is(r.code, 2);
  assert.match(r.err, /^mtl summary: config .*needsdata\.json: the summary needs the data for the vocabulary of categorical input c; the classes of task cls; the groups of task score \(group_by school\), but data file .*gone\.csv is not available/);
  // --data points it at the file, as for train.
  r = await run(["summary", cat, "--data", join(dir, "data.csv"), "--json"]);
  assert.is(r.code, 0, r.err);
  assert.is(JSON.parse(r.out).totals.byRole["task:score"], task("score", 4));
  // Usage errors.
  r = await run(["summary"]);
  assert.is(r.code, 2);
  assert.match(r.err, /usage: mtl summary CONFIG\.json\|DIR/);
  r = await run(["summary", SHIPPED, "--data", "x.csv"]);
  assert.is(r.code, 2);
  assert.match(r.err, /--data applies to CONFIG\.json/);
  r = await run(["summary", join(dir, "nosuch.json")]);
  assert.is(r.code, 2);
  assert.match(r.err, /nosuch\.json: no such file/);
});

test("mtl summary models/census-mmoe.json (the census data, read as train reads it) gives the shipped model's counts", async () => {
  const spec = JSON.parse(readFileSync(CENSUS_CONFIG, "utf8"));
  const data = spec.data.path as string; // relative to the current directory, as for mtl train
  if (!existsSync(data)) {
    if (process.env.CI && !/^(0|false)$/i.test(process.env.CI)) throw new Error(`${data} not present; under CI this is a failure`);
    process.stdout.write(`\nSKIP mtl summary models/census-mmoe.json: ${data} not present\n`);
    return;
  }
  const a = await json(["summary", CENSUS_CONFIG]);
  const b = await json(["summary", SHIPPED]);
  assert.equal(a.totals, b.totals);
  assert.equal(a.rows, b.rows);
});

test.run();
