// The markdown of `npm run study:tabular`: one table, per task metric and seconds per run, mean ± std over the split
// seeds, the references beside our model, the paired gap to the best reference and issue 17's target; then the runs
// per seed and the checks that every model saw the same rows.
import { fmt, meanStd } from "./common.ts";
import type { OurRun } from "./tabular-ours.ts";

/** One scikit-learn run, as bench/study/sklearn_ref.py writes it. */
export interface RefRun {
  seed: number;
  model: "logreg" | "ridge" | "hgb";
  task: string;
  metric: "auc" | "rmse";
  value: number;
  seconds: number;
  info: Record<string, unknown>;
}

export interface DatasetResult {
  key: string;
  title: string;
  config: string;
  rows: number;
  seeds: { seed: number; train: number; validation: number; sha256: string; copies: number }[];
  tasks: { name: string; metric: "auc" | "rmse" }[];
  refs: RefRun[];
  ours: OurRun[];
}

export const REF_LABEL: Record<RefRun["model"], string> = { logreg: "logistic regression", ridge: "ridge + school one-hot", hgb: "HistGradientBoosting" };

const lowerIsBetter = (metric: string) => metric === "rmse";

/** Per seed, in seed order: the reference's value for `task`. */
function refValues(r: DatasetResult, model: string, task: string): number[] {
  return r.seeds.map((s) => r.refs.find((x) => x.seed === s.seed && x.model === model && x.task === task)?.value ?? NaN);
}
/** Our run's value for `task`'s `metric` (member0: with --ensemble, member 0's, the single run of the seed). */
const ourValue = (o: OurRun | undefined, task: string, metric: string, member0 = false) => (member0 ? o?.members?.[0] : o?.validation)?.[task]?.[metric] ?? NaN;
/** Per seed, in seed order: ourValue. */
const ourValues = (r: DatasetResult, task: string, metric: string, member0 = false) => r.seeds.map((s) => ourValue(r.ours.find((o) => o.seed === s.seed), task, metric, member0));

/** The seconds of a reference per run: its fit + predict summed over the tasks, per seed. */
function refSeconds(r: DatasetResult, model: string): number[] {
  return r.seeds.map((s) => r.refs.filter((x) => x.seed === s.seed && x.model === model).reduce((a, x) => a + x.seconds, 0));
}

/** The target of issue 17 for a task, as a verdict on the means. */
function target(r: DatasetResult, task: string, ours: number, refs: Record<string, number>): string {
  const mark = (ok: boolean) => (ok ? "**met**" : "not met");
  if (r.key === "census" && task === "income") return `≥ HGB (${refs.hgb.toFixed(4)}): ${mark(ours >= refs.hgb)}`;
  if (r.key === "census" && task === "never_married") return `≥ 0.9945: ${mark(ours >= 0.9945)}`;
  if (r.key === "school") return `< ridge (${refs.ridge.toFixed(3)}) and < HGB (${refs.hgb.toFixed(3)}): ${mark(ours < refs.ridge && ours < refs.hgb)}`;
  return "—";
}

export function tabularMarkdown(results: DatasetResult[], o: { command: string; quick: boolean; ensemble?: number | null; epochs: Record<string, number | null>; commit: string; when: string; wall: number; load: number; ompThreads: string }): string {
  const out: string[] = [];
  const nSeeds = results[0]?.seeds.length ?? 0;
  out.push(`# Tabular references side by side${o.quick ? " (quick smoke run: not the numbers to judge by)" : ""}`, "");
  out.push(`\`${o.command}\` at ${o.commit}, ${o.when}; ${nSeeds} split seed${nSeeds === 1 ? "" : "s"} (${results[0]?.seeds.map((s) => s.seed).join(", ")}), wall ${(o.wall / 60).toFixed(1)} min on this machine (2 cores shared with other work: load average ${o.load.toFixed(1)} at the start).`);
  out.push(`Validation metrics on the split \`mtl train CONFIG --seed S\` makes (src/data/load.ts splitRows), mean ± std over the seeds; every model trains on that split's training rows only.`, "");
  const K = o.ensemble ?? null;
  out.push(`| data · task | metric | linear reference | HistGradientBoosting |${K ? " mtl-wasm single model (member 0) |" : ""} mtl-wasm ${K ? `ensemble of ${K} ` : ""}(config) | ours − best reference (paired) | issue 17 target (means) |`);
  out.push(`| --- | --- | ---: | ---: |${K ? " ---: |" : ""} ---: | ---: | --- |`);
  for (const r of results) {
    const linear = r.key === "school" ? "ridge" : "logreg";
    for (const t of r.tasks) {
      const d = t.metric === "auc" ? 4 : 3;
      const lin = refValues(r, linear, t.name), hgb = refValues(r, "hgb", t.name), ours = ourValues(r, t.name, t.metric);
      const means: Record<string, number> = { [linear]: meanStd(lin).mean, hgb: meanStd(hgb).mean };
      const best = lowerIsBetter(t.metric) ? (means[linear] <= means.hgb ? linear : "hgb") : (means[linear] >= means.hgb ? linear : "hgb");
      const bestVals = best === "hgb" ? hgb : lin;
      const gap = ours.map((v, i) => v - bestVals[i]);
      const oursMean = meanStd(ours).mean;
      const oursBest = lowerIsBetter(t.metric) ? oursMean < means[best] : oursMean > means[best];
      out.push(`| ${r.key} · ${t.name} | ${t.metric === "auc" ? "AUC ↑" : "RMSE ↓"} | ${REF_LABEL[linear as RefRun["model"]]} ${fmt(lin, d, best === linear && !oursBest)} | ${fmt(hgb, d, best === "hgb" && !oursBest)} |${K ? ` ${fmt(ourValues(r, t.name, t.metric, true), d)} |` : ""} ${fmt(ours, d, oursBest)} | ${fmt(gap, d)} vs ${best === "hgb" ? "HGB" : linear} | ${target(r, t.name, oursMean, means)} |`);
    }
    const ours = r.ours.map((x) => x.seconds), trainOnly = r.ours.map((x) => x.trainSeconds);
    out.push(`| ${r.key} · seconds per run | s | ${fmt(refSeconds(r, linear), 1)} | ${fmt(refSeconds(r, "hgb"), 1)} |${K ? " |" : ""} ${fmt(ours, 1)} (training ${fmt(trainOnly, 1)}${K ? ", summed over the members" : ""}) | | |`);
  }
  out.push("");
  out.push("- **Gap**: our value minus the best reference's (by mean) on the same seed, then mean ± std over the seeds: positive is better for AUC, negative for RMSE. Bold: the best mean of the row.");
  if (K) out.push(`- **Ensemble**: \`mtl train CONFIG --seed S --ensemble ${K}\`: ${K} members with seeds S … S + ${K - 1} (initialization, shuffling, dropout) on split S and its preprocessing, each early-stopped on the validation rows as a single run is; the ensemble averages their outputs (probabilities). Member 0 is exactly the single run \`mtl train CONFIG --seed S\` (same seed, same split).`);
  out.push(`- **Seconds per run**: a reference's fit + predict, summed over its tasks (one model per task; \`OMP_NUM_THREADS=${o.ompThreads}\`); ours is the whole \`mtl train\` command (\`--threads auto\`: read and split the data, train with early stopping, write the model files, export ONNX and check it in onnxruntime-web), training loop alone in parentheses (metrics.json's train_seconds).`);
  for (const r of results) {
    const ep = o.epochs[r.key];
    out.push(`- **${r.title}** (\`${r.config}\`, ${r.rows.toLocaleString("en")} rows${ep ? `, \`--epochs ${ep}\`` : ", the config's epochs and early stopping"}): ${describeRefs(r)}`);
  }
  out.push("- **Early stopping**: \`mtl train\` keeps the epoch with the best validation metric, measured on the same validation rows it is scored on here (as its metrics.json reports), so our numbers carry that selection; the references never see the validation rows (HGB's early stopping uses 10 % of the training rows).");
  out.push("- **Copies across the split** (per seed below): validation rows whose model inputs, group and labels equal a training row's. splitRows keeps identical rows together by every column of the file but \`data.row_id\` (models/school.json names School's \`student_index\`, so the School README's ~19 % duplicate rows stay on one side: 0 copies), so census rows that differ only in \`instance_weight\`, which no model reads, can straddle the split. Every model here sees the same copies.");
  out.push("", "## Per seed", "");
  for (const r of results) {
    const linear = r.key === "school" ? "ridge" : "logreg";
    out.push(`| ${r.key} seed | train / validation rows | validation rows sha256 | validation rows with a copy in training | ${r.tasks.map((t) => `${t.name}: ${linear} · HGB · ${K ? "member 0 · ensemble" : "ours"}`).join(" | ")} | ${K ? "member 0" : "ours"}: best / run epochs |`);
    out.push(`| ---: | ---: | --- | ---: | ${r.tasks.map(() => "---:").join(" | ")} | ---: |`);
    for (const s of r.seeds) {
      const ours = r.ours.find((x) => x.seed === s.seed)!;
      const cells = r.tasks.map((t) => {
        const d = t.metric === "auc" ? 4 : 3;
        const v = (x: number) => (Number.isFinite(x) ? x.toFixed(d) : "—");
        const ref = (m: string) => v(r.refs.find((x) => x.seed === s.seed && x.model === m && x.task === t.name)?.value ?? NaN);
        return `${ref(linear)} · ${ref("hgb")} · ${K ? `${v(ourValue(ours, t.name, t.metric, true))} · ` : ""}${v(ourValue(ours, t.name, t.metric))}`;
      });
      out.push(`| ${s.seed} | ${s.train.toLocaleString("en")} / ${s.validation.toLocaleString("en")} | \`${s.sha256.slice(0, 16)}…\` | ${s.copies} | ${cells.join(" | ")} | ${ours.bestEpoch} / ${ours.epochsRun} |`);
    }
    out.push("");
    out.push(`Same rows (checked for every seed): ${r.ours.map((x) => `seed ${x.seed}: ${x.checks.join("; ")}`).join(". ")}.`, "");
  }
  return out.join("\n") + "\n";
}

/** What the references were, with the choices they made on their training rows. */
function describeRefs(r: DatasetResult): string {
  const vals = (m: string, k: string) => r.refs.filter((x) => x.model === m).map((x) => x.info[k]);
  const info = (m: string, k: string) => {
    const v = vals(m, k);
    if (v.every((x) => typeof x === "number" && Number.isInteger(x))) {
      const n = v as number[], lo = Math.min(...n), hi = Math.max(...n);
      return lo === hi ? String(lo) : `${lo}–${hi}`;
    }
    return [...new Set(v.map((x) => (typeof x === "number" ? x.toPrecision(3) : JSON.stringify(x))))].join(", ");
  };
  const hgb = `HGB: default settings, random_state = seed, ${r.key === "school" ? "27 numerics + the school as a native categorical feature" : "numerics as they are + every categorical column as a native categorical feature (codes of the sorted training values; unseen → missing)"}; default early stopping (on above 10,000 training rows, on 10 % of them): ${info("hgb", "early_stopping") === "true" ? "on" : info("hgb", "early_stopping") === "false" ? "off" : info("hgb", "early_stopping")}, ${info("hgb", "n_iter")} boosting iterations`;
  if (r.key === "school") return `ridge: standardized numerics + school one-hot, alpha from 29 values in 1e-3…1e4 chosen by RMSE on an inner 80/20 split of the training rows (per school, identical rows kept together), then refitted on all training rows: alpha per seed ${vals("ridge", "alpha").map((a) => (a as number).toPrecision(3)).join(", ")} (at the grid's edge: ${info("ridge", "alpha_at_grid_edge")}). ${hgb}.`;
  return `logistic regression: L2, C = 1, lbfgs (tol 1e-6) until converged (iterations ${info("logreg", "n_iter")}), one-hot categoricals (the missing token "?" is its own value) + standardized numerics, ${info("logreg", "features")} features; one model per task. ${hgb}.`;
}
