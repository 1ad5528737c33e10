// dataWarnings: data problems that make training meaningless (errors) or partly meaningless (warnings), found before
// training starts; and the readers' "no data rows" error for a header-only file.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { fromString } from "../../src/data/source.ts";
import { Table } from "../../src/data/table.ts";
import { readTable, splitRows } from "../../src/data/load.ts";
import { fitPreprocessing } from "../../src/data/preprocess.ts";
import { dataWarnings, type DataWarning } from "../../src/data/warnings.ts";
import { validateSpec, type ModelSpec } from "../../src/model/spec.ts";
import { rejects } from "../helpers.ts";

const idx = (...i: number[]) => Uint32Array.from(i);
const range = (a: number, b: number) => Uint32Array.from({ length: b - a }, (_, i) => a + i);

/** The one warning/error whose message includes every part (fails listing all of them otherwise). */
function one(ws: DataWarning[], level: "warning" | "error", ...parts: string[]): DataWarning {
  const hits = ws.filter((w) => w.level === level && parts.every((p) => w.message.includes(p)));
  assert.is(hits.length, 1, `expected one ${level} with ${JSON.stringify(parts)} in ${JSON.stringify(ws, null, 1)}`);
  return hits[0];
}

const rec = (n: number, f: (i: number) => Record<string, string>) => Array.from({ length: n }, (_, i) => f(i));

/** 10 rows: numeric x, categorical c, binary b (0/1), text binary t, multiclass k, regression y. */
function table(over: (i: number) => Partial<Record<string, string>> = () => ({})): Table {
  return Table.fromRecords(
    "d.csv",
    rec(10, (i) => ({ x: String(i), c: ["u", "v"][i % 2], b: String(i % 2), t: i % 2 ? "yes" : "no", k: ["p", "q", "r"][i % 3], y: String(i / 2), ...over(i) }) as Record<string, string>),
  );
}

const baseTasks = [
  { name: "bin", type: "binary", label: "b" },
  { name: "txt", type: "binary", label: "t", positive: "yes" },
  { name: "cls", type: "multiclass", label: "k" },
  { name: "reg", type: "regression", label: "y" },
];
const mkSpec = (extra: { tasks?: unknown[]; inputs?: Record<string, unknown>; training?: Record<string, unknown> } = {}): ModelSpec =>
  validateSpec({ inputs: { numeric: ["x"], categorical: ["c"], ...extra.inputs }, tasks: extra.tasks ?? baseTasks, training: extra.training });

function check(spec: ModelSpec, t: Table, split: { train: Uint32Array; validation: Uint32Array }): DataWarning[] {
  const pre = split.train.length ? fitPreprocessing(spec, t, split.train) : null;
  return dataWarnings(spec, t, split, pre);
}

test("clean data: no warnings", () => {
  const spec = mkSpec();
  const t = table();
  assert.equal(check(spec, t, splitRows(spec, t)), []);
  // Without the preprocessing (e.g. before fitting it) the same checks run.
  assert.equal(dataWarnings(spec, t, splitRows(spec, t)), []);
});

test("header-only data: the readers throw 'no data rows'; dataWarnings reports an error for an empty table", async () => {
  await rejects(readTable(fromString("h.csv", "x,c,y\n"), { format: "csv", delimiter: "," }), "h.csv", "no data rows");
  await rejects(readTable(fromString("h.csv", "x;c;y\r\n\r\n"), { format: "csv", delimiter: ";" }), "h.csv", "no data rows");
  await rejects(readTable(fromString("e.jsonl", "\n\n"), { format: "jsonl", delimiter: "," }), "e.jsonl", "no data rows");
  await rejects(readTable(fromString("e.data", ""), { format: "census", delimiter: "," }), "e.data", "no data rows");
  const spec = mkSpec();
  const t = Table.fromRecords("h.csv", [], ["x", "c", "b", "t", "k", "y"]);
  const ws = dataWarnings(spec, t, { train: idx(), validation: idx() });
  assert.is(ws.length, 1, JSON.stringify(ws));
  one(ws, "error", "h.csv", "no data rows");
});

test("zero training rows after the split is an error; zero validation rows a warning", () => {
  const spec = mkSpec();
  const t = table();
  const ws = check(spec, t, { train: idx(), validation: range(0, 10) });
  one(ws, "error", "d.csv", "no training rows", "10 rows");
  assert.ok(ws.every((w) => w.level === "error"), JSON.stringify(ws));
  // Identical rows stay on one side: 10 copies of one row with validation 0.2 all go to validation.
  const same = Table.fromRecords("same.csv", rec(10, () => ({ x: "1", c: "u", b: "0", t: "no", k: "p", y: "1" })));
  const s2 = mkSpec({ tasks: [{ name: "reg", type: "regression", label: "y" }] });
  const split = splitRows(s2, same);
  assert.is(split.train.length, 0);
  one(dataWarnings(s2, same, split), "error", "same.csv", "no training rows", "identical rows");
  const wv = check(spec, t, { train: range(0, 10), validation: idx() });
  one(wv, "warning", "d.csv", "no validation rows");
  assert.ok(wv.every((w) => w.level === "warning"));
});

test("a task whose labels are all missing in the training split: warning (its loss is 0 for the whole run)", () => {
  const spec = mkSpec();
  // y missing in the training rows 0..7, present in validation rows 8, 9.
  const t = table((i) => (i < 8 ? { y: i % 2 ? "?" : "" } : {}));
  const ws = check(spec, t, { train: range(0, 8), validation: idx(8, 9) });
  one(ws, "warning", "d.csv", 'task "reg"', '"y"', "missing", "loss is 0");
  assert.is(ws.length, 1, JSON.stringify(ws));
  // Multilabel: each row has some label missing, so no training row has every label.
  const ml = validateSpec({ inputs: { numeric: ["x"] }, tasks: [{ name: "ml", type: "multilabel", labels: ["m0", "m1"] }] });
  const tm = Table.fromRecords("ml.csv", rec(6, (i) => ({ x: String(i), m0: i % 2 ? "?" : "1", m1: i % 2 ? "0" : "NA" })));
  one(dataWarnings(ml, tm, { train: range(0, 6), validation: idx() }), "warning", "ml.csv", 'task "ml"', '"m0", "m1"', "loss is 0");
  // nonfinite: "missing" counts non-finite labels as missing.
  const nf = mkSpec({ tasks: [{ name: "reg", type: "regression", label: "y" }], inputs: { nonfinite: "missing" } });
  const tn = table((i) => ({ y: i < 8 ? "1e400" : "1" }));
  one(dataWarnings(nf, tn, { train: range(0, 8), validation: idx(8, 9) }), "warning", 'task "reg"', "loss is 0");
});

test("a multiclass class or a binary positive value never seen in the training rows: warning", () => {
  const spec = mkSpec({
    tasks: [
      { name: "txt", type: "binary", label: "t", positive: ["yes", "YES"] },
      { name: "cls", type: "multiclass", label: "k", classes: ["p", "q", "r", "s"] },
    ],
  });
  const t = table();
  const ws = check(spec, t, splitRows(spec, t));
  one(ws, "warning", "d.csv", 'task "cls"', 'class "s"', '"k"', "never");
  one(ws, "warning", "d.csv", 'task "txt"', 'positive value "YES"', '"t"', "never");
  assert.is(ws.length, 2, JSON.stringify(ws));
  // No positive at all (a typo in "positive"): the task learns a constant.
  const typo = mkSpec({ tasks: [{ name: "txt", type: "binary", label: "t", positive: "Yes" }] });
  one(check(typo, t, splitRows(typo, t)), "warning", 'task "txt"', "no training row is positive", '"Yes"');
  // A 0/1 label that is never 1 in the training rows.
  const zeros = table((i) => ({ b: i < 8 ? "0" : "1" }));
  const sb = mkSpec({ tasks: [{ name: "bin", type: "binary", label: "b" }] });
  one(check(sb, zeros, { train: range(0, 8), validation: idx(8, 9) }), "warning", 'task "bin"', '"b"', "no training row is positive");
});

test("a categorical column whose every value is unknown: warning", () => {
  // min_count 2 and every training value distinct: the vocabulary is empty.
  const spec = mkSpec({ inputs: { categorical: [{ column: "c", min_count: 2 }] } });
  const t = table((i) => ({ c: `id${i}` }));
  const ws = check(spec, t, { train: range(0, 8), validation: idx(8, 9) });
  one(ws, "warning", "d.csv", 'column "c"', "every value", "unknown");
  // The validation rows only hold values the training rows never had.
  const s2 = mkSpec();
  const t2 = table((i) => ({ c: i < 8 ? "u" : "w" }));
  one(check(s2, t2, { train: range(0, 8), validation: idx(8, 9) }), "warning", 'column "c"', "validation rows", "unknown");
});

test("a numeric input missing in every training row: warning", () => {
  const spec = mkSpec();
  const t = table((i) => (i < 8 ? { x: "?" } : {}));
  one(check(spec, t, { train: range(0, 8), validation: idx(8, 9) }), "warning", 'column "x"', "missing in every training row");
});

test.run();
