// Strided column copies: concat and slice forwards and backwards built from cols_copy_f32x4, vs float64
// references and central differences; beta semantics; unaligned column offsets.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup, Rng, finiteDiff, assertClose, assertRelErr, toF64 } from "../helpers.ts";
import { colsCopyRef, concatRef, sliceRef } from "../ref/tensor.ts";

const { arena, call } = await setup();

/** One call on copies of src/dst (element offsets into each); returns the whole dst buffer. */
function copy(
  m: number, n: number, src: ArrayLike<number>, srcOff: number, ldSrc: number,
  dst: ArrayLike<number>, dstOff: number, ldDst: number, beta: number,
): Float32Array {
  const mk = arena.mark();
  const sp = arena.putF32(src), dp = arena.putF32(dst);
  call("cols_copy_f32x4", m, n, sp + 4 * srcOff, ldSrc, dp + 4 * dstOff, ldDst, beta);
  const out = arena.readF32(dp, dst.length);
  arena.release(mk);
  return out;
}

test("matches the float64 reference for every beta, offset and size (untouched elements preserved)", () => {
  const rng = new Rng(61);
  for (const m of [1, 3, 5, 17]) for (const n of [1, 3, 5, 17, 64, 130]) {
    const so = rng.int(4), doff = rng.int(4);
    const ldS = n + so + rng.int(3), ldD = n + doff + rng.int(3);
    const src = rng.f32(m * ldS), dst = rng.f32(m * ldD);
    for (const beta of [0, 1, 0.5, -2]) {
      const got = copy(m, n, src, so, ldS, dst, doff, ldD, beta);
      assertClose(got, colsCopyRef(m, n, src, so, ldS, dst, doff, ldD, beta), { rtol: 1e-6, atol: 1e-7, name: `${m}x${n} beta=${beta}` });
    }
  }
  // contiguous fast path (ld = n both sides)
  const src = rng.f32(7 * 9);
  assertClose(copy(7, 9, src, 0, 9, new Float32Array(63).fill(NaN), 0, 9, 0), src, { rtol: 0, atol: 0, name: "flat copy" });
});

test("beta 0 never reads dst (NaN-filled destination); m or n = 0 is a no-op", () => {
  const rng = new Rng(62);
  const m = 5, n = 7, ld = 10;
  const src = rng.f32(m * n);
  const got = copy(m, n, src, 0, n, new Float32Array(m * ld).fill(NaN), 2, ld, 0);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) assert.is(got[i * ld + 2 + j], src[i * n + j]);
  assert.ok(copy(0, 3, src, 0, 3, [1, 2, 3], 0, 3, 0).every((v, i) => v === i + 1));
  assert.ok(copy(3, 0, src, 0, 1, [1, 2, 3], 0, 1, 0).every((v, i) => v === i + 1));
});

test("concat forward (one call per part) and its backward (slices of dy) vs float64 and central differences", () => {
  const rng = new Rng(63);
  const m = 6;
  const widths = [3, 1, 5, 8]; // column offsets 0, 3, 4, 9: mostly unaligned
  const W = widths.reduce((a, b) => a + b, 0);
  const parts = widths.map((n) => ({ n, data: rng.f32(m * n) }));
  const mk = arena.mark();
  const out = arena.putF32(new Float32Array(m * W).fill(NaN));
  let col = 0;
  for (const p of parts) {
    call("cols_copy_f32x4", m, p.n, arena.putF32(p.data), p.n, out + 4 * col, W, 0);
    col += p.n;
  }
  assertClose(arena.readF32(out, m * W), concatRef(m, parts), { rtol: 0, atol: 0, name: "concat" });
  // backward: part k's gradient = columns [col_k, col_k + n_k) of dy, accumulated (beta 1) into an old gradient
  const r = rng.f32(m * W);
  const rp = arena.putF32(r);
  col = 0;
  for (let k = 0; k < parts.length; k++) {
    const n = widths[k];
    const L = (v: Float64Array) => {
      const ps = parts.map((p, j) => (j === k ? { n, data: v } : p));
      return concatRef(m, ps).reduce((s, y, i) => s + r[i] * y, 0);
    };
    const g = finiteDiff(L, toF64(parts[k].data));
    const old = rng.f32(m * n);
    const gp = arena.putF32(old);
    call("cols_copy_f32x4", m, n, rp + 4 * col, W, gp, n, 1);
    const got = arena.readF32(gp, m * n);
    assertRelErr(Array.from(got, (v, i) => v - old[i]), g, 1e-3, `concat part ${k}`);
    col += n;
  }
  arena.release(mk);
});

test("slice forward and its backward (scatter into dx columns, beta 0 and 1) vs float64 and central differences", () => {
  const rng = new Rng(64);
  for (const [m, W, c0, n] of [[4, 11, 3, 5], [3, 17, 1, 16], [5, 6, 5, 1], [2, 130, 2, 127]] as const) {
    const x = rng.f32(m * W);
    const mk = arena.mark();
    const xp = arena.putF32(x), yp = arena.alloc(m * n);
    call("cols_copy_f32x4", m, n, xp + 4 * c0, W, yp, n, 0);
    assertClose(arena.readF32(yp, m * n), sliceRef(m, W, x, c0, n), { rtol: 0, atol: 0, name: "slice" });
    const r = rng.f32(m * n);
    const g = finiteDiff((v) => sliceRef(m, W, v, c0, n).reduce((s, y, i) => s + r[i] * y, 0), toF64(x));
    // dx columns outside the slice get no gradient: the caller zeroes dx (beta 0 path of other consumers)
    const dxp = arena.putF32(new Float32Array(m * W));
    const rp = arena.putF32(r);
    call("cols_copy_f32x4", m, n, rp, n, dxp + 4 * c0, W, 0);
    assertRelErr(arena.readF32(dxp, m * W), g, 1e-3, `slice dx ${m}x${W}[${c0}:${c0 + n}]`);
    call("cols_copy_f32x4", m, n, rp, n, dxp + 4 * c0, W, 1);
    assertRelErr(arena.readF32(dxp, m * W), Array.from(g, (v) => 2 * v), 1e-3, "slice dx accumulated twice");
    arena.release(mk);
  }
});

test.run();
