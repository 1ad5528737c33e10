// npm run fuzz: the fast-check properties of test/fuzz/ with many cases, printing each property's outcome classes.
//
//   npm run fuzz -- [--runs N] [--seed S] [--survey] [--budget MS] [target …]
//
//   --runs N     cases per property (FUZZ_RUNS; npm test runs the same files with the small default)
//   --seed S     fast-check seed (FUZZ_SEED; default fixed, so a failure replays)
//   --survey     never stop at a failure: count every outcome class and print the smallest input of each bad one
//   --budget MS  per-case time budget (FUZZ_BUDGET_MS, default 1000)
//   target       file names to run, e.g. `csv onnx` (default: every test/fuzz/*.test.ts)
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";

const args = process.argv.slice(2);
const env = { ...process.env, FUZZ_REPORT: "1" };
const targets = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  const value = () => {
    const v = args[++i];
    if (v === undefined || !/^-?\d+$/.test(v)) (console.error(`fuzz: ${a} needs an integer, got ${v}`), process.exit(2));
    return v;
  };
  if (a === "--runs") env.FUZZ_RUNS = value();
  else if (a === "--seed") env.FUZZ_SEED = value();
  else if (a === "--budget") env.FUZZ_BUDGET_MS = value();
  else if (a === "--survey") env.FUZZ_SURVEY = "1";
  else if (a.startsWith("-")) (console.error(`fuzz: unknown option ${a}`), process.exit(2));
  else targets.push(a.replace(/\.test\.ts$/, ""));
}
const all = readdirSync(new URL("../test/fuzz/", import.meta.url)).filter((f) => f.endsWith(".test.ts")).map((f) => f.slice(0, -8));
for (const t of targets) if (!all.includes(t)) (console.error(`fuzz: no test/fuzz/${t}.test.ts (have ${all.join(", ")})`), process.exit(2));
const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const pattern = `(^|/)(${(targets.length ? targets : all).map(esc).join("|")})\\.test\\.ts$`;
const r = spawnSync(process.execPath, ["--import", "tsx", "node_modules/uvu/bin.js", "test/fuzz", pattern], { stdio: "inherit", env, cwd: new URL("..", import.meta.url) });
process.exit(r.status ?? 1);
