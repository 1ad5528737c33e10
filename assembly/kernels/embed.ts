// Categorical embeddings: a table [v, d] row-major, looked up by i32 indices.
import { off4 } from "../simd";

/**
 * y[i, 0:d] = table[idx[i], 0:d] for i < m. idx: i32 [m]; table: [v, d]; y rows start at
 * y_ptr + 4·i·ld_y (ld_y ≥ d elements), so a lookup can write straight into a column block of a concat
 * buffer (y_ptr need not be 16-byte aligned). Indices are trusted (the TS side validates 0 ≤ idx < v).
 * y must not overlap table.
 */
export function embed_fwd_f32x4(m: i32, d: i32, idx_ptr: usize, table_ptr: usize, y_ptr: usize, ld_y: i32): void {
  for (let i = 0; i < m; i++) {
    const src = table_ptr + off4(load<i32>(idx_ptr + off4(i)) * d);
    const dst = y_ptr + off4(i * ld_y);
    let j = 0;
    for (; j + 8 <= d; j += 8) {
      v128.store(dst + off4(j), v128.load(src + off4(j)));
      v128.store(dst + off4(j), v128.load(src + off4(j), 16), 16);
    }
    for (; j + 4 <= d; j += 4) v128.store(dst + off4(j), v128.load(src + off4(j)));
    for (; j < d; j++) store<f32>(dst + off4(j), load<f32>(src + off4(j)));
  }
}

/**
 * Scatter-add: dtable[idx[i], 0:d] += dy[i, 0:d] for i < m, in order, so repeated indices sum.
 * Always accumulates (there is no beta: the caller zeroes dtable, or accumulates across heads).
 * idx: i32 [m]; dy rows start at dy_ptr + 4·i·ld_dy (ld_dy ≥ d); dtable: [v, d]. dtable must not
 * overlap dy.
 */
export function embed_bwd_f32x4(m: i32, d: i32, idx_ptr: usize, dy_ptr: usize, ld_dy: i32, dtable_ptr: usize): void {
  for (let i = 0; i < m; i++) {
    const dst = dtable_ptr + off4(load<i32>(idx_ptr + off4(i)) * d);
    const src = dy_ptr + off4(i * ld_dy);
    let j = 0;
    for (; j + 4 <= d; j += 4) v128.store(dst + off4(j), f32x4.add(v128.load(dst + off4(j)), v128.load(src + off4(j))));
    for (; j < d; j++) store<f32>(dst + off4(j), load<f32>(dst + off4(j)) + load<f32>(src + off4(j)));
  }
}
