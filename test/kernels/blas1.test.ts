// BLAS-1 helpers: fill, scale, axpy against float64 references (element-wise, f32 rounding only), and
// the f64-accumulated sum and dot.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup, Rng, assertClose } from "../helpers.ts";
import { sumRef, dotRef, axpyRef } from "../ref/blas1.ts";

const { arena, call } = await setup();
const SIZES = [0, 1, 3, 5, 17, 64, 130, 1031];

/** Run `f` on a buffer holding `data` placed between two guard blocks; checks the guards, returns the buffer. */
function guarded(data: Float32Array, f: (ptr: number) => void): Float32Array {
  const mk = arena.mark();
  const g0 = arena.putF32(new Float32Array(8).fill(-123));
  const p = arena.putF32(data);
  const g1 = arena.putF32(new Float32Array(8).fill(-123));
  f(p);
  assert.equal(Array.from(arena.readF32(g0, 8)), new Array(8).fill(-123), "guard before");
  assert.equal(Array.from(arena.readF32(g1, 8)), new Array(8).fill(-123), "guard after");
  const out = arena.readF32(p, data.length);
  arena.release(mk);
  return out;
}

test("fill writes value to exactly n elements", () => {
  for (const n of SIZES) {
    const out = guarded(new Float32Array(n + 3).fill(NaN), (p) => call("fill_f32x4", n, p, -2.5));
    for (let i = 0; i < n; i++) assert.is(out[i], -2.5);
    for (let i = n; i < n + 3; i++) assert.ok(Number.isNaN(out[i]), "past n untouched");
  }
});

test("scale multiplies in place", () => {
  const rng = new Rng(41);
  for (const n of SIZES) {
    const x = rng.f32(n + 2);
    const out = guarded(x, (p) => call("scale_f32x4", n, p, 0.37));
    assertClose(out.subarray(0, n), Array.from(x.subarray(0, n), (v) => Math.fround(0.37) * v), { rtol: 1e-7, atol: 0, name: `scale n=${n}` });
    assert.equal(Array.from(out.subarray(n)), Array.from(x.subarray(n)), "past n untouched");
  }
});

test("axpy: y += a·x, x untouched, y may alias x", () => {
  const rng = new Rng(42);
  for (const n of SIZES) {
    const x = rng.f32(n), y = rng.f32(n + 2);
    const mk = arena.mark();
    const xp = arena.putF32(x);
    const out = guarded(y, (yp) => call("axpy_f32x4", n, xp, yp, -1.7));
    assert.equal(Array.from(arena.readF32(xp, n)), Array.from(x), "x untouched");
    arena.release(mk);
    assertClose(out.subarray(0, n), axpyRef(x, y.subarray(0, n), Math.fround(-1.7)), { rtol: 1e-6, atol: 1e-7, name: `axpy n=${n}` });
    assert.equal(Array.from(out.subarray(n)), Array.from(y.subarray(n)), "past n untouched");
    const self = guarded(x, (p) => call("axpy_f32x4", n, p, p, 0.5));
    assertClose(self, Array.from(x, (v) => 1.5 * v), { rtol: 1e-6, atol: 0, name: `axpy alias n=${n}` });
  }
});

test("sum and dot accumulate in f64", () => {
  const rng = new Rng(43);
  for (const n of [...SIZES, 4099]) {
    const x = rng.f32(n, () => rng.normal()), y = rng.f32(n, () => rng.normal());
    const mk = arena.mark();
    const xp = arena.putF32(x), yp = arena.putF32(y);
    assertClose([call("sum_f32x4", n, xp)], [sumRef(x)], { rtol: 1e-12, atol: 1e-12, name: `sum n=${n}` });
    assertClose([call("dot_f32x4", n, xp, yp)], [dotRef(x, y)], { rtol: 1e-12, atol: 1e-12, name: `dot n=${n}` });
    arena.release(mk);
  }
  // Cancellation an f32 accumulator would lose: 1e8 + (1 … 1) − 1e8.
  const big = new Float32Array(1 + 1000 + 1);
  big[0] = 1e8;
  big.fill(1, 1, 1001);
  big[1001] = -1e8;
  const bp = arena.putF32(big);
  assert.is(call("sum_f32x4", big.length, bp), 1000);
  const ones = arena.putF32(new Float32Array(big.length).fill(1));
  assert.is(call("dot_f32x4", big.length, bp, ones), 1000);
});

test("colsum: out[k] = Σ_b x[b,k], summed in f64 and rounded once", () => {
  const rng = new Rng(44);
  for (const [B, d] of [[1, 1], [3, 5], [8, 4], [7, 17], [33, 130], [0, 6]]) {
    const x = rng.f32(B * d);
    const mk = arena.mark();
    const xp = arena.putF32(x);
    const out = guarded(new Float32Array(d + 2).fill(NaN), (op) => call("colsum_f32x4", B, d, xp, op));
    assert.equal(Array.from(arena.readF32(xp, B * d)), Array.from(x), "x untouched");
    arena.release(mk);
    for (let k = 0; k < d; k++) {
      let s = 0;
      for (let b = 0; b < B; b++) s += x[b * d + k];
      assert.is(out[k], Math.fround(s), `B=${B} d=${d} k=${k}`);
    }
    assert.ok(Number.isNaN(out[d]) && Number.isNaN(out[d + 1]), "past d untouched");
  }
});

test.run();
