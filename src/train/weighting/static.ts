import type { Weighting, WeightingContext } from "./types.ts";

/** L = Σ w_t·L_t with the spec's fixed weights. */
export function staticWeighting(ctx: WeightingContext): Weighting {
  return {
    name: "static",
    step(losses, scales) {
      let total = 0;
      for (let t = 0; t < losses.length; t++) {
        scales[t] = ctx.weights[t];
        total += ctx.weights[t] * losses[t];
      }
      return total;
    },
  };
}
