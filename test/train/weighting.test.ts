// Task-balancing strategies: each must satisfy the property that defines it.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup, Rng, assertClose } from "../helpers.ts";
import { staticWeighting } from "../../src/train/weighting/static.ts";
import { dwaWeighting } from "../../src/train/weighting/dwa.ts";
import { glsWeighting } from "../../src/train/weighting/gls.ts";
import { rlwWeighting } from "../../src/train/weighting/rlw.ts";
import { uncertaintyWeighting } from "../../src/train/weighting/uncertainty.ts";
import { createWeighting } from "../../src/train/weighting/index.ts";
import { validateSpec } from "../../src/model/spec.ts";
import { Model } from "../../src/model/model.ts";
import { fit } from "../../src/train/trainer.ts";
import type { Encoded } from "../../src/data/preprocess.ts";
import type { Weighting } from "../../src/train/weighting/types.ts";

/** The objective a strategy returns must be Σ_t scale_t·L_t for the loss-linear ones (static, dwa, rlw). */
const weightedSum = (scales: ArrayLike<number>, losses: ArrayLike<number>) => Array.from(losses).reduce((s, l, t) => s + scales[t] * l, 0);
const near = (a: number, b: number, tol = 1e-12, what = "value") => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

/** Float64 reference of DWA (Liu et al. 2019, eq. 7): w_t(e) = T·exp(r_t/τ)/Σ_i exp(r_i/τ), r_t = L_t(e−1)/L_t(e−2). */
function dwaRef(epochs: number[][], temperature: number, T: number): number[] {
  if (epochs.length < 2) return Array(T).fill(1);
  const prev = epochs[epochs.length - 2], last = epochs[epochs.length - 1];
  const e = last.map((x, t) => Math.exp(x / prev[t] / temperature));
  const z = e.reduce((s, x) => s + x, 0);
  return e.map((x) => (T * x) / z);
}

/**
 * Float64 reference of RLW's draws: the uint32 stream of mulberry32 (test/helpers' Rng gives it divided by 2³²) seeded
 * with seed ^ 0x524c57 ("RLW"), u = (k + ½)/2³² in (0, 1), Box–Muller z = √(−2 ln u₁)·cos(2π u₂), λ = softmax(z).
 */
function rlwRef(seed: number): (T: number) => number[] {
  const rng = new Rng(seed ^ 0x524c57);
  const u = () => (rng.next() * 4294967296 + 0.5) / 4294967296;
  return (T) => {
    const z: number[] = [];
    for (let t = 0; t < T; t++) {
      const u1 = u(), u2 = u();
      z.push(Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2));
    }
    const e = z.map((x) => Math.exp(x));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((x) => x / s);
  };
}

test("static: scales are the spec's weights and the objective is their weighted sum", () => {
  const w = staticWeighting({ weights: [0.5, 2, 1], seed: 1 });
  const losses = Float64Array.of(1.5, 0.25, 3), scales = new Float64Array(3);
  const total = w.step(losses, scales);
  assert.equal(Array.from(scales), [0.5, 2, 1]);
  assert.ok(Math.abs(total - (0.75 + 0.5 + 3)) < 1e-12);
  assert.is(w.name, "static");
});

test("dwa: weights are T·softmax(r/τ) of the last two epochs' loss ratios, 1 before that", () => {
  const w = dwaWeighting({ weights: [1, 1, 1], seed: 1 }, 2);
  const scales = new Float64Array(3), losses = Float64Array.of(1, 1, 1);
  w.step(losses, scales);
  assert.equal(Array.from(scales), [1, 1, 1]);
  w.endEpoch!(Float64Array.of(2, 1, 4));
  w.step(losses, scales);
  assert.equal(Array.from(scales), [1, 1, 1]);
  w.endEpoch!(Float64Array.of(1, 1, 3));
  w.step(losses, scales);
  const r = [1 / 2, 1 / 1, 3 / 4];
  const e = r.map((x) => Math.exp(x / 2));
  const z = e[0] + e[1] + e[2];
  assertClose(scales, e.map((x) => (3 * x) / z), { rtol: 1e-12, atol: 0 });
  assert.ok(Math.abs(scales[0] + scales[1] + scales[2] - 3) < 1e-12);
  assert.ok(scales[1] > scales[2] && scales[2] > scales[0], "the task whose loss fell least gets the most weight");
  assert.is(w.name, "dwa");
});

test("dwa: later epochs use only the last two epochs; scales multiply the static weights; objective Σ scale·L", () => {
  const static_ = [0.5, 2, 1.5], tau = 0.7, T = 3;
  const w = dwaWeighting({ weights: static_, seed: 1 }, tau);
  const rng = new Rng(11);
  const epochs: number[][] = [];
  const scales = new Float64Array(T);
  for (let e = 0; e < 6; e++) {
    const losses = Float64Array.from({ length: T }, () => 0.1 + 3 * rng.next());
    const total = w.step(losses, scales);
    const want = dwaRef(epochs, tau, T).map((x, t) => x * static_[t]);
    assertClose(scales, want, { rtol: 1e-12, atol: 0, name: `epoch ${e} scales` });
    near(total, weightedSum(want, losses), 1e-12, `epoch ${e} objective`);
    const mean = Array.from({ length: T }, () => 0.2 + 2 * rng.next());
    epochs.push(mean);
    w.endEpoch!(Float64Array.from(mean));
  }
});

test("dwa: state → JSON → restore continues exactly as an uninterrupted run", () => {
  const ctx = { weights: [1, 0.5], seed: 1 };
  const a = dwaWeighting(ctx, 2);
  const epochs = [[1, 2], [0.5, 1.9], [0.4, 1.2], [0.39, 0.6]];
  const sa = new Float64Array(2), sb = new Float64Array(2), l = Float64Array.of(0.3, 1.7);
  for (const [i, e] of epochs.entries()) {
    a.endEpoch!(Float64Array.from(e));
    // Resume after every epoch count (including before DWA has two epochs of history).
    const b = dwaWeighting(ctx, 2);
    b.restore!(JSON.parse(JSON.stringify(a.state!())));
    near(b.step(l, sb), a.step(l, sa), 0, `epoch ${i} objective`);
    assert.equal(Array.from(sb), Array.from(sa));
    // …and the restored history is used by the next epoch's weights.
    const next = [0.3, 0.5];
    b.endEpoch!(Float64Array.from(next));
    b.step(l, sb);
    assertClose(sb, dwaRef([...epochs.slice(0, i + 1), next], 2, 2).map((x, t) => x * ctx.weights[t]), { rtol: 1e-12, atol: 0 });
  }
});

test("gls: scales are the gradient of (Π L_t)^{1/T} (finite differences)", () => {
  const w = glsWeighting({ weights: [1, 1, 1, 1], seed: 0 });
  const losses = Float64Array.of(0.7, 2.5, 0.1, 1.3), scales = new Float64Array(4);
  const total = w.step(losses, scales);
  const f = (l: Float64Array) => Math.exp(l.reduce((s, x) => s + Math.log(x), 0) / l.length);
  assert.ok(Math.abs(total - f(losses)) < 1e-12);
  for (let t = 0; t < 4; t++) {
    const h = 1e-6, up = Float64Array.from(losses), dn = Float64Array.from(losses);
    up[t] += h;
    dn[t] -= h;
    const fd = (f(up) - f(dn)) / (2 * h);
    assert.ok(Math.abs(scales[t] - fd) < 1e-6 * Math.max(1, Math.abs(fd)), `task ${t}: ${scales[t]} vs ${fd}`);
  }
  assert.is(w.name, "gls");
});

test("rlw: softmax of Gaussian draws (positive, summing to 1), reproducible by seed, resumable", () => {
  const a = rlwWeighting({ weights: [1, 1, 1], seed: 5 }), b = rlwWeighting({ weights: [1, 1, 1], seed: 5 }), c = rlwWeighting({ weights: [1, 1, 1], seed: 6 });
  const sa = new Float64Array(3), sb = new Float64Array(3), sc = new Float64Array(3), l = Float64Array.of(1, 1, 1);
  const seen: number[][] = [];
  for (let i = 0; i < 200; i++) {
    a.step(l, sa);
    b.step(l, sb);
    c.step(l, sc);
    assert.equal(Array.from(sa), Array.from(sb));
    assert.ok(sa.every((x) => x > 0) && Math.abs(sa[0] + sa[1] + sa[2] - 1) < 1e-12);
    seen.push(Array.from(sa));
  }
  assert.not.equal(Array.from(sa), Array.from(sc));
  // Draws vary: each task's weight has a spread, and the mean is near 1/3 by symmetry.
  const mean0 = seen.reduce((s, x) => s + x[0], 0) / seen.length;
  assert.ok(Math.abs(mean0 - 1 / 3) < 0.06, `mean weight ${mean0}`);
  const st = a.state!();
  const resumed = rlwWeighting({ weights: [1, 1, 1], seed: 5 });
  resumed.restore!(JSON.parse(JSON.stringify(st)));
  a.step(l, sa);
  resumed.step(l, sb);
  assert.equal(Array.from(sb), Array.from(sa));
  assert.is(a.name, "rlw");
});

test("rlw: λ is softmax of Box–Muller normals from the seeded mulberry32 stream; objective Σ w_t·λ_t·L_t", () => {
  for (const [seed, T] of [[5, 3], [123456, 2], [7, 6]]) {
    const weights = Array.from({ length: T }, (_, t) => 0.5 + t);
    const w = rlwWeighting({ weights, seed });
    const ref = rlwRef(seed);
    const rng = new Rng(seed + 1);
    const scales = new Float64Array(T);
    for (let i = 0; i < 50; i++) {
      const losses = Float64Array.from({ length: T }, () => 0.05 + 4 * rng.next());
      const total = w.step(losses, scales);
      const want = ref(T).map((x, t) => x * weights[t]);
      assertClose(scales, want, { rtol: 1e-13, atol: 0, name: `seed ${seed} step ${i}` });
      near(total, weightedSum(want, losses), 1e-12, `seed ${seed} step ${i} objective`);
    }
  }
});

test("rlw: with two tasks, logit(λ₀) = z₀ − z₁ is N(0, 2)", () => {
  // Independent of the generator: a distributional check of the draws behind the softmax.
  const w = rlwWeighting({ weights: [1, 1], seed: 99 });
  const scales = new Float64Array(2), l = Float64Array.of(1, 1);
  const n = 4000;
  let s1 = 0, s2 = 0;
  for (let i = 0; i < n; i++) {
    w.step(l, scales);
    const d = Math.log(scales[0] / scales[1]);
    s1 += d;
    s2 += d * d;
  }
  const mean = s1 / n, variance = s2 / n - mean * mean;
  // Standard errors: mean √(2/n) ≈ 0.022, variance 2·√(2/n) ≈ 0.045.
  assert.ok(Math.abs(mean) < 0.1, `mean ${mean}`);
  assert.ok(Math.abs(variance - 2) < 0.2, `variance ${variance}`);
});

test("uncertainty: scales, objective and ∂L/∂s match Kendall et al.'s L = Σ w_t (L_t/(2e^{s_t}) + s_t/2) (finite differences)", () => {
  const weights = [1, 0.5, 2];
  const s = Float32Array.of(0.3, -1.2, 0.8), g = new Float32Array(3).fill(NaN);
  const w = uncertaintyWeighting({ weights, seed: 1 }, () => s, () => g);
  assert.is(w.name, "uncertainty");
  const losses = Float64Array.of(0.7, 2.5, 0.04), scales = new Float64Array(3);
  const total = w.step(losses, scales);
  const f = (l: ArrayLike<number>, sv: ArrayLike<number>) => weights.reduce((acc, wt, t) => acc + wt * (l[t] / (2 * Math.exp(sv[t])) + sv[t] / 2), 0);
  near(total, f(losses, s), 1e-12, "objective");
  const h = 1e-6;
  for (let t = 0; t < 3; t++) {
    const up = Float64Array.from(losses), dn = Float64Array.from(losses);
    up[t] += h;
    dn[t] -= h;
    near(scales[t], (f(up, s) - f(dn, s)) / (2 * h), 1e-7, `scale ${t}`);
    const sUp = Float64Array.from(s), sDn = Float64Array.from(s);
    sUp[t] += h;
    sDn[t] -= h;
    // g is float32: compare at float32 precision.
    near(g[t], (f(losses, sUp) - f(losses, sDn)) / (2 * h), 1e-6, `grad ${t}`);
  }
});

test("createWeighting: the spec's weighting type selects the strategy, with the spec's weights, seed and temperature", async () => {
  const { k } = await setup();
  const make = (weighting: Record<string, unknown>) => {
    const spec = validateSpec({
      inputs: { numeric: ["a"] },
      architecture: { type: "hps", layers: [4] },
      tasks: [
        { name: "t1", type: "regression", label: "y1", weight: 0.5 },
        { name: "t2", type: "regression", label: "y2", weight: 2 },
      ],
      training: { seed: 17, weighting },
    });
    const pre = { numeric: [{ column: "a", mean: 0, std: 1 }], categorical: [], tasks: spec.tasks.map((t) => ({ name: t.name, classes: null, groups: null, target: null })) };
    const model = new Model(spec, pre, k);
    model.initParams(1);
    return { model, w: createWeighting(model) };
  };
  const ctx = { weights: [0.5, 2], seed: 17 };
  const losses = Float64Array.of(0.8, 1.9);
  const same = (got: Weighting, want: Weighting, epochs: number[][] = []) => {
    const a = new Float64Array(2), b = new Float64Array(2);
    for (let i = 0; i < 4; i++) {
      for (const e of epochs) {
        got.endEpoch?.(Float64Array.from(e));
        want.endEpoch?.(Float64Array.from(e));
      }
      near(got.step(losses, a), want.step(losses, b), 0, `${want.name} objective`);
      assert.equal(Array.from(a), Array.from(b), `${want.name} scales`);
    }
  };
  const st = make({ type: "static" });
  assert.is(st.w.name, "static");
  same(st.w, staticWeighting(ctx));
  const dw = make({ type: "dwa", temperature: 0.5 });
  assert.is(dw.w.name, "dwa");
  same(dw.w, dwaWeighting(ctx, 0.5), [[1, 2], [0.5, 1.5]]);
  const gl = make({ type: "gls" });
  assert.is(gl.w.name, "gls");
  same(gl.w, glsWeighting(ctx));
  const rl = make({ type: "rlw" });
  assert.is(rl.w.name, "rlw");
  same(rl.w, rlwWeighting(ctx));
  // Uncertainty reads the log-variance parameters and writes their gradient block.
  const un = make({ type: "uncertainty" });
  assert.is(un.w.name, "uncertainty");
  const { model } = un, p = model.logVars!;
  const sv = model.arena.f32(model.store.addr(p, "p"), 2);
  sv.set([0.25, -0.5]);
  const scales = new Float64Array(2);
  un.w.step(losses, scales);
  const g = model.arena.f32(model.store.addr(p, "g"), 2);
  const s = new Float32Array(2), gw = new Float32Array(2), want = new Float64Array(2);
  s.set(sv);
  uncertaintyWeighting(ctx, () => s, () => gw).step(losses, want);
  assert.equal(Array.from(scales), Array.from(want));
  assert.equal(Array.from(g), Array.from(gw));
});

test("uncertainty: learnt weights converge toward inverse loss scales (1 / 2L_t)", async () => {
  const { k } = await setup();
  const rng = new Rng(3);
  const n = 2048, F = 4;
  const x = rng.f32(n * F, () => rng.normal());
  // Two regression tasks on the same inputs with noise σ = 0.2 and σ = 1: irreducible MSE 0.04 and 1.
  const y1 = new Float32Array(n), y2 = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const s = x[i * F] - 0.5 * x[i * F + 1] + 0.25 * x[i * F + 2];
    y1[i] = s + 0.2 * rng.normal();
    y2[i] = -s + x[i * F + 3] + 1.0 * rng.normal();
  }
  const spec = validateSpec({
    inputs: { numeric: ["a", "b", "c", "d"] },
    architecture: { type: "hps", layers: [16] },
    tasks: [
      { name: "quiet", type: "regression", label: "y1" },
      { name: "noisy", type: "regression", label: "y2" },
    ],
    training: { epochs: 25, batch_size: 128, optimizer: { type: "adam", lr: 0.02 }, weighting: { type: "uncertainty" } },
  });
  const pre = { numeric: spec.inputs.numeric.map((column) => ({ column, mean: 0, std: 1 })), categorical: [], tasks: spec.tasks.map((t) => ({ name: t.name, classes: null, groups: null, target: null })) };
  const enc: Encoded = { rows: n, numeric: x, categorical: [], tensor: new Float32Array(0), tasks: [y1, y2].map((y) => ({ labels: y, mask: new Float32Array(n).fill(1), group: new Int32Array(0) })) };
  const model = new Model(spec, pre, k);
  model.initParams(2);
  const r = await fit(model, enc, null);
  const last = r.history[r.history.length - 1];
  const ratio = last.weights.quiet / last.weights.noisy;
  const lossRatio = last.trainLoss.noisy / last.trainLoss.quiet;
  // At the optimum e^{s_t} = L_t, so w_quiet / w_noisy = L_noisy / L_quiet (≈ 25 here).
  assert.ok(lossRatio > 10, `loss ratio ${lossRatio}`);
  assert.ok(Math.abs(Math.log(ratio / lossRatio)) < Math.log(1.25), `weight ratio ${ratio.toFixed(2)} vs inverse loss ratio ${lossRatio.toFixed(2)}`);
  assert.ok(Math.abs(last.weights.noisy - 1 / (2 * last.trainLoss.noisy)) < 0.25 / (2 * last.trainLoss.noisy), `noisy weight ${last.weights.noisy} vs 1/(2L) ${1 / (2 * last.trainLoss.noisy)}`);
});



/** Independent weighted geometric mean over the labelled tasks: exp(Σ w·log L / Σ w). */
function glsRef(losses: number[], weights: number[], labelled: number[]): number {
  let num = 0, den = 0;
  losses.forEach((l, t) => {
    if (labelled[t] > 0) (num += weights[t] * Math.log(Math.max(l, 1e-12))), (den += weights[t]);
  });
  return den ? Math.exp(num / den) : 0;
}

test("gls: a task without labels in the batch is left out of the mean; task weights are exponents", () => {
  const weights = [0.5, 2, 1.5];
  const w = glsWeighting({ weights, seed: 0 });
  const losses = Float64Array.of(0.7, 0, 1.9), scales = new Float64Array(3);
  const labelled = [12, 0, 7];
  const total = w.step(losses, scales, labelled);
  assert.ok(Math.abs(total - glsRef(Array.from(losses), weights, labelled)) < 1e-12, `objective ${total}`);
  assert.is(scales[1], 0, "the unlabelled task gets no gradient");
  for (const t of [0, 2]) {
    const h = 1e-6, up = Array.from(losses), dn = Array.from(losses);
    up[t] += h;
    dn[t] -= h;
    const fd = (glsRef(up, weights, labelled) - glsRef(dn, weights, labelled)) / (2 * h);
    assert.ok(Math.abs(scales[t] - fd) < 1e-6 * Math.max(1, Math.abs(fd)), `scale ${t}: ${scales[t]} vs ${fd}`);
  }
  // Before: the unlabelled task's loss was floored at 1e-12 and collapsed the mean (and the whole gradient).
  assert.ok(total > 0.1, `the objective collapsed to ${total}`);
  // No labelled task at all: objective 0, no gradient.
  assert.is(w.step(Float64Array.of(0, 0, 0), scales, [0, 0, 0]), 0);
  assert.equal(Array.from(scales), [0, 0, 0]);
  // Unit weights and every task labelled: the plain geometric mean, bit for bit.
  const u = glsWeighting({ weights: [1, 1, 1], seed: 0 }), su = new Float64Array(3), l3 = Float64Array.of(0.7, 2.5, 0.1);
  const plain = Math.exp((Math.log(0.7) + Math.log(2.5) + Math.log(0.1)) / 3);
  assert.is(u.step(l3, su, [1, 1, 1]), plain);
  assert.is(u.step(l3, su), plain);
});

test.run();
