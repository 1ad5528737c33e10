// Dense (fully connected) layer kernels: register-blocked, cache-blocked f32x4 GEMM. No workspace.
//
// Layout: X [m, k], W [k, n] (in_features × out_features), b [n], Y [m, n], all row-major and
// contiguous. Pointers need only 4-byte alignment (v128 loads/stores are unaligned-safe).
//
// Forward (X·W) and bwd_w (Xᵀ·dY) run through gemm_nn: 4×8 microkernels keep a 4-row × 8-column block of
// the output in eight f32x4 accumulators; each reduction step loads one 8-wide row of the right operand
// (contiguous, as two v128) and multiplies it by a broadcast (load32_splat) element of the left operand
// per output row. Edges: rows beyond a multiple of 4 use 1×8 / 1×4 microkernels, n % 8 ≥ 4 columns a
// 4-wide microkernel and the last n % 4 columns a scalar loop. bwd_x (dY·Wᵀ) reads W along its rows:
// 2×4 blocks of dot products with f32x4 accumulators along n, reduced by a 4×4 transpose-add.
import { hsum_f32x4 } from "../simd";

// @ts-ignore: decorator
@inline function madd(acc: v128, a: v128, b: v128): v128 {
  return f32x4.add(acc, f32x4.mul(a, b));
}

// Cache blocking (rows per block); multiples of 4.
const FWD_MC: i32 = 128;
const BWDW_KC: i32 = 128;
const BWDX_MC: i32 = 64;

// Epilogue modes of the microkernels.
const EPI_STORE: i32 = 0; // c = acc
const EPI_RELU: i32 = 1; // c = max(acc, 0)
const EPI_BETA: i32 = 2; // c = beta·c + acc (beta == 0 handled by the caller as EPI_STORE)

// @ts-ignore: decorator
@inline function epi4(p: usize, v: v128, mode: i32, vbeta: v128): void {
  if (mode == EPI_RELU) v = f32x4.pmax(v, f32x4.splat(0)); // (v < 0 ? 0 : v); NaN passes through
  else if (mode == EPI_BETA) v = madd(v, v128.load(p), vbeta);
  v128.store(p, v);
}

// @ts-ignore: decorator
@inline function epi1(p: usize, v: f32, mode: i32, beta: f32): void {
  if (mode == EPI_RELU) v = max(v, <f32>0);
  else if (mode == EPI_BETA) v = beta * load<f32>(p) + v;
  store<f32>(p, v);
}

// @ts-ignore: decorator
@inline function bias4(bias: usize, off: usize): v128 {
  return bias ? v128.load(bias + off) : f32x4.splat(0);
}

/**
 * C[4, 8] (mode) A[4, kk] · B[kk, 8]. Element (r, s) of A is at a + r·ars + s·acs (bytes); row s
 * of B at b + s·bs; row r of C at c + r·cs. The accumulators start at bias[0..8] (bias == 0: zero).
 */
function mk4x8(kk: i32, a: usize, ars: usize, acs: usize, b: usize, bs: usize, c: usize, cs: usize, bias: usize, mode: i32, beta: f32): void {
  let c00 = bias4(bias, 0), c01 = bias4(bias, 16);
  let c10 = c00, c11 = c01, c20 = c00, c21 = c01, c30 = c00, c31 = c01;
  let a0 = a, a1 = a + ars, a2 = a1 + ars, a3 = a2 + ars;
  for (let s = 0; s < kk; s++) {
    const b0 = v128.load(b), b1 = v128.load(b, 16);
    let x = v128.load32_splat(a0);
    c00 = madd(c00, x, b0); c01 = madd(c01, x, b1);
    x = v128.load32_splat(a1);
    c10 = madd(c10, x, b0); c11 = madd(c11, x, b1);
    x = v128.load32_splat(a2);
    c20 = madd(c20, x, b0); c21 = madd(c21, x, b1);
    x = v128.load32_splat(a3);
    c30 = madd(c30, x, b0); c31 = madd(c31, x, b1);
    a0 += acs; a1 += acs; a2 += acs; a3 += acs; b += bs;
  }
  const vb = f32x4.splat(beta);
  epi4(c, c00, mode, vb); epi4(c + 16, c01, mode, vb); c += cs;
  epi4(c, c10, mode, vb); epi4(c + 16, c11, mode, vb); c += cs;
  epi4(c, c20, mode, vb); epi4(c + 16, c21, mode, vb); c += cs;
  epi4(c, c30, mode, vb); epi4(c + 16, c31, mode, vb);
}

/**
 * mk4x8 specialised for a transposed A (ars == 4): the four rows of A are adjacent, so one
 * pointer with constant offsets 0, 4, 8, 12 serves them; it advances by acs per step.
 */
function mk4x8_tn(kk: i32, a: usize, acs: usize, b: usize, bs: usize, c: usize, cs: usize, mode: i32, beta: f32): void {
  let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  for (let s = 0; s < kk; s++) {
    const b0 = v128.load(b), b1 = v128.load(b, 16);
    let x = v128.load32_splat(a);
    c00 = madd(c00, x, b0); c01 = madd(c01, x, b1);
    x = v128.load32_splat(a, 4);
    c10 = madd(c10, x, b0); c11 = madd(c11, x, b1);
    x = v128.load32_splat(a, 8);
    c20 = madd(c20, x, b0); c21 = madd(c21, x, b1);
    x = v128.load32_splat(a, 12);
    c30 = madd(c30, x, b0); c31 = madd(c31, x, b1);
    a += acs; b += bs;
  }
  const vb = f32x4.splat(beta);
  epi4(c, c00, mode, vb); epi4(c + 16, c01, mode, vb); c += cs;
  epi4(c, c10, mode, vb); epi4(c + 16, c11, mode, vb); c += cs;
  epi4(c, c20, mode, vb); epi4(c + 16, c21, mode, vb); c += cs;
  epi4(c, c30, mode, vb); epi4(c + 16, c31, mode, vb);
}

/** C[1, 8] (mode) A[1, kk] · B[kk, 8]; same addressing as mk4x8. */
function mk1x8(kk: i32, a: usize, acs: usize, b: usize, bs: usize, c: usize, bias: usize, mode: i32, beta: f32): void {
  let c00 = bias4(bias, 0), c01 = bias4(bias, 16);
  for (let s = 0; s < kk; s++) {
    const x = v128.load32_splat(a);
    c00 = madd(c00, x, v128.load(b)); c01 = madd(c01, x, v128.load(b, 16));
    a += acs; b += bs;
  }
  const vb = f32x4.splat(beta);
  epi4(c, c00, mode, vb); epi4(c + 16, c01, mode, vb);
}

/** C[4, 4] (mode) A[4, kk] · B[kk, 4]; same addressing as mk4x8. */
function mk4x4(kk: i32, a: usize, ars: usize, acs: usize, b: usize, bs: usize, c: usize, cs: usize, bias: usize, mode: i32, beta: f32): void {
  let c0 = bias4(bias, 0);
  let c1 = c0, c2 = c0, c3 = c0;
  let a0 = a, a1 = a + ars, a2 = a1 + ars, a3 = a2 + ars;
  for (let s = 0; s < kk; s++) {
    const b0 = v128.load(b);
    c0 = madd(c0, v128.load32_splat(a0), b0);
    c1 = madd(c1, v128.load32_splat(a1), b0);
    c2 = madd(c2, v128.load32_splat(a2), b0);
    c3 = madd(c3, v128.load32_splat(a3), b0);
    a0 += acs; a1 += acs; a2 += acs; a3 += acs; b += bs;
  }
  const vb = f32x4.splat(beta);
  epi4(c, c0, mode, vb); c += cs;
  epi4(c, c1, mode, vb); c += cs;
  epi4(c, c2, mode, vb); c += cs;
  epi4(c, c3, mode, vb);
}

/** C[1, 4] (mode) A[1, kk] · B[kk, 4]. */
function mk1x4(kk: i32, a: usize, acs: usize, b: usize, bs: usize, c: usize, bias: usize, mode: i32, beta: f32): void {
  let c0 = bias4(bias, 0);
  for (let s = 0; s < kk; s++) {
    c0 = madd(c0, v128.load32_splat(a), v128.load(b));
    a += acs; b += bs;
  }
  epi4(c, c0, mode, f32x4.splat(beta));
}

/** C[1, 1] (mode) A[1, kk] · B[kk, 1] (scalar column tail). */
function mk1x1(kk: i32, a: usize, acs: usize, b: usize, bs: usize, c: usize, bias: usize, mode: i32, beta: f32): void {
  let s0: f32 = bias ? load<f32>(bias) : 0;
  for (let s = 0; s < kk; s++) {
    s0 += load<f32>(a) * load<f32>(b);
    a += acs; b += bs;
  }
  epi1(c, s0, mode, beta);
}

/**
 * Generic driver: C[rows, cols] (mode) A[rows, kk] · B[kk, cols] (+ bias[cols]).
 * A element (r, s) at a + r·ars + s·acs; B row-major with row stride bs; C row-major with row stride cs.
 */
function gemm_nn(rows: i32, cols: i32, kk: i32, a: usize, ars: usize, acs: usize, b: usize, bs: usize, c: usize, cs: usize, bias: usize, mode: i32, beta: f32): void {
  const rows4 = rows & ~3;
  let j = 0;
  for (; j + 8 <= cols; j += 8) {
    const bj = b + (<usize>j << 2), cj = c + (<usize>j << 2), biasj = bias ? bias + (<usize>j << 2) : 0;
    let i = 0;
    if (ars == 4 && !biasj) {
      for (; i < rows4; i += 4) mk4x8_tn(kk, a + <usize>i * ars, acs, bj, bs, cj + <usize>i * cs, cs, mode, beta);
    } else {
      for (; i < rows4; i += 4) mk4x8(kk, a + <usize>i * ars, ars, acs, bj, bs, cj + <usize>i * cs, cs, biasj, mode, beta);
    }
    for (; i < rows; i++) mk1x8(kk, a + <usize>i * ars, acs, bj, bs, cj + <usize>i * cs, biasj, mode, beta);
  }
  if (j + 4 <= cols) {
    const bj = b + (<usize>j << 2), cj = c + (<usize>j << 2), biasj = bias ? bias + (<usize>j << 2) : 0;
    let i = 0;
    for (; i < rows4; i += 4) mk4x4(kk, a + <usize>i * ars, ars, acs, bj, bs, cj + <usize>i * cs, cs, biasj, mode, beta);
    for (; i < rows; i++) mk1x4(kk, a + <usize>i * ars, acs, bj, bs, cj + <usize>i * cs, biasj, mode, beta);
    j += 4;
  }
  for (; j < cols; j++) {
    const bj = b + (<usize>j << 2), cj = c + (<usize>j << 2), biasj = bias ? bias + (<usize>j << 2) : 0;
    for (let i = 0; i < rows; i++) mk1x1(kk, a + <usize>i * ars, acs, bj, bs, cj + <usize>i * cs, biasj, mode, beta);
  }
}

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
 * Bench-only: the machine's f32x4 mul+add peak. Twelve independent accumulators each do
 * acc = acc·a + b (one f32x4.mul and one f32x4.add) per iteration, so one iteration is
 * 12 × 4 lanes × 2 = 96 flops; `iters` iterations are 96·iters flops. Returns the lane sum of
 * all accumulators so the loop is not optimized away.
 */
export function peak_f32x4(iters: i32): f32 {
  const a = f32x4.splat(0.999999), b = f32x4.splat(1e-6);
  let c0 = f32x4(0.0, 0.1, 0.2, 0.3), c1 = f32x4.add(c0, b), c2 = f32x4.add(c1, b), c3 = f32x4.add(c2, b);
  let c4 = f32x4.add(c3, b), c5 = f32x4.add(c4, b), c6 = f32x4.add(c5, b), c7 = f32x4.add(c6, b);
  let c8 = f32x4.add(c7, b), c9 = f32x4.add(c8, b), c10 = f32x4.add(c9, b), c11 = f32x4.add(c10, b);
  for (let t = 0; t < iters; t++) {
    c0 = madd(b, c0, a); c1 = madd(b, c1, a); c2 = madd(b, c2, a); c3 = madd(b, c3, a);
    c4 = madd(b, c4, a); c5 = madd(b, c5, a); c6 = madd(b, c6, a); c7 = madd(b, c7, a);
    c8 = madd(b, c8, a); c9 = madd(b, c9, a); c10 = madd(b, c10, a); c11 = madd(b, c11, a);
  }
  const s = f32x4.add(f32x4.add(f32x4.add(c0, c1), f32x4.add(c2, c3)), f32x4.add(f32x4.add(c4, c5), f32x4.add(c6, c7)));
  return hsum_f32x4(f32x4.add(s, f32x4.add(f32x4.add(c8, c9), f32x4.add(c10, c11))));
}
