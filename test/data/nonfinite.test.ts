// Non-finite and float32-overflowing numbers in numeric input and label columns: rejected with an error naming the
// file, data row, line and column (inputs.nonfinite "error", the default), or read as missing ("missing").
import { test } from "uvu";
import * as assert from "uvu/assert";
import { fromString } from "../../src/data/source.ts";
import { Table } from "../../src/data/table.ts";
import { readTable } from "../../src/data/load.ts";
import { encode, fitPreprocessing } from "../../src/data/preprocess.ts";
import { SpecError, validateSpec } from "../../src/model/spec.ts";
import { throwsWith } from "../helpers.ts";

const all = (n: number) => Uint32Array.from({ length: n }, (_, i) => i);

/** A CSV with column x0 holding `bad` in data row 3 (line 4), a finite column x1 and a regression label y. */
const csv = (bad: string, label = "2.5") => `x0,x1,y\n1,2,0.5\n2,3,1.5\n${bad},4,${label}\n4,5,3.5\n`;

const spec = (extra: Record<string, unknown> = {}) =>
  validateSpec({ inputs: { numeric: ["x0", "x1"], ...extra }, tasks: [{ name: "r", type: "regression", label: "y" }] });

const BAD = ["Infinity", "-Infinity", "+Infinity", "1e400", "-1e400", "3.5e38", "-3.5e38", "nan", "-nan", "inf", "-inf"];

test("numericColumn: non-finite or float32-overflowing values are an error naming file, row, line, column, value", async () => {
  for (const bad of BAD) {
    const t = await readTable(fromString("bad.csv", csv(bad)), { format: "csv", delimiter: "," });
    throwsWith(() => t.numericColumn("x0", { missing: ["", "?"] }), "bad.csv: data row 3 (line 4)", 'column "x0"', `value ${JSON.stringify(bad)}`, "is not a finite float32");
  }
});

test("numericColumn: the float32 limit itself is fine; missing tokens still win (\"NaN\" declared missing)", () => {
  const t = Table.fromColumns("ok.csv", ["x"], [["3.4028234663852886e38", "-3.4028235e38", "1e-400", "NaN", "nan"]]);
  const v = t.numericColumn("x", { missing: ["NaN", "nan"] });
  assert.is(v[0], 3.4028234663852886e38);
  assert.is(Math.fround(v[1]), -3.4028234663852886e38);
  assert.is(v[2], 0);
  assert.ok(Number.isNaN(v[3]) && Number.isNaN(v[4]));
});

test('numericColumn nonfinite: "missing" reads non-finite values as NaN', () => {
  const t = Table.fromColumns("m.csv", ["x"], [["1", "Infinity", "1e400", "3.5e38", "nan", "abc"]]);
  // "abc" is still not a number.
  throwsWith(() => t.numericColumn("x", { nonfinite: "missing" } as never), '"abc"', "is not a number");
  const u = Table.fromColumns("m.csv", ["x"], [["1", "Infinity", "1e400", "3.5e38", "nan"]]).numericColumn("x", { nonfinite: "missing" } as never);
  assert.ok([...u.subarray(1)].every(Number.isNaN), `${[...u]}`);
});

test("fitPreprocessing: Infinity / 1e400 / 3.5e38 in a numeric input is an error, not an infinite mean", async () => {
  for (const bad of ["Infinity", "1e400", "3.5e38"]) {
    const t = await readTable(fromString("bad.csv", csv(bad)), { format: "csv", delimiter: "," });
    throwsWith(() => fitPreprocessing(spec(), t, all(4)), "bad.csv: data row 3 (line 4)", 'column "x0"', `"${bad}"`, "not a finite float32");
  }
});

test("regression label of 1e400 is an error (fitPreprocessing and encode)", async () => {
  const t = await readTable(fromString("lab.csv", csv("3", "1e400")), { format: "csv", delimiter: "," });
  throwsWith(() => fitPreprocessing(spec(), t, all(4)), "lab.csv: data row 3 (line 4)", 'column "y"', '"1e400"', "not a finite float32");
  // encode with preprocessing fitted on clean data still rejects the label.
  const clean = await readTable(fromString("ok.csv", csv("3")), { format: "csv", delimiter: "," });
  const pre = fitPreprocessing(spec(), clean, all(4));
  throwsWith(() => encode(spec(), pre, t), "lab.csv: data row 3 (line 4)", 'column "y"', '"1e400"', "not a finite float32");
});

test('nonfinite: "missing": the values become missing (mean for inputs, masked labels), training is finite', async () => {
  const s = spec({ nonfinite: "missing" });
  assert.is((s.inputs as { nonfinite?: string }).nonfinite, "missing");
  const t = await readTable(fromString("bad.csv", csv("1e400", "Infinity")), { format: "csv", delimiter: "," });
  const pre = fitPreprocessing(s, t, all(4));
  assert.ok(Number.isFinite(pre.numeric[0].mean) && Number.isFinite(pre.numeric[0].std));
  assert.ok(Math.abs(pre.numeric[0].mean - 7 / 3) < 1e-12, `${pre.numeric[0].mean}`);
  assert.ok(Number.isFinite(pre.tasks[0].target![0].mean));
  const enc = encode(s, pre, t);
  assert.ok(enc.numeric.every(Number.isFinite), `${[...enc.numeric]}`);
  assert.is(enc.numeric[2 * 2], 0, "missing input → the training mean → 0");
  assert.equal([...enc.tasks[0].mask], [1, 1, 0, 1]);
});

test("JSON lines: a number beyond float32 is rejected naming the line", async () => {
  const t = await readTable(fromString("bad.jsonl", '{"x0":1,"x1":2,"y":1}\n{"x0":3.5e38,"x1":2,"y":1}\n'), { format: "jsonl", delimiter: "," });
  throwsWith(() => fitPreprocessing(spec(), t, all(2)), "bad.jsonl: data row 2 (line 2)", 'column "x0"', "not a finite float32");
});

test("spec: inputs.nonfinite defaults to error and is validated with its path", () => {
  assert.is((spec().inputs as { nonfinite?: string }).nonfinite, "error");
  try {
    spec({ nonfinite: "zero" });
    assert.unreachable("expected a SpecError");
  } catch (e) {
    assert.instance(e, SpecError);
    assert.ok((e as Error).message.startsWith("inputs.nonfinite:"), (e as Error).message);
    assert.ok((e as Error).message.includes("error, missing"), (e as Error).message);
  }
  // Normalization is idempotent with the new key.
  const once = spec({ nonfinite: "missing" });
  assert.equal(validateSpec(JSON.parse(JSON.stringify(once))), once);
});

test.run();
