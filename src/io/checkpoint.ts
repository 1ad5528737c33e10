// Checkpoints as bytes (portable): model.json (spec, preprocessing, parameter list, training state),
// weights.safetensors (the model's weights, readable by any safetensors tool) and state.safetensors
// (latest weights plus optimizer moments, for resuming). Writing files is the caller's job (see
// checkpoint-files.ts for Node, which writes atomically).
import type { Model } from "../model/model.ts";
import { validateSpec, type ModelSpec } from "../model/spec.ts";
import type { Preprocessing } from "../data/preprocess.ts";
import type { TrainState } from "../train/trainer.ts";
import { deserialize, serialize, type Tensor } from "./safetensors.ts";

export const MODEL_FORMAT = "mtl-wasm/model";
export const MODEL_VERSION = 1;

export interface ModelJson {
  format: typeof MODEL_FORMAT;
  version: number;
  spec: ModelSpec;
  preprocessing: Preprocessing;
  params: { name: string; shape: number[]; shared: boolean; role: string }[];
  train_state: TrainState | null;
  /** Free-form training summary (metrics, timings). */
  summary?: unknown;
}

function tensors(model: Model, weights: Record<string, Float32Array>, prefix = ""): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const p of model.store.params) out[prefix + p.name] = { dtype: "F32", shape: p.shape, data: weights[p.name] };
  return out;
}

export function modelJson(model: Model, state: TrainState | null, summary?: unknown): ModelJson {
  return {
    format: MODEL_FORMAT,
    version: MODEL_VERSION,
    spec: model.spec,
    preprocessing: model.pre,
    params: model.store.params.map((p) => ({ name: p.name, shape: p.shape, shared: p.shared, role: p.role })),
    train_state: state,
    ...(summary === undefined ? {} : { summary }),
  };
}

/** weights.safetensors bytes of the model's current weights (or `weights` when given). */
export function weightsBytes(model: Model, weights = model.getWeights()): Uint8Array {
  return serialize(tensors(model, weights), { format: MODEL_FORMAT, model: model.spec.name });
}

/** state.safetensors bytes: latest parameters and both optimizer moment blocks. */
export function stateBytes(model: Model): Uint8Array {
  return serialize({ ...tensors(model, model.getWeights("p"), "param/"), ...tensors(model, model.getWeights("s1"), "m/"), ...tensors(model, model.getWeights("s2"), "v/") });
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

function pick(model: Model, all: Record<string, Tensor>, prefix: string, name: string): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const p of model.store.params) {
    const t = all[prefix + p.name];
    if (!t) throw new Error(`${name}: missing tensor ${JSON.stringify(prefix + p.name)} [${p.shape}]`);
    if (t.dtype !== "F32") throw new Error(`${name}: tensor ${JSON.stringify(prefix + p.name)} has dtype ${t.dtype}, expected F32`);
    if (t.shape.join(",") !== p.shape.join(",")) throw new Error(`${name}: tensor ${JSON.stringify(prefix + p.name)} has shape [${t.shape}], expected [${p.shape}]`);
    out[p.name] = t.data as Float32Array;
  }
  return out;
}
