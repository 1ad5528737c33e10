// Numeric encodings (inputs.numeric_encodings) in exported models: on real census rows, for every encoding (ple with
// quantile and with target-aware bins, and a per-column mix), onnxruntime-web and the mtl engine running the export, fed raw rows, equal our own forward pass on
// the encoded rows within 1e-5; the same on synthetic rows with missing cells and missing-indicator columns (the
// export takes NaN for a missing value); Debian's python3-onnx checker accepts every export.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { setup, Rng } from "../helpers.ts";
import { validateSpec } from "../../src/model/spec.ts";
import { Model } from "../../src/model/model.ts";
import { Table } from "../../src/data/table.ts";
import { encode, fitPreprocessing } from "../../src/data/preprocess.ts";
import { exportOnnx } from "../../src/onnx/export.ts";
import { createSession } from "../../src/infer/session.ts";
import { decodeModel } from "../../src/onnx/model.ts";
import { importOnnx } from "../../src/onnx/import.ts";
import { checkWithPython } from "./checker.ts";
import { skipOrFail, needFile } from "../skip.ts";
import { readTable, splitRows } from "../../src/data/load.ts";
import { fileSource } from "../../src/data/node-file.ts";
import type { Row } from "../../src/infer/rows.ts";

const { k } = await setup();
const exported: Uint8Array[] = [];

/** Perturb every parameter (frequencies included) so no path is trivially zero. */
function perturb(model: Model, seed: number): void {
  const rng = new Rng(seed), w = model.getWeights();
  for (const v of Object.values(w)) v.forEach((x, i) => (v[i] = x + 0.2 * rng.normal()));
  model.setWeights(w);
}

async function parity(name: string, model: Model, ours: Float32Array[], rows: Row[]): Promise<void> {
  const bytes = exportOnnx(model);
  exported.push(bytes);
  const ops = importOnnx(decodeModel(bytes), name).graph.nodes.map((n) => n.op);
  assert.ok(ops.includes("numeric_encode"), `${name}: the import has no numeric_encode node (${ops.join(", ")})`);
  if (model.spec.inputs.numeric_encodings!.some((e) => e.encoding === "periodic")) assert.ok(ops.includes("periodic"), `${name}: the import has no periodic node`);
  const viaOrt = await (await createSession(bytes, { engine: "ort" })).run(rows);
  const viaMtl = await (await createSession(bytes, { engine: "mtl", kernels: k })).run(rows);
  model.spec.tasks.forEach((t, i) => {
    for (const [engine, out] of [["ort", viaOrt], ["mtl", viaMtl]] as const) {
      let d = 0;
      out[t.name].forEach((v, r) => (d = Math.max(d, Math.abs(v - ours[i][r]))));
      assert.ok(d <= 1e-5, `${name}, ${t.name} (${engine}): max difference ${d.toExponential(2)}`);
    }
  });
}

const ENCODINGS: [string, Record<string, unknown>][] = [
  ["quantile-uniform", { numeric_encoding: "quantile" }],
  ["quantile-normal", { numeric_encoding: { type: "quantile", output: "normal", quantiles: 200 } }],
  ["ple", { numeric_encoding: { type: "ple", bins: 12 } }],
  ["ple-tree", { numeric_encoding: { type: "ple", bins: 24, tree: { task: "never_married", min_samples_leaf: 32 } } }],
  ["periodic", { numeric_encoding: { type: "periodic", frequencies: 6, sigma: 0.5 } }],
];
const census = JSON.parse(readFileSync("models/census-mmoe.json", "utf8"));
const cols: string[] = census.inputs.numeric;
// Every encoding in one model, column by column (periodic columns split around the others).
ENCODINGS.push(["mixed", { numeric: [{ column: cols[0], encoding: "periodic", frequencies: 5 }, { column: cols[1], encoding: "ple", bins: 4 }, cols[2], { column: cols[3], encoding: "quantile", output: "normal" }, cols[4], { column: cols[5], encoding: "periodic", frequencies: 3, sigma: 2 }, { column: cols[6], encoding: "quantile" }] }]);

for (const [name, edit] of ENCODINGS) {
  test(`census ${name}: onnxruntime-web and the mtl engine on raw rows equal our forward pass within 1e-5`, async () => {
    const spec = validateSpec({ ...census, name: `census-${name}`, inputs: { ...census.inputs, ...edit } });
    if (!needFile(spec.data!.path!, `census ${name} parity`)) return;
    const table = await readTable(fileSource(spec.data!.path!), spec.data!);
    const split = splitRows(spec, table);
    const pre = fitPreprocessing(spec, table, split.train);
    const model = new Model(spec, pre, k);
    model.initParams(1);
    perturb(model, 3);
    const val = Array.from(split.validation.subarray(0, 2000));
    await parity(name, model, model.predict(encode(spec, pre, table, val)), val.map((i) => table.row(i)));
  });
}

test("missing cells and indicators: synthetic rows, every encoding with missing_indicator, parity within 1e-5", async () => {
  const rng = new Rng(11);
  const make = (n: number) =>
    Array.from({ length: n }, () => {
      const a = rng.normal() * 3 + 10, b = Math.exp(rng.normal()), c = rng.next() < 0.3 ? 0 : rng.normal();
      return { a: rng.next() < 0.1 ? "?" : a.toFixed(3), b: rng.next() < 0.2 ? "" : b.toFixed(4), c: c.toFixed(3), d: (rng.next() * 4).toFixed(1), y: a + b > 11 ? "1" : "0" };
    });
  const train = make(400), probe = make(80);
  const spec = validateSpec({
    inputs: { numeric: [{ column: "a", encoding: "ple", bins: 5 }, { column: "b", encoding: "quantile", output: "normal" }, { column: "c", encoding: "periodic", frequencies: 3 }, "d"], missing_indicator: true, missing: ["?", ""] },
    tasks: [{ name: "y", type: "binary", label: "y", tower: [4] }],
    architecture: { type: "hps", layers: [6] },
  });
  const table = Table.fromRecords("train", train);
  const pre = fitPreprocessing(spec, table, Uint32Array.from({ length: train.length }, (_, i) => i));
  // a and b have missing training cells, c and d do not: indicators for a and b only.
  assert.equal(pre.numeric.map((s) => s.indicator ?? false), [true, true, false, false]);
  const model = new Model(spec, pre, k);
  model.initParams(2);
  perturb(model, 4);
  const enc = encode(spec, pre, Table.fromRecords("probe", probe), undefined, { labels: false });
  // V = 5 (ple) + 1 (quantile) + 1 (d) + 2 indicators + 1 (periodic c): the indicator columns are 7 and 8.
  assert.is(model.dims.numeric, 10);
  probe.forEach((r, i) => {
    assert.is(enc.numeric[i * 10 + 7], r.a === "?" ? 1 : 0, `row ${i}: indicator of a`);
    assert.is(enc.numeric[i * 10 + 8], r.b === "" ? 1 : 0, `row ${i}: indicator of b`);
  });
  await parity("missing", model, model.predict(enc), probe);
});

test("the python3-onnx checker accepts every export (full check, strict shape inference)", () => {
  if (!exported.length) return skipOrFail("python3-onnx checker on numeric encodings", "no export was made (census data missing)");
  const r = checkWithPython(exported);
  if (!r.available) return skipOrFail("python3-onnx checker on numeric encodings", `checker unavailable (${r.output})`);
  assert.ok(r.ok, r.output);
  assert.is(r.output.split("\n").filter((l) => l.startsWith("OK")).length, exported.length, r.output);
});

test.run();
