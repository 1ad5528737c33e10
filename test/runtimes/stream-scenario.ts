// The portable streaming scenario (data.streaming): a seeded CSV handed over as a byte stream the caller opens
// afresh for every pass (a browser: `new File([...])` and file.stream(); Node: a Blob's stream), a model trained
// from it for 2 epochs on one thread and again with the epochs' rows parsed on a worker (when the caller can start
// one), and checked:
// - the streamed preprocessing equals fitPreprocessing on the same training rows read whole (readTable + hashSplit);
// - the worker run's weights equal the one-thread run's, bit for bit (the same batches);
// - the objective fell.
// The weight hash is compared by tools/runtimes.mjs with the reference's `stream.weightsSha256` (Node's run).
import type { Kernels } from "../../src/runtime/load.ts";
import { validateSpec } from "../../src/model/spec.ts";
import { mulberry32 } from "../../src/data/split.ts";
import { fromString, type ByteSource } from "../../src/data/source.ts";
import { readTable } from "../../src/data/load.ts";
import { fitPreprocessing } from "../../src/data/preprocess.ts";
import { hashSplit } from "../../src/data/stream-split.ts";
import { trainStreaming } from "../../src/train/stream-train.ts";
import type { WorkerLike } from "../../src/train/parallel.ts";
import { weightHashes } from "./scenario.ts";

export const STREAM = { seed: 5, rows: 3000, epochs: 2, batch: 64, shuffleBuffer: 256 } as const;

export function streamSpecInput(): Record<string, unknown> {
  return {
    name: "runtimes-stream",
    data: { format: "csv", streaming: true, shuffle_buffer: STREAM.shuffleBuffer },
    inputs: { numeric: ["a", "b", "c"], categorical: [{ column: "shop", dim: 3, min_count: 5 }] },
    architecture: { type: "mmoe", experts: 2, layers: [8] },
    tasks: [
      { name: "click", type: "binary", label: "click", tower: [4] },
      { name: "spend", type: "regression", label: "spend", tower: [4] },
    ],
    training: { epochs: STREAM.epochs, batch_size: STREAM.batch, seed: STREAM.seed, validation: 0.2, optimizer: { type: "adam", lr: 0.01 } },
  };
}

/** The scenario's CSV: 3 numeric columns (some cells missing), a shop id, a binary and a regression label. */
export function streamCsv(): string {
  const rnd = mulberry32(STREAM.seed);
  const lines = ["a,b,c,shop,click,spend"];
  for (let i = 0; i < STREAM.rows; i++) {
    const a = rnd() * 4 - 2, b = rnd() * 2, c = rnd() < 0.05 ? "" : (rnd() * 10).toFixed(2);
    const shop = `s${Math.floor(rnd() * rnd() * 12)}`;
    const click = rnd() < 1 / (1 + Math.exp(-2 * a)) ? 1 : 0;
    lines.push(`${a.toFixed(4)},${b.toFixed(3)},${c},${shop},${click},${(3 * b + a + rnd()).toFixed(3)}`);
  }
  return lines.join("\n") + "\n";
}

export interface StreamScenarioOptions {
  kernels: () => Promise<Kernels>;
  /** Opens the CSV bytes afresh (a File's or Blob's stream()). */
  open: (name: string, text: string) => () => ByteSource | Promise<ByteSource>;
  /** Start a worker that serves streaming (serveStream); null: the one-thread run only. */
  spawn: (() => WorkerLike) | null;
}

export interface StreamScenarioResult {
  weightsSha256: string;
  trainRows: number;
  validationRows: number;
  lossStart: number;
  lossEnd: number;
  /** Whether the worker run happened (and equalled the one-thread run). */
  worker: boolean;
  ms: number;
}

export async function runStreamScenario(opts: StreamScenarioOptions): Promise<StreamScenarioResult> {
  const t0 = Date.now();
  const spec = validateSpec(streamSpecInput() as never), text = streamCsv();
  const reopen = opts.open("stream.csv", text);
  const runOnce = async (spawn: (() => WorkerLike) | null) => {
    const run = await trainStreaming(spec, reopen, await opts.kernels(), spawn ? { worker: { spawn } } : {});
    try {
      return { run, hash: (await weightHashes(run.model)).weightsSha256 };
    } finally {
      run.model.dispose();
    }
  };
  const one = await runOnce(null);
  const { run } = one;
  // The streamed statistics against the whole-file path on the same training rows.
  const table = await readTable(fromString("stream.csv", text), spec.data!);
  const isVal = hashSplit(table.columns, spec.training.validation, spec.training.seed);
  const cols = table.columns.map((c) => table.stringColumn(c)), train: number[] = [];
  for (let i = 0; i < table.rowCount; i++) if (!isVal(cols.map((c) => c[i]))) train.push(i);
  const want = JSON.stringify(fitPreprocessing(spec, table, train)), got = JSON.stringify(run.data.pre);
  if (got !== want) throw new Error(`streamed preprocessing differs from the in-memory one: ${got.slice(0, 300)} vs ${want.slice(0, 300)}`);
  if (run.data.trainRows !== train.length) throw new Error(`streamed ${run.data.trainRows} training rows, the hash split has ${train.length}`);
  const sum = (l: Record<string, number>) => Object.values(l).reduce((a, b) => a + b, 0);
  const hist = run.result.history, lossStart = sum(hist[0].trainLoss), lossEnd = sum(hist[hist.length - 1].trainLoss);
  if (!(lossEnd < lossStart)) throw new Error(`the objective did not fall: ${lossStart} → ${lossEnd}`);
  if (opts.spawn) {
    const w = await runOnce(opts.spawn);
    if (w.hash !== one.hash) throw new Error(`parsed on a worker, the weights differ from the one-thread run's: ${w.hash} vs ${one.hash}`);
  }
  return { weightsSha256: one.hash, trainRows: run.data.trainRows, validationRows: run.data.validation.rows, lossStart, lossEnd, worker: !!opts.spawn, ms: Date.now() - t0 };
}

export function formatStreamLine(runtime: string, r: StreamScenarioResult): string {
  return `runtime=${runtime} stream sha256=${r.weightsSha256} rows=${r.trainRows}+${r.validationRows} loss=${r.lossStart.toFixed(4)}→${r.lossEnd.toFixed(4)} worker=${r.worker ? "same weights" : "not run"} ms=${r.ms}`;
}
