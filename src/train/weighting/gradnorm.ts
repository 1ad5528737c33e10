import type { Weighting, WeightingContext } from "./types.ts";
import type { KernelFn } from "../../runtime/load.ts";
import { exp, log } from "../../util/dmath.ts";

/**
 * GradNorm (Chen, Badrinarayanan, Lee & Rabinovich, ICML 2018), in LibMTL's form. Loss weights
 * w = T·softmax(ξ) over learnt logits ξ (parameters of role "weighting", updated by the model's optimizer).
 * The first epoch trains with w = 1 and records L_t(0), each task's mean training loss over it. Afterwards, each
 * step, with g_t the task's gradient vector (shared parameters, or the representation with rep_grad):
 *   G_t = ‖w_t·g_t‖,  Ḡ = mean_t G_t,  r_t = L̃_t / mean(L̃),  L̃_t = L_t / L_t(0),
 *   L_grad = Σ_t |G_t − Ḡ·r_t^α|   (the target Ḡ·r_t^α held constant),
 *   ∂L_grad/∂ξ_s = Σ_t sign(G_t − Ḡ r_t^α)·‖g_t‖·∂w_t/∂ξ_s,  ∂w_t/∂ξ_s = w_t·(δ_ts − w_s/T),
 * written as the logits' gradient; the model's shared gradient is Σ_t w_t·g_t (w detached). α (`alpha`) sets how
 * strongly training rates are equalized. Masks: only tasks with labels in the batch take part (their ‖g_t‖,
 * Ḡ and the mean of L̃); the others get weight 0 that step and no |G_t − target| term (their logit still moves
 * through the softmax's coupling).
 */
export function gradnormWeighting(ctx: WeightingContext, logits: () => Float32Array, grad: () => Float32Array): Weighting {
  const T = ctx.weights.length;
  const alpha = ctx.options?.alpha ?? 1.5;
  const rep = ctx.options?.rep_grad ?? false;
  let initial: number[] | null = null;
  return {
    name: "gradnorm",
    mode: rep ? "rep" : "param",
    step(losses, scales) {
      let total = 0;
      for (let t = 0; t < T; t++) {
        scales[t] = ctx.weights[t];
        total += ctx.weights[t] * losses[t];
      }
      return total;
    },
    gradient(stage) {
      const g = grad();
      g.fill(0);
      if (!initial) return; // first epoch: equal weights, alpha = 1 for the active tasks
      const xi = logits();
      const mx = Math.max(...Array.from(xi));
      const e = Array.from(xi, (x) => exp(x - mx));
      const s = e.reduce((a, b) => a + b, 0);
      const w = e.map((x) => (T * x) / s);
      const act = stage.active;
      if (act.length === 0) return;
      const dot = stage.k.dot_f32x4 as KernelFn;
      const norm = act.map((t) => Math.sqrt(dot(stage.size, stage.ptr.rows + t * stage.ld * 4, stage.ptr.rows + t * stage.ld * 4)));
      const G = act.map((t, i) => w[t] * norm[i]);
      const Gbar = G.reduce((a, b) => a + b, 0) / act.length;
      const Lt = act.map((t) => stage.losses[t] / initial![t]);
      const Lbar = Lt.reduce((a, b) => a + b, 0) / act.length;
      const d = new Array<number>(T).fill(0);
      act.forEach((t, i) => {
        const r = Lbar > 0 ? Lt[i] / Lbar : 1;
        const target = Gbar * (r > 0 ? exp(alpha * log(r)) : 0); // r^α (engine-independent)
        d[t] = Math.sign(G[i] - target) * norm[i];
      });
      let dw = 0;
      for (const t of act) dw += d[t] * w[t];
      for (let s2 = 0; s2 < T; s2++) g[s2] = w[s2] * d[s2] - (w[s2] / T) * dw;
      stage.alpha.fill(0);
      for (const t of act) stage.alpha[t] = w[t];
    },
    endEpoch(epochLosses) {
      if (!initial) initial = Array.from(epochLosses, (x) => (x > 0 ? x : 1));
    },
    state: () => ({ initial }),
    restore(st) {
      const o = st as { initial: number[] | null };
      initial = o.initial ? [...o.initial] : null;
    },
  };
}
