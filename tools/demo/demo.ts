// Demo page: starts training in a Web Worker, draws per-task loss curves (per step, smoothed, and per epoch) and the
// task weights live; when training ends it downloads the ONNX model from the link it offers and runs predictions on
// held-out rows with the mtl engine (our kernels) and with onnxruntime-web, showing both and their difference.
import * as ort from "onnxruntime-web/wasm";
import { loadInlineKernels } from "../../src/entry/inline.ts";
import { createSession } from "../../src/infer/session.ts";
import { rocAuc } from "../../src/metrics/auc.ts";
import { FEATURES } from "../../test/runtimes/scenario.ts";
import type { TrainRequest } from "./worker.ts";

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const state = { tasks: [] as string[], steps: 0, stepLoss: [] as number[][], epochLoss: [] as number[][], weights: [] as number[][], running: false };
const g = globalThis as unknown as Record<string, unknown>;

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
    ctx.fillText(label < 0.01 ? label.toExponential(0) : label.toFixed(2), 4, yy + 4);
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
  const spe = state.steps / Math.max(1, Number(($("epochs") as HTMLInputElement).value));
  const lossSeries = state.tasks.flatMap((_, t) => {
    const raw = state.stepLoss.map((l, i) => [i + 1, l[t]] as [number, number]);
    let ema = NaN;
    const smooth = raw.map(([x, y]) => [x, (ema = Number.isNaN(ema) ? y : 0.9 * ema + 0.1 * y)] as [number, number]);
    const epochs = state.epochLoss.map((l, e) => [(e + 1) * spe, l[t]] as [number, number]);
    return [
      { color: COLORS[t], points: raw, width: 1, alpha: 0.15 },
      { color: COLORS[t], points: smooth, width: 1, alpha: 0.6 },
      { color: COLORS[t], points: epochs, width: 2.5, alpha: 1 },
    ];
  });
  drawChart($("loss"), lossSeries, state.steps, { log: true, xLabel: "step" });
  drawChart(
    $("weights"),
    state.tasks.map((_, t) => ({ color: COLORS[t], points: state.weights.map((w, e) => [e + 1, w[t]] as [number, number]), width: 2, alpha: 1 })),
    Math.max(1, Number(($("epochs") as HTMLInputElement).value)),
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
  $(id).innerHTML = state.tasks.map((t, i) => `<span><i class="sw" style="background:${COLORS[i]}"></i>${t}</span>`).join("");
}

async function predict(url: string, probe: Float32Array, click: Float32Array, value: Float32Array) {
  // "Download" the model from the link the page offers, then run it on both engines.
  const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
  const n = probe.length / FEATURES;
  const feeds = { numeric: { type: "float32" as const, data: probe, dims: [n, FEATURES] } };
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
  const auc = rocAuc(click, mtl.click);
  let se = 0, correct = 0;
  for (let i = 0; i < n; i++) {
    se += (mtl.value[i] - value[i]) ** 2;
    correct += +(mtl.click[i] > 0.5) === click[i] ? 1 : 0;
  }
  $("metrics").textContent = `— ${bytes.length.toLocaleString()} bytes, ${n} held-out rows: click AUC ${auc.toFixed(3)}, accuracy ${(correct / n).toFixed(3)}; value RMSE ${Math.sqrt(se / n).toFixed(3)}; max |mtl − ort| ${viaOrt ? maxDiff.toExponential(1) : "n/a"}`;
  const head = `<tr><th>#</th>${Array.from({ length: 4 }, (_, j) => `<th>x${j}</th>`).join("")}<th>click (true)</th><th>p(click) mtl</th><th>p(click) ort</th><th>value (true)</th><th>value mtl</th><th>value ort</th></tr>`;
  const body = Array.from({ length: 12 }, (_, i) => {
    const xs = Array.from({ length: 4 }, (_, j) => `<td>${probe[i * FEATURES + j].toFixed(2)}</td>`).join("");
    const o = (a: Float32Array | undefined, d = 3) => (a ? a[i].toFixed(d) : "—");
    return `<tr><td>${i}</td>${xs}<td>${click[i]}</td><td>${o(mtl.click)}</td><td>${o(viaOrt?.click)}</td><td>${value[i].toFixed(3)}</td><td>${o(mtl.value)}</td><td>${o(viaOrt?.value)}</td></tr>`;
  }).join("");
  $("predictions").innerHTML = `<table>${head}${body}</table>`;
  return { maxDiff: viaOrt ? maxDiff : null, auc, rmse: Math.sqrt(se / n), onnxBytes: bytes.length };
}

function train(): Promise<unknown> {
  if (state.running) return Promise.reject(new Error("already training"));
  state.running = true;
  Object.assign(state, { tasks: [], steps: 0, stepLoss: [], epochLoss: [], weights: [] });
  const req: TrainRequest = {
    rows: 4096,
    probeRows: 512,
    epochs: Number(($("epochs") as HTMLInputElement).value),
    seed: Number(($("seed") as HTMLInputElement).value),
    weighting: ($("weighting") as HTMLSelectElement).value as TrainRequest["weighting"],
  };
  const link = $("download") as HTMLAnchorElement;
  link.classList.add("disabled");
  $("status").textContent = "starting worker…";
  $("predictions").textContent = "training…";
  $("metrics").textContent = "";
  const worker = new Worker(new URL("./worker.mjs", import.meta.url), { type: "module" });
  return new Promise((resolve, reject) => {
    worker.onerror = (e) => (($("status").textContent = `worker error: ${e.message}`), (state.running = false), reject(new Error(e.message)));
    worker.onmessage = async (e) => {
      const m = e.data;
      if (m.type === "start") {
        state.tasks = m.tasks;
        legend("legend-loss");
        legend("legend-weights");
        $("status").textContent = `training ${m.params.toLocaleString()} parameters…`;
      } else if (m.type === "step") {
        state.steps = m.step;
        state.stepLoss.push(m.losses);
        schedule();
      } else if (m.type === "epoch") {
        state.epochLoss.push(state.tasks.map((t) => m.loss[t]));
        state.weights.push(state.tasks.map((t) => m.weights[t]));
        $("status").textContent = `epoch ${m.epoch}/${req.epochs}: ` + state.tasks.map((t) => `${t} loss ${m.loss[t].toFixed(4)} weight ${m.weights[t].toFixed(3)}`).join(", ");
        schedule();
      } else if (m.type === "done") {
        worker.terminate();
        if (link.href.startsWith("blob:")) URL.revokeObjectURL(link.href);
        link.href = URL.createObjectURL(new Blob([m.onnx], { type: "application/octet-stream" }));
        link.classList.remove("disabled");
        $("status").textContent += ` — trained in ${(m.ms / 1000).toFixed(1)} s`;
        try {
          const r = await predict(link.href, m.probe, m.click, m.value);
          state.running = false;
          g.__demo = { done: true, epochs: state.epochLoss.length, firstLoss: state.epochLoss[0], lastLoss: state.epochLoss.at(-1), weights: state.weights.at(-1), ...r };
          resolve(g.__demo);
        } catch (err) {
          state.running = false;
          $("predictions").textContent = String(err);
          reject(err);
        }
      } else if (m.type === "error") {
        worker.terminate();
        state.running = false;
        $("status").textContent = "error";
        $("predictions").textContent = m.error;
        reject(new Error(m.error));
      }
    };
    worker.postMessage(req);
  });
}

$("train").addEventListener("click", () => void train().catch((e) => console.error(e)));
g.__train = train;
if (new URLSearchParams(location.search).has("autostart")) void train().catch((e) => console.error(e));
