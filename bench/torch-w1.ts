// The torch-cpu engine of bench/train.bench.ts: workload W1 in PyTorch (bench/torch-w1.py, Debian's python3-torch),
// run as a subprocess on THREADS threads, trained from mtl's initial weights on the same rows in the same batches
// (in order, as tfjs), Adam with the spec's settings. Before any timing, the task losses torch computes on the first
// batch at the initial weights must equal mtl's (forward of the same model on the same rows) within 1e-4 relative,
// so the comparison is of the same work; otherwise the bench aborts.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { serialize, type Tensor } from "../src/io/safetensors.ts";
import { Model } from "../src/model/model.ts";
import type { Kernels } from "../src/runtime/load.ts";
import type { Encoded } from "../src/data/preprocess.ts";
import { spec, pre, SEED, F, BATCH } from "./w1.ts";

export const TORCH_PYTHON = process.env.TORCH_PYTHON || "/usr/bin/python3";
const SCRIPT = fileURLToPath(new URL("./torch-w1.py", import.meta.url));

/** True when TORCH_PYTHON can import torch. */
export const torchAvailable = (): boolean => spawnSync(TORCH_PYTHON, ["-c", "import torch"], { stdio: "ignore" }).status === 0;

/** mtl's task losses [A, B, C] on rows 0..BATCH-1 at `init` weights (the forward fit runs, no step). */
export function mtlFirstBatchLosses(k: Kernels, data: Encoded): number[] {
  const model = new Model(spec, pre, k);
  model.initParams(SEED);
  const built = model.program(BATCH, true);
  model.feed(built, data, Int32Array.from({ length: data.rows }, (_, i) => i), 0, BATCH);
  for (const f of built.program.forward) f();
  const out = Array.from(built.io.losses);
  model.dispose();
  return out;
}

export interface TorchEngine {
  name: string;
  epoch(): Promise<void>;
  losses: number[];
  tasks: number[][];
  times: number[];
  /** torch's task losses [A, B, C] on the first batch at the initial weights. */
  check(): Promise<number[]>;
  close(): void;
}

/** A torch-w1.py subprocess on `threads` threads, loaded with W1's rows and mtl's initial weights. */
export async function torchW1Engine(threads: number, init: Record<string, Float32Array>, data: Encoded): Promise<TorchEngine> {
  const dir = mkdtempSync(join(tmpdir(), "mtl-bench-torch-"));
  const file = join(dir, "w1.safetensors");
  const N = data.rows, op = spec.training.optimizer;
  const t: Record<string, Tensor> = {
    x: { dtype: "F32", shape: [N, F], data: data.tensor!.subarray(0, N * F) },
    a: { dtype: "I32", shape: [N], data: data.tasks[0].labels as Int32Array },
    b: { dtype: "F32", shape: [N], data: data.tasks[1].labels as Float32Array },
    c: { dtype: "F32", shape: [N], data: data.tasks[2].labels as Float32Array },
    adam: { dtype: "F32", shape: [5], data: Float32Array.of(op.lr, op.beta1, op.beta2, op.eps, BATCH) },
  };
  for (const [name, w] of Object.entries(init)) {
    const bias = init[name.replace(/\.weight$/, ".bias")];
    t[name] = name.endsWith(".weight") ? { dtype: "F32", shape: [w.length / bias.length, bias.length], data: w } : { dtype: "F32", shape: [w.length], data: w };
  }
  writeFileSync(file, serialize(t));
  const child = spawn(TORCH_PYTHON, [SCRIPT, file, String(threads)], { stdio: ["pipe", "pipe", "inherit"] });
  const waiting: ((line: string) => void)[] = [];
  let exited: string | null = null;
  createInterface({ input: child.stdout }).on("line", (line) => waiting.shift()?.(line));
  child.on("exit", (code, signal) => {
    exited = `torch-w1.py (${threads} threads) exited with status ${code}${signal ? ` (${signal})` : ""}`;
    rmSync(dir, { recursive: true, force: true });
  });
  const reply = <T>(cmd?: string) =>
    new Promise<T>((resolve, reject) => {
      if (exited) return reject(new Error(exited));
      const onExit = () => reject(new Error(exited!));
      child.once("exit", onExit);
      waiting.push((line) => {
        child.off("exit", onExit);
        const r = JSON.parse(line);
        if (r.error) reject(new Error(`torch-w1.py: ${r.error}`));
        else resolve(r as T);
      });
      if (cmd) child.stdin.write(JSON.stringify(cmd) + "\n");
    });
  const ready = await reply<{ torch: string; threads: number }>();
  if (ready.threads !== threads) throw new Error(`torch-w1.py: asked for ${threads} threads, torch runs ${ready.threads}`);
  const e: TorchEngine = {
    name: `torch-cpu-${threads}t`,
    losses: [],
    tasks: [],
    times: [],
    async epoch() {
      const r = await reply<{ losses: number[]; tasks: number[][] }>("epoch");
      e.losses.push(...r.losses);
      e.tasks.push(...r.tasks);
    },
    check: async () => (await reply<{ losses: number[] }>("check")).losses,
    close() {
      if (!exited) child.stdin.end(JSON.stringify("quit") + "\n");
    },
  };
  return e;
}
