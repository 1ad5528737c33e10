// Protobuf wire format, checked against byte sequences worked out by hand from the encoding spec
// (https://protobuf.dev/programming-guides/encoding/), not against our own encoder.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { encodeVarint, OnnxDecodeError, Reader, WireType, Writer } from "../../src/onnx/proto.ts";

const bytes = (...b: number[]) => new Uint8Array(b);
const ff = (n: number) => Array<number>(n).fill(0xff);

function throwsWith(fn: () => unknown, re: RegExp): void {
  try {
    fn();
  } catch (e) {
    assert.instance(e, OnnxDecodeError);
    assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable(`expected an error matching ${re}`);
}

// [value, bytes]: unsigned / non-negative values
const VARINTS: [number | bigint, number[]][] = [
  [0, [0x00]],
  [1, [0x01]],
  [127, [0x7f]],
  [128, [0x80, 0x01]],
  [150, [0x96, 0x01]], // the spec's first example
  [300, [0xac, 0x02]],
  [16384, [0x80, 0x80, 0x01]],
  [2 ** 28 - 1, [0xff, 0xff, 0xff, 0x7f]],
  [2 ** 28, [0x80, 0x80, 0x80, 0x80, 0x01]],
  [2 ** 31, [0x80, 0x80, 0x80, 0x80, 0x08]],
  [2 ** 32 - 1, [0xff, 0xff, 0xff, 0xff, 0x0f]],
  [2 ** 32, [0x80, 0x80, 0x80, 0x80, 0x10]],
  [2 ** 35, [0x80, 0x80, 0x80, 0x80, 0x80, 0x01]],
  [Number.MAX_SAFE_INTEGER, [...ff(7), 0x0f]], // 2^53 - 1: 7 full groups + 4 bits
  [2n ** 53n, [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10]],
  [2n ** 63n - 1n, [...ff(8), 0x7f]], // INT64_MAX
];

// negative int64: two's complement, always 10 bytes
const NEGATIVE: [number | bigint, number[]][] = [
  [-1, [...ff(9), 0x01]],
  [-2, [0xfe, ...ff(8), 0x01]],
  [-128, [0x80, ...ff(8), 0x01]],
  [-(2 ** 31), [0x80, 0x80, 0x80, 0x80, 0xf8, ...ff(4), 0x01]],
  [-(2n ** 63n), [...Array<number>(9).fill(0x80), 0x01]], // INT64_MIN
];

test("varint: encodes the spec's byte sequences", () => {
  for (const [v, b] of [...VARINTS, ...NEGATIVE]) assert.equal([...encodeVarint(v)], b, `varint ${v}`);
  // number and bigint inputs agree
  for (const [v] of [...VARINTS, ...NEGATIVE]) if (typeof v === "number") assert.equal(encodeVarint(v), encodeVarint(BigInt(v)));
});

test("varint: decodes the spec's byte sequences (number and bigint readers)", () => {
  for (const [v, b] of VARINTS) {
    const big = BigInt(v);
    assert.is(new Reader(bytes(...b)).uint64Big(), big, `uint64Big ${v}`);
    assert.is(new Reader(bytes(...b)).int64Big(), BigInt.asIntN(64, big), `int64Big ${v}`);
    if (big <= BigInt(Number.MAX_SAFE_INTEGER)) {
      assert.is(new Reader(bytes(...b)).uint53(), Number(v), `uint53 ${v}`);
      assert.is(new Reader(bytes(...b)).int64(), Number(v), `int64 ${v}`);
    }
    const r = new Reader(bytes(...b, 0x2a));
    r.int64Big();
    assert.is(r.pos, b.length, `consumed exactly the varint ${v}`);
  }
  for (const [v, b] of NEGATIVE) {
    assert.is(new Reader(bytes(...b)).int64Big(), BigInt(v), `int64Big ${v}`);
    assert.is(new Reader(bytes(...b)).int64(), Number(v), `int64 ${v}`);
  }
  // int64 beyond 2^53 as a number: nearest double, no exception
  assert.is(new Reader(bytes(...ff(8), 0x7f)).int64(), 2 ** 63);
  // int32 semantics: the low 32 bits, signed
  assert.is(new Reader(bytes(...ff(9), 0x01)).int32(), -1);
  assert.is(new Reader(bytes(0x80, 0x80, 0x80, 0x80, 0x08)).int32(), -(2 ** 31));
});

test("varint: uint64 bigint round trip incl. 2^64 - 1", () => {
  const b = encodeVarint(2n ** 64n - 1n);
  assert.equal([...b], [...ff(9), 0x01]);
  assert.is(new Reader(b).uint64Big(), 2n ** 64n - 1n);
  assert.throws(() => encodeVarint(2n ** 64n), /64 bits/);
  assert.throws(() => encodeVarint(1.5), /safe integer/);
  assert.throws(() => encodeVarint(2 ** 53), /safe integer/);
});

test("varint: truncated, overlong and too-large inputs are errors with positions", () => {
  throwsWith(() => new Reader(bytes(0x80)).uint53(), /^ONNX: truncated varint at byte 0/);
  const r = new Reader(bytes(0x01, 0xff, 0xff));
  assert.is(r.uint53(), 1);
  throwsWith(() => r.uint53(), /^ONNX: truncated varint at byte 1/);
  throwsWith(() => new Reader(bytes(...ff(10), 0x01)).int64Big(), /^ONNX: malformed varint at byte 0: more than 10 bytes/);
  throwsWith(() => new Reader(bytes(...ff(8), 0x7f)).uint53(), /varint at byte 0 is too large \(9223372036854775807\)/);
  throwsWith(() => new Reader(bytes()).int32(), /truncated varint at byte 0/);
});

test("fields: the spec's examples (tag, string, packed repeated, fixed32)", () => {
  // message { int32 a = 1; } with a = 150 → 08 96 01
  assert.equal([...new Writer().int64Field(1, 150).finish()], [0x08, 0x96, 0x01]);
  // message { string b = 2; } with b = "testing" → 12 07 74 65 73 74 69 6e 67
  assert.equal([...new Writer().stringField(2, "testing").finish()], [0x12, 0x07, 0x74, 0x65, 0x73, 0x74, 0x69, 0x6e, 0x67]);
  // message { repeated int32 f = 4 [packed]; } with [3, 270, 86942] → 22 06 03 8E 02 9E A7 05
  assert.equal([...new Writer().packedVarints(4, [3, 270, 86942]).finish()], [0x22, 0x06, 0x03, 0x8e, 0x02, 0x9e, 0xa7, 0x05]);
  // float 1.0 in field 2 → 15 00 00 80 3F; -2.5 → 00 00 20 C0
  assert.equal([...new Writer().floatField(2, 1).finish()], [0x15, 0x00, 0x00, 0x80, 0x3f]);
  assert.equal([...new Writer().packedFloats(7, [-2.5]).finish()], [0x3a, 0x04, 0x00, 0x00, 0x20, 0xc0]);
  // negative int32 is sign-extended to 10 bytes: field 1 = -1 → 08 FF×9 01
  assert.equal([...new Writer().int32Field(1, -1).finish()], [0x08, ...ff(9), 0x01]);
  // nested: message { Test1 c = 3; } with c.a = 150 → 1a 03 08 96 01
  assert.equal([...new Writer().messageField(3, (w) => w.int64Field(1, 150)).finish()], [0x1a, 0x03, 0x08, 0x96, 0x01]);
  // field numbers ≥ 16 need a two-byte tag: field 20, varint 7 → A0 01 07
  assert.equal([...new Writer().int64Field(20, 7).finish()], [0xa0, 0x01, 0x07]);
});

test("reader: tags, nested messages, packed and unpacked repeated fields, skipping unknown fields", () => {
  const msg = bytes(
    0x08, 0x96, 0x01, // 1: varint 150
    0x11, 1, 2, 3, 4, 5, 6, 7, 8, // 2: fixed64 (unknown, skipped)
    0x1d, 0, 0, 0x80, 0x3f, // 3: fixed32 1.0
    0x22, 0x06, 0x03, 0x8e, 0x02, 0x9e, 0xa7, 0x05, // 4: packed [3, 270, 86942]
    0x20, 0x07, 0x20, 0x08, // 4: unpacked 7, 8 (must be appended)
    0x2a, 0x03, 0x08, 0x96, 0x01, // 5: nested { 1: 150 }
    0x32, 0x00, // 6: empty bytes
  );
  const r = new Reader(msg, "Test", { 1: "a", 4: "f", 5: "c" });
  const seen: string[] = [];
  const ints: number[] = [];
  while (r.next()) {
    switch (r.field) {
      case 1:
        seen.push(`a=${r.uint53()}`);
        break;
      case 3:
        seen.push(`f=${r.float32()}`);
        break;
      case 4:
        r.repeatedVarints(ints, () => r.int64());
        break;
      case 5:
        seen.push(`c.a=${r.message("c", "Inner", { 1: "a" }, () => (r.next(), r.uint53()))}`);
        break;
      case 6:
        seen.push(`bytes=${r.bytes().length}`);
        break;
      default:
        r.skip();
    }
  }
  assert.equal(seen, ["a=150", "f=1", "c.a=150", "bytes=0"]);
  assert.equal(ints, [3, 270, 86942, 7, 8]);
  assert.is(r.pos, msg.length);
});

test("reader: group and invalid wire types, field 0, lengths past the end", () => {
  const names = { 1: "a", 7: "graph" };
  const walk = (b: Uint8Array) => {
    const r = new Reader(b, "ModelProto", names);
    while (r.next()) r.skip();
  };
  throwsWith(() => walk(bytes(0x0b)), /^ONNX: field 1 \(ModelProto\.a\) at byte 0 uses the deprecated group wire type 3/);
  throwsWith(() => walk(bytes(0x08, 0x01, 0x0c)), /group wire type 4/);
  throwsWith(() => walk(bytes(0x0e)), /^ONNX: invalid wire type 6 for field 1 at byte 0/);
  throwsWith(() => walk(bytes(0x0f)), /invalid wire type 7/);
  throwsWith(() => walk(bytes(0x00)), /^ONNX: invalid field number 0 at byte 0/);
  throwsWith(() => walk(bytes(0x3a, 0x88, 0x27, 1, 2, 3)), /^ONNX: field 7 \(ModelProto\.graph\) length 5000 \(prefix at byte 1\) runs past the end of the buffer \(6 bytes\): only 3 bytes remain/);
  throwsWith(() => walk(bytes(0x09, 1, 2, 3)), /truncated fixed64 .* at byte 1: needs 8 bytes/);
  throwsWith(() => walk(bytes(0x0d, 1, 2)), /truncated fixed32 .* at byte 1: needs 4 bytes/);
  // a nested length may not run past its enclosing message, even when the buffer continues
  const r = new Reader(bytes(0x3a, 0x02, 0x0a, 0x05, 1, 2, 3, 4, 5), "ModelProto", names);
  r.next();
  throwsWith(() => r.message("graph", "GraphProto", { 1: "node" }, () => { while (r.next()) r.skip(); }),
    /field 1 \(GraphProto\.node\) length 5 \(prefix at byte 3\) runs past the end of the enclosing GraphProto \(which ends at byte 4 of 9\).*\(in graph\)/);
  // wrong wire type for a known field
  const r2 = new Reader(bytes(0x0d, 0, 0, 0, 0), "ModelProto", names);
  r2.next();
  throwsWith(() => r2.expectWire(WireType.VARINT), /field 1 \(ModelProto\.a\) at byte 0 has wire type 5 \(fixed32\), expected 0 \(varint\)/);
  // packed floats must be a multiple of 4 bytes
  const r3 = new Reader(bytes(0x3a, 0x03, 0, 0, 0));
  r3.next();
  throwsWith(() => r3.repeatedFloats([]), /packed float .* has length 3, not a multiple of 4/);
  // invalid UTF-8
  const r4 = new Reader(bytes(0x12, 0x02, 0xc3, 0x28), "ModelProto", { 2: "producer_name" });
  r4.next();
  throwsWith(() => r4.string(), /field 2 \(ModelProto\.producer_name\) at byte 0 is not valid UTF-8/);
});

test("writer: large payloads are referenced and concatenated once; lengths of nested messages", () => {
  const big = new Uint8Array(100_000).map((_, i) => i & 0xff);
  const w = new Writer(8);
  w.int64Field(1, 5);
  w.messageField(2, (m) => {
    m.stringField(1, "x".repeat(300));
    m.bytesField(2, big);
  });
  w.int64Field(3, 6);
  const out = w.finish();
  const r = new Reader(out);
  assert.ok(r.next());
  assert.is(r.uint53(), 5);
  assert.ok(r.next());
  const [inner, rawLen] = r.message("m", "M", {}, () => {
    r.next();
    const s = r.string();
    r.next();
    const b = r.bytes();
    return [s, b] as const;
  });
  assert.is(inner, "x".repeat(300));
  assert.equal(rawLen, big);
  assert.ok(r.next());
  assert.is(r.uint53(), 6);
  assert.not.ok(r.next());
  assert.is(out.byteOffset, 0);
  assert.is(out.buffer.byteLength, out.length);
});

test.run();
