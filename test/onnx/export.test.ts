// Export parity: for every architecture and task type, the exported ONNX model run by onnxruntime-web
// (wasm EP, one thread) equals our own wasm forward pass within 1e-5, and Debian's python3-onnx checker
// (full check + strict shape inference) accepts it. In CI the checker must be present.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { setup, Rng } from "../helpers.ts";
import { validateSpec, type ModelSpec } from "../../src/model/spec.ts";
import { Model } from "../../src/model/model.ts";
import { Table } from "../../src/data/table.ts";
import { encode, fitPreprocessing } from "../../src/data/preprocess.ts";
import { exportOnnx } from "../../src/onnx/export.ts";
import { encodeRows, modelMetaFromBytes, type Row } from "../../src/infer/rows.ts";
import { createOrtRunner } from "../../src/infer/ort.ts";
import { createSession } from "../../src/infer/session.ts";
import { encodeModel, decodeModel } from "../../src/onnx/model.ts";
import { checkWithPython } from "./checker.ts";
import { skipOrFail, needFile } from "../skip.ts";
import { readTable, splitRows } from "../../src/data/load.ts";
import { fileSource } from "../../src/data/node-file.ts";

const { k } = await setup();

/** Raw string rows covering every task type, a group_by task and missing values. */
function rows(n: number, seed: number): Row[] {
  const rng = new Rng(seed);
  const colours = ["red", "green", "blue", "teal"];
  return Array.from({ length: n }, () => {
    const x = [rng.normal() * 3 + 10, rng.normal(), rng.normal() * 0.1];
    return {
      a: rng.next() < 0.05 ? "?" : x[0].toFixed(3),
      b: x[1].toFixed(3),
      c: x[2].toFixed(4),
      colour: colours[rng.int(4)],
      size: ["s", "m", "l"][rng.int(3)],
      school: String(1 + rng.int(5)),
      yb: x[1] > 0 ? "1" : "0",
      yc: ["p", "q", "r"][rng.int(3)],
      yr: (5 * x[1] + 20).toFixed(2),
      yg: (x[0] + rng.normal()).toFixed(2),
      m0: rng.next() < 0.5 ? "1" : "0",
      m1: rng.next() < 0.5 ? "1" : "0",
    };
  });
}

const tasks = [
  { name: "bin", type: "binary", label: "yb", tower: [{ units: 6, activation: "tanh" }] },
  { name: "cls", type: "multiclass", label: "yc", tower: [{ units: 5, activation: "gelu" }] },
  { name: "reg", type: "regression", label: "yr", tower: [{ units: 4, activation: "leaky_relu" }] },
  { name: "grp", type: "regression", label: "yg", group_by: "school", group_l2: 0.01 },
  { name: "ml", type: "multilabel", labels: ["m0", "m1"], tower: [{ units: 4, activation: "sigmoid" }] },
];
const inputs = { numeric: ["a", "b", "c"], categorical: ["colour", { column: "size", dim: 2 }], missing: ["?"] };

const specs: Record<string, ModelSpec> = {
  hps: validateSpec({ inputs, tasks, architecture: { type: "hps", layers: [{ units: 12, layernorm: true, dropout: 0.2 }, { units: 8, activation: "gelu" }] } }),
  mmoe: validateSpec({ inputs, tasks, architecture: { type: "mmoe", experts: 3, layers: [10, 6] } }),
  cgc: validateSpec({ inputs, tasks, architecture: { type: "cgc", shared_experts: 2, task_experts: 1, layers: [{ units: 7, activation: "silu" }] } }),
  linear: validateSpec({ inputs, tasks, architecture: { type: "hps", layers: [] } }),
  "mmoe+cross": validateSpec({ inputs, tasks, architecture: { type: "mmoe", experts: 3, layers: [10, 6], cross: 2 } }),
};

const maxAbs = (a: Float32Array, b: Float32Array) => {
  assert.is(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

const exported: Uint8Array[] = [];
for (const [name, spec] of Object.entries(specs)) {
  test(`${name}: onnxruntime-web output equals our forward pass within 1e-5`, async () => {
    const train = rows(300, 1), probe = rows(64, 2);
    const table = Table.fromRecords("train", train as Record<string, string>[]);
    const pre = fitPreprocessing(spec, table, Uint32Array.from({ length: 300 }, (_, i) => i));
    const model = new Model(spec, pre, k);
    model.initParams(5);
    // Perturb every parameter (biases, deviations, layer-norm affine) so no path is trivially zero.
    const rng = new Rng(9);
    const w = model.getWeights();
    for (const v of Object.values(w)) v.forEach((x, i) => (v[i] = x + 0.2 * rng.normal()));
    model.setWeights(w);
    const bytes = exportOnnx(model);
    exported.push(bytes);
    const ours = model.predict(encode(spec, pre, Table.fromRecords("probe", probe as Record<string, string>[]), undefined, { labels: false }));
    const runner = await createOrtRunner(bytes);
    const out = await runner.run(encodeRows(modelMetaFromBytes(bytes), probe));
    spec.tasks.forEach((t, i) => {
      const d = maxAbs(out[t.name], ours[i]);
      assert.ok(d <= 1e-5, `${t.name}: max |ort − ours| = ${d.toExponential(2)}`);
    });
    // The mtl engine (our kernels executing the ONNX graph) equals onnxruntime-web, from raw rows,
    // at two batch sizes (plans are compiled per batch size).
    const mtl = await createSession(bytes, { engine: "mtl", kernels: k });
    const viaRows = await mtl.run(probe);
    const one = await mtl.run(probe.slice(5, 6));
    const seven = await mtl.run(probe.slice(0, 7)); // a 4-row GEMM block plus 3 leftover rows
    spec.tasks.forEach((t, i) => {
      const d = maxAbs(viaRows[t.name], out[t.name]);
      assert.ok(d <= 1e-5, `${t.name}: max |mtl − ort| = ${d.toExponential(2)}`);
      const w = model.dims.outputs[i];
      assert.ok(maxAbs(one[t.name], out[t.name].slice(5 * w, 6 * w)) <= 1e-5, `${t.name}: batch of one`);
      assert.ok(maxAbs(seven[t.name], out[t.name].slice(0, 7 * w)) <= 1e-5, `${t.name}: batch of seven`);
    });
    // The session shares the model's kernel instance: the model's memory must be untouched.
    const again = model.predict(encode(spec, pre, Table.fromRecords("probe", probe as Record<string, string>[]), undefined, { labels: false }));
    spec.tasks.forEach((t, i) => assert.equal(Array.from(again[i]), Array.from(ours[i]), `${t.name}: model memory changed by the session`));
  });
}

test("bad models and bad inputs give clear errors on both engines, never a hang or a trap", async () => {
  const bytes = exported[0];
  for (const engine of ["ort", "mtl"] as const) {
    for (const cut of [0, 7, bytes.length >> 1, bytes.length - 3]) {
      const err = await createSession(bytes.subarray(0, cut), { engine, kernels: k }).then(() => "no error", (e) => String(e));
      assert.match(err, /ONNX: /, `${engine}, cut at ${cut}: ${err}`);
    }
    const garbage = Uint8Array.from({ length: 200 }, (_, i) => (i * 37 + 11) & 255);
    assert.match(await createSession(garbage, { engine, kernels: k }).then(() => "no error", (e) => String(e)), /ONNX: /);
    const s = await createSession(bytes, { engine, kernels: k });
    const feeds = encodeRows(s.meta!, rows(3, 4));
    const e1 = await s.run({ ...feeds, numerik: feeds.numeric }).then(() => "no error", (e) => String(e));
    assert.match(e1, /unknown input "numerik"; inputs are numeric, categorical, groups/);
    const { numeric, ...rest } = feeds;
    const e2 = await s.run(rest).then(() => "no error", (e) => String(e));
    assert.match(e2, /missing input "numeric" \(float32 \[N, 3\]\)/);
    const e3 = await s.run({ ...feeds, numeric: { type: "float32", data: new Float32Array(8), dims: [2, 4] } }).then(() => "no error", (e) => String(e));
    assert.match(e3, /input "numeric" has shape \[2,4\] with 8 values, expected float32 \[N, 3\]/);
    const e4 = await s.run({ ...feeds, groups: { ...feeds.groups, dims: [2, 1], data: feeds.groups.data.slice(0, 2) } }).then(() => "no error", (e) => String(e));
    assert.match(e4, /input "groups" has shape \[2,1\].*\(N = 3\)/);
    const e5 = await s.run([{ a: "x1", b: "1", c: "2", colour: "red", size: "s", school: "1" }]).then(() => "no error", (e) => String(e));
    assert.match(e5, /row 1, column "a": value "x1" is not a number/);
    void numeric;
  }
  // An operator the exporter never emits: the mtl engine refuses it by node and operator.
  const m = decodeModel(bytes);
  m.graph.node[3] = { ...m.graph.node[3], opType: "Selu", name: "odd" };
  const err = await createSession(encodeModel(m), { engine: "mtl", kernels: k }).then(() => "no error", (e) => String(e));
  assert.match(err, /node "odd" \(index 3\) uses operator Selu, which the mtl engine does not support/);
});

test("the python3-onnx checker accepts every export (full check, strict shape inference)", () => {
  const r = checkWithPython(exported);
  if (!r.available) return skipOrFail("python3-onnx checker on every export", `checker unavailable (${r.output})`);
  assert.ok(r.ok, r.output);
  assert.is(r.output.split("\n").filter((l) => l.startsWith("OK")).length, exported.length, r.output);
});

/** Real rows: the shipped configs (and a CGC variant of the census one), parity on 2,000 validation rows each. */
const REAL: [string, (spec: Record<string, unknown>) => Record<string, unknown>][] = [
  ["models/census-mmoe.json", (x) => x],
  ["models/census-hps.json", (x) => x],
  ["models/census-mmoe.json", (x) => ({ ...x, name: "census-cgc", architecture: { type: "cgc", shared_experts: 2, task_experts: 2, layers: [{ units: 16, activation: "gelu", layernorm: true }] } })],
  ["models/school.json", (x) => x],
];
for (const [file, edit] of REAL) {
  const raw = edit(JSON.parse(readFileSync(file, "utf8")));
  test(`${raw.name} on real rows: onnxruntime-web and the mtl engine equal our forward pass within 1e-5`, async () => {
    const spec = validateSpec(raw);
    if (!needFile(spec.data!.path!, `${raw.name} real-row parity`)) return;
    const table = await readTable(fileSource(spec.data!.path!), spec.data!);
    const split = splitRows(spec, table);
    const pre = fitPreprocessing(spec, table, split.train);
    const model = new Model(spec, pre, k);
    model.initParams(1);
    const val = Array.from(split.validation.subarray(0, 2000));
    const bytes = exportOnnx(model);
    const ours = model.predict(encode(spec, pre, table, val));
    const rowsIn = val.map((i) => table.row(i));
    const viaOrt = await (await createSession(bytes, { engine: "ort" })).run(rowsIn);
    const viaMtl = await (await createSession(bytes, { engine: "mtl", kernels: k })).run(rowsIn);
    spec.tasks.forEach((t, i) => {
      for (const [name, out] of [["ort", viaOrt], ["mtl", viaMtl]] as const) {
        let d = 0;
        out[t.name].forEach((v, r) => (d = Math.max(d, Math.abs(v - ours[i][r]))));
        assert.ok(d <= 1e-5, `${t.name} (${name}): ${d}`);
      }
    });
  });
}

test.run();
