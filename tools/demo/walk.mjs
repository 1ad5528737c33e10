// A walk through the demo page as a user would take it, in headless Chromium, with a screenshot at each step (for a
// person to look at; tools/demo/check.mjs is the pass/fail check): load, epochs 0 refused, wine at 200 epochs with
// uncertainty weighting (during training: the controls locked; finished), the downloaded report opened, MultiMNIST
// trained and drawn, and a run stopped by the Stop button. Console messages and failed requests are printed.
//   node tools/demo/walk.mjs [--out DIR] [--prefix P] [--data DIR]     (default /tmp/demo-shots, prefix "walk")
import { mkdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { buildDemo, demoSite } from "./build.mjs";
import { serve } from "../serve.mjs";
import { launchChromium } from "../runtimes.mjs";

process.chdir(resolve(dirname(fileURLToPath(import.meta.url)), "../.."));
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const OUT = resolve(arg("--out", "/tmp/demo-shots")), P = arg("--prefix", "walk");
mkdirSync(OUT, { recursive: true });
const dir = await buildDemo();
const server = await serve(demoSite(dir, resolve(arg("--data", "../shared/data"))).roots, { isolate: true });
const chrome = await launchChromium();
const shots = [];
try {
  const page = chrome.context.pages()[0] ?? (await chrome.context.newPage());
  page.on("console", (m) => console.log(`[console.${m.type()}] ${m.text()}`));
  page.on("pageerror", (e) => console.log(`[pageerror] ${e.message}`));
  page.on("requestfailed", (r) => console.log(`[requestfailed] ${r.method()} ${r.url()} ${r.failure()?.errorText}`));
  page.on("response", (r) => r.status() >= 400 && console.log(`[http ${r.status()}] ${r.url()}`));
  await page.setViewportSize({ width: 1160, height: 900 });
  const shot = async (name, full = true) => {
    const path = join(OUT, `${P}-${String(shots.length + 1).padStart(2, "0")}-${name}.png`);
    await page.screenshot({ path, fullPage: full });
    shots.push(path);
  };
  const part = async (name, selector) => {
    const path = join(OUT, `${P}-${String(shots.length + 1).padStart(2, "0")}-${name}.png`);
    await page.locator(selector).first().screenshot({ path });
    shots.push(path);
  };
  const done = () => page.waitForFunction(() => globalThis.__demo?.done === true || !!globalThis.__demo?.error, null, { timeout: 180_000 });

  await page.goto(server.url + "index.html");
  await page.waitForTimeout(400);
  await shot("load");
  await page.fill("#epochs", "0");
  await page.click("#train");
  await page.waitForTimeout(200);
  await shot("epochs-0-refused", false);

  await page.selectOption("#dataset", "wine");
  await page.fill("#epochs", "200");
  await shot("choose-wine-200-epochs", false);
  await page.click("#train");
  await page.waitForTimeout(2500);
  const locked = await page.evaluate(() => ["dataset", "architecture", "weighting", "epochs", "seed", "train"].filter((id) => !document.getElementById(id).disabled));
  console.log(`during training, controls still enabled: ${locked.length ? locked.join(", ") : "none"}`);
  await shot("wine-during");
  await done();
  await page.waitForTimeout(300);
  await shot("wine-finished");
  await part("wine-live-charts", "#steps-chart >> xpath=..");

  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#report")]);
  const file = join(OUT, `${P}-report.html`);
  await download.saveAs(file);
  const rp = await chrome.context.newPage();
  await rp.setViewportSize({ width: 1400, height: 900 });
  await rp.goto(pathToFileURL(file).href);
  await rp.waitForFunction(() => globalThis.__report?.ready === true, null, { timeout: 30_000 });
  const rpath = join(OUT, `${P}-${String(shots.length + 1).padStart(2, "0")}-downloaded-report.png`);
  await rp.screenshot({ path: rpath, fullPage: true });
  shots.push(rpath);
  console.log(`downloaded report: ${readFileSync(file).length} bytes, ${await rp.evaluate(() => globalThis.__report.charts.length)} charts`);
  await rp.close();

  await page.selectOption("#dataset", "multimnist");
  await shot("choose-multimnist", false);
  await page.click("#train");
  await page.waitForFunction(() => /^epoch [2-9]\/\d+/.test(document.getElementById("status").textContent), null, { timeout: 120_000 });
  await page.waitForTimeout(1000);
  await shot("multimnist-during");
  await done();
  await page.waitForTimeout(300);
  await shot("multimnist-finished");
  await part("multimnist-images", "#predictions >> xpath=..");

  await page.selectOption("#dataset", "synthetic");
  await page.fill("#epochs", "200");
  await page.click("#train");
  await page.waitForFunction(() => /epoch \d+\/200/.test(document.getElementById("status").textContent), null, { timeout: 60_000 });
  await page.click("#stop");
  await shot("synthetic-stop-clicked", false);
  await done();
  await page.waitForTimeout(300);
  await shot("synthetic-stopped");
} finally {
  await chrome.close();
  await server.close();
  console.log(shots.join("\n"));
}
