// Bundle entry for Chromium (out/runtimes/browser/app.mjs): the same file runs in the page and, started with
// new Worker(import.meta.url), in a dedicated Web Worker. The kernels are inlined; ORT is onnxruntime-web/wasm,
// whose ort-wasm-simd-threaded.wasm the driver copies next to this bundle.
//
// The worker answers three messages: "run" (the runtime scenario), "stream" (the streaming scenario from a File,
// test/runtimes/stream-scenario.ts, its epochs also parsed on a nested worker) and "parallel" (the data-parallel scenario:
// this worker coordinates, blocking in Atomics.wait, which a page may not do, and a nested dedicated worker,
// parallel-worker.mjs beside this bundle, computes the second shard). Parallel training needs the page to be
// cross-origin isolated (SharedArrayBuffer); without it the scenario reports its single-thread fallback.
import * as ort from "onnxruntime-web/wasm";
import wasm from "../../build/mtl.wasm";
import { loadInlineKernels } from "../../src/entry/inline.ts";
import { canRunParallel } from "../../src/train/parallel.ts";
import { runScenario, formatLine, type ScenarioResult } from "./scenario.ts";
import { runParallelScenario, formatParallelLine, type ParallelScenarioResult } from "./parallel-scenario.ts";
import { runStreamScenario, formatStreamLine, STREAM, streamSpecInput, type StreamScenarioResult } from "./stream-scenario.ts";
import { fromReadableStream } from "../../src/data/source.ts";

type Reply = { ok: true; line: string; result: Omit<ScenarioResult, "onnx"> } | { ok: false; error: string };
type ParallelReply =
  | { ok: true; line: string; result: ParallelScenarioResult; pageIsolated?: boolean; pageCanRunParallel?: boolean }
  | { ok: false; error: string; pageIsolated?: boolean; pageCanRunParallel?: boolean };

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

async function runParallel(where: string): Promise<ParallelReply> {
  try {
    const module = await WebAssembly.compile(wasm as Uint8Array<ArrayBuffer>);
    const entry = new URL("./parallel-worker.mjs", import.meta.url);
    const r = await runParallelScenario({ module, spawn: () => new Worker(entry, { type: "module" }) });
    return { ok: true, line: formatParallelLine(where, r), result: r };
  } catch (e) {
    return { ok: false, error: String((e as Error)?.stack ?? e) };
  }
}

type StreamReply = { ok: true; line: string; result: StreamScenarioResult & { scenario: unknown } } | { ok: false; error: string };

/** The streaming scenario from a File (file.stream() per pass), its epochs also parsed on a nested Web Worker. */
async function runStream(where: string): Promise<StreamReply> {
  try {
    const entry = new URL("./parallel-worker.mjs", import.meta.url);
    const r = await runStreamScenario({
      kernels: loadInlineKernels,
      open: (name, text) => {
        const file = new File([text], name, { type: "text/csv" });
        return () => fromReadableStream(file.name, file.stream());
      },
      spawn: () => new Worker(entry, { type: "module" }),
    });
    return { ok: true, line: formatStreamLine(where, r), result: { ...r, scenario: { ...STREAM, spec: streamSpecInput() } } };
  } catch (e) {
    return { ok: false, error: String((e as Error)?.stack ?? e) };
  }
}

/** Run a job in a fresh dedicated worker (this bundle) and resolve with its reply. */
function inWorker<R>(job: string): Promise<R | { ok: false; error: string }> {
  return new Promise((resolve) => {
    const w = new Worker(import.meta.url, { type: "module" });
    w.onmessage = (e) => (resolve(e.data as R), w.terminate());
    w.onerror = (e) => (resolve({ ok: false, error: `worker error: ${e.message}` }), w.terminate());
    w.postMessage(job);
  });
}

const g = globalThis as unknown as Record<string, unknown> & { document?: unknown; postMessage: (m: unknown) => void; onmessage: unknown };
if (typeof g.document === "undefined") {
  // Dedicated worker: run once per message, reply with the result.
  g.onmessage = async (e: MessageEvent) => g.postMessage(e.data === "parallel" ? await runParallel("chromium-worker-parallel") : e.data === "stream" ? await runStream("chromium-worker-stream") : await run("chromium-worker"));
} else {
  g.__runPage = () => run("chromium-page");
  g.__runWorker = () => inWorker<Reply>("run");
  g.__runPageStream = () => runStream("chromium-page-stream");
  g.__runWorkerStream = () => inWorker<StreamReply>("stream");
  g.__runWorkerParallel = async () => ({ ...(await inWorker<ParallelReply>("parallel")), pageIsolated: globalThis.crossOriginIsolated === true, pageCanRunParallel: canRunParallel() });
  g.__ready = true;
}
