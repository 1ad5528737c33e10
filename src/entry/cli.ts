// Bundle entry of the `mtl` command (Node): the kernel artifact is inlined, so dist/cli.mjs is self-contained.
import wasm from "../../build/mtl.wasm";
import { loadKernels } from "../runtime/load.ts";
import { main } from "../cli/main.ts";

const code = await main(process.argv.slice(2), () => loadKernels(wasm as Uint8Array));
process.exitCode = code;
