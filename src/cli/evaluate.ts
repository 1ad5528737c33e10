// mtl evaluate DIR --data FILE [--json]: per-task metrics of a trained model on another file of the same format.
import type { Kernels } from "../runtime/load.ts";
import { checkColumns } from "../data/load.ts";
import { encode } from "../data/preprocess.ts";
import { Model } from "../model/model.ts";
import { evaluatePredictions, perOutputMetrics } from "../metrics/evaluate.ts";
import { parseArgs, strFlag, UsageError } from "./args.ts";
import { readData } from "./files.ts";
import { readTrainedDir } from "../io/checkpoint-files.ts";
import { loadWeights } from "../io/checkpoint.ts";
import { formatMetrics } from "./format.ts";
import { gateLines, gateWeights } from "../metrics/gates.ts";

export const EVALUATE_USAGE = "mtl evaluate DIR --data FILE [--json]";

export async function evaluateCommand(argv: string[], kernels: () => Promise<Kernels>, log: (s: string) => void): Promise<number> {
  const p = parseArgs(argv, ["json"], ["data"], "evaluate");
  if (p.positional.length !== 1) throw new UsageError(`usage: ${EVALUATE_USAGE}`);
  const dir = p.positional[0];
  const { json: j, weights, weightsPath } = readTrainedDir(dir);
  const data = strFlag(p, "data");
  if (!data) throw new UsageError(`mtl evaluate: --data FILE is required\nusage: ${EVALUATE_USAGE}`);
  const table = await readData(j.spec, data);
  checkColumns(j.spec, table, { labels: true });
  const model = new Model(j.spec, j.preprocessing, await kernels());
  loadWeights(model, weights, weightsPath);
  const enc = encode(j.spec, j.preprocessing, table);
  const preds = model.predict(enc);
  const metrics = evaluatePredictions(j.spec, model.pre, model.dims.outputs, preds, enc);
  // Multi-output tasks: each output's own metrics under the task's (macro-averaged) line.
  const perOutput = perOutputMetrics(j.spec, model.pre, model.dims.outputs, preds, enc);
  // Mixtures of experts: the mean gate weight per expert over these rows (src/metrics/gates.ts).
  const gates = gateWeights(model, enc);
  if (p.flags.has("json")) log(JSON.stringify({ model: j.spec.name, data, rows: enc.rows, metrics, ...(Object.keys(perOutput).length ? { per_output: perOutput } : {}), ...(Object.keys(gates).length ? { gates } : {}) }, null, 2));
  else {
    log(`${j.spec.name} on ${data} (${enc.rows} rows)`);
    for (const [t, m] of Object.entries(metrics)) {
      log(`  ${formatMetrics({ [t]: m })}  (${m.count} labelled rows${perOutput[t] ? `; mean over ${Object.keys(perOutput[t]).length} outputs` : ""})`);
      for (const [label, v] of Object.entries(perOutput[t] ?? {})) log(`    ${formatMetrics({ [label]: v })}`);
    }
    gateLines(gates).forEach((l) => log(`  ${l}`));
  }
  return 0;
}
