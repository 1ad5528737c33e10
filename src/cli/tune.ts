// mtl tune CONFIG --trials N [--threads N] [--out DIR] [--seed N] [--eta N] [--min-epochs N] [--data PATH] [--quiet]
// Random search over the spec's ranges (src/tune/space.ts) with synchronous successive halving (src/tune/halving.ts).
// Writes DIR/tune.csv, DIR/tune.json (the search and every result, read by `mtl report DIR`) and DIR/best.json (the
// best trial's concrete spec, for `mtl train`); prints the top-5 leaderboard.
import { join } from "node:path";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import type { Kernels } from "../runtime/load.ts";
import { SpecError, validateSpec, type ModelSpec } from "../model/spec.ts";
import { parseJsonc } from "../util/jsonc.ts";
import { splitRows } from "../data/load.ts";
import { prepareSplit } from "../api/train.ts";
import { findRanges, resolveRanges, sampleTrial, type Range } from "../tune/space.ts";
import { leaderboard, rungEpochs, rungSizes, successiveHalving, type RunRung } from "../tune/halving.ts";
import { runTrial, tuneMetric } from "../tune/trial.ts";
import { leaderboardText, showValue, tuneCsv } from "../tune/output.ts";
import { tunePool } from "../tune/pool.ts";
import { intFlag, parseArgs, strFlag, UsageError } from "./args.ts";
import { readTrainingData, writeJson } from "./files.ts";
import { writeFileAtomic } from "../io/atomic.ts";

export const TUNE_USAGE = "mtl tune CONFIG.json --trials N [--threads N] [--out DIR] [--seed N] [--eta N] [--min-epochs N] [--data PATH] [--quiet]";

export const MAX_TRIALS = 10000;

/** The raw JSON of a config (JSONC), for its ranges; validation comes after sampling. */
function readRaw(path: string): unknown {
  if (!existsSync(path)) throw new UsageError(`config ${path}: no such file`);
  try {
    return parseJsonc(readFileSync(path, "utf8"));
  } catch (e) {
    throw new UsageError(`config ${path}: not valid JSON: ${(e as Error).message}`);
  }
}

/** The ranges of `json` and each trial's values and validated spec; errors name the config, the trial and the field. */
export function sampleSpecs(json: unknown, trials: number, seed: number, config: string): { ranges: Range[]; values: unknown[][]; specs: ModelSpec[]; concrete: unknown[] } {
  let ranges: Range[];
  try {
    ranges = findRanges(json);
  } catch (e) {
    throw new UsageError(`config ${config}: ${(e as Error).message}`);
  }
  if (!ranges.length) throw new UsageError(`config ${config}: no search range to tune; give a field a range such as "lr": {"log_uniform": [1e-4, 1e-2]}, {"uniform": [a, b]}, {"int": [a, b]} or {"choice": [...]} (or train it with mtl train)`);
  const epochsRange = ranges.find((r) => r.path === "training.epochs");
  if (epochsRange) throw new UsageError(`config ${config}: training.epochs: is a search range, but the rungs of successive halving set the epochs (the last rung trains training.epochs); give one value`);
  const values: unknown[][] = [], specs: ModelSpec[] = [], concrete: unknown[] = [];
  for (let i = 0; i < trials; i++) {
    const v = sampleTrial(ranges, seed, i);
    const c = resolveRanges(json, ranges, v);
    try {
      specs.push(validateSpec(c as never));
    } catch (e) {
      if (!(e instanceof SpecError)) throw e;
      throw new UsageError(`config ${config}: trial ${i} (${ranges.map((r, j) => `${r.path} = ${showValue(v[j])}`).join(", ")}): ${e.message}`);
    }
    values.push(v);
    concrete.push(c);
  }
  return { ranges, values, specs, concrete };
}

export async function tuneCommand(argv: string[], kernels: () => Promise<Kernels>, log: (s: string) => void, module?: () => Promise<WebAssembly.Module>): Promise<number> {
  const p = parseArgs(argv, ["quiet"], ["trials", "threads", "out", "seed", "eta", "min-epochs", "data"], "tune");
  if (p.positional.length !== 1) throw new UsageError(`usage: ${TUNE_USAGE}`);
  const config = p.positional[0];
  const trials = intFlag(p, "trials", "tune");
  if (trials === undefined) throw new UsageError(`mtl tune: --trials N is required\nusage: ${TUNE_USAGE}`);
  if (trials < 1 || trials > MAX_TRIALS) throw new UsageError(`mtl tune: --trials must be an integer in [1, ${MAX_TRIALS}], found ${trials}`);
  const threads = intFlag(p, "threads", "tune") ?? 1;
  if (threads < 1 || threads > 64) throw new UsageError(`mtl tune: --threads must be an integer in [1, 64] (trials run at once, one thread each), found ${threads}`);
  if (threads > 1 && !module) throw new UsageError("mtl tune: --threads needs the compiled kernel module");
  const seed = intFlag(p, "seed", "tune") ?? 1;
  if (seed > 2 ** 31 - 1) throw new UsageError(`mtl tune: --seed must be an integer in [0, 2^31 − 1], found ${seed}`);
  const eta = intFlag(p, "eta", "tune") ?? 3;
  if (eta < 2) throw new UsageError(`mtl tune: --eta must be an integer ≥ 2 (the reduction factor), found ${eta}`);
  const quiet = p.flags.has("quiet");
  const say = quiet ? () => {} : log;

  const json = readRaw(config);
  const { ranges, values, specs, concrete } = sampleSpecs(json, trials, seed, config);
  const base = specs[0];
  const minEpochs = intFlag(p, "min-epochs", "tune") ?? 1;
  if (minEpochs < 1 || minEpochs > base.training.epochs) throw new UsageError(`mtl tune: --min-epochs must be an integer in [1, training.epochs = ${base.training.epochs}], found ${minEpochs}`);
  const epochs = rungEpochs(base.training.epochs, eta, minEpochs);
  const sizes = rungSizes(trials, epochs.length, eta);
  const { ref, higherIsBetter } = tuneMetric(base);
  const out = strFlag(p, "out") ?? join("out", `tune-${base.name}`);
  const dataPath = strFlag(p, "data") ?? base.data?.path;
  if (!dataPath) throw new UsageError(`mtl tune: ${config} has no data.path; pass --data FILE`);

  const t0 = performance.now();
  const table = await readTrainingData(base, dataPath);
  // One split for every trial: the spec's seed and validation fraction, which ranges may not change (space.ts).
  const split = prepareSplit(base, table, (w) => log(`${w.level}: ${w.message}`), splitRows(base, table));
  if (!split.validation.length) throw new UsageError(`mtl tune: trials are compared on validation rows, and ${config} has none (training.validation is 0 and no data.validation_path)`);
  say(`data ${dataPath}: ${table.rowCount} rows → train ${split.train.length}, validation ${split.validation.length} (seed ${base.training.seed})`);
  say(`tune: ${trials} trials over ${ranges.map((r) => r.path).join(", ")}; successive halving η = ${eta}, rungs ${epochs.map((e, k) => `${sizes[k]}×${e}`).join(" → ")} epochs; metric ${ref} (${higherIsBetter ? "higher" : "lower"} is better); ${threads} thread${threads > 1 ? "s" : ""}`);

  let run: RunRung, close = async () => {};
  if (threads > 1) {
    const pool = await tunePool({ threads, module: await module!(), dataPath, specs: concrete });
    run = pool.run;
    close = pool.close;
  } else {
    const k = await kernels();
    run = async (jobs) => {
      const res = [];
      for (const j of jobs) res.push(await runTrial(specs[j.trial], table, split, k, j.epochs));
      return res;
    };
  }
  let results;
  try {
    results = await successiveHalving(trials, epochs, eta, higherIsBetter, run, (rung) => {
      const ok = rung.filter((r) => !Number.isNaN(r.metric));
      const best = ok.length ? (higherIsBetter ? Math.max(...ok.map((r) => r.metric)) : Math.min(...ok.map((r) => r.metric))) : NaN;
      say(`rung ${rung[0].rung + 1}/${epochs.length}: ${rung.length} trials × ${rung[0].epochs} epochs, best ${ref} ${best.toFixed(5)}${rung.length - ok.length ? `, ${rung.length - ok.length} diverged` : ""}, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    });
  } finally {
    await close();
  }
  const board = leaderboard(results, higherIsBetter);
  const best = board[0];
  if (Number.isNaN(best.metric)) throw new Error(`every trial diverged (trial ${best.trial}: ${best.error}); narrow the ranges`);
  const seconds = (performance.now() - t0) / 1000;

  mkdirSync(out, { recursive: true });
  await writeFileAtomic(join(out, "tune.csv"), tuneCsv(ranges, values, results));
  await writeJson(join(out, "best.json"), concrete[best.trial]);
  await writeJson(join(out, "tune.json"), {
    config,
    model: base.name,
    data: dataPath,
    search: { method: "successive halving (synchronous, one Hyperband bracket)", seed, trials, eta, min_epochs: minEpochs, rungs: epochs, sizes, threads },
    metric: ref,
    higher_is_better: higherIsBetter,
    ranges: ranges.map((r) => ({ path: r.path, kind: r.kind, values: r.values })),
    values,
    results: results.map((r) => ({ ...r, metric: Number.isNaN(r.metric) ? null : r.metric })),
    leaderboard: board.map((r) => r.trial),
    best: { trial: best.trial, metric: best.metric, epochs: best.epochs },
    seconds,
  });
  log(leaderboardText(ranges, values, board, ref));
  log(`best: trial ${best.trial}, ${ref} ${best.metric.toFixed(5)} at ${best.epochs} epochs; ${results.length} runs in ${seconds.toFixed(1)} s`);
  log(`wrote ${join(out, "tune.csv")}, ${join(out, "tune.json")}, ${join(out, "best.json")} (train it: mtl train ${join(out, "best.json")} --out DIR)`);
  return 0;
}
