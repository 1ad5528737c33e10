// Cross-stitch units (Misra et al. 2016): t same-shaped columns mixed by a learnt t×t matrix.
// Columns live at unrelated addresses, so they cross as tables of t u32 byte addresses (4-byte aligned table;
// each column 16-byte aligned, `len` f32).
import { hsum_f32x4, off4 } from "../simd";

// @ts-ignore: decorator
@inline function at(table: usize, j: i32): usize {
  return <usize>load<u32>(table + off4(j));
}

/**
 * y_i[c] = Σ_j alpha[i, j]·x_j[c] for i, j < t, c < len. xs, ys: address tables [t]; alpha [t, t] row-major.
 * No y_i may overlap any x_j.
 */
export function cross_stitch_fwd_f32x4(t: i32, len: i32, xs_ptr: usize, alpha_ptr: usize, ys_ptr: usize): void {
  for (let i = 0; i < t; i++) {
    const y = at(ys_ptr, i), ar = alpha_ptr + off4(i * t);
    let c = 0;
    for (; c + 16 <= len; c += 16) {
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      for (let j = 0; j < t; j++) {
        const w = f32x4.splat(load<f32>(ar + off4(j))), p = at(xs_ptr, j) + off4(c);
        a0 = f32x4.add(a0, f32x4.mul(w, v128.load(p)));
        a1 = f32x4.add(a1, f32x4.mul(w, v128.load(p, 16)));
        a2 = f32x4.add(a2, f32x4.mul(w, v128.load(p, 32)));
        a3 = f32x4.add(a3, f32x4.mul(w, v128.load(p, 48)));
      }
      const q = y + off4(c);
      v128.store(q, a0);
      v128.store(q, a1, 16);
      v128.store(q, a2, 32);
      v128.store(q, a3, 48);
    }
    for (; c + 4 <= len; c += 4) {
      let a = f32x4.splat(0);
      for (let j = 0; j < t; j++) a = f32x4.add(a, f32x4.mul(f32x4.splat(load<f32>(ar + off4(j))), v128.load(at(xs_ptr, j) + off4(c))));
      v128.store(y + off4(c), a);
    }
    for (; c < len; c++) {
      let a: f32 = 0;
      for (let j = 0; j < t; j++) a += load<f32>(ar + off4(j)) * load<f32>(at(xs_ptr, j) + off4(c));
      store<f32>(y + off4(c), a);
    }
  }
}

/**
 * Backward of cross_stitch_fwd_f32x4 (address tables xs, dys, dxs [t]; alpha, dalpha [t, t]):
 *   dx_j      = beta·dx_j + Σ_i alpha[i, j]·dy_i,
 *   dalpha[i, j] = beta·dalpha[i, j] + ⟨dy_i, x_j⟩.
 * A 0 entry of dys is a zero dy_i (no gradient reached that output); a 0 entry of dxs, or dalpha_ptr 0, is not
 * written. beta applies to every output written; beta == 0 never reads them. Outputs must not overlap inputs.
 */
export function cross_stitch_bwd_f32x4(
  t: i32, len: i32, xs_ptr: usize, alpha_ptr: usize, dys_ptr: usize, dxs_ptr: usize, dalpha_ptr: usize, beta: f32,
): void {
  const bv = f32x4.splat(beta);
  for (let j = 0; j < t; j++) {
    const dx = at(dxs_ptr, j);
    if (dx == 0) continue;
    let c = 0;
    for (; c + 4 <= len; c += 4) {
      let a = beta == 0 ? f32x4.splat(0) : f32x4.mul(bv, v128.load(dx + off4(c)));
      for (let i = 0; i < t; i++) {
        const dy = at(dys_ptr, i);
        if (dy != 0) a = f32x4.add(a, f32x4.mul(f32x4.splat(load<f32>(alpha_ptr + off4(i * t + j))), v128.load(dy + off4(c))));
      }
      v128.store(dx + off4(c), a);
    }
    for (; c < len; c++) {
      let a: f32 = beta == 0 ? 0 : beta * load<f32>(dx + off4(c));
      for (let i = 0; i < t; i++) {
        const dy = at(dys_ptr, i);
        if (dy != 0) a += load<f32>(alpha_ptr + off4(i * t + j)) * load<f32>(dy + off4(c));
      }
      store<f32>(dx + off4(c), a);
    }
  }
  if (dalpha_ptr == 0) return;
  for (let i = 0; i < t; i++) {
    const dy = at(dys_ptr, i);
    for (let j = 0; j < t; j++) {
      let s: f32 = 0;
      if (dy != 0) {
        const x = at(xs_ptr, j);
        let sv = f32x4.splat(0);
        let c = 0;
        for (; c + 4 <= len; c += 4) sv = f32x4.add(sv, f32x4.mul(v128.load(dy + off4(c)), v128.load(x + off4(c))));
        s = hsum_f32x4(sv);
        for (; c < len; c++) s += load<f32>(dy + off4(c)) * load<f32>(x + off4(c));
      }
      const q = dalpha_ptr + off4(i * t + j);
      store<f32>(q, beta == 0 ? s : beta * load<f32>(q) + s);
    }
  }
}
