import { test } from "uvu";
import * as assert from "uvu/assert";
import { deserialize, readHeader, serialize, type Tensor } from "../../src/io/safetensors.ts";
import { throwsWith } from "../helpers.ts";

/** Independent header parse: u64 LE length + JSON, as the format spec describes it. */
function parseByHand(bytes: Uint8Array): { n: number; header: Record<string, any>; headerText: string } {
  let n = 0;
  for (let i = 7; i >= 0; i--) n = n * 256 + bytes[i];
  const headerText = Buffer.from(bytes.subarray(8, 8 + n)).toString("utf8");
  return { n, header: JSON.parse(headerText), headerText };
}

const sample = (): Record<string, Tensor> => ({
  "w.weight": { dtype: "F32", shape: [2, 3], data: new Float32Array([1, -2, 3.5, 0, 1e-8, -0]) },
  bias: { dtype: "F64", shape: [3], data: new Float64Array([Math.PI, -1, 1e300]) },
  step: { dtype: "I32", shape: [], data: new Int32Array([42]) },
  empty: { dtype: "F32", shape: [0, 4], data: new Float32Array(0) },
  counts: { dtype: "I64", shape: [2], data: new BigInt64Array([-5n, 1n << 40n]) },
  mask: { dtype: "BOOL", shape: [3], data: new Uint8Array([1, 0, 1]) },
  half: { dtype: "F16", shape: [1, 1, 2], data: new Uint16Array([0x3c00, 0xc000]) },
  tiny: { dtype: "I8", shape: [1], data: new Int8Array([-7]) },
});

test("round trip: several dtypes and shapes, scalar, empty tensor, metadata; copies", () => {
  const t = sample();
  const bytes = serialize(t, { format: "pt", note: "héllo" });
  const back = deserialize(bytes);
  assert.equal(back.metadata, { format: "pt", note: "héllo" });
  assert.equal(Object.keys(back.tensors).sort(), Object.keys(t).sort());
  for (const [name, x] of Object.entries(t)) {
    const y = back.tensors[name];
    assert.is(y.dtype, x.dtype, name);
    assert.equal(y.shape, x.shape, name);
    assert.is(y.data.constructor, x.data.constructor, name);
    assert.equal(Array.from(y.data as ArrayLike<number | bigint>), Array.from(x.data as ArrayLike<number | bigint>), name);
  }
  assert.ok(Object.is(back.tensors["w.weight"].data[5], -0), "bit-exact (-0 kept)");
  // Copies: changing the input bytes does not change the tensors.
  bytes.fill(0, bytes.length - 40);
  assert.is(back.tensors.bias.data[0], Math.PI);
  assert.is(deserialize(serialize({})).metadata, undefined);
  assert.equal(deserialize(serialize({})).tensors, {});
});

test("format checked by hand: u64 length, padding to 8, offsets tiling the buffer, raw little-endian data", () => {
  const t = sample();
  const bytes = serialize(t, { a: "b" });
  const { n, header, headerText } = parseByHand(bytes);
  assert.is((8 + n) % 8, 0, "header padded to a multiple of 8");
  assert.ok(/^\{.*\} *$/.test(headerText), "JSON then spaces");
  assert.equal(header.__metadata__, { a: "b" });
  const dataLen = bytes.length - 8 - n;
  const entries = Object.entries(header).filter(([k]) => k !== "__metadata__") as [string, any][];
  assert.is(entries.length, 8);
  const sizes: Record<string, number> = { F64: 8, F32: 4, I32: 4, I64: 8, BOOL: 1, F16: 2, I8: 1 };
  let end = 0;
  for (const [name, e] of entries.sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0])) {
    const [b, en] = e.data_offsets;
    assert.is(b, end, `${name} starts where the previous ended`);
    assert.is(en - b, sizes[e.dtype] * e.shape.reduce((a: number, d: number) => a * d, 1), name);
    assert.is((8 + n + b) % sizes[e.dtype], 0, `${name} aligned to its element size`);
    end = en;
  }
  assert.is(end, dataLen);
  // Raw data of one tensor read with a DataView (little-endian).
  const w = header["w.weight"];
  const dv = new DataView(bytes.buffer, bytes.byteOffset + 8 + n + w.data_offsets[0]);
  assert.equal([0, 1, 2].map((i) => dv.getFloat32(4 * i, true)), [1, -2, 3.5]);
  assert.equal(header.step, { dtype: "I32", shape: [], data_offsets: header.step.data_offsets });
  // Documented order: larger element size first, then name.
  assert.equal(entries.map(([k]) => k), ["bias", "counts", "empty", "step", "w.weight", "half", "mask", "tiny"]);
  assert.equal(readHeader(bytes).dataStart, 8 + n);
});

/** Build a file from a header object and a data buffer (for corrupt-input tests). */
function craft(header: unknown, data: Uint8Array, opts: { lengthOverride?: bigint; raw?: string } = {}): Uint8Array {
  const json = new TextEncoder().encode(opts.raw ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, opts.lengthOverride ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

test("corrupt inputs: messages name the problem and the tensor", () => {
  const good = serialize(sample());
  throwsWith(() => deserialize(good.subarray(0, 5)), "5 bytes", "too short");
  throwsWith(() => deserialize(good.subarray(0, 40)), "header length", "beyond the end of the file");
  throwsWith(() => deserialize(good.subarray(0, good.length - 3)), "data_offsets", "beyond the data buffer");
  throwsWith(() => deserialize(craft(null, new Uint8Array(0), { lengthOverride: 1n << 62n })), "header length", "beyond");
  throwsWith(() => deserialize(craft(null, new Uint8Array(8), { raw: '{"a": ' })), "not valid JSON");
  throwsWith(() => deserialize(craft(null, new Uint8Array(8), { raw: "[1, 2]   " })), 'does not start with "{"');
  const d8 = new Uint8Array(8);
  throwsWith(() => deserialize(craft({ a: { dtype: "F32", shape: [2], data_offsets: [0, 12] } }, d8)), 'tensor "a"', "beyond the data buffer of 8");
  throwsWith(() => deserialize(craft({ a: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, d8)), 'tensor "a"', "shape [3]", "needs 12 bytes", "hold 8");
  throwsWith(() => deserialize(craft({ a: { dtype: "F32", shape: [1], data_offsets: [8, 4] } }, d8)), 'tensor "a"', "reversed");
  throwsWith(
    () => deserialize(craft({ a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, b: { dtype: "F32", shape: [1], data_offsets: [4, 8] } }, d8)),
    'tensor "b"', "overlap", 'tensor "a"',
  );
  throwsWith(() => deserialize(craft({ a: { dtype: "F32", shape: [1], data_offsets: [4, 8] } }, d8)), 'tensor "a"', "gap of 4 bytes");
  throwsWith(() => deserialize(craft({ a: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }, d8)), "cover 4 bytes", "has 8");
  throwsWith(() => deserialize(craft({ a: { dtype: "Q4", shape: [1], data_offsets: [0, 8] } }, d8)), 'tensor "a"', "unknown dtype");
  throwsWith(() => deserialize(craft({ a: { dtype: "F32", shape: [-2], data_offsets: [0, 8] } }, d8)), 'tensor "a"', "invalid dimension");
  throwsWith(() => deserialize(craft({ __metadata__: { k: 1 } }, new Uint8Array(0))), "__metadata__", "not a string");
});

test("serialize validates its input", () => {
  throwsWith(() => serialize({ x: { dtype: "F32", shape: [3], data: new Float32Array(2) } }), 'tensor "x"', "3 elements", "data has 2");
  throwsWith(() => serialize({ x: { dtype: "F32", shape: [2], data: new Int32Array(2) } }), 'tensor "x"', "Float32Array", "Int32Array");
  throwsWith(() => serialize({ __metadata__: { dtype: "U8", shape: [0], data: new Uint8Array(0) } }), "reserved");
});

test("Node Buffer input (pooled, non-zero byteOffset) deserializes to the right bytes", () => {
  const bytes = serialize({ a: { dtype: "F32", shape: [3], data: new Float32Array([1, 2, 3]) }, b: { dtype: "I16", shape: [2], data: new Int16Array([-1, 7]) } });
  const pad = Buffer.alloc(13, 0xee);
  const buf = Buffer.concat([pad, Buffer.from(bytes)]).subarray(13); // a view with byteOffset 13 into a larger buffer
  assert.ok(buf.byteOffset > 0 || buf.buffer.byteLength > buf.length);
  const back = deserialize(buf);
  assert.equal([...(back.tensors.a.data as Float32Array)], [1, 2, 3]);
  assert.equal([...(back.tensors.b.data as Int16Array)], [-1, 7]);
  assert.is(back.tensors.a.data.buffer.byteLength, 12, "own buffer, not the pool");
});

test("readers elsewhere accept other valid layouts (header keys in any order, padding optional)", () => {
  // Hand-made file: b first in the header but second in the buffer; header not padded.
  const data = new Uint8Array(new Float32Array([1.5, 2.5, 3.5]).buffer);
  const f = craft({ b: { dtype: "F32", shape: [1], data_offsets: [8, 12] }, a: { dtype: "F32", shape: [2], data_offsets: [0, 8] } }, data);
  const back = deserialize(f);
  assert.equal([...back.tensors.a.data as Float32Array], [1.5, 2.5]);
  assert.equal([...back.tensors.b.data as Float32Array], [3.5]);
  // A header byte offset that is not aligned still yields correctly typed copies.
  assert.ok(back.tensors.a.data instanceof Float32Array);
});

test.run();
