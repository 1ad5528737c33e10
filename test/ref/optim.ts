// Float64 references for the optimizer steps and clipping (assembly/kernels/optim.ts), written from
// PyTorch's torch.optim.SGD / Adam / AdamW and torch.nn.utils.clip_grad_norm_ update rules.

export interface SgdHyper { lr: number; momentum: number; weightDecay: number; nesterov: boolean }
export interface AdamHyper { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; decoupled: boolean }

/** One SGD step in place on p, v (dampening 0; v starts at 0, so the first step gives v = g'). */
export function sgdStepRef(g: ArrayLike<number>, p: Float64Array, v: Float64Array, h: SgdHyper): void {
  for (let i = 0; i < p.length; i++) {
    let d = g[i] + h.weightDecay * p[i];
    if (h.momentum !== 0) {
      v[i] = h.momentum * v[i] + d;
      d = h.nesterov ? d + h.momentum * v[i] : v[i];
    }
    p[i] -= h.lr * d;
  }
}

/** One Adam (decoupled = false) or AdamW (decoupled = true) step in place on p, m, v; step t ≥ 1. */
export function adamStepRef(g: ArrayLike<number>, p: Float64Array, m: Float64Array, v: Float64Array, h: AdamHyper, t: number): void {
  const bc1 = 1 - h.beta1 ** t;
  const bc2 = 1 - h.beta2 ** t;
  for (let i = 0; i < p.length; i++) {
    let gi = g[i];
    if (h.decoupled) p[i] *= 1 - h.lr * h.weightDecay;
    else gi += h.weightDecay * p[i];
    m[i] = h.beta1 * m[i] + (1 - h.beta1) * gi;
    v[i] = h.beta2 * v[i] + (1 - h.beta2) * gi * gi;
    const mhat = m[i] / bc1;
    const vhat = v[i] / bc2;
    p[i] -= (h.lr * mhat) / (Math.sqrt(vhat) + h.eps);
  }
}

export function sumsqRef(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return s;
}

/** clip_grad_norm_: returns the pre-clip norm and scales g in place by min(1, max/(norm + 1e-6)). */
export function clipGradNormRef(g: Float64Array, maxNorm: number): number {
  const norm = Math.sqrt(sumsqRef(g));
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) for (let i = 0; i < g.length; i++) g[i] *= coef;
  return norm;
}
