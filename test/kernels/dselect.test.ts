// DSelect-k kernels against the float64 oracle test/ref/dselect.ts: the gate's forward, its backward (dz, dα)
// against central differences of the oracle, and the entropy and reach terms (forward and backward), with
// e a power of two or not, several γ, z on both sides of the smooth-step's band, beta 0 (over NaN) and 1,
// skipped gradients (pointer 0) and masked rows.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup, Rng, finiteDiff, assertClose, assertRelErr, relErr, toF64 } from "../helpers.ts";
import { bitsFor, dselectRef, entropyRef, reachRef, smoothStep } from "../ref/dselect.ts";

const { arena, call } = await setup();

/** [n, k, e, γ]. */
const CASES: [number, number, number, number][] = [
  [3, 1, 2, 1], [4, 2, 4, 1], [3, 2, 5, 0.5], [5, 3, 8, 2], [2, 4, 7, 1], [3, 1, 3, 1], [2, 2, 16, 1.5],
];

/** z spread over (−0.8γ, 0.8γ): about a third of the bits sit outside the band (S = 0 or 1). */
const draw = (rng: Rng, n: number, k: number, e: number, g: number) => ({
  z: rng.f32(n * k * bitsFor(e), () => rng.uniform(-0.8 * g, 0.8 * g)),
  a: rng.f32(n * k, () => rng.normal()),
});

function fwd(n: number, k: number, e: number, z: Float32Array, a: Float32Array, g: number): Float32Array {
  const mk = arena.mark();
  const qp = arena.alloc(n * e * 4);
  call("dselect_fwd_f32", n, k, bitsFor(e), e, arena.putF32(z), arena.putF32(a), qp, g);
  const q = arena.readF32(qp, n * e);
  arena.release(mk);
  return q;
}

function bwd(n: number, k: number, e: number, z: Float32Array, a: Float32Array, dq: Float32Array, g: number, dzInit: Float32Array | null, daInit: Float32Array | null, bz: number, ba: number) {
  const mk = arena.mark();
  const dzp = dzInit ? arena.putF32(dzInit) : 0, dap = daInit ? arena.putF32(daInit) : 0;
  call("dselect_bwd_f32", n, k, bitsFor(e), e, arena.putF32(z), arena.putF32(a), arena.putF32(dq), dzp, dap, g, bz, ba);
  const out = { dz: dzp ? arena.readF32(dzp, z.length) : null, da: dap ? arena.readF32(dap, a.length) : null };
  arena.release(mk);
  return out;
}

test("smooth-step oracle: 0 below −γ/2, 1 above γ/2, ½ at 0, C¹ at the band's ends", () => {
  for (const g of [0.5, 1, 2]) {
    assert.is(smoothStep(-g, g), 0);
    assert.is(smoothStep(g, g), 1);
    assert.is(smoothStep(0, g), 0.5);
    assert.ok(Math.abs(smoothStep(g / 2 - 1e-9, g) - 1) < 1e-8 && Math.abs(smoothStep(-g / 2 + 1e-9, g)) < 1e-8);
  }
});

test("dselect_fwd_f32 equals the float64 oracle; q sums to 1 when e is a power of two", () => {
  const rng = new Rng(41);
  for (const [n, k, e, g] of CASES) {
    const { z, a } = draw(rng, n, k, e, g);
    const q = fwd(n, k, e, z, a, g);
    assertClose(q, dselectRef(n, k, e, toF64(z), toF64(a), g), { rtol: 1e-5, atol: 1e-6, name: `n=${n} k=${k} e=${e} γ=${g}` });
    if ((e & (e - 1)) === 0)
      for (let r = 0; r < n; r++) assert.ok(Math.abs(q.subarray(r * e, r * e + e).reduce((x, y) => x + y, 0) - 1) < 1e-5, `row ${r} of e=${e} sums to 1`);
  }
  // Saturated bits select one expert exactly: z = (+γ, −γ, +γ) → code 101 → expert 5 of 8.
  const q = fwd(1, 1, 8, Float32Array.of(1, -1, 1), Float32Array.of(0.3), 1);
  assert.equal(Array.from(q), [0, 0, 0, 0, 0, 1, 0, 0]);
});

test("dselect_bwd_f32: dz and dα equal central differences of ⟨dq, q⟩ (float64 oracle); beta and skipped sides", () => {
  const rng = new Rng(42);
  for (const [n, k, e, g] of CASES) {
    const { z, a } = draw(rng, n, k, e, g);
    const dq = rng.f32(n * e, () => rng.normal());
    const obj = (zz: ArrayLike<number>, aa: ArrayLike<number>) => dselectRef(n, k, e, zz, aa, g).reduce((s, q, i) => s + q * dq[i], 0);
    const za = toF64(z), aa = toF64(a);
    const fdz = finiteDiff((x) => obj(x, aa), za), fda = finiteDiff((x) => obj(za, x), aa);
    const nan = (len: number) => new Float32Array(len).fill(NaN);
    const o = bwd(n, k, e, z, a, dq, g, nan(z.length), nan(a.length), 0, 0);
    const name = `n=${n} k=${k} e=${e} γ=${g}`;
    assertRelErr(o.dz!, fdz, 1e-5, `dz ${name}`);
    assertRelErr(o.da!, fda, 1e-5, `dα ${name}`);
    // beta 1 adds to what is there; a 0 pointer skips that side.
    const dz0 = rng.f32(z.length), da0 = rng.f32(a.length);
    const acc = bwd(n, k, e, z, a, dq, g, dz0, da0, 1, 1);
    assertClose(acc.dz!, Array.from(dz0, (v, i) => v + o.dz![i]), { atol: 1e-6, name: `dz beta 1 ${name}` });
    assertClose(acc.da!, Array.from(da0, (v, i) => v + o.da![i]), { atol: 1e-6, name: `dα beta 1 ${name}` });
    assert.equal(Array.from(bwd(n, k, e, z, a, dq, g, null, da0, 0, 0).da!), Array.from(o.da!));
    assert.equal(Array.from(bwd(n, k, e, z, a, dq, g, dz0, null, 0, 0).dz!), Array.from(o.dz!));
  }
});

for (const [kind, ref] of [["entropy", entropyRef], ["reach", reachRef]] as const) {
  test(`dselect_${kind}_fwd_f32 / _bwd_f32 equal the float64 oracle and its central differences (masked rows, beta)`, () => {
    const rng = new Rng(kind === "entropy" ? 43 : 44);
    for (const [n, k, e, g] of CASES) {
      const m = bitsFor(e);
      const { z } = draw(rng, n, k, e, g);
      const valid = Float32Array.from({ length: n }, (_, r) => (r === 1 ? 0 : 1));
      const name = `${kind} n=${n} k=${k} e=${e} γ=${g}`;
      const mk = arena.mark();
      const zp = arena.putF32(z), vp = arena.putF32(valid);
      const got = call(`dselect_${kind}_fwd_f32`, n, k, m, e, zp, vp, g);
      assertClose([got], [ref(n, k, e, toF64(z), valid, g)], { rtol: 1e-6, atol: 1e-7, name });
      assertClose([call(`dselect_${kind}_fwd_f32`, n, k, m, e, zp, 0, g)], [ref(n, k, e, toF64(z), null, g)], { rtol: 1e-6, atol: 1e-7, name: `${name} unmasked` });
      const scale = 0.37;
      const fd = finiteDiff((x) => scale * ref(n, k, e, x, valid, g), toF64(z));
      const dzp = arena.putF32(new Float32Array(z.length).fill(NaN));
      call(`dselect_${kind}_bwd_f32`, n, k, m, e, zp, vp, dzp, scale, g, 0);
      const dz = arena.readF32(dzp, z.length);
      // (With e a power of two the reach term is k per row whatever z is: its gradient is 0, held to 1e-6 absolute.)
      const err = relErr(dz, fd, 0.05 * Math.sqrt(z.length));
      assert.ok(err <= 2e-5, `${name}: relative error ${err.toExponential(3)} > 2e-5`);
      for (let i = 0; i < k * m; i++) assert.is(dz[k * m + i], 0, `${name}: masked row 1 has gradient 0`);
      const init = rng.f32(z.length), ip = arena.putF32(init);
      call(`dselect_${kind}_bwd_f32`, n, k, m, e, zp, vp, ip, scale, g, 1);
      assertClose(arena.readF32(ip, z.length), Array.from(init, (v, i) => v + dz[i]), { atol: 1e-6, name: `${name} beta 1` });
      arena.release(mk);
    }
  });
}

test.run();
