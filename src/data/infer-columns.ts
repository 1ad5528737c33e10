// Column kinds from a sample of a table (`mtl init`): for every column, numeric, categorical or dropped, with the
// reason in one line (parse rate, distinct values); for every task, its label columns checked against its type.
// Input: the sample as column-major string cells (untrimmed, as the readers give them); cells are compared after
// trimming, as training reads them. Portable (no node:*): the CLI reads the file, this decides.
import type { TaskType } from "../model/spec.ts";
import { parseFiniteNumber } from "./table.ts";

/** A column is numeric when at least this share of its non-missing cells parse as numbers (finite or not). */
export const NUMERIC_PARSE_RATE = 0.99;
/** Integer columns with at most this many distinct values are checked for looking like codes. */
export const CODE_MAX_DISTINCT = 20;
/** A column needs this many non-missing cells before "every value distinct" reads as an identifier. */
export const ID_MIN_ROWS = 20;
/** Embedding widths of categorical inputs: fastai's rule round(1.6 · n^0.56) for n values (+1 unknown), in [2, 16]. */
export const EMBEDDING_DIM_MAX = 16;

export type ColumnKind = "numeric" | "categorical" | "drop";

export interface ColumnStats {
  /** Sampled cells; `missing` of them are a missing token. */
  cells: number;
  missing: number;
  /** Non-missing cells that are finite numbers, and those that are numbers but not finite ("inf", 1e400, "nan"). */
  numbers: number;
  nonfinite: number;
  /** Distinct trimmed non-missing values, with their counts (insertion order = first appearance). */
  counts: Map<string, number>;
  /** Every finite number is an integer (and there is at least one). */
  integer: boolean;
  min: number;
  max: number;
  /** Some non-missing value is an integer with a leading zero ("007"), the mark of a code. */
  leadingZero: string | null;
}

export interface ColumnDecision {
  column: string;
  kind: ColumnKind;
  /** One line: the decision's evidence, e.g. `100 % of 995 non-missing cells are numbers; 871 distinct values`. */
  reason: string;
  stats: ColumnStats;
  /** numeric: non-number tokens (below 1 % of the cells) to read as missing; they join the spec's inputs.missing. */
  extraMissing: string[];
  /** categorical: embedding width and min_count. */
  dim?: number;
  minCount?: number;
}

/** A share as a percentage: 100 % and 0 % only when exact, else one decimal (99.96 % → 99.9 %, 0.01 % → 0.1 %). */
const pct = (x: number) => `${x === 1 ? "100" : x === 0 ? "0" : Math.max(0.1, Math.min(99.9, Math.floor(x * 1000) / 10)).toFixed(1)} %`;
const n = (x: number) => x.toLocaleString("en-US");
const q = (s: string) => JSON.stringify(s);
const short = (s: string) => q(s.length > 24 ? `${s.slice(0, 21)}...` : s);

/** Counts of a column's cells: missing tokens, numbers, distinct values. */
export function columnStats(cells: readonly string[], missing: ReadonlySet<string>): ColumnStats {
  const counts = new Map<string, number>();
  let miss = 0, numbers = 0, nonfinite = 0, integer = true, min = Infinity, max = -Infinity, leadingZero: string | null = null;
  for (const raw of cells) {
    const s = raw.trim();
    if (missing.has(s)) {
      miss++;
      continue;
    }
    counts.set(s, (counts.get(s) ?? 0) + 1);
    const v = parseFiniteNumber(s);
    if (v === null) nonfinite++;
    else if (v !== undefined) {
      numbers++;
      if (!Number.isInteger(v)) integer = false;
      else if (leadingZero === null && /^[+-]?0\d/.test(s)) leadingZero = s;
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  return { cells: cells.length, missing: miss, numbers, nonfinite, counts, integer: integer && numbers > 0, min, max, leadingZero };
}

/**
 * The kind of one input column, from its sampled cells and the missing tokens:
 * - drop: every cell missing; one distinct value (constant); text whose every value is distinct over at least
 *   ID_MIN_ROWS cells (an identifier); integers counting up by one in file order (a row number);
 * - numeric: at least NUMERIC_PARSE_RATE of the non-missing cells are numbers, unless it looks like a code: integers
 *   written with leading zeros, or at most CODE_MAX_DISTINCT distinct integers (3 or more) spread over a range more
 *   than twice their count (3, 17, 42, 105: codes; 1…5: a scale, kept numeric);
 * - categorical otherwise, with min_count 2 when more than half the values are distinct (values seen once would
 *   each get an embedding trained on one row).
 */
export function inferColumn(column: string, cells: readonly string[], missing: ReadonlySet<string>): ColumnDecision {
  const st = columnStats(cells, missing);
  const nonMissing = st.cells - st.missing;
  const distinct = st.counts.size;
  const out = (kind: ColumnKind, reason: string, extra: Partial<ColumnDecision> = {}): ColumnDecision => ({ column, kind, reason, stats: st, extraMissing: [], ...extra });
  const missNote = st.missing ? `; ${n(st.missing)} missing` : "";
  if (nonMissing === 0) return out("drop", `empty: all ${n(st.cells)} sampled cells are missing`);
  if (distinct === 1) return out("drop", `constant: every non-missing cell is ${short(st.counts.keys().next().value!)} (${n(nonMissing)} cells${missNote})`);
  const rate = (st.numbers + st.nonfinite) / nonMissing;
  const numberLine = `${pct(rate)} of ${n(nonMissing)} non-missing cells are numbers; ${n(distinct)} distinct values${missNote}`;
  const topValues = () => [...st.counts].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([v, c]) => `${short(v)} ${n(c)}`).join(", ") + (distinct > 3 ? ", ..." : "");
  const asText = () => {
    if (distinct === nonMissing && nonMissing >= ID_MIN_ROWS) return out("drop", `id-like: all ${n(nonMissing)} non-missing values are distinct (${rate ? `${pct(rate)} numbers, ` : ""}e.g. ${short(st.counts.keys().next().value!)})`);
    const many = distinct > nonMissing / 2;
    const line = `${numberLine} (${topValues()})`;
    return out("categorical", many ? `${line}; high cardinality: values seen once map to the unknown bucket (min_count 2)` : line, { dim: embeddingDim(distinct), minCount: many ? 2 : 1 });
  };
  if (rate < NUMERIC_PARSE_RATE) return asText();
  if (st.integer && st.leadingZero !== null) {
    const r = asText();
    return { ...r, reason: `code: integers written with leading zeros (${q(st.leadingZero)}), read as text; ${r.reason}` };
  }
  if (st.integer && distinct === nonMissing && nonMissing >= ID_MIN_ROWS && countsUp(cells, missing)) {
    return out("drop", `row number: ${n(nonMissing)} distinct integers counting up by one in file order (${st.min}…${st.max})`);
  }
  const bad = [...st.counts.keys()].filter((s) => parseFiniteNumber(s) === undefined);
  const extra = (bad.length ? `; read as missing: ${bad.slice(0, 5).map((s) => `${short(s)} ×${st.counts.get(s)}`).join(", ")}${bad.length > 5 ? ", ..." : ""}` : "") + (st.nonfinite ? `; ${n(st.nonfinite)} not finite (inf, nan: read as missing)` : "");
  if (st.integer && distinct - bad.length <= CODE_MAX_DISTINCT) {
    const values = distinct - bad.length, span = st.max - st.min + 1;
    if (values >= 3 && span > 2 * values) {
      const r = asText();
      return { ...r, reason: `code: ${values} distinct integers spread over ${st.min}…${st.max} (not a dense scale), read as categories; ${r.reason}` };
    }
    return out("numeric", `${numberLine}; integers ${st.min}…${st.max}, a dense scale (kept numeric; a code would be categorical)${extra}`, { extraMissing: bad });
  }
  return out("numeric", `${numberLine}${st.integer ? `; integers ${st.min}…${st.max}` : `; ${fmt(st.min)}…${fmt(st.max)}`}${extra}`, { extraMissing: bad });
}

const fmt = (v: number) => (Math.abs(v) >= 1e6 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(2) : String(+v.toPrecision(6)));

/** Whether the non-missing cells, in order, are integers each one more than the previous. */
function countsUp(cells: readonly string[], missing: ReadonlySet<string>): boolean {
  let prev: number | null = null;
  for (const raw of cells) {
    const s = raw.trim();
    if (missing.has(s)) continue;
    const v = parseFiniteNumber(s);
    if (typeof v !== "number") return false;
    if (prev !== null && v !== prev + 1) return false;
    prev = v;
  }
  return true;
}

/** Embedding width for a column of `values` distinct values (+1 for the unknown bucket). */
export function embeddingDim(values: number): number {
  return Math.max(2, Math.min(EMBEDDING_DIM_MAX, Math.round(1.6 * (values + 1) ** 0.56)));
}

// ---- labels -------------------------------------------------------------------------------------------------------

export interface TaskRequest {
  name: string;
  type: TaskType;
  labels: string[];
}

export interface LabelCheck {
  /** One line about the label(s): values and their counts, the positive class, the range. */
  summary: string;
  /** binary: the value read as 1 (null when the column is already 0/1). */
  positive: string | null;
  /** regression: non-number tokens (below 1 %) to read as missing. */
  extraMissing: string[];
  /** regression: cells that are numbers but not finite ("inf", 1e400, "nan"): the spec must read them as missing. */
  nonfinite?: number;
}

/** A label that does not fit its task type: `message` says which column holds what, and what the type needs. */
export class LabelError extends Error {
  override name = "LabelError";
}

const POSITIVE = ["1", "yes", "y", "true", "t", "positive", "pos"];
const NEGATIVE = ["0", "no", "n", "false", "f", "negative", "neg"];

/** Check a task's label columns (sampled cells by column) against its type; throws LabelError when they do not fit. */
export function checkLabels(task: TaskRequest, cellsOf: (column: string) => readonly string[], missing: ReadonlySet<string>): LabelCheck {
  const stats = task.labels.map((c) => ({ column: c, st: columnStats(cellsOf(c), missing) }));
  for (const { column, st } of stats) if (st.missing === st.cells) throw new LabelError(`label column ${q(column)} is missing in all ${n(st.cells)} sampled rows`);
  const missNote = (st: ColumnStats) => (st.missing ? `, ${n(st.missing)} missing (those rows do not train it)` : "");
  const top = (st: ColumnStats, k = 10) => {
    const e = [...st.counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    return e.slice(0, k).map(([v, c]) => `${short(v)} ${n(c)}`).join(", ") + (e.length > k ? `, ... (${e.length} in all)` : "");
  };
  switch (task.type) {
    case "binary": {
      const { column, st } = stats[0];
      const values = [...st.counts.keys()];
      if (values.length !== 2) throw new LabelError(`label column ${q(column)} has ${values.length} distinct value${values.length === 1 ? "" : "s"} (${top(st)}); binary needs exactly two${values.length > 2 ? " (use multiclass, or regression for a score)" : ""}`);
      const nums = values.map((v) => parseFiniteNumber(v));
      if (nums.includes(0) && nums.includes(1)) return { summary: `binary: ${top(st)}; read as 0/1 (${q(values[nums.indexOf(1)])} → 1)${missNote(st)}`, positive: null, extraMissing: [] };
      const [pos, why] = positiveOf(values, st.counts);
      return { summary: `binary: ${top(st)}; ${q(pos)} → 1 (${why}; change tasks[].positive to flip)${missNote(st)}`, positive: pos, extraMissing: [] };
    }
    case "multiclass": {
      const { column, st } = stats[0];
      const k = st.counts.size;
      if (k < 2) throw new LabelError(`label column ${q(column)} has ${k} distinct value (${top(st)}); multiclass needs at least two classes`);
      const many = k > 100 || k > (st.cells - st.missing) / 2 ? `; ${n(k)} classes is a lot for ${n(st.cells - st.missing)} labelled rows: is it an identifier, or a regression target?` : "";
      return { summary: `multiclass: ${n(k)} classes (${top(st)})${missNote(st)}${many}`, positive: null, extraMissing: [] };
    }
    case "multilabel": {
      const parts = stats.map(({ column, st }) => {
        const bad = [...st.counts.keys()].filter((v) => parseFiniteNumber(v) !== 0 && parseFiniteNumber(v) !== 1);
        if (bad.length) throw new LabelError(`label column ${q(column)} holds ${bad.slice(0, 3).map(short).join(", ")}${bad.length > 3 ? ", ..." : ""}; multilabel labels must be 0 or 1`);
        const ones = [...st.counts].filter(([v]) => parseFiniteNumber(v) === 1).reduce((a, [, c]) => a + c, 0);
        return `${q(column)} ${n(ones)}/${n(st.cells - st.missing)} ones${st.missing ? ` (${n(st.missing)} missing)` : ""}`;
      });
      return { summary: `multilabel: ${parts.join(", ")}`, positive: null, extraMissing: [] };
    }
    case "regression": {
      const extra: string[] = [];
      const parts = stats.map(({ column, st }) => {
        const nonMissing = st.cells - st.missing;
        const rate = (st.numbers + st.nonfinite) / nonMissing;
        const bad = [...st.counts.keys()].filter((v) => parseFiniteNumber(v) === undefined);
        if (rate < NUMERIC_PARSE_RATE) throw new LabelError(`label column ${q(column)}: only ${pct(rate)} of ${n(nonMissing)} non-missing cells are numbers (e.g. ${bad.slice(0, 3).map(short).join(", ")}); regression needs numbers (a text label is multiclass)`);
        extra.push(...bad);
        let sum = 0, sq = 0, m = 0;
        for (const [v, c] of st.counts) {
          const x = parseFiniteNumber(v);
          if (typeof x === "number") (sum += c * x, sq += c * x * x, m += c);
        }
        const mean = sum / m, sd = Math.sqrt(Math.max(0, sq / m - mean * mean));
        return `${q(column)} mean ${fmt(mean)}, sd ${fmt(sd)}, range ${fmt(st.min)}…${fmt(st.max)}, ${n(st.counts.size)} distinct${st.missing ? `, ${n(st.missing)} missing` : ""}${bad.length ? `, read as missing: ${bad.slice(0, 5).map(short).join(", ")}` : ""}${st.nonfinite ? `, ${n(st.nonfinite)} not finite (read as missing)` : ""}`;
      });
      return { summary: `regression: ${parts.join("; ")}`, positive: null, extraMissing: extra, nonfinite: stats.reduce((a, x) => a + x.st.nonfinite, 0) };
    }
    case "tagging":
      throw new LabelError(`label column ${q(stats[0].column)}: tagging tasks need inputs.tokens, which mtl init does not write yet; write the spec by hand (README, "Text (preview)")`);
  }
}

/** The binary value read as 1, and why: a positive word (yes/true/1...), the other being a negative word, or the rarer value. */
function positiveOf(values: string[], counts: ReadonlyMap<string, number>): [string, string] {
  const lower = values.map((v) => v.toLowerCase());
  for (let i = 0; i < 2; i++) if (POSITIVE.includes(lower[i]) && !POSITIVE.includes(lower[1 - i])) return [values[i], "reads as yes"];
  for (let i = 0; i < 2; i++) if (NEGATIVE.includes(lower[i]) && !NEGATIVE.includes(lower[1 - i])) return [values[1 - i], `the other value, ${q(values[i])}, reads as no`];
  const [a, b] = values, ca = counts.get(a)!, cb = counts.get(b)!;
  if (ca !== cb) return ca < cb ? [a, "the rarer value"] : [b, "the rarer value"];
  return a < b ? [b, "equally frequent: the later in sorted order"] : [a, "equally frequent: the later in sorted order"];
}

/** Column names close to `name`: same ignoring case/spaces/punctuation, or within edit distance ⌊len/3⌋ (at most 3). */
export function closeMatches(name: string, columns: readonly string[], max = 3): string[] {
  const norm = (s: string) => s.toLowerCase().replace(/[\s_\-.]/g, "");
  const a = norm(name);
  const limit = Math.min(3, Math.max(1, Math.floor(name.length / 3)));
  return columns
    .map((c) => ({ c, d: norm(c) === a ? 0 : editDistance(name.toLowerCase(), c.toLowerCase()) }))
    .filter((x) => x.d <= limit)
    .sort((x, y) => x.d - y.d)
    .slice(0, max)
    .map((x) => x.c);
}

/** Edit distance counting an insertion, a deletion, a substitution or a swap of neighbours as 1 (optimal string alignment). */
export function editDistance(a: string, b: string): number {
  let prev2: number[] = [], prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) cur[j] = Math.min(cur[j], prev2[j - 2] + 1);
    }
    prev2 = prev;
    prev = cur;
  }
  return prev[b.length];
}
