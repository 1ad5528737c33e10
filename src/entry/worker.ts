/**
 * mtl-wasm for edge workers (workerd, Cloudflare Workers): the same API as `mtl-wasm` plus {@link loadWorkerKernels},
 * without the Parquet reader (format "parquet" is a named error here: convert to CSV or JSON lines).
 * The kernels come from `mtl.wasm` imported as a precompiled WebAssembly module (workers may not compile wasm from
 * bytes): deploy it beside the bundle. Resolved by the `workerd` and `worker` export conditions, or as `mtl-wasm/worker`.
 * @module mtl-wasm/worker
 */
// Bundle entry for edge workers (workerd): the artifact is imported as a precompiled WebAssembly.Module,
// because compiling from bytes is forbidden there. The bundler leaves `./mtl.wasm` external; deploy it beside.
import wasm from "./mtl.wasm";
import { loadKernels, type Kernels } from "../runtime/load.ts";
import { provideKernels } from "../api/train.ts";

export * from "../core.ts";

/** Instantiate the module-imported build/mtl.wasm. */
export function loadWorkerKernels(): Promise<Kernels> {
  return loadKernels(wasm as WebAssembly.Module);
}

// train() without { kernels } uses the imported module (or pass { kernels: aWebAssemblyModule }); nothing is fetched.
provideKernels(loadWorkerKernels);
