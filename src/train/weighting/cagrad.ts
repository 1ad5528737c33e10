import type { GradientStage, Weighting, WeightingContext } from "./types.ts";
import { Buffers, Small, kernel, staticStep } from "./common.ts";

/**
 * CAGrad, conflict-averse gradient descent (Liu et al., "Conflict-Averse Gradient Descent for Multi-task
 * Learning", NeurIPS 2021, eq. 3 and its dual, Algorithm 1), as LibMTL: with g0 = (1/m)·Σ_t g_t over the m active
 * tasks, A their Gram matrix, ‖g0‖ taken as sqrt(mean(A) + 1e-8) and φ = c·‖g0‖ + 1e-8 (c: option `c`),
 *   w = argmin_{w ∈ simplex} wᵀ·A·(1/m) + φ·sqrt(wᵀAw + 1e-8)       (kernel cagrad_f64),
 *   g_w = Σ_t w_t·g_t, λ = φ / (‖g_w‖ + 1e-8), g = g0 + λ·g_w,
 * then g / (1 + c²) (rescale 1), g / (1 + c) (rescale 2) or g (rescale 0). As combination weights:
 * alpha_t = (1/m + λ·w_t) / r, ‖g_w‖ = sqrt(wᵀAw). Param mode only. Inactive tasks: alpha 0, not in A. No state.
 */
export function cagradWeighting(ctx: WeightingContext): Weighting {
  const buf = new Buffers(ctx, "cagrad");
  const T = ctx.weights.length;
  const s = new Small(buf, T);
  const c = ctx.options?.c ?? 0.5, rescale = ctx.options?.rescale ?? 1;
  const r = rescale === 0 ? 1 : rescale === 1 ? 1 + c * c : 1 + c;
  return {
    name: "cagrad",
    mode: "param",
    step: staticStep(ctx),
    gradient(stage: GradientStage) {
      const a = stage.active, m = a.length;
      if (m === 0) return;
      const A = s.activeGram(stage);
      let mean = 0;
      for (let i = 0; i < m * m; i++) mean += A[i];
      mean /= m * m;
      const phi = c * Math.sqrt(mean + 1e-8) + 1e-8;
      kernel(buf.k, "cagrad_f64")(m, s.sub, s.work, s.x, phi, 1000, 1e-12);
      const w = buf.f64(s.x, m), G = buf.f64(s.sub, m * m);
      let q = 0;
      for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) q += w[i] * G[i * m + j] * w[j];
      const lambda = phi / (Math.sqrt(Math.max(q, 0)) + 1e-8);
      for (let i = 0; i < m; i++) stage.alpha[a[i]] = (1 / m + lambda * w[i]) / r;
    },
    dispose: () => buf.dispose(),
  };
}
