// Deno driver body: run by tools/runtimes.mjs as
//   deno run --allow-read --allow-env --node-modules-dir=manual test/runtimes/deno-main.mjs
// onnxruntime-web comes from the npm-installed node_modules (no network); the scenario bundle inlines build/mtl.wasm.
// Then the data-parallel scenario (out/runtimes/parallel.mjs): this main thread coordinates (Deno's main thread
// may Atomics.wait) and one Deno worker (out/runtimes/parallel-worker.mjs) computes the second shard.
// Lines: RESULT/ERROR for the scenario, PRESULT/PERROR for the parallel one; exit 1 if either failed.
import * as ort from "onnxruntime-web";
import { runScenario, formatLine, loadInlineKernels } from "../../out/runtimes/scenario.inline.mjs";
import { runParallelScenario, formatParallelLine } from "../../out/runtimes/parallel.mjs";

// Deno's Web Worker, taken before ORT runs: its Emscripten glue replaces globalThis.Worker with node:worker_threads'
// Worker (through Deno's Node compatibility) when it starts up.
const WebWorker = globalThis.Worker;
let failed = false;
try {
  const r = await runScenario({ kernels: loadInlineKernels, ort });
  console.log(formatLine("deno", r));
  console.log("RESULT " + JSON.stringify({ ...r, onnx: undefined, deno: Deno.version.deno, v8: Deno.version.v8 }));
} catch (e) {
  console.log("ERROR " + JSON.stringify(String(e?.stack ?? e)));
  failed = true;
}

try {
  const module = await WebAssembly.compile(await Deno.readFile(new URL("../../build/mtl.wasm", import.meta.url)));
  const worker = new URL("../../out/runtimes/parallel-worker.mjs", import.meta.url).href;
  const r = await runParallelScenario({ module, spawn: () => new WebWorker(worker, { type: "module" }) });
  console.log(formatParallelLine("deno-parallel", r));
  console.log("PRESULT " + JSON.stringify(r));
} catch (e) {
  console.log("PERROR " + JSON.stringify(String(e?.stack ?? e)));
  failed = true;
}
if (failed) Deno.exit(1);
