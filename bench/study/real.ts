// The real-data suites: Census-Income (models/census-mmoe.json) and School (models/school.json's inputs and trunk,
// one task per school). Per seed:
//   1. `mtl train SPEC --single-task --seed S --epochs E` (src/cli/train.ts, run in-process): the static-weighting MTL
//      model and one single-task model per task with the same trunk, exactly as the command builds them; its
//      metrics.json gives the baselines (and a static MTL run to cross-check step 2 against).
//   2. every method through the library, as trainOne does it (the same split, preprocessing and initialization):
//      validation metrics and Δm (src/metrics/delta-m.ts) against step 1's single-task models.
import { mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { join, resolve } from "node:path";
import type { Kernels } from "../../src/runtime/load.ts";
import { validateSpec, higherIsBetter, type ModelSpec } from "../../src/model/spec.ts";
import { readData } from "../../src/cli/files.ts";
import { checkColumns, splitRows } from "../../src/data/load.ts";
import { encode, fitPreprocessing } from "../../src/data/preprocess.ts";
import { evaluatePredictions, type TaskMetrics } from "../../src/metrics/evaluate.ts";
import { deltaM } from "../../src/metrics/delta-m.ts";
import { permutation } from "../../src/data/split.ts";
import { trainCommand } from "../../src/cli/train.ts";
import { loadKernels } from "../../src/runtime/load.ts";
import { fmt, log, meanStd, specFor, statusCell, trainAndPredict, type MethodRow, type RunResult } from "./common.ts";
import { label } from "./synthetic.ts";

export type SuiteName = "census" | "school";

export interface RealOptions {
  seeds: number;
  methods: MethodRow[];
  /** Epoch cap (early stopping as in the spec still applies). */
  epochs: number;
  /** Rows of the data file to use (a seeded subset, original order kept); 0 = all. */
  rows: number;
  /** Where derived data files, specs and the CLI's model directories go (deleted afterwards). */
  work: string;
  /** The compiled kernels (each `mtl train` instantiates its own, as the command does). */
  module: WebAssembly.Module;
}

export interface RealRun {
  seed: number;
  method: string;
  status: RunResult["status"];
  message?: string;
  seconds: number;
  bestEpoch?: number;
  epochsRun?: number;
  validation: Record<string, TaskMetrics> | null;
  deltaM: number | null;
}

export interface Baseline {
  seed: number;
  /** `mtl train --single-task` wall time (the static MTL model, T single-task models, each exported and checked in ORT). */
  cliSeconds: number;
  single: Record<string, TaskMetrics>;
  /** The CLI's own static MTL run and its Δm (the cross-check of the library path). */
  cliStatic: Record<string, TaskMetrics>;
  cliDeltaM: number;
}

export interface RealResult {
  suite: SuiteName;
  spec: ModelSpec;
  dataRows: number;
  totalRows: number;
  train: number;
  validation: number;
  baselines: Baseline[];
  runs: RealRun[];
  wall: number;
}

const ROOT = resolve(new URL("../..", import.meta.url).pathname);
const CENSUS = join(ROOT, "../shared/data/census-income-kdd/census-income.shared.data.gz");
const SCHOOL = join(ROOT, "../shared/data/school/school.shared.csv");

/** A seeded subset of `rows` lines (original order kept), or all of them. */
function subset(lines: string[], rows: number, seed: number): string[] {
  if (!rows || rows >= lines.length) return lines;
  const keep = permutation(lines.length, seed).slice(0, rows).sort();
  return Array.from(keep, (i) => lines[i]);
}

/** Write the suite's data file and spec under `work`; returns the spec path and row counts. */
function prepare(suite: SuiteName, o: RealOptions): { specPath: string; dataRows: number; totalRows: number } {
  mkdirSync(o.work, { recursive: true });
  if (suite === "census") {
    const lines = gunzipSync(readFileSync(CENSUS)).toString("utf8").split("\n").filter((l) => l.trim());
    const keep = subset(lines, o.rows, 20240613);
    const dataPath = join(o.work, "census.data");
    writeFileSync(dataPath, keep.join("\n") + "\n");
    const raw = JSON.parse(readFileSync(join(ROOT, "models/census-mmoe.json"), "utf8"));
    raw.data.path = dataPath;
    const specPath = join(o.work, "census-mmoe.json");
    writeFileSync(specPath, JSON.stringify(raw, null, 2));
    return { specPath, dataRows: keep.length, totalRows: lines.length };
  }
  // School: models/school.json declares ONE task with group_by: school, so a balancing method sees T = 1 and
  // --single-task trains the same model again. Here each school is its own task: a label column score_<s> holding
  // exam_score in school s's rows and empty (missing) elsewhere, so a row trains only its school's head.
  const text = readFileSync(SCHOOL, "utf8").trim().split("\n");
  const header = text[0].split(","), si = header.indexOf("school"), yi = header.indexOf("exam_score");
  const body = subset(text.slice(1), o.rows, 20240613);
  const schools = [...new Set(body.map((l) => l.split(",")[si]))].sort((a, b) => +a - +b);
  const col = new Map(schools.map((s, i) => [s, i]));
  const out = [[...header, ...schools.map((s) => `score_${s}`)].join(",")];
  for (const l of body) {
    const f = l.split(","), y = new Array<string>(schools.length).fill("");
    y[col.get(f[si])!] = f[yi];
    out.push([...f, ...y].join(","));
  }
  const dataPath = join(o.work, "school-tasks.csv");
  writeFileSync(dataPath, out.join("\n") + "\n");
  const base = JSON.parse(readFileSync(join(ROOT, "models/school.json"), "utf8"));
  const raw = {
    name: "school-139",
    description: "models/school.json's inputs, trunk and training, with one regression task per school (its own head, no group_l2).",
    data: { ...base.data, path: dataPath },
    inputs: base.inputs,
    architecture: base.architecture,
    // RMSE and MAE only: a school's validation rows (4–40) make its R² / explained variance near or below 0, where
    // a relative change (Δm) is undefined or flips sign.
    tasks: schools.map((s) => ({ name: `score_${s}`, type: "regression", label: `score_${s}`, tower: [], metrics: ["rmse", "mae"] })),
    training: base.training,
  };
  const specPath = join(o.work, "school-139.json");
  writeFileSync(specPath, JSON.stringify(raw, null, 2));
  return { specPath, dataRows: body.length, totalRows: text.length - 1 };
}

/** Δm as `mtl train --single-task` computes it: per task, its finite metrics with a non-zero baseline. */
function deltaMOf(spec: ModelSpec, mtl: Record<string, TaskMetrics>, single: Record<string, TaskMetrics>): number {
  return deltaM(spec.tasks.map((t) => ({ name: t.name, metrics: t.metrics.filter((m) => Number.isFinite(mtl[t.name][m]) && Number.isFinite(single[t.name][m]) && single[t.name][m] !== 0).map((m) => ({ name: `${t.name}.${m}`, mtl: mtl[t.name][m], single: single[t.name][m], higherIsBetter: higherIsBetter(m) })) })).filter((t) => t.metrics.length));
}

export async function runReal(suite: SuiteName, k: Kernels, o: RealOptions): Promise<RealResult> {
  const t0 = performance.now();
  const { specPath, dataRows, totalRows } = prepare(suite, o);
  const raw = JSON.parse(readFileSync(specPath, "utf8"));
  const spec0 = validateSpec(raw);
  const table = await readData(spec0, spec0.data!.path!);
  checkColumns(spec0, table, { labels: true });
  const baselines: Baseline[] = [], runs: RealRun[] = [];
  let nTrain = 0, nVal = 0;
  for (let seed = 1; seed <= o.seeds; seed++) {
    // 1. the CLI's own single-task baselines (and its static MTL run)
    const dir = join(o.work, `${suite}-seed${seed}`);
    const tc = performance.now();
    const cliLog: string[] = [];
    const code = await trainCommand([specPath, "--out", dir, "--seed", String(seed), "--epochs", String(o.epochs), "--single-task", "--quiet"], () => loadKernels(o.module), (s) => cliLog.push(s));
    if (code !== 0) throw new Error(`mtl train --single-task exited ${code}: ${cliLog.join("\n")}`);
    const summary = JSON.parse(readFileSync(join(dir, "metrics.json"), "utf8"));
    rmSync(dir, { recursive: true, force: true });
    const b: Baseline = { seed, cliSeconds: (performance.now() - tc) / 1000, single: summary.single_task, cliStatic: summary.validation, cliDeltaM: summary.delta_m };
    baselines.push(b);
    log(`${suite} seed ${seed}: mtl train --single-task: static MTL Δm ${b.cliDeltaM.toFixed(3)} % [${b.cliSeconds.toFixed(1)} s]`);

    // 2. every method, through the library, on the split and preprocessing trainOne uses
    const split = splitRows(specFor(raw, o.methods[0], { seed }), table);
    nTrain = split.train.length;
    nVal = split.validation.length;
    const pre = fitPreprocessing(spec0, table, split.train);
    const train = encode(spec0, pre, table, split.train), validation = encode(spec0, pre, table, split.validation);
    for (const m of o.methods) {
      const spec = specFor(raw, m, { seed, epochs: o.epochs });
      const r = await trainAndPredict(k, spec, pre, train, validation, validation);
      const metrics = r.preds ? evaluatePredictions(spec, pre, spec.tasks.map((_, i) => r.preds![i].length / validation.rows), r.preds, validation) : null;
      let dm: number | null = null;
      if (metrics) {
        try {
          dm = deltaMOf(spec, metrics, b.single);
        } catch (e) {
          r.status = "error";
          r.message = `Δm: ${(e as Error).message}`;
        }
      }
      const run: RealRun = { seed, method: m.key, status: r.status, seconds: r.seconds, bestEpoch: r.bestEpoch, epochsRun: r.epochsRun, validation: metrics, deltaM: dm };
      if (r.message) run.message = r.message;
      runs.push(run);
      log(`${suite} seed ${seed} ${m.key}: ${r.status === "ok" ? `Δm ${dm!.toFixed(3)} % (best epoch ${r.bestEpoch}/${r.epochsRun})` : `${r.status}: ${r.message}`} [${r.seconds.toFixed(1)} s]`);
    }
  }
  return { suite, spec: spec0, dataRows, totalRows, train: nTrain, validation: nVal, baselines, runs, wall: (performance.now() - t0) / 1000 };
}

/** Pooled RMSE over every validation row of the per-task RMSEs and counts (School: comparable to the data README). */
function pooledRmse(v: Record<string, TaskMetrics>): number {
  let se = 0, n = 0;
  for (const m of Object.values(v)) if (Number.isFinite(m.rmse) && m.count) (se += m.count * m.rmse * m.rmse), (n += m.count);
  return Math.sqrt(se / n);
}

const meanOver = (v: Record<string, TaskMetrics>, metric: string) => meanStd(Object.values(v).map((m) => m[metric])).mean;

export function realMarkdown(r: RealResult, o: RealOptions): string {
  const out: string[] = [];
  const spec = r.spec, census = r.suite === "census";
  const subsetNote = r.dataRows < r.totalRows ? `a seeded subset of ${r.dataRows.toLocaleString("en")} of the file's ${r.totalRows.toLocaleString("en")} rows (\`--rows ${r.dataRows}\`)` : `all ${r.totalRows.toLocaleString("en")} rows`;
  const es = spec.training.early_stopping;
  out.push(census ? `## Census-Income (KDD), MMoE: validation metrics and Δm` : `## School, one task per school (${spec.tasks.length} tasks): validation metrics and Δm`);
  out.push("");
  out.push(census
    ? `models/census-mmoe.json (8 experts of 32, towers of 16, Adam lr ${spec.training.optimizer.lr}, batch ${spec.training.batch_size}) on ${subsetNote} of ../shared/data/census-income-kdd; the CLI's seeded 80/20 split per seed (${r.train.toLocaleString("en")} train / ${r.validation.toLocaleString("en")} validation rows).`
    : `models/school.json's inputs, trunk (HPS, 32 ReLU units, dropout 0.2) and training (Adam lr ${spec.training.optimizer.lr}, batch ${spec.training.batch_size}) on ${subsetNote} of ../shared/data/school, but with **one task per school**: school.json's single \`group_by\` task is one task to the balancing methods (T = 1, nothing to balance) and to \`--single-task\` (which would retrain the same model), so each school gets its own label column (missing in other schools' rows) and its own linear head, targets standardized per school; no \`group_l2\`. The CLI's seeded split, 20 % of each school (${r.train.toLocaleString("en")} train / ${r.validation.toLocaleString("en")} validation rows). Metrics per school: RMSE and MAE (R² and explained variance on a school's 4–40 validation rows sit near or below 0, where Δm's relative change is undefined or flips sign).`);
  out.push("");
  out.push(`At most ${o.epochs} epochs${es ? `, early stopping on ${es.metric} (patience ${es.patience}) restoring the best epoch, so the metrics are the best epoch's *validation* numbers (the epoch is selected on the same rows)` : ""}; ${o.seeds} seed${o.seeds > 1 ? "s" : ""} (split, initialization, shuffling, dropout), mean ± sample std. ` +
    `Δm (LibMTL's, src/metrics/delta-m.ts; + = better) is per seed against that seed's single-task models from \`mtl train --single-task\` (one model per task, same trunk, static weighting), averaging each task's metrics (${[...new Set(spec.tasks.flatMap((t) => t.metrics))].join(", ")}) then the tasks. ` +
    `Every method uses its defaults. Suite wall time ${(r.wall / 60).toFixed(1)} min.` +
    (census ? "" : ` Caveat: each single-task model selects its best epoch on its own school's 4–40 validation rows (${spec.tasks.length} separate selections on the rows it is scored on), the multi-task models one epoch for all schools, so the selection favours the baselines and biases School's Δm against every multi-task row alike.`));
  out.push("");
  // Cross-check: the library's static run vs the CLI's static MTL model (the same code path, so equal to the bit).
  const checks = r.baselines.map((b) => {
    const lib = r.runs.find((x) => x.seed === b.seed && x.method === "static");
    if (!lib?.validation) return null;
    let diff = 0;
    for (const t of spec.tasks) for (const m of t.metrics) diff = Math.max(diff, Math.abs(lib.validation[t.name][m] - b.cliStatic[t.name][m]));
    return diff;
  }).filter((x): x is number => x !== null);
  if (checks.length) out.push(`Check: the static row (trained here through the library) ${Math.max(...checks) === 0 ? "equals" : `differs by up to ${Math.max(...checks).toExponential(2)} from`} the static MTL model \`mtl train --single-task\` trained in each seed (CLI Δm ${fmt(r.baselines.map((b) => b.cliDeltaM), 2)} %).`);
  out.push("");

  // columns
  type Col = { head: string; get: (v: Record<string, TaskMetrics>) => number; digits: number; higher: boolean };
  const cols: Col[] = census
    ? spec.tasks.flatMap((t) => t.metrics.map((m) => ({ head: `${t.name} ${m}`, get: (v: Record<string, TaskMetrics>) => v[t.name][m], digits: 4, higher: higherIsBetter(m) })))
    : [
        { head: "pooled RMSE", get: pooledRmse, digits: 3, higher: false },
        { head: "mean per-school RMSE", get: (v) => meanOver(v, "rmse"), digits: 3, higher: false },
        { head: "mean per-school MAE", get: (v) => meanOver(v, "mae"), digits: 3, higher: false },
      ];
  const methods = [...new Set(r.runs.map((x) => x.method))];
  const vals = (m: string, c: Col) => r.runs.filter((x) => x.method === m).map((x) => (x.validation ? c.get(x.validation) : NaN));
  const dms = (m: string) => r.runs.filter((x) => x.method === m).map((x) => (x.deltaM ?? NaN));
  const best = cols.map((c) => {
    const ms = methods.map((m) => meanStd(vals(m, c)).mean).filter(Number.isFinite);
    return c.higher ? Math.max(...ms) : Math.min(...ms);
  });
  const bestDm = Math.max(...methods.map((m) => meanStd(dms(m)).mean).filter(Number.isFinite));
  out.push(`| method | ${cols.map((c) => c.head).join(" | ")} | Δm % | best epoch | NaN / errors | s/run |`);
  out.push(`|---|${cols.map(() => "---:").join("|")}|---:|---:|---|---:|`);
  out.push(`| *single-task (static), one model per task* | ${cols.map((c) => fmt(r.baselines.map((b) => c.get(b.single)), c.digits)).join(" | ")} | 0 | | | ${meanStd(r.baselines.map((b) => b.cliSeconds)).mean.toFixed(1)}¹ |`);
  const notes: string[] = [];
  for (const m of methods) {
    const mine = r.runs.filter((x) => x.method === m);
    const failed = mine.filter((x) => x.status !== "ok");
    let foot: number | null = null;
    if (failed.length) {
      foot = notes.length + 2;
      notes.push(...failed.map((x) => `${label(m)} seed ${x.seed}: ${x.status}: ${x.message}`));
    }
    const cells = cols.map((c, i) => {
      const v = vals(m, c);
      return fmt(v, c.digits, meanStd(v).mean === best[i]);
    });
    const d = dms(m);
    const epochs = mine.filter((x) => x.bestEpoch !== undefined).map((x) => x.bestEpoch!);
    out.push(`| ${label(m)} | ${cells.join(" | ")} | ${fmt(d, 2, meanStd(d).mean === bestDm)} | ${epochs.length ? meanStd(epochs).mean.toFixed(1) : "—"} | ${statusCell(mine, foot)} | ${meanStd(mine.map((x) => x.seconds)).mean.toFixed(1)} |`);
  }
  out.push("");
  out.push(`¹ wall time of one \`mtl train --single-task\` run: the static MTL model and ${spec.tasks.length} single-task models, each exported to ONNX and checked in onnxruntime-web. Bold: the best mean of each column.`);
  if (notes.length) {
    out.push("");
    out.push("Failures (exact messages):");
    out.push("");
    notes.forEach((n, i) => out.push(`${i + 2}. ${n}`));
  }
  return out.join("\n") + "\n";
}

export function cleanup(work: string): void {
  if (existsSync(work)) rmSync(work, { recursive: true, force: true });
}
