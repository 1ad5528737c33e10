// NODE-ONLY: `mtl train --ensemble K` members trained at once on worker_threads (ensemble-worker.ts), one member per
// worker at a time, each member on its worker's one thread. Every worker reads the data file once, makes the spec
// seed's split (the main thread's) and trains the members it is sent into DIR/members/<i>/; its lines come back whole
// and are printed prefixed `[member i+1/K]`; results land at their member's index, so the ensemble does not depend on
// which worker finished first.
//
// The rule (README "Weight averaging and ensembles"): W = min(N, K) workers, N = --threads, or the cores for auto;
// members run one after another on this thread (as a single run, each with --threads) when W < 2, for --threads 1,
// or when the runtime cannot run workers or has no kernel module to send them. A member's numbers are those of a
// sequential run, bit for bit: it computes the S-shard step of --threads S on its one thread (src/train/sharded.ts,
// bit for bit parallel.ts's step), S = --threads N, or for auto autoThreadCount's shard count (what auto trains
// with); S = 1 is the one program over the whole batch.
import { Worker } from "node:worker_threads";
import type { ModelSpec } from "../model/spec.ts";
import { canRunParallel } from "../train/parallel.ts";
import { autoThreadCount, availableThreads } from "../train/auto-threads.ts";
import { UsageError } from "./args.ts";
import { memberDir, type Member, type MemberRunInfo } from "./train-ensemble.ts";

/** Workers that train the members at once (≥ 2), or 0: one after another on this thread. */
export function ensembleWorkers(threads: number | "auto", members: number, module: boolean): number {
  if (!module || !canRunParallel()) return 0;
  const w = Math.min(threads === "auto" ? availableThreads() : threads, members);
  return w >= 2 ? w : 0;
}

/** The shards of each member's step in a worker: what a sequential run's member trains with (see the file comment). */
export function memberShards(spec: ModelSpec, threads: number | "auto"): number {
  return threads === "auto" ? autoThreadCount(spec).threads : threads;
}

/** The init message of ensemble-worker.ts. */
export interface EnsembleInit {
  type: "init";
  /** The compiled kernels (a WebAssembly.Module posts to workers). */
  module: WebAssembly.Module;
  /** The spec after --seed/--epochs (its seed is member 0's and the split's). */
  spec: ModelSpec;
  /** Shards of each member's step, on the worker's one thread (1: one program). */
  shards: number;
  /** The ensemble's DIR. */
  out: string;
  info: MemberRunInfo;
}

/** Train member i into DIR/members/<i>/ (resume: continue from its checkpoints). */
export interface EnsembleJob {
  type: "member";
  member: number;
  resume: boolean;
}

/** Messages from a worker: a whole line of member i's output, its result, or why it failed. */
export type EnsembleReply =
  | { type: "line"; member: number; text: string }
  | { type: "done"; member: number; result: Member }
  | { type: "failed"; member: number; message: string; usage: boolean };

/** The worker script: the TypeScript source under tsx (through tsx's hooks), else dist/ensemble-worker.mjs. */
function spawn(): Worker {
  const ts = import.meta.url.endsWith(".ts");
  const entry = ts ? new URL("./ensemble-worker.ts", import.meta.url) : new URL("./ensemble-worker.mjs", import.meta.url);
  if (!ts) return new Worker(entry);
  return new Worker(`import("tsx/esm/api").then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); })`, { eval: true });
}

/**
 * Train members 0 … resume.length − 1 on `workers` threads; resolves with them in member order. `say` gets every line
 * of member i prefixed `[member i+1/K] `. The first failure stops every worker and rejects with member i's error
 * (a UsageError stays one).
 */
export async function trainMembersInWorkers(init: Omit<EnsembleInit, "type">, resume: boolean[], workers: number, say: (s: string) => void): Promise<Member[]> {
  const K = resume.length;
  const pool = Array.from({ length: Math.min(workers, K) }, spawn);
  const out: Member[] = new Array(K);
  let next = 0;
  let failed: Error | null = null;
  const prefix = (i: number) => `[member ${i + 1}/${K}] `;
  const runOn = (w: Worker) =>
    new Promise<void>((resolve, reject) => {
      let current = -1;
      const fail = (e: Error) => {
        failed ??= e;
        reject(failed);
      };
      const take = () => {
        if (failed) return reject(failed);
        if (next >= K) return resolve();
        current = next++;
        w.postMessage({ type: "member", member: current, resume: resume[current] } satisfies EnsembleJob);
      };
      w.on("message", (m: EnsembleReply) => {
        if (m.type === "line") m.text.split("\n").forEach((l) => say(prefix(m.member) + l));
        else if (m.type === "done") {
          out[m.member] = m.result;
          take();
        } else {
          const msg = `ensemble member ${m.member} (seed ${init.spec.training.seed + m.member}, ${memberDir(init.out, m.member)}): ${m.message}`;
          fail(m.usage ? new UsageError(msg) : new Error(msg));
        }
      });
      w.on("error", (e) => fail(new Error(`ensemble worker training member ${current}: ${e.message}`)));
      w.on("exit", (code) => fail(new Error(`ensemble worker training member ${current} exited (code ${code}) before finishing it`)));
      w.postMessage({ type: "init", ...init } satisfies EnsembleInit);
      take();
    });
  try {
    // The first failure rejects at once; the finally stops the other workers mid-member (their checkpoints stay).
    await Promise.all(pool.map(runOn));
    return out;
  } finally {
    // Quiet from here: a terminated worker's exit is not a failure, and an error then has nobody left to tell.
    pool.forEach((w) => w.removeAllListeners().on("error", () => {}));
    await Promise.all(pool.map((w) => w.terminate()));
  }
}
