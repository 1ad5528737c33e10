// Cross-stitch kernels: forward vs float64, backward (dx_j, dalpha) vs float64 central differences, beta
// semantics, and the 0 entries of the address tables (a missing dy reads as zero, a missing dx is not written).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup, Rng, finiteDiff, assertClose, assertRelErr, toF64, guarded } from "../helpers.ts";
import { crossStitchRef } from "../ref/cross-stitch.ts";

const { arena, call } = await setup();
const G = guarded(arena);

/** A u32 address table in wasm memory. */
const table = (ptrs: number[]) => arena.putI32(ptrs);

function fwd(t: number, len: number, xs: Float32Array[], alpha: Float32Array): Float32Array[] {
  const mk = arena.mark();
  const xp = xs.map((x) => arena.putF32(x)), yp = xs.map(() => G.out(len));
  call("cross_stitch_fwd_f32x4", t, len, table(xp), arena.putF32(alpha), table(yp));
  const ys = yp.map((p, i) => (G.guardIntact(p, len, `y${i}`), arena.readF32(p, len)));
  arena.release(mk);
  return ys;
}

interface Bwd {
  dx: (Float32Array | null)[];
  da: Float32Array | null;
}

/** dys[i] null: table entry 0; skipDx[j] / skipDa: not written (table entry 0 / dalpha_ptr 0). */
function bwd(t: number, len: number, xs: Float32Array[], alpha: Float32Array, dys: (Float32Array | null)[], beta: number, init?: { dx: Float32Array[]; da: Float32Array }, skipDx: boolean[] = [], skipDa = false): Bwd {
  const mk = arena.mark();
  const xp = xs.map((x) => arena.putF32(x));
  const dyp = dys.map((d) => (d ? arena.putF32(d) : 0));
  const dxp = xs.map((_, j) => (skipDx[j] ? 0 : G.out(len, init ? init.dx[j] : NaN)));
  const dap = skipDa ? 0 : G.out(t * t, init ? init.da : NaN);
  call("cross_stitch_bwd_f32x4", t, len, table(xp), arena.putF32(alpha), table(dyp), table(dxp), dap, beta);
  const out: Bwd = {
    dx: dxp.map((p, j) => (p ? (G.guardIntact(p, len, `dx${j}`), arena.readF32(p, len)) : null)),
    da: dap ? (G.guardIntact(dap, t * t, "dalpha"), arena.readF32(dap, t * t)) : null,
  };
  arena.release(mk);
  return out;
}

const SHAPES: [number, number][] = [[1, 1], [2, 1], [2, 3], [2, 16], [3, 17], [3, 70], [4, 5], [5, 129]];

test("forward matches float64 over a covering set of shapes (16-wide blocks, 4-wide, scalar tails)", () => {
  const rng = new Rng(31);
  for (const [t, len] of SHAPES) {
    const xs = Array.from({ length: t }, () => rng.f32(len)), alpha = rng.f32(t * t);
    const ys = fwd(t, len, xs, alpha), ref = crossStitchRef(t, len, xs, alpha);
    ys.forEach((y, i) => assertClose(y, ref[i], { rtol: 1e-5, atol: 1e-6, name: `y${i} t=${t} len=${len}` }));
  }
});

test("backward dx and dalpha match float64 central differences of ⟨r, y⟩", () => {
  const rng = new Rng(32);
  for (const [t, len] of SHAPES) {
    const xs = Array.from({ length: t }, () => rng.f32(len)), alpha = rng.f32(t * t);
    const r = Array.from({ length: t }, () => rng.f32(len));
    const dot = (ys: Float64Array[]) => ys.reduce((s, y, i) => s + y.reduce((a, v, c) => a + r[i][c] * v, 0), 0);
    const { dx, da } = bwd(t, len, xs, alpha, r, 0);
    xs.forEach((x, j) => {
      const num = finiteDiff((v) => dot(crossStitchRef(t, len, xs.map((q, k) => (k === j ? v : q)), alpha)), toF64(x));
      assertRelErr(dx[j]!, num, 1e-4, `dx${j} t=${t} len=${len}`);
    });
    assertRelErr(da!, finiteDiff((v) => dot(crossStitchRef(t, len, xs, v)), toF64(alpha)), 1e-4, `dalpha t=${t} len=${len}`);
  }
});

test("backward beta: 0 ignores NaN gradients, 1 accumulates, 0.5 scales", () => {
  const rng = new Rng(33);
  for (const [t, len] of [[2, 3], [3, 21], [4, 64]] as const) {
    const xs = Array.from({ length: t }, () => rng.f32(len)), alpha = rng.f32(t * t), dy = xs.map(() => rng.f32(len));
    const fresh = bwd(t, len, xs, alpha, dy, 0);
    for (const a of [...fresh.dx, fresh.da]) for (const v of a!) assert.ok(Number.isFinite(v), "beta 0 must not read");
    const old = { dx: xs.map(() => rng.f32(len)), da: rng.f32(t * t) };
    for (const beta of [1, 0.5]) {
      const acc = bwd(t, len, xs, alpha, dy, beta, old);
      acc.dx.forEach((d, j) => assertClose(d!, Array.from(old.dx[j], (o, c) => beta * o + fresh.dx[j]![c]), { rtol: 1e-6, atol: 1e-6, name: `dx${j} beta ${beta}` }));
      assertClose(acc.da!, Array.from(old.da, (o, c) => beta * o + fresh.da![c]), { rtol: 1e-6, atol: 1e-6, name: `dalpha beta ${beta}` });
    }
  }
});

test("a 0 dy entry is a zero gradient; 0 dx entries and dalpha_ptr 0 are left alone", () => {
  const rng = new Rng(34);
  const t = 3, len = 19;
  const xs = Array.from({ length: t }, () => rng.f32(len)), alpha = rng.f32(t * t), dy = xs.map(() => rng.f32(len));
  const zero = new Float32Array(len);
  const want = bwd(t, len, xs, alpha, [dy[0], zero, dy[2]], 0);
  // Address 0 holds non-zero data while the kernel runs: a kernel that reads through a 0 entry sees it.
  const heap = arena.heapF32(), saved = heap.slice(0, len);
  heap.fill(7, 0, len);
  const got = bwd(t, len, xs, alpha, [dy[0], null, dy[2]], 0);
  arena.heapF32().set(saved);
  got.dx.forEach((d, j) => assert.equal(Array.from(d!), Array.from(want.dx[j]!), `dx${j}`));
  assert.equal(Array.from(got.da!), Array.from(want.da!));
  const low = () => Array.from(arena.heapF32().subarray(0, 4 * len));
  const before = low();
  const some = bwd(t, len, xs, alpha, dy, 0, undefined, [false, true, false], true);
  assert.equal(low(), before, "wrote through a 0 address");
  assert.is(some.dx[1], null);
  assert.is(some.da, null);
  const all = bwd(t, len, xs, alpha, dy, 0);
  assert.equal(Array.from(some.dx[2]!), Array.from(all.dx[2]!));
});

test.run();
