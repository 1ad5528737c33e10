// The report page (browser): draws the data `mtl report` inlined (<script id="report-data">, shaped as
// src/report/data.ts ReportData) with uPlot. Bundled with uPlot and its stylesheet by tools/build.mjs into
// dist/report.js, which src/report/html.ts inlines: the page loads nothing.
//
// Every chart registers itself in `globalThis.__report.charts` with the number of finite points of each data series
// and the number of coloured ("ink") pixels on its canvas, so a check can tell a drawn chart from an empty panel;
// `__report.ready` turns true when everything is drawn (`__report.error` holds a failure).
import uPlot from "uplot";
import uplotCss from "uplot/dist/uPlot.min.css";
import type { ReportData, TaskReport, BinaryColumn } from "./data.ts";

type Num = number | null;
interface ChartRecord {
  id: string;
  section: string;
  title: string;
  kind: "line" | "scatter" | "heatmap";
  series: { label: string; points: number }[];
  ink: number;
}
const state = { ready: false, error: null as string | null, charts: [] as ChartRecord[] };
(globalThis as unknown as { __report: typeof state }).__report = state;

const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#bcbd22", "#7f7f7f"];
const REF = "#9a9a9a";
const W = 300, H = 210;

const CSS = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 20px 28px; color: #222; }
h1 { font-size: 22px; margin: 0 0 2px; } h2 { font-size: 18px; margin: 26px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 16px 0 6px; } .sub { color: #555; margin: 0 0 8px; } .note { color: #666; font-size: 12px; margin: 2px 0; }
.row { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
.chart { border: 1px solid #e2e2e2; border-radius: 6px; padding: 6px; background: #fff; }
.chart .cap { font-size: 12px; color: #555; max-width: ${W}px; margin-top: 2px; }
table { border-collapse: collapse; font-size: 12px; font-family: ui-monospace, monospace; }
td, th { border: 1px solid #e2e2e2; padding: 2px 8px; text-align: right; } th { background: #f5f5f5; }
td.l, th.l { text-align: left; }
pre { background: #f7f7f7; border: 1px solid #e2e2e2; padding: 8px; font-size: 12px; max-height: 420px; overflow: auto; }
.bar { height: 10px; width: 200px; border: 1px solid #ccc; display: inline-block; vertical-align: middle; margin: 0 6px; }
.u-title { font-size: 13px !important; font-weight: 600 !important; }
.u-legend { font-size: 11px !important; }
`;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...kids: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of kids) e.append(c);
  return e;
}

const fmt = (v: number | null | undefined, d = 4) => (v === null || v === undefined || !Number.isFinite(v) ? "—" : Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(2) : +v.toFixed(d) + "");
const count = (a: readonly Num[]) => a.reduce((n: number, v) => n + (v !== null && Number.isFinite(v) ? 1 : 0), 0);

/** Coloured pixels on a canvas: neither grey, white nor black (axes and grid are grey; data is coloured). */
function ink(canvas: HTMLCanvasElement): number {
  const ctx = canvas.getContext("2d");
  if (!ctx || !canvas.width || !canvas.height) return 0;
  const d = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 128 && Math.max(d[i], d[i + 1], d[i + 2]) - Math.min(d[i], d[i + 1], d[i + 2]) > 40) n++;
  return n;
}

let chartId = 0;
let section = "";
const pending: (() => void)[] = [];

/** A chart box with a caption; `register` is called once drawn. */
function box(parent: HTMLElement, caption?: string): HTMLElement {
  const b = el("div", { class: "chart" });
  parent.append(b);
  if (caption) queueMicrotask(() => b.append(el("div", { class: "cap" }, caption)));
  return b;
}

/** Record a chart once drawn (`rec` is read then: a heatmap counts its cells while drawing). */
function register(u: uPlot, rec: () => Omit<ChartRecord, "id" | "ink" | "section">, id: string): void {
  u.root.dataset.chart = id;
  const sec = section;
  pending.push(() => state.charts.push({ id, section: sec, ...rec(), ink: ink(u.ctx.canvas) }));
}

interface LineSeries {
  label: string;
  values: Num[];
  color?: string;
  /** A reference line (diagonal, baseline): drawn grey and dashed, not counted as data. */
  ref?: boolean;
  /** Points only (scatter). */
  pointsOnly?: boolean;
  /** Dashed (the validation curve beside the training curve of the same colour). */
  dashed?: boolean;
}

interface LineOpts {
  title: string;
  x: number[];
  xLabel: string;
  yLabel: string;
  series: LineSeries[];
  xRange?: [number, number];
  yRange?: [number, number];
  /** A vertical marker (the kept epoch). */
  marker?: { x: number; label: string };
  /** Show every point (epoch charts, few points). */
  points?: boolean;
  kind?: "line" | "scatter";
  xInt?: boolean;
}

function lineChart(parent: HTMLElement, o: LineOpts, caption?: string): void {
  const id = `chart-${++chartId}`;
  const b = box(parent, caption);
  let ci = 0;
  const series: uPlot.Series[] = [
    { label: o.xLabel },
    ...o.series.map((s): uPlot.Series => {
      const color = s.ref ? REF : (s.color ?? PALETTE[ci++ % PALETTE.length]);
      if (s.pointsOnly) return { label: s.label, stroke: color, fill: color, paths: () => null, points: { show: true, size: 4, stroke: color, fill: color, width: 0 } };
      return { label: s.label, stroke: color, width: s.ref ? 1 : 2, dash: s.ref ? [5, 4] : s.dashed ? [6, 3] : undefined, spanGaps: true, points: { show: !s.ref && !!o.points, size: 5, fill: color } };
    }),
  ];
  const marker = o.marker;
  const opts: uPlot.Options = {
    title: o.title,
    width: W,
    height: H,
    series,
    legend: { live: false },
    scales: { x: { time: false, ...(o.xRange ? { range: o.xRange } : {}) }, y: o.yRange ? { range: o.yRange } : {} },
    axes: [
      { label: o.xLabel, labelSize: 18, size: 34, ...(o.xInt ? { incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000], values: (_u: uPlot, sp: number[]) => sp.map((v) => String(v)) } : {}) },
      { label: o.yLabel, labelSize: 18, size: 52, values: (_u: uPlot, sp: number[]) => sp.map((v) => fmt(v, 3)) },
    ],
    cursor: { drag: { x: false, y: false } },
    hooks: marker
      ? {
          draw: [
            (u: uPlot) => {
              const x = u.valToPos(marker.x, "x", true);
              const { top, height } = u.bbox;
              const ctx = u.ctx;
              ctx.save();
              ctx.strokeStyle = "#444";
              ctx.setLineDash([3, 3]);
              ctx.lineWidth = 1;
              ctx.beginPath();
              ctx.moveTo(x, top);
              ctx.lineTo(x, top + height);
              ctx.stroke();
              ctx.setLineDash([]);
              ctx.font = "11px system-ui, sans-serif";
              const w = ctx.measureText(marker.label).width;
              const right = x + 4 + w > u.bbox.left + u.bbox.width;
              const tx = right ? x - 4 - w : x + 4;
              // A white box under the label, so a curve passing there does not run through the text.
              ctx.fillStyle = "rgba(255,255,255,0.85)";
              ctx.fillRect(tx - 2, top + 2, w + 4, 14);
              ctx.fillStyle = "#444";
              ctx.textAlign = "left";
              ctx.fillText(marker.label, tx, top + 12);
              ctx.restore();
            },
          ],
        }
      : {},
  };
  const u = new uPlot(opts, [o.x, ...o.series.map((s) => s.values)] as uPlot.AlignedData, b);
  register(u, () => ({ title: o.title, kind: o.kind ?? "line", series: o.series.filter((s) => !s.ref).map((s) => ({ label: s.label, points: count(s.values) })) }), id);
}

/** Diverging (−1 … 1: red, pale yellow, blue) or sequential (0 … 1: pale yellow to dark blue) colours. */
function colour(t: number, diverging: boolean): string {
  const stops = diverging
    ? [[215, 48, 39], [252, 141, 89], [255, 255, 191], [145, 191, 219], [69, 117, 180]]
    : [[255, 255, 217], [199, 233, 180], [65, 182, 196], [34, 94, 168], [8, 29, 88]];
  const x = Math.min(1, Math.max(0, diverging ? (t + 1) / 2 : t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x)), f = x - i;
  const c = stops[i].map((a, k) => Math.round(a + (stops[i + 1][k] - a) * f));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

interface HeatOpts {
  title: string;
  xLabels: string[];
  yLabels: string[];
  xLabel: string;
  yLabel: string;
  /** values[row][col]; row 0 at the top. */
  values: Num[][];
  /** Colour scale: diverging over [−scale, scale], or sequential over [0, scale]; `colourOf` overrides per cell. */
  diverging: boolean;
  scale: number;
  text?: (v: number, r: number, c: number) => string;
  colourOf?: (v: number, r: number, c: number) => number;
  size?: [number, number];
}

function heatmap(parent: HTMLElement, o: HeatOpts, caption?: string): void {
  const id = `chart-${++chartId}`;
  const b = box(parent, caption);
  const R = o.yLabels.length, C = o.xLabels.length;
  let cells = 0;
  const longest = Math.max(...o.yLabels.map((s) => s.length), 1);
  const cellW = o.text ? Math.max(30, 8 + 7 * Math.max(...o.values.flat().map((v) => (v === null || !Number.isFinite(v) ? 0 : o.text!(v, 0, 0).length)), 1)) : 26;
  const [w, h] = o.size ?? [Math.max(W, 40 + 16 + longest * 7 + C * cellW), Math.max(H, 90 + R * 24)];
  const opts: uPlot.Options = {
    title: o.title,
    width: w,
    height: h,
    legend: { show: false },
    cursor: { show: false },
    series: [{ label: o.xLabel }, { label: "cells", paths: () => null, points: { show: false } }],
    scales: { x: { time: false, range: [-0.5, C - 0.5] }, y: { range: [-0.5, R - 0.5] } },
    axes: [
      { label: o.xLabel, labelSize: 18, size: 34, grid: { show: false }, splits: () => o.xLabels.map((_, i) => i), values: (_u: uPlot, sp: number[]) => sp.map((i) => o.xLabels[i] ?? "") },
      { label: o.yLabel, labelSize: 18, size: 16 + longest * 7, grid: { show: false }, splits: () => o.yLabels.map((_, i) => i), values: (_u: uPlot, sp: number[]) => sp.map((i) => o.yLabels[R - 1 - i] ?? "") },
    ],
    hooks: {
      draw: [
        (u: uPlot) => {
          const ctx = u.ctx;
          cells = 0;
          ctx.save();
          ctx.font = "11px system-ui, sans-serif";
          ctx.textAlign = "center";
          ctx.textBaseline = "middle";
          for (let r = 0; r < R; r++)
            for (let c = 0; c < C; c++) {
              const v = o.values[r]?.[c];
              const yv = R - 1 - r;
              const x0 = u.valToPos(c - 0.5, "x", true), x1 = u.valToPos(c + 0.5, "x", true);
              const y0 = u.valToPos(yv + 0.5, "y", true), y1 = u.valToPos(yv - 0.5, "y", true);
              if (v === null || v === undefined || !Number.isFinite(v)) {
                ctx.fillStyle = "#eeeeee";
                ctx.fillRect(x0, y0, x1 - x0, y1 - y0);
                continue;
              }
              cells++;
              const t = o.colourOf ? o.colourOf(v, r, c) : v / (o.scale || 1);
              ctx.fillStyle = colour(t, o.diverging);
              ctx.fillRect(x0 + 0.5, y0 + 0.5, x1 - x0 - 1, y1 - y0 - 1);
              if (o.text && y1 - y0 >= 12 && ctx.measureText(o.text(v, r, c)).width <= x1 - x0 - 4) {
                const dark = o.diverging ? Math.abs(t) > 0.7 : t > 0.55;
                ctx.fillStyle = dark ? "#fff" : "#222";
                ctx.fillText(o.text(v, r, c), (x0 + x1) / 2, (y0 + y1) / 2);
              }
            }
          ctx.restore();
        },
      ],
    },
  };
  const u = new uPlot(opts, [o.xLabels.map((_, i) => i), o.xLabels.map(() => null)] as unknown as uPlot.AlignedData, b);
  // The colour bar, under the chart.
  const lo = o.diverging ? -o.scale : 0;
  const grad = Array.from({ length: 11 }, (_, k) => colour(o.diverging ? -1 + k / 5 : k / 10, o.diverging)).join(",");
  const tick = (v: number) => (v === 0 ? "0" : Math.abs(v) >= 0.01 ? String(+v.toFixed(2)) : v.toExponential(1));
  b.append(el("div", { class: "note" }, tick(lo), el("span", { class: "bar", style: `background: linear-gradient(to right, ${grad})` }), tick(o.scale)));
  register(u, () => ({ title: o.title, kind: "heatmap", series: [{ label: "cells", points: cells }] }), id);
}

/** A table; `left`: the indices of left-aligned (text) columns; no `head`: no header row. */
function table(head: string[] | null, rows: (string | number)[][], left: number[] = [0]): HTMLTableElement {
  const cls = (i: number): Record<string, string> => (left.includes(i) ? { class: "l" } : {});
  return el(
    "table",
    {},
    ...(head ? [el("tr", {}, ...head.map((h, i) => el("th", cls(i), h)))] : []),
    ...rows.map((r) => el("tr", {}, ...r.map((v, i) => el("td", cls(i), typeof v === "number" ? fmt(v) : v)))),
  );
}

// ---- sections -------------------------------------------------------------------------------------------
function trainingCurves(root: HTMLElement, d: ReportData): void {
  section = "training";
  root.append(el("h2", {}, "Training curves per task"), el("p", { class: "note" }, `Per epoch; the dashed line marks the kept epoch (${d.keptEpoch}), whose weights are saved.`));
  d.tasks.forEach((t, ti) => {
    root.append(el("h3", {}, `${t.name} (${t.type}, loss ${t.loss})`));
    const row = el("div", { class: "row" });
    root.append(row);
    const marker = { x: d.keptEpoch, label: `kept ${d.keptEpoch}` };
    const xRange: [number, number] = [Math.min(...t.epochs, 1) - 0.25, Math.max(...t.epochs, 1) + 0.25];
    const hasVal = t.validationLoss.some((v) => v !== null);
    lineChart(
      row,
      {
        title: `${t.name}: loss`,
        x: t.epochs,
        xLabel: "epoch",
        yLabel: "loss",
        xInt: true,
        xRange,
        points: true,
        marker,
        series: [{ label: "training", values: t.trainLoss, color: PALETTE[ti % PALETTE.length] }, ...(hasVal ? [{ label: "validation", values: t.validationLoss, color: PALETTE[ti % PALETTE.length], dashed: true }] : [])],
      },
      hasVal ? `Solid: training (mean ${t.loss} over the epoch's steps); dashed: ${t.validationLossNote}.` : t.validationLossNote,
    );
    for (const m of t.metrics)
      lineChart(row, { title: `${t.name}: validation ${m.name}`, x: t.epochs, xLabel: "epoch", yLabel: m.name, xInt: true, xRange, points: true, marker, series: [{ label: m.name, values: m.values, color: PALETTE[ti % PALETTE.length] }] }, `${m.higherIsBetter ? "Higher" : "Lower"} is better; kept model: ${fmt(t.final[m.name])}.`);
  });
}

function balancing(root: HTMLElement, d: ReportData): void {
  section = "balancing";
  root.append(el("h2", {}, "Task balancing"));
  const row = el("div", { class: "row" });
  root.append(row);
  const names = d.tasks.map((t) => t.name);
  if (d.steps) {
    const s = d.steps;
    const thinned = s.step.length < s.total ? ` (${s.step.length} of ${s.total} steps, evenly spaced)` : "";
    lineChart(row, { title: "task weights per step", x: s.step, xLabel: "step", yLabel: "weight", series: names.map((n) => ({ label: n, values: s.weight[n] ?? [] })) }, `The scale the weighting strategy (${d.spec.training.weighting.type}) gave each task's loss at each step, from steps.csv${thinned}.`);
    lineChart(row, { title: "task losses per step", x: s.step, xLabel: "step", yLabel: "loss", series: names.map((n) => ({ label: n, values: s.loss[n] ?? [] })) }, `Each task's batch loss at each step, from steps.csv${thinned}.`);
  } else row.append(el("p", { class: "note" }, "No steps.csv in the model directory."));
  if (d.affinity) {
    const a = d.affinity, T = a.tasks.length;
    const epochs = a.epochs.map(String);
    const pairs: [number, number][] = [];
    for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) pairs.push([i, j]);
    const cos = pairs.map(([i, j]) => a.cosine.map((m) => m[i]?.[j] ?? null));
    heatmap(
      row,
      { title: "gradient cosine per epoch", xLabels: epochs, yLabels: pairs.map(([i, j]) => `${a.tasks[i]}~${a.tasks[j]}`), xLabel: "epoch", yLabel: "", values: cos, diverging: true, scale: 1, text: (v) => v.toFixed(2) },
      "cos(g_i, g_j) of the task gradients on the shared parameters, mean over the epoch's sampled steps (affinity.json). Red: the tasks pull the trunk in conflicting directions.",
    );
    const directed: [number, number][] = [];
    for (let i = 0; i < T; i++) for (let j = 0; j < T; j++) if (i !== j) directed.push([i, j]);
    const tag = directed.map(([i, j]) => a.tag.map((m) => m[i]?.[j] ?? null));
    const max = Math.max(...tag.flat().map((v) => (v === null ? 0 : Math.abs(v))), 1e-12);
    heatmap(
      row,
      { title: "TAG lookahead affinity per epoch", xLabels: epochs, yLabels: directed.map(([i, j]) => `${a.tasks[i]}→${a.tasks[j]}`), xLabel: "epoch", yLabel: "", values: tag, diverging: true, scale: max, text: (v) => (v === 0 ? "0" : v.toExponential(1).replace("e-", "e−").replace("-", "−")) },
      "Z[i→j] = 1 − L_j(θ − lr·g_i)/L_j(θ): how much a step on task i lowers task j's loss (> 0, blue: helps). Scaled to the largest |Z|.",
    );
  } else row.append(el("p", { class: "note" }, "Task affinity was not recorded (training.affinity off)."));
}

function binaryPlots(row: HTMLElement, t: TaskReport, c: BinaryColumn, ti: number): void {
  const color = PALETTE[ti % PALETTE.length];
  const name = t.binary!.length > 1 ? `${t.name}/${c.label}` : t.name;
  if (c.roc) lineChart(row, { title: `${name}: ROC (AUC ${c.roc.auc.toFixed(4)})`, x: c.roc.fpr, xLabel: "false positive rate", yLabel: "true positive rate", xRange: [0, 1], yRange: [0, 1], series: [{ label: "ROC", values: c.roc.tpr, color }, { label: "chance", values: c.roc.fpr, ref: true }] }, `${c.rows} validation rows, ${c.positives} positive.`);
  else row.append(el("p", { class: "note" }, `${name}: no ROC curve (the validation rows have one class only).`));
  if (c.pr) lineChart(row, { title: `${name}: PR curve (AP ${c.pr.ap.toFixed(4)})`, x: c.pr.recall, xLabel: "recall", yLabel: "precision", xRange: [0, 1], yRange: [0, 1], series: [{ label: "precision", values: c.pr.precision, color }, { label: `base rate ${c.pr.base.toFixed(3)}`, values: c.pr.recall.map(() => c.pr!.base), ref: true }] });
  const bins = c.calibration.filter((b) => b.count > 0);
  const x = [0, ...bins.map((b) => b.meanPredicted!), 1];
  lineChart(
    row,
    { title: `${name}: calibration`, x, xLabel: "mean predicted probability", yLabel: "fraction positive", xRange: [0, 1], yRange: [0, 1], points: true, series: [{ label: "observed", values: [null, ...bins.map((b) => b.fractionPositive), null], color }, { label: "perfect", values: x, ref: true }] },
    `${c.calibration.length} equal-width bins; ${bins.length} non-empty (rows per bin: ${c.calibration.map((b) => b.count).join(", ")}).`,
  );
}

function predictions(root: HTMLElement, d: ReportData): void {
  section = "predictions";
  root.append(el("h2", {}, `Validation predictions (kept model, ${d.rows.validation} rows)`));
  d.tasks.forEach((t, ti) => {
    root.append(el("h3", {}, `${t.name} (${t.type})`));
    const row = el("div", { class: "row" });
    root.append(row);
    for (const c of t.binary ?? []) binaryPlots(row, t, c, ti);
    if (t.multiclass) {
      const { classes, matrix, rows } = t.multiclass;
      const rowSum = matrix.map((r) => r.reduce((a, b) => a + b, 0));
      const correct = matrix.reduce((s, r, i) => s + r[i], 0);
      heatmap(
        row,
        { title: `${t.name}: confusion matrix`, xLabels: classes, yLabels: classes, xLabel: "predicted class", yLabel: "actual", values: matrix, diverging: false, scale: 1, text: (v) => String(v), colourOf: (v, r) => (rowSum[r] ? v / rowSum[r] : 0), size: [Math.max(W, 140 + classes.length * 44), Math.max(H, 110 + classes.length * 30)] },
        `Counts (colour: the share of the actual class's rows). ${rows} labelled rows, accuracy ${(correct / Math.max(rows, 1)).toFixed(4)}.`,
      );
    }
    for (const r of t.regression ?? []) {
      const name = t.regression!.length > 1 ? `${t.name}/${r.label}` : t.name;
      const byActual = r.actual.map((_, i) => i).sort((a, b) => r.actual[a] - r.actual[b] || a - b);
      const xa = byActual.map((i) => r.actual[i]);
      const color = PALETTE[ti % PALETTE.length];
      const shown = r.shown < r.rows ? ` (${r.shown} of ${r.rows} rows, evenly spaced)` : ` (${r.rows} rows)`;
      lineChart(row, { kind: "scatter", title: `${name}: predicted vs actual`, x: xa, xLabel: `actual ${r.label}`, yLabel: "predicted", series: [{ label: "predicted", values: byActual.map((i) => r.predicted[i]), color, pointsOnly: true }, { label: "y = x", values: xa, ref: true }] }, `Each validation row${shown}; on the dashed line the prediction is exact.`);
      const byPred = r.predicted.map((_, i) => i).sort((a, b) => r.predicted[a] - r.predicted[b] || a - b);
      lineChart(row, { kind: "scatter", title: `${name}: residuals`, x: byPred.map((i) => r.predicted[i]), xLabel: "predicted", yLabel: "actual − predicted", series: [{ label: "residual", values: byPred.map((i) => r.actual[i] - r.predicted[i]), color, pointsOnly: true }, { label: "0", values: byPred.map(() => 0), ref: true }] }, `Residual against the prediction${shown}.`);
    }
    const final = Object.entries(t.final);
    if (final.length) row.append(el("div", {}, el("div", { class: "note" }, "kept model's validation metrics"), table(["metric", "value"], final.map(([k, v]) => [k, v]))));
  });
}

function tables(root: HTMLElement, d: ReportData): void {
  if (d.deltaM) {
    root.append(el("h2", {}, "Δm against single-task models"));
    root.append(el("p", { class: "sub" }, `Δm = ${d.deltaM.value >= 0 ? "+" : ""}${d.deltaM.value.toFixed(3)} % (LibMTL's definition: mean over tasks of the mean relative improvement over the task's own single-task run; > 0: the multi-task model is better).`));
    root.append(table(["task", "metric", "multi-task", "single-task", "improvement %"], d.deltaM.rows.map((r) => [r.task, r.metric, r.mtl, r.single, `${r.improvement >= 0 ? "+" : ""}${r.improvement.toFixed(3)}`]), [0, 1]));
  }
  root.append(el("h2", {}, "Model summary"));
  root.append(el("p", { class: "sub" }, `${d.summary.parameters.toLocaleString("en-US")} trainable parameters in ${d.summary.tensors} tensors. By role: ${Object.entries(d.summary.byRole).map(([k, v]) => `${k} ${v.toLocaleString("en-US")}`).join(", ")}.`));
  root.append(table(["layer", "op", "output shape", "params", "role"], d.summary.rows.map((r) => [r.name, r.op, r.shape, r.params ? r.params.toLocaleString("en-US") : "0", r.role]), [0, 1, 2, 4]));
  root.append(el("h2", {}, "Spec"), el("pre", {}, JSON.stringify(d.spec, null, 2)));
  root.append(el("h2", {}, "Environment"), table(null, Object.entries(d.environment).map(([k, v]) => [k, v === null ? "—" : String(v)]), [0, 1]));
}

function render(): void {
  const style = el("style");
  style.textContent = uplotCss + CSS;
  document.head.append(style);
  const d = JSON.parse(document.getElementById("report-data")!.textContent!) as ReportData;
  const root = document.getElementById("report")!;
  root.append(
    el("h1", {}, `mtl report: ${d.model}`),
    el("p", { class: "sub" }, `${d.architecture}, ${d.tasks.length} tasks (${d.tasks.map((t) => `${t.name}: ${t.type}`).join(", ")}); ${d.epochsRun} epochs run, epoch ${d.keptEpoch} kept; ${d.rows.train ?? "?"} training rows, ${d.rows.validation} validation rows.`),
  );
  trainingCurves(root, d);
  balancing(root, d);
  predictions(root, d);
  tables(root, d);
  // uPlot draws on the next animation frame: count the ink after it.
  requestAnimationFrame(() =>
    requestAnimationFrame(() => {
      for (const p of pending) p();
      state.ready = true;
    }),
  );
}

try {
  render();
} catch (e) {
  state.error = String((e as Error)?.stack ?? e);
  console.error(e);
}
