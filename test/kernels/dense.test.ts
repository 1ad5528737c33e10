// Dense kernels vs the float64 reference (forward) and central finite differences (backward).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup, guarded, Rng, finiteDiff, assertClose, assertRelErr, toF64 } from "../helpers.ts";
import { denseFwd, denseBwdX, denseBwdW, denseObjective } from "../ref/dense.ts";

const { arena, call } = await setup();
const { out, guardIntact } = guarded(arena);




/** Per-element f32 accumulation bound for Σ_p a_p·b_p (+ c): 2·(k+2)·u·(Σ|a_p b_p| + |c|), u = 2⁻²⁴. */
function gemmTol(absSum: Float64Array, k: number): Float64Array {
  const u = 2 ** -24;
  return absSum.map((s) => 2 * (k + 2) * u * s + 1e-30);
}

function assertWithin(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: ArrayLike<number>, name: string): void {
  assert.is(actual.length, expected.length, `${name}: length`);
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= tol[i])) throw new Error(`${name}[${i}] = ${actual[i]}, expected ${expected[i]} (|diff| ${d} > tol ${tol[i]})`);
  }
}

const abs = (a: ArrayLike<number>) => Float64Array.from(a, Math.abs);

/** Shapes with every tail: m % 4, n % 8, n % 4 and k all take several residues; a few multiples too. */
function shapes(seed: number, count: number, maxDim: number): [number, number, number][] {
  const rng = new Rng(seed);
  const s: [number, number, number][] = [[4, 8, 8], [1, 1, 1], [5, 3, 13], [8, 16, 12], [7, 9, 6], [3, 2, 17]];
  while (s.length < count) s.push([1 + rng.int(maxDim), 1 + rng.int(maxDim), 1 + rng.int(maxDim)]);
  return s;
}

test("dense_fwd_f32x4 matches the float64 reference (bias on/off, identity/relu, tails)", () => {
  const rng = new Rng(101);
  let zeros = 0, positives = 0;
  for (const [m, k, n] of [...shapes(1, 16, 40), [67, 45, 37], [33, 130, 20], [150, 20, 9]] as [number, number, number][]) {
    for (const hasBias of [true, false]) {
      for (const act of [0, 1] as const) {
        const mark = arena.mark();
        const x = rng.f32(m * k), w = rng.f32(k * n), b = hasBias ? rng.f32(n) : null;
        const xp = arena.putF32(x), wp = arena.putF32(w), bp = b ? arena.putF32(b) : 0, yp = out(m * n);
        call("dense_fwd_f32x4", m, k, n, xp, wp, bp, yp, act);
        const y = arena.readF32(yp, m * n);
        const ref = denseFwd(m, k, n, x, w, b, act);
        const tol = gemmTol(denseFwd(m, k, n, abs(x), abs(w), b ? abs(b) : null, 0), k);
        assertWithin(y, ref, tol, `fwd ${m}x${k}x${n} bias=${hasBias} act=${act}`);
        guardIntact(yp, m * n, "Y");
        if (act === 1) for (const v of y) v === 0 ? zeros++ : v > 0 && positives++;
        arena.release(mark);
      }
    }
  }
  assert.ok(zeros > 100 && positives > 100, `relu path exercised (zeros ${zeros}, positives ${positives})`);
});

test("dense_fwd_f32x4 with unaligned (4-byte offset) pointers", () => {
  const rng = new Rng(7);
  const [m, k, n] = [9, 13, 21];
  const x = rng.f32(m * k), w = rng.f32(k * n), b = rng.f32(n);
  const xp = arena.putF32([0, ...x]) + 4, wp = arena.putF32([0, 0, ...w]) + 8, bp = arena.putF32([0, 0, 0, ...b]) + 12;
  const yp = out(m * n + 1) + 4;
  call("dense_fwd_f32x4", m, k, n, xp, wp, bp, yp, 1);
  const ref = denseFwd(m, k, n, x, w, b, 1);
  assertWithin(arena.readF32(yp, m * n), ref, gemmTol(denseFwd(m, k, n, abs(x), abs(w), abs(b), 0), k), "fwd unaligned");
});

test("zero sizes: nothing read or written where nothing is due", () => {
  const rng = new Rng(9);
  // k = 0: Y = act(b), or 0 without bias.
  const b = rng.f32(11);
  const yp = out(3 * 11);
  call("dense_fwd_f32x4", 3, 0, 11, 0, 0, arena.putF32(b), yp, 1);
  assertClose(arena.readF32(yp, 33), Array.from({ length: 33 }, (_, i) => Math.max(b[i % 11], 0)), { name: "k=0 fwd" });
  call("dense_fwd_f32x4", 3, 0, 11, 0, 0, 0, yp, 0);
  assertClose(arena.readF32(yp, 33), new Float32Array(33), { name: "k=0 fwd no bias" });
  // m = 0 or n = 0: the output is untouched.
  const y2 = out(8, 5);
  call("dense_fwd_f32x4", 0, 4, 2, 0, 0, 0, y2, 0);
  call("dense_fwd_f32x4", 2, 4, 0, 0, 0, 0, y2, 0);
  assertClose(arena.readF32(y2, 8), new Float32Array(8).fill(5), { name: "m=0/n=0 fwd" });
  // bwd_w with m = 0: dW = beta·dW, db = beta·db (beta 0 overwrites NaN garbage with 0).
  const dwp = out(6), dbp = out(3);
  call("dense_bwd_w_f32x4", 0, 2, 3, 0, 0, dwp, dbp, 0);
  assertClose(arena.readF32(dwp, 6), new Float32Array(6), { name: "m=0 dW" });
  assertClose(arena.readF32(dbp, 3), new Float32Array(3), { name: "m=0 db" });
  guardIntact(dwp, 6, "dW");
  guardIntact(dbp, 3, "db");
  // bwd_x with n = 0: dX = 0 for beta 0.
  const dxp = out(6);
  call("dense_bwd_x_f32x4", 2, 3, 0, 0, 0, dxp, 0);
  assertClose(arena.readF32(dxp, 6), new Float32Array(6), { name: "n=0 dX" });
  guardIntact(dxp, 6, "dX");
});

/** Draw X, W, b, R with every pre-activation at least 1e-3 from the relu kink. */
function draw(rng: Rng, m: number, k: number, n: number) {
  for (;;) {
    const x = rng.f32(m * k), w = rng.f32(k * n), b = rng.f32(n), r = rng.f32(m * n);
    const z = denseFwd(m, k, n, x, w, b, 0);
    if (z.every((v) => Math.abs(v) >= 1e-3)) return { x, w, b, r, z };
  }
}

test("backward kernels vs central finite differences of L = Σ R ⊙ act(XW + b)", () => {
  const rng = new Rng(202);
  for (const [m, k, n] of shapes(2, 14, 14)) {
    for (const act of [0, 1] as const) {
      const mark = arena.mark();
      const { x, w, b, r, z } = draw(rng, m, k, n);
      // dY = R ⊙ act'(Z): what the activation's backward hands to the dense backward.
      const dy = Float32Array.from(r, (v, i) => (act === 1 && z[i] < 0 ? 0 : v));
      const xp = arena.putF32(x), wp = arena.putF32(w), dyp = arena.putF32(dy);
      const dxp = out(m * k), dwp = out(k * n), dbp = out(n);
      call("dense_bwd_x_f32x4", m, k, n, dyp, wp, dxp, 0);
      call("dense_bwd_w_f32x4", m, k, n, xp, dyp, dwp, dbp, 0);

      const X = toF64(x), W = toF64(w), B = toF64(b);
      const gx = finiteDiff((v) => denseObjective(m, k, n, v, W, B, act, r), X);
      const gw = finiteDiff((v) => denseObjective(m, k, n, X, v, B, act, r), W);
      const gb = finiteDiff((v) => denseObjective(m, k, n, X, W, v, act, r), B);
      const tag = `${m}x${k}x${n} act=${act}`;
      assertRelErr(arena.readF32(dxp, m * k), gx, 1e-3, `dX ${tag}`);
      assertRelErr(arena.readF32(dwp, k * n), gw, 1e-3, `dW ${tag}`);
      assertRelErr(arena.readF32(dbp, n), gb, 1e-3, `db ${tag}`);
      guardIntact(dxp, m * k, "dX");
      guardIntact(dwp, k * n, "dW");
      guardIntact(dbp, n, "db");
      arena.release(mark);
    }
  }
});

test("backward kernels vs the float64 reference at larger shapes (NaN-filled outputs, beta = 0)", () => {
  const rng = new Rng(303);
  for (const [m, k, n] of [[64, 64, 64], [130, 17, 67], [37, 130, 45], [128, 33, 9]] as [number, number, number][]) {
    const mark = arena.mark();
    const x = rng.f32(m * k), w = rng.f32(k * n), dy = rng.f32(m * n);
    const xp = arena.putF32(x), wp = arena.putF32(w), dyp = arena.putF32(dy);
    const dxp = out(m * k), dwp = out(k * n), dbp = out(n);
    call("dense_bwd_x_f32x4", m, k, n, dyp, wp, dxp, 0);
    call("dense_bwd_w_f32x4", m, k, n, xp, dyp, dwp, dbp, 0);
    const tag = `${m}x${k}x${n}`;
    assertWithin(arena.readF32(dxp, m * k), denseBwdX(m, k, n, dy, w), gemmTol(denseBwdX(m, k, n, abs(dy), abs(w)), n), `dX ${tag}`);
    const ref = denseBwdW(m, k, n, x, dy), absRef = denseBwdW(m, k, n, abs(x), abs(dy));
    assertWithin(arena.readF32(dwp, k * n), ref.dw, gemmTol(absRef.dw, m), `dW ${tag}`);
    assertWithin(arena.readF32(dbp, n), ref.db, gemmTol(absRef.db, m), `db ${tag}`);
    guardIntact(dxp, m * k, "dX");
    guardIntact(dwp, k * n, "dW");
    guardIntact(dbp, n, "db");
    arena.release(mark);
  }
});

test("beta = 1 accumulates (old + new) and beta = 0.5 scales the old gradient", () => {
  const rng = new Rng(404);
  for (const [m, k, n] of [...shapes(4, 10, 30), [150, 9, 11], [261, 5, 3]] as [number, number, number][]) {
    for (const beta of [1, 0.5]) {
      const mark = arena.mark();
      const x = rng.f32(m * k), w = rng.f32(k * n), dy = rng.f32(m * n);
      const oldX = rng.f32(m * k), oldW = rng.f32(k * n), oldB = rng.f32(n);
      const xp = arena.putF32(x), wp = arena.putF32(w), dyp = arena.putF32(dy);
      const dxp = out(m * k, oldX), dwp = out(k * n, oldW), dbp = out(n, oldB);
      call("dense_bwd_x_f32x4", m, k, n, dyp, wp, dxp, beta);
      call("dense_bwd_w_f32x4", m, k, n, xp, dyp, dwp, dbp, beta);
      const gx = denseBwdX(m, k, n, dy, w), { dw: gw, db: gb } = denseBwdW(m, k, n, x, dy);
      const ax = denseBwdX(m, k, n, abs(dy), abs(w)), { dw: aw, db: ab } = denseBwdW(m, k, n, abs(x), abs(dy));
      const tag = `${m}x${k}x${n} beta=${beta}`;
      const acc = (old: Float32Array, g: Float64Array) => g.map((v, i) => beta * old[i] + v);
      const tolAcc = (old: Float32Array, a: Float64Array, r: number) => gemmTol(a, r).map((t, i) => t + 4 * 2 ** -24 * (Math.abs(old[i]) + a[i]));
      assertWithin(arena.readF32(dxp, m * k), acc(oldX, gx), tolAcc(oldX, ax, n), `dX ${tag}`);
      assertWithin(arena.readF32(dwp, k * n), acc(oldW, gw), tolAcc(oldW, aw, m), `dW ${tag}`);
      assertWithin(arena.readF32(dbp, n), acc(oldB, gb), tolAcc(oldB, ab, m), `db ${tag}`);
      // Same data with beta = 0 into NaN buffers: the accumulated result is beta·old + that.
      const fx = out(m * k), fw = out(k * n), fb = out(n);
      call("dense_bwd_x_f32x4", m, k, n, dyp, wp, fx, 0);
      call("dense_bwd_w_f32x4", m, k, n, xp, dyp, fw, fb, 0);
      const sum = (old: Float32Array, fresh: Float32Array) => Float64Array.from(fresh, (v, i) => beta * old[i] + v);
      assertClose(arena.readF32(dxp, m * k), sum(oldX, arena.readF32(fx, m * k)), { rtol: 1e-6, atol: 1e-6, name: `dX old+new ${tag}` });
      assertClose(arena.readF32(dwp, k * n), sum(oldW, arena.readF32(fw, k * n)), { rtol: 1e-6, atol: 1e-6, name: `dW old+new ${tag}` });
      assertClose(arena.readF32(dbp, n), sum(oldB, arena.readF32(fb, n)), { rtol: 1e-6, atol: 1e-6, name: `db old+new ${tag}` });
      arena.release(mark);
    }
  }
});

test("dense_bwd_w_f32x4 with db_ptr = 0 computes dW and writes no bias gradient", () => {
  const rng = new Rng(505);
  const [m, k, n] = [11, 7, 19];
  const x = rng.f32(m * k), dy = rng.f32(m * n);
  const xp = arena.putF32(x), dyp = arena.putF32(dy), dwp = out(k * n);
  const low = new Uint8Array(arena.memory.buffer, 0, 4 * n + 64).slice(); // where a db at address 0 would land
  call("dense_bwd_w_f32x4", m, k, n, xp, dyp, dwp, 0, 0);
  assert.equal(new Uint8Array(arena.memory.buffer, 0, 4 * n + 64), low, "memory at address 0 untouched");
  const ref = denseBwdW(m, k, n, x, dy);
  assertWithin(arena.readF32(dwp, k * n), ref.dw, gemmTol(denseBwdW(m, k, n, abs(x), abs(dy)).dw, m), "dW no-bias");
  guardIntact(dwp, k * n, "dW");
});

test.run();
