import type { GradientStage, Weighting, WeightingContext } from "./types.ts";
import { Buffers, Small, kernel, modeOf, staticStep } from "./common.ts";

/** float32's machine epsilon (torch.finfo().eps under the default dtype), LibMTL's rank tolerance factor. */
const EPS_F32 = 1.1920928955078125e-7;

/**
 * Aligned-MTL (Senushkin et al., "Independent Component Alignment for Multi-Task Learning", CVPR 2023, eq. 9–12,
 * Algorithm 1): with the Gram matrix M = G·Gᵀ of the active task gradients (rows of G) and its eigen-decomposition
 * M = V·Λ·Vᵀ (kernel symeig_f64), keep the eigenpairs with λ > tol = λ_max·m·eps(float32) (LibMTL's rank cut),
 *   B = √λ_min · V·Λ^{-1/2}·Vᵀ     (λ_min: the smallest kept eigenvalue),
 * so the aligned gradients Ĝ = Bᵀ·G have all nonzero singular values equal to √λ_min (condition number 1), and the
 * step's gradient is Σ_t Ĝ_t = Σ_t alpha_t·g_t with alpha = B·1 (LibMTL: B.sum(0); B is symmetric).
 * Either mode (alpha only). Inactive tasks: alpha 0, not in M. All gradients zero: alpha 0. No state.
 */
export function alignedMtlWeighting(ctx: WeightingContext): Weighting {
  const buf = new Buffers(ctx, "aligned_mtl");
  const T = ctx.weights.length;
  const s = new Small(buf, T);
  return {
    name: "aligned_mtl",
    mode: modeOf(ctx),
    step: staticStep(ctx),
    gradient(stage: GradientStage) {
      const a = stage.active, m = a.length;
      if (m === 0) return;
      s.activeGram(stage);
      kernel(buf.k, "symeig_f64")(m, s.sub, s.work, s.x, s.vecs, 100);
      const lam = buf.f64(s.x, m), V = buf.f64(s.vecs, m * m);
      const lmax = lam[m - 1], tol = lmax * m * EPS_F32;
      let first = m; // the kept eigenpairs are first … m−1 (ascending)
      while (first > 0 && lam[first - 1] > tol) first--;
      if (first === m || !(lmax > 0)) {
        for (const t of a) stage.alpha[t] = 0;
        return;
      }
      const root = Math.sqrt(lam[first]);
      for (let i = 0; i < m; i++) {
        let v = 0;
        for (let k = first; k < m; k++) {
          let colSum = 0;
          for (let j = 0; j < m; j++) colSum += V[j * m + k];
          v += (V[i * m + k] * colSum) / Math.sqrt(lam[k]);
        }
        stage.alpha[a[i]] = root * v;
      }
    },
    dispose: () => buf.dispose(),
  };
}
