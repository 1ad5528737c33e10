// Strided column-block copies: concat and slice along the feature (last) dimension.
import { off4 } from "../simd";

/**
 * dst[i, 0:n] = beta·dst[i, 0:n] + src[i, 0:n] for i < m, where row i of src starts at
 * src_ptr + 4·i·ld_src and row i of dst at dst_ptr + 4·i·ld_dst (ld_* in elements, ≥ n).
 * beta == 0 is a pure copy (dst is not read, NaN garbage is fine); beta == 1 accumulates.
 *
 * Concat along features: forward is one call per part k with src = part k ([m, n_k], ld_src = n_k) and
 * dst = out + 4·col_k (ld_dst = total width), beta 0; its backward for part k is the slice below.
 * Slice of columns [col, col + n): forward is one call with src = in + 4·col (ld_src = input width),
 * dst = out ([m, n], ld_dst = n); its backward is the same call with the roles swapped (src = dy of the
 * slice, dst = dx + 4·col) and beta 0 or 1 as the gradient requires. Column offsets need not be 16-byte
 * aligned. src and dst must be the same buffer (identical rows, in-place scale-and-add) or not overlap.
 */
export function cols_copy_f32x4(m: i32, n: i32, src_ptr: usize, ld_src: i32, dst_ptr: usize, ld_dst: i32, beta: f32): void {
  if (n <= 0) return;
  if (beta == 0 && ld_src == n && ld_dst == n) {
    // both contiguous: one flat copy
    memory.copy(dst_ptr, src_ptr, off4(m * n));
    return;
  }
  const bv = f32x4.splat(beta);
  for (let i = 0; i < m; i++) {
    const s = src_ptr + off4(i * ld_src);
    const d = dst_ptr + off4(i * ld_dst);
    let j = 0;
    if (beta == 0) {
      for (; j + 4 <= n; j += 4) v128.store(d + off4(j), v128.load(s + off4(j)));
      for (; j < n; j++) store<f32>(d + off4(j), load<f32>(s + off4(j)));
    } else if (beta == 1) {
      for (; j + 4 <= n; j += 4) v128.store(d + off4(j), f32x4.add(v128.load(d + off4(j)), v128.load(s + off4(j))));
      for (; j < n; j++) store<f32>(d + off4(j), load<f32>(d + off4(j)) + load<f32>(s + off4(j)));
    } else {
      for (; j + 4 <= n; j += 4) {
        v128.store(d + off4(j), f32x4.add(f32x4.mul(v128.load(d + off4(j)), bv), v128.load(s + off4(j))));
      }
      for (; j < n; j++) store<f32>(d + off4(j), beta * load<f32>(d + off4(j)) + load<f32>(s + off4(j)));
    }
  }
}
