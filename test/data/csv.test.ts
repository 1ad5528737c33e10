import { test } from "uvu";
import * as assert from "uvu/assert";
import { gzipSync } from "node:zlib";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { openCsv, readCsv, csvRecords } from "../../src/data/csv.ts";
import { fromBytes, fromString, fromChunks, type ByteSource } from "../../src/data/source.ts";
import { loadTable } from "../../src/data/table.ts";
import { needFile } from "../skip.ts";
import { Rng, rejects } from "../helpers.ts";

async function collect(src: ByteSource, opts = {}): Promise<Record<string, string>[]> {
  const out: Record<string, string>[] = [];
  for await (const r of readCsv(src, opts)) out.push(r);
  return out;
}

const TRICKY = 'id,text,n\r\n1,"a, b",2\r\n2,"say ""hi""",3\r\n3,"line1\nline2\r\nline3",4\r\n4,,5\r\n5,plain,"6"\r\n';
const TRICKY_ROWS = [
  { id: "1", text: "a, b", n: "2" },
  { id: "2", text: 'say "hi"', n: "3" },
  { id: "3", text: "line1\nline2\r\nline3", n: "4" },
  { id: "4", text: "", n: "5" },
  { id: "5", text: "plain", n: "6" },
];

test("quoted fields with commas, doubled quotes, embedded newlines; CRLF", async () => {
  assert.equal(await collect(fromString("t.csv", TRICKY)), TRICKY_ROWS);
});

test("LF, no trailing newline, blank lines skipped, trailing empty field", async () => {
  const rows = await collect(fromString("t.csv", "a,b\n\n1,2\n\n3,\n4,5"));
  assert.equal(rows, [{ a: "1", b: "2" }, { a: "3", b: "" }, { a: "4", b: "5" }]);
});

test("a quoted empty field on its own line is a row, not a blank line", async () => {
  const rows = await collect(fromString("t.csv", 'a\n""\nx\n'));
  assert.equal(rows, [{ a: "" }, { a: "x" }]);
});

test("same rows for 1-byte chunks and random chunk sizes (boundaries inside CRLF, quotes, UTF-8)", async () => {
  const text = TRICKY + '6,"ünï""cødé ✓, €",7\r\n7,"x\r\ny",8\r';
  const bytes = new TextEncoder().encode(text);
  const whole = await collect(fromBytes("t.csv", bytes));
  assert.is(whole.length, 7);
  assert.equal(whole[5], { id: "6", text: 'ünï"cødé ✓, €', n: "7" });
  assert.equal(whole[6], { id: "7", text: "x\r\ny", n: "8" });
  assert.equal(await collect(fromBytes("t.csv", bytes, 1)), whole);
  const rng = new Rng(7);
  for (let trial = 0; trial < 50; trial++) {
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < bytes.length; ) {
      const k = 1 + rng.int(9);
      chunks.push(bytes.slice(i, i + k));
      i += k;
    }
    assert.equal(await collect(fromChunks("t.csv", chunks)), whole, `trial ${trial}`);
  }
});

test("wrong field count: error names file, data row, line, expected and found", async () => {
  const src = fromString("bad.csv", 'a,b,c\n1,2,3\n"x\ny",2,3\n4,5\n');
  const msg = await rejects(collect(src), "bad.csv", "data row 3", "line 5", "expected 3", "found 2");
  assert.ok(msg.length < 300);
  await rejects(collect(fromString("bad2.csv", "a,b\n1,2,3\n")), "bad2.csv", "data row 1", "line 2", "found 3");
});

test("unterminated quote and garbage after a closing quote are errors with line numbers", async () => {
  await rejects(collect(fromString("q.csv", 'a,b\n1,"open\n\n')), "q.csv", "line 2", "not closed");
  await rejects(collect(fromString("q2.csv", 'a,b\n1,2\n3,"x"y\n')), "q2.csv", "line 3", "after the closing quote");
});

test("custom delimiter ';' with quoted header (UCI student / wine style)", async () => {
  const rows = await collect(fromString("w.csv", '"fixed acidity";"quality"\n7.4;5\n"7,8";"6"\n'), { delimiter: ";" });
  assert.equal(rows, [{ "fixed acidity": "7.4", quality: "5" }, { "fixed acidity": "7,8", quality: "6" }]);
});

test("explicit header array (file without header line); duplicate header names rejected", async () => {
  const rows = await collect(fromString("h.csv", "1,2\n3,4\n"), { header: ["x", "y"] });
  assert.equal(rows, [{ x: "1", y: "2" }, { x: "3", y: "4" }]);
  await rejects(openCsv(fromString("d.csv", "a,b,a\n1,2,3\n")), "d.csv", "duplicate", '"a"');
});

test("gzip input reads the same as plain (1-byte and random chunks too)", async () => {
  const bytes = new TextEncoder().encode(TRICKY);
  const gz = gzipSync(bytes);
  assert.equal(await collect(fromBytes("t.csv.gz", gz)), TRICKY_ROWS);
  assert.equal(await collect(fromBytes("t.csv.gz", gz, 1)), TRICKY_ROWS);
  assert.equal(await collect(fromBytes("t.csv.gz", gz, 13)), TRICKY_ROWS);
});

test("corrupt gzip is an error naming the source", async () => {
  const gz = gzipSync(new TextEncoder().encode(TRICKY.repeat(50)));
  await rejects(collect(fromBytes("cut.csv.gz", gz.subarray(0, gz.length >> 1))), "cut.csv.gz", "gzip");
});

test("raw records carry their starting line", async () => {
  const recs = [];
  for await (const r of csvRecords(fromString("r.csv", 'a\n"1\n2"\n3\n'))) recs.push(r);
  assert.equal(recs, [{ fields: ["a"], line: 1 }, { fields: ["1\n2"], line: 2 }, { fields: ["3"], line: 4 }]);
});

test("empty file: header missing is an error; header only gives no rows", async () => {
  await rejects(openCsv(fromString("e.csv", "")), "e.csv", "empty");
  assert.equal(await collect(fromString("h.csv", "a,b\n")), []);
});

const SCHOOL = fileURLToPath(new URL("../../../shared/data/school/school.shared.csv", import.meta.url));
test("real data: school.shared.csv loads (12,279 rows × 30 columns)", async () => {
  if (!needFile(SCHOOL, "school real data")) return;
  const t = await loadTable(openCsv(fromBytes("school.shared.csv", readFileSync(SCHOOL))));
  assert.is(t.rowCount, 12279);
  assert.is(t.columns.length, 30);
  const y = t.numericColumn("exam_score");
  let s = 0;
  for (const v of y) s += v;
  assert.ok(Math.abs(s / y.length - 20.55) < 0.01, `mean ${s / y.length}`);
});


// Records serialized by the test (quoting a field only when it holds the delimiter, a quote, CR or LF, or when asked),
// with LF, CRLF or lone-CR terminators and blank lines between them, read back through random chunk boundaries:
// the fields, data-row numbers and line numbers must be the generated ones, row by row and through batches().
test("random records round-trip: quoting, LF/CRLF/CR terminators, blank lines, chunk boundaries; rows and batches()", async () => {
  const rng = new Rng(11);
  const alphabet = ["a", "b", "7", ".", " ", "é", "✓", ",", '"', "\r", "\n", "-"];
  for (let trial = 0; trial < 200; trial++) {
    const ncol = 1 + rng.int(4), nrec = rng.int(12);
    const cell = () => Array.from({ length: rng.int(5) }, () => alphabet[rng.int(rng.int(3) === 0 ? alphabet.length : 5)]).join("");
    const quoteIt = (f: string) => /[",\r\n]/.test(f) || rng.int(8) === 0;
    const enc = (f: string) => (quoteIt(f) ? `"${f.replace(/"/g, '""')}"` : f);
    const term = () => ["\n", "\r\n", "\r"][rng.int(3)];
    const header = Array.from({ length: ncol }, (_, j) => `c${j}`);
    let last = term(), text = header.join(",") + last, line = 2;
    const want: { fields: string[]; row: number; line: number }[] = [];
    const lines = (s: string) => (s.match(/\n/g) ?? []).length;
    for (let r = 0; r < nrec; r++) {
      while (rng.int(4) === 0) {
        // A blank line; after a lone CR an LF would join it into one CRLF.
        last = rng.int(2) && last !== "\r" ? "\n" : "\r\n";
        text += last;
        line += 1;
      }
      const fields = Array.from({ length: ncol }, cell);
      // A lone empty field is quoted: unquoted, it is a blank line, which is skipped.
      const body = fields.map((f, j) => (ncol === 1 && f === "" ? '""' : enc(f))).join(",");
      const t = r === nrec - 1 && rng.int(2) ? "" : (last = term());
      want.push({ fields, row: r + 1, line });
      text += body + t;
      line += lines(body) + (t ? 1 : 0); // a record's terminator ends a line, a lone CR too

    }
    const bytes = new TextEncoder().encode(text);
    const chunked = () => {
      const chunks: Uint8Array[] = [];
      for (let i = 0; i < bytes.length; ) {
        const k = 1 + rng.int(rng.int(2) ? 7 : 200);
        chunks.push(bytes.slice(i, i + k));
        i += k;
      }
      return fromChunks("r.csv", chunks);
    };
    const got: typeof want = [];
    for await (const r of await openCsv(chunked())) got.push({ fields: r.fields, row: r.row, line: r.line });
    assert.equal(got, want, `trial ${trial} rows: ${JSON.stringify(text)}`);
    const viaBatches: typeof want = [];
    for await (const b of (await openCsv(chunked())).batches()) {
      assert.ok(b.length > 0, "batches are not empty");
      for (const r of b) viaBatches.push({ fields: r.fields, row: r.row, line: r.line });
    }
    assert.equal(viaBatches, want, `trial ${trial} batches: ${JSON.stringify(text)}`);
  }
});

test("batches(): a row with the wrong field count arrives after the rows before it, then the error", async () => {
  const s = await openCsv(fromString("t.csv", "a,b\n1,2\n3,4\n5\n7,8\n"));
  const seen: string[][] = [];
  await rejects((async () => {
    for await (const b of s.batches()) for (const r of b) seen.push(r.fields);
  })(), /t\.csv: data row 3 \(line 4\): expected 2 fields \(as in the header\), found 1/);
  assert.equal(seen, [["1", "2"], ["3", "4"]]);
  await rejects((async () => {
    for await (const _ of s) void _;
  })(), /can be iterated only once/);
});

test("batches(): a bad first row gives the error and no empty batch", async () => {
  const s = await openCsv(fromString("t.csv", "a,b\n5\n1,2\n"));
  const sizes: number[] = [];
  await rejects((async () => {
    for await (const b of s.batches()) sizes.push(b.length);
  })(), /t\.csv: data row 1 \(line 2\): expected 2 fields \(as in the header\), found 1/);
  assert.equal(sizes, []);
});

test("delimiter and quote must be one character each, distinct, and not a line terminator", async () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ delimiter: ",," }, /^t\.csv: CSV delimiter must be one character, got ",,"$/],
    [{ delimiter: "" }, /^t\.csv: CSV delimiter must be one character, got ""$/],
    [{ quote: "''" }, /^t\.csv: CSV quote must be one character, got "''"$/],
    [{ delimiter: '"' }, /^t\.csv: invalid CSV delimiter\/quote pair "\\"" \/ "\\""$/],
    [{ delimiter: "\n" }, /^t\.csv: invalid CSV delimiter\/quote pair "\\n" \/ "\\""$/],
    [{ delimiter: "\r" }, /^t\.csv: invalid CSV delimiter\/quote pair "\\r" \/ "\\""$/],
    [{ quote: "\n" }, /^t\.csv: invalid CSV delimiter\/quote pair "," \/ "\\n"$/],
    [{ quote: "\r" }, /^t\.csv: invalid CSV delimiter\/quote pair "," \/ "\\r"$/],
  ];
  for (const [opts, msg] of cases) await rejects(openCsv(fromString("t.csv", "a\n1\n"), opts), msg);
  assert.equal(await collect(fromString("t.csv", "a;b\n'x;y';2\n"), { delimiter: ";", quote: "'" }), [{ a: "x;y", b: "2" }]);
});

test.run();
