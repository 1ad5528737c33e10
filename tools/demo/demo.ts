// Demo page: choose a data set (the MMoE synthetic generator with its task-correlation slider, wine quality with one
// label per row, the toy click/value set, MultiMNIST digits and boxes, or ATIS intent + slots), train in a Web Worker (worker.ts) while the
// report's charts draw the losses, task weights and per-task training/validation curves live (live.ts); when training
// ends, download the ONNX model from the link the page offers and run it on the held-out rows (or the MultiMNIST test
// images, the held-out utterances and a typed one) with our kernels and onnxruntime-web (tabular-view.ts, mnist-view.ts,
// text-view.ts), and offer the run's report: the
// same one-file HTML `mtl report` writes (src/report/html.ts with dist/report.js, served beside the page).
//
// The controls are locked while training (Stop ends it after the current epoch). globalThis.__demo describes the
// last run for tools/demo/check.mjs; globalThis.__workers counts the workers started.
import { renderHtml } from "../../src/report/html.ts";
import { chartStyles, settleCharts, state as chartState } from "../../src/report/charts.ts";
import { LiveCharts } from "./live.ts";
import { runBoth } from "./onnx-run.ts";
import { showTabular } from "./tabular-view.ts";
import { showMultiMnist } from "./mnist-view.ts";
import { showText } from "./text-view.ts";
import type { DatasetName, DoneMessage, TrainRequest, WorkerMessage } from "./protocol.ts";

/** Where the demo server mounts the shared data folder (tools/demo/build.mjs demoSite: /data/ → ../shared/data). */
const WINE_URLS = { red: "./data/wine-quality/winequality-red.csv", white: "./data/wine-quality/winequality-white.csv" };
const MAX_EPOCHS = 200;
/** Epochs the epoch box switches to with the data set (MultiMNIST's conv net takes ~1.5 s an epoch here). */
const DEFAULT_EPOCHS: Record<DatasetName, number> = { synthetic: 20, wine: 20, toy: 20, multimnist: 8, text: 15 };
const ABOUT: Record<DatasetName, string> = {
  synthetic:
    "Ma et al. 2018 (MMoE, KDD), §4.1: x ~ N(0, I₁₀₀), w₁ = u₁, w₂ = p·u₁ + √(1−p²)·u₂ with u₁ ⊥ u₂ unit vectors, " +
    "y_t = w_tᵀx + Σ₁₀ sin(α_i·w_tᵀx + β_i) + ε. The slider sets p, the cosine between the two tasks' weight vectors: " +
    "at p = 1 the tasks are the same, at p = 0 unrelated. 10,000 rows generated in the worker from the seed; 20 % held out.",
  wine:
    "UCI wine quality (Cortez et al. 2009): red and white Vinho Verde in one table, two regression tasks (red quality, white " +
    "quality) on 11 physico-chemical inputs. Each row has only its own colour's label; the other task's label is missing, " +
    "so the per-row label mask keeps it out of that task's loss. 20 % of each colour held out (duplicate rows kept together).",
  toy: "The runtime scenario's seeded toy data: 8 inputs, click (binary) and value (regression). 5,000 rows, 20 % held out.",
  multimnist:
    "MultiMNIST (Sener & Koltun 2018): two MNIST digits per 28 × 28 image, one top-left and one bottom-right, overlapping. " +
    "Four tasks on one MultiLeNet trunk (conv 10@5×5, pool, conv 20@5×5, pool, dense 50): the class of each digit and its box. " +
    "6,000 training images are composed in the worker from the mnist package's training digits (a tenth held out for " +
    "validation) and 1,000 test images from the official test digits; about 1.5 s an epoch with shared bottom, 3× that with MMoE (3 experts).",
  text:
    "ATIS (airline travel queries): joint intent detection (one class per utterance) and slot filling (one BIO tag per token, " +
    "e.g. B-fromloc.city_name) on one token embedding + bidirectional GRU trunk; the intent head reads the max-pooled trunk, " +
    "the slot head every token. 600 training utterances bundled with the page by its build step, 20 % held out. After " +
    "training, type an utterance below the predictions to see its intent and tags. Shared bottom only.",
};

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const input = (id: string) => $<HTMLInputElement>(id);
const select = (id: string) => $<HTMLSelectElement>(id);
const g = globalThis as unknown as Record<string, unknown>;
const CONTROLS = ["dataset", "corr", "architecture", "weighting", "epochs", "seed", "train"];

const style = document.createElement("style");
style.textContent = chartStyles();
document.head.append(style);
const live = new LiveCharts({ steps: $("steps-chart"), weights: $("weights-chart"), curves: $("curves") });
let worker: Worker | null = null;
g.__workers = 0;

/** Which data sets the server can feed (written by tools/demo/build.mjs demoSite into datasets.json). */
type Availability = Partial<Record<DatasetName, { ok: boolean; why?: string }>>;
const availability: Promise<Availability> = fetch("./datasets.json")
  .then((r) => (r.ok ? r.json() : {}))
  .catch(() => ({}));

// ---- drawing, at most every DRAW_MS --------------------------------------------------------------------------
const DRAW_MS = 200;
let drawPending = false, lastDraw = 0;
function scheduleDraw(): void {
  if (drawPending) return;
  drawPending = true;
  setTimeout(() => requestAnimationFrame(() => ((drawPending = false), (lastDraw = performance.now()), live.draw())), Math.max(0, DRAW_MS - (performance.now() - lastDraw)));
}

// ---- the form --------------------------------------------------------------------------------------------------
class FormError extends Error {}

function syncControls(switched = false): void {
  const ds = select("dataset").value as DatasetName;
  $("corr-box").style.display = ds === "synthetic" ? "" : "none";
  $("corr-value").textContent = Number(input("corr").value).toFixed(2);
  $("about").textContent = ABOUT[ds];
  // MultiMNIST: shared bottom (MultiLeNet) or MMoE of 3 MultiLeNet experts; CGC is not offered for it.
  const cgc = select("architecture").querySelector<HTMLOptionElement>('option[value="cgc"]')!;
  cgc.disabled = ds === "multimnist" || ds === "text";
  if (ds === "multimnist" && select("architecture").value === "cgc") select("architecture").value = "hps";
  // Text: the sequence trunk is a shared bottom (embedding → BiGRU); MMoE and CGC mix dense experts only.
  select("architecture").querySelector<HTMLOptionElement>('option[value="mmoe"]')!.disabled = ds === "text";
  if (ds === "text") select("architecture").value = "hps";
  if (switched) input("epochs").value = String(DEFAULT_EPOCHS[ds]);
  // Switching to MultiMNIST picks the MultiLeNet shared bottom (MMoE stays on offer: 3 conv experts, 3× slower).
  if (switched && ds === "multimnist") select("architecture").value = "hps";
}

/** The request the form describes, or a FormError naming the field and what it accepts. */
function readForm(): TrainRequest {
  const ep = input("epochs"), seed = input("seed");
  for (const el of [ep, seed]) el.removeAttribute("aria-invalid");
  const epochs = Number(ep.value);
  if (ep.value.trim() === "" || !Number.isInteger(epochs) || epochs < 1 || epochs > MAX_EPOCHS) {
    ep.setAttribute("aria-invalid", "true");
    throw new FormError(`epochs must be a whole number from 1 to ${MAX_EPOCHS}; got ${JSON.stringify(ep.value)}. Nothing was trained.`);
  }
  const s = Number(seed.value);
  if (seed.value.trim() === "" || !Number.isInteger(s) || s < 0 || s > 0xffffffff) {
    seed.setAttribute("aria-invalid", "true");
    throw new FormError(`seed must be a whole number from 0 to 4294967295; got ${JSON.stringify(seed.value)}. Nothing was trained.`);
  }
  return {
    type: "train",
    dataset: select("dataset").value as DatasetName,
    correlation: Number(input("corr").value),
    architecture: select("architecture").value as TrainRequest["architecture"],
    epochs,
    seed: s,
    weighting: select("weighting").value as TrainRequest["weighting"],
  };
}

function setRunning(running: boolean): void {
  for (const id of CONTROLS) ($(id) as HTMLInputElement).disabled = running;
  $<HTMLButtonElement>("stop").disabled = !running;
  document.querySelectorAll("label").forEach((l) => l.classList.toggle("off", running));
}

function setLink(id: string, blob: Blob | null, name?: string): void {
  const a = $<HTMLAnchorElement>(id);
  if (a.href.startsWith("blob:")) URL.revokeObjectURL(a.href);
  if (!blob) {
    a.href = "#";
    a.classList.add("disabled");
    return;
  }
  a.href = URL.createObjectURL(blob);
  if (name) a.download = name;
  a.classList.remove("disabled");
}

async function fetchText(url: string): Promise<string> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status} (the demo server serves the data folder under /data/; start it with npm run demo [-- --data DIR])`);
  return r.text();
}

// ---- a run -----------------------------------------------------------------------------------------------------
interface TrainOverrides {
  dataset?: DatasetName;
  correlation?: number;
  epochs?: number | string;
  architecture?: string;
  weighting?: string;
  seed?: number;
  composites?: { train: number; test: number };
}

async function train(o: TrainOverrides = {}): Promise<unknown> {
  if (worker) throw new Error("already training");
  if (o.dataset) (select("dataset").value = o.dataset), syncControls(true);
  if (o.correlation !== undefined) input("corr").value = String(o.correlation);
  if (o.epochs !== undefined) input("epochs").value = String(o.epochs);
  if (o.architecture) select("architecture").value = o.architecture;
  if (o.weighting) select("weighting").value = o.weighting;
  if (o.seed !== undefined) input("seed").value = String(o.seed);
  syncControls();
  let req: TrainRequest;
  try {
    req = readForm();
  } catch (e) {
    if (e instanceof FormError) $("form-error").textContent = e.message;
    throw e;
  }
  if (o.composites) req.composites = o.composites;
  $("form-error").textContent = "";
  const { dataset } = req;
  g.__demo = { done: false, dataset };
  setRunning(true);
  setLink("download", null);
  setLink("report", null);
  live.clear();
  LiveCharts.placeholder($("steps-chart"), "The loss and weight curves appear with the first training steps.");
  LiveCharts.placeholder($("curves"), "Drawn after the first epoch.");
  $("predictions").textContent = "training…";
  $("metrics").textContent = "";
  $("mm-grid").replaceChildren();
  $("text-box").style.display = "none";
  $("note").textContent = "";
  const t0 = performance.now();
  let epochsDone = 0, stepsPerEpoch = 1, trainStart = t0;
  const fail = (msg: string) => {
    worker?.terminate();
    worker = null;
    setRunning(false);
    $("status").textContent = "error: the run failed (details below)";
    $("predictions").textContent = msg;
    g.__demo = { done: false, error: msg };
    return new Error(msg);
  };
  try {
    if (dataset === "wine") {
      $("status").textContent = "fetching the wine-quality CSV files…";
      const [red, white] = await Promise.all([fetchText(WINE_URLS.red), fetchText(WINE_URLS.white)]);
      req.wine = { red, white };
    }
  } catch (e) {
    throw fail(String((e as Error).message ?? e));
  }
  $("status").textContent = "starting the worker…";
  worker = new Worker(new URL("./worker.mjs", import.meta.url), { type: "module" });
  g.__workers = (g.__workers as number) + 1;
  const w = worker;
  return new Promise((resolve, reject) => {
    w.onerror = (e) => reject(fail(`worker error: ${e.message}`));
    w.onmessage = async (e: MessageEvent<WorkerMessage>) => {
      const m = e.data;
      if (m.type === "status") $("status").textContent = m.text;
      else if (m.type === "start") {
        live.start(m, req.weighting);
        stepsPerEpoch = m.stepsPerEpoch;
        trainStart = performance.now();
        $("note").textContent = `${m.note}; ${m.trainRows.toLocaleString("en-US")} training rows, ${m.validationRows.toLocaleString("en-US")} validation rows; ${m.params.toLocaleString("en-US")} parameters, ${m.stepsPerEpoch} steps an epoch.`;
        $("status").textContent = `training epoch 1 of ${req.epochs}…`;
      } else if (m.type === "steps") {
        live.steps(m);
        if (!epochsDone) $("status").textContent = `training epoch 1 of ${req.epochs}: step ${m.first + m.losses[0].length - 1} of ${stepsPerEpoch}…`;
        scheduleDraw();
      } else if (m.type === "epoch") {
        live.epoch(m);
        epochsDone = m.log.epoch;
        const perEpoch = (performance.now() - trainStart) / 1000 / epochsDone;
        const left = (req.epochs - epochsDone) * perEpoch;
        const each = perEpoch < 1 ? `${Math.round(perEpoch * 1000)} ms` : `${perEpoch.toFixed(1)} s`;
        const stopping = $<HTMLButtonElement>("stop").dataset.stopping === "1" ? " — stopping after this epoch" : "";
        $("status").textContent =
          `epoch ${epochsDone}/${req.epochs} (${each} each, ~${left < 10 ? left.toFixed(1) : left.toFixed(0)} s left): ` +
          live.tasks.map((t) => `${t.name} loss ${m.log.trainLoss[t.name].toFixed(4)}`).join(", ") +
          `; kept epoch ${m.kept}${stopping}`;
        scheduleDraw();
      } else if (m.type === "done") {
        w.terminate();
        worker = null;
        try {
          resolve(await finish(m, req, performance.now() - t0));
        } catch (err) {
          reject(fail(String((err as Error)?.stack ?? err)));
        }
      } else if (m.type === "error") reject(fail(m.error));
    };
    w.postMessage(req);
  });
}

let reportScript: Promise<string> | null = null;

/** The run ended: offer the ONNX model and the report, predict with the downloaded model, describe the run. */
async function finish(done: DoneMessage, req: TrainRequest, ms: number): Promise<unknown> {
  $<HTMLButtonElement>("stop").dataset.stopping = "";
  const r = done.report;
  $("status").textContent =
    `${done.stopped ? `stopped by you after epoch ${r.epochsRun} of ${req.epochs}` : `trained ${r.epochsRun} epochs`} in ${(ms / 1000).toFixed(1)} s; ` +
    `kept epoch ${r.keptEpoch} (its weights are exported and reported). Downloading the ONNX model and predicting…`;
  live.curves = r.tasks;
  live.kept = r.keptEpoch;
  live.draw();
  const name = `demo-${req.dataset}-${req.architecture}`;
  setLink("download", new Blob([done.onnx as Uint8Array<ArrayBuffer>], { type: "application/octet-stream" }), `${name}.onnx`);
  reportScript ??= fetchText("./report.js");
  const html = renderHtml(r, await reportScript);
  setLink("report", new Blob([html], { type: "text/html" }), `${name}-report.html`);
  // "Download" the model from the link the page offers, then run it on both engines.
  const bytes = new Uint8Array(await (await fetch($<HTMLAnchorElement>("download").href)).arrayBuffer());
  const runs = await runBoth(bytes, done.probe);
  const shown =
    req.dataset === "multimnist"
      ? { mnist: showMultiMnist($("metrics"), $("mm-grid"), done.probe, done.tasks, runs, bytes.length) }
      : req.dataset === "text"
        ? { text: await showText({ metrics: $("metrics"), table: $("predictions"), box: $("text-box"), input: input("utterance"), button: $<HTMLButtonElement>("predict"), out: $("text-out") }, done.probe, runs, bytes) }
        : showTabular($("metrics"), $("predictions"), done.probe, done.tasks, runs, bytes.length);
  if (req.dataset === "multimnist") $("predictions").textContent = "";
  $("status").textContent = $("status").textContent!.replace(" Downloading the ONNX model and predicting…", " Predictions below; the ONNX model and the report can be downloaded.");
  setRunning(false);
  // Count the charts' ink once they are drawn (the next animation frame).
  await new Promise((f) => requestAnimationFrame(() => requestAnimationFrame(f)));
  settleCharts();
  const epochLoss = live.epochLoss;
  g.__demo = {
    done: true,
    dataset: req.dataset,
    correlation: req.dataset === "synthetic" ? req.correlation : null,
    architecture: req.architecture,
    weighting: req.weighting,
    requested: req.epochs,
    epochs: r.epochsRun,
    kept: r.keptEpoch,
    stopped: done.stopped,
    tasks: done.tasks.map((t) => t.name),
    firstLoss: epochLoss.map((l) => l[0]),
    lastLoss: epochLoss.map((l) => l[l.length - 1]),
    steps: live.losses[0].length,
    maxWeight: Math.max(...live.scales.flat(), ...live.epochWeight.flat()),
    weightsRange: live.weightsRange(),
    charts: chartState.charts.map((c) => ({ ...c })),
    onnxBytes: bytes.length,
    maxDiff: runs.maxDiff,
    reportBytes: html.length,
    ...shown,
  };
  return g.__demo;
}

// ---- wiring ----------------------------------------------------------------------------------------------------
$("dataset").addEventListener("change", () => syncControls(true));
input("corr").addEventListener("input", () => syncControls());
for (const id of ["epochs", "seed"]) input(id).addEventListener("input", () => (input(id).removeAttribute("aria-invalid"), ($("form-error").textContent = "")));
$("train").addEventListener("click", () => void train().catch((e) => e instanceof FormError || console.error(e)));
$("stop").addEventListener("click", () => {
  if (!worker) return;
  worker.postMessage({ type: "stop" });
  $<HTMLButtonElement>("stop").disabled = true;
  $<HTMLButtonElement>("stop").dataset.stopping = "1";
  $("status").textContent += " — stopping after this epoch…";
});
g.__train = train;
void availability.then((a) => {
  for (const [ds, v] of Object.entries(a)) {
    if (v?.ok !== false) continue;
    const opt = select("dataset").querySelector<HTMLOptionElement>(`option[value="${ds}"]`);
    if (!opt) continue;
    opt.disabled = true;
    opt.textContent += " — not available (see below)";
    opt.title = v.why ?? "";
    const p = document.createElement("p");
    p.className = "dim";
    p.textContent = `${opt.textContent.replace(/ — not available.*/, "")}: ${v.why}`;
    $("form-error").after(p);
  }
  g.__available = a;
});
const params = new URLSearchParams(location.search);
if (params.has("dataset")) select("dataset").value = params.get("dataset")!;
if (params.has("p")) input("corr").value = params.get("p")!;
syncControls(params.has("dataset"));
if (params.has("autostart")) void train().catch((e) => console.error(e));
