// The host APIs the runtime scenario needs beyond what the JavaScript shells (JavaScriptCore's jsc, SpiderMonkey's
// js102) provide, installed only where missing. The LIBRARY needs none of these for training, the ONNX export and
// the mtl engine (README, runtime table): only the scenario's own reporting does.
//   console.log      → print (jsc has no console)
//   TextEncoder      → src/util/utf8.ts (the scenario encodes tensor names for the weight hash)
//   crypto.subtle    → test/runtimes/sha256.ts (the scenario hashes data and weights; only SHA-256 is provided)
// Bundled by tools/runtimes.mjs into out/runtimes/shell-shim.mjs, which test/runtimes/shell-main.mjs imports first.
import { utf8Encode } from "../../src/util/utf8.ts";
import { sha256 } from "./sha256.ts";

declare const print: (...args: unknown[]) => void;
const g = globalThis as Record<string, unknown>;
/** The names of the globals this shim installed (printed in the result line's note). */
export const shimmed: string[] = [];

if (typeof g.console === "undefined") {
  const line = (...a: unknown[]) => print(a.map(String).join(" "));
  g.console = { log: line, info: line, warn: line, error: line, debug: line };
  shimmed.push("console");
}
if (typeof g.TextEncoder === "undefined") {
  g.TextEncoder = class {
    readonly encoding = "utf-8";
    encode(s = ""): Uint8Array {
      return utf8Encode(s);
    }
  };
  shimmed.push("TextEncoder");
}
if (typeof (g.crypto as { subtle?: unknown } | undefined)?.subtle === "undefined") {
  const subtle = {
    async digest(alg: string | { name: string }, data: ArrayBuffer | ArrayBufferView): Promise<ArrayBuffer> {
      const name = typeof alg === "string" ? alg : alg.name;
      if (name.toUpperCase() !== "SHA-256") throw new Error(`shell shim: crypto.subtle.digest supports SHA-256 only, not ${name}`);
      const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      return sha256(bytes).buffer as ArrayBuffer;
    },
  };
  g.crypto = Object.assign((g.crypto as object) ?? {}, { subtle });
  shimmed.push("crypto.subtle.digest");
}
