// The runtime matrix: the same scenario (test/runtimes/scenario.ts: train, hash the weights, export ONNX, run it
// on both engines) in Node, Deno, headless Chromium (page + Web Worker) and workerd, offline on 127.0.0.1, and in the
// JavaScript shells of the other two browser engines: JavaScriptCore (Safari; Debian's /usr/bin/jsc) and SpiderMonkey
// (Firefox ESR 102; /usr/bin/js102), from the same inline bundle with a small shim (test/runtimes/shell-shim.ts).
// A shell that is not installed prints `SKIP runtime=<name>: …` (a FAIL under CI=1).
//
//   node tools/runtimes.mjs node|deno|browser|workerd|jsc|spidermonkey|all
//   node tools/runtimes.mjs node --update-reference      (deliberately: rewrite test/runtimes/reference.json)
//
// Each run prints `PASS runtime=<name> sha256=<hex> loss=<start>→<end> ort=<diff|skipped> mtl=<diff> ms=<n>` (or
// `FAIL runtime=<name> …` with the reason). PASS needs the scenario's own checks (loss fell, engines agree within
// 1e-5) AND the weight hash equal to the reference hash COMMITTED in test/runtimes/reference.json: bit-identical
// training in every runtime, and across rewrites of the training core. A mismatch prints
// `FAIL runtime=<name> expected sha256=<reference> actual sha256=<got>`, whether the training data hash and the
// scenario's parameters still match the reference's (to tell a data or scenario change from a training change), and
// whether build/mtl.wasm is the one the reference was made with.
//
// The reference is never written on its own. After a deliberate change to the scenario (test/runtimes/scenario.ts)
// or to the numerics, regenerate it with `node tools/runtimes.mjs node --update-reference` (Node's run becomes the
// reference; `all --update-reference` then checks the other runtimes against it), review the diff of
// test/runtimes/reference.json and commit it with the reason. Bundles are built into out/runtimes/ (git-ignored).
//
// Data-parallel training (test/runtimes/parallel-scenario.ts: one thread vs parallelGradients over 2 threads from the
// same init, max |diff| ≤ 1e-4 × max |w|) adds `deno-parallel` (Deno's main thread + a Deno worker),
// `chromium-worker-parallel` (a dedicated Web Worker + a nested worker; the page must be cross-origin isolated) and
// `workerd-parallel` (no workers there: PASS only as an explicit single-thread fallback). These lines are checked
// against their own single-thread run, not against the reference hash.
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as esbuild from "esbuild";
import { freePort, serve } from "./serve.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
process.chdir(ROOT);
const OUT = "out/runtimes";
const ORT_WASM = "node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm";
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const WORKERD = "node_modules/@cloudflare/workerd-linux-64/bin/workerd"; // the real binary, not the npm shim
const DENO = "node_modules/.bin/deno";
// The JavaScript shells of the two non-V8 browser engines, from Debian (.ci/run installs them).
const SHELLS = {
  jsc: { bin: process.env.JSC ?? "/usr/bin/jsc", pkg: "libjavascriptcoregtk-4.0-bin", args: (f) => ["-m", f], engine: "JavaScriptCore" },
  spidermonkey: { bin: process.env.JS102 ?? "/usr/bin/js102", pkg: "libmozjs-102-dev", args: (f) => ["--module", f], engine: "SpiderMonkey" },
};
const sha256 = (buf) => createHash("sha256").update(buf).digest("hex");
export const REFERENCE = "test/runtimes/reference.json";
const REGENERATE = "node tools/runtimes.mjs node --update-reference";

// ---- the committed reference --------------------------------------------------------------------------
function readReference() {
  if (!existsSync(REFERENCE)) return null;
  return JSON.parse(readFileSync(REFERENCE, "utf8"));
}

/** Node's scenario result becomes the reference (only with --update-reference). */
function writeReference(result) {
  const ref = {
    about: `The weight hash every runtime in tools/runtimes.mjs must produce for test/runtimes/scenario.ts (and every rewrite of the training core). Never updated automatically: regenerate deliberately with \`${REGENERATE}\` after an intended change to the scenario or the numerics, and commit the diff with the reason.`,
    weightsSha256: result.weightsSha256,
    dataSha256: result.dataSha256,
    params: result.params,
    loss: `${result.lossStart}→${result.lossEnd}`,
    scenario: result.scenario,
    tensorSha256: result.tensorSha256,
    // The streaming scenario (test/runtimes/stream-scenario.ts): Node's one-thread run from a Blob's stream.
    stream: result.stream,
    generatedWith: { node: process.version, mtlWasmSha256: sha256(readFileSync("build/mtl.wasm")) },
  };
  writeFileSync(REFERENCE, JSON.stringify(ref, null, 2) + "\n");
  return ref;
}

/** The first path where two JSON values differ, as `path: a → b` (null when equal). */
function jsonDiff(a, b, path = "") {
  if (JSON.stringify(a) === JSON.stringify(b)) return null;
  if (a && b && typeof a === "object" && typeof b === "object" && Array.isArray(a) === Array.isArray(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const d = jsonDiff(a[k], b[k], path ? `${path}.${k}` : k);
      if (d) return d;
    }
  }
  return `${path || "(root)"}: ${JSON.stringify(a)} → ${JSON.stringify(b)}`;
}

/** Why a streaming scenario run does not match the reference's `stream`, or null when it does. */
function streamMismatch(ref, r) {
  const want = ref?.stream;
  if (!want) return `no reference stream hash: ${REFERENCE} has no "stream" (create it deliberately: ${REGENERATE}); actual sha256=${r.sha}`;
  if (r.sha === want.weightsSha256) return null;
  const scenario = jsonDiff(want.scenario, r.result?.scenario);
  return `expected stream sha256=${want.weightsSha256} actual sha256=${r.sha} (${REFERENCE}): ${scenario ? `the scenario differs from the reference's (${scenario})` : "scenario as in the reference: streamed training differs"}`;
}

/** Why result `r` (a runtime's scenario run) does not match the reference, or null when it does. */
function referenceMismatch(ref, r) {
  if (r.stream) return streamMismatch(ref, r);
  if (!ref) return `no reference hash: ${REFERENCE} is missing (create it deliberately: ${REGENERATE}); actual sha256=${r.sha}`;
  if (r.sha === ref.weightsSha256) return null;
  const notes = [];
  const scenario = jsonDiff(ref.scenario, r.result?.scenario);
  notes.push(scenario ? `the scenario differs from the reference's (${scenario})` : "scenario parameters as in the reference");
  notes.push(r.result?.dataSha256 === ref.dataSha256 ? "training data identical to the reference's: training itself differs" : `training data differs too (data sha256=${r.result?.dataSha256}, reference ${ref.dataSha256})`);
  const want = ref.tensorSha256 ?? {}, got = r.result?.tensorSha256 ?? {};
  const names = [...new Set([...Object.keys(want), ...Object.keys(got)])].sort();
  const differ = names.filter((n) => want[n] !== got[n]);
  if (differ.length) notes.push(`${differ.length}/${names.length} tensors differ: ${differ.slice(0, 6).map((n) => `${n}${!(n in want) ? " (not in the reference)" : !(n in got) ? " (missing)" : ""}`).join(", ")}${differ.length > 6 ? ", …" : ""}`);
  const wasm = sha256(readFileSync("build/mtl.wasm"));
  if (ref.generatedWith?.mtlWasmSha256 && ref.generatedWith.mtlWasmSha256 !== wasm) notes.push(`build/mtl.wasm is not the one the reference was made with`);
  return `expected sha256=${ref.weightsSha256} actual sha256=${r.sha} (${REFERENCE}): ${notes.join("; ")}`;
}

// ---- bundles -----------------------------------------------------------------------------------------
/** `onnxruntime-web` (the dynamic default import in src/infer/ort.ts) → `onnxruntime-web/wasm`: one ORT in the bundle. */
export const ortWasmOnly = {
  name: "ort-wasm-only",
  setup(b) {
    b.onResolve({ filter: /^onnxruntime-web$/ }, (args) => b.resolve("onnxruntime-web/wasm", { kind: args.kind, resolveDir: args.resolveDir }));
  },
};
const common = { bundle: true, format: "esm", target: "es2022", logLevel: "warning", mainFields: ["module", "main"], legalComments: "none" };

/** Node + Deno: the scenario with build/mtl.wasm inlined; onnxruntime-web external (each driver passes it). */
async function buildInline() {
  mkdirSync(OUT, { recursive: true });
  await esbuild.build({ ...common, platform: "neutral", entryPoints: ["test/runtimes/inline.ts"], outfile: `${OUT}/scenario.inline.mjs`, loader: { ".wasm": "binary" }, external: ["onnxruntime-web"] });
  return `${OUT}/scenario.inline.mjs`;
}

/** The JS shells: the host-API shim the scenario needs there (test/runtimes/shell-shim.ts), beside the inline bundle. */
async function buildShellShim() {
  mkdirSync(OUT, { recursive: true });
  await esbuild.build({ ...common, platform: "neutral", entryPoints: ["test/runtimes/shell-shim.ts"], outfile: `${OUT}/shell-shim.mjs` });
  return `${OUT}/shell-shim.mjs`;
}

/**
 * Data-parallel training (Deno): the portable parallel scenario (test/runtimes/parallel-scenario.ts; the caller
 * compiles build/mtl.wasm and passes the module) and the worker entry each training worker runs.
 */
async function buildParallel() {
  mkdirSync(OUT, { recursive: true });
  await esbuild.build({ ...common, platform: "neutral", entryPoints: { parallel: "test/runtimes/parallel-scenario.ts", "parallel-worker": "test/runtimes/parallel-worker-entry.ts" }, outdir: OUT, outExtension: { ".js": ".mjs" } });
  return { scenario: `${OUT}/parallel.mjs`, worker: `${OUT}/parallel-worker.mjs` };
}

/** Chromium: one bundle for page and worker (wasm inlined, ORT's wasm build bundled, its .wasm copied beside). */
export async function buildBrowser(outdir = `${OUT}/browser`) {
  mkdirSync(outdir, { recursive: true });
  await esbuild.build({
    ...common,
    platform: "browser",
    // parallel-worker.mjs: the nested worker the coordinating Web Worker spawns for each extra training thread.
    entryPoints: { app: "test/runtimes/browser.ts", "parallel-worker": "test/runtimes/parallel-worker-entry.ts" },
    outdir,
    outExtension: { ".js": ".mjs" },
    loader: { ".wasm": "binary" },
    plugins: [ortWasmOnly],
    minify: true,
  });
  copyFileSync("test/runtimes/browser.html", `${outdir}/index.html`);
  copyFileSync(ORT_WASM, `${outdir}/ort-wasm-simd-threaded.wasm`);
  return outdir;
}

/** workerd: both .wasm files stay imports (precompiled modules in workerd.capnp). */
export async function buildWorkerd(outdir = `${OUT}/workerd`) {
  mkdirSync(outdir, { recursive: true });
  await esbuild.build({
    ...common,
    platform: "neutral",
    conditions: ["workerd", "worker", "browser"],
    entryPoints: { worker: "test/runtimes/workerd.ts" },
    outdir,
    outExtension: { ".js": ".mjs" },
    external: ["*.wasm"],
    plugins: [ortWasmOnly],
    minify: true,
  });
  return `${outdir}/worker.mjs`;
}

// ---- Node (in this process) ------------------------------------------------------------------------
async function runInNode({ withOrt }) {
  const bundle = await buildInline();
  const key = sha256(readFileSync(bundle));
  const lib = await import(`${pathToFileURL(resolve(bundle)).href}?${key}`);
  const ort = withOrt ? await import("onnxruntime-web") : null;
  const r = await lib.runScenario({ kernels: lib.loadInlineKernels, ort });
  const { onnx: _, ...result } = r;
  // The streaming scenario from a Blob's stream, on this thread (the worker path is tested in test/data/stream-worker.test.ts).
  const s = await lib.runStreamScenario({ kernels: lib.loadInlineKernels, open: (name, text) => { const b = new Blob([text]); return () => lib.fromReadableStream(name, b.stream()); }, spawn: null });
  const streamResult = { ...s, scenario: { ...lib.STREAM, spec: lib.streamSpecInput() } };
  return { line: lib.formatLine("node", r), sha: r.weightsSha256, ms: r.ms, result: { ...result, stream: { weightsSha256: s.weightsSha256, scenario: streamResult.scenario } }, stream: { line: lib.formatStreamLine("node", s), sha: s.weightsSha256, result: streamResult } };
}

async function node() {
  const t0 = Date.now();
  try {
    const r = await runInNode({ withOrt: true });
    return [
      { runtime: "node", line: r.line, sha: r.sha, result: r.result, wall: Date.now() - t0 },
      { runtime: "node-stream", stream: true, line: r.stream.line, sha: r.stream.sha, result: r.stream.result, wall: 0 },
    ];
  } catch (e) {
    return [{ runtime: "node", error: String(e?.stack ?? e), wall: Date.now() - t0 }];
  }
}

// ---- Deno ---------------------------------------------------------------------------------------------
function run(cmd, args, { env = {}, timeout = 120_000 } = {}) {
  return new Promise((ok) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeout);
    child.on("error", (e) => (err += String(e)));
    child.on("close", (code) => (clearTimeout(timer), ok({ code, out, err })));
  });
}

async function deno() {
  await buildInline();
  await buildParallel();
  const t0 = Date.now();
  const { code, out, err } = await run(DENO, ["run", "--allow-read", "--allow-env", "--node-modules-dir=manual", "test/runtimes/deno-main.mjs"], {
    env: { DENO_DIR: join(ROOT, ".deno"), DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
  });
  const wall = Date.now() - t0;
  const results = [];
  const res = /^RESULT (.*)$/m.exec(out);
  const errorOf = (tag) => `exit ${code}: ${(new RegExp(`^${tag} (.*)$`, "m").exec(out)?.[1] ?? "") + err}`.trim().slice(0, 2000);
  if (!res) results.push({ runtime: "deno", error: errorOf("ERROR"), wall });
  else {
    const r = JSON.parse(res[1]);
    results.push({ runtime: "deno", line: /^runtime=deno .*$/m.exec(out)[0], sha: r.weightsSha256, result: r, wall, note: `deno ${r.deno}, V8 ${r.v8}` });
  }
  // Data-parallel training on Deno's main thread (it may block) with one Deno worker: checked against its own
  // single-thread run (float tolerance), not against the reference hash.
  const par = /^PRESULT (.*)$/m.exec(out);
  if (!par) results.push({ runtime: "deno-parallel", error: errorOf("PERROR"), wall: 0 });
  else {
    const r = JSON.parse(par[1]);
    const line = /^runtime=deno-parallel .*$/m.exec(out)[0];
    if (r.parallel) results.push({ runtime: "deno-parallel", line, selfChecked: true, wall: r.ms });
    else results.push({ runtime: "deno-parallel", error: `${line}: fell back to one thread, but Deno's main thread can run parallel training`, wall: r.ms });
  }
  return results;
}

// ---- JavaScriptCore (jsc) and SpiderMonkey (js102): Safari's and Firefox's engines as Debian shells ---------------
/** Node's dmath fingerprint (test/runtimes/dmath-fingerprint.ts) from the same inline bundle: the shells must match it. */
async function nodeDmathFingerprint() {
  const bundle = await buildInline();
  const lib = await import(`${pathToFileURL(resolve(bundle)).href}?${sha256(readFileSync(bundle))}`);
  return lib.dmathFingerprint();
}

/**
 * One shell runs test/runtimes/shell-main.mjs (shim + the inline bundle). PASS needs the reference weight hash (checked
 * in main) and src/util/dmath.ts's fingerprint equal to Node's. A missing binary is a SKIP outside CI (test/skip.ts's
 * convention) and a FAIL under CI.
 */
function shellRunner(name) {
  const sh = SHELLS[name];
  return async () => {
    const t0 = Date.now();
    if (!existsSync(sh.bin)) {
      const reason = `${sh.bin} not found: apt-get install -y ${sh.pkg} (.ci/run installs it)`;
      if (underCI()) return [{ runtime: name, error: `${reason}; under CI this is a failure`, wall: 0 }];
      return [{ runtime: name, skip: reason, wall: 0 }];
    }
    await buildInline();
    await buildShellShim();
    const reference = await nodeDmathFingerprint();
    const { code, out, err } = await run(sh.bin, sh.args("test/runtimes/shell-main.mjs"), { timeout: 240_000 });
    const wall = Date.now() - t0;
    const res = /^RESULT (.*)$/m.exec(out);
    if (!res) return [{ runtime: name, error: `exit ${code}: ${(/^ERROR (.*)$/m.exec(out)?.[1] ?? out.slice(-1000)) + err}`.trim().slice(0, 2000), wall }];
    const r = JSON.parse(res[1]);
    const line = new RegExp(`^runtime=${name} .*$`, "m").exec(out)[0];
    const differs = Object.entries(r.dmath.mathDiffers).map(([f, n]) => `${f} ${n}`).join(", ");
    const note = `${sh.engine} (${debVersion(sh.pkg)}); shimmed: ${r.shimmed.join(", ") || "nothing"}; host Math.* ≠ dmath in ${differs} of ${r.dmath.samples} samples each`;
    if (r.dmath.sha256 !== reference.sha256) {
      return [{ runtime: name, error: `src/util/dmath.ts gives other bits here than in Node: fingerprint ${r.dmath.sha256} ≠ Node's ${reference.sha256} | ${line} | ${note}`, wall }];
    }
    return [{ runtime: name, line: `${line} dmath=${r.dmath.sha256.slice(0, 12)}(=node)`, sha: r.weightsSha256, result: r, wall, note }];
  };
}

function debVersion(pkg) {
  try {
    return `${pkg} ${execFileSync("dpkg-query", ["-W", "-f=${Version}", pkg], { encoding: "utf8" }).trim()}`;
  } catch {
    return pkg;
  }
}

const underCI = () => !!process.env.CI && !/^(0|false)$/i.test(process.env.CI);

// ---- Chromium (page + worker) -------------------------------------------------------------------------
export const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"];

export async function launchChromium() {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install -y chromium (or set CHROMIUM)`);
  const { chromium } = await import("playwright-core");
  const profile = mkdtempSync(join(tmpdir(), "mtl-chromium-"));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  return {
    context,
    close: async () => {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

async function browser() {
  const dir = await buildBrowser();
  const t0 = Date.now();
  const server = await serve(dir, { isolate: true });
  let chrome = null;
  const results = [];
  const consoleLines = [];
  try {
    chrome = await launchChromium();
    const page = chrome.context.pages()[0] ?? (await chrome.context.newPage());
    page.on("console", (m) => consoleLines.push(`[console.${m.type()}] ${m.text()}`));
    page.on("pageerror", (e) => consoleLines.push(`[pageerror] ${e.message}`));
    await page.goto(server.url + "index.html");
    await page.waitForFunction(() => globalThis.__ready === true, null, { timeout: 30_000 });
    const version = chrome.context.browser()?.version() ?? "?";
    for (const [runtime, fn] of [["chromium-page", "__runPage"], ["chromium-worker", "__runWorker"]]) {
      const t1 = Date.now();
      const r = await page.evaluate((name) => globalThis[name](), fn);
      const wall = Date.now() - t1 + (results.length ? 0 : t1 - t0);
      if (r.ok) results.push({ runtime, line: r.line, sha: r.result.weightsSha256, result: r.result, wall, note: `chromium ${version}` });
      else results.push({ runtime, error: r.error, wall });
    }
    // Streaming from a File (file.stream() per pass), on the page and in a dedicated worker; each also parses its
    // epochs on a nested worker and checks the weights equal its one-thread run's. The hash must be Node's (reference).
    for (const [runtime, fn] of [["chromium-page-stream", "__runPageStream"], ["chromium-worker-stream", "__runWorkerStream"]]) {
      const t1 = Date.now();
      const r = await page.evaluate((name) => globalThis[name](), fn);
      if (r.ok) results.push({ runtime, stream: true, line: r.line, sha: r.result.weightsSha256, result: r.result, wall: Date.now() - t1, note: `chromium ${version}` });
      else results.push({ runtime, error: r.error, wall: Date.now() - t1 });
    }
    // Data-parallel training inside a dedicated worker (the coordinator blocks, so never on the page's thread),
    // with a nested worker for shard 1: checked against its own single-thread run. The page is served with
    // COOP/COEP, so it must be cross-origin isolated; a single-thread fallback here is a failure.
    {
      const runtime = "chromium-worker-parallel", t1 = Date.now();
      const r = await page.evaluate(() => globalThis.__runWorkerParallel());
      const wall = Date.now() - t1, note = `chromium ${version}, page crossOriginIsolated=${r.pageIsolated}`;
      if (!r.ok) results.push({ runtime, error: `${r.error} (page crossOriginIsolated=${r.pageIsolated})`, wall });
      else if (!r.result.parallel || !r.pageIsolated) results.push({ runtime, error: `${r.line}: the page is served with COOP/COEP and must be cross-origin isolated (page crossOriginIsolated=${r.pageIsolated}); parallel training fell back to one thread`, wall });
      else results.push({ runtime, line: r.line, selfChecked: true, wall, note });
    }
  } catch (e) {
    results.push({ runtime: "chromium", error: `${e?.stack ?? e}\n${consoleLines.join("\n")}`, wall: Date.now() - t0 });
  } finally {
    await chrome?.close();
    await server.close();
  }
  for (const r of results) if (r.error && consoleLines.length) r.error += "\n" + consoleLines.slice(-20).join("\n");
  return results;
}

// ---- workerd ------------------------------------------------------------------------------------------
async function workerd() {
  await buildWorkerd();
  if (!existsSync(WORKERD)) return [{ runtime: "workerd", error: `${WORKERD} not found (npm ci installs @cloudflare/workerd-linux-64)`, wall: 0 }];
  const t0 = Date.now();
  const port = await freePort();
  const child = spawn(WORKERD, ["serve", "test/runtimes/workerd.capnp", "--socket-addr", `http=127.0.0.1:${port}`], { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
  let exited = null;
  child.on("exit", (code, sig) => (exited = `exit ${code ?? sig}`));
  const kill = () => {
    if (exited === null) child.kill("SIGKILL");
  };
  process.once("exit", kill);
  try {
    // The server is up once it accepts connections; retry on refusals for up to 20 s.
    let res = null;
    for (let i = 0; i < 200 && !res; i++) {
      if (exited) throw new Error(`workerd ${exited} before serving:\n${log}`);
      res = await fetch(`http://127.0.0.1:${port}/run`, { signal: AbortSignal.timeout(120_000) }).catch((e) => (e?.name === "TimeoutError" ? Promise.reject(e) : null));
      if (!res) await new Promise((r) => setTimeout(r, 100));
    }
    if (!res) throw new Error(`workerd did not answer on 127.0.0.1:${port}:\n${log}`);
    const body = await res.json().catch(async () => ({ ok: false, error: `HTTP ${res.status}` }));
    const wall = Date.now() - t0;
    const results = [];
    if (!body.ok) results.push({ runtime: "workerd", error: `${body.error}\n${log}`, wall });
    else results.push({ runtime: "workerd", line: body.line, sha: body.result.weightsSha256, result: body.result, wall, note: (await run(WORKERD, ["--version"])).out.trim() });
    // Data-parallel training: workerd has no Worker, so it must fall back to one thread (and say why).
    const t1 = Date.now();
    const pres = await fetch(`http://127.0.0.1:${port}/parallel`, { signal: AbortSignal.timeout(60_000) });
    const p = await pres.json().catch(async () => ({ ok: false, error: `HTTP ${pres.status}` }));
    const pwall = Date.now() - t1;
    if (!p.ok) results.push({ runtime: "workerd-parallel", error: `${p.error}\n${log}`, wall: pwall });
    else if (p.result.parallel || !p.hasWorker || !p.canRunParallel) results.push({ runtime: "workerd-parallel", line: p.line, selfChecked: true, wall: pwall });
    else results.push({ runtime: "workerd-parallel", error: `${p.line}: fell back to one thread although Worker and canRunParallel() are available`, wall: pwall });
    return results;
  } catch (e) {
    return [{ runtime: "workerd", error: String(e?.stack ?? e), wall: Date.now() - t0 }];
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => {
      if (exited !== null) return r();
      const t = setTimeout(() => (kill(), r()), 3000);
      child.once("exit", () => (clearTimeout(t), r()));
    });
    process.off("exit", kill);
  }
}

// ---- main ---------------------------------------------------------------------------------------------
const RUNNERS = { node, deno, browser, workerd, jsc: shellRunner("jsc"), spidermonkey: shellRunner("spidermonkey") };

async function main() {
  const args = process.argv.slice(2);
  const flags = args.filter((a) => a.startsWith("--")), positional = args.filter((a) => !a.startsWith("--"));
  for (const f of flags) if (f !== "--update-reference") throw new Error(`unknown option ${f}: the only option is --update-reference`);
  const update = flags.includes("--update-reference");
  const which = positional[0] ?? "all";
  const names = which === "all" ? Object.keys(RUNNERS) : [which];
  for (const n of names) if (!RUNNERS[n]) throw new Error(`unknown runtime ${JSON.stringify(n)}: use node, deno, browser, workerd, jsc, spidermonkey or all`);
  if (update && !names.includes("node")) throw new Error(`--update-reference makes Node's run the reference: use \`${REGENERATE}\` (or all --update-reference)`);
  let ref = readReference();
  const results = [];
  for (const n of names) {
    const runs = await RUNNERS[n]();
    if (n === "node" && update) {
      const r = runs.find((x) => x.runtime === "node");
      if (r && !r.error) {
        const old = ref?.weightsSha256 ?? "(none)";
        ref = writeReference(r.result);
        console.log(`reference updated: ${REFERENCE} weightsSha256 ${old} → ${ref.weightsSha256} (review and commit the diff, with the reason)`);
      } else console.log(`reference NOT updated: Node's run failed`);
    }
    for (const r of runs) {
      const timing = `wall=${r.wall}ms${r.note ? ` (${r.note})` : ""}`;
      // selfChecked (the parallel scenarios): the scenario compared its runs itself; there is no reference hash to match.
      if (r.skip) {
        console.log(`SKIP runtime=${r.runtime}: ${r.skip}`);
        results.push({ ...r, ok: true });
        continue;
      }
      const mismatch = r.error || r.selfChecked ? null : referenceMismatch(ref, r);
      if (r.error) console.log(`FAIL runtime=${r.runtime} ${timing}: ${r.error}`);
      else if (mismatch) console.log(`FAIL runtime=${r.runtime} ${mismatch} | ${r.line.replace(/^runtime=\S+ sha256=\S+ ?/, "")} ${timing}`);
      else console.log(`PASS ${r.line} ${timing}`);
      results.push({ ...r, ok: !r.error && !mismatch });
    }
  }
  const bad = results.filter((r) => !r.ok);
  if (names.length > 1) {
    const shas = new Set(results.filter((r) => r.sha && !r.stream).map((r) => r.sha));
    const same = shas.size === 1 ? `all weight hashes equal${ref && shas.has(ref.weightsSha256) ? " (= the reference)" : ref ? ` (≠ the reference ${ref.weightsSha256})` : ""}` : `${shas.size} distinct weight hashes`;
    console.log(`runtimes: ${results.length - bad.length}/${results.length} ok; ${same}`);
  }
  process.exitCode = bad.length ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main().catch((e) => {
    console.log(`FAIL runtime=${process.argv[2] ?? "all"}: ${e?.stack ?? e}`);
    process.exitCode = 1;
  });
}
