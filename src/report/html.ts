// The report as one self-contained HTML file: the data as inline JSON, the page script (dist/report.js: uPlot and
// src/report/page.ts, with uPlot's stylesheet inside) inline. No URL is loaded: no network, no other file.
// Portable: no node:* imports.
import type { ReportData } from "./data.ts";

/** JSON safe inside <script>: no "</script", no "<!--", no U+2028/9 surprises. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

const escapeHtml = (s: string) => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);

export function renderHtml(data: ReportData, script: string): string {
  // A literal "</script" inside the bundle would end the element early.
  const safe = script.replace(/<\/(script)/gi, "<\\/$1");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(`mtl report: ${data.model}`)}</title>
</head>
<body>
<div id="report"></div>
<script type="application/json" id="report-data">${scriptJson(data)}</script>
<script>${safe}</script>
</body>
</html>
`;
}
