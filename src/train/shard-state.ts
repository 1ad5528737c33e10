// Model state (batch norm's running statistics) across the shards of one step, for parallel.ts and sharded.ts.
// Every shard's training forward updates the running statistics from its own rows, starting from the same state
// (r_w = (1 − m)·r + m·stat_w); the step's state is the shards' mean, r = (1/W)·Σ_w r_w = (1 − m)·r + m·mean_w(stat_w),
// summed in float64 in shard order 0, 1, …, W − 1 and rounded once to float32, the same on every thread and in
// the one-thread shards. The running mean is thus updated with the batch's mean (shards have equal row counts: a
// partial batch's padding rows count, as in a one-program step); the running variance with the mean of the
// shards' variances (each about its own shard's mean), as data-parallel batch norm without cross-shard
// synchronisation does (each shard also normalises with its own statistics).
import type { Model } from "../model/model.ts";

/** Elements of model state: the parameter block's tail [trainable, total) (state is declared last). */
export const stateSize = (model: Model) => model.store.total - model.store.trainable;

/** A live view of the model's state in its parameter block (valid until memory grows: take it anew each step). */
export const stateView = (model: Model): Float32Array => model.arena.f32(model.store.p + model.store.trainable * 4, stateSize(model));

/** out[i] = f32((Σ_w slots[w][i]) / W), summed in float64 in order w = 0, 1, …. */
export function meanState(slots: readonly ArrayLike<number>[], out: Float32Array): void {
  const W = slots.length, n = out.length;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let w = 0; w < W; w++) s += slots[w][i];
    out[i] = s / W;
  }
}
