// The worker side of parallel.ts: one shard of every batch, in lock-step with the coordinator.
// Portable: `serveParallel(port)` runs in any worker whose port can post messages (Node worker_threads'
// parentPort, a Web Worker's self, a Deno worker); node-workers.ts is the Node entry.
import type { ModelSpec } from "../model/spec.ts";
import type { Encoded, Preprocessing } from "../data/preprocess.ts";
import { loadKernels } from "../runtime/load.ts";
import { Model } from "../model/model.ts";
import { ARG, CMD, CTRL, SPIN } from "./parallel.ts";

export interface ParallelInit {
  module: WebAssembly.Module;
  spec: ModelSpec;
  pre: Preprocessing;
  shard: number;
  index: number;
  threads: number;
  ctrl: Int32Array;
  args: Float64Array;
  results: Float64Array;
  params: Float32Array;
  grad: Float32Array;
  order: Uint32Array;
  data: Encoded;
}

export interface Port {
  postMessage(msg: unknown): void;
}

/** Handle the init message, then serve commands until EXIT (blocking this worker between commands). */
export async function serveParallel(init: ParallelInit, port: Port): Promise<void> {
  const { spec, pre, shard, index: w, ctrl, args, results, params, grad, order, data } = init;
  let model: Model;
  try {
    model = new Model(spec, pre, await loadKernels(init.module));
  } catch (e) {
    port.postMessage({ type: "error", error: String((e as Error)?.stack ?? e) });
    return;
  }
  // Each shard draws dropout masks from its own counter stream.
  model.rng.seedHi += w;
  const built = model.program(shard, true);
  const { io } = built;
  const T = spec.tasks.length, R = spec.training.relations.length, stride = 3 * T + R, base = (w - 1) * stride;
  const n = model.store.total;
  const p = model.arena;
  let seq = Atomics.load(ctrl, CTRL.SEQ);
  port.postMessage({ type: "ready" });
  for (;;) {
    // Spin a little before sleeping: the next command usually follows within a step's time.
    for (let spins = 0; Atomics.load(ctrl, CTRL.SEQ) === seq; spins++) if (spins > SPIN) Atomics.wait(ctrl, CTRL.SEQ, seq, 10_000);
    seq = Atomics.load(ctrl, CTRL.SEQ);
    const cmd = Atomics.load(ctrl, CTRL.CMD);
    if (cmd === CMD.EXIT) return;
    try {
      const start = args[ARG.START], count = args[ARG.COUNT];
      const from = Math.min(count, w * shard), rows = Math.max(0, Math.min(shard, count - from));
      if (cmd === CMD.FORWARD) {
        p.writeF32(model.store.p, params);
        model.feed(built, data, order, start + from, rows);
        io.validCount.value = count;
        for (const f of built.program.forward) f();
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
        grad.set(p.f32(model.store.g, n));
      }
    } catch (e) {
      Atomics.store(ctrl, CTRL.ERROR, 1);
      port.postMessage({ type: "error", error: String((e as Error)?.stack ?? e) });
    }
    Atomics.add(ctrl, CTRL.DONE, 1);
    Atomics.notify(ctrl, CTRL.DONE);
  }
}
