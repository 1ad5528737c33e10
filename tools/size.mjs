// npm run size: bytes and gzip bytes of the artifact and every bundle, with the edge budget: the worker bundle (with
// the mtl inference engine) plus build/mtl.wasm (everything a worker needs to train and to infer without ORT) must stay under 200 KB
// gzipped (200,000 bytes, gzip -9). onnxruntime-web's wasm is printed for comparison. Run after `npm run build`.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import * as esbuild from "esbuild";

const BUDGET = 200_000;
const rows = [];
const gz = (buf) => gzipSync(buf, { level: 9 }).length;
const fmt = (n) => n.toLocaleString("en-US").padStart(11);

function add(label, file) {
  if (!existsSync(file)) {
    rows.push({ label, file, missing: true });
    return null;
  }
  const buf = readFileSync(file);
  const r = { label, file, bytes: buf.length, gzip: gz(buf) };
  rows.push(r);
  return r;
}

const wasm = add("kernel artifact", "build/mtl.wasm");
const dist = existsSync("dist") ? readdirSync("dist").filter((f) => f.endsWith(".mjs")).sort() : [];
const bundles = Object.fromEntries(dist.map((f) => [f, add("dist bundle", `dist/${f}`)]));
// The budgeted worker: src/entry/worker.ts plus the mtl inference engine (createSession) and the ONNX export, in
// case the public entry does not re-export them; built as dist/mtl.worker.mjs ships (minified, names kept), and for
// reference unminified.
// .wasm and onnxruntime-web stay external, as in dist/.
const ENGINE_ENTRY = ["src/entry/worker.ts", "src/infer/session.ts", "src/onnx/export.ts"];
async function bundleSize(minify) {
  const shipped = minify ? { minify: true, keepNames: true } : {};
  const contents = `export * from "./src/entry/worker.ts";\nexport { createSession } from "./src/infer/session.ts";\nexport { exportOnnx } from "./src/onnx/export.ts";\n`;
  const out = await esbuild.build({ stdin: { contents, resolveDir: process.cwd(), loader: "ts" }, bundle: true, format: "esm", platform: "neutral", target: "es2022", ...shipped, write: false, external: ["*.wasm", "onnxruntime-web"], mainFields: ["module", "main"], logLevel: "silent" });
  const buf = Buffer.from(out.outputFiles[0].contents);
  return { bytes: buf.length, gzip: gz(buf) };
}
let engine = null, minified = null;
if (ENGINE_ENTRY.every((f) => existsSync(f))) {
  engine = { label: "worker entry + mtl engine + ONNX export, minified as shipped (budgeted)", file: "(esbuild worker.ts + session.ts + export.ts)", ...(await bundleSize(true)) };
  minified = { label: "the same, not minified (reference)", file: "(the same, no --minify)", ...(await bundleSize(false)) };
  rows.push(engine, minified);
}
for (const f of ["out/runtimes/browser/app.mjs", "out/runtimes/workerd/worker.mjs"]) if (existsSync(f)) add("runtime test bundle (with ORT glue)", f);
add("onnxruntime-web wasm (comparison)", "node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm");

console.log(`${"file".padEnd(62)} ${"bytes".padStart(11)} ${"gzip -9".padStart(11)}  what`);
for (const r of rows) console.log(`${r.file.padEnd(62)} ${r.missing ? "  (missing)".padStart(11) : fmt(r.bytes)} ${r.missing ? "" : fmt(r.gzip)}  ${r.label}`);

const worker = engine ?? bundles["mtl.worker.mjs"];
if (!wasm || !worker) {
  console.log(`FAIL size: build/mtl.wasm or the worker bundle missing; run npm run build`);
  process.exitCode = 1;
} else {
  const total = wasm.gzip + worker.gzip;
  const verdict = total < BUDGET ? "PASS" : "FAIL";
  console.log(`${verdict} size: worker bundle with the mtl engine + build/mtl.wasm = ${total.toLocaleString("en-US")} bytes gzipped (budget ${BUDGET.toLocaleString("en-US")}; ${((100 * total) / BUDGET).toFixed(0)}% used)` + (minified ? `; not minified: ${(minified.gzip + wasm.gzip).toLocaleString("en-US")}` : ""));
  if (verdict === "FAIL") process.exitCode = 1;
}
