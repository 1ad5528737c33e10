// data.streaming, training side: a streamed run reaches the in-memory run's validation metrics on the same split
// (close, not equal: another shuffle), repeats bit for bit with the same seed, and resumes (FitOptions.resume) to the
// same weights as an uninterrupted run.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup, Rng, rejects } from "../helpers.ts";
import { validateSpec } from "../../src/model/spec.ts";
import { fromString } from "../../src/data/source.ts";
import { readTable } from "../../src/data/load.ts";
import { encode, fitPreprocessing } from "../../src/data/preprocess.ts";
import { hashSplit } from "../../src/data/stream-split.ts";
import { Model } from "../../src/model/model.ts";
import { fit } from "../../src/train/trainer.ts";
import { trainStreaming } from "../../src/train/stream-train.ts";
import { openStreaming } from "../../src/data/stream.ts";
import { train } from "../../src/api/train.ts";

function csv(n: number): string {
  const rng = new Rng(21);
  const lines = ["a,b,c,color,click,spend"];
  for (let i = 0; i < n; i++) {
    const a = rng.normal(), b = rng.normal(), c = rng.normal();
    const color = ["red", "green", "blue"][i % 3];
    const click = a + 0.5 * b + (color === "red" ? 0.8 : 0) + 0.5 * rng.normal() > 0 ? 1 : 0;
    const spend = 3 * c - b + 0.3 * rng.normal();
    lines.push(`${a.toFixed(4)},${b.toFixed(4)},${c.toFixed(4)},${color},${click},${spend.toFixed(4)}`);
  }
  return lines.join("\n") + "\n";
}

const spec = validateSpec({
  data: { format: "csv", streaming: true, shuffle_buffer: 300 },
  inputs: { numeric: ["a", "b", "c"], categorical: ["color"], embedding_dim: 2 },
  architecture: { type: "mmoe", experts: 2, layers: [8] },
  tasks: [
    { name: "click", type: "binary", label: "click", metrics: ["auc", "logloss"] },
    { name: "spend", type: "regression", label: "spend", metrics: ["rmse"] },
  ],
  training: { epochs: 4, batch_size: 32, seed: 5, validation: 0.2, optimizer: { type: "adam", lr: 0.01 } },
});
const TEXT = csv(3000);
const reopen = () => fromString("rows.csv", TEXT, 4096);

test("a streamed run is close to the in-memory run on the same split, and repeats bit for bit", async () => {
  const { k } = await setup();
  const a = await trainStreaming(spec, reopen, k, { chunkRows: 500 });
  const b = await trainStreaming(spec, reopen, k, { chunkRows: 97 }); // chunking does not change anything
  const wa = a.model.snapshot(), wb = b.model.snapshot();
  assert.equal(Array.from(wa), Array.from(wb), "same seed → the same weights");
  assert.equal(a.result.history.map((h) => h.trainLoss), b.result.history.map((h) => h.trainLoss));

  // In memory: the same training and validation rows (the hash split), the same preprocessing.
  const table = await readTable(fromString("rows.csv", TEXT), spec.data!);
  const isVal = hashSplit(table.columns, spec.training.validation, spec.training.seed);
  const cols = table.columns.map((c) => table.stringColumn(c));
  const tr: number[] = [], va: number[] = [];
  for (let i = 0; i < table.rowCount; i++) (isVal(cols.map((c) => c[i])) ? va : tr).push(i);
  const pre = fitPreprocessing(spec, table, tr);
  assert.equal(pre, a.data.pre);
  const m = new Model(spec, pre, k);
  m.initParams(spec.training.seed);
  const mem = await fit(m, encode(spec, pre, table, tr), encode(spec, pre, table, va));
  assert.is(a.data.validation.rows, va.length);
  const sv = a.result.history.at(-1)!.validation!, mv = mem.history.at(-1)!.validation!;
  assert.ok(Math.abs(sv.click.auc - mv.click.auc) < 0.02, `auc streamed ${sv.click.auc} vs in memory ${mv.click.auc}`);
  assert.ok(sv.click.auc > 0.8, `streamed auc ${sv.click.auc} learnt something`);
  assert.ok(Math.abs(sv.spend.rmse - mv.spend.rmse) < 0.1 * mv.spend.rmse, `rmse streamed ${sv.spend.rmse} vs in memory ${mv.spend.rmse}`);
  assert.not.equal(Array.from(wa), Array.from(m.snapshot()), "a different shuffle gives different weights");
  for (const x of [a, b]) x.model.dispose();
  m.dispose();
});

test("a resumed streamed run equals an uninterrupted one", async () => {
  const { k } = await setup();
  const full = await trainStreaming(spec, reopen, k, { epochs: 3 });
  const part = await trainStreaming(spec, reopen, k, { epochs: 1 });
  // The model keeps its weights and optimizer moments: continue it from the saved state over a fresh stream (as a new
  // process resuming from a checkpoint would open one).
  const again = await openStreaming(spec, reopen);
  const rest = await fit(part.model, again.train, again.validation, { epochs: 3, resume: part.result.state });
  assert.is(rest.history.length, 2);
  assert.equal(Array.from(part.model.snapshot()), Array.from(full.model.snapshot()));
  full.model.dispose();
  part.model.dispose();
});

test("train(spec, { reopen }) is trainStreaming's run; the spec and the data must agree on streaming", async () => {
  const { k } = await setup();
  const run = await train(spec, { reopen }, { kernels: k, epochs: 2 });
  const ref = await trainStreaming({ ...spec, training: { ...spec.training, epochs: 2 } }, reopen, k);
  assert.equal(Array.from(run.model.snapshot()), Array.from(ref.model.snapshot()));
  assert.equal(run.rows, { train: ref.data.trainRows, validation: ref.data.validation.rows });
  assert.is(run.metrics.click.auc, ref.result.history.at(-1)!.validation!.click.auc);
  const p = await run.predict([{ a: 0.1, b: -0.2, c: 0.3, color: "red" }]);
  assert.is(p.click.length, 1);
  await run.dispose();
  ref.model.dispose();
  await rejects(train(spec, TEXT, { kernels: k }), "data.streaming: pass the file as { reopen");
  await rejects(train({ ...spec, data: { format: "csv" } }, { reopen }, { kernels: k }), "data.streaming is off");
  await rejects(train(spec, { reopen }, { kernels: k, ensemble: 2 }), "ensemble does not combine with data.streaming");
});

test.run();
