// Bundle entry for Node, Deno and browsers: the artifact's bytes are inlined by esbuild's binary loader.
import wasm from "../../build/mtl.wasm";
import { loadKernels, type Kernels } from "../runtime/load.ts";
import { provideKernels } from "../api/train.ts";

export * from "../index.ts";

/** Instantiate the inlined build/mtl.wasm (no file system, no network). */
export function loadInlineKernels(): Promise<Kernels> {
  return loadKernels(wasm as Uint8Array);
}

// train() without { kernels } uses the inlined artifact.
provideKernels(loadInlineKernels);
