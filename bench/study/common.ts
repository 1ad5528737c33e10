// Shared pieces of `npm run study:balancing` (bench/study-balancing.ts): the method rows (every weighting in each
// gradient mode LibMTL allows), one training run with its failure captured as data, and mean ± std.
import { validateSpec, WEIGHTINGS, WEIGHTING_GRADIENTS, type ModelSpec, type WeightingName } from "../../src/model/spec.ts";
import type { Kernels } from "../../src/runtime/load.ts";
import type { Encoded, Preprocessing } from "../../src/data/preprocess.ts";
import { Model } from "../../src/model/model.ts";
import { fit } from "../../src/train/trainer.ts";

/** One row of a table: a weighting method, and for the "both" methods the gradient mode. */
export interface MethodRow {
  /** `mgda:param`, `mgda:rep`, or the method name when it has one mode. */
  key: string;
  type: WeightingName;
  /** rep_grad, for gradient methods; undefined for loss-level methods. */
  rep?: boolean;
  label: string;
}

/** Every method in the spec's catalogue order; "both" methods twice (param, rep), as LibMTL allows. */
export function allMethodRows(): MethodRow[] {
  const rows: MethodRow[] = [];
  for (const m of WEIGHTINGS) {
    const kind = WEIGHTING_GRADIENTS[m];
    if (kind === "loss") rows.push({ key: m, type: m, label: m });
    else if (kind === "param") rows.push({ key: m, type: m, rep: false, label: m });
    else if (kind === "rep") rows.push({ key: m, type: m, rep: true, label: `${m} (rep)` });
    else {
      rows.push({ key: `${m}:param`, type: m, rep: false, label: `${m} (param)` });
      rows.push({ key: `${m}:rep`, type: m, rep: true, label: `${m} (rep)` });
    }
  }
  return rows;
}

/** `--methods a,b:rep`: a name selects all its rows, `name:param|rep` one; static always comes first. */
export function selectMethods(list: string | undefined): MethodRow[] {
  const all = allMethodRows();
  if (!list) return all;
  const want = list.split(",").map((s) => s.trim()).filter(Boolean);
  for (const w of want) {
    if (!all.some((r) => r.key === w || r.type === w)) throw new Error(`--methods: unknown method ${JSON.stringify(w)}; known: ${all.map((r) => r.key).join(", ")}`);
  }
  return all.filter((r) => want.some((w) => r.key === w || r.type === w));
}

/** The spec `raw` with this row's weighting (defaults for every option) and training overrides. */
export function specFor(raw: any, row: MethodRow, training: Record<string, unknown> = {}): ModelSpec {
  const weighting: Record<string, unknown> = { type: row.type };
  if (row.rep !== undefined) weighting.rep_grad = row.rep;
  return validateSpec({ ...raw, training: { ...raw.training, ...training, weighting } });
}

export type Status = "ok" | "nonfinite" | "error";

export interface RunResult {
  status: Status;
  /** The thrown error's message (a non-finite loss is the trainer's "training step N (epoch E): … is not finite"). */
  message?: string;
  seconds: number;
  /** Predictions on the evaluation rows (absent when training failed). */
  preds?: Float32Array[];
  bestEpoch?: number;
  epochsRun?: number;
}

/** The trainer's messages for a non-finite objective (src/train/trainer.ts: nonFinite and the post-update check). */
const NON_FINITE = /is not finite|made the objective/;

/**
 * Train one model as `mtl train` does (new Model, initParams(seed), fit on this thread) and predict `evaluate`.
 * A thrown error is returned, never hidden or retried: a non-finite loss is `nonfinite`, anything else `error`.
 * Predictions that are not finite after a finished run are also `nonfinite`.
 */
export async function trainAndPredict(k: Kernels, spec: ModelSpec, pre: Preprocessing, train: Encoded, validation: Encoded | null, evaluate: Encoded, epochs?: number): Promise<RunResult> {
  const t0 = performance.now();
  let model: Model | null = null;
  try {
    model = new Model(spec, pre, k);
    model.initParams(spec.training.seed);
    const r = await fit(model, train, validation, epochs !== undefined ? { epochs } : {});
    const preds = model.predict(evaluate);
    const seconds = (performance.now() - t0) / 1000;
    const bad = preds.findIndex((p) => p.some((v) => !Number.isFinite(v)));
    if (bad >= 0) return { status: "nonfinite", message: `training finished but task ${spec.tasks[bad].name}'s predictions are not finite`, seconds, bestEpoch: r.bestEpoch, epochsRun: r.state.epoch };
    return { status: "ok", seconds, preds, bestEpoch: r.bestEpoch, epochsRun: r.state.epoch };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    return { status: NON_FINITE.test(message) ? "nonfinite" : "error", message, seconds: (performance.now() - t0) / 1000 };
  } finally {
    model?.dispose();
  }
}

/** Mean and sample standard deviation (n − 1; 0 for one value) of the finite values; n counts them. */
export function meanStd(xs: readonly number[]): { mean: number; std: number; n: number } {
  const v = xs.filter((x) => Number.isFinite(x));
  const n = v.length;
  if (!n) return { mean: NaN, std: NaN, n: 0 };
  const mean = v.reduce((a, b) => a + b, 0) / n;
  const ss = v.reduce((a, b) => a + (b - mean) * (b - mean), 0);
  return { mean, std: n > 1 ? Math.sqrt(ss / (n - 1)) : 0, n };
}

/** "mean ± std" with `digits` decimals; "—" when no run finished; "(k/n)" when only k of n runs did. */
export function fmt(xs: readonly number[], digits: number, bold = false): string {
  const { mean, std, n } = meanStd(xs);
  if (!n) return "—";
  const s = `${mean.toFixed(digits)} ± ${std.toFixed(digits)}`;
  const partial = n < xs.length ? ` (${n}/${xs.length})` : "";
  return (bold ? `**${s}**` : s) + partial;
}

/** The status cell: "ok", or what failed in how many of the runs (the messages are listed under the table). */
export function statusCell(results: readonly { status: Status }[], footnote: number | null): string {
  const nf = results.filter((r) => r.status === "nonfinite").length, er = results.filter((r) => r.status === "error").length;
  if (!nf && !er) return "ok";
  const parts = [];
  if (nf) parts.push(`**NaN ${nf}/${results.length}**`);
  if (er) parts.push(`**error ${er}/${results.length}**`);
  return parts.join(", ") + (footnote !== null ? ` [${footnote}]` : "");
}

export function log(s: string): void {
  process.stderr.write(s + "\n");
}

/**
 * A study's command line: `--name value` or `--name=value` for each of `valued`, the bare `flags` (set to "1"), and
 * --help (prints `usage`, exits). Anything else is an error naming it.
 */
export function parseStudyArgs(argv: readonly string[], valued: readonly string[], usage: string, flags: readonly string[] = []): Map<string, string> {
  const m = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--help" || a === "-h") {
      console.log(usage);
      process.exit(0);
    }
    if (a.startsWith("--") && flags.includes(a.slice(2))) {
      m.set(a.slice(2), "1");
      continue;
    }
    const [name, inline] = a.startsWith("--") ? a.slice(2).split("=", 2) : [null, null];
    if (!name || !valued.includes(name)) throw new Error(`unknown argument ${JSON.stringify(a)}\nusage: ${usage}`);
    const v = inline ?? argv[++i];
    if (v === undefined) throw new Error(`--${name} needs a value\nusage: ${usage}`);
    m.set(name, v);
  }
  return m;
}

/** A positive integer option, or undefined when not given. */
export function intArg(a: Map<string, string>, name: string): number | undefined {
  const v = a.get(name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || +v < 1) throw new Error(`--${name} expects a positive integer, got ${JSON.stringify(v)}`);
  return +v;
}
