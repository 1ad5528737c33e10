// npm run demo:check: drive the demo in headless Chromium on both data sets: the MMoE synthetic generator (slider at
// p = 0.5) and wine quality (red + white, one label per row). For each: pick the option, click Train, wait for the
// predictions from the downloaded ONNX model, check every task's epoch loss fell, predictions appeared and both engines
// agree (≤ 1e-5), and save a screenshot (out/demo/demo-<dataset>.png). One PASS/FAIL line per data set. Without the
// wine files (../shared/data, or --data DIR) the wine run is skipped with a note. Last, the toy click/value set with
// the shared-bottom architecture (binary + regression; click AUC > 0.75).
//   node tools/demo/check.mjs [--data DIR] [--epochs N]
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildDemo, demoRoots } from "./build.mjs";
import { serve } from "../serve.mjs";
import { launchChromium } from "../runtimes.mjs";

process.chdir(resolve(dirname(fileURLToPath(import.meta.url)), "../.."));
const arg = (name) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const EPOCHS = Number(arg("--epochs") ?? 6);
const TOLERANCE = 1e-5;
const data = resolve(arg("--data") ?? "../shared/data");
const haveWine = existsSync(resolve(data, "wine-quality/winequality-red.csv")) && existsSync(resolve(data, "wine-quality/winequality-white.csv"));

const t0 = Date.now();
const dir = await buildDemo();
const server = await serve(demoRoots(dir, data), { isolate: true });
let chrome = null;
const logs = [];
const fmt = (a) => a.map((x) => x.toFixed(3)).join("/");

async function runDataset(page, dataset, { architecture = "mmoe", setup, auc } = {}) {
  const t1 = Date.now();
  await page.selectOption("#dataset", dataset);
  await page.selectOption("#architecture", architecture);
  await setup?.();
  await page.fill("#epochs", String(EPOCHS));
  await page.click("#train");
  await page.waitForFunction(() => globalThis.__demo?.done === true, null, { timeout: 60_000 });
  const r = await page.evaluate(() => globalThis.__demo);
  await page.waitForTimeout(100); // the last animation frame
  const shot = `${dir}/demo-${dataset}.png`;
  await page.screenshot({ path: shot, fullPage: true });
  const rows = await page.locator("#predictions tbody tr").count();
  const problems = [];
  if (r.dataset !== dataset) problems.push(`trained ${r.dataset}, expected ${dataset}`);
  if (r.epochs !== EPOCHS) problems.push(`${r.epochs} epochs drawn, expected ${EPOCHS}`);
  r.tasks.forEach((t, i) => {
    if (!(r.lastLoss[i] < r.firstLoss[i])) problems.push(`task ${t}: loss did not fall (${r.firstLoss[i]} → ${r.lastLoss[i]})`);
    if (!(r.metrics[t]?.n > 0)) problems.push(`task ${t}: no labelled held-out rows`);
  });
  if (r.maxDiff === null || !(r.maxDiff <= TOLERANCE)) problems.push(`max |mtl − ort| ${r.maxDiff}`);
  if (!(rows > 0)) problems.push(`${rows} prediction rows shown`);
  for (const [t, min] of Object.entries(auc ?? {})) if (!(r.metrics[t]?.auc > min)) problems.push(`task ${t}: AUC ${r.metrics[t]?.auc} ≤ ${min}`);
  const metric = r.tasks.map((t) => `${t}:${r.metrics[t].rmse !== undefined ? "rmse=" + r.metrics[t].rmse.toFixed(3) : "auc=" + r.metrics[t].auc.toFixed(3)}`).join(",");
  const line =
    `demo dataset=${dataset}${r.correlation !== null ? ` p=${r.correlation.toFixed(2)}` : ""} arch=${r.architecture} epochs=${r.epochs} ` +
    `loss=${fmt(r.firstLoss)}→${fmt(r.lastLoss)} ${metric} mtl-vs-ort=${r.maxDiff?.toExponential(1)} onnx=${r.onnxBytes}B ` +
    `screenshot=${shot} wall=${Date.now() - t1}ms`;
  if (problems.length) {
    console.log(`FAIL ${line}: ${problems.join("; ")}\n${logs.join("\n")}`);
    process.exitCode = 1;
  } else console.log(`PASS ${line}`);
}

try {
  chrome = await launchChromium();
  const page = chrome.context.pages()[0] ?? (await chrome.context.newPage());
  page.on("console", (m) => logs.push(`[console.${m.type()}] ${m.text()}`));
  page.on("pageerror", (e) => logs.push(`[pageerror] ${e.message}`));
  await page.setViewportSize({ width: 1160, height: 900 });
  await page.goto(server.url + "index.html");
  await runDataset(page, "synthetic", {
    setup: async () => {
      await page.fill("#corr", "0.5");
      const shown = await page.textContent("#corr-value");
      if (shown !== "0.50") throw new Error(`the slider shows ${JSON.stringify(shown)}, expected "0.50"`);
    },
  });
  if (haveWine) await runDataset(page, "wine");
  else if (process.env.CI && !/^(0|false)$/i.test(process.env.CI)) throw new Error(`no wine-quality files under ${data}; under CI this is a failure`);
  else console.log(`\nSKIP demo dataset=wine: no wine-quality files under ${data} (pass --data DIR)`);
  // The third option, with the shared-bottom architecture: a binary task's AUC is shown too.
  await runDataset(page, "toy", { architecture: "hps", auc: { click: 0.75 } });
} catch (e) {
  console.log(`FAIL demo: ${e?.stack ?? e}\n${logs.join("\n")}`);
  process.exitCode = 1;
} finally {
  await chrome?.close();
  await server.close();
  console.log(`demo check: ${Date.now() - t0} ms total`);
}
