import type { GradientStage, Weighting, WeightingContext } from "./types.ts";
import { Buffers, Small, kernel, numbers, record, staticStep } from "./common.ts";

/**
 * Nash-MTL (Navon et al., "Multi-Task Learning as a Bargaining Game", ICML 2022, Theorem 5.1): the Nash
 * bargaining solution is Σ_t alpha_t·g_t with alpha > 0 solving
 *   K·alpha = 1/alpha   (elementwise),   K = GᵀG / ‖GᵀG‖_F
 * (the Gram matrix of the active tasks' gradients, normalized by its Frobenius norm as LibMTL's
 * normalization_factor; the unnormalized solution is this alpha divided by ‖GᵀG‖_F^{1/2}). Solved by damped Newton
 * on ½αᵀKα − Σ log α (kernel nash_f64, at most `iterations` steps, warm-started from the previous alpha — ones at
 * first, as LibMTL's prvs_alpha), recomputed every `update_every` steps and reused in between (as LibMTL). If
 * the solver does not converge its last iterate (still > 0) is used, as LibMTL keeps its last iterate.
 * LibMTL then clips the shared parameters' gradient with clip_grad_norm_(…, max_norm) when max_norm > 0; here
 * that is a scaling of alpha by max_norm / (‖Σ alpha_t·g_t‖ + 1e-6) when that is < 1 (torch's clip_coef), the
 * norm taken from the unnormalized Gram matrix (the relation terms' gradient, added later, is not included).
 * Param mode only. Inactive tasks: alpha 0, left out of K (their previous alpha is kept for warm starts).
 * State: the step count and the previous (unclipped) alpha.
 */
export function nashMtlWeighting(ctx: WeightingContext): Weighting {
  const buf = new Buffers(ctx, "nash_mtl");
  const T = ctx.weights.length;
  const s = new Small(buf, T);
  const every = ctx.options?.update_every ?? 1, iters = ctx.options?.iterations ?? 20, maxNorm = ctx.options?.max_norm ?? 1;
  const prev = new Float64Array(T).fill(1);
  let step = 0;
  return {
    name: "nash_mtl",
    mode: "param",
    step: staticStep(ctx),
    gradient(stage: GradientStage) {
      const a = stage.active, m = a.length;
      const update = step % every === 0;
      step++;
      if (m === 0) return;
      const A = s.activeGram(stage);
      if (update) {
        let fro = 0;
        for (let i = 0; i < m * m; i++) fro += A[i] * A[i];
        fro = Math.sqrt(fro);
        if (fro > 0) {
          const K = buf.f64(s.mat, m * m), x = buf.f64(s.x, m);
          for (let i = 0; i < m * m; i++) K[i] = A[i] / fro;
          for (let i = 0; i < m; i++) x[i] = prev[a[i]];
          kernel(buf.k, "nash_f64")(m, s.mat, s.work, s.x, iters, 1e-10);
          const sol = buf.f64(s.x, m);
          for (let i = 0; i < m; i++) prev[a[i]] = sol[i];
        }
      }
      let q = 0;
      for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) q += prev[a[i]] * A[i * m + j] * prev[a[j]];
      const coef = maxNorm > 0 ? maxNorm / (Math.sqrt(Math.max(q, 0)) + 1e-6) : 1;
      const scale = coef < 1 ? coef : 1;
      for (const t of a) stage.alpha[t] = prev[t] * scale;
    },
    state: () => ({ step, alpha: Array.from(prev) }),
    restore(st) {
      const r = record(st, "nash_mtl");
      step = numbers([r.step], 1, "nash_mtl step")[0];
      prev.set(numbers(r.alpha, T, "nash_mtl alpha"));
    },
    dispose: () => buf.dispose(),
  };
}
