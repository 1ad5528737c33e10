// npm run build: asc → build/mtl.wasm (the one artifact), then esbuild → dist/ ESM bundles, and tsc → dist/types/ (the
// package's declarations, at the same time as the bundles).
import { execFile, execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, rmSync } from "node:fs";
import { promisify } from "node:util";
import * as esbuild from "esbuild";

const asc = (args) => execFileSync(process.execPath, ["node_modules/assemblyscript/bin/asc.js", ...args], { stdio: "inherit" });
asc(["--config", "asconfig.json", "--target", "release"]);

mkdirSync("dist", { recursive: true });
copyFileSync("build/mtl.wasm", "dist/mtl.wasm");
// onnxruntime-web stays external everywhere: the caller's runtime or bundler provides it (and its 14 MB wasm).
const common = { external: ["onnxruntime-web"], bundle: true, format: "esm", platform: "neutral", target: "es2022", logLevel: "warning", mainFields: ["module", "main"], outExtension: { ".js": ".mjs" } };
await Promise.all([
  // The package's types: declarations of src/entry/{inline,worker}.ts and what they export (tsconfig.types.json),
  // so consumers typecheck against .d.ts files, not our .ts sources. Stale ones of deleted sources go first.
  (rmSync("dist/types", { recursive: true, force: true }), declarations()),
  // Node, Deno, browsers: the wasm bytes inlined (base64) so there is one file and no fetch.
  esbuild.build({ ...common, entryPoints: { "mtl.inline": "src/entry/inline.ts" }, outdir: "dist", loader: { ".wasm": "binary" } }),
  // Workers: the same .wasm imported as a module (workerd compiles it at deploy; compiling from bytes is forbidden).
  // Shipped minified (names kept for error messages): the edge's size budget is on what a deployer uploads (npm run size).
  esbuild.build({ ...common, entryPoints: { "mtl.worker": "src/entry/worker.ts" }, outdir: "dist", external: ["*.wasm", "onnxruntime-web"], minify: true, keepNames: true }),
  // The `mtl` command for Node, self-contained (wasm inlined).
  esbuild.build({ ...common, platform: "node", entryPoints: { cli: "src/entry/cli.ts" }, outdir: "dist", loader: { ".wasm": "binary" } }),
  // Its data-parallel training workers (mtl train --threads N), loaded from next to dist/cli.mjs.
  esbuild.build({ ...common, platform: "node", entryPoints: { "train-worker": "src/train/node-worker-entry.ts" }, outdir: "dist" }),
  // mtl tune --threads: one trial per worker (src/tune/pool.ts loads dist/tune-worker.mjs next to dist/cli.mjs).
  esbuild.build({ ...common, platform: "node", entryPoints: { "tune-worker": "src/tune/worker.ts" }, outdir: "dist" }),
  // mtl train --ensemble K: one member per worker (src/cli/ensemble-pool.ts loads dist/ensemble-worker.mjs next to dist/cli.mjs).
  esbuild.build({ ...common, platform: "node", entryPoints: { "ensemble-worker": "src/cli/ensemble-worker.ts" }, outdir: "dist" }),
  // The `mtl report` page script: uPlot and its stylesheet bundled, one classic script the CLI inlines into report.html.
  esbuild.build({ entryPoints: { report: "src/report/page.ts" }, outdir: "dist", bundle: true, format: "iife", platform: "browser", target: "es2022", minify: true, legalComments: "inline", banner: { js: "/*! uPlot 1.6.32 (https://github.com/leeoniya/uPlot), MIT License, Copyright (c) 2022 Leon Sorokin */" }, loader: { ".css": "text" }, logLevel: "warning" }),
]);

// A type error still emits every declaration (it is the typecheck step's to fail): warn here, fail only when none came out.
async function declarations() {
  try {
    await promisify(execFile)(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.types.json"]);
  } catch (e) {
    process.stderr.write(`${e.stdout ?? ""}${e.stderr ?? ""}`);
    if (!existsSync("dist/types/entry/inline.d.ts")) throw new Error("tsc -p tsconfig.types.json emitted no dist/types");
    console.warn("build: warning: tsc -p tsconfig.types.json reported the errors above; dist/types was written anyway");
  }
}
