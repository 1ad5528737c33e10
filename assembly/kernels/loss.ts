// Masked task losses: softmax cross-entropy, binary cross-entropy with logits (pos_weight), MSE, MAE, Huber,
// and GIoU for boxes (at the end of the file). smooth-L1 with β is huber with δ = β divided by β (src/ops/loss/smooth-l1.ts).
//
// Row masks: every kernel takes `mask_ptr`, f32 [m], one non-negative weight per row (1 = label present,
// 0 = label missing, other values = per-row sample weight). mask_ptr == 0 means every row has weight 1.
// A row whose weight is not > 0 (0, negative or NaN) is MISSING: it is skipped by selection, never
// multiplied by 0, so its targets/labels may hold NaN or garbage. Mean reduction over the present weight:
//   loss = Σ_i w_i·Σ_j ℓ_ij / (n·Σ_i w_i)     (n = 1 for xent), and loss = 0 when Σ_i w_i = 0.
// Backward kernels write d(scale·loss)/dz: row i gets scale·w_i·∂ℓ_ij/∂z_ij / (n·Σ w), missing rows get 0.
// Forward kernels accumulate in f64 (f32x4 partial sums flushed every 256 elements).
// Outputs of backward kernels must not alias the inputs.
import { exp_f32x4, hmax_f32x4, hsum64, off4, zero_or_scale } from "../simd";

// Element-wise loss kinds (compile-time constants: the drivers below are @inline, so each kernel
// keeps only its own branch).
const K_MSE: i32 = 0;
const K_MAE: i32 = 1;
const K_HUBER: i32 = 2;
const K_BCE: i32 = 3;

// Partial f32x4 sums are flushed into f64 every FLUSH elements.
const FLUSH: i32 = 256;

// ---------------------------------------------------------------------------------------------------
// SIMD math

/** log1p(t) per lane for t ∈ [0, 1] (Cephes logf on s = 1 + t in [1, 2], Goldberg's correction for s's rounding). */
// @ts-ignore: decorator
@inline function vlog1p01(t: v128): v128 {
  const one = f32x4.splat(1.0);
  const s = f32x4.add(one, t);
  const big = f32x4.gt(s, f32x4.splat(1.41421356237));
  const x = v128.bitselect(f32x4.mul(s, f32x4.splat(0.5)), s, big);
  const e = v128.and(one, big);
  const f = f32x4.sub(x, one);
  const z = f32x4.mul(f, f);
  let y = f32x4.add(f32x4.mul(f32x4.splat(7.0376836292e-2), f), f32x4.splat(-1.1514610310e-1));
  y = f32x4.add(f32x4.mul(y, f), f32x4.splat(1.1676998740e-1));
  y = f32x4.add(f32x4.mul(y, f), f32x4.splat(-1.2420140846e-1));
  y = f32x4.add(f32x4.mul(y, f), f32x4.splat(1.4249322787e-1));
  y = f32x4.add(f32x4.mul(y, f), f32x4.splat(-1.6668057665e-1));
  y = f32x4.add(f32x4.mul(y, f), f32x4.splat(2.0000714765e-1));
  y = f32x4.add(f32x4.mul(y, f), f32x4.splat(-2.4999993993e-1));
  y = f32x4.add(f32x4.mul(y, f), f32x4.splat(3.3333331174e-1));
  y = f32x4.mul(f32x4.mul(y, f), z);
  y = f32x4.add(y, f32x4.mul(e, f32x4.splat(-2.12194440e-4)));
  y = f32x4.sub(y, f32x4.mul(z, f32x4.splat(0.5)));
  const ls = f32x4.add(f32x4.add(f, y), f32x4.mul(e, f32x4.splat(0.693359375)));
  const d = f32x4.sub(s, one);
  // log1p(t) = log(s)·t/(s − 1); when s rounds to 1, log1p(t) = t to f32 precision.
  return v128.bitselect(t, f32x4.div(f32x4.mul(ls, t), d), f32x4.eq(d, f32x4.splat(0)));
}

// ---------------------------------------------------------------------------------------------------
// Element-wise losses: z = prediction/logit, t = target, a = delta (huber) or pos_weight (bce).

// @ts-ignore: decorator
@inline function elem_loss(kind: i32, z: v128, t: v128, a: f32): v128 {
  if (kind == K_MSE) {
    const d = f32x4.sub(z, t);
    return f32x4.mul(d, d);
  } else if (kind == K_MAE) {
    return f32x4.abs(f32x4.sub(z, t));
  } else if (kind == K_HUBER) {
    // ½d² for |d| ≤ δ, δ(|d| − ½δ) otherwise; with c = min(|d|, δ): ℓ = c·(|d| − ½c).
    const ad = f32x4.abs(f32x4.sub(z, t));
    const c = f32x4.pmin(ad, f32x4.splat(a));
    return f32x4.mul(c, f32x4.sub(ad, f32x4.mul(c, f32x4.splat(0.5))));
  } else {
    // (1 − t)·z + L·softplus(−z), L = 1 + (pw − 1)·t, softplus(−z) = max(−z, 0) + log1p(e^−|z|). The linear
    // part is folded per sign so nothing cancels: z ≥ 0: (1 − t)·z + L·lp; z < 0: pw·t·(−z) + L·lp.
    const one = f32x4.splat(1.0);
    const lw = f32x4.add(one, f32x4.mul(f32x4.splat(a - 1), t));
    const lp = vlog1p01(exp_f32x4(f32x4.neg(f32x4.abs(z))));
    const lin = v128.bitselect(f32x4.mul(f32x4.sub(one, t), z), f32x4.mul(f32x4.mul(f32x4.splat(a), t), f32x4.neg(z)), f32x4.ge(z, f32x4.splat(0)));
    return f32x4.add(lin, f32x4.mul(lw, lp));
  }
}

// @ts-ignore: decorator
@inline function elem_grad(kind: i32, z: v128, t: v128, a: f32): v128 {
  if (kind == K_MSE) {
    const d = f32x4.sub(z, t);
    return f32x4.add(d, d);
  } else if (kind == K_MAE) {
    // sign(d), 0 at d == 0.
    const d = f32x4.sub(z, t);
    const one = f32x4.splat(1.0);
    return f32x4.sub(v128.and(one, f32x4.gt(d, f32x4.splat(0))), v128.and(one, f32x4.lt(d, f32x4.splat(0))));
  } else if (kind == K_HUBER) {
    // clamp(d, −δ, δ)
    return f32x4.pmin(f32x4.pmax(f32x4.sub(z, t), f32x4.splat(-a)), f32x4.splat(a));
  } else {
    // (1 − t) − L·σ(−z). With s = σ(−|z|) = e/(1 + e), e = exp(−|z|) ≤ 1 (no overflow, no cancellation):
    // z ≥ 0: (1 − t) − L·s;  z < 0: using σ(−z) = 1 − σ(z), (1 − t) − L + L·σ(z) = L·s − pw·t.
    const one = f32x4.splat(1.0);
    const lw = f32x4.add(one, f32x4.mul(f32x4.splat(a - 1), t));
    const e = exp_f32x4(f32x4.neg(f32x4.abs(z)));
    const ls = f32x4.mul(lw, f32x4.div(e, f32x4.add(one, e)));
    return v128.bitselect(f32x4.sub(f32x4.sub(one, t), ls), f32x4.sub(ls, f32x4.mul(f32x4.splat(a), t)), f32x4.ge(z, f32x4.splat(0)));
  }
}

/** Σ of ℓ over cnt contiguous elements, f64. */
// @ts-ignore: decorator
@inline function ew_sum(kind: i32, cnt: i32, z_ptr: usize, t_ptr: usize, a: f32): f64 {
  let total: f64 = 0;
  const cnt4 = cnt & ~3;
  let i = 0;
  while (i < cnt4) {
    let acc = f32x4.splat(0);
    const end = min(cnt4, i + FLUSH);
    for (; i < end; i += 4) {
      acc = f32x4.add(acc, elem_loss(kind, v128.load(z_ptr + off4(i)), v128.load(t_ptr + off4(i)), a));
    }
    total += hsum64(acc);
  }
  for (; i < cnt; i++) {
    const l = elem_loss(kind, f32x4.splat(load<f32>(z_ptr + off4(i))), f32x4.splat(load<f32>(t_ptr + off4(i))), a);
    total += <f64>f32x4.extract_lane(l, 0);
  }
  return total;
}

/** d[i] = (beta·d[i] if accum) + c·∂ℓ(z[i], t[i]) over cnt contiguous elements. */
// @ts-ignore: decorator
@inline function ew_grad(kind: i32, accum: bool, cnt: i32, z_ptr: usize, t_ptr: usize, d_ptr: usize, a: f32, c: f32, beta: f32): void {
  const cv = f32x4.splat(c);
  const bv = f32x4.splat(beta);
  let i = 0;
  for (; i + 4 <= cnt; i += 4) {
    let g = f32x4.mul(cv, elem_grad(kind, v128.load(z_ptr + off4(i)), v128.load(t_ptr + off4(i)), a));
    if (accum) g = f32x4.add(f32x4.mul(bv, v128.load(d_ptr + off4(i))), g);
    v128.store(d_ptr + off4(i), g);
  }
  for (; i < cnt; i++) {
    let g = c * f32x4.extract_lane(elem_grad(kind, f32x4.splat(load<f32>(z_ptr + off4(i))), f32x4.splat(load<f32>(t_ptr + off4(i))), a), 0);
    if (accum) g = beta * load<f32>(d_ptr + off4(i)) + g;
    store<f32>(d_ptr + off4(i), g);
  }
}


/** Σ of the mask weights that are > 0 (present rows), f64. */
// @ts-ignore: decorator
@inline function mask_sum(m: i32, mask_ptr: usize): f64 {
  let total: f64 = 0;
  const zero = f32x4.splat(0);
  const m4 = m & ~3;
  let i = 0;
  while (i < m4) {
    let acc = zero;
    const end = min(m4, i + FLUSH);
    for (; i < end; i += 4) {
      const w = v128.load(mask_ptr + off4(i));
      acc = f32x4.add(acc, v128.and(w, f32x4.gt(w, zero)));
    }
    total += hsum64(acc);
  }
  for (; i < m; i++) {
    const w = load<f32>(mask_ptr + off4(i));
    if (w > 0) total += <f64>w;
  }
  return total;
}

// @ts-ignore: decorator
@inline function ew_fwd(kind: i32, m: i32, n: i32, z_ptr: usize, t_ptr: usize, mask_ptr: usize, a: f32): f32 {
  if (m <= 0 || n <= 0) return 0;
  if (!mask_ptr) return <f32>(ew_sum(kind, m * n, z_ptr, t_ptr, a) / (<f64>m * <f64>n));
  let acc: f64 = 0;
  let wsum: f64 = 0;
  if (n == 1) {
    // One output per row: vectorise across rows, lanes of missing rows are selected to 0.
    const zero = f32x4.splat(0);
    const m4 = m & ~3;
    let i = 0;
    while (i < m4) {
      let la = zero;
      let wa = zero;
      const end = min(m4, i + FLUSH);
      for (; i < end; i += 4) {
        const w = v128.load(mask_ptr + off4(i));
        const keep = f32x4.gt(w, zero);
        const wk = v128.and(w, keep);
        const l = v128.and(elem_loss(kind, v128.load(z_ptr + off4(i)), v128.load(t_ptr + off4(i)), a), keep);
        la = f32x4.add(la, f32x4.mul(l, wk));
        wa = f32x4.add(wa, wk);
      }
      acc += hsum64(la);
      wsum += hsum64(wa);
    }
    for (; i < m; i++) {
      const w = load<f32>(mask_ptr + off4(i));
      if (!(w > 0)) continue;
      const l = elem_loss(kind, f32x4.splat(load<f32>(z_ptr + off4(i))), f32x4.splat(load<f32>(t_ptr + off4(i))), a);
      acc += <f64>w * <f64>f32x4.extract_lane(l, 0);
      wsum += <f64>w;
    }
  } else {
    for (let i = 0; i < m; i++) {
      const w = load<f32>(mask_ptr + off4(i));
      if (!(w > 0)) continue;
      const row = (<usize>i * <usize>n) << 2;
      acc += <f64>w * ew_sum(kind, n, z_ptr + row, t_ptr + row, a);
      wsum += <f64>w;
    }
  }
  return wsum > 0 ? <f32>(acc / (<f64>n * wsum)) : 0;
}

// @ts-ignore: decorator
@inline function ew_bwd(kind: i32, m: i32, n: i32, z_ptr: usize, t_ptr: usize, mask_ptr: usize, d_ptr: usize, a: f32, scale: f32, beta: f32): void {
  if (m <= 0 || n <= 0) return;
  const total = m * n;
  if (!mask_ptr) {
    const c = <f32>(<f64>scale / (<f64>m * <f64>n));
    if (beta == 0) ew_grad(kind, false, total, z_ptr, t_ptr, d_ptr, a, c, beta);
    else ew_grad(kind, true, total, z_ptr, t_ptr, d_ptr, a, c, beta);
    return;
  }
  const wsum = mask_sum(m, mask_ptr);
  if (!(wsum > 0)) {
    zero_or_scale(total, d_ptr, beta);
    return;
  }
  const coef = <f32>(<f64>scale / (<f64>n * wsum));
  if (n == 1) {
    const zero = f32x4.splat(0);
    const cv = f32x4.splat(coef);
    const bv = f32x4.splat(beta);
    let i = 0;
    if (beta == 0) {
      for (; i + 4 <= m; i += 4) {
        const w = v128.load(mask_ptr + off4(i));
        const keep = f32x4.gt(w, zero);
        const g = elem_grad(kind, v128.load(z_ptr + off4(i)), v128.load(t_ptr + off4(i)), a);
        v128.store(d_ptr + off4(i), v128.and(f32x4.mul(f32x4.mul(cv, w), g), keep));
      }
    } else {
      for (; i + 4 <= m; i += 4) {
        const w = v128.load(mask_ptr + off4(i));
        const keep = f32x4.gt(w, zero);
        const g = v128.and(f32x4.mul(f32x4.mul(cv, w), elem_grad(kind, v128.load(z_ptr + off4(i)), v128.load(t_ptr + off4(i)), a)), keep);
        v128.store(d_ptr + off4(i), f32x4.add(f32x4.mul(bv, v128.load(d_ptr + off4(i))), g));
      }
    }
    for (; i < m; i++) {
      const w = load<f32>(mask_ptr + off4(i));
      let g: f32 = 0;
      if (w > 0) {
        g = coef * w * f32x4.extract_lane(elem_grad(kind, f32x4.splat(load<f32>(z_ptr + off4(i))), f32x4.splat(load<f32>(t_ptr + off4(i))), a), 0);
      }
      if (beta != 0) g = beta * load<f32>(d_ptr + off4(i)) + g;
      store<f32>(d_ptr + off4(i), g);
    }
    return;
  }
  for (let i = 0; i < m; i++) {
    const w = load<f32>(mask_ptr + off4(i));
    const row = (<usize>i * <usize>n) << 2;
    if (!(w > 0)) {
      zero_or_scale(n, d_ptr + row, beta);
    } else if (beta == 0) {
      ew_grad(kind, false, n, z_ptr + row, t_ptr + row, d_ptr + row, a, coef * w, beta);
    } else {
      ew_grad(kind, true, n, z_ptr + row, t_ptr + row, d_ptr + row, a, coef * w, beta);
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Softmax cross-entropy helpers

/** Is row i present: weight > 0 (1 without a mask) and 0 ≤ label < c. Returns the weight, or 0 if missing. */
// @ts-ignore: decorator
@inline function xent_weight(i: i32, c: i32, labels_ptr: usize, mask_ptr: usize): f32 {
  let w: f32 = 1;
  if (mask_ptr) {
    w = load<f32>(mask_ptr + off4(i));
    if (!(w > 0)) return 0;
  }
  const y = load<i32>(labels_ptr + off4(i));
  return <u32>y < <u32>c ? w : 0;
}

/** Largest element of a row of c ≥ 1 values. */
// @ts-ignore: decorator
@inline function row_max(c: i32, z_ptr: usize): f32 {
  let mx: f32 = load<f32>(z_ptr);
  let j = 0;
  if (c >= 4) {
    let mv = v128.load(z_ptr);
    for (j = 4; j + 4 <= c; j += 4) mv = f32x4.max(mv, v128.load(z_ptr + off4(j)));
    mx = hmax_f32x4(mv);
  }
  for (; j < c; j++) mx = max(mx, load<f32>(z_ptr + off4(j)));
  return mx;
}

/** Σ_j exp(z_j − mx) (f64), optionally storing each exp(z_j − mx) to e_ptr. */
// @ts-ignore: decorator
@inline function row_sumexp(store_e: bool, c: i32, z_ptr: usize, e_ptr: usize, mx: f32): f64 {
  const mv = f32x4.splat(mx);
  let total: f64 = 0;
  const c4 = c & ~3;
  let j = 0;
  while (j < c4) {
    let acc = f32x4.splat(0);
    const end = min(c4, j + FLUSH);
    for (; j < end; j += 4) {
      const e = exp_f32x4(f32x4.sub(v128.load(z_ptr + off4(j)), mv));
      if (store_e) v128.store(e_ptr + off4(j), e);
      acc = f32x4.add(acc, e);
    }
    total += hsum64(acc);
  }
  for (; j < c; j++) {
    const e = f32x4.extract_lane(exp_f32x4(f32x4.splat(load<f32>(z_ptr + off4(j)) - mx)), 0);
    if (store_e) store<f32>(e_ptr + off4(j), e);
    total += <f64>e;
  }
  return total;
}

// ---------------------------------------------------------------------------------------------------
// Kernels

/**
 * Masked softmax cross-entropy, mean over present rows: Σ_i w_i·(logsumexp(z_i) − z_i[y_i]) / Σ_i w_i.
 * logits: [m, c]; labels: i32 [m] class indices; mask: f32 [m] or 0. A row is present when its weight is
 * > 0 and 0 ≤ y_i < c: a label outside [0, c) (e.g. −1) marks the row missing like a 0 weight does.
 * Stable log-sum-exp (max subtracted). Returns 0 if no row is present.
 */
export function xent_fwd_f32x4(m: i32, c: i32, logits_ptr: usize, labels_ptr: usize, mask_ptr: usize): f32 {
  if (m <= 0 || c <= 0) return 0;
  let acc: f64 = 0;
  let wsum: f64 = 0;
  for (let i = 0; i < m; i++) {
    const w = xent_weight(i, c, labels_ptr, mask_ptr);
    if (!(w > 0)) continue;
    const z = logits_ptr + ((<usize>i * <usize>c) << 2);
    const mx = row_max(c, z);
    const s = row_sumexp(false, c, z, 0, mx);
    const zy = load<f32>(z + off4(load<i32>(labels_ptr + off4(i))));
    acc += <f64>w * (<f64>mx + Math.log(s) - <f64>zy);
    wsum += <f64>w;
  }
  return wsum > 0 ? <f32>(acc / wsum) : 0;
}

/**
 * Gradient of scale·xent_fwd w.r.t. the logits:
 *   dlogits_i = beta·dlogits_i + scale·w_i·(softmax(z_i) − onehot(y_i)) / Σ w   for present rows,
 *   dlogits_i = beta·dlogits_i                                                  for missing rows.
 * logits, dlogits: [m, c]; labels: i32 [m]; mask: f32 [m] or 0 (presence as in xent_fwd_f32x4).
 * beta = 0 overwrites (dlogits is never read), beta = 1 accumulates. dlogits must not alias logits.
 */
export function xent_bwd_f32x4(m: i32, c: i32, logits_ptr: usize, labels_ptr: usize, mask_ptr: usize, dlogits_ptr: usize, scale: f32, beta: f32): void {
  if (m <= 0 || c <= 0) return;
  let wsum: f64 = 0;
  for (let i = 0; i < m; i++) wsum += <f64>xent_weight(i, c, labels_ptr, mask_ptr);
  const coef: f32 = wsum > 0 ? <f32>(<f64>scale / wsum) : 0;
  for (let i = 0; i < m; i++) {
    const row = (<usize>i * <usize>c) << 2;
    const z = logits_ptr + row;
    const d = dlogits_ptr + row;
    const w = xent_weight(i, c, labels_ptr, mask_ptr);
    if (!(w > 0)) {
      zero_or_scale(c, d, beta);
      continue;
    }
    const cw = coef * w;
    const mx = row_max(c, z);
    if (beta == 0) {
      // Keep exp(z − mx) in dlogits, then scale it in place.
      const s = row_sumexp(true, c, z, d, mx);
      const inv = <f32>(<f64>cw / s);
      const iv = f32x4.splat(inv);
      let j = 0;
      for (; j + 4 <= c; j += 4) v128.store(d + off4(j), f32x4.mul(iv, v128.load(d + off4(j))));
      for (; j < c; j++) store<f32>(d + off4(j), inv * load<f32>(d + off4(j)));
    } else {
      const s = row_sumexp(false, c, z, 0, mx);
      const inv = <f32>(<f64>cw / s);
      const iv = f32x4.splat(inv);
      const bv = f32x4.splat(beta);
      const mv = f32x4.splat(mx);
      let j = 0;
      for (; j + 4 <= c; j += 4) {
        const e = exp_f32x4(f32x4.sub(v128.load(z + off4(j)), mv));
        v128.store(d + off4(j), f32x4.add(f32x4.mul(bv, v128.load(d + off4(j))), f32x4.mul(iv, e)));
      }
      for (; j < c; j++) {
        const e = f32x4.extract_lane(exp_f32x4(f32x4.splat(load<f32>(z + off4(j)) - mx)), 0);
        store<f32>(d + off4(j), beta * load<f32>(d + off4(j)) + inv * e);
      }
    }
    const dy = d + off4(load<i32>(labels_ptr + off4(i)));
    store<f32>(dy, load<f32>(dy) - cw);
  }
}

/**
 * Masked binary cross-entropy with logits and pos_weight pw (PyTorch BCEWithLogitsLoss), mean over present
 * elements: ℓ = (1 − t)·z + (1 + (pw − 1)·t)·softplus(−z), softplus(u) = max(u, 0) + log1p(e^−|u|).
 * logits, targets: [m, n] (n = 1 binary task, n > 1 multilabel), targets in [0, 1]; mask: f32 [m] or 0.
 * Returns Σ_i w_i·Σ_j ℓ_ij / (n·Σ w), 0 if no row is present.
 */
export function bce_fwd_f32x4(m: i32, n: i32, logits_ptr: usize, targets_ptr: usize, mask_ptr: usize, pos_weight: f32): f32 {
  return ew_fwd(K_BCE, m, n, logits_ptr, targets_ptr, mask_ptr, pos_weight);
}

/**
 * Gradient of scale·bce_fwd: dlogits_ij = beta·dlogits_ij + scale·w_i·((1 − t) − (1 + (pw − 1)·t)·σ(−z)) / (n·Σ w);
 * missing rows get beta·dlogits. Shapes as bce_fwd_f32x4; dlogits: [m, n].
 * beta = 0 overwrites (dlogits is never read), beta = 1 accumulates. dlogits must not alias the inputs.
 */
export function bce_bwd_f32x4(m: i32, n: i32, logits_ptr: usize, targets_ptr: usize, mask_ptr: usize, dlogits_ptr: usize, pos_weight: f32, scale: f32, beta: f32): void {
  ew_bwd(K_BCE, m, n, logits_ptr, targets_ptr, mask_ptr, dlogits_ptr, pos_weight, scale, beta);
}

/**
 * Masked mean squared error: Σ_i w_i·Σ_j (p_ij − t_ij)² / (n·Σ w), 0 if no row is present.
 * pred, target: [m, n]; mask: f32 [m] or 0.
 */
export function mse_fwd_f32x4(m: i32, n: i32, pred_ptr: usize, target_ptr: usize, mask_ptr: usize): f32 {
  return ew_fwd(K_MSE, m, n, pred_ptr, target_ptr, mask_ptr, 0);
}

/**
 * Gradient of scale·mse_fwd: dpred_ij = beta·dpred_ij + scale·w_i·2(p_ij − t_ij) / (n·Σ w); missing rows get
 * beta·dpred. pred, target, dpred: [m, n]; mask: f32 [m] or 0. beta = 0 overwrites, 1 accumulates.
 * dpred must not alias the inputs.
 */
export function mse_bwd_f32x4(m: i32, n: i32, pred_ptr: usize, target_ptr: usize, mask_ptr: usize, dpred_ptr: usize, scale: f32, beta: f32): void {
  ew_bwd(K_MSE, m, n, pred_ptr, target_ptr, mask_ptr, dpred_ptr, 0, scale, beta);
}

/**
 * Masked mean absolute error: Σ_i w_i·Σ_j |p_ij − t_ij| / (n·Σ w), 0 if no row is present.
 * pred, target: [m, n]; mask: f32 [m] or 0.
 */
export function mae_fwd_f32x4(m: i32, n: i32, pred_ptr: usize, target_ptr: usize, mask_ptr: usize): f32 {
  return ew_fwd(K_MAE, m, n, pred_ptr, target_ptr, mask_ptr, 0);
}

/**
 * Gradient of scale·mae_fwd: dpred_ij = beta·dpred_ij + scale·w_i·sign(p_ij − t_ij) / (n·Σ w), sign(0) = 0;
 * missing rows get beta·dpred. Shapes as mse_bwd_f32x4. beta = 0 overwrites, 1 accumulates.
 * dpred must not alias the inputs.
 */
export function mae_bwd_f32x4(m: i32, n: i32, pred_ptr: usize, target_ptr: usize, mask_ptr: usize, dpred_ptr: usize, scale: f32, beta: f32): void {
  ew_bwd(K_MAE, m, n, pred_ptr, target_ptr, mask_ptr, dpred_ptr, 0, scale, beta);
}

/**
 * Masked Huber loss with threshold δ > 0: ℓ = ½d² if |d| ≤ δ else δ(|d| − ½δ), d = p − t;
 * returns Σ_i w_i·Σ_j ℓ_ij / (n·Σ w), 0 if no row is present. pred, target: [m, n]; mask: f32 [m] or 0.
 */
export function huber_fwd_f32x4(m: i32, n: i32, pred_ptr: usize, target_ptr: usize, mask_ptr: usize, delta: f32): f32 {
  return ew_fwd(K_HUBER, m, n, pred_ptr, target_ptr, mask_ptr, delta);
}

/**
 * Gradient of scale·huber_fwd: dpred_ij = beta·dpred_ij + scale·w_i·clamp(p_ij − t_ij, −δ, δ) / (n·Σ w);
 * missing rows get beta·dpred. Shapes as mse_bwd_f32x4. beta = 0 overwrites, 1 accumulates.
 * dpred must not alias the inputs.
 */
export function huber_bwd_f32x4(m: i32, n: i32, pred_ptr: usize, target_ptr: usize, mask_ptr: usize, dpred_ptr: usize, delta: f32, scale: f32, beta: f32): void {
  ew_bwd(K_HUBER, m, n, pred_ptr, target_ptr, mask_ptr, dpred_ptr, delta, scale, beta);
}

// ---------------------------------------------------------------------------------------------------
// GIoU box loss (Rezatofighi et al. 2019, "Generalized Intersection over Union")
//
// Rows are boxes [x0, y0, x1, y1] (n = 4 per row, x = column). Boxes are order-free: a box is read as
// [min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)], so a prediction with x1 < x0 is the same box as
// its swapped form, and its gradient is routed through the min/max to whichever coordinate is the min
// (on a tie x0 == x1, x0 takes the min's gradient). With I the intersection area, U = A_p + A_g − I the
// union and C the area of the smallest enclosing box, and ε = 1e-7 as torchvision's
// generalized_box_iou_loss (so two degenerate boxes give a finite loss):
//   ℓ = 1 − GIoU = 1 − I/(U + ε) + (C − U)/(C + ε) ∈ [0, 2].
// The kinks (an edge of the prediction meeting an edge of the target, or an empty intersection turning
// non-empty) take the one-sided derivative that drops the kinked term: d min(p, g)/dp = [p < g],
// d max(p, g)/dp = [p > g]. Mean over present rows (not over the 4 coordinates):
//   loss = Σ_i w_i·ℓ_i / Σ_i w_i, 0 when no row is present.
// Vectorised across 4 rows (the 4×4 block of 4 rows is transposed into x0, y0, x1, y1 lane vectors);
// leftover rows run one at a time through the same lane code.

const GIOU_EPS: f32 = 1e-7;

/** Column k (0..3, a compile-time constant) of the 4×4 f32 block whose rows are r0..r3 (transposing is its own inverse). */
// @ts-ignore: decorator
@inline function tr_col(r0: v128, r1: v128, r2: v128, r3: v128, k: i32): v128 {
  if (k == 0) return v128.shuffle<f32>(v128.shuffle<f32>(r0, r1, 0, 4, 1, 5), v128.shuffle<f32>(r2, r3, 0, 4, 1, 5), 0, 1, 4, 5);
  if (k == 1) return v128.shuffle<f32>(v128.shuffle<f32>(r0, r1, 0, 4, 1, 5), v128.shuffle<f32>(r2, r3, 0, 4, 1, 5), 2, 3, 6, 7);
  if (k == 2) return v128.shuffle<f32>(v128.shuffle<f32>(r0, r1, 2, 6, 3, 7), v128.shuffle<f32>(r2, r3, 2, 6, 3, 7), 0, 1, 4, 5);
  return v128.shuffle<f32>(v128.shuffle<f32>(r0, r1, 2, 6, 3, 7), v128.shuffle<f32>(r2, r3, 2, 6, 3, 7), 2, 3, 6, 7);
}

/** 1 − GIoU per lane; a = prediction, b = target, each as lane vectors x0, y0, x1, y1. NaN propagates. */
// @ts-ignore: decorator
@inline function giou_loss4(ax0: v128, ay0: v128, ax1: v128, ay1: v128, bx0: v128, by0: v128, bx1: v128, by1: v128): v128 {
  const zero = f32x4.splat(0);
  const px0 = f32x4.min(ax0, ax1), px1 = f32x4.max(ax0, ax1), py0 = f32x4.min(ay0, ay1), py1 = f32x4.max(ay0, ay1);
  const gx0 = f32x4.min(bx0, bx1), gx1 = f32x4.max(bx0, bx1), gy0 = f32x4.min(by0, by1), gy1 = f32x4.max(by0, by1);
  const iw = f32x4.max(f32x4.sub(f32x4.min(px1, gx1), f32x4.max(px0, gx0)), zero);
  const ih = f32x4.max(f32x4.sub(f32x4.min(py1, gy1), f32x4.max(py0, gy0)), zero);
  const inter = f32x4.mul(iw, ih);
  const ap = f32x4.mul(f32x4.sub(px1, px0), f32x4.sub(py1, py0));
  const ag = f32x4.mul(f32x4.sub(gx1, gx0), f32x4.sub(gy1, gy0));
  const ue = f32x4.add(f32x4.sub(f32x4.add(ap, ag), inter), f32x4.splat(GIOU_EPS));
  const cw = f32x4.sub(f32x4.max(px1, gx1), f32x4.min(px0, gx0));
  const ch = f32x4.sub(f32x4.max(py1, gy1), f32x4.min(py0, gy0));
  const ce = f32x4.add(f32x4.mul(cw, ch), f32x4.splat(GIOU_EPS));
  // 1 − I/(U + ε) + (C − U)/(C + ε) = 2 − I/ue − ue/ce
  return f32x4.sub(f32x4.sub(f32x4.splat(2), f32x4.div(inter, ue)), f32x4.div(ue, ce));
}

/**
 * Gradient of c·(1 − GIoU) per lane with respect to the prediction a (lane vectors x0, y0, x1, y1), c a lane
 * vector (row weight × coefficient, 0 in missing lanes: their NaNs are cleared). `full`: the lanes are 4 rows,
 * transposed back and stored as 4 rows at d_ptr; otherwise lane 0 is one row. `accum`: d = beta·d + grad.
 */
// @ts-ignore: decorator
@inline function giou_grad4(full: bool, accum: bool, ax0: v128, ay0: v128, ax1: v128, ay1: v128, bx0: v128, by0: v128, bx1: v128, by1: v128, c: v128, keep: v128, d_ptr: usize, beta: f32): void {
  const zero = f32x4.splat(0);
  const one = f32x4.splat(1);
  const px0 = f32x4.min(ax0, ax1), px1 = f32x4.max(ax0, ax1), py0 = f32x4.min(ay0, ay1), py1 = f32x4.max(ay0, ay1);
  const gx0 = f32x4.min(bx0, bx1), gx1 = f32x4.max(bx0, bx1), gy0 = f32x4.min(by0, by1), gy1 = f32x4.max(by0, by1);
  const iw = f32x4.max(f32x4.sub(f32x4.min(px1, gx1), f32x4.max(px0, gx0)), zero);
  const ih = f32x4.max(f32x4.sub(f32x4.min(py1, gy1), f32x4.max(py0, gy0)), zero);
  const inter = f32x4.mul(iw, ih);
  const wp = f32x4.sub(px1, px0), hp = f32x4.sub(py1, py0);
  const ag = f32x4.mul(f32x4.sub(gx1, gx0), f32x4.sub(gy1, gy0));
  const ue = f32x4.add(f32x4.sub(f32x4.add(f32x4.mul(wp, hp), ag), inter), f32x4.splat(GIOU_EPS));
  const cw = f32x4.sub(f32x4.max(px1, gx1), f32x4.min(px0, gx0));
  const ch = f32x4.sub(f32x4.max(py1, gy1), f32x4.min(py0, gy0));
  const ce = f32x4.add(f32x4.mul(cw, ch), f32x4.splat(GIOU_EPS));
  // ℓ = 2 − I/ue − ue/ce, ue = A_p + A_g − I + ε, ce = C + ε:
  //   ∂ℓ/∂A_p = I/ue² − 1/ce,  ∂ℓ/∂I = −1/ue − ∂ℓ/∂A_p,  ∂ℓ/∂C = ue/ce².
  const iu = f32x4.div(one, ue);
  const ga = f32x4.sub(f32x4.mul(inter, f32x4.mul(iu, iu)), f32x4.div(one, ce));
  const gi = f32x4.sub(f32x4.neg(iu), ga);
  const gc = f32x4.div(ue, f32x4.mul(ce, ce));
  const iwp = f32x4.gt(iw, zero), ihp = f32x4.gt(ih, zero);
  const giw = f32x4.mul(gi, iw), gih = f32x4.mul(gi, ih);
  const gcw = f32x4.mul(gc, cw), gch = f32x4.mul(gc, ch);
  const gaw = f32x4.mul(ga, wp), gah = f32x4.mul(ga, hp);
  // ∂ℓ/∂p for the sorted edges: area term + intersection term (edge inside the target's) + enclosure term.
  const dpx1 = f32x4.add(f32x4.add(gah, v128.and(gih, v128.and(iwp, f32x4.lt(px1, gx1)))), v128.and(gch, f32x4.gt(px1, gx1)));
  const dpx0 = f32x4.neg(f32x4.add(f32x4.add(gah, v128.and(gih, v128.and(iwp, f32x4.gt(px0, gx0)))), v128.and(gch, f32x4.lt(px0, gx0))));
  const dpy1 = f32x4.add(f32x4.add(gaw, v128.and(giw, v128.and(ihp, f32x4.lt(py1, gy1)))), v128.and(gcw, f32x4.gt(py1, gy1)));
  const dpy0 = f32x4.neg(f32x4.add(f32x4.add(gaw, v128.and(giw, v128.and(ihp, f32x4.gt(py0, gy0)))), v128.and(gcw, f32x4.lt(py0, gy0))));
  // Back through the min/max: a swapped pair (x0 > x1) sends the min's gradient to x1.
  const sx = f32x4.gt(ax0, ax1), sy = f32x4.gt(ay0, ay1);
  const d0 = v128.and(f32x4.mul(c, v128.bitselect(dpx1, dpx0, sx)), keep);
  const d1 = v128.and(f32x4.mul(c, v128.bitselect(dpy1, dpy0, sy)), keep);
  const d2 = v128.and(f32x4.mul(c, v128.bitselect(dpx0, dpx1, sx)), keep);
  const d3 = v128.and(f32x4.mul(c, v128.bitselect(dpy0, dpy1, sy)), keep);
  if (full) {
    let r0 = tr_col(d0, d1, d2, d3, 0), r1 = tr_col(d0, d1, d2, d3, 1), r2 = tr_col(d0, d1, d2, d3, 2), r3 = tr_col(d0, d1, d2, d3, 3);
    if (accum) {
      const bv = f32x4.splat(beta);
      r0 = f32x4.add(f32x4.mul(bv, v128.load(d_ptr)), r0);
      r1 = f32x4.add(f32x4.mul(bv, v128.load(d_ptr, 16)), r1);
      r2 = f32x4.add(f32x4.mul(bv, v128.load(d_ptr, 32)), r2);
      r3 = f32x4.add(f32x4.mul(bv, v128.load(d_ptr, 48)), r3);
    }
    v128.store(d_ptr, r0);
    v128.store(d_ptr, r1, 16);
    v128.store(d_ptr, r2, 32);
    v128.store(d_ptr, r3, 48);
  } else {
    // One row: lane 0 of each coordinate's vector.
    let r = f32x4.replace_lane(f32x4.replace_lane(f32x4.replace_lane(f32x4.splat(f32x4.extract_lane(d0, 0)), 1, f32x4.extract_lane(d1, 0)), 2, f32x4.extract_lane(d2, 0)), 3, f32x4.extract_lane(d3, 0));
    if (accum) r = f32x4.add(f32x4.mul(f32x4.splat(beta), v128.load(d_ptr)), r);
    v128.store(d_ptr, r);
  }
}

/** Row weights of rows i..i+3 (1 without a mask). */
// @ts-ignore: decorator
@inline function row_weights4(i: i32, mask_ptr: usize): v128 {
  return mask_ptr ? v128.load(mask_ptr + off4(i)) : f32x4.splat(1);
}

/**
 * Masked GIoU loss of boxes: Σ_i w_i·(1 − GIoU(p_i, t_i)) / Σ_i w_i over present rows (weight > 0; a missing
 * row's prediction and target are never used, so they may hold NaN), 0 if no row is present.
 * pred, target: [m, 4] rows [x0, y0, x1, y1] (order-free, see above); mask: f32 [m] or 0. n must be 4 (trap otherwise).
 */
export function giou_fwd_f32x4(m: i32, n: i32, pred_ptr: usize, target_ptr: usize, mask_ptr: usize): f32 {
  assert(n == 4);
  if (m <= 0) return 0;
  const zero = f32x4.splat(0);
  let acc: f64 = 0;
  let wsum: f64 = 0;
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const p = pred_ptr + off4(i << 2), t = target_ptr + off4(i << 2);
    const p0 = v128.load(p), p1 = v128.load(p, 16), p2 = v128.load(p, 32), p3 = v128.load(p, 48);
    const t0 = v128.load(t), t1 = v128.load(t, 16), t2 = v128.load(t, 32), t3 = v128.load(t, 48);
    const l = giou_loss4(tr_col(p0, p1, p2, p3, 0), tr_col(p0, p1, p2, p3, 1), tr_col(p0, p1, p2, p3, 2), tr_col(p0, p1, p2, p3, 3), tr_col(t0, t1, t2, t3, 0), tr_col(t0, t1, t2, t3, 1), tr_col(t0, t1, t2, t3, 2), tr_col(t0, t1, t2, t3, 3));
    const w = row_weights4(i, mask_ptr);
    const keep = f32x4.gt(w, zero);
    const wk = v128.and(w, keep);
    acc += hsum64(v128.and(f32x4.mul(l, wk), keep));
    wsum += hsum64(wk);
  }
  for (; i < m; i++) {
    const w: f32 = mask_ptr ? load<f32>(mask_ptr + off4(i)) : 1;
    if (!(w > 0)) continue;
    const p = pred_ptr + off4(i << 2), t = target_ptr + off4(i << 2);
    const l = giou_loss4(f32x4.splat(load<f32>(p)), f32x4.splat(load<f32>(p, 4)), f32x4.splat(load<f32>(p, 8)), f32x4.splat(load<f32>(p, 12)), f32x4.splat(load<f32>(t)), f32x4.splat(load<f32>(t, 4)), f32x4.splat(load<f32>(t, 8)), f32x4.splat(load<f32>(t, 12)));
    acc += <f64>w * <f64>f32x4.extract_lane(l, 0);
    wsum += <f64>w;
  }
  return wsum > 0 ? <f32>(acc / wsum) : 0;
}

/**
 * Gradient of scale·giou_fwd w.r.t. the predictions: dpred_i = beta·dpred_i + scale·w_i·∂ℓ_i/∂p_i / Σ w for
 * present rows, beta·dpred_i for missing rows. pred, target, dpred: [m, 4]; mask: f32 [m] or 0; n must be 4.
 * beta = 0 overwrites (dpred is never read), beta = 1 accumulates. dpred must not alias the inputs.
 */
export function giou_bwd_f32x4(m: i32, n: i32, pred_ptr: usize, target_ptr: usize, mask_ptr: usize, dpred_ptr: usize, scale: f32, beta: f32): void {
  assert(n == 4);
  if (m <= 0) return;
  const wsum: f64 = mask_ptr ? mask_sum(m, mask_ptr) : <f64>m;
  if (!(wsum > 0)) {
    zero_or_scale(m * 4, dpred_ptr, beta);
    return;
  }
  const coef = <f32>(<f64>scale / wsum);
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const p = pred_ptr + off4(i << 2), t = target_ptr + off4(i << 2), d = dpred_ptr + off4(i << 2);
    const p0 = v128.load(p), p1 = v128.load(p, 16), p2 = v128.load(p, 32), p3 = v128.load(p, 48);
    const t0 = v128.load(t), t1 = v128.load(t, 16), t2 = v128.load(t, 32), t3 = v128.load(t, 48);
    const w = row_weights4(i, mask_ptr);
    const keep = f32x4.gt(w, zero);
    const c = f32x4.mul(f32x4.splat(coef), w);
    const ax0 = tr_col(p0, p1, p2, p3, 0), ay0 = tr_col(p0, p1, p2, p3, 1), ax1 = tr_col(p0, p1, p2, p3, 2), ay1 = tr_col(p0, p1, p2, p3, 3);
    const bx0 = tr_col(t0, t1, t2, t3, 0), by0 = tr_col(t0, t1, t2, t3, 1), bx1 = tr_col(t0, t1, t2, t3, 2), by1 = tr_col(t0, t1, t2, t3, 3);
    if (beta == 0) giou_grad4(true, false, ax0, ay0, ax1, ay1, bx0, by0, bx1, by1, c, keep, d, beta);
    else giou_grad4(true, true, ax0, ay0, ax1, ay1, bx0, by0, bx1, by1, c, keep, d, beta);
  }
  for (; i < m; i++) {
    const w: f32 = mask_ptr ? load<f32>(mask_ptr + off4(i)) : 1;
    const d = dpred_ptr + off4(i << 2);
    if (!(w > 0)) {
      zero_or_scale(4, d, beta);
      continue;
    }
    const p = pred_ptr + off4(i << 2), t = target_ptr + off4(i << 2);
    const c = f32x4.splat(coef * w);
    const ones = i32x4.splat(-1); // present: keep every lane
    const ax0 = f32x4.splat(load<f32>(p)), ay0 = f32x4.splat(load<f32>(p, 4)), ax1 = f32x4.splat(load<f32>(p, 8)), ay1 = f32x4.splat(load<f32>(p, 12));
    const bx0 = f32x4.splat(load<f32>(t)), by0 = f32x4.splat(load<f32>(t, 4)), bx1 = f32x4.splat(load<f32>(t, 8)), by1 = f32x4.splat(load<f32>(t, 12));
    if (beta == 0) giou_grad4(false, false, ax0, ay0, ax1, ay1, bx0, by0, bx1, by1, c, ones, d, beta);
    else giou_grad4(false, true, ax0, ay0, ax1, ay1, bx0, by0, bx1, by1, c, ones, d, beta);
  }
}
