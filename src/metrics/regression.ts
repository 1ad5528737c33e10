// Regression metrics in float64 (two-pass sums around the mean for the variance-based ones). Portable.
// All return NaN for empty input.

function check(what: string, y: ArrayLike<number>, p: ArrayLike<number>): number {
  if (y.length !== p.length) throw new Error(`${what}: targets have ${y.length} entries but predictions have ${p.length}`);
  return y.length;
}

/** Mean squared error. */
export function mse(y: ArrayLike<number>, pred: ArrayLike<number>): number {
  const n = check("mse", y, pred);
  let s = 0;
  for (let i = 0; i < n; i++) {
    const d = y[i] - pred[i];
    s += d * d;
  }
  return n ? s / n : NaN;
}

/** Root mean squared error √(Σ(y − ŷ)² / n). */
export function rmse(y: ArrayLike<number>, pred: ArrayLike<number>): number {
  return Math.sqrt(mse(y, pred));
}

/** Mean absolute error Σ|y − ŷ| / n. */
export function mae(y: ArrayLike<number>, pred: ArrayLike<number>): number {
  const n = check("mae", y, pred);
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.abs(y[i] - pred[i]);
  return n ? s / n : NaN;
}

function mean(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s / a.length;
}

/**
 * Coefficient of determination R² = 1 − SS_res / SS_tot, SS_tot = Σ(y − ȳ)². NaN when SS_tot = 0 (constant targets).
 * Note: the "explained variance = 1 − MSE / Var(y)" of the School literature (Bakker & Heskes; Argyriou et al.) is
 * exactly this R² (with the population variance).
 */
export function r2(y: ArrayLike<number>, pred: ArrayLike<number>): number {
  const n = check("r2", y, pred);
  if (!n) return NaN;
  const m = mean(y);
  let res = 0, tot = 0;
  for (let i = 0; i < n; i++) {
    const d = y[i] - pred[i], e = y[i] - m;
    res += d * d;
    tot += e * e;
  }
  return tot === 0 ? NaN : 1 - res / tot;
}

/**
 * Explained variance score as scikit-learn defines it: 1 − Var(y − ŷ) / Var(y). Unlike R² it ignores a constant bias
 * in the predictions. NaN when Var(y) = 0. (For the School benchmark's "1 − MSE / Var(y)" use r2.)
 */
export function explainedVariance(y: ArrayLike<number>, pred: ArrayLike<number>): number {
  const n = check("explainedVariance", y, pred);
  if (!n) return NaN;
  const my = mean(y);
  let mr = 0;
  for (let i = 0; i < n; i++) mr += y[i] - pred[i];
  mr /= n;
  let vr = 0, vy = 0;
  for (let i = 0; i < n; i++) {
    const r = y[i] - pred[i] - mr, e = y[i] - my;
    vr += r * r;
    vy += e * e;
  }
  return vy === 0 ? NaN : 1 - vr / vy;
}
