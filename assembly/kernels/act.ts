// Elementwise activations over n elements (callers flatten [rows, cols] to n = rows·cols).
//
// Forward kernels: y may alias x. Backward kernels: `beta` 0 overwrites dx (dx is never read, so it may
// hold NaN garbage), otherwise dx = beta·dx + (new gradient); dx may alias dy when beta == 0 (each element
// is read before it is written).
//
// Transcendental kernels (sigmoid, tanh, gelu) run the same f32x4 code on the tail: the last n % 4
// elements are gathered into one vector with scalar loads and scattered back with scalar stores, so every
// element's result is bit-identical whatever its position.
//
// exp: Cephes-style range reduction x = k·ln2 + r (|r| ≤ ln2/2, ln2 split in two parts), degree-6
// polynomial for e^r, and scaling by 2^k done as two exponent-bit multiplies so results are correct down
// into the subnormal range; max error ≈ 1 ulp over [-104, 88.7], 0 below, +inf above, NaN propagates.
// erf: the FreeBSD/musl s_erff.c rational approximations (|x| < 0.84375, [0.84375, 1.25), [1.25, 1/0.35),
// [1/0.35, 28), 0 beyond for erfc; the e^−a² of the tail split as in musl so its argument is exact).
// Measured: erf within 2e-7 absolute, GELU within ~5 ulp relative including the negative tail.
// Evaluated in SIMD: a region's formula runs only if some lane of the vector falls in it, then the lanes
// are selected.
import { exp_f32x4, load_part, off4, sel, sigmoid_f32x4, splat, store_part, tanh_f32x4 } from "../simd";

// ---------------------------------------------------------------------------------------------------
// private SIMD helpers

/**
 * 1 + erf(x/√2) per lane: with a = |x|/√2, 1 + erf(a) for x ≥ 0 and erfc(a) for x < 0, so the negative
 * tail keeps its relative accuracy (no 1 − (1 − tiny) cancellation).
 */
// @ts-ignore: decorator
@inline function one_plus_erf_f32x4(x: v128): v128 {
  const a = f32x4.abs(f32x4.mul(x, splat(0.70710678118654752)));
  const z = f32x4.mul(a, a);
  // Each region is evaluated only when some lane needs it (lanes of other regions are discarded by the
  // selects at the end); a NaN lane is in no region and comes out NaN through the final product with x.
  const inA = f32x4.lt(a, splat(0.84375));
  const inB = v128.andnot(f32x4.lt(a, splat(1.25)), inA);
  const inCD = f32x4.ge(a, splat(1.25));
  let erfA = splat(0);
  let erfcA = splat(0);
  let erfcB = splat(0);
  let erfcCD = splat(0);
  // region A: a < 0.84375 — erf = a + a·P(z)/Q(z), z = a²
  if (v128.any_true(inA)) {
    let pa = splat(-2.3763017452e-05);
    pa = f32x4.add(f32x4.mul(pa, z), splat(-5.7702702470e-03));
    pa = f32x4.add(f32x4.mul(pa, z), splat(-2.8481749818e-02));
    pa = f32x4.add(f32x4.mul(pa, z), splat(-3.2504209876e-01));
    pa = f32x4.add(f32x4.mul(pa, z), splat(1.2837916613e-01));
    let qa = splat(-3.9602282413e-06);
    qa = f32x4.add(f32x4.mul(qa, z), splat(1.3249473704e-04));
    qa = f32x4.add(f32x4.mul(qa, z), splat(5.0813062117e-03));
    qa = f32x4.add(f32x4.mul(qa, z), splat(6.5022252500e-02));
    qa = f32x4.add(f32x4.mul(qa, z), splat(3.9791721106e-01));
    qa = f32x4.add(f32x4.mul(qa, z), splat(1.0));
    const yA = f32x4.div(pa, qa);
    erfA = f32x4.add(a, f32x4.mul(a, yA));
    // erfc for region A; musl splits at 1/4 to keep the subtraction accurate
    const erfcA_lo = f32x4.sub(splat(1.0), erfA);
    const erfcA_hi = f32x4.sub(splat(0.5), f32x4.add(f32x4.mul(a, yA), f32x4.sub(a, splat(0.5))));
    erfcA = sel(f32x4.lt(a, splat(0.25)), erfcA_lo, erfcA_hi);
  }

  // region B: 0.84375 ≤ a < 1.25 — erf = erx + P(s)/Q(s), s = a − 1
  if (v128.any_true(inB)) {
    const s = f32x4.sub(a, splat(1.0));
    let pb = splat(-2.1663755178e-03);
    pb = f32x4.add(f32x4.mul(pb, s), splat(3.5478305072e-02));
    pb = f32x4.add(f32x4.mul(pb, s), splat(-1.1089469492e-01));
    pb = f32x4.add(f32x4.mul(pb, s), splat(3.1834661961e-01));
    pb = f32x4.add(f32x4.mul(pb, s), splat(-3.7220788002e-01));
    pb = f32x4.add(f32x4.mul(pb, s), splat(4.1485610604e-01));
    pb = f32x4.add(f32x4.mul(pb, s), splat(-2.3621185683e-03));
    let qb = splat(1.1984500103e-02);
    qb = f32x4.add(f32x4.mul(qb, s), splat(1.3637083583e-02));
    qb = f32x4.add(f32x4.mul(qb, s), splat(1.2617121637e-01));
    qb = f32x4.add(f32x4.mul(qb, s), splat(7.1828655899e-02));
    qb = f32x4.add(f32x4.mul(qb, s), splat(5.4039794207e-01));
    qb = f32x4.add(f32x4.mul(qb, s), splat(1.0642088205e-01));
    qb = f32x4.add(f32x4.mul(qb, s), splat(1.0));
    erfcB = f32x4.sub(f32x4.sub(splat(1.0), splat(8.4506291151e-01)), f32x4.div(pb, qb)); // (1 − erx) − P/Q
  }

  // regions C/D: 1.25 ≤ a < 28 — erfc = exp(−a² − 0.5625 + R(w)/S(w)) / a, w = 1/a²; coefficients
  // chosen per lane (C below 1/0.35, D above), one evaluation. D's R has degree 6 and S degree 7: its
  // missing top coefficients are 0.
  if (v128.any_true(inCD)) {
    const isC = f32x4.lt(a, splat(2.857142857));
    const w = f32x4.div(splat(1.0), z);
    let r = sel(isC, splat(-9.8143291473e+00), splat(0.0));
    r = f32x4.add(f32x4.mul(r, w), sel(isC, splat(-8.1287437439e+01), splat(-4.8351919556e+02)));
    r = f32x4.add(f32x4.mul(r, w), sel(isC, splat(-1.8460508728e+02), splat(-1.0250950928e+03)));
    r = f32x4.add(f32x4.mul(r, w), sel(isC, splat(-1.6239666748e+02), splat(-6.3756646729e+02)));
    r = f32x4.add(f32x4.mul(r, w), sel(isC, splat(-6.2375331879e+01), splat(-1.6063638306e+02)));
    r = f32x4.add(f32x4.mul(r, w), sel(isC, splat(-1.0558626175e+01), splat(-1.7757955551e+01)));
    r = f32x4.add(f32x4.mul(r, w), sel(isC, splat(-6.9385856390e-01), splat(-7.9928326607e-01)));
    r = f32x4.add(f32x4.mul(r, w), sel(isC, splat(-9.8649440333e-03), splat(-9.8649431020e-03)));
    let q = sel(isC, splat(-6.0424413532e-02), splat(0.0));
    q = f32x4.add(f32x4.mul(q, w), sel(isC, splat(6.5702495575e+00), splat(-2.2440952301e+01)));
    q = f32x4.add(f32x4.mul(q, w), sel(isC, splat(1.0863500214e+02), splat(4.7452853394e+02)));
    q = f32x4.add(f32x4.mul(q, w), sel(isC, splat(4.2900814819e+02), splat(2.5530502930e+03)));
    q = f32x4.add(f32x4.mul(q, w), sel(isC, splat(6.4538726807e+02), splat(3.1998581543e+03)));
    q = f32x4.add(f32x4.mul(q, w), sel(isC, splat(4.3456588745e+02), splat(1.5367296143e+03)));
    q = f32x4.add(f32x4.mul(q, w), sel(isC, splat(1.3765776062e+02), splat(3.2579251099e+02)));
    q = f32x4.add(f32x4.mul(q, w), sel(isC, splat(1.9651271820e+01), splat(3.0338060379e+01)));
    q = f32x4.add(f32x4.mul(q, w), splat(1.0));
    // e^(−a²) = e^(−x²/2) = e^(−hi²/2) · e^(−(|x|−hi)(|x|+hi)/2) with hi = |x| truncated to 12 mantissa bits
    // (musl's split, applied to x rather than to the rounded a = |x|/√2: the rounding of a would cost
    // ~2a²·2⁻²⁴ relative error in the tail).
    const xa = f32x4.abs(x);
    const hi = v128.and(xa, i32x4.splat(0xfffff000));
    // −hi²/2 is exact in f32; the −0.5625 goes into the small second argument so no rounding happens there.
    const e1 = exp_f32x4(f32x4.mul(f32x4.mul(hi, hi), splat(-0.5)));
    const t2 = f32x4.mul(f32x4.mul(f32x4.sub(xa, hi), f32x4.add(xa, hi)), splat(-0.5));
    const e2 = exp_f32x4(f32x4.add(f32x4.sub(t2, splat(0.5625)), f32x4.div(r, q)));
    erfcCD = f32x4.div(f32x4.mul(e1, e2), a);
  }

  let erfc = sel(inB, erfcB, erfcCD);
  erfc = sel(inA, erfcA, erfc);
  erfc = sel(f32x4.ge(a, splat(28.0)), splat(0.0), erfc); // as musl's erfcf; e^−a² has underflowed long before
  const erf = sel(inA, erfA, f32x4.sub(splat(1.0), erfc));
  return sel(f32x4.ge(x, splat(0)), f32x4.add(splat(1.0), erf), erfc);
}

// @ts-ignore: decorator
@inline function gelu_f32x4(x: v128): v128 {
  return f32x4.mul(f32x4.mul(splat(0.5), x), one_plus_erf_f32x4(x));
}

/** d/dx gelu(x) = Φ(x) + x·φ(x), Φ(x) = (1 + erf(x/√2))/2, φ(x) = e^(−x²/2)/√(2π). */
// @ts-ignore: decorator
@inline function gelu_grad_f32x4(x: v128): v128 {
  const cdf = f32x4.mul(splat(0.5), one_plus_erf_f32x4(x));
  // e^(−x²/2) with the same hi/lo split of |x| as in the erfc tail
  const xa = f32x4.abs(x);
  const hi = v128.and(xa, i32x4.splat(0xfffff000));
  const e1 = exp_f32x4(f32x4.mul(f32x4.mul(hi, hi), splat(-0.5)));
  const e2 = exp_f32x4(f32x4.mul(f32x4.mul(f32x4.sub(xa, hi), f32x4.add(xa, hi)), splat(-0.5)));
  const pdf = f32x4.mul(f32x4.mul(e1, e2), splat(0.39894228040143268));
  return f32x4.add(cdf, f32x4.mul(x, pdf));
}

/** Store g (the new gradient) into dx per beta: 0 → store, 1 → add, else beta·dx + g. */
// @ts-ignore: decorator
@inline function put_grad(p: usize, g: v128, beta: f32): void {
  if (beta == 0) v128.store(p, g);
  else if (beta == 1) v128.store(p, f32x4.add(v128.load(p), g));
  else v128.store(p, f32x4.add(f32x4.mul(v128.load(p), f32x4.splat(beta)), g));
}

// @ts-ignore: decorator
@inline function put_grad_part(p: usize, g: v128, beta: f32, r: i32): void {
  if (beta == 0) store_part(p, g, r);
  else if (beta == 1) store_part(p, f32x4.add(load_part(p, r), g), r);
  else store_part(p, f32x4.add(f32x4.mul(load_part(p, r), f32x4.splat(beta)), g), r);
}

// @ts-ignore: decorator
@inline function put_grad_f32(p: usize, g: f32, beta: f32): void {
  if (beta == 0) store<f32>(p, g);
  else if (beta == 1) store<f32>(p, load<f32>(p) + g);
  else store<f32>(p, beta * load<f32>(p) + g);
}

// ---------------------------------------------------------------------------------------------------
// ReLU

/** y = max(x, 0). x, y: [n]; y may alias x. */
export function relu_fwd_f32x4(n: i32, x_ptr: usize, y_ptr: usize): void {
  const z = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(y_ptr + off4(i), f32x4.max(v128.load(x_ptr + off4(i)), z));
  for (; i < n; i++) {
    const v = load<f32>(x_ptr + off4(i));
    store<f32>(y_ptr + off4(i), v > 0 ? v : 0);
  }
}

/**
 * dx = beta·dx + dy ⊙ [y > 0]. y (the forward output), dy, dx: [n]. dx may alias dy when beta == 0.
 * beta == 0: dx is not read.
 */
export function relu_bwd_f32x4(n: i32, y_ptr: usize, dy_ptr: usize, dx_ptr: usize, beta: f32): void {
  const z = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const g = v128.and(v128.load(dy_ptr + off4(i)), f32x4.gt(v128.load(y_ptr + off4(i)), z));
    put_grad(dx_ptr + off4(i), g, beta);
  }
  for (; i < n; i++) {
    const g: f32 = load<f32>(y_ptr + off4(i)) > 0 ? load<f32>(dy_ptr + off4(i)) : 0;
    put_grad_f32(dx_ptr + off4(i), g, beta);
  }
}

// ---------------------------------------------------------------------------------------------------
// Leaky ReLU

/** y = x if x > 0 else alpha·x. x, y: [n]; y may alias x. */
export function leaky_relu_fwd_f32x4(n: i32, x_ptr: usize, y_ptr: usize, alpha: f32): void {
  const z = f32x4.splat(0);
  const av = f32x4.splat(alpha);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(x_ptr + off4(i));
    v128.store(y_ptr + off4(i), sel(f32x4.gt(v, z), v, f32x4.mul(v, av)));
  }
  for (; i < n; i++) {
    const v = load<f32>(x_ptr + off4(i));
    store<f32>(y_ptr + off4(i), v > 0 ? v : alpha * v);
  }
}

/**
 * dx = beta·dx + dy ⊙ (x > 0 ? 1 : alpha). x (the forward input), dy, dx: [n]. dx may alias dy when
 * beta == 0. beta == 0: dx is not read.
 */
export function leaky_relu_bwd_f32x4(n: i32, x_ptr: usize, dy_ptr: usize, dx_ptr: usize, beta: f32, alpha: f32): void {
  const z = f32x4.splat(0);
  const av = f32x4.splat(alpha);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const d = v128.load(dy_ptr + off4(i));
    const g = sel(f32x4.gt(v128.load(x_ptr + off4(i)), z), d, f32x4.mul(d, av));
    put_grad(dx_ptr + off4(i), g, beta);
  }
  for (; i < n; i++) {
    const d = load<f32>(dy_ptr + off4(i));
    const g: f32 = load<f32>(x_ptr + off4(i)) > 0 ? d : alpha * d;
    put_grad_f32(dx_ptr + off4(i), g, beta);
  }
}

// ---------------------------------------------------------------------------------------------------
// Sigmoid

/**
 * y = 1/(1 + e^-x), computed from e^-|x|: no overflow and no NaN for any finite x (y rounds to exactly 1
 * above x ≈ 17 and underflows to 0 below x ≈ −104). x, y: [n]; y may alias x.
 */
export function sigmoid_fwd_f32x4(n: i32, x_ptr: usize, y_ptr: usize): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(y_ptr + off4(i), sigmoid_f32x4(v128.load(x_ptr + off4(i))));
  const r = n - i;
  if (r > 0) store_part(y_ptr + off4(i), sigmoid_f32x4(load_part(x_ptr + off4(i), r)), r);
}

/**
 * dx = beta·dx + dy ⊙ y ⊙ (1 − y). y (the forward output), dy, dx: [n]. dx may alias dy when beta == 0.
 * beta == 0: dx is not read.
 */
export function sigmoid_bwd_f32x4(n: i32, y_ptr: usize, dy_ptr: usize, dx_ptr: usize, beta: f32): void {
  const one = f32x4.splat(1);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const y = v128.load(y_ptr + off4(i));
    const g = f32x4.mul(v128.load(dy_ptr + off4(i)), f32x4.mul(y, f32x4.sub(one, y)));
    put_grad(dx_ptr + off4(i), g, beta);
  }
  for (; i < n; i++) {
    const y = load<f32>(y_ptr + off4(i));
    put_grad_f32(dx_ptr + off4(i), load<f32>(dy_ptr + off4(i)) * (y * (1 - y)), beta);
  }
}

// ---------------------------------------------------------------------------------------------------
// Tanh

/**
 * y = tanh(x): odd minimax polynomial for |x| < 0.625, else sign(x)·(1 − e)/(1 + e) with e = e^(−2|x|)
 * (≤ ~2 ulp; saturates to ±1, never NaN for finite x). x, y: [n]; y may alias x.
 */
export function tanh_fwd_f32x4(n: i32, x_ptr: usize, y_ptr: usize): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(y_ptr + off4(i), tanh_f32x4(v128.load(x_ptr + off4(i))));
  const r = n - i;
  if (r > 0) store_part(y_ptr + off4(i), tanh_f32x4(load_part(x_ptr + off4(i), r)), r);
}

/**
 * dx = beta·dx + dy ⊙ (1 − y²). y (the forward output), dy, dx: [n]. dx may alias dy when beta == 0.
 * beta == 0: dx is not read.
 */
export function tanh_bwd_f32x4(n: i32, y_ptr: usize, dy_ptr: usize, dx_ptr: usize, beta: f32): void {
  const one = f32x4.splat(1);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const y = v128.load(y_ptr + off4(i));
    const g = f32x4.mul(v128.load(dy_ptr + off4(i)), f32x4.sub(one, f32x4.mul(y, y)));
    put_grad(dx_ptr + off4(i), g, beta);
  }
  for (; i < n; i++) {
    const y = load<f32>(y_ptr + off4(i));
    put_grad_f32(dx_ptr + off4(i), load<f32>(dy_ptr + off4(i)) * (1 - y * y), beta);
  }
}

// ---------------------------------------------------------------------------------------------------
// GELU (exact erf form)

/**
 * y = 0.5·x·(1 + erf(x/√2)) — the exact (erf) GELU of PyTorch's default and ONNX's Erf decomposition.
 * erf is musl's s_erff.c approximation (< 1 ulp); for x < 0 the factor 1 + erf(x/√2) is computed as
 * erfc(|x|/√2), so the negative tail keeps its relative accuracy. x, y: [n]; y may alias x.
 */
export function gelu_fwd_f32x4(n: i32, x_ptr: usize, y_ptr: usize): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(y_ptr + off4(i), gelu_f32x4(v128.load(x_ptr + off4(i))));
  const r = n - i;
  if (r > 0) store_part(y_ptr + off4(i), gelu_f32x4(load_part(x_ptr + off4(i), r)), r);
}

/**
 * y = erf(x), as 1 + erf((√2·x)/√2) − 1 through the GELU's erf (musl s_erff.c regions): absolute error
 * ≤ 3e-7 (relative precision is lost only where |erf(x)| < ~1e-6). For ONNX's Erf operator. y may alias x.
 */
export function erf_fwd_f32x4(n: i32, x_ptr: usize, y_ptr: usize): void {
  const r2 = splat(<f32>Math.SQRT2), one = splat(1.0);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(y_ptr + off4(i), f32x4.sub(one_plus_erf_f32x4(f32x4.mul(v128.load(x_ptr + off4(i)), r2)), one));
  const r = n - i;
  if (r > 0) store_part(y_ptr + off4(i), f32x4.sub(one_plus_erf_f32x4(f32x4.mul(load_part(x_ptr + off4(i), r), r2)), one), r);
}

/**
 * dx = beta·dx + dy ⊙ (Φ(x) + x·φ(x)), Φ the standard normal CDF (via erf as in the forward), φ its
 * density. x (the forward input), dy, dx: [n]. dx may alias dy when beta == 0. beta == 0: dx is not read.
 */
export function gelu_bwd_f32x4(n: i32, x_ptr: usize, dy_ptr: usize, dx_ptr: usize, beta: f32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const g = f32x4.mul(v128.load(dy_ptr + off4(i)), gelu_grad_f32x4(v128.load(x_ptr + off4(i))));
    put_grad(dx_ptr + off4(i), g, beta);
  }
  const r = n - i;
  if (r > 0) {
    const g = f32x4.mul(load_part(dy_ptr + off4(i), r), gelu_grad_f32x4(load_part(x_ptr + off4(i), r)));
    put_grad_part(dx_ptr + off4(i), g, beta, r);
  }
}

// ---------------------------------------------------------------------------------------------------
// SiLU (swish)

/** y = x·σ(x) (Elfwing et al. 2018; Ramachandran et al.'s swish with β = 1). x, y: [n]; y may alias x. */
export function silu_fwd_f32x4(n: i32, x_ptr: usize, y_ptr: usize): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const x = v128.load(x_ptr + off4(i));
    v128.store(y_ptr + off4(i), f32x4.mul(x, sigmoid_f32x4(x)));
  }
  const r = n - i;
  if (r > 0) {
    const x = load_part(x_ptr + off4(i), r);
    store_part(y_ptr + off4(i), f32x4.mul(x, sigmoid_f32x4(x)), r);
  }
}

/** d/dx x·σ(x) = σ(x)·(1 + x·(1 − σ(x))). */
// @ts-ignore: decorator
@inline function silu_grad_f32x4(x: v128): v128 {
  const s = sigmoid_f32x4(x);
  return f32x4.mul(s, f32x4.add(splat(1.0), f32x4.mul(x, f32x4.sub(splat(1.0), s))));
}

/**
 * dx = beta·dx + dy ⊙ σ(x)·(1 + x·(1 − σ(x))). x (the forward input), dy, dx: [n]. dx may alias dy when
 * beta == 0. beta == 0: dx is not read.
 */
export function silu_bwd_f32x4(n: i32, x_ptr: usize, dy_ptr: usize, dx_ptr: usize, beta: f32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) put_grad(dx_ptr + off4(i), f32x4.mul(v128.load(dy_ptr + off4(i)), silu_grad_f32x4(v128.load(x_ptr + off4(i)))), beta);
  const r = n - i;
  if (r > 0) put_grad_part(dx_ptr + off4(i), f32x4.mul(load_part(dy_ptr + off4(i), r), silu_grad_f32x4(load_part(x_ptr + off4(i), r))), beta, r);
}

// ---------------------------------------------------------------------------------------------------
// exp (the vector exp the other kernels use, exposed so it can be tested and reused)

/**
 * y = e^x (≈1 ulp over [−104, 88.7]; exactly 0 below −104 incl. −inf, +inf above 88.8, NaN stays NaN).
 * x, y: [n]; y may alias x.
 */
export function exp_fwd_f32x4(n: i32, x_ptr: usize, y_ptr: usize): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(y_ptr + off4(i), exp_f32x4(v128.load(x_ptr + off4(i))));
  const r = n - i;
  if (r > 0) store_part(y_ptr + off4(i), exp_f32x4(load_part(x_ptr + off4(i), r)), r);
}
