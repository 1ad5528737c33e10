// npm test: build, type-check, then every test suite; streams each step's output and ends with the
// plain closing line `N passed, N failed, N skipped` summed over all suites. Exit code 1 if anything failed.
//
//   node tools/test.mjs [step …]      e.g. `node tools/test.mjs uvu as-pect` (a step's first word selects it)
//
// Each step also has
// - a time limit (`timeout`, seconds; MTL_TEST_TIMEOUT_SCALE multiplies them all, e.g. 2 on a slow machine). On
//   timeout the step's whole process tree is killed (its process group, and any descendant that started a group of
//   its own, like Playwright's Chromium): `FAIL step <name>: timed out after N s`, one failure.
// - for steps that count tests, a floor (`min`) on passed + failed + skipped: a suite that crashed on load or a
//   test file that silently vanished gives `FAIL step <name>: ran only N tests, expected at least M`, one failure.
//   The floors sit a little below what runs today; raise them when tests are added.
// Skips: a test that cannot run here (data file or tool missing) prints a line `SKIP <what>: <reason>`
// (test/skip.ts; under CI=1 it fails instead). Those lines, and uvu's own "Skipped:" count, are counted per step;
// a uvu test that printed SKIP is counted as skipped, not passed.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

const strip = (s) => s.replace(/\x1b\[[0-9;]*m/g, "");
const SCALE = Number(process.env.MTL_TEST_TIMEOUT_SCALE ?? 1) || 1;

/** `SKIP …` lines (test/skip.ts), at the start of a line. */
const skipLines = (out) => (out.match(/^SKIP /gm) ?? []).length;

/**
 * Each step: a command; how to count passed/failed/skipped from its output (default: none, pass by exit code);
 * `timeout` in seconds; `min`, the least number of tests (passed + failed + skipped) it must report.
 * Measured on the 2-core dev machine: build not measured (asc + esbuild), typecheck 0.7 s, uvu 16-31 s (264, then
 * 279, then 404, then 494 tests), as-pect 3.9 s (35), runtime node 1.0 s (1 line), deno 1.3 s (2), browser 3.8 s (3), workerd 1.0 s (2), jsc 0.9 s (1), spidermonkey 0.7 s (1),
 * demo 16 s (7), package 31 s (6), then 26 s (10), size 0.7 s (1), docs 11 s (3). The limits are far above 3× those: CI machines are cold (tsx, deno and Chromium
 * caches) and shared, and a hang is what they are for.
 */
const steps = [
  // Debian packages the suite needs (tools/deps.mjs): installed here when running as root, else named with the command;
  // and node_modules, when `npm test` runs in a fresh clone before `npm ci`.
  { name: "deps", cmd: "node tools/deps.mjs && (test -e node_modules/.package-lock.json || npm ci --no-audit --no-fund)", timeout: 900, min: 5, count: (out) => ({ passed: (out.match(/^PASS deps /gm) ?? []).length, failed: (out.match(/^FAIL deps /gm) ?? []).length, skipped: 0 }) },
  { name: "build", cmd: "npm run -s build", timeout: 300 },
  { name: "typecheck", cmd: "npm run -s typecheck", timeout: 180 },
  {
    name: "uvu (Node)",
    cmd: "npm run -s test:ts",
    timeout: 600,
    min: 650,
    count: (out) => {
      // uvu's Total counts the tests that ran (test.skip'd ones are not in it); Skipped: the test.skip'd ones.
      const total = sum(out, /Total:\s+(\d+)/g), passed = sum(out, /Passed:\s+(\d+)/g), skipped = sum(out, /Skipped:\s+(\d+)/g);
      const skips = skipLines(out);
      return { passed: Math.max(0, passed - skips), failed: total - passed, skipped: skipped + skips };
    },
  },
  {
    name: "as-pect",
    cmd: "npm run -s test:as",
    timeout: 180,
    min: 40,
    count: (out) => {
      const m = /\[Tests\]:\s+(\d+)\s*\/\s*(\d+)/.exec(out);
      return { ...(m ? { passed: +m[1], failed: +m[2] - +m[1] } : { passed: 0, failed: 0 }), skipped: skipLines(out) };
    },
  },
  // The runtime matrix (tools/runtimes.mjs): one PASS/FAIL line per runtime; each must reproduce the weight hash
  // committed in test/runtimes/reference.json. The floors are today's line counts: each line is a runtime of its own, none may go missing.
  ...[["node", 1], ["deno", 2], ["browser", 3], ["workerd", 2], ["jsc", 1], ["spidermonkey", 1]].map(([rt, min]) => ({ name: `runtime ${rt}`, cmd: `npm run -s test:${rt}`, timeout: 300, min, count: countRuntimes })),
  {
    name: "demo",
    cmd: "npm run -s demo:check",
    timeout: 300,
    min: 8,
    // tools/demo/check.mjs: load, epochs=0, 5 data sets (text: ATIS intent + slots, a typed utterance), controls. A data set it cannot run (no wine or MNIST files) is
    // `SKIP demo dataset=…: …` (a failure under CI).
    count: (out) => ({
      passed: (out.match(/^PASS demo /gm) ?? []).length,
      failed: (out.match(/^FAIL demo/gm) ?? []).length,
      skipped: skipLines(out),
    }),
  },
  // The package as people install it (tools/pack.mjs): npm pack, install the tarball in a fresh project, use it from
  // Node (import + both bins), tsc, Deno and a Chromium page, then the examples/ programs; one PASS/FAIL line per check (10 today).
  { name: "package", cmd: "npm run -s test:package", timeout: 300, min: 10, count: (out) => ({ passed: (out.match(/^PASS package /gm) ?? []).length, failed: (out.match(/^FAIL package /gm) ?? []).length, skipped: skipLines(out) }) },
  { name: "size", cmd: "npm run -s size", timeout: 120, min: 1, count: (out) => ({ passed: (out.match(/^PASS /gm) ?? []).length, failed: (out.match(/^FAIL /gm) ?? []).length, skipped: skipLines(out) }) },
  // The API reference (tools/docs.mjs): TypeDoc's HTML in docs/api/; FAIL lists every export or member without a doc comment.
  { name: "docs", cmd: "npm run -s docs", timeout: 180, min: 3, count: (out) => ({ passed: (out.match(/^PASS docs /gm) ?? []).length, failed: (out.match(/^FAIL docs /gm) ?? []).length, skipped: 0 }) },
];

function countRuntimes(out) {
  return { passed: (out.match(/^PASS runtime=/gm) ?? []).length, failed: (out.match(/^FAIL runtime=/gm) ?? []).length, skipped: skipLines(out) };
}

function sum(text, re) {
  let t = 0;
  for (const m of text.matchAll(re)) t += +m[1];
  return t;
}

// ---- process trees ------------------------------------------------------------------------------------
/** Every live process as pid → { ppid, pgid, start } (Linux /proc; empty elsewhere). */
function processTable() {
  const table = new Map();
  let names = [];
  try {
    names = readdirSync("/proc");
  } catch {
    return table;
  }
  for (const n of names) {
    if (!/^\d+$/.test(n)) continue;
    try {
      const stat = readFileSync(`/proc/${n}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // f[0] = state, f[1] = ppid, f[2] = pgid, f[19] = starttime
      table.set(+n, { ppid: +f[1], pgid: +f[2], start: f[19] });
    } catch {}
  }
  return table;
}

/** The descendants of `root` (pid → start time), from one snapshot of the process table. */
function descendants(root, table = processTable()) {
  const kids = new Map();
  for (const [pid, p] of table) (kids.get(p.ppid) ?? kids.set(p.ppid, []).get(p.ppid)).push(pid);
  const found = new Map(), todo = [root];
  while (todo.length) for (const c of kids.get(todo.pop()) ?? []) if (!found.has(c)) (found.set(c, table.get(c).start), todo.push(c));
  return found;
}

/**
 * Kill a step: SIGTERM to its process group (so Playwright and friends can close their browsers), then after a
 * grace period SIGKILL to the group, to every process group a descendant leads (Chromium's) and to every descendant
 * seen in either snapshot that is still the same process (same start time).
 */
async function killTree(pid, graceMs = 3000) {
  const seen = descendants(pid);
  const signal = (sig) => {
    const table = processTable();
    for (const [p, start] of descendants(pid, table)) seen.set(p, start);
    const groups = new Set([pid]);
    for (const [p, start] of seen) if (table.get(p)?.start === start && table.get(p).pgid === p) groups.add(p);
    for (const g of groups) {
      try {
        process.kill(-g, sig);
      } catch {}
    }
    if (sig === "SIGKILL") {
      for (const [p, start] of seen) {
        if (table.get(p)?.start !== start) continue;
        try {
          process.kill(p, sig);
        } catch {}
      }
    }
  };
  signal("SIGTERM");
  await new Promise((r) => setTimeout(r, graceMs));
  signal("SIGKILL");
}

let current = null; // the running step's child, for SIGINT/SIGTERM forwarding

function run(cmd, timeoutS) {
  return new Promise((resolve) => {
    // detached: the step leads its own process group, so a timeout (or Ctrl-C here) can kill all of it.
    const child = spawn(cmd, { shell: true, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    current = child;
    let out = "", timedOut = false, done = false, countable = null;
    const finish = (code) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      current = null;
      // After a timeout only what ran before the kill is counted (not the FAIL lines the teardown provokes).
      resolve({ code, out: strip(countable ?? out), timedOut });
    };
    child.stdout.on("data", (d) => (process.stdout.write(d), (out += d)));
    child.stderr.on("data", (d) => (process.stderr.write(d), (out += d)));
    child.on("error", (e) => ((out += `\n${e}\n`), finish(1)));
    child.on("close", (code, sig) => finish(code ?? (sig ? 128 : 1)));
    const timer = setTimeout(async () => {
      timedOut = true;
      countable = out;
      await killTree(child.pid);
      // Streams held open by something that escaped the kill must not hang the runner.
      setTimeout(() => (child.stdout.destroy(), child.stderr.destroy(), finish(child.exitCode ?? 124)), 2000);
    }, timeoutS * 1000);
  });
}

// Steps run detached, so a Ctrl-C (or a kill) here does not reach them: kill the running step's tree, then exit.
let interrupted = null;
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, () => {
    if (interrupted) return;
    console.log(`\nFAIL interrupted by ${sig}`);
    interrupted = (current ? killTree(current.pid, 1000) : Promise.resolve()).then(() => process.exit(130));
  });
}

// ---- main ---------------------------------------------------------------------------------------------
let passed = 0, failed = 0, skipped = 0;
const summary = [];
const only = process.argv.slice(2);
for (const step of steps) {
  if (only.length && !only.includes(step.name.split(" ")[0])) continue;
  const t0 = Date.now();
  const limit = Math.max(1, Math.round(step.timeout * SCALE * 1000)) / 1000;
  console.log(`\n=== ${step.name}: ${step.cmd}`);
  const { code, out, timedOut } = await run(step.cmd, limit);
  if (interrupted) await interrupted; // exits
  const c = { passed: 0, failed: 0, skipped: 0, ...(step.count ? step.count(out) : {}) };
  const problems = [];
  if (timedOut) problems.push(`timed out after ${limit} s`);
  else if (step.min) {
    const ran = c.passed + c.failed + c.skipped;
    if (ran < step.min) problems.push(`ran only ${ran} tests, expected at least ${step.min}`);
  }
  for (const p of problems) console.log(`FAIL step ${step.name}: ${p}`);
  c.failed += problems.length;
  // A step that exits non-zero but counted no failure (crash, compile error) counts as one failure.
  if (code !== 0 && c.failed === 0) c.failed = 1;
  passed += c.passed;
  failed += c.failed;
  skipped += c.skipped;
  const verdict = code === 0 && c.failed === 0 ? "ok  " : "FAIL";
  const why = timedOut ? "  (timed out)" : problems.length ? "  (too few tests)" : "";
  summary.push(`${step.name.padEnd(15)} ${verdict} ${String(c.passed).padStart(4)} passed ${String(c.failed).padStart(3)} failed ${String(c.skipped).padStart(3)} skipped  ${((Date.now() - t0) / 1000).toFixed(1)} s${why}`);
  if (verdict === "FAIL" && step.name === "build") break; // nothing else can run without the artifact
}
console.log("\n=== summary\n" + summary.join("\n"));
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed ? 1 : 0);
