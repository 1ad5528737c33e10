// The training objective as the test sees it, computed independently of the model's internals (float64, from
// the public API only): what the optimizer's gradient must be the gradient of.
//
//   J(θ) = weighting(L(θ)) + Σ_r λ_r·R_r(θ) + λ_shared·‖θ_shared‖² + Σ_{group_by tasks} group_l2·‖deviation‖²
//
// θ_shared is decided here from the parameter NAMES, by role: the embeddings and the shared trunk (hps
// `shared.*`, mmoe `expert.*`, cgc `shared_expert.*`); never gates, task experts, towers, heads or the
// weighting's own parameters. A group_by task's deviation is both its group heads' weight and bias.
import type { ModelSpec } from "../../src/model/spec.ts";

/** Whether λ_shared·‖θ‖² covers the parameter called `name`. */
export const isSharedParam = (name: string): boolean => /^(embedding|shared|expert|shared_expert|cross)\./.test(name) && !/\.bn_running_(mean|var)$/.test(name); // model state is never regularized

/** The group_l2 coefficient that covers the parameter called `name` (0 if none). */
export function groupL2Of(spec: ModelSpec, name: string): number {
  for (const t of spec.tasks) if (t.group_by && t.group_l2 > 0 && (name === `head.${t.name}.groups.weight` || name === `head.${t.name}.groups.bias`)) return t.group_l2;
  return 0;
}

export interface ParamInfo {
  name: string;
  offset: number;
  size: number;
}

/** Per parameter: the coefficient c of c·‖θ‖² in the regularizers (0 for unregularized parameters). */
export function regularizerCoefficients(spec: ModelSpec, params: readonly ParamInfo[]): number[] {
  return params.map((p) => (isSharedParam(p.name) ? spec.training.shared_l2 : 0) + groupL2Of(spec, p.name));
}

/** Σ c_p·‖θ_p‖² in float64 over the parameter block `p` (element offsets). */
export function regularizerValue(params: readonly ParamInfo[], coef: readonly number[], p: Float32Array): number {
  let s = 0;
  params.forEach((q, j) => {
    if (coef[j] === 0) return;
    let ss = 0;
    for (let i = q.offset; i < q.offset + q.size; i++) ss += p[i] * p[i];
    s += coef[j] * ss;
  });
  return s;
}

/**
 * The documented value of each weighting strategy's combined loss (see src/train/weighting/*), in float64:
 * used to check that `weighting.step` returns the objective it claims (so the finite differences of it mean
 * something) and that it honours the spec's task weights.
 */
export function documentedWeighting(spec: ModelSpec, losses: ArrayLike<number>, extra: { logVar?: ArrayLike<number>; scales?: ArrayLike<number> }): number {
  const w = spec.tasks.map((t) => t.weight);
  const T = w.length;
  let s = 0;
  switch (spec.training.weighting.type) {
    case "static":
      for (let t = 0; t < T; t++) s += w[t] * losses[t];
      return s;
    case "uncertainty":
      for (let t = 0; t < T; t++) s += w[t] * ((losses[t] * Math.exp(-extra.logVar![t])) / 2 + extra.logVar![t] / 2);
      return s;
    case "gls": {
      // The task weights are exponents: exp(Σ w_t·log L_t / Σ w_t).
      let W = 0;
      for (let t = 0; t < T; t++) (s += w[t] * Math.log(Math.max(losses[t], 1e-12))), (W += w[t]);
      return Math.exp(s / W);
    }
    default:
      // dwa, rlw: a weighted sum with the step's scales.
      for (let t = 0; t < T; t++) s += extra.scales![t] * losses[t];
      return s;
  }
}
