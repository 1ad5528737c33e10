// Checkpoints as bytes (portable): model.json (spec, preprocessing, parameter list, training state),
// weights.safetensors (the model's weights, readable by any safetensors tool) and state.safetensors
// (latest weights plus optimizer moments, for resuming). A checkpoint is those files of one epoch (plus the step log)
// and a manifest naming the epoch and each file's size and SHA-256: checkpointManifest builds it, checkCheckpoint
// tells whether a set of files is one complete, consistent checkpoint. Writing files is the caller's job (see
// checkpoint-files.ts for Node, which publishes each checkpoint as one directory, atomically). Hashing is passed in
// (node:crypto, WebCrypto, …) so this module stays portable.
import type { Model } from "../model/model.ts";
import { validateSpec, type ModelSpec } from "../model/spec.ts";
import type { Preprocessing } from "../data/preprocess.ts";
import type { TrainState } from "../train/trainer.ts";
import { deserialize, serialize, type Tensor } from "./safetensors.ts";

export const MODEL_FORMAT = "mtl-wasm/model";
export const MODEL_VERSION = 1;

/** The content of model.json: everything besides the weights that rebuilds a trained model. */
export interface ModelJson {
  /** Always "mtl-wasm/model". */
  format: typeof MODEL_FORMAT;
  /** Format version (1). */
  version: number;
  /** The validated spec. */
  spec: ModelSpec;
  /** The fitted preprocessing (vocabularies, statistics). */
  preprocessing: Preprocessing;
  /** Every parameter in layout order, as weights.safetensors names them. */
  params: {
    /** The safetensors key. */
    name: string;
    /** Its dimensions. */
    shape: number[];
    /** Whether it belongs to the shared trunk. */
    shared: boolean;
    /** Its role (shared, task:NAME, gate:TASK, weighting, state). */
    role: string;
  }[];
  /** The training state after the last epoch (to resume), or null. */
  train_state: TrainState | null;
  /** Free-form training summary (metrics, timings). */
  summary?: unknown;
  /**
   * SHA-256 (hex) of the weights.safetensors written with this model.json, when the writer recorded it: a reader that
   * finds other bytes there has a model.json and weights from different writes (an interrupted run).
   */
  weights_sha256?: string;
}

export const CHECKPOINT_FORMAT = "mtl-wasm/checkpoint";
export const CHECKPOINT_VERSION = 1;
/** The files every checkpoint has (steps.csv, the per-step log, is optional). */
export const CHECKPOINT_FILES = ["model.json", "weights.safetensors", "state.safetensors"] as const;

/** manifest.json of a checkpoint: which epoch, and the size and SHA-256 (hex) of every other file in it. */
export interface CheckpointManifest {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  epoch: number;
  files: Record<string, { bytes: number; sha256: string }>;
}

/** manifest.json text for the checkpoint of `epoch` made of `files` (name → bytes). */
export function checkpointManifest(epoch: number, files: Record<string, Uint8Array>, sha256: (b: Uint8Array) => string): string {
  const m: CheckpointManifest = { format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, epoch, files: {} };
  for (const [name, b] of Object.entries(files)) m.files[name] = { bytes: b.length, sha256: sha256(b) };
  return JSON.stringify(m, null, 1) + "\n";
}

/**
 * Why the files are not one complete checkpoint of `epoch`, or null when they are: the manifest is present and
 * names this epoch, every required file is listed, every listed file is present with its size and hash, and
 * model.json's training state is at this epoch. `read(name)` gives a file's bytes or null when it is missing.
 */
export function checkCheckpoint(epoch: number, read: (name: string) => Uint8Array | null, sha256: (b: Uint8Array) => string): string | null {
  const mb = read("manifest.json");
  if (!mb) return "no manifest.json";
  let m: CheckpointManifest;
  try {
    m = JSON.parse(new TextDecoder().decode(mb));
  } catch {
    return "manifest.json: not valid JSON";
  }
  if (!m || m.format !== CHECKPOINT_FORMAT || m.version !== CHECKPOINT_VERSION || typeof m.files !== "object" || !m.files) return "manifest.json: not an mtl-wasm checkpoint manifest";
  if (m.epoch !== epoch) return `manifest.json: says epoch ${m.epoch}`;
  for (const f of CHECKPOINT_FILES) if (!Object.hasOwn(m.files, f)) return `manifest.json: does not list ${f}`;
  for (const [name, want] of Object.entries(m.files)) {
    const b = read(name);
    if (!b) return `${name}: missing`;
    if (b.length !== want.bytes) return `${name}: ${b.length} bytes, the manifest says ${want.bytes}`;
    if (sha256(b) !== want.sha256) return `${name}: hash mismatch`;
  }
  let j: ModelJson;
  try {
    j = JSON.parse(new TextDecoder().decode(read("model.json")!));
  } catch {
    return "model.json: not valid JSON";
  }
  if (j?.train_state?.epoch !== epoch) return `model.json: training state is at epoch ${j?.train_state?.epoch}`;
  return null;
}

function tensors(model: Model, weights: Record<string, Float32Array>, prefix = ""): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const p of model.store.params) out[prefix + p.name] = { dtype: "F32", shape: p.shape, data: weights[p.name] };
  return out;
}

/** The model.json object of `model` (serialize with JSON.stringify); `weightsSha256` ties it to its weights file. */
export function modelJson(model: Model, state: TrainState | null, summary?: unknown, weightsSha256?: string): ModelJson {
  return {
    format: MODEL_FORMAT,
    version: MODEL_VERSION,
    spec: model.spec,
    preprocessing: model.pre,
    params: model.store.params.map((p) => ({ name: p.name, shape: p.shape, shared: p.shared, role: p.role })),
    train_state: state,
    ...(summary === undefined ? {} : { summary }),
    ...(weightsSha256 === undefined ? {} : { weights_sha256: weightsSha256 }),
  };
}

/** weights.safetensors bytes of the model's current weights (or `weights` when given). */
export function weightsBytes(model: Model, weights = model.getWeights()): Uint8Array {
  return serialize(tensors(model, weights), { format: MODEL_FORMAT, model: model.spec.name });
}

/**
 * state.safetensors bytes: latest parameters and both optimizer moment blocks, plus, with training.ema or training.swa,
 * the weight average's block (`average`: [store.trainable] f32, averaging.ts) as `average/<name>` for every trainable
 * parameter.
 */
export function stateBytes(model: Model, average: Float32Array | null = null): Uint8Array {
  const avg: Record<string, Tensor> = {};
  if (average) for (const p of trainableParams(model)) avg[`average/${p.name}`] = { dtype: "F32", shape: p.shape, data: average.slice(p.offset, p.offset + p.size) };
  return serialize({ ...tensors(model, model.getWeights("p"), "param/"), ...tensors(model, model.getWeights("s1"), "m/"), ...tensors(model, model.getWeights("s2"), "v/"), ...avg });
}

/** The parameters the optimizer updates (everything but model state), whose block the weight average mirrors. */
const trainableParams = (model: Model) => model.store.params.filter((p) => p.offset < model.store.trainable);

/**
 * The weight average's block ([store.trainable] f32, padding zero) from state.safetensors bytes, or null when the file
 * has none (a run without averaging). A file with some `average/` tensors but not all is an error naming the first missing.
 */
export function loadAverage(model: Model, bytes: Uint8Array, name: string): Float32Array | null {
  const all = deserialize(bytes).tensors;
  const params = trainableParams(model);
  if (!params.some((p) => all[`average/${p.name}`])) return null;
  const out = new Float32Array(model.store.trainable);
  const got = pick(model, all, "average/", name, params);
  for (const p of params) out.set(got[p.name], p.offset);
  return out;
}

/** Parse and check model.json text; `name` is used in error messages. */
export function parseModelJson(text: string, name: string): ModelJson {
  let j: ModelJson;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new Error(`${name}: not valid JSON (${(e as Error).message})`);
  }
  if (!j || j.format !== MODEL_FORMAT) throw new Error(`${name}: not an mtl-wasm model file (format is ${JSON.stringify(j?.format)}, expected ${JSON.stringify(MODEL_FORMAT)})`);
  if (j.version !== MODEL_VERSION) throw new Error(`${name}: model format version ${j.version}; this library reads version ${MODEL_VERSION}`);
  j.spec = validateSpec(j.spec);
  return j;
}

/** Load weights.safetensors bytes into the model (every parameter must be present, F32, with its shape). */
export function loadWeights(model: Model, bytes: Uint8Array, name: string): void {
  const f = deserialize(bytes);
  model.setWeights(pick(model, f.tensors, "", name), "p", name);
}

/** Load state.safetensors bytes (latest weights and optimizer moments) into the model. */
export function loadState(model: Model, bytes: Uint8Array, name: string): void {
  const f = deserialize(bytes);
  model.setWeights(pick(model, f.tensors, "param/", name), "p", name);
  model.setWeights(pick(model, f.tensors, "m/", name), "s1", name);
  model.setWeights(pick(model, f.tensors, "v/", name), "s2", name);
}

function pick(model: Model, all: Record<string, Tensor>, prefix: string, name: string, params = model.store.params): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const p of params) {
    const t = all[prefix + p.name];
    if (!t) throw new Error(`${name}: missing tensor ${JSON.stringify(prefix + p.name)} [${p.shape}]`);
    if (t.dtype !== "F32") throw new Error(`${name}: tensor ${JSON.stringify(prefix + p.name)} has dtype ${t.dtype}, expected F32`);
    if (t.shape.join(",") !== p.shape.join(",")) throw new Error(`${name}: tensor ${JSON.stringify(prefix + p.name)} has shape [${t.shape}], expected [${p.shape}]`);
    out[p.name] = t.data as Float32Array;
  }
  return out;
}
