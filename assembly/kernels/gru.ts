// Bidirectional GRU over masked token rows, ONNX GRU's equations with linear_before_reset = 1 (PyTorch's / cuDNN's
// form: the reset gate scales R_h·h + Rb_h, so one GEMM per step serves all three gates' recurrent terms):
//   z = σ(x·W_zᵀ + Wb_z + h·R_zᵀ + Rb_z)      r = σ(x·W_rᵀ + Wb_r + h·R_rᵀ + Rb_r)
//   ĥ = tanh(x·W_hᵀ + Wb_h + r ⊙ (h·R_hᵀ + Rb_h))      h' = (1 − z) ⊙ ĥ + z ⊙ h,   h₀ = 0.
// Layouts (ONNX's, gates in the order z, r, h): W [2, 3H, D], R [2, 3H, H], B [2, 6H] = (Wb_z, Wb_r, Wb_h, Rb_z,
// Rb_r, Rb_h) per direction; direction 0 runs forward in time, 1 backward. X [n, l, D], mask [n, l] (a row's real
// tokens are a prefix: its length is the count of mask > 0), Y [n, l, 2H] = (forward h_t, backward h_t), 0 at
// padding positions. Each direction runs over the row's real tokens only; the backward one starts at the last.
// The input projections of all n·l tokens are one GEMM per direction; each time step is one [n, H]·[H, 3H] GEMM
// plus the gate math for the rows still running (rows are in step s at t = s, or len − 1 − s backward).
// The training forward saves (z, r, ĥ, h·R_hᵀ + Rb_h) per direction and token: save [2, n, l, 4H].
import { off4, zero_or_scale, sigmoid_f32x4, splat, tanh_f32x4 } from "../simd";
import { gemm_nn, EPI_BETA } from "./gemm";
import { dense_bwd_x_f32x4 } from "./dense";

/** Load 4 lanes at p, or (tail) lane 0 only. */
// @ts-ignore: decorator
@inline function ld(p: usize, four: bool): v128 {
  return four ? v128.load(p) : f32x4.splat(load<f32>(p));
}

// @ts-ignore: decorator
@inline function st(p: usize, v: v128, four: bool): void {
  if (four) v128.store(p, v);
  else store<f32>(p, f32x4.extract_lane(v, 0));
}

/** Real length of each row (count of mask > 0) into lens (i32 [n]); returns the longest. */
function lengths(n: i32, l: i32, mask_ptr: usize, lens_ptr: usize): i32 {
  let mx = 0;
  for (let i = 0; i < n; i++) {
    let c = 0;
    for (let t = 0; t < l; t++) if (mask_ptr == 0 || load<f32>(mask_ptr + off4(i * l + t)) > 0) c++;
    store<i32>(lens_ptr + off4(i), c);
    mx = max(mx, c);
  }
  return mx;
}

/** Floats of work memory bigru_fwd_f32x4 needs. */
export function bigru_fwd_work(n: i32, l: i32, h: i32): i32 {
  return n * l * 3 * h + n * h + n * 3 * h + n;
}

/**
 * Forward, both directions: X [n, l, d], mask [n, l] or 0, W [2, 3h, d], R [2, 3h, h], B [2, 6h] → Y [n, l, 2h];
 * save [2, n, l, 4h] (training) or 0; work: bigru_fwd_work(n, l, h) f32.
 */
export function bigru_fwd_f32x4(n: i32, l: i32, d: i32, h: i32, x_ptr: usize, mask_ptr: usize, w_ptr: usize, r_ptr: usize, b_ptr: usize, y_ptr: usize, save_ptr: usize, work_ptr: usize): void {
  const h3 = 3 * h, m = n * l;
  const g_ptr = work_ptr, hs_ptr = g_ptr + off4(m * h3), hr_ptr = hs_ptr + off4(n * h), lens_ptr = hr_ptr + off4(n * h3);
  const maxlen = lengths(n, l, mask_ptr, lens_ptr);
  zero_or_scale(m * 2 * h, y_ptr, 0);
  for (let dir = 0; dir < 2; dir++) {
    const wd = w_ptr + off4(dir * h3 * d), rd = r_ptr + off4(dir * h3 * h), bd = b_ptr + off4(dir * 6 * h);
    const sd = save_ptr ? save_ptr + off4(dir * m * 4 * h) : 0;
    dense_bwd_x_f32x4(m, h3, d, x_ptr, wd, g_ptr, 0); // G = X·Wᵀ [m, 3h]
    zero_or_scale(n * h, hs_ptr, 0);
    for (let s = 0; s < maxlen; s++) {
      dense_bwd_x_f32x4(n, h3, h, hs_ptr, rd, hr_ptr, 0); // h·Rᵀ [n, 3h]
      for (let i = 0; i < n; i++) {
        const len = load<i32>(lens_ptr + off4(i));
        if (s >= len) continue;
        const t = dir == 0 ? s : len - 1 - s;
        const g = g_ptr + off4((i * l + t) * h3), q = hr_ptr + off4(i * h3), hp = hs_ptr + off4(i * h);
        const yo = y_ptr + off4((i * l + t) * 2 * h + dir * h);
        const sv = sd ? sd + off4((i * l + t) * 4 * h) : 0;
        for (let j = 0; j < h; j += 4) {
          const four = j + 4 <= h;
          const cnt = four ? 1 : h - j; // tail: one lane at a time
          for (let u = 0; u < cnt; u++) {
            const jj = j + u, o = off4(jj);
            const z = sigmoid_f32x4(f32x4.add(f32x4.add(ld(g + o, four), ld(bd + o, four)), f32x4.add(ld(q + o, four), ld(bd + off4(3 * h) + o, four))));
            const r = sigmoid_f32x4(f32x4.add(f32x4.add(ld(g + off4(h) + o, four), ld(bd + off4(h) + o, four)), f32x4.add(ld(q + off4(h) + o, four), ld(bd + off4(4 * h) + o, four))));
            const ghh = f32x4.add(ld(q + off4(2 * h) + o, four), ld(bd + off4(5 * h) + o, four));
            const hh = tanh_f32x4(f32x4.add(f32x4.add(ld(g + off4(2 * h) + o, four), ld(bd + off4(2 * h) + o, four)), f32x4.mul(r, ghh)));
            const hv = f32x4.add(hh, f32x4.mul(z, f32x4.sub(ld(hp + o, four), hh)));
            st(hp + o, hv, four);
            st(yo + o, hv, four);
            if (sv) {
              st(sv + o, z, four);
              st(sv + off4(h) + o, r, four);
              st(sv + off4(2 * h) + o, hh, four);
              st(sv + off4(3 * h) + o, ghh, four);
            }
          }
          if (!four) break;
        }
      }
    }
  }
}

/** Floats of work memory bigru_bwd_f32x4 needs. */
export function bigru_bwd_work(n: i32, l: i32, h: i32): i32 {
  return n * l * 3 * h + n * h + n * 3 * h + n * h + n;
}

/**
 * Backward through time (both directions) of bigru_fwd_f32x4 (same dims; y, save from its training forward; dy
 * [n, l, 2h]): dX = beta_x·dX + Σ_dir dG·W (dx_ptr 0: skipped); dW, dR, dB = beta_w·(old) + their gradients (each
 * pointer may be 0: skipped). Padding positions pass and receive nothing. work: bigru_bwd_work(n, l, h) f32.
 */
export function bigru_bwd_f32x4(n: i32, l: i32, d: i32, h: i32, x_ptr: usize, mask_ptr: usize, w_ptr: usize, r_ptr: usize, y_ptr: usize, save_ptr: usize, dy_ptr: usize, dx_ptr: usize, dw_ptr: usize, dr_ptr: usize, db_ptr: usize, work_ptr: usize, beta_x: f32, beta_w: f32): void {
  const h3 = 3 * h, m = n * l;
  const dg_ptr = work_ptr, carry = dg_ptr + off4(m * h3), dgh = carry + off4(n * h), hpb = dgh + off4(n * h3), lens_ptr = hpb + off4(n * h);
  const maxlen = lengths(n, l, mask_ptr, lens_ptr);
  if (dx_ptr) zero_or_scale(m * d, dx_ptr, beta_x);
  if (dw_ptr) zero_or_scale(2 * h3 * d, dw_ptr, beta_w);
  if (dr_ptr) zero_or_scale(2 * h3 * h, dr_ptr, beta_w);
  if (db_ptr) zero_or_scale(2 * 6 * h, db_ptr, beta_w);
  const one = splat(1);
  for (let dir = 0; dir < 2; dir++) {
    const wd = w_ptr + off4(dir * h3 * d), rd = r_ptr + off4(dir * h3 * h), sd = save_ptr + off4(dir * m * 4 * h);
    const dwd = dw_ptr ? dw_ptr + off4(dir * h3 * d) : 0, drd = dr_ptr ? dr_ptr + off4(dir * h3 * h) : 0, dbd = db_ptr ? db_ptr + off4(dir * 6 * h) : 0;
    zero_or_scale(m * h3, dg_ptr, 0);
    zero_or_scale(n * h, carry, 0);
    for (let s = maxlen - 1; s >= 0; s--) {
      for (let i = 0; i < n; i++) {
        const len = load<i32>(lens_ptr + off4(i));
        const q = dgh + off4(i * h3), hp = hpb + off4(i * h), cr = carry + off4(i * h);
        if (s >= len) {
          zero_or_scale(h3, q, 0);
          zero_or_scale(h, hp, 0);
          continue;
        }
        const t = dir == 0 ? s : len - 1 - s;
        const tp = dir == 0 ? t - 1 : t + 1; // the previous step's position
        if (tp >= 0 && tp < len) memory.copy(hp, y_ptr + off4((i * l + tp) * 2 * h + dir * h), off4(h));
        else zero_or_scale(h, hp, 0);
        const sv = sd + off4((i * l + t) * 4 * h), g = dg_ptr + off4((i * l + t) * h3);
        const dyo = dy_ptr + off4((i * l + t) * 2 * h + dir * h);
        for (let j = 0; j < h; j += 4) {
          const four = j + 4 <= h;
          const cnt = four ? 1 : h - j;
          for (let u = 0; u < cnt; u++) {
            const o = off4(j + u);
            const z = ld(sv + o, four), r = ld(sv + off4(h) + o, four), hh = ld(sv + off4(2 * h) + o, four), ghh = ld(sv + off4(3 * h) + o, four);
            const dh = f32x4.add(ld(dyo + o, four), ld(cr + o, four));
            const dhh = f32x4.mul(dh, f32x4.sub(one, z));
            const dz = f32x4.mul(dh, f32x4.sub(ld(hp + o, four), hh));
            const dah = f32x4.mul(dhh, f32x4.sub(one, f32x4.mul(hh, hh)));
            const daz = f32x4.mul(dz, f32x4.mul(z, f32x4.sub(one, z)));
            const dar = f32x4.mul(f32x4.mul(dah, ghh), f32x4.mul(r, f32x4.sub(one, r)));
            st(g + o, daz, four);
            st(g + off4(h) + o, dar, four);
            st(g + off4(2 * h) + o, dah, four);
            st(q + o, daz, four);
            st(q + off4(h) + o, dar, four);
            st(q + off4(2 * h) + o, f32x4.mul(dah, r), four);
            st(cr + o, f32x4.mul(dh, z), four);
          }
          if (!four) break;
        }
      }
      // carry += dgh·R (rows not yet started have dgh = 0 and carry 0); dR += dghᵀ·hp; dRb += Σ dgh
      gemm_nn(n, h, h3, dgh, off4(h3), 4, rd, off4(h), carry, off4(h), 0, EPI_BETA, 1);
      if (drd) gemm_nn(h3, h, n, dgh, 4, off4(h3), hpb, off4(h), drd, off4(h), 0, EPI_BETA, 1);
      if (dbd) for (let i = 0; i < n; i++) add_row(h3, dgh + off4(i * h3), dbd + off4(h3));
    }
    if (dwd) gemm_nn(h3, d, m, dg_ptr, 4, off4(h3), x_ptr, off4(d), dwd, off4(d), 0, EPI_BETA, 1);
    if (dbd) for (let r = 0; r < m; r++) add_row(h3, dg_ptr + off4(r * h3), dbd);
    if (dx_ptr) gemm_nn(m, d, h3, dg_ptr, off4(h3), 4, wd, off4(d), dx_ptr, off4(d), 0, EPI_BETA, 1);
  }
}

/** dst[0:k] += src[0:k]. */
// @ts-ignore: decorator
@inline function add_row(k: i32, src: usize, dst: usize): void {
  let j = 0;
  for (; j + 4 <= k; j += 4) v128.store(dst + off4(j), f32x4.add(v128.load(dst + off4(j)), v128.load(src + off4(j))));
  for (; j < k; j++) store<f32>(dst + off4(j), load<f32>(dst + off4(j)) + load<f32>(src + off4(j)));
}
