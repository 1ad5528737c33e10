// Weight averaging for fit: an exponential moving average of the weights (training.ema) or stochastic weight
// averaging over the last epochs (training.swa, Izmailov et al. 2018). Either keeps one average block in wasm memory,
// `a`: [trainable] f32, the layout of the parameter block's trainable prefix [0, store.trainable) (model state, batch
// norm's running statistics, is never averaged). Both update it with one kernel, ema_f32x4 (a = d·a + (1 − d)·θ):
//   EMA, after optimizer step s (1-based):  d_s = decay, or with warmup min(decay, s / (9 + s)) — TensorFlow's
//        ExponentialMovingAverage with num_updates = s − 1 updates before this one: (1 + n) / (10 + n). Starts at θ_0.
//   SWA, at the end of each of the last K epochs: the c-th one folds in with d = (c − 1) / c, so after c epochs
//        a = (θ_1 + … + θ_c) / c (a running mean; the first copies θ). During those epochs the learning rate is
//        training.swa.lr when given (constant), else the schedule's.
// The average is what validation, early stopping, the saved weights and the export see (fit swaps it into the
// parameter block around them); the optimizer always steps the live weights. Checkpoints carry the block and the
// count, so a resumed run continues it bit for bit.
import type { Model } from "../model/model.ts";

/** training.ema: decay in (0, 1); warmup: TensorFlow's num_updates ramp (see the file header). */
export interface EmaOptions {
  decay: number;
  warmup: boolean;
}

/** training.swa: average the weights at the end of each of the last `epochs` epochs; `lr`: a constant rate for them. */
export interface SwaOptions {
  epochs: number;
  lr: number | null;
}

export interface Averager {
  readonly kind: "ema" | "swa";
  /** Updates folded in so far (EMA: optimizer steps; SWA: epochs); 0 = no average yet (SWA before its epochs). */
  readonly count: number;
  /** Elements of the average block (the trainable prefix of the parameter block). */
  readonly size: number;
  /** The learning rate for epoch `epoch` (1-based) when averaging fixes it (SWA's lr), else null. */
  lr(epoch: number): number | null;
  /** After optimizer step `step` (1-based) updated the live weights. */
  afterStep(step: number): void;
  /** After epoch `epoch` (1-based) of `epochs`: SWA folds the live weights in from epoch epochs − K + 1 on. */
  endEpoch(epoch: number): void;
  /** Run `fn` with the average in the parameter block (the live weights are put back after); `fn` alone without one. */
  withAverage<T>(fn: () => T): T;
  /** A copy of the average block ([size] f32), for checkpoints; null while there is none. */
  values(): Float32Array | null;
  /** Continue from a checkpoint: its average block and count. */
  restore(values: Float32Array | null, count: number): void;
  /** Free the average block. */
  dispose(): void;
}

/**
 * The averager of the spec's training.ema or training.swa over a run of `epochs` epochs (null: neither). Throws when
 * SWA would average more epochs than the run has, or the model has batch normalization (its running statistics would
 * have to be recomputed for the averaged weights, which this trainer does not do).
 */
export function createAverager(model: Model, epochs: number): Averager | null {
  const tr = model.spec.training;
  if (!tr.ema && !tr.swa) return null;
  const { store, arena } = model;
  const n = store.trainable;
  const swa = tr.swa;
  if (swa) {
    if (swa.epochs > epochs) throw new Error(`training.swa.epochs: ${swa.epochs} epochs to average, but the run has ${epochs} (training.epochs or --epochs)`);
    const state = store.params.filter((p) => p.role === "state").map((p) => p.name);
    if (state.length) throw new Error(`training.swa: the model has batch normalization (running statistics ${state.slice(0, 3).join(", ")}${state.length > 3 ? ", …" : ""}), whose statistics SWA would have to recompute for the averaged weights; not supported: use training.ema, or a model without batch normalization`);
  }
  const ema = model.k.ema_f32x4 as (n: number, x_ptr: number, y_ptr: number, d: number) => number;
  const block = arena.alloc(Math.max(4, n));
  let count = 0, disposed = false;
  const copyIn = () => arena.writeF32(block, arena.f32(store.p, n));
  const first = swa ? epochs - swa.epochs + 1 : 1;
  if (!swa) copyIn(); // EMA starts at the initial weights (restore() replaces them when resuming)
  return {
    kind: swa ? "swa" : "ema",
    get count() {
      return count;
    },
    size: n,
    lr: (epoch) => (swa && swa.lr !== null && epoch >= first ? swa.lr : null),
    afterStep(step) {
      if (swa) return;
      const e = tr.ema!;
      const d = e.warmup ? Math.min(e.decay, step / (9 + step)) : e.decay;
      ema(n, store.p, block, d);
      count++;
    },
    endEpoch(epoch) {
      if (!swa || epoch < first) return;
      count++;
      if (count === 1) copyIn();
      else ema(n, store.p, block, (count - 1) / count);
    },
    withAverage(fn) {
      if (count === 0 && swa) return fn();
      const live = arena.readF32(store.p, n);
      arena.writeF32(store.p, arena.f32(block, n));
      try {
        return fn();
      } finally {
        arena.writeF32(store.p, live);
      }
    },
    values: () => (count === 0 && swa ? null : arena.readF32(block, n)),
    restore(values, c) {
      if (values && values.length !== n) throw new Error(`weight average: ${values.length} values, the model's trainable block has ${n}`);
      if (values) arena.writeF32(block, values);
      else if (!swa || c > 0) throw new Error(`weight average: the checkpoint has no average block, but ${c} updates were folded in`);
      count = c;
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      arena.free(block);
    },
  };
}
