// npm run demo:check: drive the demo page in headless Chromium as a user would and print one PASS/FAIL line per check:
//   - load: no console error or warning, no failed request (the data sets the server feeds are listed);
//   - epochs 0 (and empty) refused with a message naming the field, and no worker started;
//   - a run at 200 epochs: every control locked while it trains, Stop ends it after the current epoch (the best
//     epoch so far kept), the controls unlocked after;
//   - each data set (synthetic with the slider at p = 0.5, wine quality, toy with the shared bottom, MultiMNIST):
//     pick it, click Train, wait for the predictions from the downloaded ONNX model; every task's epoch loss fell,
//     both engines agree (≤ 1e-5), every live chart has data and coloured pixels, the weights axis starts at 0 and
//     holds every weight, no console error or failed request; then "Download report": the file is renderHtml of the
//     run with dist/report.js inlined (as `mtl report` writes it), and opened from file:// every chart of it has data
//     and ink, with no request and no console error. MultiMNIST: the drawn test images' predicted digits and boxes
//     are read from the page and scored here (accuracy, IoU), and the accuracy over all test images must beat chance.
//     Text (ATIS slice): the held-out predictions are scored here (intent accuracy above the majority intent's share,
//     CoNLL span F1 > 0.5, both equal to the page's), then an utterance typed into the box must come back as
//     atis_flight with its two cities tagged by role, both engines within 1e-5.
// Screenshots: out/demo/demo-<dataset>.png. Without the wine files (../shared/data, or --data DIR) the wine run is
// skipped with a note (a failure under CI); likewise MultiMNIST without the MNIST test digits.
//   node tools/demo/check.mjs [--data DIR] [--epochs N]
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { buildDemo, demoSite } from "./build.mjs";
import { serve } from "../serve.mjs";
import { launchChromium } from "../runtimes.mjs";

process.chdir(resolve(dirname(fileURLToPath(import.meta.url)), "../.."));
const arg = (name) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const EPOCHS = Number(arg("--epochs") ?? 6);
const MNIST_EPOCHS = 2;
const TEXT_EPOCHS = 10;
const TOLERANCE = 1e-5;
/** Least coloured pixels of a chart with data (test/report/chromium.ts MIN_INK). */
const MIN_INK = 30;
const data = resolve(arg("--data") ?? "../shared/data");
const CI = process.env.CI && !/^(0|false)$/i.test(process.env.CI);

const t0 = Date.now();
let dir = "out/demo", server = null, chrome = null;
/** Everything the page says or fails to load, since the last take(). */
let events = [];
const take = () => events.splice(0);
const fmt = (a) => a.map((x) => x.toFixed(3)).join("/");
const CONTROLS = ["dataset", "corr", "architecture", "weighting", "epochs", "seed", "train"];

function report(name, problems, line) {
  if (problems.length) {
    console.log(`FAIL demo ${name} ${line}: ${problems.join("; ")}`);
    process.exitCode = 1;
  } else console.log(`PASS demo ${name} ${line}`);
}

/** Problems with the charts the page registered (src/report/charts.ts): an empty series, a chart without ink. */
function chartProblems(charts, atLeast) {
  const p = [];
  if (charts.length < atLeast) p.push(`${charts.length} charts drawn, expected at least ${atLeast}`);
  for (const c of charts) {
    for (const s of c.series) if (!(s.points > 0)) p.push(`chart "${c.title}": series "${s.label}" has no finite points`);
    if (!(c.ink >= MIN_INK)) p.push(`chart "${c.title}": ${c.ink} coloured pixels`);
  }
  return p;
}

const problemEvents = (ev) => ev.filter((e) => !e.startsWith("[console.log]") && !e.startsWith("[console.info]") && !e.startsWith("[console.debug]"));

/** Click "Download report", open the file from file:// and check it. */
async function checkReport(page, dataset, r) {
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#report")]);
  const file = resolve(dir, `demo-${dataset}-report.html`);
  await download.saveAs(file);
  const html = readFileSync(file, "utf8");
  const problems = [];
  const script = readFileSync("dist/report.js", "utf8").replace(/<\/(script)/gi, "<\\/$1");
  if (!html.includes(`<script>${script}</script>`)) problems.push("the report does not inline dist/report.js (the `mtl report` page script)");
  if (/<script[^>]+src=|<link[^>]+href=/.test(html)) problems.push("the report loads a URL");
  const d = JSON.parse(/<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(html)?.[1] ?? "null");
  if (!d) problems.push("no report data");
  else {
    if (d.epochsRun !== r.epochs || d.keptEpoch !== r.kept) problems.push(`report: ${d.epochsRun} epochs run, kept ${d.keptEpoch}; the page trained ${r.epochs}, kept ${r.kept}`);
    if (d.tasks.map((t) => t.name).join() !== r.tasks.join()) problems.push(`report tasks ${d.tasks.map((t) => t.name)} ≠ ${r.tasks}`);
    if (!d.steps || d.steps.total !== r.steps) problems.push(`report steps ${d.steps?.total}, the page saw ${r.steps}`);
  }
  const rp = await chrome.context.newPage();
  const requests = [], errors = [];
  const url = pathToFileURL(file).href;
  rp.on("request", (q) => q.url() !== url && requests.push(q.url()));
  rp.on("console", (m) => (m.type() === "error" || m.type() === "warning") && errors.push(m.text()));
  rp.on("pageerror", (e) => errors.push(e.message));
  let charts = [];
  try {
    await rp.goto(url);
    await rp.waitForFunction(() => globalThis.__report?.ready === true || !!globalThis.__report?.error, null, { timeout: 30_000 });
    const st = await rp.evaluate(() => globalThis.__report);
    if (st.error) problems.push(`report page error: ${st.error}`);
    charts = st.charts;
    // Per task: loss + one per metric; then weights and losses per step; then the prediction plots.
    const atLeast = (d?.tasks ?? []).reduce((n, t) => n + 1 + t.metrics.length, 0) + 2;
    problems.push(...chartProblems(charts, atLeast).map((p) => `report: ${p}`));
  } finally {
    await rp.close();
  }
  problems.push(...requests.map((u) => `report requested ${u}`), ...errors.map((e) => `report console: ${e}`));
  return { problems, line: `report=${file} (${(html.length / 1024).toFixed(0)} KB, ${charts.length} charts)` };
}

/** Score the drawn MultiMNIST images from their data-* attributes (independently of the page's own summary). */
async function scoreDrawn(page) {
  const figs = await page.$$eval("#mm-grid figure.mm", (fs) => fs.map((f) => ({ ...f.dataset })));
  const num = (s) => (s ?? "").split(",").map(Number);
  const iou = (a, b) => {
    const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]), h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
    const inter = w > 0 && h > 0 ? w * h : 0;
    const area = (q) => Math.max(0, q[2] - q[0]) * Math.max(0, q[3] - q[1]);
    return inter / (area(a) + area(b) - inter || 1);
  };
  const correct = [0, 0], iouSum = [0, 0];
  let digitsOk = true;
  for (const f of figs) {
    const t = num(f.true), p = num(f.pred), tb = num(f.trueBoxes), pb = num(f.predBoxes);
    for (const d of [0, 1]) {
      if (!(Number.isInteger(p[d]) && p[d] >= 0 && p[d] <= 9 && Number.isInteger(t[d]))) digitsOk = false;
      correct[d] += p[d] === t[d] ? 1 : 0;
      iouSum[d] += iou(tb.slice(4 * d, 4 * d + 4), pb.slice(4 * d, 4 * d + 4));
    }
  }
  return { n: figs.length, correct, iou: iouSum.map((s) => s / Math.max(1, figs.length)), digitsOk };
}

async function runDataset(page, dataset, { architecture = "mmoe", epochs = EPOCHS, setup, auc, weighting = "uncertainty" } = {}) {
  const t1 = Date.now();
  take();
  await page.selectOption("#dataset", dataset);
  await page.selectOption("#architecture", architecture);
  await page.selectOption("#weighting", weighting);
  await setup?.();
  await page.fill("#epochs", String(epochs));
  await page.click("#train");
  await page.waitForFunction(() => globalThis.__demo?.done === true || !!globalThis.__demo?.error, null, { timeout: 90_000 });
  const r = await page.evaluate(() => globalThis.__demo);
  if (r.error) throw new Error(`${dataset}: ${r.error}`);
  const shot = `${dir}/demo-${dataset}.png`;
  await page.screenshot({ path: shot, fullPage: true });
  const rows = await page.locator("#predictions tbody tr").count();
  const problems = [];
  if (r.dataset !== dataset) problems.push(`trained ${r.dataset}, expected ${dataset}`);
  if (r.epochs !== epochs) problems.push(`${r.epochs} epochs run, expected ${epochs}`);
  r.tasks.forEach((t, i) => {
    if (!(r.lastLoss[i] < r.firstLoss[i])) problems.push(`task ${t}: loss did not fall (${r.firstLoss[i]} → ${r.lastLoss[i]})`);
  });
  if (r.maxDiff === null || !(r.maxDiff <= TOLERANCE)) problems.push(`max |mtl − ort| ${r.maxDiff}`);
  // The live charts: loss and weights per step, then the report's training curves (loss + each metric per task).
  problems.push(...chartProblems(r.charts, 2 + r.tasks.length));
  if (!r.weightsRange || r.weightsRange[0] !== 0 || !(r.weightsRange[1] >= r.maxWeight)) problems.push(`weights axis ${JSON.stringify(r.weightsRange)} does not run from 0 to at least the largest weight ${r.maxWeight}`);
  let metric;
  if (dataset === "multimnist") {
    const s = await scoreDrawn(page);
    const m = r.mnist;
    if (s.n !== m.drawn || s.n < 1) problems.push(`${s.n} images drawn (page says ${m.drawn})`);
    if (!s.digitsOk) problems.push("a drawn image lacks a predicted digit 0–9");
    if (s.correct.join() !== m.drawnCorrect.join()) problems.push(`drawn correct ${s.correct} here, the page says ${m.drawnCorrect}`);
    for (const d of [0, 1]) if (!(m.accuracy[d] > 0.3)) problems.push(`${["left", "right"][d]} test accuracy ${m.accuracy[d]} ≤ 0.3 (chance 0.1)`);
    if (!(s.iou[0] > 0.3 && s.iou[1] > 0.3)) problems.push(`mean IoU of the drawn boxes ${s.iou.map((v) => v.toFixed(3))} ≤ 0.3`);
    metric =
      `drawn=${s.n} accuracy(drawn, scored here) left=${s.correct[0]}/${s.n}=${(s.correct[0] / s.n).toFixed(3)} right=${s.correct[1]}/${s.n}=${(s.correct[1] / s.n).toFixed(3)} ` +
      `iou(drawn) ${s.iou.map((v) => v.toFixed(3)).join("/")} accuracy(all test) ${m.accuracy.map((v) => v.toFixed(3)).join("/")}`;
  } else if (dataset === "text") {
    const t = await checkText(page, r.text);
    problems.push(...t.problems);
    metric = t.line;
  } else {
    if (!(rows > 0)) problems.push(`${rows} prediction rows shown`);
    r.tasks.forEach((t) => !(r.metrics[t]?.n > 0) && problems.push(`task ${t}: no labelled held-out rows`));
    for (const [t, min] of Object.entries(auc ?? {})) if (!(r.metrics[t]?.auc > min)) problems.push(`task ${t}: AUC ${r.metrics[t]?.auc} ≤ ${min}`);
    metric = r.tasks.map((t) => `${t}:${r.metrics[t].rmse !== undefined ? "rmse=" + r.metrics[t].rmse.toFixed(3) : "auc=" + r.metrics[t].auc.toFixed(3)}`).join(",");
  }
  const steps = await page.evaluate(() => globalThis.__demo.steps);
  const rep = await checkReport(page, dataset, { ...r, steps });
  problems.push(...rep.problems);
  problems.push(...problemEvents(take()).map((e) => `page: ${e}`));
  report(
    `dataset=${dataset}`,
    problems,
    `${r.correlation !== null ? `p=${r.correlation.toFixed(2)} ` : ""}arch=${r.architecture} weighting=${r.weighting} epochs=${r.epochs} kept=${r.kept} ` +
      `loss=${fmt(r.firstLoss)}→${fmt(r.lastLoss)} ${metric} mtl-vs-ort=${r.maxDiff?.toExponential(1)} onnx=${r.onnxBytes}B charts=${r.charts.length} ` +
      `weights-axis=[${r.weightsRange?.map((v) => +v.toFixed(3)).join(", ")}] ${rep.line} screenshot=${shot} wall=${Date.now() - t1}ms`,
  );
}

/** CoNLL chunks (type, start, end) of one BIO tag sequence: B-x starts one, I-x continues a chunk of type x, else starts one. */
function chunks(tags) {
  const out = [];
  let cur = null;
  tags.forEach((t, j) => {
    const [p, type] = t === "O" ? ["O", ""] : [t.slice(0, 1), t.slice(2)];
    if (cur && (p !== "I" || type !== cur.type)) out.push(`${cur.type}@${cur.start}-${j - 1}`), (cur = null);
    if (p === "B" || (p === "I" && !cur)) cur = { type, start: j };
  });
  if (cur) out.push(`${cur.type}@${cur.start}-${tags.length - 1}`);
  return out;
}

/** The typed utterance and what a trained ATIS model must say about it (cities by their role in the sentence). */
const UTTERANCE = { typed: "Show me flights from Boston to Denver?", tokens: "show me flights from boston to denver", intent: "atis_flight", tags: { boston: "B-fromloc.city_name", denver: "B-toloc.city_name" } };

/**
 * The text option: score the page's held-out predictions here (intent accuracy against the slice's majority share,
 * span F1 from chunks() above), then type UTTERANCE in the box, press Predict and read #text-out.
 */
async function checkText(page, t) {
  const problems = [];
  const slice = JSON.parse(readFileSync(join(dir, "atis-slice.json"), "utf8"));
  const counts = new Map();
  for (const row of slice.rows) counts.set(row.intent, (counts.get(row.intent) ?? 0) + 1);
  const majority = Math.max(...counts.values()) / slice.rows.length;
  const n = t.gold.length;
  let right = 0, gold = 0, pred = 0, hit = 0;
  t.predicted.forEach((p, i) => {
    right += p.intent === t.gold[i].intent ? 1 : 0;
    if (p.tags.length !== t.gold[i].slots.length) problems.push(`held-out utterance ${i}: ${p.tags.length} predicted tags for ${t.gold[i].slots.length} tokens`);
    const g = new Set(chunks(t.gold[i].slots)), q = chunks(p.tags);
    (gold += g.size), (pred += q.length), (hit += q.filter((c) => g.has(c)).length);
  });
  const acc = right / n, f1 = pred + gold ? (2 * hit) / (pred + gold) : 0;
  if (!(n > 50)) problems.push(`${n} held-out utterances scored`);
  if (Math.abs(acc - t.intentAccuracy) > 1e-12 || Math.abs(f1 - t.slotF1) > 1e-9) problems.push(`scored here: intent accuracy ${acc}, span F1 ${f1}; the page says ${t.intentAccuracy}, ${t.slotF1}`);
  if (!(acc > majority)) problems.push(`intent accuracy ${acc.toFixed(3)} ≤ the majority intent's share ${majority.toFixed(3)}`);
  if (!(f1 > 0.5)) problems.push(`slot span F1 ${f1.toFixed(3)} ≤ 0.5`);
  if (!(t.rows > 0)) problems.push("no held-out utterance shown");
  await page.fill("#utterance", UTTERANCE.typed);
  await page.click("#predict");
  await page.waitForFunction(() => !!document.getElementById("text-out").dataset.intent, null, { timeout: 10_000 });
  const o = await page.$eval("#text-out", (e) => ({ ...e.dataset }));
  const tags = o.tags.split(" "), toks = o.tokens.split(" ");
  if (o.tokens !== UTTERANCE.tokens) problems.push(`typed ${JSON.stringify(UTTERANCE.typed)}: the model saw ${JSON.stringify(o.tokens)}, expected ${JSON.stringify(UTTERANCE.tokens)}`);
  if (tags.length !== toks.length) problems.push(`typed: ${tags.length} tags for ${toks.length} tokens`);
  if (o.intent !== UTTERANCE.intent) problems.push(`typed: intent ${o.intent}, expected ${UTTERANCE.intent}`);
  for (const [w, want] of Object.entries(UTTERANCE.tags)) if (tags[toks.indexOf(w)] !== want) problems.push(`typed: "${w}" tagged ${tags[toks.indexOf(w)]}, expected ${want}`);
  if (!(o.maxDiff !== "" && Number(o.maxDiff) <= TOLERANCE)) problems.push(`typed: max |mtl − ort| ${o.maxDiff || "n/a"}`);
  const typed = toks.map((w, j) => (tags[j] === "O" ? w : `${w}/${tags[j]}`)).join(" ");
  return { problems, line: `held-out=${n} intent-acc=${acc.toFixed(3)} (majority ${majority.toFixed(3)}) span-f1=${f1.toFixed(3)} (scored here) typed="${UTTERANCE.typed}" → ${o.intent}: ${typed} (mtl-vs-ort ${Number(o.maxDiff).toExponential(1)})` };
}

/** Epochs 0 and empty: a message naming the field, no worker started, nothing trained. */
async function checkRefusal(page) {
  const problems = [];
  const said = [];
  for (const value of ["0", ""]) {
    const before = await page.evaluate(() => globalThis.__workers);
    await page.fill("#epochs", value);
    await page.click("#train");
    await page.waitForTimeout(100);
    const msg = (await page.textContent("#form-error")) ?? "";
    const after = await page.evaluate(() => globalThis.__workers);
    const invalid = await page.getAttribute("#epochs", "aria-invalid");
    if (!/^epochs must be a whole number from 1 to 200/.test(msg)) problems.push(`epochs ${JSON.stringify(value)}: message ${JSON.stringify(msg)}`);
    if (after !== before) problems.push(`epochs ${JSON.stringify(value)}: a worker started`);
    if (invalid !== "true") problems.push(`epochs ${JSON.stringify(value)}: the field is not marked invalid`);
    said.push(msg);
  }
  await page.fill("#epochs", String(EPOCHS));
  report("epochs=0", problems, `refused: ${JSON.stringify(said[0])}`);
}

/** A long run: the controls lock while it trains; Stop ends it after the current epoch; the controls unlock. */
async function checkLockAndStop(page) {
  take();
  const problems = [];
  await page.selectOption("#dataset", "synthetic");
  await page.fill("#epochs", "200");
  await page.click("#train");
  await page.waitForFunction(() => /^epoch \d+\/200/.test(document.getElementById("status").textContent), null, { timeout: 30_000 });
  const unlocked = await page.evaluate((ids) => ids.filter((id) => !document.getElementById(id).disabled), CONTROLS);
  const stopEnabled = await page.evaluate(() => !document.getElementById("stop").disabled);
  if (unlocked.length) problems.push(`enabled while training: ${unlocked.join(", ")}`);
  if (!stopEnabled) problems.push("Stop is disabled while training");
  await page.click("#stop");
  await page.waitForFunction(() => globalThis.__demo?.done === true || !!globalThis.__demo?.error, null, { timeout: 30_000 });
  const r = await page.evaluate(() => globalThis.__demo);
  if (!r.stopped || !(r.epochs >= 1 && r.epochs < 200)) problems.push(`after Stop: stopped=${r.stopped}, ${r.epochs} epochs run`);
  if (!(r.kept >= 1 && r.kept <= r.epochs)) problems.push(`kept epoch ${r.kept} of ${r.epochs}`);
  const after = await page.evaluate((ids) => ids.filter((id) => document.getElementById(id).disabled), CONTROLS);
  if (after.length) problems.push(`still disabled after the run: ${after.join(", ")}`);
  problems.push(...problemEvents(take()).map((e) => `page: ${e}`));
  report("controls", problems, `locked during training (${CONTROLS.join(", ")}), Stop enabled; Stop ended the run after epoch ${r.epochs} of 200 (kept ${r.kept}); unlocked after`);
}

try {
  dir = await buildDemo();
  server = await serve(demoSite(dir, data).roots, { isolate: true });
  chrome = await launchChromium();
  const page = chrome.context.pages()[0] ?? (await chrome.context.newPage());
  page.on("console", (m) => events.push(`[console.${m.type()}] ${m.text()}`));
  page.on("pageerror", (e) => events.push(`[pageerror] ${e.message}`));
  page.on("requestfailed", (q) => events.push(`[requestfailed] ${q.method()} ${q.url()} ${q.failure()?.errorText ?? ""}`));
  page.on("response", (q) => q.status() >= 400 && events.push(`[http ${q.status()}] ${q.url()}`));
  await page.setViewportSize({ width: 1160, height: 900 });
  await page.goto(server.url + "index.html");
  await page.waitForFunction(() => globalThis.__available !== undefined, null, { timeout: 10_000 });
  await page.waitForTimeout(200);
  const avail = await page.evaluate(() => globalThis.__available);
  report("load", problemEvents(take()).map((e) => `page: ${e}`), `data sets: ${Object.entries(avail).map(([k, v]) => `${k}${v.ok ? "" : " (disabled: " + v.why + ")"}`).join(", ")}`);
  await checkRefusal(page);
  await runDataset(page, "synthetic", {
    setup: async () => {
      await page.fill("#corr", "0.5");
      const shown = await page.textContent("#corr-value");
      if (shown !== "0.50") throw new Error(`the slider shows ${JSON.stringify(shown)}, expected "0.50"`);
    },
  });
  const skip = (name, why) => {
    if (CI) throw new Error(`${name}: ${why}; under CI this is a failure`);
    console.log(`\nSKIP demo dataset=${name}: ${why}`);
  };
  if (avail.wine?.ok) await runDataset(page, "wine", { weighting: "dwa" });
  else skip("wine", avail.wine?.why ?? "not available");
  // The shared-bottom architecture with a binary task (its AUC is shown too) and random loss weighting.
  await runDataset(page, "toy", { architecture: "hps", auc: { click: 0.75 }, weighting: "rlw" });
  if (avail.multimnist?.ok) await runDataset(page, "multimnist", { architecture: "hps", epochs: MNIST_EPOCHS });
  else skip("multimnist", avail.multimnist?.why ?? "not available");
  // Text: joint intent + slots on the ATIS slice; then an utterance typed into the box.
  if (avail.text?.ok) await runDataset(page, "text", { architecture: "hps", epochs: TEXT_EPOCHS });
  else skip("text", avail.text?.why ?? "not available");
  await checkLockAndStop(page);
} catch (e) {
  console.log(`FAIL demo: ${e?.stack ?? e}\n${events.join("\n")}`);
  process.exitCode = 1;
} finally {
  await chrome?.close();
  await server?.close();
  console.log(`demo check: ${Date.now() - t0} ms total`);
}
