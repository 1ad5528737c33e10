// npm test step "package": the package as people install it. `npm pack` (of the built dist/), then, in a fresh
// temporary project that installs the tarball (npm cache / registry only), use it as a consumer would:
//   files     the tarball holds dist/ (bundles, mtl.wasm, types), bin/, README.md, LICENSE, package.json, nothing else
//   node      ESM `import { train } from "mtl-wasm"`: train on 200 generated rows, predict, export() ONNX bytes that
//             onnxruntime-web runs to the same predictions, save()
//   bins      `npx --no-install mtl-wasm train` gives the same weights as train() does; `mtl summary` and
//             `mtl-wasm predict` read the saved model; both bin names resolve to this package
//   types     a consumer .ts file typechecks against the tarball's .d.ts (tsc, moduleResolution Bundler and NodeNext),
//             and a wrong use of train()'s result is an error
//   deno      the same program under `deno run --node-modules-dir=manual` from the project's node_modules
//   chromium  an esbuild browser bundle of a page importing "mtl-wasm", run headless: its prediction equals Node's
//   example-* the programs of examples/, copied into the project and run there (tools/pack-examples.mjs)
// One line per check: `PASS package <check>` or `FAIL package <check>: <why>`. Needs `npm run build` first.
//
//   node tools/pack.mjs [--keep]      (--keep leaves the temporary project and prints its path)
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import * as esbuild from "esbuild";
import { serve } from "./serve.mjs";
import { checkExamples } from "./pack-examples.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"];
const TSC = join(ROOT, "node_modules/typescript/bin/tsc");
const DENO = join(ROOT, "node_modules/.bin/deno");
const keep = process.argv.includes("--keep");
const pexec = promisify(execFile);

let failed = 0;
const pass = (check, note = "") => console.log(`PASS package ${check}${note ? `: ${note}` : ""}`);
const fail = (check, why) => (failed++, console.log(`FAIL package ${check}: ${String(why).trim().split("\n").slice(0, 20).join("\n  ")}`));

/**
 * The environment of every command: this one without what `npm run` adds — node_modules/.bin directories on PATH
 * (ours has as-pect's npm 6 as `npm`, which has no `pack --pack-destination`: ENOLOCAL) and npm_config_*,
 * npm_package_*, … — so npm and npx are the machine's and act for the consumer project, not for this repository.
 */
const ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
const PATH_KEY = Object.keys(ENV).find((k) => k.toUpperCase() === "PATH") ?? "PATH";
ENV[PATH_KEY] = (ENV[PATH_KEY] ?? "").split(":").filter((d) => !/node_modules\/\.bin\/?$/.test(d)).join(":");

/** Run a command; resolves { code, out } (stdout + stderr), never rejects. */
function run(cmd, args, opts = {}) {
  return new Promise((res) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], ...opts, env: { ...ENV, NO_COLOR: "1", ...opts.env } });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("error", (e) => res({ code: -1, out: `${out}\n${e}` }));
    child.on("close", (code) => res({ code, out }));
  });
}

/** A check: runs `fn`, prints PASS (with fn's note) or FAIL (with the error). */
async function check(name, fn) {
  try {
    pass(name, (await fn()) ?? "");
    return true;
  } catch (e) {
    fail(name, e?.stack && !(e instanceof CheckError) ? e.stack : e?.message ?? e);
    return false;
  }
}
class CheckError extends Error {}
const expect = (ok, why) => {
  if (!ok) throw new CheckError(why);
};

// ---- the consumer's program: the same in Node, Deno and the browser page --------------------------------------------
const SPEC = {
  name: "consumer",
  inputs: { numeric: ["a", "b", "c"], categorical: [{ column: "color", dim: 2 }] },
  architecture: { type: "hps", layers: [8] },
  tasks: [
    { name: "pos", type: "binary", label: "y" },
    { name: "v", type: "regression", label: "r" },
  ],
  // Batch 32: train()'s default threads "auto" makes 2 shards on a machine with ≥ 2 cores — on worker threads in Node,
  // one after the other on one thread in Deno and the page — and every runtime must still give Node's outputs exactly.
  training: { epochs: 6, batch_size: 32, seed: 11, optimizer: { type: "adam", lr: 0.03 } },
};
const PROGRAM = `import { train } from "mtl-wasm";
export const spec = ${JSON.stringify(SPEC)};
/** 200 seeded rows. */
export function rows() {
  let s = 42;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0), s / 2 ** 32);
  return Array.from({ length: 200 }, (_, i) => {
    const a = rnd() * 2 - 1, b = rnd() * 2 - 1, c = rnd(), color = ["red", "green", "blue"][i % 3];
    return { a, b, c, color, y: a - b > 0 ? 1 : 0, r: a + 2 * c + (color === "red" ? 1 : 0) };
  });
}
export const probe = [{ a: 0.3, b: -0.2, c: 0.5, color: "red" }, { a: -0.7, b: 0.1, c: null, color: "purple" }];
/** Train, predict the probe rows, export: what each runtime reports. */
export async function main() {
  const run = await train(spec, rows(), { validation: 0.2 });
  const p = await run.predict(probe);
  const onnx = run.export();
  const out = { rows: run.rows, auc: run.metrics.pos.auc, pos: Array.from(p.pos), v: Array.from(p.v), onnxBytes: onnx.length, onnxMagic: onnx[0] };
  return { out, run, onnx };
}
`;
const NODE_MAIN = `import { writeFileSync, mkdirSync } from "node:fs";
import { createSession } from "mtl-wasm";
import { main, probe } from "./program.mjs";
const { out, run, onnx } = await main();
const ort = await createSession(onnx, { engine: "ort" });
const q = await ort.run(probe);
out.ortMaxDiff = Math.max(...["pos", "v"].flatMap((t) => Array.from(q[t], (x, i) => Math.abs(x - out[t][i]))));
const saved = run.save();
mkdirSync("saved", { recursive: true });
writeFileSync("saved/model.json", saved.modelJson);
writeFileSync("saved/weights.safetensors", saved.weights);
writeFileSync("model.onnx", onnx);
console.log(JSON.stringify(out));
`;
const DENO_MAIN = `import { main } from "./program.mjs";\nconsole.log(JSON.stringify((await main()).out));\n`;
const PAGE = `import { main } from "./program.mjs";\nmain().then(({ out }) => (globalThis.__result = { ok: true, out }), (e) => (globalThis.__result = { ok: false, error: String(e?.stack ?? e) }));\n`;
const CONSUMER_TS = `import { train, loadInlineKernels, Table, type Trained, type ModelSpec, type TrainOptions } from "mtl-wasm";
import { loadWorkerKernels, train as trainInWorker } from "mtl-wasm/worker";
const opts: TrainOptions = { validation: 0.25, epochs: 1, onEpoch: (l) => console.log(l.epoch, l.trainLoss) };
const run: Trained = await train({ name: "t" }, [{ a: 1, y: 1 }], opts);
const p: Record<string, Float32Array> = await run.predict([{ a: 1, b: "x", c: null }]);
const onnx: Uint8Array = run.export();
const { modelJson, weights }: { modelJson: string; weights: Uint8Array } = run.save();
const spec: ModelSpec = run.spec;
const kernels = await loadInlineKernels();
const t: Table = Table.fromRecords("t", [{ a: "1" }]);
await trainInWorker(spec, t, { kernels: await loadWorkerKernels() });
await train(spec, "a,y\\n1,0\\n", { kernels });
// @ts-expect-error predict takes row objects, not a number
await run.predict(3);
console.log(p, onnx, modelJson, weights);
`;

// ---- main ---------------------------------------------------------------------------------------------------------
const work = mkdtempSync(join(tmpdir(), "mtl-pack-"));
const project = join(work, "consumer");
const t0 = Date.now();
try {
  for (const f of ["dist/mtl.inline.mjs", "dist/mtl.worker.mjs", "dist/cli.mjs", "dist/mtl.wasm", "dist/types/entry/inline.d.ts"]) {
    if (!existsSync(join(ROOT, f))) throw new Error(`${f} is missing: run \`npm run build\` first`);
  }
  // npm pack of the built tree (its prepare step would rebuild: the build step has just run).
  const packed = await run("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", work], { cwd: ROOT });
  if (packed.code !== 0) throw new Error(`npm pack failed:\n${packed.out}`);
  const info = JSON.parse(packed.out.slice(packed.out.indexOf("[")))[0];
  const tgz = join(work, info.filename);
  const files = info.files.map((f) => f.path);

  await check("files", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
    const need = ["package.json", "README.md", "LICENSE", "bin/mtl.mjs", "dist/mtl.inline.mjs", "dist/mtl.worker.mjs", "dist/mtl.wasm", "dist/cli.mjs", "dist/train-worker.mjs", "dist/tune-worker.mjs", "dist/report.js", "dist/types/index.d.ts", "dist/types/entry/inline.d.ts", "dist/types/entry/worker.d.ts", "dist/types/api/train.d.ts"];
    const missing = need.filter((f) => !files.includes(f));
    expect(!missing.length, `missing from the tarball: ${missing.join(", ")}`);
    const stray = files.filter((f) => !/^(package\.json|README\.md|LICENSE|bin\/mtl\.mjs|dist\/[^/]+\.(mjs|js|wasm)|dist\/types\/.+\.d\.ts)$/.test(f));
    expect(!stray.length, `not part of the package: ${stray.slice(0, 10).join(", ")}${stray.length > 10 ? ` … (${stray.length})` : ""}`);
    // Every path package.json points at is in the tarball.
    const leaves = (x) => (typeof x === "string" ? [x] : Object.values(x).flatMap(leaves));
    const targets = [pkg.main, pkg.types, ...Object.values(pkg.bin), ...leaves(pkg.exports)].map((p) => p.replace(/^\.\//, ""));
    const dangling = [...new Set(targets)].filter((p) => !files.includes(p));
    expect(!dangling.length, `package.json points at files the tarball lacks: ${dangling.join(", ")}`);
    expect(pkg.bin.mtl && pkg.bin["mtl-wasm"] === pkg.bin.mtl, `bin needs both "mtl" and "mtl-wasm" (found ${JSON.stringify(pkg.bin)})`);
    return `${files.length} files, ${(info.size / 1024).toFixed(0)} kB packed, ${(info.unpackedSize / 1024).toFixed(0)} kB unpacked`;
  });

  // A fresh project that installs the tarball (onnxruntime-web and its dependencies from the npm cache).
  writeFileSync(join(work, "package.json"), "{}"); // stops npm from walking up to a project above the temp dir
  await import("node:fs").then((fs) => fs.mkdirSync(project));
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer", version: "1.0.0", private: true, type: "module" }, null, 2));
  const inst = await run("npm", ["install", tgz, "--no-audit", "--no-fund", "--prefer-offline", "--no-package-lock"], { cwd: project });
  if (inst.code !== 0) throw new Error(`npm install ${info.filename} failed:\n${inst.out}`);
  for (const [f, text] of [["program.mjs", PROGRAM], ["node-main.mjs", NODE_MAIN], ["deno-main.mjs", DENO_MAIN], ["page.mjs", PAGE], ["consumer.ts", CONSUMER_TS]]) writeFileSync(join(project, f), text);

  let nodeOut = null;
  await check("node", async () => {
    const r = await run(process.execPath, ["node-main.mjs"], { cwd: project });
    expect(r.code === 0, `node-main.mjs exited ${r.code}:\n${r.out}`);
    nodeOut = JSON.parse(r.out.trim().split("\n").pop());
    expect(nodeOut.rows.train === 160 && nodeOut.rows.validation === 40, `split ${JSON.stringify(nodeOut.rows)}, expected 160/40`);
    expect(nodeOut.auc > 0.9, `validation AUC ${nodeOut.auc} after 6 epochs on a linear task`);
    expect(nodeOut.pos.length === 2 && nodeOut.pos.every((x) => x > 0 && x < 1) && nodeOut.v.every(Number.isFinite), `predictions ${JSON.stringify(nodeOut)}`);
    expect(nodeOut.onnxMagic === 0x08 && nodeOut.onnxBytes > 1000, `export() is not ONNX bytes (${nodeOut.onnxBytes} bytes, first ${nodeOut.onnxMagic})`);
    expect(nodeOut.ortMaxDiff < 1e-5, `onnxruntime-web on export() differs from predict() by ${nodeOut.ortMaxDiff}`);
    return `AUC ${nodeOut.auc.toFixed(3)}, predict = onnxruntime-web on export() within ${nodeOut.ortMaxDiff.toExponential(1)}`;
  });

  await check("bins", async () => {
    const npx = (args) => run("npx", ["--no-install", ...args], { cwd: project });
    // Both names are installed as commands (npx alone would also run a package's single bin by the package's name).
    for (const bin of ["mtl", "mtl-wasm"]) {
      const path = join(project, "node_modules/.bin", bin);
      expect(existsSync(path), `npm install did not create node_modules/.bin/${bin}`);
      const r = await run(path, ["help"], { cwd: project });
      expect(r.code === 0 && /mtl: multi-task learning in WebAssembly/.test(r.out), `node_modules/.bin/${bin} help exited ${r.code}:\n${r.out}`);
    }
    // The CLI trains the same model as train() (same rows as CSV, same seed and split).
    const { rows } = await import(join(project, "program.mjs")).catch(() => ({}));
    expect(rows, "program.mjs did not load");
    const data = rows();
    const csv = [Object.keys(data[0]).join(","), ...data.map((r) => Object.values(r).join(","))].join("\n") + "\n";
    writeFileSync(join(project, "d.csv"), csv);
    writeFileSync(join(project, "c.json"), JSON.stringify({ ...SPEC, data: { format: "csv", path: "d.csv" } }));
    const tr = await npx(["mtl-wasm", "train", "c.json", "--out", "cli", "--quiet"]);
    expect(tr.code === 0, `npx mtl-wasm train exited ${tr.code}:\n${tr.out}`);
    const a = readFileSync(join(project, "cli/weights.safetensors")), b = readFileSync(join(project, "saved/weights.safetensors"));
    expect(a.equals(b), "npx mtl-wasm train and train() (saved by save()) give different weights on the same data and seed");
    const su = await npx(["mtl", "summary", "saved"]);
    expect(su.code === 0 && /agrees with weights\.safetensors/.test(su.out), `npx mtl summary saved (the save() output) exited ${su.code}:\n${su.out}`);
    writeFileSync(join(project, "probe.csv"), "a,b,c,color\n0.3,-0.2,0.5,red\n");
    const pr = await npx(["mtl-wasm", "predict", "saved", "--data", "probe.csv", "--out", "p.csv"]);
    expect(pr.code === 0, `npx mtl-wasm predict saved exited ${pr.code}:\n${pr.out}`);
    const [head, line] = readFileSync(join(project, "p.csv"), "utf8").trim().split("\n");
    const pos = Number(line.split(",")[head.split(",").indexOf("pos")]);
    expect(nodeOut && Math.abs(pos - nodeOut.pos[0]) < 1e-6, `mtl-wasm predict on the saved model gives pos ${pos}, train()'s predict ${nodeOut?.pos[0]}`);
    return "mtl and mtl-wasm run the packaged CLI; its train = train() bit for bit; summary and predict read save()";
  });

  await check("types", async () => {
    const notes = [];
    for (const [module, resolution] of [["ESNext", "Bundler"], ["NodeNext", "NodeNext"]]) {
      writeFileSync(join(project, "tsconfig.json"), JSON.stringify({ compilerOptions: { target: "ES2022", module, moduleResolution: resolution, strict: true, noEmit: true, skipLibCheck: false, lib: ["ES2022", "DOM"], types: [] }, files: ["consumer.ts"] }));
      const r = await run(process.execPath, [TSC, "-p", ".", "--explainFiles"], { cwd: project });
      const errors = r.out.split("\n").filter((l) => /error TS/.test(l));
      expect(r.code === 0 && !errors.length, `tsc (moduleResolution ${resolution}) on a consumer file:\n${errors.join("\n") || r.out.slice(-2000)}`);
      expect(/node_modules\/mtl-wasm\/dist\/types\/entry\/inline\.d\.ts/.test(r.out) && !/node_modules\/mtl-wasm\/src\//.test(r.out), `tsc (${resolution}) did not read the package's dist/types declarations`);
      notes.push(resolution);
    }
    // And a wrong use is caught (the types are not `any`).
    writeFileSync(join(project, "bad.ts"), `import { train } from "mtl-wasm";\nconst n: number = (await train({}, [])).export();\nconsole.log(n);\n`);
    writeFileSync(join(project, "tsconfig.json"), JSON.stringify({ compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, noEmit: true, types: [] }, files: ["bad.ts"] }));
    const bad = await run(process.execPath, [TSC, "-p", "."], { cwd: project });
    expect(bad.code !== 0 && /bad\.ts\(2,7\): error TS2322/.test(bad.out), `assigning export()'s Uint8Array to a number typechecked:\n${bad.out}`);
    return `consumer.ts typechecks with moduleResolution ${notes.join(" and ")} from dist/types; a wrong use is TS2322`;
  });

  await check("deno", async () => {
    const r = await run(DENO, ["run", "--allow-read", "--allow-env", "--node-modules-dir=manual", "deno-main.mjs"], { cwd: project, env: { DENO_DIR: join(work, ".deno"), DENO_NO_UPDATE_CHECK: "1" } });
    expect(r.code === 0, `deno run exited ${r.code}:\n${r.out}`);
    const out = JSON.parse(r.out.trim().split("\n").pop());
    expect(nodeOut && JSON.stringify(out) === JSON.stringify({ ...nodeOut, ortMaxDiff: undefined }), `Deno ${JSON.stringify(out)}\nNode ${JSON.stringify(nodeOut)}`);
    return "train + predict + export from node_modules, equal to Node's";
  });

  const underCI = !!process.env.CI && !/^(0|false)$/i.test(process.env.CI);
  if (!existsSync(CHROMIUM) && !underCI) console.log(`SKIP package chromium: ${CHROMIUM} not found: apt-get install -y chromium (or set CHROMIUM)`);
  else await check("chromium", async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} not found: apt-get install -y chromium (or set CHROMIUM)`);
    const www = join(work, "www");
    await esbuild.build({ entryPoints: [join(project, "page.mjs")], outfile: join(www, "page.js"), bundle: true, format: "esm", platform: "browser", target: "es2022", logLevel: "silent", absWorkingDir: project });
    writeFileSync(join(www, "index.html"), `<!doctype html><meta charset="utf-8"><title>mtl-wasm consumer</title><script type="module" src="./page.js"></script>\n`);
    const server = await serve(www);
    const { chromium } = await import("playwright-core");
    const profile = mkdtempSync(join(tmpdir(), "mtl-chromium-"));
    const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    const consoleLines = [];
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      page.on("console", (m) => consoleLines.push(`[console.${m.type()}] ${m.text()}`));
      page.on("pageerror", (e) => consoleLines.push(`[pageerror] ${e.message}`));
      await page.goto(server.url + "index.html");
      await page.waitForFunction(() => globalThis.__result !== undefined, null, { timeout: 60_000 });
      const r = await page.evaluate(() => globalThis.__result);
      expect(r.ok, `the page failed: ${r.error}\n${consoleLines.join("\n")}`);
      expect(nodeOut && JSON.stringify(r.out) === JSON.stringify({ ...nodeOut, ortMaxDiff: undefined }), `Chromium ${JSON.stringify(r.out)}\nNode ${JSON.stringify(nodeOut)}`);
      return `an esbuild bundle of "mtl-wasm" trains in the page (chromium ${context.browser()?.version() ?? "?"}); its predictions equal Node's`;
    } finally {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
      await server.close();
    }
  });

  const skip = (name, why) => (underCI ? fail(name, `${why} (CI=1: not skipped)`) : console.log(`SKIP package ${name}: ${why}`));
  await checkExamples({ root: ROOT, project, work, check, expect, run, skip, underCI, deno: DENO, chromium: CHROMIUM, chromiumArgs: CHROMIUM_ARGS });
} catch (e) {
  fail("setup", e?.message ?? e);
} finally {
  if (keep) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
console.log(`package checks: ${failed ? `${failed} failed` : "all passed"} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
process.exit(failed ? 1 : 0);
