// Winograd F(2×2, 3×3) for 3×3, stride-1, undilated convolutions over NCHW planes. Internal: conv.ts exports the
// kernels built on it (conv2d_fwd_f32x4_wino, conv2d_bwd_f32x4_wino); index.ts does not re-export this file.
//
// Math (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016): a 2×2 output tile of a 3×3
// correlation is Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A, d the 4×4 input patch at the tile's origin (tiles overlap by 2), with
//   Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1],   G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1],   Aᵀ = [1 1 1 0; 0 1 −1 −1].
// Summed over channels, the 16 elementwise products are 16 GEMMs, one per transform position ξ = 4i + j (i, j < 4),
// with ci input and co output channels and T the tiles of a chunk of images:
//   forward  M[ξ] [co, T] = U[ξ] [co, ci] · V[ξ] [ci, T]       U = G g Gᵀ, V = Bᵀ d B, Y = Aᵀ M A    (gemm_nn)
// and the backward is its exact adjoint, from Ŷ = A dY Aᵀ per tile (dY zero past the outputs):
//   weights  dU[ξ] [co, ci] = Ŷ[ξ] [co, T] · V[ξ] [ci, T]ᵀ      dg = Gᵀ dU G                         (dot products)
//   input    dV[ξ] [ci, T] = U[ξ]ᵀ [ci, co] · Ŷ[ξ] [co, T]      dX += B dV Bᵀ on each tile's patch    (gemm_nn, Uᵀ in place)
//   bias     db[o] = Σ_t Ŷ[5][o][t]  (Ŷ[1][1] is the sum of a tile's 2×2 gradient)
// B and A have entries 0, ±1 and G 0, ±½, ±1: the transforms are adds and exact halvings. A 2×2 tile takes 16
// products per channel pair instead of 36 (2.25× fewer); the input gradient works on the forward's tiles.
//
// Tiles: ty_n = ⌈ho/2⌉ rows × tx_n = ⌈wo/2⌉ columns per image; in a chunk of images, tile t = img·t_img + ty·tx_n + tx.
// V (dV), M and Ŷ are [16][channels][ts] (ξ slices wino_slice apart), ts = wino_stride ≥ the tiles of nb images + 8
// columns of slack, so a row holds a chunk's tiles contiguously and the GEMMs run over whole 8-column panels.
// The transforms work on 4 tiles of one tile row at a time (one tile per f32x4 lane), read from zero-padded copies
// of the planes (fill_plane), so no lane needs a bounds test. A row's last group of 4 may run past the row's end:
// its extra lanes write the next row's columns, which are rewritten later (every plane is transformed in
// increasing t), or the slack; on the way back they go to a padded plane never copied (forward) or are masked to
// zero (input gradient).
//
// Scratch (f32; every part a multiple of 4 f32, so the base's 16-byte alignment carries over), G = ⌈tx_n/4⌉:
//   [ U: 16·co·ci | dU: 16·co·ci | V or dV: 16·slice(ci) | M or Ŷ: 16·slice(co) | plane 1: (2·ty_n + 2)·(8·G + 8) |
//     plane 2: the same | plane 3: 2·ty_n·8·G | db sums: co f64 ]
// = wino_scratch(ci, co, ho, wo, nb); src/ops/conv-kernels.ts winogradScratch mirrors it. Each pass uses part of it.
import { gemm_nn, EPI_STORE } from "./gemm";
import { dense_bwd_x_f32x4 } from "./dense";
import { zero_fill, fill_plane, fill_plane_masked, row_sums_f64 } from "./plane";

/** Output modes of store_plane: y = v + bias, y = max(v + bias, 0), y = beta·y + v. */
export const WINO_STORE: i32 = 0;
export const WINO_RELU: i32 = 1;
export const WINO_BETA: i32 = 2;

/** Tiles along an output axis of `len` positions. */
// @ts-ignore: decorator
@inline function wino_tiles(len: i32): i32 {
  return (len + 1) >> 1;
}

/** Groups of 4 tiles per tile row. */
// @ts-ignore: decorator
@inline function groups(tx_n: i32): i32 {
  return (tx_n + 3) >> 2;
}

/**
 * Row stride (f32) of V, M and Ŷ for chunks of nb images of t_img tiles: the least ts ≥ nb·t_img + 8 with
 * ts ≡ 16 (mod 32), an odd number of 64-byte lines, so the rows a 4×8 GEMM block or a dot product walks
 * spread over the L1's sets.
 */
// @ts-ignore: decorator
@inline export function wino_stride(t_img: i32, nb: i32): i32 {
  return 16 + 32 * max(0, (nb * t_img - 8 + 31) >> 5);
}

/**
 * Stride (f32) between the 16 ξ slices of a [16][ch][ts] tensor: ch·ts, plus 16 when that is an even number of
 * 64-byte lines, so the 16 slices a transform writes for one tile group fall in 16 different L1 sets (at a stride of
 * a multiple of 4 KB they would all share one set of an 8-way cache).
 */
// @ts-ignore: decorator
@inline export function wino_slice(ch: i32, ts: i32): i32 {
  return ch * ts + (ch & 1 ? 0 : 16);
}

/** Scratch f32 of the Winograd kernels (layout in the file comment). */
export function wino_scratch(ci: i32, co: i32, ho: i32, wo: i32, nb: i32): i32 {
  const ty = wino_tiles(ho), tx = wino_tiles(wo), g = groups(tx), ts = wino_stride(ty * tx, nb);
  return 32 * co * ci + 16 * (wino_slice(ci, ts) + wino_slice(co, ts)) + 2 * (2 * ty + 2) * (8 * g + 8) + 2 * ty * 8 * g + 2 * co;
}

// ---- filters ----------------------------------------------------------------------------------------------------

/** Row i of G g Gᵀ from row i of G g, (a, b, c): [a, ½(a + b + c), ½(a − b + c), c] at u, stride us. */
// @ts-ignore: decorator
@inline function urow(a: f32, b: f32, c: f32, u: usize, us: usize): void {
  store<f32>(u, a);
  store<f32>(u + us, <f32>0.5 * (a + b + c));
  store<f32>(u + 2 * us, <f32>0.5 * (a - b + c));
  store<f32>(u + 3 * us, c);
}

/** U [16, co, ci], U[ξ][o][c] = (G g Gᵀ)[ξ] for the filter g = W[o][c] of W [co, ci, 3, 3]. */
export function wino_filter(w: usize, co: i32, ci: i32, u: usize): void {
  const us = <usize>(co * ci) << 2;
  for (let f = 0; f < co * ci; f++) {
    const g = w + <usize>f * 36, d = u + (<usize>f << 2);
    // G g (4×3), rows: g0, ½(g0 + g1 + g2), ½(g0 − g1 + g2), g2
    const a0 = load<f32>(g), a1 = load<f32>(g, 4), a2 = load<f32>(g, 8);
    const b0 = load<f32>(g, 12), b1 = load<f32>(g, 16), b2 = load<f32>(g, 20);
    const c0 = load<f32>(g, 24), c1 = load<f32>(g, 28), c2 = load<f32>(g, 32);
    urow(a0, a1, a2, d, us);
    urow(<f32>0.5 * (a0 + b0 + c0), <f32>0.5 * (a1 + b1 + c1), <f32>0.5 * (a2 + b2 + c2), d + 4 * us, us);
    urow(<f32>0.5 * (a0 - b0 + c0), <f32>0.5 * (a1 - b1 + c1), <f32>0.5 * (a2 - b2 + c2), d + 8 * us, us);
    urow(c0, c1, c2, d + 12 * us, us);
  }
}

/** Row r of (Gᵀ D) G from row r of Gᵀ D, (e0..e3): [e0 + ½(e1 + e2), ½(e1 − e2), ½(e1 + e2) + e3] into dw[0..3). */
// @ts-ignore: decorator
@inline function grow(e0: f32, e1: f32, e2: f32, e3: f32, dw: usize, beta: f32): void {
  const s = <f32>0.5 * (e1 + e2);
  const f0 = e0 + s, f1 = <f32>0.5 * (e1 - e2), f2 = s + e3;
  if (beta == 0) {
    store<f32>(dw, f0); store<f32>(dw, f1, 4); store<f32>(dw, f2, 8);
  } else {
    store<f32>(dw, beta * load<f32>(dw) + f0);
    store<f32>(dw, beta * load<f32>(dw, 4) + f1, 4);
    store<f32>(dw, beta * load<f32>(dw, 8) + f2, 8);
  }
}

/** dW [co, ci, 3, 3] = beta·dW + Gᵀ D G for D[i][j] = dU[4i + j][o][c], dU [16, co, ci]. beta 0 overwrites. */
export function wino_filter_grad(du: usize, co: i32, ci: i32, dw: usize, beta: f32): void {
  const us = <usize>(co * ci) << 2;
  for (let o = 0; o < co; o++) {
    for (let c = 0; c < ci; c++) {
      const d = du + (<usize>(o * ci + c) << 2), g = dw + (<usize>(o * ci + c) * 36);
      // Gᵀ D (3×4): rows D0 + ½(D1 + D2), ½(D1 − D2), ½(D1 + D2) + D3, one column j at a time
      const e00 = load<f32>(d) + <f32>0.5 * (load<f32>(d + 4 * us) + load<f32>(d + 8 * us));
      const e01 = load<f32>(d + us) + <f32>0.5 * (load<f32>(d + 5 * us) + load<f32>(d + 9 * us));
      const e02 = load<f32>(d + 2 * us) + <f32>0.5 * (load<f32>(d + 6 * us) + load<f32>(d + 10 * us));
      const e03 = load<f32>(d + 3 * us) + <f32>0.5 * (load<f32>(d + 7 * us) + load<f32>(d + 11 * us));
      const e10 = <f32>0.5 * (load<f32>(d + 4 * us) - load<f32>(d + 8 * us));
      const e11 = <f32>0.5 * (load<f32>(d + 5 * us) - load<f32>(d + 9 * us));
      const e12 = <f32>0.5 * (load<f32>(d + 6 * us) - load<f32>(d + 10 * us));
      const e13 = <f32>0.5 * (load<f32>(d + 7 * us) - load<f32>(d + 11 * us));
      const e20 = <f32>0.5 * (load<f32>(d + 4 * us) + load<f32>(d + 8 * us)) + load<f32>(d + 12 * us);
      const e21 = <f32>0.5 * (load<f32>(d + 5 * us) + load<f32>(d + 9 * us)) + load<f32>(d + 13 * us);
      const e22 = <f32>0.5 * (load<f32>(d + 6 * us) + load<f32>(d + 10 * us)) + load<f32>(d + 14 * us);
      const e23 = <f32>0.5 * (load<f32>(d + 7 * us) + load<f32>(d + 11 * us)) + load<f32>(d + 15 * us);
      grow(e00, e01, e02, e03, g, beta);
      grow(e10, e11, e12, e13, g + 12, beta);
      grow(e20, e21, e22, e23, g + 24, beta);
    }
  }
}

// ---- data transforms (4 tiles per f32x4, lane = tile) -----------------------------------------------------------

// @ts-ignore: decorator
@inline function comb(plus: bool, x: v128, y: v128): v128 {
  return plus ? f32x4.add(x, y) : f32x4.sub(x, y);
}

/**
 * Row i of Bᵀ d B for 4 tiles whose patches start at plane column 0 of rows r0..r3 (tile k at column 2k):
 * Bᵀ's row i combines two plane rows (i 0: r0 − r2, 1: r1 + r2, 2: r2 − r1, 3: r1 − r3) over plane columns
 * [0, 10); then B along x: [c0 − c2, c1 + c2, c2 − c1, c1 − c3] for the tile columns c0..c3 → V[4i + j] at dst + (4i + j)·vs.
 */
// @ts-ignore: decorator
@inline function in_row(i: i32, r0: usize, r1: usize, r2: usize, r3: usize, dst: usize, vs: usize): void {
  const p = i == 0 ? r0 : i == 2 ? r2 : r1;
  const q = i == 0 ? r2 : i == 1 ? r2 : i == 2 ? r1 : r3;
  const plus = i == 1;
  const a = comb(plus, v128.load(p), v128.load(q)); // plane columns 0..3
  const b = comb(plus, v128.load(p, 16), v128.load(q, 16)); // 4..7
  const c = comb(plus, v128.load(p, 8), v128.load(q, 8)); // 2..5
  const e = comb(plus, v128.load(p, 24), v128.load(q, 24)); // 6..9
  const c0 = f32x4.shuffle(a, b, 0, 2, 4, 6), c1 = f32x4.shuffle(a, b, 1, 3, 5, 7);
  const c2 = f32x4.shuffle(c, e, 0, 2, 4, 6), c3 = f32x4.shuffle(c, e, 1, 3, 5, 7);
  const o = dst + <usize>(4 * i) * vs;
  v128.store(o, f32x4.sub(c0, c2));
  v128.store(o + vs, f32x4.add(c1, c2));
  v128.store(o + 2 * vs, f32x4.sub(c2, c1));
  v128.store(o + 3 * vs, f32x4.sub(c1, c3));
}

/**
 * V[ξ][t0 + ty·tx_n + tx] = (Bᵀ d B)[ξ] for every tile of a padded plane [2·ty_n + 2, wp] (wp ≥ 8·G + 2): tile
 * (ty, tx)'s patch is rows 2ty..2ty + 3, columns 2tx..2tx + 3. v: address of V[0][t0]; vs: bytes between ξ slices.
 * Writes up to 3 columns past the plane's last tile (see the file comment).
 */
function input_tf(plane: usize, wp: i32, ty_n: i32, tx_n: i32, v: usize, vs: usize): void {
  const G = groups(tx_n), rs = <usize>wp << 2;
  for (let ty = 0; ty < ty_n; ty++) {
    const r0 = plane + <usize>(2 * ty) * rs, r1 = r0 + rs, r2 = r1 + rs, r3 = r2 + rs;
    let t = v + (<usize>(ty * tx_n) << 2);
    for (let g = 0; g < G; g++) {
      const o = <usize>g << 5;
      in_row(0, r0 + o, r1 + o, r2 + o, r3 + o, t, vs);
      in_row(1, r0 + o, r1 + o, r2 + o, r3 + o, t, vs);
      in_row(2, r0 + o, r1 + o, r2 + o, r3 + o, t, vs);
      in_row(3, r0 + o, r1 + o, r2 + o, r3 + o, t, vs);
      t += 16;
    }
  }
}

/** Row of A q Aᵀ from (A q)'s row (x0, x1): [x0, x0 + x1, x0 − x1, −x1] at dst, stride ys. */
// @ts-ignore: decorator
@inline function grad_row(x0: v128, x1: v128, dst: usize, ys: usize): void {
  v128.store(dst, x0);
  v128.store(dst + ys, f32x4.add(x0, x1));
  v128.store(dst + 2 * ys, f32x4.sub(x0, x1));
  v128.store(dst + 3 * ys, f32x4.neg(x1));
}

/**
 * Ŷ[ξ][t0 + ty·tx_n + tx] = (A dY Aᵀ)[ξ] for every 2×2 tile of a padded gradient plane [2·ty_n, wq] (wq ≥ 8·G,
 * zeros past the outputs). A dY's rows: dY0, dY0 + dY1, dY0 − dY1, −dY1. y: address of Ŷ[0][t0]; ys: ξ stride.
 */
function grad_tf(plane: usize, wq: i32, ty_n: i32, tx_n: i32, y: usize, ys: usize): void {
  const G = groups(tx_n), rs = <usize>wq << 2;
  for (let ty = 0; ty < ty_n; ty++) {
    const r0 = plane + <usize>(2 * ty) * rs, r1 = r0 + rs;
    let t = y + (<usize>(ty * tx_n) << 2);
    for (let g = 0; g < G; g++) {
      const o = <usize>g << 5;
      const a0 = v128.load(r0 + o), a1 = v128.load(r0 + o, 16), b0 = v128.load(r1 + o), b1 = v128.load(r1 + o, 16);
      const d00 = f32x4.shuffle(a0, a1, 0, 2, 4, 6), d01 = f32x4.shuffle(a0, a1, 1, 3, 5, 7);
      const d10 = f32x4.shuffle(b0, b1, 0, 2, 4, 6), d11 = f32x4.shuffle(b0, b1, 1, 3, 5, 7);
      grad_row(d00, d01, t, ys);
      grad_row(f32x4.add(d00, d10), f32x4.add(d01, d11), t + 4 * ys, ys);
      grad_row(f32x4.sub(d00, d10), f32x4.sub(d01, d11), t + 8 * ys, ys);
      grad_row(f32x4.neg(d10), f32x4.neg(d11), t + 12 * ys, ys);
      t += 16;
    }
  }
}

/**
 * The output plane [2·ty_n, wq] (wq = 8·G) of one channel from M[ξ][t0 + …]: each tile's Aᵀ M A, 2×2 values at
 * rows 2ty, 2ty + 1, columns 2tx, 2tx + 1. m: address of M[0][t0]; ms: bytes between ξ slices.
 */
function output_tf(m: usize, ms: usize, ty_n: i32, tx_n: i32, plane: usize, wq: i32): void {
  const G = groups(tx_n), rs = <usize>wq << 2;
  for (let ty = 0; ty < ty_n; ty++) {
    const r0 = plane + <usize>(2 * ty) * rs, r1 = r0 + rs;
    let t = m + (<usize>(ty * tx_n) << 2);
    for (let g = 0; g < G; g++) {
      // Aᵀ M: s0j = M0j + M1j + M2j, s1j = M1j − M2j − M3j, per column j
      let m0 = v128.load(t), m1 = v128.load(t + 4 * ms), m2 = v128.load(t + 8 * ms), m3 = v128.load(t + 12 * ms);
      const s00 = f32x4.add(f32x4.add(m0, m1), m2), s10 = f32x4.sub(f32x4.sub(m1, m2), m3);
      m0 = v128.load(t + ms); m1 = v128.load(t + 5 * ms); m2 = v128.load(t + 9 * ms); m3 = v128.load(t + 13 * ms);
      const s01 = f32x4.add(f32x4.add(m0, m1), m2), s11 = f32x4.sub(f32x4.sub(m1, m2), m3);
      m0 = v128.load(t + 2 * ms); m1 = v128.load(t + 6 * ms); m2 = v128.load(t + 10 * ms); m3 = v128.load(t + 14 * ms);
      const s02 = f32x4.add(f32x4.add(m0, m1), m2), s12 = f32x4.sub(f32x4.sub(m1, m2), m3);
      m0 = v128.load(t + 3 * ms); m1 = v128.load(t + 7 * ms); m2 = v128.load(t + 11 * ms); m3 = v128.load(t + 15 * ms);
      const s03 = f32x4.add(f32x4.add(m0, m1), m2), s13 = f32x4.sub(f32x4.sub(m1, m2), m3);
      // (Aᵀ M) A: ya0 = sa0 + sa1 + sa2, ya1 = sa1 − sa2 − sa3; lanes interleaved into plane columns
      const y00 = f32x4.add(f32x4.add(s00, s01), s02), y01 = f32x4.sub(f32x4.sub(s01, s02), s03);
      const y10 = f32x4.add(f32x4.add(s10, s11), s12), y11 = f32x4.sub(f32x4.sub(s11, s12), s13);
      const o = <usize>g << 5;
      v128.store(r0 + o, f32x4.shuffle(y00, y01, 0, 4, 1, 5));
      v128.store(r0 + o, f32x4.shuffle(y00, y01, 2, 6, 3, 7), 16);
      v128.store(r1 + o, f32x4.shuffle(y10, y11, 0, 4, 1, 5));
      v128.store(r1 + o, f32x4.shuffle(y10, y11, 2, 6, 3, 7), 16);
      t += 16;
    }
  }
}

/**
 * out [ho, wo] from the output plane's first ho rows and wo columns (plane row stride wq ≥ wo): WINO_STORE
 * out = v + bias, WINO_RELU out = max(v + bias, 0), WINO_BETA out = beta·out + v (beta 0: out = v).
 */
export function store_plane(plane: usize, wq: i32, out: usize, ho: i32, wo: i32, bias: f32, mode: i32, beta: f32): void {
  const vb = f32x4.splat(bias), zero = f32x4.splat(0), vbeta = f32x4.splat(beta);
  const acc = mode == WINO_BETA && beta != 0;
  for (let y = 0; y < ho; y++) {
    const s = plane + (<usize>(y * wq) << 2), d = out + (<usize>(y * wo) << 2);
    if (!acc) {
      // store modes are idempotent: the last wo % 4 as one vector ending at wo − 1
      let x = 0;
      for (; x + 4 <= wo; x += 4) {
        let v = f32x4.add(v128.load(s + (<usize>x << 2)), vb);
        if (mode == WINO_RELU) v = f32x4.pmax(v, zero);
        v128.store(d + (<usize>x << 2), v);
      }
      if (x < wo) {
        if (wo >= 4) {
          const q = <usize>(wo - 4) << 2;
          let v = f32x4.add(v128.load(s + q), vb);
          if (mode == WINO_RELU) v = f32x4.pmax(v, zero);
          v128.store(d + q, v);
        } else {
          for (; x < wo; x++) {
            let v = load<f32>(s + (<usize>x << 2)) + bias;
            if (mode == WINO_RELU) v = max(v, <f32>0);
            store<f32>(d + (<usize>x << 2), v);
          }
        }
      }
    } else {
      let x = 0;
      for (; x + 4 <= wo; x += 4) {
        const r = d + (<usize>x << 2);
        v128.store(r, f32x4.add(f32x4.mul(vbeta, v128.load(r)), v128.load(s + (<usize>x << 2))));
      }
      for (; x < wo; x++) {
        const r = d + (<usize>x << 2);
        store<f32>(r, beta * load<f32>(r) + load<f32>(s + (<usize>x << 2)));
      }
    }
  }
}

/**
 * One row r (0..3) of every tile's patch B dV Bᵀ for one tile row, added into the plane row's even / odd column
 * halves. The adjoint of Bᵀ gives patch rows q0 = D0, q1 = D1 − D2 + D3, q2 = D1 + D2 − D0, q3 = −D3 (D = the 4×4
 * dV) and, within a row q, the columns [q0, q1 − q2 + q3, q1 + q2 − q0, −q3]. Tile k's patch columns 2k..2k + 3
 * overlap tile k + 1's: even column 2k gets p0[k] + p2[k − 1], odd column 2k + 1 gets p1[k] + p3[k − 1] (a lane
 * shift carried across groups). d: dV[0][t] of the row's first tile; e / od: the plane row's even and odd halves
 * (4·G + 4 f32 each); lanes at and past `valid` of the last group are not this row's tiles and count as zero.
 */
// @ts-ignore: decorator
@inline function inv_row(r: i32, d: usize, vs: usize, G: i32, valid: i32, e: usize, od: usize): void {
  const zero = f32x4.splat(0);
  const keep = i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(valid));
  let c2 = zero, c3 = zero;
  for (let g = 0; g < G; g++) {
    const t = d + (<usize>g << 4);
    let q0: v128, q1: v128, q2: v128, q3: v128;
    if (r == 0) {
      q0 = v128.load(t); q1 = v128.load(t + vs); q2 = v128.load(t + 2 * vs); q3 = v128.load(t + 3 * vs);
    } else if (r == 1) {
      q0 = f32x4.add(f32x4.sub(v128.load(t + 4 * vs), v128.load(t + 8 * vs)), v128.load(t + 12 * vs));
      q1 = f32x4.add(f32x4.sub(v128.load(t + 5 * vs), v128.load(t + 9 * vs)), v128.load(t + 13 * vs));
      q2 = f32x4.add(f32x4.sub(v128.load(t + 6 * vs), v128.load(t + 10 * vs)), v128.load(t + 14 * vs));
      q3 = f32x4.add(f32x4.sub(v128.load(t + 7 * vs), v128.load(t + 11 * vs)), v128.load(t + 15 * vs));
    } else if (r == 2) {
      q0 = f32x4.sub(f32x4.add(v128.load(t + 4 * vs), v128.load(t + 8 * vs)), v128.load(t));
      q1 = f32x4.sub(f32x4.add(v128.load(t + 5 * vs), v128.load(t + 9 * vs)), v128.load(t + vs));
      q2 = f32x4.sub(f32x4.add(v128.load(t + 6 * vs), v128.load(t + 10 * vs)), v128.load(t + 2 * vs));
      q3 = f32x4.sub(f32x4.add(v128.load(t + 7 * vs), v128.load(t + 11 * vs)), v128.load(t + 3 * vs));
    } else {
      q0 = f32x4.neg(v128.load(t + 12 * vs)); q1 = f32x4.neg(v128.load(t + 13 * vs));
      q2 = f32x4.neg(v128.load(t + 14 * vs)); q3 = f32x4.neg(v128.load(t + 15 * vs));
    }
    if (g == G - 1) { q0 = v128.and(q0, keep); q1 = v128.and(q1, keep); q2 = v128.and(q2, keep); q3 = v128.and(q3, keep); }
    const p1 = f32x4.add(f32x4.sub(q1, q2), q3), p2 = f32x4.sub(f32x4.add(q1, q2), q0), p3 = f32x4.neg(q3);
    const eg = e + (<usize>g << 4), og = od + (<usize>g << 4);
    v128.store(eg, f32x4.add(v128.load(eg), f32x4.add(q0, f32x4.shuffle(c2, p2, 3, 4, 5, 6))));
    v128.store(og, f32x4.add(v128.load(og), f32x4.add(p1, f32x4.shuffle(c3, p3, 3, 4, 5, 6))));
    c2 = p2; c3 = p3;
  }
  const eg = e + (<usize>G << 4), og = od + (<usize>G << 4);
  v128.store(eg, f32x4.add(v128.load(eg), f32x4.shuffle(c2, zero, 3, 4, 4, 4)));
  v128.store(og, f32x4.add(v128.load(og), f32x4.shuffle(c3, zero, 3, 4, 4, 4)));
}

/**
 * The input-gradient plane of one channel, [2·ty_n + 2, 8·G + 8] as even/odd column halves (row R's even columns at
 * eo + R·(8G + 8)·4, its odd ones (4G + 4)·4 bytes further) = Σ_tiles B dV Bᵀ on each tile's patch (zeroed first).
 * d: dV[0][t0] of the channel's first tile; vs: bytes between ξ slices.
 */
function inverse_tf(d: usize, vs: usize, ty_n: i32, tx_n: i32, eo: usize): void {
  const G = groups(tx_n), rs = <usize>(8 * G + 8) << 2, half = <usize>(4 * G + 4) << 2;
  const valid = tx_n - 4 * (G - 1);
  zero_fill(eo, (2 * ty_n + 2) * (8 * G + 8));
  for (let ty = 0; ty < ty_n; ty++) {
    const t = d + (<usize>(ty * tx_n) << 2), row = eo + <usize>(2 * ty) * rs;
    inv_row(0, t, vs, G, valid, row, row + half);
    inv_row(1, t, vs, G, valid, row + rs, row + rs + half);
    inv_row(2, t, vs, G, valid, row + 2 * rs, row + 2 * rs + half);
    inv_row(3, t, vs, G, valid, row + 3 * rs, row + 3 * rs + half);
  }
}

/** Rows [r0, r1) of an even/odd plane (inverse_tf's layout) interleaved into dst [·, 8G + 8] (same row stride). */
function interleave(eo: usize, G: i32, r0: i32, r1: i32, dst: usize): void {
  const rs = <usize>(8 * G + 8) << 2, half = <usize>(4 * G + 4) << 2;
  for (let r = r0; r < r1; r++) {
    const e = eo + <usize>r * rs, o = e + half, q = dst + <usize>r * rs;
    for (let j = 0; j <= G; j++) {
      const a = v128.load(e + (<usize>j << 4)), b = v128.load(o + (<usize>j << 4));
      v128.store(q + (<usize>j << 5), f32x4.shuffle(a, b, 0, 4, 1, 5));
      v128.store(q + (<usize>j << 5), f32x4.shuffle(a, b, 2, 6, 3, 7), 16);
    }
  }
}

// ---- drivers ----------------------------------------------------------------------------------------------------

/**
 * Forward: y [n, co, ho, wo] = act(Σ_c corr3×3(x [n, ci, h, w] placed at (top, left) of a zero plane, W) + bias),
 * relu when `relu`, by chunks of nb images. U [16, co, ci] must be in the scratch (wino_filter); bias [co] or 0.
 */
export function wino_fwd(n: i32, ci: i32, co: i32, h: i32, w: i32, ho: i32, wo: i32, top: i32, left: i32, x_ptr: usize, y_ptr: usize, bias: usize, relu: bool, scratch: usize, nb: i32): void {
  const ty_n = wino_tiles(ho), tx_n = wino_tiles(wo), G = groups(tx_n), t_img = ty_n * tx_n, ts = wino_stride(t_img, nb);
  const vs = <usize>wino_slice(ci, ts) << 2, ms = <usize>wino_slice(co, ts) << 2, rs = <usize>ts << 2;
  const hp = 2 * ty_n + 2, wp = 8 * G + 8, p1 = <usize>(hp * wp) << 2;
  const u = scratch, v = u + (<usize>(32 * co * ci) << 2), m = v + 16 * vs, pin = m + 16 * ms, pout = pin + 2 * p1;
  const in_plane = <usize>(h * w) << 2, out_plane = <usize>(ho * wo) << 2;
  for (let i0 = 0; i0 < n; i0 += nb) {
    const nbc = min(nb, n - i0), T = nbc * t_img, tc = (T + 7) & ~7;
    for (let img = 0; img < nbc; img++) {
      const x = x_ptr + <usize>((i0 + img) * ci) * in_plane;
      for (let c = 0; c < ci; c++) {
        fill_plane(pin, hp, wp, x + <usize>c * in_plane, h, w, top, left);
        input_tf(pin, wp, ty_n, tx_n, v + <usize>c * rs + (<usize>(img * t_img) << 2), vs);
      }
    }
    // columns [T, tc) of V enter the GEMM: zeros (their outputs are never read)
    if (tc > T) for (let xi = 0; xi < 16; xi++) for (let c = 0; c < ci; c++) zero_fill(v + <usize>xi * vs + <usize>c * rs + (<usize>T << 2), tc - T);
    for (let xi = 0; xi < 16; xi++) {
      gemm_nn(co, tc, ci, u + (<usize>(xi * co * ci) << 2), <usize>ci << 2, 4, v + <usize>xi * vs, rs, m + <usize>xi * ms, rs, 0, EPI_STORE, 0);
    }
    for (let img = 0; img < nbc; img++) {
      const y = y_ptr + <usize>((i0 + img) * co) * out_plane;
      for (let o = 0; o < co; o++) {
        output_tf(m + <usize>o * rs + (<usize>(img * t_img) << 2), ms, ty_n, tx_n, pout, 8 * G);
        store_plane(pout, 8 * G, y + <usize>o * out_plane, ho, wo, bias ? load<f32>(bias + (<usize>o << 2)) : 0, relu ? WINO_RELU : WINO_STORE, 0);
      }
    }
  }
}

/**
 * Backward of wino_fwd's correlation (before bias and act): from dZ = dY ⊙ [ymask > 0] (ymask == 0: dZ = dY),
 * dX [n, ci, h, w] = beta_x·dX + ∂/∂x (dx_ptr == 0: skipped), dW [co, ci, 3, 3] = beta_w·dW + ∂/∂W (dw_ptr == 0:
 * skipped), db [co] = beta_w·db + Σ dZ (db_ptr == 0: skipped; sums in f64), by chunks of nb images. With dx_ptr,
 * U [16, co, ci] must be in the scratch (wino_filter). n == 0 gives dW = beta_w·dW, db = beta_w·db.
 */
export function wino_bwd(n: i32, ci: i32, co: i32, h: i32, w: i32, ho: i32, wo: i32, top: i32, left: i32, x_ptr: usize, ymask: usize, dy_ptr: usize, dx_ptr: usize, dw_ptr: usize, db_ptr: usize, beta_x: f32, beta_w: f32, scratch: usize, nb: i32): void {
  const ty_n = wino_tiles(ho), tx_n = wino_tiles(wo), G = groups(tx_n), t_img = ty_n * tx_n, ts = wino_stride(t_img, nb);
  const vs = <usize>wino_slice(ci, ts) << 2, ys = <usize>wino_slice(co, ts) << 2, rs = <usize>ts << 2;
  const hp = 2 * ty_n + 2, wp = 8 * G + 8, p1 = <usize>(hp * wp) << 2;
  const u = scratch, du = u + (<usize>(16 * co * ci) << 2), v = du + (<usize>(16 * co * ci) << 2), yh = v + 16 * vs;
  const pa = yh + 16 * ys, pb = pa + p1, pdy = pb + p1, dbs = pdy + (<usize>(2 * ty_n * 8 * G) << 2);
  const in_plane = <usize>(h * w) << 2, out_plane = <usize>(ho * wo) << 2;
  if (db_ptr) for (let o = 0; o < co; o++) store<f64>(dbs + (<usize>o << 3), 0);
  if (n == 0 && dw_ptr) zero_fill(du, 16 * co * ci);
  for (let i0 = 0; i0 < n; i0 += nb) {
    const nbc = min(nb, n - i0), T = nbc * t_img, tc = (T + 7) & ~7;
    for (let img = 0; img < nbc; img++) {
      const t0 = <usize>(img * t_img) << 2;
      if (dw_ptr) {
        const x = x_ptr + <usize>((i0 + img) * ci) * in_plane;
        for (let c = 0; c < ci; c++) {
          fill_plane(pa, hp, wp, x + <usize>c * in_plane, h, w, top, left);
          input_tf(pa, wp, ty_n, tx_n, v + <usize>c * rs + t0, vs);
        }
      }
      const off = <usize>((i0 + img) * co) * out_plane;
      for (let o = 0; o < co; o++) {
        const q = off + <usize>o * out_plane;
        if (ymask) fill_plane_masked(pdy, 2 * ty_n, 8 * G, dy_ptr + q, ymask + q, ho, wo, 0, 0);
        else fill_plane(pdy, 2 * ty_n, 8 * G, dy_ptr + q, ho, wo, 0, 0);
        grad_tf(pdy, 8 * G, ty_n, tx_n, yh + <usize>o * rs + t0, ys);
      }
    }
    // the dot products run over all ts columns and the GEMM over tc: zeros past the chunk's tiles
    for (let xi = 0; xi < 16; xi++) {
      for (let o = 0; o < co; o++) zero_fill(yh + <usize>xi * ys + <usize>o * rs + (<usize>T << 2), ts - T);
      if (dw_ptr) for (let c = 0; c < ci; c++) zero_fill(v + <usize>xi * vs + <usize>c * rs + (<usize>T << 2), ts - T);
    }
    if (db_ptr) row_sums_f64(co, ts, yh + 5 * ys, rs, dbs);
    if (dw_ptr) {
      for (let xi = 0; xi < 16; xi++) {
        dense_bwd_x_f32x4(co, ci, ts, yh + <usize>xi * ys, v + <usize>xi * vs, du + (<usize>(xi * co * ci) << 2), i0 == 0 ? 0 : 1);
      }
    }
    if (dx_ptr) {
      // dV (over V's storage) = Uᵀ·Ŷ: A = U[ξ]ᵀ [ci, co] read in place (ars = 4: gemm's transposed-A kernel)
      for (let xi = 0; xi < 16; xi++) {
        gemm_nn(ci, tc, co, u + (<usize>(xi * co * ci) << 2), 4, <usize>ci << 2, yh + <usize>xi * ys, rs, v + <usize>xi * vs, rs, 0, EPI_STORE, 0);
      }
      for (let img = 0; img < nbc; img++) {
        const dx = dx_ptr + <usize>((i0 + img) * ci) * in_plane;
        for (let c = 0; c < ci; c++) {
          inverse_tf(v + <usize>c * rs + (<usize>(img * t_img) << 2), vs, ty_n, tx_n, pa);
          interleave(pa, G, top, top + h, pb);
          store_plane(pb + (<usize>(top * wp + left) << 2), wp, dx + <usize>c * in_plane, h, w, 0, WINO_BETA, beta_x);
        }
      }
    }
  }
  if (dw_ptr) wino_filter_grad(du, co, ci, dw_ptr, beta_w);
  if (db_ptr) {
    for (let o = 0; o < co; o++) {
      const q = db_ptr + (<usize>o << 2), s = load<f64>(dbs + (<usize>o << 3));
      store<f32>(q, beta_w == 0 ? <f32>s : <f32>(<f64>beta_w * <f64>load<f32>(q) + s));
    }
  }
}
