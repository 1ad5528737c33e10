// W1 training samples/s in every JavaScript engine we test: V8 (Node), JavaScriptCore (Safari's engine, Debian's
// /usr/bin/jsc) and SpiderMonkey (Firefox ESR 102's, /usr/bin/js102), from the same bundle (bench/engines-entry.ts
// with build/mtl.wasm inlined), one process per engine, one untimed warm-up epoch then N timed epochs (8,192 rows,
// 64 steps of 128; bench/w1.ts), one thread.
//
//   npm run bench:engines [-- --repeats N] [--rounds R]
//
// Prints per engine the median samples/s [min – max] over its timed epochs, the ratio to V8, and the last step's
// loss, which must be the same bits in every engine (training is bit-identical; a difference is reported).
// --rounds R runs the engines R times in alternation (node, jsc, js102, node, …), pooling the epochs, so load
// from elsewhere hits all engines alike.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
process.chdir(ROOT);
const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt);
const repeats = opt("--repeats", 5), rounds = opt("--rounds", 2);

const common = { bundle: true, format: "esm", target: "es2022", logLevel: "warning", platform: "neutral", legalComments: "none" };
mkdirSync("out/bench", { recursive: true });
mkdirSync("out/runtimes", { recursive: true });
await esbuild.build({ ...common, entryPoints: ["bench/engines-entry.ts"], outfile: "out/bench/engines-bench.mjs", loader: { ".wasm": "binary" } });
await esbuild.build({ ...common, entryPoints: ["test/runtimes/shell-shim.ts"], outfile: "out/runtimes/shell-shim.mjs" });
writeFileSync("out/bench/engines-config.mjs", `export const repeats = ${repeats};\n`);

const ENGINES = [
  { name: "V8 (node)", cmd: process.execPath, args: ["bench/engines-main.mjs"], version: `node ${process.version}, V8 ${process.versions.v8}` },
  { name: "JavaScriptCore (jsc)", cmd: "/usr/bin/jsc", args: ["-m", "bench/engines-main.mjs"], version: "Debian libjavascriptcoregtk-4.0-bin" },
  { name: "SpiderMonkey (js102)", cmd: "/usr/bin/js102", args: ["--module", "bench/engines-main.mjs"], version: "Debian libmozjs-102-dev" },
];

function run(cmd, argv) {
  return new Promise((ok) => {
    const child = spawn(cmd, argv, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("error", (e) => (err += String(e)));
    child.on("close", (code) => ok({ code, out, err }));
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

console.log(`bench:engines — W1 training (bench/w1.ts), one thread, ${rounds} round(s) × (1 warm-up + ${repeats} timed epochs) per engine, engines alternating`);
const pooled = new Map(ENGINES.map((e) => [e.name, { sps: [], losses: new Set(), error: null }]));
for (let round = 0; round < rounds; round++) {
  for (const e of ENGINES) {
    const p = pooled.get(e.name);
    if (!existsSync(e.cmd)) {
      p.error = `${e.cmd} not found (.ci/run installs it)`;
      continue;
    }
    const { code, out, err } = await run(e.cmd, e.args);
    const m = /^BENCH (.*)$/m.exec(out);
    if (!m) {
      p.error = `exit ${code}: ${(out + err).slice(-800)}`;
      continue;
    }
    const r = JSON.parse(m[1]);
    p.sps.push(...r.samplesPerSec);
    p.losses.add(r.lastLoss);
  }
}
const v8 = median(pooled.get(ENGINES[0].name).sps);
console.log(`\n${"engine".padEnd(22)} ${"samples/s".padStart(10)}   ${"[min – max]".padEnd(20)} ${"epochs".padStart(6)} ${"vs V8".padStart(7)}  last-step loss`);
const allLosses = new Set();
for (const e of ENGINES) {
  const p = pooled.get(e.name);
  if (!p.sps.length) {
    console.log(`${e.name.padEnd(22)} ${"—".padStart(10)}   ${p.error}`);
    continue;
  }
  const md = median(p.sps);
  for (const l of p.losses) allLosses.add(l);
  const range = `[${Math.round(Math.min(...p.sps)).toLocaleString("en-US")} – ${Math.round(Math.max(...p.sps)).toLocaleString("en-US")}]`;
  console.log(`${e.name.padEnd(22)} ${Math.round(md).toLocaleString("en-US").padStart(10)}   ${range.padEnd(20)} ${String(p.sps.length).padStart(6)} ${`${(md / v8).toFixed(2)}×`.padStart(7)}  ${[...p.losses].join(", ")}`);
}
console.log(allLosses.size === 1 ? `\nlast-step loss identical in every engine (${[...allLosses][0]}): bit-identical training` : `\nlast-step losses DIFFER between engines: ${[...allLosses].join(", ")}`);
