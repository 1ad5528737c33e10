// Builds the demo into out/demo/: the page bundle and the worker bundle (build/mtl.wasm inlined in both), the page,
// and onnxruntime-web's wasm beside the page bundle (ORT looks for it next to the script).
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import * as esbuild from "esbuild";

export const DEMO_OUT = "out/demo";

export async function buildDemo(outdir = DEMO_OUT) {
  mkdirSync(outdir, { recursive: true });
  const ortWasmOnly = {
    name: "ort-wasm-only",
    setup(b) {
      b.onResolve({ filter: /^onnxruntime-web$/ }, (args) => b.resolve("onnxruntime-web/wasm", { kind: args.kind, resolveDir: args.resolveDir }));
    },
  };
  await esbuild.build({
    entryPoints: { demo: "tools/demo/demo.ts", worker: "tools/demo/worker.ts" },
    outdir,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    loader: { ".wasm": "binary" },
    plugins: [ortWasmOnly],
    logLevel: "warning",
  });
  copyFileSync("tools/demo/index.html", `${outdir}/index.html`);
  copyFileSync("node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm", `${outdir}/ort-wasm-simd-threaded.wasm`);
  return outdir;
}

/** The server mounts: the built page at /, the data folder (if it exists) at /data/. */
export function demoRoots(outdir, dataDir) {
  return existsSync(dataDir) ? { "/": outdir, "/data/": dataDir } : { "/": outdir };
}
