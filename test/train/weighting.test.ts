// Task-balancing strategies: each must satisfy the property that defines it.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup, Rng, assertClose } from "../helpers.ts";
import { staticWeighting } from "../../src/train/weighting/static.ts";
import { dwaWeighting } from "../../src/train/weighting/dwa.ts";
import { glsWeighting } from "../../src/train/weighting/gls.ts";
import { rlwWeighting } from "../../src/train/weighting/rlw.ts";
import { validateSpec } from "../../src/model/spec.ts";
import { Model } from "../../src/model/model.ts";
import { fit } from "../../src/train/trainer.ts";
import type { Encoded } from "../../src/data/preprocess.ts";

test("static: scales are the spec's weights and the objective is their weighted sum", () => {
  const w = staticWeighting({ weights: [0.5, 2, 1], seed: 1 });
  const losses = Float64Array.of(1.5, 0.25, 3), scales = new Float64Array(3);
  const total = w.step(losses, scales);
  assert.equal(Array.from(scales), [0.5, 2, 1]);
  assert.ok(Math.abs(total - (0.75 + 0.5 + 3)) < 1e-12);
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
});

test("gls: scales are the gradient of (Π L_t)^{1/T} (finite differences)", () => {
  const w = glsWeighting();
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

test.run();
