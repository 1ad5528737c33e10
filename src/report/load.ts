// NODE-ONLY: `mtl report`'s file side. Reads a model directory (model.json, weights.safetensors, metrics.json,
// steps.csv, affinity.json), re-creates the validation split as `mtl train` made it (the same seeded split of the
// same data file), runs the saved model on those rows (as `mtl evaluate` does) and assembles the report data
// (data.ts), then renders the one-file HTML (html.ts).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Kernels } from "../runtime/load.ts";
import { checkColumns, splitRows } from "../data/load.ts";
import { encode } from "../data/preprocess.ts";
import type { Table } from "../data/table.ts";
import { Model } from "../model/model.ts";
import { summarize } from "../graph/summary.ts";
import { readTrainedDir } from "../io/checkpoint-files.ts";
import { loadWeights } from "../io/checkpoint.ts";
import { UsageError } from "../cli/args.ts";
import { readTrainingData } from "../cli/files.ts";
import { assembleReport, type ReportData } from "./data.ts";

const readJson = (path: string): Record<string, unknown> | null => {
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
};

/**
 * The report data of model directory `dir`. The data file is `dataPath`, else the one metrics.json records, else the
 * spec's data.path; `table` (already read, e.g. by `mtl train --report`) skips reading it again.
 */
export async function reportFromDir(dir: string, k: Kernels, opts: { dataPath?: string; table?: Table; warn?: (s: string) => void } = {}): Promise<ReportData> {
  const metrics = readJson(join(dir, "metrics.json"));
  if (!metrics) throw new UsageError(`${dir}: no metrics.json (the report needs a finished mtl train run)`);
  const { json, weights, weightsPath } = readTrainedDir(dir, opts.warn);
  const spec = json.spec, pre = json.preprocessing;
  const dataPath = opts.dataPath ?? (typeof metrics.data === "string" ? metrics.data : spec.data?.path);
  if (!opts.table && !dataPath) throw new UsageError(`${dir}: no data path in metrics.json or the spec; give --data PATH`);
  const table = opts.table ?? (await readTrainingData(spec, dataPath!));
  checkColumns(spec, table, { labels: true });
  const split = splitRows(spec, table);
  const model = new Model(spec, pre, k);
  try {
    loadWeights(model, weights, weightsPath);
    const validation = encode(spec, pre, table, split.validation);
    const predictions = model.predict(validation);
    const stepsPath = join(dir, "steps.csv");
    return assembleReport({
      spec,
      pre,
      metrics,
      steps: existsSync(stepsPath) ? readFileSync(stepsPath, "utf8") : null,
      affinity: readJson(join(dir, "affinity.json")) as never,
      summary: summarize(model.graph, model.store.params),
      widths: model.dims.outputs,
      predictions,
      labels: validation.tasks,
      validationRows: validation.rows,
    });
  } finally {
    model.dispose();
  }
}

/** dist/report.js (the page script, uPlot bundled; built by `npm run build`), from the source tree or from dist/. */
export function reportScript(): string {
  const candidates = [new URL("./report.js", import.meta.url), new URL("../../dist/report.js", import.meta.url)];
  for (const u of candidates) if (u.protocol === "file:" && existsSync(u)) return readFileSync(u, "utf8");
  throw new Error(`the report page script dist/report.js is missing; run \`npm run build\``);
}
