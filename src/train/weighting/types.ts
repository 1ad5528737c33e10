// A task-balancing strategy. Loss-level strategies turn the per-task losses of each step into per-task loss
// scales (the gradient of the combined objective with respect to each task's loss), which the losses' backward
// kernels multiply in. Strategies with their own parameters (uncertainty, GradNorm) also write those gradients.
//
// Gradient-level strategies (MGDA, PCGrad, …) also implement `gradient`: the trainer then runs one backward per
// task and hands the strategy every task's gradient vector, of the shared parameters (mode "param",
// `rep_grad: false`) or of the shared representation (mode "rep"), in a GradientStage (task-gradients.ts); the
// strategy sets the combination weights `alpha` and may rewrite the rows. Their `step` sets scale_t = w_t (the
// spec's static weights: task-specific parameters get w_t·∂L_t/∂θ) and returns Σ_t w_t·L_t.
import type { GradientStage, GradientMode } from "../task-gradients.ts";
import type { Kernels } from "../../runtime/load.ts";
import type { Region } from "../../runtime/heap.ts";
import type { WeightingSpec } from "../../model/spec.ts";

export type { GradientStage, GradientMode } from "../task-gradients.ts";

export interface WeightingContext {
  /** Static task weights from the spec. */
  weights: number[];
  seed: number;
  /** The normalized training.weighting (its options, e.g. `c` for CAGrad). */
  options?: WeightingSpec;
  /** The kernels and a region of wasm memory for a method's buffers (allocated once; the region is disposed with the strategy). */
  k?: Kernels;
  region?: Region;
}

export interface Weighting {
  readonly name: string;
  /** Gradient methods: which per-task gradients `gradient` reads. Absent: a loss-level strategy. */
  readonly mode?: GradientMode;
  /**
   * After a forward: write the scales for this step's backward; returns the combined loss value. `labelled`
   * (when given) is each task's number of labelled rows in the batch: a task with none has loss 0 this step.
   */
  step(losses: Float64Array, scales: Float64Array, labelled?: ArrayLike<number>): number;
  /** After each epoch, with the epoch's mean training loss per task. */
  endEpoch?(epochLosses: Float64Array): void;
  /** Gradient stage: after the per-task backward passes, set `stage.alpha` (and optionally rewrite rows). */
  gradient?(stage: GradientStage): void;
  /**
   * After the optimizer's update: the same batch's per-task losses under the updated parameters (FAMO's weight
   * update needs them; the trainer re-runs the forward, with the same dropout masks, only for strategies that have this).
   */
  afterUpdate?(losses: Float64Array): void;
  /** JSON state for resuming (strategies whose scales depend on history or a generator). */
  state?(): unknown;
  restore?(state: unknown): void;
  /** Release the strategy's wasm buffers. */
  dispose?(): void;
}
