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

/** smooth-L1 with β (PyTorch SmoothL1Loss): ½d²/β for |d| < β, |d| − ½β otherwise; Σ over outputs, masked mean over rows. */
export function smoothL1Ref(m: number, n: number, p: Arr, t: Arr, mask: Arr | null, beta: number): number {
  return meanOver(m, n, mask, (i, j) => {
    const d = Math.abs(p[i * n + j] - t[i * n + j]);
    return d < beta ? (0.5 * d * d) / beta : d - 0.5 * beta;
  });
}

/** 1 − GIoU of one box pair (Rezatofighi et al. 2019), boxes [x0, y0, x1, y1] read order-free, ε = 1e-7 as torchvision. */
export function giouOne(a: Arr, b: Arr, ia = 0, ib = 0): number {
  const eps = 1e-7;
  const ax0 = Math.min(a[ia], a[ia + 2]), ax1 = Math.max(a[ia], a[ia + 2]), ay0 = Math.min(a[ia + 1], a[ia + 3]), ay1 = Math.max(a[ia + 1], a[ia + 3]);
  const bx0 = Math.min(b[ib], b[ib + 2]), bx1 = Math.max(b[ib], b[ib + 2]), by0 = Math.min(b[ib + 1], b[ib + 3]), by1 = Math.max(b[ib + 1], b[ib + 3]);
  const inter = Math.max(0, Math.min(ax1, bx1) - Math.max(ax0, bx0)) * Math.max(0, Math.min(ay1, by1) - Math.max(ay0, by0));
  const union = (ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter;
  const c = (Math.max(ax1, bx1) - Math.min(ax0, bx0)) * (Math.max(ay1, by1) - Math.min(ay0, by0));
  return 1 - inter / (union + eps) + (c - union) / (c + eps);
}

/** Masked GIoU loss: Σ_i w_i·(1 − GIoU_i) / Σ_i w_i over present rows (n must be 4; one term per row, not per coordinate). */
export function giouRef(m: number, n: number, p: Arr, t: Arr, mask: Arr | null): number {
  if (n !== 4) throw new Error(`giouRef: boxes have 4 coordinates, got n = ${n}`);
  return meanOver(m, 1, mask, (i) => giouOne(p, t, 4 * i, 4 * i));
}
