import { test } from "uvu";
import * as assert from "uvu/assert";
import { openCsv } from "../../src/data/csv.ts";
import { openJsonl } from "../../src/data/jsonl.ts";
import { fromString } from "../../src/data/source.ts";
import { Table, TableBuilder, loadTable, parseNumber } from "../../src/data/table.ts";
import { throwsWith } from "../helpers.ts";

const CSV = "name,age,score,city\nann,31,1.5,Oslo\nbob,?,2e3,Rome\ncid,40, -0.25 ,Oslo\ndee,abc,,Rome\n";

test("numeric column: numbers parsed; non-numeric cell → error with file, row, line, column, value", async () => {
  const t = await loadTable(openCsv(fromString("people.csv", CSV)));
  assert.is(t.rowCount, 4);
  assert.equal(t.columns, ["name", "age", "score", "city"]);
  const m = throwsWith(() => t.numericColumn("age", { missing: ["?"] }), "people.csv", "data row 4", "line 5", '"age"', '"abc"');
  assert.ok(m.includes('"?"'), "lists the missing tokens");
  // Without a missing list, the first bad cell ('?' in data row 2) is reported.
  throwsWith(() => t.numericColumn("age"), "people.csv", "data row 2", "line 3", '"?"', "none");
  // Empty cell in score: an error unless "" is a missing token.
  throwsWith(() => t.numericColumn("score"), "data row 4", '"score"', '""');
  const score = t.numericColumn("score", { missing: [""] });
  assert.equal([...score.subarray(0, 3)], [1.5, 2000, -0.25]);
  assert.ok(Number.isNaN(score[3]));
});

test("missing values map to NaN with an explicit token list", async () => {
  const t = await loadTable(openCsv(fromString("p.csv", "a\n1\n?\n NA \n3\n")));
  const a = t.numericColumn("a", { missing: ["?", "NA"] });
  assert.is(a[0], 1);
  assert.ok(Number.isNaN(a[1]) && Number.isNaN(a[2]));
  assert.is(a[3], 3);
});

test("missing column → error naming file and column and listing available columns", async () => {
  const t = await loadTable(openCsv(fromString("people.csv", CSV)));
  throwsWith(() => t.numericColumn("height"), "people.csv", '"height"', '"name", "age", "score", "city"');
  throwsWith(() => t.stringColumn("Age"), "people.csv", '"Age"', "available columns (4)");
});

test("string and categorical columns", async () => {
  const t = await loadTable(openCsv(fromString("people.csv", CSV)));
  assert.equal(t.stringColumn("city"), ["Oslo", "Rome", "Oslo", "Rome"]);
  assert.equal(t.distinct("city"), ["Oslo", "Rome"]);
  const c = t.categoricalColumn("city");
  assert.equal(c.levels, ["Oslo", "Rome"]);
  assert.equal([...c.codes], [0, 1, 0, 1]);
  const d = t.categoricalColumn("city", ["Rome", "Paris"]);
  assert.equal([...d.codes], [-1, 0, -1, 0]);
  assert.equal(t.row(2), { name: "cid", age: "40", score: " -0.25 ", city: "Oslo" });
});

test("select keeps values and source row/line numbers for errors", async () => {
  const t = await loadTable(openCsv(fromString("people.csv", CSV)));
  const s = t.select([3, 0]);
  assert.is(s.rowCount, 2);
  assert.equal(s.stringColumn("name"), ["dee", "ann"]);
  assert.is(s.dataRow(0), 4);
  assert.is(s.line(0), 5);
  throwsWith(() => s.numericColumn("age"), "data row 4", "line 5", '"abc"');
  // Levels only present in the subset.
  assert.equal(t.select([0, 2]).distinct("city"), ["Oslo"]);
  assert.throws(() => t.select([4]), /out of range/);
});

test("parseNumber accepts decimal syntax only", () => {
  for (const [s, v] of [["0", 0], ["-3.5", -3.5], [".5", 0.5], ["5.", 5], ["1e-3", 0.001], ["+2E+2", 200], [" 7 ", 7], ["-Infinity", -Infinity]] as const) {
    assert.is(parseNumber(s), v, s);
  }
  for (const s of ["", " ", "abc", "0x10", "1,5", "NaN", "1e", "--1", "1 2", "."]) assert.is(parseNumber(s), undefined, s);
});

test("builders: fromColumns, fromRecords, TableBuilder; duplicate names rejected", () => {
  const a = Table.fromColumns("c", ["x", "y"], [["1", "2"], ["a", "b"]]);
  assert.equal([...a.numericColumn("x")], [1, 2]);
  const b = Table.fromRecords("r", [{ x: "3", y: "c" }]);
  assert.equal(b.row(0), { x: "3", y: "c" });
  const tb = new TableBuilder("b", ["x"]);
  for (let i = 0; i < 3000; i++) tb.add([String(i % 7)], i + 1, i + 2);
  const t = tb.finish();
  assert.is(t.rowCount, 3000);
  assert.is(t.numericColumn("x")[2999], 2999 % 7);
  assert.is(t.line(2999), 3001);
  assert.throws(() => Table.fromColumns("d", ["x", "x"], [["1"], ["2"]]), /duplicate column name "x"/);
  assert.throws(() => tb.add(["1", "2"], 1, 1), /expected 1 fields, found 2/);
});

test("from JSON lines: null and absent keys become empty cells", async () => {
  const t = await loadTable(openJsonl(fromString("j.jsonl", '{"a":1,"b":"x"}\n{"a":null}\n{"b":"y","a":2.5}\n')));
  assert.equal(t.columns, ["a", "b"]);
  const a = t.numericColumn("a", { missing: [""] });
  assert.is(a[0], 1);
  assert.ok(Number.isNaN(a[1]));
  assert.is(a[2], 2.5);
  assert.equal(t.stringColumn("b"), ["x", "", "y"]);
});

test.run();
