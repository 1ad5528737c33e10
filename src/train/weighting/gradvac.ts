import type { GradientStage, Weighting, WeightingContext } from "./types.ts";
import { Buffers, Stream, kernel, numbers, record, staticStep, originalRows } from "./common.ts";

/**
 * Gradient Vaccine (Wang et al., "Gradient Vaccine: Investigating and Improving Multi-task Optimization in
 * Massively Multilingual Models", ICLR 2021, eq. 3–5 and Algorithm 1), at whole-model granularity (one group):
 * for each task i, g_i' starts at g_i; for each other task j in a random order, with
 *   ρ_ij = g_i'·g_j / (‖g_i'‖·‖g_j‖ + 1e-8)   (against the *original* g_j)
 * and the EMA target ρ̂_ij (state, 0 at first):
 *   if ρ_ij < ρ̂_ij:  g_i' ← g_i' + ‖g_i'‖·(ρ̂_ij·√(1 − ρ_ij²) − ρ_ij·√(1 − ρ̂_ij²)) / (‖g_j‖·√(1 − ρ̂_ij²) + 1e-8) · g_j
 *   ρ̂_ij ← (1 − β)·ρ̂_ij + β·ρ_ij            (β: option `beta`, default 0.5; eq. 5)
 * (the update and its 1e-8 terms as LibMTL; ρ_ij is the value before the update). The step's gradient is Σ_i g_i':
 * rows rewritten in place, alpha stays 1 (param mode only). Orders: seeded Fisher–Yates (mulberry32 of seed ^
 * "GVac"), i ascending. Inactive tasks: not rewritten, not used as g_j, and their ρ̂ entries are not updated.
 * State: ρ̂ (T×T) and the generator's position.
 */
export function gradvacWeighting(ctx: WeightingContext): Weighting {
  const buf = new Buffers(ctx, "gradvac");
  const T = ctx.weights.length;
  const beta = ctx.options?.beta ?? 0.5;
  const rng = new Stream(ctx.seed ^ 0x47566163);
  const rho = new Float64Array(T * T);
  const originals = originalRows(buf, T, "gradvac");
  return {
    name: "gradvac",
    mode: "param",
    step: staticStep(ctx),
    gradient(stage: GradientStage) {
      const { ld, size: n } = stage;
      const og = originals(stage);
      const k = buf.k, dot = kernel(k, "dot_f32x4"), axpy = kernel(k, "axpy_f32x4");
      const row = (t: number) => stage.ptr.rows + t * ld * 4;
      const a = stage.active;
      const nj = new Float64Array(T);
      for (const j of a) nj[j] = Math.sqrt(dot(n, og(j), og(j)));
      for (const i of a) {
        for (const j of rng.shuffle(a.filter((t) => t !== i))) {
          const ni = Math.sqrt(dot(n, row(i), row(i)));
          const r = dot(n, row(i), og(j)) / (ni * nj[j] + 1e-8);
          const target = rho[i * T + j];
          if (r < target) {
            const st = Math.sqrt(Math.max(0, 1 - target * target));
            const w = (ni * (target * Math.sqrt(Math.max(0, 1 - r * r)) - r * st)) / (nj[j] * st + 1e-8);
            axpy(n, og(j), row(i), w);
          }
          rho[i * T + j] = (1 - beta) * target + beta * r;
        }
      }
    },
    state: () => ({ draws: rng.draws, rho: Array.from(rho) }),
    restore(st) {
      const r = record(st, "gradvac");
      rng.seek(numbers([r.draws], 1, "gradvac draws")[0]);
      rho.set(numbers(r.rho, T * T, "gradvac rho"));
    },
    dispose: () => buf.dispose(),
  };
}
