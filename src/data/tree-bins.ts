// Target-aware bin edges for the piecewise-linear encoding (Gorishniy et al. 2022, "On Embeddings for Numerical
// Features in Tabular Deep Learning", §3.2.2): the split thresholds of a decision tree grown on one feature against
// a task's labels, so bins are narrow where the label changes and wide where it does not.
//
// The tree is the one scikit-learn grows with DecisionTreeClassifier (Gini) or DecisionTreeRegressor (squared error)
// given max_leaf_nodes = bins, min_samples_leaf and min_impurity_decrease, on float32 features:
// - best-first: the candidate split with the largest impurity decrease is made next, until bins − 1 splits are made
//   or no node can split;
// - a node's best split maximizes the decrease over positions between two sorted values x_{p−1} < x_p with
//   x_p > f32(x_{p−1} + 1e−7) (float32 arithmetic, so neighbouring floats near 1 are not split apart), with at least min_samples_leaf rows on each side (the first such position on ties);
// - the decrease of a split of node t is (n_t / n) · (I_t − n_L/n_t · I_L − n_R/n_t · I_R); a node is a leaf when it
//   has fewer than max(2, 2·min_samples_leaf) rows, is pure (I_t ≤ ε), has no valid split, or its decrease + ε is
//   below min_impurity_decrease;
// - the threshold is the midpoint x_{p−1}/2 + x_p/2 (float64).
// test/data/tree-bins.test.ts checks the edges against scikit-learn's trees.

/** What the tree is grown against. */
export interface TreeBinOptions {
  /** At most this many leaves, so at most bins − 1 thresholds. */
  bins: number;
  /** Rows each side of a split must keep. */
  minSamplesLeaf: number;
  /** A split must decrease the (row-weighted) impurity by at least this much. */
  minImpurityDecrease: number;
  /** Classes of the labels (class indices 0..classes − 1, Gini impurity), or 0 for a regression target (squared error). */
  classes: number;
}

/** scikit-learn's FEATURE_THRESHOLD (a float32): x_p is split from x_{p−1} only when x_p > f32(x_{p−1} + 1e−7). */
const FEATURE_THRESHOLD = Math.fround(1e-7);
const EPSILON = 2.220446049250313e-16;

interface Split {
  /** The node's rows are order[start, end) of the sorted feature. */
  start: number;
  end: number;
  /** The split position: left = [start, pos), right = [pos, end); −1 for a leaf. */
  pos: number;
  threshold: number;
  improvement: number;
  /** Impurities of the left and right rows (the children's, when the split is made). */
  impLeft: number;
  impRight: number;
}

/**
 * The thresholds (float64, increasing) of the tree on feature values `x` and labels `y` (same length; rows with a
 * missing value or label already removed). `x` is rounded to float32 first, as scikit-learn reads it.
 */
export function treeThresholds(x: ArrayLike<number>, y: ArrayLike<number>, o: TreeBinOptions): number[] {
  const n = x.length;
  if (y.length !== n) throw new Error(`treeThresholds: ${n} values but ${y.length} labels`);
  if (!(o.bins >= 1) || !(o.minSamplesLeaf >= 1)) throw new Error(`treeThresholds: bins ${o.bins} and minSamplesLeaf ${o.minSamplesLeaf} must be at least 1`);
  const K = o.classes;
  const xf = Float64Array.from(x, Math.fround);
  const order = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => xf[a] - xf[b] || a - b);
  const xs = Float64Array.from(order, (i) => xf[i]);
  for (let i = 0; i < n; i++) if (!Number.isFinite(xs[i])) throw new Error(`treeThresholds: value ${x[order[i]]} at row ${order[i]} is not a finite float32`);
  // Label statistics in sorted order: class indices, or values and squares.
  const ys = Float64Array.from(order, (i) => y[i]);
  if (K > 0) for (let i = 0; i < n; i++) if (!(Number.isInteger(ys[i]) && ys[i] >= 0 && ys[i] < K)) throw new Error(`treeThresholds: label ${ys[i]} at row ${order[i]} is not a class index below ${K}`);
  const counts = new Float64Array(Math.max(K, 1)), left = new Float64Array(Math.max(K, 1));

  /** Impurity of rows [a, b): Gini 1 − Σ (c_k / m)², or the variance Σy²/m − (Σy/m)². */
  const impurity = (a: number, b: number): number => {
    const m = b - a;
    if (K > 0) {
      counts.fill(0);
      for (let i = a; i < b; i++) counts[ys[i]]++;
      let s = 0;
      for (let k = 0; k < K; k++) s += (counts[k] / m) * (counts[k] / m);
      return 1 - s;
    }
    let s = 0, q = 0;
    for (let i = a; i < b; i++) (s += ys[i]), (q += ys[i] * ys[i]);
    return q / m - (s / m) * (s / m);
  };

  /** The best split of rows [a, b) (pos −1: none allowed), before the leaf rules on its decrease. */
  const bestSplit = (a: number, b: number, imp: number): Split => {
    const m = b - a, L = o.minSamplesLeaf;
    const out: Split = { start: a, end: b, pos: -1, threshold: NaN, improvement: 0, impLeft: NaN, impRight: NaN };
    if (m < 2 || m < 2 * L || imp <= EPSILON) return out;
    // Proxy of the decrease (scikit-learn's): Σ_k c_Lk²/n_L + Σ_k c_Rk²/n_R for Gini, s_L²/n_L + s_R²/n_R for squared error.
    let best = -Infinity, bestPos = -1;
    if (K > 0) {
      counts.fill(0), left.fill(0);
      for (let i = a; i < b; i++) counts[ys[i]]++;
      for (let p = a + 1; p < b; p++) {
        left[ys[p - 1]]++;
        const nl = p - a, nr = b - p;
        if (nl < L || nr < L || xs[p] <= Math.fround(xs[p - 1] + FEATURE_THRESHOLD)) continue;
        let sl = 0, sr = 0;
        for (let k = 0; k < K; k++) (sl += left[k] * left[k]), (sr += (counts[k] - left[k]) * (counts[k] - left[k]));
        const proxy = sl / nl + sr / nr;
        if (proxy > best) (best = proxy), (bestPos = p);
      }
    } else {
      let total = 0, sl = 0;
      for (let i = a; i < b; i++) total += ys[i];
      for (let p = a + 1; p < b; p++) {
        sl += ys[p - 1];
        const nl = p - a, nr = b - p;
        if (nl < L || nr < L || xs[p] <= Math.fround(xs[p - 1] + FEATURE_THRESHOLD)) continue;
        const sr = total - sl, proxy = (sl * sl) / nl + (sr * sr) / nr;
        if (proxy > best) (best = proxy), (bestPos = p);
      }
    }
    if (bestPos < 0) return out;
    // Exact in float64 for float32 values, so strictly between them (scikit-learn's fallback to x_{p−1} never applies).
    const t = xs[bestPos - 1] / 2 + xs[bestPos] / 2;
    const nl = bestPos - a, nr = b - bestPos;
    const impLeft = impurity(a, bestPos), impRight = impurity(bestPos, b);
    const improvement = (m / n) * (imp - (nr / m) * impRight - (nl / m) * impLeft);
    if (improvement + EPSILON < o.minImpurityDecrease) return out;
    return { start: a, end: b, pos: bestPos, threshold: t, improvement, impLeft, impRight };
  };

  const thresholds: number[] = [];
  if (n === 0) return thresholds;
  const frontier: Split[] = [bestSplit(0, n, impurity(0, n))];
  let splits = o.bins - 1;
  while (splits > 0) {
    // The splittable node with the largest decrease (the first pushed on ties).
    let at = -1;
    for (let i = 0; i < frontier.length; i++) if (frontier[i].pos >= 0 && (at < 0 || frontier[i].improvement > frontier[at].improvement)) at = i;
    if (at < 0) break;
    const s = frontier.splice(at, 1)[0];
    thresholds.push(s.threshold);
    splits--;
    frontier.push(bestSplit(s.start, s.pos, s.impLeft), bestSplit(s.pos, s.end, s.impRight));
  }
  return thresholds.sort((a, b) => a - b);
}
