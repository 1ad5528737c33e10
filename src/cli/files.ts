// NODE-ONLY: the CLI's file side: read configs and data files, write JSON atomically (checkpoints and model
// directories: src/io/checkpoint-files.ts).
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { validateSpec, type ModelSpec } from "../model/spec.ts";
import { parseJsonc } from "../util/jsonc.ts";
import { firstRangePath } from "../tune/space.ts";
import { fileSource } from "../data/node-file.ts";
import { joinValidation, provideParquet, readIdxTable, readTable } from "../data/load.ts";
import { openParquet } from "../data/parquet-lazy.ts";
import { readSeqtag } from "../data/seqtag.ts";
import type { Table } from "../data/table.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { UsageError } from "./args.ts";
import { encodeRows, type InputTensor, type Row } from "../infer/rows.ts";
import type { Session } from "../infer/session.ts";

provideParquet(openParquet); // readTable reads format "parquet" in the CLI

export function readSpec(path: string): ModelSpec {
  if (!existsSync(path)) throw new UsageError(`config ${path}: no such file`);
  let json: unknown;
  try {
    // JSONC: comments and trailing commas are allowed (the README's examples have comments).
    json = parseJsonc(readFileSync(path, "utf8"));
  } catch (e) {
    throw new UsageError(`config ${path}: not valid JSON: ${(e as Error).message}`);
  }
  // A spec with search ranges ({"log_uniform": …}, src/tune/space.ts) is for mtl tune, which writes a concrete best.json.
  const ranged = firstRangePath(json);
  if (ranged) throw new UsageError(`config ${path}: ${ranged} is a search range; search it with \`mtl tune ${path} --trials N\`, which writes the best trial's concrete spec to DIR/best.json for mtl train`);
  try {
    return validateSpec(json);
  } catch (e) {
    throw new UsageError(`config ${path}: ${(e as Error).message}`);
  }
}

/**
 * Read a data file in the spec's format (path relative to the current directory). For format `idx`, `path` is the
 * images file and the labels CSV is the spec's `data.labels` when `path` is `data.images`, else the file beside it
 * named as `mtl data` names them (`X-images-idx3-ubyte[.gz]` → `X-labels.csv`); `labels: false` (prediction) reads the
 * images alone when there is no labels file.
 */
export async function readData(spec: ModelSpec, path: string, opts: { labels?: boolean } = {}): Promise<Table> {
  if (!spec.data) throw new UsageError(`model ${spec.name}: the spec has no "data" section, so the file format is unknown`);
  if (!existsSync(path)) throw new UsageError(`data file ${path}: no such file (paths are relative to ${process.cwd()}; override with --data)`);
  if (spec.data.format === "idx") {
    const labels = idxLabelsPath(spec, path);
    const have = labels !== null && existsSync(labels);
    if (!have && opts.labels !== false) {
      throw new UsageError(labels === null ? `data file ${path}: cannot tell which labels file goes with these images (expected a name ending in -images-idx3-ubyte[.gz], whose labels are -labels.csv beside it)` : `labels file ${labels} (for the images ${path}): no such file`);
    }
    return readIdxTable(fileSource(path), have ? fileSource(labels!) : null, spec.data);
  }
  if (spec.data.format === "seqtag") {
    // A folder: seq.in required; seq.out and label read when present (checkColumns names a missing label column).
    const file = (f: string) => (existsSync(join(path, f)) ? fileSource(join(path, f)) : null);
    const tokens = file("seq.in");
    if (!tokens) throw new UsageError(`data folder ${path} (format "seqtag"): no file seq.in (expected seq.in, seq.out and label, one utterance per line)`);
    return readSeqtag(path, { tokens, slots: file("seq.out"), intent: file("label") });
  }
  return readTable(fileSource(path), spec.data);
}

/**
 * The rows a run trains and validates on: readData of `path`, then, when the spec names data.validation_path, that
 * file's rows joined after them (joinValidation), which splitRows splits back: no fraction, no shuffle.
 */
export async function readTrainingData(spec: ModelSpec, path: string): Promise<Table> {
  const table = await readData(spec, path);
  const vp = spec.data?.validation_path;
  if (!vp) return table;
  if (!existsSync(vp)) throw new UsageError(`validation file ${vp} (data.validation_path): no such file (paths are relative to ${process.cwd()})`);
  return joinValidation(table, await readData(spec, vp));
}

/** The labels CSV that goes with an idx images file (see readData), or null when the name follows no convention. */
export function idxLabelsPath(spec: ModelSpec, images: string): string | null {
  if (spec.data?.images !== undefined && resolve(images) === resolve(spec.data.images) && spec.data.labels) return spec.data.labels;
  const m = /^(.*)-images-idx3-ubyte(\.gz)?$/.exec(images);
  return m ? `${m[1]}-labels.csv` : null;
}

export async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(resolve(path), JSON.stringify(value, null, 2) + "\n");
}

/**
 * What `session.run` takes for rows `rows` of `table`: the row objects, or, when the table carries a per-row tensor
 * (the images of an `idx` data set) and the model has a tensor input, named tensors — the other inputs encoded from
 * the rows as `run(rows)` would (encodeRows), plus `tensor` [N, width].
 */
export function sessionInput(session: Session, table: Table, rows: ArrayLike<number>): Row[] | Record<string, InputTensor> {
  const objs = Array.from(rows, (i) => table.row(i));
  const meta = session.meta, t = table.tensor;
  if (!t || !meta || !meta.inputs.tensor) return objs;
  const { tensor: _, ...others } = meta.inputs;
  const feeds = encodeRows({ ...meta, inputs: others }, objs);
  const data = new Float32Array(objs.length * t.width);
  for (let k = 0; k < objs.length; k++) data.set(t.data.subarray(rows[k] * t.width, (rows[k] + 1) * t.width), k * t.width);
  feeds.tensor = { type: "float32", data, dims: [objs.length, t.width] };
  return feeds;
}
