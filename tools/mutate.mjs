// npm run mutate: mutation testing with StrykerJS, one Stryker run per group of source files. Each group plants
// bugs (mutants) only in its own files and runs only the unit tests that check them, so a run stays short on a 2-core
// machine; a group whose score (killed + timed out, over all valid mutants) is below its threshold fails the run.
// Not part of `npm test`.
//
//   node tools/mutate.mjs [group …] [--quick] [--concurrency=N] [--list]     (npm run mutate -- metrics --quick)
//
//   group            run only these groups (default: all of GROUPS below)
//   --quick          re-test only the mutants that survived in the group's last report
//                    (reports/mutation/<group>/mutation.json), e.g. after strengthening a test, plus every mutant of
//                    a source file changed since; the JSON report is then updated in place (the HTML one shows only
//                    the mutants re-tested). A full run when there is no report. Killed mutants are not re-tested,
//                    so weakening a test goes unnoticed: do a full run before trusting the score.
//   --concurrency=N  parallel test processes (default 2: this machine's cores)
//   --list           print the groups, their files and commands, and exit
//
// A group whose mutate files do not exist (yet) is skipped: `SKIP group <name>: <files> not found`.
// Stryker copies the project into .stryker-tmp/sandbox-*/ (node_modules is symlinked, build/mtl.wasm is copied with
// the rest), so the working tree is never mutated. Reports: reports/mutation/<group>/mutation.{json,html}.
// Exit code: 0 when every group that ran reached its threshold, 1 otherwise (or when Stryker itself failed).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * The groups. `mutate`: the source files to plant bugs in; `tests`: the uvu test files (run through tsx) that must
 * catch them. Both take globs with `*` in the file name only. `threshold`: the least mutation score, in %.
 * `data`: the tests read ../shared/data: the sandbox gets it (a link .stryker-tmp/shared → ../shared, so the
 * sandbox's ../shared resolves) and they run with CI=1, so a missing file fails the run instead of skipping the
 * test and letting every mutant it would catch survive.
 */
const GROUPS = [
  {
    name: "weighting",
    mutate: ["src/train/weighting/*.ts"],
    tests: ["test/train/weighting.test.ts"],
    threshold: 80,
  },
  {
    name: "metrics",
    mutate: ["src/metrics/*.ts"],
    tests: ["test/metrics/*.test.ts"],
    threshold: 80,
  },
  {
    name: "planner",
    mutate: ["src/graph/grad-plan.ts"],
    tests: ["test/graph/*.test.ts", "test/model/gradcheck.test.ts"],
    threshold: 80,
  },
  {
    name: "csv",
    mutate: ["src/data/csv.ts"],
    tests: ["test/data/csv.test.ts"],
    threshold: 80,
  },
  {
    // the conv2d op (kernel choice, slices of grouped convs, ONNX export/import): finite differences of whole image
    // models and ONNX parity against ORT (the PyTorch parity test is too slow to run per mutant)
    name: "conv-op",
    mutate: ["src/ops/conv.ts"],
    tests: ["test/ops/conv.test.ts", "test/model/gradcheck.test.ts", "test/onnx/conv-export.test.ts", "test/model/image-spec.test.ts"],
    threshold: 80,
    data: true,
  },
  {
    // target-aware ple bins: scikit-learn's trees (python3-sklearn) on synthetic columns and on census, and the
    // preprocessing path (labels of the named task, missing labels left out, standardized regression targets)
    name: "tree-bins",
    mutate: ["src/data/tree-bins.ts"],
    tests: ["test/data/tree-bins.test.ts"],
    threshold: 80,
    data: true,
  },
];

// ---------------------------------------------------------------------------------------------------------------

const args = process.argv.slice(2);
const flags = new Set(args.filter((a) => a.startsWith("--")).map((a) => a.replace(/=.*/, "")));
const flagValue = (name) => args.find((a) => a.startsWith(`${name}=`))?.split("=")[1];
const known = new Set(["--quick", "--concurrency", "--list"]);
for (const f of flags) if (!known.has(f)) die(`unknown option ${f}`);
const wanted = args.filter((a) => !a.startsWith("--"));
for (const w of wanted) if (!GROUPS.some((g) => g.name === w)) die(`unknown group ${w} (groups: ${GROUPS.map((g) => g.name).join(", ")})`);
const quick = flags.has("--quick");
const concurrency = Number(flagValue("--concurrency") ?? 2);
if (!(Number.isInteger(concurrency) && concurrency >= 1)) die(`--concurrency must be a positive integer`);

function die(msg) {
  console.error(`mutate: ${msg}`);
  process.exit(2);
}

/** Expand a glob whose `*` wildcards are all in the file name (relative to ROOT; sorted). */
function expand(pattern) {
  const dir = dirname(pattern), base = pattern.slice(dir.length + 1);
  if (dir.includes("*")) throw new Error(`glob ${pattern}: '*' is only supported in the file name`);
  if (!base.includes("*")) return existsSync(join(ROOT, pattern)) ? [pattern] : [];
  if (!existsSync(join(ROOT, dir))) return [];
  const re = new RegExp(`^${base.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join("[^/]*")}$`);
  return readdirSync(join(ROOT, dir)).filter((f) => re.test(f)).sort().map((f) => `${dir}/${f}`);
}

const escapeRe = (s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&");

/** One uvu process for all of a group's test files (`--bail`: stop at the first failure, all Stryker needs to know). */
function command(testFiles) {
  const rel = testFiles.map((f) => escapeRe(f.replace(/^test\//, "")));
  return `node --import tsx node_modules/uvu/bin.js test '^(${rel.join("|")})$' --bail`;
}

const reportDir = (g) => join("reports", "mutation", g.name);
const reportFile = (g) => join(reportDir(g), "mutation.json");

function strykerConfig(g, mutate) {
  return {
    $schema: "../../../node_modules/@stryker-mutator/core/schema/stryker-schema.json",
    testRunner: "command",
    commandRunner: { command: command(g.testFiles) },
    // The command runner runs the whole command for every mutant: no per-test coverage.
    coverageAnalysis: "off",
    mutate,
    concurrency,
    reporters: ["clear-text", "progress-append-only", "json", "html"],
    clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true, reportMutants: true },
    jsonReporter: { fileName: join(reportDir(g), "mutation.json") },
    htmlReporter: { fileName: join(reportDir(g), "mutation.html") },
    tempDirName: ".stryker-tmp",
    // tsx does not type-check, so no "// @ts-nocheck" headers are needed; and the project's TypeScript (7, native)
    // has no JS API for Stryker's tsconfig rewriting, which our tsconfig (no extends/references) does not need.
    disableTypeChecks: false,
    tsconfigFile: "tsconfig.stryker-unused.json",
    cleanTempDir: true,
    // Large or generated trees no test of these groups reads (build/, with mtl.wasm, is copied).
    ignorePatterns: ["/out", "/dist", "/.deno", "/scratch", "/reports"],
    timeoutMS: 10000,
    timeoutFactor: 2,
    thresholds: { high: 90, low: g.threshold, break: null },
    logLevel: "info",
    fileLogLevel: "off",
    allowConsoleColors: false,
  };
}

/** Counts as Stryker computes them (mutation-testing-metrics): score = detected / valid. */
function summarize(report) {
  const c = { mutants: 0, killed: 0, survived: 0, timeout: 0, noCoverage: 0, errors: 0, ignored: 0 };
  for (const f of Object.values(report.files)) {
    for (const m of f.mutants) {
      c.mutants++;
      if (m.status === "Killed") c.killed++;
      else if (m.status === "Survived") c.survived++;
      else if (m.status === "Timeout") c.timeout++;
      else if (m.status === "NoCoverage") c.noCoverage++;
      else if (m.status === "Ignored") c.ignored++;
      else c.errors++; // RuntimeError, CompileError, Pending
    }
  }
  const valid = c.killed + c.timeout + c.survived + c.noCoverage;
  c.score = valid ? (100 * (c.killed + c.timeout)) / valid : NaN;
  return c;
}

const undetected = (m) => m.status === "Survived" || m.status === "NoCoverage";
const mutantKey = (file, m) => `${file}:${m.location.start.line}:${m.location.start.column}-${m.location.end.line}:${m.location.end.column}:${m.mutatorName}:${m.replacement}`;

/**
 * --quick: what to mutate, from the last report: a range ("file:line:col-line:col", 1-based lines, 0-based columns)
 * around each mutant it did not detect in a file that is unchanged since, and the whole of every file that changed.
 * (A file the report does not list had no mutants; it is re-tested whole if modified after the report was written.)
 * Null when there is no report.
 */
function quickPlan(g) {
  if (!existsSync(join(ROOT, reportFile(g)))) return null;
  const report = JSON.parse(readFileSync(join(ROOT, reportFile(g)), "utf8"));
  const written = statSync(join(ROOT, reportFile(g))).mtimeMs;
  const mutate = [], whole = new Set();
  let retest = 0;
  for (const file of g.mutateFiles) {
    const prev = report.files[file];
    if (!prev && statSync(join(ROOT, file)).mtimeMs <= written) continue;
    // Changed (or new): all its mutants may have moved or changed.
    if (!prev || readFileSync(join(ROOT, file), "utf8") !== prev.source) {
      mutate.push(file);
      whole.add(file);
      continue;
    }
    for (const m of prev.mutants.filter(undetected)) {
      const { start, end } = m.location; // report: 1-based lines and columns
      mutate.push(`${file}:${start.line}:${start.column - 1}-${end.line}:${end.column - 1}`);
      retest++;
    }
  }
  return { report, mutate, whole, retest };
}

/**
 * Merge a --quick run's results into the previous report: whole files replace theirs, the re-tested mutants of the
 * others take their new status. Files no longer in the group are dropped.
 */
function mergeQuick(plan, fresh, g) {
  const previous = plan.report;
  const byKey = new Map();
  for (const [file, f] of Object.entries(fresh.files)) for (const m of f.mutants) byKey.set(mutantKey(file, m), m);
  let retested = 0;
  const files = {};
  for (const file of g.mutateFiles) {
    if (plan.whole.has(file)) {
      if (fresh.files[file]) {
        files[file] = fresh.files[file];
        retested += fresh.files[file].mutants.length;
      }
      continue;
    }
    const f = previous.files[file];
    if (!f) continue; // no mutants, then and now
    files[file] = {
      ...f,
      mutants: f.mutants.map((m) => {
        if (!undetected(m)) return m;
        const n = byKey.get(mutantKey(file, m));
        if (!n) return m;
        retested++;
        return { ...m, status: n.status, statusReason: n.statusReason, killedBy: n.killedBy, testsCompleted: n.testsCompleted };
      }),
    };
  }
  return { merged: { ...previous, ...fresh, files }, retested };
}

function runStryker(g, mutate) {
  mkdirSync(join(ROOT, reportDir(g)), { recursive: true });
  const configPath = join(reportDir(g), "stryker.config.json");
  writeFileSync(join(ROOT, configPath), JSON.stringify(strykerConfig(g, mutate), null, 2) + "\n");
  const bin = join("node_modules", "@stryker-mutator", "core", "bin", "stryker.js");
  // CI unset: a test that cannot find an optional file skips (test/skip.ts) instead of failing every mutant's run;
  // a `data` group's tests must find theirs (see GROUPS).
  const env = { ...process.env, FORCE_COLOR: "0", ...(g.data ? { CI: "1" } : {}) };
  if (g.data) {
    const shared = join(ROOT, "..", "shared"), link = join(ROOT, ".stryker-tmp", "shared");
    if (!existsSync(shared)) die(`group ${g.name} reads ${shared}, which is not there`);
    mkdirSync(join(ROOT, ".stryker-tmp"), { recursive: true });
    if (!existsSync(link)) symlinkSync(shared, link, "dir");
  }
  const r = spawnSync(process.execPath, [bin, "run", configPath], { cwd: ROOT, stdio: "inherit", env });
  return r.status === 0;
}

const pad = (s, n, right = false) => (right ? String(s).padStart(n) : String(s).padEnd(n));
const mmss = (ms) => `${Math.floor(ms / 60000)}m${String(Math.round((ms % 60000) / 1000)).padStart(2, "0")}s`;

const groups = GROUPS.filter((g) => !wanted.length || wanted.includes(g.name)).map((g) => ({
  ...g,
  mutateFiles: g.mutate.flatMap(expand),
  testFiles: g.tests.flatMap(expand),
}));

if (flags.has("--list")) {
  for (const g of groups) {
    console.log(`${g.name} (threshold ${g.threshold} %)`);
    console.log(`  mutate:  ${g.mutateFiles.join(" ") || `(none of ${g.mutate.join(" ")})`}`);
    console.log(`  command: ${g.testFiles.length ? command(g.testFiles) : `(none of ${g.tests.join(" ")})`}`);
  }
  process.exit(0);
}

const rows = [];
let failed = false;
for (const g of groups) {
  if (!g.mutateFiles.length) {
    console.log(`SKIP group ${g.name}: ${g.mutate.join(" ")} not found`);
    continue;
  }
  if (!g.testFiles.length) {
    console.log(`SKIP group ${g.name}: no test files (${g.tests.join(" ")})`);
    continue;
  }
  const t0 = Date.now();
  let mutate = g.mutateFiles, plan = null;
  if (quick) {
    plan = quickPlan(g);
    if (!plan) console.log(`\n== ${g.name}: --quick: no previous report (${reportFile(g)}): full run`);
    else if (!plan.mutate.length) {
      console.log(`\n== ${g.name}: --quick: every mutant of the last report was detected and no file changed; nothing to re-test`);
      const s = summarize(plan.report);
      rows.push({ g, ...s, ms: 0, note: "quick: nothing to re-test" });
      if (!(s.score >= g.threshold)) failed = true;
      continue;
    } else {
      mutate = plan.mutate;
      console.log(`\n== ${g.name}: --quick: re-testing ${plan.retest} mutant(s) not detected last time` + (plan.whole.size ? `, and all of ${[...plan.whole].join(" ")} (changed or new)` : ""));
    }
  }
  console.log(`\n== ${g.name}: mutating ${mutate === g.mutateFiles ? g.mutateFiles.join(" ") : `${mutate.length} range(s) and file(s)`}\n   command: ${command(g.testFiles)}\n`);
  if (plan) unlinkSync(join(ROOT, reportFile(g)));
  const ok = runStryker(g, mutate);
  const ms = Date.now() - t0;
  // Stryker writes no report when the ranges hold no mutant ("a mutant-free world"): keep the previous one.
  if (ok && plan && !existsSync(join(ROOT, reportFile(g)))) writeFileSync(join(ROOT, reportFile(g)), JSON.stringify({ ...plan.report, files: {} }));
  if (!ok || !existsSync(join(ROOT, reportFile(g)))) {
    if (plan && !existsSync(join(ROOT, reportFile(g)))) writeFileSync(join(ROOT, reportFile(g)), JSON.stringify(plan.report));
    console.log(`FAIL group ${g.name}: Stryker failed (see its output above; the initial test run must pass)`);
    rows.push({ g, ms, error: true });
    failed = true;
    continue;
  }
  let report = JSON.parse(readFileSync(join(ROOT, reportFile(g)), "utf8"));
  let note = "";
  if (plan) {
    const { merged, retested } = mergeQuick(plan, report, g);
    writeFileSync(join(ROOT, reportFile(g)), JSON.stringify(merged));
    report = merged;
    note = `quick: ${retested} re-tested`;
  }
  const s = summarize(report);
  rows.push({ g, ...s, ms, note });
  if (!(s.score >= g.threshold)) failed = true;
}

if (rows.length) {
  const head = ["group", "mutants", "killed", "survived", "timeout", "no-coverage", "errors", "score %", "threshold", "time"];
  const w = [10, 8, 7, 9, 8, 12, 7, 8, 10, 8];
  const line = (cells) => cells.map((c, i) => pad(c, w[i], i > 0)).join(" ");
  console.log("\nMutation testing summary");
  console.log(line(head));
  const tot = { mutants: 0, killed: 0, survived: 0, timeout: 0, noCoverage: 0, errors: 0, ms: 0 };
  for (const r of rows) {
    if (r.error) {
      console.log(line([r.g.name, "-", "-", "-", "-", "-", "-", "ERROR", r.g.threshold, mmss(r.ms)]));
      continue;
    }
    for (const k of Object.keys(tot)) tot[k] += r[k];
    const mark = r.score >= r.g.threshold ? "" : "  BELOW THRESHOLD";
    console.log(line([r.g.name, r.mutants, r.killed, r.survived, r.timeout, r.noCoverage, r.errors, r.score.toFixed(2), r.g.threshold, mmss(r.ms)]) + mark + (r.note ? `  (${r.note})` : ""));
  }
  const valid = tot.killed + tot.timeout + tot.survived + tot.noCoverage;
  const score = valid ? (100 * (tot.killed + tot.timeout)) / valid : NaN;
  console.log(line(["overall", tot.mutants, tot.killed, tot.survived, tot.timeout, tot.noCoverage, tot.errors, score.toFixed(2), "", mmss(tot.ms)]));
  console.log(`\nreports: ${rows.filter((r) => !r.error).map((r) => reportDir(r.g)).join(", ")}`);
}
process.exit(failed ? 1 : 0);
