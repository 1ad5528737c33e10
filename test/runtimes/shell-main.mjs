// Driver for the JavaScript shells, run by tools/runtimes.mjs as
//   jsc -m test/runtimes/shell-main.mjs            (JavaScriptCore, Safari's engine)
//   js102 --module test/runtimes/shell-main.mjs    (SpiderMonkey 102, Firefox ESR 102's engine)
// It loads the shim for the host APIs the shells lack (out/runtimes/shell-shim.mjs: console, TextEncoder,
// crypto.subtle.digest; only where missing), then the same inline bundle Node and Deno run
// (out/runtimes/scenario.inline.mjs, build/mtl.wasm inlined). No onnxruntime-web: it needs fetch/workers, which the
// shells lack, so ORT is skipped and the mtl engine runs the export. It also reports src/util/dmath.ts's
// fingerprint (test/runtimes/dmath-fingerprint.ts), which must equal Node's. Lines: RESULT {json} or ERROR "message".
import { shimmed } from "../../out/runtimes/shell-shim.mjs";
import { runScenario, formatLine, loadInlineKernels, dmathFingerprint } from "../../out/runtimes/scenario.inline.mjs";

const engine = typeof globalThis.scriptArgs !== "undefined" ? "spidermonkey" : "jsc";
try {
  const r = await runScenario({ kernels: loadInlineKernels, ort: null });
  console.log(formatLine(engine, r));
  const dmath = await dmathFingerprint();
  console.log("RESULT " + JSON.stringify({ ...r, onnx: undefined, engine, shimmed, dmath }));
} catch (e) {
  console.log("ERROR " + JSON.stringify(String(e?.stack ?? e)));
}
