// Inline SIMD helpers shared by kernels. No exports reach the artifact from here.

/** Sum of the four f32 lanes of v. */
// @ts-ignore: decorator
@inline export function hsum_f32x4(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

/** Largest of the four f32 lanes of v. */
// @ts-ignore: decorator
@inline export function hmax_f32x4(v: v128): f32 {
  return max(max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)), max(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
}

/** Byte offset of element i of an f32/i32 array. */
// @ts-ignore: decorator
@inline export function off4(i: i32): usize {
  return <usize>i << 2;
}

// @ts-ignore: decorator
@inline export function splat(c: f32): v128 {
  return f32x4.splat(c);
}

/** Lanes of a where mask is set, else lanes of b. */
// @ts-ignore: decorator
@inline export function sel(mask: v128, a: v128, b: v128): v128 {
  return v128.bitselect(a, b, mask);
}

/** Load the first `r` (1..3) f32 at p into a vector (other lanes 0). */
// @ts-ignore: decorator
@inline export function load_part(p: usize, r: i32): v128 {
  let v = f32x4.splat(0);
  v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (r > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (r > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}

/** Store the first `r` (1..3) lanes of v at p. */
// @ts-ignore: decorator
@inline export function store_part(p: usize, v: v128, r: i32): void {
  store<f32>(p, f32x4.extract_lane(v, 0));
  if (r > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4);
  if (r > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8);
}

/** e^x per lane (see the file comment). */
// @ts-ignore: decorator
@inline export function exp_f32x4(x: v128): v128 {
  // clamp with pmin/pmax (single instructions; a NaN x falls through both and stays NaN)
  const xc = f32x4.pmax(f32x4.pmin(x, splat(88.8)), splat(-104.0));
  // k = round-to-nearest(x·log2 e) by the 1.5·2²³ trick: the integer k sits in t's low mantissa bits
  const t = f32x4.add(f32x4.mul(xc, splat(1.44269504088896341)), splat(12582912.0));
  const k = f32x4.sub(t, splat(12582912.0));
  let r = f32x4.sub(xc, f32x4.mul(k, splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(k, splat(-2.12194440e-4)));
  let p = splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), splat(5.0000001201e-1));
  p = f32x4.add(f32x4.add(f32x4.mul(p, f32x4.mul(r, r)), r), splat(1.0));
  // 2^k = 2^k1 · 2^k2 with k1 = k >> 1, k2 = k − k1, both within the normal exponent range.
  const ki = i32x4.sub(t, i32x4.splat(0x4B400000));
  const k1 = i32x4.shr_s(ki, 1);
  const k2 = i32x4.sub(ki, k1);
  const s1 = i32x4.shl(i32x4.add(k1, i32x4.splat(127)), 23);
  const s2 = i32x4.shl(i32x4.add(k2, i32x4.splat(127)), 23);
  return f32x4.mul(f32x4.mul(p, s1), s2);
}

/** Sum of the four f32 lanes in f64. */
// @ts-ignore: decorator
@inline export function hsum64(v: v128): f64 {
  return (<f64>f32x4.extract_lane(v, 0) + <f64>f32x4.extract_lane(v, 1)) + (<f64>f32x4.extract_lane(v, 2) + <f64>f32x4.extract_lane(v, 3));
}

/** A zero contribution: out = 0 when beta == 0, out = beta·out otherwise. */
// @ts-ignore: decorator
@inline export function zero_or_scale(cnt: i32, out_ptr: usize, beta: f32): void {
  if (beta == 1) return;
  let i = 0;
  if (beta == 0) {
    const zero = f32x4.splat(0);
    for (; i + 4 <= cnt; i += 4) v128.store(out_ptr + off4(i), zero);
    for (; i < cnt; i++) store<f32>(out_ptr + off4(i), 0);
  } else {
    const bv = f32x4.splat(beta);
    for (; i + 4 <= cnt; i += 4) v128.store(out_ptr + off4(i), f32x4.mul(bv, v128.load(out_ptr + off4(i))));
    for (; i < cnt; i++) store<f32>(out_ptr + off4(i), beta * load<f32>(out_ptr + off4(i)));
  }
}

/** Lanes 2, 3 of v moved to lanes 0, 1 (for promoting the high half to f64x2). */
// @ts-ignore: decorator
@inline export function hi2(v: v128): v128 {
  return v128.shuffle<f32>(v, v, 2, 3, 2, 3);
}

/** Σ x[i]·y[i] over x, y: [n], products and sums in f64 (exact products of the f32 inputs). */
// @ts-ignore: decorator
@inline export function dot64(n: i32, x_ptr: usize, y_ptr: usize): f64 {
  let a0 = f64x2.splat(0);
  let a1 = f64x2.splat(0);
  let a2 = f64x2.splat(0);
  let a3 = f64x2.splat(0);
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const u = v128.load(x_ptr + off4(i));
    const v = v128.load(x_ptr + off4(i), 16);
    const p = v128.load(y_ptr + off4(i));
    const q = v128.load(y_ptr + off4(i), 16);
    a0 = f64x2.add(a0, f64x2.mul(f64x2.promote_low_f32x4(u), f64x2.promote_low_f32x4(p)));
    a1 = f64x2.add(a1, f64x2.mul(f64x2.promote_low_f32x4(hi2(u)), f64x2.promote_low_f32x4(hi2(p))));
    a2 = f64x2.add(a2, f64x2.mul(f64x2.promote_low_f32x4(v), f64x2.promote_low_f32x4(q)));
    a3 = f64x2.add(a3, f64x2.mul(f64x2.promote_low_f32x4(hi2(v)), f64x2.promote_low_f32x4(hi2(q))));
  }
  if (i + 4 <= n) {
    const u = v128.load(x_ptr + off4(i));
    const p = v128.load(y_ptr + off4(i));
    a0 = f64x2.add(a0, f64x2.mul(f64x2.promote_low_f32x4(u), f64x2.promote_low_f32x4(p)));
    a1 = f64x2.add(a1, f64x2.mul(f64x2.promote_low_f32x4(hi2(u)), f64x2.promote_low_f32x4(hi2(p))));
    i += 4;
  }
  const s = f64x2.add(f64x2.add(a0, a1), f64x2.add(a2, a3));
  let total = f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
  for (; i < n; i++) total += <f64>load<f32>(x_ptr + off4(i)) * <f64>load<f32>(y_ptr + off4(i));
  return total;
}

/** 1/(1+e^-x) per lane as (x ≥ 0 ? 1 : e)/(1 + e) with e = e^-|x|, so it never overflows. */
// @ts-ignore: decorator
@inline export function sigmoid_f32x4(x: v128): v128 {
  const e = exp_f32x4(f32x4.neg(f32x4.abs(x)));
  return f32x4.div(sel(f32x4.ge(x, splat(0)), splat(1.0), e), f32x4.add(splat(1.0), e));
}

/** tanh per lane: odd polynomial (Cephes tanhf) for |x| < 0.625, else sign(x)·(1−e)/(1+e), e = e^-2|x|. */
// @ts-ignore: decorator
@inline export function tanh_f32x4(x: v128): v128 {
  const a = f32x4.abs(x);
  const z = f32x4.mul(x, x);
  let p = splat(-5.70498872745e-3);
  p = f32x4.add(f32x4.mul(p, z), splat(2.06390887954e-2));
  p = f32x4.add(f32x4.mul(p, z), splat(-5.37397155531e-2));
  p = f32x4.add(f32x4.mul(p, z), splat(1.33314422036e-1));
  p = f32x4.add(f32x4.mul(p, z), splat(-3.33332819422e-1));
  const small = f32x4.add(f32x4.mul(f32x4.mul(p, z), x), x);
  const e = exp_f32x4(f32x4.mul(a, splat(-2.0)));
  const big = f32x4.div(f32x4.sub(splat(1.0), e), f32x4.add(splat(1.0), e));
  // copy the sign of x onto big
  const signed = v128.or(big, v128.and(x, i32x4.splat(0x80000000)));
  return sel(f32x4.lt(a, splat(0.625)), small, signed);
}
