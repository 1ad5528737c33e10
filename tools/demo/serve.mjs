// npm run demo: build the demo into out/demo/ and serve it on 127.0.0.1 (cross-origin isolated). Ctrl-C stops it.
//   node tools/demo/serve.mjs [--port N]
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildDemo } from "./build.mjs";
import { serve } from "../serve.mjs";

process.chdir(resolve(dirname(fileURLToPath(import.meta.url)), "../.."));
const dir = await buildDemo();
const pi = process.argv.indexOf("--port");
const s = await serve(dir, { port: pi > 0 ? Number(process.argv[pi + 1]) : 0, isolate: true });
console.log(`mtl-wasm demo: ${s.url}  (add ?autostart to start training on load; Ctrl-C to stop)`);
