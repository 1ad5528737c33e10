// What the torch parity tests (torch.test.ts, torch-image.test.ts, torch-text.test.ts) share: running the Python
// driver on a list of jobs, reading its outputs, and comparing torch's objective and gradients with ours.
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { relErr, WASM_PATH } from "../helpers.ts";
import { deserialize, type Tensor } from "../../src/io/safetensors.ts";
import { main } from "../../src/cli/main.ts";
import { parseJsonc } from "../../src/util/jsonc.ts";
import { validateSpec, type ModelSpec } from "../../src/model/spec.ts";
import type { Model } from "../../src/model/model.ts";
import type { Encoded } from "../../src/data/preprocess.ts";
import { modelJson, weightsBytes } from "../../src/io/checkpoint.ts";
import { exportOnnx } from "../../src/onnx/export.ts";
import { createSession } from "../../src/infer/session.ts";
import type { Kernels } from "../../src/runtime/load.ts";
import { createWeighting } from "../../src/train/weighting/index.ts";
import { makeRegularizers } from "../../src/train/update.ts";

/** The Python with torch (Debian's python3-torch unless TORCH_PYTHON says otherwise) and the parity driver. */
export const PYTHON = process.env.TORCH_PYTHON || "/usr/bin/python3";
export const DRIVER = new URL("./torch_parity.py", import.meta.url).pathname;

/** Run torch_parity.py on `jobs` (written into `work`); a failure shows the driver's output. */
export function runPython(work: string, jobs: object[], timeoutMs = 600_000): void {
  const file = join(work, `jobs-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(jobs));
  const r = spawnSync(PYTHON, [DRIVER, file], { encoding: "utf8", timeout: timeoutMs });
  assert.is(r.status, 0, `torch_parity.py failed:\n${r.stdout}\n${r.stderr}`);
}

/** `mtl ARGV` in-process on build/mtl.wasm: the exit code and every line it logged or reported as an error. */
export const cli = (argv: string[]): Promise<{ code: number; text: string }> => {
  const lines: string[] = [];
  return main(argv, () => WebAssembly.compile(readFileSync(WASM_PATH)), { log: (s) => lines.push(s), error: (s) => lines.push(s), progress: null }).then((code) => ({ code, text: lines.join("\n") }));
};

/** A shipped config, models/NAME.json, validated. */
export const specOf = (name: string): ModelSpec => validateSpec(parseJsonc(readFileSync(`models/${name}.json`, "utf8")));
/** The spec with every dropout 0 (torch cannot reproduce our dropout mask). */
export const noDropout = (spec: ModelSpec): ModelSpec => validateSpec(JSON.parse(JSON.stringify(spec), (key, v) => (key === "dropout" ? 0 : v)));

/**
 * The driver's label and mask tensors of the first N rows of `enc` for every task, named `<prefix>label:<task>`
 * (multiclass: I32 [N] class indices, else F32 [N, width]) and `<prefix>mask:<task>` (F32 [N]).
 */
export function taskTensors(prefix: string, spec: ModelSpec, model: Model, enc: Encoded, N: number): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  spec.tasks.forEach((t, i) => {
    const lab = enc.tasks[i].labels, w = model.dims.outputs[i];
    out[`${prefix}label:${t.name}`] = t.type === "multiclass" ? { dtype: "I32", shape: [N], data: lab as Int32Array } : { dtype: "F32", shape: [N, w], data: lab as Float32Array };
    out[`${prefix}mask:${t.name}`] = { dtype: "F32", shape: [N], data: enc.tasks[i].mask };
  });
  return out;
}

/** checkGrads over every gradient job of `name`; prints the forward's and the worst gradient's errors. */
export function checkAllGrads(name: string, fwd: number, grads: { label: string; dir: string; ours: OurStep }[], tol: number): void {
  const worst = { name: "", err: 0 };
  for (const { label, dir, ours } of grads) {
    const w = checkGrads(`${name}/${label}`, join(dir, "grad.safetensors"), ours, tol);
    if (w.err > worst.err) Object.assign(worst, { name: `${label}: ${w.name}`, err: w.err });
  }
  process.stdout.write(`\n  ${name}: forward max ${fwd.toExponential(1)}, worst gradient ${worst.name} ${worst.err.toExponential(1)}\n`);
}

/** A safetensors file the driver wrote, as tensors by name. */
export const readOut = (path: string) => deserialize(readFileSync(path)).tensors;

/** max |a − b| / max(1, |b|) over equal-length arrays. */
export const maxScaledDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.is(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return m;
};

/** Our side of one training step: the objective, the task losses and every trainable parameter's gradient. */
export interface OurStep {
  J: number;
  losses: Float64Array;
  grads: Map<string, Float32Array>;
}

/**
 * Torch's grad job output `file` against `ours`: J and the task losses within `tol` relative, the same parameter
 * names, and each gradient within `tol` relative (1e-6 floor). Returns the worst gradient (`tag` names the check).
 */
export function checkGrads(tag: string, file: string, ours: OurStep, tol: number): { name: string; err: number; t: ReturnType<typeof readOut> } {
  const t = readOut(file);
  const J = (t.J.data as Float32Array)[0];
  assert.ok(Math.abs(J - ours.J) <= tol * Math.abs(ours.J), `${tag}: J torch ${J}, ours ${ours.J}`);
  assert.ok(relErr(t.losses.data as Float32Array, ours.losses) <= tol, `${tag}: task losses torch ${Array.from(t.losses.data as Float32Array)}, ours ${Array.from(ours.losses)}`);
  const names = Object.keys(t).filter((n) => n.startsWith("grad:")).map((n) => n.slice(5));
  assert.equal(names.sort(), [...ours.grads.keys()].sort(), `${tag}: parameter names`);
  const worst = { name: "", err: 0 };
  for (const [p, g] of ours.grads) {
    const e = relErr(g, t[`grad:${p}`].data as Float32Array, 1e-6);
    if (e > worst.err) Object.assign(worst, { name: p, err: e });
    assert.ok(e <= tol, `${tag}: gradient of ${p} differs, relative error ${e.toExponential(2)} > ${tol}`);
  }
  return { ...worst, t };
}

/** The model folder `mtl train` would write (model.json, weights.safetensors, model.onnx) in `dir`, then `mtl export DIR --format torch` through `cli`. */
export async function packageFolder(dir: string, model: Model, cli: (argv: string[]) => Promise<{ code: number; text: string }>): Promise<string> {
  mkdirSync(dir);
  writeFileSync(join(dir, "model.json"), JSON.stringify(modelJson(model, null), null, 1));
  writeFileSync(join(dir, "weights.safetensors"), weightsBytes(model));
  writeFileSync(join(dir, "model.onnx"), exportOnnx(model));
  const r = await cli(["export", dir, "--format", "torch"]);
  assert.is(r.code, 0, r.text);
  return dir;
}

/**
 * Our side of one training step on `enc` (all rows): forward, weighting, backward, regularizers; the trainable
 * parameters' gradients, and the model state (batch norm's running statistics) after the forward.
 */
export function ourStep(model: Model, enc: Encoded): OurStep & { state: Map<string, Float32Array> } {
  const built = model.program(enc.rows, true), { io, program } = built;
  model.feed(built, enc, Int32Array.from({ length: enc.rows }, (_, i) => i), 0, enc.rows);
  for (const f of program.forward) f();
  const weighting = createWeighting(model);
  let J = weighting.step(io.losses, io.scales, io.labelled);
  model.graph.terms.forEach((r, i) => (J += r.lambda * io.relations[i]));
  for (const f of program.backward) f();
  J += makeRegularizers(model)();
  const g = model.arena.readF32(model.store.g, model.store.total);
  const grads = new Map(model.store.params.filter((p) => p.role !== "state").map((p) => [p.name, g.slice(p.offset, p.offset + p.size)]));
  const w = model.getWeights();
  const state = new Map(model.store.params.filter((p) => p.role === "state").map((p) => [p.name, w[p.name]]));
  return { J, losses: Float64Array.from(io.losses), grads, state };
}

/**
 * The round trip's end: `mtl import FDIR --from trained.safetensors` (torch's weights after its steps), then
 * FDIR/model.onnx, in onnxruntime-web and in the mtl engine on `input`, must give torch's outputs after the steps
 * (steps.safetensors, `out:<name>`) within `tol`, and differ from `before` (our outputs before the steps) by more than 1e-4.
 */
export async function checkRoundTrip(name: string, fdir: string, before: { name: string; data: ArrayLike<number> }[], input: unknown, k: Kernels, cli: (argv: string[]) => Promise<{ code: number; text: string }>, tol: number): Promise<void> {
  const r = await cli(["import", fdir, "--from", join(fdir, "trained.safetensors")]);
  assert.is(r.code, 0, r.text);
  const after = readOut(join(fdir, "steps.safetensors"));
  const bytes = readFileSync(join(fdir, "model.onnx"));
  for (const engine of ["ort", "mtl"] as const) {
    const s = await createSession(bytes, { engine, kernels: k });
    const res = await s.run(input as never);
    await s.dispose();
    for (const x of before) {
      const want = after[`out:${x.name}`].data as Float32Array;
      const d = maxScaledDiff(res[x.name], want);
      assert.ok(d <= tol, `${name} ${x.name} (${engine}): after import max |onnx − torch| = ${d.toExponential(2)}`);
      assert.ok(maxScaledDiff(x.data, want) > 1e-4, `${name} ${x.name}: the torch steps did not change the predictions`);
    }
  }
}
