// Shared fuzzing harness for test/fuzz/*.test.ts (fast-check properties, run by uvu like every other suite).
//
//   FUZZ_RUNS    cases per property (default 100: the whole fuzz suite adds ~10 s to `npm test` on 2 cores)
//   FUZZ_SEED    fast-check seed (default fixed, so CI is reproducible; `npm run fuzz -- --seed S` changes it)
//   FUZZ_BUDGET_MS  per-case time budget (default 1000): a case that takes longer counts as a hang
//   FUZZ_SURVEY  1: never fail a property; count every outcome class and keep the smallest input of each bad class
//   FUZZ_REPORT  1: print the outcome classes of every property when the process exits (tools/fuzz.mjs sets it)
//
// Each case's outcome is classified: "value" (accepted), "Error:<name>" (a named Error: its message names the file,
// JSON path, tensor or input), or a bad class that fails the property: "bare:<TypeError|RangeError|SyntaxError|
// RuntimeError>", "unnamed:<name>" (an Error that does not say where), "hang" (over the budget), or "wrong:<what>"
// (an accepted value that breaks an invariant, e.g. a non-finite number let through).
import fc from "fast-check";

export { fc };

const int = (v: string | undefined, d: number) => (v !== undefined && v !== "" && Number.isFinite(+v) ? Math.trunc(+v) : d);
export const RUNS = Math.max(1, int(process.env.FUZZ_RUNS, 100));
export const SEED = int(process.env.FUZZ_SEED, 0x5eed2026);
export const BUDGET_MS = Math.max(1, int(process.env.FUZZ_BUDGET_MS, 1000));
export const SURVEY = process.env.FUZZ_SURVEY === "1";
const REPORT = process.env.FUZZ_REPORT === "1";

/**
 * fast-check parameters for one property: `scale` multiplies FUZZ_RUNS (cheap properties run more cases). A failure
 * is shrunk, then reported compactly (the property's own message, the shrunk input cut to 1,500 characters, and the
 * seed/path that replays it) instead of fast-check's full dump, which can be megabytes for the deep-nesting cases.
 */
export function params(scale = 1): fc.Parameters<any> {
  const report = (d: fc.RunDetails<unknown>) => {
    if (!d.failed) return;
    const err = d.errorInstance as Error | undefined;
    const msg = err?.message ?? String(err);
    throw new Error(
      `property failed after ${d.numRuns} cases (${d.numShrinks} shrinks); replay with FUZZ_SEED=${d.seed} (fast-check path ${JSON.stringify(d.counterexamplePath)})\n` +
        `  ${msg.length > 2000 ? msg.slice(0, 2000) + "…" : msg}\n  shrunk input: ${short(d.counterexample, 1500)}`,
    );
  };
  return { numRuns: Math.max(1, Math.round(RUNS * scale)), seed: SEED, reporter: report };
}

export type Outcome = { ok: true; value: unknown; ms: number } | { ok: false; error: unknown; ms: number };

class Hang extends Error {}

/** Run one case (sync or async), measuring it; an async case still pending after 10 budgets is abandoned as a hang. */
export async function attempt(f: () => unknown): Promise<Outcome> {
  const t0 = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const p = Promise.resolve().then(f);
    const value = await Promise.race([p, new Promise((_, rej) => (timer = setTimeout(() => rej(new Hang("pending")), BUDGET_MS * 10)))]);
    return { ok: true, value, ms: performance.now() - t0 };
  } catch (error) {
    return { ok: false, error, ms: performance.now() - t0 };
  } finally {
    clearTimeout(timer);
  }
}

const BARE = new Set(["TypeError", "RangeError", "SyntaxError", "RuntimeError", "CompileError", "LinkError", "ReferenceError", "InternalError"]);

/** What must appear in an error for it to count as named: strings to find in the message, or a predicate. */
export type Naming = readonly string[] | ((e: Error) => boolean);

/** The outcome class (see the file comment). */
export function classify(o: Outcome, naming: Naming): string {
  if (o.ms > BUDGET_MS || (!o.ok && o.error instanceof Hang)) return "hang";
  if (o.ok) return "value";
  const e = o.error;
  if (e instanceof WebAssembly.RuntimeError) return "bare:RuntimeError";
  if (!(e instanceof Error)) return `unnamed:thrown ${typeof e}`;
  const ctor = e.constructor?.name ?? e.name;
  if (BARE.has(ctor) || BARE.has(e.name)) return `bare:${ctor}`;
  const named = typeof naming === "function" ? naming(e) : naming.some((s) => s && e.message.includes(s));
  return named ? `Error:${e.name === "Error" ? ctor : e.name}` : `unnamed:${e.name}`;
}

const isBad = (cls: string) => cls === "hang" || cls.startsWith("bare:") || cls.startsWith("unnamed:") || cls.startsWith("wrong:");

interface Stat {
  cases: number;
  classes: Map<string, number>;
  /** Smallest reproducer seen per bad class, with its message. */
  worst: Map<string, { repro: string; message: string }>;
}
const stats = new Map<string, Stat>();

function short(x: unknown, n = 400): string {
  let s: string;
  try {
    s = typeof x === "string" ? JSON.stringify(x) : JSON.stringify(x, (_k, v) => (typeof v === "bigint" ? `${v}n` : ArrayBuffer.isView(v) ? `${v.constructor.name}(${Array.from(v as unknown as ArrayLike<number>).slice(0, 64).join(",")})` : v === undefined ? "undefined" : typeof v === "number" && !Number.isFinite(v) ? String(v) : Object.is(v, -0) ? "-0" : v));
  } catch (e) {
    s = `<unprintable: ${(e as Error).message}>`;
  }
  s ??= String(x);
  // Long runs (deep nesting, padding) print as ⟨unit⟩×count.
  s = s.replace(/(.{1,8}?)\1{15,}/gs, (m, unit: string) => `⟨${unit}⟩×${m.length / unit.length}`);
  return s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s;
}

/**
 * Record one case of `property` and fail it (throw) when its class is bad, unless FUZZ_SURVEY=1. `repro` describes
 * the input (shown on failure and kept in the survey when it is the smallest of its class so far).
 */
export function verdict(property: string, cls: string, repro: unknown, detail = ""): void {
  let s = stats.get(property);
  if (!s) stats.set(property, (s = { cases: 0, classes: new Map(), worst: new Map() }));
  s.cases++;
  s.classes.set(cls, (s.classes.get(cls) ?? 0) + 1);
  if (!isBad(cls)) return;
  const r = short(repro);
  const prev = s.worst.get(cls);
  if (!prev || r.length < prev.repro.length) s.worst.set(cls, { repro: r, message: detail.slice(0, 300) });
  if (!SURVEY) throw new Error(`${property}: ${cls}${detail ? ` — ${detail.slice(0, 500)}` : ""}\n  input: ${r}`);
}

/** classify + verdict in one call; returns the class. */
export function judge(property: string, o: Outcome, naming: Naming, repro: unknown): string {
  const cls = classify(o, naming);
  const detail = o.ok ? (cls === "hang" ? `accepted after ${o.ms.toFixed(0)} ms` : "") : `${(o.error as Error)?.name}: ${(o.error as Error)?.message ?? o.error}${cls === "hang" ? ` after ${o.ms.toFixed(0)} ms` : ""}`;
  verdict(property, cls, repro, detail);
  return cls;
}

if (REPORT) {
  process.on("exit", () => {
    for (const [p, s] of stats) {
      const classes = [...s.classes].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c}=${n}`).join(" ");
      console.log(`FUZZ ${p}: ${s.cases} cases: ${classes}`);
      for (const [c, w] of s.worst) console.log(`  BAD ${c}: ${w.message}\n      smallest input: ${w.repro}`);
    }
    console.log(`FUZZ seed=${SEED} runs=${RUNS} budget=${BUDGET_MS}ms survey=${SURVEY ? 1 : 0}`);
  });
}

// ---- mutations --------------------------------------------------------------------------------------------------

/** One byte-level mutation; positions are fractions of the current length so they apply to any input. */
export type ByteMutation =
  | { op: "flip"; at: number; bit: number }
  | { op: "set"; at: number; byte: number }
  | { op: "truncate"; at: number }
  | { op: "insert"; at: number; bytes: Uint8Array }
  | { op: "delete"; at: number; len: number }
  | { op: "duplicate"; at: number; len: number }
  | { op: "swap"; a: number; b: number; len: number };

const frac = fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true });
/** Bytes that tend to matter: varint continuation bits, 0xff, quotes, separators, newlines, braces, high bits. */
const special = fc.constantFrom(0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe, 0x22, 0x2c, 0x3b, 0x0a, 0x0d, 0x7b, 0x7d, 0x5b, 0x5d, 0x3a, 0x20, 0x1f, 0x8b, 0xc0, 0xed);
export const byteMutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  fc.record({ op: fc.constant("flip" as const), at: frac, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant("set" as const), at: frac, byte: fc.oneof(special, fc.integer({ min: 0, max: 255 })) }),
  fc.record({ op: fc.constant("truncate" as const), at: frac }),
  fc.record({ op: fc.constant("insert" as const), at: frac, bytes: fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 12 }), fc.array(special, { minLength: 1, maxLength: 12 }).map((a) => Uint8Array.from(a))) }),
  fc.record({ op: fc.constant("delete" as const), at: frac, len: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ op: fc.constant("duplicate" as const), at: frac, len: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ op: fc.constant("swap" as const), a: frac, b: frac, len: fc.integer({ min: 1, max: 16 }) }),
);
export const byteMutations = fc.array(byteMutation, { minLength: 1, maxLength: 4 });

/** Apply mutations in order; returns a new array. */
export function mutateBytes(input: Uint8Array, muts: readonly ByteMutation[]): Uint8Array {
  let b: Uint8Array = Uint8Array.from(input);
  const pos = (f: number, n = b.length) => Math.min(n, Math.floor(f * (n + 1)));
  for (const m of muts) {
    switch (m.op) {
      case "flip":
        if (b.length) b[pos(m.at, b.length - 1)] ^= 1 << m.bit;
        break;
      case "set":
        if (b.length) b[pos(m.at, b.length - 1)] = m.byte;
        break;
      case "truncate":
        b = b.slice(0, pos(m.at));
        break;
      case "insert": {
        const p = pos(m.at);
        b = concat([b.subarray(0, p), m.bytes, b.subarray(p)]);
        break;
      }
      case "delete": {
        const p = pos(m.at);
        b = concat([b.subarray(0, p), b.subarray(Math.min(b.length, p + m.len))]);
        break;
      }
      case "duplicate": {
        const p = pos(m.at);
        b = concat([b.subarray(0, p), b.subarray(p, p + m.len), b.subarray(p)]);
        break;
      }
      case "swap": {
        let p = pos(m.a), q = pos(m.b);
        if (p > q) [p, q] = [q, p];
        const len = Math.min(m.len, q - p, b.length - q);
        if (len > 0) {
          const x = b.slice(p, p + len), y = b.slice(q, q + len);
          b.set(y, p);
          b.set(x, q);
        }
        break;
      }
    }
  }
  return b;
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) out.set(p, o), (o += p.length);
  return out;
}

/** Deeply nested JSON text: `[[[…0…]]]` or `{"a":{"a":…}}`. */
export function deepJsonText(depth: number, kind: "array" | "object"): string {
  return kind === "array" ? "[".repeat(depth) + "0" + "]".repeat(depth) : '{"a":'.repeat(depth) + "0" + "}".repeat(depth);
}

/** Tokens inserted into text formats: extreme numbers, quotes, separators, control and odd Unicode characters. */
export const TEXT_TOKENS = [
  "1e400", "-1e400", "1e-400", "-0", "NaN", "Infinity", "-Infinity", "+Infinity", "0x1F", "1_000", "9".repeat(400), "0." + "0".repeat(400) + "1",
  '"', '""', ",", ";", "\t", "\n", "\r", "\r\n", "\u0000", "\uFEFF", "\uFFFD", "\u2028", "é", "😀", "?", " ", "{", "}", "[", "]", ":", "null", "true",
];

/** A text mutation: insert a token, or replace a run of characters with one. */
export const textMutation = fc.record({ at: frac, len: fc.integer({ min: 0, max: 8 }), token: fc.oneof(fc.constantFrom(...TEXT_TOKENS), fc.string({ maxLength: 6, unit: "binary" })) });
export type TextMutation = { at: number; len: number; token: string };
export function mutateText(s: string, muts: readonly TextMutation[]): string {
  for (const m of muts) {
    const p = Math.min(s.length, Math.floor(m.at * (s.length + 1)));
    s = s.slice(0, p) + m.token + s.slice(Math.min(s.length, p + m.len));
  }
  return s;
}

// ---- JSON value mutations (spec, safetensors header, ONNX metadata) ----------------------------------------------

type Path = (string | number)[];

/** Every path in a JSON value (objects and arrays), root first, depth-first; at most `limit`. */
export function jsonPaths(v: unknown, limit = 2000): Path[] {
  const out: Path[] = [[]];
  const walk = (x: unknown, p: Path) => {
    if (out.length >= limit || x === null || typeof x !== "object") return;
    for (const k of Array.isArray(x) ? x.keys() : Object.keys(x)) {
      const q = [...p, k];
      out.push(q);
      walk((x as Record<string | number, unknown>)[k], q);
    }
  };
  walk(v, []);
  return out;
}

function getAt(v: unknown, p: Path): unknown {
  for (const k of p) v = (v as Record<string | number, unknown>)[k];
  return v;
}

function setAt(root: unknown, p: Path, value: unknown): unknown {
  if (!p.length) return value;
  const parent = getAt(root, p.slice(0, -1)) as Record<string | number, unknown>;
  Object.defineProperty(parent, p[p.length - 1], { value, enumerable: true, writable: true, configurable: true });
  return root;
}

const deepArray = (d: number): unknown => {
  let x: unknown = 0;
  for (let i = 0; i < d; i++) x = [x];
  return x;
};
const deepObject = (d: number): unknown => {
  let x: unknown = 0;
  for (let i = 0; i < d; i++) x = { a: x };
  return x;
};

/**
 * Replacement values. Non-JSON ones (NaN, ±Infinity, -0, big integers) are kept as JS values for object-level targets
 * (validateSpec takes parsed JSON, and a caller may build it by hand); text-level targets write them as raw tokens
 * (see jsonText): 1e400, -1e400, NaN, -0, 18446744073709551616; the strings "\u0002[50000" / "\u0002{50000" become
 * 50,000-deep nested arrays / objects there (too deep to build as values: JSON.stringify itself would overflow).
 */
export const EXTREMES: readonly (() => unknown)[] = [
  () => Infinity, () => -Infinity, () => NaN, () => -0, () => 1e308, () => -1e308, () => 2 ** 53, () => 2 ** 53 + 2, () => 2 ** 64, () => -1, () => 0, () => 1.5,
  () => 5e-324, () => 0.1, () => 1, () => 2 ** 31, () => "", () => "x", () => "1e400", () => " ", () => "a".repeat(70000), () => true, () => false, () => null, () => [], () => ({}),
  () => [1, 2, 3], () => ["a", "b"], () => deepArray(1000), () => deepObject(1000), () => "\u0002[50000", () => "\u0002{50000", () => "__proto__", () => "constructor", () => "\u0000", () => "😀",
];

export type JsonMutation =
  | { op: "replace"; at: number; with: number }
  | { op: "delete"; at: number }
  | { op: "addKey"; at: number; key: string; with: number }
  | { op: "swap"; at: number; other: number }
  | { op: "wrap"; at: number; array: boolean };

export const jsonMutation: fc.Arbitrary<JsonMutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant("replace" as const), at: frac, with: fc.nat(EXTREMES.length - 1) }) },
  fc.record({ op: fc.constant("delete" as const), at: frac }),
  fc.record({ op: fc.constant("addKey" as const), at: frac, key: fc.constantFrom("__proto__", "constructor", "bogus", "", "type", "shape", "name", "0"), with: fc.nat(EXTREMES.length - 1) }),
  fc.record({ op: fc.constant("swap" as const), at: frac, other: frac }),
  fc.record({ op: fc.constant("wrap" as const), at: frac, array: fc.boolean() }),
);
export const jsonMutations = fc.array(jsonMutation, { minLength: 1, maxLength: 3 });

/** Apply JSON mutations to a deep copy of `value` (paths are picked among the current value's paths). */
export function mutateJson(value: unknown, muts: readonly JsonMutation[]): unknown {
  let root = structuredClone(value);
  for (const m of muts) {
    const paths = jsonPaths(root);
    const p = paths[Math.floor(m.at * paths.length)];
    const cur = getAt(root, p);
    switch (m.op) {
      case "replace":
        root = setAt(root, p, EXTREMES[m.with]());
        break;
      case "delete":
        if (!p.length) root = undefined;
        else {
          const parent = getAt(root, p.slice(0, -1));
          if (Array.isArray(parent)) parent.splice(p[p.length - 1] as number, 1);
          else delete (parent as Record<string, unknown>)[p[p.length - 1]];
        }
        break;
      case "addKey":
        if (cur !== null && typeof cur === "object" && !Array.isArray(cur)) Object.defineProperty(cur, m.key, { value: EXTREMES[m.with](), enumerable: true, writable: true, configurable: true });
        else if (Array.isArray(cur)) cur.push(EXTREMES[m.with]());
        break;
      case "swap": {
        const q = paths[Math.floor(m.other * paths.length)];
        const isPrefix = (a: Path, b: Path) => a.length <= b.length && a.every((k, i) => b[i] === k);
        if (isPrefix(p, q) || isPrefix(q, p)) break;
        const a = getAt(root, p), b = getAt(root, q);
        setAt(root, p, b);
        setAt(root, q, a);
        break;
      }
      case "wrap":
        root = setAt(root, p, m.array ? [cur] : { v: cur });
        break;
    }
  }
  return root;
}

/** JSON text of a value, writing non-JSON numbers as raw tokens (1e400, -1e400, NaN, -0, 2^64 as an integer). */
export function jsonText(v: unknown): string {
  const marks: string[] = [];
  const s = JSON.stringify(v, (_k, x) => {
    if (typeof x === "number" && (!Number.isFinite(x) || Object.is(x, -0) || x >= 2 ** 64)) {
      marks.push(Number.isNaN(x) ? "NaN" : x === Infinity ? "1e400" : x === -Infinity ? "-1e400" : Object.is(x, -0) ? "-0" : "18446744073709551616");
      return `\u0001${marks.length - 1}\u0001`;
    }
    if (typeof x === "string" && /^\u0002[[{]\d+$/.test(x)) {
      marks.push(deepJsonText(+x.slice(2), x[1] === "[" ? "array" : "object"));
      return `\u0001${marks.length - 1}\u0001`;
    }
    return x;
  });
  return s === undefined ? "" : s.replace(/"\\u0001(\d+)\\u0001"/g, (_m, i) => marks[+i]);
}
