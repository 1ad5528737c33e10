// `mtl train --report` and `mtl report` end to end on a small 3-task run (binary, multiclass, regression; GradNorm
// so the task weights move; training.affinity on), then the report rendered in headless Chromium from file://:
// every chart has finite data in each series and coloured pixels on its canvas, no console error, no request.
// Screenshots: out/report/report-*.png (git-ignored). Planted faults must be caught by the same check: an empty
// series, a console error, a network request.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng, WASM_PATH } from "../helpers.ts";
import { skipOrFail } from "../skip.ts";
import { main } from "../../src/cli/main.ts";
import { chartProblems, haveChromium, openChromium, renderReport, type Rendered } from "./chromium.ts";

const dir = mkdtempSync(join(tmpdir(), "mtl-report-"));
const compiled = WebAssembly.compile(readFileSync(WASM_PATH));
const SHOTS = "out/report";

const rng = new Rng(7);
const lines = ["x0,x1,x2,c,bin,cls,reg"];
for (let i = 0; i < 600; i++) {
  const x0 = rng.normal(), x1 = rng.normal(), x2 = rng.normal(), c = "abc"[rng.int(3)];
  const bin = x0 + 0.5 * x1 + 0.7 * rng.normal() > 0 ? "yes" : "no";
  const z = x1 - x2 + 0.5 * rng.normal();
  const cls = z < -0.7 ? "low" : z < 0.7 ? "mid" : "high";
  const reg = 3 + 2 * x0 - x2 + (c === "a" ? 1 : 0) + 0.3 * rng.normal();
  lines.push([x0.toFixed(4), x1.toFixed(4), x2.toFixed(4), c, bin, cls, reg.toFixed(4)].join(","));
}
writeFileSync(join(dir, "data.csv"), lines.join("\n") + "\n");
writeFileSync(
  join(dir, "spec.json"),
  JSON.stringify({
    name: "three-tasks",
    data: { format: "csv", path: join(dir, "data.csv") },
    inputs: { numeric: ["x0", "x1", "x2"], categorical: [{ column: "c", dim: 2 }] },
    architecture: { type: "hps", layers: [16] },
    tasks: [
      { name: "click", type: "binary", label: "bin", positive: "yes", tower: [8] },
      { name: "level", type: "multiclass", label: "cls", tower: [8] },
      { name: "value", type: "regression", label: "reg" },
    ],
    training: { epochs: 8, batch_size: 32, seed: 3, optimizer: { type: "adam", lr: 0.01 }, weighting: { type: "gradnorm" }, early_stopping: { metric: "click.auc", patience: 10 }, affinity: { every: 2 } },
  }),
);

async function run(argv: string[]) {
  const out: string[] = [], err: string[] = [];
  const code = await main(argv, () => compiled, { log: (s) => out.push(s), error: (s) => err.push(s) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

const model = join(dir, "m");
const reportData = (html: string) => JSON.parse(/<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(html)![1]);

test("mtl train --report writes DIR/report.html: one file, data and script inline, nothing to load", async () => {
  const r = await run(["train", join(dir, "spec.json"), "--out", model, "--single-task", "--report", "--quiet"]);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, `wrote ${join(model, "report.html")}`);
  const html = readFileSync(join(model, "report.html"), "utf8");
  assert.not.match(html, /<script[^>]+src=|<link[^>]+href=|@import|https?:\/\/(?!github\.com\/leeoniya)/, "a URL to load");
  assert.match(html, "default-src 'none'");
  const d = reportData(html);
  assert.equal(d.tasks.map((t: { name: string; type: string }) => `${t.name}:${t.type}`), ["click:binary", "level:multiclass", "value:regression"]);
  assert.is(d.tasks[0].epochs.length, 8);
  assert.ok(d.tasks[0].binary[0].roc.fpr.length > 10);
  assert.is(d.tasks[1].multiclass.matrix.flat().reduce((a: number, b: number) => a + b, 0), d.rows.validation);
  assert.is(d.tasks[2].regression[0].actual.length, d.rows.validation);
  assert.is(d.affinity.epochs.length, 8);
  // GradNorm moved the weights off 1.
  assert.ok(Object.values(d.steps.weight as Record<string, number[]>).some((w) => w.some((v) => Math.abs(v - 1) > 0.05)));
  // The kept epoch is metrics.json's best epoch; the environment records the run.
  const m = JSON.parse(readFileSync(join(model, "metrics.json"), "utf8"));
  assert.is(d.keptEpoch, m.best_epoch);
  assert.is(d.environment.threads, "auto"); // the default: --threads auto
  // --single-task: the Δm table, one row per metric, and metrics.json's Δm.
  assert.is(d.deltaM.value, m.delta_m);
  assert.is(d.deltaM.rows.length, 3 + 2 + 4);
  assert.match(String(d.environment.runtime), /^node v\d+/);
});

test("mtl report DIR gives the same bytes as --report (reproducible), and --out / errors", async () => {
  const out = join(dir, "again.html");
  const r = await run(["report", model, "--out", out]);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, `wrote ${out}`);
  assert.ok(readFileSync(out).equals(readFileSync(join(model, "report.html"))), "the report of the same directory differs");
  const bad = await run(["report", join(dir, "nothing")]);
  assert.is(bad.code, 2);
  assert.match(bad.err, /no metrics\.json/);
  assert.is((await run(["report"])).code, 2);
});

let rendered: Rendered | null = null;

test("Chromium: every chart has data and ink, no console error, no network request; screenshots", async () => {
  if (!haveChromium()) return skipOrFail("report render in Chromium", "/usr/bin/chromium not installed");
  const chrome = await openChromium();
  try {
    mkdirSync(SHOTS, { recursive: true });
    rendered = await renderReport(chrome.context, join(model, "report.html"), join(SHOTS, "report"));
    const r = rendered;
    // 3 + 1 (loss) + 2 + 1 + 4 + 1 training charts, weights and losses per step, cosine and TAG, ROC + PR + calibration, confusion, 2 scatters.
    const expected = 4 + 3 + 5 + 2 + 2 + 3 + 1 + 2;
    assert.equal(chartProblems(r, expected), []);
    assert.is(r.charts.length, expected);
    const kinds = (section: string) => r.charts.filter((c) => c.section === section).map((c) => c.title);
    assert.equal(kinds("predictions").length, 6, String(kinds("predictions")));
    assert.ok(r.charts.some((c) => c.title.includes("confusion") && c.series[0].points === 9));
    assert.ok(r.charts.some((c) => c.title.includes("TAG") && c.series[0].points === 8 * 6));
    assert.ok(r.shots.some((s) => s.includes("-m-against-single-task")), String(r.shots));
    console.log(`\nreport: ${r.charts.length} charts; screenshots ${r.shots.join(", ")}`);

    // Planted faults, each caught by the same check.
    const html = readFileSync(join(model, "report.html"), "utf8");
    const plant = async (name: string, edit: (h: string) => string, expect: RegExp) => {
      const path = join(dir, `planted-${name}.html`);
      writeFileSync(path, edit(html));
      const p = chartProblems(await renderReport(chrome.context, path), expected);
      assert.ok(p.some((x) => expect.test(x)), `planted ${name} not caught: ${JSON.stringify(p)}`);
    };
    const withData = (f: (d: Record<string, any>) => void) => (h: string) => {
      const d = reportData(h);
      f(d);
      return h.replace(/(<script type="application\/json" id="report-data">)(.*?)(<\/script>)/s, (_m, a, _b, c) => a + JSON.stringify(d).replace(/</g, "\\u003c") + c);
    };
    await plant("empty-roc", withData((d) => (d.tasks[0].binary[0].roc = { ...d.tasks[0].binary[0].roc, fpr: [], tpr: [] })), /ROC.*series "ROC" has no finite points/);
    await plant("null-loss", withData((d) => (d.tasks[2].trainLoss = d.tasks[2].trainLoss.map(() => null))), /value: loss.*series "training" has no finite points/);
    await plant("console-error", (h) => h.replace("</body>", "<script>console.error('planted')</script></body>"), /console: .*planted/);
    await plant("request", (h) => h.replace("</body>", `<img src="http://127.0.0.1:9/planted.png"></body>`), /planted\.png/);
  } finally {
    await chrome.close();
  }
});

test.run();
