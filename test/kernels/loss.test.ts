// Masked losses: forward vs float64 references, every backward vs float64 central differences, beta
// semantics, and the mask properties (masked = compacted batch, missing rows exactly 0 even with NaN labels).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup, Rng, finiteDiff, assertClose, assertRelErr, toF64 } from "../helpers.ts";
import { xentRef, bceRef, bceNaiveRef, mseRef, maeRef, huberRef, smoothL1Ref, giouRef, giouOne } from "../ref/loss.ts";

const { arena, call } = await setup();

type Arr = ArrayLike<number>;
type Ref = (m: number, n: number, z: Arr, t: Arr, mask: Arr | null) => number;

/** An element-wise loss: kernel names, extra scalar params (delta / pos_weight) and its reference. */
interface Ew {
  name: string;
  params: number[];
  ref: Ref;
  /** Targets for random tests. */
  target: (rng: Rng) => number;
}

const HUBER_DELTA = 0.7;
const EW: Ew[] = [
  { name: "mse", params: [], ref: mseRef, target: (r) => r.uniform() },
  { name: "mae", params: [], ref: maeRef, target: (r) => r.uniform() },
  { name: "huber", params: [HUBER_DELTA], ref: (m, n, z, t, k) => huberRef(m, n, z, t, k, HUBER_DELTA), target: (r) => r.uniform(-1.5, 1.5) },
  { name: "bce", params: [1], ref: (m, n, z, t, k) => bceRef(m, n, z, t, k, 1), target: (r) => (r.next() < 0.5 ? 0 : 1) },
  { name: "bce", params: [2.5], ref: (m, n, z, t, k) => bceRef(m, n, z, t, k, 2.5), target: (r) => r.next() },
];
const label = (e: Ew) => `${e.name}${e.params.length ? `(${e.params.join(",")})` : ""}`;

// Shapes [m, n]: n = 1 (vectorised across rows), n < 4, n = 4, n not a multiple of 4, long rows.
const SHAPES: [number, number][] = [[1, 1], [3, 1], [9, 1], [17, 1], [5, 3], [4, 4], [6, 5], [3, 9], [2, 17], [3, 33]];

/** Weights with missing rows (0), present rows (1) and sample weights; at least one present row. */
function randomMask(rng: Rng, m: number, binary = false): Float32Array {
  const mask = new Float32Array(m);
  for (let i = 0; i < m; i++) {
    const u = rng.next();
    mask[i] = u < 0.35 ? 0 : binary || u < 0.7 ? 1 : 0.25 + rng.next();
  }
  mask[rng.int(m)] = 1;
  return mask;
}

/** Put NaN into the targets (and predictions if `preds`) of every missing row. */
function poisonMissing(mask: Float32Array | null, n: number, ...arrs: Float32Array[]): void {
  if (!mask) return;
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] > 0) continue;
    for (const a of arrs) for (let j = 0; j < n; j++) a[i * n + j] = NaN;
  }
}

function ewFwd(e: Ew, m: number, n: number, z: Arr, t: Arr, mask: Arr | null): number {
  const mk = arena.mark();
  const zp = arena.putF32(z), tp = arena.putF32(t), kp = mask ? arena.putF32(mask) : 0;
  const r = call(`${e.name}_fwd_f32x4`, m, n, zp, tp, kp, ...e.params);
  arena.release(mk);
  return r;
}

/** Backward into a buffer holding `init` (NaN-filled if omitted). */
function ewBwd(e: Ew, m: number, n: number, z: Arr, t: Arr, mask: Arr | null, scale: number, beta: number, init?: Arr): Float32Array {
  const mk = arena.mark();
  const zp = arena.putF32(z), tp = arena.putF32(t), kp = mask ? arena.putF32(mask) : 0;
  const dp = arena.putF32(init ?? new Float32Array(m * n).fill(NaN));
  call(`${e.name}_bwd_f32x4`, m, n, zp, tp, kp, dp, ...e.params, scale, beta);
  const d = arena.readF32(dp, m * n);
  arena.release(mk);
  return d;
}

function randomCase(e: Ew, rng: Rng, m: number, n: number, masked: boolean) {
  const z = rng.f32(m * n, () => rng.uniform(-2, 2));
  const t = rng.f32(m * n, () => e.target(rng));
  const mask = masked ? randomMask(rng, m) : null;
  return { z, t, mask };
}

for (const e of EW) {
  test(`${label(e)} forward matches the float64 reference (masked and unmasked)`, () => {
    const rng = new Rng(11);
    for (const [m, n] of SHAPES) {
      for (const masked of [false, true]) {
        const { z, t, mask } = randomCase(e, rng, m, n, masked);
        poisonMissing(mask, n, t);
        const got = ewFwd(e, m, n, z, t, mask);
        const want = e.ref(m, n, toF64(z), toF64(t), mask);
        assert.ok(Number.isFinite(want));
        assertClose([got], [want], { rtol: 1e-5, atol: 1e-7, name: `${label(e)} ${m}x${n} masked=${masked}` });
      }
    }
  });

  test(`${label(e)} backward matches central differences (scale, sample weights, NaN targets on missing rows)`, () => {
    const rng = new Rng(12);
    const scale = 0.8;
    for (const [m, n] of SHAPES) {
      for (const masked of [false, true]) {
        const { z, t, mask } = randomCase(e, rng, m, n, masked);
        poisonMissing(mask, n, t);
        const got = ewBwd(e, m, n, z, t, mask, scale, 0);
        const t64 = toF64(t);
        const fd = finiteDiff((x) => scale * e.ref(m, n, x, t64, mask), toF64(z));
        assertRelErr(got, fd, 1e-3, `${label(e)} ${m}x${n} masked=${masked}`);
        if (mask) for (let i = 0; i < m; i++) if (!(mask[i] > 0)) for (let j = 0; j < n; j++) assert.is(got[i * n + j], 0, `missing row ${i} gradient`);
      }
    }
  });

  test(`${label(e)} backward: beta = 1 accumulates, beta = 0 overwrites NaN, other beta scales`, () => {
    const rng = new Rng(13);
    for (const [m, n] of [[9, 1], [6, 5], [3, 9]] as [number, number][]) {
      for (const masked of [false, true]) {
        const { z, t, mask } = randomCase(e, rng, m, n, masked);
        poisonMissing(mask, n, t);
        const fresh = ewBwd(e, m, n, z, t, mask, 1.3, 0);
        for (const v of fresh) assert.ok(Number.isFinite(v), "beta = 0 must not read the NaN-filled buffer");
        const old = rng.f32(m * n);
        const acc = ewBwd(e, m, n, z, t, mask, 1.3, 1, old);
        assertClose(acc, Array.from(old, (o, i) => o + fresh[i]), { rtol: 1e-6, atol: 1e-7, name: "beta=1" });
        const half = ewBwd(e, m, n, z, t, mask, 1.3, 0.5, old);
        assertClose(half, Array.from(old, (o, i) => 0.5 * o + fresh[i]), { rtol: 1e-6, atol: 1e-7, name: "beta=0.5" });
      }
    }
  });

  test(`${label(e)} mask property: masked batch = compacted batch; missing rows exactly 0 despite NaN`, () => {
    const rng = new Rng(14);
    for (const [m, n] of [[9, 1], [13, 1], [7, 3], [6, 5], [5, 9]] as [number, number][]) {
      const { z, t } = randomCase(e, rng, m, n, false);
      const mask = randomMask(rng, m, true);
      poisonMissing(mask, n, z, t);
      const keep = Array.from(mask.keys()).filter((i) => mask[i] > 0);
      const pick = (a: Float32Array) => Float32Array.from(keep.flatMap((i) => Array.from(a.subarray(i * n, i * n + n))));
      const zc = pick(z), tc = pick(t), mc = keep.length;
      const lossMasked = ewFwd(e, m, n, z, t, mask);
      const lossCompact = ewFwd(e, mc, n, zc, tc, null);
      assert.ok(Number.isFinite(lossMasked), "masked loss finite");
      assertClose([lossMasked], [lossCompact], { rtol: 1e-6, atol: 0, name: `loss ${m}x${n}` });
      const g = ewBwd(e, m, n, z, t, mask, 0.9, 0);
      const gc = ewBwd(e, mc, n, zc, tc, null, 0.9, 0);
      keep.forEach((i, r) => assertClose(g.subarray(i * n, i * n + n), gc.subarray(r * n, r * n + n), { rtol: 1e-6, atol: 0, name: `row ${i}` }));
      for (let i = 0; i < m; i++) if (!(mask[i] > 0)) for (let j = 0; j < n; j++) assert.is(g[i * n + j], 0, `missing row ${i}`);
      // mask_ptr = 0 is the same as an all-ones mask.
      const ones = new Float32Array(m).fill(1);
      const { z: z2, t: t2 } = randomCase(e, rng, m, n, false);
      assertClose([ewFwd(e, m, n, z2, t2, null)], [ewFwd(e, m, n, z2, t2, ones)], { rtol: 1e-6, atol: 0, name: "no mask = ones" });
      assertClose(ewBwd(e, m, n, z2, t2, null, 1, 0), ewBwd(e, m, n, z2, t2, ones, 1, 0), { rtol: 1e-6, atol: 0, name: "no mask = ones (grad)" });
    }
  });

  test(`${label(e)} all rows missing: loss 0, gradient 0, beta = 1 leaves the buffer`, () => {
    const rng = new Rng(15);
    for (const [m, n] of [[5, 1], [4, 3], [0, 3], [3, 0]] as [number, number][]) {
      const { z, t } = randomCase(e, rng, m, n, false);
      const mask = new Float32Array(m);
      t.fill(NaN);
      assert.is(ewFwd(e, m, n, z, t, mask), 0);
      const g = ewBwd(e, m, n, z, t, mask, 1, 0);
      for (const v of g) assert.is(v, 0);
      const old = rng.f32(m * n);
      assert.equal(Array.from(ewBwd(e, m, n, z, t, mask, 1, 1, old)), Array.from(old));
    }
  });
}

test("huber on both sides of delta: forward and central-difference gradient", () => {
  const e = EW[2];
  const rng = new Rng(16);
  const m = 6, n = 7;
  const t = rng.f32(m * n);
  // |p − t| alternately inside (0.05δ..0.9δ) and outside (1.1δ..4δ) the quadratic zone, both signs.
  const p = Float32Array.from(t, (ti, k) => {
    const mag = k % 2 ? rng.uniform(0.05, 0.9) * HUBER_DELTA : rng.uniform(1.1, 4) * HUBER_DELTA;
    return ti + (rng.next() < 0.5 ? -mag : mag);
  });
  const got = ewFwd(e, m, n, p, t, null);
  assertClose([got], [huberRef(m, n, toF64(p), toF64(t), null, HUBER_DELTA)], { rtol: 1e-5, atol: 1e-7, name: "huber" });
  const g = ewBwd(e, m, n, p, t, null, 1, 0);
  const t64 = toF64(t);
  assertRelErr(g, finiteDiff((x) => huberRef(m, n, x, t64, null, HUBER_DELTA), toF64(p)), 1e-3, "huber grad");
  // Outside the zone the gradient saturates at ±δ/(m·n); inside it is (p − t)/(m·n).
  for (let k = 0; k < m * n; k++) {
    const d = p[k] - t[k];
    const want = (Math.abs(d) <= HUBER_DELTA ? d : Math.sign(d) * HUBER_DELTA) / (m * n);
    assertClose([g[k]], [want], { rtol: 1e-5, atol: 1e-8, name: `huber grad[${k}]` });
  }
});

test("bce reference: the cancellation-free form equals the textbook form for moderate logits", () => {
  const rng = new Rng(18);
  for (let k = 0; k < 200; k++) {
    const z = rng.uniform(-8, 8), t = rng.next(), pw = rng.uniform(0.2, 4);
    assertClose([bceRef(1, 1, [z], [t], null, pw)], [bceNaiveRef(z, t, pw)], { rtol: 1e-12, atol: 1e-13, name: "bceRef" });
  }
});

test("bce is stable for large logits and soft targets", () => {
  const rng = new Rng(17);
  for (const pw of [1, 3]) {
    const e: Ew = { name: "bce", params: [pw], ref: (m, n, z, t, k) => bceRef(m, n, z, t, k, pw), target: (r) => r.next() };
    const m = 5, n = 6;
    const z = rng.f32(m * n, () => (rng.next() < 0.5 ? -1 : 1) * rng.uniform(15, 95));
    const t = rng.f32(m * n, () => (rng.next() < 0.5 ? rng.next() : rng.next() < 0.5 ? 0 : 1));
    const got = ewFwd(e, m, n, z, t, null);
    assert.ok(Number.isFinite(got));
    assertClose([got], [e.ref(m, n, toF64(z), toF64(t), null)], { rtol: 1e-5, atol: 1e-6, name: `bce large pw=${pw}` });
    const g = ewBwd(e, m, n, z, t, null, 1, 0);
    for (const v of g) assert.ok(Number.isFinite(v));
    const t64 = toF64(t);
    assertRelErr(g, finiteDiff((x) => e.ref(m, n, x, t64, null), toF64(z), 1e-4), 1e-3, "bce large grad");
  }
  // Tiny loss region: confident and correct, ℓ ≈ e^−|z| must keep its relative accuracy (no cancellation
  // of z against max(−z, 0), log1p rather than log), and so must the gradient σ(−|z|).
  const e = EW[3];
  const z = Float32Array.from([12, -14, 9, -17.5, 20, -25, 30, -9]);
  const t = Float32Array.from([1, 0, 1, 0, 1, 0, 1, 0]);
  for (let k = 0; k < z.length; k++) {
    const one = [z[k]], tk = [t[k]];
    assertClose([ewFwd(e, 1, 1, one, tk, null)], [bceRef(1, 1, one, tk, null, 1)], { rtol: 1e-5, atol: 0, name: `bce tiny loss z=${z[k]}` });
    const sig = 1 / (1 + Math.exp(Math.abs(z[k])));
    assertClose(ewBwd(e, 1, 1, one, tk, null, 1, 0), [z[k] > 0 ? -sig : sig], { rtol: 1e-5, atol: 0, name: `bce tiny grad z=${z[k]}` });
  }
  assertClose([ewFwd(e, 8, 1, z, t, null)], [bceRef(8, 1, toF64(z), toF64(t), null, 1)], { rtol: 1e-5, atol: 0, name: "bce tiny loss batch" });
});

// ---------------------------------------------------------------------------------------------------
// Softmax cross-entropy

function xFwd(m: number, c: number, z: Arr, y: Arr, mask: Arr | null): number {
  const mk = arena.mark();
  const zp = arena.putF32(z), yp = arena.putI32(y), kp = mask ? arena.putF32(mask) : 0;
  const r = call("xent_fwd_f32x4", m, c, zp, yp, kp);
  arena.release(mk);
  return r;
}

function xBwd(m: number, c: number, z: Arr, y: Arr, mask: Arr | null, scale: number, beta: number, init?: Arr): Float32Array {
  const mk = arena.mark();
  const zp = arena.putF32(z), yp = arena.putI32(y), kp = mask ? arena.putF32(mask) : 0;
  const dp = arena.putF32(init ?? new Float32Array(m * c).fill(NaN));
  call("xent_bwd_f32x4", m, c, zp, yp, kp, dp, scale, beta);
  const d = arena.readF32(dp, m * c);
  arena.release(mk);
  return d;
}

const XSHAPES: [number, number][] = [[1, 1], [3, 2], [4, 3], [5, 4], [3, 5], [6, 7], [2, 10], [3, 17], [2, 64]];

function xCase(rng: Rng, m: number, c: number, masked: boolean, spread = 3) {
  const z = rng.f32(m * c, () => rng.uniform(-spread, spread));
  const y = Int32Array.from({ length: m }, () => rng.int(c));
  const mask = masked ? randomMask(rng, m) : null;
  if (mask) for (let i = 0; i < m; i++) if (!(mask[i] > 0)) y[i] = rng.next() < 0.5 ? -1 : c + 3;
  return { z, y, mask };
}

test("xent forward matches the float64 reference (masked and unmasked, large logits)", () => {
  const rng = new Rng(21);
  for (const [m, c] of XSHAPES) {
    for (const masked of [false, true]) {
      for (const spread of [3, 60]) {
        const { z, y, mask } = xCase(rng, m, c, masked, spread);
        const got = xFwd(m, c, z, y, mask);
        const want = xentRef(m, c, toF64(z), y, mask);
        assertClose([got], [want], { rtol: 1e-5, atol: 1e-6, name: `xent ${m}x${c} masked=${masked} spread=${spread}` });
      }
    }
  }
});

test("xent backward matches central differences", () => {
  const rng = new Rng(22);
  for (const [m, c] of XSHAPES) {
    for (const masked of [false, true]) {
      const { z, y, mask } = xCase(rng, m, c, masked);
      const got = xBwd(m, c, z, y, mask, 0.6, 0);
      const fd = finiteDiff((x) => 0.6 * xentRef(m, c, x, y, mask), toF64(z));
      if (c > 1) assertRelErr(got, fd, 1e-3, `xent ${m}x${c} masked=${masked}`);
      else for (const v of got) assert.is(v, 0, "one class: zero gradient");
      if (mask) for (let i = 0; i < m; i++) if (!(mask[i] > 0)) for (let j = 0; j < c; j++) assert.is(got[i * c + j], 0, `missing row ${i}`);
    }
  }
});

test("xent backward: beta = 1 accumulates, beta = 0 overwrites NaN, other beta scales", () => {
  const rng = new Rng(23);
  for (const [m, c] of [[4, 3], [6, 7], [3, 17]] as [number, number][]) {
    for (const masked of [false, true]) {
      const { z, y, mask } = xCase(rng, m, c, masked);
      const fresh = xBwd(m, c, z, y, mask, 1.1, 0);
      for (const v of fresh) assert.ok(Number.isFinite(v));
      const old = rng.f32(m * c);
      assertClose(xBwd(m, c, z, y, mask, 1.1, 1, old), Array.from(old, (o, i) => o + fresh[i]), { rtol: 1e-6, atol: 1e-7, name: "beta=1" });
      assertClose(xBwd(m, c, z, y, mask, 1.1, 0.25, old), Array.from(old, (o, i) => 0.25 * o + fresh[i]), { rtol: 1e-6, atol: 1e-7, name: "beta=0.25" });
    }
  }
});

test("xent mask property: masked = compacted, missing rows (NaN logits, label −1 / out of range) exactly 0", () => {
  const rng = new Rng(24);
  for (const [m, c] of [[7, 3], [9, 5], [6, 17]] as [number, number][]) {
    const { z, y } = xCase(rng, m, c, false);
    const mask = randomMask(rng, m, true);
    for (let i = 0; i < m; i++) if (!(mask[i] > 0)) { y[i] = i % 2 ? -1 : c; z.fill(NaN, i * c, i * c + c); }
    const keep = Array.from(mask.keys()).filter((i) => mask[i] > 0);
    const zc = Float32Array.from(keep.flatMap((i) => Array.from(z.subarray(i * c, i * c + c))));
    const yc = keep.map((i) => y[i]);
    const l = xFwd(m, c, z, y, mask);
    assert.ok(Number.isFinite(l));
    assertClose([l], [xFwd(keep.length, c, zc, yc, null)], { rtol: 1e-6, atol: 0, name: "loss" });
    const g = xBwd(m, c, z, y, mask, 1, 0);
    const gc = xBwd(keep.length, c, zc, yc, null, 1, 0);
    keep.forEach((i, r) => assertClose(g.subarray(i * c, i * c + c), gc.subarray(r * c, r * c + c), { rtol: 1e-6, atol: 0, name: `row ${i}` }));
    for (let i = 0; i < m; i++) if (!(mask[i] > 0)) for (let j = 0; j < c; j++) assert.is(g[i * c + j], 0);
  }
});

test("xent: a label outside [0, c) without a mask marks the row missing; all missing gives 0", () => {
  const rng = new Rng(25);
  const m = 6, c = 5;
  const { z, y } = xCase(rng, m, c, false);
  y[1] = -1;
  y[4] = 99;
  const mask = Float32Array.from(y, (v) => (v >= 0 && v < c ? 1 : 0));
  assertClose([xFwd(m, c, z, y, null)], [xFwd(m, c, z, y, mask)], { rtol: 1e-7, atol: 0, name: "ignored labels" });
  assertClose(xBwd(m, c, z, y, null, 1, 0), xBwd(m, c, z, y, mask, 1, 0), { rtol: 1e-7, atol: 0, name: "ignored labels grad" });
  const none = new Float32Array(m);
  assert.is(xFwd(m, c, z, y, none), 0);
  for (const v of xBwd(m, c, z, y, none, 1, 0)) assert.is(v, 0);
  const old = rng.f32(m * c);
  assert.equal(Array.from(xBwd(m, c, z, y, none, 1, 1, old)), Array.from(old));
  assert.is(xFwd(0, c, z, y, null), 0);
});

// ---------------------------------------------------------------------------------------------------
// smooth-L1: huber's kernels with δ = β, value and seed scaled by 1/β (src/ops/loss/smooth-l1.ts)

test("smooth_l1 = huber(δ = β) / β: forward and gradient against PyTorch's definition, on both sides of β", () => {
  const rng = new Rng(31);
  for (const beta of [0.05, 0.5, 1, 2.5]) {
    const e: Ew = { name: "huber", params: [beta], ref: (m, n, z, t, k) => huberRef(m, n, z, t, k, beta), target: (r) => r.uniform(-1, 1) };
    for (const [m, n] of [[9, 1], [6, 4], [5, 7]] as [number, number][]) {
      const t = rng.f32(m * n, () => rng.uniform(-1, 1));
      const p = Float32Array.from(t, (ti, k) => ti + (rng.next() < 0.5 ? -1 : 1) * (k % 2 ? rng.uniform(0.05, 0.9) : rng.uniform(1.1, 4)) * beta);
      const mask = randomMask(rng, m);
      const t64 = toF64(t);
      const want = smoothL1Ref(m, n, toF64(p), t64, mask, beta);
      assertClose([ewFwd(e, m, n, p, t, mask) / beta], [want], { rtol: 1e-5, atol: 1e-7, name: `smooth_l1 β=${beta} ${m}x${n}` });
      const g = ewBwd(e, m, n, p, t, mask, 0.7 / beta, 0);
      assertRelErr(g, finiteDiff((x) => 0.7 * smoothL1Ref(m, n, x, t64, mask, beta), toF64(p)), 1e-3, `smooth_l1 β=${beta} grad`);
    }
  }
});

// ---------------------------------------------------------------------------------------------------
// GIoU boxes [x0, y0, x1, y1]

const GIOU: Ew = { name: "giou", params: [], ref: giouRef, target: (r) => r.next() };
const GIOU_ROWS = [1, 3, 4, 5, 8, 11, 17];

/** Random target boxes in [0, 1]² and predictions around them: overlapping, disjoint, containing, and swapped
 * (x1 < x0 or y1 < y0) ones; every prediction edge at least 1e-3 away from the target's edges (no kinks). */
function boxCase(rng: Rng, m: number, masked: boolean) {
  const t = new Float32Array(m * 4), p = new Float32Array(m * 4);
  for (let i = 0; i < m; i++) {
    const x0 = rng.uniform(0, 0.6), y0 = rng.uniform(0, 0.6);
    t.set([x0, y0, x0 + rng.uniform(0.1, 0.4), y0 + rng.uniform(0.1, 0.4)], 4 * i);
    const kind = i % 4;
    for (let j = 0; j < 4; j++) {
      const s = kind === 1 ? rng.uniform(0.5, 0.9) * (j < 2 ? 1 : -1) : kind === 2 ? rng.uniform(0.02, 0.1) * (j < 2 ? -1 : 1) : rng.uniform(-0.08, 0.08);
      let v = t[4 * i + j] + s;
      for (let k = 0; k < 4; k++) if (Math.abs(v - t[4 * i + k]) < 1e-3) v += 3e-3;
      p[4 * i + j] = v;
    }
    if (kind === 3 && rng.next() < 0.7) [p[4 * i], p[4 * i + 2]] = [p[4 * i + 2], p[4 * i]];
    if (kind === 3 && rng.next() < 0.7) [p[4 * i + 1], p[4 * i + 3]] = [p[4 * i + 3], p[4 * i + 1]];
  }
  return { z: p, t, mask: masked ? randomMask(rng, m) : null };
}

test("giou forward matches the float64 reference (masked, unmasked, leftover rows)", () => {
  const rng = new Rng(41);
  for (const m of GIOU_ROWS) {
    for (const masked of [false, true]) {
      const { z, t, mask } = boxCase(rng, m, masked);
      poisonMissing(mask, 4, z, t);
      const want = giouRef(m, 4, toF64(z), toF64(t), mask);
      assert.ok(Number.isFinite(want));
      assertClose([ewFwd(GIOU, m, 4, z, t, mask)], [want], { rtol: 1e-5, atol: 1e-6, name: `giou ${m} masked=${masked}` });
    }
  }
});

test("giou on hand-made boxes: identical 0, disjoint > 1, contained, swapped corners, degenerate", () => {
  const one = (p: number[], t: number[]) => ewFwd(GIOU, 1, 4, p, t, null);
  assertClose([one([0.1, 0.1, 0.5, 0.5], [0.1, 0.1, 0.5, 0.5])], [0], { atol: 1e-6, name: "identical" });
  // Disjoint [0,1]² and [2,3]×[0,1]: IoU 0, enclosure 3×1, union 2: ℓ = 1 + 1/3.
  assertClose([one([0, 0, 1, 1], [2, 0, 3, 1])], [1 + 1 / 3], { rtol: 1e-6, name: "disjoint" });
  // Contained [0.25,0.75]² in [0,1]²: IoU 0.25, enclosure = union: ℓ = 0.75.
  assertClose([one([0.25, 0.25, 0.75, 0.75], [0, 0, 1, 1])], [0.75], { rtol: 1e-6, name: "contained" });
  assertClose([one([0.75, 0.75, 0.25, 0.25], [0, 0, 1, 1])], [0.75], { rtol: 1e-6, name: "swapped = ordered" });
  // A zero-width prediction inside the target: I = 0, U = A_g, C = A_g: ℓ = 1; a point prediction likewise, finite.
  assertClose([one([0.5, 0.2, 0.5, 0.6], [0, 0, 1, 1])], [1], { rtol: 1e-6, name: "zero width" });
  assert.ok(Number.isFinite(one([0.3, 0.3, 0.3, 0.3], [0.3, 0.3, 0.3, 0.3])), "two identical points: finite");
  const gp = ewBwd(GIOU, 1, 4, [0.3, 0.3, 0.3, 0.3], [0.2, 0.2, 0.5, 0.6], null, 1, 0);
  for (const v of gp) assert.ok(Number.isFinite(v), "point prediction: finite gradient");
  // NaN in a present row's prediction propagates (no silent 0).
  assert.ok(Number.isNaN(one([NaN, 0, 1, 1], [0, 0, 1, 1])), "NaN prediction");
});

test("giou backward matches central differences (scale, sample weights, swapped boxes, NaN on missing rows)", () => {
  const rng = new Rng(42);
  for (const m of GIOU_ROWS) {
    for (const masked of [false, true]) {
      const { z, t, mask } = boxCase(rng, m, masked);
      poisonMissing(mask, 4, t);
      const got = ewBwd(GIOU, m, 4, z, t, mask, 0.8, 0);
      const t64 = toF64(t);
      const fd = finiteDiff((x) => 0.8 * giouRef(m, 4, x, t64, mask), toF64(z));
      assertRelErr(got, fd, 1e-3, `giou ${m} masked=${masked}`);
      for (let i = 0; i < m; i++) {
        const present = !mask || mask[i] > 0;
        if (!present) for (let j = 0; j < 4; j++) assert.is(got[4 * i + j], 0, `missing row ${i}`);
        else assertRelErr(got.subarray(4 * i, 4 * i + 4), fd.subarray(4 * i, 4 * i + 4), 2e-3, `giou row ${i} of ${m}`);
      }
    }
  }
});

test("giou backward: beta = 1 accumulates, beta = 0 overwrites NaN, other beta scales", () => {
  const rng = new Rng(43);
  for (const m of [4, 7, 9]) {
    for (const masked of [false, true]) {
      const { z, t, mask } = boxCase(rng, m, masked);
      poisonMissing(mask, 4, t);
      const fresh = ewBwd(GIOU, m, 4, z, t, mask, 1.3, 0);
      for (const v of fresh) assert.ok(Number.isFinite(v), "beta = 0 must not read the NaN-filled buffer");
      const old = rng.f32(m * 4);
      assertClose(ewBwd(GIOU, m, 4, z, t, mask, 1.3, 1, old), Array.from(old, (o, i) => o + fresh[i]), { rtol: 1e-6, atol: 1e-7, name: "beta=1" });
      assertClose(ewBwd(GIOU, m, 4, z, t, mask, 1.3, 0.5, old), Array.from(old, (o, i) => 0.5 * o + fresh[i]), { rtol: 1e-6, atol: 1e-7, name: "beta=0.5" });
    }
  }
});

test("giou mask property: masked batch = compacted batch; all missing gives 0 and leaves beta = 1 buffers", () => {
  const rng = new Rng(44);
  for (const m of [5, 9, 13]) {
    const { z, t } = boxCase(rng, m, false);
    const mask = randomMask(rng, m, true);
    poisonMissing(mask, 4, z, t);
    const keep = Array.from(mask.keys()).filter((i) => mask[i] > 0);
    const pick = (a: Float32Array) => Float32Array.from(keep.flatMap((i) => Array.from(a.subarray(4 * i, 4 * i + 4))));
    assertClose([ewFwd(GIOU, m, 4, z, t, mask)], [ewFwd(GIOU, keep.length, 4, pick(z), pick(t), null)], { rtol: 1e-6, atol: 0, name: `loss ${m}` });
    const g = ewBwd(GIOU, m, 4, z, t, mask, 0.9, 0), gc = ewBwd(GIOU, keep.length, 4, pick(z), pick(t), null, 0.9, 0);
    keep.forEach((i, r) => assertClose(g.subarray(4 * i, 4 * i + 4), gc.subarray(4 * r, 4 * r + 4), { rtol: 1e-6, atol: 0, name: `row ${i}` }));
    const none = new Float32Array(m);
    assert.is(ewFwd(GIOU, m, 4, z, t, none), 0);
    for (const v of ewBwd(GIOU, m, 4, z, t, none, 1, 0)) assert.is(v, 0);
    const old = rng.f32(m * 4);
    assert.equal(Array.from(ewBwd(GIOU, m, 4, z, t, none, 1, 1, old)), Array.from(old));
  }
  // The reference itself: two unit squares overlapping by half, I = 0.5, U = 1.5 = C: ℓ = 1 − 1/3.
  assertClose([giouOne([0, 0, 1, 1], [0.5, 0, 1.5, 1])], [1 - 0.5 / 1.5 + 0], { rtol: 1e-6, name: "ref half overlap" });
});

test.run();
