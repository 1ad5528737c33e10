// src/util/utf8.ts against the host's TextEncoder / fatal TextDecoder (WHATWG), on edge cases and random input.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { utf8DecodeStrict, utf8Encode, Utf8Error } from "../../src/util/utf8.ts";
import { mulberry32 } from "../../src/data/split.ts";

const td = new TextDecoder("utf-8", { fatal: true }), te = new TextEncoder();
const decodeOrNull = (f: (b: Uint8Array) => string, b: Uint8Array) => {
  try {
    return f(b);
  } catch {
    return null;
  }
};

test("edge cases decode as TextDecoder (fatal) does", () => {
  const cases = [[], [0x41], [0xef, 0xbb, 0xbf, 0x41], [0xc2, 0x80], [0xc1, 0xbf], [0xe0, 0x9f, 0x80], [0xe0, 0xa0, 0x80], [0xed, 0xa0, 0x80],
    [0xed, 0x9f, 0xbf], [0xf0, 0x8f, 0xbf, 0xbf], [0xf0, 0x90, 0x80, 0x80], [0xf4, 0x8f, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80],
    [0xe2, 0x82], [0x80], [0xff], [0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80]];
  for (const c of cases) {
    const b = Uint8Array.from(c);
    assert.is(decodeOrNull(utf8DecodeStrict, b), decodeOrNull((x) => td.decode(x), b), `bytes ${c.map((x) => x.toString(16)).join(" ")}`);
  }
  assert.throws(() => utf8DecodeStrict(Uint8Array.from([0xc3])), (e: unknown) => e instanceof Utf8Error && e.at === 0);
});

test("random bytes and strings agree with TextDecoder / TextEncoder", () => {
  const next = mulberry32(8);
  const pool = [0x00, 0x41, 0x7f, 0x80, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xa0, 0x9f, 0xed, 0xef, 0xf0, 0x90, 0x8f, 0xf4, 0xf5, 0xff];
  for (let t = 0; t < 50_000; t++) {
    const b = Uint8Array.from({ length: next() % 12 }, () => (t & 1 ? pool[next() % pool.length] : next() & 255));
    assert.is(decodeOrNull(utf8DecodeStrict, b), decodeOrNull((x) => td.decode(x), b));
  }
  for (let t = 0; t < 20_000; t++) {
    const s = Array.from({ length: next() % 8 }, () => String.fromCharCode([next() & 0x7f, next() & 0x7ff, next() & 0xffff, 0xd800 + (next() & 0x7ff)][next() % 4])).join("");
    assert.equal([...utf8Encode(s)], [...te.encode(s)], JSON.stringify(s));
  }
  const long = "é€😀x".repeat(10_000);
  assert.is(utf8DecodeStrict(utf8Encode(long)), long);
});

test.run();
