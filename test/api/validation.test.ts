// Training without a validation split (training.validation 0) and with a separate validation file
// (data.validation_path), through train() and the CLI's reader: every row trains, the kept epoch is the last, no
// warning about 0 validation rows, early stopping refused by name; a validation file's rows are exactly the
// validation set (its metrics recomputed here in float64 from predict()), and the spec errors name the field.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WASM_PATH } from "../helpers.ts";
import { train } from "../../src/api/train.ts";
import { SpecError, validateSpec } from "../../src/model/spec.ts";
import { splitRows } from "../../src/data/load.ts";
import { readData, readTrainingData } from "../../src/cli/files.ts";
import type { DataWarning } from "../../src/data/warnings.ts";

const compiled = WebAssembly.compile(readFileSync(WASM_PATH));
const dir = mkdtempSync(join(tmpdir(), "mtl-validation-"));

/** n seeded rows: y = 2·x0 − x1 + noise, a category. */
function rows(n: number, seed: number) {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0), s / 2 ** 32);
  return Array.from({ length: n }, (_, i) => {
    const x0 = rnd() * 2 - 1, x1 = rnd() * 2 - 1, c = ["a", "b"][i % 2];
    return { x0: x0.toFixed(4), x1: x1.toFixed(4), c, y: (2 * x0 - x1 + (c === "a" ? 0.5 : 0) + 0.1 * (rnd() - 0.5)).toFixed(4) };
  });
}
const csv = (rs: Record<string, string>[]) => [Object.keys(rs[0]).join(","), ...rs.map((r) => Object.values(r).join(","))].join("\n") + "\n";
const base = (training: Record<string, unknown> = {}, data: Record<string, unknown> = {}) => ({
  name: "val",
  data: { format: "csv", path: join(dir, "train.csv"), ...data },
  inputs: { numeric: ["x0", "x1"], categorical: ["c"] },
  architecture: { type: "hps", layers: [8] },
  tasks: [{ name: "y", type: "regression", label: "y" }],
  training: { epochs: 4, batch_size: 16, seed: 3, optimizer: { type: "adam", lr: 0.02 }, ...training },
});
const trainRows = rows(150, 1), valRows = rows(40, 2);
writeFileSync(join(dir, "train.csv"), csv(trainRows));
writeFileSync(join(dir, "val.csv"), csv(valRows));

test("validation 0: every row trains, the last epoch is kept, no metrics and no warning about validation", async () => {
  const warnings: DataWarning[] = [];
  const run = await train(base({ validation: 0 }), csv(trainRows), { kernels: await compiled, onWarning: (w) => warnings.push(w) });
  assert.equal(run.rows, { train: 150, validation: 0 });
  assert.equal(warnings, []);
  assert.is(run.bestEpoch, 4);
  assert.is(run.history.length, 4);
  assert.ok(run.history.every((h) => h.validation === null && h.monitor === null));
  assert.equal(run.metrics, {});
  // The same through the option, and the split a spec with validation 0 makes: all rows on the training side.
  const again = await train(base(), csv(trainRows), { kernels: await compiled, validation: 0, onWarning: (w) => warnings.push(w) });
  assert.equal(again.save().weights, run.save().weights);
  assert.equal(warnings, []);
  for (const r of [run, again]) await r.dispose();
});

test("validation 0 with early stopping is refused by name; a fraction that leaves no validation row still warns", async () => {
  const err = await train(base({ validation: 0, early_stopping: { metric: "loss", patience: 2 } }), csv(trainRows), { kernels: await compiled, onWarning: () => {} }).then(() => "no error", (e: Error) => e.message);
  assert.is(err, 'data.csv: training.early_stopping (on "loss") needs validation rows, but training.validation is 0 (no validation split): remove early_stopping, or set training.validation above 0 or data.validation_path');
  const warnings: DataWarning[] = [];
  const tiny = await train(base({ validation: 0.01 }), csv(trainRows.slice(0, 20)), { kernels: await compiled, onWarning: (w) => warnings.push(w) });
  assert.is(tiny.rows.validation, 0);
  assert.is(warnings.length, 1);
  assert.match(warnings[0].message, "no validation rows after the split (20 rows, all 20 in training; training.validation = 0.01");
  await tiny.dispose();
});

test("data.validation_path: the file's rows are the validation set (metrics recomputed from predict), early stopping works", async () => {
  const spec = base({ early_stopping: { metric: "y.rmse", patience: 50 } }, { validation_path: join(dir, "val.csv") });
  assert.is(validateSpec(spec).training.validation, 0);
  const run = await train(spec, csv(trainRows), { kernels: await compiled, validation: csv(valRows), onWarning: (w) => assert.unreachable(w.message) });
  assert.equal(run.rows, { train: 150, validation: 40 });
  const p = await run.predict(valRows.map(({ y: _, ...x }) => x));
  let se = 0;
  valRows.forEach((r, i) => (se += (p.y[i] - +r.y) ** 2));
  const rmse = Math.sqrt(se / valRows.length);
  assert.ok(Math.abs(run.metrics.y.rmse - rmse) <= 1e-5 * Math.max(1, rmse), `metrics ${run.metrics.y.rmse} vs recomputed ${rmse}`);
  const best = run.history.reduce((b, h) => (h.monitor! < b.monitor! ? h : b));
  assert.is(run.bestEpoch, best.epoch);
  // train() reads no files: without the rows, a named error.
  const err = await train(spec, csv(trainRows), { kernels: await compiled }).then(() => "no error", (e: Error) => e.message);
  assert.is(err, `train: data.validation_path (${JSON.stringify(join(dir, "val.csv"))}) names a file, and train() reads no files (data.path is ignored too): pass the validation rows as { validation: rows | Table | text | bytes }`);
  await run.dispose();
});

test("the CLI's reader joins data.validation_path and splitRows splits there; a table read without it is an error", async () => {
  const spec = validateSpec(base({}, { validation_path: join(dir, "val.csv") }));
  const table = await readTrainingData(spec, join(dir, "train.csv"));
  const split = splitRows(spec, table);
  assert.equal(Array.from(split.train), Array.from({ length: 150 }, (_, i) => i));
  assert.equal(Array.from(split.validation), Array.from({ length: 40 }, (_, i) => 150 + i));
  assert.equal(split.validation.length && table.stringColumn("y").slice(150), valRows.map((r) => r.y));
  assert.is(table.dataRow(150), 1, "validation rows keep their own row numbers");
  const plain = await readData(spec, join(dir, "train.csv"));
  assert.throws(() => splitRows(spec, plain), (e: Error) => e.message === `${join(dir, "train.csv")}: data.validation_path (${JSON.stringify(join(dir, "val.csv"))}) gives the validation rows, but they were not read with the training rows (the CLI reads both with readTrainingData; train() takes them as its validation option)`);
  const gone = validateSpec(base({}, { validation_path: join(dir, "nope.csv") }));
  await readTrainingData(gone, join(dir, "train.csv")).then(() => assert.unreachable("no error"), (e: Error) => assert.match(e.message, `validation file ${join(dir, "nope.csv")} (data.validation_path): no such file`));
  writeFileSync(join(dir, "val-short.csv"), "x0,x1,y\n0.1,0.2,0.3\n");
  const short = validateSpec(base({}, { validation_path: join(dir, "val-short.csv") }));
  await readTrainingData(short, join(dir, "train.csv")).then(() => assert.unreachable("no error"), (e: Error) => assert.match(e.message, `val-short.csv: no column "c"`));
});

test("data.validation_path excludes a validation fraction, stratify and format idx: SpecErrors name the field", () => {
  const specErr = (json: unknown) => {
    try {
      validateSpec(json);
    } catch (e) {
      assert.instance(e, SpecError);
      return (e as Error).message;
    }
    return "no error";
  };
  const vp = { validation_path: "v.csv" };
  assert.is(specErr(base({ validation: 0.2 }, vp)), 'training.validation: is 0.2, but data.validation_path ("v.csv") gives the validation rows, so there is no split; leave training.validation out (or 0)');
  assert.is(specErr(base({ validation: 0 }, vp)), "no error");
  assert.is(specErr(base({}, { ...vp, stratify: "c" })), 'data.stratify: stratifies the validation split, but data.validation_path ("v.csv") gives the validation rows, so there is no split; leave one out');
  assert.is(specErr({ ...base(), inputs: { tensor: 4 }, data: { format: "idx", images: "i", labels: "l", ...vp } }), 'data.validation_path: format "idx" splits its validation rows from the images (training.validation); a separate validation file is not supported for it');
  assert.is(specErr(base({}, { validation_path: "" })), 'data.validation_path: expected a non-empty string, found ""');
  // Left out of the normalized spec when not given (model.json and ONNX metadata of existing runs are unchanged).
  assert.not.ok("validation_path" in validateSpec(base()).data!);
});

test.run();
