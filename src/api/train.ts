// The high-level API: train(spec, data, opts) → a trained model with predict(), export() and save(), in a few lines.
// The same steps as `mtl train` (src/cli/train.ts calls the shared ones below): validate the spec, check the columns,
// the seeded train/validation split, the data checks, preprocessing fitted on the training rows, init with the spec's
// seed, fit (on threads when the runtime has workers: `threads`), validation metrics. No files, no checkpoints (that is
// the CLI's). Portable (no node:*).
import { loadKernels, type Kernels, type WasmSource } from "../runtime/load.ts";
import { validateSpec, type ModelSpec } from "../model/spec.ts";
import { Model } from "../model/model.ts";
import { Table } from "../data/table.ts";
import { fromBytes, fromString } from "../data/source.ts";
import { checkColumns, joinValidation, readTable, splitRows, validationStart } from "../data/load.ts";
import { dataWarnings, type DataWarning } from "../data/warnings.ts";
import { encode, fitPreprocessing, type Encoded, type Preprocessing } from "../data/preprocess.ts";
import { fit, type EpochLog, type FitResult, type GradientSource, type TrainState } from "../train/trainer.ts";
import { canRunParallel, parallelGradients, type WorkerLike } from "../train/parallel.ts";
import { autoGradients, autoThreadCount } from "../train/auto-threads.ts";
import { evaluatePredictions, type TaskMetrics } from "../metrics/evaluate.ts";
import { gateWeights, type GateSummary } from "../metrics/gates.ts";
import { exportOnnx } from "../onnx/export.ts";
import { createSession, type RunOptions, type Session } from "../infer/session.ts";
import type { Row } from "../infer/rows.ts";
import { modelJson, weightsBytes } from "../io/checkpoint.ts";
import { ensembleOnnx } from "../onnx/ensemble.ts";
import { trainStreaming } from "../train/stream-train.ts";
import type { Reopen } from "../data/stream-rows.ts";

/**
 * Training data: row objects keyed by column (values strings, numbers or null/undefined for missing), a Table, or the
 * text or bytes of a file in the spec's `data.format` (CSV when the spec has no `data` section).
 */
export type TrainData = readonly Record<string, unknown>[] | Table | string | Uint8Array;

/**
 * A file too large to hold, for a spec with `data.streaming`: `reopen` opens it afresh for each pass (two statistics
 * passes, then one per epoch): `() => fromReadableStream(file.name, file.stream())` for a File, a new fetch() body per
 * pass, or in Node `() => fileSource(path)`.
 */
export interface StreamedData {
  /** Opens the file afresh (a new ByteSource from its first byte) for each pass. */
  reopen: Reopen;
}

/** Options of train(); every one is optional. */
export interface TrainOptions {
  /**
   * The validation rows: a fraction of `data` (a seeded split, overriding `training.validation`; 0 trains on every
   * row), or a data set of its own (rows, Table, text or bytes, with the same columns).
   */
  validation?: number | TrainData;
  /** Override `training.seed` (split, initialization, shuffling, dropout); an integer in [0, 2^31 − 1]. */
  seed?: number;
  /** Override `training.epochs`; an integer in [0, MAX_EPOCHS] (a SpecError names `training.epochs` otherwise). */
  epochs?: number;
  /**
   * The kernels: loaded `Kernels`, or the artifact (a compiled `WebAssembly.Module`, its bytes or a Response) to load.
   * Default: the ones the entry provides — the inline bundle (Node, Deno, browsers) embeds them; the worker bundle
   * imports `./mtl.wasm` as a module. Nothing is fetched.
   */
  kernels?: Kernels | WasmSource;
  /** After every epoch (losses, task weights, validation metrics). */
  onEpoch?: (log: EpochLog) => void;
  /** Before each epoch: its number (1-based) and its step count, e.g. to size a progress bar. */
  onEpochStart?: (epoch: number, steps: number) => void;
  /** After every step: the global step number (1-based), per-task losses and the loss scales the weighting used. */
  onStep?: (step: number, losses: Float64Array, scales: Float64Array) => void;
  /**
   * Threads: "auto" (the default) splits each batch into N shards (N = min(cores, 8, ⌊batch / 16⌋)) and runs them on
   * one thread or N, whichever measures faster — the numbers do not depend on that choice, only on N; a number fixes
   * the thread count; 1 trains one program over the whole batch. Threads need workers: `workers`, or the package's
   * own in Node (the bundle provides them); without workers "auto" trains its N shards on this thread (the same
   * numbers, so Node, Deno and a browser page on one machine agree) and a count > 1 is an error.
   */
  threads?: number | "auto";
  /** What training threads run on: a spawn function for a worker that calls serveParallel, and the compiled kernels. */
  workers?: Workers;
  /** Data warnings (a task without labels, an unused column, …); default console.warn. Data errors throw. */
  onWarning?: (w: DataWarning) => void;
  /** Name of the data in error messages (default "rows", "data.csv" for text or bytes). */
  name?: string;
  /**
   * Train an ensemble of this many members (an integer in [2, 64]), one after another: seeds seed, seed + 1, …
   * (initialization, shuffling, dropout), one split and one preprocessing (the spec seed's). `metrics`, predict() and
   * export() are then the ensemble's (the mean of the members' outputs); `members` holds each member.
   */
  ensemble?: number;
}

/** What train() resolves to: the trained model, its run's record, and predict/export/save over it. */
export interface Trained {
  /** The trained model (weights of the best epoch under early stopping, else the last). */
  readonly model: Model;
  /** The validated spec the run used (the options' seed, epochs and validation applied; a CSV `data` section added when it had none). */
  readonly spec: ModelSpec;
  /** One log per epoch run, in order (losses, task weights, validation metrics). */
  readonly history: EpochLog[];
  /** Validation metrics per task at `bestEpoch` (empty when there are no validation rows). */
  readonly metrics: Record<string, TaskMetrics>;
  /**
   * Mixtures of experts (MMoE, CGC, …): per moe_combine node, the mean and std over the validation rows of each
   * expert's gate weight, as metrics.json's `gates` (src/metrics/gates.ts); empty without mixtures or validation rows.
   */
  readonly gates: GateSummary;
  /** The epoch (1-based) whose weights the model holds: the best under early stopping, else the last. */
  readonly bestEpoch: number;
  /** The trainer's state after the last epoch (counters, weighting state, early-stopping record), as `save()` records it. */
  readonly state: TrainState;
  /** Row counts of the split. */
  readonly rows: {
    /** Rows trained on. */
    train: number;
    /** Rows validated on (0 with validation 0). */
    validation: number;
  };
  /**
   * Predictions for raw rows (objects keyed by column; null numeric cells → the training mean, unseen categories →
   * unknown; a row without an input column is an error unless `opts.missing` is "impute", as session.run), as
   * `{ [task]: Float32Array }` row-major [N, width]: probabilities or values in the label's units. The exported model
   * run by our own kernels, so it equals the ONNX file in any engine.
   */
  predict(rows: readonly Row[], opts?: RunOptions): Promise<Record<string, Float32Array>>;
  /** The model as ONNX bytes (with the preprocessing and the spec in its metadata). */
  export(): Uint8Array;
  /** What `mtl train` writes as DIR/model.json and DIR/weights.safetensors (`mtl evaluate/predict/export DIR` read them). */
  save(): {
    /** model.json's text: spec, preprocessing, parameter names and shapes, training state, best epoch and validation metrics. */
    modelJson: string;
    /** weights.safetensors' bytes: every parameter (batch norm's running statistics too) as F32, keyed by name. */
    weights: Uint8Array;
  };
  /** Free the model's wasm memory. */
  dispose(): Promise<void>;
  /**
   * With `ensemble`: the members in seed order, each a complete Trained (its own metrics, predict, export, save). The
   * ensemble's `model`, `history`, `bestEpoch`, `state`, `gates` and save() are member 0's; its metrics, predict() and
   * export() average the members.
   */
  readonly members?: readonly Trained[];
}

/** Training workers: `spawn()` starts one running serveParallel (parallel-worker.ts); `module` is mtl.wasm compiled. */
export interface Workers {
  /** Start one worker (a Web Worker, or a Node worker_threads Worker) whose script calls serveParallel. */
  spawn: () => WorkerLike;
  /** The kernel artifact (build/mtl.wasm) compiled: each worker instantiates it with its own memory. */
  module: WebAssembly.Module;
}

// ---- threads the entry provides (Node: worker_threads on dist/train-worker.mjs) ----------------------------------
let workerProvider: (() => Promise<Workers | null>) | null = null;

/** @internal Called by the bundle entries: how train() starts its threads by default (null: this runtime cannot). */
export function provideWorkers(load: () => Promise<Workers | null>): void {
  workerProvider = load;
}

/** The gradient source for `threads` (undefined: this thread's one program over the whole batch). */
async function threadSource(model: Model, data: Encoded, opts: TrainOptions): Promise<(GradientSource & { close(): void }) | undefined> {
  const threads = opts.threads ?? "auto";
  if (threads !== "auto" && !(Number.isInteger(threads) && threads >= 1)) throw new Error(`train: threads must be "auto" or a positive integer, got ${JSON.stringify(threads)}`);
  if (threads === 1) return undefined;
  const n = threads === "auto" ? autoThreadCount(model.spec).threads : threads;
  if (n < 2) return undefined;
  const workers = opts.workers ?? (workerProvider && canRunParallel() ? await workerProvider() : null);
  if (threads !== "auto") {
    if (!workers) throw new Error(`train: threads ${threads} needs workers: pass { workers: { spawn, module } } (see serveParallel), or use the package's bundle in Node; "auto" trains the same shards on one thread where there are none`);
    return parallelGradients(model, data, { threads, spawn: workers.spawn, module: workers.module });
  }
  // Without workers, auto's N shards on this thread: the numbers N threads would give.
  return autoGradients(model, data, { threads: n, ...(workers ? { spawn: workers.spawn, module: workers.module } : {}) });
}

// ---- kernels the entry provides ---------------------------------------------------------------------------------
let provider: (() => Promise<Kernels>) | null = null;
let shared: Promise<Kernels> | null = null;

/** @internal Called by the bundle entries (src/entry/*.ts): where their artifact comes from. */
export function provideKernels(load: () => Promise<Kernels>): void {
  provider = load;
  shared = null;
}

async function kernelsFor(opt: TrainOptions["kernels"]): Promise<Kernels> {
  if (opt !== undefined) return isKernels(opt) ? opt : loadKernels(opt);
  if (!provider) throw new Error("train: no kernels: pass { kernels } (loaded Kernels, or the compiled build/mtl.wasm module or its bytes), or import the package's bundle (mtl-wasm) rather than its sources");
  return (shared ??= provider().catch((e) => ((shared = null), Promise.reject(e))));
}

const isKernels = (x: unknown): x is Kernels => typeof x === "object" && x !== null && "memory" in x && typeof (x as { abi_version?: unknown }).abi_version === "function";

// ---- the steps shared with `mtl train` --------------------------------------------------------------------------
export interface Split {
  train: Uint32Array;
  validation: Uint32Array;
}

/**
 * Check the columns, split (seeded: `training.validation`, `training.seed`, `data.stratify`) and check the data.
 * Warnings go to `warn`; data that makes training meaningless (no training rows) throws with every such message.
 */
export function prepareSplit(spec: ModelSpec, table: Table, warn: (w: DataWarning) => void, given?: Split): Split {
  checkColumns(spec, table, { labels: true });
  const split = given ?? splitRows(spec, table);
  const warnings = dataWarnings(spec, table, split);
  for (const w of warnings) warn(w);
  const fatal = warnings.filter((w) => w.level === "error");
  if (fatal.length) throw new Error(fatal.map((w) => w.message).join("\n"));
  return split;
}

/** Encode the split with `pre` (default: fitted on the training rows) and build the model, initialized with the spec's seed. */
export function buildModel(spec: ModelSpec, table: Table, split: Split, k: Kernels, pre: Preprocessing = fitPreprocessing(spec, table, split.train)): { model: Model; train: Encoded; validation: Encoded } {
  const train = encode(spec, pre, table, split.train);
  const validation = encode(spec, pre, table, split.validation);
  const model = new Model(spec, pre, k);
  model.initParams(spec.training.seed);
  return { model, train, validation };
}

/** The model's validation predictions (its own forward pass) and their metrics per task. */
export function validationMetrics(model: Model, validation: Encoded): { preds: Float32Array[]; metrics: Record<string, TaskMetrics> } {
  const preds = model.predict(validation);
  return { preds, metrics: evaluatePredictions(model.spec, model.pre, model.dims.outputs, preds, validation) };
}

// ---- train() -----------------------------------------------------------------------------------------------------
/**
 * Train a model on `data` as `mtl train` does, in memory:
 *
 * ```ts
 * import { train } from "mtl-wasm";
 * const run = await train(spec, rows, { validation: 0.2 });
 * const p = await run.predict([{ x0: 0.3, color: "red" }]);   // { income: Float32Array [...] }
 * const onnx = run.export();                                  // Uint8Array
 * ```
 *
 * `spec` is a model spec as JSON (validated here: a SpecError names the bad field). Its `data` section, when given,
 * sets the format and delimiter of text or bytes; its `data.path` is optional and ignored (nothing is read from files).
 */
export async function train(spec: unknown, data: TrainData | StreamedData, opts: TrainOptions = {}): Promise<Trained> {
  let s = validateSpec(spec);
  if (opts.seed !== undefined || opts.epochs !== undefined || typeof opts.validation === "number") {
    s = validateSpec({ ...s, training: { ...s.training, ...(opts.seed !== undefined ? { seed: opts.seed } : {}), ...(opts.epochs !== undefined ? { epochs: opts.epochs } : {}), ...(typeof opts.validation === "number" ? { validation: opts.validation } : {}) } });
  }
  const streamed = typeof data === "object" && data !== null && typeof (data as StreamedData).reopen === "function";
  if (streamed !== !!s.data?.streaming) throw new Error(streamed ? "train: { reopen } streams a file, and the spec's data.streaming is off: set it to true, or pass the rows" : "train: the spec sets data.streaming: pass the file as { reopen: () => source } (opened afresh for each pass)");
  if (streamed) return trainStreamed(s, (data as StreamedData).reopen, opts);
  data = data as TrainData;
  // A spec without a `data` section reads CSV; recorded so that the saved model.json works with `mtl predict DIR`.
  if (!s.data) s = validateSpec({ ...s, data: { format: "csv", path: opts.name ?? (data instanceof Table ? data.name : Array.isArray(data) ? "rows" : "data.csv") } });
  const warn = opts.onWarning ?? ((w: DataWarning) => console.warn(`${w.level}: ${w.message}`));
  let table = await toTable(s, data, opts.name);
  if (opts.validation !== undefined && typeof opts.validation !== "number") table = joinValidation(table, await toTable(s, opts.validation, "validation"));
  else if (s.data?.validation_path && validationStart(table) === null) throw new Error(`train: data.validation_path (${JSON.stringify(s.data.validation_path)}) names a file, and train() reads no files (data.path is ignored too): pass the validation rows as { validation: rows | Table | text | bytes }`);
  const split = prepareSplit(s, table, warn);
  const k = await kernelsFor(opts.kernels);
  if (opts.ensemble !== undefined) return trainEnsemble(s, table, split, k, opts);
  return trainOne(s, table, split, k, opts);
}

async function trainOne(s: ModelSpec, table: Table, split: Split, k: Kernels, opts: TrainOptions, pre?: Preprocessing): Promise<Trained> {
  const { model, train: tr, validation } = buildModel(s, table, split, k, pre);
  let result;
  try {
    const gradients = await threadSource(model, tr, opts);
    try {
      result = await fit(model, tr, validation.rows ? validation : null, { onEpoch: opts.onEpoch, onEpochStart: opts.onEpochStart, onStep: opts.onStep, gradients });
    } finally {
      gradients?.close();
    }
  } catch (e) {
    model.dispose();
    throw e;
  }
  return trained(s, k, model, result, validation, { train: split.train.length, validation: split.validation.length });
}

/**
 * data.streaming: training on this thread (threads > 1 and ensemble are refused by name), the rows parsed on a worker
 * when there is one (threads 1: none), the validation rows of the hash split.
 */
async function trainStreamed(s: ModelSpec, reopen: Reopen, opts: TrainOptions): Promise<Trained> {
  if (opts.ensemble !== undefined) throw new Error("train: ensemble does not combine with data.streaming (each member would re-read the file every epoch)");
  if (opts.validation !== undefined && typeof opts.validation !== "number") throw new Error("train: data.streaming picks the validation rows by a hash of each row (training.validation); a separate validation set is not streamed");
  if (opts.threads !== undefined && opts.threads !== "auto" && opts.threads !== 1) throw new Error(`train: threads ${opts.threads} does not combine with data.streaming (streamed batches train on one thread)`);
  const k = await kernelsFor(opts.kernels);
  // The rows are parsed on a worker (the same batches) unless threads is 1 or there are no workers.
  const workers = opts.threads === 1 ? null : (opts.workers ?? (workerProvider ? await workerProvider() : null));
  const run = await trainStreaming(s, reopen, k, { onEpoch: opts.onEpoch, onEpochStart: opts.onEpochStart, onStep: opts.onStep, ...(workers ? { worker: { spawn: workers.spawn } } : {}) });
  return trained(s, k, run.model, run.result, run.data.validation, { train: run.data.trainRows, validation: run.data.validation.rows });
}

/** A trained model's Trained: validation metrics and gates, predict, export, save, dispose. */
function trained(s: ModelSpec, k: Kernels, model: Model, result: FitResult, validation: Encoded, rows: Trained["rows"]): Trained {
  const metrics = validation.rows ? validationMetrics(model, validation).metrics : {};
  const gates = validation.rows ? gateWeights(model, validation) : {};
  const state = result.state;
  let onnx: Uint8Array | null = null;
  let session: Promise<Session> | null = null;
  const exported = () => (onnx ??= exportOnnx(model));
  return {
    model,
    spec: s,
    history: result.history,
    metrics,
    gates,
    bestEpoch: result.bestEpoch,
    state,
    rows,
    async predict(rows, opts) {
      session ??= createSession(exported(), { engine: "mtl", kernels: k, name: s.name });
      return (await session).run(rows, opts);
    },
    export: () => exported().slice(),
    save: () => ({ modelJson: JSON.stringify(modelJson(model, state, { best_epoch: result.bestEpoch, validation: metrics }), null, 2) + "\n", weights: weightsBytes(model) }),
    async dispose() {
      if (session) await (await session).dispose();
      session = null;
      model.dispose();
    },
  };
}

/** `ensemble` members trained one after another on one split and one preprocessing; the ensemble's outputs are their mean. */
async function trainEnsemble(s: ModelSpec, table: Table, split: Split, k: Kernels, opts: TrainOptions): Promise<Trained> {
  const K = opts.ensemble!;
  if (!(Number.isInteger(K) && K >= 2 && K <= 64)) throw new Error(`train: ensemble must be an integer in [2, 64] (members), got ${JSON.stringify(K)}`);
  if (s.training.seed + K - 1 > 2 ** 31 - 1) throw new Error(`train: ensemble ${K} needs seeds up to ${s.training.seed + K - 1}, above 2^31 − 1; use a smaller seed`);
  const pre = fitPreprocessing(s, table, split.train);
  const members: Trained[] = [];
  try {
    for (let i = 0; i < K; i++) members.push(await trainOne({ ...s, training: { ...s.training, seed: s.training.seed + i } }, table, split, k, opts, pre));
  } catch (e) {
    for (const m of members) await m.dispose();
    throw e;
  }
  const m0 = members[0];
  let metrics: Record<string, TaskMetrics> = {};
  if (split.validation.length) {
    const validation = encode(s, pre, table, split.validation);
    const preds = members.map((m) => m.model.predict(validation));
    const mean = preds[0].map((p0, t) => Float32Array.from(p0, (_, r) => preds.reduce((a, p) => a + p[t][r], 0) / K));
    metrics = evaluatePredictions(s, pre, m0.model.dims.outputs, mean, validation);
  }
  let onnx: Uint8Array | null = null;
  let session: Promise<Session> | null = null;
  const exported = () => (onnx ??= ensembleOnnx(members.map((m) => m.export()), { seeds: members.map((_, i) => s.training.seed + i) }));
  return {
    ...m0,
    spec: s,
    metrics,
    members,
    async predict(rows, o) {
      session ??= createSession(exported(), { engine: "mtl", kernels: k, name: `${s.name} (ensemble of ${K})` });
      return (await session).run(rows, o);
    },
    export: () => exported().slice(),
    save: m0.save,
    async dispose() {
      if (session) await (await session).dispose();
      session = null;
      for (const m of members) await m.dispose();
    },
  };
}

/** Rows, a Table, or text/bytes in the spec's format, as a Table. */
export async function toTable(spec: ModelSpec, data: TrainData, name?: string): Promise<Table> {
  if (data instanceof Table) return data;
  if (typeof data === "string" || data instanceof Uint8Array) {
    const format = spec.data?.format ?? "csv";
    const src = typeof data === "string" ? fromString(name ?? `data.${format}`, data) : fromBytes(name ?? `data.${format}`, data);
    return readTable(src, { format, delimiter: spec.data?.delimiter ?? "," });
  }
  if (!Array.isArray(data)) throw new TypeError(`train: data must be an array of row objects, a Table, or CSV text or bytes; got ${data === null ? "null" : typeof data}`);
  return rowsTable(data, name ?? "rows");
}

/** Row objects as a Table of strings: columns in order of first appearance; null, undefined and NaN are empty cells. */
function rowsTable(rows: readonly Record<string, unknown>[], name: string): Table {
  const columns: string[] = [], seen = new Set<string>();
  rows.forEach((r, i) => {
    if (typeof r !== "object" || r === null || Array.isArray(r)) throw new TypeError(`${name}: row ${i + 1} is ${r === null ? "null" : Array.isArray(r) ? "an array" : typeof r}, expected an object keyed by column`);
    for (const c of Object.keys(r)) if (!seen.has(c)) (seen.add(c), columns.push(c));
  });
  const cells = columns.map((c) =>
    rows.map((r, i) => {
      const v = r[c];
      if (v === null || v === undefined || (typeof v === "number" && Number.isNaN(v))) return "";
      if (typeof v === "string") return v;
      if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return String(v);
      throw new TypeError(`${name}: row ${i + 1}, column ${JSON.stringify(c)}: value is ${Array.isArray(v) ? "an array" : `a${typeof v === "object" ? "n object" : ` ${typeof v}`}`}, expected a string, a number or null`);
    }),
  );
  return Table.fromColumns(name, columns, cells);
}
