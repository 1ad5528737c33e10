// splitRows keeps identical rows on one side, comparing every column but data.row_id: rows that differ only in a row
// id (School's student_index: 19 % of its rows are such copies) never land on both sides.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { validateSpec } from "../../src/model/spec.ts";
import { splitRows } from "../../src/data/load.ts";
import { Table } from "../../src/data/table.ts";

/** 200 rows: 100 distinct (x, y) pairs, each twice with different ids. */
function table(): Table {
  const n = 200, id: string[] = [], x: string[] = [], y: string[] = [];
  for (let i = 0; i < n; i++) {
    const k = i % 100;
    id.push(String(i + 1));
    x.push((k / 7).toFixed(4));
    y.push(String(k % 3));
  }
  return Table.fromColumns("rows.csv", ["id", "x", "y"], [id, x, y], Array.from({ length: n }, (_, i) => i + 1), Array.from({ length: n }, (_, i) => i + 2));
}

const spec = (rowId?: string) => validateSpec({ data: { format: "csv", ...(rowId ? { row_id: rowId } : {}) }, inputs: { numeric: ["x"] }, tasks: [{ name: "y", type: "regression", label: "y" }], training: { validation: 0.2, seed: 5 } });

/** Distinct (x, y) pairs with a copy on each side. */
function split(rowId?: string): number {
  const t = table(), s = splitRows(spec(rowId), t), x = t.stringColumn("x");
  const trainKeys = new Set(Array.from(s.train, (i) => x[i]));
  return new Set(Array.from(s.validation, (i) => x[i]).filter((k) => trainKeys.has(k))).size;
}

test("with data.row_id, copies that differ only in the id stay on one side; without it they straddle the split", () => {
  assert.is(split("id"), 0);
  assert.ok(split() > 10, `only ${split()} pairs straddle the split without row_id: the test cannot tell the two apart`);
});

test("data.row_id is kept in the normalized spec only when given, and a missing column is a named error", () => {
  assert.is(spec("id").data!.row_id, "id");
  assert.not.ok("row_id" in spec().data!);
  assert.throws(() => splitRows(spec("student_index"), table()), /rows\.csv: data\.row_id names column "student_index", which the file does not have/);
});

test.run();
