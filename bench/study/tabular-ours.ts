// Our side of `npm run study:tabular`: run `mtl train CONFIG --seed S` (the CLI bundle, bin/mtl.mjs → dist/cli.mjs,
// in a child process, as a user runs it) and check that it trained and validated on the rows the references got:
//   1. metrics.json's row counts equal the exported split's;
//   2. model.json's numeric means (fitted on the training rows) equal the means of the exported training rows;
//   3. `mtl evaluate DIR --data FILE` on a file of exactly the exported validation rows reproduces metrics.json's
//      validation metrics (the same rows, the same weights).
// A failed check throws: numbers from different rows must not sit side by side.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseNumber } from "../../src/data/table.ts";
import { writeRowsFile, type Dataset, type ExportedSplit } from "./tabular-export.ts";

const ROOT = resolve(new URL("../..", import.meta.url).pathname);
export const MTL = join(ROOT, "bin/mtl.mjs");

export interface OurRun {
  seed: number;
  /** Wall time of the whole `mtl train` command (read data, train, write files, export ONNX and check it in ORT). */
  seconds: number;
  /** metrics.json's train_seconds (the training loop alone). */
  trainSeconds: number;
  bestEpoch: number;
  epochsRun: number;
  /** Per task: metrics.json's validation metrics. */
  validation: Record<string, Record<string, number>>;
  /** What was checked (see the file comment), as lines for the report. */
  checks: string[];
  /**
   * With --ensemble K: each member's validation metrics in seed order (member 0 is the single run of this seed:
   * same seed, split and preprocessing); `validation` is then the ensemble's (the mean of the members' outputs).
   */
  members?: Record<string, Record<string, number>>[];
}

function mtl(args: string[], what: string): string {
  const r = spawnSync(process.execPath, [MTL, ...args], { cwd: ROOT, encoding: "utf8", maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${what}: \`mtl ${args.join(" ")}\` exited ${r.status ?? r.signal}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** Means of the spec's numeric inputs over `rows` (missing cells skipped), as the preprocessing fits them. */
export function numericMeans(d: Dataset, rows: ArrayLike<number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of d.spec.inputs.numeric) {
    const col = d.table.stringColumn(c);
    let s = 0, n = 0;
    for (let k = 0; k < rows.length; k++) {
      const cell = col[rows[k]];
      if (d.spec.inputs.missing.includes(cell)) continue;
      s += parseNumber(cell)!;
      n++;
    }
    out[c] = s / n;
  }
  return out;
}

/**
 * Train one seed and check its rows; `epochs` overrides the config's (the quick run); `ensemble` K ≥ 2 trains
 * `mtl train --ensemble K` and checks member 0's rows (every member has the same split and preprocessing), and that
 * the ensemble's ONNX graph, run by onnxruntime-web on the validation rows, gave the metrics reported.
 */
export function trainOurs(d: Dataset, split: ExportedSplit, work: string, epochs: number | null, ensemble: number | null = null): OurRun {
  const dir = join(work, `mtl-seed${split.seed}`);
  const t0 = performance.now();
  mtl(["train", d.config, "--out", dir, "--seed", String(split.seed), "--quiet", ...(epochs ? ["--epochs", String(epochs)] : []), ...(ensemble ? ["--ensemble", String(ensemble)] : [])], `${d.key} seed ${split.seed}`);
  const seconds = (performance.now() - t0) / 1000;
  const m = JSON.parse(readFileSync(join(dir, "metrics.json"), "utf8"));
  if (!ensemble) {
    const checks = checkSameRows(d, split, dir, work);
    return { seed: split.seed, seconds, trainSeconds: m.train_seconds, bestEpoch: m.best_epoch, epochsRun: m.epochs_run, validation: m.validation, checks };
  }
  const first = join(dir, "members", "0"), m0 = JSON.parse(readFileSync(join(first, "metrics.json"), "utf8"));
  const checks = checkSameRows(d, split, first, work).map((c) => `member 0: ${c}`);
  const e = m.ensemble, ort = e.onnx;
  const diff = sameMetrics(d, e.validation, ort?.ort_validation, (task, v, o) => `${d.key} seed ${split.seed}: the ensemble's ${task} is ${v} in wasm but ${o} from its ONNX graph in onnxruntime-web`);
  checks.push(`the ensemble's model.onnx in onnxruntime-web reproduces its validation metrics (max |Δ| ${diff.toExponential(1)}; outputs within ${Number(ort.max_abs_diff).toExponential(1)})`);
  const members = (e.members as { validation: Record<string, Record<string, number>>; train_seconds: number }[]);
  return { seed: split.seed, seconds, trainSeconds: members.reduce((a, x) => a + x.train_seconds, 0), bestEpoch: m0.best_epoch, epochsRun: m0.epochs_run, validation: e.validation, checks, members: members.map((x) => x.validation) };
}

/**
 * The checks of the file comment on a finished `mtl train` output `dir` against `split`; returns them as lines and
 * throws at the first that fails. `work` takes the validation rows' data file.
 */
export function checkSameRows(d: Dataset, split: ExportedSplit, dir: string, work: string): string[] {
  const m = JSON.parse(readFileSync(join(dir, "metrics.json"), "utf8"));
  const checks: string[] = [];
  const what = `${d.key} seed ${split.seed}`;

  // 1. row counts
  if (m.rows.train !== split.train.length || m.rows.validation !== split.validation.length) {
    throw new Error(`${what}: mtl train used ${m.rows.train} training / ${m.rows.validation} validation rows; the exported split has ${split.train.length} / ${split.validation.length}`);
  }
  checks.push(`rows ${m.rows.train} / ${m.rows.validation} equal`);

  // 2. the preprocessing's numeric means against the exported training rows
  const model = JSON.parse(readFileSync(join(dir, "model.json"), "utf8"));
  const mine = numericMeans(d, split.train);
  let worst = 0;
  for (const p of model.preprocessing.numeric as { column: string; mean: number }[]) {
    const rel = Math.abs(p.mean - mine[p.column]) / Math.max(1, Math.abs(mine[p.column]));
    if (!(rel <= 1e-9)) throw new Error(`${what}: model.json's mean of ${p.column} is ${p.mean}; the exported training rows give ${mine[p.column]} (not the same training rows)`);
    worst = Math.max(worst, rel);
  }
  checks.push(`${model.preprocessing.numeric.length} training means equal (max rel. diff ${worst.toExponential(1)})`);

  // 3. evaluate on exactly the exported validation rows
  const rowsFile = join(work, `validation-seed${split.seed}.${d.spec.data!.format === "csv" ? "csv" : "data"}`);
  writeRowsFile(d, split.validation, rowsFile);
  const ev = JSON.parse(mtl(["evaluate", dir, "--data", rowsFile, "--json"], `${what} evaluate`));
  const diff = sameMetrics(d, m.validation, ev.metrics, (task, v, e) => `${what}: metrics.json gives ${task} = ${v}, but mtl evaluate on the exported validation rows gives ${e} (not the same validation rows)`);
  checks.push(`mtl evaluate on the exported validation rows (sha256 ${split.validationSha256.slice(0, 12)}…) reproduces metrics.json (max |Δ| ${diff.toExponential(1)})`);
  return checks;
}

/**
 * The largest |got − want| over every finite metric of every task in `want` (per task: name → value); throws
 * `mismatch("task.metric", want, got)` at the first one `got` lacks or differs from by more than 1e-6 (relative above 1).
 */
function sameMetrics(d: Dataset, want: Record<string, Record<string, number>>, got: Record<string, Record<string, unknown>> | undefined, mismatch: (task: string, want: number, got: unknown) => string): number {
  let diff = 0;
  for (const t of d.spec.tasks) {
    for (const [k, v] of Object.entries(want[t.name])) {
      const g = got?.[t.name]?.[k];
      if (typeof v !== "number" || !Number.isFinite(v)) continue;
      if (typeof g !== "number" || !(Math.abs(g - v) <= 1e-6 * Math.max(1, Math.abs(v)))) throw new Error(mismatch(`${t.name}.${k}`, v, g));
      diff = Math.max(diff, Math.abs(g - v));
    }
  }
  return diff;
}
