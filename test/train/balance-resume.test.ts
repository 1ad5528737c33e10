// --resume with the stateful balancing methods: training 2 epochs, saving what a checkpoint saves (weights, both
// optimizer moments, the TrainState with the strategy's JSON state, round-tripped through JSON), then resuming a
// fresh model for 2 more ends bit-identical to 4 uninterrupted epochs.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup } from "../helpers.ts";
import { validateSpec } from "../../src/model/spec.ts";
import { Model } from "../../src/model/model.ts";
import { fit, type TrainState } from "../../src/train/trainer.ts";
import { twoTaskData, twoTaskPre, twoTaskSpec } from "./two-task.ts";

const { k } = await setup();
const enc = twoTaskData(180);

const CASES: Record<string, unknown>[] = [
  { type: "pcgrad" },
  { type: "gradvac" },
  { type: "db_mtl", beta_sigma: 0.5 },
  { type: "nash_mtl", update_every: 2 },
  { type: "graddrop", leak: 0.2 },
  { type: "gradnorm", rep_grad: true },
  { type: "famo" },
  { type: "stch", warmup_epochs: 1 },
];

for (const weighting of CASES) {
  test(`${weighting.type}: 2 epochs + resume for 2 = 4 epochs, bit for bit`, async () => {
    const base = twoTaskSpec(4);
    const spec = validateSpec({ ...base, training: { ...base.training, weighting } });
    const pre = twoTaskPre(spec);
    const whole = new Model(spec, pre, k);
    whole.initParams(3);
    await fit(whole, enc, null);

    const first = new Model(spec, pre, k);
    first.initParams(3);
    let saved = null as TrainState | null;
    await fit(first, enc, null, { epochs: 2, afterEpoch: (st) => void (saved = JSON.parse(JSON.stringify(st))) });
    const resumed = new Model(spec, pre, k);
    for (const b of ["p", "s1", "s2"] as const) resumed.setWeights(first.getWeights(b), b);
    assert.ok(saved !== null && saved.weighting !== undefined);
    await fit(resumed, enc, null, { resume: saved! });
    const a = whole.snapshot(), b = resumed.snapshot();
    let diff = 0;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) diff++;
    assert.is(diff, 0, `${diff} of ${a.length} weights differ after resuming`);
    for (const m of [whole, first, resumed]) m.dispose();
  });
}

test.run();
