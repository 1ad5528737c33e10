import type { GradientStage, Weighting, WeightingContext } from "./types.ts";
import { Buffers, Stream, kernel, numbers, record, staticStep, originalRows } from "./common.ts";

/**
 * PCGrad, "gradient surgery" (Yu et al., "Gradient Surgery for Multi-Task Learning", NeurIPS 2020, Algorithm 1):
 * for each task i, g_i' starts at g_i; for each other task j in a random order,
 *   if g_i'·g_j < 0:  g_i' ← g_i' − (g_i'·g_j / ‖g_j‖²)·g_j      (eq. 1, projection onto g_j's normal plane)
 * always against the *original* g_j; the step's gradient is Σ_i g_i'. As the paper (and unlike LibMTL, which also
 * visits j = i and adds 1e-8 to ‖g_j‖²), j runs over the other tasks only and the denominator is exact (g_i'·g_j < 0
 * implies g_j ≠ 0). Rows are rewritten in place; alpha stays 1 (param mode only, as LibMTL).
 * The order of each i is a seeded Fisher–Yates shuffle (mulberry32 of seed ^ "PCGr"), i ascending.
 * Inactive tasks: neither projected nor projected onto (their rows are zero; alpha 0).
 * State: the generator's position.
 */
export function pcgradWeighting(ctx: WeightingContext): Weighting {
  const buf = new Buffers(ctx, "pcgrad");
  const T = ctx.weights.length;
  const rng = new Stream(ctx.seed ^ 0x50434772);
  const originals = originalRows(buf, T, "pcgrad");
  return {
    name: "pcgrad",
    mode: "param",
    step: staticStep(ctx),
    gradient(stage: GradientStage) {
      const { ld, size: n } = stage;
      const og = originals(stage);
      const k = buf.k, dot = kernel(k, "dot_f32x4"), axpy = kernel(k, "axpy_f32x4");
      const row = (t: number) => stage.ptr.rows + t * ld * 4;
      const a = stage.active;
      for (const i of a) {
        const order = rng.shuffle(a.filter((j) => j !== i));
        for (const j of order) {
          const d = dot(n, row(i), og(j));
          if (d < 0) axpy(n, og(j), row(i), -d / dot(n, og(j), og(j)));
        }
      }
    },
    state: () => ({ draws: rng.draws }),
    restore(st) {
      rng.seek(numbers([record(st, "pcgrad").draws], 1, "pcgrad draws")[0]);
    },
    dispose: () => buf.dispose(),
  };
}
