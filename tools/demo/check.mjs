// npm run demo:check: drive the demo in headless Chromium: train (8 epochs), wait for the predictions from the
// downloaded ONNX model, check the losses fell and both engines agree, and save a screenshot to out/demo/demo.png.
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildDemo } from "./build.mjs";
import { serve } from "../serve.mjs";
import { launchChromium } from "../runtimes.mjs";

process.chdir(resolve(dirname(fileURLToPath(import.meta.url)), "../.."));
const t0 = Date.now();
const dir = await buildDemo();
const server = await serve(dir, { isolate: true });
let chrome = null;
const logs = [];
try {
  chrome = await launchChromium();
  const page = chrome.context.pages()[0] ?? (await chrome.context.newPage());
  page.on("console", (m) => logs.push(`[console.${m.type()}] ${m.text()}`));
  page.on("pageerror", (e) => logs.push(`[pageerror] ${e.message}`));
  await page.setViewportSize({ width: 1160, height: 900 });
  await page.goto(server.url + "index.html");
  await page.fill("#epochs", "8");
  await page.click("#train");
  await page.waitForFunction(() => globalThis.__demo?.done === true, null, { timeout: 120_000 });
  const r = await page.evaluate(() => globalThis.__demo);
  await page.waitForTimeout(100); // the last animation frame
  const shot = `${dir}/demo.png`;
  await page.screenshot({ path: shot, fullPage: true });
  const rows = await page.locator("#predictions tr").count();
  const fell = r.lastLoss.every((l, i) => l < r.firstLoss[i]);
  const problems = [];
  if (r.epochs !== 8) problems.push(`${r.epochs} epochs drawn, expected 8`);
  if (!fell) problems.push(`a task's loss did not fall: ${r.firstLoss} → ${r.lastLoss}`);
  if (r.maxDiff === null || !(r.maxDiff <= 1e-5)) problems.push(`max |mtl − ort| ${r.maxDiff}`);
  if (rows < 10) problems.push(`${rows} prediction rows shown`);
  if (!(r.auc > 0.75)) problems.push(`click AUC ${r.auc}`);
  const line = `demo epochs=${r.epochs} loss=${r.firstLoss.map((x) => x.toFixed(3)).join("/")}→${r.lastLoss.map((x) => x.toFixed(3)).join("/")} auc=${r.auc.toFixed(3)} rmse=${r.rmse.toFixed(3)} mtl-vs-ort=${r.maxDiff?.toExponential(1)} onnx=${r.onnxBytes}B screenshot=${shot} wall=${Date.now() - t0}ms`;
  if (problems.length) {
    console.log(`FAIL ${line}: ${problems.join("; ")}\n${logs.join("\n")}`);
    process.exitCode = 1;
  } else console.log(`PASS ${line}`);
} catch (e) {
  console.log(`FAIL demo: ${e?.stack ?? e}\n${logs.join("\n")}`);
  process.exitCode = 1;
} finally {
  await chrome?.close();
  await server.close();
}
