// Encoding raw rows for an exported model: the vocabularies and column lists travel inside the ONNX
// file (metadata_props), so a client needs nothing but the model bytes. Portable.
import { decodeModel, type ModelProto } from "../onnx/model.ts";
import { validateSpec, type ModelSpec } from "../model/spec.ts";
import type { Preprocessing } from "../data/preprocess.ts";
import { isFiniteFloat32, nonFiniteMessage, parseFiniteNumber } from "../data/table.ts";
import { closeMatches } from "../data/infer-columns.ts";
import { encodeTokens } from "../data/tokens.ts";

/** The mtl metadata of an exported model (its metadata_props), all a client needs to encode raw rows. */
export interface ModelMeta {
  /** The model's spec, validated again on reading (so its defaults are filled in). */
  spec: ModelSpec;
  /** The preprocessing fitted on the training rows: numeric means and standard deviations, vocabularies, classes, groups. */
  pre: Preprocessing;
  /** Input name → its columns in order (see src/onnx/export.ts). */
  inputs: Record<string, string[]>;
  /** Output name → values per row (a tagging output [N, L, tags]: L·tags with L = inputs.tokens.max_length). */
  outputs: Record<string, number>;
}

/** A named input tensor, engine-neutral. */
export interface InputTensor {
  /** Element type: "float32" (numeric features, data a Float32Array) or "int64" (category and group indices, a BigInt64Array). */
  type: "float32" | "int64";
  /** The elements, row-major in `dims` (data.length = product of dims). */
  data: Float32Array | BigInt64Array;
  /** Shape in elements, [N, width] for N rows (e.g. numeric: [N, numeric columns]). */
  dims: number[];
}

/**
 * A raw row, keyed by column name: numbers or strings (trimmed, parsed as the training data's cells); null, "" and
 * the spec's missing tokens are missing values.
 */
export type Row = Record<string, string | number | null | undefined>;

/** Options of encodeRows (and of session.run and Trained.predict, which take rows through it). */
export interface EncodeOptions {
  /**
   * A row without an input column (the key absent, or its value undefined): "error" (default) throws naming the row,
   * the column and the row's keys that are close to it (a misspelling, another case); "impute" reads it as a missing
   * value (numeric: the training mean; categorical: the unknown bucket). An explicit null, "" or a missing token is
   * always a missing value.
   */
  missing?: "error" | "impute";
}

/**
 * Read the mtl metadata of an exported model (throws when the file was not written by mtl-wasm). A missing or
 * corrupt entry is an error naming the file and the metadata key: `model.onnx: metadata "mtl.spec" is not valid JSON (…)`.
 */
export function modelMeta(model: ModelProto, name = "model.onnx"): ModelMeta {
  const md = new Map(model.metadataProps.map((e) => [e.key, e.value]));
  if (md.get("mtl.format") !== "mtl-wasm/onnx") throw new Error(`${name}: not exported by mtl-wasm (no mtl.format metadata); pass tensors to run() instead of rows`);
  const json = (key: string, what: string, ok: (v: unknown) => boolean): unknown => {
    const text = md.get(key);
    if (text === undefined) throw new Error(`${name}: metadata ${JSON.stringify(key)} is missing (mtl.format is present)`);
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (e) {
      throw new Error(`${name}: metadata ${JSON.stringify(key)} is not valid JSON (${(e as Error).message})`);
    }
    if (!ok(v)) throw new Error(`${name}: metadata ${JSON.stringify(key)} is not ${what}`);
    return v;
  };
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  const rawSpec = json("mtl.spec", "a model spec (a JSON object)", isObject);
  let spec: ModelSpec;
  try {
    spec = validateSpec(rawSpec);
  } catch (e) {
    throw new Error(`${name}: metadata "mtl.spec" is not a valid spec: ${(e as Error).message}`);
  }
  const pre = json("mtl.preprocessing", "preprocessing (an object with numeric, categorical and tasks lists)", (v) =>
    isObject(v) && Array.isArray(v.numeric) && Array.isArray(v.tasks) &&
    v.numeric.every((s) => isObject(s) && typeof s.column === "string" && Number.isFinite(s.mean) && Number.isFinite(s.std) && (s.std as number) > 0) &&
    Array.isArray(v.categorical) && v.categorical.every((c) => isObject(c) && typeof c.column === "string" && Array.isArray(c.vocab))) as Preprocessing;
  const inputs = json("mtl.inputs", "the input columns (an object of string lists)", (v) =>
    isObject(v) && Object.values(v).every((c) => Array.isArray(c) && c.every((s) => typeof s === "string"))) as Record<string, string[]>;
  const outputs: Record<string, number> = {};
  const L = pre.tokens?.max_length ?? 1;
  for (const o of model.graph.output) outputs[o.name] = (o.type?.shape ?? [null, 1]).slice(1).reduce<number>((a, d) => a * (typeof d === "number" ? d : L), 1);
  return { spec, pre, inputs, outputs };
}

/**
 * The mtl metadata of ONNX bytes: decodes them (corrupt bytes throw the decoder's `ONNX: …` error), then reads it
 * as modelMeta does; `name` (default "model.onnx") starts the metadata errors.
 */
export function modelMetaFromBytes(bytes: Uint8Array, name?: string): ModelMeta {
  return modelMeta(decodeModel(bytes), name);
}

/**
 * Encode raw rows (objects keyed by column name, values as strings or numbers) into the model's input
 * tensors. Every input column (numeric, categorical, group_by) must be a key of every row unless `opts.missing` is
 * "impute" (see EncodeOptions). Numeric cells that are missing (null, "", or a spec `missing` token) become the
 * training mean, as in training; categorical values outside the vocabulary map to index 0 (unknown). A non-numeric value
 * in a numeric column throws naming the row and column; so does a value that is not a finite float32 (a string such
 * as "Infinity", "1e400", "3.5e38", "nan", or a JS number Infinity / 1e39 / NaN) unless the spec's
 * `inputs.nonfinite` is "missing" (then it is missing too). A NaN number counts as its string "NaN", so it is
 * missing while "NaN" is a missing token (the default).
 */
export function encodeRows(meta: ModelMeta, rows: readonly Row[], opts: EncodeOptions = {}): Record<string, InputTensor> {
  const n = rows.length;
  if (opts.missing !== undefined && opts.missing !== "error" && opts.missing !== "impute") throw new Error(`option missing must be "error" or "impute", not ${JSON.stringify(opts.missing)}`);
  if (opts.missing !== "impute") checkKeys(meta, rows);
  const missing = new Set(meta.spec.inputs.missing);
  const nonfiniteMissing = meta.spec.inputs.nonfinite === "missing";
  // 1-based row numbers, as in every encodeRows error (row 1 is rows[0]).
  const at = (i: number, c: string) => `row ${i + 1}, column ${JSON.stringify(c)}`;
  const tokens = [...missing].filter((m) => m !== "").map((m) => JSON.stringify(m));
  const hint = `pass null${tokens.length ? ` or a missing token (${tokens.join(", ")})` : ""} for a missing value`;
  const feeds: Record<string, InputTensor> = {};
  const cell = (r: Row, c: string) => {
    const v = r[c];
    if (v === null || v === undefined) return "";
    if (typeof v === "object" || typeof v === "function" || typeof v === "symbol") {
      const i = rows.indexOf(r);
      throw new Error(`${at(i, c)}: value is ${Array.isArray(v) ? "an array" : `a${typeof v === "object" ? "n object" : ` ${typeof v}`}`}, expected a string, a number or null`);
    }
    return String(v).trim();
  };
  if (meta.inputs.numeric) {
    const F = meta.pre.numeric.length;
    const data = new Float32Array(n * F);
    meta.pre.numeric.forEach((s, j) => {
      for (let i = 0; i < n; i++) {
        const raw = rows[i][s.column];
        let v: number;
        if (typeof raw === "number") {
          if (isFiniteFloat32(raw)) v = raw;
          else if (missing.has(String(raw)) || nonfiniteMissing) v = NaN;
          else throw new Error(`${at(i, s.column)}: ${nonFiniteMessage(`${raw} (a number)`, hint)}`);
        } else {
          const t = cell(rows[i], s.column);
          if (t === "" || missing.has(t)) v = NaN;
          else {
            const x = parseFiniteNumber(t);
            if (x === undefined) throw new Error(`${at(i, s.column)}: value ${JSON.stringify(t)} is not a number`);
            if (x === null && !nonfiniteMissing) throw new Error(`${at(i, s.column)}: ${nonFiniteMessage(JSON.stringify(t), hint)}`);
            v = x ?? NaN;
          }
        }
        // A column with a missing indicator stays NaN: the graph's numeric_encode reads the indicator from it.
        data[i * F + j] = v === v ? v : s.indicator ? NaN : s.mean;
      }
    });
    feeds.numeric = { type: "float32", data, dims: [n, F] };
  }
  if (meta.inputs.categorical) {
    const C = meta.pre.categorical.length;
    const data = new BigInt64Array(n * C);
    meta.pre.categorical.forEach((c, j) => {
      const index = new Map(c.vocab.map((v, k) => [v, k + 1]));
      for (let i = 0; i < n; i++) data[i * C + j] = BigInt(index.get(cell(rows[i], c.column)) ?? 0);
    });
    feeds.categorical = { type: "int64", data, dims: [n, C] };
  }
  if (meta.inputs.groups) {
    const tasks = meta.spec.tasks.map((t, i) => [t, i] as const).filter(([t]) => t.group_by);
    const data = new BigInt64Array(n * tasks.length);
    tasks.forEach(([t, ti], j) => {
      const index = new Map(meta.pre.tasks[ti].groups!.map((v, k) => [v, k]));
      for (let i = 0; i < n; i++) {
        const gv = cell(rows[i], t.group_by!);
        const k = index.get(gv);
        if (k === undefined) throw new Error(`row ${i + 1}, column ${JSON.stringify(t.group_by)}: group ${JSON.stringify(gv)} of task ${t.name} was not in the training data`);
        data[i * tasks.length + j] = BigInt(k);
      }
    });
    feeds.groups = { type: "int64", data, dims: [n, tasks.length] };
  }
  if (meta.inputs.tokens) {
    // A text cell (split on whitespace, or a JSON array of strings) → ids int64 [n, L], L = max_length (truncated, padded).
    const voc = meta.pre.tokens;
    if (!voc) throw new Error(`the model has a token input but its metadata "mtl.preprocessing" holds no token vocabulary`);
    const cells = rows.map((r) => cell(r, voc.column));
    const enc = encodeTokens(voc, cells, Int32Array.from({ length: n }, (_, i) => i));
    feeds.tokens = { type: "int64", data: BigInt64Array.from(enc.ids, (x) => BigInt(x)), dims: [n, voc.max_length] };
  }
  if (meta.inputs.tensor) throw new Error("this model takes a raw tensor input: pass tensors to run(), not rows");
  return feeds;
}

/** The columns encodeRows reads from a row: numeric and categorical inputs, then group_by columns. */
export function inputColumns(meta: ModelMeta): string[] {
  const cols = [...(meta.inputs.numeric ? meta.pre.numeric.map((s) => s.column) : []), ...(meta.inputs.categorical ? meta.pre.categorical.map((c) => c.column) : []), ...(meta.inputs.tokens ?? [])];
  if (meta.inputs.groups) for (const t of meta.spec.tasks) if (t.group_by && !cols.includes(t.group_by)) cols.push(t.group_by);
  return cols;
}

/**
 * Throw when a row lacks an input column (absent key or undefined value): the first such row (from 1), its absent
 * columns, for each the row's keys close to it, and how many rows lack some column.
 */
function checkKeys(meta: ModelMeta, rows: readonly Row[]): void {
  const cols = inputColumns(meta);
  let first = -1, absent: string[] = [], count = 0;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    let lacks = false;
    for (const c of cols) {
      if (r[c] !== undefined) continue;
      lacks = true;
      if (first < 0) absent.push(c);
      else break;
    }
    if (lacks) {
      if (first < 0) first = i;
      count++;
    }
  }
  if (first < 0) return;
  const keys = Object.keys(rows[first]).filter((k) => rows[first][k] !== undefined && !cols.includes(k));
  const shown = absent.slice(0, 8).map((c) => {
    const close = closeMatches(c, keys);
    return `${JSON.stringify(c)}${close.length ? ` (it has ${close.map((k) => JSON.stringify(k)).join(", ")}: did you mean ${close.length === 1 ? "it" : "one of them"}?)` : ""}`;
  });
  const what = `${absent.length === 1 ? "column" : `${absent.length} of the model's ${cols.length} input columns:`} ${shown.join(", ")}${absent.length > 8 ? ", ..." : ""}`;
  const others = count > 1 ? `; ${count} of the ${rows.length} rows lack input columns` : "";
  throw new Error(`row ${first + 1} has no ${what}${others}. Pass null for a missing value, or run(rows, { missing: "impute" }) to read absent columns as missing`);
}
