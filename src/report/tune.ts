// The report of an `mtl tune` folder (its tune.json, written by src/cli/tune.ts): a "Tuning" page with the search, the
// leaderboard (each trial at the highest rung it reached, best first) and every rung's runs. Static HTML, no script,
// no network. Portable: no node:* imports.

/** tune.json as src/cli/tune.ts writes it (the fields read here). */
export interface TuneJson {
  model: string;
  data: string;
  search: { method: string; seed: number; trials: number; eta: number; min_epochs: number; rungs: number[]; sizes: number[]; threads: number };
  metric: string;
  higher_is_better: boolean;
  ranges: { path: string; kind: string; values: unknown[] }[];
  values: unknown[][];
  results: { trial: number; rung: number; epochs: number; metric: number | null; status: string; seconds: number; error?: string }[];
  leaderboard: number[];
  best: { trial: number; metric: number; epochs: number };
  seconds: number;
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
const show = (v: unknown) => (typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : JSON.stringify(v));
const tableHtml = (head: string[], rows: string[][]) =>
  `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>${rows.map((r, i) => `<tr${i === 0 ? ' class="best"' : ""}>${r.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`).join("")}</tbody></table>`;

/** The Tuning page of `t` as one HTML document. */
export function renderTuneHtml(t: TuneJson): string {
  const s = t.search;
  const top = new Map<number, TuneJson["results"][number]>();
  for (const r of t.results) if (!top.has(r.trial) || top.get(r.trial)!.rung < r.rung) top.set(r.trial, r);
  const fields = t.ranges.map((r) => r.path);
  const board = t.leaderboard.map((id, i) => {
    const r = top.get(id)!;
    return [String(i + 1), String(id), String(r.epochs), ...t.values[id].map(show), r.metric === null ? `failed: ${r.error ?? ""}` : r.metric.toFixed(5)];
  });
  const rungs = s.rungs.map((e, k) => {
    const rs = t.results.filter((r) => r.rung === k);
    return `<h3>Rung ${k + 1}: ${rs.length} trials × ${e} epochs</h3>` + tableHtml(["trial", ...fields, t.metric, "status", "seconds"], rs.map((r) => [String(r.trial), ...t.values[r.trial].map(show), r.metric === null ? "" : r.metric.toFixed(5), r.status, r.seconds.toFixed(1)]));
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${esc(`mtl tune: ${t.model}`)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}tr.best{font-weight:bold}</style>
</head><body>
<h1>${esc(t.model)}</h1>
<h2>Tuning</h2>
<p>${esc(`${s.trials} trials, ${s.method}, η = ${s.eta}, rungs ${s.rungs.map((e, k) => `${s.sizes[k]}×${e}`).join(" → ")} epochs, search seed ${s.seed}, ${s.threads} thread${s.threads > 1 ? "s" : ""}, ${t.seconds.toFixed(0)} s. Data ${t.data}. Metric ${t.metric} on the validation rows (${t.higher_is_better ? "higher" : "lower"} is better). Best: trial ${t.best.trial}, ${t.best.metric.toFixed(5)} at ${t.best.epochs} epochs (best.json).`)}</p>
<p>${esc(`Ranges: ${t.ranges.map((r) => `${r.path} ${r.kind} ${JSON.stringify(r.values)}`).join("; ")}.`)}</p>
<h3>Leaderboard (each trial at the highest rung it reached)</h3>
${tableHtml(["#", "trial", "epochs", ...fields, t.metric], board)}
${rungs.join("\n")}
</body></html>
`;
}
