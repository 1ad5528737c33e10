// Per-task gradients: after a forward, the compiled training program runs its backward seeded from one task's
// loss at a time (program.backwardFor([loss_t]): only the subgraph that loss reaches, with its own plan) and
// hands back, for every task t,
//   (a) g_t = ∂L_t/∂θ_shared, the gradient of the shared parameters (role "shared", the ranges of the block in
//       order, concatenated), and
//   (b) ∂L_t/∂z_t, the gradient of the shared representation z_t that task t's tower reads ([B, d_t]).
// All buffers live in wasm memory and are allocated once, so a step allocates nothing; `ptr` gives addresses
// for kernels, `view` typed views (valid until memory grows).
//
// The gradient stage of a training step (`combineGradients`) uses them: task-specific parameters receive
// Σ_t scale_t·∂L_t/∂θ (scale_t from the weighting strategy), relation terms their own gradient, and the shared
// parameters whatever the strategy's `gradient` writes into `combined` (initially Σ_t scale_t·g_t, i.e. the
// ordinary weighted gradient).
import type { Built, Model } from "../model/model.ts";
import type { Region } from "../runtime/heap.ts";
import type { KernelFn } from "../runtime/load.ts";
import type { Step } from "../graph/op.ts";

export interface GradientStage {
  readonly tasks: number;
  /** Elements of the shared-parameter gradient. */
  readonly sharedSize: number;
  /** This step's per-task losses and the weighting strategy's loss scales. */
  readonly losses: Float64Array;
  readonly scales: Float64Array;
  /** g_t = ∂L_t/∂θ_shared (seed 1), as a view. */
  taskGradient(t: number): Float32Array;
  /** ∂L_t/∂z_t of task t's shared representation [B, d_t], as a view. */
  representationGradient(t: number): Float32Array;
  /** The shared gradient the optimizer will use; write it in place. Starts as Σ_t scale_t·g_t. */
  readonly combined: Float32Array;
  /** Byte addresses of the same buffers, for kernels. */
  readonly ptr: { task(t: number): number; representation(t: number): number; combined: number };
}

export class TaskGradients {
  readonly tasks: number;
  readonly sharedSize: number;
  private readonly region: Region;
  private readonly ranges: [number, number][];
  /** The weighting strategy's own parameters: their gradient is the strategy's, not the tasks'. */
  private readonly weightingRanges: [number, number][];
  private readonly taskPtr: number[];
  private readonly repPtr: number[];
  private readonly repSize: number[];
  private readonly acc: number;
  private readonly combinedPtr: number;
  private readonly perTask: Step[][];
  private readonly relations: Step[];
  private readonly copy: KernelFn;
  private readonly saved: Float64Array;
  private readonly axpy: KernelFn;

  constructor(
    private readonly model: Model,
    private readonly built: Built,
  ) {
    const { store, k, arena } = model;
    const { io, program } = built;
    this.tasks = io.tasks.length;
    this.saved = new Float64Array(this.tasks);
    this.ranges = store.ranges((p) => p.shared);
    this.sharedSize = this.ranges.reduce((s, r) => s + r[1], 0);
    this.weightingRanges = store.ranges((p) => p.role === "weighting");
    this.region = arena.region();
    const alloc = (n: number) => this.region.alloc(Math.max(4, n));
    this.taskPtr = io.tasks.map(() => alloc(this.sharedSize));
    this.repSize = io.tasks.map((t) => t.representation.size);
    this.repPtr = this.repSize.map((n) => alloc(n));
    this.acc = alloc(store.total);
    this.combinedPtr = alloc(this.sharedSize);
    this.perTask = io.tasks.map((t) => {
      if (!t.loss) throw new Error("per-task gradients need a training program");
      return program.backwardFor([t.loss]);
    });
    const rel = model.graph.relations;
    this.relations = rel.length ? program.backwardFor(rel) : [];
    this.copy = k.cols_copy_f32x4 as KernelFn;
    this.axpy = k.axpy_f32x4 as KernelFn;
  }

  private f32(ptr: number, n: number): Float32Array {
    return new Float32Array(this.model.k.memory.buffer, ptr, n);
  }

  /** Copy the shared ranges of the gradient block into `dst` (concatenated). */
  private gatherShared(dst: number): void {
    const g = this.model.store.g;
    let at = 0;
    for (const [off, n] of this.ranges) {
      this.copy(1, n, g + off * 4, n, dst + at * 4, n, 0);
      at += n;
    }
  }

  /**
   * After a forward: the per-task backward passes (seed 1 each), leaving g_t and ∂L_t/∂z_t in the stage's
   * buffers, and the gradient block holding Σ_t scale_t·∂L_t/∂θ + relation gradients (with
   * `scales` = the strategy's loss scales). `combine` may then rewrite the shared part (see `finish`).
   */
  run(scales: Float64Array): GradientStage {
    const { io } = this.built;
    const { store } = this.model;
    // The loss nodes read io.scales (often the same array as `scales`): seed 1 per task, then restore.
    const hostScales = io.scales;
    this.saved.set(scales);
    const saved = this.saved;
    const n = store.total;
    this.f32(this.acc, n).fill(0);
    for (let t = 0; t < this.tasks; t++) {
      hostScales[t] = 1;
      for (const s of this.perTask[t]) s();
      this.gatherShared(this.taskPtr[t]);
      const rep = io.tasks[t].representation;
      if (rep.grad) this.copy(1, this.repSize[t], rep.grad, this.repSize[t], this.repPtr[t], this.repSize[t], 0);
      this.axpy(n, store.g, this.acc, saved[t]);
    }
    hostScales.set(saved);
    if (this.relations.length) {
      for (const s of this.relations) s();
      this.axpy(n, store.g, this.acc, 1);
    }
    // No backward writes the strategy's parameters (it did, before the backward): keep its gradient as is.
    for (const [off, len] of this.weightingRanges) this.copy(1, len, store.g + off * 4, len, this.acc + off * 4, len, 0);
    // combined = Σ_t scale_t·g_t (+ relations), i.e. the shared part of acc.
    let at = 0;
    for (const [off, len] of this.ranges) {
      this.copy(1, len, this.acc + off * 4, len, this.combinedPtr + at * 4, len, 0);
      at += len;
    }
    const self = this;
    return {
      tasks: this.tasks,
      sharedSize: this.sharedSize,
      losses: io.losses,
      scales: saved,
      taskGradient: (t) => self.f32(self.taskPtr[t], self.sharedSize),
      representationGradient: (t) => self.f32(self.repPtr[t], self.repSize[t]),
      get combined() {
        return self.f32(self.combinedPtr, self.sharedSize);
      },
      ptr: { task: (t) => self.taskPtr[t], representation: (t) => self.repPtr[t], combined: this.combinedPtr },
    };
  }

  /** Write the step's gradient into the block: acc, with the shared ranges replaced by `combined`. */
  finish(): void {
    const { store } = this.model;
    this.copy(1, store.total, this.acc, store.total, store.g, store.total, 0);
    let at = 0;
    for (const [off, len] of this.ranges) {
      this.copy(1, len, this.combinedPtr + at * 4, len, store.g + off * 4, len, 0);
      at += len;
    }
  }

  dispose(): void {
    this.region.dispose();
  }
}
