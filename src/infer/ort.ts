// The only importer of onnxruntime-web. The caller may hand in the `ort` namespace it configured itself
// (wasmPaths, a precompiled module for workers); otherwise it is imported from node_modules, which in Node
// reads ORT's wasm from disk next to the package (no network).
import type { InputTensor } from "./rows.ts";

type Ort = typeof import("onnxruntime-web");

export interface OrtRunner {
  run(feeds: Record<string, InputTensor>): Promise<Record<string, Float32Array>>;
  inputNames: readonly string[];
  outputNames: readonly string[];
  /** Release onnxruntime-web's session. */
  dispose(): Promise<void>;
}

export async function createOrtRunner(bytes: Uint8Array, opts: { ort?: Ort; threads?: number } = {}): Promise<OrtRunner> {
  const ort: Ort = opts.ort ?? (await import("onnxruntime-web"));
  ort.env.wasm.numThreads = opts.threads ?? 1;
  ort.env.logLevel = "error";
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    async run(feeds) {
      const t: Record<string, InstanceType<Ort["Tensor"]>> = {};
      for (const [k, v] of Object.entries(feeds)) t[k] = new ort.Tensor(v.type, v.data, v.dims);
      const out = await session.run(t);
      const res: Record<string, Float32Array> = {};
      for (const name of session.outputNames) res[name] = (out[name].data as Float32Array).slice();
      return res;
    },
    dispose: () => session.release(),
  };
}
