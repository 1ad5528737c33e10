// encodeRows (the raw-row path of session.run): numeric cells follow the same rules as the training data readers,
// so a non-finite or float32-overflowing value is an error naming the row and column (or missing, by the spec).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { encodeRows, type ModelMeta, type Row } from "../../src/infer/rows.ts";
import { validateSpec } from "../../src/model/spec.ts";
import type { Preprocessing } from "../../src/data/preprocess.ts";
import { throwsWith } from "../helpers.ts";

function meta(inputs: Record<string, unknown> = {}): ModelMeta {
  const spec = validateSpec({ inputs: { numeric: ["x0", "x1"], categorical: ["c"], ...inputs }, tasks: [{ name: "r", type: "regression", label: "y" }] });
  const pre: Preprocessing = {
    numeric: [{ column: "x0", mean: 2, std: 1 }, { column: "x1", mean: 5, std: 2 }],
    categorical: [{ column: "c", vocab: ["a", "b"] }],
    tasks: [{ name: "r", classes: null, groups: null, target: [{ mean: 0, std: 1 }] }],
  };
  return { spec, pre, inputs: { numeric: ["x0", "x1"], categorical: ["c"] }, outputs: { r: 1 } };
}

const rowsWith = (bad: string | number): Row[] => [
  { x0: "1", x1: 2, c: "a" },
  { x0: "3", x1: 4, c: "b" },
  { x0: bad, x1: 6, c: "z" },
];

test("finite rows encode as before: missing → mean, unknown category → 0", () => {
  const f = encodeRows(meta(), [{ x0: "1.5", x1: 3, c: "b" }, { x0: "?", x1: null, c: "q" }, { x0: 3.4028234663852886e38, x1: "", c: "a" }]);
  assert.equal([...f.numeric.data], [1.5, 3, 2, 5, Math.fround(3.4028234663852886e38), 5]);
  assert.equal([...f.categorical.data], [2n, 0n, 1n]);
});

test("a non-finite or float32-overflowing string is an error naming the row and column", () => {
  for (const bad of ["Infinity", "-Infinity", "1e400", "3.5e38", "-3.5e38", "nan", "inf"]) {
    throwsWith(() => encodeRows(meta(), rowsWith(bad)), "row 3, ", 'column "x0"', JSON.stringify(bad), "is not a finite float32");
  }
});

test("a non-finite JS number is an error too; NaN is missing only while \"NaN\" is a missing token", () => {
  for (const bad of [Infinity, -Infinity, 1e39, -3.5e38]) {
    throwsWith(() => encodeRows(meta(), rowsWith(bad)), "row 3", 'column "x0"', String(bad), "is not a finite float32");
  }
  // Default missing tokens include "NaN": a NaN number is missing (→ mean), like the string "NaN".
  assert.is(encodeRows(meta(), rowsWith(NaN)).numeric.data[4], 2);
  assert.is(encodeRows(meta(), rowsWith("NaN")).numeric.data[4], 2);
  // Without it, NaN is a non-finite value.
  throwsWith(() => encodeRows(meta({ missing: ["?"] }), rowsWith(NaN)), "row 3", 'column "x0"', "NaN", "is not a finite float32");
});

test('nonfinite: "missing" encodes such values as the training mean', () => {
  for (const bad of ["Infinity", "1e400", "3.5e38", "nan", Infinity, -1e39, NaN]) {
    const f = encodeRows(meta({ nonfinite: "missing", missing: ["?"] }), rowsWith(bad));
    assert.equal([...f.numeric.data], [1, 2, 3, 4, 2, 6], String(bad));
  }
  // A value that is not a number at all is still an error.
  throwsWith(() => encodeRows(meta({ nonfinite: "missing" }), rowsWith("abc")), "row 3", 'column "x0"', '"abc"', "is not a number");
});

test.run();
