// Sharded gradients on one thread: the step parallel.ts computes on W threads, computed here one shard after the
// other, bit for bit. Each shard has a training program of its own (Model.program(shard, true, w): activations of
// its own, the shared parameters and gradient block), draws its dropout masks from thread w's stream
// (threadSeedLo(seed, w), at the step's stream position), and its loss scale is the batch's scale times its share of
// the labelled rows; the shards' gradients are summed in the order ((g_0 + g_1) + g_2) + … as parallel.ts sums
// them. So one thread and W threads give the same weights for the same seed, and `--threads auto` (auto-threads.ts)
// can move between them at any step without changing the run: a run is reproducible for a given W, whatever the
// timing, and --resume reproduces it.
//
// The mirror of parallel.ts / parallel-worker.ts, step by step (their comments explain the why):
// - forward: shards 1 … W − 1 with seedLo_w and counter = the step's position, then shard 0 with the model's own
//   seed, which leaves the stream where the coordinator's forward leaves it;
// - losses: Σ_w loss_w·c_w / Σ_w c_w (c_w: shard w's labelled rows of the task), relations summed;
// - no gradient stage: shard w's backward with its scales, its gradient saved (a worker publishes its slot with the
//   weighting strategy's own parameters zeroed: their gradient is the coordinator's, in slot 0), then shard 0's
//   backward into the block, then g += slot_w in order;
// - gradient stage: every shard's per-task backwards (seeds = its share of each task's labelled rows; shards ≥ 1
//   with the tasks' static weights as a worker has), the shards' G, S and acc added to shard 0's in order, the
//   strategy once; parameter mode: shard 0 finishes (the whole step's gradient); representation mode: shards ≥ 1
//   finish with the strategy's alpha as float32 and its feature multipliers (what a worker receives), their
//   gradients saved as above, shard 0 finishes with its own, and the slots are added in order.
// Cost against one program at the whole batch: smaller GEMMs, and W − 1 copies and additions of the gradient block
// per step (bench: `npm run bench:threads`).
import type { Model, Built } from "../model/model.ts";
import type { Encoded } from "../data/preprocess.ts";
import type { GradientSource } from "./trainer.ts";
import type { GradientStage } from "./task-gradients.ts";
import { TaskGradients } from "./task-gradients.ts";
import { threadSeedLo } from "../ops/dropout.ts";
import { WEIGHTING_GRADIENTS } from "../model/spec.ts";
import { meanState, stateSize, stateView } from "./shard-state.ts";

type KernelFn = (...a: number[]) => number;

export interface ShardedGradients extends GradientSource {
  /** W: the thread count whose step this reproduces. */
  readonly shards: number;
  /** Release the slots and the per-task buffers (the programs stay with the model). */
  close(): void;
}

/** The W-shard step of parallel.ts on this thread (see the file comment). `shards` ≥ 2. */
export function shardedGradients(model: Model, shards: number): ShardedGradients {
  const W = shards;
  if (!(Number.isInteger(W) && W >= 2)) throw new Error(`shardedGradients: shards must be an integer ≥ 2, got ${W}`);
  const spec = model.spec;
  const B = spec.training.batch_size, shard = Math.ceil(B / W);
  const T = spec.tasks.length, R = model.graph.terms.length, n = model.store.total;
  const built: Built[] = Array.from({ length: W }, (_, w) => model.program(shard, true, w));
  const p = model.arena;
  const region = p.region();
  /** slot[w] (w ≥ 1): shard w's gradient block, as a worker publishes it. */
  const slot = Array.from({ length: W }, (_, w) => (w === 0 ? 0 : region.alloc(n)));
  const axpy = model.k.axpy_f32x4 as KernelFn, fill = model.k.fill_f32x4 as KernelFn;
  const own = model.store.ranges((q) => q.role === "weighting");
  const wt = spec.training.weighting;
  const staged = WEIGHTING_GRADIENTS[wt.type] !== "loss";
  const tg = staged ? built.map((b) => new TaskGradients(model, b, { mode: wt.rep_grad ? "rep" : "param", weights: spec.tasks.map((t) => t.weight), signed: wt.type === "graddrop" })) : [];
  const staticScales = Float64Array.from(spec.tasks, (t) => t.weight);

  const losses = new Float64Array(T), scales = new Float64Array(T), relations = new Float64Array(R), after = new Float64Array(T);
  const counts = new Float64Array(T), afterCounts = new Float64Array(T);
  /** Per shard: its labelled rows per task (the coordinator's `labelled`, a worker's `c`). */
  const cnt = Array.from({ length: W }, () => new Float64Array(T));
  const shardScale = Array.from({ length: W }, () => new Float64Array(T));
  let stepCounter = 0;
  /** Model state (batch norm): the step's starting state, and each shard's after its forward (shard-state.ts). */
  const S = stateSize(model);
  const state0 = new Float32Array(S), stateOf = Array.from({ length: S ? W : 0 }, () => new Float32Array(S));

  /** The rows of shard w in a batch of `count` rows: [from, from + rows). */
  const span = (w: number, count: number) => {
    const from = Math.min(count, w * shard);
    return { from, rows: Math.max(0, Math.min(shard, count - from)) };
  };
  /** Shard w's forward under thread w's dropout stream at the step's position (shard 0 last: see the file comment). */
  const forward = (w: number) => {
    const seed = model.rng.seedLo;
    model.rng.counter = stepCounter;
    if (w !== 0) model.rng.seedLo = threadSeedLo(seed, w);
    // Each shard updates the state from the step's starting state, as each thread does from its own copy.
    if (S) stateView(model).set(state0);
    try {
      for (const f of built[w].program.forward) f();
    } finally {
      model.rng.seedLo = seed;
    }
    if (S) stateOf[w].set(stateView(model));
  };
  /** parallel.ts combineLosses: each shard's masked mean weighted by its labelled rows. */
  const combine = (out: Float64Array, outCounts: Float64Array) => {
    for (let t = 0; t < T; t++) {
      const c0 = cnt[0][t];
      let num = built[0].io.losses[t] * c0, den = c0;
      for (let w = 1; w < W; w++) {
        num += built[w].io.losses[t] * cnt[w][t];
        den += cnt[w][t];
      }
      outCounts[t] = den;
      out[t] = den > 0 ? num / den : 0;
    }
  };
  /** Save the block as shard w's slot, the strategy's own parameters zeroed (a worker's zeroOwn). */
  const publish = (w: number) => {
    p.f32(slot[w], n).set(p.f32(model.store.g, n));
    for (const [off, len] of own) fill(len, slot[w] + off * 4, 0);
  };
  const sumSlots = () => {
    for (let w = 1; w < W; w++) axpy(n, slot[w], model.store.g, 1);
  };

  return {
    batch: B,
    shards: W,
    losses,
    scales,
    relations,
    compute(d: Encoded, o: ArrayLike<number>, start: number, count: number, weigh, combineStage?: (stage: GradientStage) => void) {
      if (!!combineStage !== staged) throw new Error(`shardedGradients: set up for ${staged ? "a" : "no"} gradient stage, but fit ${combineStage ? "passed one" : "passed none"}`);
      stepCounter = model.rng.counter;
      if (S) state0.set(stateView(model));
      for (let w = W - 1; w >= 0; w--) {
        const { from, rows } = span(w, count);
        model.feed(built[w], d, o, start + from, rows);
        built[w].io.validCount.value = count; // relations are normalised by the whole batch
        for (let t = 0; t < T; t++) {
          let c = 0;
          for (let r = 0; r < rows; r++) c += d.tasks[t].mask[o[start + from + r]];
          cnt[w][t] = c;
        }
        forward(w);
      }
      if (S) meanState(stateOf, stateView(model));
      combine(losses, counts);
      for (let i = 0; i < R; i++) {
        let s = built[0].io.relations[i];
        for (let w = 1; w < W; w++) s += built[w].io.relations[i];
        relations[i] = s;
      }
      let obj = weigh(losses, scales, counts);
      model.graph.terms.forEach((r, i) => (obj += r.lambda * relations[i]));
      for (let w = 0; w < W; w++) for (let t = 0; t < T; t++) shardScale[w][t] = counts[t] > 0 ? (scales[t] * cnt[w][t]) / counts[t] : 0;
      built[0].io.scales.set(shardScale[0]);
      if (!staged) {
        for (let w = 1; w < W; w++) {
          built[w].io.scales.set(shardScale[w]);
          for (const f of built[w].program.backward) f();
          publish(w);
        }
        for (const f of built[0].program.backward) f();
        sumSlots();
        return obj;
      }
      // Gradient stage: per-task backwards on every shard, the sums in order, the strategy once on the sums.
      const share = (w: number) => Float64Array.from(cnt[w], (c, t) => (counts[t] > 0 ? c / counts[t] : 0));
      for (let w = 1; w < W; w++) tg[w].run(staticScales, undefined, { seeds: share(w) });
      const stage = tg[0].run(scales, counts, { seeds: share(0), losses });
      const parts = (w: number) => {
        const v = tg[w].views();
        return [v.rows, v.signed, ...(wt.rep_grad ? [] : [v.acc])];
      };
      const mine = parts(0);
      for (let w = 1; w < W; w++) parts(w).forEach((part, i) => axpy(part.length, part.byteOffset, mine[i].byteOffset, 1));
      combineStage!(stage);
      if (!wt.rep_grad) {
        tg[0].finish();
        return obj;
      }
      const alpha = Float32Array.from(stage.alpha);
      const fs = tg[0].featureScaleView();
      const multipliers = fs ? Float32Array.from(fs) : null;
      for (let w = 1; w < W; w++) {
        tg[w].setMix(alpha, multipliers);
        tg[w].finish();
        publish(w);
      }
      tg[0].finish();
      sumSlots();
      return obj;
    },
    lossesAfterUpdate() {
      // The step's forward again on every shard under the updated parameters (same rows, same stream positions).
      const now = model.rng.counter;
      if (S) state0.set(stateView(model));
      for (let w = W - 1; w >= 0; w--) forward(w);
      if (S) meanState(stateOf, stateView(model));
      model.rng.counter = now;
      combine(after, afterCounts);
      return after;
    },
    diagnose: () => model.firstNonFinite(built[0]),
    close() {
      for (const g of tg) g.dispose();
      region.dispose();
    },
  };
}
