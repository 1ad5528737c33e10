// Optimizer steps vs float64 references of the PyTorch update rules over several steps, sumsq and
// global-norm clipping.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup, Rng, assertClose } from "../helpers.ts";
import { sgdStepRef, adamStepRef, sumsqRef, clipGradNormRef, type SgdHyper, type AdamHyper } from "../ref/optim.ts";

const { arena, call } = await setup();

const SIZES = [1, 3, 5, 17, 64, 130];

/** The kernels take f32 hyper-parameters: the reference must see the same rounded values. */
const f32Hyper = <T extends object>(h: T): T =>
  Object.fromEntries(Object.entries(h).map(([k, v]) => [k, typeof v === "number" ? Math.fround(v) : v])) as T;

function runSgd(n: number, h: SgdHyper, steps: number, seed: number, vPtrZero = false) {
  const rng = new Rng(seed);
  const p0 = rng.f32(n);
  const mk = arena.mark();
  const pp = arena.putF32(p0), vp = vPtrZero ? 0 : arena.alloc(n), gp = arena.alloc(n);
  const p = Float64Array.from(p0), v = new Float64Array(n);
  for (let s = 0; s < steps; s++) {
    const g = rng.f32(n);
    arena.writeF32(gp, g);
    call("sgd_step_f32x4", n, gp, pp, vp, h.lr, h.momentum, h.weightDecay, h.nesterov ? 1 : 0);
    sgdStepRef(g, p, v, f32Hyper(h));
    assert.equal(Array.from(arena.readF32(gp, n)), Array.from(g), "g is read only");
  }
  const out = { p: arena.readF32(pp, n), v: vp ? arena.readF32(vp, n) : null, pRef: p, vRef: v, p0 };
  arena.release(mk);
  return out;
}

function runAdam(n: number, h: AdamHyper, steps: number, seed: number) {
  const rng = new Rng(seed);
  const p0 = rng.f32(n);
  const mk = arena.mark();
  const pp = arena.putF32(p0), mp = arena.alloc(n), vp = arena.alloc(n), gp = arena.alloc(n);
  const p = Float64Array.from(p0), m = new Float64Array(n), v = new Float64Array(n);
  for (let t = 1; t <= steps; t++) {
    const g = rng.f32(n, () => rng.normal() * 0.5);
    arena.writeF32(gp, g);
    call("adam_step_f32x4", n, gp, pp, mp, vp, h.lr, h.beta1, h.beta2, h.eps, h.weightDecay, t, h.decoupled ? 1 : 0);
    adamStepRef(g, p, m, v, f32Hyper(h), t);
  }
  const out = { p: arena.readF32(pp, n), m: arena.readF32(mp, n), v: arena.readF32(vp, n), pRef: p, mRef: m, vRef: v };
  arena.release(mk);
  return out;
}

test("sgd: plain, momentum, nesterov, weight decay vs the float64 reference over 1..5 steps", () => {
  const hypers: SgdHyper[] = [
    { lr: 0.1, momentum: 0, weightDecay: 0, nesterov: false },
    { lr: 0.05, momentum: 0, weightDecay: 0.01, nesterov: false },
    { lr: 0.05, momentum: 0.9, weightDecay: 0, nesterov: false },
    { lr: 0.03, momentum: 0.9, weightDecay: 0.05, nesterov: false },
    { lr: 0.03, momentum: 0.8, weightDecay: 0.05, nesterov: true },
  ];
  let seed = 100;
  for (const h of hypers) {
    for (const n of SIZES) {
      for (let steps = 1; steps <= 5; steps += 2) {
        const r = runSgd(n, h, steps, seed++);
        assertClose(r.p, r.pRef, { rtol: 1e-5, atol: 1e-6, name: `sgd p ${JSON.stringify(h)} n=${n} steps=${steps}` });
        if (h.momentum !== 0) assertClose(r.v!, r.vRef, { rtol: 1e-5, atol: 1e-6, name: `sgd v n=${n}` });
        else for (const x of r.v!) assert.is(x, 0, "momentum 0 leaves v alone");
      }
    }
  }
});

test("sgd: nesterov and weight decay change the result; momentum 0 accepts v_ptr = 0", () => {
  const base: SgdHyper = { lr: 0.05, momentum: 0.9, weightDecay: 0, nesterov: false };
  const a = runSgd(17, base, 3, 7).p;
  const b = runSgd(17, { ...base, nesterov: true }, 3, 7).p;
  const c = runSgd(17, { ...base, weightDecay: 0.1 }, 3, 7).p;
  assert.ok(a.some((x, i) => Math.abs(x - b[i]) > 1e-4), "nesterov differs");
  assert.ok(a.some((x, i) => Math.abs(x - c[i]) > 1e-4), "weight decay differs");
  const r = runSgd(17, { lr: 0.1, momentum: 0, weightDecay: 0.01, nesterov: false }, 4, 8, true);
  assertClose(r.p, r.pRef, { rtol: 1e-5, atol: 1e-6, name: "sgd no v" });
});

test("adam and adamw vs the float64 reference over 1..5 steps", () => {
  const hypers: AdamHyper[] = [
    { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false },
    { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, decoupled: false },
    { lr: 1e-2, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.1, decoupled: true },
    { lr: 3e-3, beta1: 0.5, beta2: 0.9, eps: 1e-3, weightDecay: 0.02, decoupled: true },
  ];
  let seed = 200;
  for (const h of hypers) {
    for (const n of SIZES) {
      for (let steps = 1; steps <= 5; steps++) {
        const r = runAdam(n, h, steps, seed++);
        const name = `adam ${JSON.stringify(h)} n=${n} steps=${steps}`;
        assertClose(r.p, r.pRef, { rtol: 1e-5, atol: 1e-6, name: `${name} p` });
        assertClose(r.m, r.mRef, { rtol: 1e-5, atol: 1e-7, name: `${name} m` });
        assertClose(r.v, r.vRef, { rtol: 1e-5, atol: 1e-9, name: `${name} v` });
      }
    }
  }
});

test("adam vs adamw: weight decay is coupled vs decoupled, and they differ", () => {
  const h: AdamHyper = { lr: 0.05, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.5, decoupled: false };
  const adam = runAdam(33, h, 4, 9);
  const adamw = runAdam(33, { ...h, decoupled: true }, 4, 9);
  const plain = runAdam(33, { ...h, weightDecay: 0 }, 4, 9);
  assert.ok(adam.p.some((x, i) => Math.abs(x - adamw.p[i]) > 1e-4), "Adam and AdamW differ");
  assert.ok(adam.p.some((x, i) => Math.abs(x - plain.p[i]) > 1e-4), "coupled decay changes p");
  // AdamW's moments ignore weight decay: they equal the moments without decay.
  assertClose(adamw.m, plain.m, { rtol: 1e-6, atol: 0, name: "adamw m" });
  assertClose(adamw.v, plain.v, { rtol: 1e-6, atol: 0, name: "adamw v" });
  assertClose(adamw.p, adamw.pRef, { rtol: 1e-5, atol: 1e-6, name: "adamw p" });
});

test("adam traps on step < 1 (bias correction 1 − β^0 = 0)", () => {
  const mk = arena.mark();
  const b = arena.alloc(4);
  assert.throws(() => call("adam_step_f32x4", 4, b, b, b, b, 1e-3, 0.9, 0.999, 1e-8, 0, 0, 0), (e: unknown) => e instanceof WebAssembly.RuntimeError);
  arena.release(mk);
});

test("sumsq equals the f64 sum of squares", () => {
  const rng = new Rng(300);
  for (const n of [0, ...SIZES, 1000, 4099]) {
    const x = rng.f32(n, () => rng.normal() * 3);
    const mk = arena.mark();
    const got = call("sumsq_f32x4", n, arena.putF32(x));
    arena.release(mk);
    assertClose([got], [sumsqRef(x)], { rtol: 1e-12, atol: 0, name: `sumsq n=${n}` });
  }
});

test("clip_grad_norm: returns the f64 norm, clips to max_norm, leaves small gradients alone", () => {
  const rng = new Rng(301);
  for (const n of [...SIZES, 1000]) {
    // Magnitudes in [0.5, 2) so the norm is ≫ the 1e-6 PyTorch adds (the clipped norm is max_norm·norm/(norm + 1e-6)).
    const g = rng.f32(n, () => (rng.next() < 0.5 ? -1 : 1) * rng.uniform(0.5, 2));
    const norm = Math.sqrt(sumsqRef(g));
    for (const maxNorm of [norm * 0.3, norm * 0.9, norm * 1.5]) {
      const mk = arena.mark();
      const gp = arena.putF32(g);
      const got = call("clip_grad_norm_f32x4", n, gp, maxNorm);
      const after = arena.readF32(gp, n);
      arena.release(mk);
      assertClose([got], [norm], { rtol: 1e-6, atol: 0, name: `norm n=${n}` });
      const ref = Float64Array.from(g);
      clipGradNormRef(ref, maxNorm);
      assertClose(after, ref, { rtol: 1e-6, atol: 1e-9, name: `clipped n=${n} max=${maxNorm}` });
      const newNorm = Math.sqrt(sumsqRef(after));
      if (maxNorm < norm) assertClose([newNorm], [maxNorm], { rtol: 1e-5, atol: 0, name: `clipped norm n=${n}` });
      else assert.equal(Array.from(after), Array.from(g), "under the threshold: unchanged");
    }
  }
  // Empty and all-zero blocks: norm 0, nothing changes.
  const z = new Float32Array(9);
  const zp = arena.putF32(z);
  assert.is(call("clip_grad_norm_f32x4", 9, zp, 1), 0);
  assert.equal(Array.from(arena.readF32(zp, 9)), Array.from(z));
  assert.is(call("clip_grad_norm_f32x4", 0, zp, 1), 0);
});

test.run();
