// Element-wise activations: forward vs float64 references (ulp-level for exp, ≤ 2e-7-absolute erf for
// GELU), saturation with huge inputs, every backward vs float64 central differences, beta and aliasing.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup, Rng, finiteDiff, assertClose, assertRelErr, toF64 } from "../helpers.ts";
import { ACTIVATIONS, actFwdRef, erf, gelu } from "../ref/act.ts";

const { arena, call } = await setup();

interface Act {
  name: string;
  /** extra scalars after the pointers (alpha) */
  params: number[];
  /** what the backward kernel reads: the forward input x or output y */
  bwdFrom: "x" | "y";
  /** forward tolerances vs float64 */
  rtol: number;
  atol: number;
}

const ALPHA = Math.fround(0.07);
const ACTS: Act[] = [
  { name: "relu", params: [], bwdFrom: "y", rtol: 0, atol: 0 },
  { name: "leaky_relu", params: [ALPHA], bwdFrom: "x", rtol: 6e-8, atol: 0 },
  { name: "sigmoid", params: [], bwdFrom: "y", rtol: 4e-7, atol: 0 },
  { name: "tanh", params: [], bwdFrom: "y", rtol: 4e-7, atol: 0 },
  { name: "gelu", params: [], bwdFrom: "x", rtol: 1e-6, atol: 1e-37 },
  { name: "silu", params: [], bwdFrom: "x", rtol: 1e-6, atol: 1e-37 },
];
const SIZES = [0, 1, 2, 3, 4, 5, 7, 8, 17, 64, 130, 257];

function fwd(a: { name: string; params: number[] }, x: ArrayLike<number>): Float32Array {
  const mk = arena.mark();
  const xp = arena.putF32(x);
  const yp = arena.alloc(x.length);
  call(`${a.name}_fwd_f32x4`, x.length, xp, yp, ...a.params);
  const y = arena.readF32(yp, x.length);
  arena.release(mk);
  return y;
}

/** Backward into a dx buffer holding `init` (NaN if omitted). */
function bwd(a: Act, xOrY: ArrayLike<number>, dy: ArrayLike<number>, beta: number, init?: ArrayLike<number>): Float32Array {
  const n = dy.length;
  const mk = arena.mark();
  const ip = arena.putF32(xOrY), dyp = arena.putF32(dy);
  const dxp = arena.putF32(init ?? new Float32Array(n).fill(NaN));
  call(`${a.name}_bwd_f32x4`, n, ip, dyp, dxp, beta, ...a.params);
  const dx = arena.readF32(dxp, n);
  arena.release(mk);
  return dx;
}

/** Random inputs away from the ReLU kink (|x| ≥ 1e-3) so central differences are valid. */
function inputs(rng: Rng, n: number, lo = -5, hi = 5): Float32Array {
  return rng.f32(n, () => {
    let v = rng.uniform(lo, hi);
    if (Math.abs(v) < 1e-3) v = 0.5;
    return v;
  });
}

for (const a of ACTS) {
  const act = ACTIVATIONS[a.name](ALPHA);

  test(`${a.name} forward matches float64 at tail-exercising sizes`, () => {
    const rng = new Rng(11);
    for (const n of SIZES) {
      const x = inputs(rng, n, -8, 8);
      assertClose(fwd(a, x), actFwdRef(act.f, x), { rtol: a.rtol, atol: a.atol, name: `${a.name} n=${n}` });
    }
  });

  test(`${a.name} forward with y aliasing x`, () => {
    const rng = new Rng(12);
    const x = inputs(rng, 37);
    const mk = arena.mark();
    const p = arena.putF32(x);
    call(`${a.name}_fwd_f32x4`, x.length, p, p, ...a.params);
    assertClose(arena.readF32(p, x.length), fwd(a, x), { rtol: 0, atol: 0, name: "in place" });
    arena.release(mk);
  });

  test(`${a.name} backward matches float64 central differences`, () => {
    const rng = new Rng(13);
    for (const n of [1, 3, 5, 17, 33]) {
      const x = inputs(rng, n, -4, 4);
      const r = rng.f32(n);
      const y = fwd(a, x);
      const L = (v: Float64Array) => actFwdRef(act.f, v).reduce((s, yi, i) => s + r[i] * yi, 0);
      const g = finiteDiff(L, toF64(x));
      const dx = bwd(a, a.bwdFrom === "x" ? x : y, r, 0);
      assertRelErr(dx, g, 1e-3, `${a.name} dx n=${n}`);
      // and element-wise against the analytic float64 derivative
      assertClose(dx, Array.from(x, (v, i) => r[i] * act.df(v)), { rtol: 2e-5, atol: 1e-6, name: `${a.name} dx analytic` });
    }
  });

  test(`${a.name} backward beta: 0 ignores NaN dx, 1 accumulates, 0.5 scales; dx may alias dy`, () => {
    const rng = new Rng(14);
    for (const n of [1, 6, 19]) {
      const x = inputs(rng, n);
      const from = a.bwdFrom === "x" ? x : fwd(a, x);
      const dy = rng.f32(n);
      const fresh = bwd(a, from, dy, 0);
      for (const v of fresh) assert.ok(Number.isFinite(v), "beta 0 must not read the NaN-filled dx");
      const old = rng.f32(n);
      assertClose(bwd(a, from, dy, 1, old), Array.from(old, (o, i) => o + fresh[i]), { rtol: 1e-6, atol: 1e-7, name: "beta 1" });
      assertClose(bwd(a, from, dy, 0.5, old), Array.from(old, (o, i) => 0.5 * o + fresh[i]), { rtol: 1e-6, atol: 1e-7, name: "beta 0.5" });
      // in place: dx = dy buffer, beta 0
      const mk = arena.mark();
      const ip = arena.putF32(from), dp = arena.putF32(dy);
      call(`${a.name}_bwd_f32x4`, n, ip, dp, dp, 0, ...a.params);
      assertClose(arena.readF32(dp, n), fresh, { rtol: 0, atol: 0, name: "dx aliasing dy" });
      arena.release(mk);
    }
  });
}

test("huge inputs saturate without NaN/inf (sigmoid, tanh, gelu)", () => {
  const x = Float32Array.from([1e4, -1e4, 100, -100, 88.5, -88.5, 1e30, -1e30, 17, -17, -104, -110, -80]);
  const sig = fwd({ name: "sigmoid", params: [] }, x);
  const th = fwd({ name: "tanh", params: [] }, x);
  const ge = fwd({ name: "gelu", params: [] }, x);
  for (let i = 0; i < x.length; i++) {
    for (const [nm, v] of [["sigmoid", sig[i]], ["tanh", th[i]], ["gelu", ge[i]]] as const) {
      assert.ok(Number.isFinite(v), `${nm}(${x[i]}) = ${v}`);
    }
    assert.ok(sig[i] >= 0 && sig[i] <= 1, `sigmoid(${x[i]}) = ${sig[i]} outside [0, 1]`);
    assert.ok(Math.abs(th[i]) <= 1, `tanh(${x[i]}) = ${th[i]} outside [-1, 1]`);
  }
  assert.is(sig[0], 1);
  assert.is(sig[1], 0);
  assert.is(th[0], 1);
  assert.is(th[1], -1);
  assert.is(ge[0], 1e4);
  assert.is(Math.abs(ge[1]), 0);
  // the negative tail of sigmoid keeps relative accuracy down to e^-87
  assertClose(sig.subarray(12, 13), [Math.exp(-80) / (1 + Math.exp(-80))], { rtol: 1e-6, atol: 0, name: "sigmoid(-80)" });
  // backward at saturation stays finite
  const dsig = bwd(ACTS[2], sig, new Float32Array(x.length).fill(1), 0);
  const dge = bwd(ACTS[4], x, new Float32Array(x.length).fill(1), 0);
  for (let i = 0; i < x.length; i++) {
    assert.ok(Number.isFinite(dsig[i]) && Number.isFinite(dge[i]), `grad at ${x[i]}: ${dsig[i]}, ${dge[i]}`);
  }
  assert.is(dge[0], 1);
  assert.is(Math.abs(dge[1]), 0);
});

/** Distance in units in the last place (of the f32 reference value). */
function ulpErr(a: number, ref: number): number {
  const r = Math.fround(ref);
  const buf = new Float32Array([Math.abs(r)]);
  const u = new Uint32Array(buf.buffer);
  u[0] += 1;
  const ulp = buf[0] - Math.abs(r);
  return Math.abs(a - ref) / ulp;
}

test("vector exp: ≤ 2 ulp on [-87, 88.7], 0 below -104, inf above 88.8, NaN propagates", () => {
  const n = 20000;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = -87 + (175.7 * i) / n;
  const y = fwd({ name: "exp", params: [] }, x);
  let worst = 0, at = 0;
  for (let i = 0; i < n; i++) {
    const e = ulpErr(y[i], Math.exp(x[i]));
    if (!(e <= worst)) [worst, at] = [e, x[i]];
  }
  assert.ok(worst <= 2, `exp: ${worst.toFixed(2)} ulp at x = ${at}`);
  // a dense grid near 0, where the polynomial matters most
  const x2 = new Float32Array(4001).map((_, i) => -1 + i / 2000);
  const y2 = fwd({ name: "exp", params: [] }, x2);
  for (let i = 0; i < x2.length; i++) assert.ok(ulpErr(y2[i], Math.exp(x2[i])) <= 1, `exp(${x2[i]}) = ${y2[i]}`);
  const sp = fwd({ name: "exp", params: [] }, [-105, -1e4, -Infinity, 89, Infinity, NaN, 0, -90]);
  assert.equal(Array.from(sp.subarray(0, 6)), [0, 0, 0, Infinity, Infinity, NaN]);
  assert.is(sp[6], 1);
  // subnormal range: within a subnormal ulp-ish of the true value
  assert.ok(Math.abs(sp[7] - Math.exp(-90)) <= 2 * 2 ** -149 + 1e-6 * Math.exp(-90), `exp(-90) = ${sp[7]}`);
});

test("erf_fwd (ONNX Erf) is within 3e-7 absolute of float64 erf, tails included", async () => {
  const { arena, call } = await setup();
  const n = 4003; // odd size: exercises the scalar tail
  const x = Float32Array.from({ length: n }, (_, i) => -6 + (12 * i) / (n - 1));
  const xp = arena.putF32(x), yp = arena.alloc(n);
  call("erf_fwd_f32x4", n, xp, yp);
  const y = arena.readF32(yp, n);
  let worst = 0;
  for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(y[i] - erf(x[i])));
  assert.ok(worst <= 3e-7, `max |erf error| ${worst}`);
});

test("gelu's erf is within 2e-7 absolute (checked through gelu on a dense grid)", () => {
  const n = 24001;
  const x = new Float32Array(n).map((_, i) => -12 + i / 1000);
  const y = fwd({ name: "gelu", params: [] }, x);
  let worst = 0, at = 0;
  for (let i = 0; i < n; i++) {
    const ref = 0.5 * x[i] * (1 + erf(x[i] * Math.SQRT1_2));
    // |Δy| ≤ 0.5·|x|·|Δerf| + output rounding (half an ulp of y, bounded by 2^-24·|y|)
    const bound = 0.5 * Math.abs(x[i]) * 2e-7 + 2 ** -24 * Math.abs(ref) + 1e-45;
    const e = Math.abs(y[i] - ref) / bound;
    if (!(e <= worst)) [worst, at] = [e, x[i]];
  }
  assert.ok(worst <= 1, `gelu error ${worst.toFixed(3)}× the 2e-7 erf budget at x = ${at}`);
  // the negative tail is relatively accurate (1 + erf computed as erfc)
  const tx = [-3, -5, -7, -9, -11];
  const t = fwd({ name: "gelu", params: [] }, tx);
  const tref = tx.map(gelu); // x·Φ(x) with Φ from erfc: relatively accurate
  assertClose(t, tref, { rtol: 1e-5, atol: 0, name: "gelu tail" });
});

test.run();
