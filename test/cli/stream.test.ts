// `mtl train` with data.streaming on a generated CSV: the run writes what an in-memory run writes (model.json,
// weights, metrics.json with validation metrics on the hash split's rows, model.onnx checked in onnxruntime-web, a
// checkpoint per epoch, the epoch table), its weights are trainStreaming's bit for bit, its validation AUC equals a
// float64 AUC computed here, 2 epochs + --resume to 4 equal 4 epochs at once, and what cannot stream is refused by name.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng, setup, WASM_PATH } from "../helpers.ts";
import { main } from "../../src/cli/main.ts";
import { validateSpec } from "../../src/model/spec.ts";
import { deserialize } from "../../src/io/safetensors.ts";
import { fileSource } from "../../src/data/node-file.ts";
import { trainStreaming } from "../../src/train/stream-train.ts";

const dir = mkdtempSync(join(tmpdir(), "mtl-stream-cli-"));
const compiled = WebAssembly.compile(readFileSync(WASM_PATH));

const rng = new Rng(17);
const lines = ["x0,x1,c,bin,reg"];
for (let i = 0; i < 1500; i++) {
  const x0 = rng.normal(), x1 = rng.normal(), c = ["a", "b", "c"][rng.int(3)];
  const bin = rng.next() < 0.1 ? "" : x0 + (c === "a" ? 1 : 0) + 0.5 * rng.normal() > 0.2 ? "yes" : "no";
  lines.push([x0.toFixed(4), rng.next() < 0.05 ? "" : x1.toFixed(4), c, bin, (2 * x1 + 10 + 0.1 * rng.normal()).toFixed(3)].join(","));
}
const CSV = join(dir, "d.csv");
writeFileSync(CSV, lines.join("\n") + "\n");
const config = {
  name: "streamed",
  data: { format: "csv", path: CSV, streaming: true, shuffle_buffer: 200 },
  inputs: { numeric: ["x0", "x1"], categorical: [{ column: "c", dim: 2 }] },
  architecture: { type: "mmoe", experts: 2, layers: [{ units: 8, dropout: 0.1 }] },
  tasks: [
    { name: "bin", type: "binary", label: "bin", positive: "yes", metrics: ["auc"] },
    { name: "reg", type: "regression", label: "reg" },
  ],
  // DWA (state across epochs), dropout (RNG position) and early stopping (best weights) all have to resume.
  training: { epochs: 4, batch_size: 32, seed: 4, validation: 0.2, optimizer: { type: "adam", lr: 0.01 }, weighting: { type: "dwa" }, early_stopping: { metric: "mean.auc", patience: 10 } },
};
const CONFIG = join(dir, "s.json");
writeFileSync(CONFIG, JSON.stringify(config));

async function run(argv: string[]) {
  const out: string[] = [], err: string[] = [];
  let code: number;
  try {
    code = await main(argv, () => compiled, { log: (s) => out.push(s), error: (s) => err.push(s) });
  } catch (e) {
    code = -1;
    err.push((e as Error).message);
  }
  return { code, out: out.join("\n"), err: err.join("\n") };
}

/** Float64 AUC: the probability that a positive scores above a negative, ties counting one half. */
function refAuc(p: ArrayLike<number>, y: ArrayLike<number>, mask: ArrayLike<number>): number {
  const pos: number[] = [], neg: number[] = [];
  for (let i = 0; i < p.length; i++) if (mask[i]) (y[i] ? pos : neg).push(p[i]);
  let s = 0;
  for (const a of pos) for (const b of neg) s += a > b ? 1 : a === b ? 0.5 : 0;
  return s / (pos.length * neg.length);
}

const bytes = (path: string) => readFileSync(path);

test("a streamed mtl train writes an in-memory run's outputs, and its weights and AUC are trainStreaming's", async () => {
  const out = join(dir, "whole");
  const r = await run(["train", CONFIG, "--out", out]);
  assert.is(r.code, 0, r.err);
  for (const f of ["model.json", "weights.safetensors", "state.safetensors", "model.onnx", "metrics.json", "steps.csv", "checkpoints/3/weights.safetensors", "checkpoints/4/state.safetensors"]) assert.ok(existsSync(join(out, f)), f);
  assert.match(r.out, /\(streaming\): train \d+, validation \d+ \(hash split, seed 4\)/);
  assert.is(r.out.split("\n").filter((l) => /^epoch [1-4]\/4 /.test(l)).length, 4, `one epoch-table row per epoch:\n${r.out}`);

  const { k } = await setup();
  const api = await trainStreaming(validateSpec(config), () => fileSource(CSV), k);
  const w = deserialize(bytes(join(out, "weights.safetensors"))).tensors;
  const apiW = api.model.getWeights();
  for (const [name, t] of Object.entries(w)) assert.equal(Array.from(t.data as Float32Array), Array.from(apiW[name]), `${name}: CLI vs trainStreaming`);

  const m = JSON.parse(readFileSync(join(out, "metrics.json"), "utf8"));
  const v = api.data.validation;
  assert.equal(m.rows, { train: api.data.trainRows, validation: v.rows });
  assert.ok(v.rows > 200 && v.rows < 400, `about 20 % of 1500 rows validate: ${v.rows}`);
  const preds = api.model.predict(v);
  const auc = refAuc(preds[0], v.tasks[0].labels, v.tasks[0].mask);
  assert.ok(Math.abs(m.validation.bin.auc - auc) < 1e-12, `metrics.json auc ${m.validation.bin.auc} vs float64 ${auc}`);
  assert.ok(auc > 0.75, `learnt something: auc ${auc}`);
  assert.ok(m.onnx.max_abs_diff <= 1e-5, `ort vs wasm on the validation rows ${m.onnx.max_abs_diff}`);
  assert.ok(Math.abs(m.onnx.ort_validation.bin.auc - auc) < 1e-3, `ort auc ${m.onnx.ort_validation.bin.auc}`);
  api.model.dispose();
});

test("2 epochs + --resume to 4 = 4 epochs at once, bit for bit; a changed file refuses to resume", async () => {
  const parts = join(dir, "parts");
  assert.is((await run(["train", CONFIG, "--out", parts, "--epochs", "2", "--quiet"])).code, 0);
  const r = await run(["train", CONFIG, "--out", parts, "--epochs", "4", "--resume"]);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /resuming .* after epoch 2/);
  for (const f of ["weights.safetensors", "state.safetensors", "checkpoints/4/state.safetensors", "checkpoints/4/weights.safetensors", "steps.csv"]) {
    assert.ok(Buffer.compare(bytes(join(dir, "whole", f)), bytes(join(parts, f))) === 0, `${f} differs after resuming`);
  }
  // Other rows than the checkpoint's statistics came from.
  const changed = join(dir, "changed.csv");
  writeFileSync(changed, lines.slice(0, 1200).join("\n") + "\n");
  const c = await run(["train", CONFIG, "--out", parts, "--data", changed, "--epochs", "5", "--resume", "--quiet"]);
  assert.is.not(c.code, 0);
  assert.match(c.err, /preprocessing learnt from .*changed\.csv differs from the checkpoint's/);
});

test("flags that need the data in memory are refused by name", async () => {
  for (const [flag, extra] of [["--ensemble", ["--ensemble", "2"]], ["--single-task", ["--single-task"]], ["--report", ["--report"]], ["--threads 2", ["--threads", "2"]]] as const) {
    const r = await run(["train", CONFIG, "--out", join(dir, "no"), ...extra]);
    assert.is.not(r.code, 0);
    assert.ok(r.err.includes(`${flag} does not combine with data.streaming`), `${flag}: ${r.err}`);
  }
});

test.run();
