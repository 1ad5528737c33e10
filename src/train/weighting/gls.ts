import type { Weighting } from "./types.ts";

/**
 * Geometric loss strategy (Chennupati et al. 2019): L = (Π_t L_t)^{1/T}. Its gradient with respect to L_t is
 * L / (T·L_t), used as task t's scale. Losses are floored at 1e-12 so an all-masked task does not blow up.
 */
export function glsWeighting(): Weighting {
  return {
    name: "gls",
    step(losses, scales) {
      const T = losses.length;
      let logSum = 0;
      for (let t = 0; t < T; t++) logSum += Math.log(Math.max(losses[t], 1e-12));
      const total = Math.exp(logSum / T);
      for (let t = 0; t < T; t++) scales[t] = total / (T * Math.max(losses[t], 1e-12));
      return total;
    },
  };
}
