// The report's chart primitives (browser): uPlot line/scatter charts and heatmaps in a captioned box, plus the
// registry a check reads. Used by the report page (sections.ts, page.ts) and by the demo page (tools/demo/), which
// draws its live curves with the same functions.
//
// Every chart registers itself in `globalThis.__report.charts` with the number of finite points of each data series
// and the number of coloured ("ink") pixels on its canvas, so a check can tell a drawn chart from an empty panel;
// settleCharts() records the charts drawn so far (call it after uPlot has drawn: the next animation frame).
import uPlot from "uplot";
import uplotCss from "uplot/dist/uPlot.min.css";

type Num = number | null;
export interface ChartRecord {
  id: string;
  section: string;
  title: string;
  kind: "line" | "scatter" | "heatmap";
  series: { label: string; points: number }[];
  ink: number;
}
export const state = { ready: false, error: null as string | null, charts: [] as ChartRecord[] };
(globalThis as unknown as { __report: typeof state }).__report = state;

export const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#bcbd22", "#7f7f7f"];
const REF = "#9a9a9a";
export const W = 300, H = 210;

/** The charts' stylesheet (boxes, captions, rows of charts, uPlot's own). */
export const CHART_CSS = `
.note { color: #666; font-size: 12px; margin: 2px 0; }
.row { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
.chart { border: 1px solid #e2e2e2; border-radius: 6px; padding: 6px; background: #fff; }
.chart .cap { font-size: 12px; color: #555; max-width: ${W}px; margin-top: 2px; }
.bar { height: 10px; width: 200px; border: 1px solid #ccc; display: inline-block; vertical-align: middle; margin: 0 6px; }
.u-title { font-size: 13px !important; font-weight: 600 !important; }
.u-legend { font-size: 11px !important; }
`;
export const chartStyles = () => uplotCss + CHART_CSS;

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...kids: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of kids) e.append(c);
  return e;
}

export const fmt = (v: number | null | undefined, d = 4) => (v === null || v === undefined || !Number.isFinite(v) ? "—" : Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(2) : +v.toFixed(d) + "");
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
/** The uPlot instances drawn since the last resetCharts(). */
const instances: uPlot[] = [];

/** The section later charts register under (ChartRecord.section). */
export function setSection(name: string): void {
  section = name;
}

/** Record every chart drawn since the last call (their points and ink) in `__report.charts`. */
export function settleCharts(): void {
  for (const p of pending.splice(0)) p();
}

/** Destroy every chart drawn so far and forget their records (a page that redraws its charts calls it first). */
export function resetCharts(): void {
  for (const u of instances.splice(0)) u.destroy();
  pending.length = 0;
  state.charts.length = 0;
}

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
  instances.push(u);
  const sec = section;
  pending.push(() => state.charts.push({ id, section: sec, ...rec(), ink: ink(u.ctx.canvas) }));
}

export interface LineSeries {
  label: string;
  values: Num[];
  color?: string;
  /** A reference line (diagonal, baseline): drawn grey and dashed, not counted as data. */
  ref?: boolean;
  /** Points only (scatter). */
  pointsOnly?: boolean;
  /** Dashed (the validation curve beside the training curve of the same colour). */
  dashed?: boolean;
  /**
   * Thin and pale, and left out of the legend (noisy per-step values beneath their per-epoch means: list it before
   * the series it lies under, and say so in the caption).
   */
  faint?: boolean;
}

export interface LineOpts {
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
  /** The y axis starts at 0 (quantities that are never negative, such as task weights); its top is the data's. */
  yFrom0?: boolean;
  /** A log10 y axis (losses over decades); values ≤ 0 are not drawn. */
  yLog?: boolean;
  /** Plot size in CSS pixels (default W × H). */
  size?: [number, number];
}

export function lineChart(parent: HTMLElement, o: LineOpts, caption?: string): uPlot {
  const id = `chart-${++chartId}`;
  const b = box(parent, caption);
  let ci = 0;
  const series: uPlot.Series[] = [
    { label: o.xLabel },
    ...o.series.map((s): uPlot.Series => {
      const color = s.ref ? REF : (s.color ?? PALETTE[ci++ % PALETTE.length]);
      if (s.faint) return { label: s.label, stroke: color + "55", width: 1, spanGaps: true, points: { show: false } };
      if (s.pointsOnly) return { label: s.label, stroke: color, fill: color, paths: () => null, points: { show: true, size: 4, stroke: color, fill: color, width: 0 } };
      return { label: s.label, stroke: color, width: s.ref ? 1 : 2, dash: s.ref ? [5, 4] : s.dashed ? [6, 3] : undefined, spanGaps: true, points: { show: !s.ref && !!o.points, size: 5, fill: color } };
    }),
  ];
  const marker = o.marker;
  const opts: uPlot.Options = {
    title: o.title,
    width: o.size?.[0] ?? W,
    height: o.size?.[1] ?? H,
    series,
    legend: { live: false },
    scales: { x: { time: false, ...(o.xRange ? { range: o.xRange } : {}) }, y: o.yRange ? { range: o.yRange } : o.yLog ? { distr: 3, log: 10 } : o.yFrom0 ? { range: (_u: uPlot, _min: number, max: number) => fromZero(max) } : {} },
    axes: [
      { label: o.xLabel, labelSize: 18, size: 34, ...(o.xInt ? { incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000], values: (_u: uPlot, sp: number[]) => sp.map((v) => String(v)) } : {}) },
      { label: o.yLabel, labelSize: 18, size: 52, values: (_u: uPlot, sp: (number | null)[]) => sp.map((v) => (v === null ? "" : fmt(v, 3))) },
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
  // The legend has a row per data series, after one for x unless the legend is static (live: false).
  const rows = u.root.querySelectorAll<HTMLElement>(".u-legend .u-series"), skip = rows.length - o.series.length;
  o.series.forEach((s, i) => s.faint && rows[i + skip]?.style.setProperty("display", "none"));
  register(u, () => ({ title: o.title, kind: o.kind ?? "line", series: o.series.filter((s) => !s.ref).map((s) => ({ label: s.label, points: count(s.values) })) }), id);
  return u;
}

/** A y range [0, top] for values ≥ 0: top is `max` plus 5 %, rounded up to 1, 2 or 5 times a power of ten over 20. */
export function fromZero(max: number): [number, number] {
  if (!(max > 0) || !Number.isFinite(max)) return [0, 1];
  const step = 10 ** Math.floor(Math.log10(max * 1.05)) / 20;
  const q = Math.ceil((max * 1.05) / step) * step;
  return [0, +q.toPrecision(12)];
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

export function heatmap(parent: HTMLElement, o: HeatOpts, caption?: string): void {
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
export function table(head: string[] | null, rows: (string | number)[][], left: number[] = [0]): HTMLTableElement {
  const cls = (i: number): Record<string, string> => (left.includes(i) ? { class: "l" } : {});
  return el(
    "table",
    {},
    ...(head ? [el("tr", {}, ...head.map((h, i) => el("th", cls(i), h)))] : []),
    ...rows.map((r) => el("tr", {}, ...r.map((v, i) => el("td", cls(i), typeof v === "number" ? fmt(v) : v)))),
  );
}
