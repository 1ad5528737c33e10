// Inline SIMD helpers shared by kernels. No exports reach the artifact from here.

/** Sum of the four f32 lanes of v. */
// @ts-ignore: decorator
@inline export function hsum_f32x4(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

/** Largest of the four f32 lanes of v. */
// @ts-ignore: decorator
@inline export function hmax_f32x4(v: v128): f32 {
  return max(max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)), max(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
}

/** Byte offset of element i of an f32/i32 array. */
// @ts-ignore: decorator
@inline export function off4(i: i32): usize {
  return <usize>i << 2;
}
