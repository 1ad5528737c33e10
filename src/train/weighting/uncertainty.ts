import type { Weighting, WeightingContext } from "./types.ts";
import { exp } from "../../util/dmath.ts";

/**
 * Uncertainty weighting (Kendall, Gal & Cipolla 2018), in LibMTL's form with learnt s_t = log σ_t²:
 * L = Σ w_t·(L_t / (2·e^{s_t}) + s_t / 2). The scale of task t is w_t / (2·e^{s_t}), and
 * ∂L/∂s_t = w_t·(½ − L_t / (2·e^{s_t})), which is zero at e^{s_t} = L_t: the weights converge toward inverse loss scales.
 * `logVar()` reads s (the parameters), `writeGrad()` stores ∂L/∂s into the gradient block.
 */
export function uncertaintyWeighting(ctx: WeightingContext, logVar: () => Float32Array, grad: () => Float32Array): Weighting {
  return {
    name: "uncertainty",
    step(losses, scales) {
      const s = logVar(), g = grad();
      let total = 0;
      for (let t = 0; t < losses.length; t++) {
        const inv = exp(-s[t]) / 2;
        scales[t] = ctx.weights[t] * inv;
        g[t] = ctx.weights[t] * (0.5 - losses[t] * inv);
        total += ctx.weights[t] * (losses[t] * inv + s[t] / 2);
      }
      return total;
    },
  };
}
