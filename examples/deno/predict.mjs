// Run an exported model in Deno: load the ONNX file, predict rows from a JSON file, print the predictions.
//
//   deno run --allow-read --node-modules-dir=manual examples/deno/predict.mjs [MODEL] [ROWS]
//
// MODEL (default out/model.onnx) and ROWS (default out/probe.json, an array of objects keyed by input column) are
// what examples/node-csv writes. "mtl-wasm" resolves from the project's node_modules (--node-modules-dir=manual);
// the inline bundle carries the kernels, so nothing is fetched and only --allow-read is needed.
import { createSession, loadInlineKernels } from "mtl-wasm";

const [modelPath = "out/model.onnx", rowsPath = "out/probe.json"] = Deno.args;
const model = await Deno.readFile(modelPath);
const rows = JSON.parse(await Deno.readTextFile(rowsPath));

// engine "mtl": the model runs on mtl-wasm's own kernels (engine "ort" would load onnxruntime-web instead).
const session = await createSession(model, { engine: "mtl", kernels: await loadInlineKernels(), name: modelPath });
console.log(`${modelPath}: inputs ${session.inputNames.join(", ")}; outputs ${session.outputNames.join(", ")}`);

// { [task]: Float32Array } row-major [N, width]; width 1 for these two tasks.
const out = await session.run(rows);
for (let i = 0; i < rows.length; i++) {
  console.log(`row ${i + 1}: ${session.outputNames.map((t) => `${t}=${out[t][i].toFixed(4)}`).join(" ")}`);
}
// The same numbers as JSON (float32 values, exact), e.g. to compare with another runtime.
console.log(`predictions ${JSON.stringify(Object.fromEntries(Object.entries(out).map(([t, v]) => [t, Array.from(v)])))}`);
await session.dispose();
