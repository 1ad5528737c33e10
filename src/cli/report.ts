// mtl report DIR [--out FILE.html] [--data PATH]: one self-contained HTML file (data and script inlined, no network)
// with a trained model's training curves, task balancing, validation-prediction plots (ROC, precision–recall,
// calibration, confusion matrix, predicted vs actual), Δm, summary, spec and environment. See src/report/.
import { join } from "node:path";
import { existsSync, readFileSync } from "node:fs";
import { renderTuneHtml } from "../report/tune.ts";
import type { Kernels } from "../runtime/load.ts";
import { parseArgs, strFlag, UsageError } from "./args.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { reportFromDir, reportScript } from "../report/load.ts";
import { renderHtml } from "../report/html.ts";
import type { Table } from "../data/table.ts";

export const REPORT_USAGE = "mtl report DIR [--out FILE.html] [--data PATH]";

/** Write the report of model directory `dir` to `out` (atomically); returns its size in bytes. */
export async function writeReport(dir: string, out: string, k: Kernels, opts: { dataPath?: string; table?: Table } = {}): Promise<number> {
  const script = reportScript();
  const html = renderHtml(await reportFromDir(dir, k, opts), script);
  await writeFileAtomic(out, html);
  return Buffer.byteLength(html);
}

export async function reportCommand(argv: string[], kernels: () => Promise<Kernels>, log: (s: string) => void): Promise<number> {
  const p = parseArgs(argv, [], ["out", "data"], "report");
  if (p.positional.length !== 1) throw new UsageError(`usage: ${REPORT_USAGE}`);
  const dir = p.positional[0];
  const out = strFlag(p, "out") ?? join(dir, "report.html");
  // An mtl tune folder (tune.json, no model.json): its Tuning page (src/report/tune.ts).
  if (existsSync(join(dir, "tune.json")) && !existsSync(join(dir, "model.json"))) {
    const html = renderTuneHtml(JSON.parse(readFileSync(join(dir, "tune.json"), "utf8")));
    await writeFileAtomic(out, html);
    log(`wrote ${out} (${(Buffer.byteLength(html) / 1024).toFixed(0)} KB, the tuning leaderboard and rungs: open it in a browser)`);
    return 0;
  }
  const bytes = await writeReport(dir, out, await kernels(), { dataPath: strFlag(p, "data") });
  log(`wrote ${out} (${(bytes / 1024).toFixed(0)} KB, self-contained: open it in a browser)`);
  return 0;
}
