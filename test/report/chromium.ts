// Render a report.html in headless Chromium (playwright-core, /usr/bin/chromium with the flags of
// shared/docs/runtimes.md §5), from file://, and collect what the page registered about its charts
// (src/report/page.ts: each chart's data series lengths and coloured pixels), console errors, page errors and every
// request other than the page itself. Saves a full-page screenshot and one per section.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { BrowserContext } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"];

export interface ChartRecord {
  id: string;
  section: string;
  title: string;
  kind: string;
  series: { label: string; points: number }[];
  ink: number;
}

export interface Rendered {
  charts: ChartRecord[];
  /** console.error / console.warning lines and uncaught page errors. */
  errors: string[];
  /** URLs the page requested besides its own file. */
  requests: string[];
  pageError: string | null;
  shots: string[];
}

/** The least number of coloured pixels a chart with data draws (a line across a 330 × 220 plot has hundreds). */
export const MIN_INK = 30;

/** What is wrong with the rendered charts: an empty series, a chart without coloured pixels, too few charts. */
export function chartProblems(r: Pick<Rendered, "charts" | "errors" | "requests" | "pageError">, expectCharts = 1): string[] {
  const p: string[] = [];
  if (r.pageError) p.push(`page error: ${r.pageError}`);
  if (r.charts.length < expectCharts) p.push(`${r.charts.length} charts drawn, expected ${expectCharts}`);
  for (const c of r.charts) {
    if (!c.series.length) p.push(`chart "${c.title}": no data series`);
    for (const s of c.series) if (!(s.points > 0)) p.push(`chart "${c.title}": series "${s.label}" has no finite points`);
    if (!(c.ink >= MIN_INK)) p.push(`chart "${c.title}": ${c.ink} coloured pixels on its canvas (an empty panel?)`);
  }
  for (const e of r.errors) p.push(`console: ${e}`);
  for (const u of r.requests) p.push(`network request: ${u}`);
  return p;
}

/** One headless Chromium for several renders. */
export async function openChromium(): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  const { chromium } = await import("playwright-core");
  const profile = mkdtempSync(join(tmpdir(), "mtl-report-chromium-"));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1400, height: 900 } });
  return {
    context,
    close: async () => {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Load `html` from file:// in a new page, wait for the report to be drawn, and (with `shotPrefix`) save screenshots. */
export async function renderReport(context: BrowserContext, html: string, shotPrefix?: string): Promise<Rendered> {
  const errors: string[] = [], requests: string[] = [];
  const url = pathToFileURL(resolve(html)).href;
  const page = await context.newPage();
  try {
    page.on("console", (m) => (m.type() === "error" || m.type() === "warning") && errors.push(`[console.${m.type()}] ${m.text()}`));
    page.on("pageerror", (e) => errors.push(`[pageerror] ${e.message}`));
    page.on("request", (q) => q.url() !== url && requests.push(q.url()));
    await page.goto(url);
    type R = { __report?: { ready: boolean; error: string | null; charts: ChartRecord[] } };
    await page.waitForFunction(() => (globalThis as R).__report?.ready === true || !!(globalThis as R).__report?.error, null, { timeout: 30_000 });
    const state = await page.evaluate(() => (globalThis as R).__report!);
    const shots: string[] = [];
    if (shotPrefix) {
      mkdirSync(dirname(shotPrefix), { recursive: true });
      const full = `${shotPrefix}-full.png`;
      await page.screenshot({ path: full, fullPage: true });
      shots.push(full);
      // One screenshot per h2 section (easier to look at than one long page).
      const sections = await page.locator("h2").count();
      for (let i = 0; i < sections; i++) {
        const box = await page.evaluate((k) => {
          const hs = [...document.querySelectorAll("h2")];
          const top = hs[k].getBoundingClientRect().top + scrollY;
          const bottom = k + 1 < hs.length ? hs[k + 1].getBoundingClientRect().top + scrollY : document.documentElement.scrollHeight;
          return { top, height: bottom - top, name: hs[k].textContent ?? "" };
        }, i);
        const name = box.name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 30).replace(/-$/, "");
        const path = `${shotPrefix}-${i + 1}-${name}.png`;
        await page.screenshot({ path, fullPage: true, clip: { x: 0, y: box.top, width: 1400, height: Math.min(box.height, 4000) } });
        shots.push(path);
      }
    }
    return { charts: state.charts, errors, requests, pageError: state.error, shots };
  } finally {
    await page.close().catch(() => {});
  }
}

export const haveChromium = () => existsSync(CHROMIUM);
