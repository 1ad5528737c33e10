// Counter-based RNG and dropout: Philox known answers, bit-exact agreement with the TS reference stream,
// counter-offset splitting, seed sensitivity, statistical moments / rates, and dropout backward.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup, Rng, finiteDiff, assertClose, assertRelErr, toF64 } from "../helpers.ts";
import { philox4x32_10, uniformRef, dropoutMaskRef, normalRef } from "../ref/rng.ts";

const { arena, call } = await setup();

function uniform(n: number, seedLo: number, seedHi: number, offset: number, lo = 0, hi = 1): Float32Array {
  const mk = arena.mark();
  const p = arena.alloc(n);
  call("rng_uniform_f32", n, p, seedLo, seedHi, offset, lo, hi);
  const out = arena.readF32(p, n);
  arena.release(mk);
  return out;
}

function normal(n: number, seedLo: number, seedHi: number, offset: number, mean = 0, std = 1): Float32Array {
  const mk = arena.mark();
  const p = arena.alloc(n);
  call("rng_normal_f32", n, p, seedLo, seedHi, offset, mean, std);
  const out = arena.readF32(p, n);
  arena.release(mk);
  return out;
}

function dropout(x: ArrayLike<number>, seedLo: number, seedHi: number, offset: number, p: number) {
  const n = x.length;
  const mk = arena.mark();
  const xp = arena.putF32(x), yp = arena.alloc(n), mp = arena.putF32(new Float32Array(n).fill(NaN));
  call("dropout_fwd_f32x4", n, xp, yp, mp, seedLo, seedHi, offset, p);
  const out = { y: arena.readF32(yp, n), mask: arena.readF32(mp, n) };
  arena.release(mk);
  return out;
}

function dropoutBwd(mask: ArrayLike<number>, dy: ArrayLike<number>, beta: number, init?: ArrayLike<number>): Float32Array {
  const n = dy.length;
  const mk = arena.mark();
  const mp = arena.putF32(mask), dyp = arena.putF32(dy), dxp = arena.putF32(init ?? new Float32Array(n).fill(NaN));
  call("dropout_bwd_f32x4", n, mp, dyp, dxp, beta);
  const dx = arena.readF32(dxp, n);
  arena.release(mk);
  return dx;
}

const bytes = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const sameBytes = (a: Float32Array, b: Float32Array) => a.length === b.length && bytes(a).every((v, i) => v === bytes(b)[i]);

test("reference Philox-4x32-10 reproduces Random123's known-answer vectors", () => {
  assert.equal(philox4x32_10([0, 0, 0, 0], [0, 0]), [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
  assert.equal(philox4x32_10([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff]), [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]);
  assert.equal(
    philox4x32_10([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0]),
    [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
  );
});

test("rng_uniform is bit-identical to the reference stream (SIMD and scalar paths, odd offsets, big counters)", () => {
  for (const [n, lo32, hi32, offset, lo, hi] of [
    [1, 0, 0, 0, 0, 1], [3, 1, 0, 5, 0, 1], [17, 123, 456, 0, -1, 1], [64, -1, -1, 7, 2, 3],
    [130, 0x243f6a88, 0x299f31d0, 13, -0.5, 0.25], [45, 42, 7, -3, 0, 1], // offset -3 = counter 2^32 − 3: crosses 2^32
  ] as const) {
    const got = uniform(n, lo32, hi32, offset, lo, hi);
    const want = uniformRef(n, lo32, hi32, offset, lo, hi);
    assert.ok(sameBytes(got, want), `uniform n=${n} seed=(${lo32},${hi32}) offset=${offset}: first diff at ${got.findIndex((v, i) => v !== want[i])}`);
    for (const v of got) assert.ok(v >= lo && v < hi, `uniform value ${v} outside [${lo}, ${hi})`);
  }
});

test("counter offsets: [0, 2n) equals [0, n) then [n, 2n) with offset n, for any split", () => {
  for (const n of [1, 5, 16, 37, 100]) {
    const whole = uniform(2 * n, 9, 3, 0);
    const a = uniform(n, 9, 3, 0), b = uniform(n, 9, 3, n);
    const joined = new Float32Array(2 * n);
    joined.set(a);
    joined.set(b, n);
    assert.ok(sameBytes(whole, joined), `uniform split at ${n}`);
    const wn = normal(2 * n, 9, 3, 0), na = normal(n, 9, 3, 0), nb = normal(n, 9, 3, n);
    const jn = new Float32Array(2 * n);
    jn.set(na);
    jn.set(nb, n);
    assert.ok(sameBytes(wn, jn), `normal split at ${n}`);
    const x = new Float32Array(2 * n).fill(1);
    const dw = dropout(x, 9, 3, 0, 0.3), da = dropout(x.subarray(0, n), 9, 3, 0, 0.3), db = dropout(x.subarray(n), 9, 3, n, 0.3);
    const jm = new Float32Array(2 * n);
    jm.set(da.mask);
    jm.set(db.mask, n);
    assert.ok(sameBytes(dw.mask, jm), `dropout split at ${n}`);
  }
});

test("same (seed, offset) gives identical bytes; a different seed or offset gives a different stream", () => {
  const n = 1000;
  const a = uniform(n, 1, 2, 0), b = uniform(n, 1, 2, 0);
  assert.ok(sameBytes(a, b));
  for (const [s0, s1, off] of [[2, 2, 0], [1, 3, 0], [1, 2, 1], [0x80000001, 2, 0]] as const) {
    const c = uniform(n, s0, s1, off);
    let same = 0;
    for (let i = 0; i < n; i++) same += c[i] === a[i] ? 1 : 0;
    assert.ok(same < 5, `seed (${s0},${s1}) offset ${off}: ${same} of ${n} values coincide`);
  }
  const x = new Float32Array(n).fill(1);
  assert.ok(sameBytes(dropout(x, 5, 6, 0, 0.5).mask, dropout(x, 5, 6, 0, 0.5).mask));
  assert.not.ok(sameBytes(dropout(x, 5, 6, 0, 0.5).mask, dropout(x, 5, 7, 0, 0.5).mask));
  assert.ok(sameBytes(normal(n, 5, 6, 3), normal(n, 5, 6, 3)));
  assert.not.ok(sameBytes(normal(n, 5, 6, 3), normal(n, 6, 6, 3)));
});

test("uniform moments and histogram are within statistical bounds (n = 100000)", () => {
  const n = 100000;
  const u = uniform(n, 77, 0, 0);
  let s = 0, s2 = 0;
  const bins = new Array(10).fill(0);
  for (const v of u) {
    s += v;
    s2 += v * v;
    bins[Math.floor(v * 10)]++;
  }
  const mean = s / n, varc = s2 / n - mean * mean;
  // mean: σ = √(1/12n); variance 1/12 with σ ≈ √(1/180n)
  assert.ok(Math.abs(mean - 0.5) < 5 * Math.sqrt(1 / 12 / n), `uniform mean ${mean}`);
  assert.ok(Math.abs(varc - 1 / 12) < 5 * Math.sqrt(1 / 180 / n), `uniform variance ${varc}`);
  // χ² with 9 degrees of freedom: P(χ² > 33.7) ≈ 1e-4
  const chi2 = bins.reduce((a, c) => a + (c - n / 10) ** 2 / (n / 10), 0);
  assert.ok(chi2 < 33.7, `uniform χ² = ${chi2}`);
  // scaled range
  const w = uniform(n, 77, 1, 0, -3, 5);
  let ws = 0;
  for (const v of w) {
    assert.ok(v >= -3 && v < 5);
    ws += v;
  }
  assert.ok(Math.abs(ws / n - 1) < 5 * 8 * Math.sqrt(1 / 12 / n), `uniform(-3, 5) mean ${ws / n}`);
});

test("rng_normal matches the float64 reference and has the right moments (n = 100000)", () => {
  const got = normal(257, 11, 22, 5, 0.5, 2);
  const ref = normalRef(257, 11, 22, 5, 0.5, 2);
  assertClose(got, ref, { rtol: 2e-7, atol: 1e-6, name: "normal vs reference" });
  const n = 100000;
  const z = normal(n, 3, 4, 0);
  let s = 0, s2 = 0, s3 = 0, s4 = 0;
  for (const v of z) {
    assert.ok(Number.isFinite(v) && Math.abs(v) < 7, `normal value ${v}`);
    s += v;
    s2 += v * v;
    s3 += v * v * v;
    s4 += v ** 4;
  }
  const mean = s / n, m2 = s2 / n, skew = s3 / n, kurt = s4 / n;
  // standard errors: mean 1/√n, E z² 2/√n·(1/√2)·√2 = √(2/n), E z³ √(15/n), E z⁴ √(96/n)
  assert.ok(Math.abs(mean) < 5 / Math.sqrt(n), `normal mean ${mean}`);
  assert.ok(Math.abs(m2 - 1) < 5 * Math.sqrt(2 / n), `normal E z² ${m2}`);
  assert.ok(Math.abs(skew) < 5 * Math.sqrt(15 / n), `normal E z³ ${skew}`);
  assert.ok(Math.abs(kurt - 3) < 5 * Math.sqrt(96 / n), `normal E z⁴ ${kurt}`);
  // mean/std parameters
  const w = normal(n, 3, 4, 0, -2, 0.1);
  for (let i = 0; i < n; i += 997) assert.ok(Math.abs(w[i] - (-2 + 0.1 * z[i])) < 1e-6, `normal(-2, 0.1)[${i}]`);
});

test("dropout mask: bit-exact vs reference, rate within 5σ, kept·scale averages 1, y = x ⊙ mask", () => {
  const rng = new Rng(41);
  for (const [n, p, off] of [[1, 0.5, 0], [3, 0.2, 1], [17, 0.5, 0], [64, 0.9, 2], [130, 0.1, 15]] as const) {
    const x = rng.f32(n);
    const { y, mask } = dropout(x, 8, 9, off, p);
    assert.ok(sameBytes(mask, dropoutMaskRef(n, 8, 9, off, p)), `dropout mask n=${n} p=${p}`);
    assertClose(y, Array.from(x, (v, i) => Math.fround(v * mask[i])), { rtol: 0, atol: 0, name: "y = x ⊙ mask" });
  }
  const n = 100000;
  const x = new Float32Array(n).fill(1);
  for (const p of [0.1, 0.5, 0.8]) {
    const { y, mask } = dropout(x, 123, 456, 7, p);
    const scale = Math.fround(1 / Math.fround(1 - Math.fround(p)));
    let dropped = 0, sum = 0;
    for (let i = 0; i < n; i++) {
      assert.ok(mask[i] === 0 || mask[i] === scale, `mask value ${mask[i]}`);
      if (mask[i] === 0) dropped++;
      sum += y[i];
    }
    const sigma = Math.sqrt((p * (1 - p)) / n);
    assert.ok(Math.abs(dropped / n - p) < 5 * sigma, `p=${p}: drop rate ${dropped / n}`);
    // E[mask] = 1: σ of the mean = scale·σ_rate
    assert.ok(Math.abs(sum / n - 1) < 5 * scale * sigma, `p=${p}: mean of kept·scale ${sum / n}`);
  }
  // the mask is the uniform stream thresholded at p (same seed and offset)
  const u = uniform(1000, 1, 1, 3), m = dropout(new Float32Array(1000).fill(1), 1, 1, 3, 0.4).mask;
  for (let i = 0; i < 1000; i++) assert.is(m[i] !== 0, u[i] >= Math.fround(0.4), `element ${i}`);
});

test("dropout p = 0 is the identity (mask of 1s); p = 1 zeroes everything; y may alias x", () => {
  const rng = new Rng(42);
  const x = rng.f32(37);
  const d0 = dropout(x, 1, 2, 3, 0);
  assert.ok(d0.mask.every((v) => v === 1), "p = 0 mask");
  assert.ok(sameBytes(d0.y, x), "p = 0 output");
  const d1 = dropout(x, 1, 2, 3, 1);
  assert.ok(d1.mask.every((v) => v === 0), "p = 1 mask");
  assert.ok(d1.y.every((v) => v === 0), "p = 1 output");
  const mk = arena.mark();
  const xp = arena.putF32(x), mp = arena.alloc(37);
  call("dropout_fwd_f32x4", 37, xp, xp, mp, 1, 2, 3, 0.5);
  assert.ok(sameBytes(arena.readF32(xp, 37), dropout(x, 1, 2, 3, 0.5).y), "in place");
  arena.release(mk);
});

test("dropout backward: matches float64 central differences; beta 0 ignores NaN, 1 accumulates", () => {
  const rng = new Rng(43);
  for (const n of [1, 3, 5, 17, 64]) {
    const x = rng.f32(n);
    const r = rng.f32(n);
    const { mask } = dropout(x, 4, 4, 0, 0.3);
    const L = (v: Float64Array) => v.reduce((s, xi, i) => s + r[i] * xi * mask[i], 0);
    const g = finiteDiff(L, toF64(x));
    const fresh = dropoutBwd(mask, r, 0);
    if (mask.some((v) => v !== 0)) assertRelErr(fresh, g, 1e-3, `dropout dx n=${n}`);
    else assert.ok(fresh.every((v) => v === 0));
    const old = rng.f32(n);
    assertClose(dropoutBwd(mask, r, 1, old), Array.from(old, (o, i) => o + fresh[i]), { rtol: 1e-6, atol: 1e-7, name: "beta 1" });
    assertClose(dropoutBwd(mask, r, 0.5, old), Array.from(old, (o, i) => 0.5 * o + fresh[i]), { rtol: 1e-6, atol: 1e-7, name: "beta 0.5" });
  }
});

test.run();
