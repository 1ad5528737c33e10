// Bundle entry for Node and Deno (out/runtimes/scenario.inline.mjs): the scenario plus the inline-wasm loader.
// onnxruntime-web stays external: each runtime's driver imports and passes it.
export { runScenario, formatLine, sha256Hex } from "./scenario.ts";
export type { ScenarioResult, ScenarioOptions } from "./scenario.ts";
export { loadInlineKernels } from "../../src/entry/inline.ts";
export { dmathFingerprint } from "./dmath-fingerprint.ts";
export { runStreamScenario, formatStreamLine, STREAM, streamSpecInput } from "./stream-scenario.ts";
export { fromReadableStream } from "../../src/data/source.ts";
