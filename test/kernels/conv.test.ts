// conv2d kernels vs the direct float64 convolution (forward) and central finite differences (backward).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup, guarded, Rng, finiteDiff, assertClose, assertRelErr, toF64 } from "../helpers.ts";
import { convDims, convFwd, convBwd, convObjective, CONV_FIELDS, type ConvDims, type Padding } from "../ref/conv.ts";

const { arena, call } = await setup();
const { out, guardIntact } = guarded(arena);




function params(d: ConvDims): number {
  return arena.putI32(CONV_FIELDS.map((f) => d[f]));
}

const K = (d: ConvDims) => d.c_in * d.kh * d.kw;
const P = (d: ConvDims) => d.h_out * d.w_out;
const xLen = (d: ConvDims) => d.n * d.c_in * d.h * d.w;
const yLen = (d: ConvDims) => d.n * d.c_out * P(d);
const wLen = (d: ConvDims) => d.c_out * K(d);
const abs = (a: ArrayLike<number>) => Float64Array.from(a, Math.abs);

/** f32 accumulation bound for sums of `terms` products with |.|-sum absSum. */
function tolOf(absSum: Float64Array, terms: number): Float64Array {
  return absSum.map((s) => 2 * (terms + 2) * 2 ** -24 * s + 1e-30);
}

function assertWithin(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: ArrayLike<number>, name: string): void {
  assert.is(actual.length, expected.length, `${name}: length`);
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= tol[i])) throw new Error(`${name}[${i}] = ${actual[i]}, expected ${expected[i]} (|diff| ${d} > tol ${tol[i]})`);
  }
}

type Case = { n: number; c_in: number; h: number; w: number; c_out: number; kh: number; kw: number; s: [number, number]; dl: [number, number]; pad: Padding };
const tag = (c: Case) => `n${c.n} c${c.c_in}→${c.c_out} ${c.h}×${c.w} k${c.kh}×${c.kw} s${c.s} d${c.dl} pad=${JSON.stringify(c.pad)}`;

/** The grid: strides 1/2, dilations 1/2, valid/same/asymmetric explicit pads, odd channel counts, 1×1 kernels, batch 1 and > 1. */
function grid(seed: number, count: number): Case[] {
  const cases: Case[] = [
    { n: 2, c_in: 3, h: 7, w: 9, c_out: 5, kh: 3, kw: 3, s: [1, 1], dl: [1, 1], pad: "valid" },
    { n: 1, c_in: 1, h: 8, w: 8, c_out: 4, kh: 3, kw: 3, s: [1, 1], dl: [1, 1], pad: "same" },
    { n: 3, c_in: 2, h: 9, w: 11, c_out: 7, kh: 3, kw: 2, s: [2, 2], dl: [1, 1], pad: "same" },
    { n: 2, c_in: 5, h: 6, w: 10, c_out: 9, kh: 1, kw: 1, s: [1, 1], dl: [1, 1], pad: "valid" }, // pointwise: no im2col
    { n: 2, c_in: 3, h: 7, w: 7, c_out: 6, kh: 1, kw: 1, s: [2, 2], dl: [1, 1], pad: "valid" }, // 1×1 strided: im2col
    { n: 1, c_in: 2, h: 10, w: 9, c_out: 3, kh: 3, kw: 3, s: [1, 2], dl: [2, 2], pad: [2, 1, 0, 3] },
    { n: 2, c_in: 4, h: 5, w: 13, c_out: 10, kh: 2, kw: 5, s: [2, 1], dl: [1, 2], pad: [0, 3, 1, 2] },
    { n: 1, c_in: 3, h: 4, w: 4, c_out: 17, kh: 4, kw: 4, s: [1, 1], dl: [1, 1], pad: "valid" }, // 1×1 output
    { n: 2, c_in: 1, h: 12, w: 12, c_out: 8, kh: 5, kw: 5, s: [3, 3], dl: [1, 1], pad: [2, 2, 2, 2] },
  ];
  const rng = new Rng(seed);
  while (cases.length < count) {
    const kh = 1 + rng.int(4), kw = 1 + rng.int(4), dl: [number, number] = [1 + rng.int(2), 1 + rng.int(2)];
    const h = dl[0] * (kh - 1) + 1 + rng.int(9), w = dl[1] * (kw - 1) + 1 + rng.int(12);
    const pk = rng.int(3);
    const pad: Padding = pk === 0 ? "valid" : pk === 1 ? "same" : [rng.int(3), rng.int(3), rng.int(3), rng.int(3)];
    cases.push({ n: 1 + rng.int(3), c_in: 1 + rng.int(6), h, w, c_out: 1 + rng.int(13), kh, kw, s: [1 + rng.int(2), 1 + rng.int(2)], dl, pad });
  }
  return cases;
}

const dimsOf = (c: Case) => convDims(c.n, c.c_in, c.h, c.w, c.c_out, c.kh, c.kw, c.s, c.dl, c.pad);

test("padding resolution: same keeps ⌈in/stride⌉, valid shrinks, explicit as given", () => {
  const s = convDims(1, 1, 9, 11, 1, 3, 2, [2, 2], [1, 1], "same");
  assert.equal([s.h_out, s.w_out, s.pad_top, s.pad_bottom, s.pad_left, s.pad_right], [5, 6, 1, 1, 0, 1]);
  const v = convDims(1, 1, 9, 11, 1, 3, 3, [1, 1], [2, 2], "valid");
  assert.equal([v.h_out, v.w_out], [5, 7]);
});

test("conv2d_fwd_f32x4 matches the direct float64 convolution (grid; bias on/off; identity/relu)", () => {
  const rng = new Rng(11);
  let zeros = 0, positives = 0;
  for (const c of grid(1, 40)) {
    const d = dimsOf(c);
    for (const hasBias of [true, false]) {
      for (const act of [0, 1] as const) {
        const mark = arena.mark();
        const x = rng.f32(xLen(d)), wt = rng.f32(wLen(d)), b = hasBias ? rng.f32(d.c_out) : null;
        const xp = arena.putF32(x), wp = arena.putF32(wt), bp = b ? arena.putF32(b) : 0;
        const yp = out(yLen(d)), colp = out(K(d) * P(d));
        call("conv2d_fwd_f32x4", params(d), xp, wp, bp, yp, colp, act);
        const y = arena.readF32(yp, yLen(d));
        const ref = convFwd(d, x, wt, b, act);
        assertWithin(y, ref, tolOf(convFwd(d, abs(x), abs(wt), b ? abs(b) : null, 0), K(d)), `fwd ${tag(c)} bias=${hasBias} act=${act}`);
        guardIntact(yp, yLen(d), "Y");
        guardIntact(colp, K(d) * P(d), "scratch");
        assert.equal(arena.readF32(xp, x.length), x, "X untouched");
        assert.equal(arena.readF32(wp, wt.length), wt, "W untouched");
        if (act === 1) for (const v of y) v === 0 ? zeros++ : v > 0 && positives++;
        arena.release(mark);
      }
    }
  }
  assert.ok(zeros > 100 && positives > 100, `relu exercised (zeros ${zeros}, positives ${positives})`);
});

test("conv2d_fwd_f32x4 with K > 256 (the reduction runs in blocks: bias on the first, relu on the last)", () => {
  const rng = new Rng(12);
  for (const c of [
    { n: 2, c_in: 33, h: 6, w: 7, c_out: 6, kh: 3, kw: 3, s: [1, 1], dl: [1, 1], pad: "same" },
    { n: 1, c_in: 300, h: 3, w: 5, c_out: 9, kh: 1, kw: 1, s: [1, 1], dl: [1, 1], pad: "valid" },
    { n: 1, c_in: 60, h: 5, w: 5, c_out: 5, kh: 3, kw: 3, s: [1, 1], dl: [1, 1], pad: "valid" },
  ] as Case[]) {
    const d = dimsOf(c);
    for (const act of [0, 1] as const) {
      const mark = arena.mark();
      const x = rng.f32(xLen(d)), wt = rng.f32(wLen(d)), b = rng.f32(d.c_out);
      const yp = out(yLen(d)), colp = out(K(d) * P(d));
      call("conv2d_fwd_f32x4", params(d), arena.putF32(x), arena.putF32(wt), arena.putF32(b), yp, colp, act);
      assertWithin(arena.readF32(yp, yLen(d)), convFwd(d, x, wt, b, act), tolOf(convFwd(d, abs(x), abs(wt), abs(b), 0), K(d)), `fwd ${tag(c)} act=${act}`);
      guardIntact(yp, yLen(d), "Y");
      arena.release(mark);
    }
  }
});

test("backward kernels vs central finite differences of L = Σ R ⊙ act(conv(X, W) + b)", () => {
  const rng = new Rng(21);
  for (const c of grid(2, 22)) {
    const d = dimsOf(c);
    for (const act of [0, 1] as const) {
      const mark = arena.mark();
      let x: Float32Array, wt: Float32Array, b: Float32Array, z: Float64Array;
      // keep every pre-activation at least 1e-3 from the relu kink
      for (;;) {
        x = rng.f32(xLen(d)); wt = rng.f32(wLen(d)); b = rng.f32(d.c_out);
        z = convFwd(d, x, wt, b, 0);
        if (act === 0 || z.every((v) => Math.abs(v) >= 1e-3)) break;
      }
      const r = rng.f32(yLen(d));
      const dy = Float32Array.from(r, (v, i) => (act === 1 && z[i] < 0 ? 0 : v)); // relu_bwd's output
      const pp = params(d), xp = arena.putF32(x), wp = arena.putF32(wt), dyp = arena.putF32(dy);
      const dxp = out(xLen(d)), dwp = out(wLen(d)), dbp = out(d.c_out), colp = out(K(d) * P(d));
      call("conv2d_bwd_x_f32x4", pp, dyp, wp, dxp, colp, 0);
      call("conv2d_bwd_w_f32x4", pp, xp, dyp, dwp, dbp, colp, 0);
      const X = toF64(x), W = toF64(wt), B = toF64(b);
      const gx = finiteDiff((v) => convObjective(d, v, W, B, act, r), X);
      const gw = finiteDiff((v) => convObjective(d, X, v, B, act, r), W);
      const gb = finiteDiff((v) => convObjective(d, X, W, v, act, r), B);
      const t = `${tag(c)} act=${act}`;
      assertRelErr(arena.readF32(dxp, xLen(d)), gx, 1e-3, `dX ${t}`);
      assertRelErr(arena.readF32(dwp, wLen(d)), gw, 1e-3, `dW ${t}`);
      assertRelErr(arena.readF32(dbp, d.c_out), gb, 1e-3, `db ${t}`);
      guardIntact(dxp, xLen(d), "dX");
      guardIntact(dwp, wLen(d), "dW");
      guardIntact(dbp, d.c_out, "db");
      guardIntact(colp, K(d) * P(d), "scratch");
      assert.equal(arena.readF32(dyp, dy.length), dy, "dY untouched");
      assert.equal(arena.readF32(xp, x.length), x, "X untouched");
      arena.release(mark);
    }
  }
});

test("backward kernels vs the float64 adjoint on the grid, elementwise (NaN-filled outputs, beta = 0)", () => {
  const rng = new Rng(31);
  for (const c of grid(3, 40)) {
    const d = dimsOf(c);
    const mark = arena.mark();
    const x = rng.f32(xLen(d)), wt = rng.f32(wLen(d)), dy = rng.f32(yLen(d));
    const pp = params(d), dxp = out(xLen(d)), dwp = out(wLen(d)), dbp = out(d.c_out), colp = out(K(d) * P(d));
    call("conv2d_bwd_x_f32x4", pp, arena.putF32(dy), arena.putF32(wt), dxp, colp, 0);
    call("conv2d_bwd_w_f32x4", pp, arena.putF32(x), arena.putF32(dy), dwp, dbp, colp, 0);
    const ref = convBwd(d, x, wt, dy), a = convBwd(d, abs(x), abs(wt), abs(dy));
    const t = tag(c);
    assertWithin(arena.readF32(dxp, xLen(d)), ref.dx, tolOf(a.dx, d.c_out * d.kh * d.kw), `dX ${t}`);
    assertWithin(arena.readF32(dwp, wLen(d)), ref.dw, tolOf(a.dw, d.n * P(d)), `dW ${t}`);
    assertWithin(arena.readF32(dbp, d.c_out), ref.db, tolOf(a.db, d.n * P(d)), `db ${t}`);
    guardIntact(dxp, xLen(d), "dX");
    guardIntact(dwp, wLen(d), "dW");
    guardIntact(dbp, d.c_out, "db");
    arena.release(mark);
  }
});

test("beta = 1 accumulates and beta = 0.5 scales the old gradient (dX, dW, db)", () => {
  const rng = new Rng(41);
  for (const c of grid(4, 16)) {
    const d = dimsOf(c);
    for (const beta of [1, 0.5]) {
      const mark = arena.mark();
      const x = rng.f32(xLen(d)), wt = rng.f32(wLen(d)), dy = rng.f32(yLen(d));
      const oldX = rng.f32(xLen(d)), oldW = rng.f32(wLen(d)), oldB = rng.f32(d.c_out);
      const pp = params(d), xp = arena.putF32(x), wp = arena.putF32(wt), dyp = arena.putF32(dy), colp = out(K(d) * P(d));
      const dxp = out(xLen(d), oldX), dwp = out(wLen(d), oldW), dbp = out(d.c_out, oldB);
      call("conv2d_bwd_x_f32x4", pp, dyp, wp, dxp, colp, beta);
      call("conv2d_bwd_w_f32x4", pp, xp, dyp, dwp, dbp, colp, beta);
      const fx = out(xLen(d)), fw = out(wLen(d)), fb = out(d.c_out);
      call("conv2d_bwd_x_f32x4", pp, dyp, wp, fx, colp, 0);
      call("conv2d_bwd_w_f32x4", pp, xp, dyp, fw, fb, colp, 0);
      const a = convBwd(d, abs(x), abs(wt), abs(dy));
      const t = `${tag(c)} beta=${beta}`;
      const expect = (old: Float32Array, fresh: Float32Array) => Float64Array.from(fresh, (v, i) => beta * old[i] + v);
      const tol = (old: Float32Array, s: Float64Array, terms: number) => tolOf(s, terms).map((v, i) => 2 * v + 4 * 2 ** -24 * Math.abs(old[i]));
      assertWithin(arena.readF32(dxp, xLen(d)), expect(oldX, arena.readF32(fx, xLen(d))), tol(oldX, a.dx, d.c_out * d.kh * d.kw), `dX ${t}`);
      assertWithin(arena.readF32(dwp, wLen(d)), expect(oldW, arena.readF32(fw, wLen(d))), tol(oldW, a.dw, d.n * P(d)), `dW ${t}`);
      assertWithin(arena.readF32(dbp, d.c_out), expect(oldB, arena.readF32(fb, d.c_out)), tol(oldB, a.db, d.n * P(d)), `db ${t}`);
      guardIntact(dxp, xLen(d), "dX");
      guardIntact(dwp, wLen(d), "dW");
      arena.release(mark);
    }
  }
});

test("db_ptr = 0 skips the bias gradient; n = 0 leaves Y alone and gives dW = beta·dW", () => {
  const rng = new Rng(51);
  const d = dimsOf({ n: 2, c_in: 3, h: 6, w: 6, c_out: 5, kh: 3, kw: 3, s: [1, 1], dl: [1, 1], pad: "same" });
  const x = rng.f32(xLen(d)), dy = rng.f32(yLen(d));
  const low = new Uint8Array(arena.memory.buffer, 0, 64).slice();
  const dwp = out(wLen(d)), colp = out(K(d) * P(d));
  call("conv2d_bwd_w_f32x4", params(d), arena.putF32(x), arena.putF32(dy), dwp, 0, colp, 0);
  assert.equal(new Uint8Array(arena.memory.buffer, 0, 64), low, "memory at address 0 untouched");
  assertWithin(arena.readF32(dwp, wLen(d)), convBwd(d, x, new Float64Array(wLen(d)), dy).dw, tolOf(convBwd(d, abs(x), new Float64Array(wLen(d)), abs(dy)).dw, d.n * P(d)), "dW no-bias");
  const d0 = { ...d, n: 0 };
  const yp = out(4, 7), dw0 = out(wLen(d), 3), db0 = out(d.c_out);
  call("conv2d_fwd_f32x4", params(d0), 0, arena.putF32(rng.f32(wLen(d))), 0, yp, colp, 0);
  assertClose(arena.readF32(yp, 4), [7, 7, 7, 7], { name: "n=0 Y untouched" });
  call("conv2d_bwd_w_f32x4", params(d0), 0, 0, dw0, db0, colp, 0.5);
  assertClose(arena.readF32(dw0, wLen(d)), new Float32Array(wLen(d)).fill(1.5), { name: "n=0 dW = beta·dW" });
});

test("inconsistent params trap (h_out that does not follow from the dims)", () => {
  const d = dimsOf({ n: 1, c_in: 1, h: 5, w: 5, c_out: 1, kh: 3, kw: 3, s: [1, 1], dl: [1, 1], pad: "valid" });
  const bad = { ...d, h_out: d.h_out + 1 };
  const colp = out(100), yp = out(100);
  assert.throws(() => call("conv2d_fwd_f32x4", params(bad), arena.putF32(new Float32Array(25)), arena.putF32(new Float32Array(9)), 0, yp, colp, 0));
});

test.run();
