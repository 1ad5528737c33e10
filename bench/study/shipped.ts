// The shipped-configs suite (`--suite shipped`, not part of `all`): every method on every models/*.json for a full
// training run (the spec's epochs and early stopping unless --epochs), one seed each, to back issue 12's "no method
// produces NaN on any shipped config over a full training run". School's configs have one (grouped) task, so the
// methods meet T = 1 there, the edge case of every normalization.
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Kernels } from "../../src/runtime/load.ts";
import { validateSpec, type ModelSpec } from "../../src/model/spec.ts";
import { readData } from "../../src/cli/files.ts";
import { checkColumns, splitRows } from "../../src/data/load.ts";
import { encode, fitPreprocessing } from "../../src/data/preprocess.ts";
import { evaluatePredictions, metricValue } from "../../src/metrics/evaluate.ts";
import { log, specFor, trainAndPredict, type MethodRow, type RunResult } from "./common.ts";
import { label } from "./synthetic.ts";

const ROOT = resolve(new URL("../..", import.meta.url).pathname);

export interface ShippedRun {
  config: string;
  seed: number;
  method: string;
  status: RunResult["status"];
  message?: string;
  seconds: number;
  bestEpoch?: number;
  epochsRun?: number;
  /** The early-stopping metric (or the first task's first metric) on validation. */
  monitor: { name: string; value: number } | null;
}

export async function runShipped(k: Kernels, o: { seeds: number; methods: MethodRow[]; epochs?: number }): Promise<{ runs: ShippedRun[]; configs: string[]; epochs: Record<string, number>; wall: number }> {
  const t0 = performance.now();
  const configs = readdirSync(join(ROOT, "models")).filter((f) => f.endsWith(".json")).sort();
  const runs: ShippedRun[] = [];
  const epochs: Record<string, number> = {};
  for (const c of configs) {
    const raw = JSON.parse(readFileSync(join(ROOT, "models", c), "utf8"));
    raw.data.path = resolve(ROOT, raw.data.path);
    const spec0: ModelSpec = validateSpec(raw);
    epochs[c] = o.epochs ?? spec0.training.epochs;
    const table = await readData(spec0, spec0.data!.path!);
    checkColumns(spec0, table, { labels: true });
    for (let seed = spec0.training.seed; seed < spec0.training.seed + o.seeds; seed++) {
      const split = splitRows(spec0, table, spec0.training.validation, seed);
      const pre = fitPreprocessing(spec0, table, split.train);
      const train = encode(spec0, pre, table, split.train), validation = encode(spec0, pre, table, split.validation);
      for (const m of o.methods) {
        const spec = specFor(raw, m, { seed, ...(o.epochs ? { epochs: o.epochs } : {}) });
        const r = await trainAndPredict(k, spec, pre, train, validation, validation);
        let monitor: ShippedRun["monitor"] = null;
        if (r.preds) {
          const v = evaluatePredictions(spec, pre, spec.tasks.map((_, i) => r.preds![i].length / validation.rows), r.preds, validation);
          const name = spec.training.early_stopping?.metric ?? `${spec.tasks[0].name}.${spec.tasks[0].metrics[0]}`;
          monitor = { name, value: name === "loss" ? NaN : metricValue(name, v, NaN) };
        }
        const run: ShippedRun = { config: c, seed, method: m.key, status: r.status, seconds: r.seconds, bestEpoch: r.bestEpoch, epochsRun: r.epochsRun, monitor };
        if (r.message) run.message = r.message;
        runs.push(run);
        log(`shipped ${c} seed ${seed} ${m.key}: ${r.status === "ok" ? `${monitor!.name} ${monitor!.value.toFixed(4)} (best epoch ${r.bestEpoch}/${r.epochsRun})` : `${r.status}: ${r.message}`} [${r.seconds.toFixed(1)} s]`);
      }
    }
  }
  return { runs, configs, epochs, wall: (performance.now() - t0) / 1000 };
}

export function shippedMarkdown(res: { runs: ShippedRun[]; configs: string[]; epochs: Record<string, number>; wall: number }, seeds: number): string {
  const out: string[] = [];
  out.push("## Shipped configs: a full training run per method (NaN check)");
  out.push("");
  out.push(`Every models/*.json as shipped (all rows, the CLI's split and seed${seeds > 1 ? ` and the next ${seeds - 1}` : ""}), each method with its defaults, the spec's epochs and early stopping (${res.configs.map((c) => `${c}: ${res.epochs[c]}`).join(", ")}). ` +
    `Cell: the early-stopping metric on validation at the restored best epoch, "best/ran" epochs, seconds; or the failure. School's configs declare one grouped task, so every method meets T = 1 there. Wall time ${(res.wall / 60).toFixed(1)} min.`);
  out.push("");
  out.push(`| method | ${res.configs.join(" | ")} |`);
  out.push(`|---|${res.configs.map(() => "---").join("|")}|`);
  const notes: string[] = [];
  for (const m of [...new Set(res.runs.map((r) => r.method))]) {
    const cells = res.configs.map((c) =>
      res.runs.filter((r) => r.config === c && r.method === m).map((r) => {
        if (r.status !== "ok") {
          notes.push(`${label(m)} on ${c} seed ${r.seed}: ${r.status}: ${r.message}`);
          return `**${r.status === "nonfinite" ? "NaN" : "error"}** [${notes.length}]`;
        }
        return `${r.monitor!.value.toFixed(4)} (${r.bestEpoch}/${r.epochsRun}, ${r.seconds.toFixed(0)} s)`;
      }).join("; "),
    );
    out.push(`| ${label(m)} | ${cells.join(" | ")} |`);
  }
  const monitors = [...new Set(res.runs.filter((r) => r.monitor).map((r) => `${r.config}: ${r.monitor!.name}`))];
  out.push("");
  out.push(`Metrics: ${monitors.join(", ")}.`);
  if (notes.length) {
    out.push("");
    out.push("Failures (exact messages):");
    out.push("");
    notes.forEach((n, i) => out.push(`${i + 1}. ${n}`));
  }
  return out.join("\n") + "\n";
}
