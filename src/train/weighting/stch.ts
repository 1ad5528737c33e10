import type { Weighting, WeightingContext } from "./types.ts";
import { exp, log } from "../../util/dmath.ts";

/**
 * STCH, smooth Tchebycheff scalarization (Lin, Zhang, Zhang, Liu & Zhang, ICML 2024), as LibMTL runs it.
 * Epochs 0 … warmup_epochs − 1: L = Σ_t log(L_t + 1e-20) (scale 1/(L_t + 1e-20)). Epoch warmup_epochs: the same,
 * while the nadir vector z_t = mean of L_t over that epoch's steps is collected. Afterwards, with
 * ℓ_t = log(L_t/z_t + 1e-20) and smoothing μ:
 *   L = T·μ·log Σ_t exp(ℓ_t/μ)   (a smooth max of the normalized log-losses; computed with max(ℓ) subtracted),
 *   ∂L/∂L_t = T·s_t / (L_t + 1e-20·z_t),  s = softmax(ℓ/μ).
 * The spec's static weights multiply the scales. Masks: a task without labels in the batch has scale 0, is left
 * out of the smooth max that step, and its nadir averages only the steps where it had labels.
 */
export function stchWeighting(ctx: WeightingContext): Weighting {
  const T = ctx.weights.length;
  const mu = ctx.options?.mu ?? 1, warmup = ctx.options?.warmup_epochs ?? 4;
  let epoch = 0;
  let sum = new Array<number>(T).fill(0), count = new Array<number>(T).fill(0);
  let nadir: number[] | null = null;
  return {
    name: "stch",
    step(losses, scales, labelled) {
      const on = (t: number) => !labelled || labelled[t] > 0;
      if (epoch <= warmup) {
        let total = 0;
        for (let t = 0; t < T; t++) {
          if (!on(t)) {
            scales[t] = 0;
            continue;
          }
          scales[t] = ctx.weights[t] / (losses[t] + 1e-20);
          total += ctx.weights[t] * log(losses[t] + 1e-20);
          if (epoch === warmup) (sum[t] += losses[t]), count[t]++;
        }
        return total;
      }
      if (!nadir) nadir = sum.map((s, t) => (count[t] ? s / count[t] : 1));
      const ell = Array.from({ length: T }, (_, t) => (on(t) ? log(losses[t] / nadir![t] + 1e-20) : -Infinity));
      const mx = Math.max(...ell.filter((x) => x > -Infinity));
      const e = ell.map((x) => (x > -Infinity ? exp((x - mx) / mu) : 0));
      const s = e.reduce((a, b) => a + b, 0);
      if (!(s > 0)) {
        scales.fill(0);
        return 0;
      }
      for (let t = 0; t < T; t++) scales[t] = e[t] ? (ctx.weights[t] * T * (e[t] / s)) / (losses[t] + 1e-20 * nadir[t]) : 0;
      return T * mu * log(s) + T * mx;
    },
    endEpoch() {
      epoch++;
    },
    state: () => ({ epoch, sum, count, nadir }),
    restore(st) {
      const o = st as { epoch: number; sum: number[]; count: number[]; nadir: number[] | null };
      epoch = o.epoch;
      sum = [...o.sum];
      count = [...o.count];
      nadir = o.nadir ? [...o.nadir] : null;
    },
  };
}
