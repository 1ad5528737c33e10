// The IDX reader and writer: round trips for every element type (plain and gzip, any chunking), the streaming item
// reader, every named error (bad magic, unknown type, rank, truncated header, truncated payload, extra bytes,
// oversized dims) with the file and byte offset in its message, and the official MNIST test files.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import { encodeIdx, encodeIdxImages, encodeIdxLabels, IdxError, openIdx, readIdx, type IdxArray, type IdxType } from "../../src/data/idx.ts";
import { fromBytes } from "../../src/data/source.ts";
import { fileSource } from "../../src/data/node-file.ts";
import { needFile } from "../skip.ts";
import { readIdxTable } from "../../src/data/load.ts";
import { encode, fitPreprocessing } from "../../src/data/preprocess.ts";
import { validateSpec } from "../../src/model/spec.ts";
import { fromString } from "../../src/data/source.ts";

const MNIST = fileURLToPath(new URL("../../../shared/data/mnist/", import.meta.url));
const gz = (b: Uint8Array) => new Uint8Array(gzipSync(b));

const samples: IdxArray[] = [
  { dims: [3, 2, 2], type: "uint8", data: Uint8Array.from([0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255]) },
  { dims: [4], type: "int8", data: Int8Array.from([-128, -1, 0, 127]) },
  { dims: [2, 3], type: "int16", data: Int16Array.from([-32768, -2, 0, 1, 258, 32767]) },
  { dims: [3], type: "int32", data: Int32Array.from([-(2 ** 31), 16909060, 2 ** 31 - 1]) },
  { dims: [1, 4], type: "float32", data: Float32Array.from([-0, 1.5, Math.fround(1e-40), Infinity]) },
  { dims: [2, 1, 1], type: "float64", data: Float64Array.from([Math.PI, -1e308]) },
  { dims: [0, 28, 28], type: "uint8", data: new Uint8Array(0) },
];

test("encodeIdx: the header is the magic, the type code, the rank and big-endian dims", () => {
  const b = encodeIdxImages(new Uint8Array(2 * 3 * 4).fill(7), 2, 3, 4);
  assert.equal(Array.from(b.subarray(0, 16)), [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4]);
  assert.is(b.length, 16 + 24);
  const l = encodeIdxLabels(Uint8Array.from([1, 2, 3]));
  assert.equal(Array.from(l), [0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3]);
  const i16 = encodeIdx({ dims: [1], type: "int16", data: Int16Array.from([258]) });
  assert.equal(Array.from(i16), [0, 0, 0x0b, 1, 0, 0, 0, 1, 1, 2]); // big-endian element
});

test("write → read round trip for every element type, plain and gzip, in any chunking", async () => {
  for (const s of samples) {
    const plain = encodeIdx(s);
    for (const bytes of [plain, gz(plain)]) {
      for (const chunk of [1, 3, 7, 1 << 16]) {
        const r = await readIdx(fromBytes(`s.${s.type}`, bytes, chunk));
        assert.equal(r.dims, s.dims);
        assert.is(r.type, s.type);
        assert.is(r.data.constructor, s.data.constructor);
        assert.equal(Array.from(r.data), Array.from(s.data), `${s.type} chunk ${chunk}`);
      }
    }
  }
});

test("openIdx streams items along the first dimension (decoded, one fresh array each)", async () => {
  const s = samples[2];
  const st = await openIdx(fromBytes("s", gz(encodeIdx(s)), 2));
  assert.equal(st.header.dims, [2, 3]);
  assert.is(st.header.itemSize, 3);
  assert.is(st.header.headerBytes, 12);
  assert.ok(st.header.gzip);
  const items: number[][] = [];
  for await (const it of st.items()) items.push(Array.from(it));
  assert.equal(items, [[-32768, -2, 0], [1, 258, 32767]]);
  assert.throws(() => st.chunks(), /only once/);
});

test("encodeIdx refuses data that does not match the dims or the type", () => {
  assert.throws(() => encodeIdx({ dims: [2, 2], type: "uint8", data: new Uint8Array(3) }), /hold 4 elements but the data has 3/);
  assert.throws(() => encodeIdx({ dims: [2], type: "float32", data: new Uint8Array(2) }), /needs its data as a Float32Array/);
  assert.throws(() => encodeIdx({ dims: [], type: "uint8", data: new Uint8Array(1) }), /1 to 255 dimensions/);
  assert.throws(() => encodeIdx({ dims: [2 ** 32], type: "uint8", data: new Uint8Array(0) }), /not an integer in \[0, 2\^32\)/);
});

/** The IdxError of reading `bytes` as file `name`: asserts the class, the offset and that the message names both. */
async function idxError(name: string, bytes: Uint8Array, opts = {}): Promise<IdxError> {
  try {
    await readIdx(fromBytes(name, bytes, 5), opts);
  } catch (e) {
    assert.instance(e, IdxError);
    const err = e as IdxError;
    assert.is(err.name, "IdxError");
    assert.ok(err.message.startsWith(`${name}: byte ${err.offset}`), err.message);
    assert.ok(err.message.includes("expected"), err.message);
    return err;
  }
  assert.unreachable(`${name}: read without an error`);
  throw new Error("unreachable");
}

test("named errors: bad magic, unknown type, rank 0, truncated magic and header (file and byte offset in the message)", async () => {
  const good = encodeIdx(samples[0]);
  let e = await idxError("bad.idx", Uint8Array.from([1, 0, 8, 1, 0, 0, 0, 0]));
  assert.is(e.offset, 0);
  assert.match(e.message, /bad\.idx: byte 0: bad magic 0x01 0x00: not an IDX file; expected 00 00/);
  e = await idxError("type.idx", Uint8Array.from([0, 0, 0x0a, 1, 0, 0, 0, 0]));
  assert.is(e.offset, 2);
  assert.match(e.message, /unknown element type 0x0a; expected one of 0x08 uint8/);
  e = await idxError("rank0.idx", Uint8Array.from([0, 0, 8, 0]));
  assert.is(e.offset, 3);
  e = await idxError("short.idx", Uint8Array.from([0, 0]));
  assert.is(e.offset, 2);
  assert.match(e.message, /inside the 4-byte magic number/);
  e = await idxError("hdr.idx", good.subarray(0, 9));
  assert.is(e.offset, 9);
  assert.match(e.message, /file ends inside the header \(9 of 16 bytes\)/);
  e = await idxError("empty.idx", new Uint8Array(0));
  assert.is(e.offset, 0);
});

test("named errors: truncated payload and extra bytes give the offset and dims × size ≠ payload; gzip offsets count unpacked bytes", async () => {
  const good = encodeIdx(samples[0]); // 16-byte header + 12 payload bytes
  let e = await idxError("trunc.idx", good.subarray(0, good.length - 5));
  assert.is(e.offset, 23);
  assert.match(e.message, /trunc\.idx: byte 23: truncated: the file ends after 7 of 12 payload bytes; expected dimensions \[3, 2, 2\] × 1 byte\(s\) = 12 payload bytes after the 16-byte header/);
  e = await idxError("extra.idx", Uint8Array.from([...good, 9, 9, 9]));
  assert.is(e.offset, 28);
  assert.match(e.message, /3 extra byte\(s\) after the payload; expected the file to end there/);
  e = await idxError("trunc.idx.gz", gz(good.subarray(0, 20)));
  assert.is(e.offset, 20);
  assert.match(e.message, /trunc\.idx\.gz: byte 20 of the unpacked data: truncated/);
  // A float64 file whose dims promise more elements than there are bytes for.
  const f = encodeIdx(samples[5]);
  e = await idxError("f64.idx", f.subarray(0, f.length - 1));
  assert.is(e.offset, f.length - 1);
  assert.match(e.message, /× 8 byte\(s\) = 16 payload bytes/);
});

test("named errors: oversized dims are refused before allocation; expected type and rank are checked", async () => {
  const huge = Uint8Array.from([0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0, 0, 1, 0, 0, 0, 1, 0, 1, 2, 3]);
  const e = await idxError("huge.idx", huge);
  assert.is(e.offset, 4);
  assert.match(e.message, /announce \d+ payload bytes, over the limit of 2147483647/);
  const small = await idxError("small.idx", encodeIdx(samples[0]), { maxBytes: 11 });
  assert.match(small.message, /over the limit of 11/);
  const labels = encodeIdxLabels(Uint8Array.from([1, 2]));
  assert.match((await idxError("labels.idx", labels, { rank: 3 })).message, /byte 3: rank 1; expected rank 3 \(IDX3\)/);
  assert.match((await idxError("labels.idx", labels, { type: "float32" })).message, /byte 2: element type 0x08 \(uint8\); expected 0x0d \(float32\)/);
  // A corrupt gzip stream is named by the source (source.ts), not a bare error.
  const z = gz(encodeIdx(samples[0]));
  try {
    await readIdx(fromBytes("bad.gz", z.subarray(0, z.length - 6)));
    assert.unreachable();
  } catch (err) {
    assert.match((err as Error).message, /bad\.gz: /);
  }
});

test("MNIST test files in ../shared/data/mnist: 10,000 × 28 × 28 uint8, labels 0–9 with the README's counts and mean pixel", async () => {
  const img = MNIST + "t10k-images-idx3-ubyte.gz", lab = MNIST + "t10k-labels-idx1-ubyte.gz";
  if (!needFile(img, "MNIST IDX test images") || !needFile(lab, "MNIST IDX test labels")) return;
  const types: IdxType = "uint8";
  const im = await readIdx(fileSource(img), { type: types, rank: 3 });
  assert.equal(im.dims, [10000, 28, 28]);
  let s = 0;
  for (const v of im.data) s += v;
  assert.is((s / im.data.length).toFixed(2), "33.79");
  const lb = await readIdx(fileSource(lab), { type: "uint8", rank: 1 });
  const counts = new Array(10).fill(0);
  for (const v of lb.data) counts[v]++;
  assert.equal(counts, [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
});

test("readIdxTable: uint8 pixels become float32 p/255 per row beside the label columns; select and encode keep each row's pixels", async () => {
  const px = Uint8Array.from({ length: 3 * 2 * 2 }, (_, i) => [0, 1, 128, 254, 255, 7][i % 6]);
  const images = fromBytes("im-images-idx3-ubyte.gz", gz(encodeIdxImages(px, 3, 2, 2)), 4);
  const t = await readIdxTable(images, fromString("im-labels.csv", "a,b\n1,x\n0,y\n1,z\n"));
  assert.is(t.rowCount, 3);
  assert.equal(t.columns, ["a", "b"]);
  assert.is(t.tensor!.width, 4);
  assert.is(t.tensor!.source, "im-images-idx3-ubyte.gz");
  assert.equal(Array.from(t.tensor!.data), Array.from(px, (p) => Math.fround(p / 255)));
  assert.is(t.tensor!.data[4], 1);
  const sel = t.select([2, 0]);
  assert.equal(Array.from(sel.tensor!.data), [...Array.from(t.tensor!.data.subarray(8, 12)), ...Array.from(t.tensor!.data.subarray(0, 4))]);
  const spec = validateSpec({ data: { format: "idx", images: "i", labels: "l" }, inputs: { tensor: 4 }, tasks: [{ name: "a", type: "binary", label: "a" }] });
  const pre = fitPreprocessing(spec, t, [0, 1, 2]);
  const enc = encode(spec, pre, t, [1, 2]);
  assert.equal(Array.from(enc.tensor), Array.from(t.tensor!.data.subarray(4, 12)));
  assert.equal(Array.from(enc.tasks[0].labels), [0, 1]);
  // No labels file: N rows, no columns (prediction).
  const bare = await readIdxTable(fromBytes("im", encodeIdxImages(px, 3, 2, 2)), null);
  assert.is(bare.rowCount, 3);
  assert.equal(bare.columns, []);
  await readIdxTable(fromBytes("im", encodeIdxImages(px, 3, 2, 2)), fromString("few.csv", "a\n1\n")).then(
    () => assert.unreachable(),
    (e) => assert.match(String(e), /few\.csv: 1 label rows for the 3 images of im; expected one row per image/),
  );
  await readIdxTable(fromBytes("lab", encodeIdxLabels(Uint8Array.from([1]))), null).then(
    () => assert.unreachable(),
    (e) => assert.match(String(e), /lab: IDX rank 1 .*expected images \[N, rows, columns\]/),
  );
});

test.run();
