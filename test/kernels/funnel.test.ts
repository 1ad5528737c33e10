// Funnel kernels (assembly/kernels/funnel.ts) against float64 references written here: mul, rowdot, hinge and the
// ESMM loss; every backward against central differences of its forward reference, with beta = 0 (NaN-filled
// outputs), beta = 1 (accumulate), masked rows holding NaN, and the ESMM loss at extreme logits (finite, exact).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup, Rng, finiteDiff, assertClose, assertRelErr, toF64 } from "../helpers.ts";

const { arena, call } = await setup();
type Arr = ArrayLike<number>;
const SHAPES: [number, number][] = [[1, 1], [5, 1], [3, 4], [4, 7], [2, 9], [6, 16], [3, 33]];

const softplus = (u: number) => Math.max(u, 0) + Math.log1p(Math.exp(-Math.abs(u)));
const sig = (z: number) => 1 / (1 + Math.exp(-z));
/** ESMM loss reference: BCE of p = σ(a)σ(b), masked mean over rows (÷ n·Σw), straight from p where p is not extreme. */
function esmmRef(m: number, n: number, a: Arr, b: Arr, t: Arr, mask: Arr | null): number {
  let acc = 0, ws = 0;
  for (let i = 0; i < m; i++) {
    const w = mask ? mask[i] : 1;
    if (!(w > 0)) continue;
    ws += w;
    for (let j = 0; j < n; j++) {
      const k = i * n + j, p = sig(a[k]) * sig(b[k]);
      // −log p = softplus(−a) + softplus(−b); log(1 − p) directly (the inputs here keep p away from 1).
      acc += w * (t[k] * (softplus(-a[k]) + softplus(-b[k])) - (1 - t[k]) * Math.log1p(-p));
    }
  }
  return ws > 0 ? acc / (n * ws) : 0;
}
const hingeRef = (m: number, n: number, a: Arr, b: Arr, mask: Arr | null) => {
  let s = 0;
  for (let i = 0; i < m; i++) {
    const w = mask ? mask[i] : 1;
    if (!(w > 0)) continue;
    for (let j = 0; j < n; j++) s += w * Math.max(a[i * n + j] - b[i * n + j], 0);
  }
  return s;
};
const rowdotRef = (m: number, n: number, a: Arr, b: Arr, s: number) => Array.from({ length: m }, (_, i) => {
  let d = 0;
  for (let j = 0; j < n; j++) d += a[i * n + j] * b[i * n + j];
  return s * d;
});

function run(fn: (put: (a: Arr) => number) => number[], reads: [number, number][]): Float32Array[] {
  const mk = arena.mark();
  const ptrs = fn((a) => arena.putF32(a));
  const out = reads.map(([k, len]) => arena.readF32(ptrs[k], len));
  arena.release(mk);
  return out;
}
const nans = (k: number) => new Float32Array(k).fill(NaN);
const maskFor = (rng: Rng, m: number) => {
  const mk = Float32Array.from({ length: m }, () => (rng.next() < 0.3 ? 0 : rng.next() < 0.5 ? 1 : 0.5 + rng.next()));
  mk[0] = 1;
  return mk;
};

test("mul: forward exact in f32, each side's backward = dy ⊙ other with beta 0 and 1", () => {
  const rng = new Rng(1);
  for (const n of [1, 3, 4, 7, 33]) {
    const a = rng.f32(n), b = rng.f32(n), dy = rng.f32(n), old = rng.f32(n);
    const [y] = run((put) => {
      const ap = put(a), bp = put(b), yp = put(nans(n));
      call("mul_fwd_f32x4", n, ap, bp, yp);
      return [yp];
    }, [[0, n]]);
    assert.equal(Array.from(y), Array.from(a, (x, i) => Math.fround(x * b[i])));
    const [d0, d1] = run((put) => {
      const bp = put(b), dyp = put(dy), d0 = put(nans(n)), d1 = put(old);
      call("mul_bwd_f32x4", n, bp, dyp, d0, 0);
      call("mul_bwd_f32x4", n, bp, dyp, d1, 1);
      return [d0, d1];
    }, [[0, n], [1, n]]);
    assertClose(d0, Array.from(dy, (g, i) => g * b[i]), { rtol: 1e-6, atol: 0, name: `da n=${n}` });
    assertClose(d1, Array.from(dy, (g, i) => old[i] + g * b[i]), { rtol: 1e-6, atol: 1e-7, name: `da beta=1 n=${n}` });
  }
});

test("rowdot: forward vs float64; backward vs central differences of Σ dy_i·y_i; beta = 1 accumulates", () => {
  const rng = new Rng(2);
  for (const [m, n] of SHAPES) {
    const a = rng.f32(m * n), b = rng.f32(m * n), dy = rng.f32(m), s = 0.35;
    const [y] = run((put) => {
      const yp = put(nans(m));
      call("rowdot_fwd_f32x4", m, n, put(a), put(b), yp, s);
      return [yp];
    }, [[0, m]]);
    assertClose(y, rowdotRef(m, n, a, b, s), { rtol: 1e-5, atol: 1e-6, name: `y ${m}x${n}` });
    const [da, db1] = run((put) => {
      const ap = put(a), bp = put(b), dyp = put(dy), da = put(nans(m * n)), db = put(new Float32Array(m * n).fill(0.5));
      call("rowdot_bwd_f32x4", m, n, bp, dyp, da, s, 0);
      call("rowdot_bwd_f32x4", m, n, ap, dyp, db, s, 1);
      return [da, db];
    }, [[0, m * n], [1, m * n]]);
    const J = (x: Float64Array, y: Float64Array) => rowdotRef(m, n, x, y, s).reduce((acc, v, i) => acc + dy[i] * v, 0);
    const b64 = toF64(b), a64 = toF64(a);
    assertRelErr(da, finiteDiff((x) => J(x, b64), a64), 1e-6, `da ${m}x${n}`);
    assertRelErr(Array.from(db1, (v) => v - 0.5), finiteDiff((x) => J(a64, x), b64), 1e-5, `db (beta=1) ${m}x${n}`);
  }
});

test("hinge: masked sum vs float64; both sides' backward vs central differences; masked rows 0 (NaN inputs)", () => {
  const rng = new Rng(3);
  for (const [m, n] of SHAPES) {
    for (const masked of [false, true]) {
      const a = rng.f32(m * n), b = rng.f32(m * n);
      // Keep |a − b| ≥ 0.05 so the differences do not straddle the kink.
      for (let i = 0; i < a.length; i++) if (Math.abs(a[i] - b[i]) < 0.05) a[i] = b[i] + 0.1;
      const mask = masked ? maskFor(rng, m) : null;
      if (mask) for (let i = 0; i < m; i++) if (!(mask[i] > 0)) a.fill(NaN, i * n, i * n + n);
      const [h] = run((put) => [put(Float32Array.of(call("hinge_fwd_f32x4", m, n, put(a), put(b), mask ? put(mask) : 0)))], [[0, 1]]);
      assertClose(h, [hingeRef(m, n, a, b, mask)], { rtol: 1e-5, atol: 1e-6, name: `H ${m}x${n}` });
      const s = 0.7;
      const [da, db] = run((put) => {
        const ap = put(a), bp = put(b), kp = mask ? put(mask) : 0, da = put(nans(m * n)), db = put(nans(m * n));
        call("hinge_bwd_f32x4", m, n, ap, bp, kp, da, s, 0);
        call("hinge_bwd_f32x4", m, n, ap, bp, kp, db, -s, 0);
        return [da, db];
      }, [[0, m * n], [1, m * n]]);
      const clean = Float64Array.from(a, (v) => (Number.isNaN(v) ? 0 : v)), b64 = toF64(b);
      assertRelErr(da, finiteDiff((x) => s * hingeRef(m, n, x, b64, mask), clean, 1e-4), 1e-6, `da ${m}x${n}`);
      assertRelErr(db, finiteDiff((x) => s * hingeRef(m, n, clean, x, mask), b64, 1e-4), 1e-6, `db ${m}x${n}`);
      if (mask) for (let i = 0; i < m; i++) if (!(mask[i] > 0)) for (let j = 0; j < n; j++) assert.is(da[i * n + j], 0);
    }
  }
});

test("esmm_bce: loss vs the float64 BCE of σ(a)·σ(b); both logits' gradients vs central differences; beta", () => {
  const rng = new Rng(4);
  for (const [m, n] of SHAPES) {
    for (const masked of [false, true]) {
      const a = rng.f32(m * n, () => rng.uniform(-4, 3)), b = rng.f32(m * n, () => rng.uniform(-3, 3));
      const t = rng.f32(m * n, () => (rng.next() < 0.3 ? 1 : 0));
      const mask = masked ? maskFor(rng, m) : null;
      if (mask) for (let i = 0; i < m; i++) if (!(mask[i] > 0)) { a.fill(NaN, i * n, i * n + n); t.fill(NaN, i * n, i * n + n); }
      const mk = arena.mark();
      const L = call("esmm_bce_fwd_f32x4", m, n, arena.putF32(a), arena.putF32(b), arena.putF32(t), mask ? arena.putF32(mask) : 0);
      arena.release(mk);
      assertClose([L], [esmmRef(m, n, a, b, t, mask)], { rtol: 2e-6, atol: 1e-7, name: `L ${m}x${n}` });
      const scale = 1.7;
      const [da, db, da1] = run((put) => {
        const ap = put(a), bp = put(b), tp = put(t), kp = mask ? put(mask) : 0, da = put(nans(m * n)), db = put(nans(m * n)), da1 = put(new Float32Array(m * n).fill(0.25));
        call("esmm_bce_bwd_f32x4", m, n, ap, bp, tp, kp, da, db, scale, 0, 0);
        call("esmm_bce_bwd_f32x4", m, n, ap, bp, tp, kp, da1, 0, scale, 1, 0);
        return [da, db, da1];
      }, [[0, m * n], [1, m * n], [2, m * n]]);
      const clean = Float64Array.from(a, (v) => (Number.isNaN(v) ? 0 : v)), b64 = toF64(b);
      assertRelErr(da, finiteDiff((x) => scale * esmmRef(m, n, x, b64, t, mask), clean), 1e-5, `da ${m}x${n}`);
      assertRelErr(db, finiteDiff((x) => scale * esmmRef(m, n, clean, x, t, mask), b64), 1e-5, `db ${m}x${n}`);
      assertClose(da1, Array.from(da, (g) => 0.25 + g), { rtol: 1e-6, atol: 1e-7, name: "da beta=1" });
      if (mask) for (let i = 0; i < m; i++) if (!(mask[i] > 0)) for (let j = 0; j < n; j++) assert.is(db[i * n + j], 0);
    }
  }
});

test("esmm_bce at extreme logits: finite and equal to the asymptotic values", () => {
  // a = b = 40 (p → 1): t = 0 costs −log(1 − p) ≈ log(1/(e^−40 + e^−40)) = 40 − log 2; the naive log1p(−p) is −∞.
  // a = −60, t = 1: −log p ≈ 60 + softplus(−b). Gradients: ∂/∂a at a = b = 40, t = 0 is ½ (each side's share).
  const a = Float32Array.of(40, -60), b = Float32Array.of(40, 0.5), t = Float32Array.of(0, 1);
  const mk = arena.mark();
  const ap = arena.putF32(a), bp = arena.putF32(b), tp = arena.putF32(t), da = arena.putF32(nans(2)), db = arena.putF32(nans(2));
  const L = call("esmm_bce_fwd_f32x4", 2, 1, ap, bp, tp, 0);
  call("esmm_bce_bwd_f32x4", 2, 1, ap, bp, tp, 0, da, db, 2, 0, 0);
  const [ga, gb] = [arena.readF32(da, 2), arena.readF32(db, 2)];
  arena.release(mk);
  assertClose([L], [((40 - Math.LN2) + (60 + softplus(-0.5))) / 2], { rtol: 1e-6, atol: 0, name: "L" });
  assertClose([ga[0], gb[0]], [0.5, 0.5], { rtol: 1e-6, atol: 0, name: "d at p → 1" });
  assertClose([ga[1], gb[1]], [-1, -sig(-0.5)], { rtol: 1e-6, atol: 0, name: "d at p → 0, t = 1" });
});

test.run();
