// MultiMNIST predictions from the downloaded ONNX model: the first test composites drawn on canvases (dark ink on
// white, 5 px per pixel) with the predicted boxes over them (solid; the true boxes dashed) and the predicted digits
// under them, and the accuracy of each digit task and the mean box IoU over all test composites and over the drawn
// ones. Each figure carries its truth and prediction in data-* attributes (data-true, data-pred: "left,right";
// data-true-boxes, data-pred-boxes: 8 numbers, left box then right box, [x0, y0, x1, y1] in [0, 1]).
import { PALETTE } from "../../src/report/charts.ts";
import type { BothRuns } from "./onnx-run.ts";
import type { Probe, TaskInfo } from "./protocol.ts";

const SIDE = 28, SCALE = 5;
export const DRAWN = 12;

const argmax = (p: Float32Array, row: number, k: number) => {
  let best = 0;
  for (let c = 1; c < k; c++) if (p[row * k + c] > p[row * k + best]) best = c;
  return best;
};

/** Intersection over union of two boxes [x0, y0, x1, y1] (0 when either is empty). */
export function iou(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]), h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  const inter = w > 0 && h > 0 ? w * h : 0;
  const area = (r: ArrayLike<number>) => Math.max(0, r[2] - r[0]) * Math.max(0, r[3] - r[1]);
  const union = area(a) + area(b) - inter;
  return union > 0 ? inter / union : 0;
}

export interface MnistSummary {
  /** Over all test composites: accuracy of left and right, mean IoU of left and right boxes. */
  accuracy: [number, number];
  iou: [number, number] | null;
  /** Over the drawn ones. */
  drawn: number;
  drawnCorrect: [number, number];
}

export function showMultiMnist(metricsEl: HTMLElement, gridEl: HTMLElement, probe: Probe, tasks: TaskInfo[], runs: BothRuns, onnxBytes: number): MnistSummary {
  const out = runs.mtl, n = probe.rows;
  const [L, R] = [tasks[0], tasks[1]];
  const boxes = tasks.length >= 4 ? [tasks[2], tasks[3]] : null;
  const pred = (k: number, t: TaskInfo) => argmax(out[t.name], k, t.width);
  const truth = (k: number, d: number) => probe.labels[d][k];
  const box = (a: Float32Array, k: number) => a.subarray(k * 4, k * 4 + 4);
  const correct = [0, 0], iouSum = [0, 0];
  for (let k = 0; k < n; k++) {
    [L, R].forEach((t, d) => (correct[d] += pred(k, t) === truth(k, d) ? 1 : 0));
    if (boxes) boxes.forEach((t, d) => (iouSum[d] += iou(box(out[t.name], k), box(probe.labels[2 + d], k))));
  }
  const drawn = Math.min(DRAWN, n);
  const drawnCorrect = [0, 0];
  const figures: HTMLElement[] = [];
  for (let k = 0; k < drawn; k++) {
    const p = [pred(k, L), pred(k, R)], y = [truth(k, 0), truth(k, 1)];
    p.forEach((v, d) => (drawnCorrect[d] += v === y[d] ? 1 : 0));
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = SIDE * SCALE;
    const ctx = canvas.getContext("2d")!;
    const img = ctx.createImageData(SIDE, SIDE);
    for (let i = 0; i < SIDE * SIDE; i++) {
      const v = 255 - Math.round(probe.data[k * probe.width + i] * 255);
      img.data.set([v, v, v, 255], i * 4);
    }
    const small = new OffscreenCanvas(SIDE, SIDE);
    small.getContext("2d")!.putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(small, 0, 0, SIDE * SCALE, SIDE * SCALE);
    const px = SIDE * SCALE;
    const rect = (b: ArrayLike<number>, color: string, dashed: boolean) => {
      ctx.strokeStyle = color;
      ctx.lineWidth = dashed ? 1 : 2;
      ctx.setLineDash(dashed ? [4, 3] : []);
      ctx.strokeRect(b[0] * px, b[1] * px, (b[2] - b[0]) * px, (b[3] - b[1]) * px);
    };
    const predBoxes: number[] = [], trueBoxes: number[] = [];
    if (boxes)
      boxes.forEach((t, d) => {
        const pb = box(out[t.name], k), tb = box(probe.labels[2 + d], k);
        rect(tb, PALETTE[d], true);
        rect(pb, PALETTE[d], false);
        predBoxes.push(...pb), trueBoxes.push(...tb);
      });
    const mark = (d: number) => (p[d] === y[d] ? `<b class="ok">${p[d]}</b>` : `<b class="bad">${p[d]}</b> <span class="dim">(true ${y[d]})</span>`);
    const fig = document.createElement("figure");
    fig.className = "mm";
    fig.dataset.true = y.join(",");
    fig.dataset.pred = p.join(",");
    if (boxes) (fig.dataset.trueBoxes = trueBoxes.join(",")), (fig.dataset.predBoxes = predBoxes.join(","));
    const cap = document.createElement("figcaption");
    cap.innerHTML = `<span style="color:${PALETTE[0]}">left</span> ${mark(0)} · <span style="color:${PALETTE[1]}">right</span> ${mark(1)}`;
    fig.append(canvas, cap);
    figures.push(fig);
  }
  gridEl.replaceChildren(...figures);
  const acc: [number, number] = [correct[0] / n, correct[1] / n];
  const mIou: [number, number] | null = boxes ? [iouSum[0] / n, iouSum[1] / n] : null;
  metricsEl.innerHTML =
    `ONNX ${onnxBytes.toLocaleString("en-US")} bytes, run on ${probe.what}: accuracy <b>left ${acc[0].toFixed(3)}</b>, <b>right ${acc[1].toFixed(3)}</b>` +
    (mIou ? `; mean box IoU left ${mIou[0].toFixed(3)}, right ${mIou[1].toFixed(3)}` : "") +
    ` · on the ${drawn} drawn: left ${drawnCorrect[0]}/${drawn}, right ${drawnCorrect[1]}/${drawn} correct` +
    ` · <span class="nw">max |mtl − ort| <b>${runs.maxDiff !== null ? runs.maxDiff.toExponential(1) : "n/a (onnxruntime-web did not start; see the console)"}</b></span>` +
    `<br><span class="dim">Boxes: solid = predicted, dashed = true; <span style="color:${PALETTE[0]}">blue</span> the top-left digit, <span style="color:${PALETTE[1]}">red</span> the bottom-right one. Digits under each image: predicted (a wrong one in red, with the true digit).</span>`;
  return { accuracy: acc, iou: mIou, drawn, drawnCorrect: [drawnCorrect[0], drawnCorrect[1]] };
}
