// A loss that stops being finite is caught within the step and reported naming the step, the task and the
// first layer (or parameter, or input) that is not finite — not as a learning-rate hint.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup } from "../helpers.ts";
import { validateSpec } from "../../src/model/spec.ts";
import { Model } from "../../src/model/model.ts";
import { fit } from "../../src/train/trainer.ts";
import type { Encoded, Preprocessing } from "../../src/data/preprocess.ts";

const { k } = await setup();
const spec = validateSpec({
  inputs: { numeric: ["a", "b"] },
  architecture: { type: "hps", layers: [{ units: 4, activation: "relu" }] },
  tasks: [
    { name: "click", type: "binary", label: "y", tower: [3] },
    { name: "value", type: "regression", label: "v" },
  ],
  training: { epochs: 1, batch_size: 4 },
});
const pre: Preprocessing = { numeric: [{ column: "a", mean: 0, std: 1 }, { column: "b", mean: 0, std: 1 }], categorical: [], tasks: spec.tasks.map((t) => ({ name: t.name, classes: null, groups: null, target: null })) };
const data = (x: number[]): Encoded => ({
  rows: 4,
  numeric: Float32Array.from(x),
  categorical: [],
  tensor: new Float32Array(0),
  tasks: [
    { labels: Float32Array.of(1, 0, 1, 0), mask: new Float32Array(4).fill(1), group: new Int32Array(0) },
    { labels: Float32Array.of(0.5, -1, 2, 0), mask: new Float32Array(4).fill(1), group: new Int32Array(0) },
  ],
});

const failure = async (model: Model, d: Encoded) => fit(model, d, null).then(() => "no error", (e) => String((e as Error).message));

test("an overflowing layer output is named (step, task, layer)", async () => {
  const model = new Model(spec, pre, k);
  model.initParams(1);
  const w = model.getWeights();
  w["shared.0.weight"].fill(3e38); // x·W overflows f32 in the trunk's first layer
  model.setWeights(w);
  const msg = await failure(model, data([1, 2, 3, 4, 5, 6, 7, 8]));
  assert.match(msg, /^training step 1 \(epoch 1\): the loss of task /);
  assert.match(msg, /the first layer whose output is not finite is "shared\.0" \(dense\), row 0/);
  assert.not.match(msg, /lower .*lr/);
});

test("a non-finite parameter is named", async () => {
  const model = new Model(spec, pre, k);
  model.initParams(1);
  const w = model.getWeights();
  w["head.value.weight"][2] = NaN; // the value head reads the trunk's 4 units directly: [4, 1]
  model.setWeights(w);
  const msg = await failure(model, data([1, 2, 3, 4, 5, 6, 7, 8]));
  assert.match(msg, /the loss of task value \(NaN\) is not finite; parameter head\.value\.weight \[4,1\] is not finite \(element 2 = NaN\)/);
});

test("a non-finite input row is named", async () => {
  const model = new Model(spec, pre, k);
  model.initParams(1);
  const msg = await failure(model, data([1, 2, Infinity, 4, 5, 6, 7, 8]));
  assert.match(msg, /input numeric is not finite \(row 1, column 0 = Infinity\)/);
});

test.run();
