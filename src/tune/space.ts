// The search space of `mtl tune`: range objects inside a spec's JSON, sampled into concrete specs BEFORE validateSpec
// (which knows nothing of ranges). A range object is a JSON object with exactly one of these keys:
//   {"log_uniform": [a, b]}  0 < a < b: exp(U[ln a, ln b))
//   {"uniform": [a, b]}      a < b: U[a, b)
//   {"int": [a, b]}          integers a ≤ b: one of a, a + 1, …, b (both ends included), each with probability 1/(b − a + 1)
//   {"choice": [v0, v1, …]}  one of the values (any JSON), each with probability 1/n; ranges inside values are not searched
// A range may stand for any field (training.optimizer.lr, architecture.experts, a layer's units, training.weighting, …),
// except the split's: data.*, training.seed and training.validation (every trial uses the same split).
import { SpecError } from "../model/spec.ts";

export const RANGE_KINDS = ["log_uniform", "uniform", "int", "choice"] as const;
export type RangeKind = (typeof RANGE_KINDS)[number];

/** One searched field: where it is (a path as SpecError names fields, e.g. `architecture.layers[0].units`) and its range. */
export interface Range {
  path: string;
  /** The keys from the root to the field (strings for object keys, numbers for array indices). */
  keys: (string | number)[];
  kind: RangeKind;
  /** [a, b] for log_uniform, uniform and int; the values for choice. */
  values: unknown[];
}

/** Fields whose value fixes the train/validation split: the same for every trial, so never a range. */
const SPLIT_FIELDS = [/^data(\.|$)/, /^training\.seed$/, /^training\.validation$/];

/** The JSON object `x` is a range object (one key, a range kind). */
export function isRange(x: unknown): x is Record<RangeKind, unknown[]> {
  if (typeof x !== "object" || x === null || Array.isArray(x)) return false;
  const keys = Object.keys(x);
  return keys.length === 1 && (RANGE_KINDS as readonly string[]).includes(keys[0]);
}

const pathOf = (keys: (string | number)[]): string => keys.map((k, i) => (typeof k === "number" ? `[${k}]` : i ? `.${k}` : k)).join("");

/** Every range in `json`, in document order, each checked (a SpecError names the field and what was expected). */
export function findRanges(json: unknown): Range[] {
  const out: Range[] = [];
  const walk = (x: unknown, keys: (string | number)[]) => {
    if (isRange(x)) {
      out.push(checkRange(x, keys));
      return;
    }
    if (Array.isArray(x)) x.forEach((v, i) => walk(v, [...keys, i]));
    else if (typeof x === "object" && x !== null) for (const [k, v] of Object.entries(x)) walk(v, [...keys, k]);
  };
  walk(json, []);
  return out;
}

function checkRange(x: Record<string, unknown>, keys: (string | number)[]): Range {
  const path = pathOf(keys);
  const kind = Object.keys(x)[0] as RangeKind;
  const v = x[kind];
  const what = `{"${kind}": ${JSON.stringify(v)}}`;
  if (SPLIT_FIELDS.some((re) => re.test(path))) throw new SpecError(path, `is a search range ${what}, but it sets the train/validation split, which every trial shares; give one value`);
  if (!Array.isArray(v)) throw new SpecError(path, `${what}: expected an array after "${kind}"`);
  if (kind === "choice") {
    if (v.length < 1) throw new SpecError(path, `${what}: expected at least one value to choose from`);
    return { path, keys, kind, values: v };
  }
  if (v.length !== 2 || !v.every((n) => typeof n === "number" && Number.isFinite(n))) throw new SpecError(path, `${what}: expected two finite numbers [low, high]`);
  const [a, b] = v as number[];
  if (kind === "int" && !(Number.isInteger(a) && Number.isInteger(b))) throw new SpecError(path, `${what}: expected two integers [low, high] (both included)`);
  if (kind === "log_uniform" && !(a > 0)) throw new SpecError(path, `${what}: expected low > 0 (sampled in log space)`);
  if (kind === "int" ? a > b : a >= b) throw new SpecError(path, `${what}: expected low ${kind === "int" ? "≤" : "<"} high`);
  return { path, keys, kind, values: [a, b] };
}

/** One value of `r` from a uniform u ∈ [0, 1). */
export function drawValue(r: Range, u: number): unknown {
  if (r.kind === "choice") return r.values[Math.min(r.values.length - 1, Math.floor(u * r.values.length))];
  const [a, b] = r.values as number[];
  if (r.kind === "int") return Math.min(b, a + Math.floor(u * (b - a + 1)));
  if (r.kind === "uniform") return a + (b - a) * u;
  return Math.exp(Math.log(a) + (Math.log(b) - Math.log(a)) * u);
}

/** `json` with each range replaced by its value (`values[i]` for `ranges[i]`); `json` is not modified. */
export function resolveRanges(json: unknown, ranges: readonly Range[], values: readonly unknown[]): unknown {
  const copy = structuredClone(json) as Record<string | number, unknown>;
  ranges.forEach((r, i) => {
    let node = copy;
    for (const k of r.keys.slice(0, -1)) node = node[k] as Record<string | number, unknown>;
    node[r.keys[r.keys.length - 1]] = structuredClone(values[i]);
  });
  return copy;
}

/**
 * The seeded stream of trial `trial` under search seed `seed`: uniforms in [0, 1) (mulberry32 over a hash of both),
 * so trial i's values do not depend on how many trials run.
 */
export function trialStream(seed: number, trial: number): () => number {
  let s = Math.imul((seed >>> 0) ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(trial + 1, 0xc2b2ae35);
  s = (s ^ (s >>> 16)) >>> 0;
  return () => {
    let t = (s = (s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Trial `trial`'s values, one per range in order, drawn from its stream. */
export function sampleTrial(ranges: readonly Range[], seed: number, trial: number): unknown[] {
  const u = trialStream(seed, trial);
  return ranges.map((r) => drawValue(r, u()));
}

/** The path of the first range object in `json` (unchecked), or null: for commands that take only concrete specs. */
export function firstRangePath(json: unknown, keys: (string | number)[] = []): string | null {
  if (isRange(json)) return pathOf(keys);
  const entries: [string | number, unknown][] = Array.isArray(json) ? json.map((v, i) => [i, v]) : typeof json === "object" && json !== null ? Object.entries(json) : [];
  for (const [k, v] of entries) {
    const p = firstRangePath(v, [...keys, k]);
    if (p) return p;
  }
  return null;
}
