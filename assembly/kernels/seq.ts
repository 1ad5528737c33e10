// Sequence kernels over token rows: X [n, l, d] row-major (time-major within a row, channels last: the d values
// of one token are contiguous), with a token mask [n, l] (f32; a position is REAL when mask > 0, else PADDING:
// its value is never read and it gets no gradient). mask_ptr == 0 means every position is real.
//
// - embed_seq_bwd: the token embedding's scatter-add, skipping the padding id (its row is never trained).
// - seq_max / seq_mean: pooling over the real positions of each row → [n, d]; a row without real positions
//   gives 0 (and passes no gradient).
// - conv1d: Y[n, t, o] = act(b[o] + Σ_c Σ_j W[o, c, j]·X[n, t + dil·j − pl, c]) at real t (0 at padding t),
//   with X read as 0 outside [0, l) and at padding positions. W [co, c, k] (ONNX Conv's [C_out, C_in, k]).
//   Through im2col: col[(n, t), c·k + j] (the masked, shifted inputs, [n·l, c·k]) then Y = col·Wᵀ.
// Backward kernels take beta (0 overwrites, 1 accumulates).
import { off4, zero_or_scale } from "../simd";
import { gemm_nn, EPI_STORE, EPI_BETA } from "./gemm";
import { dense_bwd_x_f32x4 } from "./dense";

// @ts-ignore: decorator
@inline function real(mask_ptr: usize, i: i32): bool {
  return mask_ptr == 0 || load<f32>(mask_ptr + off4(i)) > 0;
}

/**
 * dtable[idx[i], 0:d] += dy[i, 0:d] for i < m with idx[i] ≠ pad, in order (repeated ids sum). Always
 * accumulates (the planner zero-fills dtable first). idx i32 [m]; dy [m, d]; dtable [v, d]. pad < 0: none skipped.
 */
export function embed_seq_bwd_f32x4(m: i32, d: i32, idx_ptr: usize, dy_ptr: usize, dtable_ptr: usize, pad: i32): void {
  for (let i = 0; i < m; i++) {
    const id = load<i32>(idx_ptr + off4(i));
    if (id == pad) continue;
    const dst = dtable_ptr + off4(id * d), src = dy_ptr + off4(i * d);
    let j = 0;
    for (; j + 4 <= d; j += 4) v128.store(dst + off4(j), f32x4.add(v128.load(dst + off4(j)), v128.load(src + off4(j))));
    for (; j < d; j++) store<f32>(dst + off4(j), load<f32>(dst + off4(j)) + load<f32>(src + off4(j)));
  }
}

/**
 * Masked max over time: y[i, j] = max over real t of x[i, t, j]; idx[i, j] = that t (the first maximum), or −1
 * and y = 0 for a row without real positions. x [n, l, d]; mask [n, l] or 0; y [n, d]; idx i32 [n, d] or 0
 * (inference: not written).
 */
export function seq_max_fwd_f32x4(n: i32, l: i32, d: i32, x_ptr: usize, mask_ptr: usize, y_ptr: usize, idx_ptr: usize): void {
  for (let i = 0; i < n; i++) {
    const yrow = y_ptr + off4(i * d), irow = idx_ptr + off4(i * d);
    let first = -1;
    for (let t = 0; t < l; t++) if (real(mask_ptr, i * l + t)) { first = t; break; }
    if (first < 0) {
      zero_or_scale(d, yrow, 0);
      if (idx_ptr) for (let j = 0; j < d; j++) store<i32>(irow + off4(j), -1);
      continue;
    }
    const x0 = x_ptr + off4((i * l + first) * d);
    let j = 0;
    for (; j + 4 <= d; j += 4) {
      let mv = v128.load(x0 + off4(j));
      let iv = i32x4.splat(first);
      for (let t = first + 1; t < l; t++) {
        if (!real(mask_ptr, i * l + t)) continue;
        const v = v128.load(x_ptr + off4((i * l + t) * d + j));
        const gt = f32x4.gt(v, mv);
        mv = v128.bitselect(v, mv, gt);
        iv = v128.bitselect(i32x4.splat(t), iv, gt);
      }
      v128.store(yrow + off4(j), mv);
      if (idx_ptr) v128.store(irow + off4(j), iv);
    }
    for (; j < d; j++) {
      let mx = load<f32>(x0 + off4(j)), at = first;
      for (let t = first + 1; t < l; t++) {
        if (!real(mask_ptr, i * l + t)) continue;
        const v = load<f32>(x_ptr + off4((i * l + t) * d + j));
        if (v > mx) { mx = v; at = t; }
      }
      store<f32>(yrow + off4(j), mx);
      if (idx_ptr) store<i32>(irow + off4(j), at);
    }
  }
}

/** dx = beta·dx, then dx[i, idx[i, j], j] += dy[i, j] (idx −1: nothing). dy [n, d]; idx i32 [n, d]; dx [n, l, d]. */
export function seq_max_bwd_f32x4(n: i32, l: i32, d: i32, dy_ptr: usize, idx_ptr: usize, dx_ptr: usize, beta: f32): void {
  zero_or_scale(n * l * d, dx_ptr, beta);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const t = load<i32>(idx_ptr + off4(i * d + j));
      if (t < 0) continue;
      const p = dx_ptr + off4((i * l + t) * d + j);
      store<f32>(p, load<f32>(p) + load<f32>(dy_ptr + off4(i * d + j)));
    }
  }
}

/** Real positions of row i. */
// @ts-ignore: decorator
@inline function count(l: i32, mask_ptr: usize, i: i32): i32 {
  let c = 0;
  for (let t = 0; t < l; t++) if (real(mask_ptr, i * l + t)) c++;
  return c;
}

/** Masked mean over time: y[i, :] = Σ_{real t} x[i, t, :] / (number of real t), 0 for a row without any. */
export function seq_mean_fwd_f32x4(n: i32, l: i32, d: i32, x_ptr: usize, mask_ptr: usize, y_ptr: usize): void {
  for (let i = 0; i < n; i++) {
    const yrow = y_ptr + off4(i * d);
    zero_or_scale(d, yrow, 0);
    const c = count(l, mask_ptr, i);
    if (c == 0) continue;
    for (let t = 0; t < l; t++) {
      if (!real(mask_ptr, i * l + t)) continue;
      const xr = x_ptr + off4((i * l + t) * d);
      let j = 0;
      for (; j + 4 <= d; j += 4) v128.store(yrow + off4(j), f32x4.add(v128.load(yrow + off4(j)), v128.load(xr + off4(j))));
      for (; j < d; j++) store<f32>(yrow + off4(j), load<f32>(yrow + off4(j)) + load<f32>(xr + off4(j)));
    }
    const s: f32 = <f32>1 / <f32>c, sv = f32x4.splat(s);
    let j = 0;
    for (; j + 4 <= d; j += 4) v128.store(yrow + off4(j), f32x4.mul(sv, v128.load(yrow + off4(j))));
    for (; j < d; j++) store<f32>(yrow + off4(j), s * load<f32>(yrow + off4(j)));
  }
}

/** dx[i, t, :] = beta·dx[i, t, :] + (t real ? dy[i, :]/count_i : 0). dy [n, d]; mask [n, l] or 0; dx [n, l, d]. */
export function seq_mean_bwd_f32x4(n: i32, l: i32, d: i32, dy_ptr: usize, mask_ptr: usize, dx_ptr: usize, beta: f32): void {
  const bv = f32x4.splat(beta);
  for (let i = 0; i < n; i++) {
    const c = count(l, mask_ptr, i);
    const s: f32 = c > 0 ? <f32>1 / <f32>c : 0, sv = f32x4.splat(s);
    const dyr = dy_ptr + off4(i * d);
    for (let t = 0; t < l; t++) {
      const dxr = dx_ptr + off4((i * l + t) * d);
      if (!real(mask_ptr, i * l + t)) {
        zero_or_scale(d, dxr, beta);
        continue;
      }
      let j = 0;
      if (beta == 0) {
        for (; j + 4 <= d; j += 4) v128.store(dxr + off4(j), f32x4.mul(sv, v128.load(dyr + off4(j))));
        for (; j < d; j++) store<f32>(dxr + off4(j), s * load<f32>(dyr + off4(j)));
      } else {
        for (; j + 4 <= d; j += 4) v128.store(dxr + off4(j), f32x4.add(f32x4.mul(bv, v128.load(dxr + off4(j))), f32x4.mul(sv, v128.load(dyr + off4(j)))));
        for (; j < d; j++) store<f32>(dxr + off4(j), beta * load<f32>(dxr + off4(j)) + s * load<f32>(dyr + off4(j)));
      }
    }
  }
}

/** col[(i, t), ci·k + j] = x[i, t + dil·j − pl, ci] when that position is inside the row and real, else 0. */
function im2col1d(n: i32, l: i32, c: i32, k: i32, dil: i32, pl: i32, x_ptr: usize, mask_ptr: usize, col_ptr: usize): void {
  const kc = k * c;
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < l; t++) {
      const row = col_ptr + off4((i * l + t) * kc);
      for (let j = 0; j < k; j++) {
        const s = t + dil * j - pl;
        if (s < 0 || s >= l || !real(mask_ptr, i * l + s)) {
          for (let ci = 0; ci < c; ci++) store<f32>(row + off4(ci * k + j), 0);
          continue;
        }
        const src = x_ptr + off4((i * l + s) * c);
        for (let ci = 0; ci < c; ci++) store<f32>(row + off4(ci * k + j), load<f32>(src + off4(ci)));
      }
    }
  }
}

/**
 * 1-D convolution over time, `same` length: Y [n, l, co] from X [n, l, c], W [co, c, k], b [co] (0: none),
 * mask [n, l] (0: all real); pl = left padding (dil·(k − 1) split as ⌊·/2⌋ left, the rest right for `same`).
 * relu = 1 fuses max(·, 0). Y is 0 at padding positions. col: scratch of n·l·c·k f32.
 */
export function conv1d_fwd_f32x4(n: i32, l: i32, c: i32, co: i32, k: i32, dil: i32, pl: i32, x_ptr: usize, w_ptr: usize, b_ptr: usize, mask_ptr: usize, y_ptr: usize, col_ptr: usize, relu: i32): void {
  const m = n * l;
  if (m <= 0 || co <= 0) return;
  im2col1d(n, l, c, k, dil, pl, x_ptr, mask_ptr, col_ptr);
  dense_bwd_x_f32x4(m, co, c * k, col_ptr, w_ptr, y_ptr, 0);
  const zero = f32x4.splat(0);
  for (let r = 0; r < m; r++) {
    const yr = y_ptr + off4(r * co);
    if (!real(mask_ptr, r)) {
      zero_or_scale(co, yr, 0);
      continue;
    }
    let j = 0;
    for (; j + 4 <= co; j += 4) {
      let v = v128.load(yr + off4(j));
      if (b_ptr) v = f32x4.add(v, v128.load(b_ptr + off4(j)));
      if (relu) v = f32x4.pmax(v, zero);
      v128.store(yr + off4(j), v);
    }
    for (; j < co; j++) {
      let v = load<f32>(yr + off4(j));
      if (b_ptr) v += load<f32>(b_ptr + off4(j));
      if (relu) v = max(v, <f32>0);
      store<f32>(yr + off4(j), v);
    }
  }
}

/**
 * Backward of conv1d_fwd_f32x4 (same dims; y its output, dy its gradient): dZ = dY ⊙ [real t] ⊙ (relu: [Y > 0])
 * into dz (scratch [n·l, co]); then, when dw_ptr ≠ 0, dW = beta_w·dW + dZᵀ·col and (when db_ptr ≠ 0) db = beta_w·db + Σ dZ; when dx_ptr ≠ 0, dX = beta_x·dX + col2im(dZ·W) (nothing reaches padding positions). col: scratch
 * of n·l·c·k f32 (im2col is recomputed from x).
 */
export function conv1d_bwd_f32x4(n: i32, l: i32, c: i32, co: i32, k: i32, dil: i32, pl: i32, x_ptr: usize, y_ptr: usize, dy_ptr: usize, w_ptr: usize, mask_ptr: usize, dx_ptr: usize, dw_ptr: usize, db_ptr: usize, col_ptr: usize, dz_ptr: usize, relu: i32, beta_x: f32, beta_w: f32): void {
  const m = n * l, kc = k * c;
  const zero = f32x4.splat(0);
  for (let r = 0; r < m; r++) {
    const src = dy_ptr + off4(r * co), dst = dz_ptr + off4(r * co), yr = y_ptr + off4(r * co);
    if (!real(mask_ptr, r)) {
      zero_or_scale(co, dst, 0);
      continue;
    }
    let j = 0;
    for (; j + 4 <= co; j += 4) {
      let v = v128.load(src + off4(j));
      if (relu) v = v128.and(v, f32x4.gt(v128.load(yr + off4(j)), zero));
      v128.store(dst + off4(j), v);
    }
    for (; j < co; j++) store<f32>(dst + off4(j), relu && !(load<f32>(yr + off4(j)) > 0) ? 0 : load<f32>(src + off4(j)));
  }
  if (dw_ptr) {
    im2col1d(n, l, c, k, dil, pl, x_ptr, mask_ptr, col_ptr);
    // dW [co, kc] = dZᵀ [co, m] · col [m, kc]: A = dZᵀ read in place (element (o, r) at dz + 4·o + 4·co·r)
    gemm_nn(co, kc, m, dz_ptr, 4, off4(co), col_ptr, off4(kc), dw_ptr, off4(kc), 0, beta_w == 0 ? EPI_STORE : EPI_BETA, beta_w);
  }
  if (db_ptr) {
    zero_or_scale(co, db_ptr, beta_w);
    for (let r = 0; r < m; r++) {
      const dr = dz_ptr + off4(r * co);
      let j = 0;
      for (; j + 4 <= co; j += 4) v128.store(db_ptr + off4(j), f32x4.add(v128.load(db_ptr + off4(j)), v128.load(dr + off4(j))));
      for (; j < co; j++) store<f32>(db_ptr + off4(j), load<f32>(db_ptr + off4(j)) + load<f32>(dr + off4(j)));
    }
  }
  if (dx_ptr) {
    // dcol [m, kc] = dZ [m, co] · W [co, kc], then scattered back to the positions it was read from
    gemm_nn(m, kc, co, dz_ptr, off4(co), 4, w_ptr, off4(kc), col_ptr, off4(kc), 0, EPI_STORE, 0);
    zero_or_scale(m * c, dx_ptr, beta_x);
    for (let i = 0; i < n; i++) {
      for (let t = 0; t < l; t++) {
        const row = col_ptr + off4((i * l + t) * kc);
        for (let j = 0; j < k; j++) {
          const s = t + dil * j - pl;
          if (s < 0 || s >= l || !real(mask_ptr, i * l + s)) continue;
          const dst = dx_ptr + off4((i * l + s) * c);
          for (let ci = 0; ci < c; ci++) store<f32>(dst + off4(ci), load<f32>(dst + off4(ci)) + load<f32>(row + off4(ci * k + j)));
        }
      }
    }
  }
}
