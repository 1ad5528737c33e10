// The input contract of session.run (src/infer/session.ts), checked and converted here before either engine
// sees the input, so onnxruntime-web and the mtl engine accept, convert and refuse exactly the same things:
//   - tensors: an object keyed by input name; every declared input present, no other; each { type, data, dims }
//     with `type` the declared element type; float32 data only as a Float32Array (no silent rounding of a
//     Float64Array or a number[]); int64 data as a BigInt64Array, or converted losslessly from an Int32Array or
//     an array of integers (safe-integer numbers or int64 bigints); dims an array of non-negative integers
//     matching the declared shape, one batch size N for all inputs, with product(dims) = data.length;
//   - int64 index inputs whose range is known (mtl-wasm exports: each categorical column's vocabulary size + 1
//     and each group_by task's group count, from the metadata; other models: an index column feeding an embedding
//     table, Gather of a 2-D initializer, is bounded by the table's rows) must lie in [0, limit): an index outside
//     it is an error naming the input, row (from 1), column (from 0) and column name;
//   - rows: an array of objects keyed by column (only for mtl-wasm exports), encoded by encodeRows (rows.ts);
//   - NaN and ±Infinity in float inputs pass through unchecked (a row with a NaN input gets NaN outputs); an empty
//     batch (N = 0) is answered with empty outputs (session.ts) without calling an engine.
// Every error starts with the session's name. Portable.
import { DataType, type Dim, type GraphProto } from "../onnx/model.ts";
import type { InputTensor, ModelMeta } from "./rows.ts";

/** A tensor as session.run accepts it (converted to an InputTensor before an engine sees it). */
export interface RunTensor {
  /** The input's declared element type. */
  type: "float32" | "int64";
  /**
   * ∏ dims elements, row-major: float32 inputs take a Float32Array only; int64 inputs a BigInt64Array, or
   * (converted losslessly) an Int32Array or an array of safe integers or bigints.
   */
  data: Float32Array | BigInt64Array | Int32Array | readonly (number | bigint)[];
  /** Non-negative integers matching the declared shape, batch first. */
  dims: readonly number[];
}

interface Range {
  /** Valid indices are [0, limit). */
  limit: number;
  /** Column name for messages ("" when unknown), and the group_by task it belongs to. */
  column: string;
  task?: string;
  kind: "index" | "group";
}

/** One declared graph input, read once per session. */
export interface InputDecl {
  name: string;
  type: "float32" | "int64";
  /** Declared shape, or null when the graph leaves the rank unknown. */
  dims: Dim[] | null;
  /** "float32 [N, 3]", for messages. */
  want: string;
  /** Per column of an int64 [N, C] input: its index range when known. */
  ranges: (Range | null)[] | null;
}

/** The declared inputs of a session, with index ranges from the mtl metadata or the graph. */
export function inputDecls(graph: GraphProto, names: readonly string[], meta: ModelMeta | null): InputDecl[] {
  const graphRanges = embeddingRanges(graph);
  return names.map((n) => {
    const decl = graph.input.find((v) => v.name === n);
    const type = decl?.type?.elemType === DataType.INT64 ? "int64" : "float32";
    const dims = decl?.type?.shape ?? null;
    const want = `${type} ${dims ? `[${dims.map((d) => d ?? "?").join(", ")}]` : "(any shape)"}`;
    let ranges: (Range | null)[] | null = null;
    if (type === "int64") {
      ranges = (meta && metaRanges(meta, n)) ?? graphRanges.get(n) ?? null;
      if (ranges && !ranges.some((r) => r)) ranges = null;
    }
    return { name: n, type, dims, want, ranges };
  });
}

/** mtl-wasm exports: categorical column j takes [0, vocab + 1) (0 = unknown), group column j takes [0, groups), token ids [0, vocab + 2). */
function metaRanges(meta: ModelMeta, input: string): (Range | null)[] | null {
  if (input === "categorical") {
    return meta.pre.categorical.map((c) => ({ limit: c.vocab.length + 1, column: c.column, kind: "index" as const }));
  }
  if (input === "tokens" && meta.pre.tokens) {
    // Every position takes an id in [0, vocabulary + 2) (0 padding, 1 unknown).
    const t = meta.pre.tokens, r = { limit: t.vocab.length + 2, column: t.column, kind: "index" as const };
    return Array.from({ length: t.max_length }, () => r);
  }
  if (input === "groups") {
    return meta.spec.tasks.flatMap((t, i) => {
      if (!t.group_by) return [];
      const groups = meta.pre.tasks[i]?.groups;
      return [groups ? { limit: groups.length, column: t.group_by, task: t.name, kind: "group" as const } : null];
    });
  }
  return null;
}

/** Gather(input, scalar col, axis 1) whose only reader is Gather(table initializer [V, d], ·, axis 0): column col takes [0, V). */
function embeddingRanges(graph: GraphProto): Map<string, (Range | null)[]> {
  const out = new Map<string, (Range | null)[]>();
  const inits = new Map(graph.initializer.map((t) => [t.name, t]));
  const int64Inputs = new Set(graph.input.filter((v) => v.type?.elemType === DataType.INT64 && !inits.has(v.name)).map((v) => v.name));
  const axis = (node: GraphProto["node"][number]) => Number(node.attribute.find((a) => a.name === "axis")?.value ?? 0);
  for (const node of graph.node) {
    if (node.opType !== "Gather" || node.domain !== "" || axis(node) !== 1 || !int64Inputs.has(node.input[0])) continue;
    const colT = inits.get(node.input[1]);
    if (!colT || colT.data.length !== 1 || colT.dims.length > 1) continue;
    const col = Number(colT.data[0]);
    const readers = graph.node.filter((m) => m.input.includes(node.output[0]));
    if (readers.length !== 1) continue;
    const r = readers[0];
    const table = inits.get(r.input[0]);
    if (r.opType !== "Gather" || r.input[1] !== node.output[0] || axis(r) !== 0 || !table || table.dims.length !== 2) continue;
    const list = out.get(node.input[0]) ?? [];
    list[col] = { limit: table.dims[0], column: "", kind: "index" };
    out.set(node.input[0], list);
  }
  for (const list of out.values()) for (let i = 0; i < list.length; i++) list[i] ??= null;
  return out;
}

/** "null", "a string (\"x\")", "an array", "a Float64Array", … for messages. */
export function describe(v: unknown): string {
  if (v === null) return "null";
  if (v === undefined) return "undefined";
  if (Array.isArray(v)) return "an array";
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`;
  if (typeof v === "object") return v.constructor && v.constructor !== Object ? `a ${v.constructor.name}` : "an object";
  const t = typeof v;
  const shown = t === "bigint" ? `${String(v)}n` : t === "symbol" || t === "function" ? "" : JSON.stringify(v).slice(0, 40);
  return `${/^[aeiou]/.test(t) ? "an" : "a"} ${t}${shown ? ` (${shown})` : ""}`;
}

/** Rows must be plain objects keyed by column. */
export function checkRows(rows: readonly unknown[], name: string): void {
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    if (typeof r !== "object" || r === null || Array.isArray(r) || ArrayBuffer.isView(r)) throw new Error(`${name}: row ${i + 1} is ${describe(r)}, expected an object keyed by column`);
  }
}

/**
 * Check `input` (tensors keyed by input name) against the declarations and convert it to engine-ready tensors
 * (Float32Array / BigInt64Array data, plain dims). Returns the feeds and the batch size N (the first dim of the
 * first input; null when there is none).
 */
export function prepareFeeds(decls: readonly InputDecl[], input: unknown, name: string): { feeds: Record<string, InputTensor>; batch: number | null } {
  const names = decls.map((d) => d.name);
  if (typeof input !== "object" || input === null || ArrayBuffer.isView(input))
    throw new Error(`${name}: run() takes rows (an array of objects keyed by column) or tensors (an object keyed by input name: ${names.join(", ")}), not ${describe(input)}`);
  const given = input as Record<string, unknown>;
  for (const n of Object.keys(given)) if (!names.includes(n)) throw new Error(`${name}: unknown input ${JSON.stringify(n)}; inputs are ${names.join(", ")}`);
  const feeds: Record<string, InputTensor> = {};
  const symbols = new Map<string, number>();
  const bound = () => (symbols.size ? ` (${[...symbols].map(([s, v]) => `${s} = ${v}`).join(", ")})` : "");
  for (const d of decls) {
    const t = given[d.name];
    const what = `input ${JSON.stringify(d.name)}`;
    if (t === undefined) throw new Error(`${name}: missing input ${JSON.stringify(d.name)} (${d.want}); inputs are ${names.join(", ")}`);
    if (typeof t !== "object" || t === null || Array.isArray(t) || ArrayBuffer.isView(t))
      throw new Error(`${name}: ${what} is ${describe(t)}, expected a tensor { type, data, dims } of ${d.want}`);
    const { type, data, dims } = t as Record<string, unknown>;
    if (type !== d.type) throw new Error(`${name}: ${what} has type ${type === undefined ? "undefined" : JSON.stringify(type)}, expected ${d.want}`);
    // dims: non-negative integers, matching the declaration (symbols such as N bound once across inputs).
    if (!Array.isArray(dims) || !dims.every((x) => Number.isSafeInteger(x) && x >= 0))
      throw new Error(`${name}: ${what} has dims ${Array.isArray(dims) ? `[${dims.map((x) => (typeof x === "number" ? String(x) : describe(x))).join(", ")}]` : describe(dims)}, expected an array of sizes for ${d.want}`);
    const values = d.type === "float32" ? toFloat32(data, what, d.want, name) : toInt64(data, what, d.want, name);
    let size = 1;
    for (const x of dims) size *= x;
    let ok = size === values.length && (d.dims === null || dims.length === d.dims.length);
    for (let i = 0; ok && d.dims && i < d.dims.length; i++) {
      const want = d.dims[i];
      if (typeof want === "number") ok = want === dims[i];
      else if (typeof want === "string") {
        const seen = symbols.get(want);
        if (seen === undefined) symbols.set(want, dims[i]);
        ok = seen === undefined || seen === dims[i];
      }
    }
    if (!ok) throw new Error(`${name}: ${what} has shape [${dims}] with ${values.length} values, expected ${d.want}${bound()}`);
    if (d.ranges && values instanceof BigInt64Array && dims.length === 2) checkRanges(values, dims[1], d, name);
    feeds[d.name] = d.type === "float32" ? { type: "float32", data: values, dims: [...dims] } : { type: "int64", data: values, dims: [...dims] };
  }
  const first = decls.length ? feeds[decls[0].name] : null;
  return { feeds, batch: first && first.dims.length ? first.dims[0] : null };
}

function toFloat32(data: unknown, what: string, want: string, name: string): Float32Array {
  if (data instanceof Float32Array) return data;
  const hint = data instanceof Float64Array || Array.isArray(data) ? " (Float32Array.from(data) rounds it to float32)" : "";
  throw new Error(`${name}: ${what} is ${describe(data)}, expected ${want} as a Float32Array${hint}`);
}

const I64_MIN = -(2n ** 63n), I64_MAX = 2n ** 63n - 1n;

function toInt64(data: unknown, what: string, want: string, name: string): BigInt64Array {
  if (data instanceof BigInt64Array) return data;
  if (data instanceof Int32Array) {
    const out = new BigInt64Array(data.length);
    for (let i = 0; i < data.length; i++) out[i] = BigInt(data[i]);
    return out;
  }
  if (Array.isArray(data)) {
    const out = new BigInt64Array(data.length);
    for (let i = 0; i < data.length; i++) {
      const v: unknown = data[i];
      if (typeof v === "number" && Number.isSafeInteger(v)) out[i] = BigInt(v);
      else if (typeof v === "bigint" && v >= I64_MIN && v <= I64_MAX) out[i] = v;
      else throw new Error(`${name}: ${what} element ${i} is ${describe(v)}, expected an integer (${want})`);
    }
    return out;
  }
  throw new Error(`${name}: ${what} is ${describe(data)}, expected ${want} as a BigInt64Array, an Int32Array or an array of integers`);
}

function checkRanges(data: BigInt64Array, C: number, d: InputDecl, name: string): void {
  const ranges = d.ranges!;
  const lim = ranges.map((r) => (r ? BigInt(r.limit) : null));
  for (let i = 0; i < data.length; i++) {
    const j = i % C, limit = lim[j];
    if (limit === null || limit === undefined) continue;
    const v = data[i];
    if (v >= 0n && v < limit) continue;
    const r = ranges[j]!;
    throw new Error(`${name}: input ${JSON.stringify(d.name)} row ${Math.floor(i / C) + 1}, column ${j}${r.column ? ` (${JSON.stringify(r.column)}${r.task ? `, task ${r.task}` : ""})` : ""}: ${r.kind} ${v} is outside [0, ${r.limit})`);
  }
}
