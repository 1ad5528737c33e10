// mtl predict DIR --data FILE --out PRED.csv: one row per input row, in input order. Columns: one per binary or
// regression task (probability or value; `task:label` for multi-output regression), `task:class` for multiclass and
// multilabel tasks, each task's followed by its extra outputs (`conversion.given_click` of an ESMM task). Text models
// (inputs.tokens): a multiclass task's columns start with `task`, the most probable class; a tagging task is one column
// `task`, the row's predicted tags space-separated, one per token of the row (tokens past max_length get "O").
import type { Kernels } from "../runtime/load.ts";
import { checkColumns } from "../data/load.ts";
import { encode } from "../data/preprocess.ts";
import { Model } from "../model/model.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { parseArgs, strFlag, UsageError } from "./args.ts";
import { readData, sessionInput } from "./files.ts";
import { readTrainedDir } from "../io/checkpoint-files.ts";
import { loadWeights } from "../io/checkpoint.ts";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createSession } from "../infer/session.ts";
import type { ModelSpec } from "../model/spec.ts";
import type { Preprocessing } from "../data/preprocess.ts";
import { predictedTags } from "../metrics/evaluate.ts";
import { splitTokens } from "../data/tokens.ts";

export const PREDICT_USAGE = "mtl predict DIR|MODEL.onnx --data FILE --out PRED.csv [--engine ort|mtl]";

const csvCell = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

export async function predictCommand(argv: string[], kernels: () => Promise<Kernels>, log: (s: string) => void): Promise<number> {
  const p = parseArgs(argv, [], ["data", "out", "engine"], "predict");
  if (p.positional.length !== 1) throw new UsageError(`usage: ${PREDICT_USAGE}`);
  const target = p.positional[0];
  const data = strFlag(p, "data"), out = strFlag(p, "out"), engine = strFlag(p, "engine");
  if (!data || !out) throw new UsageError(`mtl predict: --data FILE and --out PRED.csv are required\nusage: ${PREDICT_USAGE}`);
  if (engine !== undefined && engine !== "ort" && engine !== "mtl") throw new UsageError(`mtl predict: --engine must be ort or mtl, not ${JSON.stringify(engine)}`);
  const isOnnx = target.endsWith(".onnx");
  let spec: ModelSpec, pre: Preprocessing, named: { name: string; width: number; data: Float32Array }[], rows: number, tokenCells: string[] | null = null;
  if (!isOnnx && !engine) {
    // The trained weights in our own forward pass.
    const { json: j, weights, weightsPath } = readTrainedDir(target);
    const table = await readData(j.spec, data, { labels: false });
    checkColumns(j.spec, table, { labels: false });
    const model = new Model(j.spec, j.preprocessing, await kernels());
    loadWeights(model, weights, weightsPath);
    const enc = encode(j.spec, j.preprocessing, table, undefined, { labels: false });
    [spec, pre, named, rows] = [j.spec, j.preprocessing, model.predictNamed(enc), enc.rows];
    if (j.spec.inputs.tokens) tokenCells = table.stringColumn(j.spec.inputs.tokens.column);
  } else {
    // The ONNX export, in onnxruntime-web (default) or in our kernels.
    const file = isOnnx ? target : join(target, "model.onnx");
    if (!existsSync(file)) throw new UsageError(`${file}: no such file${isOnnx ? "" : " (run mtl export first)"}`);
    const session = await createSession(readFileSync(file), { engine: (engine ?? "ort") as "ort" | "mtl", name: file, ...(engine === "mtl" ? { kernels: await kernels() } : {}) });
    if (!session.meta) throw new UsageError(`${file}: not an mtl-wasm export (no metadata), so its input columns are unknown`);
    ({ spec, pre } = session.meta);
    const table = await readData(spec, data, { labels: false });
    checkColumns(spec, table, { labels: false });
    const res = await session.run(sessionInput(session, table, Array.from({ length: table.rowCount }, (_, i) => i)));
    named = session.outputNames.map((n) => ({ name: n, width: session.meta!.outputs[n], data: res[n] }));
    rows = table.rowCount;
    if (spec.inputs.tokens) tokenCells = table.stringColumn(spec.inputs.tokens.column);
  }
  const header: string[] = [];
  // Per output: its header cells, and its cells of row r.
  const columns = named.map((o) => {
    const i = spec.tasks.findIndex((t) => t.name === o.name), t = spec.tasks[i], w = o.width;
    const numbers = (r: number) => Array.from(o.data.subarray(r * w, (r + 1) * w), String);
    if (t && t.type === "tagging") {
      const L = pre.tokens!.max_length, lengths = tokenCells!.map((c) => splitTokens(c).length);
      const tags = predictedTags(o.data, L, pre.tasks[i].classes!, lengths, Int32Array.from({ length: rows }, (_, r) => r));
      return { head: [t.name], cells: (r: number) => [tags[r].join(" ")] };
    }
    if (t && t.type === "multiclass") {
      const classes = pre.tasks[i].classes!, probs = classes.map((c) => `${t.name}:${c}`);
      if (!tokenCells) return { head: probs, cells: numbers };
      const best = (r: number) => o.data.subarray(r * w, (r + 1) * w).reduce((b, v, c, a) => (v > a[b] ? c : b), 0);
      return { head: [t.name, ...probs], cells: (r: number) => [classes[best(r)], ...numbers(r)] };
    }
    if (!t) return { head: w === 1 ? [o.name] : Array.from({ length: w }, (_, j) => `${o.name}:${j}`), cells: numbers };
    return { head: w === 1 ? [t.name] : t.labels.map((l) => `${t.name}:${l}`), cells: numbers };
  });
  columns.forEach((c) => header.push(...c.head));
  const lines = [header.map(csvCell).join(",")];
  for (let r = 0; r < rows; r++) lines.push(columns.flatMap((c) => c.cells(r)).map(csvCell).join(","));
  await writeFileAtomic(out, lines.join("\n") + "\n");
  log(`wrote ${rows} predictions (${header.length} columns) to ${out}`);
  return 0;
}
