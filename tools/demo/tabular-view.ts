// The tabular data sets' predictions from the downloaded ONNX model: per-task metrics over the held-out rows (AUC and
// accuracy for a binary task, RMSE and MAE for a regression task; rows without a label left out) and a table of the
// first rows: a few inputs, then per task the true label and both engines' predictions.
import { rocAuc } from "../../src/metrics/auc.ts";
import { PALETTE } from "../../src/report/charts.ts";
import type { BothRuns } from "./onnx-run.ts";
import type { Probe, TaskInfo } from "./protocol.ts";

export type TaskMetrics = { n: number; rmse?: number; mae?: number; auc?: number; accuracy?: number };

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

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

/** Fill `metricsEl` and `tableEl`; returns the metrics and the number of rows shown. */
export function showTabular(metricsEl: HTMLElement, tableEl: HTMLElement, probe: Probe, tasks: TaskInfo[], runs: BothRuns, onnxBytes: number): { metrics: Record<string, TaskMetrics>; rows: number } {
  const { mtl, ort } = runs;
  const metrics: Record<string, TaskMetrics> = {};
  tasks.forEach((t, i) => (metrics[t.name] = taskMetrics(t, probe.labels[i], mtl[t.name])));
  const fmt = (t: TaskInfo) => {
    const r = metrics[t.name];
    const what = t.type === "binary" ? `AUC ${r.auc?.toFixed(3)}, accuracy ${r.accuracy?.toFixed(3)}` : `RMSE ${r.rmse?.toFixed(3)}, MAE ${r.mae?.toFixed(3)}`;
    return `<span class="nw"><b>${esc(t.name)}</b> ${what} <span class="dim">(${r.n} labelled)</span></span>`;
  };
  metricsEl.innerHTML =
    `ONNX ${onnxBytes.toLocaleString("en-US")} bytes, ${probe.what} — ${tasks.map(fmt).join(" · ")} · ` +
    `<span class="nw">max |mtl − ort| <b>${runs.maxDiff !== null ? runs.maxDiff.toExponential(1) : "n/a (onnxruntime-web did not start; see the console)"}</b></span>`;

  const SHOW = Math.min(12, probe.rows), F = probe.width;
  const dec = (t: TaskInfo) => (t.type === "binary" ? 3 : 2);
  const head1 = `<tr><th rowspan="2">#</th><th colspan="${probe.shown.length}">inputs</th>${tasks.map((t, i) => `<th colspan="3" class="grp" style="border-top:3px solid ${PALETTE[i % PALETTE.length]}">${esc(t.name)}${t.type === "binary" ? " p(1)" : ""}</th>`).join("")}</tr>`;
  const head2 = `<tr>${probe.shown.map((j) => `<th>${esc(probe.features[j])}</th>`).join("")}${tasks.map(() => `<th class="grp">true</th><th>mtl</th><th>ort</th>`).join("")}</tr>`;
  let masked = false;
  const body = Array.from({ length: SHOW }, (_, i) => {
    const xs = probe.shown.map((j) => `<td>${probe.data[i * F + j].toFixed(2)}</td>`).join("");
    const cells = tasks
      .map((t, k) => {
        const y = probe.labels[k][i];
        if (y !== y) masked = true;
        const truth = y === y ? `<td class="grp">${Number.isInteger(y) ? y : y.toFixed(dec(t))}</td>` : `<td class="grp masked" title="no label: masked out of this task's loss">—</td>`;
        const o = (a: Float32Array | undefined) => (a ? a[i].toFixed(dec(t)) : "—");
        return `${truth}<td>${o(mtl[t.name])}</td><td>${o(ort?.[t.name])}</td>`;
      })
      .join("");
    return `<tr><td>${i}</td>${xs}${cells}</tr>`;
  }).join("");
  tableEl.innerHTML =
    `<table><thead>${head1}${head2}</thead><tbody>${body}</tbody></table>` +
    `<p class="dim">First ${SHOW} of ${probe.what}.${masked ? " — : the row has no label for this task (its mask is 0, so it never trained that head); the model still predicts it." : ""}</p>`;
  return { metrics, rows: SHOW };
}
