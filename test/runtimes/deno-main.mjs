// Deno driver body: run by tools/runtimes.mjs as
//   deno run --allow-read --allow-env --node-modules-dir=manual test/runtimes/deno-main.mjs
// onnxruntime-web comes from the npm-installed node_modules (no network); the scenario bundle inlines build/mtl.wasm.
import * as ort from "onnxruntime-web";
import { runScenario, formatLine, loadInlineKernels } from "../../out/runtimes/scenario.inline.mjs";

try {
  const r = await runScenario({ kernels: loadInlineKernels, ort });
  console.log(formatLine("deno", r));
  console.log("RESULT " + JSON.stringify({ ...r, onnx: undefined, deno: Deno.version.deno, v8: Deno.version.v8 }));
} catch (e) {
  console.log("ERROR " + JSON.stringify(String(e?.stack ?? e)));
  Deno.exit(1);
}
