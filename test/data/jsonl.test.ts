import { test } from "uvu";
import * as assert from "uvu/assert";
import { gzipSync } from "node:zlib";
import { jsonlValues, openJsonl, readJsonl } from "../../src/data/jsonl.ts";
import { fromBytes, fromString, rowRecords, textLines } from "../../src/data/source.ts";

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function rejects(p: Promise<unknown>, re: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable("expected an error");
}

const TEXT = '{"a":1,"b":"x, y"}\r\n\n  \n{"a":2,"b":"é✓"}\n{"b":null,"a":[1,2]}';

test("objects per line; blank lines skipped; CRLF; no final newline; line numbers", async () => {
  const vals = await all(jsonlValues(fromString("d.jsonl", TEXT)));
  assert.equal(vals.map((v) => v.line), [1, 4, 5]);
  assert.equal(vals.map((v) => v.row), [1, 2, 3]);
  assert.equal(await all(readJsonl(fromString("d.jsonl", TEXT))), [{ a: 1, b: "x, y" }, { a: 2, b: "é✓" }, { b: null, a: [1, 2] }]);
});

test("row stream: columns from the first object, cells as strings", async () => {
  const recs = await all(rowRecords(await openJsonl(fromString("d.jsonl", TEXT))));
  assert.equal(recs, [{ a: "1", b: "x, y" }, { a: "2", b: "é✓" }, { a: "[1,2]", b: "" }]);
});

test("bad JSON line → error naming file and line", async () => {
  try {
    await all(jsonlValues(fromString("bad.jsonl", '{"a":1}\n\n{"a":2,}\n')));
    assert.unreachable("expected an error");
  } catch (e) {
    const m = (e as Error).message;
    assert.ok(m.includes("bad.jsonl") && m.includes("line 3") && m.includes("invalid JSON"), m);
  }
});

test("non-object line and unknown key are errors naming the line", async () => {
  await rejects(all(readJsonl(fromString("n.jsonl", '{"a":1}\n[1,2]\n'))), /n\.jsonl: line 2: expected a JSON object, found an array/);
  await rejects(all(await openJsonl(fromString("k.jsonl", '{"a":1}\n{"a":2,"z":3}\n'))), /k\.jsonl: line 2 \(data row 2\): key "z"/);
});

test("gzip and 1-byte chunks read the same", async () => {
  const want = await all(readJsonl(fromString("d.jsonl", TEXT)));
  const bytes = new TextEncoder().encode(TEXT);
  assert.equal(await all(readJsonl(fromBytes("d.jsonl", bytes, 1))), want);
  assert.equal(await all(readJsonl(fromBytes("d.jsonl.gz", gzipSync(bytes), 1))), want);
});

test("textLines: CRLF split across chunks, final line without terminator, empty input", async () => {
  const lines = await all(textLines(fromString("l.txt", "a\r\nb\r\n\r\nc", 1)));
  assert.equal(lines, [{ text: "a", line: 1 }, { text: "b", line: 2 }, { text: "", line: 3 }, { text: "c", line: 4 }]);
  assert.equal(await all(textLines(fromString("e.txt", ""))), []);
  assert.equal(await all(textLines(fromString("e.txt", "x\n"))), [{ text: "x", line: 1 }]);
});

test.run();
