// Counter-based random numbers: Philox-4x32-10 (Salmon et al., SC'11; Random123's constants and round
// function, checked against its known-answer vectors). Every output is a pure function of
// (seed, element counter), so a given (seed, offset) produces bit-identical streams on every runtime and
// any split of a range into consecutive calls (offset, offset + n₁, …) reproduces the single-call stream.
//
// Stream layout. key = (seed_lo, seed_hi). Element counter c = u32(offset) + i (64-bit, no wrap).
// - uniform / dropout: word (c mod 4) of the Philox block with counter (lo32(c/4), hi32(c/4), 0, 0);
//   u = (word >>> 8)·2⁻²⁴ ∈ [0, 1) on the 2²⁴-point grid. Dropout keeps element c iff u ≥ p, so its
//   mask is exactly (rng_uniform(..., 0, 1) ≥ p) for the same seed and offset.
// - normal: words (2·(c mod 2), 2·(c mod 2)+1) of the block with counter (lo32(c/2), hi32(c/2), 1, 0)
//   (third word 1 separates it from the uniform stream); Box–Muller cos branch in f64.
import { off4 } from "../simd";

// @ts-ignore: decorator
@inline const M0: u32 = 0xD2511F53;
// @ts-ignore: decorator
@inline const M1: u32 = 0xCD9E8D57;
// @ts-ignore: decorator
@inline const W0: u32 = 0x9E3779B9;
// @ts-ignore: decorator
@inline const W1: u32 = 0xBB67AE85;

/** The four output words of Philox-4x32-10 for counter (c0, c1, c2, c3) and key (k0, k1), as an i32x4. */
// @ts-ignore: decorator
@inline function philox_block(c0: u32, c1: u32, c2: u32, c3: u32, k0: u32, k1: u32): v128 {
  for (let r = 0; r < 10; r++) {
    const p0 = <u64>M0 * <u64>c0;
    const p1 = <u64>M1 * <u64>c2;
    const hi0 = <u32>(p0 >>> 32);
    const hi1 = <u32>(p1 >>> 32);
    c0 = hi1 ^ c1 ^ k0;
    c1 = <u32>p1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = <u32>p0;
    k0 += W0;
    k1 += W1;
  }
  let v = i32x4.splat(<i32>c0);
  v = i32x4.replace_lane(v, 1, <i32>c1);
  v = i32x4.replace_lane(v, 2, <i32>c2);
  v = i32x4.replace_lane(v, 3, <i32>c3);
  return v;
}

/** High 32 bits of the per-lane u32 products a·m. */
// @ts-ignore: decorator
@inline function mulhi_u32x4(a: v128, m: v128): v128 {
  const lo = i64x2.extmul_low_i32x4_u(a, m);
  const hi = i64x2.extmul_high_i32x4_u(a, m);
  return i32x4.shuffle(lo, hi, 1, 3, 5, 7);
}

/**
 * Philox-4x32-10 of the four consecutive blocks b, b+1, b+2, b+3 (counter (lo32, hi32, 0, 0)), one block
 * per lane, written as 16 words in counter order to dst (dst[4j + w] = word w of block b + j).
 */
function philox_x4(b: u64, k0: u32, k1: u32, dst: usize): void {
  let c0 = i32x4.splat(<i32><u32>b);
  c0 = i32x4.replace_lane(c0, 1, <i32><u32>(b + 1));
  c0 = i32x4.replace_lane(c0, 2, <i32><u32>(b + 2));
  c0 = i32x4.replace_lane(c0, 3, <i32><u32>(b + 3));
  let c1 = i32x4.splat(<i32><u32>(b >>> 32));
  c1 = i32x4.replace_lane(c1, 1, <i32><u32>((b + 1) >>> 32));
  c1 = i32x4.replace_lane(c1, 2, <i32><u32>((b + 2) >>> 32));
  c1 = i32x4.replace_lane(c1, 3, <i32><u32>((b + 3) >>> 32));
  let c2 = i32x4.splat(0);
  let c3 = i32x4.splat(0);
  const m0 = i32x4.splat(<i32>M0);
  const m1 = i32x4.splat(<i32>M1);
  let ka = k0;
  let kb = k1;
  for (let r = 0; r < 10; r++) {
    const hi0 = mulhi_u32x4(c0, m0);
    const lo0 = i32x4.mul(c0, m0);
    const hi1 = mulhi_u32x4(c2, m1);
    const lo1 = i32x4.mul(c2, m1);
    c0 = v128.xor(v128.xor(hi1, c1), i32x4.splat(<i32>ka));
    c1 = lo1;
    c2 = v128.xor(v128.xor(hi0, c3), i32x4.splat(<i32>kb));
    c3 = lo0;
    ka += W0;
    kb += W1;
  }
  // transpose the 4×4 (word, block) tile into counter order
  const t0 = i32x4.shuffle(c0, c1, 0, 4, 1, 5);
  const t1 = i32x4.shuffle(c2, c3, 0, 4, 1, 5);
  const t2 = i32x4.shuffle(c0, c1, 2, 6, 3, 7);
  const t3 = i32x4.shuffle(c2, c3, 2, 6, 3, 7);
  v128.store(dst, i32x4.shuffle(t0, t1, 0, 1, 4, 5));
  v128.store(dst, i32x4.shuffle(t0, t1, 2, 3, 6, 7), 16);
  v128.store(dst, i32x4.shuffle(t2, t3, 0, 1, 4, 5), 32);
  v128.store(dst, i32x4.shuffle(t2, t3, 2, 3, 6, 7), 48);
}

/** Lane k (0..3) of an i32x4 as u32. */
// @ts-ignore: decorator
@inline function lane_u32(v: v128, k: i32): u32 {
  if (k == 0) return <u32>i32x4.extract_lane(v, 0);
  if (k == 1) return <u32>i32x4.extract_lane(v, 1);
  if (k == 2) return <u32>i32x4.extract_lane(v, 2);
  return <u32>i32x4.extract_lane(v, 3);
}

/** u = (w >>> 8)·2⁻²⁴ per lane: uniform on [0, 1) (exact in f32). */
// @ts-ignore: decorator
@inline function unit_f32x4(w: v128): v128 {
  return f32x4.mul(f32x4.convert_i32x4_s(i32x4.shr_u(w, 8)), f32x4.splat(5.9604644775390625e-8));
}

// @ts-ignore: decorator
@inline function unit_f32(w: u32): f32 {
  return <f32>(w >>> 8) * 5.9604644775390625e-8;
}

/** The largest f32 below h (h not NaN). */
// @ts-ignore: decorator
@inline function prev_f32(h: f32): f32 {
  const b = reinterpret<u32>(h);
  if (h > 0) return reinterpret<f32>(b - 1);
  if (h == 0) return reinterpret<f32>(<u32>0x80000001);
  return reinterpret<f32>(b + 1);
}

/**
 * out[i] = lo + (hi − lo)·u(offset + i), u uniform on [0, 1) with 24-bit resolution (see the file comment
 * for the stream layout); results are in [lo, hi) (a value that rounds up to hi is replaced by the
 * largest f32 below hi). lo == hi gives lo. out: [n]. Pure function of (seed, offset + i).
 */
export function rng_uniform_f32(n: i32, out_ptr: usize, seed_lo: i32, seed_hi: i32, offset: i32, lo: f32, hi: f32): void {
  const k0 = <u32>seed_lo;
  const k1 = <u32>seed_hi;
  const d: f32 = hi - lo;
  const clamp = hi > lo;
  const hp: f32 = clamp ? prev_f32(hi) : hi;
  const lov = f32x4.splat(lo);
  const dv = f32x4.splat(d);
  const hiv = f32x4.splat(hi);
  const hpv = f32x4.splat(hp);
  const cm = i32x4.splat(clamp ? -1 : 0);
  let c: u64 = <u64><u32>offset;
  let i = 0;
  while (i < n) {
    if ((c & 15) == 0 && i + 16 <= n) {
      // 16 elements from four blocks: words straight into out, then converted in place
      const p = out_ptr + off4(i);
      philox_x4(c >>> 2, k0, k1, p);
      for (let q: usize = 0; q < 64; q += 16) {
        const r = f32x4.add(lov, f32x4.mul(dv, unit_f32x4(v128.load(p + q))));
        v128.store(p + q, v128.bitselect(hpv, r, v128.and(f32x4.ge(r, hiv), cm)));
      }
      i += 16;
      c += 16;
    } else {
      const blk = philox_block(<u32>(c >>> 2), <u32>(c >>> 34), 0, 0, k0, k1);
      for (let w = <i32>(c & 3); w < 4 && i < n; w++) {
        let r: f32 = lo + d * unit_f32(lane_u32(blk, w));
        if (clamp && r >= hi) r = hp;
        store<f32>(out_ptr + off4(i), r);
        i++;
        c++;
      }
    }
  }
}

/** cos(2π·v) for v ∈ [0, 1) in f64: quadrant reduction + Taylor polynomials on [−π/4, π/4] (< 1e-15). */
// @ts-ignore: decorator
@inline function cos2pi(v: f64): f64 {
  const q = Math.floor(v * 4 + 0.5); // 0..4
  const r = (v - q * 0.25) * 6.283185307179586476925; // |r| ≤ π/4
  const z = r * r;
  const cs = 1 + z * (-1.0 / 2 + z * (1.0 / 24 + z * (-1.0 / 720 + z * (1.0 / 40320 + z * (-1.0 / 3628800 +
    z * (1.0 / 479001600 + z * (-1.0 / 87178291200 + z * (1.0 / 20922789888000))))))));
  const sn = r * (1 + z * (-1.0 / 6 + z * (1.0 / 120 + z * (-1.0 / 5040 + z * (1.0 / 362880 + z * (-1.0 / 39916800 +
    z * (1.0 / 6227020800 + z * (-1.0 / 1307674368000))))))));
  const k = <i32>q & 3;
  if (k == 0) return cs;
  if (k == 1) return -sn;
  if (k == 2) return -cs;
  return sn;
}

/**
 * out[i] = mean + std·z(offset + i), z standard normal by Box–Muller (cos branch) from the two words of
 * the element's half block (file comment): u₁ = (w₀ + 1)·2⁻³² ∈ (0, 1], u₂ = w₁·2⁻³² ∈ [0, 1),
 * z = √(−2 ln u₁)·cos(2π u₂), computed in f64 (|z| ≤ 6.67) and rounded once to f32. For parameter init.
 * out: [n]. Pure function of (seed, offset + i).
 */
export function rng_normal_f32(n: i32, out_ptr: usize, seed_lo: i32, seed_hi: i32, offset: i32, mean: f32, std: f32): void {
  const k0 = <u32>seed_lo;
  const k1 = <u32>seed_hi;
  let c: u64 = <u64><u32>offset;
  let i = 0;
  while (i < n) {
    const blk = philox_block(<u32>(c >>> 1), <u32>(c >>> 33), 1, 0, k0, k1);
    for (let h = <i32>(c & 1); h < 2 && i < n; h++) {
      const wa = h == 0 ? lane_u32(blk, 0) : lane_u32(blk, 2);
      const wb = h == 0 ? lane_u32(blk, 1) : lane_u32(blk, 3);
      const u1 = (<f64>wa + 1) * 2.3283064365386963e-10;
      const u2 = <f64>wb * 2.3283064365386963e-10;
      const z = Math.sqrt(-2 * Math.log(u1)) * cos2pi(u2);
      store<f32>(out_ptr + off4(i), <f32>(<f64>mean + <f64>std * z));
      i++;
      c++;
    }
  }
}

/**
 * Inverted dropout: mask[i] = (u(offset + i) ≥ p) ? 1/(1 − p) : 0 (u exactly as rng_uniform with lo=0,
 * hi=1, so the keep rate is 1 − p to 2⁻²⁴), y = x ⊙ mask. p = 0 gives a mask of 1s (y = x); p = 1 a
 * mask of 0s. x, y, mask: [n]; y may alias x; mask must not alias x or y (it is used as scratch for the
 * raw random words). The mask is saved for dropout_bwd_f32x4.
 */
export function dropout_fwd_f32x4(n: i32, x_ptr: usize, y_ptr: usize, mask_ptr: usize, seed_lo: i32, seed_hi: i32, offset: i32, p: f32): void {
  const k0 = <u32>seed_lo;
  const k1 = <u32>seed_hi;
  const scale: f32 = p < 1 ? 1 / (1 - p) : 0;
  const sv = f32x4.splat(scale);
  const pv = f32x4.splat(p);
  let c: u64 = <u64><u32>offset;
  let i = 0;
  while (i < n) {
    if ((c & 15) == 0 && i + 16 <= n) {
      const mp = mask_ptr + off4(i);
      const xp = x_ptr + off4(i);
      const yp = y_ptr + off4(i);
      philox_x4(c >>> 2, k0, k1, mp);
      for (let q: usize = 0; q < 64; q += 16) {
        const keep = f32x4.ge(unit_f32x4(v128.load(mp + q)), pv);
        const mk = v128.and(sv, keep);
        v128.store(mp + q, mk);
        v128.store(yp + q, f32x4.mul(v128.load(xp + q), mk));
      }
      i += 16;
      c += 16;
    } else {
      const blk = philox_block(<u32>(c >>> 2), <u32>(c >>> 34), 0, 0, k0, k1);
      for (let w = <i32>(c & 3); w < 4 && i < n; w++) {
        const mk: f32 = unit_f32(lane_u32(blk, w)) >= p ? scale : 0;
        store<f32>(mask_ptr + off4(i), mk);
        store<f32>(y_ptr + off4(i), load<f32>(x_ptr + off4(i)) * mk);
        i++;
        c++;
      }
    }
  }
}

/**
 * dx = beta·dx + dy ⊙ mask (mask from dropout_fwd_f32x4). mask, dy, dx: [n]. beta == 0: dx is not read;
 * dx may alias dy when beta == 0.
 */
export function dropout_bwd_f32x4(n: i32, mask_ptr: usize, dy_ptr: usize, dx_ptr: usize, beta: f32): void {
  let i = 0;
  if (beta == 0) {
    for (; i + 4 <= n; i += 4) {
      v128.store(dx_ptr + off4(i), f32x4.mul(v128.load(dy_ptr + off4(i)), v128.load(mask_ptr + off4(i))));
    }
    for (; i < n; i++) store<f32>(dx_ptr + off4(i), load<f32>(dy_ptr + off4(i)) * load<f32>(mask_ptr + off4(i)));
  } else {
    const bv = f32x4.splat(beta);
    for (; i + 4 <= n; i += 4) {
      const g = f32x4.mul(v128.load(dy_ptr + off4(i)), v128.load(mask_ptr + off4(i)));
      v128.store(dx_ptr + off4(i), f32x4.add(f32x4.mul(v128.load(dx_ptr + off4(i)), bv), g));
    }
    for (; i < n; i++) {
      store<f32>(dx_ptr + off4(i), beta * load<f32>(dx_ptr + off4(i)) + load<f32>(dy_ptr + off4(i)) * load<f32>(mask_ptr + off4(i)));
    }
  }
}
