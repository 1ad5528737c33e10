// The epoch table `mtl train` prints: a few header lines once, then one row per epoch, every line at most `width`
// (default 120) columns whatever the number of tasks. Full-precision numbers live in DIR/metrics.json ("history").
//
//   per task: training loss, validation auc; * = best mean.auc so far (weights kept)
//                                income             never_married
//                s  mean.auc        loss      auc      loss      auc
//   epoch 1/2  0.6    0.9659 *    0.2258   0.9399    0.3068   0.9920
//
// Columns: `epoch N/E` (left-aligned, so `epoch 3/10` stays greppable), seconds, the early-stopping metric with `*` on
// each row whose weights became the kept best, then one group per task: mean training loss over the epoch's steps,
// the task's main validation metric and, when the weighting strategy moves them, the mean loss weight; then the
// declared relations, and the most conflicting task pair when affinity is recorded (always last, so a row ends with
// `conflict a~b cos -0.31`).
//
// Too many tasks for the width: the first K tasks (spec order) that fit, then a `mean` group over ALL tasks (training
// loss; the validation metric most tasks share), and the legend line says where the rest are (metrics.json). Chosen
// over wrapping each epoch into several blocks of columns: one row per epoch keeps a task's trend readable down one
// column, the row count equal to the epoch count, and each row one greppable line; wrapped blocks tear a task's
// column into pieces a screen apart. The mean group still shows whether the hidden tasks improve.
//
// Numbers: `formatNumber(x, w)` gives at most `w` characters (w ≥ 7 always fits): 4 significant digits when they fit,
// fewer, an integer, or compact exponent notation (`1.23e-5`); NaN prints `NaN`, ±Infinity `∞` / `-∞`, a missing value
// `-`. Every other string is a plain JavaScript number literal that parses back within half a unit of its last
// printed digit (for |x| < 1e308; above that the form that fits can round to Infinity, e.g. `-2e308`).
import type { EpochLog } from "../train/trainer.ts";
import { mostConflicting } from "../train/affinity.ts";

export const TABLE_WIDTH = 120;
/** Characters of a loss or metric cell. */
const NUM = 7;
/** Characters of a weight cell. */
const WEIGHT = 5;
const IN_GROUP = "  ";
const BETWEEN = "   ";
/** Longest task name shown in a conflict cell (abbreviated beyond it). */
const CONFLICT_NAME = 8;

export interface TableTask {
  name: string;
  /** The task's main validation metric (a key of its TaskMetrics), or null when it reports none. */
  metric: string | null;
}

export interface EpochTableOptions {
  /** In spec order (the order of EpochLog's records and of the affinity matrices). */
  tasks: readonly TableTask[];
  /** Epochs of the run (the E of `epoch N/E`). */
  epochs: number;
  /** Show each task's mean loss weight (when the weighting strategy changes weights). */
  weights?: boolean;
  /** The early-stopping metric reference (`mean.auc`, `income.auc`, `loss`), or null: no monitor column, no `*`. */
  monitor?: string | null;
  /** Labels of the declared relations (`a~b`), one column each. */
  relations?: readonly string[];
  /** Task affinity is recorded: a last column with the most conflicting pair. */
  affinity?: boolean;
  /** Where the numbers not shown are (named in the legend when tasks are left out). Default "metrics.json". */
  full?: string;
  width?: number;
}

interface Column {
  /** Group title (printed over the group's first column, spanning the group). */
  group: number;
  sub: string;
  width: number;
  align: "left" | "right";
  cell(l: EpochLog, best: boolean): string;
}

const SHORT: Record<string, string> = { accuracy: "acc", explained_variance: "ev" };
/** A metric name as a column header (`accuracy` → `acc`). */
export const shortMetric = (m: string): string => SHORT[m] ?? m;

/** `x` in at most `w` characters (w ≥ 7 fits every finite double): see the file comment. */
export function formatNumber(x: number | null | undefined, w = NUM): string {
  if (x === null || x === undefined) return "-";
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "∞";
  if (x === -Infinity) return "-∞";
  if (x === 0) return "0";
  // Candidates with their significant digits: plain decimals (toPrecision switches to exponents by itself for
  // a ≥ 10^p or a < 1e-6; those are left to the compact exponent forms), the rounded integer, compact exponents.
  const tries: [string, number][] = [];
  for (const p of [4, 3, 2, 1]) {
    const t = x.toPrecision(p);
    if (!t.includes("e")) tries.push([t, p]);
  }
  if (Math.abs(x) >= 1) {
    const r = String(Math.round(x));
    if (!r.includes("e")) tries.push([r, r.replace(/^-/, "").length]);
  }
  for (const d of [2, 1, 0]) tries.push([x.toExponential(d).replace("e+", "e"), d + 1]);
  // The most significant digits that fit; on a tie the earlier (plain) form. `-1e-308` (7) always fits w ≥ 7.
  let best: [string, number] | null = null;
  for (const t of tries) if (t[0].length <= w && (best === null || t[1] > best[1])) best = t;
  return best ? best[0] : tries[tries.length - 1][0];
}

/** The monitor column's title: `val_loss`, `mean.accuracy` → `mean.acc`, `income.auc` as is (the legend spells it out). */
function monitorLabel(monitor: string): string {
  if (monitor === "loss") return "val_loss";
  const short: Record<string, string> = { accuracy: "acc", logloss: "logloss", explained_variance: "ev" };
  const dot = monitor.lastIndexOf(".");
  const who = monitor.slice(0, dot), metric = monitor.slice(dot + 1);
  return `${who}.${short[metric] ?? metric}`;
}

/** `name` in at most `w` characters: kept whole, or its start and end around `…` (names often differ at the end). */
export function abbreviate(name: string, w: number): string {
  if (name.length <= w) return name;
  if (w <= 1) return "…".slice(0, w);
  const head = Math.ceil((w - 1) / 2), tail = w - 1 - head;
  return name.slice(0, head) + "…" + (tail ? name.slice(name.length - tail) : "");
}

/** Abbreviations of `names` to `w` characters, made unique (a clash keeps the start and ends in `#<position>`). */
function uniqueAbbreviations(names: readonly string[], w: number): string[] {
  const out = names.map((n) => abbreviate(n, w));
  const seen = new Map<string, number>();
  for (const s of out) seen.set(s, (seen.get(s) ?? 0) + 1);
  return out.map((s, i) => {
    if (seen.get(s) === 1) return s;
    const tag = `#${i + 1}`;
    return names[i].slice(0, Math.max(0, w - tag.length - 1)) + "…" + tag;
  });
}

const pad = (s: string, w: number, align: "left" | "right") => (align === "left" ? s.padEnd(w) : s.padStart(w));
const mean = (v: number[]) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN);

export class EpochTable {
  readonly width: number;
  /** How many tasks have their own column group (the first `shown` in spec order). */
  readonly shown: number;
  private readonly columns: Column[] = [];
  private readonly titles: string[] = [];
  private readonly legend: string;

  constructor(readonly opts: EpochTableOptions) {
    const width = (this.width = opts.width ?? TABLE_WIDTH);
    const tasks = opts.tasks, T = tasks.length;
    const epochW = `epoch ${opts.epochs}/${opts.epochs}`.length;
    const fixed: Column[] = [];
    const title = (t: string) => this.titles.push(t) - 1;
    const none = title("");
    fixed.push({ group: none, sub: "", width: epochW, align: "left", cell: (l) => `epoch ${l.epoch}/${opts.epochs}` });
    fixed.push({ group: none, sub: "s", width: 5, align: "right", cell: (l) => (l.seconds < 999.95 ? l.seconds.toFixed(1) : formatNumber(l.seconds, 5)) });
    if (opts.monitor) {
      // The value right-aligned under the metric's name, then ` *` or blanks.
      const name = abbreviate(monitorLabel(opts.monitor), 12), w = Math.max(name.length, NUM);
      fixed.push({ group: none, sub: name.padStart(w) + "  ", width: w + 2, align: "left", cell: (l, best) => formatNumber(l.monitor, NUM).padStart(w) + (best ? " *" : "  ") });
    }
    const groupW = (cols: number, weights: boolean) => cols * NUM + (cols - 1) * IN_GROUP.length + (weights ? IN_GROUP.length + WEIGHT : 0);
    const taskW = groupW(2, !!opts.weights);
    const used = (cols: Column[]) => cols.reduce((s, c, i) => s + c.width + (i === 0 ? 0 : cols[i - 1].group === c.group ? IN_GROUP.length : BETWEEN.length), 0);

    // Relations, then the conflict cell: measured before the tasks, dropped when they would leave no room for one.
    const rel: Column[] = [];
    const relations = opts.relations ?? [];
    if (relations.length) {
      const g = title("relations");
      const labels = uniqueAbbreviations(relations, NUM);
      relations.forEach((_, i) => rel.push({ group: g, sub: labels[i], width: NUM, align: "right", cell: (l) => formatNumber(l.relations[i], NUM) }));
    }
    const conflict: Column[] = [];
    if (opts.affinity) {
      const short = uniqueAbbreviations(tasks.map((t) => t.name), CONFLICT_NAME);
      const w = `conflict ${"x".repeat(2 * Math.max(1, ...short.map((s) => s.length)) + 1)} cos -0.00`.length;
      conflict.push({
        group: title("most conflicting"),
        sub: "pair (gradient cosine)",
        width: w,
        align: "left",
        cell: (l) => {
          const c = l.affinity && mostConflicting(l.affinity);
          return c ? `conflict ${short[c.i]}~${short[c.j]} cos ${c.cosine.toFixed(2)}` : "";
        },
      });
    }
    // Tasks: all when they fit, else K plus the mean group (see the file comment).
    const meanW = groupW(2, false);
    const fits = (k: number, withMean: boolean, extra: Column[]) => used([...fixed, ...extra]) + k * (taskW + BETWEEN.length) + (withMean ? meanW + BETWEEN.length : 0) <= width;
    let extras = [...rel, ...conflict];
    const dropped: string[] = [];
    if (!fits(Math.min(T, 1), T > 1, extras) && rel.length) (extras = conflict), dropped.push("relations");
    let k = T;
    while (k > 0 && !fits(k, k < T, extras)) k--;
    this.shown = k;
    const names = uniqueAbbreviations(tasks.map((t) => t.name), taskW);
    const metricOf = (l: EpochLog, t: TableTask) => (t.metric && l.validation ? (l.validation[t.name]?.[t.metric] ?? NaN) : null);
    const taskCols: Column[] = [];
    tasks.slice(0, k).forEach((t, i) => {
      const g = title(names[i]);
      taskCols.push({ group: g, sub: "loss", width: NUM, align: "right", cell: (l) => formatNumber(l.trainLoss[t.name], NUM) });
      taskCols.push({ group: g, sub: abbreviate(t.metric ? shortMetric(t.metric) : "-", NUM), width: NUM, align: "right", cell: (l) => formatNumber(metricOf(l, t), NUM) });
      if (opts.weights) taskCols.push({ group: g, sub: "w", width: WEIGHT, align: "right", cell: (l) => formatNumber(l.weights[t.name], WEIGHT) });
    });
    if (k < T) {
      // The validation metric most tasks share (first in spec order on a tie), averaged over the tasks that report it.
      const counts = new Map<string, number>();
      for (const t of tasks) if (t.metric) counts.set(t.metric, (counts.get(t.metric) ?? 0) + 1);
      const common = [...counts.entries()].reduce<[string, number] | null>((b, e) => (b === null || e[1] > b[1] ? e : b), null);
      const m = common?.[0] ?? null, n = common?.[1] ?? 0;
      const g = title(`mean of ${T} tasks`);
      // `auc(12)`: the mean is over the 12 tasks that report auc.
      const sub = m ? (n < T && `${shortMetric(m)}(${n})`.length <= NUM ? `${shortMetric(m)}(${n})` : shortMetric(m)) : "-";
      taskCols.push({ group: g, sub: "loss", width: NUM, align: "right", cell: (l) => formatNumber(mean(tasks.map((t) => l.trainLoss[t.name])), NUM) });
      taskCols.push({
        group: g,
        sub,
        width: NUM,
        align: "right",
        cell: (l) => (m && l.validation ? formatNumber(mean(tasks.filter((t) => t.metric === m).map((t) => l.validation![t.name]?.[m] ?? NaN)), NUM) : "-"),
      });
    }
    this.columns = [...fixed, ...taskCols, ...extras];

    // The legend: what is left out first, then what the columns are; shorter wordings when it would not fit.
    const where = (full: boolean) => (full ? (opts.full ?? "metrics.json") : "metrics.json");
    const left = (full: boolean) => [
      ...(k < T ? [`${T - k === 1 ? "task" : "tasks"} ${k + 1}${T - k > 1 ? `–${T}` : ""} of ${T} in ${where(full)}`] : []),
      ...(dropped.length ? [`${dropped.join(", ")} in ${where(full)}`] : []),
    ];
    const metrics = [...new Set(tasks.slice(0, Math.max(k, 1)).map((t) => (t.metric ? shortMetric(t.metric) : "-")))].join("/");
    const cols = (long: boolean) => `per task: ${long ? "training loss, validation" : "train loss, val"} ${metrics}${opts.weights ? (long ? ", loss weight w" : ", weight w") : ""}`;
    const star = (long: boolean) => (opts.monitor ? [`* = ${long ? "best " : ""}${opts.monitor === "loss" ? "validation loss" : opts.monitor}${long ? " so far (weights kept)" : " best"}`] : []);
    const tries = [[true, true], [false, true], [false, false]].map(([long, full]) => [...left(full), cols(long), ...star(long)].join("; "));
    this.legend = abbreviate(tries.find((t) => t.length <= width) ?? tries[tries.length - 1], width);
  }

  /** The lines printed once before the first row: a legend, the group titles, the column names. */
  header(): string[] {
    const starts = this.starts();
    let titles = "";
    this.columns.forEach((c, i) => {
      if (i > 0 && this.columns[i - 1].group === c.group) return;
      let end = i;
      while (end + 1 < this.columns.length && this.columns[end + 1].group === c.group) end++;
      const span = starts[end] + this.columns[end].width - starts[i];
      titles = titles.padEnd(starts[i]) + abbreviate(this.titles[c.group], span);
    });
    return [this.legend, titles.trimEnd(), this.place(starts, (c) => c.sub)];
  }

  /** One epoch's row. `best`: this epoch's weights became the kept best (early stopping). */
  row(l: EpochLog, best = false): string {
    return this.place(this.starts(), (c) => c.cell(l, best));
  }

  /** Where each column starts: widths plus the gaps (IN_GROUP within a group, BETWEEN across groups). */
  private starts(): number[] {
    const out: number[] = [];
    let x = 0;
    this.columns.forEach((c, i) => {
      if (i > 0) x += this.columns[i - 1].width + (this.columns[i - 1].group === c.group ? IN_GROUP : BETWEEN).length;
      out.push(x);
    });
    return out;
  }

  /** Each column's text, cut to its width and aligned in it, at its start; trailing blanks trimmed. */
  private place(starts: number[], text: (c: Column) => string): string {
    let line = "";
    this.columns.forEach((c, i) => (line = line.padEnd(starts[i]) + pad(abbreviate(text(c), c.width), c.width, c.align)));
    return line.trimEnd();
  }
}
