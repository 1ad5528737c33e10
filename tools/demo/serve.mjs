// npm run demo: build the demo into out/demo/ and serve it on 127.0.0.1 (cross-origin isolated), with the shared data
// folder mounted under /data/ (the wine-quality option fetches /data/wine-quality/*.csv). Ctrl-C stops it.
//   node tools/demo/serve.mjs [--port N] [--data DIR]      (DIR default: ../shared/data, relative to the repo root)
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildDemo, demoRoots } from "./build.mjs";
import { serve } from "../serve.mjs";

process.chdir(resolve(dirname(fileURLToPath(import.meta.url)), "../.."));
const arg = (name) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const dir = await buildDemo();
const data = resolve(arg("--data") ?? "../shared/data");
const s = await serve(demoRoots(dir, data), { port: Number(arg("--port") ?? 0), isolate: true });
const wine = existsSync(resolve(data, "wine-quality/winequality-red.csv"));
console.log(`mtl-wasm demo: ${s.url}  (add ?autostart, ?dataset=synthetic|wine|toy, &p=0.5; Ctrl-C to stop)`);
console.log(`data: ${data} mounted at /data/${wine ? "" : " — wine-quality files not found there: that option is disabled"}`);
