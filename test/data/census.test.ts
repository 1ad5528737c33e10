import { test } from "uvu";
import * as assert from "uvu/assert";
import { gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import { CENSUS_COLUMNS, CENSUS_NUMERIC_COLUMNS, censusTargets, openCensus } from "../../src/data/census.ts";
import { fromString, fromBytes } from "../../src/data/source.ts";
import { fileSource } from "../../src/data/node-file.ts";
import { loadTable } from "../../src/data/table.ts";
import { needFile } from "../skip.ts";

const FILE = fileURLToPath(new URL("../../../shared/data/census-income-kdd/census-income.shared.data.gz", import.meta.url));

// Two lines copied in the file's format (the first two records of the shared half).
const LINE1 =
  "2, Not in universe, 0, 0, Children, 0, Not in universe, Never married, Not in universe or children, Not in universe, White, Mexican-American, Male, Not in universe, Not in universe, Children or Armed Forces, 0, 0, 0, Nonfiler, Not in universe, Not in universe, Child <18 never marr not in subfamily, Child under 18 never married, 1601.75, ?, ?, ?, Not in universe under 1 year old, ?, 0, Both parents present, Mexico, Mexico, United-States, Native- Born in the United States, 0, Not in universe, 0, 0, 95, - 50000.";
const LINE2 =
  "58, Self-employed-not incorporated, 4, 34, Some college but no degree, 0, Not in universe, Married-civilian spouse present, Construction, Precision production craft & repair, White, All other, Male, Not in universe, Not in universe, Children or Armed Forces, 0, 0, 0, Joint both under 65, Not in universe, Not in universe, Householder, Householder, 1053.55, Nonmover, Nonmover, Nonmover, Yes, Not in universe, 1, Not in universe, United-States, United-States, United-States, Native- Born in the United States, 0, Not in universe, 2, 52, 94, 50000+.";

test("CENSUS_COLUMNS: 42 names in README order, unique", () => {
  assert.is(CENSUS_COLUMNS.length, 42);
  assert.is(new Set(CENSUS_COLUMNS).size, 42);
  assert.is(CENSUS_COLUMNS[0], "age");
  assert.is(CENSUS_COLUMNS[7], "marital_stat");
  assert.is(CENSUS_COLUMNS[24], "instance_weight");
  assert.is(CENSUS_COLUMNS[41], "income_50k");
  for (const c of CENSUS_NUMERIC_COLUMNS) assert.ok(CENSUS_COLUMNS.includes(c), c);
});

test("synthetic lines: fields trimmed, '?' kept, label dot stripped (or kept on request), plain and gzip", async () => {
  const text = `${LINE1}\n\n${LINE2}\n`;
  for (const src of [fromString("s.data", text), fromBytes("s.data.gz", gzipSync(Buffer.from(text)), 5)]) {
    const t = await loadTable(openCensus(src));
    assert.is(t.rowCount, 2);
    assert.is(t.row(0).age, "2");
    assert.is(t.row(0).mig_chg_msa, "?");
    assert.is(t.row(0).citizenship, "Native- Born in the United States");
    assert.is(t.row(0).income_50k, "- 50000");
    assert.is(t.row(1).income_50k, "50000+");
    assert.is(t.line(1), 3); // the blank line counts as a line but not as a data row
    assert.is(t.dataRow(1), 2);
    assert.equal([...censusTargets(t).income], [0, 1]);
    assert.equal([...censusTargets(t).neverMarried], [1, 0]);
  }
  const raw = await loadTable(openCensus(fromString("s.data", LINE2), { stripLabelDot: false }));
  assert.is(raw.row(0).income_50k, "50000+.");
  assert.equal([...censusTargets(raw).income], [1]);
});

test("malformed line: error names file, line, data row and counts", async () => {
  const bad = LINE2.replace("Construction, ", "");
  try {
    await loadTable(openCensus(fromString("broken.data", `${LINE1}\n${LINE2}\n${bad}\n${LINE1}\n`)));
    assert.unreachable("expected an error");
  } catch (e) {
    const m = (e as Error).message;
    for (const part of ["broken.data", "line 3", "data row 3", "expected 42", "found 41"]) assert.ok(m.includes(part), `${m} lacks ${part}`);
  }
});

test("batches(): a chunk's rows together, rows before a malformed line arrive before its error; row by row the same", async () => {
  const bad = LINE2.replace("Construction, ", "");
  const text = `${LINE1}\n\n${LINE2}\n${LINE1}\n${bad}\n${LINE1}\n`;
  for (const chunk of [1 << 16, 37]) {
    const seen: [number, number][] = [];
    let err = "";
    try {
      for await (const b of (await openCensus(fromString("b.data", text, chunk))).batches()) for (const r of b) seen.push([r.row, r.line]);
    } catch (e) {
      err = (e as Error).message;
    }
    assert.equal(seen, [[1, 1], [2, 3], [3, 4]], `chunk ${chunk}`);
    assert.match(err, /b\.data: line 5 \(data row 4\): expected 42 fields/);
    const rows: [number, number][] = [];
    try {
      for await (const r of await openCensus(fromString("b.data", text, chunk))) rows.push([r.row, r.line]);
    } catch (e) {
      assert.is((e as Error).message, err);
    }
    assert.equal(rows, seen);
  }
});

test("unexpected income label is reported with its row", async () => {
  const t = await loadTable(openCensus(fromString("l.data", `${LINE1}\n${LINE2.replace("50000+.", "maybe.")}\n`)));
  assert.throws(() => censusTargets(t), (e: Error) => e.message.includes("l.data") && e.message.includes("data row 2") && e.message.includes('"maybe"'));
});

test("real file: 49,881 rows × 42 columns; 3,079 income positives; 21,530 never married (README counts)", async () => {
  if (!needFile(FILE, "census real file")) return;
  const t = await loadTable(openCensus(fileSource(FILE)));
  assert.is(t.rowCount, 49881);
  assert.is(t.columns.length, 42);
  const { income, neverMarried } = censusTargets(t);
  let pos = 0, nm = 0;
  for (let i = 0; i < t.rowCount; i++) {
    pos += income[i];
    nm += neverMarried[i];
  }
  assert.is(pos, 3079);
  assert.is(nm, 21530);
  // Every README-numeric column parses as numbers without missing tokens.
  for (const c of CENSUS_NUMERIC_COLUMNS) {
    const v = t.numericColumn(c);
    assert.ok(v.every(Number.isFinite), c);
  }
  const age = t.numericColumn("age");
  assert.is(age[0], 2);
});

test("missing file: error names the path", async () => {
  try {
    await loadTable(openCensus(fileSource("/nonexistent/census.gz")));
    assert.unreachable("expected an error");
  } catch (e) {
    assert.ok((e as Error).message.includes("/nonexistent/census.gz"), (e as Error).message);
  }
});

test.run();
