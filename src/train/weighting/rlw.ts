import type { Weighting, WeightingContext } from "./types.ts";
import { mulberry32 } from "../../data/split.ts";
import { cos, exp, log } from "../../util/dmath.ts";

/**
 * Random loss weighting (Lin et al. 2022, as in LibMTL): each step draws λ = softmax(z), z ~ N(0, I_T),
 * from a seeded generator, and uses L = Σ_t w_t·λ_t·L_t.
 */
export function rlwWeighting(ctx: WeightingContext): Weighting {
  let next = mulberry32(ctx.seed ^ 0x52_4c_57);
  let draws = 0;
  const u = () => (draws++, (next() + 0.5) / 4294967296);
  return {
    name: "rlw",
    step(losses, scales) {
      const T = losses.length;
      const z = Array.from({ length: T }, () => Math.sqrt(-2 * log(u())) * cos(2 * Math.PI * u()));
      const m = Math.max(...z);
      const e = z.map((x) => exp(x - m));
      const s = e.reduce((a, b) => a + b, 0);
      let total = 0;
      for (let t = 0; t < T; t++) {
        scales[t] = (ctx.weights[t] * e[t]) / s;
        total += scales[t] * losses[t];
      }
      return total;
    },
    // The generator's position: replayed on restore.
    state: () => ({ draws }),
    restore(st) {
      const n = (st as { draws: number }).draws;
      next = mulberry32(ctx.seed ^ 0x52_4c_57);
      for (let i = 0; i < n; i++) next();
      draws = n;
    },
  };
}
