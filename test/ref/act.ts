// Float64 references for the element-wise activations (assembly/kernels/act.ts): forward maps and their
// exact derivatives, plus an erf/erfc accurate to ~1e-15 (series below 2.5, continued fraction above).

const SQRT1_2 = Math.SQRT1_2;
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/** erf(x) by its Maclaurin series (|x| < 2.5: terms ≤ e^6.25, so ~1e-14 absolute). */
function erfSeries(x: number): number {
  const z = x * x;
  let term = x, sum = x;
  for (let k = 1; k < 200; k++) {
    term *= -z / k;
    const t = term / (2 * k + 1);
    sum += t;
    if (Math.abs(t) < 1e-17 * Math.abs(sum)) break;
  }
  return TWO_OVER_SQRT_PI * sum;
}

/** erfc(x) for x ≥ 2.5 by the Laplace continued fraction, evaluated backwards. */
function erfcCf(x: number): number {
  let f = x;
  for (let k = 120; k >= 1; k--) f = x + k / 2 / f;
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}

export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const a = Math.abs(x);
  const v = a < 2.5 ? erfSeries(a) : 1 - erfcCf(a);
  return x < 0 ? -v : v;
}

/** erfc(x), relatively accurate for large positive x. */
export function erfc(x: number): number {
  if (x >= 2.5) return erfcCf(x);
  if (x <= -2.5) return 2 - erfcCf(-x);
  return 1 - erfSeries(x);
}

/** Standard normal CDF, relatively accurate in both tails. */
export function normCdf(x: number): number {
  return 0.5 * erfc(-x * SQRT1_2);
}

export function normPdf(x: number): number {
  return Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
}

export interface Activation {
  f: (x: number) => number;
  /** f'(x) */
  df: (x: number) => number;
}

export function relu(x: number): number {
  return x > 0 ? x : 0;
}

export function leakyRelu(x: number, alpha: number): number {
  return x > 0 ? x : alpha * x;
}

export function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

export function gelu(x: number): number {
  return x * normCdf(x);
}

export const ACTIVATIONS: Record<string, (alpha: number) => Activation> = {
  relu: () => ({ f: relu, df: (x) => (x > 0 ? 1 : 0) }),
  leaky_relu: (a) => ({ f: (x) => leakyRelu(x, a), df: (x) => (x > 0 ? 1 : a) }),
  sigmoid: () => ({ f: sigmoid, df: (x) => sigmoid(x) * (1 - sigmoid(x)) }),
  tanh: () => ({ f: Math.tanh, df: (x) => 1 - Math.tanh(x) ** 2 }),
  gelu: () => ({ f: gelu, df: (x) => normCdf(x) + x * normPdf(x) }),
  silu: () => ({ f: (x) => x * sigmoid(x), df: (x) => sigmoid(x) * (1 + x * (1 - sigmoid(x))) }),
  exp: () => ({ f: Math.exp, df: Math.exp }),
};

/** y = f(x) element-wise in float64. */
export function actFwdRef(f: (x: number) => number, x: ArrayLike<number>): Float64Array {
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = f(x[i]);
  return y;
}
