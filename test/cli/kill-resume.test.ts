// Kill -9 at a random moment, then --resume: the result is bit-identical to an uninterrupted run.
//
// Each run spawns the real command (`node bin/mtl.mjs train`, i.e. dist/cli.mjs: run `npm run build` after editing
// src/, as `npm test` does) on a tiny config and SIGKILLs it at a seeded random moment, drawn so that most kills
// land while it writes: 60% right after the N-th file-system event in its output directory (N uniform over the
// events of an uninterrupted run: every temporary created, written, renamed, deleted), 20% a few milliseconds after
// it prints an epoch line (when it writes that epoch's checkpoint) or the final "validation" line (the final files),
// 20% anywhere in the run, from process start to the ONNX check at the end. Then
// `train --resume` runs to completion (a kill before the first checkpoint leaves nothing to resume: --resume says
// so, exit 2, and the run starts afresh) and the final weights.safetensors and state.safetensors must equal the
// uninterrupted run's, with no temporaries left anywhere in the directory. After each kill, the directory as the
// other commands read it (readTrainedDir) must be a model.json and weights.safetensors that belong together.
// Runs go on until 100 were killed (MTL_KILL_RUNS), 4 at a time (MTL_KILL_PARALLEL; much of a run is spent in
// fsync); about 175 s of CPU in all (~90 s wall on an idle 2-core machine). With the old layout (model.json,
// weights.safetensors and state.safetensors replaced one by one, --resume reading them unchecked) 13 of 101 kills
// resumed to other weights.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, watch, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Rng } from "../helpers.ts";
import { isTempName } from "../../src/io/atomic.ts";
import { checkpointEpochs, readTrainedDir, sha256 } from "../../src/io/checkpoint-files.ts";

const BIN = fileURLToPath(new URL("../../bin/mtl.mjs", import.meta.url));
const CLI = fileURLToPath(new URL("../../dist/cli.mjs", import.meta.url));
/** Runs go on until this many were killed (a kill drawn past the end of a run finds it finished), at most KILLS · 1.3. */
const KILLS = Number(process.env.MTL_KILL_RUNS ?? 100);
const PARALLEL = Number(process.env.MTL_KILL_PARALLEL ?? 4);
const EPOCHS = 6;
/** Kill delay after an epoch line, ms: here an epoch takes ~20 ms, most of it writing the checkpoint (fsync). */
const WINDOW_MS = 25;

const dir = mkdtempSync(join(tmpdir(), "mtl-kill-"));

function makeCsv(path: string, n: number) {
  const rng = new Rng(11);
  const lines = ["x0,x1,x2,c,bin,reg"];
  for (let i = 0; i < n; i++) {
    const x = [rng.normal(), rng.normal(), rng.normal()];
    const c = rng.int(3);
    const bin = rng.next() < 0.1 ? "" : 2 * x[0] + c - 1 + 0.3 * rng.normal() > 0 ? "yes" : "no";
    lines.push([x[0].toFixed(4), x[1].toFixed(4), x[2].toFixed(4), ["red", "green", "blue"][c], bin, (3 * x[1] - x[2] + 0.2 * rng.normal()).toFixed(3)].join(","));
  }
  writeFileSync(path, lines.join("\n") + "\n");
}
makeCsv(join(dir, "small.csv"), 400);
const CONFIG = join(dir, "small.json");
writeFileSync(
  CONFIG,
  JSON.stringify({
    name: "small",
    data: { format: "csv", path: join(dir, "small.csv") },
    inputs: { numeric: ["x0", "x1", "x2"], categorical: [{ column: "c", dim: 2 }] },
    architecture: { type: "mmoe", experts: 2, layers: [{ units: 8, dropout: 0.1 }] },
    tasks: [
      { name: "bin", type: "binary", label: "bin", positive: "yes", tower: [4] },
      { name: "reg", type: "regression", label: "reg" },
    ],
    // DWA (state carried across epochs), dropout (RNG position) and early stopping (best weights) all have to resume.
    training: { epochs: EPOCHS, batch_size: 16, seed: 5, optimizer: { type: "adam", lr: 0.01 }, weighting: { type: "dwa" }, early_stopping: { metric: "mean.auc", patience: 10 } },
  }),
);

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
  ms: number;
}

interface Kill {
  /** Arm the kill when stdout shows this text, … */
  afterLine?: string;
  /** … or on the N-th file-system event under `watch` (else at spawn), … */
  afterEvents?: number;
  /** … and kill this long after. */
  delayMs: number;
}

/**
 * Run `mtl ARGS`; with `kill`, SIGKILL it at the moment `kill` picks. With `watch` (a directory), count the
 * file-system events under it (`events` in the result).
 */
function mtl(args: string[], kill?: Kill, watchDir?: string): Promise<Exit & { events: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let events = 0;
    if (watchDir) mkdirSync(watchDir, { recursive: true });
    const watcher = watchDir
      ? watch(watchDir, { recursive: true }, () => {
          events++;
          if (kill && !armed && kill.afterEvents !== undefined && events >= kill.afterEvents) arm();
        })
      : null;
    watcher?.on("error", () => {}); // a watched temporary directory vanished (renamed or deleted): expected
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "", armed = false;
    function arm() {
      armed = true;
      setTimeout(() => child.kill("SIGKILL"), kill!.delayMs);
    }
    if (kill && kill.afterLine === undefined && kill.afterEvents === undefined) arm();
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      if (kill && !armed && kill.afterLine && out.includes(kill.afterLine)) arm();
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      watcher?.close();
      resolve({ code, signal, out, err, ms: performance.now() - t0, events });
    });
  });
}

/** Every path under `root` (relative) whose name is one of our temporaries. */
function temps(root: string, rel = ""): string[] {
  const found: string[] = [];
  let names: string[];
  try {
    names = readdirSync(join(root, rel));
  } catch {
    return found;
  }
  for (const n of names) {
    const p = join(rel, n);
    if (isTempName(n)) found.push(p);
    else if (statSync(join(root, p)).isDirectory()) found.push(...temps(root, p));
  }
  return found;
}

const read = (d: string, f: string) => readFileSync(join(d, f));

test(`SIGKILL at ${KILLS} random moments, then --resume: bit-identical to an uninterrupted run, no temporaries left`, async () => {
  const stale = readdirSync(fileURLToPath(new URL("../../src/io", import.meta.url))).some((f) => statSync(fileURLToPath(new URL(`../../src/io/${f}`, import.meta.url))).mtimeMs > statSync(CLI).mtimeMs);
  if (stale) process.stdout.write(`\nnote: dist/cli.mjs is older than src/io/: the child processes run the old bundle (npm run build)\n`);
  const t0 = performance.now();
  const ref = join(dir, "ref");
  const full = await mtl(["train", CONFIG, "--out", ref, "--quiet"], undefined, ref);
  assert.is(full.code, 0, full.err);
  const want = { w: read(ref, "weights.safetensors"), s: read(ref, "state.safetensors") };

  const MAX_RUNS = Math.ceil(KILLS * 1.3);
  /** Run i's kill moment: its own seeded draw, whatever order the runs finish in. */
  const plan = (i: number): Kill => {
    const rng = new Rng(2024 + i);
    const r = rng.next();
    // 60%: just after the N-th file-system event of the run (0–2 ms later); the last few are missed under load.
    if (r < 0.6) return { afterEvents: 1 + rng.int(Math.floor(full.events * 0.95)), delayMs: rng.next() * 2 };
    // 20%: a few ms after epoch k's line (k = EPOCHS + 1: after the final validation line, during the final writes).
    if (r < 0.8) {
      const k = 1 + rng.int(EPOCHS + 1);
      return { afterLine: k <= EPOCHS ? `epoch ${k}/${EPOCHS}` : "validation (epoch", delayMs: rng.next() * WINDOW_MS };
    }
    return { delayMs: rng.next() * full.ms * 0.95 };
  };

  const stats = { differ: 0, killed: 0, finishedFirst: 0, withTemps: 0, topLevelSplit: 0, nothingToResume: 0, fallbacks: 0 };
  const failures: string[] = [];
  let next = 0, runs = 0;
  async function worker() {
    for (let i = next++; i < MAX_RUNS && stats.killed < KILLS; i = next++) {
      runs++;
      const d = join(dir, `run${i}`);
      const p = plan(i);
      const at = p.afterEvents !== undefined ? `file-system event ${p.afterEvents} of ${full.events} + ` : p.afterLine ? `${JSON.stringify(p.afterLine)} + ` : "";
      const what = `run ${i} (${at}${p.delayMs.toFixed(1)} ms)`;
      const k = await mtl(["train", CONFIG, "--out", d], p, d);
      if (k.signal === "SIGKILL") stats.killed++;
      else if (k.code === 0) stats.finishedFirst++;
      else {
        failures.push(`${what}: the interrupted run failed by itself (${k.code}): ${k.err}`);
        continue;
      }
      if (temps(d).length) stats.withTemps++;
      // What evaluate/predict/export/summary read now: a model.json and weights.safetensors that belong together.
      if (checkpointEpochs(d).length) {
        const notes: string[] = [];
        const t = readTrainedDir(d, (s) => notes.push(s));
        if (notes.length) stats.topLevelSplit++;
        if (t.json.weights_sha256 !== sha256(t.weights)) failures.push(`${what}: readTrainedDir gave a model.json and weights.safetensors from different writes`);
      }
      let r = await mtl(["train", CONFIG, "--out", d, "--resume", "--quiet"]);
      if (/is incomplete/.test(r.err)) stats.fallbacks++;
      if (r.code === 2 && /nothing to resume/.test(r.err)) {
        stats.nothingToResume++;
        if (checkpointEpochs(d).length) failures.push(`${what}: --resume said nothing to resume, but there are checkpoints`);
        r = await mtl(["train", CONFIG, "--out", d, "--quiet"]);
      }
      if (r.code !== 0) {
        failures.push(`${what}: the resumed run failed (${r.code}): ${r.err}`);
        continue;
      }
      const diff = [["weights.safetensors", want.w], ["state.safetensors", want.s]].filter(([f, b]) => !read(d, f as string).equals(b as Buffer)).map(([f]) => f);
      if (diff.length) stats.differ++;
      if (diff.length) failures.push(`${what}: ${diff.join(" and ")} differ${diff.length === 1 ? "s" : ""} from the uninterrupted run's`);
      const left = temps(d);
      if (left.length) failures.push(`${what}: temporaries left after the resumed run: ${left.join(", ")}`);
      const kept = checkpointEpochs(d);
      if (kept.join() !== `${EPOCHS},${EPOCHS - 1}`) failures.push(`${what}: checkpoints ${kept.join(", ")} kept, expected ${EPOCHS}, ${EPOCHS - 1}`);
      rmSync(d, { recursive: true, force: true });
    }
  }
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(
    `\nkill-resume: ${runs} runs in ${seconds.toFixed(0)} s: ${stats.killed} killed (${stats.withTemps} left temporaries: killed during a write; ${stats.topLevelSplit} left top-level files missing or from different epochs; ` +
      `${stats.nothingToResume} before the first checkpoint), ${stats.finishedFirst} finished before the kill, ${stats.fallbacks} resumes fell back past an incomplete checkpoint; ${stats.differ} resumed runs differ from the uninterrupted one; ${failures.length} failed\n`,
  );
  assert.ok(failures.length === 0, `${failures.length} of ${runs} runs failed:\n${failures.join("\n")}`);
  // The plan has to exercise what it is for.
  assert.ok(stats.killed >= KILLS, `only ${stats.killed} of ${runs} runs were killed`);
  assert.ok(stats.withTemps >= KILLS / 10, `only ${stats.withTemps} kills landed during a write`);
  assert.ok(stats.nothingToResume >= 1, "no kill landed before the first checkpoint");
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
