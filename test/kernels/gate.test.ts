// Mixture-of-experts combine: forward vs float64, backward (dexperts, dgate) vs float64 central
// differences, beta semantics.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup, Rng, finiteDiff, assertClose, assertRelErr, toF64 } from "../helpers.ts";
import { moeCombineRef } from "../ref/gate.ts";

const { arena, call } = await setup();

function fwd(m: number, e: number, n: number, experts: ArrayLike<number>, gate: ArrayLike<number>): Float32Array {
  const mk = arena.mark();
  const ep = arena.putF32(experts), gp = arena.putF32(gate), yp = arena.putF32(new Float32Array(m * n).fill(NaN));
  call("moe_combine_fwd_f32x4", m, e, n, ep, gp, yp);
  const y = arena.readF32(yp, m * n);
  arena.release(mk);
  return y;
}

function bwd(
  m: number, e: number, n: number, experts: ArrayLike<number>, gate: ArrayLike<number>, dy: ArrayLike<number>,
  beta: number, init?: { de: ArrayLike<number>; dg: ArrayLike<number> },
) {
  const mk = arena.mark();
  const ep = arena.putF32(experts), gp = arena.putF32(gate), dyp = arena.putF32(dy);
  const dep = arena.putF32(init?.de ?? new Float32Array(e * m * n).fill(NaN));
  const dgp = arena.putF32(init?.dg ?? new Float32Array(m * e).fill(NaN));
  call("moe_combine_bwd_f32x4", m, e, n, ep, gp, dyp, dep, dgp, beta);
  const out = { de: arena.readF32(dep, e * m * n), dg: arena.readF32(dgp, m * e) };
  arena.release(mk);
  return out;
}

/** Softmaxed random gate rows [m, e]. */
function gates(rng: Rng, m: number, e: number): Float32Array {
  const g = new Float32Array(m * e);
  for (let i = 0; i < m; i++) {
    let s = 0;
    const row = Array.from({ length: e }, () => Math.exp(rng.uniform(-2, 2)));
    for (const v of row) s += v;
    for (let j = 0; j < e; j++) g[i * e + j] = row[j] / s;
  }
  return g;
}

test("forward matches float64 over a covering set of shapes", () => {
  const rng = new Rng(71);
  for (const m of [1, 3, 5, 17]) for (const e of [1, 2, 3, 5]) for (const n of [1, 3, 5, 17, 64, 130]) {
    const ex = rng.f32(e * m * n), g = gates(rng, m, e);
    assertClose(fwd(m, e, n, ex, g), moeCombineRef(m, e, n, ex, g), { rtol: 1e-5, atol: 1e-6, name: `moe m=${m} e=${e} n=${n}` });
  }
  // e = 0 → y = 0 (overwrites the NaN-filled output)
  assert.ok(fwd(2, 0, 5, [], []).every((v) => v === 0));
});

test("backward dexperts and dgate match float64 central differences", () => {
  const rng = new Rng(72);
  for (const [m, e, n] of [[1, 1, 1], [2, 3, 5], [3, 2, 17], [4, 4, 8], [2, 3, 33]] as const) {
    const ex = rng.f32(e * m * n), g = gates(rng, m, e);
    const r = rng.f32(m * n);
    const dot = (y: Float64Array) => y.reduce((s, v, i) => s + r[i] * v, 0);
    const gE = finiteDiff((v) => dot(moeCombineRef(m, e, n, v, g)), toF64(ex));
    const gG = finiteDiff((v) => dot(moeCombineRef(m, e, n, ex, v)), toF64(g));
    const { de, dg } = bwd(m, e, n, ex, g, r, 0);
    assertRelErr(de, gE, 1e-3, `dexperts m=${m} e=${e} n=${n}`);
    assertRelErr(dg, gG, 1e-3, `dgate m=${m} e=${e} n=${n}`);
  }
});

test("backward beta: 0 ignores NaN gradients, 1 accumulates, 0.5 scales", () => {
  const rng = new Rng(73);
  for (const [m, e, n] of [[1, 2, 3], [3, 3, 9], [2, 4, 64]] as const) {
    const ex = rng.f32(e * m * n), g = gates(rng, m, e), dy = rng.f32(m * n);
    const fresh = bwd(m, e, n, ex, g, dy, 0);
    for (const a of [fresh.de, fresh.dg]) for (const v of a) assert.ok(Number.isFinite(v), "beta 0 must not read");
    const old = { de: rng.f32(e * m * n), dg: rng.f32(m * e) };
    for (const beta of [1, 0.5]) {
      const acc = bwd(m, e, n, ex, g, dy, beta, old);
      assertClose(acc.de, Array.from(old.de, (o, i) => beta * o + fresh.de[i]), { rtol: 1e-6, atol: 1e-7, name: `dexperts beta ${beta}` });
      assertClose(acc.dg, Array.from(old.dg, (o, i) => beta * o + fresh.dg[i]), { rtol: 1e-6, atol: 1e-6, name: `dgate beta ${beta}` });
    }
  }
});

test.run();
