// The suites of `npm run study:architectures` (bench/study-architectures.ts): each architecture at a matched
// trainable-parameter budget, trained per seed on Ma et al. 2018's synthetic data (ρ ∈ RHOS, test MSE per task)
// and on Census-Income (held-out AUC per task). An architecture the spec or the graph builder does not accept
// (not implemented yet) is a row with its error, never a crash.
//
// Matching: every architecture has a fixed structure (ARCHS: expert counts, levels) and one free width w, the units
// of its single expert / trunk / column layer. Its trainable parameter count P(w) (every graph parameter but
// state, as `mtl summary` counts them: embeddings, experts, gates, cross-stitch units, towers and heads) grows with
// w; the w with P(w) closest to the budget is used. The budget is the reference MMoE's count (8 experts of 16 units
// on the synthetic data, models/census-mmoe.json's 8 of 32 on census).
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { validateSpec, type ModelSpec } from "../../src/model/spec.ts";
import type { Kernels } from "../../src/runtime/load.ts";
import { dataDims, encode, fitPreprocessing, type Preprocessing } from "../../src/data/preprocess.ts";
import { lowerSpec } from "../../src/model/lower.ts";
import { summarize } from "../../src/graph/summary.ts";
import { mmoeSynthetic } from "../../src/data/synthetic.ts";
import { encoded, mse } from "./synthetic.ts";
import { readData } from "../../src/cli/files.ts";
import { checkColumns, splitRows } from "../../src/data/load.ts";
import { permutation } from "../../src/data/split.ts";
import { evaluatePredictions } from "../../src/metrics/evaluate.ts";
import { log, trainAndPredict, type RunResult } from "./common.ts";

export const RHOS = [1, 0.9, 0.5, 0];

/** The architectures compared, in table order: a fixed structure and the free width `w` (see the file header). */
export const ARCHS = {
  hps: { text: "shared bottom of w", at: (w: number) => ({ type: "hps", layers: [w] }) },
  mmoe: { text: "8 experts of w", at: (w: number) => ({ type: "mmoe", experts: 8, layers: [w] }) },
  cgc: { text: "4 shared + 2 per task experts of w", at: (w: number) => ({ type: "cgc", shared_experts: 4, task_experts: 2, layers: [w] }) },
  ple: { text: "2 levels of 2 shared + 1 per task experts of w", at: (w: number) => ({ type: "ple", levels: 2, shared_experts: 2, task_experts: 1, layers: [w] }) },
  cross_stitch: { text: "one column of w per task, stitched", at: (w: number) => ({ type: "cross_stitch", layers: [w] }) },
  dselect_k: { text: "8 experts of w, k = 2", at: (w: number) => ({ type: "dselect_k", experts: 8, k: 2, layers: [w] }) },
} as const;
export type ArchName = keyof typeof ARCHS;
export const ARCH_NAMES = Object.keys(ARCHS) as ArchName[];

/** An architecture at the budget: its width and parameter count, or why it is not available. */
export interface Matched {
  arch: ArchName;
  width: number;
  params: number;
  /** (params − budget) / budget. */
  off: number;
  /** Set when the spec or the graph builder refused the architecture. */
  unavailable?: string;
}

/** Trainable parameters of a spec's training graph (state excluded), as `mtl summary` counts them. */
export function trainableParams(spec: ModelSpec, pre: Preprocessing): number {
  const g = lowerSpec(spec, dataDims(spec, pre), pre, "encoded");
  return summarize(g).params.filter((p) => p.role !== "state").reduce((s, p) => s + p.size, 0);
}

const MAX_WIDTH = 1 << 16;

/** The width whose count is closest to `budget` (P is non-decreasing in w: doubling, then bisection). */
export function match(arch: ArchName, budget: number, specAt: (architecture: unknown) => ModelSpec, pre: Preprocessing): Matched {
  try {
    return search(arch, budget, (w) => trainableParams(specAt(ARCHS[arch].at(w)), pre));
  } catch (e) {
    return { arch, width: 0, params: 0, off: NaN, unavailable: e instanceof Error ? e.message : String(e) };
  }
}

function search(arch: ArchName, budget: number, count: (w: number) => number): Matched {
  const p1 = count(1);
  let hi = 1;
  while (count(hi) < budget && hi < MAX_WIDTH) hi *= 2;
  let lo = 1;
  if (p1 < budget) {
    // smallest w in (lo, hi] with P(w) ≥ budget
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (count(mid) >= budget) hi = mid;
      else lo = mid;
    }
  } else hi = 1;
  const w = hi > 1 && Math.abs(count(hi - 1) - budget) <= Math.abs(count(hi) - budget) ? hi - 1 : hi;
  const params = count(w);
  return { arch, width: w, params, off: (params - budget) / budget };
}

// ---- synthetic ---------------------------------------------------------------------------------------------------
export interface SyntheticOptions {
  seeds: number;
  archs: ArchName[];
  epochs: number;
  /** Training rows per data set (test rows: a fifth, at least 1,000). */
  rows: number;
  batch: number;
  lr: number;
}

export interface SyntheticRun {
  arch: ArchName;
  rho: number;
  seed: number;
  status: RunResult["status"];
  message?: string;
  seconds: number;
  /** Test MSE of y1 and y2 (label units). */
  mse: [number, number] | null;
}

const D = 100;
const synPre: Preprocessing = { numeric: [], categorical: [], tasks: ["y1", "y2"].map((name) => ({ name, classes: null, groups: null, target: null })) };

function synSpec(architecture: unknown, o: SyntheticOptions, seed: number): ModelSpec {
  return validateSpec({
    name: "synthetic-arch",
    inputs: { tensor: D },
    architecture,
    tasks: [
      { name: "y1", type: "regression", label: "y1", tower: [8], loss: "mse", metrics: ["rmse"] },
      { name: "y2", type: "regression", label: "y2", tower: [8], loss: "mse", metrics: ["rmse"] },
    ],
    training: { epochs: o.epochs, batch_size: o.batch, seed, optimizer: { type: "adam", lr: o.lr } },
  });
}

/** The synthetic budget: the reference MMoE (8 experts of 16, towers of 8) on d = 100 inputs. */
export function matchSynthetic(o: SyntheticOptions): { budget: number; matched: Matched[] } {
  const at = (a: unknown) => synSpec(a, o, 1);
  const budget = trainableParams(at(ARCHS.mmoe.at(16)), synPre);
  return { budget, matched: o.archs.map((a) => match(a, budget, at, synPre)) };
}

export async function runSynthetic(k: Kernels, o: SyntheticOptions, matched: Matched[]): Promise<SyntheticRun[]> {
  const testRows = Math.max(1000, Math.round(o.rows / 5));
  const runs: SyntheticRun[] = [];
  for (const rho of RHOS) {
    for (let s = 1; s <= o.seeds; s++) {
      // The balancing study's data seed per (ρ, seed): every architecture sees the same rows.
      const d = mmoeSynthetic({ rows: o.rows + testRows, correlation: rho, seed: 1000 * s + Math.round(rho * 100) });
      const train = encoded(d.x, d.y1, d.y2, 0, o.rows), test = encoded(d.x, d.y1, d.y2, o.rows, o.rows + testRows);
      for (const m of matched) {
        if (m.unavailable) continue;
        const r = await trainAndPredict(k, synSpec(ARCHS[m.arch].at(m.width), o, s), synPre, train, null, test);
        const run: SyntheticRun = { arch: m.arch, rho, seed: s, status: r.status, seconds: r.seconds, mse: r.preds ? [mse(r.preds[0], test.tasks[0].labels as Float32Array), mse(r.preds[1], test.tasks[1].labels as Float32Array)] : null };
        if (r.message) run.message = r.message;
        runs.push(run);
        log(`synthetic ${m.arch} ρ=${rho} seed ${s}: ${run.mse ? `test MSE ${run.mse.map((x) => x.toFixed(4)).join(", ")}` : `${r.status}: ${r.message}`} [${r.seconds.toFixed(1)} s]`);
      }
    }
  }
  return runs;
}

// ---- census ------------------------------------------------------------------------------------------------------
const ROOT = resolve(new URL("../..", import.meta.url).pathname);
export const CENSUS = join(ROOT, "../shared/data/census-income-kdd/census-income.shared.data.gz");
export const CENSUS_TASKS = ["income", "never_married"];

export interface CensusOptions {
  seeds: number;
  archs: ArchName[];
  /** Epoch cap (early stopping as in models/census-mmoe.json). */
  epochs: number;
  /** Rows of the file to use (a seeded subset of each split part); 0 = all. */
  rows: number;
}

export interface CensusRun {
  arch: ArchName;
  seed: number;
  status: RunResult["status"];
  message?: string;
  seconds: number;
  bestEpoch?: number;
  /** Per task: AUC and log-loss on the held-out test half. */
  metrics: Record<string, { auc: number; logloss: number }> | null;
}

export interface CensusData {
  raw: any;
  rows: { total: number; train: number; stop: number; test: number };
  budget: number;
  matched: Matched[];
  runs: CensusRun[];
}

/** Keep a seeded `frac` of `idx` (ascending order kept); all when frac ≥ 1. */
function keep(idx: Uint32Array, frac: number, seed: number): Uint32Array {
  if (frac >= 1) return idx;
  const p = permutation(idx.length, seed).slice(0, Math.max(1, Math.round(frac * idx.length))).sort();
  return Uint32Array.from(p, (i) => idx[i]);
}

/**
 * Per seed: the CLI's seeded 80/20 split of the file (training.seed = seed); the 20 % halved by a seeded
 * permutation into early-stopping rows and test rows, so the reported metrics are on rows no choice was made on.
 */
export async function runCensus(k: Kernels, o: CensusOptions): Promise<CensusData> {
  const raw = JSON.parse(readFileSync(join(ROOT, "models/census-mmoe.json"), "utf8"));
  raw.data.path = CENSUS;
  const spec0 = validateSpec(raw);
  const table = await readData(spec0, CENSUS);
  checkColumns(spec0, table, { labels: true });
  const frac = o.rows ? o.rows / table.rowCount : 1;
  const specAt = (architecture: unknown, seed: number) => validateSpec({ ...raw, architecture, training: { ...raw.training, seed, epochs: o.epochs } });
  const runs: CensusRun[] = [];
  let budget = 0, matched: Matched[] = [];
  const rows = { total: table.rowCount, train: 0, stop: 0, test: 0 };
  for (let seed = 1; seed <= o.seeds; seed++) {
    const split = splitRows(specAt(raw.architecture, seed), table);
    const train = keep(split.train, frac, 7000 + seed), held = keep(split.validation, frac, 8000 + seed);
    const order = permutation(held.length, 9000 + seed), half = Math.floor(held.length / 2);
    const stop = Uint32Array.from(order.slice(0, half), (i) => held[i]).sort(), test = Uint32Array.from(order.slice(half), (i) => held[i]).sort();
    Object.assign(rows, { train: train.length, stop: stop.length, test: test.length });
    const pre = fitPreprocessing(spec0, table, train);
    if (seed === 1) {
      // Counts with seed 1's vocabularies (other seeds' differ by a few embedding rows at most).
      budget = trainableParams(specAt(raw.architecture, 1), pre);
      matched = o.archs.map((a) => match(a, budget, (x) => specAt(x, 1), pre));
    }
    const enc = (idx: Uint32Array) => encode(spec0, pre, table, idx);
    const tr = enc(train), st = enc(stop), te = enc(test);
    for (const m of matched) {
      if (m.unavailable) continue;
      const spec = specAt(ARCHS[m.arch].at(m.width), seed);
      const r = await trainAndPredict(k, spec, pre, tr, st, te);
      let metrics: CensusRun["metrics"] = null;
      if (r.preds) {
        const v = evaluatePredictions(spec, pre, spec.tasks.map(() => 1), r.preds, te);
        metrics = Object.fromEntries(CENSUS_TASKS.map((t) => [t, { auc: v[t].auc, logloss: v[t].logloss }]));
      }
      const run: CensusRun = { arch: m.arch, seed, status: r.status, seconds: r.seconds, bestEpoch: r.bestEpoch, metrics };
      if (r.message) run.message = r.message;
      runs.push(run);
      log(`census ${m.arch} seed ${seed}: ${metrics ? CENSUS_TASKS.map((t) => `${t} AUC ${metrics![t].auc.toFixed(4)}`).join(", ") + ` (best epoch ${r.bestEpoch}/${r.epochsRun})` : `${r.status}: ${r.message}`} [${r.seconds.toFixed(1)} s]`);
    }
  }
  return { raw, rows, budget, matched, runs };
}
