// Run an exported ONNX model's bytes on both engines the page offers: our kernels executing the ONNX graph
// (engine "mtl") and onnxruntime-web (engine "ort", one thread), with their largest absolute difference. A text
// model's rows go in as raw strings (session.run encodes them with the vocabulary in the model's metadata).
import * as ort from "onnxruntime-web/wasm";
import { loadInlineKernels } from "../../src/entry/inline.ts";
import { createSession } from "../../src/infer/session.ts";
import type { Probe } from "./protocol.ts";

export interface BothRuns {
  mtl: Record<string, Float32Array>;
  /** null when onnxruntime-web could not start (the page says so). */
  ort: Record<string, Float32Array> | null;
  maxDiff: number | null;
}

/** Run `probe` (tokens: its texts as rows { tokens: text }, encoded with the model's vocabulary) on both engines. */
export async function runBoth(bytes: Uint8Array, probe: Probe): Promise<BothRuns> {
  const feeds = probe.input === "tokens" ? probe.texts!.map((text) => ({ tokens: text })) : { [probe.input]: { type: "float32" as const, data: probe.data, dims: [probe.rows, probe.width] } };
  const mtl = await (await createSession(bytes, { engine: "mtl", kernels: await loadInlineKernels() })).run(feeds);
  ort.env.wasm.numThreads = 1;
  let viaOrt: Record<string, Float32Array> | null = null;
  try {
    viaOrt = await (await createSession(bytes, { engine: "ort", ort: ort as unknown as typeof import("onnxruntime-web") })).run(feeds);
  } catch (e) {
    console.warn("onnxruntime-web unavailable:", e);
  }
  let maxDiff = 0;
  if (viaOrt) for (const k of Object.keys(mtl)) mtl[k].forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - viaOrt![k][i]))));
  return { mtl, ort: viaOrt, maxDiff: viaOrt ? maxDiff : null };
}
