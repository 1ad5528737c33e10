// The public entry of mtl-wasm. Nothing else is API.
export { loadKernels } from "./runtime/load.ts";
export type { Kernels, KernelFn, WasmSource } from "./runtime/load.ts";
export { Arena } from "./runtime/heap.ts";
export { ABI_VERSION } from "./runtime/abi.ts";
