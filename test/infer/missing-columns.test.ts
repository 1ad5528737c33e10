// Rows that lack an input column (src/infer/rows.ts, EncodeOptions): an error by default, naming the row, the column
// and the row's close keys, on both engines, through train()'s predict and encodeRows alike; with { missing: "impute" }
// an absent column reads as null, which is the training mean (numeric) or the unknown bucket (categorical): checked
// against tensors built by hand from the preprocessing. `mtl predict` on files: a column absent from the file is an
// error; a JSON-lines object without a key is a missing cell, as in training.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WASM_PATH } from "../helpers.ts";
import { train } from "../../src/api/train.ts";
import { createSession } from "../../src/infer/session.ts";
import { encodeRows, modelMetaFromBytes } from "../../src/infer/rows.ts";
import { main } from "../../src/cli/main.ts";

const compiled = WebAssembly.compile(readFileSync(WASM_PATH));
const dir = mkdtempSync(join(tmpdir(), "mtl-missing-"));

const spec = {
  name: "absent",
  data: { format: "jsonl", path: "unused.jsonl" },
  inputs: { numeric: ["age", "income"], categorical: [{ column: "city", dim: 2 }] },
  architecture: { type: "hps", layers: [6] },
  tasks: [{ name: "buy", type: "binary", label: "y" }],
  training: { epochs: 3, batch_size: 16, seed: 5, validation: 0 },
};
function rows(n = 120) {
  let s = 99;
  const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0), s / 2 ** 32);
  return Array.from({ length: n }, (_, i) => {
    const age = 20 + 50 * rnd(), income = 10 + 90 * rnd(), city = ["oslo", "rome", "lima"][i % 3];
    return { age, income, city, y: age / 70 + income / 100 + (city === "rome" ? 0.3 : 0) > 1.2 ? 1 : 0 };
  });
}
const full = { age: 41, income: 55.5, city: "rome" };
const ABSENT = 'Pass null for a missing value, or run(rows, { missing: "impute" }) to read absent columns as missing';

const run = await train(spec, rows(), { kernels: await compiled, onWarning: () => {} });
const onnx = run.export();
const meta = modelMetaFromBytes(onnx);
const stats = Object.fromEntries(meta.pre.numeric.map((s) => [s.column, s.mean]));

test("encodeRows: an absent key or undefined is an error naming row, column and close keys; null is the training mean", () => {
  const err = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return (e as Error).message;
    }
    return "no error";
  };
  assert.is(err(() => encodeRows(meta, [full, { income: 1, city: "oslo", Age: 30 }])), `row 2 has no column "age" (it has "Age": did you mean it?). ${ABSENT}`);
  assert.is(err(() => encodeRows(meta, [{ age: 1, incme: 2, city: "lima" }])), `row 1 has no column "income" (it has "incme": did you mean it?). ${ABSENT}`);
  assert.is(err(() => encodeRows(meta, [{ ...full, city: undefined }])), `row 1 has no column "city". ${ABSENT}`);
  assert.is(err(() => encodeRows(meta, [{ Age: 1, "in come": 2 }, {}])), `row 1 has no 3 of the model's 3 input columns: "age" (it has "Age": did you mean it?), "income" (it has "in come": did you mean it?), "city"; 2 of the 2 rows lack input columns. ${ABSENT}`);
  // null, "" and a missing token are missing values: the training mean, i.e. the same tensor as the mean itself.
  const nulls = encodeRows(meta, [{ age: null, income: "", city: null }, { age: "?", income: 3, city: "rome" }]);
  assert.equal(Array.from(nulls.numeric.data as Float32Array), Array.from(Float32Array.of(stats.age, stats.income, stats.age, 3)));
  assert.equal(Array.from(nulls.categorical.data as BigInt64Array), [0n, BigInt(meta.pre.categorical[0].vocab.indexOf("rome") + 1)]);
  // impute: an absent column is read exactly as null.
  const imputed = encodeRows(meta, [{}, { income: 3, city: "rome" }], { missing: "impute" });
  assert.equal(imputed, nulls);
});

test("both engines and train().predict: the same error by default; { missing: \"impute\" } equals null and the hand-built tensors", async () => {
  const k = await compiled;
  const sessions = [await createSession(onnx, { engine: "ort" }), await createSession(onnx, { engine: "mtl", wasm: k })];
  const lacking = [full, { income: 20, city: "lima" }, { age: 30, income: 70 }];
  const withNull = [full, { age: null, income: 20, city: "lima" }, { age: 30, income: 70, city: null }];
  // The reference: tensors written from the preprocessing (the mean for the absent age, index 0 for the absent city).
  const vocab = meta.pre.categorical[0].vocab;
  const tensors = {
    numeric: { type: "float32" as const, data: Float32Array.of(41, 55.5, stats.age, 20, 30, 70), dims: [3, 2] },
    categorical: { type: "int64" as const, data: BigInt64Array.of(BigInt(vocab.indexOf("rome") + 1), BigInt(vocab.indexOf("lima") + 1), 0n), dims: [3, 1] },
  };
  const expected = await sessions[0].run(tensors);
  assert.ok(expected.buy.every((v) => v > 0 && v < 1));
  assert.ok(expected.buy[1] !== expected.buy[0] && expected.buy[2] !== expected.buy[0], "the rows differ in their outputs");
  const message = `model.onnx: row 2 has no column "age"; 2 of the 3 rows lack input columns. ${ABSENT}`;
  for (const s of sessions) {
    await s.run(lacking).then(() => assert.unreachable(`${s.engine}: no error`), (e: Error) => assert.is(e.message, message, s.engine));
    for (const out of [await s.run(lacking, { missing: "impute" }), await s.run(withNull)]) {
      out.buy.forEach((v, i) => assert.ok(Math.abs(v - expected.buy[i]) <= 1e-6, `${s.engine} row ${i + 1}: ${v} vs ${expected.buy[i]}`));
    }
    await s.dispose();
  }
  await run.predict(lacking).then(() => assert.unreachable("predict: no error"), (e: Error) => assert.is(e.message, message.replace("model.onnx", "absent")));
  const p = await run.predict(lacking, { missing: "impute" });
  p.buy.forEach((v, i) => assert.ok(Math.abs(v - expected.buy[i]) <= 1e-6, `predict row ${i + 1}: ${v} vs ${expected.buy[i]}`));
});

test("mtl predict on files: a column absent from the file is an error; a JSON-lines object without a key is a missing cell", async () => {
  const m = join(dir, "m");
  mkdirSync(m);
  const saved = run.save();
  writeFileSync(join(m, "model.json"), saved.modelJson);
  writeFileSync(join(m, "weights.safetensors"), saved.weights);
  writeFileSync(join(m, "model.onnx"), onnx);
  const cli = async (argv: string[]) => {
    const out: string[] = [], err: string[] = [];
    const code = await main(argv, () => compiled, { log: (s) => out.push(s), error: (s) => err.push(s) });
    return { code, err: err.join("\n") };
  };
  const lines = (xs: object[]) => xs.map((x) => JSON.stringify(x)).join("\n") + "\n";
  writeFileSync(join(dir, "gap.jsonl"), lines([full, { income: 20, city: "lima" }]));
  writeFileSync(join(dir, "null.jsonl"), lines([full, { age: null, income: 20, city: "lima" }]));
  writeFileSync(join(dir, "nocol.jsonl"), lines([{ income: 20, city: "lima" }, { income: 30, city: "rome" }]));
  const preds = (f: string) => readFileSync(f, "utf8").trim().split("\n").slice(1).map(Number);
  for (const engine of [[], ["--engine", "mtl"], ["--engine", "ort"]]) {
    for (const f of ["gap", "null"]) {
      const r = await cli(["predict", m, "--data", join(dir, `${f}.jsonl`), "--out", join(dir, `${f}.csv`), ...engine]);
      assert.is(r.code, 0, r.err);
    }
    const a = preds(join(dir, "gap.csv")), b = preds(join(dir, "null.csv"));
    assert.is(a.length, 2);
    a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) <= 1e-6, `${engine.join(" ") || "model"} row ${i + 1}: ${v} vs ${b[i]}`));
    const r = await cli(["predict", m, "--data", join(dir, "nocol.jsonl"), "--out", join(dir, "x.csv"), ...engine]);
    assert.is(r.code, 1, r.err);
    assert.match(r.err, `nocol.jsonl: no column "age"; available columns (2): "income", "city"`, r.err);
  }
});

test.run();
