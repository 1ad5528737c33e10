// The ARFF reader (src/data/arff.ts): header syntax (comments, case, quoting, every type), dense and sparse rows, `?`
// as missing, chunking and gzip, errors naming file, line and attribute, the reader through readTable and encode as a
// spec uses it, random tables written as ARFF here and read back, and the real Yeast files against their README.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { gzipSync } from "node:zlib";
import { openArff } from "../../src/data/arff.ts";
import { readTable } from "../../src/data/load.ts";
import { fromBytes, fromString, rowRecords } from "../../src/data/source.ts";
import { fileSource } from "../../src/data/node-file.ts";
import { encode, fitPreprocessing } from "../../src/data/preprocess.ts";
import { validateSpec } from "../../src/model/spec.ts";
import { Rng, rejects } from "../helpers.ts";
import { needFile } from "../skip.ts";

async function records(text: string | Uint8Array, chunk?: number) {
  const bytes = typeof text === "string" ? new TextEncoder().encode(text) : text;
  const s = await openArff(fromBytes("t.arff", bytes, chunk));
  const rows: { rec: Record<string, string>; row: number; line: number }[] = [];
  for await (const r of s) rows.push({ rec: Object.fromEntries(s.columns.map((c, j) => [c, r.fields[j]])), row: r.row, line: r.line });
  return { s, rows };
}

const RICH = [
  "% a comment before the header",
  "@RELATION 'iris plants' % trailing comment",
  "",
  "@Attribute 'petal width' REAL",
  "@attribute count Integer",
  "@ATTRIBUTE x numeric",
  "@attribute class {Iris-setosa, 'Iris versicolor', \"a,b\"}",
  "@attribute note string",
  "@attribute when date \"yyyy-MM-dd\"",
  "@attribute flag {0,1}",
  "",
  "@DATA",
  "% data comment",
  "0.2, 3, -1.5e3, Iris-setosa, 'it\\'s', 2020-01-02, 1",
  "  ?,?,1,'Iris versicolor','?',?,0   % comment after a row",
  "",
  "1e-2,7,.5,\"a,b\",'tab\\there \\'q\\'',2021-12-31,1",
].join("\r\n");

test("header and dense rows: comments, case, quoting, escapes, ? as missing, CRLF; row and line numbers", async () => {
  const { s, rows } = await records(RICH);
  assert.is(s.relation, "iris plants");
  assert.equal(s.columns, ["petal width", "count", "x", "class", "note", "when", "flag"]);
  assert.equal(s.attributes.map((a) => a.type), ["numeric", "numeric", "numeric", "nominal", "string", "date", "nominal"]);
  assert.equal(s.attributes[3].values, ["Iris-setosa", "Iris versicolor", "a,b"]);
  assert.equal(s.attributes.map((a) => a.line), [4, 5, 6, 7, 8, 9, 10]);
  assert.equal(rows.map((r) => [r.row, r.line]), [[1, 14], [2, 15], [3, 17]]);
  assert.equal(rows[0].rec, { "petal width": "0.2", count: "3", x: "-1.5e3", class: "Iris-setosa", note: "it's", when: "2020-01-02", flag: "1" });
  // Unquoted ? is missing (""); a quoted '?' is the text "?".
  assert.equal(rows[1].rec, { "petal width": "", count: "", x: "1", class: "Iris versicolor", note: "?", when: "", flag: "0" });
  assert.equal(rows[2].rec, { "petal width": "1e-2", count: "7", x: ".5", class: "a,b", note: "tab\there 'q'", when: "2021-12-31", flag: "1" });
});

test("the same rows from any chunk size and from gzip", async () => {
  const want = (await records(RICH)).rows;
  for (const chunk of [1, 2, 7, 64]) assert.equal((await records(RICH, chunk)).rows, want, `chunk ${chunk}`);
  assert.equal((await records(gzipSync(new TextEncoder().encode(RICH)), 3)).rows, want, "gzip");
});

test("sparse rows: given values by index, others 0 or the first nominal value; {} is all defaults", async () => {
  const text = "@relation s\n@attribute a numeric\n@attribute b {x,y,z}\n@attribute c numeric\n@data\n{0 1.5, 2 -3}\n{1 z}\n{ }\n{0 ?, 1 'y'}\n3,x,4\n";
  const { rows } = await records(text);
  assert.equal(rows.map((r) => r.rec), [
    { a: "1.5", b: "x", c: "-3" },
    { a: "0", b: "z", c: "0" },
    { a: "0", b: "x", c: "0" },
    { a: "", b: "y", c: "0" },
    { a: "3", b: "x", c: "4" },
  ]);
});

test("errors name the file, line, data row and attribute", async () => {
  const H = "@relation r\n@attribute Att1 numeric\n@attribute Att7 numeric\n@attribute cls {0,1}\n@attribute s string\n@data\n";
  const rows = async (text: string) => {
    for await (const _ of await openArff(fromString("yeast-train.arff", text)));
  };
  await rejects(rows(H + "1,2,0,a\n1,x,1,b\n"), 'yeast-train.arff: data row 2 (line 8): attribute "Att7": expected a number, found "x"');
  await rejects(rows(H + "1,2,0\n"), "yeast-train.arff: data row 1 (line 7): expected 4 values (one per @attribute), found 3");
  await rejects(rows(H + "1,2,0,a,5\n"), "data row 1 (line 7): expected 4 values (one per @attribute), found 5");
  await rejects(rows(H + "1,2,2,a\n"), 'data row 1 (line 7): attribute "cls": value "2" is not one of its declared values {0, 1}');
  await rejects(rows(H + "1,,0,a\n"), "data row 1 (line 7): empty value at position 2 (write ? for a missing value)");
  await rejects(rows(H + "1,2,0,\n"), 'the line ends with ","');
  await rejects(rows(H + "1,2,0,'open\n"), "data row 1 (line 7): quoted value starting with ' is not closed on its line");
  await rejects(rows(H + "1,2,0,a,{3}\n"), "instance weights");
  await rejects(rows(H + "1,2,0,'a'b\n"), `data row 1 (line 7): expected "," after value 4, found "b"`);
  await rejects(rows(H + "{0 1, 9 1}\n"), "sparse index 9 is out of range (the header declares 4 attributes, indices 0 to 3)");
  await rejects(rows(H + "{2 1, 1 1}\n"), "sparse index 1 after 2: indices must increase");
  await rejects(rows(H + "{0 1, 0 2, 3 s}\n"), "sparse index 0 after 0: indices must increase");
  await rejects(rows(H + "{0 1, 1 2}\n"), 'sparse row leaves out string attribute "s", whose value would be undefined');
  await rejects(rows(H + "{0 1, x 2}\n"), 'sparse entry "x": expected "INDEX VALUE"');
  await rejects(rows(H + "{0 1, 3 s}, {2}\n"), "instance weights");
  const open = (text: string) => openArff(fromString("h.arff", text));
  await rejects(open("@relation r\n@attribute a floaty\n@data\n"), 'h.arff: line 2: attribute "a": unknown type "floaty"; expected numeric, real, integer, string, date or a nominal {a, b, …}');
  await rejects(open("@relation r\n@attribute a relational\n@data\n"), 'line 2: attribute "a": relational attributes (multi-instance data) are not supported');
  await rejects(open("@relation r\n@attribute a numeric\n@attribute a real\n@data\n"), 'line 3: attribute "a": declared twice');
  await rejects(open("@relation r\n@attribute a {x, x}\n@data\n"), 'line 2: attribute "a": nominal value "x" is declared twice');
  await rejects(open("@relation r\n@attribute a {x, y\n@data\n"), "the nominal values' { is not closed by } on its line");
  await rejects(open("@relation r\n@attribute a numeric extra\n@data\n"), 'unexpected text after the type: "extra"');
  await rejects(open("@relation r\n@attribute a\n@data\n"), 'line 2: attribute "a": no type');
  await rejects(open("@attribute a numeric\n@data\n"), "h.arff: line 1: expected @relation (the first line of an ARFF header)");
  await rejects(open("@relation r\n@attribute a numeric\n"), "h.arff: no @data line after the 1 attributes");
  await rejects(open("@relation r\n@data\n1\n"), "h.arff: the header declares no @attribute before @data");
  await rejects(open("@relation r\nhello\n"), 'line 2: expected @attribute or @data, found "hello"');
  await rejects(open(""), "h.arff: no @relation line");
  await rejects(readTable(fromString("e.arff", "@relation r\n@attribute a numeric\n@data\n% nothing\n"), { format: "arff", delimiter: "," }), "e.arff: no data rows (the header declares 1 attributes and @data holds no instance)");
});

test("through readTable and encode: nominal {0,1} columns are binary labels, text nominals categorical inputs, ? missing", async () => {
  const text = "@relation r\n@attribute x numeric\n@attribute colour {red, 'dark blue'}\n@attribute y {0,1}\n@attribute z {no,yes}\n@data\n1,red,1,yes\n?,'dark blue',0,no\n3,red,?,yes\n";
  const table = await readTable(fromString("r.arff", text), { format: "arff", delimiter: "," });
  const spec = validateSpec({ data: { format: "arff", path: "r.arff" }, inputs: { numeric: ["x"], categorical: ["colour"] }, tasks: [{ name: "y", type: "binary", label: "y" }, { name: "z", type: "binary", label: "z", positive: "yes" }] });
  const rows = Uint32Array.from([0, 1, 2]);
  const pre = fitPreprocessing(spec, table, rows);
  assert.equal(pre.numeric[0].mean, 2, "the missing x is left out of the mean");
  assert.equal(pre.categorical[0].vocab, ["dark blue", "red"]);
  const enc = encode(spec, pre, table, rows);
  assert.equal(Array.from(enc.tasks[0].labels), [1, 0, NaN]);
  assert.equal(Array.from(enc.tasks[0].mask), [1, 1, 0]);
  assert.equal(Array.from(enc.tasks[1].labels), [1, 0, 1]);
  assert.equal(Array.from(enc.categorical[0]), [2, 1, 2]);
});

/** Write a table as ARFF text (dense or sparse rows), as a test-side writer independent of the reader. */
function writeArff(names: string[], kinds: ("num" | "nom")[], levels: string[][], rows: (string | null)[][], sparse: boolean): string {
  const q = (s: string) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
  const out = ["@relation gen"];
  names.forEach((n, j) => out.push(`@attribute ${q(n)} ${kinds[j] === "num" ? "numeric" : `{${levels[j].map(q).join(",")}}`}`));
  out.push("@data");
  for (const r of rows) {
    const v = (j: number) => (r[j] === null ? "?" : kinds[j] === "num" ? r[j]! : q(r[j]!));
    if (!sparse) out.push(r.map((_, j) => v(j)).join(", "));
    else {
      const keep = r.flatMap((x, j) => (x === (kinds[j] === "num" ? "0" : levels[j][0]) ? [] : [`${j} ${v(j)}`]));
      out.push(`{${keep.join(", ")}}`);
    }
  }
  return out.join("\n") + "\n";
}

test("random tables written as dense or sparse ARFF read back cell for cell", async () => {
  const rng = new Rng(11);
  const alphabet = ["a", "b c", "it's", "x,y", "%", "{", "é", "\\"];
  for (let rep = 0; rep < 30; rep++) {
    const ncol = 1 + rng.int(5), nrow = 1 + rng.int(8);
    const kinds = Array.from({ length: ncol }, () => (rng.next() < 0.5 ? "num" : "nom") as "num" | "nom");
    const names = kinds.map((_, j) => `${alphabet[rng.int(alphabet.length)]}${j}`);
    const levels = kinds.map(() => [...new Set(Array.from({ length: 1 + rng.int(4) }, () => alphabet[rng.int(alphabet.length)] + rng.int(3)))]);
    const rows = Array.from({ length: nrow }, () =>
      kinds.map((k, j) => (rng.next() < 0.1 ? null : k === "num" ? (rng.next() < 0.3 ? "0" : String(Math.round(rng.normal() * 1e4) / 100)) : levels[j][rng.int(levels[j].length)])),
    );
    for (const sparse of [false, true]) {
      const text = writeArff(names, kinds, levels, rows, sparse);
      const { s, rows: got } = await records(text, 1 + rng.int(20));
      assert.equal(s.columns, names, text);
      assert.equal(got.map((r) => names.map((n) => r.rec[n])), rows.map((r) => r.map((x) => x ?? "")), text);
    }
  }
});

test("the Yeast files: 1,500 and 917 rows of 103 numbers and 14 labels; label cardinality and rates as the README", async () => {
  const dir = "../shared/data/yeast";
  if (!needFile(`${dir}/yeast-train.arff`, "yeast ARFF files")) return;
  for (const [file, n, card] of [["yeast-train.arff", 1500, 4.228], ["yeast-test.arff", 917, 4.252]] as const) {
    const t = await readTable(fileSource(`${dir}/${file}`), { format: "arff", delimiter: "," });
    assert.is(t.rowCount, n, file);
    assert.equal(t.columns, [...Array.from({ length: 103 }, (_, i) => `Att${i + 1}`), ...Array.from({ length: 14 }, (_, i) => `Class${i + 1}`)]);
    for (let i = 1; i <= 103; i++) assert.ok(t.numericColumn(`Att${i}`).every(Number.isFinite), `Att${i}`);
    const labels = Array.from({ length: 14 }, (_, j) => t.numericColumn(`Class${j + 1}`));
    let sum = 0;
    for (const l of labels) for (const v of l) (assert.ok(v === 0 || v === 1), (sum += v));
    assert.is((sum / n).toFixed(3), card.toFixed(3), `${file} label cardinality`);
    if (file === "yeast-train.arff") {
      const rates = labels.map((l) => (l.reduce((a, b) => a + b, 0) / n).toFixed(3));
      assert.equal(rates, ["0.317", "0.430", "0.399", "0.355", "0.294", "0.252", "0.174", "0.193", "0.065", "0.107", "0.132", "0.752", "0.744", "0.014"]);
    }
  }
  // rowRecords works on the stream as on any reader's.
  const first = await rowRecords(await openArff(fileSource(`${dir}/yeast-test.arff`))).next();
  assert.is(Object.keys(first.value!).length, 117);
});

test.run();
