// Layer norm: forward (y, saved mean and rstd) vs float64, backward dx / dg / db vs float64 central
// differences, beta semantics for all three gradients.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup, Rng, finiteDiff, assertClose, assertRelErr, toF64 } from "../helpers.ts";
import { layernormRef } from "../ref/norm.ts";

const { arena, call } = await setup();
const EPS = 1e-5;

function fwd(m: number, n: number, x: ArrayLike<number>, g: ArrayLike<number>, b: ArrayLike<number>, eps = EPS) {
  const mk = arena.mark();
  const xp = arena.putF32(x), gp = arena.putF32(g), bp = arena.putF32(b);
  const yp = arena.alloc(m * n), mp = arena.alloc(m), rp = arena.alloc(m);
  call("layernorm_fwd_f32x4", m, n, xp, gp, bp, yp, mp, rp, eps);
  const out = { y: arena.readF32(yp, m * n), mean: arena.readF32(mp, m), rstd: arena.readF32(rp, m) };
  arena.release(mk);
  return out;
}

interface Grads {
  dx: Float32Array;
  dg: Float32Array;
  db: Float32Array;
}

function bwd(
  m: number, n: number, x: ArrayLike<number>, g: ArrayLike<number>, mean: ArrayLike<number>, rstd: ArrayLike<number>,
  dy: ArrayLike<number>, beta: number, init?: Grads,
): Grads {
  const mk = arena.mark();
  const xp = arena.putF32(x), gp = arena.putF32(g), mp = arena.putF32(mean), rp = arena.putF32(rstd), dyp = arena.putF32(dy);
  const dxp = arena.putF32(init?.dx ?? new Float32Array(m * n).fill(NaN));
  const dgp = arena.putF32(init?.dg ?? new Float32Array(n).fill(NaN));
  const dbp = arena.putF32(init?.db ?? new Float32Array(n).fill(NaN));
  call("layernorm_bwd_f32x4", m, n, xp, gp, mp, rp, dyp, dxp, dgp, dbp, beta);
  const out = { dx: arena.readF32(dxp, m * n), dg: arena.readF32(dgp, n), db: arena.readF32(dbp, n) };
  arena.release(mk);
  return out;
}

function randomCase(rng: Rng, m: number, n: number) {
  const shift = rng.uniform(-3, 3);
  return {
    x: rng.f32(m * n, () => shift + rng.uniform(-2, 2)),
    g: rng.f32(n, () => rng.uniform(0.5, 1.5)),
    b: rng.f32(n, () => rng.uniform(-0.5, 0.5)),
  };
}

test("forward y, mean and rstd match float64 over a covering set of shapes", () => {
  const rng = new Rng(31);
  for (const m of [1, 3, 5, 17]) for (const n of [1, 3, 5, 17, 64, 130]) {
    const { x, g, b } = randomCase(rng, m, n);
    const out = fwd(m, n, x, g, b);
    const ref = layernormRef(m, n, x, g, b, EPS);
    assertClose(out.mean, ref.mean, { rtol: 1e-6, atol: 1e-6, name: `mean ${m}x${n}` });
    assertClose(out.rstd, ref.rstd, { rtol: 2e-5, atol: 0, name: `rstd ${m}x${n}` });
    assertClose(out.y, ref.y, { rtol: 2e-5, atol: 2e-5, name: `y ${m}x${n}` });
  }
});

test("forward is stable with a large common offset and y may alias x", () => {
  const rng = new Rng(32);
  const m = 3, n = 37;
  const x = rng.f32(m * n, () => 1000 + rng.uniform(-1, 1));
  const g = rng.f32(n, () => rng.uniform(0.5, 1.5)), b = rng.f32(n);
  const out = fwd(m, n, x, g, b);
  assertClose(out.y, layernormRef(m, n, x, g, b, EPS).y, { rtol: 1e-3, atol: 1e-3, name: "offset 1000" });
  const mk = arena.mark();
  const xp = arena.putF32(x), gp = arena.putF32(g), bp = arena.putF32(b), mp = arena.alloc(m), rp = arena.alloc(m);
  call("layernorm_fwd_f32x4", m, n, xp, gp, bp, xp, mp, rp, EPS);
  assertClose(arena.readF32(xp, m * n), out.y, { rtol: 0, atol: 0, name: "in place" });
  arena.release(mk);
});

test("backward dx, dg, db match float64 central differences", () => {
  const rng = new Rng(33);
  for (const [m, n] of [[1, 3], [2, 5], [3, 17], [4, 4], [2, 33], [5, 6]] as const) {
    const { x, g, b } = randomCase(rng, m, n);
    const r = rng.f32(m * n);
    const f = fwd(m, n, x, g, b);
    const grads = bwd(m, n, x, g, f.mean, f.rstd, r, 0);
    const dot = (y: Float64Array) => y.reduce((s, yi, i) => s + r[i] * yi, 0);
    const gx = finiteDiff((v) => dot(layernormRef(m, n, v, g, b, EPS).y), toF64(x));
    const gg = finiteDiff((v) => dot(layernormRef(m, n, x, v, b, EPS).y), toF64(g));
    const gb = finiteDiff((v) => dot(layernormRef(m, n, x, g, v, EPS).y), toF64(b));
    assertRelErr(grads.dx, gx, 1e-3, `dx ${m}x${n}`);
    assertRelErr(grads.dg, gg, 1e-3, `dg ${m}x${n}`);
    assertRelErr(grads.db, gb, 1e-3, `db ${m}x${n}`);
  }
});

test("backward beta: 0 ignores NaN gradients (all three), 1 accumulates, 0.5 scales; dx may alias dy", () => {
  const rng = new Rng(34);
  for (const [m, n] of [[1, 3], [3, 9], [2, 64]] as const) {
    const { x, g, b } = randomCase(rng, m, n);
    const f = fwd(m, n, x, g, b);
    const dy = rng.f32(m * n);
    const fresh = bwd(m, n, x, g, f.mean, f.rstd, dy, 0);
    for (const a of [fresh.dx, fresh.dg, fresh.db]) for (const v of a) assert.ok(Number.isFinite(v), "beta 0 must not read");
    const old = { dx: rng.f32(m * n), dg: rng.f32(n), db: rng.f32(n) };
    for (const beta of [1, 0.5]) {
      const acc = bwd(m, n, x, g, f.mean, f.rstd, dy, beta, old);
      for (const k of ["dx", "dg", "db"] as const) {
        assertClose(acc[k], Array.from(old[k], (o, i) => beta * o + fresh[k][i]), { rtol: 1e-5, atol: 1e-6, name: `${k} beta ${beta}` });
      }
    }
    const mk = arena.mark();
    const xp = arena.putF32(x), gp = arena.putF32(g), mp = arena.putF32(f.mean), rp = arena.putF32(f.rstd);
    const dp = arena.putF32(dy), dgp = arena.alloc(n), dbp = arena.alloc(n);
    call("layernorm_bwd_f32x4", m, n, xp, gp, mp, rp, dp, dp, dgp, dbp, 0);
    assertClose(arena.readF32(dp, m * n), fresh.dx, { rtol: 0, atol: 0, name: "dx aliasing dy" });
    arena.release(mk);
  }
});

test("n = 1 and n = 2: y does not depend on x (up to eps), so dx is ~0 and dg, db still match", () => {
  const rng = new Rng(35);
  for (const n of [1, 2]) {
    const m = 4;
    const x = Float32Array.from({ length: m * n }, (_, i) => (i % 2 ? 1 : -1) * (1 + rng.next()));
    const g = rng.f32(n, () => rng.uniform(0.5, 1.5)), b = rng.f32(n);
    const r = rng.f32(m * n);
    const f = fwd(m, n, x, g, b);
    const grads = bwd(m, n, x, g, f.mean, f.rstd, r, 0);
    const dot = (y: Float64Array) => y.reduce((s, yi, i) => s + r[i] * yi, 0);
    const gx = finiteDiff((v) => dot(layernormRef(m, n, v, g, b, EPS).y), toF64(x));
    assertClose(grads.dx, gx, { rtol: 0, atol: 1e-5, name: `dx n=${n}` });
    assertRelErr(grads.dg, finiteDiff((v) => dot(layernormRef(m, n, x, v, b, EPS).y), toF64(g)), 1e-3, `dg n=${n}`);
    assertRelErr(grads.db, finiteDiff((v) => dot(layernormRef(m, n, x, g, v, EPS).y), toF64(b)), 1e-3, `db n=${n}`);
  }
});

test("m = 0 with beta 0 zeroes dg and db (a sum over no rows)", () => {
  const out = bwd(0, 5, [], [1, 1, 1, 1, 1], [], [], [], 0);
  assert.equal(Array.from(out.dg), [0, 0, 0, 0, 0]);
  assert.equal(Array.from(out.db), [0, 0, 0, 0, 0]);
});

test.run();
