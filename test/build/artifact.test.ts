// The shipped artifact: zero imports, the ABI the loader expects, SIMD in the hot kernels, a manifest
// that matches its exports. Decoded with binaryen (independent of our loader).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import binaryen from "binaryen";
import { WASM_PATH } from "../helpers.ts";
import { loadKernels } from "../../src/runtime/load.ts";
import { ABI_VERSION } from "../../src/runtime/abi.ts";

const bytes = readFileSync(WASM_PATH);
const mod = binaryen.readBinary(bytes);

/** Text of an exported function's body plus every function it calls, transitively. */
function bodyText(exportName: string): string {
  const seen = new Set<string>();
  const texts: string[] = [];
  const visit = (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    const text = binaryen.emitText(binaryen.getFunctionInfo(mod.getFunction(name)).body);
    texts.push(text);
    for (const m of text.matchAll(/\(call \$(\S+)/g)) visit(m[1]);
  };
  for (let i = 0; i < mod.getNumExports(); i++) {
    const info = binaryen.getExportInfo(mod.getExportByIndex(i));
    if (info.name === exportName && info.kind === binaryen.ExternalFunction) visit(info.value);
  }
  if (!texts.length) throw new Error(`build/mtl.wasm exports no function ${exportName}`);
  return texts.join("\n");
}

test("zero imports, and memory is exported", () => {
  const m = new WebAssembly.Module(bytes);
  assert.equal(WebAssembly.Module.imports(m), []);
  assert.ok(WebAssembly.Module.exports(m).some((e) => e.name === "memory" && e.kind === "memory"));
});

test("kernels keep no hidden state: no mutable globals", () => {
  for (let i = 0; i < mod.getNumGlobals(); i++) {
    const g = binaryen.getGlobalInfo(mod.getGlobalByIndex(i));
    assert.not.ok(g.mutable, `global ${g.name} is mutable`);
  }
});

test("abi_version() matches the loader", async () => {
  const k = await loadKernels(bytes);
  assert.is(k.abi_version(), ABI_VERSION);
  assert.is(k.heap_base() % 16, 0);
});

test("dense kernels multiply and add in f32x4", () => {
  for (const name of ["dense_fwd_f32x4", "dense_bwd_x_f32x4", "dense_bwd_w_f32x4"]) {
    const text = bodyText(name);
    assert.ok(/f32x4\.mul/.test(text) || /f32x4\.(relaxed_)?madd/.test(text), `${name} has no f32x4.mul`);
    assert.ok(/f32x4\.add/.test(text), `${name} has no f32x4.add`);
  }
});

test("the loader rejects bytes that are not wasm, and a wrong ABI", async () => {
  let err = "";
  try {
    await loadKernels(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]));
  } catch (e) {
    err = String(e);
  }
  assert.match(err, /not a WebAssembly module/);
  // A module exporting abi_version() = 999 and a memory.
  const fake = new Uint8Array([
    0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 127, 3, 2, 1, 0, 5, 3, 1, 0, 0,
    7, 24, 2, 11, 97, 98, 105, 95, 118, 101, 114, 115, 105, 111, 110, 0, 0, 6, 109, 101, 109, 111, 114, 121, 2, 0,
    10, 7, 1, 5, 0, 65, 231, 7, 11,
  ]);
  err = "";
  try {
    await loadKernels(fake);
  } catch (e) {
    err = String(e);
  }
  assert.match(err, /ABI version 999/);
});

test.run();
