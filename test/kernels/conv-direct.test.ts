// The direct 3×3 conv2d kernels (conv2d_fwd_f32x4_direct, conv2d_bwd_w_f32x4_direct: few input channels, unit strides
// and dilations, outputs ≥ 8 wide) vs the direct float64 convolution and its adjoint (test/ref/conv.ts), elementwise
// within the f32 bound of their sums: output widths 8..17 (every remainder mod 8: the forward's last column block
// overlaps the previous one; mod 4: the gradient's last vector does; a lone channel's 16-column blocks at widths 26
// and 36) and heights 1..9, output channels 1..11 (blocks of 4 and a remainder; pairs and a lone last one; one group of
// ≤ 4 read from the planes, more through an im2col of chunks of rows, several chunks and one-row chunks included; the
// weight gradient over column-shifted input copies (≥ 8 channels) and over the planes, dZ planes at the constant
// distance and, past 16 KB, not), pads 0..2 on each side (zero-padded plane copies) and none (in place), 1..7 input
// channels, with and without bias, relu, and the relu's mask fused into the weight gradient.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup, guarded, Rng, assertClose } from "../helpers.ts";
import { convDims, convFwd, convBwd, CONV_FIELDS, type ConvDims, type Padding } from "../ref/conv.ts";
import { directScratch } from "../../src/ops/conv-kernels.ts";

const { arena, call } = await setup();
const { out, guardIntact } = guarded(arena);
const EPS = 2 ** -24;

function assertWithin(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: ArrayLike<number>, name: string): void {
  assert.is(actual.length, expected.length, `${name}: length`);
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= tol[i])) throw new Error(`${name}[${i}] = ${actual[i]}, expected ${expected[i]} (|diff| ${d} > tol ${tol[i]})`);
  }
}

/** f32 accumulation bound for sums of `terms` products with |.|-sum absSum. */
const tolOf = (absSum: Float64Array, terms: number) => absSum.map((s) => 2 * (terms + 2) * EPS * s + 1e-30);
const abs = (a: ArrayLike<number>) => Float64Array.from(a, Math.abs);

type Case = { n: number; ci: number; co: number; h: number; w: number; pad: Padding };
const tag = (c: Case) => `n${c.n} c${c.ci}→${c.co} ${c.h}×${c.w} pad=${JSON.stringify(c.pad)}`;
const dimsOf = (c: Case) => convDims(c.n, c.ci, c.h, c.w, c.co, 3, 3, [1, 1], [1, 1], c.pad);
const params = (d: ConvDims) => arena.putI32(CONV_FIELDS.map((f) => d[f]));
const xLen = (d: ConvDims) => d.n * d.c_in * d.h * d.w;
const yLen = (d: ConvDims) => d.n * d.c_out * d.h_out * d.w_out;
const wLen = (d: ConvDims) => d.c_out * d.c_in * 9;
const scratch = (d: ConvDims) => directScratch(d.c_in, d.c_out, d.h, d.w, [d.pad_top, d.pad_left, d.pad_bottom, d.pad_right], d.h_out, d.w_out);

function grid(seed: number, count: number): Case[] {
  const cases: Case[] = [
    { n: 3, ci: 1, co: 8, h: 28, w: 28, pad: "valid" }, // W2's conv1 geometry (26×26 outputs)
    { n: 2, ci: 3, co: 5, h: 3, w: 10, pad: "valid" }, // one output row, one 8-wide block
    { n: 1, ci: 2, co: 3, h: 9, w: 11, pad: "same" },
    { n: 2, ci: 7, co: 2, h: 5, w: 10, pad: [2, 0, 1, 2] },
    { n: 1, ci: 1, co: 1, h: 4, w: 8, pad: [1, 1, 1, 1] },
    { n: 1, ci: 1, co: 32, h: 28, w: 28, pad: "valid" }, // W2's conv1 whole: 32 channels, eight 4-channel groups
    { n: 1, ci: 2, co: 13, h: 10, w: 12, pad: "same" }, // three 4-channel groups and a lone channel
    { n: 2, ci: 1, co: 5, h: 4, w: 28, pad: "valid" }, // a lone channel 26 wide: a 16-column block, then one moved back
    { n: 1, ci: 3, co: 1, h: 5, w: 35, pad: [1, 1, 1, 2] }, // depthwise-like: one channel, 36 wide (two 16-column blocks + 4)
    { n: 1, ci: 1, co: 1, h: 3, w: 11, pad: "valid" }, // one channel 9 wide: two 8-column blocks, the second moved back
    { n: 2, ci: 7, co: 6, h: 40, w: 19, pad: "valid" }, // forward im2col in chunks of 15 rows (16384 f32 / (63·17)): 15, 15, 8
    { n: 1, ci: 7, co: 5, h: 4, w: 300, pad: [0, 1, 1, 0] }, // chunks of one row (63·298 > 16384), a lone channel over them
    { n: 2, ci: 1, co: 3, h: 70, w: 70, pad: "valid" }, // dZ planes of 68·70 f32 > 16384 bytes: not DZ_GAP apart
    { n: 1, ci: 1, co: 9, h: 66, w: 66, pad: "valid" }, // ≥ 8 channels but a shifted copy of 66·64 f32 > 16384 bytes: the planes
  ];
  const rng = new Rng(seed);
  while (cases.length < count) {
    const valid = rng.int(3) === 0;
    const pad: [number, number, number, number] = valid ? [0, 0, 0, 0] : [rng.int(3), rng.int(3), rng.int(3), rng.int(3)];
    // outputs of 1..9 rows and 8..17 columns
    const h = 3 - pad[0] - pad[2] + rng.int(9), w = 10 - pad[1] - pad[3] + rng.int(10);
    cases.push({ n: 1 + rng.int(3), ci: 1 + rng.int(7), co: 1 + rng.int(11), h: Math.max(1, h), w, pad: valid ? "valid" : pad });
  }
  return cases;
}

test("directScratch (src/ops/conv-kernels.ts) equals the kernel's own size (conv2d_direct_scratch)", () => {
  for (const c of grid(3, 30)) {
    const d = dimsOf(c);
    assert.is(scratch(d), call("conv2d_direct_scratch", params(d)), tag(c));
  }
});

test("conv2d_fwd_f32x4_direct matches the direct float64 convolution (grid; bias on/off; identity/relu)", () => {
  const rng = new Rng(13);
  let zeros = 0, positives = 0;
  for (const c of grid(4, 40)) {
    const d = dimsOf(c);
    for (const hasBias of [true, false]) {
      for (const act of [0, 1] as const) {
        const mark = arena.mark();
        const x = rng.f32(xLen(d)), wt = rng.f32(wLen(d)), b = hasBias ? rng.f32(d.c_out) : null;
        const xp = arena.putF32(x), wp = arena.putF32(wt), bp = b ? arena.putF32(b) : 0;
        const yp = out(yLen(d)), sp = out(scratch(d));
        call("conv2d_fwd_f32x4_direct", params(d), xp, wp, bp, yp, sp, act);
        const y = arena.readF32(yp, yLen(d));
        assertWithin(y, convFwd(d, x, wt, b, act), tolOf(convFwd(d, abs(x), abs(wt), b ? abs(b) : null, 0), 9 * d.c_in), `fwd ${tag(c)} bias=${hasBias} act=${act}`);
        guardIntact(yp, yLen(d), "Y");
        guardIntact(sp, scratch(d), "scratch");
        assert.equal(arena.readF32(xp, x.length), x, "X untouched");
        if (act === 1) for (const v of y) v === 0 ? zeros++ : v > 0 && positives++;
        arena.release(mark);
      }
    }
  }
  assert.ok(zeros > 100 && positives > 100, `relu exercised (zeros ${zeros}, positives ${positives})`);
});

test("conv2d_bwd_w_f32x4_direct matches the float64 adjoint (grid; with and without the relu mask; NaN-filled outputs, beta = 0)", () => {
  const rng = new Rng(23);
  let cut = 0;
  for (const c of grid(5, 40)) {
    const d = dimsOf(c);
    for (const relu of [false, true]) {
      const mark = arena.mark();
      const x = rng.f32(xLen(d)), dy = rng.f32(yLen(d));
      // y: the relu's output (≥ 0, a third exactly 0)
      const y = relu ? rng.f32(yLen(d), () => Math.max(0, rng.uniform(-0.5, 1))) : null;
      const dz = y ? dy.map((v, i) => (y[i] > 0 ? v : 0)) : dy;
      if (y) cut += dz.filter((v, i) => v === 0 && dy[i] !== 0).length;
      const xp = arena.putF32(x), dyp = arena.putF32(dy), yp = y ? arena.putF32(y) : 0;
      const dwp = out(wLen(d)), dbp = out(d.c_out), sp = out(scratch(d));
      call("conv2d_bwd_w_f32x4_direct", params(d), xp, yp, dyp, dwp, dbp, sp, 0);
      const ref = convBwd(d, x, new Float64Array(wLen(d)), dz), a = convBwd(d, abs(x), new Float64Array(wLen(d)), abs(dz));
      const t = `${tag(c)} relu=${relu}`, terms = d.n * d.h_out * d.w_out;
      assertWithin(arena.readF32(dwp, wLen(d)), ref.dw, tolOf(a.dw, terms), `dW ${t}`);
      assertWithin(arena.readF32(dbp, d.c_out), ref.db, tolOf(a.db, terms), `db ${t}`);
      guardIntact(dwp, wLen(d), "dW");
      guardIntact(dbp, d.c_out, "db");
      guardIntact(sp, scratch(d), "scratch");
      assert.equal(arena.readF32(dyp, dy.length), dy, "dY untouched");
      arena.release(mark);
    }
  }
  assert.ok(cut > 1000, `the mask cut gradients (${cut})`);
});

test("conv2d_bwd_w_f32x4_direct: beta = 1 accumulates, 0.5 scales; db_ptr = 0 skips db; n = 0 gives beta·dW", () => {
  const rng = new Rng(33);
  for (const c of grid(6, 12)) {
    const d = dimsOf(c);
    for (const beta of [1, 0.5]) {
      const mark = arena.mark();
      const x = rng.f32(xLen(d)), dy = rng.f32(yLen(d)), oldW = rng.f32(wLen(d)), oldB = rng.f32(d.c_out);
      const xp = arena.putF32(x), dyp = arena.putF32(dy), sp = out(scratch(d));
      const dwp = out(wLen(d), oldW), dbp = out(d.c_out, oldB), fw = out(wLen(d)), fb = out(d.c_out);
      call("conv2d_bwd_w_f32x4_direct", params(d), xp, 0, dyp, dwp, dbp, sp, beta);
      call("conv2d_bwd_w_f32x4_direct", params(d), xp, 0, dyp, fw, fb, sp, 0);
      const check = (p: number, old: Float32Array, fresh: Float32Array, name: string) => {
        const want = Float64Array.from(fresh, (v, i) => beta * old[i] + v);
        assertWithin(arena.readF32(p, old.length), want, want.map((v, i) => 2 * EPS * (Math.abs(v) + Math.abs(beta * old[i])) + 1e-30), `${name} ${tag(c)} beta=${beta}`);
      };
      // the first image applies beta, the later ones add: a few more roundings than one final beta·old + g
      const terms = d.n * d.h_out * d.w_out, a = convBwd(d, abs(x), new Float64Array(wLen(d)), abs(dy));
      const wantW = Float64Array.from(arena.readF32(fw, wLen(d)), (v, i) => beta * oldW[i] + v);
      assertWithin(arena.readF32(dwp, wLen(d)), wantW, tolOf(a.dw, terms).map((t, i) => 2 * t + 4 * EPS * Math.abs(oldW[i])), `dW ${tag(c)} beta=${beta}`);
      check(dbp, oldB, arena.readF32(fb, d.c_out), "db");
      arena.release(mark);
    }
  }
  const d = dimsOf({ n: 2, ci: 2, co: 3, h: 6, w: 9, pad: "same" });
  const x = rng.f32(xLen(d)), dy = rng.f32(yLen(d));
  const low = new Uint8Array(arena.memory.buffer, 0, 64).slice();
  const dwp = out(wLen(d)), sp = out(scratch(d));
  call("conv2d_bwd_w_f32x4_direct", params(d), arena.putF32(x), 0, arena.putF32(dy), dwp, 0, sp, 0);
  assert.equal(new Uint8Array(arena.memory.buffer, 0, 64), low, "memory at address 0 untouched");
  assertWithin(arena.readF32(dwp, wLen(d)), convBwd(d, x, new Float64Array(wLen(d)), dy).dw, tolOf(convBwd(d, abs(x), new Float64Array(wLen(d)), abs(dy)).dw, d.n * d.h_out * d.w_out), "dW without db");
  const d0 = { ...d, n: 0 };
  const dw0 = out(wLen(d), 3), db0 = out(d.c_out, 2), yp = out(4, 7);
  call("conv2d_fwd_f32x4_direct", params(d0), 0, arena.putF32(rng.f32(wLen(d))), 0, yp, sp, 1);
  assertClose(arena.readF32(yp, 4), [7, 7, 7, 7], { name: "n=0 Y untouched" });
  call("conv2d_bwd_w_f32x4_direct", params(d0), 0, 0, 0, dw0, db0, sp, 0.5);
  assertClose(arena.readF32(dw0, wLen(d)), new Float32Array(wLen(d)).fill(1.5), { name: "n=0 dW = beta·dW" });
  assertClose(arena.readF32(db0, d.c_out), new Float32Array(d.c_out).fill(1), { name: "n=0 db = beta·db" });
});

test("shapes the direct kernels do not cover trap (output under 8 wide, not 3×3, stride 2, dilation 2)", () => {
  const ok = convDims(1, 1, 3, 10, 2, 3, 3, [1, 1], [1, 1], "valid");
  const bad = [
    convDims(1, 1, 10, 9, 2, 3, 3, [1, 1], [1, 1], "valid"), // 7 output columns
    convDims(1, 1, 12, 12, 2, 5, 5, [1, 1], [1, 1], "valid"),
    convDims(1, 1, 20, 20, 2, 3, 3, [2, 2], [1, 1], "valid"),
    convDims(1, 1, 14, 14, 2, 3, 3, [1, 1], [2, 2], "valid"),
  ];
  const xp = arena.putF32(new Float32Array(400)), wp = arena.putF32(new Float32Array(100)), yp = out(400), sp = out(256);
  call("conv2d_fwd_f32x4_direct", params(ok), xp, wp, 0, yp, sp, 0);
  for (const d of bad) {
    assert.throws(() => call("conv2d_fwd_f32x4_direct", params(d), xp, wp, 0, yp, sp, 0), `fwd ${d.h_out}×${d.w_out} k${d.kh} s${d.stride_h} d${d.dil_h}`);
    assert.throws(() => call("conv2d_bwd_w_f32x4_direct", params(d), xp, 0, yp, wp, 0, sp, 0), `bwd_w ${d.h_out}×${d.w_out} k${d.kh} s${d.stride_h} d${d.dil_h}`);
  }
});

test.run();
