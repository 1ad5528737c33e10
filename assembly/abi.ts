// The ABI between build/mtl.wasm and src/. Bump ABI_VERSION whenever a kernel's name, argument list or
// meaning changes; the TS loader refuses a module whose abi_version() differs from src/runtime/abi.ts.
//
// Conventions every kernel follows:
// - arguments: dims (i32, in elements), then read-only pointers, then written pointers, then scalars;
// - pointers are byte addresses (usize) of f32/i32 data, 16-byte aligned unless a kernel says otherwise;
// - matrices are row-major; a leading dimension, where taken, is in elements;
// - backward kernels take `beta`: 0 overwrites the gradient, 1 accumulates into it (gradients sum over heads);
// - no allocation, no globals written, no memory growth: a kernel is a pure function of its arguments.
export const ABI_VERSION: i32 = 2;

/**
 * Dims of a 2-D convolution over NCHW tensors (conv.ts), written by the host at a 4-byte aligned address
 * whose byte address is passed as `p_ptr`; every field an i32, in this order (offsets 0, 4, …, 64 bytes).
 * X [n, c_in, h, w], W [c_out, c_in, kh, kw], b [c_out], Y [n, c_out, h_out, w_out]. The host resolves
 * valid/same/explicit padding into the four explicit pads and computes
 *   h_out = ⌊(h + pad_top + pad_bottom − dil_h·(kh − 1) − 1) / stride_h⌋ + 1 (w_out likewise);
 * kernels check that relation (a mismatch traps) and use h_out/w_out as given.
 */
@unmanaged
export class Conv2dParams {
  n: i32;
  c_in: i32;
  h: i32;
  w: i32;
  c_out: i32;
  kh: i32;
  kw: i32;
  stride_h: i32;
  stride_w: i32;
  pad_top: i32;
  pad_left: i32;
  pad_bottom: i32;
  pad_right: i32;
  dil_h: i32;
  dil_w: i32;
  h_out: i32;
  w_out: i32;
}

/**
 * Dims of a 2-D pooling over NCHW tensors (pool.ts), passed like Conv2dParams (16 i32, 64 bytes).
 * X [n, c, h, w], Y [n, c, h_out, w_out]; h_out as for Conv2dParams. Global pooling is kh = h, kw = w,
 * stride 1, no padding (h_out = w_out = 1).
 */
@unmanaged
export class Pool2dParams {
  n: i32;
  c: i32;
  h: i32;
  w: i32;
  kh: i32;
  kw: i32;
  stride_h: i32;
  stride_w: i32;
  pad_top: i32;
  pad_left: i32;
  pad_bottom: i32;
  pad_right: i32;
  dil_h: i32;
  dil_w: i32;
  h_out: i32;
  w_out: i32;
}
