// mtl predict DIR --data FILE --out PRED.csv: one row per input row, in input order. Columns: one per binary or
// regression task (probability or value; `task:label` for multi-output regression), `task:class` for multiclass and
// multilabel tasks.
import type { Kernels } from "../runtime/load.ts";
import { checkColumns } from "../data/load.ts";
import { encode } from "../data/preprocess.ts";
import { Model } from "../model/model.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { parseArgs, strFlag, UsageError } from "./args.ts";
import { loadDirWeights, readData, readModelDir } from "./files.ts";

export const PREDICT_USAGE = "mtl predict DIR --data FILE --out PRED.csv";

const csvCell = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

export async function predictCommand(argv: string[], kernels: () => Promise<Kernels>, log: (s: string) => void): Promise<number> {
  const p = parseArgs(argv, [], ["data", "out"], "predict");
  if (p.positional.length !== 1) throw new UsageError(`usage: ${PREDICT_USAGE}`);
  const dir = p.positional[0];
  const data = strFlag(p, "data"), out = strFlag(p, "out");
  if (!data || !out) throw new UsageError(`mtl predict: --data FILE and --out PRED.csv are required\nusage: ${PREDICT_USAGE}`);
  const j = readModelDir(dir);
  const table = await readData(j.spec, data);
  checkColumns(j.spec, table, { labels: false });
  const model = new Model(j.spec, j.preprocessing, await kernels());
  loadDirWeights(model, dir);
  const enc = encode(j.spec, j.preprocessing, table, undefined, { labels: false });
  const preds = model.predict(enc);
  const header: string[] = [];
  j.spec.tasks.forEach((t, i) => {
    const w = model.dims.outputs[i];
    if (t.type === "multiclass") header.push(...j.preprocessing.tasks[i].classes!.map((c) => `${t.name}:${c}`));
    else if (w === 1) header.push(t.name);
    else header.push(...t.labels.map((l) => `${t.name}:${l}`));
  });
  const lines = [header.map(csvCell).join(",")];
  for (let r = 0; r < enc.rows; r++) {
    const cells: string[] = [];
    preds.forEach((pr, i) => {
      const w = model.dims.outputs[i];
      for (let c = 0; c < w; c++) cells.push(String(pr[r * w + c]));
    });
    lines.push(cells.join(","));
  }
  await writeFileAtomic(out, lines.join("\n") + "\n");
  log(`wrote ${enc.rows} predictions (${header.length} columns) to ${out}`);
  return 0;
}
