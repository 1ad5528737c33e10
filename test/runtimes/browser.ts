// Bundle entry for Chromium (out/runtimes/browser/app.mjs): the same file runs in the page and, started with
// new Worker(import.meta.url), in a dedicated Web Worker. The kernels are inlined; ORT is onnxruntime-web/wasm,
// whose ort-wasm-simd-threaded.wasm the driver copies next to this bundle.
import * as ort from "onnxruntime-web/wasm";
import { loadInlineKernels } from "../../src/entry/inline.ts";
import { runScenario, formatLine, type ScenarioResult } from "./scenario.ts";

type Reply = { ok: true; line: string; result: Omit<ScenarioResult, "onnx"> } | { ok: false; error: string };

async function run(where: string): Promise<Reply> {
  try {
    ort.env.wasm.numThreads = 1;
    const r = await runScenario({ kernels: loadInlineKernels, ort: ort as unknown as typeof import("onnxruntime-web") });
    const { onnx: _, ...result } = r;
    return { ok: true, line: formatLine(where, r), result };
  } catch (e) {
    return { ok: false, error: String((e as Error)?.stack ?? e) };
  }
}

const g = globalThis as unknown as Record<string, unknown> & { document?: unknown; postMessage: (m: unknown) => void; onmessage: unknown };
if (typeof g.document === "undefined") {
  // Dedicated worker: run once per message, reply with the result.
  g.onmessage = async () => g.postMessage(await run("chromium-worker"));
} else {
  g.__runPage = () => run("chromium-page");
  g.__runWorker = () =>
    new Promise<Reply>((resolve) => {
      const w = new Worker(import.meta.url, { type: "module" });
      w.onmessage = (e) => (resolve(e.data as Reply), w.terminate());
      w.onerror = (e) => (resolve({ ok: false, error: `worker error: ${e.message}` }), w.terminate());
      w.postMessage("run");
    });
  g.__ready = true;
}
