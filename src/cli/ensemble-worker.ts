// NODE-ONLY: an ensemble worker thread (ensemble-pool.ts). Messages in: one EnsembleInit, then EnsembleJob per member;
// out: EnsembleReply (each printed line whole, then the member's result, or its error). Reads the data file once and
// makes the spec seed's split, as the main thread does; trains each member single-threaded (its shards in turn) with
// no progress line, so its lines are the only output.
import { parentPort } from "node:worker_threads";
import { loadKernels, type Kernels } from "../runtime/load.ts";
import { splitRows } from "../data/load.ts";
import type { Table } from "../data/table.ts";
import type { Split } from "../api/train.ts";
import { readTrainingData } from "./files.ts";
import { UsageError } from "./args.ts";
import { trainOne } from "./train.ts";
import { keepMember, memberDir, memberSpec } from "./train-ensemble.ts";
import type { EnsembleInit, EnsembleJob, EnsembleReply } from "./ensemble-pool.ts";

const post = (m: EnsembleReply) => parentPort!.postMessage(m);
let init: EnsembleInit | null = null;
let ready: Promise<{ k: Kernels; table: Table; split: Split }> | null = null;
// Jobs run one at a time in arrival order (the pool sends the next only after a result, but be safe).
let queue = Promise.resolve();

parentPort!.on("message", (m: EnsembleInit | EnsembleJob) => {
  if (m.type === "init") {
    init = m;
    ready = (async () => {
      const table = await readTrainingData(m.spec, m.info.dataPath);
      return { k: await loadKernels(m.module), table, split: splitRows(m.spec, table) };
    })();
    ready.catch(() => {}); // reported with the first member
    return;
  }
  queue = queue.then(() => trainMember(m));
});

async function trainMember(job: EnsembleJob): Promise<void> {
  const i = job.member;
  try {
    const { spec, shards, out, info } = init!;
    const { k, table, split } = await ready!;
    const dir = memberDir(out, i);
    const say = (text: string) => post({ type: "line", member: i, text });
    say(`seed ${spec.training.seed + i} → ${dir}`);
    // S ≥ 2 shards with no kernel module: trainOne computes the S-thread step on this thread (sharded.ts).
    const par = shards >= 2 ? { threads: shards, module: null } : null;
    const r = await trainOne(memberSpec(spec, i), table, split, k, dir, job.resume, say, par, null);
    post({ type: "done", member: i, result: await keepMember(spec, i, dir, r, info) });
  } catch (e) {
    post({ type: "failed", member: i, message: (e as Error).message, usage: e instanceof UsageError });
  }
}
