// Task affinity during training (issue 12, item 4): how the tasks' gradients agree, and how a step on one task
// changes the others' losses.
//
// On a sampled step, after the batch's forward and backward (fit: right after `source.compute`, before the
// update), with θ_s the shared parameters (role "shared") and g_t = ∂L_t/∂θ_s the gradient of task t's unweighted
// masked-mean loss on this batch (one backward per task, TaskGradients in param mode with weights 1):
//   - cosine[i][j] = ⟨g_i, g_j⟩ / (‖g_i‖·‖g_j‖), from the f64 Gram matrix of the rows (gram_f32x4); symmetric,
//     diagonal exactly 1, clamped to [−1, 1];
//   - tag[i][j] = Z_{i→j} = 1 − L_j(θ_s − lr·g_i) / L_j(θ_s): TAG's lookahead affinity (Fifty et al. 2021,
//     "Efficiently Identifying Task Groupings for Multi-Task Learning", eq. 3), the relative drop of task j's loss
//     on the same batch after a plain gradient step of size lr (the step's scheduled learning rate, whatever the
//     optimizer) on task i's loss, applied to the shared parameters only, as the paper does. Row i is the task
//     stepped on, column j the loss measured; positive means a step on i helps j. The lookahead forward uses the
//     step's dropout masks (the rng counter is set back to where the step's forward started). Not symmetric; the
//     diagonal is each task's own relative improvement.
// A pair enters a step's sample only when both tasks have labelled rows in the batch (`active`), the gradients
// have non-zero norms (cosine) and L_j(θ_s) is finite and non-zero (TAG); otherwise it is missing for that step.
// Summaries are per-pair means over the steps where the pair was present, null where it never was.
//
// Recording does not change training: the gradient block, the shared parameters (copied back bit for bit, not
// un-stepped), the rng counter and the host's losses and relation values are restored, so a run with recording
// ends with the same weights, bit for bit, as one without (test/train/affinity.test.ts). It needs this thread's
// program holding the batch's forward state, so data-parallel sources (threads) cannot record.
//
// Cost of a sample: T backwards, T forwards and a few copies of the parameter block; `every` samples the first
// step of each epoch and every `every`-th after it (spec training.affinity.every, default 10).
import type { Built, Model } from "../model/model.ts";
import type { KernelFn } from "../runtime/load.ts";
import type { Region } from "../runtime/heap.ts";
import { TaskGradients } from "./task-gradients.ts";
import { DEFAULT_AFFINITY_EVERY } from "../model/spec.ts";

/** Per-pair means over sampled steps: row i, column j; null where the pair was never measured. */
export interface AffinitySummary {
  /** cos(g_i, g_j) of the task gradients on the shared parameters. */
  cosine: (number | null)[][];
  /** TAG lookahead affinity Z_{i→j} = 1 − L_j(θ_s − lr·g_i)/L_j(θ_s). */
  tag: (number | null)[][];
  /** Sampled steps. */
  steps: number;
}

/** One sampled step: the matrices (NaN where a pair is missing) and the tasks that were active. */
export interface AffinitySample {
  /** The global step number (1-based) it was recorded at. */
  step: number;
  /** Tasks with labelled rows in the batch, ascending. */
  active: readonly number[];
  /** [T·T] row-major: cos(g_i, g_j). */
  cosine: Float64Array;
  /** [T·T] row-major: Z_{i→j}. */
  tag: Float64Array;
}

/** Options of the {@link AffinityRecorder} constructor. */
export interface AffinityOptions {
  /** Sample the first step of each epoch and every `every`-th after it (default DEFAULT_AFFINITY_EVERY, 10). */
  every?: number;
}

class Sums {
  readonly sum: Float64Array;
  readonly n: Float64Array;
  constructor(T: number) {
    this.sum = new Float64Array(T * T);
    this.n = new Float64Array(T * T);
  }
  add(m: Float64Array): void {
    for (let i = 0; i < m.length; i++) if (!Number.isNaN(m[i])) (this.sum[i] += m[i]), this.n[i]++;
  }
  mean(T: number): (number | null)[][] {
    return Array.from({ length: T }, (_, i) => Array.from({ length: T }, (_, j) => (this.n[i * T + j] ? this.sum[i * T + j] / this.n[i * T + j] : null)));
  }
  reset(): void {
    this.sum.fill(0);
    this.n.fill(0);
  }
}

/**
 * Records task affinity (see the file header) on sampled steps of fit's local program, without changing training;
 * sums per epoch (`endEpoch`) and over the run (`total`). `dispose` frees its wasm buffers.
 */
export class AffinityRecorder {
  /** Number of tasks T. */
  readonly tasks: number;
  /** Sampling interval in steps (the first step of each epoch is always sampled). */
  readonly every: number;
  private readonly tg: TaskGradients;
  private readonly region: Region;
  private readonly gSave: number;
  private readonly pSave: number;
  private readonly gram: number;
  private readonly shared: [number, number][];
  private readonly copy: KernelFn;
  private readonly axpy: KernelFn;
  private readonly gramK: KernelFn;
  private readonly epoch: { cos: Sums; tag: Sums; steps: number };
  private readonly all: { cos: Sums; tag: Sums; steps: number };
  /** The last sample (its arrays are reused by the next). */
  readonly last: AffinitySample;

  /** `built`: the training program whose forward state `record` reads (the one fit's local source runs). */
  constructor(
    private readonly model: Model,
    private readonly built: Built,
    opts: AffinityOptions = {},
  ) {
    const every = opts.every ?? DEFAULT_AFFINITY_EVERY;
    if (!(Number.isInteger(every) && every >= 1)) throw new Error(`affinity: every must be a positive integer, got ${every}`);
    this.every = every;
    const T = (this.tasks = built.io.tasks.length);
    const { store, k } = model;
    this.shared = store.ranges((p) => p.shared);
    if (!this.shared.length) throw new Error(`affinity: model ${model.spec.name} has no shared parameters`);
    this.tg = new TaskGradients(model, built, { mode: "param" });
    this.region = model.arena.region();
    this.gSave = this.region.alloc(Math.max(4, store.total));
    this.pSave = this.region.alloc(Math.max(4, store.total));
    this.gram = this.region.allocBytes(Math.max(16, T * T * 8));
    const need = (name: string) => {
      const f = k[name];
      if (typeof f !== "function") throw new Error(`mtl.wasm has no kernel ${name} (affinity needs it)`);
      return f as KernelFn;
    };
    this.copy = need("cols_copy_f32x4");
    this.axpy = need("axpy_f32x4");
    this.gramK = need("gram_f32x4");
    this.epoch = { cos: new Sums(T), tag: new Sums(T), steps: 0 };
    this.all = { cos: new Sums(T), tag: new Sums(T), steps: 0 };
    this.last = { step: 0, active: [], cosine: new Float64Array(T * T).fill(NaN), tag: new Float64Array(T * T).fill(NaN) };
  }

  /** Whether the step with 0-based index `i` within its epoch is sampled. */
  due(i: number): boolean {
    return i % this.every === 0;
  }

  /** Copy n f32 elements (bit for bit). */
  private move(src: number, dst: number, n: number): void {
    this.copy(1, n, src, n, dst, n, 0);
  }

  /**
   * Sample the batch the program last ran forward and backward: `lr` is the step's learning rate, `counter` the
   * rng counter where the step's forward started. Leaves parameters, gradient block, rng counter, losses and
   * relation values as it found them. Returns the sample (also `last`) and adds it to the epoch's and run's sums.
   */
  record(lr: number, counter: number, step = 0): AffinitySample {
    const { model, built } = this;
    const { io, program } = built;
    const { store } = model;
    const T = this.tasks;
    const losses0 = Float64Array.from(io.losses), relations0 = Float64Array.from(io.relations);
    const counterAfter = model.rng.counter;
    this.move(store.g, this.gSave, store.total);
    this.move(store.p, this.pSave, store.total);
    const cos = this.last.cosine.fill(NaN), tag = this.last.tag.fill(NaN);
    let active: readonly number[] = [];
    try {
      // (a) per-task gradients of the unweighted losses on θ_s; their cosines from the f64 Gram matrix.
      const stage = this.tg.run(io.scales, io.labelled);
      active = stage.active;
      this.gramK(T, stage.size, stage.ptr.rows, stage.ld, this.gram);
      const G = new Float64Array(model.k.memory.buffer, this.gram, T * T);
      for (const i of active) {
        for (const j of active) {
          const d = G[i * T + i] * G[j * T + j];
          if (!(d > 0) || !Number.isFinite(d)) continue;
          cos[i * T + j] = i === j ? 1 : Math.max(-1, Math.min(1, G[i * T + j] / Math.sqrt(d)));
        }
      }
      // (b) TAG: θ_s − lr·g_i, the same batch and dropout masks forward, then θ_s copied back.
      for (const i of active) {
        let at = 0;
        for (const [off, len] of this.shared) {
          this.axpy(len, stage.ptr.rows + (i * stage.ld + at) * 4, store.p + off * 4, -lr);
          at += len;
        }
        model.rng.counter = counter;
        for (const f of program.forward) f();
        for (const j of active) {
          const l0 = losses0[j];
          if (l0 !== 0 && Number.isFinite(l0)) tag[i * T + j] = 1 - io.losses[j] / l0;
        }
        for (const [off, len] of this.shared) this.move(this.pSave + off * 4, store.p + off * 4, len);
      }
    } finally {
      this.move(this.pSave, store.p, store.total);
      this.move(this.gSave, store.g, store.total);
      model.rng.counter = counterAfter;
      io.losses.set(losses0);
      io.relations.set(relations0);
    }
    for (const acc of [this.epoch, this.all]) {
      acc.cos.add(cos);
      acc.tag.add(tag);
      acc.steps++;
    }
    const last = this.last as { step: number; active: readonly number[] };
    last.step = step;
    last.active = active;
    return this.last;
  }

  /** The means since the last `endEpoch` (or the start), then starts a new epoch. */
  endEpoch(): AffinitySummary {
    const e = this.epoch, T = this.tasks;
    const out = { cosine: e.cos.mean(T), tag: e.tag.mean(T), steps: e.steps };
    e.cos.reset();
    e.tag.reset();
    e.steps = 0;
    return out;
  }

  /** The means over every step sampled since construction. */
  total(): AffinitySummary {
    const a = this.all, T = this.tasks;
    return { cosine: a.cos.mean(T), tag: a.tag.mean(T), steps: a.steps };
  }

  /** Free its wasm buffers; the recorder is unusable afterwards. */
  dispose(): void {
    this.tg.dispose();
    this.region.dispose();
  }
}

/** The pair (i < j) with the lowest mean cosine, or null when no pair was measured. */
export function mostConflicting(s: AffinitySummary): {
  /** First task index (i < j). */
  i: number;
  /** Second task index. */
  j: number;
  /** Their mean gradient cosine. */
  cosine: number;
  /** [Z_{i→j}, Z_{j→i}] (null where never measured). */
  tag: [number | null, number | null];
} | null {
  let best: { i: number; j: number; cosine: number; tag: [number | null, number | null] } | null = null;
  const T = s.cosine.length;
  for (let i = 0; i < T; i++) {
    for (let j = i + 1; j < T; j++) {
      const c = s.cosine[i][j];
      if (c !== null && (best === null || c < best.cosine)) best = { i, j, cosine: c, tag: [s.tag[i][j], s.tag[j][i]] };
    }
  }
  return best;
}

// ---- grouping -------------------------------------------------------------------------------------------------
// TAG's network selection, restricted to partitions: every task is in exactly one group. A task's score in its
// group is the mean affinity it receives from the other members, mean_{i ∈ group, i ≠ j} Z_{i→j} (0 for a group of
// one); a partition's score is the sum of its tasks' scores (TAG's "total inter-task affinity"). Missing entries
// (null) count as 0. The best partition into exactly k groups is found by enumerating every one (restricted growth
// strings, Stirling S(T, k) of them: 9,330 for T = 10, k = 3); ties keep the first in that order.

/** The largest task count `bestGrouping` searches exhaustively. */
export const MAX_GROUPING_TASKS = 10;

/** The score of a partition of the tasks (see above); `groups` lists task indices. */
export function groupingScore(tag: readonly (readonly (number | null)[])[], groups: readonly (readonly number[])[]): number {
  let total = 0;
  for (const g of groups) {
    if (g.length < 2) continue;
    for (const j of g) {
      let s = 0;
      for (const i of g) if (i !== j) s += tag[i][j] ?? 0;
      total += s / (g.length - 1);
    }
  }
  return total;
}

/** The partition of the T tasks into exactly k non-empty groups with the highest score (groups ordered by first task). */
export function bestGrouping(tag: readonly (readonly (number | null)[])[], k: number): {
  /** k groups of task indices, each ascending, ordered by their first task. */
  groups: number[][];
  /** Its groupingScore. */
  score: number;
} {
  const T = tag.length;
  if (T > MAX_GROUPING_TASKS) throw new Error(`grouping: ${T} tasks is above the limit of ${MAX_GROUPING_TASKS} for the exhaustive search`);
  if (!(Number.isInteger(k) && k >= 1 && k <= T)) throw new Error(`grouping: cannot split ${T} tasks into ${k} groups`);
  const a = new Int32Array(T); // a[t]: task t's group; a[0] = 0, a[t] ≤ 1 + max(a[0..t))
  let best: { groups: number[][]; score: number } | null = null;
  const visit = (t: number, used: number) => {
    if (T - t < k - used) return; // too few tasks left to open the remaining groups
    if (t === T) {
      if (used !== k) return;
      const groups: number[][] = Array.from({ length: k }, () => []);
      for (let u = 0; u < T; u++) groups[a[u]].push(u);
      const score = groupingScore(tag, groups);
      if (best === null || score > best.score) best = { groups, score };
      return;
    }
    for (let g = 0; g <= Math.min(used, k - 1); g++) {
      a[t] = g;
      visit(t + 1, g === used ? used + 1 : used);
    }
  };
  visit(0, 0);
  return best!;
}
