// `mtl train --ensemble 3` with members on worker threads (src/cli/ensemble-pool.ts) against the same command with
// the members one after another on the main thread (trainCommand's ensembleWorkers: false): every member's files
// (weights, state, steps.csv, model.json, model.onnx), its metrics.json numbers, and the ensemble's model.onnx and
// metrics.json are equal byte for byte (timings aside). `--threads 2` compares a worker's 2-shard step on one thread
// with the sequential members' real 2-thread data-parallel training; auto compares the defaults. Dropout is on, so
// the members' dropout streams (per seed and per shard) are part of what must match. Also: a parallel run killed
// after 1 epoch and resumed to 2 (--resume, per member) ends with the 2-epoch run's files, the workers' lines arrive
// whole and prefixed by their member, and a member that fails in its worker fails the run with its error.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng, WASM_PATH } from "../helpers.ts";
import { trainCommand } from "../../src/cli/train.ts";
import { loadKernels } from "../../src/runtime/load.ts";

const dir = mkdtempSync(join(tmpdir(), "mtl-ens-par-"));
const compiled = await WebAssembly.compile(readFileSync(WASM_PATH));

const rng = new Rng(17);
const lines = ["x0,x1,c,bin,reg"];
for (let i = 0; i < 500; i++) {
  const x0 = rng.normal(), x1 = rng.normal(), c = ["a", "b", "c"][rng.int(3)];
  lines.push([x0.toFixed(4), x1.toFixed(4), c, x0 + (c === "a" ? 1 : 0) > 0.2 ? "yes" : "no", (2 * x1 + 10 + 0.1 * rng.normal()).toFixed(3)].join(","));
}
writeFileSync(join(dir, "d.csv"), lines.join("\n") + "\n");
const config = join(dir, "ens.json");
writeFileSync(config, JSON.stringify({
  name: "enspar",
  data: { format: "csv", path: join(dir, "d.csv") },
  inputs: { numeric: ["x0", "x1"], categorical: [{ column: "c", dim: 2 }] },
  architecture: { type: "mmoe", experts: 2, layers: [{ units: 8, dropout: 0.2 }] },
  tasks: [
    { name: "bin", type: "binary", label: "bin", positive: "yes" },
    { name: "reg", type: "regression", label: "reg" },
  ],
  training: { epochs: 2, batch_size: 64, seed: 5, validation: 0.2, optimizer: { type: "adam", lr: 0.01 }, early_stopping: { metric: "mean.auc", patience: 5 } },
}));

const K = 3;
/** Run `mtl train CONFIG --out DIR --ensemble 3 ...` in-process; workers: false keeps the members on this thread. */
async function train(out: string, extra: string[], workers: boolean) {
  const log: string[] = [];
  const code = await trainCommand([config, "--out", out, "--ensemble", String(K), ...extra], () => loadKernels(compiled), (s) => log.push(s), async () => compiled, null, { ensembleWorkers: workers });
  assert.is(code, 0);
  return log;
}

const read = (path: string) => readFileSync(path);
/** metrics.json without what depends on the clock: train_seconds, every epoch's seconds, the start time. */
function numbers(path: string): unknown {
  return JSON.parse(readFileSync(path, "utf8"), (key, v) => (key === "train_seconds" || key === "seconds" || key === "started" ? undefined : v));
}
const MEMBER_FILES = ["weights.safetensors", "state.safetensors", "steps.csv", "model.json", "model.onnx", "checkpoints/2/weights.safetensors"];

/** Every member's files and numbers in `a` equal `b`'s, and the ensemble's. */
function assertSame(a: string, b: string, what: string) {
  for (let i = 0; i < K; i++) {
    for (const f of MEMBER_FILES) {
      const pa = join(a, "members", String(i), f), pb = join(b, "members", String(i), f);
      assert.ok(Buffer.compare(read(pa), read(pb)) === 0, `${what}: members/${i}/${f} differs`);
    }
    assert.equal(numbers(join(a, "members", String(i), "metrics.json")), numbers(join(b, "members", String(i), "metrics.json")), `${what}: members/${i}/metrics.json numbers`);
  }
  assert.ok(Buffer.compare(read(join(a, "model.onnx")), read(join(b, "model.onnx"))) === 0, `${what}: the ensemble's model.onnx differs`);
  assert.equal(numbers(join(a, "metrics.json")), numbers(join(b, "metrics.json")), `${what}: the ensemble's metrics.json numbers`);
}

test("--threads 2: members on 2 workers (2 shards on one thread each) = members one after another on 2 threads, bit for bit", async () => {
  const par = join(dir, "par2"), seq = join(dir, "seq2");
  const log = await train(par, ["--threads", "2"], true);
  await train(seq, ["--threads", "2"], false);
  assert.ok(log.some((l) => /^ensemble of 3: 2 members at once on worker threads/.test(l)), "the parallel run used workers");
  assertSame(par, seq, "--threads 2");
  // The members differ (their seeds reached them), else equal files would prove little.
  assert.ok(Buffer.compare(read(join(par, "members/0/weights.safetensors")), read(join(par, "members/1/weights.safetensors"))) !== 0, "members 0 and 1 have the same weights");
  assert.equal([0, 1, 2].map((i) => JSON.parse(readFileSync(join(par, "members", String(i), "model.json"), "utf8")).spec.training.seed), [5, 6, 7]);
  // Whole lines, each member's prefixed: its start line, its epoch rows in order, its validation line.
  for (let i = 0; i < K; i++) {
    const mine = log.filter((l) => l.startsWith(`[member ${i + 1}/3] `));
    assert.ok(mine[0].endsWith(`seed ${5 + i} → ${join(par, "members", String(i))}`), `member ${i}'s first line: ${mine[0]}`);
    assert.ok(mine.findIndex((l) => /\bepoch 1\/2\b/.test(l)) < mine.findIndex((l) => /\bepoch 2\/2\b/.test(l)), `member ${i}: epoch rows in order`);
    assert.ok(mine.some((l) => /\] validation \(epoch \d\): /.test(l)), `member ${i}: a validation line`);
  }
  assert.not.ok(log.some((l) => l.indexOf("[member", 1) > 0), "a line holds two members' output");
});

test("--threads auto (the default): members on workers = members one after another, bit for bit", async () => {
  const par = join(dir, "parA"), seq = join(dir, "seqA");
  await train(par, [], true);
  await train(seq, [], false);
  assertSame(par, seq, "auto");
});

test("--resume per member on workers: 1 epoch, then --resume to 2 = 2 epochs at once", async () => {
  const parts = join(dir, "parts");
  await train(parts, ["--threads", "2", "--epochs", "1"], true);
  const log = await train(parts, ["--threads", "2", "--epochs", "2", "--resume"], true);
  for (let i = 0; i < K; i++) assert.ok(log.some((l) => l.startsWith(`[member ${i + 1}/3] resuming `)), `member ${i} resumed`);
  for (let i = 0; i < K; i++) for (const f of ["weights.safetensors", "state.safetensors", "steps.csv", "model.onnx"]) {
    assert.ok(Buffer.compare(read(join(parts, "members", String(i), f)), read(join(dir, "par2", "members", String(i), f))) === 0, `resumed members/${i}/${f} differs from the 2-epoch run's`);
  }
  assert.ok(Buffer.compare(read(join(parts, "model.onnx")), read(join(dir, "par2", "model.onnx"))) === 0, "resumed ensemble model.onnx");
});

test("a member that fails in its worker stops the run with its error, named by member (a usage error stays one)", async () => {
  const bad = join(dir, "bad");
  await train(bad, ["--threads", "2", "--epochs", "1"], true);
  writeFileSync(join(bad, "members/1/checkpoints/1/weights.safetensors"), "not safetensors");
  let err: Error | null = null;
  try {
    await train(bad, ["--threads", "2", "--epochs", "2", "--resume"], true);
  } catch (e) {
    err = e as Error;
  }
  assert.ok(err, "the run failed");
  assert.is(err!.name, "UsageError", err!.message);
  assert.match(err!.message, /^ensemble member 1 \(seed 6, .*members\/1\): .*no complete checkpoint to resume from \(epoch 1: weights\.safetensors/);
});

test.run();
