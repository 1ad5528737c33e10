// Batch normalization kernels vs the float64 reference (forward, saved statistics, running-stat update)
// and central finite differences through the batch statistics (backward).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup, guarded, Rng, finiteDiff, assertClose, assertRelErr, toF64 } from "../helpers.ts";
import { bnTrain, bnInfer, bnObjective } from "../ref/batchnorm.ts";

const { arena, call } = await setup();
const { out, guardIntact } = guarded(arena);


/** (n, c, hw): hw % 4 tails, hw = 1 (dense inputs), batch 1 and > 1, channel counts not multiples of 4. */
const SHAPES: [number, number, number][] = [[2, 3, 5], [1, 4, 16], [4, 5, 1], [3, 2, 7], [8, 7, 9], [1, 1, 3], [2, 6, 26], [5, 3, 4]];
const EPS = 1e-5, MOM = 0.1;

test("batchnorm_fwd_train_f32x4: y, saved mean/inv_std and the running-stat update match the reference", () => {
  const rng = new Rng(1);
  for (const [n, c, hw] of SHAPES) {
    const mark = arena.mark();
    // an offset mean (3) with spread 0.5: the two-pass f64 variance matters
    const x = rng.f32(n * c * hw, () => 3 + 0.5 * rng.uniform());
    const g = rng.f32(c), b = rng.f32(c), rm = rng.f32(c), rv = rng.f32(c, () => rng.uniform(0.5, 2));
    const xp = arena.putF32(x), gp = arena.putF32(g), bp = arena.putF32(b);
    const yp = out(n * c * hw), mp = out(c), sp = out(c), rmp = out(c, rm), rvp = out(c, rv);
    call("batchnorm_fwd_train_f32x4", n, c, hw, n, xp, gp, bp, yp, mp, sp, rmp, rvp, MOM, EPS);
    const ref = bnTrain(n, c, hw, x, g, b, rm, rv, MOM, EPS);
    const t = `${n}×${c}×${hw}`;
    assertClose(arena.readF32(yp, n * c * hw), ref.y, { rtol: 1e-5, atol: 2e-5, name: `y ${t}` });
    assertClose(arena.readF32(mp, c), ref.mean, { rtol: 1e-6, atol: 1e-7, name: `mean ${t}` });
    assertClose(arena.readF32(sp, c), ref.invStd, { rtol: 1e-6, atol: 1e-7, name: `inv_std ${t}` });
    assertClose(arena.readF32(rmp, c), ref.runMean, { rtol: 1e-6, atol: 1e-7, name: `running mean ${t}` });
    assertClose(arena.readF32(rvp, c), ref.runVar, { rtol: 1e-6, atol: 1e-7, name: `running var ${t}` });
    for (const [p, len, name] of [[yp, n * c * hw, "y"], [mp, c, "mean"], [sp, c, "inv_std"], [rmp, c, "run_mean"], [rvp, c, "run_var"]] as const) guardIntact(p, len, name);
    assert.equal(arena.readF32(xp, x.length), x, "X untouched");
    arena.release(mark);
  }
});

test("batchnorm_fwd_infer_f32x4 uses the running statistics", () => {
  const rng = new Rng(2);
  for (const [n, c, hw] of SHAPES) {
    const mark = arena.mark();
    const x = rng.f32(n * c * hw), g = rng.f32(c), b = rng.f32(c), rm = rng.f32(c), rv = rng.f32(c, () => rng.uniform(0.1, 3));
    const yp = out(n * c * hw);
    call("batchnorm_fwd_infer_f32x4", n, c, hw, arena.putF32(x), arena.putF32(g), arena.putF32(b), arena.putF32(rm), arena.putF32(rv), yp, EPS);
    assertClose(arena.readF32(yp, n * c * hw), bnInfer(n, c, hw, x, g, b, rm, rv, EPS), { rtol: 1e-5, atol: 1e-5, name: `infer ${n}×${c}×${hw}` });
    guardIntact(yp, n * c * hw, "y");
    arena.release(mark);
  }
});

test("batchnorm_bwd_f32x4 vs central finite differences of Σ R ⊙ BN(x) through the batch statistics", () => {
  const rng = new Rng(3);
  for (const [n, c, hw] of SHAPES) {
    if (n * hw < 2) continue; // one value per channel: y = β, no gradient to x
    const mark = arena.mark();
    const x = rng.f32(n * c * hw), g = rng.f32(c), b = rng.f32(c), r = rng.f32(n * c * hw);
    const xp = arena.putF32(x), gp = arena.putF32(g), mp = out(c), sp = out(c);
    call("batchnorm_fwd_train_f32x4", n, c, hw, n, xp, gp, arena.putF32(b), out(n * c * hw), mp, sp, out(c, 0), out(c, 1), MOM, EPS);
    const dxp = out(n * c * hw), dgp = out(c), dbp = out(c);
    call("batchnorm_bwd_f32x4", n, c, hw, n, xp, arena.putF32(r), gp, mp, sp, dxp, dgp, dbp, 0);
    const X = toF64(x), G = toF64(g), B = toF64(b);
    const t = `${n}×${c}×${hw}`;
    assertRelErr(arena.readF32(dxp, n * c * hw), finiteDiff((v) => bnObjective(n, c, hw, v, G, B, EPS, r), X, 1e-5), 1e-4, `dx ${t}`);
    assertRelErr(arena.readF32(dgp, c), finiteDiff((v) => bnObjective(n, c, hw, X, v, B, EPS, r), G), 1e-5, `dγ ${t}`);
    assertRelErr(arena.readF32(dbp, c), finiteDiff((v) => bnObjective(n, c, hw, X, G, v, EPS, r), B), 1e-5, `dβ ${t}`);
    guardIntact(dxp, n * c * hw, "dx");
    guardIntact(dgp, c, "dγ");
    guardIntact(dbp, c, "dβ");
    arena.release(mark);
  }
});

test("batchnorm_bwd_f32x4: beta = 1 accumulates and beta = 0.5 scales (dx, dγ, dβ)", () => {
  const rng = new Rng(4);
  for (const [n, c, hw] of SHAPES) {
    for (const beta of [1, 0.5]) {
      const mark = arena.mark();
      const x = rng.f32(n * c * hw), g = rng.f32(c), dy = rng.f32(n * c * hw);
      const xp = arena.putF32(x), gp = arena.putF32(g), dyp = arena.putF32(dy), mp = out(c), sp = out(c);
      call("batchnorm_fwd_train_f32x4", n, c, hw, n, xp, gp, arena.putF32(rng.f32(c)), out(n * c * hw), mp, sp, out(c, 0), out(c, 1), MOM, EPS);
      const ox = rng.f32(n * c * hw), og = rng.f32(c), ob = rng.f32(c);
      const ax = out(n * c * hw, ox), ag = out(c, og), ab = out(c, ob), fx = out(n * c * hw), fg = out(c), fb = out(c);
      call("batchnorm_bwd_f32x4", n, c, hw, n, xp, dyp, gp, mp, sp, ax, ag, ab, beta);
      call("batchnorm_bwd_f32x4", n, c, hw, n, xp, dyp, gp, mp, sp, fx, fg, fb, 0);
      const t = `${n}×${c}×${hw} beta=${beta}`;
      for (const [acc, fresh, old, len, name] of [[ax, fx, ox, n * c * hw, "dx"], [ag, fg, og, c, "dγ"], [ab, fb, ob, c, "dβ"]] as const) {
        const f = arena.readF32(fresh, len);
        assertClose(arena.readF32(acc, len), Float64Array.from(f, (v, i) => beta * old[i] + v), { rtol: 1e-5, atol: 1e-5, name: `${name} ${t}` });
        guardIntact(acc, len, name);
      }
      arena.release(mark);
    }
  }
});

test("running statistics converge to the data's over repeated steps (momentum 0.1, unbiased variance)", () => {
  const rng = new Rng(5);
  const [n, c, hw] = [4, 3, 6];
  const x = rng.f32(n * c * hw, () => 2 + rng.normal());
  const ref0 = bnTrain(n, c, hw, x, new Float64Array(c).fill(1), new Float64Array(c), new Float64Array(c), new Float64Array(c).fill(1), 1, EPS);
  const xp = arena.putF32(x), gp = arena.putF32(new Float32Array(c).fill(1)), bp = arena.putF32(new Float32Array(c));
  const rmp = out(c, 0), rvp = out(c, 1), mp = out(c), sp = out(c), yp = out(n * c * hw);
  for (let s = 0; s < 200; s++) call("batchnorm_fwd_train_f32x4", n, c, hw, n, xp, gp, bp, yp, mp, sp, rmp, rvp, 0.1, EPS);
  assertClose(arena.readF32(rmp, c), ref0.runMean, { rtol: 1e-5, atol: 1e-5, name: "running mean → batch mean" });
  assertClose(arena.readF32(rvp, c), ref0.runVar, { rtol: 1e-5, atol: 1e-5, name: "running var → unbiased batch var" });
});

test("a partial batch: statistics, running update and gradients of its first nv rows alone; the padding rows are normalized with them and get dx 0", () => {
  const rng = new Rng(6);
  for (const [n, c, hw, nv] of [[5, 3, 4, 2], [8, 2, 7, 5], [4, 4, 1, 3], [3, 2, 5, 1]] as const) {
    for (const beta of [0, 1]) {
      const mark = arena.mark();
      const x = rng.f32(n * c * hw, () => 1 + rng.normal()), g = rng.f32(c), b = rng.f32(c), rm = rng.f32(c), rv = rng.f32(c, () => rng.uniform(0.5, 2));
      // Padding rows hold what a padded batch computes there (not zeros): they must not count.
      const xv = x.slice(0, nv * c * hw), dy = rng.f32(n * c * hw);
      for (let i = nv * c * hw; i < n * c * hw; i++) dy[i] = 0; // the masked loss sends nothing back to padding rows
      const xp = arena.putF32(x), gp = arena.putF32(g), bp = arena.putF32(b), yp = out(n * c * hw), mp = out(c), sp = out(c), rmp = out(c, rm), rvp = out(c, rv);
      call("batchnorm_fwd_train_f32x4", n, c, hw, nv, xp, gp, bp, yp, mp, sp, rmp, rvp, MOM, EPS);
      const ref = bnTrain(nv, c, hw, xv, g, b, rm, rv, MOM, EPS);
      const t = `${n}×${c}×${hw} nv=${nv} beta=${beta}`;
      const y = arena.readF32(yp, n * c * hw);
      assertClose(y.subarray(0, nv * c * hw), ref.y, { rtol: 1e-5, atol: 2e-5, name: `y ${t}` });
      assertClose(arena.readF32(mp, c), ref.mean, { rtol: 1e-6, atol: 1e-7, name: `mean ${t}` });
      assertClose(arena.readF32(rmp, c), ref.runMean, { rtol: 1e-6, atol: 1e-7, name: `running mean ${t}` });
      assertClose(arena.readF32(rvp, c), ref.runVar, { rtol: 1e-6, atol: 1e-7, name: `running var ${t}` });
      const mean = arena.readF32(mp, c), inv = arena.readF32(sp, c);
      for (let i = nv; i < n; i++) for (let ch = 0; ch < c; ch++) for (let j = 0; j < hw; j++) {
        const k = (i * c + ch) * hw + j;
        assert.ok(Math.abs(y[k] - ((x[k] - mean[ch]) * g[ch] * inv[ch] + b[ch])) <= 1e-4 * (1 + Math.abs(y[k])), `padding row ${i} normalized with the real rows' statistics (${t})`);
      }
      // Backward: the first nv rows' gradients are the nv-row batch's; padding rows get dx 0 (beta 1: unchanged).
      const old = rng.f32(n * c * hw), dxp = out(n * c * hw, old), dgp = out(c, new Float32Array(c)), dbp = out(c, new Float32Array(c));
      call("batchnorm_bwd_f32x4", n, c, hw, nv, xp, arena.putF32(dy), gp, mp, sp, dxp, dgp, dbp, beta);
      const small = arena.putF32(xv), smp = out(c), ssp = out(c), sdx = out(nv * c * hw), sdg = out(c), sdb = out(c);
      call("batchnorm_fwd_train_f32x4", nv, c, hw, nv, small, gp, bp, out(nv * c * hw), smp, ssp, out(c, rm), out(c, rv), MOM, EPS);
      call("batchnorm_bwd_f32x4", nv, c, hw, nv, small, arena.putF32(dy.slice(0, nv * c * hw)), gp, smp, ssp, sdx, sdg, sdb, 0);
      const dx = arena.readF32(dxp, n * c * hw), want = arena.readF32(sdx, nv * c * hw);
      assertClose(dx.subarray(0, nv * c * hw), Float64Array.from(want, (v, i) => v + beta * old[i]), { rtol: 1e-5, atol: 1e-6, name: `dx ${t}` });
      assertClose(dx.subarray(nv * c * hw), Float64Array.from(old.subarray(nv * c * hw), (v) => beta * v), { rtol: 0, atol: 0, name: `padding dx ${t}` });
      assertClose(arena.readF32(dgp, c), arena.readF32(sdg, c), { rtol: 1e-6, atol: 1e-7, name: `dγ ${t}` });
      assertClose(arena.readF32(dbp, c), arena.readF32(sdb, c), { rtol: 1e-6, atol: 1e-7, name: `dβ ${t}` });
      guardIntact(dxp, n * c * hw, "dx");
      arena.release(mark);
    }
  }
});

test.run();
