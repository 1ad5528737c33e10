// NODE-ONLY: the CLI's file side: read configs, data files and model directories; write checkpoints atomically.
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { validateSpec, type ModelSpec } from "../model/spec.ts";
import { fileSource } from "../data/node-file.ts";
import { readTable } from "../data/load.ts";
import type { Table } from "../data/table.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { loadState, loadWeights, modelJson, parseModelJson, stateBytes, weightsBytes, type ModelJson } from "../io/checkpoint.ts";
import type { Model } from "../model/model.ts";
import type { TrainState } from "../train/trainer.ts";
import { UsageError } from "./args.ts";

export function readSpec(path: string): ModelSpec {
  if (!existsSync(path)) throw new UsageError(`config ${path}: no such file`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new UsageError(`config ${path}: not valid JSON (${(e as Error).message})`);
  }
  try {
    return validateSpec(json);
  } catch (e) {
    throw new UsageError(`config ${path}: ${(e as Error).message}`);
  }
}

/** Read a data file in the spec's format (path relative to the current directory). */
export async function readData(spec: ModelSpec, path: string): Promise<Table> {
  if (!spec.data) throw new UsageError(`model ${spec.name}: the spec has no "data" section, so the file format is unknown`);
  if (!existsSync(path)) throw new UsageError(`data file ${path}: no such file (paths are relative to ${process.cwd()}; override with --data)`);
  return readTable(fileSource(path), spec.data);
}

export function readModelDir(dir: string): ModelJson {
  const p = join(dir, "model.json");
  if (!existsSync(p)) throw new UsageError(`${dir}: no model.json (expected a directory written by mtl train)`);
  return parseModelJson(readFileSync(p, "utf8"), p);
}

export function loadDirWeights(model: Model, dir: string): void {
  const p = join(dir, "weights.safetensors");
  if (!existsSync(p)) throw new UsageError(`${dir}: no weights.safetensors`);
  loadWeights(model, readFileSync(p), p);
}

export function loadDirState(model: Model, dir: string): void {
  const p = join(dir, "state.safetensors");
  if (!existsSync(p)) throw new UsageError(`${dir}: no state.safetensors to resume from`);
  loadState(model, readFileSync(p), p);
}

/**
 * Write a checkpoint: weights.safetensors (the weights to use: `best` when given), state.safetensors (latest
 * weights and optimizer moments, for --resume), model.json last, so a reader never sees a model.json whose
 * weights are not on disk yet. Every file is replaced atomically.
 */
export async function writeCheckpoint(dir: string, model: Model, state: TrainState | null, best: Float32Array | null, summary?: unknown): Promise<void> {
  mkdirSync(dir, { recursive: true });
  let weights = model.getWeights();
  if (best) {
    weights = {};
    for (const p of model.store.params) weights[p.name] = best.slice(p.offset, p.offset + p.size);
  }
  await writeFileAtomic(join(dir, "weights.safetensors"), weightsBytes(model, weights));
  if (state) await writeFileAtomic(join(dir, "state.safetensors"), stateBytes(model));
  await writeFileAtomic(join(dir, "model.json"), JSON.stringify(modelJson(model, state, summary), null, 1) + "\n");
}

export async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(resolve(path), JSON.stringify(value, null, 2) + "\n");
}
