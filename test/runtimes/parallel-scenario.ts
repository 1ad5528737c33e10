// The portable data-parallel scenario: the same small model trained twice from the same initial weights, once on
// this thread and once with parallelGradients over `threads` threads (default 2), must end at the same weights
// to float tolerance (max |single − parallel| ≤ 1e-4 × max |single|). No dropout (each shard draws its own
// masks), but missing labels spread unevenly over the shards, a relation term and an uneven last batch.
// No node:* imports: the caller hands in the compiled kernel module and a spawn function for its runtime's
// workers (Deno: new Worker(url, { type: "module" }); a browser's dedicated worker: a nested worker), each
// running test/runtimes/parallel-worker-entry.ts (or, in Node, src/train/node-worker-entry.ts).
//
// Where canRunParallel() is false (a page's main thread, a page without cross-origin isolation, runtimes with no
// SharedArrayBuffer) the scenario trains on one thread only and says so (`parallel: false`, `fallback`): the
// caller decides whether that is acceptable there.
import { loadKernels } from "../../src/runtime/load.ts";
import { validateSpec, type ModelSpec } from "../../src/model/spec.ts";
import { Model } from "../../src/model/model.ts";
import { fit } from "../../src/train/trainer.ts";
import { canRunParallel, parallelGradients, type WorkerLike } from "../../src/train/parallel.ts";
import { mulberry32 } from "../../src/data/split.ts";
import type { Encoded } from "../../src/data/preprocess.ts";
import { FEATURES, encodeData, makeData, makePreprocessing, sha256Hex } from "./scenario.ts";

export interface ParallelScenarioOptions {
  /** The compiled build/mtl.wasm: each model and each worker gets its own instance of it. */
  module: WebAssembly.Module;
  /**
   * Start a worker serving one shard (see parallel-worker-entry.ts). Not called when canRunParallel() is false;
   * null where the runtime has no workers (workerd): the scenario then falls back to one thread, as an app would.
   */
  spawn: (() => WorkerLike) | null;
  log?: (line: string) => void;
  threads?: number;
  seed?: number;
  rows?: number;
  epochs?: number;
  /** Give up when the workers have not said "ready" after this long (a worker that failed to load says nothing). */
  readyTimeoutMs?: number;
}

export interface ParallelScenarioResult {
  /** false: canRunParallel() was false, only the single-thread run happened (see `fallback`). */
  parallel: boolean;
  fallback: string | null;
  canRunParallel: boolean;
  crossOriginIsolated: boolean | null;
  threads: number;
  /** max |single − parallel| / max |single| (0 when not parallel). */
  maxRelDiff: number;
  maxAbsDiff: number;
  singleSha256: string;
  parallelSha256: string | null;
  lossStart: number;
  lossEnd: number;
  params: number;
  /** Wall time of both runs. */
  ms: number;
  singleMs: number;
  parallelMs: number | null;
}

export const PARALLEL_TOLERANCE = 1e-4;

export function parallelSpec(seed: number, epochs: number): ModelSpec {
  return validateSpec({
    name: "runtimes-parallel",
    inputs: { numeric: Array.from({ length: FEATURES }, (_, j) => `x${j}`) },
    architecture: { type: "mmoe", experts: 2, layers: [{ units: 16, activation: "relu" }] },
    tasks: [
      { name: "click", type: "binary", label: "y_click", tower: [{ units: 8, activation: "tanh" }] },
      { name: "value", type: "regression", label: "y_value", tower: [{ units: 8, activation: "gelu" }] },
    ],
    training: {
      epochs,
      batch_size: 64,
      seed,
      optimizer: { type: "adam", lr: 0.01 },
      relations: [{ tasks: ["click", "value"], lambda: 0.1 }],
      weighting: { type: "uncertainty" },
    },
  });
}

/** The scenario's rows with some labels missing (masks 0), drawn from the seed. */
function parallelData(seed: number, rows: number): { pre: ReturnType<typeof makePreprocessing>; data: Encoded } {
  const raw = makeData(rows, seed);
  const pre = makePreprocessing(raw, rows);
  const data = encodeData(pre, raw, rows);
  const next = mulberry32(seed ^ 0x5eed);
  const m1 = new Float32Array(rows), m2 = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    m1[r] = next() / 4294967296 < 0.8 ? 1 : 0;
    m2[r] = next() / 4294967296 < 0.6 ? 1 : 0;
  }
  data.tasks[0].mask = m1;
  data.tasks[1].mask = m2;
  return { pre, data };
}

const bytesOf = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer after ${ms} ms`)), ms)));
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export async function runParallelScenario(opts: ParallelScenarioOptions): Promise<ParallelScenarioResult> {
  const t0 = performance.now();
  const log = opts.log ?? (() => {});
  const seed = opts.seed ?? 11, rows = opts.rows ?? 600, epochs = opts.epochs ?? 2, threads = opts.threads ?? 2; // 600 = 9 × 64 + 24
  const spec = parallelSpec(seed, epochs);
  const { pre, data } = parallelData(seed, rows);
  const can = canRunParallel();
  const coi = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated;

  // (a) one thread.
  const single = new Model(spec, pre, await loadKernels(opts.module));
  single.initParams(seed);
  const { history } = await fit(single, data, null);
  const a = single.snapshot();
  const singleSha256 = await sha256Hex(bytesOf(a));
  const singleMs = Math.round(performance.now() - t0);
  const lossStart = history[0].objective, lossEnd = history[history.length - 1].objective;
  log(`single thread: objective ${lossStart.toFixed(5)} → ${lossEnd.toFixed(5)} in ${singleMs} ms`);
  if (!(lossEnd < lossStart)) throw new Error(`single thread: the training objective did not fall: ${lossStart} → ${lossEnd}`);

  const base = { canRunParallel: can, crossOriginIsolated: typeof coi === "boolean" ? coi : null, lossStart, lossEnd, params: single.store.total, singleSha256, singleMs };
  if (!can || !opts.spawn) {
    const why = !can
      ? `canRunParallel()=false (${typeof SharedArrayBuffer === "undefined" ? "no SharedArrayBuffer" : coi === false ? "not cross-origin isolated" : "this thread may not block (Atomics.wait)"})`
      : "no workers in this runtime";
    log(`${why}: single thread only`);
    return { ...base, parallel: false, fallback: `${why} → single thread`, threads: 1, maxRelDiff: 0, maxAbsDiff: 0, parallelSha256: null, ms: Math.round(performance.now() - t0), parallelMs: null };
  }

  // (b) `threads` threads from the same initial weights.
  const t1 = performance.now();
  const par = new Model(spec, pre, await loadKernels(opts.module));
  par.initParams(seed);
  const spawned: WorkerLike[] = [];
  const start = opts.spawn;
  const spawn = () => {
    const w = start();
    spawned.push(w);
    return w;
  };
  let gradients: Awaited<ReturnType<typeof parallelGradients>> | null = null;
  try {
    gradients = await withTimeout(parallelGradients(par, data, { threads, spawn, module: opts.module }), opts.readyTimeoutMs ?? 20_000, `parallelGradients (${threads - 1} worker(s) to start)`);
    const r = await fit(par, data, null, { gradients });
    log(`${threads} threads: objective ${r.history[0].objective.toFixed(5)} → ${r.history[r.history.length - 1].objective.toFixed(5)}`);
  } finally {
    if (gradients) gradients.close();
    else for (const w of spawned) void w.terminate();
  }
  const b = par.snapshot();
  const parallelSha256 = await sha256Hex(bytesOf(b));
  const parallelMs = Math.round(performance.now() - t1);

  let worst = 0, scale = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= worst)) worst = d; // NaN propagates
    scale = Math.max(scale, Math.abs(a[i]));
  }
  const maxRelDiff = scale > 0 ? worst / scale : worst;
  log(`max |single − parallel| ${worst.toExponential(2)}, largest weight ${scale.toFixed(3)}, relative ${maxRelDiff.toExponential(2)}`);
  if (!(worst <= PARALLEL_TOLERANCE * scale)) throw new Error(`single vs ${threads} threads: max |diff| ${worst} > ${PARALLEL_TOLERANCE} × max |w| ${scale}`);
  return { ...base, parallel: true, fallback: null, threads, maxRelDiff, maxAbsDiff: worst, parallelSha256, ms: Math.round(performance.now() - t0), parallelMs };
}

/** The result line (after `runtime=<name>`). */
export function formatParallelLine(runtime: string, r: ParallelScenarioResult): string {
  const e = (x: number) => (x === 0 ? "0" : x.toExponential(1));
  if (!r.parallel) return `runtime=${runtime} threads=1 fallback=${JSON.stringify(r.fallback)} canRunParallel=${r.canRunParallel} crossOriginIsolated=${r.crossOriginIsolated} single=${r.singleSha256.slice(0, 16)} ms=${r.ms}`;
  return `runtime=${runtime} threads=${r.threads} maxRelDiff=${e(r.maxRelDiff)} single=${r.singleSha256.slice(0, 16)} parallel=${r.parallelSha256!.slice(0, 16)} loss=${r.lossStart.toFixed(4)}→${r.lossEnd.toFixed(4)} ms=${r.ms} (single ${r.singleMs}, parallel ${r.parallelMs})`;
}
