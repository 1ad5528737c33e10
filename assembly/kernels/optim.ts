// Optimizer steps and gradient clipping over a flat parameter block of n elements: params, grads and
// optimizer state share one layout (element k of each belongs to the same scalar parameter).
import { dot64, off4 } from "../simd";

/** Σ x² over n elements with every square and sum in f64 (f32 lanes promoted to f64x2). */
// @ts-ignore: decorator
@inline function sumsq64(n: i32, x_ptr: usize): f64 {
  return dot64(n, x_ptr, x_ptr);
}

/**
 * One SGD step, PyTorch semantics (dampening 0), element-wise over g, p, v: [n]:
 *   g' = g + wd·p;  v = momentum·v + g';  update = nesterov ? g' + momentum·v : v;  p −= lr·update.
 * momentum == 0 is plain SGD (p −= lr·g'; v is neither read nor written, v_ptr may be 0).
 * v must start at 0 (first step then gives v = g', as PyTorch). p and v are updated in place; g is read only.
 * g, p and v must not overlap.
 */
export function sgd_step_f32x4(n: i32, g_ptr: usize, p_ptr: usize, v_ptr: usize, lr: f32, momentum: f32, weight_decay: f32, nesterov: i32): void {
  const lrv = f32x4.splat(lr);
  const wdv = f32x4.splat(weight_decay);
  let i = 0;
  if (momentum == 0) {
    for (; i + 4 <= n; i += 4) {
      const p = v128.load(p_ptr + off4(i));
      const g = f32x4.add(v128.load(g_ptr + off4(i)), f32x4.mul(wdv, p));
      v128.store(p_ptr + off4(i), f32x4.sub(p, f32x4.mul(lrv, g)));
    }
    for (; i < n; i++) {
      const p = load<f32>(p_ptr + off4(i));
      const g = load<f32>(g_ptr + off4(i)) + weight_decay * p;
      store<f32>(p_ptr + off4(i), p - lr * g);
    }
    return;
  }
  const mv = f32x4.splat(momentum);
  const nest = nesterov != 0;
  const nmask = i32x4.splat(nest ? -1 : 0);
  for (; i + 4 <= n; i += 4) {
    const p = v128.load(p_ptr + off4(i));
    const g = f32x4.add(v128.load(g_ptr + off4(i)), f32x4.mul(wdv, p));
    const v = f32x4.add(f32x4.mul(mv, v128.load(v_ptr + off4(i))), g);
    v128.store(v_ptr + off4(i), v);
    const u = v128.bitselect(f32x4.add(g, f32x4.mul(mv, v)), v, nmask);
    v128.store(p_ptr + off4(i), f32x4.sub(p, f32x4.mul(lrv, u)));
  }
  for (; i < n; i++) {
    const p = load<f32>(p_ptr + off4(i));
    const g = load<f32>(g_ptr + off4(i)) + weight_decay * p;
    const v = momentum * load<f32>(v_ptr + off4(i)) + g;
    store<f32>(v_ptr + off4(i), v);
    const u = nest ? g + momentum * v : v;
    store<f32>(p_ptr + off4(i), p - lr * u);
  }
}

/** x^k for k ≥ 0 by repeated squaring (no global state, unlike the std library's pow). */
// @ts-ignore: decorator
@inline function powi(x: f64, k: i32): f64 {
  let r: f64 = 1;
  let b = x;
  while (k > 0) {
    if (k & 1) r *= b;
    b *= b;
    k >>= 1;
  }
  return r;
}

/**
 * One Adam / AdamW step, PyTorch semantics (no amsgrad), element-wise over g, p, m, v: [n]:
 *   decoupled = 0 (Adam):  g' = g + wd·p;          decoupled = 1 (AdamW): g' = g, p ← p·(1 − lr·wd);
 *   m = β1·m + (1 − β1)·g';  v = β2·v + (1 − β2)·g'²;
 *   p −= (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + eps).
 * step = t ≥ 1 is the 1-based step count (traps if < 1); bias corrections are computed once per call in f64.
 * m and v must start at 0. p, m, v are updated in place; g is read only. g, p, m and v must not overlap.
 */
export function adam_step_f32x4(n: i32, g_ptr: usize, p_ptr: usize, m_ptr: usize, v_ptr: usize, lr: f32, beta1: f32, beta2: f32, eps: f32, weight_decay: f32, step: i32, decoupled: i32): void {
  if (step < 1) unreachable();
  const bc1 = 1.0 - powi(<f64>beta1, step);
  const bc2 = 1.0 - powi(<f64>beta2, step);
  const step_size = <f32>(<f64>lr / bc1);
  const inv_sqrt_bc2 = <f32>(1.0 / Math.sqrt(bc2));
  const pdecay: f32 = decoupled ? <f32>(1.0 - <f64>lr * <f64>weight_decay) : 1;
  const gdecay: f32 = decoupled ? 0 : weight_decay;
  const b1 = f32x4.splat(beta1);
  const c1 = f32x4.splat(1 - beta1);
  const b2 = f32x4.splat(beta2);
  const c2 = f32x4.splat(1 - beta2);
  const ssv = f32x4.splat(step_size);
  const isv = f32x4.splat(inv_sqrt_bc2);
  const epv = f32x4.splat(eps);
  const pdv = f32x4.splat(pdecay);
  const gdv = f32x4.splat(gdecay);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const p = v128.load(p_ptr + off4(i));
    const g = f32x4.add(v128.load(g_ptr + off4(i)), f32x4.mul(gdv, p));
    const m = f32x4.add(f32x4.mul(b1, v128.load(m_ptr + off4(i))), f32x4.mul(c1, g));
    const v = f32x4.add(f32x4.mul(b2, v128.load(v_ptr + off4(i))), f32x4.mul(c2, f32x4.mul(g, g)));
    v128.store(m_ptr + off4(i), m);
    v128.store(v_ptr + off4(i), v);
    const denom = f32x4.add(f32x4.mul(f32x4.sqrt(v), isv), epv);
    v128.store(p_ptr + off4(i), f32x4.sub(f32x4.mul(p, pdv), f32x4.div(f32x4.mul(ssv, m), denom)));
  }
  for (; i < n; i++) {
    const p = load<f32>(p_ptr + off4(i));
    const g = load<f32>(g_ptr + off4(i)) + gdecay * p;
    const m = beta1 * load<f32>(m_ptr + off4(i)) + (1 - beta1) * g;
    const v = beta2 * load<f32>(v_ptr + off4(i)) + (1 - beta2) * (g * g);
    store<f32>(m_ptr + off4(i), m);
    store<f32>(v_ptr + off4(i), v);
    const denom = Mathf.sqrt(v) * inv_sqrt_bc2 + eps;
    store<f32>(p_ptr + off4(i), p * pdecay - (step_size * m) / denom);
  }
}

/** Σ x² over x: [n] (read only), every square and partial sum in f64. */
export function sumsq_f32x4(n: i32, x_ptr: usize): f64 {
  return sumsq64(n, x_ptr);
}

/**
 * Global-norm gradient clipping over g: [n] (PyTorch clip_grad_norm_): norm = √Σg² (f64);
 * coef = max_norm / (norm + 1e-6); if coef < 1, g *= coef in place. Returns the pre-clip norm (as f32).
 * A non-finite norm is returned for the caller to act on (NaN leaves g unchanged; inf scales g by 0, as PyTorch).
 */
export function clip_grad_norm_f32x4(n: i32, g_ptr: usize, max_norm: f32): f32 {
  const norm = Math.sqrt(sumsq64(n, g_ptr));
  const coef = <f64>max_norm / (norm + 1e-6);
  if (coef < 1.0) {
    const c = <f32>coef;
    const cv = f32x4.splat(c);
    let i = 0;
    for (; i + 4 <= n; i += 4) v128.store(g_ptr + off4(i), f32x4.mul(cv, v128.load(g_ptr + off4(i))));
    for (; i < n; i++) store<f32>(g_ptr + off4(i), c * load<f32>(g_ptr + off4(i)));
  }
  return <f32>norm;
}
