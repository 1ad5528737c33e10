import type { GradientStage, Weighting, WeightingContext } from "./types.ts";
import { Buffers, kernel, numbers, record, staticStep } from "./common.ts";
import { exp, log } from "../../util/dmath.ts";

/**
 * DB-MTL, dual-balancing (Lin et al., "Dual-Balancing for Multi-Task Learning", 2023, eq. 3–5, as LibMTL):
 * loss-scale balancing by the logarithm, then gradient-magnitude balancing of EMA buffers.
 *   ĝ_t = ∇(w_t·log(L_t + 1e-8)) = w_t·∇L_t / (L_t + 1e-8) = row_t / (L_t + 1e-8)
 * (the rows hold ∂(w_t·L_t)/∂θ, so the static weight enters as the log-loss's multiplier; L_t unweighted),
 *   b_t ← ĝ_t + β_k·(b_t − ĝ_t),  β_k = β / k^{beta_sigma}  (k: the step, from 1; buffers b_t start at 0),
 *   g = Σ_t (max_s ‖b_s‖ / (‖b_t‖ + 1e-8))·b_t.
 * DB-MTL combines the *buffers*, not this step's rows: the buffers are written into the rows in place and
 * alpha_t = max_s ‖b_s‖ / (‖b_t‖ + 1e-8). The buffers (f32, [T, ld] in wasm memory) are updated with the kernels
 * scale_f32x4/axpy_f32x4 (b_t ← β_k·b_t + ((1 − β_k)/(L_t + 1e-8))·row_t), norms by dot_f32x4 in f64.
 * Param mode only. Inactive tasks: buffer not updated, row untouched, alpha 0, not in the max. k counts every
 * step (as LibMTL's self.step). State: k and the buffers (number arrays, f32 values round-trip exactly).
 */
export function dbMtlWeighting(ctx: WeightingContext): Weighting {
  const buf = new Buffers(ctx, "db_mtl");
  const T = ctx.weights.length;
  const beta = ctx.options?.beta ?? 0.9, sigma = ctx.options?.beta_sigma ?? 0;
  let bufs = 0, size = -1, ld = 0, step = 0;
  let pending: number[][] | null = null;
  return {
    name: "db_mtl",
    mode: "param",
    step: staticStep(ctx),
    gradient(stage: GradientStage) {
      const n = stage.size;
      if (size < 0) {
        ld = stage.ld;
        bufs = buf.alloc32(T * ld);
        size = n;
        if (pending) {
          if (pending.some((r) => r.length !== n)) throw new Error(`db_mtl: restored buffers have ${pending[0]?.length} elements, the gradient ${n}`);
          pending.forEach((r, t) => buf.f32(bufs + t * ld * 4, n).set(r));
          pending = null;
        }
      } else if (n !== size) throw new Error(`db_mtl: gradient length changed from ${size} to ${n}`);
      step++;
      const bk = sigma === 0 ? beta : beta / exp(sigma * log(step));
      const k = buf.k, dot = kernel(k, "dot_f32x4"), axpy = kernel(k, "axpy_f32x4"), scale = kernel(k, "scale_f32x4");
      const row = (t: number) => stage.ptr.rows + t * stage.ld * 4, b = (t: number) => bufs + t * ld * 4;
      const a = stage.active;
      const u = new Float64Array(T);
      let mx = 0;
      for (const t of a) {
        scale(n, b(t), bk);
        axpy(n, row(t), b(t), (1 - bk) / (stage.losses[t] + 1e-8));
        u[t] = Math.sqrt(dot(n, b(t), b(t)));
        if (u[t] > mx) mx = u[t];
      }
      const copy = kernel(k, "cols_copy_f32x4");
      for (const t of a) {
        copy(1, n, b(t), n, row(t), n, 0);
        stage.alpha[t] = mx / (u[t] + 1e-8);
      }
    },
    state() {
      const rows = size < 0 ? (pending ?? []) : Array.from({ length: T }, (_, t) => Array.from(buf.f32(bufs + t * ld * 4, size)));
      return { step, buffers: rows };
    },
    restore(st) {
      const r = record(st, "db_mtl");
      step = numbers([r.step], 1, "db_mtl step")[0];
      const rows = r.buffers;
      if (!Array.isArray(rows) || (rows.length !== T && rows.length !== 0)) throw new Error(`restore: db_mtl buffers must be ${T} rows`);
      const len = rows.length ? (rows[0] as unknown[]).length : 0;
      const vals = (rows as unknown[]).map((x) => numbers(x, len, "db_mtl buffer row"));
      if (size < 0) pending = vals.length ? vals : null;
      else if (vals.length) {
        if (len !== size) throw new Error(`restore: db_mtl buffer rows have ${len} elements, the gradient ${size}`);
        vals.forEach((v, t) => buf.f32(bufs + t * ld * 4, size).set(v));
      } else for (let t = 0; t < T; t++) buf.f32(bufs + t * ld * 4, size).fill(0);
    },
    dispose: () => buf.dispose(),
  };
}
