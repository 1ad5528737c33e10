import { test } from "uvu";
import * as assert from "uvu/assert";
import { gzipSync } from "node:zlib";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { concatBytes, fromBytes, fromChunks, fromReadableStream, fromString, isGzip, readAllBytes, textChunks } from "../../src/data/source.ts";
import { fileSource } from "../../src/data/node-file.ts";
import { openCsv, readCsv } from "../../src/data/csv.ts";

const enc = (s: string) => new TextEncoder().encode(s);

async function text(src: Parameters<typeof textChunks>[0]): Promise<string> {
  let s = "";
  for await (const c of textChunks(src)) s += c;
  return s;
}

test("gzip magic detection, tiny and empty inputs pass through", async () => {
  assert.ok(isGzip(new Uint8Array([0x1f, 0x8b, 8])));
  assert.not.ok(isGzip(new Uint8Array([0x1f])));
  assert.is(await text(fromBytes("e", new Uint8Array(0))), "");
  assert.is(await text(fromBytes("one", enc("a"))), "a");
  assert.equal([...(await readAllBytes(fromBytes("x", new Uint8Array([0x1f]))))], [0x1f]);
  assert.equal([...(await readAllBytes(fromChunks("x", [new Uint8Array(0), new Uint8Array([0x1f]), new Uint8Array(0), new Uint8Array([0x20])])))], [0x1f, 0x20]);
});

test("gzip with the magic split over chunks; raw bytes kept when decompress: false", async () => {
  const gz = gzipSync(enc("héllo wörld\n".repeat(1000)));
  assert.is(await text(fromChunks("g", [gz.subarray(0, 1), gz.subarray(1, 2), gz.subarray(2)])), "héllo wörld\n".repeat(1000));
  assert.equal(await readAllBytes(fromBytes("g", gz), { decompress: false }), new Uint8Array(gz));
});

test("UTF-8 split across chunks and a leading BOM", async () => {
  const bytes = concatBytes([new Uint8Array([0xef, 0xbb, 0xbf]), enc("a,b\n€,✓\n")]);
  const rows = [];
  for await (const r of readCsv(fromBytes("bom.csv", bytes, 1))) rows.push(r);
  assert.equal(rows, [{ a: "€", b: "✓" }]);
});

test("fromReadableStream (web streams, e.g. fetch bodies)", async () => {
  const stream = new Blob([gzipSync(enc("x,y\n1,2\n"))]).stream() as ReadableStream<Uint8Array>;
  const rows = [];
  for await (const r of readCsv(fromReadableStream("blob.csv.gz", stream))) rows.push(r);
  assert.equal(rows, [{ x: "1", y: "2" }]);
});

test("row streams are single-use", async () => {
  const s = await openCsv(fromString("s.csv", "a\n1\n"));
  for await (const _ of s) void _;
  assert.throws(() => s[Symbol.asyncIterator](), /only once/);
});

test("fileSource (Node-only): reads plain and gzip files; missing file names the path", async () => {
  const dir = mkdtempSync(join(tmpdir(), "mtl-src-"));
  try {
    writeFileSync(join(dir, "a.csv"), "k,v\nx,1\n");
    writeFileSync(join(dir, "a.csv.gz"), gzipSync("k,v\nx,1\n"));
    for (const f of ["a.csv", "a.csv.gz"]) {
      const rows = [];
      for await (const r of readCsv(fileSource(join(dir, f), { highWaterMark: 3 }))) rows.push(r);
      assert.equal(rows, [{ k: "x", v: "1" }], f);
    }
    const missing = join(dir, "nope.csv");
    try {
      await text(fileSource(missing));
      assert.unreachable("expected an error");
    } catch (e) {
      assert.ok((e as Error).message.includes(missing), (e as Error).message);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
