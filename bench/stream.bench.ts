// Streaming training benchmark (data.streaming): one epoch streamed from the first 1M, 2.5M and 5M rows of a
// generated CSV (bench/stream-gen.ts; written to --file when missing), the rows parsed on a worker thread as `mtl
// train` does, each size in a child process of its own, so its peak RSS (process.resourceUsage().maxRSS) and wasm
// memory are that size's alone; then, on the first size's rows, the same epoch parsed on the training thread
// (--threads 1) and in-memory training (readTable, fitPreprocessing, encode, fit) for the throughput comparison. The
// model: MMoE, 4 experts [64], towers [16], batch 256, Adam. Reported per run: statistics passes' time, the epoch's
// rows/s and CPU seconds (all threads), peak RSS, wasm memory.
//
//   npm run bench:stream [-- --file /tmp/mtl-stream.csv] [--sizes 1000000,2500000,5000000]
import { spawnSync } from "node:child_process";
import { createReadStream, existsSync, openSync, readSync, closeSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { validateSpec, type ModelSpec } from "../src/model/spec.ts";
import type { ByteSource } from "../src/data/source.ts";
import { loadKernels } from "../src/runtime/load.ts";
import { readFileSync } from "node:fs";
import { openStreaming } from "../src/data/stream.ts";
import { readTable } from "../src/data/load.ts";
import { encode, fitPreprocessing } from "../src/data/preprocess.ts";
import { hashSplit } from "../src/data/stream-split.ts";
import { Model } from "../src/model/model.ts";
import { fit } from "../src/train/trainer.ts";
import { generate } from "./stream-gen.ts";
import { nodeWorkerSpawner, TS_WORKER_ENTRY } from "../src/train/node-workers.ts";

const arg = (k: string, d: string) => {
  const i = process.argv.indexOf(`--${k}`);
  return i > 0 ? process.argv[i + 1] : d;
};
const FILE = arg("file", "/tmp/mtl-stream.csv");

function spec(): ModelSpec {
  return validateSpec({
    data: { format: "csv", streaming: true, shuffle_buffer: 65536 },
    inputs: { numeric: ["x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7"], categorical: ["c0", "c1", "c2", "c3"], embedding_dim: 4 },
    architecture: { type: "mmoe", experts: 4, layers: [64] },
    tasks: [
      { name: "y1", type: "binary", label: "y1", tower: [16], metrics: ["auc"] },
      { name: "y2", type: "binary", label: "y2", tower: [16], metrics: ["auc"] },
    ],
    training: { epochs: 1, batch_size: 256, seed: 1, validation: 0.01, optimizer: { type: "adam", lr: 0.001 } },
  });
}

/** Byte offset just past the `rows`-th data line (the header excluded). */
function prefixBytes(path: string, rows: number): number {
  const fd = openSync(path, "r"), buf = Buffer.alloc(1 << 22);
  let pos = 0, lines = -1; // the header's newline brings it to 0
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n === 0) throw new Error(`${path}: has fewer than ${rows} data rows`);
      for (let i = 0; i < n; i++) if (buf[i] === 10 && ++lines === rows) return pos + i + 1;
      pos += n;
    }
  } finally {
    closeSync(fd);
  }
}

/** The first `end` bytes of the file, reopened per pass. */
function prefixSource(path: string, end: number): ByteSource {
  return {
    name: path,
    chunks: (async function* () {
      const s = createReadStream(path, { start: 0, end: end - 1, highWaterMark: 1 << 16 });
      try {
        for await (const c of s) yield c as Uint8Array;
      } finally {
        s.destroy();
      }
    })(),
  };
}

const wasmPath = fileURLToPath(new URL("../build/mtl.wasm", import.meta.url));
const mb = (b: number) => (b / 2 ** 20).toFixed(0);

type Mode = "stream" | "stream1" | "memory";

async function child(mode: Mode, rows: number): Promise<void> {
  const k = await loadKernels(readFileSync(wasmPath));
  const s = spec(), end = prefixBytes(FILE, rows);
  const reopen = () => prefixSource(FILE, end);
  const t0 = performance.now();
  let model: Model, trainRows: number, tEpoch0: number, tEpoch1: number, val, cpu0: number, cpu1: number;
  const cpu = () => (process.cpuUsage().user + process.cpuUsage().system) / 1e6;
  if (mode !== "memory") {
    const d = await openStreaming(s, reopen, mode === "stream" ? { worker: { spawn: nodeWorkerSpawner(TS_WORKER_ENTRY) } } : {});
    trainRows = d.trainRows;
    model = new Model(s, d.pre, k);
    model.initParams(s.training.seed);
    (tEpoch0 = performance.now()), (cpu0 = cpu());
    const r = await fit(model, d.train, null);
    (tEpoch1 = performance.now()), (cpu1 = cpu());
    d.train.close();
    val = model.predict(d.validation).length;
    void r;
  } else {
    const table = await readTable(reopen(), s.data!);
    const isVal = hashSplit(table.columns, s.training.validation, s.training.seed);
    const cols = table.columns.map((c) => table.stringColumn(c));
    const tr: number[] = [];
    for (let i = 0; i < table.rowCount; i++) if (!isVal(cols.map((c) => c[i]))) tr.push(i);
    const pre = fitPreprocessing(s, table, tr);
    const enc = encode(s, pre, table, tr);
    trainRows = enc.rows;
    model = new Model(s, pre, k);
    model.initParams(s.training.seed);
    (tEpoch0 = performance.now()), (cpu0 = cpu());
    await fit(model, enc, null);
    (tEpoch1 = performance.now()), (cpu1 = cpu());
    val = 0;
  }
  const out = {
    mode, rows, trainRows,
    prepareSeconds: +((tEpoch0 - t0) / 1000).toFixed(2),
    epochSeconds: +((tEpoch1 - tEpoch0) / 1000).toFixed(2),
    epochRowsPerSecond: Math.round(trainRows / ((tEpoch1 - tEpoch0) / 1000)),
    epochCpuSeconds: +(cpu1 - cpu0).toFixed(2),
    totalSeconds: +((tEpoch1 - t0) / 1000).toFixed(2),
    peakRssMB: +mb(process.resourceUsage().maxRSS * 1024),
    wasmMB: +mb(k.memory.buffer.byteLength),
    validated: val,
  };
  console.log(JSON.stringify(out));
}

async function main(): Promise<void> {
  const one = process.argv.indexOf("--one");
  if (one > 0) return child(process.argv[one + 1] as Mode, Number(process.argv[one + 2]));
  const sizes = arg("sizes", "1000000,2500000,5000000").split(",").map(Number);
  const need = Math.max(...sizes);
  if (!existsSync(FILE)) {
    console.log(`generating ${need} rows → ${FILE}`);
    await generate(FILE, need);
  }
  const runs: [string, number][] = [...sizes.map((n) => ["stream", n] as [string, number]), ["stream1", sizes[0]], ["memory", sizes[0]]];
  const results: Record<string, number | string>[] = [];
  for (const [mode, n] of runs) {
    const r = spawnSync(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), "--one", mode, String(n), "--file", FILE], { encoding: "utf8", maxBuffer: 1 << 24 });
    if (r.status !== 0) throw new Error(`${mode} ${n}: ${r.stderr}`);
    const line = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
    results.push(line);
    console.log(`${mode.padEnd(7)} ${String(n).padStart(8)} rows: prepare ${line.prepareSeconds} s, epoch ${line.epochSeconds} s (${line.epochRowsPerSecond} rows/s, ${line.epochCpuSeconds} CPU s), total ${line.totalSeconds} s, peak RSS ${line.peakRssMB} MB, wasm ${line.wasmMB} MB`);
  }
  const m1 = results.find((r) => r.mode === "memory")!;
  for (const [mode, what] of [["stream", "parsed on a worker"], ["stream1", "parsed on the training thread"]]) {
    const s1 = results.find((r) => r.mode === mode && r.rows === sizes[0])!;
    console.log(`streaming (${what}) / in-memory on ${sizes[0]} rows: epoch throughput ${((s1.epochRowsPerSecond as number) / (m1.epochRowsPerSecond as number)).toFixed(3)}, total time ${((m1.totalSeconds as number) / (s1.totalSeconds as number)).toFixed(3)} (in-memory total / streaming total)`);
  }
}

await main();
