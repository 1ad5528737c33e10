import type { GradientStage, Weighting, WeightingContext } from "./types.ts";
import { Buffers, kernel, numbers, record, staticStep } from "./common.ts";

/** The uniforms' Philox key: (seed ^ GRADDROP_KEY[0], GRADDROP_KEY[1]), element counter = the state's `offset`. */
export const GRADDROP_KEY = [0x47447270, 0x67726164] as const;

/**
 * GradDrop, gradient sign dropout (Chen et al., "Just Pick a Sign: Optimizing Deep Multitask Models with Gradient
 * Sign Dropout", NeurIPS 2020, eq. 1–3, Algorithm 1), rep mode only (as LibMTL), with option `leak` ℓ:
 *   G_t = w_t·Σ_b ∂L_t/∂z_t[b,·] ⊙ sign(z_t[b,·])      (the stage's S_t, from signed_colsum_f32x4; w_t the static weight)
 *   P = ½·(1 + Σ_t G_t / (Σ_t |G_t| + 1e-7))            (gradient positive sign purity, per feature)
 *   U ~ uniform[0, 1) per feature (kernel rng_uniform_f32, key above, offset advancing by d per step)
 *   M_t = 1[P > U]·1[G_t > 0] + 1[P < U]·1[G_t < 0],   mask m_t = ℓ + (1 − ℓ)·M_t   (kernel graddrop_mask_f32x4)
 * m_t goes to stage.featureScale ([T, ld] f32, allocated once): the trainer multiplies every row of ∂L_t/∂z_t by
 * it before combining with alpha (alpha stays 1). Inactive tasks: not in P (their rows of featureScale stay 1,
 * and alpha 0). State: the uniforms' offset.
 */
export function graddropWeighting(ctx: WeightingContext): Weighting {
  const buf = new Buffers(ctx, "graddrop");
  const T = ctx.weights.length;
  const leak = ctx.options?.leak ?? 0;
  let offset = 0, size = -1, fs = 0, g = 0, u = 0, m = 0;
  return {
    name: "graddrop",
    mode: "rep",
    step: staticStep(ctx),
    gradient(stage: GradientStage) {
      const d = stage.size, ld = stage.ld, k = buf.k;
      if (size < 0) {
        fs = buf.alloc32(T * ld);
        g = buf.alloc32(T * d);
        m = buf.alloc32(T * d);
        u = buf.alloc32(d);
        size = d;
        kernel(k, "fill_f32x4")(T * ld, fs, 1);
      } else if (d !== size) throw new Error(`graddrop: representation width changed from ${size} to ${d}`);
      const a = stage.active;
      stage.featureScale = fs;
      if (a.length === 0) return;
      // G_t: the stage's sign statistic (summed over the batch, and over threads when data-parallel).
      const copyRow = kernel(k, "cols_copy_f32x4");
      a.forEach((t, q) => copyRow(1, d, stage.ptr.signed + t * ld * 4, ld, g + q * d * 4, d, 0));
      const hi = Math.floor(offset / 4294967296);
      kernel(k, "rng_uniform_f32")(d, u, (ctx.seed ^ GRADDROP_KEY[0]) | 0, (GRADDROP_KEY[1] ^ hi) | 0, offset | 0, 0, 1);
      offset += d;
      kernel(k, "graddrop_mask_f32x4")(a.length, d, g, u, m, leak);
      const copy = kernel(k, "cols_copy_f32x4");
      a.forEach((t, q) => copy(1, d, m + q * d * 4, d, fs + t * ld * 4, ld, 0));
    },
    state: () => ({ offset }),
    restore(st) {
      offset = numbers([record(st, "graddrop").offset], 1, "graddrop offset")[0];
    },
    dispose: () => buf.dispose(),
  };
}
