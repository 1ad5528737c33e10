// Bundle entry of the `mtl` command (Node): the kernel artifact is inlined, so dist/cli.mjs is self-contained.
import wasm from "../../build/mtl.wasm";
import { main } from "../cli/main.ts";

let compiled: Promise<WebAssembly.Module> | null = null;
const code = await main(process.argv.slice(2), () => (compiled ??= WebAssembly.compile(wasm as Uint8Array<ArrayBuffer>)));
process.exitCode = code;
