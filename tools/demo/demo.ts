// Demo page: choose a data set (the MMoE synthetic generator of Ma et al. 2018 with its task-correlation slider, the
// wine-quality data with one label per row, or the toy click/value set), train in a Web Worker while drawing per-task
// loss curves (per step, smoothed, and per epoch) and the task weights live; when training ends, download the ONNX model
// from the link the page offers and run it on the held-out rows with the mtl engine (our kernels) and with
// onnxruntime-web, showing both, per-task metrics and their largest difference.
import * as ort from "onnxruntime-web/wasm";
import { loadInlineKernels } from "../../src/entry/inline.ts";
import { createSession } from "../../src/infer/session.ts";
import { rocAuc } from "../../src/metrics/auc.ts";
import type { DatasetName, DoneMessage, TaskInfo, TrainRequest } from "./worker.ts";

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];
/** Where the demo server mounts the shared data folder (tools/demo/serve.mjs: /data/ → ../shared/data). */
const WINE_URLS = { red: "./data/wine-quality/winequality-red.csv", white: "./data/wine-quality/winequality-white.csv" };
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
};
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const input = (id: string) => $<HTMLInputElement>(id);
const state = { tasks: [] as TaskInfo[], steps: 0, totalSteps: 1, stepLoss: [] as number[][], epochLoss: [] as number[][], weights: [] as number[][], running: false };
const g = globalThis as unknown as Record<string, unknown>;
const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

function drawChart(canvas: HTMLCanvasElement, series: { color: string; points: [number, number][]; width: number; alpha: number }[], xMax: number, opts: { log?: boolean; xLabel: string }) {
  const ctx = canvas.getContext("2d")!;
  const W = canvas.width, H = canvas.height, L = 48, R = 10, T = 10, B = 28;
  ctx.clearRect(0, 0, W, H);
  const ys = series.flatMap((s) => s.points.map((p) => p[1])).filter((y) => Number.isFinite(y) && (!opts.log || y > 0));
  if (!ys.length) return;
  const tf = (y: number) => (opts.log ? Math.log10(y) : y);
  let lo = Math.min(...ys.map(tf)), hi = Math.max(...ys.map(tf));
  if (hi - lo < 1e-9) (lo -= 0.5), (hi += 0.5);
  const pad = (hi - lo) * 0.05;
  lo -= pad;
  hi += pad;
  const X = (x: number) => L + ((W - L - R) * x) / Math.max(1, xMax);
  const Y = (y: number) => T + (H - T - B) * (1 - (tf(y) - lo) / (hi - lo));
  ctx.strokeStyle = "#ccc";
  ctx.fillStyle = "#666";
  ctx.font = "11px system-ui";
  ctx.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const v = lo + ((hi - lo) * i) / 4, yy = T + (H - T - B) * (1 - i / 4);
    ctx.beginPath();
    ctx.moveTo(L, yy);
    ctx.lineTo(W - R, yy);
    ctx.stroke();
    const label = opts.log ? 10 ** v : v;
    ctx.fillText(opts.log && label < 0.01 ? label.toExponential(0) : label.toFixed(2), 4, yy + 4);
  }
  ctx.fillText(opts.xLabel, W - R - ctx.measureText(opts.xLabel).width, H - 8);
  for (const s of series) {
    ctx.strokeStyle = s.color;
    ctx.globalAlpha = s.alpha;
    ctx.lineWidth = s.width;
    ctx.beginPath();
    s.points.forEach(([x, y], i) => (i ? ctx.lineTo(X(x), Y(y)) : ctx.moveTo(X(x), Y(y))));
    ctx.stroke();
  }
  ctx.globalAlpha = 1;
}

function redraw() {
  const epochs = Math.max(1, Number(input("epochs").value));
  const spe = state.totalSteps / epochs;
  const lossSeries = state.tasks.flatMap((_, t) => {
    const raw = state.stepLoss.map((l, i) => [i + 1, l[t]] as [number, number]);
    let ema = NaN;
    const smooth = raw.map(([x, y]) => [x, (ema = Number.isNaN(ema) ? y : 0.9 * ema + 0.1 * y)] as [number, number]);
    const epochLine = state.epochLoss.map((l, e) => [(e + 1) * spe, l[t]] as [number, number]);
    return [
      { color: COLORS[t], points: raw, width: 1, alpha: 0.15 },
      { color: COLORS[t], points: smooth, width: 1, alpha: 0.6 },
      { color: COLORS[t], points: epochLine, width: 2.5, alpha: 1 },
    ];
  });
  drawChart($("loss"), lossSeries, state.totalSteps, { log: true, xLabel: "step" });
  drawChart(
    $("weights"),
    state.tasks.map((_, t) => ({ color: COLORS[t], points: state.weights.map((w, e) => [e + 1, w[t]] as [number, number]), width: 2, alpha: 1 })),
    epochs,
    { xLabel: "epoch" },
  );
}

let pending = false;
const schedule = () => {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => ((pending = false), redraw()));
};

function legend(id: string) {
  $(id).innerHTML = state.tasks.map((t, i) => `<span><i class="sw" style="background:${COLORS[i]}"></i>${esc(t.name)}</span>`).join("");
}

type TaskMetrics = { n: number; rmse?: number; mae?: number; auc?: number; accuracy?: number };

function taskMetrics(t: TaskInfo, truth: Float32Array, pred: Float32Array): TaskMetrics {
  const idx: number[] = [];
  truth.forEach((v, i) => v === v && idx.push(i));
  const n = idx.length;
  if (!n) return { n };
  if (t.type === "binary") {
    let correct = 0;
    for (const i of idx) correct += +(pred[i] > 0.5) === truth[i] ? 1 : 0;
    return { n, auc: rocAuc(Float32Array.from(idx, (i) => truth[i]), Float32Array.from(idx, (i) => pred[i])), accuracy: correct / n };
  }
  let se = 0, ae = 0;
  for (const i of idx) (se += (pred[i] - truth[i]) ** 2), (ae += Math.abs(pred[i] - truth[i]));
  return { n, rmse: Math.sqrt(se / n), mae: ae / n };
}

async function predict(url: string, m: DoneMessage) {
  // "Download" the model from the link the page offers, then run it on both engines.
  const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
  const F = m.features.length, n = m.probe.length / F;
  const feeds = { numeric: { type: "float32" as const, data: m.probe, dims: [n, F] } };
  const mtl = await (await createSession(bytes, { engine: "mtl", kernels: await loadInlineKernels() })).run(feeds);
  ort.env.wasm.numThreads = 1;
  let viaOrt: Record<string, Float32Array> | null = null;
  try {
    viaOrt = await (await createSession(bytes, { engine: "ort", ort: ort as unknown as typeof import("onnxruntime-web") })).run(feeds);
  } catch (e) {
    console.warn("onnxruntime-web unavailable:", e);
  }
  let maxDiff = 0;
  if (viaOrt) for (const k of Object.keys(mtl)) mtl[k].forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - viaOrt![k][i]))));
  const metrics: Record<string, TaskMetrics> = {};
  m.tasks.forEach((t, i) => (metrics[t.name] = taskMetrics(t, m.labels[i], mtl[t.name])));
  const fmt = (t: TaskInfo) => {
    const r = metrics[t.name];
    const what = t.type === "binary" ? `AUC ${r.auc?.toFixed(3)}, accuracy ${r.accuracy?.toFixed(3)}` : `RMSE ${r.rmse?.toFixed(3)}, MAE ${r.mae?.toFixed(3)}`;
    return `<span class="nw"><b>${esc(t.name)}</b> ${what} <span class="dim">(${r.n} labelled)</span></span>`;
  };
  $("metrics").innerHTML =
    `ONNX ${bytes.length.toLocaleString()} bytes, ${n.toLocaleString()} held-out rows — ${m.tasks.map(fmt).join(" · ")} · ` +
    `<span class="nw">max |mtl − ort| <b>${viaOrt ? maxDiff.toExponential(1) : "n/a"}</b></span>`;

  // The table: a few inputs, then per task the true label, the mtl engine's and ORT's prediction.
  const SHOW = Math.min(12, n);
  const dec = (t: TaskInfo) => (t.type === "binary" ? 3 : 2);
  const head1 = `<tr><th rowspan="2">#</th><th colspan="${m.shown.length}">inputs</th>${m.tasks.map((t, i) => `<th colspan="3" class="grp" style="border-top:3px solid ${COLORS[i]}">${esc(t.name)}${t.type === "binary" ? " p(1)" : ""}</th>`).join("")}</tr>`;
  const head2 = `<tr>${m.shown.map((j) => `<th>${esc(m.features[j])}</th>`).join("")}${m.tasks.map(() => `<th class="grp">true</th><th>mtl</th><th>ort</th>`).join("")}</tr>`;
  let masked = false;
  const body = Array.from({ length: SHOW }, (_, i) => {
    const xs = m.shown.map((j) => `<td>${m.probe[i * F + j].toFixed(2)}</td>`).join("");
    const cells = m.tasks
      .map((t, k) => {
        const y = m.labels[k][i];
        if (y !== y) masked = true;
        const truth = y === y ? `<td class="grp">${Number.isInteger(y) ? y : y.toFixed(dec(t))}</td>` : `<td class="grp masked" title="no label: masked out of this task's loss">—</td>`;
        const o = (a: Float32Array | undefined) => (a ? a[i].toFixed(dec(t)) : "—");
        return `${truth}<td>${o(mtl[t.name])}</td><td>${o(viaOrt?.[t.name])}</td>`;
      })
      .join("");
    return `<tr><td>${i}</td>${xs}${cells}</tr>`;
  }).join("");
  $("predictions").innerHTML =
    `<table><thead>${head1}${head2}</thead><tbody>${body}</tbody></table>` +
    `<p class="dim">First ${SHOW} of ${n.toLocaleString()} held-out rows.${masked ? " — : the row has no label for this task (its mask is 0, so it never trained that head); the model still predicts it." : ""}</p>`;
  return { maxDiff: viaOrt ? maxDiff : null, metrics, onnxBytes: bytes.length, rows: SHOW };
}

async function fetchText(url: string): Promise<string> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status} (the demo server serves the data folder under /data/; start it with npm run demo [-- --data DIR])`);
  return r.text();
}

function syncControls() {
  const ds = $<HTMLSelectElement>("dataset").value as DatasetName;
  $("corr-box").style.display = ds === "synthetic" ? "" : "none";
  $("corr-value").textContent = Number(input("corr").value).toFixed(2);
  $("about").textContent = ABOUT[ds];
}

interface TrainOverrides {
  dataset?: DatasetName;
  correlation?: number;
  epochs?: number;
  architecture?: string;
  weighting?: string;
  seed?: number;
}

async function train(o: TrainOverrides = {}): Promise<unknown> {
  if (state.running) throw new Error("already training");
  if (o.dataset) $<HTMLSelectElement>("dataset").value = o.dataset;
  if (o.correlation !== undefined) input("corr").value = String(o.correlation);
  if (o.epochs !== undefined) input("epochs").value = String(o.epochs);
  if (o.architecture) $<HTMLSelectElement>("architecture").value = o.architecture;
  if (o.weighting) $<HTMLSelectElement>("weighting").value = o.weighting;
  if (o.seed !== undefined) input("seed").value = String(o.seed);
  syncControls();
  state.running = true;
  g.__demo = { done: false };
  Object.assign(state, { tasks: [], steps: 0, totalSteps: 1, stepLoss: [], epochLoss: [], weights: [] });
  const dataset = $<HTMLSelectElement>("dataset").value as DatasetName;
  const req: TrainRequest = {
    dataset,
    correlation: Number(input("corr").value),
    architecture: $<HTMLSelectElement>("architecture").value as TrainRequest["architecture"],
    epochs: Number(input("epochs").value),
    seed: Number(input("seed").value),
    weighting: $<HTMLSelectElement>("weighting").value as TrainRequest["weighting"],
  };
  const link = $<HTMLAnchorElement>("download");
  link.classList.add("disabled");
  link.download = `demo-${dataset}-${req.architecture}.onnx`;
  for (const id of ["train", "dataset"]) $<HTMLButtonElement>(id).disabled = true;
  $("predictions").textContent = "training…";
  $("metrics").textContent = "";
  $("note").textContent = "";
  redraw();
  const finish = () => {
    state.running = false;
    for (const id of ["train", "dataset"]) $<HTMLButtonElement>(id).disabled = false;
  };
  try {
    if (dataset === "wine") {
      $("status").textContent = "fetching the wine-quality CSV files…";
      const [red, white] = await Promise.all([fetchText(WINE_URLS.red), fetchText(WINE_URLS.white)]);
      req.wine = { red, white };
    }
  } catch (e) {
    finish();
    $("status").textContent = "error";
    $("predictions").textContent = String((e as Error).message ?? e);
    throw e;
  }
  $("status").textContent = "starting worker…";
  const worker = new Worker(new URL("./worker.mjs", import.meta.url), { type: "module" });
  return new Promise((resolve, reject) => {
    const fail = (msg: string) => {
      worker.terminate();
      finish();
      $("status").textContent = "error";
      $("predictions").textContent = msg;
      reject(new Error(msg));
    };
    worker.onerror = (e) => fail(`worker error: ${e.message}`);
    worker.onmessage = async (e) => {
      const m = e.data;
      if (m.type === "start") {
        state.tasks = m.tasks;
        state.totalSteps = m.steps;
        legend("legend-loss");
        legend("legend-weights");
        $("note").textContent = `${m.note}; ${m.trainRows.toLocaleString()} training rows, ${m.probeRows.toLocaleString()} held out.`;
        $("status").textContent = `training ${m.params.toLocaleString()} parameters…`;
      } else if (m.type === "step") {
        state.steps = m.step;
        state.stepLoss.push(m.losses);
        schedule();
      } else if (m.type === "epoch") {
        state.epochLoss.push(state.tasks.map((t) => m.loss[t.name]));
        state.weights.push(state.tasks.map((t) => m.weights[t.name]));
        $("status").textContent = `epoch ${m.epoch}/${req.epochs}: ` + state.tasks.map((t) => `${t.name} loss ${m.loss[t.name].toFixed(4)} weight ${m.weights[t.name].toFixed(3)}`).join(", ");
        schedule();
      } else if (m.type === "done") {
        const done = m as DoneMessage;
        worker.terminate();
        if (link.href.startsWith("blob:")) URL.revokeObjectURL(link.href);
        link.href = URL.createObjectURL(new Blob([done.onnx as Uint8Array<ArrayBuffer>], { type: "application/octet-stream" }));
        link.classList.remove("disabled");
        $("status").textContent += ` — trained in ${(done.ms / 1000).toFixed(1)} s`;
        try {
          const r = await predict(link.href, done);
          finish();
          g.__demo = {
            done: true,
            dataset,
            correlation: dataset === "synthetic" ? req.correlation : null,
            architecture: req.architecture,
            tasks: state.tasks.map((t) => t.name),
            epochs: state.epochLoss.length,
            firstLoss: state.epochLoss[0],
            lastLoss: state.epochLoss.at(-1),
            weights: state.weights.at(-1),
            ...r,
          };
          resolve(g.__demo);
        } catch (err) {
          fail(String((err as Error)?.stack ?? err));
        }
      } else if (m.type === "error") fail(m.error);
    };
    worker.postMessage(req);
  });
}

// The wine option needs the data folder on the server: grey it out when the files are not there.
void fetch(WINE_URLS.red, { method: "HEAD" })
  .then((r) => r.ok)
  .catch(() => false)
  .then((ok) => {
    if (ok) return;
    const opt = $<HTMLSelectElement>("dataset").querySelector<HTMLOptionElement>('option[value="wine"]')!;
    opt.disabled = true;
    opt.textContent += " (data not served)";
  });

$("dataset").addEventListener("change", syncControls);
input("corr").addEventListener("input", syncControls);
$("train").addEventListener("click", () => void train().catch((e) => console.error(e)));
g.__train = train;
const params = new URLSearchParams(location.search);
if (params.has("dataset")) $<HTMLSelectElement>("dataset").value = params.get("dataset")!;
if (params.has("p")) input("corr").value = params.get("p")!;
syncControls();
if (params.has("autostart")) void train().catch((e) => console.error(e));
