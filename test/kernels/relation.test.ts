// Relation loss R = ½·Σ_i w_i·Σ_j (a_ij − b_ij)²: forward vs float64, both gradients vs central
// differences, detached sides (da_ptr / db_ptr = 0), beta semantics and masked rows holding NaN.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup, Rng, finiteDiff, assertClose, assertRelErr, toF64 } from "../helpers.ts";
import { relationRef } from "../ref/relation.ts";

const { arena, call } = await setup();

type Arr = ArrayLike<number>;
const SHAPES: [number, number][] = [[1, 1], [5, 1], [9, 1], [3, 2], [4, 4], [6, 5], [3, 9], [2, 17], [3, 33]];

function randomMask(rng: Rng, m: number, binary = false): Float32Array {
  const mask = Float32Array.from({ length: m }, () => {
    const u = rng.next();
    return u < 0.35 ? 0 : binary || u < 0.7 ? 1 : 0.25 + rng.next();
  });
  mask[rng.int(m)] = 1;
  return mask;
}

function poison(mask: Float32Array, n: number, ...arrs: Float32Array[]): void {
  for (let i = 0; i < mask.length; i++) if (!(mask[i] > 0)) for (const a of arrs) a.fill(NaN, i * n, i * n + n);
}

function fwd(m: number, n: number, a: Arr, b: Arr, mask: Arr | null): number {
  const mk = arena.mark();
  const r = call("relation_fwd_f32x4", m, n, arena.putF32(a), arena.putF32(b), mask ? arena.putF32(mask) : 0);
  arena.release(mk);
  return r;
}

/** Returns [da, db]; a side passed as null is skipped (pointer 0) and returned as null. */
function bwd(m: number, n: number, a: Arr, b: Arr, mask: Arr | null, scale: number, beta: number, daInit: Arr | null, dbInit: Arr | null): [Float32Array | null, Float32Array | null] {
  const mk = arena.mark();
  const ap = arena.putF32(a), bp = arena.putF32(b), kp = mask ? arena.putF32(mask) : 0;
  const dap = daInit ? arena.putF32(daInit) : 0;
  const dbp = dbInit ? arena.putF32(dbInit) : 0;
  call("relation_bwd_f32x4", m, n, ap, bp, kp, dap, dbp, scale, beta);
  const out: [Float32Array | null, Float32Array | null] = [dap ? arena.readF32(dap, m * n) : null, dbp ? arena.readF32(dbp, m * n) : null];
  arena.release(mk);
  return out;
}

const nans = (k: number) => new Float32Array(k).fill(NaN);

test("relation forward matches the float64 reference (masked, weighted, unmasked)", () => {
  const rng = new Rng(31);
  for (const [m, n] of SHAPES) {
    for (const masked of [false, true]) {
      const a = rng.f32(m * n), b = rng.f32(m * n);
      const mask = masked ? randomMask(rng, m) : null;
      if (mask) poison(mask, n, a, b);
      assertClose([fwd(m, n, a, b, mask)], [relationRef(m, n, toF64(a), toF64(b), mask)], { rtol: 1e-5, atol: 1e-7, name: `${m}x${n} masked=${masked}` });
    }
  }
});

test("relation backward (both sides) matches central differences; missing rows exactly 0", () => {
  const rng = new Rng(32);
  const scale = 0.35;
  for (const [m, n] of SHAPES) {
    for (const masked of [false, true]) {
      const a = rng.f32(m * n), b = rng.f32(m * n);
      const mask = masked ? randomMask(rng, m) : null;
      if (mask) poison(mask, n, a, b);
      const [da, db] = bwd(m, n, a, b, mask, scale, 0, nans(m * n), nans(m * n));
      const a64 = toF64(a), b64 = toF64(b);
      assertRelErr(da!, finiteDiff((x) => scale * relationRef(m, n, x, b64, mask), a64), 1e-3, `da ${m}x${n}`);
      assertRelErr(db!, finiteDiff((x) => scale * relationRef(m, n, a64, x, mask), b64), 1e-3, `db ${m}x${n}`);
      if (mask) for (let i = 0; i < m; i++) if (!(mask[i] > 0)) for (let j = 0; j < n; j++) {
        assert.is(da![i * n + j], 0);
        assert.is(db![i * n + j], 0);
      }
    }
  }
});

test("relation backward: beta = 1 accumulates, other beta scales, a null side is left untouched", () => {
  const rng = new Rng(33);
  for (const [m, n] of [[9, 1], [6, 5], [3, 9]] as [number, number][]) {
    for (const masked of [false, true]) {
      const a = rng.f32(m * n), b = rng.f32(m * n);
      const mask = masked ? randomMask(rng, m) : null;
      const [da, db] = bwd(m, n, a, b, mask, 1.5, 0, nans(m * n), nans(m * n));
      const oa = rng.f32(m * n), ob = rng.f32(m * n);
      const [da1, db1] = bwd(m, n, a, b, mask, 1.5, 1, oa, ob);
      assertClose(da1!, Array.from(oa, (o, i) => o + da![i]), { rtol: 1e-6, atol: 1e-7, name: "da beta=1" });
      assertClose(db1!, Array.from(ob, (o, i) => o + db![i]), { rtol: 1e-6, atol: 1e-7, name: "db beta=1" });
      const [da2, db2] = bwd(m, n, a, b, mask, 1.5, 0.5, oa, ob);
      assertClose(da2!, Array.from(oa, (o, i) => 0.5 * o + da![i]), { rtol: 1e-6, atol: 1e-7, name: "da beta=0.5" });
      assertClose(db2!, Array.from(ob, (o, i) => 0.5 * o + db![i]), { rtol: 1e-6, atol: 1e-7, name: "db beta=0.5" });
      // da_ptr = 0: only db is written (and equals the two-sided result); and vice versa.
      const [na, onlyB] = bwd(m, n, a, b, mask, 1.5, 0, null, nans(m * n));
      assert.is(na, null);
      assert.equal(Array.from(onlyB!), Array.from(db!));
      const [onlyA] = bwd(m, n, a, b, mask, 1.5, 0, nans(m * n), null);
      assert.equal(Array.from(onlyA!), Array.from(da!));
    }
  }
});

test("relation: a null side writes nothing at address 0; all-missing and empty give 0", () => {
  const rng = new Rng(34);
  const m = 4, n = 3;
  const a = rng.f32(m * n), b = rng.f32(m * n);
  // A skipped side must not be written through address 0 (the bytes there stay as they were).
  const mk = arena.mark();
  const ap = arena.putF32(a), bp = arena.putF32(b), dap = arena.putF32(nans(m * n)), dbp = arena.putF32(nans(m * n));
  const low = arena.readF32(0, m * n);
  call("relation_bwd_f32x4", m, n, ap, bp, 0, dap, 0, 1, 0);
  call("relation_bwd_f32x4", m, n, ap, bp, 0, 0, dbp, 1, 0);
  assert.equal(Array.from(arena.readF32(0, m * n)), Array.from(low));
  arena.release(mk);
  const none = new Float32Array(m);
  a.fill(NaN);
  assert.is(fwd(m, n, a, b, none), 0);
  const [da, db] = bwd(m, n, a, b, none, 1, 0, nans(m * n), nans(m * n));
  for (const v of [...da!, ...db!]) assert.is(v, 0);
  assert.is(fwd(0, n, a, b, null), 0);
  assert.is(fwd(m, 0, a, b, null), 0);
});

test("relation mask property: masked rows = compacted batch", () => {
  const rng = new Rng(35);
  for (const [m, n] of [[9, 1], [7, 3], [6, 5]] as [number, number][]) {
    const a = rng.f32(m * n), b = rng.f32(m * n);
    const mask = randomMask(rng, m, true);
    poison(mask, n, a, b);
    const keep = Array.from(mask.keys()).filter((i) => mask[i] > 0);
    const pick = (x: Float32Array) => Float32Array.from(keep.flatMap((i) => Array.from(x.subarray(i * n, i * n + n))));
    const ac = pick(a), bc = pick(b);
    assertClose([fwd(m, n, a, b, mask)], [fwd(keep.length, n, ac, bc, null)], { rtol: 1e-6, atol: 0, name: "R" });
    const [da, db] = bwd(m, n, a, b, mask, 2, 0, nans(m * n), nans(m * n));
    const [dac, dbc] = bwd(keep.length, n, ac, bc, null, 2, 0, nans(ac.length), nans(ac.length));
    keep.forEach((i, r) => {
      assertClose(da!.subarray(i * n, i * n + n), dac!.subarray(r * n, r * n + n), { rtol: 1e-6, atol: 0, name: `da row ${i}` });
      assertClose(db!.subarray(i * n, i * n + n), dbc!.subarray(r * n, r * n + n), { rtol: 1e-6, atol: 0, name: `db row ${i}` });
    });
  }
});

test.run();
