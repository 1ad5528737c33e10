// Data-parallel gradients: the batch is split into W shards of ⌈B/W⌉ rows; this thread computes shard 0
// with its own program while W − 1 workers (each its own instance of the same wasm) compute the others.
// Everything crosses in SharedArrayBuffers and the threads step in lock-step with Atomics.
//
// Every thread keeps its own copy of the parameters and optimizer state. After the backward pass each thread
// publishes its shard's gradient, sums all of them in the same order, and applies the same update (update.ts)
// with the same learning rate and step: the copies stay bit-identical without sending parameters each step.
// They are sent only when fit starts (`begin`), since the caller may have changed them in between.
//
// Exactness: every loss kernel averages over its own shard's labels, so each shard's loss scale is multiplied by
// (its labelled rows / the batch's labelled rows), and relation terms are normalised by the batch's row count:
// the summed gradient is the full batch's gradient. Shards are summed in a fixed order (0, 1, …, W − 1), so the
// result does not depend on timing, and equals the single-thread gradient up to float summation order.
// Dropout: shard t draws its masks from thread t's stream (key word 0 = threadSeedLo(seed, t), src/ops/dropout.ts)
// at the coordinator's stream position, sent with each forward (ARG.COUNTER), so no two threads ever share a
// (key, counter) pair and a run is reproducible and resumable for a given thread count. The masks differ from a
// single-thread run's (thread 0 draws only its own shard's rows): with dropout > 0 the result is not the
// single-thread one, only statistically equivalent; without dropout it is equal to float tolerance.
//
// Gradient-level balancing (a strategy with a gradient stage): every shard runs its per-task backward passes with
// seed = its share of the batch's labelled rows of that task (TASKS), so the shards' per-task gradient vectors
// (and, in rep mode, the sign statistics) sum to the batch's; they are summed in the fixed order 0, 1, …, W − 1
// before the strategy (a nonlinear function of them) runs once, on this thread. Parameter mode: this thread then
// has the whole step's gradient and sends it (APPLY); every thread applies the same update. Representation mode:
// this thread sends the strategy's alpha (and GradDrop's feature multipliers), every shard seeds its own
// representations with them and runs its trunk backward (FINISH), and the shards' gradients are summed as in
// BACKWARD. Either way the step equals one thread's to float tolerance (test/train/parallel-balance.test.ts).
//
// Needs SharedArrayBuffer and a blocking Atomics.wait on this thread (Node's main thread and workers allow it;
// a browser page does not, and a page without cross-origin isolation has no SharedArrayBuffer at all):
// `canRunParallel()` says whether this runtime can; otherwise use the default single-thread source.
import type { Model } from "../model/model.ts";
import type { Encoded } from "../data/preprocess.ts";
import type { GradientSource } from "./trainer.ts";
import type { ParallelInit } from "./parallel-worker.ts";
import { TaskGradients } from "./task-gradients.ts";
import { WEIGHTING_GRADIENTS } from "../model/spec.ts";
import { meanState, stateSize, stateView } from "./shard-state.ts";

/** What a worker looks like to the coordinator (Node worker_threads, Web Workers and Deno workers all fit). */
export interface WorkerLike {
  /** Send a message (the init message, a {@link ParallelInit}, is the first). */
  postMessage(msg: unknown): void;
  /** Stop the worker (close() calls it after telling it to exit). */
  terminate(): unknown;
}

/**
 * Listen to a worker's messages and failures: Node's `on("message" | "error" | "exit")` (an exit code, for a worker
 * that stops on its own), a Web Worker's or Deno worker's `onmessage` / `onerror` (no exit event there).
 */
export function listen(worker: WorkerLike, onMessage: (m: unknown) => void, onError: (e: unknown) => void, onExit?: (code: unknown) => void): void {
  const w = worker as unknown as { on?: (e: string, f: (m: unknown) => void) => void; onmessage?: (e: { data: unknown }) => void; onerror?: (e: unknown) => void };
  if (typeof w.on === "function") {
    w.on("message", onMessage);
    w.on("error", onError);
    if (onExit) w.on("exit", onExit);
  } else {
    w.onmessage = (e) => onMessage(e.data);
    w.onerror = onError;
  }
}

/** Control words (Int32Array over shared memory); ACK + w holds the last command sequence worker w finished. */
export const CTRL = { SEQ: 0, CMD: 1, SLOTS: 2, ERROR: 3, ACK: 8 } as const;
export const CMD = { SYNC: 1, FORWARD: 2, BACKWARD: 3, EXIT: 4, TASKS: 5, APPLY: 6, FINISH: 7 } as const;
/** Command arguments (Float64Array): the batch's rows, and the update that follows its backward pass. */
export const ARG = { START: 0, COUNT: 1, LR: 2, STEP: 3, COUNTER: 4 } as const;
/**
 * Polls of a control word before a thread blocks on it (tens of µs). Was 200,000 (≈ 1 ms): when other work shares
 * the cores, a thread spinning that long burns the time slice its partner needs. On 2 cores under heavy foreign
 * load (W1, samples/s, interleaved runs): 2 threads 2.1k–4.0k with 200,000 polls vs 7.2k–13.7k with 20,000
 * (1 thread 8.1k–10.3k). A shorter spin costs a futex wake-up (tens of µs) only when a wait outlasts it.
 */
export const SPIN = 20_000;
/** How long a step may wait for the workers before the run fails. */
export const TIMEOUT_MS = 120_000;

/**
 * Whether this runtime can train on threads: SharedArrayBuffer and Atomics, a way to start workers (a global
 * Worker, or Node), and a thread that may block (not a browser window's main thread; cross-origin isolated pages).
 */
export function canRunParallel(): boolean {
  if (typeof SharedArrayBuffer === "undefined" || typeof Atomics === "undefined") return false;
  // A browser window's main thread may not block; workers and Node may. Threads also need a Worker
  // (Node has worker_threads instead of a global one; workerd has none).
  const g = globalThis as { document?: unknown; crossOriginIsolated?: boolean; Worker?: unknown; process?: { versions?: { node?: string } } };
  const workers = typeof g.Worker === "function" || !!g.process?.versions?.node;
  return workers && g.document === undefined && g.crossOriginIsolated !== false;
}

const sab = (bytes: number) => new SharedArrayBuffer(Math.max(8, (bytes + 7) & ~7));

/** Copy an encoded data set into shared memory once, so workers read it without copies per step. */
function shareData(d: Encoded): Encoded {
  const f32 = (a: Float32Array) => {
    const s = new Float32Array(sab(a.byteLength));
    s.set(a);
    return s;
  };
  const i32 = (a: Int32Array) => {
    const s = new Int32Array(sab(a.byteLength));
    s.set(a);
    return s;
  };
  return {
    rows: d.rows,
    numeric: f32(d.numeric),
    categorical: d.categorical.map(i32),
    tensor: f32(d.tensor),
    ...(d.tokens ? { tokens: { maxLength: d.tokens.maxLength, ids: i32(d.tokens.ids), mask: f32(d.tokens.mask), lengths: i32(d.tokens.lengths) } } : {}),
    tasks: d.tasks.map((t) => ({ labels: t.labels instanceof Int32Array ? i32(t.labels) : f32(t.labels), mask: f32(t.mask), group: i32(t.group), ...(t.tokenMask ? { tokenMask: f32(t.tokenMask) } : {}) })),
  };
}

/** Options of {@link parallelGradients}. */
export interface ParallelOptions {
  /** Total threads including this one (≥ 2). */
  threads: number;
  /** Start a worker running src/train/parallel-worker.ts (see node-workers.ts for Node). */
  spawn: () => WorkerLike;
  /** The compiled kernel module, sent to each worker (a WebAssembly.Module can be posted to workers). */
  module: WebAssembly.Module;
  /** Polls of a control word before a thread blocks on it (default SPIN). */
  spin?: number;
}

/** A gradient source that splits every batch across threads; `close()` stops its workers. */
export interface ParallelGradients extends GradientSource {
  /** Threads in use, this one included. */
  readonly threads: number;
  /** Tell the workers to exit and terminate them; the source is unusable afterwards. */
  close(): void;
}

/**
 * A gradient source over `opts.threads` threads for `data` (the rows `fit` will train on: it is shared once).
 * Await it, pass it to `fit(model, data, validation, { gradients })`, and `close()` it afterwards.
 */
export async function parallelGradients(model: Model, data: Encoded, opts: ParallelOptions): Promise<ParallelGradients> {
  if (!canRunParallel()) throw new Error("parallel training needs SharedArrayBuffer and a thread that may block (Node, a worker, or a cross-origin-isolated page's worker); use the single-thread default");
  const W = opts.threads, spin = opts.spin ?? SPIN;
  if (!(Number.isInteger(W) && W >= 2)) throw new Error(`parallelGradients: threads must be an integer ≥ 2, got ${W}`);
  const B = model.spec.training.batch_size, shard = Math.ceil(B / W);
  const T = model.spec.tasks.length, R = model.graph.terms.length, n = model.store.total;
  const shared = shareData(data);
  const ctrl = new Int32Array(sab(4 * (CTRL.ACK + W)));
  const args = new Float64Array(sab(8 * 8));
  /** Per worker w ≥ 1: T losses, T labelled-row counts, R relation sums; then T scales written by this thread. */
  const stride = 3 * T + R;
  const results = new Float64Array(sab(8 * stride * W));
  /** The optimizer's blocks, sent to the workers when fit starts. */
  const blocks = { p: new Float32Array(sab(4 * n)), s1: new Float32Array(sab(4 * n)), s2: new Float32Array(sab(4 * n)) };
  /** slots[w]: shard w's gradient for the current step (slot 0 is this thread's). */
  const slots = Array.from({ length: W }, () => new Float32Array(sab(4 * n)));
  const order = new Uint32Array(sab(4 * data.rows));
  // Model state (batch norm's running statistics, shard-state.ts): each shard's state after its forward, and their
  // mean, which every worker takes before its next forward.
  const S = stateSize(model);
  const stateSlots = S ? Array.from({ length: W }, () => new Float32Array(sab(4 * S))) : [];
  const stateMean = new Float32Array(sab(4 * Math.max(1, S)));
  // Gradient stage: each worker's per-task buffers (G, then S in rep mode, then acc in param mode), and the mix
  // (alpha, then feature multipliers) this thread sends in rep mode.
  const wt = model.spec.training.weighting;
  const staged = WEIGHTING_GRADIENTS[wt.type] !== "loss";
  const tg = staged ? new TaskGradients(model, model.program(shard, true), { mode: wt.rep_grad ? "rep" : "param", weights: model.spec.tasks.map((t) => t.weight), signed: wt.type === "graddrop" }) : null;
  const tgViews = tg?.views();
  const taskSlots = tg ? Array.from({ length: W }, () => new Float32Array(sab(4 * (tgViews!.rows.length + tgViews!.signed.length + (wt.rep_grad ? 0 : n))))) : [];
  const mix = tg ? new Float32Array(sab(4 * (T + tgViews!.rows.length + 1))) : new Float32Array(0);

  const built = model.program(shard, true);
  const io = built.io;
  const scratch = model.arena.alloc(n);
  const axpy = model.k.axpy_f32x4 as (...a: number[]) => number;
  const workers: WorkerLike[] = [];
  const ready: Promise<void>[] = [];
  for (let w = 1; w < W; w++) {
    const worker = opts.spawn();
    const init: ParallelInit = {
      module: opts.module, spec: model.spec, pre: model.pre, shard, index: w, threads: W, spin,
      ctrl, args, results, blocks, slots, order, data: shared, taskSlots, mix, stateSlots, stateMean,
    };
    ready.push(
      new Promise((resolve, reject) => {
        const handle = (m: unknown) => {
          const msg = m as { type: string; error?: string };
          if (msg.type === "ready") resolve();
          else if (msg.type === "error") reject(new Error(`training worker ${w}: ${msg.error}`));
        };
        const failed = (e: unknown) => {
          // A worker that dies (before or after "ready") stops the run: the next wait throws.
          Atomics.store(ctrl, CTRL.ERROR, 1);
          Atomics.notify(ctrl, CTRL.SLOTS);
          reject(e instanceof Error ? e : new Error(`training worker ${w} failed: ${String((e as { message?: string })?.message ?? e)}`));
        };
        listen(worker, handle, failed);
      }),
    );
    worker.postMessage(init);
    workers.push(worker);
  }
  await Promise.all(ready);

  const losses = new Float64Array(T), scales = new Float64Array(T), relations = new Float64Array(R);
  const after = new Float64Array(T);
  let stepCounter = 0, stepShard = { d: data, o: [] as ArrayLike<number>, start: 0, mine: 0 };
  const counts = new Float64Array(T), localScales = io.scales;
  let lastOrder: ArrayLike<number> | null = null;
  const p = model.arena;

  let seq = 0;
  /** Post a command to every worker (they read it when they finish the one before). */
  function issue(cmd: number): number {
    Atomics.store(ctrl, CTRL.CMD, cmd);
    seq = Atomics.add(ctrl, CTRL.SEQ, 1) + 1;
    Atomics.notify(ctrl, CTRL.SEQ);
    return seq;
  }

  /**
   * Block until the control word `at` reaches `target` (for every index in `at`), spinning briefly first: a futex
   * wake-up costs tens of µs. A worker that never answers (it died) ends the run after TIMEOUT_MS.
   */
  function await_(at: number[], target: number): void {
    const deadline = Date.now() + TIMEOUT_MS;
    for (const i of at) {
      for (let spins = 0; ; spins++) {
        if (Atomics.load(ctrl, CTRL.ERROR)) throw new Error("a training worker failed (see its error output)");
        const v = Atomics.load(ctrl, i);
        if (v >= target) break;
        if (spins > spin) {
          Atomics.wait(ctrl, i, v, 1_000);
          if (Date.now() > deadline) throw new Error(`a training worker did not answer within ${TIMEOUT_MS / 1000} s`);
        }
      }
    }
  }
  const acks = Array.from({ length: W - 1 }, (_, i) => CTRL.ACK + i + 1);
  /** After a forward's acks: the step's state is the shards' mean, here and (at their next forward) on every worker. */
  const combineState = () => {
    if (!S) return;
    stateSlots[0].set(stateView(model));
    meanState(stateSlots, stateView(model));
    stateMean.set(stateView(model));
  };

  const labelled = (d: Encoded, o: ArrayLike<number>, from: number, to: number, t: number) => {
    let c = 0;
    for (let r = from; r < to; r++) c += d.tasks[t].mask[o[r]];
    return c;
  };

  const afterCounts = new Float64Array(T);
  /** The batch's per-task losses: each shard's masked mean weighted by its labelled rows (the last forward's). */
  function combineLosses(out: Float64Array, outCounts: Float64Array): void {
    const { d, o, start, mine } = stepShard;
    for (let t = 0; t < T; t++) {
      const c0 = labelled(d, o, start, start + mine, t);
      let num = io.losses[t] * c0, den = c0;
      for (let w = 1; w < W; w++) {
        const base = (w - 1) * stride;
        num += results[base + t] * results[base + T + t];
        den += results[base + T + t];
      }
      outCounts[t] = den;
      out[t] = den > 0 ? num / den : 0;
    }
  }

  return {
    batch: B,
    threads: W,
    losses,
    scales,
    relations,
    compute(d, o, start, count, weigh, combine) {
      if (!!combine !== !!tg) throw new Error(`parallelGradients: the workers were set up for ${tg ? "a" : "no"} gradient stage, but fit ${combine ? "passed one" : "passed none"}`);
      if (d.rows !== data.rows) throw new Error("parallelGradients: fit was given another data set than the one shared with the workers");
      if (o !== lastOrder) {
        for (let i = 0; i < o.length; i++) order[i] = o[i];
        lastOrder = o;
      }
      // The forward pass on every shard.
      args[ARG.START] = start;
      args[ARG.COUNT] = count;
      args[ARG.COUNTER] = stepCounter = model.rng.counter; // every shard's program draws the same number of elements per step
      const mine = Math.min(shard, count);
      stepShard = { d, o, start, mine };
      const fwd = issue(CMD.FORWARD);
      model.feed(built, d, o, start, mine);
      io.validCount.value = count; // relations are normalised by the whole batch
      for (const f of built.program.forward) f();
      await_(acks, fwd);
      combineState();
      combineLosses(losses, counts);
      for (let i = 0; i < R; i++) {
        let s = io.relations[i];
        for (let w = 1; w < W; w++) s += results[(w - 1) * stride + 2 * T + i];
        relations[i] = s;
      }
      let obj = weigh(losses, scales, counts);
      model.graph.terms.forEach((r, i) => (obj += r.lambda * relations[i]));
      // Per-shard scales: the batch's scale times the shard's share of the labelled rows.
      for (let t = 0; t < T; t++) {
        const c0 = labelled(d, o, start, start + mine, t);
        localScales[t] = counts[t] > 0 ? (scales[t] * c0) / counts[t] : 0;
        for (let w = 1; w < W; w++) {
          const base = (w - 1) * stride;
          results[base + 2 * T + R + t] = counts[t] > 0 ? (scales[t] * results[base + T + t]) / counts[t] : 0;
        }
      }
      if (combine && tg) {
        // Per-task backwards on every shard, seeded with the shard's share of each task's labelled rows (the
        // workers read theirs from the scale slots); the sums in order 0, 1, …, W − 1; the strategy on the sums.
        const share = new Float64Array(T);
        for (let t = 0; t < T; t++) {
          const c0 = labelled(d, o, start, start + mine, t);
          share[t] = counts[t] > 0 ? c0 / counts[t] : 0;
          for (let w = 1; w < W; w++) {
            const base = (w - 1) * stride;
            results[base + 2 * T + R + t] = counts[t] > 0 ? results[base + T + t] / counts[t] : 0;
          }
        }
        const tasksSeq = issue(CMD.TASKS);
        const stage = tg.run(scales, counts, { seeds: share, losses });
        await_(acks, tasksSeq);
        const v = tg.views();
        const parts = [v.rows, v.signed, ...(wt.rep_grad ? [] : [v.acc])];
        for (let w = 1; w < W; w++) {
          let at = 0;
          for (const part of parts) {
            p.writeF32(scratch, taskSlots[w].subarray(at, at + part.length));
            axpy(part.length, scratch, part.byteOffset, 1);
            at += part.length;
          }
        }
        combine(stage);
        if (!wt.rep_grad) {
          // The whole step's gradient is here: send it (slot 0) and let every worker apply the update.
          tg.finish();
          slots[0].set(p.f32(model.store.g, n));
          // Awaited: a worker reads only the latest command word, so two commands may never be in flight at once.
          await_(acks, issue(CMD.APPLY));
          return obj;
        }
        mix.set(Float32Array.from(stage.alpha), 0);
        const fs = tg.featureScaleView();
        mix[T] = fs ? 1 : 0;
        if (fs) mix.set(fs, T + 1);
        Atomics.store(ctrl, CTRL.SLOTS, 0);
        issue(CMD.FINISH);
        tg.finish();
      } else {
        // Backward on every shard; each publishes its gradient and every thread sums the slots in the same order.
        Atomics.store(ctrl, CTRL.SLOTS, 0);
        issue(CMD.BACKWARD);
        for (const f of built.program.backward) f();
      }
      const g = model.store.g;
      slots[0].set(p.f32(g, n));
      Atomics.add(ctrl, CTRL.SLOTS, 1);
      Atomics.notify(ctrl, CTRL.SLOTS);
      await_([CTRL.SLOTS], W);
      // g = ((g_0 + g_1) + g_2) + …; this thread's g already holds g_0.
      for (let w = 1; w < W; w++) {
        p.writeF32(scratch, slots[w]);
        axpy(n, scratch, g, 1);
      }
      return obj;
    },
    lossesAfterUpdate() {
      // The step's forward again on every shard (same rows, same dropout stream position), under the updated
      // parameters (every worker has applied its update before it reads this command), losses combined as in compute.
      args[ARG.COUNTER] = stepCounter;
      const fwd = issue(CMD.FORWARD);
      const now = model.rng.counter;
      model.rng.counter = stepCounter;
      for (const f of built.program.forward) f();
      model.rng.counter = now;
      await_(acks, fwd);
      combineState();
      combineLosses(after, afterCounts);
      return after;
    },
    begin() {
      // The caller may have changed the weights or optimizer state since the last fit: send them all.
      blocks.p.set(p.f32(model.store.p, n));
      blocks.s1.set(p.f32(model.store.s1, n));
      blocks.s2.set(p.f32(model.store.s2, n));
      if (S) stateMean.set(stateView(model));
      await_(acks, issue(CMD.SYNC));
    },
    prepare(lr, step) {
      args[ARG.LR] = lr;
      args[ARG.STEP] = step;
    },
    close() {
      tg?.dispose();
      issue(CMD.EXIT);
      for (const w of workers) void w.terminate();
    },
  };
}
