// Train a two-task model from a CSV file in Node, print per-task validation metrics, export ONNX and run the export.
//
//   node examples/node-csv/train.mjs [CSV] [OUT_DIR]
//
// CSV: a wine-quality file (`;`-separated, 11 numeric inputs and `quality`); default: the red-wine file of the
// shared data folder beside the repository. OUT_DIR (default `out`) receives model.onnx (the export) and probe.json
// (3 rows of inputs), which the workerd and Deno examples read.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createSession, loadInlineKernels, toTable, train } from "mtl-wasm";

const csv = process.argv[2] ?? fileURLToPath(new URL("../../../shared/data/wine-quality/winequality-red.csv", import.meta.url));
const outDir = process.argv[3] ?? "out";
const inputs = ["fixed acidity", "volatile acidity", "citric acid", "residual sugar", "chlorides", "free sulfur dioxide",
  "total sulfur dioxide", "density", "pH", "sulphates", "alcohol"];

// One shared trunk, two heads on the same label column: the grade (regression) and "good" (grade 7 or 8; the white
// wine file also has five 9s: add "9" for it).
const spec = {
  name: "wine",
  data: { format: "csv", path: csv, delimiter: ";" }, // train() is handed the bytes; `path` names them
  inputs: { numeric: inputs },
  architecture: { type: "hps", layers: [32] },
  tasks: [
    { name: "quality", type: "regression", label: "quality", metrics: ["rmse", "mae"] },
    { name: "good", type: "binary", label: "quality", positive: ["7", "8"], metrics: ["auc", "accuracy"] },
  ],
  training: { epochs: 25, batch_size: 32, seed: 7, validation: 0.2, optimizer: { type: "adam", lr: 0.003 } },
};

const bytes = readFileSync(csv); // train() reads CSV text or bytes with the spec's `data` options
const run = await train(spec, bytes, {
  name: csv,
  onEpoch: (log) => log.epoch % 5 === 0 && console.log(`epoch ${log.epoch}: training objective ${log.objective.toFixed(4)}`),
});

// Validation metrics of the kept epoch, one line per task: `task metric=value …`.
console.log(`rows: ${run.rows.train} train, ${run.rows.validation} validation`);
for (const [task, metrics] of Object.entries(run.metrics)) {
  console.log(`${task} ${Object.entries(metrics).map(([k, v]) => `${k}=${Number(v.toFixed(6))}`).join(" ")}`);
}

// The export: an ONNX file with the preprocessing inside, plus 3 raw rows to try it on.
const table = await toTable(spec, bytes, csv);
const probe = [0, 1, 2].map((i) => Object.fromEntries(inputs.map((c) => [c, table.stringColumn(c)[i]])));
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, "model.onnx"), run.export());
writeFileSync(join(outDir, "probe.json"), JSON.stringify(probe, null, 2) + "\n");

// Run the exported file as a deployed model would: createSession on its bytes (mtl engine: our kernels, no ORT).
const session = await createSession(readFileSync(join(outDir, "model.onnx")), { engine: "mtl", kernels: await loadInlineKernels() });
const out = await session.run(probe); // { quality: Float32Array [3], good: Float32Array [3] }
console.log(`predictions ${JSON.stringify(Object.fromEntries(Object.entries(out).map(([t, v]) => [t, Array.from(v)])))}`);
await session.dispose();
await run.dispose();
