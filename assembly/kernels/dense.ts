// Dense (fully connected) layer kernels: register-blocked, cache-blocked f32x4 GEMM. No workspace.
//
// Layout: X [m, k], W [k, n] (in_features × out_features), b [n], Y [m, n], all row-major and
// contiguous. Pointers need only 4-byte alignment (v128 loads/stores are unaligned-safe).
//
// Forward (X·W) and bwd_w (Xᵀ·dY) run through gemm_nn (gemm.ts, shared with conv.ts): 4×8 microkernels keep a 4-row × 8-column block of
// the output in eight f32x4 accumulators; each reduction step loads one 8-wide row of the right operand
// (contiguous, as two v128) and multiplies it by a broadcast (load32_splat) element of the left operand
// per output row. Edges: rows beyond a multiple of 4 use 1×8 / 1×4 microkernels, n % 8 ≥ 4 columns a
// 4-wide microkernel and the last n % 4 columns a scalar loop. bwd_x (dY·Wᵀ) reads W along its rows:
// 2×4 blocks of dot products with f32x4 accumulators along n, reduced by a 4×4 transpose-add.
import { hsum_f32x4 } from "../simd";
import { madd, epi4, epi1, gemm_nn, EPI_STORE, EPI_RELU, EPI_BETA } from "./gemm";

// Cache blocking (rows per block); multiples of 4.
const FWD_MC: i32 = 128;
const BWDW_KC: i32 = 128;
const BWDX_MC: i32 = 64;

/**
 * Dense forward: Y = act(X·W + b).
 * Shapes: X [m, k], W [k, n], b [n] (b_ptr == 0: no bias), Y [m, n]; all row-major, contiguous.
 * act: 0 identity, 1 relu (fused into the store; any other value means identity). Y is overwritten
 * (never read); Y must not alias X, W or b. k == 0 gives Y = act(b) (or 0).
 */
export function dense_fwd_f32x4(m: i32, k: i32, n: i32, x_ptr: usize, w_ptr: usize, b_ptr: usize, y_ptr: usize, act: i32): void {
  if (m <= 0 || n <= 0) return;
  const rs = <usize>k << 2, ns = <usize>n << 2, mode = act == 1 ? EPI_RELU : EPI_STORE;
  // Blocks of FWD_MC rows: the block of X stays in L2 while every 8-column panel of W passes by.
  for (let i0 = 0; i0 < m; i0 += FWD_MC) {
    gemm_nn(min(FWD_MC, m - i0), n, k, x_ptr + <usize>i0 * rs, rs, 4, w_ptr, ns, y_ptr + <usize>i0 * ns, ns, b_ptr, mode, 0);
  }
}

/**
 * Dense backward w.r.t. the weights: dW = beta·dW + Xᵀ·dY, and db = beta·db + Σ_rows dY.
 * Shapes: X [m, k], dY [m, n], dW [k, n], db [n] (db_ptr == 0: skipped). beta 0 overwrites
 * (dW/db never read, so they may hold garbage), 1 accumulates; other values scale the old gradient.
 * dW and db must not alias X, dY or each other. m == 0 gives dW = beta·dW, db = beta·db.
 */
export function dense_bwd_w_f32x4(m: i32, k: i32, n: i32, x_ptr: usize, dy_ptr: usize, dw_ptr: usize, db_ptr: usize, beta: f32): void {
  if (n <= 0) return;
  const mode = beta == 0 ? EPI_STORE : EPI_BETA;
  const ks = <usize>k << 2, ns = <usize>n << 2;
  // A = Xᵀ [k, m]: element (p, i) = X[i, p] at x + p·4 + i·k·4.
  // Reduction (over rows) in chunks of BWDW_KC: the chunks of X and dY stay in L2; the first chunk
  // applies beta, the later ones accumulate.
  if (k > 0) {
    let i0 = 0;
    do {
      const rows = min(BWDW_KC, m - i0);
      gemm_nn(k, n, rows, x_ptr + <usize>i0 * ks, 4, ks, dy_ptr + <usize>i0 * ns, ns, dw_ptr, ns, 0, i0 ? EPI_BETA : mode, i0 ? 1 : beta);
      i0 += BWDW_KC;
    } while (i0 < m);
  }
  if (db_ptr) {
    const vb = f32x4.splat(beta);
    let j = 0;
    for (; j + 8 <= n; j += 8) {
      let s0 = f32x4.splat(0), s1 = s0;
      let p = dy_ptr + (<usize>j << 2);
      for (let i = 0; i < m; i++) {
        s0 = f32x4.add(s0, v128.load(p));
        s1 = f32x4.add(s1, v128.load(p, 16));
        p += ns;
      }
      const q = db_ptr + (<usize>j << 2);
      epi4(q, s0, mode, vb); epi4(q + 16, s1, mode, vb);
    }
    for (; j + 4 <= n; j += 4) {
      let s0 = f32x4.splat(0);
      let p = dy_ptr + (<usize>j << 2);
      for (let i = 0; i < m; i++) {
        s0 = f32x4.add(s0, v128.load(p));
        p += ns;
      }
      epi4(db_ptr + (<usize>j << 2), s0, mode, vb);
    }
    for (; j < n; j++) {
      let s0: f32 = 0;
      let p = dy_ptr + (<usize>j << 2);
      for (let i = 0; i < m; i++) {
        s0 += load<f32>(p);
        p += ns;
      }
      epi1(db_ptr + (<usize>j << 2), s0, mode, beta);
    }
  }
}

// --- dX = dY·Wᵀ: dot products along n, where both dY rows and W rows are contiguous. ---

/** [Σ r0, Σ r1, Σ r2, Σ r3]: the four horizontal sums, as one vector. */
// @ts-ignore: decorator
@inline function hsum4x4(r0: v128, r1: v128, r2: v128, r3: v128): v128 {
  const u01 = f32x4.add(f32x4.shuffle(r0, r1, 0, 4, 1, 5), f32x4.shuffle(r0, r1, 2, 6, 3, 7));
  const u23 = f32x4.add(f32x4.shuffle(r2, r3, 0, 4, 1, 5), f32x4.shuffle(r2, r3, 2, 6, 3, 7));
  return f32x4.add(f32x4.shuffle(u01, u23, 0, 1, 4, 5), f32x4.shuffle(u01, u23, 2, 3, 6, 7));
}

/** Scalar Σ_{s<len} a[s]·b[s] (the n % 4 tail of a dot product). */
// @ts-ignore: decorator
@inline function dot_tail(len: i32, a: usize, b: usize): f32 {
  let t: f32 = 0;
  for (let s = 0; s < len; s++) t += load<f32>(a + (<usize>s << 2)) * load<f32>(b + (<usize>s << 2));
  return t;
}

/** Σ_s a[s]·b[s] over n contiguous elements (f32x4 body + scalar tail). */
// @ts-ignore: decorator
@inline function dot1(n: i32, a: usize, b: usize): f32 {
  let acc = f32x4.splat(0);
  let s = 0;
  for (; s + 4 <= n; s += 4) {
    acc = madd(acc, v128.load(a), v128.load(b));
    a += 16; b += 16;
  }
  return hsum_f32x4(acc) + dot_tail(n - s, a, b);
}

/**
 * C[2, 4] (mode) A[2, n]·B[4, n]ᵀ where rows of A are `as` bytes apart, rows of B `bs` bytes apart,
 * rows of C `cs` bytes apart; all rows contiguous.
 */
function dot2x4(n: i32, a: usize, as: usize, b: usize, bs: usize, c: usize, cs: usize, mode: i32, beta: f32): void {
  let c00 = f32x4.splat(0), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, c13 = c00;
  let a0 = a, a1 = a + as, b0 = b, b1 = b + bs, b2 = b1 + bs, b3 = b2 + bs;
  const n4 = n & ~3;
  for (let s = 0; s < n4; s += 4) {
    const x0 = v128.load(a0), x1 = v128.load(a1);
    let y = v128.load(b0);
    c00 = madd(c00, x0, y); c10 = madd(c10, x1, y);
    y = v128.load(b1);
    c01 = madd(c01, x0, y); c11 = madd(c11, x1, y);
    y = v128.load(b2);
    c02 = madd(c02, x0, y); c12 = madd(c12, x1, y);
    y = v128.load(b3);
    c03 = madd(c03, x0, y); c13 = madd(c13, x1, y);
    a0 += 16; a1 += 16; b0 += 16; b1 += 16; b2 += 16; b3 += 16;
  }
  let r0 = hsum4x4(c00, c01, c02, c03), r1 = hsum4x4(c10, c11, c12, c13);
  const t = n - n4;
  if (t) {
    r0 = f32x4.add(r0, tail4(t, a0, b0, b1, b2, b3));
    r1 = f32x4.add(r1, tail4(t, a1, b0, b1, b2, b3));
  }
  const vb = f32x4.splat(beta);
  epi4(c, r0, mode, vb);
  epi4(c + cs, r1, mode, vb);
}

/** C[1, 4] (mode) A[1, n]·B[4, n]ᵀ. */
function dot1x4(n: i32, a: usize, b: usize, bs: usize, c: usize, mode: i32, beta: f32): void {
  let c0 = f32x4.splat(0), c1 = c0, c2 = c0, c3 = c0;
  let b0 = b, b1 = b + bs, b2 = b1 + bs, b3 = b2 + bs;
  const n4 = n & ~3;
  for (let s = 0; s < n4; s += 4) {
    const x = v128.load(a);
    c0 = madd(c0, x, v128.load(b0)); c1 = madd(c1, x, v128.load(b1));
    c2 = madd(c2, x, v128.load(b2)); c3 = madd(c3, x, v128.load(b3));
    a += 16; b0 += 16; b1 += 16; b2 += 16; b3 += 16;
  }
  let r = hsum4x4(c0, c1, c2, c3);
  const t = n - n4;
  if (t) r = f32x4.add(r, tail4(t, a, b0, b1, b2, b3));
  epi4(c, r, mode, f32x4.splat(beta));
}

/** [tail(a, b0), tail(a, b1), tail(a, b2), tail(a, b3)] for the last t < 4 elements. */
// @ts-ignore: decorator
@inline function tail4(t: i32, a: usize, b0: usize, b1: usize, b2: usize, b3: usize): v128 {
  let v = f32x4.splat(0);
  v = f32x4.replace_lane(v, 0, dot_tail(t, a, b0));
  v = f32x4.replace_lane(v, 1, dot_tail(t, a, b1));
  v = f32x4.replace_lane(v, 2, dot_tail(t, a, b2));
  v = f32x4.replace_lane(v, 3, dot_tail(t, a, b3));
  return v;
}

/**
 * Dense backward w.r.t. the input: dX = beta·dX + dY·Wᵀ.
 * Shapes: dY [m, n], W [k, n], dX [m, k]. beta 0 overwrites (dX never read, so it may hold garbage),
 * 1 accumulates; other values scale the old gradient. dX must not alias dY or W.
 * n == 0 gives dX = beta·dX (0 when beta == 0).
 */
export function dense_bwd_x_f32x4(m: i32, k: i32, n: i32, dy_ptr: usize, w_ptr: usize, dx_ptr: usize, beta: f32): void {
  if (m <= 0 || k <= 0) return;
  const mode = beta == 0 ? EPI_STORE : EPI_BETA;
  const ns = <usize>max(n, 0) << 2, ks = <usize>k << 2;
  // Blocks of BWDX_MC rows of dY (kept in L2); within a block, four rows of W (a 4n-float panel that
  // stays in L1) against the block's rows, two at a time.
  for (let i0 = 0; i0 < m; i0 += BWDX_MC) {
    const i1 = min(m, i0 + BWDX_MC), i2 = i0 + ((i1 - i0) & ~1);
    let c = 0;
    for (; c + 4 <= k; c += 4) {
      const wc = w_ptr + <usize>c * ns, dxc = dx_ptr + (<usize>c << 2);
      let i = i0;
      for (; i < i2; i += 2) dot2x4(n, dy_ptr + <usize>i * ns, ns, wc, ns, dxc + <usize>i * ks, ks, mode, beta);
      if (i < i1) dot1x4(n, dy_ptr + <usize>i * ns, wc, ns, dxc + <usize>i * ks, mode, beta);
    }
    for (; c < k; c++) {
      const wc = w_ptr + <usize>c * ns;
      for (let i = i0; i < i1; i++) {
        epi1(dx_ptr + <usize>i * ks + (<usize>c << 2), dot1(n, dy_ptr + <usize>i * ns, wc), mode, beta);
      }
    }
  }
}

/**
 * Bench-only: the machine's f32x4 mul+add throughput. Seven independent f32x4.mul chains (m = m·m) and
 * seven independent f32x4.add chains (s = s + s) per iteration, so one iteration is 7 × 4 lanes × 2 = 56
 * flops; `iters` iterations are 56·iters flops. Mul and add never wait on each other, and 7 chains of
 * each cover a 3–4 cycle latency on 2 pipes per operation (x86: 2 FMUL + 2 FADD pipes on Zen, 2 shared
 * FMA pipes on Intel); the squares and doublings need no constant registers, so the 14 accumulators fit
 * V8's 15 allocatable xmm registers without spills. (The previous loop, 12 chains of acc·a + b, put the
 * add after the mul on every chain and measured ~35 % less.) The chains start at m = 1 and s = 0 —
 * fixed points, so no overflow or denormals — seeded from `iters` so the compiler cannot fold them.
 * Returns the lane sum of all accumulators (28 for any iters ≥ 0) so the loop is not optimized away.
 */
export function peak_f32x4(iters: i32): f32 {
  const z = f32x4.splat(<f32>(iters & 0x40000000)); // 0 for every iters < 2^30, unknown at compile time
  let m0 = f32x4.add(z, f32x4.splat(1)), m1 = m0, m2 = m0, m3 = m0, m4 = m0, m5 = m0, m6 = m0;
  let s0 = z, s1 = z, s2 = z, s3 = z, s4 = z, s5 = z, s6 = z;
  for (let t = 0; t < iters; t++) {
    m0 = f32x4.mul(m0, m0); s0 = f32x4.add(s0, s0);
    m1 = f32x4.mul(m1, m1); s1 = f32x4.add(s1, s1);
    m2 = f32x4.mul(m2, m2); s2 = f32x4.add(s2, s2);
    m3 = f32x4.mul(m3, m3); s3 = f32x4.add(s3, s3);
    m4 = f32x4.mul(m4, m4); s4 = f32x4.add(s4, s4);
    m5 = f32x4.mul(m5, m5); s5 = f32x4.add(s5, s5);
    m6 = f32x4.mul(m6, m6); s6 = f32x4.add(s6, s6);
  }
  const m = f32x4.add(f32x4.add(f32x4.add(m0, m1), f32x4.add(m2, m3)), f32x4.add(f32x4.add(m4, m5), m6));
  const s = f32x4.add(f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3)), f32x4.add(f32x4.add(s4, s5), s6));
  return hsum_f32x4(f32x4.add(m, s));
}
