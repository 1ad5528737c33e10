// src/util/dmath.ts: accuracy against independent 200-bit references (mpmath, test/ref/dmath-ref.json), special
// values, and the claim that on Node 20 (V8 11, whose Math.* is the same fdlibm) every function equals Math.* bit
// for bit, so moving training onto dmath left Node's numbers (and test/runtimes/reference.json) unchanged.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import * as dmath from "../../src/util/dmath.ts";
import { mulberry32 } from "../../src/data/split.ts";

type Fn = "exp" | "log" | "log1p" | "expm1" | "tanh" | "sin" | "cos";
const FNS: Fn[] = ["exp", "log", "log1p", "expm1", "tanh", "sin", "cos"];
const ref = JSON.parse(readFileSync(new URL("../ref/dmath-ref.json", import.meta.url), "utf8")) as { cases: Record<Fn, [string, number, number][]> };

const f64 = new Float64Array(1), u64 = new BigUint64Array(f64.buffer), u32 = new Uint32Array(f64.buffer);
const fromHex = (h: string) => ((u64[0] = BigInt("0x" + h)), f64[0]);
/** The spacing of doubles at |x| (ulp of x's binade). */
function ulp(x: number): number {
  f64[0] = Math.abs(x);
  const e = Number((u64[0] >> 52n) & 0x7ffn);
  return e === 0 ? 2 ** -1074 : 2 ** (e - 1075);
}
const same = (a: number, b: number) => Object.is(a, b) || (a !== a && b !== b);

/** Error bounds in ulps: fdlibm's < 1 ulp, except tanh (1 − 2/(expm1(2|x|) + 2) compounds two roundings: < 2). */
const BOUND: Record<Fn, number> = { exp: 1, log: 1, log1p: 1, expm1: 1, tanh: 2, sin: 1, cos: 1 };

test("every function is within its ulp bound of the 200-bit reference", () => {
  const report: string[] = [];
  for (const name of FNS) {
    let worst = 0, at = "", exact = 0;
    for (const [hex, hi, lo] of ref.cases[name]) {
      const x = fromHex(hex), y = dmath[name](x);
      const err = Math.abs(y - hi - lo) / ulp(hi);
      if (y === hi) exact++;
      if (err > worst) (worst = err), (at = `${name}(${x})`);
    }
    report.push(`${name} ${worst.toFixed(3)} ulp (${exact}/${ref.cases[name].length} correctly rounded)`);
    assert.ok(ref.cases[name].length >= 500, `${name}: reference cases missing`);
    assert.ok(worst < BOUND[name], `${name}: ${worst} ulp at ${at} (bound ${BOUND[name]})`);
  }
  console.log(`  dmath max error vs mpmath: ${report.join("; ")}`);
});

test("special values: ±0, ±Infinity, NaN, subnormals, domain edges, huge arguments", () => {
  const N = NaN, I = Infinity, tiny = 5e-324, sub = 2.5e-310;
  const cases: [Fn, number, number][] = [
    ["exp", 0, 1], ["exp", -0, 1], ["exp", I, I], ["exp", -I, 0], ["exp", N, N], ["exp", 710, I], ["exp", -746, 0],
    ["exp", 1, Math.E], ["exp", tiny, 1], ["exp", -745.1, 5e-324], ["exp", 709.78, 1.7928227943945155e308],
    ["log", 0, -I], ["log", -0, -I], ["log", -1, N], ["log", -I, N], ["log", I, I], ["log", N, N], ["log", 1, 0],
    ["log", tiny, -744.4400719213812], ["log", sub, -712.88508809628], ["log", Math.E, 1],
    ["log1p", 0, 0], ["log1p", -0, -0], ["log1p", -1, -I], ["log1p", -2, N], ["log1p", I, I], ["log1p", N, N], ["log1p", tiny, tiny], ["log1p", -tiny, -tiny],
    ["expm1", 0, 0], ["expm1", -0, -0], ["expm1", I, I], ["expm1", -I, -1], ["expm1", N, N], ["expm1", tiny, tiny], ["expm1", -50, -1], ["expm1", 710, I],
    ["tanh", 0, 0], ["tanh", -0, -0], ["tanh", I, 1], ["tanh", -I, -1], ["tanh", N, N], ["tanh", 30, 1], ["tanh", -30, -1], ["tanh", tiny, tiny],
    ["sin", 0, 0], ["sin", -0, -0], ["sin", I, N], ["sin", -I, N], ["sin", N, N], ["sin", tiny, tiny], ["sin", -sub, -sub],
    ["cos", 0, 1], ["cos", -0, 1], ["cos", I, N], ["cos", -I, N], ["cos", N, N], ["cos", tiny, 1],
    // huge arguments (Payne–Hanek reduction), values from mpmath at 200 bits
    ["sin", 1e22, -0.8522008497671888], ["cos", 1e22, 0.523214785395139], ["sin", 1e300, -0.8178819121159085],
    ["cos", 1.7976931348623157e308, -0.9999876894265599], ["sin", 1.7976931348623157e308, 0.004961954789184062],
  ];
  for (const [name, x, want] of cases) {
    const got = dmath[name](x);
    if (want === want && want !== 0 && Math.abs(want) !== I && !Number.isInteger(want)) {
      assert.ok(Math.abs(got - want) <= ulp(want), `${name}(${x}) = ${got}, want ${want} (within 1 ulp)`);
    } else assert.ok(same(got, want), `${name}(${x}) = ${got}, want ${want}`);
  }
});

test("equal to Node's Math.* bit for bit (V8's fdlibm) on 1.4 million random arguments", () => {
  const next = mulberry32(0x5eed);
  const uni = (lo: number, hi: number) => lo + (hi - lo) * (next() / 4294967296);
  const bits = () => ((u32[0] = next()), (u32[1] = next()), f64[0]);
  const gens: Record<Fn, () => number> = {
    exp: () => (next() & 1 ? uni(-750, 750) : uni(-2, 2)),
    log: () => (next() & 1 ? Math.abs(bits()) : uni(0, 3)),
    log1p: () => (next() & 1 ? uni(-1, 4) : bits()),
    expm1: () => (next() & 1 ? uni(-60, 60) : uni(-1, 1)),
    tanh: () => uni(-30, 30),
    sin: () => (next() & 1 ? uni(-20, 20) : bits()),
    cos: () => (next() & 1 ? uni(-20, 20) : bits()),
  };
  const counts: string[] = [];
  for (const name of FNS) {
    const host = Math[name] as (x: number) => number;
    let differ = 0, first = "";
    for (let i = 0; i < 200_000; i++) {
      const x = gens[name]();
      const a = dmath[name](x), b = host(x);
      if (!same(a, b)) {
        differ++;
        first ||= `${name}(${x}): dmath ${a}, Math ${b}`;
      }
    }
    counts.push(`${name} ${differ}`);
    assert.is(differ, 0, `${name} differs from Math.${name} in ${differ} of 200000 (first: ${first}); Node ${process.version}, V8 ${process.versions.v8}`);
  }
  console.log(`  dmath vs Math.* mismatches (Node ${process.version}, V8 ${process.versions.v8}): ${counts.join(", ")} of 200000 each`);
});

test("powi: x^k by squaring, exact where the product is exact, within a few ulp of the float64 power otherwise", () => {
  assert.is(dmath.powi(0.5, 0), 1);
  assert.is(dmath.powi(3, 5), 243);
  assert.is(dmath.powi(0.5, 30), 2 ** -30);
  assert.is(dmath.powi(-2, 3), -8);
  // Against BigInt-exact rationals: x = p/2^s, x^k = p^k / 2^(s·k), compared in ulp of the result.
  const next = mulberry32(77);
  for (let i = 0; i < 2000; i++) {
    const p = (next() >>> 11) | 1, s = 20, k = 1 + (next() % 40);
    const x = p / 2 ** s;
    const got = dmath.powi(x, k);
    const num = BigInt(p) ** BigInt(k), shift = Math.max(0, num.toString(2).length - 60);
    const exact = Number(num >> BigInt(shift)) * 2 ** (shift - s * k); // relative error ≤ 2⁻⁵⁹
    const ulp = Math.abs(exact) * 2 ** -52;
    assert.ok(Math.abs(got - exact) <= 2 * k * ulp + 1e-300, `powi(${x}, ${k}) = ${got}, exact ${exact}`);
  }
  assert.throws(() => dmath.powi(2, 1.5), /non-negative integer/);
});

test.run();
