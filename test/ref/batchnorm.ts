// Float64 reference for batch normalization over NCHW (assembly/kernels/batchnorm.ts), per channel over
// n and the hw positions, straight from the definition.

export interface BnTrainOut { y: Float64Array; mean: Float64Array; invStd: Float64Array; runMean: Float64Array; runVar: Float64Array }

/** Training forward with batch statistics (biased var normalizes; running stats take the unbiased one, PyTorch's momentum). */
export function bnTrain(n: number, c: number, hw: number, x: ArrayLike<number>, g: ArrayLike<number>, b: ArrayLike<number>, runMean: ArrayLike<number>, runVar: ArrayLike<number>, momentum: number, eps: number): BnTrainOut {
  const y = new Float64Array(n * c * hw), mean = new Float64Array(c), invStd = new Float64Array(c);
  const rm = Float64Array.from(runMean), rv = Float64Array.from(runVar);
  const m = n * hw;
  for (let ch = 0; ch < c; ch++) {
    const vals: number[] = [];
    for (let i = 0; i < n; i++) for (let j = 0; j < hw; j++) vals.push(x[(i * c + ch) * hw + j]);
    const mu = vals.reduce((s, v) => s + v, 0) / m;
    const ss = vals.reduce((s, v) => s + (v - mu) ** 2, 0);
    const v = ss / m;
    mean[ch] = mu;
    invStd[ch] = 1 / Math.sqrt(v + eps);
    rm[ch] = (1 - momentum) * rm[ch] + momentum * mu;
    rv[ch] = (1 - momentum) * rv[ch] + momentum * (m > 1 ? ss / (m - 1) : v);
    for (let i = 0; i < n; i++) for (let j = 0; j < hw; j++) {
      const k = (i * c + ch) * hw + j;
      y[k] = ((x[k] - mu) / Math.sqrt(v + eps)) * g[ch] + b[ch];
    }
  }
  return { y, mean, invStd, runMean: rm, runVar: rv };
}

/** Inference forward with running statistics. */
export function bnInfer(n: number, c: number, hw: number, x: ArrayLike<number>, g: ArrayLike<number>, b: ArrayLike<number>, runMean: ArrayLike<number>, runVar: ArrayLike<number>, eps: number): Float64Array {
  const y = new Float64Array(n * c * hw);
  for (let i = 0; i < n; i++) for (let ch = 0; ch < c; ch++) for (let j = 0; j < hw; j++) {
    const k = (i * c + ch) * hw + j;
    y[k] = ((x[k] - runMean[ch]) / Math.sqrt(runVar[ch] + eps)) * g[ch] + b[ch];
  }
  return y;
}

/** Σ r ⊙ BN_train(x; γ, β): the objective for finite differences (through the batch statistics). */
export function bnObjective(n: number, c: number, hw: number, x: ArrayLike<number>, g: ArrayLike<number>, b: ArrayLike<number>, eps: number, r: ArrayLike<number>): number {
  const zeros = new Float64Array(c);
  const { y } = bnTrain(n, c, hw, x, g, b, zeros, zeros, 0, eps);
  let s = 0;
  for (let i = 0; i < y.length; i++) s += r[i] * y[i];
  return s;
}
