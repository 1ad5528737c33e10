import type { Weighting, WeightingContext } from "./types.ts";
import { exp } from "../../util/dmath.ts";

/**
 * Dynamic Weight Average (Liu, Johns & Davison 2019): w_t = T·exp(r_t/τ) / Σ_i exp(r_i/τ) with
 * r_t = L̄_t(e−1) / L̄_t(e−2), the ratio of the two previous epochs' mean losses; 1 for the first two epochs.
 * Multiplied by the spec's static weights.
 */
export function dwaWeighting(ctx: WeightingContext, temperature: number): Weighting {
  const history: Float64Array[] = [];
  let w: number[] = ctx.weights.map(() => 1);
  return {
    name: "dwa",
    step(losses, scales) {
      let total = 0;
      for (let t = 0; t < losses.length; t++) {
        scales[t] = ctx.weights[t] * w[t];
        total += scales[t] * losses[t];
      }
      return total;
    },
    endEpoch(epochLosses) {
      history.push(Float64Array.from(epochLosses));
      if (history.length < 2) return;
      const [a, b] = history.slice(-2);
      const r = Array.from(b, (x, t) => x / Math.max(a[t], 1e-12));
      const e = r.map((x) => exp(x / temperature));
      const z = e.reduce((s, x) => s + x, 0);
      w = e.map((x) => (r.length * x) / z);
    },
    state: () => ({ history: history.map((h) => Array.from(h)), w }),
    restore(st) {
      const o = st as { history: number[][]; w: number[] };
      history.splice(0, history.length, ...o.history.map((h) => Float64Array.from(h)));
      w = o.w;
    },
  };
}
