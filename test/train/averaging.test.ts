// Weight averaging (src/train/averaging.ts): the ema_f32x4 kernel and fit's EMA against a float64 EMA over the live
// weights of every step, SWA against the float64 mean of the live weights at the end of its epochs, resume through
// checkpoint bytes bit for bit, and the named errors of bad training.ema / training.swa.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { assertClose, Rng, setup, throwsWith, rejects } from "../helpers.ts";
import { validateSpec, type ModelSpec } from "../../src/model/spec.ts";
import { Model } from "../../src/model/model.ts";
import { fit, type TrainState } from "../../src/train/trainer.ts";
import { loadAverage, loadState, stateBytes } from "../../src/io/checkpoint.ts";
import { twoTaskData, twoTaskPre, twoTaskSpec } from "./two-task.ts";

const { k, arena, call } = await setup();
const enc = twoTaskData(200); // batch 50: 4 steps an epoch

function withTraining(extra: Record<string, unknown>, epochs = 3): ModelSpec {
  const base = twoTaskSpec(epochs);
  return validateSpec({ ...base, training: { ...base.training, ...extra } });
}

const trainable = (m: Model) => m.snapshot().subarray(0, m.store.trainable);

test("ema_f32x4: y = d·y + (1 − d)·x against float64, SIMD body and scalar tail, nothing past n", () => {
  const rng = new Rng(7);
  for (const n of [0, 1, 3, 4, 7, 33, 130]) {
    const x = rng.f32(n + 4, () => rng.normal()), y = rng.f32(n + 4, () => rng.normal());
    const mk = arena.mark();
    const xp = arena.putF32(x), yp = arena.putF32(y);
    call("ema_f32x4", n, xp, yp, 0.9);
    const out = arena.readF32(yp, n + 4);
    arena.release(mk);
    const d = 0.9;
    assertClose(out.subarray(0, n), Array.from({ length: n }, (_, i) => d * y[i] + (1 - d) * x[i]), { rtol: 1e-6, atol: 1e-7, name: `n=${n}` });
    assert.equal(Array.from(out.subarray(n)), Array.from(y.subarray(n)), `n=${n}: past n untouched`);
  }
});

for (const warmup of [false, true]) {
  test(`EMA${warmup ? " with warm-up" : ""}: the model ends on a float64 EMA of the live weights after every step`, async () => {
    const decay = 0.8;
    const spec = withTraining({ ema: { decay, warmup } });
    const m = new Model(spec, twoTaskPre(spec), k);
    m.initParams(5);
    const ref = Float64Array.from(trainable(m));
    let steps = 0, last = new Float32Array(0);
    await fit(m, enc, null, {
      onStep: (step) => {
        // onStep runs after the update and the average's: the live weights of this step.
        const d = warmup ? Math.min(decay, (1 + (step - 1)) / (10 + (step - 1))) : decay;
        const live = trainable(m);
        last = live.slice();
        for (let i = 0; i < ref.length; i++) ref[i] = d * ref[i] + (1 - d) * live[i];
        steps = step;
      },
    });
    assert.is(steps, 12);
    const got = trainable(m); // the model holds the average now
    assertClose(got, ref, { rtol: 1e-5, atol: 1e-6, name: "EMA weights" });
    // The average is not the last live weights (else the comparison above could pass without averaging).
    assert.ok(last.some((v, i) => Math.abs(v - ref[i]) > 1e-3), "the EMA differs from the last step's weights");
    m.dispose();
  });
}

test("EMA: validation and early stopping see the average, and the kept weights are it", async () => {
  const spec = withTraining({ ema: { decay: 0.7 }, early_stopping: { metric: "loss", patience: 5 } }, 3);
  const m = new Model(spec, twoTaskPre(spec), k);
  m.initParams(5);
  const avgAt: Float32Array[] = [];
  const liveAt: Float32Array[] = [];
  const r = await fit(m, enc, enc, {
    afterEpoch: (_st, best, average) => {
      avgAt.push(average!.slice());
      liveAt.push(trainable(m).slice());
      void best;
    },
  });
  const kept = trainable(m);
  const want = avgAt[r.bestEpoch - 1];
  assert.equal(Array.from(kept), Array.from(want), `the kept weights are epoch ${r.bestEpoch}'s average`);
  assert.not.equal(Array.from(kept), Array.from(liveAt[r.bestEpoch - 1]), "and not that epoch's live weights");
  m.dispose();
});

test("SWA: the model ends on the float64 mean of the live weights at the end of the last K epochs; swa.lr holds then", async () => {
  const spec = withTraining({ swa: { epochs: 3, lr: 0.002 }, schedule: { type: "cosine" } }, 5);
  const m = new Model(spec, twoTaskPre(spec), k);
  m.initParams(9);
  const perEpoch: Float32Array[] = [];
  const r = await fit(m, enc, null, { afterEpoch: () => void perEpoch.push(trainable(m).slice()) });
  assert.is(perEpoch.length, 5);
  const mean = new Float64Array(perEpoch[0].length);
  for (const w of perEpoch.slice(2)) for (let i = 0; i < mean.length; i++) mean[i] += w[i] / 3;
  assertClose(trainable(m), mean, { rtol: 1e-5, atol: 1e-6, name: "SWA mean" });
  // Not the last epoch's weights, nor the mean of all five.
  assert.ok(perEpoch[4].some((v, i) => Math.abs(v - mean[i]) > 1e-4), "differs from the last epoch");
  assert.equal(r.history.map((h) => h.lr).slice(2), [0.002, 0.002, 0.002]);
  assert.ok(r.history[0].lr !== 0.002 && r.history[1].lr !== 0.002, "the schedule's rate before the SWA epochs");
  m.dispose();
});

for (const kind of ["ema", "swa"] as const) {
  test(`${kind}: 2 epochs + resume from checkpoint bytes for 2 = 4 epochs, bit for bit`, async () => {
    const spec = withTraining(kind === "ema" ? { ema: { decay: 0.9, warmup: true } } : { swa: { epochs: 3 } }, 4);
    const pre = twoTaskPre(spec);
    const whole = new Model(spec, pre, k);
    whole.initParams(3);
    await fit(whole, enc, null);

    const first = new Model(spec, pre, k);
    first.initParams(3);
    let saved: { st: TrainState; bytes: Uint8Array } | null = null;
    await fit(first, enc, null, {
      afterEpoch: (st, _best, average) => {
        if (st.epoch === 2) saved = { st: JSON.parse(JSON.stringify(st)), bytes: stateBytes(first, average) };
        if (st.epoch === 2) throw new Error("stop");
      },
    }).catch((e) => assert.is((e as Error).message, "stop"));
    assert.ok(saved);
    const { st, bytes } = saved as { st: TrainState; bytes: Uint8Array };
    const resumed = new Model(spec, pre, k);
    loadState(resumed, bytes, "state.safetensors");
    const average = loadAverage(resumed, bytes, "state.safetensors");
    assert.ok(kind === "swa" ? st.averaged === 1 && average !== null : st.averaged === 8 && average !== null);
    await fit(resumed, enc, null, { resume: st, resumeAverage: average });
    const a = whole.snapshot(), b = resumed.snapshot();
    let diff = 0;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) diff++;
    assert.is(diff, 0, `${diff} of ${a.length} weights differ after resuming`);
    for (const m of [whole, first, resumed]) m.dispose();
  });
}

test("bad training.ema / training.swa values are SpecErrors naming the field", () => {
  for (const decay of [0, 1, 1.5, -0.1]) throwsWith(() => withTraining({ ema: { decay } }), `training.ema.decay: must be in (0, 1), found ${decay}`);
  throwsWith(() => withTraining({ ema: {} }), "training.ema.decay: is required");
  throwsWith(() => withTraining({ ema: { decay: "0.9" } }), "training.ema.decay: expected a number");
  throwsWith(() => withTraining({ ema: { decay: 0.9, beta: 1 } }), "training.ema.beta: unknown key");
  throwsWith(() => withTraining({ swa: { epochs: 4 } }, 3), "training.swa.epochs: must be an integer in [1, training.epochs = 3], found 4");
  throwsWith(() => withTraining({ swa: { epochs: 0 } }, 3), "training.swa.epochs: must be an integer in [1,");
  throwsWith(() => withTraining({ swa: { epochs: 2, lr: 0 } }, 3), "training.swa.lr: must be > 0");
  throwsWith(() => withTraining({ swa: { epochs: 2 }, ema: { decay: 0.9 } }, 3), "training.swa: excludes training.ema");
  throwsWith(() => withTraining({ swa: { epochs: 2 }, early_stopping: { metric: "loss" } }, 3), "training.swa: averages the last epochs of a run of fixed length");
});

test("SWA refuses batch normalization, and more epochs than the run, by name", async () => {
  const base = twoTaskSpec(3);
  const spec = validateSpec({ ...base, architecture: { type: "hps", layers: [8, { type: "batchnorm" }] }, training: { ...base.training, swa: { epochs: 2 } } });
  const m = new Model(spec, twoTaskPre(spec), k);
  m.initParams(1);
  await rejects(fit(m, enc, null), "training.swa: the model has batch normalization (running statistics", "use training.ema");
  m.dispose();
  const s2 = withTraining({ swa: { epochs: 3 } }, 3);
  const m2 = new Model(s2, twoTaskPre(s2), k);
  m2.initParams(1);
  await rejects(fit(m2, enc, null, { epochs: 2 }), "training.swa.epochs: 3 epochs to average, but the run has 2");
  m2.dispose();
});

test.run();
