import type { GradientStage, Weighting, WeightingContext } from "./types.ts";
import { Buffers, Small, kernel, modeOf, staticStep } from "./common.ts";

/**
 * IMTL-G, the gradient part of Impartial Multi-Task Learning (Liu et al., "Towards Impartial Multi-task
 * Learning", ICLR 2021, section 3.2 and eq. 9): find g = Σ_t alpha_t·g_t with Σ alpha_t = 1 whose projections
 * onto every unit task gradient u_t = g_t/‖g_t‖ are equal: g·(u_1 − u_t) = 0. With D = [g_1 − g_t]_{t=2..m} and
 * U = [u_1 − u_t]_{t=2..m} (rows), the closed form is
 *   alpha_{2..m} = g_1·Uᵀ·(D·Uᵀ)⁻¹,   alpha_1 = 1 − Σ_{t≥2} alpha_t,
 * computed from the Gram matrix A of the active tasks: g_1·U_j = A_11/n_1 − A_1j/n_j and
 * (D·Uᵀ)_ij = A_11/n_1 − A_1j/n_j − A_i1/n_1 + A_ij/n_j (n_t = ‖g_t‖ = √A_tt), solved as (D·Uᵀ)ᵀ·x = (g_1·Uᵀ)ᵀ
 * by the kernel solve_f64. Only the gradient part: no IMTL-L loss scales (the loss is Σ w_t·L_t). Works in either
 * mode (alpha only). A singular system (collinear gradients) or a zero gradient gives equal weights 1/m.
 * "First" task: the first active one. Inactive tasks: alpha 0, not in the system. No state.
 */
export function imtlWeighting(ctx: WeightingContext): Weighting {
  const buf = new Buffers(ctx, "imtl");
  const T = ctx.weights.length;
  const s = new Small(buf, T);
  return {
    name: "imtl",
    mode: modeOf(ctx),
    step: staticStep(ctx),
    gradient(stage: GradientStage) {
      const a = stage.active, m = a.length;
      if (m <= 1) return;
      const A = s.activeGram(stage);
      const nrm = Array.from({ length: m }, (_, i) => Math.sqrt(A[i * m + i]));
      const equal = () => { for (const t of a) stage.alpha[t] = 1 / m; };
      if (nrm.some((v) => !(v > 0))) return equal();
      const p = m - 1;
      const M = buf.f64(s.mat, p * p), b = buf.f64(s.y, p);
      for (let j = 1; j < m; j++) {
        const gU = A[0] / nrm[0] - A[j] / nrm[j]; // g_1·U_j
        b[j - 1] = gU;
        for (let i = 1; i < m; i++) {
          const DU = gU - A[i * m] / nrm[0] + A[i * m + j] / nrm[j]; // (D·Uᵀ)_ij
          M[(j - 1) * p + (i - 1)] = DU; // transposed
        }
      }
      if (!kernel(buf.k, "solve_f64")(p, s.mat, s.y, s.work, s.x)) return equal();
      const x = buf.f64(s.x, p);
      let sum = 0;
      for (let i = 0; i < p; i++) (stage.alpha[a[i + 1]] = x[i]), (sum += x[i]);
      stage.alpha[a[0]] = 1 - sum;
    },
    dispose: () => buf.dispose(),
  };
}
