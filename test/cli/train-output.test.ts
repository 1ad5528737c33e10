// What `mtl train` prints, run in-process on a small generated data set: the epoch table (one row per epoch, ≤ 120
// columns, header once, `*` on the rows whose weights became the kept best), no carriage return or escape code when
// the progress stream is not a TTY, progress frames cleared before every row when it is, nothing per epoch under
// --quiet, the early-stopping line, Δm with its sign convention, and a final line naming exactly the files written.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng, WASM_PATH } from "../helpers.ts";
import { main } from "../../src/cli/main.ts";
import type { ProgressStream } from "../../src/cli/progress.ts";

const dir = mkdtempSync(join(tmpdir(), "mtl-out-"));
const compiled = WebAssembly.compile(readFileSync(WASM_PATH));

function makeCsv(path: string, n: number) {
  const rng = new Rng(21);
  const lines = ["x0,x1,x2,bin,reg"];
  for (let i = 0; i < n; i++) {
    const x = [rng.normal(), rng.normal(), rng.normal()];
    const bin = 1.5 * x[0] + 0.8 * rng.normal() > 0 ? "yes" : "no";
    lines.push([x[0].toFixed(4), x[1].toFixed(4), x[2].toFixed(4), bin, (2 * x[1] - x[2] + 0.5 * rng.normal()).toFixed(3)].join(","));
  }
  writeFileSync(path, lines.join("\n") + "\n");
}
makeCsv(join(dir, "d.csv"), 500);
const EPOCHS = 20, PATIENCE = 2;
writeFileSync(
  join(dir, "c.json"),
  JSON.stringify({
    name: "out",
    data: { format: "csv", path: join(dir, "d.csv") },
    inputs: { numeric: ["x0", "x1", "x2"], categorical: [] },
    architecture: { type: "hps", layers: [{ units: 8 }] },
    tasks: [
      { name: "bin", type: "binary", label: "bin", positive: "yes" },
      { name: "reg", type: "regression", label: "reg" },
    ],
    // A large learning rate on a small validation set: the validation AUC stops improving within EPOCHS.
    training: { epochs: EPOCHS, batch_size: 16, seed: 2, optimizer: { type: "adam", lr: 0.05 }, weighting: { type: "dwa" }, early_stopping: { metric: "mean.auc", patience: PATIENCE } },
  }),
);

type Entry = { to: "log" | "error" | "progress"; s: string };

/** Run `mtl ARGV` in-process; every log line, error line and progress write in the order they happened. */
async function run(argv: string[], progress: { isTTY: boolean; columns?: number } | null) {
  const all: Entry[] = [];
  const stream: ProgressStream | null = progress && { ...progress, write: (s: string) => void all.push({ to: "progress", s }) };
  const code = await main(argv, () => compiled, { log: (s) => void all.push({ to: "log", s }), error: (s) => void all.push({ to: "error", s }), progress: stream });
  const text = (to: Entry["to"]) => all.filter((e) => e.to === to).map((e) => e.s);
  return { code, all, out: text("log"), err: text("error").join("\n"), progress: text("progress") };
}

/** Every file under `root`, relative, `/`-separated. */
function walk(root: string, rel = ""): string[] {
  return readdirSync(join(root, rel)).flatMap((n) => {
    const r = rel ? `${rel}/${n}` : n;
    return statSync(join(root, r)).isDirectory() ? walk(root, r) : [r];
  });
}

/** The final line `wrote N files in DIR/: a, b; sub/, sub2/: c, d` as the relative paths it names. */
function listed(line: string, out: string): string[] {
  const head = `in ${out}/: `;
  assert.ok(line.startsWith("wrote ") && line.includes(head), line);
  const n = Number(/^wrote (\d+) files? in /.exec(line)![1]);
  const paths = line.slice(line.indexOf(head) + head.length).split("; ").flatMap((part) => {
    const colon = part.lastIndexOf(": ");
    if (colon < 0) return part.split(", ");
    const dirs = part.slice(0, colon).split(", ").map((d) => (d === "./" ? "" : d));
    return dirs.flatMap((d) => part.slice(colon + 2).split(", ").map((f) => d + f));
  });
  assert.is(paths.length, n, `the count in: ${line}`);
  return paths.sort();
}

const rowsOf = (out: string[]) => out.filter((l) => /^epoch \d+\/\d+ /.test(l));

test("not a TTY: a header once, one row per epoch within 120 columns, no \\r or escape code; early stopping says why", async () => {
  const out = join(dir, "plain");
  const r = await run(["train", join(dir, "c.json"), "--out", out, "--threads", "1"], { isTTY: false, columns: 80 });
  assert.is(r.code, 0, r.err);
  const m = JSON.parse(readFileSync(join(out, "metrics.json"), "utf8"));
  const rows = rowsOf(r.out);
  assert.is(rows.length, m.epochs_run, r.out.join("\n"));
  assert.equal(rows.map((l) => Number(/^epoch (\d+)\//.exec(l)![1])), m.history.map((h: { epoch: number }) => h.epoch));
  // The three header lines come once, right before the first row.
  const first = r.out.indexOf(rows[0]);
  for (const l of [...r.out.slice(first - 3, first), ...rows]) assert.ok(l.length <= 120, `${l.length} columns: ${l}`);
  assert.match(r.out[first - 1], /\bloss\b.*\bauc\b.*\bloss\b.*\brmse\b/);
  assert.is(r.out.filter((l) => l === r.out[first - 1]).length, 1);
  for (const l of r.out) assert.not.match(l, /[\r\x1b]/, `a control character in: ${JSON.stringify(l)}`);
  assert.equal(r.progress, []);
  // `*` marks exactly the epochs whose validation mean.auc beat every earlier one (higher is better).
  let best = -Infinity;
  m.history.forEach((h: { monitor: number }, i: number) => {
    const improved = h.monitor > best;
    if (improved) best = h.monitor;
    assert.is(/ \* /.test(rows[i]), improved, `epoch ${i + 1} (mean.auc ${h.monitor}): ${rows[i]}`);
  });
  // This config stops early; the line says when, on which metric, with which patience, and what is kept.
  assert.ok(m.early_stopping.stopped && m.epochs_run < EPOCHS, `did not stop early: ${JSON.stringify(m.early_stopping)}`);
  const stop = r.out.filter((l) => l.startsWith("early stopping: "));
  assert.is(stop.length, 1);
  assert.match(stop[0], `stopped after epoch ${m.epochs_run} of ${EPOCHS}: validation mean.auc did not improve for ${PATIENCE} epochs (patience ${PATIENCE}, higher is better)`);
  assert.match(stop[0], `kept epoch ${m.best_epoch} (mean.auc ${m.early_stopping.best.toPrecision(4)})`);
  const monitors = m.history.map((h: { monitor: number }) => h.monitor);
  assert.is(m.best_epoch, monitors.indexOf(Math.max(...monitors)) + 1);
  // The last line: exactly the files in the (fresh) directory.
  assert.equal(listed(r.out[r.out.length - 1], out), walk(out).sort());
  // metrics.json keeps the full numbers of every epoch.
  assert.ok(m.history.every((h: { trainLoss: Record<string, number> }) => typeof h.trainLoss.bin === "number" && String(h.trainLoss.bin).length > 8));
});

test("a TTY: progress frames within the width, cleared before each row; the rows stay plain", async () => {
  const out = join(dir, "tty");
  const r = await run(["train", join(dir, "c.json"), "--out", out, "--threads", "1", "--epochs", "3"], { isTTY: true, columns: 70 });
  assert.is(r.code, 0, r.err);
  const frames = r.progress.filter((s) => s !== "\r\x1b[K");
  assert.ok(frames.length >= 3, `${frames.length} frames`);
  for (const f of frames) {
    assert.ok(f.startsWith("\r") && f.endsWith("\x1b[K"), JSON.stringify(f));
    assert.ok(f.length - 4 <= 69, `frame of ${f.length - 4} characters: ${f}`);
  }
  assert.match(frames[0], /^\repoch 1\/3 /);
  // The step counter runs to the epoch's step count: ⌈training rows / batch 16⌉, and each epoch starts at step 1.
  const steps = Math.ceil(JSON.parse(readFileSync(join(out, "metrics.json"), "utf8")).rows.train / 16);
  const counts = frames.map((f) => /(\d+)\/(\d+)  /.exec(f)!.slice(1).map(Number));
  for (const [i, n] of counts) assert.ok(n === steps && i >= 1 && i <= steps, `step ${i}/${n}, expected …/${steps}`);
  assert.equal(frames.filter((f) => / 1\/\d+  /.test(f)).length, 3, "one first-step frame per epoch");
  // Between a frame and any printed line there is a clear.
  let drawn = false;
  for (const e of r.all) {
    if (e.to === "progress") drawn = e.s !== "\r\x1b[K";
    else assert.not.ok(drawn, `printed over a progress frame: ${e.s}`);
  }
  assert.is(rowsOf(r.out).length, 3);
  for (const l of r.out) assert.not.match(l, /[\r\x1b]/);
});

test("--quiet: no table, no progress (even on a TTY), no early-stopping line; the file list still", async () => {
  const out = join(dir, "quiet");
  const r = await run(["train", join(dir, "c.json"), "--out", out, "--threads", "1", "--epochs", "3", "--quiet"], { isTTY: true, columns: 100 });
  assert.is(r.code, 0, r.err);
  assert.equal(r.progress, []);
  assert.equal(rowsOf(r.out), []);
  assert.ok(!r.out.some((l) => /^per task|^early stopping|\bloss\b.*\bauc\b/.test(l)), r.out.join("\n"));
  assert.is(r.out.length, 1, r.out.join("\n"));
  assert.equal(listed(r.out[0], out), walk(out).sort());
  // Again into the same directory: every file is replaced (a new file under the same name), so every one is listed.
  const again = await run(["train", join(dir, "c.json"), "--out", out, "--threads", "1", "--epochs", "3", "--quiet"], null);
  assert.is(again.code, 0, again.err);
  assert.equal(listed(again.out[0], out), walk(out).sort());
});

test("--single-task: Δm says which sign is better; the file list has the single-task runs but not older files", async () => {
  const out = join(dir, "single");
  // Files from before the run are not part of what it wrote.
  mkdirSync(join(out, "single", "old"), { recursive: true });
  writeFileSync(join(out, "notes.txt"), "mine\n");
  writeFileSync(join(out, "single", "old", "x.csv"), "1\n");
  const r = await run(["train", join(dir, "c.json"), "--out", out, "--threads", "1", "--epochs", "2", "--single-task"], null);
  assert.is(r.code, 0, r.err);
  const m = JSON.parse(readFileSync(join(out, "metrics.json"), "utf8"));
  const dm = r.out.filter((l) => l.startsWith("Δm"));
  assert.is(dm.length, 1);
  const sign = m.delta_m >= 0 ? "+" : "";
  const verdict = m.delta_m > 0 ? "the multi-task model beats the single-task ones" : "the single-task models beat the multi-task one";
  assert.match(dm[0], `Δm vs single-task models: ${sign}${m.delta_m.toFixed(3)} % (higher is better: ${verdict} on average)`);
  // One table per model (the multi-task one, then one per task), each with its own header.
  assert.is(rowsOf(r.out).length, 2 * 3);
  const files = listed(r.out[r.out.length - 1], out);
  assert.equal(files, walk(out).filter((f) => f !== "notes.txt" && f !== "single/old/x.csv").sort());
  for (const t of ["bin", "reg"]) for (const f of ["model.json", "weights.safetensors", "model.onnx"]) assert.ok(files.includes(`single/${t}/${f}`), `single/${t}/${f} not listed`);
});

test.run();
