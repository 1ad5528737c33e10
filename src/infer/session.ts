// createSession: one inference API over two engines. `ort` runs the ONNX model with onnxruntime-web;
// `mtl` runs it with our own kernels (build/mtl.wasm), for places where ORT's 14 MB wasm does not fit or
// cannot compile (Cloudflare workers). Both take raw rows (encoded with the vocabularies stored in the
// model) or ready tensors, and return { [task]: Float32Array } (row-major [N, width]).
import { loadKernels, type Kernels, type WasmSource } from "../runtime/load.ts";
import { DataType, decodeModel, type GraphProto } from "../onnx/model.ts";
import { encodeRows, modelMeta, type InputTensor, type ModelMeta, type Row } from "./rows.ts";
import { createOrtRunner } from "./ort.ts";
import { MtlRunner } from "./runner.ts";

export type Engine = "ort" | "mtl";

export interface SessionOptions {
  engine?: Engine;
  /** mtl engine: the kernel artifact as a compiled module (workers), bytes or a Response; or loaded kernels. */
  wasm?: WasmSource;
  kernels?: Kernels;
  /** ort engine: the onnxruntime-web namespace, configured by the caller (default: imported). */
  ort?: typeof import("onnxruntime-web");
  /** Name used in error messages. */
  name?: string;
}

export interface Session {
  readonly engine: Engine;
  /** mtl-wasm metadata (spec, preprocessing, input columns), or null for a foreign ONNX model. */
  readonly meta: ModelMeta | null;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Rows (objects keyed by column) or named tensors. */
  run(input: readonly Row[] | Record<string, InputTensor>): Promise<Record<string, Float32Array>>;
  /** Release the session's memory (the mtl engine's plans and weights, or onnxruntime-web's session). Idempotent. */
  dispose(): Promise<void>;
}

export async function createSession(model: Uint8Array, opts: SessionOptions = {}): Promise<Session> {
  const engine = opts.engine ?? "ort";
  const name = opts.name ?? "model.onnx";
  const proto = decodeModel(model); // clear errors for corrupt or truncated bytes, before any engine sees them
  const meta = proto.metadataProps.some((e) => e.key === "mtl.format") ? modelMeta(proto, name) : null;
  let runner: { run(f: Record<string, InputTensor>): Promise<Record<string, Float32Array>> | Record<string, Float32Array>; inputNames: readonly string[]; outputNames: readonly string[]; dispose(): unknown };
  if (engine === "ort") runner = await createOrtRunner(model, { ort: opts.ort });
  else if (engine === "mtl") {
    const kernels = opts.kernels ?? (opts.wasm ? await loadKernels(opts.wasm) : null);
    if (!kernels) throw new Error(`createSession(${name}): the mtl engine needs the kernel artifact: pass { wasm } (a WebAssembly.Module, bytes or a Response) or { kernels }`);
    runner = MtlRunner.create(model, kernels, name);
  } else throw new Error(`createSession(${name}): engine must be "ort" or "mtl", not ${JSON.stringify(engine)}`);
  const check = feedChecker(proto.graph, runner.inputNames, name);
  let disposed = false;
  return {
    engine,
    meta,
    inputNames: runner.inputNames,
    outputNames: runner.outputNames,
    async run(input) {
      let feeds: Record<string, InputTensor>;
      if (Array.isArray(input)) {
        if (!meta) throw new Error(`${name}: rows need an mtl-wasm export (vocabularies in its metadata); pass tensors for other models`);
        feeds = encodeRows(meta, input as readonly Row[]);
      } else feeds = input as Record<string, InputTensor>;
      if (disposed) throw new Error(`${name}: the session was disposed`);
      check(feeds);
      return runner.run(feeds);
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      await runner.dispose();
    },
  };
}

/**
 * Names, element types and shapes of the feeds against the graph's declared inputs (one batch size N for all).
 * The declarations are read once per session; error text is built only when a check fails.
 */
function feedChecker(graph: GraphProto, names: readonly string[], name: string): (feeds: Record<string, InputTensor>) => void {
  const decls = names.map((n) => {
    const decl = graph.input.find((v) => v.name === n)!;
    const type = decl.type?.elemType === DataType.INT64 ? "int64" : "float32";
    const dims = decl.type?.shape ?? [];
    return { n, type, dims, want: `${type} [${dims.map((d) => d ?? "?").join(", ")}]` };
  });
  const symbolic = decls.some((d) => d.dims.some((x) => typeof x === "string"));
  return (feeds) => {
    for (const n of Object.keys(feeds)) if (!names.includes(n)) throw new Error(`${name}: unknown input ${JSON.stringify(n)}; inputs are ${names.join(", ")}`);
    const symbols = symbolic ? new Map<string, number>() : null;
    for (const { n, type, dims, want } of decls) {
      const f = feeds[n];
      if (!f) throw new Error(`${name}: missing input ${JSON.stringify(n)} (${want}); inputs are ${names.join(", ")}`);
      if (f.type !== type) throw new Error(`${name}: input ${JSON.stringify(n)} is ${f.type}, expected ${want}`);
      let expected = 1;
      for (let i = 0; i < f.dims.length; i++) expected *= f.dims[i];
      let ok = f.dims.length === dims.length && expected === f.data.length;
      for (let i = 0; ok && i < dims.length; i++) {
        const d = dims[i];
        if (typeof d === "number") ok = d === f.dims[i];
        else if (typeof d === "string") {
          const seen = symbols!.get(d);
          if (seen === undefined) symbols!.set(d, f.dims[i]);
          ok = seen === undefined || seen === f.dims[i];
        }
      }
      if (!ok) throw new Error(`${name}: input ${JSON.stringify(n)} has shape [${f.dims}] with ${f.data.length} values, expected ${want}${symbols?.size ? ` (${[...symbols].map(([s, v]) => `${s} = ${v}`).join(", ")})` : ""}`);
    }
  };
}
