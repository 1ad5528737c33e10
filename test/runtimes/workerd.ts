// Bundle entry for workerd (out/runtimes/workerd/worker.mjs). Compiling wasm from bytes is forbidden there, so
// both wasm files arrive as precompiled modules (see workerd.capnp): build/mtl.wasm through src/entry/worker.ts,
// and ORT's wasm here, handed to ORT by a WebAssembly.instantiate shim that answers ORT's placeholder binary.
import ortModule from "./ort-wasm-simd-threaded.wasm";
import * as ort from "onnxruntime-web/wasm";
import { loadWorkerKernels } from "../../src/entry/worker.ts";
import mtlModule from "./mtl.wasm";
import { canRunParallel } from "../../src/train/parallel.ts";
import { runScenario, formatLine } from "./scenario.ts";
import { runParallelScenario } from "./parallel-scenario.ts";

const PLACEHOLDER = Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x6d, 0x74, 0x6c, 0x21); // "\0asm" "mtl!": never compiled
const original = WebAssembly.instantiate.bind(WebAssembly);
const isPlaceholder = (x: unknown) => {
  const b = x instanceof ArrayBuffer ? new Uint8Array(x) : ArrayBuffer.isView(x) ? new Uint8Array(x.buffer, x.byteOffset, x.byteLength) : null;
  return !!b && b.length === PLACEHOLDER.length && b.every((v, i) => v === PLACEHOLDER[i]);
};
(WebAssembly as { instantiate: unknown }).instantiate = (source: unknown, imports?: WebAssembly.Imports) =>
  isPlaceholder(source)
    ? original(ortModule as WebAssembly.Module, imports).then((instance) => ({ module: ortModule as WebAssembly.Module, instance }))
    : original(source as WebAssembly.Module, imports);
ort.env.wasm.wasmBinary = PLACEHOLDER;
ort.env.wasm.numThreads = 1;

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/parallel") return parallel();
    if (url.pathname !== "/run") return new Response("GET /run runs the scenario, GET /parallel the data-parallel one\n", { status: 404 });
    try {
      const engines = url.searchParams.get("ort") === "0" ? null : (ort as unknown as typeof import("onnxruntime-web"));
      const r = await runScenario({ kernels: loadWorkerKernels, ort: engines });
      const { onnx: _, ...result } = r;
      return Response.json({ ok: true, line: formatLine("workerd", r), result });
    } catch (e) {
      return Response.json({ ok: false, error: String((e as Error)?.stack ?? e) }, { status: 500 });
    }
  },
};

/**
 * Data-parallel training where there are no threads: workerd has no Worker, so the scenario must take the
 * single-thread path (what an app does when canRunParallel() is false or it cannot spawn workers).
 */
async function parallel(): Promise<Response> {
  const hasWorker = typeof (globalThis as { Worker?: unknown }).Worker === "function";
  const can = canRunParallel();
  try {
    const spawn = hasWorker ? () => new (globalThis as unknown as { Worker: new (u: string) => { postMessage(m: unknown): void; terminate(): unknown } }).Worker("parallel-worker.mjs") : null;
    const r = await runParallelScenario({ module: mtlModule as WebAssembly.Module, spawn });
    const line = r.parallel
      ? `runtime=workerd-parallel threads=${r.threads} maxRelDiff=${r.maxRelDiff.toExponential(1)} single=${r.singleSha256.slice(0, 16)} ms=${r.ms}`
      : `runtime=workerd-parallel skipped=1 reason=no-workers canRunParallel=${can} Worker=${hasWorker} SharedArrayBuffer=${typeof SharedArrayBuffer !== "undefined"} threads=1 single=${r.singleSha256.slice(0, 16)} ms=${r.ms}`;
    return Response.json({ ok: true, line, result: r, hasWorker, canRunParallel: can });
  } catch (e) {
    return Response.json({ ok: false, error: String((e as Error)?.stack ?? e), hasWorker, canRunParallel: can }, { status: 500 });
  }
}
