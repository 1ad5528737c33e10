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
