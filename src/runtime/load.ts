// Loading build/mtl.wasm: the caller hands in the module, bytes or a Response it fetched itself.
// This file never fetches and never touches the file system, so it runs unchanged in Node, Deno,
// browsers and workers (where only a precompiled WebAssembly.Module is allowed).
import { ABI_VERSION } from "./abi.ts";

/** Every kernel takes and returns plain numbers (i32 dims, byte addresses, f32/f64 scalars). */
export type KernelFn = (...args: number[]) => number;

/** The instantiated artifact: kernels by name plus its memory. */
export interface Kernels {
  /** The instance's linear memory (the Arena allocates in it). */
  readonly memory: WebAssembly.Memory;
  /** The artifact's ABI version (checked against ABI_VERSION at load). */
  abi_version(): number;
  /** First byte address above the artifact's static data: where allocation starts. */
  heap_base(): number;
  readonly [name: string]: KernelFn | WebAssembly.Memory;
}

/** What `loadKernels` accepts. */
export type WasmSource = WebAssembly.Module | ArrayBuffer | ArrayBufferView | Response | PromiseLike<Response>;

function isModule(x: unknown): x is WebAssembly.Module {
  // A Module made in another realm (edge-runtime's VM context) fails `instanceof`, so compare tags.
  return Object.prototype.toString.call(x) === "[object WebAssembly.Module]";
}

function isResponse(x: unknown): x is Response {
  return typeof x === "object" && x !== null && typeof (x as Response).arrayBuffer === "function" && "status" in x;
}

async function toModule(source: WasmSource): Promise<WebAssembly.Module> {
  if (isModule(source)) return source;
  let s: unknown = await source;
  if (isResponse(s)) {
    if (!s.ok) throw new Error(`mtl.wasm: the Response has HTTP status ${s.status}; expected 200`);
    s = await s.arrayBuffer();
  }
  if (s instanceof ArrayBuffer || ArrayBuffer.isView(s)) {
    const bytes = s instanceof ArrayBuffer ? new Uint8Array(s) : new Uint8Array(s.buffer, s.byteOffset, s.byteLength);
    if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
      throw new Error(`mtl.wasm: the ${bytes.length} bytes given are not a WebAssembly module (no \\0asm header)`);
    }
    return WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
  }
  throw new TypeError("mtl.wasm: expected a WebAssembly.Module, an ArrayBuffer, a typed array or a Response");
}

/**
 * Instantiate the kernel artifact and check its ABI.
 * @param source a compiled module (workers), the .wasm bytes, or a Response the caller fetched.
 * @param required kernel names the caller will use; a missing one is an error here, not a trap later.
 */
export async function loadKernels(source: WasmSource, required: readonly string[] = []): Promise<Kernels> {
  const module = await toModule(source);
  const imports = WebAssembly.Module.imports(module);
  if (imports.length) {
    throw new Error(`mtl.wasm: expected a module with zero imports, found ${imports.map((i) => `${i.module}.${i.name}`).join(", ")}`);
  }
  const instance = await WebAssembly.instantiate(module, {});
  const ex = instance.exports as Record<string, unknown>;
  if (typeof ex.abi_version !== "function" || !(ex.memory instanceof WebAssembly.Memory || ex.memory)) {
    throw new Error("mtl.wasm: the module does not export abi_version() and memory; is it build/mtl.wasm?");
  }
  const abi = (ex.abi_version as () => number)();
  if (abi !== ABI_VERSION) {
    throw new Error(`mtl.wasm: ABI version ${abi}, but this library expects ${ABI_VERSION}; rebuild with npm run build`);
  }
  const missing = required.filter((name) => typeof ex[name] !== "function");
  if (missing.length) throw new Error(`mtl.wasm: missing kernel export(s): ${missing.join(", ")}`);
  const heapBase = ex.heap_base as () => number;
  return Object.assign(Object.create(null), ex, { heap_base: () => heapBase() >>> 0 }) as Kernels;
}
