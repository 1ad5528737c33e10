// The report page (browser): draws the data `mtl report` inlined (<script id="report-data">, shaped as
// src/report/data.ts ReportData) with uPlot. Bundled with uPlot and its stylesheet by tools/build.mjs into
// dist/report.js, which src/report/html.ts inlines: the page loads nothing.
//
// The sections are sections.ts, the charts charts.ts: every chart registers itself in `globalThis.__report.charts`
// (its series' finite points and the coloured pixels on its canvas); `__report.ready` turns true when everything is
// drawn (`__report.error` holds a failure).
import { chartStyles, el, settleCharts, state } from "./charts.ts";
import { balancing, predictions, tables, trainingCurves } from "./sections.ts";
import type { ReportData } from "./data.ts";

const PAGE_CSS = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 20px 28px; color: #222; }
h1 { font-size: 22px; margin: 0 0 2px; } h2 { font-size: 18px; margin: 26px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 16px 0 6px; } .sub { color: #555; margin: 0 0 8px; }
table { border-collapse: collapse; font-size: 12px; font-family: ui-monospace, monospace; }
td, th { border: 1px solid #e2e2e2; padding: 2px 8px; text-align: right; } th { background: #f5f5f5; }
td.l, th.l { text-align: left; }
pre { background: #f7f7f7; border: 1px solid #e2e2e2; padding: 8px; font-size: 12px; max-height: 420px; overflow: auto; }
`;

function render(): void {
  const style = el("style");
  style.textContent = chartStyles() + PAGE_CSS;
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
      settleCharts();
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
