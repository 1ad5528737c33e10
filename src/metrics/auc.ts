// Exact ROC AUC in float64 via the Mann–Whitney U statistic with average ranks for tied scores:
// AUC = (R₊ − n₊(n₊+1)/2) / (n₊ · n₋), R₊ = sum of the (1-based, tie-averaged) ranks of the positives.
// This equals P(score₊ > score₋) + ½·P(score₊ = score₋) over all positive/negative pairs. O(n log n). Portable.

function checkLengths(what: string, a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length) throw new Error(`${what}: labels have ${a.length} entries but predictions have ${b.length}`);
}

/**
 * ROC AUC of `scores` against binary `labels` (each exactly 0 or 1). Returns NaN when either class is absent
 * (AUC undefined). Throws on a label other than 0/1 or a NaN score, naming the index.
 */
export function rocAuc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  checkLengths("rocAuc", labels, scores);
  const n = labels.length;
  const s = new Float64Array(n);
  let nPos = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    if (y !== 0 && y !== 1) throw new Error(`rocAuc: labels[${i}] = ${y}, expected 0 or 1`);
    nPos += y;
    const v = scores[i];
    if (Number.isNaN(v)) throw new Error(`rocAuc: scores[${i}] is NaN`);
    s[i] = v;
  }
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) return NaN;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => s[a] - s[b] || 0);
  // Walk runs of equal scores; every member of a run gets the run's average rank.
  let rankSumPos = 0;
  for (let i = 0; i < n; ) {
    let j = i + 1;
    const v = s[order[i]];
    while (j < n && s[order[j]] === v) j++;
    const avgRank = (i + 1 + j) / 2; // ranks i+1 .. j
    let pos = 0;
    for (let k = i; k < j; k++) pos += labels[order[k]];
    rankSumPos += pos * avgRank;
    i = j;
  }
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}
