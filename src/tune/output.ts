// What `mtl tune` writes and prints: tune.csv (one row per trial and rung), the leaderboard text. Portable (no node:*).
import type { Range } from "./space.ts";
import type { RungResult } from "./halving.ts";

const cell = (v: unknown): string => {
  const s = typeof v === "string" ? v : typeof v === "number" ? String(v) : JSON.stringify(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/**
 * tune.csv: header `trial,rung,epochs,<one column per range path>,metric,status,seconds`, then one row per result in
 * `results`' order; sampled values as numbers (choices of objects as JSON), metric empty when the trial failed.
 */
export function tuneCsv(ranges: readonly Range[], values: readonly unknown[][], results: readonly RungResult[]): string {
  const lines = [["trial", "rung", "epochs", ...ranges.map((r) => r.path), "metric", "status", "seconds"].map(cell).join(",")];
  for (const r of results) lines.push([r.trial, r.rung, r.epochs, ...values[r.trial].map(cell), Number.isNaN(r.metric) ? "" : r.metric, r.status, r.seconds.toFixed(2)].map(cell).join(","));
  return lines.join("\n") + "\n";
}

/** A sampled value for a table: numbers to 4 significant digits, others as JSON. */
export const showValue = (v: unknown): string => (typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : JSON.stringify(v));

/** The top `n` rows of the leaderboard as an aligned text table. */
export function leaderboardText(ranges: readonly Range[], values: readonly unknown[][], board: readonly RungResult[], metric: string, n = 5): string {
  const head = ["#", "trial", "epochs", ...ranges.map((r) => r.path), metric];
  const rows = board.slice(0, n).map((r, i) => [String(i + 1), String(r.trial), String(r.epochs), ...values[r.trial].map(showValue), Number.isNaN(r.metric) ? `failed` : r.metric.toFixed(5)]);
  const w = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  return [head, ...rows].map((r) => r.map((s, c) => s.padStart(w[c])).join("  ")).join("\n");
}
