// The single asc entry of build/mtl.wasm: re-exports every kernel family. Zero imports: asconfig sets
// `use: abort=` so a failed assert is a trap, and the stub runtime has no GC to import.
import { ABI_VERSION } from "./abi";

/** Version of the kernel ABI; src/runtime/abi.ts must match. */
export function abi_version(): i32 {
  return ABI_VERSION;
}

/** First byte address free for the host's arena (after static data), 16-byte aligned. */
export function heap_base(): usize {
  return (__heap_base + 15) & ~(<usize>15);
}

export * from "./kernels/dense";
export * from "./kernels/act";
export * from "./kernels/softmax";
export * from "./kernels/norm";
export * from "./kernels/rng";
export * from "./kernels/embed";
export * from "./kernels/seq";
export * from "./kernels/gru";
export * from "./kernels/gate";
export * from "./kernels/dselect";
export * from "./kernels/stitch";
export * from "./kernels/tensor";
export * from "./kernels/loss";
export * from "./kernels/relation";
export * from "./kernels/optim";
export * from "./kernels/blas1";
export * from "./kernels/linalg";
export * from "./kernels/conv";
export * from "./kernels/pool";
export * from "./kernels/batchnorm";
export * from "./kernels/funnel";
export * from "./kernels/periodic";
