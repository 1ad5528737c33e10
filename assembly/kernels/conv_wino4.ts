// Winograd F(4×4, 3×3) for 3×3, stride-1, undilated convolutions over NCHW planes: conv_wino.ts's scheme (read its
// file comment first) with 4×4 output tiles from 6×6 input patches (tiles overlap by 2) and 36 transform positions
// ξ = 6i + j (i, j < 6). Internal: conv.ts exports the kernels built on it (conv2d_fwd_f32x4_wino4,
// conv2d_bwd_f32x4_wino4); index.ts does not re-export this file.
//
// Matrices (Lavin & Gray 2016; interpolation points 0, ±1, ±2, ∞):
//   Bᵀ = [4 0 −5 0 1 0; 0 −4 −4 1 1 0; 0 4 −4 −1 1 0; 0 −2 −1 2 1 0; 0 2 −1 −2 1 0; 0 4 0 −5 0 1]
//   G  = [¼ 0 0; −⅙ −⅙ −⅙; −⅙ ⅙ −⅙; 1/24 1/12 ⅙; 1/24 −1/12 ⅙; 0 0 1]
//   Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 0; 0 1 1 4 4 0; 0 1 −1 8 −8 1]
// forward Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A; backward Ŷ = A dY Aᵀ, dU = Σ_t Ŷ ⊙ V (dg = Gᵀ dU G), dV = U ⊙ Ŷ summed over
// output channels (dX += B dV Bᵀ on each tile's patch), db = Σ_t Ŷ[7] (Ŷ[1][1]: A's row 1 is [1 1 1 1]).
// A 4×4 tile takes 36 products per channel pair instead of 144 (4× fewer; 1.78× fewer than F(2×2, 3×3) on tiles
// of the same area); the transforms scale values by up to 8 (Aᵀ) and 5 (Bᵀ), so the rounding is a few times
// F(2×2)'s (the tests bound it with the matrices' absolute values).
//
// Lanes are 4 adjacent tiles of a tile row, as in conv_wino.ts; their patch columns are 4 apart, so each plane row
// under a group is read as four f32x4 (16 columns), transposed 4×4 (column j of every tile, j < 4) and shifted by a
// lane for j = 4, 5. The 2-D transforms run rows then columns through a 64-vector stage in the scratch (36 values
// per group do not fit the registers). The input gradient adds each patch row's columns 4, 5 to the next tile's
// 0, 1 (a lane shift carried across groups) and then adds the row into an accumulation plane.
//
// The weight gradient's dU[ξ] [co, ci] = Ŷ[ξ] [co, T] · V[ξ]ᵀ runs as a GEMM over the tiles (kk = T) with V stored
// tile-major, Vt[ξ][t][c] (rows of c4 = ⌈ci/4⌉·4 f32): each image's V is first transformed channel-major into a
// temporary [36][c4][t_img + 4] and copied over in 4×4 transposed blocks.
//
// Scratch (f32; every part a multiple of 4), G = ⌈tx_n/4⌉ (tx_n = ⌈wo/4⌉, ty_n = ⌈ho/4⌉, t_img = ty_n·tx_n):
//   [ U: 36·co·ci | dU: 36·co·ci | V, Vt or dV: 36·slice(c4) | M or Ŷ: 36·slice(co) | plane 1: (4·ty_n + 2)·(16·G + 4) |
//     plane 3: 4·ty_n·16·G | stage: 256 | db sums: co f64 | V of one image: 36·c4·(t_img + 4) ]
// = wino4_scratch(ci, co, ho, wo, nb); src/ops/conv-kernels.ts winograd4Scratch mirrors it.
import { gemm_nn, EPI_STORE, EPI_BETA } from "./gemm";
import { zero_fill, fill_plane, fill_plane_masked, row_sums_f64 } from "./plane";
import { wino_stride, wino_slice, store_plane, WINO_STORE, WINO_RELU, WINO_BETA } from "./conv_wino";

/** Tiles along an output axis of `len` positions. */
// @ts-ignore: decorator
@inline function tiles4(len: i32): i32 {
  return (len + 3) >> 2;
}

/** Groups of 4 tiles per tile row. */
// @ts-ignore: decorator
@inline function groups(tx_n: i32): i32 {
  return (tx_n + 3) >> 2;
}

/** Scratch f32 of the F(4×4, 3×3) kernels (layout in the file comment). */
export function wino4_scratch(ci: i32, co: i32, ho: i32, wo: i32, nb: i32): i32 {
  const ty = tiles4(ho), tx = tiles4(wo), g = groups(tx), ts = wino_stride(ty * tx, nb), c4 = (ci + 3) & ~3;
  return 72 * co * ci + 36 * (wino_slice(c4, ts) + wino_slice(co, ts)) + (4 * ty + 2) * (16 * g + 4) + 4 * ty * 16 * g + 256 + ((2 * co + 3) & ~3) + 36 * c4 * (ty * tx + 4);
}

/**
 * Vt[ξ][t0 + t][c] = V[ξ][c][t] for t < t_img, c < c4 (rows and columns past t_img and ci carry the temporary's
 * padding: the next image's rows rewrite them, the GEMM reads neither). v: the temporary [36][c4][t_img + 4];
 * vt: Vt[0][t0][0]; vts: bytes between Vt's ξ slices.
 */
function transpose_v(v: usize, c4: i32, t_img: i32, vt: usize, vts: usize): void {
  const tr = t_img + 4, rs = <usize>tr << 2, cs = <usize>c4 << 2;
  for (let xi = 0; xi < 36; xi++) {
    const src = v + <usize>(xi * c4) * rs, dst = vt + <usize>xi * vts;
    for (let c = 0; c < c4; c += 4) {
      for (let t = 0; t < t_img; t += 4) {
        const s = src + <usize>c * rs + (<usize>t << 2);
        const a = v128.load(s), b = v128.load(s + rs), e = v128.load(s + 2 * rs), f = v128.load(s + 3 * rs);
        const t0 = f32x4.shuffle(a, b, 0, 4, 1, 5), t1 = f32x4.shuffle(a, b, 2, 6, 3, 7);
        const t2 = f32x4.shuffle(e, f, 0, 4, 1, 5), t3 = f32x4.shuffle(e, f, 2, 6, 3, 7);
        const d = dst + <usize>t * cs + (<usize>c << 2);
        v128.store(d, f32x4.shuffle(t0, t2, 0, 1, 4, 5));
        v128.store(d + cs, f32x4.shuffle(t0, t2, 2, 3, 6, 7));
        v128.store(d + 2 * cs, f32x4.shuffle(t1, t3, 0, 1, 4, 5));
        v128.store(d + 3 * cs, f32x4.shuffle(t1, t3, 2, 3, 6, 7));
      }
    }
  }
}

// ---- filters (scalar, once per call) ----------------------------------------------------------------------------

const SIXTH: f32 = <f32>(1.0 / 6.0);
const TWELFTH: f32 = <f32>(1.0 / 12.0);
const TWENTYFOURTH: f32 = <f32>(1.0 / 24.0);

/** G·(a, b, c): [a/4, −(a + b + c)/6, −(a − b + c)/6, a/24 + b/12 + c/6, a/24 − b/12 + c/6, c] at u, stride us. */
// @ts-ignore: decorator
@inline function g6(a: f32, b: f32, c: f32, u: usize, us: usize): void {
  store<f32>(u, <f32>0.25 * a);
  store<f32>(u + us, -(a + b + c) * SIXTH);
  store<f32>(u + 2 * us, -(a - b + c) * SIXTH);
  store<f32>(u + 3 * us, a * TWENTYFOURTH + b * TWELFTH + c * SIXTH);
  store<f32>(u + 4 * us, a * TWENTYFOURTH - b * TWELFTH + c * SIXTH);
  store<f32>(u + 5 * us, c);
}

/**
 * U [36, co, ci], U[ξ][o][c] = (G g Gᵀ)[ξ] for the filter g = W[o][c] of W [co, ci, 3, 3]. q: 18 f32 of scratch for
 * G g (6×3), not overlapping U (the kernels pass dU's storage, written only later).
 */
export function wino4_filter(w: usize, co: i32, ci: i32, u: usize, q: usize): void {
  const us = <usize>(co * ci) << 2;
  for (let f = 0; f < co * ci; f++) {
    const g = w + <usize>f * 36, d = u + (<usize>f << 2);
    // q = G g: column k of g through G, stored as q[i][k] (row stride 12 bytes)
    for (let k = 0; k < 3; k++) {
      const kk = <usize>k << 2;
      g6(load<f32>(g + kk), load<f32>(g + kk, 12), load<f32>(g + kk, 24), q + kk, 12);
    }
    // U row i = G·(row i of q)
    for (let i = 0; i < 6; i++) {
      const r = q + <usize>i * 12;
      g6(load<f32>(r), load<f32>(r, 4), load<f32>(r, 8), d + <usize>(6 * i) * us, us);
    }
  }
}

/** Gᵀ·(e0..e5): [e0/4 − (e1 + e2)/6 + (e3 + e4)/24, (e2 − e1)/6 + (e3 − e4)/12, −(e1 + e2)/6 + (e3 + e4)/6 + e5]. */
// @ts-ignore: decorator
@inline function gt3(e0: f32, e1: f32, e2: f32, e3: f32, e4: f32, e5: f32, out: usize, os: usize): void {
  const s12 = e1 + e2, s34 = e3 + e4;
  store<f32>(out, <f32>0.25 * e0 - s12 * SIXTH + s34 * TWENTYFOURTH);
  store<f32>(out + os, (e2 - e1) * SIXTH + (e3 - e4) * TWELFTH);
  store<f32>(out + 2 * os, (s34 - s12) * SIXTH + e5);
}

/**
 * dW [co, ci, 3, 3] = beta·dW + Gᵀ D G for D[i][j] = dU[6i + j][o][c], dU [36, co, ci]; beta 0 overwrites.
 * e: 27 f32 of scratch (Gᵀ D, 3×6, then Gᵀ D G, 3×3).
 */
export function wino4_filter_grad(du: usize, co: i32, ci: i32, dw: usize, beta: f32, e: usize): void {
  const us = <usize>(co * ci) << 2;
  for (let f = 0; f < co * ci; f++) {
    const d = du + (<usize>f << 2), g = dw + <usize>f * 36;
    // e[k][j] = (Gᵀ D)[k][j]: column j of D through Gᵀ (row stride 24 bytes)
    for (let j = 0; j < 6; j++) {
      const c = d + <usize>j * us;
      gt3(load<f32>(c), load<f32>(c + 6 * us), load<f32>(c + 12 * us), load<f32>(c + 18 * us), load<f32>(c + 24 * us), load<f32>(c + 30 * us), e + (<usize>j << 2), 24);
    }
    // (Gᵀ D G)[k] = Gᵀ·(row k of e), at e + 72 + 12k
    for (let k = 0; k < 3; k++) {
      const r = e + <usize>k * 24;
      gt3(load<f32>(r), load<f32>(r, 4), load<f32>(r, 8), load<f32>(r, 12), load<f32>(r, 16), load<f32>(r, 20), e + 72 + <usize>k * 12, 4);
    }
    for (let q = 0; q < 9; q++) {
      const p = g + (<usize>q << 2), v = load<f32>(e + 72 + (<usize>q << 2));
      store<f32>(p, beta == 0 ? v : beta * load<f32>(p) + v);
    }
  }
}

// ---- data transforms (4 tiles per f32x4, lane = tile) -----------------------------------------------------------

/** Bᵀ·(d0..d5) stored at dst + i·ds. */
// @ts-ignore: decorator
@inline function bt6(d0: v128, d1: v128, d2: v128, d3: v128, d4: v128, d5: v128, dst: usize, ds: usize): void {
  const four = f32x4.splat(4), five = f32x4.splat(5), two = f32x4.splat(2);
  const s12 = f32x4.add(d1, d2), m12 = f32x4.sub(d1, d2), m42 = f32x4.sub(d4, d2), m31 = f32x4.sub(d3, d1);
  v128.store(dst, f32x4.add(f32x4.sub(f32x4.mul(four, d0), f32x4.mul(five, d2)), d4));
  v128.store(dst + ds, f32x4.sub(f32x4.add(d3, d4), f32x4.mul(four, s12)));
  v128.store(dst + 2 * ds, f32x4.add(f32x4.sub(d4, d3), f32x4.mul(four, m12)));
  v128.store(dst + 3 * ds, f32x4.add(m42, f32x4.mul(two, m31)));
  v128.store(dst + 4 * ds, f32x4.sub(m42, f32x4.mul(two, m31)));
  v128.store(dst + 5 * ds, f32x4.add(f32x4.sub(f32x4.mul(four, d1), f32x4.mul(five, d3)), d5));
}

/** Aᵀ·(m0..m5) (6 → 4) stored at dst + a·ds. */
// @ts-ignore: decorator
@inline function at4(m0: v128, m1: v128, m2: v128, m3: v128, m4: v128, m5: v128, dst: usize, ds: usize): void {
  const s12 = f32x4.add(m1, m2), d12 = f32x4.sub(m1, m2), s34 = f32x4.add(m3, m4), d34 = f32x4.sub(m3, m4);
  v128.store(dst, f32x4.add(f32x4.add(m0, s12), s34));
  v128.store(dst + ds, f32x4.add(d12, f32x4.mul(f32x4.splat(2), d34)));
  v128.store(dst + 2 * ds, f32x4.add(s12, f32x4.mul(f32x4.splat(4), s34)));
  v128.store(dst + 3 * ds, f32x4.add(f32x4.add(d12, f32x4.mul(f32x4.splat(8), d34)), m5));
}

/** A·(q0..q3) (4 → 6): [q0, q0 + q1 + q2 + q3, q0 − q1 + q2 − q3, q0 + 2q1 + 4q2 + 8q3, q0 − 2q1 + 4q2 − 8q3, q3]. */
// @ts-ignore: decorator
@inline function a6(q0: v128, q1: v128, q2: v128, q3: v128, dst: usize, ds: usize): void {
  const e = f32x4.add(q0, q2), o = f32x4.add(q1, q3);
  const e2 = f32x4.add(q0, f32x4.mul(f32x4.splat(4), q2)), o2 = f32x4.add(f32x4.mul(f32x4.splat(2), q1), f32x4.mul(f32x4.splat(8), q3));
  v128.store(dst, q0);
  v128.store(dst + ds, f32x4.add(e, o));
  v128.store(dst + 2 * ds, f32x4.sub(e, o));
  v128.store(dst + 3 * ds, f32x4.add(e2, o2));
  v128.store(dst + 4 * ds, f32x4.sub(e2, o2));
  v128.store(dst + 5 * ds, q3);
}

/**
 * B·(q0..q5) (the adjoint of Bᵀ): [4q0, −4(q1 − q2) − 2(q3 − q4) + 4q5, −5q0 − 4(q1 + q2) − (q3 + q4),
 * (q1 − q2) + 2(q3 − q4) − 5q5, q0 + (q1 + q2) + (q3 + q4), q5] stored at dst + r·ds.
 */
// @ts-ignore: decorator
@inline function b6(q0: v128, q1: v128, q2: v128, q3: v128, q4: v128, q5: v128, dst: usize, ds: usize): void {
  const four = f32x4.splat(4), five = f32x4.splat(5), two = f32x4.splat(2);
  const a = f32x4.add(q1, q2), b = f32x4.sub(q1, q2), c = f32x4.add(q3, q4), d = f32x4.sub(q3, q4);
  v128.store(dst, f32x4.mul(four, q0));
  v128.store(dst + ds, f32x4.sub(f32x4.mul(four, q5), f32x4.add(f32x4.mul(four, b), f32x4.mul(two, d))));
  v128.store(dst + 2 * ds, f32x4.neg(f32x4.add(f32x4.add(f32x4.mul(five, q0), f32x4.mul(four, a)), c)));
  v128.store(dst + 3 * ds, f32x4.sub(f32x4.add(b, f32x4.mul(two, d)), f32x4.mul(five, q5)));
  v128.store(dst + 4 * ds, f32x4.add(f32x4.add(q0, a), c));
  v128.store(dst + 5 * ds, q5);
}

/**
 * V[ξ][t0 + ty·tx_n + tx] = (Bᵀ d B)[ξ] for every tile of a padded plane [4·ty_n + 2, wp] (wp ≥ 16·G + 4): tile
 * (ty, tx)'s patch is rows 4ty..4ty + 5, columns 4tx..4tx + 5. v: V[0][t0]; vs: bytes between ξ slices; st: the
 * stage (36 vectors). Writes up to 3 columns past the plane's last tile (conv_wino.ts's file comment).
 */
function input_tf4(plane: usize, wp: i32, ty_n: i32, tx_n: i32, v: usize, vs: usize, st: usize): void {
  const G = groups(tx_n), rs = <usize>wp << 2;
  for (let ty = 0; ty < ty_n; ty++) {
    let t = v + (<usize>(ty * tx_n) << 2);
    for (let g = 0; g < G; g++) {
      let p = plane + <usize>(4 * ty) * rs + (<usize>g << 6);
      // rows: columns j = 0..5 of the 4 tiles (lane k = plane column 16g + 4k + j), then Bᵀ along x → stage[r][0..5]
      for (let r = 0; r < 6; r++) {
        const l0 = v128.load(p), l1 = v128.load(p, 16), l2 = v128.load(p, 32), l3 = v128.load(p, 48), l4 = v128.load(p, 64);
        const t0 = f32x4.shuffle(l0, l1, 0, 4, 1, 5), t1 = f32x4.shuffle(l0, l1, 2, 6, 3, 7);
        const t2 = f32x4.shuffle(l2, l3, 0, 4, 1, 5), t3 = f32x4.shuffle(l2, l3, 2, 6, 3, 7);
        const c0 = f32x4.shuffle(t0, t2, 0, 1, 4, 5), c1 = f32x4.shuffle(t0, t2, 2, 3, 6, 7);
        const c2 = f32x4.shuffle(t1, t3, 0, 1, 4, 5), c3 = f32x4.shuffle(t1, t3, 2, 3, 6, 7);
        bt6(c0, c1, c2, c3, f32x4.shuffle(c0, l4, 1, 2, 3, 4), f32x4.shuffle(c1, l4, 1, 2, 3, 5), st + <usize>r * 96, 16);
        p += rs;
      }
      // columns: Bᵀ along y → V[6i + j]
      for (let j = 0; j < 6; j++) {
        const s = st + (<usize>j << 4);
        bt6(v128.load(s), v128.load(s, 96), v128.load(s, 192), v128.load(s, 288), v128.load(s, 384), v128.load(s, 480), t + <usize>j * vs, 6 * vs);
      }
      t += 16;
    }
  }
}

/**
 * Ŷ[ξ][t0 + …] = (A dY Aᵀ)[ξ] for every 4×4 tile of a padded gradient plane [4·ty_n, wq] (wq ≥ 16·G, zeros past the
 * outputs). y: Ŷ[0][t0]; ys: ξ stride; st: the stage.
 */
function grad_tf4(plane: usize, wq: i32, ty_n: i32, tx_n: i32, y: usize, ys: usize, st: usize): void {
  const G = groups(tx_n), rs = <usize>wq << 2;
  for (let ty = 0; ty < ty_n; ty++) {
    let t = y + (<usize>(ty * tx_n) << 2);
    for (let g = 0; g < G; g++) {
      let p = plane + <usize>(4 * ty) * rs + (<usize>g << 6);
      for (let a = 0; a < 4; a++) {
        const l0 = v128.load(p), l1 = v128.load(p, 16), l2 = v128.load(p, 32), l3 = v128.load(p, 48);
        const t0 = f32x4.shuffle(l0, l1, 0, 4, 1, 5), t1 = f32x4.shuffle(l0, l1, 2, 6, 3, 7);
        const t2 = f32x4.shuffle(l2, l3, 0, 4, 1, 5), t3 = f32x4.shuffle(l2, l3, 2, 6, 3, 7);
        a6(f32x4.shuffle(t0, t2, 0, 1, 4, 5), f32x4.shuffle(t0, t2, 2, 3, 6, 7), f32x4.shuffle(t1, t3, 0, 1, 4, 5), f32x4.shuffle(t1, t3, 2, 3, 6, 7), st + <usize>a * 96, 16);
        p += rs;
      }
      for (let j = 0; j < 6; j++) {
        const s = st + (<usize>j << 4);
        a6(v128.load(s), v128.load(s, 96), v128.load(s, 192), v128.load(s, 288), t + <usize>j * ys, 6 * ys);
      }
      t += 16;
    }
  }
}

/**
 * The output plane [4·ty_n, wq] (wq = 16·G) of one channel from M[ξ][t0 + …]: each tile's Aᵀ M A, 4×4 values at
 * rows 4ty.., columns 4tx... m: M[0][t0]; ms: ξ stride; st: the stage (40 vectors).
 */
function output_tf4(m: usize, ms: usize, ty_n: i32, tx_n: i32, plane: usize, wq: i32, st: usize): void {
  const G = groups(tx_n), rs = <usize>wq << 2;
  for (let ty = 0; ty < ty_n; ty++) {
    let t = m + (<usize>(ty * tx_n) << 2);
    for (let g = 0; g < G; g++) {
      // Aᵀ along j for each row i → stage[i][0..3] (row stride 64 bytes)
      for (let i = 0; i < 6; i++) {
        const q = t + <usize>(6 * i) * ms;
        at4(v128.load(q), v128.load(q + ms), v128.load(q + 2 * ms), v128.load(q + 3 * ms), v128.load(q + 4 * ms), v128.load(q + 5 * ms), st + <usize>i * 64, 16);
      }
      // Aᵀ along i for each column b → stage2[a][b] (at 384, row stride 64)
      for (let b = 0; b < 4; b++) {
        const s = st + (<usize>b << 4);
        at4(v128.load(s), v128.load(s, 64), v128.load(s, 128), v128.load(s, 192), v128.load(s, 256), v128.load(s, 320), st + 384 + (<usize>b << 4), 64);
      }
      // row a: the 4 tiles' 4 columns, transposed into 16 consecutive plane columns
      let p = plane + <usize>(4 * ty) * rs + (<usize>g << 6);
      for (let a = 0; a < 4; a++) {
        const s = st + 384 + <usize>a * 64;
        const y0 = v128.load(s), y1 = v128.load(s, 16), y2 = v128.load(s, 32), y3 = v128.load(s, 48);
        const t0 = f32x4.shuffle(y0, y1, 0, 4, 1, 5), t1 = f32x4.shuffle(y0, y1, 2, 6, 3, 7);
        const t2 = f32x4.shuffle(y2, y3, 0, 4, 1, 5), t3 = f32x4.shuffle(y2, y3, 2, 6, 3, 7);
        v128.store(p, f32x4.shuffle(t0, t2, 0, 1, 4, 5));
        v128.store(p, f32x4.shuffle(t0, t2, 2, 3, 6, 7), 16);
        v128.store(p, f32x4.shuffle(t1, t3, 0, 1, 4, 5), 32);
        v128.store(p, f32x4.shuffle(t1, t3, 2, 3, 6, 7), 48);
        p += rs;
      }
      t += 16;
    }
  }
}

/**
 * The input-gradient plane of one channel, [4·ty_n + 2, wp] (wp ≥ 16·G + 4) = Σ_tiles B dV Bᵀ on each tile's 6×6
 * patch (zeroed first). d: dV[0][t0]; vs: ξ stride; st: the stage (36 vectors + 12 carries). Lanes at and past the
 * last group's `valid` tiles are the next row's tiles and count as zero.
 */
function inverse_tf4(d: usize, vs: usize, ty_n: i32, tx_n: i32, plane: usize, wp: i32, st: usize): void {
  const G = groups(tx_n), rs = <usize>wp << 2, zero = f32x4.splat(0);
  const keep = i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(tx_n - 4 * (G - 1)));
  const carry = st + 576; // 6 rows × (column 4, column 5) of the previous group's patches
  zero_fill(plane, (4 * ty_n + 2) * wp);
  for (let ty = 0; ty < ty_n; ty++) {
    let t = d + (<usize>(ty * tx_n) << 2);
    zero_fill(carry, 48);
    for (let g = 0; g < G; g++) {
      const m = g == G - 1 ? keep : i32x4.splat(-1);
      // columns: B along i for each column j → stage[r][j] (row stride 96)
      for (let j = 0; j < 6; j++) {
        const q = t + <usize>j * vs;
        b6(v128.and(v128.load(q), m), v128.and(v128.load(q + 6 * vs), m), v128.and(v128.load(q + 12 * vs), m),
          v128.and(v128.load(q + 18 * vs), m), v128.and(v128.load(q + 24 * vs), m), v128.and(v128.load(q + 30 * vs), m), st + (<usize>j << 4), 96);
      }
      // rows: B along j → patch row r's columns 0..5 (stored over stage row r), then add into the plane
      let p = plane + <usize>(4 * ty) * rs + (<usize>g << 6);
      for (let r = 0; r < 6; r++) {
        const s = st + <usize>r * 96, c = carry + <usize>r * 32;
        b6(v128.load(s), v128.load(s, 16), v128.load(s, 32), v128.load(s, 48), v128.load(s, 64), v128.load(s, 80), s, 16);
        const p4 = v128.load(s, 64), p5 = v128.load(s, 80);
        // columns 4, 5 of tile k − 1 land on columns 0, 1 of tile k
        const o0 = f32x4.add(v128.load(s), f32x4.shuffle(v128.load(c), p4, 3, 4, 5, 6));
        const o1 = f32x4.add(v128.load(s, 16), f32x4.shuffle(v128.load(c, 16), p5, 3, 4, 5, 6));
        const o2 = v128.load(s, 32), o3 = v128.load(s, 48);
        v128.store(c, p4); v128.store(c, p5, 16);
        const t0 = f32x4.shuffle(o0, o1, 0, 4, 1, 5), t1 = f32x4.shuffle(o0, o1, 2, 6, 3, 7);
        const t2 = f32x4.shuffle(o2, o3, 0, 4, 1, 5), t3 = f32x4.shuffle(o2, o3, 2, 6, 3, 7);
        v128.store(p, f32x4.add(v128.load(p), f32x4.shuffle(t0, t2, 0, 1, 4, 5)));
        v128.store(p, f32x4.add(v128.load(p, 16), f32x4.shuffle(t0, t2, 2, 3, 6, 7)), 16);
        v128.store(p, f32x4.add(v128.load(p, 32), f32x4.shuffle(t1, t3, 0, 1, 4, 5)), 32);
        v128.store(p, f32x4.add(v128.load(p, 48), f32x4.shuffle(t1, t3, 2, 3, 6, 7)), 48);
        p += rs;
      }
      t += 16;
    }
    // the row's last tile's columns 4, 5 (lane 3 of the carries) at plane columns 16G, 16G + 1
    let p = plane + <usize>(4 * ty) * rs + (<usize>G << 6);
    for (let r = 0; r < 6; r++) {
      const c = carry + <usize>r * 32;
      store<f32>(p, load<f32>(p) + f32x4.extract_lane(v128.load(c), 3));
      store<f32>(p, load<f32>(p, 4) + f32x4.extract_lane(v128.load(c, 16), 3), 4);
      p += rs;
    }
  }
}

// ---- drivers ----------------------------------------------------------------------------------------------------

/**
 * Forward: y [n, co, ho, wo] = act(Σ_c corr3×3(x [n, ci, h, w] placed at (top, left) of a zero plane, W) + bias),
 * relu when `relu`, by chunks of nb images. U [36, co, ci] must be in the scratch (wino4_filter); bias [co] or 0.
 */
export function wino4_fwd(n: i32, ci: i32, co: i32, h: i32, w: i32, ho: i32, wo: i32, top: i32, left: i32, x_ptr: usize, y_ptr: usize, bias: usize, relu: bool, scratch: usize, nb: i32): void {
  const ty_n = tiles4(ho), tx_n = tiles4(wo), G = groups(tx_n), t_img = ty_n * tx_n, ts = wino_stride(t_img, nb);
  const vs = <usize>wino_slice(ci, ts) << 2, ms = <usize>wino_slice(co, ts) << 2, rs = <usize>ts << 2;
  const hp = 4 * ty_n + 2, wp = 16 * G + 4, wq = 16 * G;
  const u = scratch, v = u + (<usize>(72 * co * ci) << 2), m = v + 36 * vs, pin = m + 36 * ms;
  const pout = pin + (<usize>(hp * wp) << 2), st = pout + (<usize>(4 * ty_n * wq) << 2);
  const in_plane = <usize>(h * w) << 2, out_plane = <usize>(ho * wo) << 2;
  for (let i0 = 0; i0 < n; i0 += nb) {
    const nbc = min(nb, n - i0), T = nbc * t_img, tc = (T + 7) & ~7;
    for (let img = 0; img < nbc; img++) {
      const x = x_ptr + <usize>((i0 + img) * ci) * in_plane;
      for (let c = 0; c < ci; c++) {
        fill_plane(pin, hp, wp, x + <usize>c * in_plane, h, w, top, left);
        input_tf4(pin, wp, ty_n, tx_n, v + <usize>c * rs + (<usize>(img * t_img) << 2), vs, st);
      }
    }
    // columns [T, tc) of V enter the GEMM: zeros (their outputs are never read)
    if (tc > T) for (let xi = 0; xi < 36; xi++) for (let c = 0; c < ci; c++) zero_fill(v + <usize>xi * vs + <usize>c * rs + (<usize>T << 2), tc - T);
    for (let xi = 0; xi < 36; xi++) {
      gemm_nn(co, tc, ci, u + (<usize>(xi * co * ci) << 2), <usize>ci << 2, 4, v + <usize>xi * vs, rs, m + <usize>xi * ms, rs, 0, EPI_STORE, 0);
    }
    for (let img = 0; img < nbc; img++) {
      const y = y_ptr + <usize>((i0 + img) * co) * out_plane;
      for (let o = 0; o < co; o++) {
        output_tf4(m + <usize>o * rs + (<usize>(img * t_img) << 2), ms, ty_n, tx_n, pout, wq, st);
        store_plane(pout, wq, y + <usize>o * out_plane, ho, wo, bias ? load<f32>(bias + (<usize>o << 2)) : 0, relu ? WINO_RELU : WINO_STORE, 0);
      }
    }
  }
}

/**
 * Backward of wino4_fwd's correlation (before bias and act): the contract of conv_wino.ts wino_bwd (dZ = dY ⊙
 * [ymask > 0]; dX, dW, db each skipped at a 0 pointer), with U [36, co, ci] in the scratch when dx_ptr != 0.
 */
export function wino4_bwd(n: i32, ci: i32, co: i32, h: i32, w: i32, ho: i32, wo: i32, top: i32, left: i32, x_ptr: usize, ymask: usize, dy_ptr: usize, dx_ptr: usize, dw_ptr: usize, db_ptr: usize, beta_x: f32, beta_w: f32, scratch: usize, nb: i32): void {
  const ty_n = tiles4(ho), tx_n = tiles4(wo), G = groups(tx_n), t_img = ty_n * tx_n, ts = wino_stride(t_img, nb), c4 = (ci + 3) & ~3;
  const vs = <usize>wino_slice(c4, ts) << 2, ys = <usize>wino_slice(co, ts) << 2, rs = <usize>ts << 2;
  const hp = 4 * ty_n + 2, wp = 16 * G + 4, wq = 16 * G;
  const u = scratch, du = u + (<usize>(36 * co * ci) << 2), v = du + (<usize>(36 * co * ci) << 2), yh = v + 36 * vs;
  const pa = yh + 36 * ys, pdy = pa + (<usize>(hp * wp) << 2), st = pdy + (<usize>(4 * ty_n * wq) << 2), dbs = st + 1024;
  const v1 = dbs + (<usize>((2 * co + 3) & ~3) << 2), v1s = <usize>(c4 * (t_img + 4)) << 2, v1r = <usize>(t_img + 4) << 2;
  const in_plane = <usize>(h * w) << 2, out_plane = <usize>(ho * wo) << 2;
  if (db_ptr) for (let o = 0; o < co; o++) store<f64>(dbs + (<usize>o << 3), 0);
  if (n == 0 && dw_ptr) zero_fill(du, 36 * co * ci);
  for (let i0 = 0; i0 < n; i0 += nb) {
    const nbc = min(nb, n - i0), T = nbc * t_img, tc = (T + 7) & ~7;
    for (let img = 0; img < nbc; img++) {
      const t0 = <usize>(img * t_img) << 2;
      if (dw_ptr) {
        // this image's V, channel-major in the temporary, then tile-major into Vt (rows t0/4.. of the chunk)
        const x = x_ptr + <usize>((i0 + img) * ci) * in_plane;
        for (let c = 0; c < ci; c++) {
          fill_plane(pa, hp, wp, x + <usize>c * in_plane, h, w, top, left);
          input_tf4(pa, wp, ty_n, tx_n, v1 + <usize>c * v1r, v1s, st);
        }
        transpose_v(v1, c4, t_img, v + <usize>(img * t_img * c4) * 4, vs);
      }
      const off = <usize>((i0 + img) * co) * out_plane;
      for (let o = 0; o < co; o++) {
        const q = off + <usize>o * out_plane;
        if (ymask) fill_plane_masked(pdy, 4 * ty_n, wq, dy_ptr + q, ymask + q, ho, wo, 0, 0);
        else fill_plane(pdy, 4 * ty_n, wq, dy_ptr + q, ho, wo, 0, 0);
        grad_tf4(pdy, wq, ty_n, tx_n, yh + <usize>o * rs + t0, ys, st);
      }
    }
    // Ŷ's columns [T, tc) enter the dV GEMM, [T, ts) the db sums: zeros
    for (let xi = 0; xi < 36; xi++) for (let o = 0; o < co; o++) zero_fill(yh + <usize>xi * ys + <usize>o * rs + (<usize>T << 2), ts - T);
    if (db_ptr) row_sums_f64(co, ts, yh + 7 * ys, rs, dbs);
    if (dw_ptr) {
      // dU[ξ] (+)= Ŷ[ξ] [co, T] · Vt[ξ] [T, ci] (the first chunk overwrites)
      for (let xi = 0; xi < 36; xi++) {
        gemm_nn(co, ci, T, yh + <usize>xi * ys, rs, 4, v + <usize>xi * vs, <usize>c4 << 2, du + (<usize>(xi * co * ci) << 2), <usize>ci << 2, 0, i0 == 0 ? EPI_STORE : EPI_BETA, 1);
      }
    }
    if (dx_ptr) {
      // dV (over V's storage) = Uᵀ·Ŷ: A = U[ξ]ᵀ [ci, co] read in place (ars = 4: gemm's transposed-A kernel)
      for (let xi = 0; xi < 36; xi++) {
        gemm_nn(ci, tc, co, u + (<usize>(xi * co * ci) << 2), 4, <usize>ci << 2, yh + <usize>xi * ys, rs, v + <usize>xi * vs, rs, 0, EPI_STORE, 0);
      }
      for (let img = 0; img < nbc; img++) {
        const dx = dx_ptr + <usize>((i0 + img) * ci) * in_plane;
        for (let c = 0; c < ci; c++) {
          inverse_tf4(v + <usize>c * rs + (<usize>(img * t_img) << 2), vs, ty_n, tx_n, pa, wp, st);
          store_plane(pa + (<usize>(top * wp + left) << 2), wp, dx + <usize>c * in_plane, h, w, 0, WINO_BETA, beta_x);
        }
      }
    }
  }
  if (dw_ptr) wino4_filter_grad(du, co, ci, dw_ptr, beta_w, u); // U's storage (no longer read) as its temporary
  if (db_ptr) {
    for (let o = 0; o < co; o++) {
      const q = db_ptr + (<usize>o << 2), s = load<f64>(dbs + (<usize>o << 3));
      store<f32>(q, beta_w == 0 ? <f32>s : <f32>(<f64>beta_w * <f64>load<f32>(q) + s));
    }
  }
}
