// npm test: build, type-check, then every test suite; streams each step's output and ends with the
// plain closing line `N passed, N failed` summed over all suites. Exit code 1 if anything failed.
import { spawn } from "node:child_process";

const strip = (s) => s.replace(/\x1b\[[0-9;]*m/g, "");

/** Each step: a command, and how to count passed/failed from its output (default: 0/0, pass by exit code). */
const steps = [
  { name: "build", cmd: "npm run -s build" },
  { name: "typecheck", cmd: "npm run -s typecheck" },
  {
    name: "uvu (Node)",
    cmd: "npm run -s test:ts",
    count: (out) => {
      const total = sum(out, /Total:\s+(\d+)/g), passed = sum(out, /Passed:\s+(\d+)/g), skipped = sum(out, /Skipped:\s+(\d+)/g);
      return { passed, failed: total - passed - skipped };
    },
  },
  {
    name: "as-pect",
    cmd: "npm run -s test:as",
    count: (out) => {
      const m = /\[Tests\]:\s+(\d+)\s*\/\s*(\d+)/.exec(out);
      return m ? { passed: +m[1], failed: +m[2] - +m[1] } : { passed: 0, failed: 0 };
    },
  },
  // The runtime matrix (tools/runtimes.mjs): one PASS/FAIL line per runtime; each needs the weights bit-identical to Node's.
  ...["node", "deno", "browser", "workerd"].map((rt) => ({ name: `runtime ${rt}`, cmd: `npm run -s test:${rt}`, count: countRuntimes })),
  { name: "demo", cmd: "npm run -s demo:check", count: (out) => ({ passed: (out.match(/^PASS demo /gm) ?? []).length, failed: (out.match(/^FAIL demo/gm) ?? []).length }) },
  { name: "size", cmd: "npm run -s size", count: (out) => ({ passed: (out.match(/^PASS /gm) ?? []).length, failed: (out.match(/^FAIL /gm) ?? []).length }) },
];

function countRuntimes(out) {
  return { passed: (out.match(/^PASS runtime=/gm) ?? []).length, failed: (out.match(/^FAIL runtime=/gm) ?? []).length };
}

function sum(text, re) {
  let t = 0;
  for (const m of text.matchAll(re)) t += +m[1];
  return t;
}

function run(cmd) {
  return new Promise((resolve) => {
    const child = spawn(cmd, { shell: true, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (process.stdout.write(d), (out += d)));
    child.stderr.on("data", (d) => (process.stderr.write(d), (out += d)));
    child.on("close", (code) => resolve({ code, out: strip(out) }));
  });
}

let passed = 0, failed = 0;
const summary = [];
const only = process.argv.slice(2);
for (const step of steps) {
  if (only.length && !only.includes(step.name.split(" ")[0])) continue;
  const t0 = Date.now();
  console.log(`\n=== ${step.name}: ${step.cmd}`);
  const { code, out } = await run(step.cmd);
  let c = step.count ? step.count(out) : { passed: 0, failed: 0 };
  // A step that exits non-zero but counted no failure (crash, compile error) counts as one failure.
  if (code !== 0 && c.failed === 0) c = { ...c, failed: 1 };
  passed += c.passed;
  failed += c.failed;
  summary.push(`${step.name.padEnd(14)} ${code === 0 ? "ok  " : "FAIL"} ${String(c.passed).padStart(4)} passed ${String(c.failed).padStart(3)} failed  ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  if (code !== 0 && (step.name === "build")) break; // nothing else can run without the artifact
}
console.log("\n=== summary\n" + summary.join("\n"));
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
