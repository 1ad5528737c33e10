// FAMO, STCH and GradNorm against float64 references written here from the papers' equations, and their scales
// against central differences of the objective they return.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup, Rng } from "../helpers.ts";
import { famoWeighting } from "../../src/train/weighting/famo.ts";
import { stchWeighting } from "../../src/train/weighting/stch.ts";
import { gradnormWeighting } from "../../src/train/weighting/gradnorm.ts";
import type { GradientStage } from "../../src/train/task-gradients.ts";

const { k, arena } = await setup();
const near = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

test("FAMO: scales z_t/(c·D_t), and the logits follow Adam on z_s(δ_s − Σ z δ) with L2 decay (float64 reference)", () => {
  const T = 3, weights = [1, 0.5, 2], lr = 0.05, decay = 0.01;
  const famo = famoWeighting({ weights, seed: 1, options: { type: "famo", temperature: 2, lr, decay } });
  // Reference state.
  let xi = [0, 0, 0];
  const m = [0, 0, 0], v = [0, 0, 0];
  const rng = new Rng(3);
  for (let step = 1; step <= 6; step++) {
    const L = Float64Array.from({ length: T }, () => 0.2 + rng.next());
    const labelled = step === 3 ? [5, 0, 5] : [5, 5, 5];
    const scales = new Float64Array(T);
    const obj = famo.step(L, scales, labelled);
    const mx = Math.max(...xi), e = xi.map((x) => Math.exp(x - mx)), s = e.reduce((a, b) => a + b, 0), z = e.map((x) => x / s);
    const on = (t: number) => labelled[t] > 0;
    const D = Array.from(L, (l) => l + 1e-8);
    const c = D.reduce((a, d, t) => a + (on(t) ? z[t] / d : 0), 0);
    for (let t = 0; t < T; t++) near(scales[t], on(t) ? (weights[t] * z[t]) / (c * D[t]) : 0, 1e-12, `step ${step} scale ${t}`);
    near(obj, D.reduce((a, d, t) => a + (on(t) ? (weights[t] * z[t] * Math.log(d)) / c : 0), 0), 1e-12, `step ${step} objective`);
    const after = Float64Array.from(L, (l) => l * (0.7 + 0.5 * rng.next()));
    famo.afterUpdate!(after);
    const delta = D.map((d, t) => (on(t) ? Math.log(d) - Math.log(after[t] + 1e-8) : 0));
    const zd = z.reduce((a, zz, t) => a + zz * delta[t], 0);
    xi = xi.map((x, q) => {
      const g = z[q] * (delta[q] - zd) + decay * x;
      m[q] = 0.9 * m[q] + 0.1 * g;
      v[q] = 0.999 * v[q] + 0.001 * g * g;
      return x - (lr * (m[q] / (1 - 0.9 ** step))) / (Math.sqrt(v[q] / (1 - 0.999 ** step)) + 1e-8);
    });
    const st = famo.state!() as { xi: number[] };
    st.xi.forEach((x, q) => near(x, xi[q], 1e-12, `step ${step} logit ${q}`));
  }
  // state round trip: a restored copy gives the same next scales, bit for bit.
  const copy = famoWeighting({ weights, seed: 1, options: { type: "famo", temperature: 2, lr, decay } });
  copy.restore!(JSON.parse(JSON.stringify(famo.state!())));
  const L = Float64Array.from([0.3, 0.9, 0.4]), a = new Float64Array(T), b = new Float64Array(T);
  famo.step(L, a);
  copy.step(L, b);
  assert.equal(Array.from(a), Array.from(b));
});

test("STCH: log-loss warm-up, nadir from the warm-up's last epoch, then scales = ∂(smooth max)/∂L_t (central differences)", () => {
  const T = 3, mu = 0.5, warmup = 1, weights = [1, 1, 1];
  const stch = stchWeighting({ weights, seed: 1, options: { type: "stch", temperature: 2, mu, warmup_epochs: warmup } });
  const rng = new Rng(8);
  const sum = [0, 0, 0], cnt = [0, 0, 0];
  for (let epoch = 0; epoch <= warmup; epoch++) {
    for (let s = 0; s < 4; s++) {
      const L = Float64Array.from({ length: T }, () => 0.1 + rng.next());
      const lab = s === 1 ? [3, 3, 0] : [3, 3, 3];
      const sc = new Float64Array(T);
      stch.step(L, sc, lab);
      for (let t = 0; t < T; t++) near(sc[t], lab[t] ? 1 / (L[t] + 1e-20) : 0, 1e-12, `warm-up scale ${t}`);
      if (epoch === warmup) for (let t = 0; t < T; t++) if (lab[t]) (sum[t] += L[t]), cnt[t]++;
    }
    stch.endEpoch!(new Float64Array(T));
  }
  const nadir = sum.map((x, t) => x / cnt[t]);
  const ref = (L: number[]) => T * mu * Math.log(L.reduce((a, l, t) => a + Math.exp(Math.log(l / nadir[t] + 1e-20) / mu), 0));
  for (let s = 0; s < 5; s++) {
    const L = Array.from({ length: T }, () => 0.1 + rng.next());
    const sc = new Float64Array(T);
    const obj = stch.step(Float64Array.from(L), sc, [2, 2, 2]);
    near(obj, ref(L), 1e-10, "objective");
    for (let t = 0; t < T; t++) {
      const h = 1e-6 * L[t], up = [...L], dn = [...L];
      up[t] += h;
      dn[t] -= h;
      near(sc[t], (ref(up) - ref(dn)) / (2 * h), 1e-6, `scale ${t} vs central difference`);
    }
  }
});

/** A gradient stage over random rows in wasm memory (T rows of n, stride ld). */
function fakeStage(rows: Float32Array[], losses: number[], active: number[]): GradientStage {
  const T = rows.length, n = rows[0].length, ld = (n + 3) & ~3;
  const G = new Float32Array(T * ld);
  rows.forEach((r, t) => G.set(r, t * ld));
  const ptr = arena.putF32(G);
  const alpha = new Float64Array(T);
  for (const t of active) alpha[t] = 1;
  return {
    tasks: T, mode: "param", size: n, ld, losses: Float64Array.from(losses), weights: rows.map(() => 1), active, labelled: rows.map((_, t) => (active.includes(t) ? 1 : 0)), alpha,
    row: (t) => arena.f32(ptr + t * ld * 4, n), taskGradient: (t) => arena.f32(ptr + t * ld * 4, n), representationGradient: () => new Float32Array(0),
    featureScale: 0, ptr: { rows: ptr, signed: 0, representation: () => 0, representationGradient: () => 0 }, batch: 1, k,
  };
}

test("GradNorm: w = T·softmax(ξ) weights the gradients; ∂L_grad/∂ξ equals central differences of Σ|w_t‖g_t‖ − Ḡ·r_t^α| (target fixed)", () => {
  const T = 3, n = 37, alpha = 1.5;
  const rng = new Rng(12);
  const xi = new Float32Array([0.3, -0.2, 0.1]), gxi = new Float32Array(T);
  const gn = gradnormWeighting({ weights: [1, 1, 1], seed: 1, options: { type: "gradnorm", temperature: 2, alpha } }, () => xi, () => gxi);
  const rows = Array.from({ length: T }, (_, t) => Float32Array.from({ length: n }, () => (t + 1) * (rng.next() - 0.5)));
  const mk = arena.mark();
  // First epoch: equal weights, no logit gradient.
  let stage = fakeStage(rows, [1, 2, 3], [0, 1, 2]);
  gn.gradient!(stage);
  assert.equal(Array.from(stage.alpha), [1, 1, 1]);
  assert.equal(Array.from(gxi), [0, 0, 0]);
  const L0 = [0.9, 1.7, 2.2];
  gn.endEpoch!(Float64Array.from(L0));
  const losses = [0.5, 1.6, 1.1];
  stage = fakeStage(rows, losses, [0, 1, 2]);
  gn.gradient!(stage);
  const norms = rows.map((r) => Math.sqrt(r.reduce((a, x) => a + x * x, 0)));
  const wOf = (x: number[]) => {
    const e = x.map(Math.exp), s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => (T * v) / s);
  };
  const w0 = wOf(Array.from(xi));
  w0.forEach((w, t) => near(stage.alpha[t], w, 1e-6, `alpha ${t}`));
  const Lt = losses.map((l, t) => l / L0[t]), Lbar = Lt.reduce((a, b) => a + b, 0) / T;
  const Gbar = w0.reduce((a, w, t) => a + w * norms[t], 0) / T;
  const target = Lt.map((l) => Gbar * (l / Lbar) ** alpha);
  const Lgrad = (x: number[]) => wOf(x).reduce((a, w, t) => a + Math.abs(w * norms[t] - target[t]), 0);
  for (let s = 0; s < T; s++) {
    const h = 1e-6, up = Array.from(xi), dn = Array.from(xi);
    up[s] += h;
    dn[s] -= h;
    near(gxi[s], (Lgrad(up) - Lgrad(dn)) / (2 * h), 1e-4, `∂L_grad/∂ξ_${s}`);
  }
  // An inactive task: weight 0 that step.
  stage = fakeStage(rows, losses, [0, 2]);
  gn.gradient!(stage);
  assert.is(stage.alpha[1], 0);
  arena.release(mk);
});

test.run();
