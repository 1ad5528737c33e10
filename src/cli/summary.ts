// mtl summary CONFIG.json|DIR [--data PATH] [--raw] [--json] [--dot FILE]: the model's layers, output shapes and
// parameter counts by role (Keras' model.summary()), read off the graph the model is built from.
//
// CONFIG.json: the spec; the data is read (as `mtl train` reads it, the same split and preprocessing) only when
// the spec leaves sizes to it: categorical vocabularies, multiclass classes without "classes", group_by groups.
// DIR: a trained model directory: model.json gives the spec and preprocessing, and every parameter's name, shape
// and element count is checked against DIR/weights.safetensors (after an interrupted run whose two files are from
// different epochs: the newest complete checkpoint's, see io/checkpoint-files.ts).
import { existsSync, statSync } from "node:fs";
import type { Kernels } from "../runtime/load.ts";
import type { ModelSpec } from "../model/spec.ts";
import type { Preprocessing } from "../data/preprocess.ts";
import { fitPreprocessing } from "../data/preprocess.ts";
import { checkColumns, splitRows } from "../data/load.ts";
import { Model } from "../model/model.ts";
import { lowerSpec } from "../model/lower.ts";
import { formatSummary, summarize, thousands, toDot, type Summary } from "../graph/summary.ts";
import { readHeader } from "../io/safetensors.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { parseArgs, strFlag, UsageError } from "./args.ts";
import { readTrainingData, readSpec } from "./files.ts";
import { readTrainedDir } from "../io/checkpoint-files.ts";

export const SUMMARY_USAGE = "mtl summary CONFIG.json|DIR [--data PATH] [--raw] [--json] [--dot FILE]";

/** What in the spec only the data can size, as a phrase per item ("" list: the spec alone is enough). */
export function dataNeeds(spec: ModelSpec): string[] {
  const needs: string[] = [];
  const cats = spec.inputs.categorical.map((c) => c.column);
  if (cats.length) needs.push(`the vocabular${cats.length === 1 ? "y" : "ies"} of ${cats.length === 1 ? "categorical input" : `${cats.length} categorical inputs`} ${cats.slice(0, 4).join(", ")}${cats.length > 4 ? ", …" : ""}`);
  for (const t of spec.tasks) {
    if (t.type === "multiclass" && !t.classes) needs.push(`the classes of task ${t.name}`);
    if (t.group_by) needs.push(`the groups of task ${t.name} (group_by ${t.group_by})`);
  }
  return needs;
}

/** Preprocessing with the spec's own sizes, for a spec that leaves none to the data (the statistics are placeholders). */
function specOnlyPreprocessing(spec: ModelSpec): Preprocessing {
  return {
    numeric: spec.inputs.numeric.map((column) => ({ column, mean: 0, std: 1 })),
    categorical: [],
    tasks: spec.tasks.map((t) => ({ name: t.name, classes: t.type === "multiclass" ? t.classes : null, groups: null, target: t.type === "regression" ? t.labels.map(() => ({ mean: 0, std: 1 })) : null })),
  };
}

/**
 * Check the summary's parameters against a safetensors header: the same tensor names, each F32 with the same shape
 * and element count. Throws naming the first tensor that disagrees; returns the file's tensor and value counts.
 */
export function checkWeights(s: Summary, header: Record<string, { dtype: string; shape: number[] }>, file: string): { tensors: number; values: number } {
  const where = (p: Summary["params"][number]) => (p.reader ? `read by node ${p.reader}` : `role ${p.role}`);
  for (const p of s.params) {
    const t = Object.hasOwn(header, p.name) ? header[p.name] : undefined;
    if (!t) throw new Error(`${file}: no tensor ${JSON.stringify(p.name)}; the model has it as [${p.shape.join(", ")}] (${where(p)})`);
    if (t.dtype !== "F32") throw new Error(`${file}: tensor ${JSON.stringify(p.name)} is ${t.dtype}, expected F32 (${where(p)})`);
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (t.shape.join(",") !== p.shape.join(",") || n !== p.size)
      throw new Error(`${file}: tensor ${JSON.stringify(p.name)} has shape [${t.shape.join(", ")}] (${n} values), but the model has [${p.shape.join(", ")}] (${p.size} values; ${where(p)})`);
  }
  const names = new Set(s.params.map((p) => p.name));
  const extra = Object.keys(header).filter((k) => !names.has(k));
  if (extra.length) throw new Error(`${file}: tensor${extra.length > 1 ? "s" : ""} ${extra.map((k) => JSON.stringify(k)).join(", ")} not in the model`);
  const values = Object.values(header).reduce((sum, t) => sum + t.shape.reduce((a, b) => a * b, 1), 0);
  return { tensors: Object.keys(header).length, values };
}

export async function summaryCommand(argv: string[], kernels: () => Promise<Kernels>, log: (s: string) => void): Promise<number> {
  const p = parseArgs(argv, ["json", "raw"], ["data", "dot"], "summary");
  if (p.positional.length !== 1) throw new UsageError(`usage: ${SUMMARY_USAGE}`);
  const target = p.positional[0];
  const isDir = existsSync(target) && statSync(target).isDirectory();
  const raw = p.flags.has("raw");
  let spec: ModelSpec, pre: Preprocessing, source: string;
  let weightsFile: string | null = null, weightsBytes: Uint8Array | null = null;
  if (isDir) {
    if (p.flags.has("data")) throw new UsageError(`mtl summary: --data applies to CONFIG.json (${target} is a model directory, whose model.json has the preprocessing)`);
    // model.json and weights.safetensors that belong together (after an interrupted run: the newest checkpoint's).
    const d = readTrainedDir(target);
    [spec, pre, source] = [d.json.spec, d.json.preprocessing, d.modelPath];
    [weightsFile, weightsBytes] = [d.weightsPath, d.weights];
  } else {
    spec = readSpec(target);
    source = target;
    const needs = dataNeeds(spec);
    if (!needs.length) pre = specOnlyPreprocessing(spec);
    else {
      const dataPath = strFlag(p, "data") ?? spec.data?.path;
      const why = `the summary needs the data for ${needs.join("; ")}`;
      if (!dataPath) throw new UsageError(`config ${target}: ${why}, and the spec has no data.path; give --data PATH`);
      if (!existsSync(dataPath)) throw new UsageError(`config ${target}: ${why}, but data file ${dataPath} is not available (no such file; paths are relative to ${process.cwd()}; give --data PATH)`);
      // As `mtl train` does: the seeded split, then preprocessing fitted on the training rows.
      const table = await readTrainingData(spec, dataPath);
      checkColumns(spec, table, { labels: true });
      pre = fitPreprocessing(spec, table, splitRows(spec, table).train);
      source = `${target} with ${dataPath}`;
    }
  }

  const model = new Model(spec, pre, await kernels());
  try {
    const graph = raw ? lowerSpec(spec, model.dims, pre, "raw") : model.graph;
    const s = summarize(graph, model.store.params);
    let agrees: { file: string; tensors: number; values: number } | null = null;
    if (weightsFile) {
      const { header } = readHeader(weightsBytes!);
      const c = checkWeights(s, header, weightsFile);
      if (c.values !== s.totals.parameters) throw new Error(`${weightsFile}: holds ${c.values} values but the summary counts ${s.totals.parameters} parameters`);
      agrees = { file: weightsFile, ...c };
    }
    const dot = strFlag(p, "dot");
    if (dot) await writeFileAtomic(dot, toDot(graph, model.store.params));
    const boundary = raw ? "exported graph (raw boundary)" : "training graph (encoded boundary)";
    if (p.flags.has("json")) {
      log(JSON.stringify({ model: spec.name, graph: raw ? "raw" : "training", source, rows: s.rows, params: s.params, totals: s.totals, ...(agrees ? { weights: agrees } : {}) }, null, 2));
    } else {
      log(`Model ${JSON.stringify(spec.name)} (${spec.architecture.type}, ${spec.tasks.length} task${spec.tasks.length === 1 ? "" : "s"}): ${boundary}, from ${source}`);
      log(formatSummary(s));
      if (agrees) log(`The parameter table agrees with weights.safetensors (${agrees.tensors} tensors, ${thousands(agrees.values)} values)`);
      if (dot) log(`wrote ${dot} (Graphviz: dot -Tsvg ${dot} -o graph.svg)`);
    }
  } finally {
    model.dispose();
  }
  return 0;
}
