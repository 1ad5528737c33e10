// Streamed batches parsed on a worker (stream-worker.ts + stream-serve.ts, through the Node worker entry) against
// the one-thread path (streamBatches): the same batches bit for bit, epoch after epoch, under tight byte budgets and
// few group buffers; the same error for a bad row; an epoch abandoned midway leaves the next one intact.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { validateSpec } from "../../src/model/spec.ts";
import { fromString } from "../../src/data/source.ts";
import { streamPreprocessing } from "../../src/data/stream-stats.ts";
import { streamBatches, type StreamBatches } from "../../src/data/stream-batches.ts";
import { workerBatches } from "../../src/data/stream-worker.ts";
import { openStreaming } from "../../src/data/stream.ts";
import { nodeWorkerSpawner, TS_WORKER_ENTRY } from "../../src/train/node-workers.ts";
import type { Encoded } from "../../src/data/preprocess.ts";
import { Worker } from "node:worker_threads";
import { Rng, rejects } from "../helpers.ts";

const spawn = nodeWorkerSpawner(TS_WORKER_ENTRY);

function csv(n: number, bad = -1): string {
  const rng = new Rng(5);
  const lines = ["x,y,color,kind,shop,clicked,spend"];
  for (let i = 0; i < n; i++) {
    const x = rng.next() < 0.1 ? "" : (rng.normal() * 3 + 10).toFixed(3);
    const color = ["red", "green", "blue", "rare" + (i % 50)][Math.floor(rng.next() * 4)];
    const kind = ["a", "b", "c", ""][Math.floor(rng.next() * 4)];
    const spend = i === bad ? "lots" : (rng.normal() * 50 + 200).toFixed(2);
    lines.push(`${x},${(rng.next() * 1e6).toFixed(1)},${color},${kind},s${i % 7},${rng.next() < 0.3 ? 1 : 0},${spend}`);
  }
  return lines.join("\n") + "\n";
}

const spec = validateSpec({
  data: { format: "csv", streaming: true, shuffle_buffer: 64 },
  inputs: { numeric: ["x", "y"], categorical: [{ column: "color", min_count: 3 }] },
  tasks: [
    { name: "kind", type: "multiclass", label: "kind" },
    { name: "clicked", type: "binary", label: "clicked", group_by: "shop" },
    { name: "spend", type: "regression", label: "spend" },
  ],
  training: { seed: 3, validation: 0.25 },
});

/** Every batch's rows as the bits of their values, lane by lane (numbers compared exactly, NaN included). */
function rowBits(d: Encoded, order: ArrayLike<number>, start: number, count: number): number[][] {
  const out: number[][] = [];
  const lanes = [d.numeric, ...d.categorical, ...d.tasks.flatMap((t) => [t.labels, t.mask, t.group])];
  for (let k = start; k < start + count; k++) {
    const r = order[k], row: number[] = [];
    for (const a of lanes) {
      if (!a.length) continue;
      const w = a.length / d.rows, bits = new Int32Array(a.buffer, a.byteOffset, a.length);
      for (let j = 0; j < w; j++) row.push(bits[r * w + j]);
    }
    out.push(row);
  }
  return out;
}

async function epochRows(s: StreamBatches, epoch: number, size: number, stopAfter = Infinity): Promise<number[][][]> {
  const batches: number[][][] = [];
  for await (const b of s.epoch(epoch, size)) {
    batches.push(rowBits(b.data, b.order, b.start, b.count));
    if (batches.length >= stopAfter) break;
  }
  return batches;
}

test("worker batches equal the one-thread batches bit for bit, 3 epochs, tight budgets and small chunks", async () => {
  const text = csv(1500);
  const reopen = () => fromString("w.csv", text, 97);
  const st = await streamPreprocessing(spec, reopen, 50);
  const one = streamBatches(spec, st.pre, reopen, st.trainRows, { bufferRows: 64, chunkRows: 50 });
  const configs = [{ byteBudget: 200, groupBatches: 1, groupBuffers: 1 }, { byteBudget: 1 << 20, groupBatches: 5, groupBuffers: 2 }];
  for (const c of configs) {
    const w = workerBatches(spec, st.pre, reopen, st.trainRows, { bufferRows: 64, chunkRows: 50, spawn, ...c });
    try {
      for (const [epoch, size] of [[0, 32], [1, 32], [2, 50]]) {
        const a = await epochRows(one, epoch, size), b = await epochRows(w, epoch, size);
        assert.is(b.length, a.length, `batches, epoch ${epoch}, ${JSON.stringify(c)}`);
        assert.is(b.flat().length, st.trainRows);
        assert.equal(b, a, `epoch ${epoch}, ${JSON.stringify(c)}`);
      }
      assert.ok(w.bytes() > 0, "bytes() counts the worker's arrays");
    } finally {
      w.close();
    }
  }
});

test("openStreaming({ worker }) gives the worker's batches; an abandoned epoch leaves the next one intact", async () => {
  const text = csv(800);
  const reopen = () => fromString("w.csv", text, 211);
  const d1 = await openStreaming(spec, reopen), dw = await openStreaming(spec, reopen, { worker: { spawn } });
  try {
    assert.equal(dw.pre, d1.pre);
    assert.equal((await epochRows(dw.train, 0, 16, 2)).length, 2); // stopped after 2 batches: the worker is stopped
    assert.equal(await epochRows(dw.train, 1, 16), await epochRows(d1.train, 1, 16));
  } finally {
    dw.train.close();
  }
});

test("a bad row: the worker's error is the one-thread error, word for word", async () => {
  const text = csv(600, 400);
  const reopen = () => fromString("bad.csv", text, 64);
  // Statistics from the clean rows: the bad cell first appears when an epoch reads it.
  const st = await streamPreprocessing(spec, () => fromString("bad.csv", csv(600), 64));
  const one = streamBatches(spec, st.pre, reopen, st.trainRows);
  const w = workerBatches(spec, st.pre, reopen, st.trainRows, { spawn, byteBudget: 512 });
  try {
    const want = await rejects(epochRows(one, 0, 16), /bad\.csv: data row 401/);
    const got = await rejects(epochRows(w, 0, 16), /bad\.csv: data row 401/);
    assert.is(got, want);
  } finally {
    w.close();
  }
});

test("a worker that dies fails the epoch with a named error instead of hanging", async () => {
  const text = csv(300);
  const reopen = () => fromString("w.csv", text);
  const st = await streamPreprocessing(spec, reopen);
  const dying = () => new Worker("process.exit(3)", { eval: true });
  const w = workerBatches(spec, st.pre, reopen, st.trainRows, { spawn: dying });
  try {
    await rejects(epochRows(w, 0, 16), /streaming worker exited with code 3/);
  } finally {
    w.close();
  }
});

test.run();
