// The examples/ programs, run as a user runs them: tools/pack.mjs copies examples/ into its consumer project (which
// installed the packed tarball, so `import … from "mtl-wasm"` is the installed package) and calls checkExamples.
// One `PASS package example-<name>` / `FAIL …` / `SKIP …` line each:
//   example-node-csv        train.mjs on the red-wine CSV: its metrics parse and beat constant predictors computed
//                           here from the file; model.onnx run by onnxruntime-web equals its printed predictions
//   example-deno            predict.mjs under Deno prints the predictions node-csv printed, bit for bit
//   example-workerd         workerd serves config.capnp: POST /predict equals node-csv's predictions (1e-6), and a
//                           row without the model's columns is a 400 naming a column
//   example-browser-worker  the esbuild bundle of page.js + worker.js in headless Chromium: ≥ 1 epoch shown, then
//                           final metrics far above a constant predictor
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { spawn } from "node:child_process";
import * as esbuild from "esbuild";
import { freePort, serve } from "./serve.mjs";

const WINE = "../shared/data/wine-quality/winequality-red.csv"; // relative to the repository root
const WORKERD = "node_modules/@cloudflare/workerd-linux-64/bin/workerd"; // the real binary (tools/runtimes.mjs)

/** The `predictions {json}` line a program printed, parsed (or null). */
const predictionsOf = (out) => {
  const m = /^predictions (\{.*\})$/m.exec(out);
  return m ? JSON.parse(m[1]) : null;
};
const maxDiff = (a, b) => Math.max(...Object.keys(a).flatMap((t) => a[t].map((x, i) => Math.abs(x - b[t][i]))));

/** Constant predictors of the grade in the file (float64): RMSE of the mean and MAE of the median. */
function wineBaselines(path) {
  const lines = readFileSync(path, "utf8").trim().split("\n");
  const q = lines.slice(1).map((l) => Number(l.split(";").pop()));
  const mean = q.reduce((s, x) => s + x, 0) / q.length;
  const sorted = [...q].sort((x, y) => x - y), median = sorted[Math.floor(q.length / 2)];
  return {
    rows: q.length,
    rmse: Math.sqrt(q.reduce((s, x) => s + (x - mean) ** 2, 0) / q.length),
    mae: q.reduce((s, x) => s + Math.abs(x - median), 0) / q.length,
  };
}


/**
 * ctx: { root, project, work, check, expect, run, skip, deno, chromium, chromiumArgs } from tools/pack.mjs
 * (`run(cmd, args, opts)` resolves { code, out }; `skip(name, why)` prints SKIP, or FAIL under CI).
 */
export async function checkExamples(ctx) {
  const { root, project, work, check, expect, run, skip } = ctx;
  cpSync(join(root, "examples"), join(project, "examples"), { recursive: true, filter: (src) => !/[/\\](www|out)$/.test(src) });
  const wine = resolve(root, WINE);

  let nodePreds = null;
  if (!existsSync(wine)) skip("example-node-csv", `${wine} not found (the shared data folder); example-deno and example-workerd need its output too`);
  else await check("example-node-csv", async () => {
    const r = await run(process.execPath, ["examples/node-csv/train.mjs", wine, "out"], { cwd: project });
    expect(r.code === 0, `node examples/node-csv/train.mjs exited ${r.code}:\n${r.out}`);
    const base = wineBaselines(wine);
    const rows = /^rows: (\d+) train, (\d+) validation$/m.exec(r.out);
    expect(rows && +rows[1] + +rows[2] === base.rows && Math.abs(+rows[2] / base.rows - 0.2) < 0.01, `rows line ${rows?.[0]}: expected a 80/20 split of ${base.rows} rows`);
    const metric = (task, name) => Number(new RegExp(`^${task} .*\\b${name}=([-0-9.e]+)`, "m").exec(r.out)?.[1]);
    const rmse = metric("quality", "rmse"), mae = metric("quality", "mae"), auc = metric("good", "auc");
    expect(rmse < 0.95 * base.rmse, `quality rmse ${rmse}: not below 0.95 × ${base.rmse.toFixed(4)} (predicting the mean grade)\n${r.out}`);
    expect(mae < 0.9 * base.mae, `quality mae ${mae}: not below 0.9 × ${base.mae.toFixed(4)} (predicting the median grade)\n${r.out}`);
    expect(auc > 0.75, `good auc ${auc}: not above 0.75 (a constant scores 0.5)\n${r.out}`);
    nodePreds = predictionsOf(r.out);
    const probe = JSON.parse(readFileSync(join(project, "out/probe.json"), "utf8"));
    expect(probe.length === 3 && Object.keys(probe[0]).length === 11, `out/probe.json: ${JSON.stringify(probe).slice(0, 200)}`);
    expect(nodePreds && nodePreds.quality.length === 3 && nodePreds.quality.every((q) => q > 2 && q < 9) && nodePreds.good.every((p) => p > 0 && p < 1), `predictions line: ${JSON.stringify(nodePreds)}`);
    // The written file in the other engine: onnxruntime-web on out/model.onnx gives the printed predictions.
    writeFileSync(join(project, "ort-check.mjs"), `import { readFileSync } from "node:fs";\nimport { createSession } from "mtl-wasm";\nconst s = await createSession(readFileSync("out/model.onnx"), { engine: "ort" });\nconst o = await s.run(JSON.parse(readFileSync("out/probe.json", "utf8")));\nconsole.log("predictions " + JSON.stringify(Object.fromEntries(Object.entries(o).map(([t, v]) => [t, Array.from(v)]))));\n`);
    const o = await run(process.execPath, ["ort-check.mjs"], { cwd: project });
    const ortPreds = predictionsOf(o.out);
    expect(o.code === 0 && ortPreds, `onnxruntime-web on out/model.onnx exited ${o.code}:\n${o.out}`);
    const d = maxDiff(nodePreds, ortPreds);
    expect(d < 1e-5, `onnxruntime-web on out/model.onnx differs from the printed predictions by ${d}`);
    return `rmse ${rmse} (mean: ${base.rmse.toFixed(3)}), mae ${mae} (median: ${base.mae.toFixed(3)}), auc ${auc}; onnxruntime-web on model.onnx within ${d.toExponential(1)}`;
  });

  if (!nodePreds) skip("example-deno", "needs example-node-csv's out/model.onnx");
  else await check("example-deno", async () => {
    const r = await run(ctx.deno, ["run", "--allow-read", "--node-modules-dir=manual", "examples/deno/predict.mjs", "out/model.onnx", "out/probe.json"], { cwd: project, env: { DENO_DIR: join(work, ".deno"), DENO_NO_UPDATE_CHECK: "1" } });
    expect(r.code === 0, `deno run examples/deno/predict.mjs exited ${r.code}:\n${r.out}`);
    const p = predictionsOf(r.out);
    expect(JSON.stringify(p) === JSON.stringify(nodePreds), `Deno ${JSON.stringify(p)}\nNode ${JSON.stringify(nodePreds)}`);
    return "createSession in Deno prints Node's predictions bit for bit";
  });

  const workerd = join(root, WORKERD);
  if (!nodePreds) skip("example-workerd", "needs example-node-csv's out/model.onnx");
  else await check("example-workerd", async () => {
    expect(existsSync(workerd), `${workerd} not found (npm ci installs @cloudflare/workerd-linux-64)`);
    const port = await freePort();
    const child = spawn(workerd, ["serve", "examples/workerd/config.capnp", "--socket-addr", `http=127.0.0.1:${port}`], { cwd: project, stdio: ["ignore", "pipe", "pipe"] });
    let log = "", exited = null;
    child.stdout.on("data", (d) => (log += d));
    child.stderr.on("data", (d) => (log += d));
    child.on("exit", (code, sig) => (exited = `exit ${code ?? sig}`));
    try {
      const post = (body) => fetch(`http://127.0.0.1:${port}/predict`, { method: "POST", body, signal: AbortSignal.timeout(30_000) });
      let res = null;
      for (let i = 0; i < 100 && !res && !exited; i++) res = await post(readFileSync(join(project, "out/probe.json"))).catch(() => new Promise((ok) => setTimeout(() => ok(null), 100)));
      expect(res, `workerd did not answer on 127.0.0.1:${port} (${exited ?? "running"}):\n${log}`);
      const body = await res.json();
      expect(res.status === 200, `POST /predict: HTTP ${res.status} ${JSON.stringify(body)}\n${log}`);
      const d = maxDiff(nodePreds, body);
      expect(d <= 1e-6, `workerd's predictions differ from Node's createSession by ${d}:\nworkerd ${JSON.stringify(body)}\nNode ${JSON.stringify(nodePreds)}`);
      const bad = await post(JSON.stringify([{ alcohol: 10 }]));
      const badBody = await bad.json();
      expect(bad.status === 400 && /has no .*"fixed acidity"/.test(badBody.error), `a row without the model's columns: HTTP ${bad.status} ${JSON.stringify(badBody)}`);
      return `POST /predict = Node's createSession within ${d.toExponential(1)}; a bad row is a 400 naming the columns`;
    } finally {
      child.kill("SIGKILL");
    }
  });

  if (!existsSync(ctx.chromium) && !ctx.underCI) skip("example-browser-worker", `${ctx.chromium} not found: apt-get install -y chromium (or set CHROMIUM)`);
  else await check("example-browser-worker", async () => {
    expect(existsSync(ctx.chromium), `${ctx.chromium} not found: apt-get install -y chromium (or set CHROMIUM)`);
    const dir = join(project, "examples/browser-worker");
    // = npx esbuild examples/browser-worker/page.js examples/browser-worker/worker.js --bundle --format=esm --outdir=examples/browser-worker/www
    await esbuild.build({ entryPoints: [join(dir, "page.js"), join(dir, "worker.js")], bundle: true, format: "esm", outdir: join(dir, "www"), logLevel: "silent", absWorkingDir: project });
    const server = await serve(dir);
    const { chromium } = await import("playwright-core");
    const profile = mkdtempSync(join(tmpdir(), "mtl-chromium-"));
    const context = await chromium.launchPersistentContext(profile, { executablePath: ctx.chromium, headless: true, args: ctx.chromiumArgs });
    const lines = [];
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      page.on("pageerror", (e) => lines.push(`[pageerror] ${e.message}`));
      await page.goto(server.url + "index.html");
      await page.waitForSelector("#status[data-done], #status[data-error]", { timeout: 60_000 });
      const shown = await page.evaluate(() => ({ epochs: [...document.querySelectorAll("#log li")].map((li) => li.textContent), status: document.getElementById("status").textContent }));
      expect(!/failed/.test(shown.status), `${shown.status}\n${lines.join("\n")}`);
      expect(shown.epochs.length >= 1 && /^epoch 1: objective [0-9.]+, validation AUC [0-9.]+/.test(shown.epochs[0]), `epoch lines: ${JSON.stringify(shown.epochs)}`);
      const metrics = JSON.parse(/\{.*\}$/.exec(shown.status)?.[0] ?? "null");
      // A constant predictor: AUC 0.5; RMSE = std(a + 2b + [red]) ≈ 1.37 for a, b ~ U(−1, 1).
      expect(metrics?.above?.auc > 0.95 && metrics?.sum?.rmse < 0.3, `final metrics ${shown.status}`);
      return `${shown.epochs.length} epochs shown; final AUC ${metrics.above.auc.toFixed(3)}, RMSE ${metrics.sum.rmse.toFixed(3)}`;
    } finally {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
      await server.close();
    }
  });
}
