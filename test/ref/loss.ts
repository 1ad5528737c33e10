// Float64 references for the masked losses (assembly/kernels/loss.ts). A row is present when its mask
// weight is > 0 (mask null = every row weight 1); missing rows are skipped, never multiplied by 0, so
// their targets may be NaN. Mean over present weight: Σ_i w_i·Σ_j ℓ_ij / (n·Σ_i w_i), 0 if Σ w = 0.

type Arr = ArrayLike<number>;

/** Row weight: mask[i] if > 0, else 0 (missing); 1 without a mask. */
export function rowWeight(mask: Arr | null, i: number): number {
  if (!mask) return 1;
  const w = mask[i];
  return w > 0 ? w : 0;
}

/** log(1 + e^u) without overflow. */
export function softplus(u: number): number {
  return Math.max(u, 0) + Math.log1p(Math.exp(-Math.abs(u)));
}

function meanOver(m: number, n: number, mask: Arr | null, ell: (i: number, j: number) => number): number {
  let acc = 0, wsum = 0;
  for (let i = 0; i < m; i++) {
    const w = rowWeight(mask, i);
    if (!(w > 0)) continue;
    let s = 0;
    for (let j = 0; j < n; j++) s += ell(i, j);
    acc += w * s;
    wsum += w;
  }
  return wsum > 0 ? acc / (n * wsum) : 0;
}

/** Softmax cross-entropy, logits [m, c], integer labels [m]; a label outside [0, c) marks the row missing. */
export function xentRef(m: number, c: number, logits: Arr, labels: Arr, mask: Arr | null): number {
  let acc = 0, wsum = 0;
  for (let i = 0; i < m; i++) {
    let w = rowWeight(mask, i);
    const y = labels[i];
    if (!(y >= 0 && y < c)) w = 0;
    if (!(w > 0)) continue;
    let mx = -Infinity;
    for (let j = 0; j < c; j++) mx = Math.max(mx, logits[i * c + j]);
    let s = 0;
    for (let j = 0; j < c; j++) s += Math.exp(logits[i * c + j] - mx);
    acc += w * (mx + Math.log(s) - logits[i * c + y]);
    wsum += w;
  }
  return wsum > 0 ? acc / wsum : 0;
}

/**
 * BCE with logits and pos_weight pw: ℓ = (1 − t)·z + (1 + (pw − 1)·t)·softplus(−z). Evaluated without
 * cancellation even in f64 (z ≪ 0, t = 0 would otherwise lose e^−|z| against |z|): softplus(−z) =
 * max(−z, 0) + log1p(e^−|z|) and the linear terms combine to (1 − t)·z for z ≥ 0, pw·t·(−z) for z < 0.
 */
export function bceRef(m: number, n: number, z: Arr, t: Arr, mask: Arr | null, pw: number): number {
  return meanOver(m, n, mask, (i, j) => {
    const k = i * n + j;
    const zk = z[k], tk = t[k];
    const lin = zk >= 0 ? (1 - tk) * zk : pw * tk * -zk;
    return lin + (1 + (pw - 1) * tk) * Math.log1p(Math.exp(-Math.abs(zk)));
  });
}

/** The textbook form (1 − t)·z + (1 + (pw − 1)·t)·softplus(−z), to cross-check bceRef where both are accurate. */
export function bceNaiveRef(z: number, t: number, pw: number): number {
  return (1 - t) * z + (1 + (pw - 1) * t) * softplus(-z);
}

export function mseRef(m: number, n: number, p: Arr, t: Arr, mask: Arr | null): number {
  return meanOver(m, n, mask, (i, j) => (p[i * n + j] - t[i * n + j]) ** 2);
}

export function maeRef(m: number, n: number, p: Arr, t: Arr, mask: Arr | null): number {
  return meanOver(m, n, mask, (i, j) => Math.abs(p[i * n + j] - t[i * n + j]));
}

export function huberRef(m: number, n: number, p: Arr, t: Arr, mask: Arr | null, delta: number): number {
  return meanOver(m, n, mask, (i, j) => {
    const d = Math.abs(p[i * n + j] - t[i * n + j]);
    return d <= delta ? 0.5 * d * d : delta * (d - 0.5 * delta);
  });
}
