// Row-wise softmax: forward vs float64 (incl. huge and −inf inputs), backward vs float64 central
// differences, beta semantics and aliasing.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup, Rng, finiteDiff, assertClose, assertRelErr, toF64 } from "../helpers.ts";
import { softmaxRef } from "../ref/softmax.ts";

const { arena, call } = await setup();

const DIMS = [1, 3, 5, 17, 64, 130];

function fwd(m: number, n: number, x: ArrayLike<number>): Float32Array {
  const mk = arena.mark();
  const xp = arena.putF32(x), yp = arena.alloc(m * n);
  call("softmax_fwd_f32x4", m, n, xp, yp);
  const y = arena.readF32(yp, m * n);
  arena.release(mk);
  return y;
}

function bwd(m: number, n: number, y: ArrayLike<number>, dy: ArrayLike<number>, beta: number, init?: ArrayLike<number>): Float32Array {
  const mk = arena.mark();
  const yp = arena.putF32(y), dyp = arena.putF32(dy);
  const dxp = arena.putF32(init ?? new Float32Array(m * n).fill(NaN));
  call("softmax_bwd_f32x4", m, n, yp, dyp, dxp, beta);
  const dx = arena.readF32(dxp, m * n);
  arena.release(mk);
  return dx;
}

test("forward matches float64 over a covering set of shapes", () => {
  const rng = new Rng(21);
  for (const m of [1, 3, 5]) for (const n of DIMS) {
    const x = rng.f32(m * n, () => rng.uniform(-6, 6));
    const y = fwd(m, n, x);
    assertClose(y, softmaxRef(m, n, x), { rtol: 2e-6, atol: 1e-9, name: `softmax ${m}x${n}` });
    for (let i = 0; i < m; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += y[i * n + j];
      assert.ok(Math.abs(s - 1) < 2e-6 * Math.max(1, Math.sqrt(n)), `row ${i} of ${m}x${n} sums to ${s}`);
    }
  }
  for (const n of DIMS) {
    const m = 17;
    const x = rng.f32(m * n, () => rng.uniform(-3, 3));
    assertClose(fwd(m, n, x), softmaxRef(m, n, x), { rtol: 2e-6, atol: 1e-9, name: `softmax ${m}x${n}` });
  }
});

test("stable for huge inputs (1000, -1e30) and exact 0 for -inf; m or n = 0 is a no-op", () => {
  const x = Float32Array.from([1000, 999, 998, 1000, -1e30, 0, 1e30, 1e30, 3, -Infinity, 2, -Infinity]);
  const m = 3, n = 4;
  const y = fwd(m, n, x);
  for (const v of y) assert.ok(Number.isFinite(v), `softmax produced ${v}`);
  const ref = softmaxRef(m, n, x);
  assertClose(y, ref, { rtol: 2e-6, atol: 1e-12, name: "huge" });
  assert.is(y[9], 0);
  assert.is(y[11], 0);
  // the row max sits in the scalar tail / the first vector / a later vector
  for (const [n, at] of [[5, 4], [7, 6], [9, 0], [13, 9], [3, 2]] as const) {
    // a missed max would overflow e^(1000 − 0)
    const row = new Float32Array(n);
    row[at] = 1000;
    const s = fwd(1, n, row);
    assertClose(s, softmaxRef(1, n, row), { rtol: 2e-6, atol: 1e-12, name: `max at ${at} of ${n}` });
  }
  // n = 0 / m = 0 must not touch memory
  const mk = arena.mark();
  const p = arena.putF32([7, 7, 7, 7]);
  call("softmax_fwd_f32x4", 4, 0, p, p);
  call("softmax_fwd_f32x4", 0, 4, p, p);
  call("softmax_bwd_f32x4", 0, 4, p, p, p, 0);
  assert.equal(Array.from(arena.readF32(p, 4)), [7, 7, 7, 7]);
  arena.release(mk);
});

test("forward with y aliasing x", () => {
  const rng = new Rng(22);
  const m = 5, n = 19;
  const x = rng.f32(m * n);
  const mk = arena.mark();
  const p = arena.putF32(x);
  call("softmax_fwd_f32x4", m, n, p, p);
  assertClose(arena.readF32(p, m * n), fwd(m, n, x), { rtol: 0, atol: 0, name: "in place" });
  arena.release(mk);
});

test("backward matches float64 central differences", () => {
  const rng = new Rng(23);
  for (const [m, n] of [[1, 1], [1, 3], [2, 5], [3, 17], [2, 33], [4, 7]] as const) {
    const x = rng.f32(m * n, () => rng.uniform(-3, 3));
    const r = rng.f32(m * n);
    const y = fwd(m, n, x);
    const L = (v: Float64Array) => softmaxRef(m, n, v).reduce((s, yi, i) => s + r[i] * yi, 0);
    const g = finiteDiff(L, toF64(x));
    const dx = bwd(m, n, y, r, 0);
    if (n === 1) {
      // softmax of one element is constant: the gradient is exactly 0
      for (const v of dx) assert.ok(Math.abs(v) < 1e-6, `n = 1 gradient ${v}`);
      for (const v of g) assert.ok(Math.abs(v) < 1e-6, `n = 1 finite difference ${v}`);
      continue;
    }
    assertRelErr(dx, g, 1e-3, `softmax dx ${m}x${n}`);
  }
});

test("backward beta: 0 ignores NaN dx, 1 accumulates, 0.5 scales; dx may alias dy", () => {
  const rng = new Rng(24);
  for (const [m, n] of [[1, 3], [3, 9], [2, 64]] as const) {
    const y = fwd(m, n, rng.f32(m * n));
    const dy = rng.f32(m * n);
    const fresh = bwd(m, n, y, dy, 0);
    for (const v of fresh) assert.ok(Number.isFinite(v), "beta 0 must not read dx");
    const old = rng.f32(m * n);
    assertClose(bwd(m, n, y, dy, 1, old), Array.from(old, (o, i) => o + fresh[i]), { rtol: 1e-6, atol: 1e-7, name: "beta 1" });
    assertClose(bwd(m, n, y, dy, 0.5, old), Array.from(old, (o, i) => 0.5 * o + fresh[i]), { rtol: 1e-6, atol: 1e-7, name: "beta 0.5" });
    const mk = arena.mark();
    const yp = arena.putF32(y), dp = arena.putF32(dy);
    call("softmax_bwd_f32x4", m, n, yp, dp, dp, 0);
    assertClose(arena.readF32(dp, m * n), fresh, { rtol: 0, atol: 0, name: "dx aliasing dy" });
    arena.release(mk);
  }
});

test.run();
