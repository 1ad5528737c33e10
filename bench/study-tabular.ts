// npm run study:tabular [-- --quick] [--seeds N] [--epochs N] [--ensemble K] [--only census|school] [--out FILE.md] [--keep]
//
// Issue 17 item 4: scikit-learn references (bench/study/sklearn_ref.py, Debian's /usr/bin/python3 with
// python3-sklearn) beside `mtl train` with models/census-mmoe.json and models/school.json, on exactly the split
// `mtl train --seed S` makes, for split seeds 1..N (default 3). Per data set: the table and each seed's split are
// exported (bench/study/tabular-export.ts), the references train on the training rows and score the validation rows,
// and `mtl train CONFIG --seed S` runs as a child process, checked to have used the same rows
// (bench/study/tabular-ours.ts). One markdown table (bench/study/tabular-report.ts) goes to stdout and to
// bench/results/tabular.md.
//
// --ensemble K: ours is `mtl train --ensemble K` (seeds S … S + K − 1 on split S), reported beside its member 0 (the
// single run of seed S).
// --quick: 1 seed, census --epochs 2 and School --epochs 10, written to stdout only (unless --out): a smoke run.
// Run from anywhere; paths in the configs are relative to the repository root, as `mtl train` reads them there.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { copiesAcrossSplit, loadDataset, writeSplit, writeTable } from "./study/tabular-export.ts";
import { MTL, trainOurs } from "./study/tabular-ours.ts";
import { tabularMarkdown, type DatasetResult, type RefRun } from "./study/tabular-report.ts";

const ROOT = resolve(new URL("..", import.meta.url).pathname);
const PY = "/usr/bin/python3";
const SKLEARN_REF = join(ROOT, "bench/study/sklearn_ref.py");

const DATASETS = [
  { key: "census", title: "Census-Income (KDD)", config: "models/census-mmoe.json", refs: ["logreg", "hgb"], quickEpochs: 2 },
  { key: "school", title: "School", config: "models/school.json", refs: ["ridge", "hgb"], quickEpochs: 10 },
] as const;

function parse(argv: string[]) {
  const o = { quick: false, seeds: 3, epochs: null as number | null, ensemble: null as number | null, only: null as string | null, out: null as string | null, keep: false };
  let seedsGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a}: expected a value`);
      return v;
    };
    const int = (v: string) => {
      if (!/^[1-9]\d*$/.test(v)) throw new Error(`${a}: expected a positive integer, got ${JSON.stringify(v)}`);
      return +v;
    };
    if (a === "--quick") o.quick = true;
    else if (a === "--keep") o.keep = true;
    else if (a === "--seeds") (o.seeds = int(value())), (seedsGiven = true);
    else if (a === "--epochs") o.epochs = int(value());
    else if (a === "--ensemble") {
      o.ensemble = int(value());
      if (o.ensemble < 2) throw new Error(`--ensemble: expected at least 2 members, got ${o.ensemble}`);
    }
    else if (a === "--out") o.out = value();
    else if (a === "--only") {
      o.only = value();
      if (!DATASETS.some((d) => d.key === o.only)) throw new Error(`--only: expected one of ${DATASETS.map((d) => d.key).join(", ")}, got ${JSON.stringify(o.only)}`);
    } else throw new Error(`unknown option ${JSON.stringify(a)}; usage: npm run study:tabular [-- --quick] [--seeds N] [--epochs N] [--ensemble K] [--only census|school] [--out FILE.md] [--keep]`);
  }
  if (o.quick && !seedsGiven) o.seeds = 1;
  return o;
}

const log = (s: string) => process.stderr.write(s + "\n");

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  process.chdir(ROOT);
  if (spawnSync(PY, ["-c", "import sklearn, numpy, scipy"], { stdio: "ignore" }).status !== 0) throw new Error(`${PY} cannot import sklearn, numpy and scipy: install Debian's python3-sklearn (node tools/deps.mjs)`);
  if (!existsSync(join(ROOT, "dist/cli.mjs"))) throw new Error(`dist/cli.mjs is missing (${MTL} runs it): npm run -s build`);
  const work = mkdtempSync(join(tmpdir(), "mtl-study-tabular-"));
  const t0 = performance.now(), load = loadavg()[0];
  const results: DatasetResult[] = [];
  const epochsUsed: Record<string, number | null> = {};
  try {
    for (const ds of DATASETS) {
      if (o.only && o.only !== ds.key) continue;
      const d = await loadDataset(ds.key, ds.config, ROOT);
      const dir = join(work, ds.key);
      const tablePath = writeTable(d, dir);
      const seeds = Array.from({ length: o.seeds }, (_, i) => i + 1);
      const splits = seeds.map((s) => writeSplit(d, s, dir, (ds.refs as readonly string[]).includes("ridge")));
      log(`${ds.key}: ${d.table.rowCount} rows; exported ${splits.length} split(s) to ${dir}`);

      log(`${ds.key}: scikit-learn references (${ds.refs.join(", ")})`);
      const refOut = join(dir, "sklearn.json");
      // One OpenMP thread: HGB's two threads spin against the other processes on this 2-core machine (20–30 s a fit
      // under load instead of ~1 s), which would make its seconds meaningless.
      const env = { ...process.env, OMP_NUM_THREADS: process.env.OMP_NUM_THREADS ?? "1", OPENBLAS_NUM_THREADS: process.env.OPENBLAS_NUM_THREADS ?? "1" };
      const py = spawnSync(PY, [SKLEARN_REF, tablePath, ...splits.map((s) => s.path), "--models", ds.refs.join(","), "--out", refOut], { stdio: ["ignore", "inherit", "inherit"], env });
      if (py.status !== 0) throw new Error(`${relative(ROOT, SKLEARN_REF)} exited ${py.status ?? py.signal} on ${ds.key} (see its message above)`);
      const refs = JSON.parse(readFileSync(refOut, "utf8")).runs as RefRun[];

      const epochs = o.epochs ?? (o.quick ? ds.quickEpochs : null);
      epochsUsed[ds.key] = epochs;
      const ours = splits.map((s) => {
        const r = trainOurs(d, s, dir, epochs, o.ensemble);
        log(`  mtl train ${ds.config} --seed ${s.seed}: ${Object.entries(r.validation).map(([t, m]) => `${t} ${ds.key === "school" ? `rmse ${m.rmse.toFixed(3)}` : `auc ${m.auc.toFixed(4)}`}`).join(", ")} (best epoch ${r.bestEpoch}/${r.epochsRun}) [${r.seconds.toFixed(1)} s]; ${r.checks.join("; ")}`);
        return r;
      });
      results.push({
        key: ds.key,
        title: ds.title,
        config: ds.config,
        rows: d.table.rowCount,
        seeds: splits.map((s) => ({ seed: s.seed, train: s.train.length, validation: s.validation.length, sha256: s.validationSha256, copies: copiesAcrossSplit(d, s) })),
        tasks: d.spec.tasks.map((t) => ({ name: t.name, metric: t.type === "regression" ? "rmse" : "auc" })),
        refs,
        ours,
      });
    }
  } finally {
    if (o.keep) log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
  const built = statSync(join(ROOT, "dist/cli.mjs")).mtime.toISOString().slice(0, 16).replace("T", " ");
  const commit = spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).stdout.trim() || "unknown commit";
  const dirty = spawnSync("git", ["status", "--porcelain", "--", "src", "models"], { cwd: ROOT, encoding: "utf8" }).stdout.trim() ? " (with uncommitted changes in src/ or models/)" : "";
  const command = `npm run study:tabular${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`;
  const md = tabularMarkdown(results, { command, quick: o.quick, ensemble: o.ensemble, epochs: epochsUsed, commit: `${commit}${dirty}, mtl from dist/cli.mjs built ${built} UTC`, when: new Date().toISOString().slice(0, 16).replace("T", " ") + " UTC", wall: (performance.now() - t0) / 1000, load, ompThreads: process.env.OMP_NUM_THREADS ?? "1" });
  process.stdout.write(md);
  const out = o.out ?? (o.quick ? null : join(ROOT, "bench/results/tabular.md"));
  if (out) {
    writeFileSync(out, md);
    writeFileSync(out.replace(/\.md$/, "") + ".json", JSON.stringify({ command, results }, null, 1) + "\n");
    log(`wrote ${relative(process.cwd(), out)} and its .json`);
  }
}

main().catch((e) => {
  process.stderr.write(`study:tabular: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
