// The synthetic suite: Ma et al. 2018's two regression tasks with correlation ρ (src/data/synthetic.ts), test MSE per
// task for every balancing method on a shared-bottom (HPS) and an MMoE model.
//
// Setup (the paper's §4 as far as it could be recalled offline — not re-checked): d = 100 inputs, c = 1, m = 10 sine
// terms, noise σ = 0.1; shared bottom of 113 ReLU units vs 8 experts of 16 ReLU units with a softmax gate per task;
// towers of 8 ReLU units; Adam. The paper reports *training* loss curves averaged over 200 repeats; here each seed
// draws new data (train and test from the same generator) and a new initialization, and the table gives *test* MSE.
import type { Kernels } from "../../src/runtime/load.ts";
import type { Encoded, Preprocessing } from "../../src/data/preprocess.ts";
import { mmoeSynthetic } from "../../src/data/synthetic.ts";
import { fmt, log, meanStd, specFor, statusCell, trainAndPredict, type MethodRow, type RunResult } from "./common.ts";

export const RHOS = [1, 0.9, 0.5, 0];
export const ARCHS = {
  hps: { type: "hps", layers: [113] },
  mmoe: { type: "mmoe", experts: 8, layers: [16] },
} as const;

export interface SyntheticOptions {
  seeds: number;
  methods: MethodRow[];
  epochs: number;
  /** Training rows per data set (test rows: a fifth of that, at least 1,000). */
  rows: number;
  batch: number;
  lr: number;
}

export interface SyntheticRun {
  arch: keyof typeof ARCHS;
  rho: number;
  seed: number;
  method: string;
  status: RunResult["status"];
  message?: string;
  seconds: number;
  /** Test MSE of y1 and y2 (raw label units). */
  mse: [number, number] | null;
}

function rawSpec(arch: keyof typeof ARCHS, o: SyntheticOptions, seed: number) {
  return {
    name: `synthetic-${arch}`,
    inputs: { tensor: 100 },
    architecture: ARCHS[arch],
    tasks: [
      { name: "y1", type: "regression", label: "y1", tower: [8], loss: "mse", metrics: ["rmse"] },
      { name: "y2", type: "regression", label: "y2", tower: [8], loss: "mse", metrics: ["rmse"] },
    ],
    training: { epochs: o.epochs, batch_size: o.batch, seed, optimizer: { type: "adam", lr: o.lr } },
  };
}

/** Rows [from, to) of the MMoE synthetic data as an Encoded (tensor [N, 100], both targets labelled). */
export function encoded(x: Float32Array, y1: Float32Array, y2: Float32Array, from: number, to: number): Encoded {
  const n = to - from, ones = new Float32Array(n).fill(1), none = new Int32Array(0);
  return {
    rows: n,
    numeric: new Float32Array(0),
    categorical: [],
    tensor: x.slice(from * 100, to * 100),
    tasks: [
      { labels: y1.slice(from, to), mask: ones, group: none },
      { labels: y2.slice(from, to), mask: ones, group: none },
    ],
  };
}

/** Mean squared error of predictions p against targets y. */
export const mse = (p: Float32Array, y: Float32Array) => {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += (p[i] - y[i]) ** 2;
  return s / y.length;
};

export async function runSynthetic(k: Kernels, o: SyntheticOptions): Promise<SyntheticRun[]> {
  const testRows = Math.max(1000, Math.round(o.rows / 5));
  // No preprocessing: the tensor input is N(0, I) already; targets stay in their units (MSE as the paper plots it).
  const pre: Preprocessing = { numeric: [], categorical: [], tasks: ["y1", "y2"].map((name) => ({ name, classes: null, groups: null, target: null })) };
  const runs: SyntheticRun[] = [];
  for (const rho of RHOS) {
    for (let s = 1; s <= o.seeds; s++) {
      // Data seed per (ρ, seed); every method and both architectures see the same rows.
      const d = mmoeSynthetic({ rows: o.rows + testRows, correlation: rho, seed: 1000 * s + Math.round(rho * 100) });
      const train = encoded(d.x, d.y1, d.y2, 0, o.rows), test = encoded(d.x, d.y1, d.y2, o.rows, o.rows + testRows);
      for (const arch of Object.keys(ARCHS) as (keyof typeof ARCHS)[]) {
        for (const m of o.methods) {
          const spec = specFor(rawSpec(arch, o, s), m);
          const r = await trainAndPredict(k, spec, pre, train, null, test);
          const run: SyntheticRun = { arch, rho, seed: s, method: m.key, status: r.status, seconds: r.seconds, mse: r.preds ? [mse(r.preds[0], test.tasks[0].labels as Float32Array), mse(r.preds[1], test.tasks[1].labels as Float32Array)] : null };
          if (r.message) run.message = r.message;
          runs.push(run);
          log(`synthetic ${arch} ρ=${rho} seed ${s} ${m.key}: ${r.status === "ok" ? `test MSE ${run.mse!.map((x) => x.toFixed(4)).join(", ")}` : `${r.status}: ${r.message}`} [${r.seconds.toFixed(1)} s]`);
        }
      }
    }
  }
  return runs;
}

/** One table per architecture: rows = methods, columns = ρ × task, cells = test MSE mean ± std over seeds. */
export function syntheticMarkdown(runs: SyntheticRun[], o: SyntheticOptions, wall: number): string {
  const testRows = Math.max(1000, Math.round(o.rows / 5));
  const out: string[] = [];
  out.push(`## Synthetic data (Ma et al. 2018): test MSE per task`);
  out.push("");
  out.push(`\`mmoeSynthetic\` (src/data/synthetic.ts): d = 100, c = 1, m = 10 sine terms, label noise σ = 0.1; ${o.rows.toLocaleString("en")} training and ${testRows.toLocaleString("en")} test rows drawn per (ρ, seed), new data and a new initialization per seed, the same rows for every method and both models. ` +
    `HPS: a shared bottom of 113 ReLU units; MMoE: 8 experts of 16 ReLU units, a softmax gate per task; towers of 8 ReLU units; MSE loss on the raw targets; Adam lr ${o.lr}, batch ${o.batch}, ${o.epochs} epochs, no early stopping (the test rows are never seen in training). ` +
    `Cells: test MSE in label units, mean ± sample std over ${o.seeds} seed${o.seeds > 1 ? "s" : ""}; the lowest mean of each column in bold. The noise floor is σ² = 0.01. Suite wall time ${(wall / 60).toFixed(1)} min.`);
  out.push("");
  out.push("Differences from the paper: it reports training-loss curves averaged over 200 runs, not test MSE; its sizes (113 / 8 × 16 / 8 units) are as recalled here, not re-checked offline; its training length and learning rate are not reproduced.");
  const notes: string[] = [];
  for (const arch of Object.keys(ARCHS) as (keyof typeof ARCHS)[]) {
    const methods = [...new Set(runs.filter((r) => r.arch === arch).map((r) => r.method))];
    if (!methods.length) continue;
    out.push("");
    out.push(`### ${arch === "hps" ? "HPS (shared bottom)" : "MMoE"}`);
    out.push("");
    const cols = RHOS.flatMap((rho) => [0, 1].map((t) => ({ rho, t })));
    out.push(`| method | ${cols.map((c) => `ρ=${c.rho} y${c.t + 1}`).join(" | ")} | NaN / errors | s/run |`);
    out.push(`|---|${cols.map(() => "---:").join("|")}|---|---:|`);
    const cell = (m: string, c: { rho: number; t: number }) => runs.filter((r) => r.arch === arch && r.method === m && r.rho === c.rho).map((r) => (r.mse ? r.mse[c.t] : NaN));
    const best = cols.map((c) => Math.min(...methods.map((m) => meanStd(cell(m, c)).mean).filter(Number.isFinite)));
    for (const m of methods) {
      const mine = runs.filter((r) => r.arch === arch && r.method === m);
      const failed = mine.filter((r) => r.status !== "ok");
      let foot: number | null = null;
      if (failed.length) {
        foot = notes.length + 1;
        notes.push(...failed.map((r) => `${arch} ${m} ρ=${r.rho} seed ${r.seed}: ${r.status}: ${r.message}`));
      }
      const cells = cols.map((c, i) => {
        const v = cell(m, c);
        return fmt(v, 4, meanStd(v).mean === best[i]);
      });
      out.push(`| ${label(m)} | ${cells.join(" | ")} | ${statusCell(mine, foot)} | ${meanStd(mine.map((r) => r.seconds)).mean.toFixed(1)} |`);
    }
  }
  if (notes.length) {
    out.push("");
    out.push("Failures (exact messages):");
    out.push("");
    notes.forEach((n, i) => out.push(`${i + 1}. ${n}`));
  }
  return out.join("\n") + "\n";
}

export function label(key: string): string {
  const [m, mode] = key.split(":");
  return mode ? `${m} (${mode})` : m === "graddrop" ? "graddrop (rep)" : m;
}
