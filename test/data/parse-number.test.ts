// parseNumber's fast path (plain decimals computed from their digits) against the definition it must equal: the
// syntax NUM_RE (written out again here) after trimming, and JavaScript's own decimal conversion (+s), which rounds
// correctly. Compared with Object.is, so -0 and +0 differ.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { parseNumber, parseFiniteNumber } from "../../src/data/table.ts";

const SYNTAX = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$|^[+-]?Infinity$/;
const reference = (s: string) => (SYNTAX.test(s.trim()) ? +s.trim() : undefined);
const same = (s: string) => {
  const got = parseNumber(s), want = reference(s);
  if (!Object.is(got, want)) throw new Error(`parseNumber(${JSON.stringify(s)}) = ${got}, expected ${want}`);
};

test("random strings over a number alphabet: the value or undefined, as the definition says", () => {
  const ch = fc.constantFrom(..."0123456789.-+eE 1x".split(""), "00", "9999999999", "Infinity");
  fc.assert(fc.property(fc.array(ch, { maxLength: 14 }), (a) => same(a.join(""))), { numRuns: 20000, seed: 1701 });
});

test("doubles written by toString, toFixed, toExponential and toPrecision (± and padded with zeros) read back as +s", () => {
  const d = fc.double({ noNaN: true, noDefaultInfinity: true });
  fc.assert(
    fc.property(d, fc.integer({ min: 0, max: 20 }), fc.integer({ min: 1, max: 21 }), (x, k, p) => {
      for (const s of [String(x), x.toFixed(k), x.toExponential(k), x.toPrecision(p), `0${Math.abs(x).toFixed(k)}`, `-${Math.abs(x).toPrecision(p)}`]) same(s);
    }),
    { numRuns: 20000, seed: 1702 },
  );
  const e = fc.tuple(fc.integer({ min: 0, max: 2 ** 53 + 20 }), fc.integer({ min: -30, max: 30 }), fc.integer({ min: 0, max: 3 }));
  fc.assert(
    fc.property(e, ([m, ex, form]) => {
      const s = [`${m}e${ex}`, `${m}E+${ex}`, `-${m}.e${ex}`, `.${m}e${ex}`][form];
      same(s);
    }),
    { numRuns: 20000, seed: 1703 },
  );
});

test("edges: signs, zeros, lone dots, exponents without digits, 2^53 ± 1, 10^±22 and beyond, spaces", () => {
  for (const s of ["0", "-0", "+0", "-0.0", "0.", ".0", "-.0", ".", "-.", "+", "-", "", " ", "1e", "1e+", "e5", "1e5e5", "1.2.3", "--1", "+-1", "1 ", " -2.5 ", "\t7\n", "9007199254740991", "9007199254740992", "9007199254740993", "-9007199254740993.5", "1e22", "1e23", "1e-22", "1e-23", "123456789012345678901234567890", "0.1", "0.3", "2.2250738585072014e-308", "1e400", "-1e400", "Infinity", "-Infinity", "NaN", "0x10", "1_000", "١"]) same(s);
  assert.is(parseFiniteNumber("1e400"), null);
  assert.is(parseFiniteNumber("abc"), undefined);
  assert.is(parseFiniteNumber("-0.0593"), -0.0593);
});

test.run();
