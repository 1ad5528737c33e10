// The worker side of parallel.ts: one shard of every batch, in lock-step with the coordinator, with its own
// copy of the parameters and optimizer state that it updates exactly as the coordinator does.
// Portable: `serveParallel(init, port)` runs in any worker whose port can post messages (Node worker_threads'
// parentPort, a Web Worker's self, a Deno worker); node-worker-entry.ts is the Node entry.
import type { ModelSpec } from "../model/spec.ts";
import type { Encoded, Preprocessing } from "../data/preprocess.ts";
import { loadKernels } from "../runtime/load.ts";
import { Model } from "../model/model.ts";
import { makeUpdater } from "./update.ts";
import { ARG, CMD, CTRL, SPIN, TIMEOUT_MS } from "./parallel.ts";
import { threadSeedLo } from "../ops/dropout.ts";
import { TaskGradients } from "./task-gradients.ts";
import { stateSize, stateView } from "./shard-state.ts";

/**
 * The first message a training worker receives (built by parallelGradients): what it needs to build its own copy
 * of the model and the shared memory it works in. Typed arrays here are views of SharedArrayBuffers.
 */
export interface ParallelInit {
  /** mtl.wasm, compiled (each worker instantiates its own kernels from it). */
  module: WebAssembly.Module;
  /** The model's validated spec. */
  spec: ModelSpec;
  /** The model's preprocessing. */
  pre: Preprocessing;
  /** Rows per shard, ⌈batch_size / threads⌉ (the worker's program batch size). */
  shard: number;
  /** This worker's thread index w, 1 ≤ w < threads (thread 0 is the coordinator). */
  index: number;
  /** Number of threads W, the coordinator included. */
  threads: number;
  /** Polls of a control word before blocking on it (ParallelOptions.spin). */
  spin?: number;
  /** Control words (parallel.ts CTRL): command sequence, command, slot counter, error flag, per-worker acks. */
  ctrl: Int32Array;
  /** The command's arguments (parallel.ts ARG): batch start and count, learning rate, step, dropout counter. */
  args: Float64Array;
  /** Per shard: its task losses [T], labelled rows [T] and relation values [R], at offset w·(2T + R). */
  results: Float64Array;
  /** Parameters and optimizer moments, sent by the coordinator at the start of each fit (CMD.SYNC). */
  blocks: {
    /** Parameters. */
    p: Float32Array;
    /** Optimizer first moments. */
    s1: Float32Array;
    /** Optimizer second moments. */
    s2: Float32Array;
  };
  /** Every shard's gradient slot; this worker writes slots[index]. */
  slots: Float32Array[];
  /** The epoch's row order; a batch is order[start, start + count), a shard its part of it. */
  order: Uint32Array;
  /** The encoded training rows (shared). */
  data: Encoded;
  /** Gradient stage (parallel.ts): each shard's per-task buffers (G, S in rep mode, acc in param mode). */
  taskSlots?: Float32Array[];
  /** Rep mode: the coordinator's alpha [T], a flag, then feature multipliers [T·ld]. */
  mix?: Float32Array;
  /** Model state (shard-state.ts): each shard's after its forward; this worker writes stateSlots[index]. */
  stateSlots?: Float32Array[];
  /** The shards' mean state, which the coordinator writes (at SYNC and after every forward) and this worker takes before each forward. */
  stateMean?: Float32Array;
}

/** Where a worker reports to the coordinator: Node's parentPort, a Web Worker's `self`, a Deno worker's `self`. */
export interface Port {
  /** Send `{ type: "ready" }` or `{ type: "error", error }` to the coordinator. */
  postMessage(msg: unknown): void;
}

/** Handle the init message, then serve commands until EXIT (blocking this worker between commands). */
export async function serveParallel(init: ParallelInit, port: Port): Promise<void> {
  const { spec, pre, shard, index: w, threads: W, ctrl, args, results, blocks, slots, order, data, taskSlots, mix, stateSlots, stateMean } = init;
  const spin = init.spin ?? SPIN;
  let model: Model;
  try {
    model = new Model(spec, pre, await loadKernels(init.module));
  } catch (e) {
    port.postMessage({ type: "error", error: String((e as Error)?.stack ?? e) });
    return;
  }
  // Each shard draws dropout masks from its own stream: the thread index goes into Philox key word 0, which the
  // stream position never touches (the counter's high bits move key word 1), so thread w's (key, counter) pairs
  // are disjoint from every other thread's for any counters (derivation in src/ops/dropout.ts). The position
  // itself follows the coordinator's (ARG.COUNTER, set before each forward).
  model.rng.seedLo = threadSeedLo(model.rng.seedLo, w);
  const built = model.program(shard, true);
  const { io } = built;
  const update = makeUpdater(model);
  const T = spec.tasks.length, R = model.graph.terms.length, stride = 3 * T + R, base = (w - 1) * stride;
  const n = model.store.total;
  const p = model.arena;
  const scratch = p.alloc(n);
  const axpy = model.k.axpy_f32x4 as (...a: number[]) => number;
  const fill = model.k.fill_f32x4 as (...a: number[]) => number;
  // A strategy's own parameters (learnt log-variances, GradNorm's logits) get their gradient from the
  // coordinator's weighting only (it is in slot 0).
  const own = model.store.ranges((q) => q.role === "weighting");
  const zeroOwn = () => {
    for (const [off, len] of own) fill(len, model.store.g + off * 4, 0);
  };
  const wt = spec.training.weighting;
  const tg = taskSlots?.length ? new TaskGradients(model, built, { mode: wt.rep_grad ? "rep" : "param", weights: spec.tasks.map((t) => t.weight), signed: wt.type === "graddrop" }) : null;
  const staticScales = Float64Array.from(spec.tasks, (t) => t.weight);
  /** Publish this shard's gradient, wait for every shard's, sum them in order 0, 1, …, W − 1, and update. */
  const sumAndUpdate = (lr: number, step: number) => {
    const g = model.store.g;
    zeroOwn();
    slots[w].set(p.f32(g, n));
    Atomics.add(ctrl, CTRL.SLOTS, 1);
    Atomics.notify(ctrl, CTRL.SLOTS);
    waitFor(CTRL.SLOTS, W);
    // The same sum as the coordinator's, ((g_0 + g_1) + g_2) + …: with two threads g_1 + g_0 is the same
    // float sum (addition commutes), otherwise start from slot 0.
    if (W === 2) {
      p.writeF32(scratch, slots[0]);
      axpy(n, scratch, g, 1);
    } else {
      p.writeF32(g, slots[0]);
      for (let v = 1; v < W; v++) {
        p.writeF32(scratch, slots[v]);
        axpy(n, scratch, g, 1);
      }
    }
    update(lr, step);
  };
  const waitFor = (at: number, target: number) => {
    const deadline = Date.now() + TIMEOUT_MS;
    for (let spins = 0; ; spins++) {
      const v = Atomics.load(ctrl, at);
      if (v >= target || Atomics.load(ctrl, CTRL.ERROR)) return;
      if (spins > spin) {
        Atomics.wait(ctrl, at, v, 1_000);
        if (Date.now() > deadline) throw new Error(`training worker ${w}: no answer within ${TIMEOUT_MS / 1000} s`);
      }
    }
  };
  let seq = Atomics.load(ctrl, CTRL.SEQ);
  port.postMessage({ type: "ready" });
  for (;;) {
    // Spin a little before sleeping: the next command usually follows within a step's time.
    for (let spins = 0; Atomics.load(ctrl, CTRL.SEQ) === seq; spins++) if (spins > spin) Atomics.wait(ctrl, CTRL.SEQ, seq, 10_000);
    seq++;
    const cmd = Atomics.load(ctrl, CTRL.CMD);
    if (cmd === CMD.EXIT) return;
    // The step's update arguments, read before this thread publishes anything: once every shard has published,
    // the coordinator may go on to the next step and set them anew.
    const lr = args[ARG.LR], step = args[ARG.STEP];
    try {
      if (cmd === CMD.SYNC) {
        p.writeF32(model.store.p, blocks.p);
        p.writeF32(model.store.s1, blocks.s1);
        p.writeF32(model.store.s2, blocks.s2);
      } else if (cmd === CMD.FORWARD) {
        const start = args[ARG.START], count = args[ARG.COUNT];
        model.rng.counter = args[ARG.COUNTER];
        const from = Math.min(count, w * shard), rows = Math.max(0, Math.min(shard, count - from));
        model.feed(built, data, order, start + from, rows);
        io.validCount.value = count;
        const S = stateSize(model);
        if (S) stateView(model).set(stateMean!.subarray(0, S));
        for (const f of built.program.forward) f();
        if (S) stateSlots![w].set(stateView(model));
        for (let t = 0; t < T; t++) {
          let c = 0;
          for (let r = 0; r < rows; r++) c += data.tasks[t].mask[order[start + from + r]];
          results[base + t] = io.losses[t];
          results[base + T + t] = c;
        }
        for (let i = 0; i < R; i++) results[base + 2 * T + i] = io.relations[i];
      } else if (cmd === CMD.BACKWARD) {
        for (let t = 0; t < T; t++) io.scales[t] = results[base + 2 * T + R + t];
        for (const f of built.program.backward) f();
        sumAndUpdate(lr, step);
      } else if (cmd === CMD.TASKS) {
        // Per-task backwards seeded with this shard's share of each task's labelled rows; publish G (S, acc).
        if (!tg) throw new Error("a gradient stage was requested but the worker has none");
        const seeds = Array.from({ length: T }, (_, t) => results[base + 2 * T + R + t]);
        tg.run(staticScales, undefined, { seeds });
        const v = tg.views();
        let at = 0;
        for (const part of wt.rep_grad ? [v.rows, v.signed] : [v.rows, v.signed, v.acc]) {
          taskSlots![w].set(part, at);
          at += part.length;
        }
      } else if (cmd === CMD.APPLY) {
        // Parameter mode: the coordinator combined the step's gradient; apply the same update.
        p.writeF32(model.store.g, slots[0]);
        update(lr, step);
      } else if (cmd === CMD.FINISH) {
        // Rep mode: seed this shard's representations with the coordinator's mix, trunk backward, sum, update.
        const ld = tg!.ld;
        tg!.setMix(mix!.subarray(0, T), mix![T] ? mix!.subarray(T + 1, T + 1 + T * ld) : null);
        tg!.finish();
        sumAndUpdate(lr, step);
      }
    } catch (e) {
      Atomics.store(ctrl, CTRL.ERROR, 1);
      Atomics.notify(ctrl, CTRL.SLOTS);
      port.postMessage({ type: "error", error: String((e as Error)?.stack ?? e) });
    }
    Atomics.store(ctrl, CTRL.ACK + w, seq);
    Atomics.notify(ctrl, CTRL.ACK + w);
  }
}
