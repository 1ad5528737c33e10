import type { GradientStage, Weighting, WeightingContext } from "./types.ts";
import { Buffers, Small, kernel, staticStep } from "./common.ts";

/**
 * UPGrad, unconflicting projection of gradients (Quinton & Rey, "Jacobian Descent for Multi-Objective
 * Optimization", 2024, eq. 3 and Proposition 1; TorchJD's and LibMTL's UPGrad): with the Gram matrix of the m active
 * task gradients normalized and regularized as TorchJD/LibMTL do,
 *   G = A / tr(A) + reg_eps·I     (G = reg_eps·I when tr(A) < norm_eps),
 * and LibMTL's preference vector 1/m (U = diag(1/m)), each row u_i = e_i/m is projected onto the dual cone of the
 * task gradients: v_i = argmin_{v ≥ u_i} vᵀ·G·v. With v = u_i + x, x ≥ 0 this is min ½xᵀGx + (G·u_i)ᵀx, solved by
 * the kernel nnqp_f64 (from x = 0). The weights are alpha = Σ_i v_i (LibMTL: W.sum(0)): the step's gradient
 * Σ_t alpha_t·g_t is the mean over i of the projections of g_i onto the dual cone {d : d·g_t ≥ 0 ∀t}, so it
 * conflicts with no task. Param mode only. Inactive tasks: alpha 0, left out of G. No state.
 */
export function upgradWeighting(ctx: WeightingContext): Weighting {
  const buf = new Buffers(ctx, "upgrad");
  const T = ctx.weights.length;
  const s = new Small(buf, T);
  const normEps = ctx.options?.norm_eps ?? 1e-4, regEps = ctx.options?.reg_eps ?? 1e-4;
  return {
    name: "upgrad",
    mode: "param",
    step: staticStep(ctx),
    gradient(stage: GradientStage) {
      const a = stage.active, m = a.length;
      if (m === 0) return;
      const A = s.activeGram(stage);
      let tr = 0;
      for (let i = 0; i < m; i++) tr += A[i * m + i];
      const G = buf.f64(s.mat, m * m);
      for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) G[i * m + j] = (tr < normEps ? 0 : A[i * m + j] / tr) + (i === j ? regEps : 0);
      const out = new Float64Array(m).fill(1 / m); // Σ_i u_i = (1/m)·1
      for (let i = 0; i < m; i++) {
        const c = buf.f64(s.y, m), x = buf.f64(s.x, m);
        for (let j = 0; j < m; j++) (c[j] = G[j * m + i] / m), (x[j] = 0);
        kernel(buf.k, "nnqp_f64")(m, s.mat, s.y, s.work, s.x, 100000, 1e-15);
        const sol = buf.f64(s.x, m);
        for (let j = 0; j < m; j++) out[j] += sol[j];
      }
      for (let i = 0; i < m; i++) stage.alpha[a[i]] = out[i];
    },
    dispose: () => buf.dispose(),
  };
}
