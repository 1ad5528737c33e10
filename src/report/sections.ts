// The report's sections (browser): training curves per task, task balancing, validation predictions, Δm, summary,
// spec and environment, each drawn from ReportData (data.ts) with the chart primitives of charts.ts.
import { el, fmt, heatmap, lineChart, PALETTE, setSection, table, W, H } from "./charts.ts";
import type { ReportData, TaskReport, BinaryColumn } from "./data.ts";
import { weightAxis, weightCaption } from "./weighting-text.ts";

export function trainingCurves(root: HTMLElement, d: Pick<ReportData, "tasks" | "keptEpoch">): void {
  setSection("training");
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

export function balancing(root: HTMLElement, d: ReportData): void {
  setSection("balancing");
  root.append(el("h2", {}, "Task balancing"));
  const row = el("div", { class: "row" });
  root.append(row);
  const names = d.tasks.map((t) => t.name);
  if (d.steps) {
    const s = d.steps;
    const thinned = s.step.length < s.total ? ` (${s.step.length} of ${s.total} steps, evenly spaced)` : "";
    const type = d.spec.training.weighting.type;
    lineChart(row, { title: "task weights per step", x: s.step, xLabel: "step", yLabel: weightAxis(type), yFrom0: true, series: names.map((n) => ({ label: n, values: s.weight[n] ?? [] })) }, `${weightCaption(type)} From steps.csv${thinned}.`);
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

export function predictions(root: HTMLElement, d: ReportData): void {
  setSection("predictions");
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

export function tables(root: HTMLElement, d: ReportData): void {
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
