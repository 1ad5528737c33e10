// data.streaming, data side: the streamed Preprocessing equals fitPreprocessing on the same training rows (real census
// and wine files, and a synthetic table with missing cells, rare values, classes and groups); the hash split keeps
// identical rows together and is seed-stable; the shuffle buffer yields a seeded permutation of the training rows per
// epoch; its arrays do not grow with the file.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { validateSpec, type ModelSpec } from "../../src/model/spec.ts";
import { fromBytes, fromString } from "../../src/data/source.ts";
import { readTable } from "../../src/data/load.ts";
import { fitPreprocessing } from "../../src/data/preprocess.ts";
import { streamPreprocessing } from "../../src/data/stream-stats.ts";
import { hashSplit } from "../../src/data/stream-split.ts";
import { streamBatches } from "../../src/data/stream-batches.ts";
import { fileSource } from "../../src/data/node-file.ts";
import { Rng } from "../helpers.ts";

const CENSUS = "/work/shared/data/census-income-kdd/census-income.shared.data.gz";
const WINE = "/work/shared/data/wine-quality/winequality-red.csv";

/** The training rows of `table` under the hash split, computed from the raw cells here. */
async function hashTrain(spec: ModelSpec, bytes: Uint8Array) {
  const table = await readTable(fromBytes("f", bytes), spec.data!);
  const isVal = hashSplit(table.columns, spec.training.validation, spec.training.seed, spec.data?.row_id);
  const cols = table.columns.map((c) => table.stringColumn(c));
  const train: number[] = [], val: number[] = [];
  for (let i = 0; i < table.rowCount; i++) (isVal(cols.map((c) => c[i])) ? val : train).push(i);
  return { table, train, val };
}

/** Float64 two-pass population mean/std of the present values (the reference the streamed stats must equal). */
function refMeanStd(xs: number[]): { mean: number; std: number } {
  const v = xs.filter((x) => x === x);
  let s = 0;
  for (const x of v) s += x;
  const mean = s / v.length;
  let ss = 0;
  for (const x of v) ss += (x - mean) * (x - mean);
  return { mean, std: Math.sqrt(ss / v.length) };
}

function synthCsv(n: number, seed: number): string {
  const rng = new Rng(seed);
  const lines = ["x,y,color,kind,shop,clicked,spend"];
  for (let i = 0; i < n; i++) {
    const x = rng.next() < 0.1 ? "" : (rng.normal() * 3 + 10).toFixed(3);
    const y = (rng.next() * 1e6).toFixed(1);
    const color = ["red", "green", "blue", "rare" + (i % 50)][Math.floor(rng.next() * 4)];
    const kind = ["a", "b", "c", ""][Math.floor(rng.next() * 4)];
    lines.push(`${x},${y},${color},${kind},s${i % 7},${rng.next() < 0.3 ? 1 : 0},${(rng.normal() * 50 + 200).toFixed(2)}`);
  }
  for (let i = 0; i < 40; i++) lines.push("1.5,2,red,a,s1,1,100"); // identical rows
  return lines.join("\n") + "\n";
}

const synthSpec = (over: Record<string, unknown> = {}) =>
  validateSpec({
    data: { format: "csv", streaming: true },
    inputs: { numeric: ["x", "y"], categorical: [{ column: "color", min_count: 3 }] },
    tasks: [
      { name: "kind", type: "multiclass", label: "kind" },
      { name: "clicked", type: "binary", label: "clicked", group_by: "shop" },
      { name: "spend", type: "regression", label: "spend" },
    ],
    training: { seed: 3, validation: 0.25, ...over },
  });

test("streamed preprocessing equals fitPreprocessing on the hash split's training rows (synthetic, tiny chunks)", async () => {
  const spec = synthSpec();
  const text = synthCsv(900, 1);
  const bytes = new TextEncoder().encode(text);
  const st = await streamPreprocessing(spec, () => fromString("f", text, 37), 13);
  const { table, train, val } = await hashTrain(spec, bytes);
  assert.equal(st.trainRows, train.length);
  assert.equal(st.validation.rowCount, val.length);
  assert.equal(st.pre, fitPreprocessing(spec, table, train));
  // And against an independent float64 reference for one column.
  const xs = train.map((i) => (table.stringColumn("x")[i] === "" ? NaN : +table.stringColumn("x")[i]));
  const ref = refMeanStd(xs);
  assert.ok(Math.abs(st.pre.numeric[0].mean - ref.mean) <= 1e-12 * Math.abs(ref.mean), `mean ${st.pre.numeric[0].mean} vs ${ref.mean}`);
  assert.ok(Math.abs(st.pre.numeric[0].std - ref.std) <= 1e-12 * ref.std, `std ${st.pre.numeric[0].std} vs ${ref.std}`);
  assert.ok(st.pre.categorical[0].vocab.includes("red") && !st.pre.categorical[0].vocab.includes("rare1"), "min_count applied");
  // Encodings that stream: x periodic with a missing indicator (x has missing cells), y standardized with one (it has none).
  const enc = validateSpec({ ...synthSpec(), inputs: { numeric: [{ column: "x", encoding: "periodic", frequencies: 4, missing_indicator: true }, { column: "y", missing_indicator: true }], categorical: [{ column: "color", min_count: 3 }] } });
  const se = await streamPreprocessing(enc, () => fromString("f", text, 37), 13);
  assert.equal(se.pre, fitPreprocessing(enc, table, train));
  assert.equal(se.pre.numeric.map((n) => [n.encoding ?? "standardize", !!n.indicator]), [["periodic", true], ["standardize", false]]);
});

test("streamed preprocessing equals fitPreprocessing on real files (census gz, wine ;-separated)", async () => {
  // The shipped config as it is (periodic encodings of its numeric columns).
  const shipped = JSON.parse(readFileSync("models/census-mmoe.json", "utf8"));
  const census = validateSpec({ ...shipped, data: { format: "census", streaming: true } });
  const wine = validateSpec({
    data: { format: "csv", delimiter: ";", streaming: true },
    inputs: { numeric: ["fixed acidity", "volatile acidity", "citric acid", "residual sugar", "chlorides", "density", "pH", "sulphates", "alcohol"] },
    tasks: [{ name: "quality", type: "regression", label: "quality" }, { name: "sulfur", type: "regression", label: "total sulfur dioxide" }],
    training: { seed: 11 },
  });
  for (const [spec, path] of [[census, CENSUS], [wine, WINE]] as const) {
    const st = await streamPreprocessing(spec, () => fileSource(path));
    const { table, train } = await hashTrain(spec, readFileSync(path));
    assert.equal(st.trainRows, train.length, path);
    assert.equal(st.pre, fitPreprocessing(spec, table, train), path);
  }
});

test("hash split: identical rows on one side, seed-stable, about the fraction, row_id left out", () => {
  const cols = ["id", "a", "b"];
  const split = hashSplit(cols, 0.2, 5, "id"), again = hashSplit(cols, 0.2, 5, "id"), other = hashSplit(cols, 0.2, 6, "id");
  let val = 0, differs = 0;
  const N = 20000;
  for (let i = 0; i < N; i++) {
    const row = [String(i), String(i % 5000), "x" + (i % 3)];
    const v = split(row);
    val += +v;
    assert.is(again(row), v);
    assert.is(split([String(i + 99999), row[1], row[2]]), v, "rows differing only in row_id go together");
    if (other(row) !== v) differs++;
  }
  // 15000 distinct rows (duplicated by id) → a validation share near 0.2 (binomial sd ≈ 0.004 per distinct row).
  assert.ok(Math.abs(val / N - 0.2) < 0.02, `validation share ${val / N}`);
  assert.ok(differs > N * 0.2, `another seed gives another split (${differs} rows moved)`);
  assert.throws(() => hashSplit(cols, 0.2, 5, "nope", "f.csv"), /f\.csv: data\.row_id names column "nope"/);
});

async function epochIds(src: ReturnType<typeof streamBatches>, epoch: number, batch: number, col = 0): Promise<number[]> {
  const ids: number[] = [];
  for await (const b of src.epoch(epoch, batch) as AsyncIterable<{ data: { categorical: Int32Array[] }; order: ArrayLike<number>; start: number; count: number }>) {
    assert.ok(b.count >= 1 && b.count <= batch);
    for (let r = 0; r < b.count; r++) ids.push(b.data.categorical[col][b.order[b.start + r]]);
  }
  return ids;
}

function idCsv(n: number): string {
  return "id,v,y\n" + Array.from({ length: n }, (_, i) => `r${String(i).padStart(5, "0")},${i % 13},${i % 2}`).join("\n") + "\n";
}

const idSpec = (seed: number) =>
  validateSpec({ data: { format: "csv", streaming: true }, inputs: { numeric: ["v"], categorical: ["id"] }, tasks: [{ name: "y", type: "binary", label: "y" }], training: { seed, validation: 0.1 } });

test("shuffle buffer: each epoch is a seeded permutation of the training rows", async () => {
  const text = idCsv(537);
  const spec = idSpec(2);
  const reopen = () => fromString("ids.csv", text, 100);
  const st = await streamPreprocessing(spec, reopen, 50);
  const src = () => streamBatches(spec, st.pre, reopen, st.trainRows, { bufferRows: 64, chunkRows: 50 });
  const s1 = src();
  const e0 = await epochIds(s1, 0, 32), e1 = await epochIds(s1, 1, 32);
  const expected = Array.from({ length: st.trainRows }, (_, i) => i + 1); // every training id once (vocab index 1..n)
  assert.equal([...e0].sort((a, b) => a - b), expected);
  assert.equal([...e1].sort((a, b) => a - b), expected);
  assert.not.equal(e0, e1, "epochs are shuffled differently");
  assert.not.equal(e0, expected, "not file order"); // ids are zero-padded: vocabulary order is file order
  // A buffer larger than the file: the whole epoch leaves through the final Fisher–Yates drain.
  const whole = await epochIds(streamBatches(spec, st.pre, reopen, st.trainRows, { bufferRows: 1000 }), 0, 32);
  assert.equal([...whole].sort((a, b) => a - b), expected);
  assert.not.equal(whole, expected, "the drain is shuffled too");
  // Seeded: a fresh source repeats them, and asked for epoch 1 first (a resumed run) gives epoch 1's order.
  assert.equal(await epochIds(src(), 1, 32), e1);
  assert.equal(await epochIds(src(), 0, 32), e0);
  const other = idSpec(9);
  const s9 = streamBatches(other, st.pre, reopen, st.trainRows, { bufferRows: 64, chunkRows: 50 });
  const hash = hashSplit(["id", "v", "y"], 0.1, 9);
  const n9 = text.trim().split("\n").slice(1).filter((l) => !hash(l.split(","))).length;
  if (n9 === st.trainRows) assert.not.equal(await epochIds(s9, 0, 32), e0, "another seed shuffles differently");
});

test("shuffle buffer: a file that changed between passes is an error naming it", async () => {
  const spec = idSpec(2);
  const st = await streamPreprocessing(spec, () => fromString("ids.csv", idCsv(200)));
  const src = streamBatches(spec, st.pre, () => fromString("ids.csv", idCsv(150)), st.trainRows, { bufferRows: 16 });
  try {
    await epochIds(src, 0, 8);
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /ids\.csv: epoch 1 read \d+ training rows where the statistics pass read \d+; the file changed between passes/);
  }
});

test("the streamed arrays do not grow with the file", async () => {
  const spec = idSpec(4);
  const bytesFor = async (n: number) => {
    const reopen = () => fromString("ids.csv", idCsv(n));
    const st = await streamPreprocessing(spec, reopen);
    const s = streamBatches(spec, st.pre, reopen, st.trainRows, { bufferRows: 256 });
    await epochIds(s, 0, 64);
    return s.bytes();
  };
  const small = await bytesFor(2000), large = await bytesFor(8000);
  assert.ok(small > 0);
  assert.is(large, small);
  // Packed rows of 16 bytes (1 numeric f32 + 1 categorical i32 + label f32 + mask f32): the buffer (256), the arriving
  // chunk (4096), the rows drawn for the batch (64) and the batch itself (64); then the slot and order indices.
  assert.is(small, (256 + 4096 + 64 + 64) * 16 + (256 + 64) * 4);
});

test("streaming refuses what it cannot learn in passes, by name", async () => {
  const spec = validateSpec({ data: { format: "csv", streaming: true }, inputs: { tokens: { column: "id", max_length: 4, dim: 4 } }, tasks: [{ name: "y", type: "binary", label: "y" }] });
  await streamPreprocessing(spec, () => fromString("ids.csv", idCsv(20))).then(
    () => assert.unreachable(),
    (e) => assert.match((e as Error).message, /data\.streaming: inputs\.tokens is not supported when streaming/),
  );
  const q = validateSpec({ data: { format: "csv", streaming: true }, inputs: { numeric: ["v", { column: "w", encoding: "ple" }] }, tasks: [{ name: "y", type: "binary", label: "y" }] });
  await streamPreprocessing(q, () => fromString("v.csv", "v,w,y\n1,2,0\n")).then(
    () => assert.unreachable(),
    (e) => assert.match((e as Error).message, /^data\.streaming: inputs\.numeric_encodings \(w: ple\) is not supported when streaming \(its quantiles need the whole sorted column; standardize and periodic columns, with missing indicators, stream\)/),
  );
  assert.throws(() => validateSpec({ data: { format: "csv", shuffle_buffer: 10 }, inputs: { numeric: ["v"] }, tasks: [{ name: "y", type: "binary", label: "y" }] }), /data\.shuffle_buffer/);
});

test.run();
