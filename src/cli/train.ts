// mtl train CONFIG.json --out DIR [--seed N] [--epochs N] [--data PATH] [--single-task] [--ensemble K] [--resume] [--report] [--quiet]
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import type { Kernels } from "../runtime/load.ts";
import type { MetricName, ModelSpec, Task } from "../model/spec.ts";
import { checkColumns, splitRows } from "../data/load.ts";
import { fitPreprocessing, type Encoded, type Preprocessing } from "../data/preprocess.ts";
import { Model } from "../model/model.ts";
import { openStreaming, type StreamingData } from "../data/stream.ts";
import { fileSource } from "../data/node-file.ts";
import { buildModel, prepareSplit, validationMetrics } from "../api/train.ts";
import { fit, type EpochLog } from "../train/trainer.ts";
import { isBatchSource } from "../train/batches.ts";
import { evaluatePredictions, perOutputMetrics, type TaskMetrics } from "../metrics/evaluate.ts";
import { deltaM } from "../metrics/delta-m.ts";
import { gateLines, gateWeights } from "../metrics/gates.ts";
import { higherIsBetter } from "../model/spec.ts";
import type { Table } from "../data/table.ts";
import { intFlag, parseArgs, strFlag, UsageError } from "./args.ts";
import { readTrainingData, readSpec, sessionInput, writeJson } from "./files.ts";
import { prepareTrainDir, resumeCheckpoint, writeEpochCheckpoint, writeModelFiles, type Checkpoint } from "../io/checkpoint-files.ts";
import { loadAverage, loadState, loadWeights } from "../io/checkpoint.ts";
import { deltaMLine, earlyStopLine, formatMetrics } from "./format.ts";
import { EpochTable } from "./table.ts";
import { createProgress, type ProgressStream } from "./progress.ts";
import { formatWritten, snapshotDir, writtenSince } from "./written.ts";
import { affinityJson, affinityText } from "./affinity.ts";
import type { AffinitySummary } from "../train/affinity.ts";
import { exportOnnx } from "../onnx/export.ts";
import { createSession } from "../infer/session.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { canRunParallel, parallelGradients } from "../train/parallel.ts";
import { autoGradients, autoThreadCount } from "../train/auto-threads.ts";
import { defaultWorkerEntry, nodeWorkerSpawner } from "../train/node-workers.ts";
import { writeReport } from "./report.ts";
import { reportScript } from "../report/load.ts";
import { finishEnsemble, keepMember, memberDir, memberSpec, type Member } from "./train-ensemble.ts";
import { ensembleWorkers, memberShards, trainMembersInWorkers } from "./ensemble-pool.ts";
import { shardedGradients } from "../train/sharded.ts";
import { checkpointEpochs } from "../io/checkpoint-files.ts";

export const TRAIN_USAGE = "mtl train CONFIG.json --out DIR [--seed N] [--epochs N] [--data PATH] [--threads N|auto] [--single-task] [--ensemble K] [--resume] [--report] [--quiet]";

/**
 * `progress`: where the live progress line goes (the CLI passes process.stderr): drawn only when it is a TTY and the
 * command is not --quiet (progress.ts). Per epoch, `log` gets one row of the epoch table (table.ts).
 */
export async function trainCommand(argv: string[], kernels: () => Promise<Kernels>, log: (s: string) => void, module?: () => Promise<WebAssembly.Module>, progress?: ProgressStream | null, opts: { ensembleWorkers?: boolean } = {}): Promise<number> {
  const p = parseArgs(argv, ["single-task", "resume", "report", "quiet"], ["out", "seed", "epochs", "data", "threads", "ensemble"], "train");
  const threads = threadsFlag(p);
  if (threads !== "auto" && threads > 1 && !module) throw new UsageError("mtl train: --threads needs the compiled kernel module");
  if (p.positional.length !== 1) throw new UsageError(`usage: ${TRAIN_USAGE}`);
  const out = strFlag(p, "out");
  if (!out) throw new UsageError(`mtl train: --out DIR is required\nusage: ${TRAIN_USAGE}`);
  let spec = readSpec(p.positional[0]);
  if (p.flags.has("single-task") && spec.training.validation === 0 && !spec.data?.validation_path) throw new UsageError("mtl train: --single-task compares validation metrics (Δm), and training.validation is 0 with no data.validation_path: give the run validation rows");
  if (spec.training.affinity && threads !== "auto" && threads > 1) throw new UsageError(`mtl train: training.affinity is recorded on one thread (it re-runs this thread's forward and backward); drop --threads or set training.affinity to null`);
  const seed = intFlag(p, "seed", "train"), epochs = intFlag(p, "epochs", "train");
  if (epochs !== undefined && epochs < 1) throw new UsageError(`mtl train: --epochs must be at least 1, found ${epochs} (0 epochs would train nothing and write the initial weights)`);
  if (seed !== undefined || epochs !== undefined) spec = { ...spec, training: { ...spec.training, ...(seed !== undefined ? { seed } : {}), ...(epochs !== undefined ? { epochs } : {}) } };
  const ensemble = intFlag(p, "ensemble", "train");
  if (ensemble !== undefined && !(ensemble >= 2 && ensemble <= MAX_ENSEMBLE)) throw new UsageError(`mtl train: --ensemble must be an integer in [2, ${MAX_ENSEMBLE}] (members), found ${ensemble}`);
  if (ensemble !== undefined && spec.training.seed + ensemble - 1 > 2 ** 31 - 1) throw new UsageError(`mtl train: --ensemble ${ensemble} needs seeds up to ${spec.training.seed + ensemble - 1}, above 2^31 − 1; use a smaller --seed`);
  if (ensemble !== undefined && p.flags.has("single-task")) throw new UsageError("mtl train: --ensemble and --single-task do not combine; train them separately");
  if (ensemble !== undefined && p.flags.has("report")) throw new UsageError("mtl train: --report draws one model; with --ensemble, run mtl report DIR/members/<i>");
  const dataPath = strFlag(p, "data") ?? spec.data?.path;
  if (!dataPath) throw new UsageError(`mtl train: ${p.positional[0]} has no data.path; pass --data FILE`);
  if (p.flags.has("report")) reportScript(); // fail before training, not after, when the page script is not built
  const quiet = p.flags.has("quiet");
  const say = quiet ? () => {} : log;
  const bar = quiet ? null : (progress ?? null);
  // What DIR holds now: the final line lists what this run wrote (written.ts).
  const before = snapshotDir(out);

  const t0 = performance.now();
  // metrics.json's environment (the report shows it): the one place a run records a clock time.
  const environment = { runtime: `node ${process.version}`, platform: `${process.platform} ${process.arch}`, threads: String(threads), started: new Date().toISOString() };
  if (spec.data?.streaming) {
    // data.streaming: two statistics passes over the file, then one pass per epoch (src/data/stream.ts); the
    // validation rows (hash split) are held and checked in onnxruntime-web as in memory.
    const refuse = (flag: string, why: string) => {
      throw new UsageError(`mtl train: ${flag} does not combine with data.streaming (${why}); turn data.streaming off`);
    };
    if (ensemble !== undefined) refuse("--ensemble", "members would re-read the file once per epoch each");
    if (p.flags.has("single-task")) refuse("--single-task", "one streamed model per task");
    if (p.flags.has("report")) refuse("--report", "the report draws the whole data set, held in memory");
    if (threads !== "auto" && threads > 1) refuse(`--threads ${threads}`, "streamed batches are trained on one thread");
    // The epochs' rows are parsed on a worker thread (the same batches) unless --threads 1 asks for one thread.
    const stream = await openStreaming(spec, () => fileSource(dataPath), threads === 1 ? {} : { worker: { spawn: nodeWorkerSpawner(defaultWorkerEntry()) } });
    const nv = stream.validation.rows;
    say(`data ${dataPath} (streaming): train ${stream.trainRows}, validation ${nv} (hash split, seed ${spec.training.seed}), shuffle buffer ${spec.data.shuffle_buffer ?? "default"}, statistics in 2 passes, ${((performance.now() - t0) / 1000).toFixed(1)} s; epochs parsed on ${threads === 1 ? "this thread (--threads 1)" : "a worker thread"}`);
    const k = await kernels();
    const split = { train: new Uint32Array(0), validation: Uint32Array.from({ length: nv }, (_, i) => i) };
    let main;
    try {
      main = await trainOne(spec, stream.validationTable, split, k, out, p.flags.has("resume"), say, null, bar, stream);
    } finally {
      stream.train.close();
    }
    await writeJson(join(out, "metrics.json"), { model: spec.name, data: dataPath, seed: spec.training.seed, rows: { train: stream.trainRows, validation: nv }, streaming: true, ...main.summary, environment });
    log(formatWritten(out, writtenSince(out, before)));
    return 0;
  }
  const table = await readTrainingData(spec, dataPath);
  checkColumns(spec, table, { labels: true });
  const split = splitRows(spec, table);
  say(`data ${dataPath}: ${table.rowCount} rows → train ${split.train.length}, validation ${split.validation.length} (seed ${spec.training.seed}), ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  // Data that makes training meaningless stops here; data that makes part of it meaningless is a warning line.
  prepareSplit(spec, table, (w) => log(`${w.level}: ${w.message}`), split);
  const k = await kernels();

  const resume = p.flags.has("resume");
  // auto without the kernel module (an embedder's in-process call): its shards on this thread.
  const par = threads === "auto" || threads > 1 ? { threads, module: module ? await module() : null } : null;
  if (ensemble !== undefined) {
    // K members: the split and the preprocessing are the spec seed's, the members' seeds set initialization, shuffling
    // and dropout. On W = min(--threads or the cores, K) ≥ 2 workers at once, each member on one thread computing the
    // step its sequential run would (ensemble-pool.ts); else one after another here, each on --threads as a single
    // run would be. `opts.ensembleWorkers: false` forces the latter (tests compare the two, bit for bit).
    const info = { dataPath, rows: { train: split.train.length, validation: split.validation.length }, environment };
    // --resume continues each member from its checkpoint; members not started yet start afresh.
    const resumes = Array.from({ length: ensemble }, (_, i) => resume && checkpointEpochs(memberDir(out, i)).length > 0);
    const workers = opts.ensembleWorkers === false ? 0 : ensembleWorkers(threads, ensemble, !!par?.module);
    let members: Member[];
    if (workers > 0) {
      const shards = memberShards(spec, threads);
      say(`ensemble of ${ensemble}: ${workers} members at once on worker threads, each on one thread (${shards > 1 ? `${shards} shards a step, the numbers of --threads ${shards}` : "one program a step, the numbers of --threads 1"}); no progress line`);
      members = await trainMembersInWorkers({ module: par!.module!, spec, shards, out, info }, resumes, workers, say);
    } else {
      members = [];
      for (let i = 0; i < ensemble; i++) {
        const one = memberSpec(spec, i), dir = memberDir(out, i);
        say(`ensemble member ${i + 1}/${ensemble} (seed ${one.training.seed}) → ${dir}`);
        const r = await trainOne(one, table, split, k, dir, resumes[i], say, par, bar);
        members.push(await keepMember(spec, i, dir, r, info));
      }
    }
    const ens = await finishEnsemble(spec, members, members[0].encodedValidation!, table, split.validation, out, say);
    await writeJson(join(out, "metrics.json"), { model: spec.name, data: dataPath, seed: spec.training.seed, rows: { train: split.train.length, validation: split.validation.length }, ensemble: ens.summary, environment });
    log(formatWritten(out, writtenSince(out, before)));
    return 0;
  }
  const main = await trainOne(spec, table, split, k, out, resume, say, par, bar);
  const summary: Record<string, unknown> = { model: spec.name, data: dataPath, seed: spec.training.seed, rows: { train: split.train.length, validation: split.validation.length }, ...main.summary, environment };
  if (p.flags.has("single-task")) {
    const singles: Record<string, TaskMetrics> = {};
    for (const t0 of spec.tasks) {
      // A multilabel group names several tasks: a one-task model has none. sentence_accuracy needs the spec's
      // multiclass partner of a tagging task, which a one-task model does not have either.
      const t: Task = { ...t0, metrics: t0.metrics.filter((m) => m !== "sentence_accuracy") };
      const one: ModelSpec = { ...spec, multilabel: undefined, name: `${spec.name}.single.${t.name}`, tasks: [t], training: { ...spec.training, relations: [], affinity: null, early_stopping: spec.training.early_stopping && { ...spec.training.early_stopping, metric: singleMetric(spec.training.early_stopping.metric, t) } } };
      say(`single-task model for ${t.name}`);
      const r = await trainOne(one, table, split, k, join(out, "single", t.name), false, say, par, bar);
      singles[t.name] = r.validation[t.name];
    }
    const dm = deltaM(spec.tasks.map((t) => ({ name: t.name, metrics: t.metrics.filter((m) => Number.isFinite(main.validation[t.name][m]) && Number.isFinite(singles[t.name][m]) && singles[t.name][m] !== 0).map((m) => ({ name: `${t.name}.${m}`, mtl: main.validation[t.name][m], single: singles[t.name][m], higherIsBetter: higherIsBetter(m) })) })).filter((t) => t.metrics.length));
    summary.single_task = singles;
    summary.delta_m = dm;
    say(deltaMLine(dm));
  }
  await writeJson(join(out, "metrics.json"), summary);
  if (p.flags.has("report")) {
    const bytes = await writeReport(out, join(out, "report.html"), k, { dataPath, table });
    log(`wrote ${join(out, "report.html")} (${(bytes / 1024).toFixed(0)} KB)`);
  }
  log(formatWritten(out, writtenSince(out, before)));
  return 0;
}

/** The most members --ensemble takes. */
const MAX_ENSEMBLE = 64;

/**
 * --threads: a positive integer, or "auto" (the default: N shards, run on one thread or N, whichever measures faster;
 * auto-threads.ts). Auto's choice depends on timing but never changes the numbers: a run equals `--threads N`'s.
 */
function threadsFlag(p: ReturnType<typeof parseArgs>): number | "auto" {
  const v = strFlag(p, "threads");
  if (v === undefined) return "auto";
  if (v === "auto") return "auto";
  if (!/^\d+$/.test(v) || +v < 1) throw new UsageError(`mtl train: --threads expects a positive integer or "auto", found ${JSON.stringify(v)}`);
  return +v;
}

/** The --threads auto source: one thread vs every core, re-picked when step times change; each decision is printed. */
async function autoThreads(model: Model, train: Encoded, module: WebAssembly.Module | null, say: (s: string) => void) {
  const plan = autoThreadCount(model.spec);
  const cores = plan.threads;
  if (cores < 2) {
    say(`threads auto: 1 thread (${plan.reason})`);
    return undefined;
  }
  // Without workers autoGradients runs the N shards on this thread (the numbers of --threads N), measuring nothing.
  const threads = module && canRunParallel() ? { module, spawn: nodeWorkerSpawner(defaultWorkerEntry()) } : null;
  const ms = (x: number) => `${x.toFixed(2)} ms`;
  const g = await autoGradients(model, train, {
    threads: cores,
    ...threads,
    onDecision: (d) => {
      const what = d.mode === "parallel" ? `${cores} threads` : "1 thread";
      const why = d.reason === "start" ? "measured at start" : d.reason === "recheck" ? "periodic re-check" : d.reason === "guard" ? `guard: ${cores} threads fell behind 1` : `step time got ${d.reason}`;
      say(`threads auto: ${d.previous && d.previous !== d.mode ? "switching to " : ""}${what} after ${d.at} timed steps (${why}: 1 thread ${ms(d.single)}/step, ${cores} threads ${ms(d.parallel)}/step)`);
    },
  });
  if (threads) say(`threads auto: ${cores} shards, measuring 1 vs ${cores} threads (the same numbers either way; --threads ${cores} reproduces this run)`);
  else say(`threads auto: ${cores} shards on 1 thread (${module ? "this runtime cannot run training threads" : "no kernel module for workers"}; the numbers of --threads ${cores})`);
  return g;
}

/** early-stopping metric for a single-task model: `mean.X` becomes `TASK.X`, another task's metric becomes loss. */
function singleMetric(ref: string, task: Task): string {
  if (ref === "loss") return ref;
  const dot = ref.lastIndexOf(".");
  const who = ref.slice(0, dot), metric = ref.slice(dot + 1) as MetricName;
  // mean.METRIC over the tasks that report it: a task that does not (a box task under mean.accuracy) monitors its loss.
  return who === "mean" || who === task.name ? (task.metrics.includes(metric) ? `${task.name}.${metric}` : "loss") : "loss";
}

/** The epoch table of a run: each task's main metric, weights when the strategy moves them, the early-stopping monitor. */
function epochTable(spec: ModelSpec, terms: string[], dir: string): EpochTable {
  const es = spec.training.early_stopping;
  return new EpochTable({
    tasks: spec.tasks.map((t) => ({ name: t.name, metric: mainMetric(t, es?.metric) })),
    epochs: spec.training.epochs,
    weights: spec.training.weighting.type !== "static",
    monitor: es?.metric ?? null,
    relations: terms,
    affinity: !!spec.training.affinity,
    full: join(dir, "metrics.json"),
  });
}

/**
 * A task's main validation metric: the early-stopping one when it names this task's metric (or mean.X), else its
 * first; a tagging task always shows its first (span_f1 by default: the monitor has a column of its own).
 */
function mainMetric(t: Task, monitor: string | undefined): string | null {
  const dot = monitor ? monitor.lastIndexOf(".") : -1;
  if (monitor && dot > 0 && t.type !== "tagging") {
    const who = monitor.slice(0, dot), m = monitor.slice(dot + 1) as MetricName;
    if ((who === "mean" || who === t.name) && t.metrics.includes(m)) return m;
  }
  return t.metrics[0] ?? null;
}

/**
 * Train one model into `dir`. In memory: `split` indexes `table`. Streaming (`stream`): `table` is the validation rows
 * as read, `split.validation` all of them, and the training rows come from `stream.train`. `par`: null, one program
 * over the whole batch; threads N with the module, N threads data-parallel; threads N with module null (an ensemble
 * member's worker), the same N-shard step on this thread (sharded.ts); "auto", autoThreads.
 */
export async function trainOne(spec: ModelSpec, table: Table, split: { train: Uint32Array; validation: Uint32Array }, k: Kernels, dir: string, resume: boolean, sayLine: (s: string) => void, par: { threads: number | "auto"; module: WebAssembly.Module | null } | null, bar: ProgressStream | null, stream: StreamingData | null = null) {
  const names = spec.tasks.map((t) => t.name);
  const progress = createProgress(bar, { epochs: spec.training.epochs, tasks: names });
  // Every line printed while the progress line may be drawn erases it first.
  const say = (s: string) => (progress?.clear(), sayLine(s));
  let pre: Preprocessing;
  let state = null;
  // Stale temporaries of killed writes go; a fresh run also drops an earlier run's checkpoints (checkpoint-files.ts).
  await prepareTrainDir(dir, resume);
  let ckpt: Checkpoint | null = null;
  if (resume) {
    ckpt = await resumeCheckpoint(dir, (s) => console.error(`mtl train: ${s}`));
    pre = ckpt.json.preprocessing;
    state = ckpt.json.train_state;
    if (!state) throw new UsageError(`${ckpt.path}: model.json has no train_state to resume from`);
    // The streamed batches are encoded with the statistics passes' preprocessing: it must be the checkpoint's.
    if (stream && JSON.stringify(stream.pre) !== JSON.stringify(pre)) throw new UsageError(`${ckpt.path}: the preprocessing learnt from ${table.name} differs from the checkpoint's; the file changed since that run (train afresh without --resume)`);
  } else pre = stream ? stream.pre : fitPreprocessing(spec, table, split.train);
  // The same steps as train() (src/api/train.ts): encode the split, build the model, init with the spec's seed.
  const { model, train, validation } = stream ? streamedModel(spec, stream, k) : buildModel(spec, table, split, k, pre);
  let resumeBest: Float32Array | null = null, resumeAverage: Float32Array | null = null;
  if (resume) {
    loadState(model, ckpt!.state, join(ckpt!.path, "state.safetensors"));
    resumeAverage = loadAverage(model, ckpt!.state, join(ckpt!.path, "state.safetensors"));
    if (spec.training.early_stopping && state!.bestEpoch > 0) {
      // weights.safetensors holds the best epoch's weights: read them as the snapshot, then restore the latest.
      const latest = model.snapshot();
      loadWeights(model, ckpt!.weights, join(ckpt!.path, "weights.safetensors"));
      resumeBest = model.snapshot();
      model.restore(latest);
    }
    say(`resuming ${dir} after epoch ${state!.epoch} (${ckpt!.path})`);
  }
  // Per-step log (steps.csv): the weights the balancing strategy used at each step, beside the task losses.
  const stepRows: string[] = ckpt ? stepLogRows(ckpt.steps, state!.step) : [];
  const stepHeader = ["step", "epoch", ...spec.tasks.map((t) => `loss:${t.name}`), ...spec.tasks.map((t) => `weight:${t.name}`)].join(",");
  let epochNow = (state?.epoch ?? 0) + 1;
  // DIR/affinity.json (training.affinity): one entry per epoch, written before each checkpoint, so a resumed run
  // keeps the entries up to its checkpoint's epoch. A fresh run drops an earlier run's file.
  const affinity = spec.training.affinity;
  const affinityPath = join(dir, "affinity.json");
  const affinityEpochs: { epoch: number; affinity: AffinitySummary }[] = resume && affinity ? previousAffinity(affinityPath, state!.epoch) : [];
  if (!resume) await rm(affinityPath, { force: true });
  const gradients = !par || isBatchSource(train)
    ? undefined
    : par.threads === "auto"
      ? await autoThreads(model, train, par.module, say)
      : par.module === null
        ? shardedGradients(model, par.threads) // an ensemble member's worker: --threads N's step, its N shards in turn here
        : await parallelGradients(model, train, { threads: par.threads, module: par.module, spawn: nodeWorkerSpawner(defaultWorkerEntry()) });
  if (par && par.threads !== "auto") say(par.module === null ? `training ${par.threads} shards a step on this thread (the numbers of --threads ${par.threads})` : `training on ${par.threads} threads (data-parallel, shards summed in a fixed order)`);
  const epochRows = epochTable(spec, model.graph.terms.map((t) => t.name), dir);
  let pending: EpochLog | null = null, headed = false;
  const t0 = performance.now();
  let result;
  try {
    result = await fit(model, train, validation, {
      resume: state ?? undefined,
      resumeBest,
      resumeAverage,
      gradients,
      onEpochStart: (epoch, steps) => progress?.start(epoch, steps),
      onStep: (step, losses, scales) => {
        stepRows.push([step, epochNow, ...Array.from(losses, (x) => x.toPrecision(6)), ...Array.from(scales, (x) => x.toPrecision(6))].join(","));
        progress?.step(losses);
      },
      onEpoch: (l) => {
        if (l.affinity) affinityEpochs.push({ epoch: l.epoch, affinity: l.affinity });
        pending = l;
      },
      afterEpoch: async (st, best, average) => {
        // The row is printed here, where the trainer's verdict on this epoch (the kept best) is known.
        if (!headed) epochRows.header().forEach(say);
        headed = true;
        say(epochRows.row(pending!, !!spec.training.early_stopping && st.bestEpoch === st.epoch));
        epochNow = st.epoch + 1;
        if (affinity) await writeFileAtomic(affinityPath, affinityText(affinityJson(spec, affinity.every, affinityEpochs)));
        // One unit: DIR/checkpoints/<epoch>/ published in one step, then the top-level copies.
        await writeEpochCheckpoint(dir, model, st, best, [stepHeader, ...stepRows].join("\n") + "\n", undefined, average);
      },
    });
  } finally {
    gradients?.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  progress?.clear();
  const es = spec.training.early_stopping;
  if (es) say(earlyStopLine(es, result.state, spec.training.epochs));
  const { preds, metrics } = validationMetrics(model, validation);
  const held = split.validation.length > 0;
  say(held ? `validation (epoch ${result.bestEpoch}): ${formatMetrics(metrics)}  [${seconds.toFixed(1)} s]` : `trained on every row (validation 0): kept the last epoch, ${result.bestEpoch}  [${seconds.toFixed(1)} s]`);
  // Mean gate weight per expert of every mixture over the validation rows (metrics.json's gates; src/metrics/gates.ts).
  const gates = held ? gateWeights(model, validation) : {};
  gateLines(gates).forEach(say);
  const stopping = es && { metric: es.metric, patience: es.patience, stopped: result.state.stopped, best: result.state.best, best_epoch: result.state.bestEpoch };
  const perOutput = held ? perOutputMetrics(spec, model.pre, model.dims.outputs, preds, validation) : {};
  const summaryBase = { best_epoch: result.bestEpoch, epochs_run: result.state.epoch, train_seconds: seconds, validation: metrics, ...(Object.keys(perOutput).length ? { validation_per_output: perOutput } : {}), ...(Object.keys(gates).length ? { gates } : {}), history: result.history, ...(stopping ? { early_stopping: stopping } : {}) };
  await writeModelFiles(dir, model, result.state, { best_epoch: result.bestEpoch, validation: metrics });
  // The ONNX export, run by onnxruntime-web on the same validation rows: its metrics must match ours.
  const onnx = exportOnnx(model);
  await writeFileAtomic(join(dir, "model.onnx"), onnx);
  if (!held) {
    say(`onnx ${join(dir, "model.onnx")} (${onnx.length} bytes); no validation rows to check it on in onnxruntime-web (mtl evaluate DIR --data FILE does)`);
    return { validation: metrics, summary: { ...summaryBase, onnx: { bytes: onnx.length } } as Record<string, unknown>, model, preds, onnx, encodedValidation: validation };
  }
  const t1 = performance.now();
  const session = await createSession(onnx, { engine: "ort", name: join(dir, "model.onnx") });
  const rows = split.validation;
  const out = await session.run(sessionInput(session, table, rows));
  const ortMetrics = evaluatePredictions(spec, model.pre, model.dims.outputs, spec.tasks.map((t) => out[t.name]), validation);
  let maxDiff = 0;
  spec.tasks.forEach((t, i) => out[t.name].forEach((v, r) => (maxDiff = Math.max(maxDiff, Math.abs(v - preds[i][r])))));
  say(`onnx ${join(dir, "model.onnx")} (${onnx.length} bytes) in onnxruntime-web on ${rows.length} validation rows: ${formatMetrics(ortMetrics)}  [max |ort − wasm| ${maxDiff.toExponential(1)}, ${((performance.now() - t1) / 1000).toFixed(1)} s]`);
  const summary = { ...summaryBase, onnx: { bytes: onnx.length, ort_validation: ortMetrics, max_abs_diff: maxDiff } };
  return { validation: metrics, summary: summary as Record<string, unknown>, model, preds, onnx, encodedValidation: validation };
}

/** A model initialized with the spec's seed on a streamed data set's preprocessing, its batches and validation rows. */
function streamedModel(spec: ModelSpec, stream: StreamingData, k: Kernels) {
  const model = new Model(spec, stream.pre, k);
  model.initParams(spec.training.seed);
  return { model, train: stream.train, validation: stream.validation };
}

/** The entries of an earlier DIR/affinity.json up to `epoch` (none when the file is missing or unreadable). */
function previousAffinity(path: string, epoch: number): { epoch: number; affinity: AffinitySummary }[] {
  let json: { epochs?: { epoch: number; steps: number; cosine: (number | null)[][]; tag: (number | null)[][] }[] };
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch {
    return [];
  }
  return (json.epochs ?? []).filter((e) => e.epoch <= epoch).map((e) => ({ epoch: e.epoch, affinity: { cosine: e.cosine, tag: e.tag, steps: e.steps } }));
}

/** The rows of a checkpoint's steps.csv up to `step` (a resumed run continues the same log). */
function stepLogRows(text: string | null, step: number): string[] {
  if (!text) return [];
  return text.trim().split("\n").slice(1).filter((l) => Number(l.split(",")[0]) <= step);
}
