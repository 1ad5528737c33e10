// models/yeast.json: the config validates, its ARFF data loads, and the model it trains (in memory, with its own early
// stopping) beats, on the official test split, the linear baseline that ../shared/data/yeast/README.md measured on
// that split (binary relevance, 14 logistic regressions) on every metric the README gives. The multilabel group's
// metrics equal those recomputed from the predictions. SKIP when the data folder is missing.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { setup } from "../helpers.ts";
import { needFile } from "../skip.ts";
import { parseJsonc } from "../../src/util/jsonc.ts";
import { validateSpec } from "../../src/model/spec.ts";
import { readTable, checkColumns } from "../../src/data/load.ts";
import { fileSource } from "../../src/data/node-file.ts";
import { encode } from "../../src/data/preprocess.ts";
import { evaluatePredictions } from "../../src/metrics/evaluate.ts";
import { multilabelMetrics } from "../../src/metrics/multilabel.ts";
import { train } from "../../src/api/train.ts";

const spec = validateSpec(parseJsonc(readFileSync("models/yeast.json", "utf8")));
const TEST = "../shared/data/yeast/yeast-test.arff";
/** ../shared/data/yeast/README.md, "Baseline measured on this split" (lower is better except average precision). */
const BASELINE = { hamming_loss: 0.2102, ranking_loss: 0.1858, one_error: 0.2585, coverage: 6.685, average_precision: 0.7427 };

test("the config: ARFF data, 14 binary tasks on Class1..Class14 grouped as multilabel, 103 numeric inputs", () => {
  assert.is(spec.data!.format, "arff");
  assert.equal(spec.tasks.map((t) => [t.type, t.labels[0]]), Array.from({ length: 14 }, (_, i) => ["binary", `Class${i + 1}`]));
  assert.equal(spec.multilabel!.tasks, spec.tasks.map((t) => t.name));
  assert.is(spec.inputs.numeric.length, 103);
  assert.is(spec.training.early_stopping!.metric, "multilabel.average_precision");
});

test("trained in memory, it beats the README's linear baseline on the test split", async () => {
  if (!needFile(spec.data!.path!, "yeast model (train and test on the Mulan split)") || !needFile(TEST, "yeast test split")) return;
  const { k } = await setup();
  const table = await readTable(fileSource(spec.data!.path!), spec.data!);
  const held = await readTable(fileSource(TEST), spec.data!);
  checkColumns(spec, held, { labels: true });
  const run = await train(spec, table, { kernels: k, onWarning: () => {} });
  const enc = encode(spec, run.model.pre, held);
  const preds = run.model.predict(enc);
  const m = evaluatePredictions(spec, run.model.pre, run.model.dims.outputs, preds, enc).multilabel;
  // The group's metrics are the multi-label metrics of the 14 tasks' probabilities and labels side by side.
  const n = held.rowCount, L = 14;
  const y = new Float64Array(n * L), p = new Float64Array(n * L);
  for (let j = 0; j < L; j++) for (let i = 0; i < n; i++) (y[i * L + j] = enc.tasks[j].labels[i]), (p[i * L + j] = preds[j][i]);
  assert.equal(m, multilabelMetrics(y, p, L));
  assert.is(m.count, 917);
  const line = Object.entries(BASELINE).map(([k, b]) => `${k} ${m[k].toFixed(4)} (baseline ${b})`).join(", ");
  for (const [key, b] of Object.entries(BASELINE)) assert.ok(key === "average_precision" ? m[key] > b : m[key] < b, `${key}: ${m[key]} vs baseline ${b}; ${line}`);
  await run.dispose();
});

test.run();
