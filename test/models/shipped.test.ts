// The shipped Census MMoE (models/census-mmoe/): its files agree with each other and with its card.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { setup } from "../helpers.ts";
import { needFile } from "../skip.ts";
import { parseModelJson, loadWeights } from "../../src/io/checkpoint.ts";
import { Model } from "../../src/model/model.ts";
import { readTable, splitRows } from "../../src/data/load.ts";
import { fileSource } from "../../src/data/node-file.ts";
import { encode } from "../../src/data/preprocess.ts";
import { evaluatePredictions } from "../../src/metrics/evaluate.ts";
import { createSession } from "../../src/infer/session.ts";

const DIR = "models/census-mmoe";
const card = JSON.parse(readFileSync(`${DIR}/card.json`, "utf8"));

test("model.onnx, model.json and weights.safetensors hold the same model, and the card's metrics are true", async () => {
  const { k } = await setup();
  const j = parseModelJson(readFileSync(`${DIR}/model.json`, "utf8"), `${DIR}/model.json`);
  const model = new Model(j.spec, j.preprocessing, k);
  loadWeights(model, readFileSync(`${DIR}/weights.safetensors`), `${DIR}/weights.safetensors`);
  const onnx = readFileSync(`${DIR}/model.onnx`);
  assert.ok(onnx.length + readFileSync(`${DIR}/model.json`).length < 1 << 20, "export + model.json under 1 MB");
  const path = j.spec.data!.path!;
  if (!needFile(path, "shipped census-mmoe: card metrics and ONNX parity on real rows")) return;
  const table = await readTable(fileSource(path), j.spec.data!);
  const split = splitRows(j.spec, table, j.spec.training.validation, card.seed);
  assert.is(split.validation.length, card.split.validation);
  const val = encode(j.spec, j.preprocessing, table, split.validation);
  const preds = model.predict(val);
  const metrics = evaluatePredictions(j.spec, j.preprocessing, model.dims.outputs, preds, val);
  for (const [t, m] of Object.entries(card.validation as Record<string, Record<string, number>>)) {
    for (const [name, v] of Object.entries(m)) assert.ok(Math.abs(metrics[t][name] - v) < 1e-6, `${t}.${name}: ${metrics[t][name]} vs card ${v}`);
  }
  // The ONNX file in our kernels (no onnxruntime-web) gives the same probabilities on 500 validation rows.
  const session = await createSession(onnx, { engine: "mtl", kernels: k });
  const rows = Array.from(split.validation.subarray(0, 500), (i) => table.row(i));
  const out = await session.run(rows);
  j.spec.tasks.forEach((t, i) => {
    let d = 0;
    out[t.name].forEach((v, r) => (d = Math.max(d, Math.abs(v - preds[i][r]))));
    assert.ok(d <= 1e-5, `${t.name}: max |onnx − wasm| ${d}`);
  });
});

test.run();
