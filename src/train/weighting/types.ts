// A task-balancing strategy turns the per-task losses of each step into per-task loss scales (the
// gradient of the combined objective with respect to each task's loss), which the losses' backward
// kernels multiply in. Strategies with their own parameters (uncertainty) also write those gradients.
// Gradient-level strategies also implement `gradient`: the trainer then runs one backward per task and hands
// the strategy every task's gradient of the shared parameters before the optimizer (see task-gradients.ts).
import type { GradientStage } from "../task-gradients.ts";

export type { GradientStage } from "../task-gradients.ts";

export interface WeightingContext {
  /** Static task weights from the spec. */
  weights: number[];
  seed: number;
}

export interface Weighting {
  readonly name: string;
  /**
   * After a forward: write the scales for this step's backward; returns the combined loss value. `labelled`
   * (when given) is each task's number of labelled rows in the batch: a task with none has loss 0 this step.
   */
  step(losses: Float64Array, scales: Float64Array, labelled?: ArrayLike<number>): number;
  /** After each epoch, with the epoch's mean training loss per task. */
  endEpoch?(epochLosses: Float64Array): void;
  /**
   * Gradient stage (optional): after the per-task backward passes, rewrite `stage.combined`, the shared
   * parameters' gradient (it starts as Σ_t scale_t·g_t), from the per-task gradients g_t.
   */
  gradient?(stage: GradientStage): void;
  /** JSON state for resuming (strategies whose scales depend on history or a generator). */
  state?(): unknown;
  restore?(state: unknown): void;
}
