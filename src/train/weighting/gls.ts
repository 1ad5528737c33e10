import type { Weighting, WeightingContext } from "./types.ts";
import { exp, log } from "../../util/dmath.ts";

/**
 * Geometric loss strategy (Chennupati et al. 2019), with the spec's task weights as exponents:
 * L = (Π_t L_t^{w_t})^{1/Σw} = exp(Σ_t w_t·log L_t / Σ_t w_t) (all weights 1: the plain geometric mean).
 * Its gradient with respect to L_t is L·w_t / (Σw·L_t), used as task t's scale. A task with no labelled row in
 * the batch (its loss is 0 by construction) is left out of the mean that step (scale 0); losses of labelled tasks
 * are floored at 1e-12. With no labelled task at all the objective is 0.
 */
export function glsWeighting(ctx: WeightingContext): Weighting {
  return {
    name: "gls",
    step(losses, scales, labelled) {
      const T = losses.length;
      let logSum = 0, W = 0;
      for (let t = 0; t < T; t++) {
        if (labelled && !(labelled[t] > 0)) continue;
        logSum += ctx.weights[t] * log(Math.max(losses[t], 1e-12));
        W += ctx.weights[t];
      }
      if (W === 0) {
        scales.fill(0);
        return 0;
      }
      const total = exp(logSum / W);
      for (let t = 0; t < T; t++) scales[t] = labelled && !(labelled[t] > 0) ? 0 : (total * ctx.weights[t]) / (W * Math.max(losses[t], 1e-12));
      return total;
    },
  };
}
