import type { GradientStage, Weighting, WeightingContext } from "./types.ts";
import { Buffers, Small, kernel, modeOf, staticStep } from "./common.ts";

/**
 * MGDA-UB (Sener & Koltun, "Multi-Task Learning as Multi-Objective Optimization", NeurIPS 2018).
 * With the task gradients g_t (rows of the stage; param or rep mode, as rep_grad says) and normalizers n_t,
 * ĝ_t = g_t / n_t, the weights are the min-norm point of their convex hull (eq. 3 / Algorithm 2):
 *   w = argmin_{w ≥ 0, Σ w = 1} ‖Σ_t w_t·ĝ_t‖²  = argmin wᵀ·Ĝ·w,  Ĝ_ij = G_ij / (n_i·n_j),
 * solved by Frank–Wolfe (kernel minnorm_f64) on the Gram matrix of the active tasks. Normalizers (option
 * `normalization`, LibMTL's mgda_gn, section 3.2 of the paper's appendix): none → 1; l2 → ‖g_t‖; loss → L_t;
 * loss+ → L_t·‖g_t‖ (L_t the task's unweighted loss this step; a zero normalizer is taken as 1).
 * As LibMTL, the step's gradient combines the *normalized* gradients, Σ_t w_t·ĝ_t: alpha_t = w_t / n_t.
 * Inactive tasks are left out (alpha 0, not in the hull). No state.
 */
export function mgdaWeighting(ctx: WeightingContext): Weighting {
  const buf = new Buffers(ctx, "mgda");
  const T = ctx.weights.length;
  const s = new Small(buf, T);
  const norm = ctx.options?.normalization ?? "none";
  return {
    name: "mgda",
    mode: modeOf(ctx),
    step: staticStep(ctx),
    gradient(stage: GradientStage) {
      const a = stage.active, m = a.length;
      if (m === 0) return;
      const G = s.activeGram(stage);
      const gn = new Float64Array(m);
      for (let i = 0; i < m; i++) {
        const l2 = Math.sqrt(G[i * m + i]), L = stage.losses[a[i]];
        const v = norm === "l2" ? l2 : norm === "loss" ? L : norm === "loss+" ? L * l2 : 1;
        gn[i] = v > 0 && Number.isFinite(v) ? v : 1;
      }
      const N = buf.f64(s.mat, m * m);
      for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) N[i * m + j] = G[i * m + j] / (gn[i] * gn[j]);
      kernel(buf.k, "minnorm_f64")(m, s.mat, s.work, s.x, 250, 1e-12);
      const w = buf.f64(s.x, m);
      for (let i = 0; i < m; i++) stage.alpha[a[i]] = w[i] / gn[i];
    },
    dispose: () => buf.dispose(),
  };
}
