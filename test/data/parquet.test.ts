// The Parquet reader (src/data/parquet.ts). Fixtures are made at run time by test/data/parquet-writer.ts, a minimal
// writer written from the Parquet specification (no pyarrow on the test machines, and hyparquet-writer would share
// authors with the reader): every supported type with nulls, plain and dictionary pages, several row groups; the cells
// expected are written here from the values given to the writer. Then refusals (nested, binary, dates) and corrupt or
// truncated files, each an error naming the file.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { openParquet, openParquetBuffer, bytesAsyncBuffer } from "../../src/data/parquet.ts";
import { readTable } from "../../src/data/load.ts";
import { fromBytes, fromString } from "../../src/data/source.ts";
import { encode, fitPreprocessing } from "../../src/data/preprocess.ts";
import { validateSpec } from "../../src/model/spec.ts";
import { Rng, rejects } from "../helpers.ts";
import { CONVERTED, writeParquet, type PqColumn, type PqType, type PqValue } from "./parquet-writer.ts";

/** The cell the reader must give for a value (the contract in parquet.ts's file comment), written independently. */
function expectedCell(v: PqValue, type: PqType): string {
  if (v === null) return "";
  if (type === "BOOLEAN") return v ? "1" : "0";
  if (type === "FLOAT") return String(Math.fround(v as number));
  if (type === "INT64") return BigInt(v as bigint).toString();
  return String(v);
}

async function cells(bytes: Uint8Array, opts: { chunk?: number; columns?: string[] } = {}) {
  const s = await openParquet(fromBytes("t.parquet", bytes, opts.chunk), { columns: opts.columns });
  const rows: string[][] = [];
  const nums: number[] = [];
  for await (const r of s) rows.push(r.fields), nums.push(r.row);
  return { columns: [...s.columns], rows, nums };
}

const ALL: PqColumn[] = [
  { name: "i32", type: "INT32", optional: false, values: [1, -2, 2147483647, 0, -2147483648] },
  { name: "i64", type: "INT64", optional: true, values: [10n, null, 2n ** 60n + 1n, -5n, 0n] },
  { name: "i8", type: "INT32", converted: CONVERTED.INT_8, optional: false, values: [-128, 127, 0, 1, 2] },
  { name: "f32", type: "FLOAT", optional: false, values: [0.1, 1.25, -3, 3.4e38, 1e-45] },
  { name: "f64", type: "DOUBLE", optional: true, values: [null, 0.1, NaN, Infinity, -1e300] },
  { name: "flag", type: "BOOLEAN", optional: true, values: [true, false, null, true, true] },
  { name: "text", type: "BYTE_ARRAY", converted: CONVERTED.UTF8, optional: true, values: ["x", null, "é y, \"z\"", "", "NA"] },
  { name: "enum", type: "BYTE_ARRAY", converted: CONVERTED.ENUM, optional: false, values: ["a", "b", "a", "a", "c"] },
  { name: "dict_s", type: "BYTE_ARRAY", converted: CONVERTED.UTF8, optional: true, values: ["red", "red", null, "blue", "red"], dictionary: true },
  { name: "dict_i", type: "INT64", optional: false, values: [7n, 8n, 7n, 7n, 9n], dictionary: true },
  { name: "dict_d", type: "DOUBLE", optional: true, values: [0.5, null, 0.5, 0.25, null], dictionary: true },
];

test("every supported type, nulls, plain and dictionary pages, two row groups: cells as the contract says", async () => {
  const want = ALL[0].values.map((_, i) => ALL.map((c) => expectedCell(c.values[i], c.type)));
  for (const groups of [[5], [2, 3], [1, 1, 1, 1, 1]]) {
    const bytes = writeParquet(ALL, { groups });
    for (const chunk of [1, 13, 1 << 16]) {
      const got = await cells(bytes, { chunk });
      assert.equal(got.columns, ALL.map((c) => c.name));
      assert.equal(got.rows, want, `groups ${groups} chunk ${chunk}`);
      assert.equal(got.nums, [1, 2, 3, 4, 5]);
    }
  }
  // Spot checks of the contract written out: INT64 exact, float32 widened, NaN / Infinity as text, null as "".
  const r = (await cells(writeParquet(ALL))).rows;
  assert.is(r[2][1], "1152921504606846977");
  assert.is(r[0][3], "0.10000000149011612");
  assert.equal([r[2][4], r[3][4], r[0][4]], ["NaN", "Infinity", ""]);
  assert.equal(r.map((x) => x[5]), ["1", "0", "", "1", "1"]);
});

test("random columns read back cell for cell (types, nulls, dictionary, row groups)", async () => {
  const rng = new Rng(3);
  const types: PqType[] = ["BOOLEAN", "INT32", "INT64", "FLOAT", "DOUBLE", "BYTE_ARRAY"];
  const gen = (t: PqType): PqValue => {
    switch (t) {
      case "BOOLEAN": return rng.next() < 0.5;
      case "INT32": return rng.int(2000) - 1000;
      case "INT64": return BigInt(rng.int(1e9)) * 1000003n - 7n;
      case "FLOAT": return Math.fround(rng.normal() * 100);
      case "DOUBLE": return rng.normal() * 1e6;
      case "BYTE_ARRAY": return ["a", "bb", "é", "", "x y"][rng.int(5)] + rng.int(3);
    }
  };
  for (let rep = 0; rep < 25; rep++) {
    const n = 1 + rng.int(40);
    const cols: PqColumn[] = Array.from({ length: 1 + rng.int(5) }, (_, j) => {
      const type = types[rng.int(types.length)];
      const optional = rng.next() < 0.5;
      return { name: `c${j}`, type, optional, converted: type === "BYTE_ARRAY" ? CONVERTED.UTF8 : undefined, dictionary: type !== "BOOLEAN" && rng.next() < 0.5, values: Array.from({ length: n }, () => (optional && rng.next() < 0.2 ? null : gen(type))) };
    });
    const groups: number[] = [];
    for (let left = n; left > 0; ) {
      const g = Math.min(left, 1 + rng.int(n));
      groups.push(g);
      left -= g;
    }
    const got = await cells(writeParquet(cols, { groups }), { chunk: 1 + rng.int(64) });
    assert.equal(got.rows, Array.from({ length: n }, (_, i) => cols.map((c) => expectedCell(c.values[i], c.type))), `case ${rep}: groups ${groups}`);
  }
});

test("through readTable and encode: boolean labels, numeric inputs with nulls missing, strings categorical", async () => {
  const bytes = writeParquet([
    { name: "x", type: "DOUBLE", optional: true, values: [1, null, 3, 4] },
    { name: "city", type: "BYTE_ARRAY", converted: CONVERTED.UTF8, optional: false, values: ["Oslo", "Rome", "Oslo", "Rome"], dictionary: true },
    { name: "y", type: "BOOLEAN", optional: true, values: [true, false, null, true] },
  ]);
  const table = await readTable(fromBytes("t.parquet", bytes), { format: "parquet", delimiter: "," });
  const spec = validateSpec({ data: { format: "parquet", path: "t.parquet" }, inputs: { numeric: ["x"], categorical: ["city"] }, tasks: [{ name: "y", type: "binary", label: "y" }] });
  const rows = Uint32Array.from([0, 1, 2, 3]);
  const pre = fitPreprocessing(spec, table, rows);
  assert.is(pre.numeric[0].mean, 8 / 3);
  const enc = encode(spec, pre, table, rows);
  assert.equal(Array.from(enc.tasks[0].labels), [1, 0, NaN, 1]);
  assert.equal(Array.from(enc.tasks[0].mask), [1, 1, 0, 1]);
  assert.equal(Array.from(enc.categorical[0]), [1, 2, 1, 2]);
});

test("an AsyncBuffer (a browser File, ranged fetches): the footer and the row groups are read by slices", async () => {
  const bytes = writeParquet(ALL, { groups: [2, 3] });
  const inner = bytesAsyncBuffer(bytes);
  const slices: [number, number | undefined][] = [];
  const file = { byteLength: bytes.length, slice: async (a: number, b?: number) => (slices.push([a, b]), inner.slice(a, b)) };
  const s = await openParquetBuffer("remote.parquet", file, { columns: ["text", "i32"] });
  const rows: string[][] = [];
  for await (const r of s) rows.push(r.fields);
  assert.equal(rows, ALL[0].values.map((_, i) => [expectedCell(ALL[6].values[i], "BYTE_ARRAY"), expectedCell(ALL[0].values[i], "INT32")]));
  assert.ok(slices.length >= 3, `read in slices: ${JSON.stringify(slices)}`);
});

test("unsupported columns are refused naming the column and its type; the columns option leaves them out", async () => {
  const base: PqColumn = { name: "ok", type: "INT32", optional: false, values: [1, 2] };
  const bad: [PqColumn, string][] = [
    [{ name: "tags", type: "INT32", optional: true, values: [], nestedList: true }, 'column "tags" has type group (LIST)'],
    [{ name: "blob", type: "BYTE_ARRAY", optional: false, values: [new Uint8Array([1, 2]), new Uint8Array([0])] }, 'column "blob" has type BYTE_ARRAY,'],
    [{ name: "day", type: "INT32", converted: CONVERTED.DATE, optional: false, values: [1, 2] }, 'column "day" has type INT32 (DATE)'],
    [{ name: "ts", type: "INT64", converted: CONVERTED.TIMESTAMP_MILLIS, optional: false, values: [1n, 2n] }, 'column "ts" has type INT64 (TIMESTAMP_MILLIS)'],
    [{ name: "js", type: "BYTE_ARRAY", converted: CONVERTED.JSON, optional: false, values: ["{}", "[]"] }, 'column "js" has type BYTE_ARRAY (JSON)'],
  ];
  for (const [col, msg] of bad) {
    const bytes = writeParquet([base, col]);
    await rejects(openParquet(fromBytes("u.parquet", bytes)), `u.parquet: ${msg}`, "leave it out with the reader's columns option");
    assert.equal((await cells(bytes, { columns: ["ok"] })).rows, [["1"], ["2"]], col.name);
  }
  await rejects(openParquet(fromBytes("u.parquet", writeParquet([base])), { columns: ["nope"] }), 'u.parquet: no column "nope"; the file\'s columns (1): "ok"');
});

test("not Parquet, truncated, corrupt or inconsistent files: an Error naming the file, never a bare TypeError", async () => {
  const good = writeParquet(ALL, { groups: [2, 3] });
  const read = async (bytes: Uint8Array) => {
    for await (const _ of await openParquet(fromBytes("bad.parquet", bytes)));
  };
  await rejects(read(new TextEncoder().encode("a,b\n1,2\n")), "bad.parquet: not a Parquet file (8 bytes");
  await rejects(read(new TextEncoder().encode("x".repeat(100))), /^bad\.parquet: not a readable Parquet file \(footer: /);
  await rejects(read(good.subarray(0, good.length - 1)), /^bad\.parquet: not a readable Parquet file \(footer: /);
  await rejects(read(good.subarray(4)), 'bad.parquet: not a readable Parquet file (footer: the file does not start with "PAR1")');
  const longFooter = good.slice();
  new DataView(longFooter.buffer).setUint32(longFooter.length - 8, good.length * 2, true);
  await rejects(read(longFooter), /^bad\.parquet: not a readable Parquet file \(footer: /);
  await rejects(read(writeParquet(ALL, { numRows: 7 })), "bad.parquet: not a readable Parquet file (footer: the row groups hold 5 rows, the file declares 7)");
  await rejects(read(writeParquet(ALL, { codec: 2 })), /^bad\.parquet: not a readable Parquet file \(row group 1 of 1: .*GZIP/);
  // Every single-byte corruption of the data pages and the footer: a table or an Error naming the file.
  const rng = new Rng(8);
  for (let k = 0; k < 300; k++) {
    const b = good.slice();
    b[4 + rng.int(b.length - 12)] ^= 1 << rng.int(8);
    try {
      await read(b);
    } catch (e) {
      assert.is((e as Error).constructor, Error, `${(e as Error).name}: ${(e as Error).message}`);
      assert.ok((e as Error).message.startsWith("bad.parquet: "), (e as Error).message);
    }
  }
  await rejects(readTable(fromBytes("e.parquet", writeParquet([{ name: "x", type: "INT32", optional: false, values: [] }])), { format: "parquet", delimiter: "," }), "e.parquet: no data rows (the file holds 0 rows)");
  await rejects(readTable(fromString("c.csv", "x\n1\n"), { format: "parquet", delimiter: "," }), "c.csv: not a Parquet file");
});

test.run();
