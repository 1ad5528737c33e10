// train()'s threads: "auto" (the default) trains N = autoThreadCount shards and gives the weights of `threads: N`
// on N worker threads, bit for bit, whether or not it has workers (without them, the shards run on this thread);
// `threads: 1` is the one program over the whole batch (different float sums, so different bits: the test can tell);
// a count > 1 without workers and a bad value are named errors.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { WASM_PATH, rejects } from "../helpers.ts";
import { train } from "../../src/api/train.ts";
import { validateSpec } from "../../src/model/spec.ts";
import { autoThreadCount } from "../../src/train/auto-threads.ts";
import { nodeWorkerSpawner, TS_WORKER_ENTRY } from "../../src/train/node-workers.ts";

const compiled = WebAssembly.compile(readFileSync(WASM_PATH));

const spec = {
  name: "threads",
  inputs: { numeric: ["x0", "x1", "x2"] },
  architecture: { type: "mmoe", experts: 2, layers: [{ units: 8, dropout: 0.1 }] },
  tasks: [
    { name: "big", type: "binary", label: "y" },
    { name: "size", type: "regression", label: "r" },
  ],
  training: { epochs: 3, batch_size: 64, seed: 3 },
};

function rows(n = 300) {
  let s = 777;
  const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0), s / 2 ** 32);
  return Array.from({ length: n }, () => {
    const x0 = rnd() * 2 - 1, x1 = rnd() * 2 - 1, x2 = rnd();
    return { x0, x1, x2, y: x0 + 0.5 * x1 > 0 ? 1 : 0, r: 3 * x0 - x1 + x2 };
  });
}

const weights = async (opts: Parameters<typeof train>[2]) => {
  const run = await train(spec, rows(), { kernels: await compiled, onWarning: () => {}, ...opts });
  const w = run.save().weights;
  await run.dispose();
  return w;
};

test("auto = threads N on workers = auto without workers, bit for bit; threads 1 differs", async () => {
  const n = autoThreadCount(validateSpec(spec)).threads;
  const auto = await weights({});
  const one = await weights({ threads: 1 });
  if (n < 2) {
    // One core: auto is the one-program source.
    assert.equal(auto, one);
    console.log(`SKIP threads api: this machine reports ${n} core(s); the N-thread comparison needs 2`);
    return;
  }
  const module = await compiled;
  const onWorkers = await weights({ threads: n, workers: { spawn: nodeWorkerSpawner(TS_WORKER_ENTRY), module } });
  const autoWorkers = await weights({ workers: { spawn: nodeWorkerSpawner(TS_WORKER_ENTRY), module } });
  assert.equal(auto, onWorkers, `auto without workers vs ${n} worker threads`);
  assert.equal(autoWorkers, onWorkers, "auto with workers vs a fixed count");
  assert.not.equal(one, auto, "threads 1 (one program) should differ in the last bits from N shards");
});

test("threads: named errors", async () => {
  const k = await compiled;
  await rejects(train(spec, rows(), { kernels: k, threads: 2 }), /threads 2 needs workers: pass \{ workers/);
  await rejects(train(spec, rows(), { kernels: k, threads: 0 }), /threads must be "auto" or a positive integer, got 0/);
  await rejects(train(spec, rows(), { kernels: k, threads: "many" as unknown as number }), /got "many"/);
});

test.run();
