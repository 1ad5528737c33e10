// The Winograd conv2d kernels, F(2×2, 3×3) (conv2d_fwd_f32x4_wino, conv2d_bwd_f32x4_wino) and F(4×4, 3×3)
// (conv2d_fwd_f32x4_wino4, conv2d_bwd_f32x4_wino4), vs the direct float64 convolution and its adjoint
// (test/ref/conv.ts), elementwise, within float64 bounds of Winograd's own rounding (below): every shape is 3×3 with
// unit strides and dilations; odd and even output sizes (tile rows of 1..9 tiles: every remainder mod 4), pads 0..3,
// odd channel counts, chunks of nb images that do and do not divide the batch; the backward with and without the
// fused relu mask, and for every subset of dX, dW, db.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup, guarded, Rng, assertClose } from "../helpers.ts";
import { convDims, convFwd, convBwd, CONV_FIELDS, type ConvDims, type Padding } from "../ref/conv.ts";
import { winogradScratch, winograd4Scratch } from "../../src/ops/conv-kernels.ts";

const { arena, call } = await setup();
const { out, guardIntact } = guarded(arena);
const EPS = 2 ** -24;

type M = number[][];
const T = (a: M): M => a[0].map((_, j) => a.map((r) => r[j]));
const mul = (a: M, b: M): M => a.map((r) => b[0].map((_, j) => r.reduce((s, v, k) => s + v * b[k][j], 0)));
const absM = (a: M): M => a.map((r) => r.map(Math.abs));
const zeros = (r: number, c: number): M => Array.from({ length: r }, () => new Array<number>(c).fill(0));

/**
 * A Winograd variant: its kernels, scratch size, the transform matrices (tile m×m outputs from (m + 2)² patches),
 * and `depth`: a bound on the roundings its transforms add along any path (the tolerance is (terms + depth)·2·2⁻²⁴
 * times the |·|-bounds below).
 */
interface Variant { name: string; fwd: string; bwd: string; scratch: typeof winogradScratch; m: number; Bt: M; G: M; At: M; depth: number }
const F2: Variant = {
  name: "F(2×2, 3×3)", fwd: "conv2d_fwd_f32x4_wino", bwd: "conv2d_bwd_f32x4_wino", scratch: winogradScratch, m: 2, depth: 16,
  Bt: [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]],
  G: [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]],
  At: [[1, 1, 1, 0], [0, 1, -1, -1]],
};
const F4: Variant = {
  name: "F(4×4, 3×3)", fwd: "conv2d_fwd_f32x4_wino4", bwd: "conv2d_bwd_f32x4_wino4", scratch: winograd4Scratch, m: 4, depth: 40,
  Bt: [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0], [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]],
  G: [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6], [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]],
  At: [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]],
};
const VARIANTS = [F2, F4];

/** |U| = |G||g||G|ᵀ of filter f (3×3 at wt[9f..]). */
const uAbs = (v: Variant, wt: ArrayLike<number>, f: number): M => mul(mul(absM(v.G), Array.from({ length: 3 }, (_, r) => Array.from({ length: 3 }, (_, k) => Math.abs(wt[f * 9 + r * 3 + k])))), T(absM(v.G)));

/** |V| = |Bᵀ||d||B| of tile (ty, tx) of input plane (i, c) of x [n, ci, h, w] placed at (pad_top, pad_left). */
function vAbs(v: Variant, d: ConvDims, x: ArrayLike<number>, i: number, c: number, ty: number, tx: number): M {
  const a = v.m + 2, aBt = absM(v.Bt);
  return mul(mul(aBt, Array.from({ length: a }, (_, r) => Array.from({ length: a }, (_, k) => {
    const iy = v.m * ty + r - d.pad_top, ix = v.m * tx + k - d.pad_left;
    return iy >= 0 && iy < d.h && ix >= 0 && ix < d.w ? Math.abs(x[((i * d.c_in + c) * d.h + iy) * d.w + ix]) : 0;
  }))), T(aBt));
}

/** |Ŷ| = |A||dY||A|ᵀ of tile (ty, tx) of plane (i, o) of dY [n, co, ho, wo], zeros past the outputs. */
function yhatAbs(v: Variant, d: ConvDims, dy: ArrayLike<number>, i: number, o: number, ty: number, tx: number): M {
  const g = Array.from({ length: v.m }, (_, a) => Array.from({ length: v.m }, (_, e) => {
    const oy = v.m * ty + a, ox = v.m * tx + e;
    return oy < d.h_out && ox < d.w_out ? Math.abs(dy[((i * d.c_out + o) * d.h_out + oy) * d.w_out + ox]) : 0;
  }));
  return mul(mul(T(absM(v.At)), g), absM(v.At));
}

/** Tiles (ty, tx) of every image. */
function* tilesOf(v: Variant, d: ConvDims): Generator<[number, number, number]> {
  for (let i = 0; i < d.n; i++) for (let ty = 0; v.m * ty < d.h_out; ty++) for (let tx = 0; v.m * tx < d.w_out; tx++) yield [i, ty, tx];
}

/** The forward's bound per output: Σ_c |Aᵀ|(|U| ⊙ |V|)|A|. */
function fwdBound(v: Variant, d: ConvDims, x: ArrayLike<number>, wt: ArrayLike<number>): Float64Array {
  const y = new Float64Array(d.n * d.c_out * d.h_out * d.w_out), a = v.m + 2, aAt = absM(v.At);
  const U = Array.from({ length: d.c_out * d.c_in }, (_, f) => uAbs(v, wt, f));
  for (const [i, ty, tx] of tilesOf(v, d)) {
    const V = Array.from({ length: d.c_in }, (_, c) => vAbs(v, d, x, i, c, ty, tx));
    for (let o = 0; o < d.c_out; o++) {
      const s = zeros(a, a);
      for (let c = 0; c < d.c_in; c++) for (let r = 0; r < a; r++) for (let k = 0; k < a; k++) s[r][k] += U[o * d.c_in + c][r][k] * V[c][r][k];
      const t = mul(mul(aAt, s), T(aAt));
      for (let p = 0; p < v.m; p++) for (let q = 0; q < v.m; q++) {
        const oy = v.m * ty + p, ox = v.m * tx + q;
        if (oy < d.h_out && ox < d.w_out) y[((i * d.c_out + o) * d.h_out + oy) * d.w_out + ox] = t[p][q];
      }
    }
  }
  return y;
}

/** The weight gradient's bound per filter tap: |Gᵀ| (Σ_tiles |Ŷ| ⊙ |V|) |G|. */
function gradBound(v: Variant, d: ConvDims, x: ArrayLike<number>, dy: ArrayLike<number>): Float64Array {
  const a = v.m + 2, acc = Array.from({ length: d.c_out * d.c_in }, () => zeros(a, a));
  for (const [i, ty, tx] of tilesOf(v, d)) {
    const V = Array.from({ length: d.c_in }, (_, c) => vAbs(v, d, x, i, c, ty, tx));
    for (let o = 0; o < d.c_out; o++) {
      const Y = yhatAbs(v, d, dy, i, o, ty, tx);
      for (let c = 0; c < d.c_in; c++) for (let r = 0; r < a; r++) for (let k = 0; k < a; k++) acc[o * d.c_in + c][r][k] += Y[r][k] * V[c][r][k];
    }
  }
  const out = new Float64Array(d.c_out * d.c_in * 9), aG = absM(v.G);
  acc.forEach((s, f) => mul(mul(T(aG), s), aG).forEach((row, r) => row.forEach((val, k) => (out[f * 9 + r * 3 + k] = val))));
  return out;
}

/** The input gradient's bound per input element: Σ_tiles |B| (Σ_o |U| ⊙ |Ŷ|) |B|ᵀ added on each tile's patch. */
function bwdXBound(v: Variant, d: ConvDims, wt: ArrayLike<number>, dy: ArrayLike<number>): Float64Array {
  const out = new Float64Array(d.n * d.c_in * d.h * d.w), a = v.m + 2, aBt = absM(v.Bt);
  const U = Array.from({ length: d.c_out * d.c_in }, (_, f) => uAbs(v, wt, f));
  for (const [i, ty, tx] of tilesOf(v, d)) {
    const Y = Array.from({ length: d.c_out }, (_, o) => yhatAbs(v, d, dy, i, o, ty, tx));
    for (let c = 0; c < d.c_in; c++) {
      const s = zeros(a, a);
      for (let o = 0; o < d.c_out; o++) for (let r = 0; r < a; r++) for (let k = 0; k < a; k++) s[r][k] += U[o * d.c_in + c][r][k] * Y[o][r][k];
      const p = mul(mul(T(aBt), s), aBt);
      for (let r = 0; r < a; r++) for (let k = 0; k < a; k++) {
        const iy = v.m * ty + r - d.pad_top, ix = v.m * tx + k - d.pad_left;
        if (iy >= 0 && iy < d.h && ix >= 0 && ix < d.w) out[((i * d.c_in + c) * d.h + iy) * d.w + ix] += p[r][k];
      }
    }
  }
  return out;
}

function assertWithin(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: ArrayLike<number>, name: string): void {
  assert.is(actual.length, expected.length, `${name}: length`);
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= tol[i])) throw new Error(`${name}[${i}] = ${actual[i]}, expected ${expected[i]} (|diff| ${d} > tol ${tol[i]})`);
  }
}

type Case = { n: number; ci: number; co: number; h: number; w: number; pad: Padding; nb: number };
const tag = (c: Case) => `n${c.n} c${c.ci}→${c.co} ${c.h}×${c.w} pad=${JSON.stringify(c.pad)} nb${c.nb}`;
const dimsOf = (c: Case) => convDims(c.n, c.ci, c.h, c.w, c.co, 3, 3, [1, 1], [1, 1], c.pad);
const params = (d: ConvDims) => arena.putI32(CONV_FIELDS.map((f) => d[f]));
const xLen = (d: ConvDims) => d.n * d.c_in * d.h * d.w;
const yLen = (d: ConvDims) => d.n * d.c_out * d.h_out * d.w_out;
const wLen = (d: ConvDims) => d.c_out * d.c_in * 9;
const scratch = (v: Variant, d: ConvDims, nb: number) => v.scratch(d.c_in, d.c_out, d.h_out, d.w_out, nb);

/** Output widths 1..17 (tile rows of 1..9 tiles: every remainder mod 4), heights 1..9, pads 0..3, nb below, at and above n. */
function grid(seed: number, count: number): Case[] {
  const cases: Case[] = [
    { n: 3, ci: 8, co: 8, h: 13, w: 13, pad: "valid", nb: 2 }, // W2's conv2 geometry (11×11: 6 tiles a row), short last chunk
    { n: 2, ci: 3, co: 5, h: 7, w: 9, pad: "valid", nb: 1 },
    { n: 1, ci: 1, co: 1, h: 3, w: 3, pad: "valid", nb: 1 }, // one output
    { n: 2, ci: 2, co: 3, h: 8, w: 8, pad: "same", nb: 4 }, // nb > n
    { n: 5, ci: 4, co: 6, h: 5, w: 17, pad: [0, 2, 1, 0], nb: 2 },
    { n: 2, ci: 5, co: 3, h: 6, w: 4, pad: [3, 0, 1, 3], nb: 3 }, // pad 3: the input gradient's plane crops dY
    { n: 1, ci: 9, co: 13, h: 4, w: 30, pad: [2, 2, 2, 2], nb: 1 },
    { n: 4, ci: 3, co: 4, h: 2, w: 2, pad: [1, 1, 1, 1], nb: 3 }, // 2×2 input
  ];
  const rng = new Rng(seed);
  while (cases.length < count) {
    const pad: [number, number, number, number] = [rng.int(4), rng.int(4), rng.int(4), rng.int(4)];
    const h = Math.max(1, 3 - pad[0] - pad[2]) + rng.int(8), w = Math.max(1, 3 - pad[1] - pad[3]) + rng.int(16);
    cases.push({ n: 1 + rng.int(4), ci: 1 + rng.int(9), co: 1 + rng.int(9), h, w, pad, nb: 1 + rng.int(4) });
  }
  return cases;
}

for (const [v, k] of [[F2, "conv2d_wino_scratch"], [F4, "conv2d_wino4_scratch"]] as const) {
  test(`${v.name}: the scratch size in src/ops/conv-kernels.ts equals the kernel's own (${k})`, () => {
    const rng = new Rng(5);
    for (let q = 0; q < 200; q++) {
      const ca = 1 + rng.int(70), cb = 1 + rng.int(70), ho = 1 + rng.int(40), wo = 1 + rng.int(40), nb = 1 + rng.int(9);
      assert.is(v.scratch(ca, cb, ho, wo, nb), call(k, ca, cb, ho, wo, nb), `ca ${ca} cb ${cb} ${ho}×${wo} nb ${nb}`);
    }
  });
}

/** dY ⊙ [y > 0] (y null: dY), as relu_bwd_f32x4 computes it. */
const masked = (dy: Float32Array, y: Float32Array | null) => (y ? dy.map((v, i) => (y[i] > 0 ? v : 0)) : dy);

for (const v of VARIANTS) {
  test(`${v.name} forward matches the direct float64 convolution (grid; bias on/off; identity/relu)`, () => {
    const rng = new Rng(61);
    let zero = 0, positive = 0;
    for (const c of grid(7, 40)) {
      const d = dimsOf(c);
      for (const hasBias of [true, false]) {
        for (const act of [0, 1] as const) {
          const mark = arena.mark();
          const x = rng.f32(xLen(d)), wt = rng.f32(wLen(d)), b = hasBias ? rng.f32(d.c_out) : null;
          const xp = arena.putF32(x), wp = arena.putF32(wt), bp = b ? arena.putF32(b) : 0;
          const yp = out(yLen(d)), sp = out(scratch(v, d, c.nb));
          call(v.fwd, params(d), xp, wp, bp, yp, sp, act, c.nb);
          const y = arena.readF32(yp, yLen(d)), P = d.h_out * d.w_out;
          const tol = fwdBound(v, d, x, wt).map((s, i) => 2 * (d.c_in + v.depth) * EPS * (s + (b ? Math.abs(b[Math.floor(i / P) % d.c_out]) : 0)) + 1e-30);
          assertWithin(y, convFwd(d, x, wt, b, act), tol, `${v.name} fwd ${tag(c)} bias=${hasBias} act=${act}`);
          guardIntact(yp, yLen(d), "Y");
          guardIntact(sp, scratch(v, d, c.nb), "scratch");
          assert.equal(arena.readF32(xp, x.length), x, "X untouched");
          assert.equal(arena.readF32(wp, wt.length), wt, "W untouched");
          if (act === 1) for (const q of y) q === 0 ? zero++ : q > 0 && positive++;
          arena.release(mark);
        }
      }
    }
    assert.ok(zero > 100 && positive > 100, `relu exercised (zeros ${zero}, positives ${positive})`);
  });

  test(`${v.name} backward matches the float64 adjoint (grid; with and without the relu mask; NaN-filled outputs, beta = 0)`, () => {
    const rng = new Rng(71);
    let cut = 0;
    for (const c of grid(8, 40)) {
      const d = dimsOf(c);
      for (const relu of [false, true]) {
        const mark = arena.mark();
        const x = rng.f32(xLen(d)), wt = rng.f32(wLen(d)), dy = rng.f32(yLen(d));
        // y: the relu's output (≥ 0, a third exactly 0), as the forward leaves it
        const y = relu ? rng.f32(yLen(d), () => Math.max(0, rng.uniform(-0.5, 1))) : null;
        const dz = masked(dy, y);
        if (y) cut += dz.filter((q, i) => q === 0 && dy[i] !== 0).length;
        const pp = params(d), xp = arena.putF32(x), wp = arena.putF32(wt), dyp = arena.putF32(dy), yp = y ? arena.putF32(y) : 0;
        const dxp = out(xLen(d)), dwp = out(wLen(d)), dbp = out(d.c_out), sp = out(scratch(v, d, c.nb));
        call(v.bwd, pp, xp, yp, dyp, wp, dxp, dwp, dbp, sp, 0, 0, c.nb);
        const ref = convBwd(d, x, wt, dz), t = `${v.name} ${tag(c)} relu=${relu}`;
        assertWithin(arena.readF32(dxp, xLen(d)), ref.dx, bwdXBound(v, d, wt, dz).map((s) => 2 * (d.c_out + v.depth) * EPS * s + 1e-30), `dX ${t}`);
        const tiles = d.n * Math.ceil(d.h_out / v.m) * Math.ceil(d.w_out / v.m);
        assertWithin(arena.readF32(dwp, wLen(d)), ref.dw, gradBound(v, d, x, dz).map((s) => 2 * (tiles + v.depth + 8) * EPS * s + 1e-30), `dW ${t}`);
        const absDb = convBwd(d, x, wt, Float64Array.from(dz, Math.abs)).db;
        assertWithin(arena.readF32(dbp, d.c_out), ref.db, absDb.map((s) => 2 * (tiles + 16) * EPS * s + 1e-30), `db ${t}`);
        guardIntact(dxp, xLen(d), "dX");
        guardIntact(dwp, wLen(d), "dW");
        guardIntact(dbp, d.c_out, "db");
        guardIntact(sp, scratch(v, d, c.nb), "scratch");
        assert.equal(arena.readF32(dyp, dy.length), dy, "dY untouched");
        assert.equal(arena.readF32(xp, x.length), x, "X untouched");
        arena.release(mark);
      }
    }
    assert.ok(cut > 1000, `the mask cut gradients (${cut})`);
  });

  test(`${v.name} backward: every subset of dX, dW, db gives the same values as all three (the others untouched at 0 pointers)`, () => {
    const rng = new Rng(91);
    for (const c of grid(10, 12)) {
      const d = dimsOf(c);
      const mark = arena.mark();
      const x = rng.f32(xLen(d)), wt = rng.f32(wLen(d)), dy = rng.f32(yLen(d));
      const pp = params(d), xp = arena.putF32(x), wp = arena.putF32(wt), dyp = arena.putF32(dy), sp = out(scratch(v, d, c.nb));
      const all = [out(xLen(d)), out(wLen(d)), out(d.c_out)];
      call(v.bwd, pp, xp, 0, dyp, wp, all[0], all[1], all[2], sp, 0, 0, c.nb);
      const lens = [xLen(d), wLen(d), d.c_out];
      const want = all.map((p, k) => arena.readF32(p, lens[k]));
      for (let m = 1; m < 7; m++) {
        const ps = lens.map((n, k) => (m & (1 << k) ? out(n) : 0));
        // X is not needed without dW: pass 0 to show it is not read
        call(v.bwd, pp, m & 2 ? xp : 0, 0, dyp, wp, ps[0], ps[1], ps[2], sp, 0, 0, c.nb);
        ps.forEach((p, k) => p && assert.equal(arena.readF32(p, lens[k]), want[k], `${["dX", "dW", "db"][k]} with subset ${m} ${tag(c)}`));
      }
      arena.release(mark);
    }
  });

  test(`${v.name} backward: beta_x, beta_w = 1 accumulate and 0.5 / 0.75 scale the old gradients (dX; dW, db)`, () => {
    const rng = new Rng(81);
    for (const c of grid(9, 14)) {
      const d = dimsOf(c);
      for (const beta of [1, 0.5]) {
        const mark = arena.mark();
        const x = rng.f32(xLen(d)), wt = rng.f32(wLen(d)), dy = rng.f32(yLen(d));
        const oldX = rng.f32(xLen(d)), oldW = rng.f32(wLen(d)), oldB = rng.f32(d.c_out);
        const pp = params(d), xp = arena.putF32(x), wp = arena.putF32(wt), dyp = arena.putF32(dy), sp = out(scratch(v, d, c.nb));
        const dxp = out(xLen(d), oldX), dwp = out(wLen(d), oldW), dbp = out(d.c_out, oldB);
        // beta_x and beta_w apart: dX with beta, dW and db with 1 − beta / 2 (0.5 and 0.75)
        const bw = 1 - beta / 2;
        call(v.bwd, pp, xp, 0, dyp, wp, dxp, dwp, dbp, sp, beta, bw, c.nb);
        const fx = out(xLen(d)), fw = out(wLen(d)), fb = out(d.c_out);
        call(v.bwd, pp, xp, 0, dyp, wp, fx, fw, fb, sp, 0, 0, c.nb);
        const t = `${v.name} ${tag(c)} beta=${beta}`;
        // The same kernel with beta 0 gives the fresh gradient g; b·old + g rounds once more (twice with the mul).
        const check = (p: number, old: Float32Array, fresh: Float32Array, b: number, name: string) => {
          const want = Float64Array.from(fresh, (q, i) => b * old[i] + q);
          assertWithin(arena.readF32(p, old.length), want, want.map((q, i) => 2 * EPS * (Math.abs(q) + Math.abs(b * old[i])) + 1e-30), `${name} ${t}`);
        };
        check(dxp, oldX, arena.readF32(fx, xLen(d)), beta, "dX");
        check(dwp, oldW, arena.readF32(fw, wLen(d)), bw, "dW");
        check(dbp, oldB, arena.readF32(fb, d.c_out), bw, "db");
        guardIntact(dxp, xLen(d), "dX");
        guardIntact(dwp, wLen(d), "dW");
        arena.release(mark);
      }
    }
  });

  test(`${v.name}, n = 0: the forward leaves Y alone, the backward gives dW = beta·dW, db = beta·db`, () => {
    const d = { ...dimsOf({ n: 1, ci: 3, co: 4, h: 6, w: 6, pad: "same", nb: 1 }), n: 0 };
    const sp = out(scratch(v, d, 2)), yp = out(4, 7), dwp = out(wLen(d), 3), dbp = out(d.c_out, 2);
    call(v.fwd, params(d), 0, arena.putF32(new Rng(3).f32(wLen(d))), 0, yp, sp, 1, 2);
    assertClose(arena.readF32(yp, 4), [7, 7, 7, 7], { name: "n=0 Y untouched" });
    call(v.bwd, params(d), 0, 0, 0, arena.putF32(new Float32Array(wLen(d))), 0, dwp, dbp, sp, 1, 0.5, 2);
    assertClose(arena.readF32(dwp, wLen(d)), new Float32Array(wLen(d)).fill(1.5), { name: "n=0 dW = beta·dW" });
    assertClose(arena.readF32(dbp, d.c_out), new Float32Array(d.c_out).fill(1), { name: "n=0 db = beta·db" });
  });

  test(`${v.name}: shapes it does not cover trap (not 3×3, stride 2, dilation 2, nb 0)`, () => {
    const ok = dimsOf({ n: 1, ci: 2, co: 2, h: 6, w: 6, pad: "valid", nb: 1 });
    const bad = [
      convDims(1, 2, 6, 6, 2, 2, 2, [1, 1], [1, 1], "valid"),
      convDims(1, 2, 6, 6, 2, 3, 3, [2, 2], [1, 1], "valid"),
      convDims(1, 2, 6, 6, 2, 3, 3, [1, 1], [2, 2], "valid"),
    ];
    const xp = arena.putF32(new Float32Array(72)), wp = arena.putF32(new Float32Array(72)), yp = out(200), sp = out(scratch(v, ok, 2) * 4);
    call(v.fwd, params(ok), xp, wp, 0, yp, sp, 0, 1);
    for (const d of bad) assert.throws(() => call(v.fwd, params(d), xp, wp, 0, yp, sp, 0, 1), `${d.kh}×${d.kw} s${d.stride_h} d${d.dil_h}`);
    assert.throws(() => call(v.bwd, params(ok), xp, 0, yp, wp, xp, 0, 0, sp, 0, 0, 0), "nb 0");
  });
}

test.run();
