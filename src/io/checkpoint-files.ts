// NODE-ONLY: the files `mtl train` writes into its output directory, and how they are read back.
//
//   DIR/checkpoints/<epoch>/        one checkpoint per epoch, the last 2 kept (older ones are deleted):
//       model.json                    spec, preprocessing, parameter list, training state after <epoch>
//       weights.safetensors           the weights to use (the best epoch so far under early stopping; with
//                                     training.ema / training.swa, the average's)
//       state.safetensors             latest weights and optimizer moments (and the weight average's block)
//       steps.csv                     the per-step log up to <epoch>
//       manifest.json                 written last: the epoch, and each other file's size and SHA-256
//   DIR/model.json, weights.safetensors, state.safetensors, steps.csv
//                                   copies of the newest checkpoint (after training: the final model), for users
//                                   and the other commands; model.json is written last and records weights_sha256
//   DIR/metrics.json, DIR/model.onnx   written when training ends
//
// A checkpoint is one unit. Its files are written and fsynced in DIR/checkpoints/<epoch>.tmp-XXXX/, then that
// directory is renamed to <epoch> (atomic.ts, writeDirAtomic): a checkpoint directory is complete or absent. There is
// no pointer file: the current checkpoint is the highest-numbered directory whose manifest is present and whose every
// file matches its hash (checkCheckpoint); one that does not (a torn write after a crash, a damaged disk) is reported
// and skipped for the one before it. Only then are the older checkpoints deleted and the top-level copies replaced,
// each atomically but not together, so a kill between them can leave DIR/model.json and DIR/weights.safetensors from
// different epochs: readers (readTrainedDir) check weights_sha256 and then use the newest complete checkpoint instead.
// `--resume` reads only DIR/checkpoints. Temporaries of killed writes (`*.tmp` files, `*.tmp-*` directories) are
// deleted when `train` starts (prepareTrainDir); a fresh (not --resume) run also deletes an earlier run's checkpoints.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { removeDirAtomic, removeStaleTemps, writeDirAtomic, writeFileAtomic } from "./atomic.ts";
import { checkCheckpoint, checkpointManifest, modelJson, parseModelJson, stateBytes, weightsBytes, type ModelJson } from "./checkpoint.ts";
import type { Model } from "../model/model.ts";
import type { TrainState } from "../train/trainer.ts";
import { UsageError } from "../cli/args.ts";

export const CHECKPOINTS_DIR = "checkpoints";
/** How many epoch checkpoints are kept: the newest and the one before it (the fallback if the newest is damaged). */
export const KEEP_CHECKPOINTS = 2;

export const sha256 = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

/** A complete checkpoint as read back. */
export interface Checkpoint {
  epoch: number;
  /** Its directory. */
  path: string;
  json: ModelJson;
  weights: Uint8Array;
  state: Uint8Array;
  /** steps.csv text, or null when the checkpoint has none. */
  steps: string | null;
}

/** Epochs of the checkpoint directories in DIR/checkpoints (complete or not), newest first. */
export function checkpointEpochs(dir: string): number[] {
  let names: string[];
  try {
    names = readdirSync(join(dir, CHECKPOINTS_DIR));
  } catch {
    return [];
  }
  return names.filter((n) => /^(0|[1-9]\d*)$/.test(n)).map(Number).sort((a, b) => b - a);
}

/** The checkpoint of `epoch` if it is complete and consistent, else the reason it is not. */
export function readCheckpoint(dir: string, epoch: number): Checkpoint | { epoch: number; reason: string } {
  const path = join(dir, CHECKPOINTS_DIR, String(epoch));
  const cache = new Map<string, Uint8Array | null>();
  const read = (name: string): Uint8Array | null => {
    if (!cache.has(name)) {
      let b: Uint8Array | null = null;
      try {
        b = readFileSync(join(path, name));
      } catch {
        // missing (or unreadable): not part of a complete checkpoint
      }
      cache.set(name, b);
    }
    return cache.get(name)!;
  };
  const reason = checkCheckpoint(epoch, read, sha256);
  if (reason) return { epoch, reason };
  let json: ModelJson;
  try {
    json = parseModelJson(new TextDecoder().decode(read("model.json")!), join(path, "model.json"));
  } catch (e) {
    return { epoch, reason: (e as Error).message };
  }
  const steps = read("steps.csv");
  return { epoch, path, json, weights: read("weights.safetensors")!, state: read("state.safetensors")!, steps: steps && new TextDecoder().decode(steps) };
}

/** The newest complete checkpoint (null when there is none) and the newer incomplete ones skipped on the way. */
export function findCheckpoint(dir: string): { found: Checkpoint | null; skipped: { epoch: number; reason: string }[] } {
  const skipped: { epoch: number; reason: string }[] = [];
  for (const e of checkpointEpochs(dir)) {
    const c = readCheckpoint(dir, e);
    if ("path" in c) return { found: c, skipped };
    skipped.push(c);
  }
  return { found: null, skipped };
}

/**
 * The checkpoint `train --resume` continues from: the newest complete one. Incomplete newer ones are reported on
 * `warn` and deleted (the resumed run rewrites those epochs), and so are the ones older than the last KEEP_CHECKPOINTS
 * (a run killed between publishing a checkpoint and pruning). With no complete checkpoint: a UsageError.
 */
export async function resumeCheckpoint(dir: string, warn: (s: string) => void): Promise<Checkpoint> {
  const { found, skipped } = findCheckpoint(dir);
  if (!found) {
    if (!skipped.length) throw new UsageError(`${dir}: nothing to resume (no checkpoint in ${join(dir, CHECKPOINTS_DIR)}); train without --resume to start afresh`);
    throw new UsageError(`${dir}: no complete checkpoint to resume from (${skipped.map((s) => `epoch ${s.epoch}: ${s.reason}`).join("; ")}); train without --resume to start afresh`);
  }
  for (const s of skipped) {
    warn(`checkpoint epoch ${s.epoch} is incomplete (${s.reason}); resuming from epoch ${found.epoch}`);
    await removeDirAtomic(join(dir, CHECKPOINTS_DIR, String(s.epoch)));
  }
  await pruneCheckpoints(dir, found.epoch);
  return found;
}

/**
 * Get DIR ready for a training run: create it, delete the temporaries of killed writes (in DIR and DIR/checkpoints)
 * and, for a fresh run, an earlier run's checkpoints (so that a later --resume cannot pick them up). Returns the
 * temporaries removed (paths relative to DIR).
 */
export async function prepareTrainDir(dir: string, resume: boolean): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const removed = await removeStaleTemps(dir);
  removed.push(...(await removeStaleTemps(join(dir, CHECKPOINTS_DIR))).map((n) => join(CHECKPOINTS_DIR, n)));
  if (!resume) await removeDirAtomic(join(dir, CHECKPOINTS_DIR));
  return removed;
}

/** `best` (a parameter-block snapshot) as named tensors, or the model's current weights. */
function weightsOf(model: Model, best: Float32Array | null): Record<string, Float32Array> {
  if (!best) return model.getWeights();
  const w: Record<string, Float32Array> = {};
  for (const p of model.store.params) w[p.name] = best.slice(p.offset, p.offset + p.size);
  return w;
}

interface Files {
  json: string;
  weights: Uint8Array;
  state: Uint8Array | null;
  steps: string | null;
}

function files(model: Model, state: TrainState | null, best: Float32Array | null, summary: unknown, steps: string | null, average: Float32Array | null = null): Files {
  const weights = weightsBytes(model, weightsOf(model, best));
  const json = JSON.stringify(modelJson(model, state, summary, sha256(weights)), null, 1) + "\n";
  return { json, weights, state: state ? stateBytes(model, average) : null, steps };
}

/** The top-level copies: weights.safetensors, state.safetensors, steps.csv, then model.json (each atomically). */
async function writeTopLevel(dir: string, f: Files): Promise<void> {
  await writeFileAtomic(join(dir, "weights.safetensors"), f.weights);
  if (f.state) await writeFileAtomic(join(dir, "state.safetensors"), f.state);
  if (f.steps !== null) await writeFileAtomic(join(dir, "steps.csv"), f.steps);
  await writeFileAtomic(join(dir, "model.json"), f.json);
}

/**
 * The checkpoint after an epoch: publish DIR/checkpoints/<state.epoch>/ in one step, delete the checkpoints older than
 * the last KEEP_CHECKPOINTS, then replace the top-level copies. `best`: the weights to use so far (the best epoch's
 * under early stopping, or the weight average's); `average`: the weight average's block, kept in state.safetensors.
 */
export async function writeEpochCheckpoint(dir: string, model: Model, state: TrainState, best: Float32Array | null, steps: string, summary: unknown = { partial: true }, average: Float32Array | null = null): Promise<void> {
  const f = files(model, state, best, summary, steps, average);
  const enc = new TextEncoder();
  const entries: Record<string, Uint8Array> = { "model.json": enc.encode(f.json), "weights.safetensors": f.weights, "state.safetensors": f.state!, "steps.csv": enc.encode(steps) };
  const root = join(dir, CHECKPOINTS_DIR);
  await mkdir(root, { recursive: true });
  await writeDirAtomic(join(root, String(state.epoch)), [...Object.entries(entries), ["manifest.json", checkpointManifest(state.epoch, entries, sha256)]]);
  await pruneCheckpoints(dir, state.epoch);
  await writeTopLevel(dir, f);
}

/** Delete the checkpoints older than the last KEEP_CHECKPOINTS up to `epoch`. */
async function pruneCheckpoints(dir: string, epoch: number): Promise<void> {
  for (const e of checkpointEpochs(dir)) if (e <= epoch - KEEP_CHECKPOINTS) await removeDirAtomic(join(dir, CHECKPOINTS_DIR, String(e)));
}

/** The final model files when training ends (top level only): weights.safetensors, state.safetensors, model.json. */
export async function writeModelFiles(dir: string, model: Model, state: TrainState | null, summary?: unknown): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeTopLevel(dir, files(model, state, null, summary, null));
}

/** A trained model directory as read by evaluate, predict, export and summary. */
export interface TrainedDir {
  json: ModelJson;
  weights: Uint8Array;
  /** Where model.json and weights.safetensors were read from (DIR itself, or one of its checkpoints). */
  modelPath: string;
  weightsPath: string;
}

/**
 * DIR/model.json and DIR/weights.safetensors when they belong together (model.json's weights_sha256 matches, or it
 * records none); otherwise (an interrupted write) the newest complete checkpoint, saying so on `warn`.
 */
export function readTrainedDir(dir: string, warn: (s: string) => void = (s) => console.error(s)): TrainedDir {
  const modelPath = join(dir, "model.json"), weightsPath = join(dir, "weights.safetensors");
  let problem: string;
  if (!existsSync(modelPath)) problem = `no model.json (expected a directory written by mtl train)`;
  else {
    const json = parseModelJson(readFileSync(modelPath, "utf8"), modelPath);
    if (!existsSync(weightsPath)) problem = "no weights.safetensors";
    else {
      const weights = readFileSync(weightsPath);
      if (json.weights_sha256 === undefined || json.weights_sha256 === sha256(weights)) return { json, weights, modelPath, weightsPath };
      problem = "weights.safetensors is not the one model.json was written with";
    }
  }
  const { found } = findCheckpoint(dir);
  if (!found) throw new UsageError(`${dir}: ${problem}`);
  warn(`${dir}: ${problem} (an interrupted write); using checkpoint epoch ${found.epoch} (${found.path})`);
  return { json: found.json, weights: found.weights, modelPath: join(found.path, "model.json"), weightsPath: join(found.path, "weights.safetensors") };
}
