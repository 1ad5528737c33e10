// The epoch table: every line fits 120 columns for any task count, rows keep the header's column positions, printed
// numbers parse back within their printed precision, and NaN/∞ read as such.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { EpochTable, formatNumber, type EpochTableOptions } from "../../src/cli/table.ts";
import type { EpochLog } from "../../src/train/trainer.ts";
import { Rng } from "../helpers.ts";

const LONG = (i: number) => `functional_category_${String(i + 1).padStart(2, "0")}_of_the_yeast_genome_annotation`;

function tasks(T: number, long: boolean) {
  return Array.from({ length: T }, (_, i) => ({ name: long ? LONG(i) : `t${i + 1}`, metric: i % 3 === 2 ? "rmse" : "auc" }));
}

/** A log whose numbers span many magnitudes and signs (so cell widths differ from row to row). */
function log(opts: EpochTableOptions, epoch: number, rng: Rng, special: Record<string, number> = {}): EpochLog {
  const val = () => (rng.next() < 0.5 ? -1 : 1) * 10 ** (rng.next() * 12 - 6);
  return {
    epoch,
    seconds: rng.next() * 2000,
    trainLoss: Object.fromEntries(opts.tasks.map((t) => [t.name, special[t.name] ?? val()])),
    objective: 0,
    weights: Object.fromEntries(opts.tasks.map((t) => [t.name, rng.next() * 3])),
    relations: (opts.relations ?? []).map(() => val()),
    validation: Object.fromEntries(opts.tasks.map((t) => [t.name, { auc: rng.next(), rmse: val(), count: 10 }])),
    monitor: rng.next(),
    lr: 0.01,
    ...(opts.affinity ? { affinity: { steps: 3, cosine: opts.tasks.map((_, i) => opts.tasks.map((_, j) => (i === j ? 1 : Math.cos(i * 7 + j * 7)))), tag: opts.tasks.map(() => opts.tasks.map(() => 0)) } } : {}),
  } as EpochLog;
}

const variants = (T: number, long: boolean): EpochTableOptions[] => [
  { tasks: tasks(T, long), epochs: 3 },
  { tasks: tasks(T, long), epochs: 250, weights: true, monitor: "mean.auc" },
  { tasks: tasks(T, long), epochs: 12, weights: true, monitor: `${long ? LONG(0) : "t1"}.auc`, affinity: T > 1, relations: T > 1 ? [`${tasks(T, long)[0].name}~${tasks(T, long)[1].name}`] : [] },
];

test("every line is at most 120 columns for 1, 2, 6, 14 and 40 tasks, short or long names", () => {
  const rng = new Rng(1);
  for (const T of [1, 2, 6, 14, 40]) {
    for (const long of [false, true]) {
      for (const o of variants(T, long)) {
        const t = new EpochTable(o);
        const lines = [...t.header(), ...[1, 2, 3].map((e) => t.row(log(o, e, rng), e === 2))];
        for (const l of lines) assert.ok(l.length <= 120, `${T} tasks (long ${long}): ${l.length} columns: ${l}`);
        assert.ok(t.shown >= 1, `${T} tasks: no task shown`);
        // Everything fits → every task has its group; otherwise the legend says where the rest are.
        if (t.shown === T) for (const k of o.tasks) assert.ok(lines[1].includes(k.name.slice(0, 6)), `title of ${k.name} missing: ${lines[1]}`);
        else assert.match(lines[0], new RegExp(`^tasks? ${t.shown + 1}(–${T})? of ${T} in metrics\\.json`));
      }
    }
  }
  // Two short-named tasks fit whole, with every option on.
  assert.is(new EpochTable(variants(2, false)[2]).shown, 2);
});

/** Right edges (exclusive) of the whitespace-separated tokens of `s`. */
const rightEdges = (s: string) => [...s.matchAll(/\S+/g)].map((m) => m.index! + m[0].length);

test("every row has the header's column positions, whatever the widths of its numbers", () => {
  const rng = new Rng(2);
  for (const T of [1, 2, 6, 14]) {
    for (const o of variants(T, false).slice(0, 2)) {
      const t = new EpochTable(o);
      const [, titles, subs] = t.header();
      // Right-aligned columns: each column name ends where each row's cell ends (a cell is one token).
      const edges = rightEdges(subs);
      for (let e = 1; e <= 6; e++) {
        const row = t.row(log(o, e, rng, e === 3 ? { [o.tasks[0].name]: NaN } : {}), e % 2 === 0);
        // `epoch N/E` is one left-aligned cell (two tokens) and `*` is a marker beside the monitor value.
        const cells = [...row.matchAll(/\S+/g)].slice(2).filter((m) => m[0] !== "*").map((m) => m.index! + m[0].length);
        assert.equal(cells, edges, `row ${e}:\n${subs}\n${row}`);
        assert.ok(row.startsWith(`epoch ${e}/${o.epochs}`), row);
        if (o.monitor) assert.is(/ \*( |$)/.test(row), e % 2 === 0, `the * marker of row ${e}: ${row}`);
      }
      // Each task's title starts over its own group: after the previous group's last column, not past its first.
      let prev = -1;
      for (const k of o.tasks.slice(0, t.shown)) {
        const at = titles.indexOf(k.name, prev + 1);
        assert.ok(at > prev, `title ${k.name} not found after ${prev}: ${titles}`);
        const lossEnd = edges.find((x) => x > at && subs.slice(x - 4, x) === "loss")!;
        assert.ok(at <= lossEnd - 4 && lossEnd - at <= 7, `title ${k.name} at ${at} is not over its loss column (ends ${lossEnd})\n${titles}\n${subs}`);
        prev = lossEnd;
      }
    }
  }
});

/** The printed precision of a number literal: half a unit in its last digit. */
function halfUnit(s: string): number {
  const m = /^-?(\d+)(?:\.(\d+))?(?:e(-?\d+))?$/.exec(s);
  if (!m) throw new Error(`not a number literal: ${s}`);
  return 0.5 * 10 ** (Number(m[3] ?? 0) - (m[2]?.length ?? 0));
}

test("formatNumber: at most 7 characters, parses back within half a unit of its last digit", () => {
  const rng = new Rng(3);
  const xs = [0.2258, -0.001234, 1.234e-5, 123456.7, 1e20, -1.234e-120, 9999.7, 0.1, 1, -1e-300, 5e-324, -5e-324, 0.099999, 999999.5, -999999.5, 9.99e307, -9.99e307];
  for (let i = 0; i < 5000; i++) xs.push((rng.next() < 0.5 ? -1 : 1) * 10 ** (rng.next() * 40 - 20) * (1 + rng.next()));
  for (const x of xs) {
    const s = formatNumber(x);
    assert.ok(s.length <= 7, `${x} → ${s} (${s.length} characters)`);
    const back = Number(s);
    assert.ok(Math.abs(back - x) <= halfUnit(s) * (1 + 1e-9), `${x} → ${s}: off by ${Math.abs(back - x)}, precision ±${halfUnit(s)}`);
    // Four significant digits whenever a plain decimal of that precision fits.
    if (x.toPrecision(4).length <= 7 && !x.toPrecision(4).includes("e")) assert.ok(Math.abs(back - x) <= 5e-4 * Math.abs(x) * (1 + 1e-9), `${x} → ${s}: fewer than 4 significant digits`);
  }
  // Narrower cells keep the contract.
  for (const x of xs.slice(0, 200)) {
    const s = formatNumber(Math.abs(x), 6);
    assert.ok(s.length <= 6 || Math.abs(x) < 1e-99, `${x} → ${s} in 6`);
    assert.ok(Math.abs(Number(s) - Math.abs(x)) <= halfUnit(s) * (1 + 1e-9), `${x} → ${s} in 6`);
  }
});

test("NaN, ±∞ and missing values print readably, in their own cells", () => {
  assert.is(formatNumber(NaN), "NaN");
  assert.is(formatNumber(Infinity), "∞");
  assert.is(formatNumber(-Infinity), "-∞");
  assert.is(formatNumber(null), "-");
  assert.is(formatNumber(0), "0");
  const o: EpochTableOptions = { tasks: tasks(3, false), epochs: 3 };
  const t = new EpochTable(o);
  const subs = t.header()[2];
  const row = t.row({ ...log(o, 1, new Rng(4)), trainLoss: { t1: NaN, t2: Infinity, t3: -Infinity } });
  const cellEnding = (edge: number) => row.slice(0, edge).split(/\s+/).pop();
  const lossEdges = rightEdges(subs).filter((e) => subs.slice(e - 4, e) === "loss");
  assert.equal(lossEdges.map(cellEnding), ["NaN", "∞", "-∞"]);
  // No validation rows: the metric cells are `-`.
  const none = t.row({ ...log(o, 2, new Rng(5)), validation: null });
  assert.equal(rightEdges(subs).filter((e) => subs.slice(e - 3, e) === "auc").map((e) => none.slice(0, e).split(/\s+/).pop()), ["-", "-"]);
});

test("printed cells round-trip to the log's numbers; the mean group averages every task", () => {
  const rng = new Rng(6);
  const o: EpochTableOptions = { tasks: tasks(14, false).map((t) => ({ ...t, metric: "auc" })), epochs: 5, weights: true, monitor: "mean.auc" };
  const t = new EpochTable(o);
  assert.ok(t.shown < 14);
  const subs = t.header()[2];
  const edges = rightEdges(subs);
  const names = [...subs.matchAll(/\S+/g)].map((m) => m[0]);
  for (let e = 1; e <= 5; e++) {
    const l = log(o, e, rng);
    const row = t.row(l);
    // Past `epoch N/E` (two tokens) and the `*` marker: one token per column.
    const cells = [...row.matchAll(/\S+/g)].slice(2).filter((m) => m[0] !== "*").map((m) => m[0]);
    assert.is(cells.length, edges.length, row);
    const check = (s: string, x: number, what: string) => assert.ok(Math.abs(Number(s) - x) <= halfUnit(s) * (1 + 1e-9), `${what}: printed ${s}, value ${x}`);
    check(cells[0], l.seconds, "seconds");
    check(cells[1], l.monitor!, "monitor");
    // Then per shown task: loss, auc, w; then the mean group: loss, auc over all 14 tasks.
    for (let k = 0; k < t.shown; k++) {
      const n = o.tasks[k].name;
      assert.equal(names.slice(2 + 3 * k, 5 + 3 * k), ["loss", "auc", "w"]);
      check(cells[2 + 3 * k], l.trainLoss[n], `${n} loss`);
      check(cells[3 + 3 * k], l.validation![n].auc, `${n} auc`);
      check(cells[4 + 3 * k], l.weights[n], `${n} weight`);
    }
    let loss = 0, auc = 0;
    for (const k of o.tasks) (loss += l.trainLoss[k.name]), (auc += l.validation![k.name].auc);
    assert.equal(names.slice(2 + 3 * t.shown), ["loss", "auc"]);
    check(cells[2 + 3 * t.shown], loss / 14, "mean loss");
    check(cells[3 + 3 * t.shown], auc / 14, "mean auc");
  }
});

test("the conflict cell names the pair with the lowest cosine, at the row's end", () => {
  const o: EpochTableOptions = { tasks: tasks(3, false), epochs: 2, affinity: true };
  const t = new EpochTable(o);
  const l = { ...log(o, 1, new Rng(7)), affinity: { steps: 2, cosine: [[1, 0.2, -0.4], [0.2, 1, 0.1], [-0.4, 0.1, 1]], tag: [[0, 0, 0], [0, 0, 0], [0, 0, 0]] } } as EpochLog;
  assert.ok(t.row(l).endsWith("  conflict t1~t3 cos -0.40"), t.row(l));
});

test.run();
