// mtl affinity CONFIG.json [--epochs N] [--data PATH] [--every N] [--json]
//
// A short training run (default 3 epochs, the config's own epochs if fewer) with task-affinity recording on every
// step (src/train/affinity.ts), in memory (nothing is written). Prints the T×T cosine similarity of the task
// gradients on the shared parameters and TAG's lookahead affinity Z[i→j], both averaged over every sampled step of
// the run, then TAG's suggested grouping: the best partition of the tasks into 2 groups (and 3 when T ≥ 4), by the
// total affinity each task receives from the other members of its group (bestGrouping; T ≤ 10). --json prints
// { model, tasks, epochs, steps, every, cosine, tag, groupings, history } instead.
//
// Also the shape of DIR/affinity.json, which `mtl train` writes when the spec sets training.affinity.
import type { Kernels } from "../runtime/load.ts";
import type { ModelSpec } from "../model/spec.ts";
import { checkColumns, splitRows } from "../data/load.ts";
import { dataWarnings } from "../data/warnings.ts";
import { encode, fitPreprocessing } from "../data/preprocess.ts";
import { Model } from "../model/model.ts";
import { fit, type EpochLog } from "../train/trainer.ts";
import { bestGrouping, groupingScore, MAX_GROUPING_TASKS, type AffinitySummary } from "../train/affinity.ts";
import { intFlag, parseArgs, strFlag, UsageError } from "./args.ts";
import { readTrainingData, readSpec } from "./files.ts";
import { epochLine } from "./format.ts";

export const AFFINITY_USAGE = "mtl affinity CONFIG.json [--epochs N] [--data PATH] [--every N] [--json]";

/** Epochs `mtl affinity` trains unless --epochs says otherwise (fewer when the config asks for fewer). */
export const AFFINITY_EPOCHS = 3;

/** What the two matrices are, in affinity.json and --json output. */
export const AFFINITY_DEFINITIONS = {
  cosine: "cosine[i][j] = cos(g_i, g_j), g_t = gradient of task t's loss on the shared parameters, on the same batch",
  tag: "tag[i][j] = Z(i→j) = 1 − L_j(θ_s − lr·g_i) / L_j(θ_s): relative drop of task j's loss after a gradient step on task i (shared parameters, same batch; Fifty et al. 2021)",
  mean: "per pair, the mean over the sampled steps where both tasks had labels; null where they never did",
};

/** DIR/affinity.json: one entry per epoch. */
export function affinityJson(spec: ModelSpec, every: number, epochs: { epoch: number; affinity: AffinitySummary }[]) {
  return {
    model: spec.name,
    tasks: spec.tasks.map((t) => t.name),
    every,
    definitions: AFFINITY_DEFINITIONS,
    epochs: epochs.map((e) => ({ epoch: e.epoch, steps: e.affinity.steps, cosine: e.affinity.cosine, tag: e.affinity.tag })),
  };
}

/** JSON with two-space indentation, except that arrays of plain values stay on one line (matrix rows, task names). */
export function affinityText(value: unknown): string {
  const flat = (v: unknown) => v === null || typeof v !== "object";
  const text = (v: unknown, pad: string): string => {
    if (Array.isArray(v)) {
      if (v.every(flat)) return `[${v.map((x) => JSON.stringify(x ?? null)).join(", ")}]`;
      return `[\n${v.map((x) => pad + "  " + text(x, pad + "  ")).join(",\n")}\n${pad}]`;
    }
    if (v !== null && typeof v === "object") {
      const entries = Object.entries(v).filter(([, x]) => x !== undefined);
      if (!entries.length) return "{}";
      return `{\n${entries.map(([key, x]) => `${pad}  ${JSON.stringify(key)}: ${text(x, pad + "  ")}`).join(",\n")}\n${pad}}`;
    }
    return JSON.stringify(v ?? null);
  };
  return text(value, "") + "\n";
}

/** A T×T matrix with task names as row and column headers, cells by `cell` (default three decimals); missing as "—". */
export function formatMatrix(names: readonly string[], m: readonly (readonly (number | null)[])[], cell: (v: number) => string = (v) => v.toFixed(3)): string {
  const show = (v: number | null) => (v === null ? "—" : cell(v));
  const w = Math.max(...names.map((n) => n.length), ...m.flat().map((v) => show(v).length));
  const first = Math.max(...names.map((n) => n.length));
  const lines = [" ".repeat(first) + names.map((n) => "  " + n.padStart(w)).join("")];
  m.forEach((row, i) => lines.push(names[i].padEnd(first) + row.map((v) => "  " + show(v).padStart(w)).join("")));
  return lines.join("\n");
}

/**
 * Three significant digits: TAG's values scale with lr·‖g‖² (a plain gradient step, whatever the optimizer), so
 * with Adam's small learning rates they are often 1e-3 or less; only their signs and relative sizes matter.
 */
export function sig(v: number): string {
  return v === 0 ? "0" : Math.abs(v) >= 1e-3 ? v.toPrecision(3) : v.toExponential(2);
}

export interface Grouping {
  k: number;
  groups: string[][];
  score: number;
}

/** TAG's suggestions: all tasks together (for reference), the best split into 2 groups, and into 3 when T ≥ 4. */
export function suggestGroupings(names: readonly string[], tag: readonly (readonly (number | null)[])[]): Grouping[] {
  const T = names.length;
  const all = Array.from({ length: T }, (_, i) => i);
  const out: Grouping[] = [{ k: 1, groups: [all.map((i) => names[i])], score: groupingScore(tag, [all]) }];
  for (const k of T >= 4 ? [2, 3] : T >= 2 ? [2] : []) {
    const best = bestGrouping(tag, k);
    out.push({ k, groups: best.groups.map((g) => g.map((i) => names[i])), score: best.score });
  }
  return out;
}

export async function affinityCommand(argv: string[], kernels: () => Promise<Kernels>, log: (s: string) => void): Promise<number> {
  const p = parseArgs(argv, ["json"], ["epochs", "data", "every"], "affinity");
  if (p.positional.length !== 1) throw new UsageError(`usage: ${AFFINITY_USAGE}`);
  const spec0 = readSpec(p.positional[0]);
  const epochsFlag = intFlag(p, "epochs", "affinity"), every = intFlag(p, "every", "affinity") ?? 1;
  if (epochsFlag === 0) throw new UsageError("mtl affinity: --epochs must be at least 1");
  if (every < 1) throw new UsageError("mtl affinity: --every must be at least 1");
  const epochs = epochsFlag ?? Math.max(1, Math.min(AFFINITY_EPOCHS, spec0.training.epochs));
  const spec: ModelSpec = { ...spec0, training: { ...spec0.training, epochs, affinity: { every } } };
  const T = spec.tasks.length;
  if (T < 2) throw new UsageError(`mtl affinity: model ${spec.name} has ${T} task; affinity needs at least 2`);
  const dataPath = strFlag(p, "data") ?? spec.data?.path;
  if (!dataPath) throw new UsageError(`mtl affinity: ${p.positional[0]} has no data.path; pass --data FILE`);
  const json = p.flags.has("json");
  const say = json ? () => {} : log;

  const table = await readTrainingData(spec, dataPath);
  checkColumns(spec, table, { labels: true });
  const split = splitRows(spec, table);
  const warnings = dataWarnings(spec, table, split);
  for (const w of warnings) if (w.level === "error" || !json) say(`${w.level}: ${w.message}`);
  const fatal = warnings.filter((w) => w.level === "error");
  if (fatal.length) throw new Error(fatal.map((w) => w.message).join("\n"));
  const pre = fitPreprocessing(spec, table, split.train);
  const train = encode(spec, pre, table, split.train), validation = encode(spec, pre, table, split.validation);
  const model = new Model(spec, pre, await kernels());
  model.initParams(spec.training.seed);
  const steps = Math.ceil(train.rows / spec.training.batch_size);
  say(`affinity ${spec.name}: ${T} tasks, ${train.rows} training rows, ${epochs} epoch${epochs === 1 ? "" : "s"} of ${steps} steps, sampling ${every === 1 ? "every step" : `every ${every} steps`}`);
  const history: EpochLog[] = [];
  const result = await fit(model, train, validation, {
    onEpoch: (l) => {
      history.push(l);
      say(epochLine(l, epochs, spec.tasks.map((t) => t.name)));
    },
  });
  model.dispose();
  const run = result.affinity!;
  const names = spec.tasks.map((t) => t.name);
  const groupings = T <= MAX_GROUPING_TASKS ? suggestGroupings(names, run.tag) : null;
  if (json) {
    log(affinityText({ model: spec.name, tasks: names, epochs: history.length, steps: run.steps, every, definitions: AFFINITY_DEFINITIONS, cosine: run.cosine, tag: run.tag, groupings, history: history.map((h) => ({ epoch: h.epoch, ...h.affinity })) }).trimEnd());
    return 0;
  }
  log(`\ncosine similarity of the task gradients on the shared parameters (mean over ${run.steps} sampled steps)`);
  log(formatMatrix(names, run.cosine));
  log(`\nTAG lookahead affinity Z[i→j] = 1 − L_j(θ_s − lr·g_i)/L_j(θ_s) (row i: the task stepped on; column j: the loss measured; > 0 helps)`);
  log(formatMatrix(names, run.tag, sig));
  if (!groupings) {
    log(`\ngrouping: ${T} tasks is above the limit of ${MAX_GROUPING_TASKS} for the exhaustive search; not suggested`);
    return 0;
  }
  log(`\nsuggested grouping (TAG: maximize Σ_j the mean affinity onto task j from the other tasks of its group)`);
  for (const g of groupings) log(`  ${g.k === 1 ? "1 group: " : `${g.k} groups:`} ${g.groups.map((x) => `{${x.join(", ")}}`).join(" ")}  score ${sig(g.score)}`);
  return 0;
}
