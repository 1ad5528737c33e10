// The demo page's live charts, drawn with the report's chart code (src/report/charts.ts, sections.ts):
//   - training loss per task: per step (thin, pale; bucket means beyond series.ts MAX_POINTS steps) under
//     the epoch's mean (bold, at the middle of the epoch), on a log axis, x in epochs of training;
//   - the task weights the same way (per step under per-epoch mean), the axis from 0, labelled and explained by
//     the weighting method (src/report/weighting-text.ts);
//   - per task, training and validation loss and each validation metric per epoch with the kept epoch marked: the
//     report's "Training curves per task" section itself.
// Every draw() replaces all charts (resetCharts), so the registry `__report.charts` describes what is on screen.
import type uPlot from "uplot";
import { el, lineChart, PALETTE, resetCharts, type LineSeries } from "../../src/report/charts.ts";
import { trainingCurves } from "../../src/report/sections.ts";
import { weightAxis, weightCaption } from "../../src/report/weighting-text.ts";
import type { TaskReport } from "../../src/report/data.ts";
import type { EpochMessage, StartMessage, StepsMessage, TaskInfo } from "./protocol.ts";
import { stepAndEpochSeries, type Num } from "./series.ts";

const SIZE: [number, number] = [480, 230];

export class LiveCharts {
  tasks: TaskInfo[] = [];
  stepsPerEpoch = 1;
  weighting = "static";
  /** [task][step] */
  losses: number[][] = [];
  scales: number[][] = [];
  /** [task][epoch] */
  epochLoss: number[][] = [];
  epochWeight: number[][] = [];
  curves: TaskReport[] = [];
  kept = 0;
  monitor = "";
  private weightsChart: uPlot | null = null;

  constructor(private root: { steps: HTMLElement; weights: HTMLElement; curves: HTMLElement }) {}

  start(m: StartMessage, weighting: string): void {
    this.tasks = m.tasks;
    this.stepsPerEpoch = m.stepsPerEpoch;
    this.weighting = weighting;
    this.losses = m.tasks.map(() => []);
    this.scales = m.tasks.map(() => []);
    this.epochLoss = m.tasks.map(() => []);
    this.epochWeight = m.tasks.map(() => []);
    this.curves = [];
    this.kept = 0;
  }

  steps(m: StepsMessage): void {
    m.losses.forEach((l, t) => this.losses[t].push(...l));
    m.scales.forEach((s, t) => this.scales[t].push(...s));
  }

  epoch(m: EpochMessage): void {
    this.tasks.forEach((t, i) => {
      this.epochLoss[i].push(m.log.trainLoss[t.name]);
      this.epochWeight[i].push(m.log.weights[t.name]);
    });
    this.curves = m.curves;
    this.kept = m.kept;
    this.monitor = m.monitor;
  }

  clear(): void {
    resetCharts();
    for (const r of Object.values(this.root)) r.replaceChildren();
    this.weightsChart = null;
  }

  draw(): void {
    this.clear();
    if (!this.tasks.length || !this.losses[0].length) return;
    const names = this.tasks.map((t) => t.name);
    const chart = (parent: HTMLElement, perStep: number[][], perEpoch: number[][], o: { title: string; yLabel: string; log?: boolean; caption: string }) => {
      const s = stepAndEpochSeries(perStep, perEpoch, this.stepsPerEpoch);
      const pos = (v: Num) => (o.log && v !== null && !(v > 0) ? null : v);
      const series: LineSeries[] = [
        ...names.map((n, t) => ({ label: `${n} per step`, values: s.faint[t].map(pos), color: PALETTE[t % PALETTE.length], faint: true })),
        ...names.map((n, t) => ({ label: n, values: s.bold[t].map(pos), color: PALETTE[t % PALETTE.length] })),
      ];
      const per = s.bucket > 1 ? `thin pale lines: the mean of every ${s.bucket} steps` : "thin pale lines: each step";
      const epochs = perEpoch[0].length;
      return lineChart(
        parent,
        { title: o.title, x: s.x, xLabel: "epoch", yLabel: o.yLabel, series, size: SIZE, yLog: o.log, yFrom0: !o.log, points: epochs <= 30, xRange: [0, Math.max(1, Math.ceil(s.x[s.x.length - 1]))] },
        `${o.caption} (${per}; bold: each epoch's mean, at the middle of the epoch).`,
      );
    };
    chart(this.root.steps, this.losses, this.epochLoss, { title: "training loss per task", yLabel: "loss", log: true, caption: "Each task's training loss on its batches, log scale" });
    this.weightsChart = chart(this.root.weights, this.scales, this.epochWeight, { title: `task weights (${this.weighting})`, yLabel: weightAxis(this.weighting), caption: weightCaption(this.weighting) });
    if (this.curves.length && this.curves[0].epochs.length) {
      trainingCurves(this.root.curves, { tasks: this.curves, keptEpoch: this.kept });
      this.root.curves.querySelector("h2")?.remove();
      this.root.curves.querySelector(".note")!.textContent =
        `Per epoch: solid training, dashed validation (the held-out rows). The vertical line "kept ${this.kept}" marks the kept epoch: ` +
        `the best validation ${this.monitor === "loss" ? "loss (mean over tasks of log-loss or RMSE)" : this.monitor} so far; its weights are the ones exported to ONNX and reported.`;
    }
  }

  /** The weights chart's y range as drawn (read after it is drawn: the next animation frame). */
  weightsRange(): [number, number] | null {
    const y = this.weightsChart?.scales.y;
    return y && y.min !== undefined && y.max !== undefined ? [y.min, y.max] : null;
  }

  /** An empty-state text in place of a chart. */
  static placeholder(parent: HTMLElement, text: string): void {
    parent.replaceChildren(el("p", { class: "note" }, text));
  }
}
