// Learning-rate schedules: a pure function of the step (0-based) and the run's total steps.
import type { TrainingOptions } from "../model/spec.ts";
import { cos, powi } from "../util/dmath.ts";

/** lr at `step` of `total`: linear warm-up over warmup_steps, then constant, step decay, or cosine to min_lr. */
export function learningRate(opts: TrainingOptions, step: number, total: number, stepsPerEpoch: number): number {
  const { lr } = opts.optimizer;
  const s = opts.schedule;
  if (s.warmup_steps > 0 && step < s.warmup_steps) return (lr * (step + 1)) / s.warmup_steps;
  switch (s.type) {
    case "constant":
      return lr;
    case "step":
      // step_size is in epochs: lr·γ^⌊epoch / step_size⌋.
      return lr * powi(s.gamma, Math.floor(Math.floor(step / Math.max(1, stepsPerEpoch)) / s.step_size));
    case "cosine": {
      const span = Math.max(1, total - s.warmup_steps);
      const t = Math.min(1, (step - s.warmup_steps) / span);
      return s.min_lr + 0.5 * (lr - s.min_lr) * (1 + cos(Math.PI * t));
    }
  }
}
