// fit: mini-batch training of a Model. One step = feed → forward (kernel list) → weighting → backward
// (kernel list, heads accumulating into the trunk) → regularizers → clipping → one fused optimizer pass.
import type { Model } from "../model/model.ts";
import type { Encoded } from "../data/preprocess.ts";
import { isBatchSource, memoryBatches, type BatchSource } from "./batches.ts";
import { learningRate } from "./schedule.ts";
import { makeUpdater } from "./update.ts";
import { createWeighting } from "./weighting/index.ts";
import { TaskGradients, type GradientStage } from "./task-gradients.ts";
import { AffinityRecorder, type AffinitySummary } from "./affinity.ts";
import type { Built } from "../model/model.ts";
import { evaluatePredictions, metricValue, type TaskMetrics } from "../metrics/evaluate.ts";
import { higherIsBetter } from "../model/spec.ts";
import { createAverager } from "./averaging.ts";

/** What fit reports after each epoch (`onEpoch`, `history`): training losses and weights averaged over its steps, and validation metrics. */
export interface EpochLog {
  /** The epoch's number, 1-based. */
  epoch: number;
  /** Mean training loss per task over the epoch (masked means, averaged over steps). */
  trainLoss: Record<string, number>;
  /** Combined objective (weighted sum, relations, shared L2) averaged over steps. */
  objective: number;
  /** Mean per-task scale the weighting strategy applied during the epoch. */
  weights: Record<string, number>;
  /** Mean relation value per declared relation. */
  relations: number[];
  /** Validation metrics per task after the epoch (null without validation rows). */
  validation: Record<string, TaskMetrics> | null;
  /** The early-stopping metric's value (validation), when configured. */
  monitor: number | null;
  /** The learning rate of the epoch's last step (after the schedule). */
  lr: number;
  /** Wall time of the epoch in seconds, validation included. */
  seconds: number;
  /** Task affinity (affinity.ts) over the epoch's sampled steps, when recording is on. */
  affinity?: AffinitySummary;
}

/**
 * Everything besides parameters and optimizer moments that a resumed run needs to continue exactly as an
 * uninterrupted one would: counters, the dropout stream position, the weighting strategy's state and the
 * early-stopping bookkeeping (the best weights themselves are saved separately).
 */
export interface TrainState {
  /** Epochs completed. */
  epoch: number;
  /** Optimizer steps taken. */
  step: number;
  /** Position of the dropout random stream (Philox counter) after the last step. */
  dropoutCounter: number;
  /** The weighting strategy's own state (JSON-serializable; null for stateless strategies). */
  weighting: unknown;
  /** Best early-stopping metric value so far (null before the first validation, or without early stopping). */
  best: number | null;
  /** Epoch (1-based) of `best`; -1 before there is one. */
  bestEpoch: number;
  /** Epochs since `best` last improved (patience counter). */
  stale: number;
  /** True once early stopping has ended the run. */
  stopped: boolean;
  /** Updates folded into the weight average (training.ema: steps; training.swa: epochs); absent without averaging. */
  averaged?: number;
}

/**
 * Where a step's gradient comes from. `compute` runs the rows order[start, start + count) forward, lets
 * `weigh` turn the per-task losses into loss scales (returning the weighted objective), runs the backward,
 * and leaves the batch's gradient in the model's gradient block. The default is this thread's program;
 * parallel.ts splits the batch across workers.
 */
export interface GradientSource {
  /** Rows per step (the largest `count` compute accepts). */
  readonly batch: number;
  /** Per-task masked-mean losses, loss scales and relation values of the last `compute`. */
  readonly losses: Float64Array;
  /** The loss scales `weigh` set for the last `compute`, one per task (length T). */
  readonly scales: Float64Array;
  /** The value of each declared relation in the last `compute` (length R). */
  readonly relations: Float64Array;
  /**
   * One step's gradient: forward over rows order[start, start + count) of `data`, `weigh` (per-task losses → loss
   * scales, returns the weighted objective), backward (or, with `combine`, per-task backwards combined by the
   * strategy). Leaves the gradient in the model's gradient block; returns the objective with the relation terms.
   */
  compute(data: Encoded, order: ArrayLike<number>, start: number, count: number, weigh: (losses: Float64Array, scales: Float64Array, labelled?: ArrayLike<number>) => number, combine?: (stage: GradientStage) => void): number;
  /**
   * After the update: the last batch's per-task losses under the updated parameters (the forward re-run with the
   * same dropout masks; the stream position is left where the step left it). For strategies with `afterUpdate`.
   */
  lossesAfterUpdate?(): Float64Array;
  /** After a non-finite objective: where it first went wrong (the first non-finite parameter or layer output). */
  diagnose?(): string;
  /** Called before each step's compute with the update that will follow it (workers apply it themselves). */
  prepare?(lr: number, step: number): void;
  /** Called when fit starts: the model's parameters or optimizer state may have changed since the last call. */
  begin?(): void;
  /**
   * This thread's program, when it holds the batch's forward state after `compute` (the local source): what task
   * affinity recording reads. Sources that compute elsewhere (threads) leave it out.
   */
  readonly built?: Built;
}

/**
 * The gradient of a batch by this thread's compiled program. With a gradient stage (`combine`), the backward
 * runs once per task and the strategy combines the shared parameters' per-task gradients (task-gradients.ts).
 */
export function localGradients(model: Model, batch: number): GradientSource {
  const built = model.program(batch, true);
  const { io, program } = built;
  const rel = model.graph.terms;
  const w = model.spec.training.weighting;
  let perTask: TaskGradients | null = null;
  let counterBefore = 0;
  return {
    batch,
    built,
    losses: io.losses,
    scales: io.scales,
    relations: io.relations,
    compute(data, order, start, count, weigh, combine) {
      model.feed(built, data, order, start, count);
      counterBefore = model.rng.counter;
      for (const f of program.forward) f();
      let obj = weigh(io.losses, io.scales, io.labelled);
      for (let i = 0; i < rel.length; i++) obj += rel[i].lambda * io.relations[i];
      if (!combine) {
        for (const f of program.backward) f();
        return obj;
      }
      perTask ??= new TaskGradients(model, built, { mode: w.rep_grad ? "rep" : "param", weights: model.spec.tasks.map((t) => t.weight), signed: w.type === "graddrop" });
      combine(perTask.run(io.scales, io.labelled));
      perTask.finish();
      return obj;
    },
    lossesAfterUpdate() {
      const after = model.rng.counter;
      model.rng.counter = counterBefore;
      for (const f of program.forward) f();
      model.rng.counter = after;
      return io.losses;
    },
    diagnose: () => model.firstNonFinite(built),
  };
}

/** Options of {@link fit}; every one is optional. */
export interface FitOptions {
  /** Override the spec's epochs. */
  epochs?: number;
  /** The gradient source (default: this thread, batch_size rows per step). */
  gradients?: GradientSource;
  /** After every epoch, with its log (also collected in `FitResult.history`). */
  onEpoch?: (log: EpochLog) => void;
  /** Per-step hook: the weights used (scales) and the step's task losses. */
  onStep?: (step: number, losses: Float64Array, scales: Float64Array) => void;
  /** Before the first step of each epoch: its number (1-based) and how many steps it takes (ceil(rows / batch)). */
  onEpochStart?: (epoch: number, steps: number) => void;
  /** Resume from this state (the model's weights and optimizer moments must already be restored). */
  resume?: TrainState;
  /** Best weights so far when resuming with early stopping. */
  resumeBest?: Float32Array | null;
  /** The weight average's block when resuming with training.ema or training.swa (the `average` afterEpoch gave). */
  resumeAverage?: Float32Array | null;
  /**
   * Called after each epoch (checkpoint hook): the state to save; `best`, the weights to use so far (a parameter-block
   * snapshot: the best epoch's under early stopping, else the weight average's when there is one; null: the current
   * ones); `average`, the weight average's block to carry for resuming (averaging.ts; null without averaging).
   */
  afterEpoch?: (state: TrainState, best: Float32Array | null, average: Float32Array | null) => void | Promise<void>;
  /**
   * Task-affinity recording (affinity.ts), overriding the spec's training.affinity: `{ every }` samples the first
   * step of each epoch and every `every`-th after it; null turns it off. Needs a source with `built` (one thread).
   */
  affinity?: {
    /** Sample every `every`-th step (and the first step of each epoch); a positive integer. */
    every: number;
  } | null;
}

/** What {@link fit} returns. */
export interface FitResult {
  /** One log per epoch this call ran, in order. */
  history: EpochLog[];
  /** The epoch whose weights the model holds now (the best one under early stopping, else the last). */
  bestEpoch: number;
  /** The best early-stopping metric value (null without early stopping or validation). */
  best: number | null;
  /** The state after the last epoch: pass it as `resume` to continue the run exactly. */
  state: TrainState;
  /** Task affinity over every step this call sampled, when recording is on. */
  affinity?: AffinitySummary;
}

/**
 * Train `model` in place on the encoded rows `train` for the spec's epochs (or `opts.epochs`): every epoch shuffles
 * (seeded), steps through mini-batches of `training.batch_size` rows (or takes the batches of a BatchSource, e.g. a
 * streamed file: src/data/stream-batches.ts), evaluates on `validation` (when it has rows) and
 * applies early stopping. The model ends with the best epoch's weights under early stopping, else the last epoch's.
 * Throws on a non-finite objective, naming the step, the task and where it started.
 */
export async function fit(model: Model, train: Encoded | BatchSource, validation: Encoded | null, opts: FitOptions = {}): Promise<FitResult> {
  const spec = model.spec, tr = spec.training;
  const source = opts.gradients ?? localGradients(model, tr.batch_size);
  source.begin?.();
  const B = source.batch, T = spec.tasks.length;
  const epochs = opts.epochs ?? tr.epochs;
  // An Encoded trains in a seeded permutation per epoch; a BatchSource (streaming) gives its own batches.
  const batches = isBatchSource(train) ? train : memoryBatches(train, tr.seed);
  const rows = batches.rows;
  const stepsPerEpoch = Math.ceil(rows / B);
  const total = epochs * stepsPerEpoch;
  const weighting = createWeighting(model);
  // training.ema / training.swa: validation, early stopping and the weights kept see the average (averaging.ts).
  const averager = createAverager(model, epochs);
  const weigh = (losses: Float64Array, scales: Float64Array, labelled?: ArrayLike<number>) => weighting.step(losses, scales, labelled);
  const combine = weighting.gradient ? (stage: GradientStage) => weighting.gradient!(stage) : undefined;
  const op = tr.optimizer;
  const update = makeUpdater(model);
  const st: TrainState = opts.resume
    ? { ...opts.resume }
    : { epoch: 0, step: 0, dropoutCounter: 0, weighting: null, best: null, bestEpoch: -1, stale: 0, stopped: false };
  const start = st.epoch;
  model.rng.counter = st.dropoutCounter;
  if (opts.resume && st.weighting != null) weighting.restore?.(st.weighting);
  if (averager && opts.resume) averager.restore(opts.resumeAverage ?? null, st.averaged ?? 0);
  const history: EpochLog[] = [];
  const monitor = tr.early_stopping;
  let bestSnap: Float32Array | null = opts.resumeBest ?? null;
  let step = st.step;
  const affinity = opts.affinity !== undefined ? opts.affinity : tr.affinity;
  let recorder: AffinityRecorder | null = null;
  let affinitySummary: AffinitySummary | undefined;
  if (affinity) {
    if (!source.built) throw new Error("training.affinity is recorded on this thread's program, and this gradient source (threads) computes elsewhere; train on one thread or set training.affinity to null");
    recorder = new AffinityRecorder(model, source.built, { every: affinity.every });
  }
  try {
    for (let epoch = start; epoch < epochs && !st.stopped; epoch++) {
      const t0 = performance.now();
      opts.onEpochStart?.(epoch + 1, stepsPerEpoch);
      const sumLoss = new Float64Array(T), sumScale = new Float64Array(T), sumRel = new Float64Array(source.relations.length);
      let sumObj = 0, lr = op.lr;
      let i = 0;
      for await (const batch of batches.epoch(epoch, B)) {
        lr = averager?.lr(epoch + 1) ?? learningRate(tr, step, total, stepsPerEpoch);
        step++;
        source.prepare?.(lr, step);
        const counter = model.rng.counter;
        let obj = source.compute(batch.data, batch.order, batch.start, batch.count, weigh, combine);
        // Before the update: the parameters are still the ones that produced the non-finite value.
        if (!Number.isFinite(obj)) throw new Error(nonFinite(model, epoch + 1, step, obj, source));
        // The batch's forward state is still in the program; recording restores everything it touches.
        if (recorder?.due(i)) recorder.record(lr, counter, step);
        obj += update(lr, step);
        averager?.afterStep(step);
        if (weighting.afterUpdate) {
          if (!source.lossesAfterUpdate) throw new Error(`training.weighting.type "${weighting.name}" needs the losses after each update, which this gradient source (threads) does not give; train on one thread`);
          weighting.afterUpdate(source.lossesAfterUpdate());
        }
        for (let t = 0; t < T; t++) (sumLoss[t] += source.losses[t]), (sumScale[t] += source.scales[t]);
        for (let i = 0; i < sumRel.length; i++) sumRel[i] += source.relations[i];
        sumObj += obj;
        opts.onStep?.(step, source.losses, source.scales);
        if (!Number.isFinite(obj)) throw new Error(`training step ${step} (epoch ${epoch + 1}): the regularizers or the update made the objective ${obj}`);
        i++;
      }
      const steps = stepsPerEpoch;
      const meanLoss = Float64Array.from(sumLoss, (x) => x / steps);
      weighting.endEpoch?.(meanLoss);
      averager?.endEpoch(epoch + 1);
      let validationMetrics: Record<string, TaskMetrics> | null = null, value: number | null = null;
      let candidate: Float32Array | null = null;
      if (validation && validation.rows > 0) {
        const preds = averager ? averager.withAverage(() => ((candidate = model.snapshot()), model.predict(validation))) : model.predict(validation);
        validationMetrics = evaluatePredictions(spec, model.pre, model.dims.outputs, preds, validation);
        if (monitor) value = metricValue(monitor.metric, validationMetrics, validationLoss(validationMetrics));
      }
      const log: EpochLog = {
        epoch: epoch + 1,
        trainLoss: Object.fromEntries(spec.tasks.map((t, i) => [t.name, meanLoss[i]])),
        objective: sumObj / steps,
        weights: Object.fromEntries(spec.tasks.map((t, i) => [t.name, sumScale[i] / steps])),
        relations: Array.from(sumRel, (x) => x / steps),
        validation: validationMetrics,
        monitor: value,
        lr,
        seconds: (performance.now() - t0) / 1000,
      };
      if (recorder) log.affinity = recorder.endEpoch();
      history.push(log);
      opts.onEpoch?.(log);
      if (monitor && value !== null && Number.isFinite(value)) {
        const better = st.best === null || (higherIsBetter(monitor.metric) ? value > st.best : value < st.best);
        if (better) {
          st.best = value;
          st.bestEpoch = epoch + 1;
          bestSnap = candidate ?? model.snapshot();
          st.stale = 0;
        } else if (++st.stale >= monitor.patience) st.stopped = true;
      }
      st.epoch = epoch + 1;
      st.step = step;
      st.dropoutCounter = model.rng.counter;
      st.weighting = weighting.state?.() ?? null;
      if (averager) st.averaged = averager.count;
      const keep = bestSnap ?? (averager && !monitor ? (candidate ?? averager.withAverage(() => model.snapshot())) : null);
      await opts.afterEpoch?.({ ...st }, keep, averager?.values() ?? null);
    }
    // Without early stopping, the run ends on the average (once there is one).
    if (averager && !bestSnap) bestSnap = averager.withAverage(() => model.snapshot());
  } finally {
    averager?.dispose();
    weighting.dispose?.();
    affinitySummary = recorder?.total();
    recorder?.dispose();
  }
  if (bestSnap) model.restore(bestSnap);
  return { history, bestEpoch: bestSnap && st.bestEpoch > 0 ? st.bestEpoch : st.epoch, best: st.best, state: st, ...(affinitySummary ? { affinity: affinitySummary } : {}) };
}

/** Mean over tasks of their log-loss or RMSE: the `loss` monitor for early stopping. */
function validationLoss(m: Record<string, TaskMetrics>): number {
  const v = Object.values(m).map((x) => x.logloss ?? x.rmse).filter((x) => x !== undefined && Number.isFinite(x));
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN;
}

/** The error for a non-finite objective: which step, which task's loss (or relation), and where it started. */
function nonFinite(model: Model, epoch: number, step: number, obj: number, source: GradientSource): string {
  const spec = model.spec;
  const bad = spec.tasks.map((t, i) => [t.name, source.losses[i]] as const).filter(([, l]) => !Number.isFinite(l));
  const rels = model.graph.terms.map((r, i) => [r.name, source.relations[i]] as const).filter(([, v]) => !Number.isFinite(v));
  const what = bad.length
    ? `the loss of task ${bad.map(([n, l]) => `${n} (${l})`).join(", task ")}`
    : rels.length
      ? `relation ${rels.map(([n, v]) => `${n} (${v})`).join(", ")}`
      : `the weighted objective (${obj}; task losses ${Array.from(source.losses).join(", ")})`;
  const where = source.diagnose?.() ?? "";
  return `training step ${step} (epoch ${epoch}): ${what} is not finite${where ? `; ${where}` : ""}`;
}
