// mtl train CONFIG.json --out DIR [--seed N] [--epochs N] [--data PATH] [--single-task] [--resume] [--quiet]
import { join } from "node:path";
import type { Kernels } from "../runtime/load.ts";
import type { ModelSpec } from "../model/spec.ts";
import { checkColumns, splitRows } from "../data/load.ts";
import { encode, fitPreprocessing, type Encoded, type Preprocessing } from "../data/preprocess.ts";
import { Model } from "../model/model.ts";
import { fit, type EpochLog } from "../train/trainer.ts";
import { evaluatePredictions, type TaskMetrics } from "../metrics/evaluate.ts";
import { deltaM } from "../metrics/delta-m.ts";
import { higherIsBetter } from "../model/spec.ts";
import type { Table } from "../data/table.ts";
import { intFlag, parseArgs, strFlag, UsageError } from "./args.ts";
import { loadDirState, loadDirWeights, readData, readModelDir, readSpec, writeCheckpoint, writeJson } from "./files.ts";
import { formatMetrics } from "./format.ts";
import { exportOnnx } from "../onnx/export.ts";
import { createSession } from "../infer/session.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { existsSync, readFileSync } from "node:fs";
import { parallelGradients } from "../train/parallel.ts";
import { defaultWorkerEntry, nodeWorkerSpawner } from "../train/node-workers.ts";

export const TRAIN_USAGE = "mtl train CONFIG.json --out DIR [--seed N] [--epochs N] [--data PATH] [--threads N] [--single-task] [--resume] [--quiet]";

export async function trainCommand(argv: string[], kernels: () => Promise<Kernels>, log: (s: string) => void, module?: () => Promise<WebAssembly.Module>): Promise<number> {
  const p = parseArgs(argv, ["single-task", "resume", "quiet"], ["out", "seed", "epochs", "data", "threads"], "train");
  const threads = intFlag(p, "threads", "train") ?? 1;
  if (threads < 1) throw new UsageError("mtl train: --threads must be at least 1");
  if (threads > 1 && !module) throw new UsageError("mtl train: --threads needs the compiled kernel module");
  if (p.positional.length !== 1) throw new UsageError(`usage: ${TRAIN_USAGE}`);
  const out = strFlag(p, "out");
  if (!out) throw new UsageError(`mtl train: --out DIR is required\nusage: ${TRAIN_USAGE}`);
  let spec = readSpec(p.positional[0]);
  const seed = intFlag(p, "seed", "train"), epochs = intFlag(p, "epochs", "train");
  if (seed !== undefined || epochs !== undefined) spec = { ...spec, training: { ...spec.training, ...(seed !== undefined ? { seed } : {}), ...(epochs !== undefined ? { epochs } : {}) } };
  const dataPath = strFlag(p, "data") ?? spec.data?.path;
  if (!dataPath) throw new UsageError(`config ${p.positional[0]}: no data.path; give --data PATH`);
  const quiet = p.flags.has("quiet");
  const say = quiet ? () => {} : log;

  const t0 = performance.now();
  const table = await readData(spec, dataPath);
  checkColumns(spec, table, { labels: true });
  const split = splitRows(spec, table);
  say(`data ${dataPath}: ${table.rowCount} rows → train ${split.train.length}, validation ${split.validation.length} (seed ${spec.training.seed}), ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const k = await kernels();

  const resume = p.flags.has("resume");
  const par = threads > 1 ? { threads, module: await module!() } : null;
  const main = await trainOne(spec, table, split, k, out, resume, say, par);
  const summary: Record<string, unknown> = { model: spec.name, data: dataPath, seed: spec.training.seed, rows: { train: split.train.length, validation: split.validation.length }, ...main.summary };
  if (p.flags.has("single-task")) {
    const singles: Record<string, TaskMetrics> = {};
    for (const t of spec.tasks) {
      const one: ModelSpec = { ...spec, name: `${spec.name}.single.${t.name}`, tasks: [t], training: { ...spec.training, relations: [], early_stopping: spec.training.early_stopping && { ...spec.training.early_stopping, metric: singleMetric(spec.training.early_stopping.metric, t.name) } } };
      say(`single-task model for ${t.name}`);
      const r = await trainOne(one, table, split, k, join(out, "single", t.name), false, say, par);
      singles[t.name] = r.validation[t.name];
    }
    const dm = deltaM(spec.tasks.map((t) => ({ name: t.name, metrics: t.metrics.filter((m) => Number.isFinite(main.validation[t.name][m]) && Number.isFinite(singles[t.name][m]) && singles[t.name][m] !== 0).map((m) => ({ name: `${t.name}.${m}`, mtl: main.validation[t.name][m], single: singles[t.name][m], higherIsBetter: higherIsBetter(m) })) })).filter((t) => t.metrics.length));
    summary.single_task = singles;
    summary.delta_m = dm;
    say(`Δm vs single-task models: ${dm >= 0 ? "+" : ""}${dm.toFixed(3)} %`);
  }
  await writeJson(join(out, "metrics.json"), summary);
  log(`wrote ${join(out, "model.json")}, ${join(out, "weights.safetensors")}, ${join(out, "metrics.json")}`);
  return 0;
}

/** early-stopping metric for a single-task model: `mean.X` becomes `TASK.X`, another task's metric becomes loss. */
function singleMetric(ref: string, task: string): string {
  if (ref === "loss") return ref;
  const dot = ref.lastIndexOf(".");
  const who = ref.slice(0, dot);
  return who === "mean" ? `${task}.${ref.slice(dot + 1)}` : who === task ? ref : "loss";
}

async function trainOne(spec: ModelSpec, table: Table, split: { train: Uint32Array; validation: Uint32Array }, k: Kernels, dir: string, resume: boolean, say: (s: string) => void, par: { threads: number; module: WebAssembly.Module } | null) {
  let pre: Preprocessing;
  let state = null;
  if (resume) {
    const j = readModelDir(dir);
    pre = j.preprocessing;
    state = j.train_state;
    if (!state) throw new UsageError(`${dir}: model.json has no train_state to resume from`);
  } else pre = fitPreprocessing(spec, table, split.train);
  const train: Encoded = encode(spec, pre, table, split.train);
  const validation: Encoded = encode(spec, pre, table, split.validation);
  const model = new Model(spec, pre, k);
  model.initParams(spec.training.seed);
  let resumeBest: Float32Array | null = null;
  if (resume) {
    loadDirState(model, dir);
    if (spec.training.early_stopping && state!.bestEpoch > 0) {
      // weights.safetensors holds the best epoch's weights: read them as the snapshot, then restore the latest.
      const latest = model.snapshot();
      loadDirWeights(model, dir);
      resumeBest = model.snapshot();
      model.restore(latest);
    }
    say(`resuming ${dir} after epoch ${state!.epoch}`);
  }
  // Per-step log (steps.csv): the weights the balancing strategy used at each step, beside the task losses.
  const stepRows: string[] = resume ? readStepLog(dir, state!.step) : [];
  const stepHeader = ["step", "epoch", ...spec.tasks.map((t) => `loss:${t.name}`), ...spec.tasks.map((t) => `weight:${t.name}`)].join(",");
  let epochNow = (state?.epoch ?? 0) + 1;
  const gradients = par ? await parallelGradients(model, train, { threads: par.threads, module: par.module, spawn: nodeWorkerSpawner(defaultWorkerEntry()) }) : undefined;
  if (par) say(`training on ${par.threads} threads (data-parallel, shards summed in a fixed order)`);
  const t0 = performance.now();
  let result;
  try {
    result = await fit(model, train, validation, {
      resume: state ?? undefined,
      resumeBest,
      gradients,
      onStep: (step, losses, scales) => void stepRows.push([step, epochNow, ...Array.from(losses, (x) => x.toPrecision(6)), ...Array.from(scales, (x) => x.toPrecision(6))].join(",")),
      onEpoch: (l) => say(epochLine(l, spec.training.epochs)),
      afterEpoch: async (st, best) => {
        epochNow = st.epoch + 1;
        await writeCheckpoint(dir, model, st, best, { partial: true });
        await writeFileAtomic(join(dir, "steps.csv"), [stepHeader, ...stepRows].join("\n") + "\n");
      },
    });
  } finally {
    gradients?.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  const preds = model.predict(validation);
  const metrics = evaluatePredictions(spec, model.pre, model.dims.outputs, preds, validation);
  say(`validation (epoch ${result.bestEpoch}): ${formatMetrics(metrics)}  [${seconds.toFixed(1)} s]`);
  const summaryBase = { best_epoch: result.bestEpoch, epochs_run: result.state.epoch, train_seconds: seconds, validation: metrics, history: result.history };
  await writeCheckpoint(dir, model, result.state, null, { best_epoch: result.bestEpoch, validation: metrics });
  // The ONNX export, run by onnxruntime-web on the same validation rows: its metrics must match ours.
  const onnx = exportOnnx(model);
  await writeFileAtomic(join(dir, "model.onnx"), onnx);
  const t1 = performance.now();
  const session = await createSession(onnx, { engine: "ort", name: join(dir, "model.onnx") });
  const rows = Array.from(split.validation, (i) => table.row(i));
  const out = await session.run(rows);
  const ortMetrics = evaluatePredictions(spec, model.pre, model.dims.outputs, spec.tasks.map((t) => out[t.name]), validation);
  let maxDiff = 0;
  spec.tasks.forEach((t, i) => out[t.name].forEach((v, r) => (maxDiff = Math.max(maxDiff, Math.abs(v - preds[i][r])))));
  say(`onnx ${join(dir, "model.onnx")} (${onnx.length} bytes) in onnxruntime-web on ${rows.length} validation rows: ${formatMetrics(ortMetrics)}  [max |ort − wasm| ${maxDiff.toExponential(1)}, ${((performance.now() - t1) / 1000).toFixed(1)} s]`);
  const summary = { ...summaryBase, onnx: { bytes: onnx.length, ort_validation: ortMetrics, max_abs_diff: maxDiff } };
  return { validation: metrics, summary };
}

function epochLine(l: EpochLog, epochs: number): string {
  const num = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(1) : x.toPrecision(4));
  const loss = Object.entries(l.trainLoss).map(([t, v]) => `${t} ${num(v)}`).join(", ");
  const w = Object.entries(l.weights).map(([t, v]) => `${t} ${num(v)}`).join(", ");
  const rel = l.relations.length ? `  relation ${l.relations.map(num).join(", ")}` : "";
  const val = l.validation ? `  val ${formatMetrics(l.validation)}` : "";
  return `epoch ${l.epoch}/${epochs} ${l.seconds.toFixed(1)}s  loss ${loss}${rel}  weights ${w}${val}`;
}

/** The rows of an earlier run's steps.csv up to `step` (a resumed run continues the same log). */
function readStepLog(dir: string, step: number): string[] {
  const p = join(dir, "steps.csv");
  if (!existsSync(p)) return [];
  return readFileSync(p, "utf8").trim().split("\n").slice(1).filter((l) => Number(l.split(",")[0]) <= step);
}
