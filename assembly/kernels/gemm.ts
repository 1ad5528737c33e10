// The f32x4 GEMM core shared by dense.ts and conv.ts (internal: index.ts does not re-export this file,
// so nothing here is a wasm export). Moved out of dense.ts unchanged except for the row-bias flag.
//
// gemm_nn computes C[rows, cols] (mode) A[rows, kk] · B[kk, cols] (+ bias): 4×8 microkernels keep a
// 4-row × 8-column block of C in eight f32x4 accumulators; each reduction step loads one 8-wide row of B
// (contiguous, as two v128) and multiplies it by a broadcast (load32_splat) element of A per output row.
// Edges: rows beyond a multiple of 4 use 1×8 / 1×4 microkernels, cols % 8 ≥ 4 a 4-wide microkernel and
// the last cols % 4 columns a scalar loop. A is addressed with two strides (ars, acs), so A or Aᵀ can be
// read in place; B and C are row-major with row strides in bytes.
//
// Epilogue modes: EPI_STORE (c = acc), EPI_RELU (c = max(acc, 0)), EPI_BETA (c = beta·c + acc), and
// EPI_BETA_RELU (c = max(beta·c + acc, 0)). The accumulators start at the bias: by default bias[cols]
// (one value per column, dense); with the EPI_ROWBIAS flag or-ed into the mode, bias[rows] (one value per
// row, convolution's per-output-channel bias). bias == 0: no bias.

// @ts-ignore: decorator
@inline export function madd(acc: v128, a: v128, b: v128): v128 {
  return f32x4.add(acc, f32x4.mul(a, b));
}

// Epilogue modes of the microkernels (the low two bits), and the row-bias flag.
export const EPI_STORE: i32 = 0; // c = acc
export const EPI_RELU: i32 = 1; // c = max(acc, 0)
export const EPI_BETA: i32 = 2; // c = beta·c + acc (beta == 0 handled by the caller as EPI_STORE)
export const EPI_BETA_RELU: i32 = 3; // c = max(beta·c + acc, 0)
export const EPI_ROWBIAS: i32 = 4; // flag: bias[i] is added to row i (instead of bias[j] to column j)

// @ts-ignore: decorator
@inline export function epi4(p: usize, v: v128, mode: i32, vbeta: v128): void {
  const m = mode & 3;
  if (m >= EPI_BETA) v = madd(v, v128.load(p), vbeta);
  if (m & EPI_RELU) v = f32x4.pmax(v, f32x4.splat(0)); // (v < 0 ? 0 : v); NaN passes through
  v128.store(p, v);
}

// @ts-ignore: decorator
@inline export function epi1(p: usize, v: f32, mode: i32, beta: f32): void {
  const m = mode & 3;
  if (m >= EPI_BETA) v = beta * load<f32>(p) + v;
  if (m & EPI_RELU) v = max(v, <f32>0);
  store<f32>(p, v);
}

// @ts-ignore: decorator
@inline function bias4(bias: usize, off: usize): v128 {
  return bias ? v128.load(bias + off) : f32x4.splat(0);
}

/** Row bias: bias[off/4] in every lane (bias == 0: zero). */
// @ts-ignore: decorator
@inline function rbias4(bias: usize, off: usize): v128 {
  return bias ? v128.load32_splat(bias + off) : f32x4.splat(0);
}

/**
 * C[4, 8] (mode) A[4, kk] · B[kk, 8]. Element (r, s) of A is at a + r·ars + s·acs (bytes); row s
 * of B at b + s·bs; row r of C at c + r·cs. The accumulators start at bias[0..8] (bias == 0: zero), or
 * with EPI_ROWBIAS row r's at bias[r].
 */
function mk4x8(kk: i32, a: usize, ars: usize, acs: usize, b: usize, bs: usize, c: usize, cs: usize, bias: usize, mode: i32, beta: f32): void {
  let c00: v128, c01: v128, c10: v128, c11: v128, c20: v128, c21: v128, c30: v128, c31: v128;
  if (mode & EPI_ROWBIAS) {
    c00 = rbias4(bias, 0); c01 = c00; c10 = rbias4(bias, 4); c11 = c10;
    c20 = rbias4(bias, 8); c21 = c20; c30 = rbias4(bias, 12); c31 = c30;
  } else {
    c00 = bias4(bias, 0); c01 = bias4(bias, 16);
    c10 = c00; c11 = c01; c20 = c00; c21 = c01; c30 = c00; c31 = c01;
  }
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
  let c00: v128, c01: v128;
  if (mode & EPI_ROWBIAS) { c00 = rbias4(bias, 0); c01 = c00; } else { c00 = bias4(bias, 0); c01 = bias4(bias, 16); }
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
  let c0: v128, c1: v128, c2: v128, c3: v128;
  if (mode & EPI_ROWBIAS) { c0 = rbias4(bias, 0); c1 = rbias4(bias, 4); c2 = rbias4(bias, 8); c3 = rbias4(bias, 12); }
  else { c0 = bias4(bias, 0); c1 = c0; c2 = c0; c3 = c0; }
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
  const c0init = mode & EPI_ROWBIAS ? rbias4(bias, 0) : bias4(bias, 0);
  let c0 = c0init;
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
 * Generic driver: C[rows, cols] (mode) A[rows, kk] · B[kk, cols] (+ bias[cols], or bias[rows] with
 * EPI_ROWBIAS). A element (r, s) at a + r·ars + s·acs; B row-major with row stride bs; C row-major with
 * row stride cs (strides in bytes).
 */
export function gemm_nn(rows: i32, cols: i32, kk: i32, a: usize, ars: usize, acs: usize, b: usize, bs: usize, c: usize, cs: usize, bias: usize, mode: i32, beta: f32): void {
  const rows4 = rows & ~3;
  const rb = (mode & EPI_ROWBIAS) != 0 && bias != 0;
  let j = 0;
  for (; j + 8 <= cols; j += 8) {
    const bcol = b + (<usize>j << 2), cj = c + (<usize>j << 2), biasj = rb ? bias : bias ? bias + (<usize>j << 2) : 0;
    let i = 0;
    if (ars == 4 && !biasj) {
      for (; i < rows4; i += 4) mk4x8_tn(kk, a + <usize>i * ars, acs, bcol, bs, cj + <usize>i * cs, cs, mode, beta);
    } else {
      for (; i < rows4; i += 4) mk4x8(kk, a + <usize>i * ars, ars, acs, bcol, bs, cj + <usize>i * cs, cs, rb ? biasj + (<usize>i << 2) : biasj, mode, beta);
    }
    for (; i < rows; i++) mk1x8(kk, a + <usize>i * ars, acs, bcol, bs, cj + <usize>i * cs, rb ? biasj + (<usize>i << 2) : biasj, mode, beta);
  }
  if (j + 4 <= cols) {
    const bcol = b + (<usize>j << 2), cj = c + (<usize>j << 2), biasj = rb ? bias : bias ? bias + (<usize>j << 2) : 0;
    let i = 0;
    for (; i < rows4; i += 4) mk4x4(kk, a + <usize>i * ars, ars, acs, bcol, bs, cj + <usize>i * cs, cs, rb ? biasj + (<usize>i << 2) : biasj, mode, beta);
    for (; i < rows; i++) mk1x4(kk, a + <usize>i * ars, acs, bcol, bs, cj + <usize>i * cs, rb ? biasj + (<usize>i << 2) : biasj, mode, beta);
    j += 4;
  }
  for (; j < cols; j++) {
    const bcol = b + (<usize>j << 2), cj = c + (<usize>j << 2), biasj = rb ? bias : bias ? bias + (<usize>j << 2) : 0;
    for (let i = 0; i < rows; i++) mk1x1(kk, a + <usize>i * ars, acs, bcol, bs, cj + <usize>i * cs, rb ? biasj + (<usize>i << 2) : biasj, mode, beta);
  }
}
