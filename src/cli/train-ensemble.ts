// `mtl train --ensemble K`: the K members (seeds seed … seed + K − 1, one split and one preprocessing: the spec
// seed's), trained one after another on this thread or at once in worker threads (ensemble-pool.ts), each into
// DIR/members/<i>/; then the ensemble's validation metrics (the mean of the members' in-wasm outputs) and
// DIR/model.onnx, one graph averaging the members (src/onnx/ensemble.ts), run by onnxruntime-web on the validation
// rows beside them. A member is a function of its seed and its shard count only (see ensemble-pool.ts), so where it
// was trained does not change a bit of it.
//
//   DIR/members/<i>/    member i (seed seed + i): a complete `mtl train` directory (model.json, weights.safetensors,
//                       state.safetensors, steps.csv, checkpoints/, metrics.json, model.onnx); evaluate/predict/export
//                       read it as any model directory
//   DIR/model.onnx      the ensemble (outputs: the members' mean; metadata mtl.ensemble)
//   DIR/metrics.json    written by the caller: the members' and the ensemble's metrics
import { join } from "node:path";
import type { ModelSpec } from "../model/spec.ts";
import type { Model } from "../model/model.ts";
import type { Encoded, Preprocessing } from "../data/preprocess.ts";
import type { Table } from "../data/table.ts";
import { evaluatePredictions, type TaskMetrics } from "../metrics/evaluate.ts";
import { ensembleOnnx } from "../onnx/ensemble.ts";
import { createSession } from "../infer/session.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { sessionInput, writeJson } from "./files.ts";
import { formatMetrics } from "./format.ts";

/**
 * What the ensemble keeps of one trained member (plain data: it crosses from a worker by structured clone). Its
 * model is disposed once these are taken.
 */
export interface Member {
  seed: number;
  dir: string;
  /** The member's preprocessing (every member's is the same: one split, one preprocessing). */
  pre: Preprocessing;
  /** Per task: the output width (Model.dims.outputs). */
  outputs: number[];
  /** Its validation outputs in wasm, per task [rows · width] (the kept weights). */
  preds: Float32Array[];
  onnx: Uint8Array;
  validation: Record<string, TaskMetrics>;
  summary: Record<string, unknown>;
  /** The encoded validation rows, kept for member 0 only (the others' are the same). */
  encodedValidation?: Encoded;
}

/** What src/cli/train.ts trainOne returns (the fields a member needs). */
export interface TrainedOne {
  model: Model;
  preds: Float32Array[];
  onnx: Uint8Array;
  validation: Record<string, TaskMetrics>;
  summary: Record<string, unknown>;
  encodedValidation: Encoded;
}

/** The fields of every member's metrics.json besides its own run's summary. */
export interface MemberRunInfo {
  dataPath: string;
  rows: { train: number; validation: number };
  environment: Record<string, string>;
}

/** Member i's spec: the spec's seed + i (initialization, shuffling, dropout); everything else is the spec's. */
export function memberSpec(spec: ModelSpec, i: number): ModelSpec {
  return { ...spec, training: { ...spec.training, seed: spec.training.seed + i } };
}

/** Member i's model directory under the ensemble's DIR. */
export function memberDir(out: string, i: number): string {
  return join(out, "members", String(i));
}

/** After member i's trainOne: write its metrics.json, dispose its model, return what the ensemble keeps. */
export async function keepMember(spec: ModelSpec, i: number, dir: string, r: TrainedOne, info: MemberRunInfo): Promise<Member> {
  const seed = spec.training.seed + i;
  await writeJson(join(dir, "metrics.json"), { model: spec.name, data: info.dataPath, seed, rows: info.rows, ...r.summary, environment: info.environment });
  const m: Member = { seed, dir, pre: r.model.pre, outputs: [...r.model.dims.outputs], preds: r.preds, onnx: r.onnx, validation: r.validation, summary: r.summary, ...(i === 0 ? { encodedValidation: r.encodedValidation } : {}) };
  r.model.dispose();
  return m;
}

/** The mean of the members' outputs, per task: Σ in float64 over members in order, / K, rounded to f32. */
export function meanOutputs(members: readonly { preds: Float32Array[] }[]): Float32Array[] {
  const K = members.length;
  return members[0].preds.map((p0, t) => {
    const out = new Float32Array(p0.length);
    for (let r = 0; r < p0.length; r++) {
      let s = 0;
      for (const m of members) s += m.preds[t][r];
      out[r] = s / K;
    }
    return out;
  });
}

/** Write DIR/model.onnx, check it in onnxruntime-web on the validation rows; returns metrics.json's `ensemble`. */
export async function finishEnsemble(spec: ModelSpec, members: Member[], validation: Encoded, table: Table, rows: Uint32Array, dir: string, say: (s: string) => void): Promise<{ validation: Record<string, TaskMetrics>; summary: Record<string, unknown> }> {
  const m0 = members[0], K = members.length;
  const held = rows.length > 0;
  const avg = held ? meanOutputs(members) : [];
  const metrics = held ? evaluatePredictions(spec, m0.pre, m0.outputs, avg, validation) : {};
  const seeds = members.map((m) => m.seed);
  const memberSummary = members.map((m, i) => ({ seed: m.seed, dir: join("members", String(i)), best_epoch: m.summary.best_epoch, train_seconds: m.summary.train_seconds, validation: m.validation }));
  const onnx = ensembleOnnx(members.map((m) => m.onnx), { seeds });
  const path = join(dir, "model.onnx");
  await writeFileAtomic(path, onnx);
  if (!held) {
    say(`ensemble of ${K} (seeds ${seeds.join(", ")}): onnx ${path} (${onnx.length} bytes); no validation rows`);
    return { validation: metrics, summary: { members: memberSummary, onnx: { bytes: onnx.length } } };
  }
  say(`ensemble of ${K} (seeds ${seeds.join(", ")}), validation: ${formatMetrics(metrics)}`);
  const t1 = performance.now();
  const session = await createSession(onnx, { engine: "ort", name: path });
  const out = await session.run(sessionInput(session, table, rows));
  await session.dispose();
  const ortMetrics = evaluatePredictions(spec, m0.pre, m0.outputs, spec.tasks.map((t) => out[t.name]), validation);
  let maxDiff = 0;
  spec.tasks.forEach((t, i) => out[t.name].forEach((v, r) => (maxDiff = Math.max(maxDiff, Math.abs(v - avg[i][r])))));
  say(`onnx ${path} (${onnx.length} bytes, ${K} members) in onnxruntime-web on ${rows.length} validation rows: ${formatMetrics(ortMetrics)}  [max |ort − mean of members| ${maxDiff.toExponential(1)}, ${((performance.now() - t1) / 1000).toFixed(1)} s]`);
  return { validation: metrics, summary: { members: memberSummary, validation: metrics, onnx: { bytes: onnx.length, ort_validation: ortMetrics, max_abs_diff: maxDiff } } };
}
