import type { Weighting, WeightingContext } from "./types.ts";
import { exp, log, powi } from "../../util/dmath.ts";

/**
 * FAMO, Fast Adaptive Multitask Optimization (Liu, Liu, Stone & Liu, NeurIPS 2023), as LibMTL runs it
 * (minimum losses 0, ε = 1e-8). Task weights z = softmax(ξ) over learnt logits ξ. Each step minimizes
 *   L = Σ_t z_t·log D_t / c,  D_t = L_t + ε,  c = Σ_t z_t / D_t  (c held constant),
 * so the scale of task t is ∂L/∂L_t = z_t / (c·D_t): the step decreases every log-loss at a rate set by z.
 * After the update, with the same batch's losses D'_t under the new parameters, the logits take one Adam step
 * (lr `lr`, L2 weight decay `decay` added to the gradient, β = (0.9, 0.999), ε_adam = 1e-8, as torch.optim.Adam) on
 *   ∂/∂ξ_s = Σ_t δ_t·∂z_t/∂ξ_s = z_s·(δ_s − Σ_t z_t·δ_t),  δ_t = log D_t − log D'_t
 * (the weights move toward the tasks whose log-loss fell least). The spec's static weights multiply the scales.
 * Masks: a task without labels in the batch has scale 0 and is left out of c and of the logits' update that step.
 */
export function famoWeighting(ctx: WeightingContext): Weighting {
  const T = ctx.weights.length;
  const lr = ctx.options?.lr ?? 0.025, decay = ctx.options?.decay ?? 1e-3;
  const EPS = 1e-8, B1 = 0.9, B2 = 0.999, AEPS = 1e-8;
  let xi = new Array<number>(T).fill(0), m = new Array<number>(T).fill(0), v = new Array<number>(T).fill(0);
  let steps = 0;
  const prev = new Float64Array(T);
  const active = new Uint8Array(T);
  const softmax = () => {
    const mx = Math.max(...xi);
    const e = xi.map((x) => exp(x - mx));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((x) => x / s);
  };
  return {
    name: "famo",
    step(losses, scales, labelled) {
      const z = softmax();
      let c = 0;
      for (let t = 0; t < T; t++) {
        active[t] = !labelled || labelled[t] > 0 ? 1 : 0;
        prev[t] = losses[t] + EPS;
        if (active[t]) c += z[t] / prev[t];
      }
      let total = 0;
      for (let t = 0; t < T; t++) {
        scales[t] = active[t] ? (ctx.weights[t] * z[t]) / (c * prev[t]) : 0;
        if (active[t]) total += (ctx.weights[t] * z[t] * log(prev[t])) / c;
      }
      return total;
    },
    afterUpdate(after) {
      const z = softmax();
      const delta = Array.from({ length: T }, (_, t) => (active[t] ? log(prev[t]) - log(after[t] + EPS) : 0));
      let zd = 0;
      for (let t = 0; t < T; t++) zd += z[t] * delta[t];
      steps++;
      const c1 = 1 - powi(B1, steps), c2 = 1 - powi(B2, steps);
      xi = xi.map((x, s) => {
        const g = z[s] * (delta[s] - zd) + decay * x;
        m[s] = B1 * m[s] + (1 - B1) * g;
        v[s] = B2 * v[s] + (1 - B2) * g * g;
        return x - (lr * (m[s] / c1)) / (Math.sqrt(v[s] / c2) + AEPS);
      });
    },
    state: () => ({ xi, m, v, steps }),
    restore(st) {
      const o = st as { xi: number[]; m: number[]; v: number[]; steps: number };
      ({ xi, m, v, steps } = { xi: [...o.xi], m: [...o.m], v: [...o.v], steps: o.steps });
    },
  };
}
