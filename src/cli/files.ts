// NODE-ONLY: the CLI's file side: read configs and data files, write JSON atomically (checkpoints and model
// directories: src/io/checkpoint-files.ts).
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { validateSpec, type ModelSpec } from "../model/spec.ts";
import { fileSource } from "../data/node-file.ts";
import { readTable } from "../data/load.ts";
import type { Table } from "../data/table.ts";
import { writeFileAtomic } from "../io/atomic.ts";
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

export async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(resolve(path), JSON.stringify(value, null, 2) + "\n");
}
