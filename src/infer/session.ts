// createSession: one inference API over two engines. `ort` runs the ONNX model with onnxruntime-web;
// `mtl` runs it with our own kernels (build/mtl.wasm), for places where ORT's 14 MB wasm does not fit or
// cannot compile (Cloudflare workers). Both take raw rows (encoded with the vocabularies stored in the
// model) or ready tensors, and return { [task]: Float32Array } (row-major [N, width]).
import { loadKernels, type Kernels, type WasmSource } from "../runtime/load.ts";
import { decodeModel, type ModelProto } from "../onnx/model.ts";
import { OnnxDecodeError } from "../onnx/proto.ts";
import { encodeRows, modelMeta, type EncodeOptions, type InputTensor, type ModelMeta, type Row } from "./rows.ts";
import { checkRows, inputDecls, prepareFeeds, type RunTensor } from "./feeds.ts";
import { createOrtRunner } from "./ort.ts";
import { MtlRunner } from "./runner.ts";

/** Which engine runs the model: "ort" (onnxruntime-web) or "mtl" (this package's kernels, build/mtl.wasm). */
export type Engine = "ort" | "mtl";

/** Options of createSession. */
export interface SessionOptions {
  /** The engine; default "ort". Any other value throws. */
  engine?: Engine;
  /** mtl engine: the kernel artifact as a compiled module (workers), bytes or a Response; or loaded kernels. */
  wasm?: WasmSource;
  /** mtl engine: kernels already loaded (loadKernels), used instead of `wasm`; one of the two is required. */
  kernels?: Kernels;
  /** ort engine: the onnxruntime-web namespace, configured by the caller (default: imported). */
  ort?: typeof import("onnxruntime-web");
  /** Name used in error messages. */
  name?: string;
}

/**
 * A loaded model. `run` has one input contract, enforced before either engine sees the input (src/infer/feeds.ts),
 * so `ort` and `mtl` accept and refuse the same inputs with the same messages:
 *
 * - **Rows** (mtl-wasm exports only): an array of plain objects keyed by column, encoded with the vocabularies in
 *   the model (missing numeric cells → the training mean, unseen categories → index 0). Anything else in the array
 *   is an error (`row 1 is null, expected an object keyed by column`); rows for a model without mtl metadata are an
 *   error (pass tensors). Every input column must be a key of every row: a value of null (or "", or a missing
 *   token) is a missing value, but an absent key (or undefined) is an error naming the row, the column and the
 *   row's close keys (`row 1 has no column "age" (it has "Age": did you mean it?) ...`), unless the call passes
 *   `{ missing: "impute" }`, which reads absent columns as missing values.
 * - **Tensors**: an object with exactly the model's inputs (`inputNames`), each `{ type, data, dims }` with `type`
 *   the declared element type and `dims` non-negative integers matching the declared shape (one batch size N for
 *   all inputs), `product(dims) = data.length`. float32 inputs take a `Float32Array` only (a `Float64Array` or a
 *   `number[]` is refused rather than silently rounded); int64 inputs take a `BigInt64Array`, or, converted
 *   losslessly, an `Int32Array` or an array of integers (safe-integer numbers or bigints).
 * - **Index ranges**: categorical indices must lie in [0, vocabulary size + 1) (0 is unknown) and group indices in
 *   [0, number of groups), from the model's metadata; for a model without it, an int64 column that feeds an
 *   embedding table (Gather of an initializer) must lie in [0, table rows), and other int64 inputs are not checked.
 *   An index outside is an error: `input "categorical" row 3, column 1 ("size"): index -1 is outside [0, 4)`
 *   (rows counted from 1, columns of the tensor from 0).
 * - **NaN / ±Infinity** in a float input are not errors: they go through the graph unchanged (a row with a NaN
 *   input gets NaN outputs), identically in both engines.
 * - **An empty batch** (N = 0, or `run([])`) returns a `Float32Array(0)` per output without running an engine.
 * - Anything else (null or a non-object input, a missing, unknown or non-tensor input, a wrong type, data kind or
 *   shape) is an Error naming the input and its expected type and shape, e.g.
 *   `input "numeric" is a Float64Array, expected float32 [N, 3] as a Float32Array`.
 *
 * Every error message starts with the session's name (`opts.name`, default "model.onnx").
 */
export interface Session {
  /** The engine that runs the model. */
  readonly engine: Engine;
  /** mtl-wasm metadata (spec, preprocessing, input columns), or null for a foreign ONNX model. */
  readonly meta: ModelMeta | null;
  /** The graph's inputs in declaration order: the keys a tensor input must have (e.g. numeric, categorical). */
  readonly inputNames: readonly string[];
  /** The graph's outputs in order (one per task for mtl-wasm exports): the keys of run()'s result. */
  readonly outputNames: readonly string[];
  /**
   * Rows (objects keyed by column) or named tensors; returns { [output]: Float32Array } (row-major [N, width]). See
   * the contract above; `opts.missing` applies to rows (EncodeOptions).
   */
  run(input: readonly Row[] | Record<string, RunTensor>, opts?: RunOptions): Promise<Record<string, Float32Array>>;
  /** Release the session's memory (the mtl engine's plans and weights, or onnxruntime-web's session). Idempotent. */
  dispose(): Promise<void>;
}

/** Options of one run: how rows lacking an input column are read (src/infer/rows.ts, EncodeOptions). */
export type RunOptions = EncodeOptions;

/**
 * Load ONNX bytes into a Session on `opts.engine` (default "ort"). Throws, naming the model (`opts.name`), when the
 * bytes are not a decodable ONNX model, its mtl metadata is corrupt, the engine is unknown or the mtl engine has no
 * kernels; an engine's own refusal of the graph is rethrown as it comes.
 */
export async function createSession(model: Uint8Array, opts: SessionOptions = {}): Promise<Session> {
  const engine = opts.engine ?? "ort";
  const name = opts.name ?? "model.onnx";
  let proto: ModelProto;
  try {
    proto = decodeModel(model); // clear errors for corrupt or truncated bytes, before any engine sees them
  } catch (e) {
    if (e instanceof OnnxDecodeError) e.message = `${name}: ${e.message}`;
    throw e;
  }
  const meta = proto.metadataProps.some((e) => e.key === "mtl.format") ? modelMeta(proto, name) : null;
  let runner: { run(f: Record<string, InputTensor>): Promise<Record<string, Float32Array>> | Record<string, Float32Array>; inputNames: readonly string[]; outputNames: readonly string[]; dispose(): unknown };
  if (engine === "ort") runner = await createOrtRunner(model, { ort: opts.ort });
  else if (engine === "mtl") {
    const kernels = opts.kernels ?? (opts.wasm ? await loadKernels(opts.wasm) : null);
    if (!kernels) throw new Error(`createSession(${name}): the mtl engine needs the kernel artifact: pass { wasm } (a WebAssembly.Module, bytes or a Response) or { kernels }`);
    // A text model's symbolic token length runs at inputs.tokens.max_length (what rows are encoded to).
    runner = MtlRunner.create(model, kernels, name, meta?.pre.tokens ? { L: meta.pre.tokens.max_length } : {});
  } else throw new Error(`createSession(${name}): engine must be "ort" or "mtl", not ${JSON.stringify(engine)}`);
  const decls = inputDecls(proto.graph, runner.inputNames, meta);
  let disposed = false;
  return {
    engine,
    meta,
    inputNames: runner.inputNames,
    outputNames: runner.outputNames,
    async run(input, opts = {}) {
      if (disposed) throw new Error(`${name}: the session was disposed`);
      let tensors: unknown = input;
      if (Array.isArray(input)) {
        if (!meta) throw new Error(`${name}: rows need an mtl-wasm export (vocabularies in its metadata); pass tensors for other models`);
        checkRows(input, name);
        try {
          tensors = encodeRows(meta, input as readonly Row[], opts);
        } catch (e) {
          if (e instanceof Error && !e.message.startsWith(`${name}: `)) e.message = `${name}: ${e.message}`;
          throw e;
        }
      }
      const { feeds, batch } = prepareFeeds(decls, tensors, name);
      if (batch === 0) return Object.fromEntries(runner.outputNames.map((o) => [o, new Float32Array(0)]));
      return runner.run(feeds);
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      await runner.dispose();
    },
  };
}
