// Per-task gradients and the gradient stage of a training step (gradient-level task balancing).
//
// After a forward, the compiled training program runs one backward per task loss (seed 1) and collects, for
// every task t, a gradient vector g_t into row t of one matrix G [T, ld] (f32, rows 16-byte aligned, ld ≥ n):
//   - mode "param" (`rep_grad: false`): g_t = w_t·∂L_t/∂θ_shared, the shared parameters' gradient (role "shared",
//     the ranges of the block in order, each parameter padded to a multiple of 4 elements);
//   - mode "rep" (`rep_grad: true`): g_t = w_t·Σ_rows ∂L_t/∂z_t, the gradient of task t's shared representation z_t
//     ([B, d]) summed over the batch rows (as LibMTL), n = d. The per-row gradients ∂L_t/∂z_t stay available.
// w_t is the task's static weight from the spec (a method balances the gradients of the weighted losses w_t·L_t).
// Tasks without a labelled row in the batch are not `active`: their rows are zero and methods leave them out.
//
// A method (Weighting.gradient) then sets the combination weights `alpha` (initially 1 for active tasks, 0
// otherwise), and may rewrite rows in place (PCGrad, GradVac) or, in rep mode, set per-task feature multipliers
// (GradDrop). The stage finishes the step's gradient:
//   - param mode: θ_shared gets Σ_t alpha_t·G_t (+ the relation terms' gradient);
//   - rep mode: each representation gets Σ_{t reading it} alpha_t·w_t·(∂L_t/∂z_t ⊙ m_t) (+ the relation terms'),
//     then one backward from the representations runs through the trunk;
// task-specific parameters get Σ_t w_t·∂L_t/∂θ (their own task's gradient, weighted as the loss), relation terms
// their own gradient, and a weighting strategy's own parameters keep the gradient it wrote.
//
// All buffers live in wasm memory and are allocated once, so a step allocates nothing; `ptr` gives addresses
// for kernels, views are valid until memory grows.
import type { Built, Model } from "../model/model.ts";
import type { Region } from "../runtime/heap.ts";
import type { Kernels, KernelFn } from "../runtime/load.ts";
import type { Step } from "../graph/op.ts";
import type { Value } from "../graph/graph.ts";

/** What each task's gradient vector is taken of: the shared parameters ("param") or its shared representation ("rep"). */
export type GradientMode = "param" | "rep";

/**
 * One step's per-task gradients, handed to a gradient-level balancing method (see the file header): rows of
 * G [T, ld], the combination weights `alpha` it sets, and addresses for kernels.
 */
export interface GradientStage {
  /** Number of tasks T (rows of G). */
  readonly tasks: number;
  /** What the rows are gradients of. */
  readonly mode: GradientMode;
  /** Elements n of each task's gradient vector (shared parameters, or the representation's width). */
  readonly size: number;
  /** Row stride of G in elements (a multiple of 4, ≥ size). */
  readonly ld: number;
  /** This step's per-task losses (masked means, unweighted). */
  readonly losses: Float64Array;
  /** The static task weights w_t the rows are scaled by. */
  readonly weights: readonly number[];
  /** Tasks with at least one labelled row in this batch, ascending. */
  readonly active: readonly number[];
  /** Labelled rows per task in this batch. */
  readonly labelled: ArrayLike<number>;
  /** Combination weights: the step's gradient is Σ_t alpha_t·G_t. Initially 1 (active) and 0 (inactive). */
  readonly alpha: Float64Array;
  /** Row t of G as a view (writable: methods that transform gradients rewrite it in place). */
  row(t: number): Float32Array;
  /** Alias of row(t) in param mode (the shared parameters' gradient of task t). */
  taskGradient(t: number): Float32Array;
  /** ∂L_t/∂z_t of task t's shared representation [B, d] (unweighted), as a view. */
  representationGradient(t: number): Float32Array;
  /**
   * Rep mode: byte address of per-task feature multipliers m [T, ld] (f32) applied to every row of ∂L_t/∂z_t before
   * alpha (GradDrop); 0 (default) for none. Reset to 0 each step.
   */
  featureScale: number;
  /**
   * Byte addresses for kernels: G; in rep mode also S [T, ld], S_t = w_t·Σ_rows ∂L_t/∂z_t ⊙ sign(z_t) (GradDrop's
   * sign statistic, summed like G over the batch and over threads); each task's representation value and per-row
   * gradient ([B, d], this thread's rows only).
   */
  readonly ptr: {
    /** G [T, ld] f32. */
    rows: number;
    /** S [T, ld] f32 (rep mode with the sign statistic; else 0). */
    signed: number;
    /** Task t's shared representation z_t [B, d] f32. */
    representation(t: number): number;
    /** ∂L_t/∂z_t [B, d] f32, this thread's rows. */
    representationGradient(t: number): number;
  };
  /** Rows of the batch (rep mode: the per-row gradients' first dimension). */
  readonly batch: number;
  /** The kernels, for methods that compute on G in wasm. */
  readonly k: Kernels;
}

/** Per-step options of `run` (data-parallel shards use them; one thread needs none). */
export interface RunOptions {
  /** Seed of each task's backward (default 1): a shard seeds its share of the batch's labelled rows. */
  seeds?: ArrayLike<number>;
  /** The batch's per-task losses for the stage (default: this program's). */
  losses?: Float64Array;
}

/** Options of the {@link TaskGradients} constructor. */
export interface TaskGradientOptions {
  /** What the per-task gradients are taken of (default "param"). */
  mode?: GradientMode;
  /** Static task weights (default 1 each). */
  weights?: readonly number[];
  /** Rep mode: also compute the sign statistic S (GradDrop reads it; default false, S stays zero). */
  signed?: boolean;
}

/**
 * The per-task backward passes of a compiled training program and the gradient stage they fill (see the file
 * header); buffers are allocated once in wasm memory, so a step allocates nothing. `dispose` frees them.
 */
export class TaskGradients {
  /** Number of tasks T. */
  readonly tasks: number;
  /** What the per-task gradients are taken of. */
  readonly mode: GradientMode;
  /** Elements of each gradient vector (shared parameters, or the representation width). */
  readonly size: number;
  /** Row stride of G in elements (a multiple of 4, ≥ size). */
  readonly ld: number;
  private readonly region: Region;
  private readonly ranges: [number, number][];
  /** Every parameter but the weighting strategy's own (whose gradient is the strategy's, not the tasks'). */
  private readonly ownRanges: [number, number][];
  private readonly rowsPtr: number;
  private readonly signedPtr: number;
  private readonly signedK: KernelFn | null;
  private readonly withSigned: boolean;
  private mixPtr = 0;
  private readonly repPtr: number[];
  private readonly repSize: number[];
  private readonly acc: number;
  private readonly perTask: Step[][];
  private readonly relations: Step[];
  private readonly copy: KernelFn;
  private readonly axpy: KernelFn;
  private readonly scaleK: KernelFn;
  private readonly fill: KernelFn;
  private readonly weights: number[];
  private readonly alpha: Float64Array;
  private readonly alphaPtr: number;
  // Rep mode: the distinct representation values, the relation terms' gradients of each, the trunk backward,
  // and the parameter ranges each partial backward writes.
  private readonly reps: Value[] = [];
  private readonly repOf: number[] = [];
  private readonly relRep: number[] = [];
  /** Elements of each distinct representation ([B, d]). */
  private readonly distinctSize: number[] = [];
  private readonly perTaskRanges: [number, number][][] = [];
  private relRanges: [number, number][] = [];
  private trunk: Step[] = [];
  private towerRanges: [number, number][] = [];
  private idleRanges: [number, number][] = [];
  private readonly colsum: KernelFn | null;
  private readonly scaleCols: KernelFn | null;
  private featureScale = 0;

  constructor(
    private readonly model: Model,
    private readonly built: Built,
    opts: TaskGradientOptions = {},
  ) {
    const { store, k, arena } = model;
    const { io, program } = built;
    this.tasks = io.tasks.length;
    this.mode = opts.mode ?? "param";
    this.weights = io.tasks.map((_, t) => opts.weights?.[t] ?? 1);
    this.ranges = store.ranges((p) => p.shared);
    this.ownRanges = store.ranges((p) => p.role !== "weighting");
    this.region = arena.region();
    const alloc = (n: number) => this.region.alloc(Math.max(4, n));
    this.repSize = io.tasks.map((t) => t.representation.size);
    const B = built.io.batch;
    if (this.mode === "param") this.size = this.ranges.reduce((s, r) => s + r[1], 0);
    else {
      const widths = io.tasks.map((t) => t.representation.size / B);
      if (widths.some((w) => w !== widths[0])) throw new Error(`rep_grad: the tasks' shared representations differ in width (${widths.join(", ")}); representation gradients need one width`);
      this.size = widths[0];
    }
    this.ld = (this.size + 3) & ~3;
    this.rowsPtr = alloc(this.tasks * this.ld);
    this.withSigned = this.mode === "rep" && !!opts.signed;
    this.signedPtr = this.mode === "rep" ? alloc(this.tasks * this.ld) : 0;
    if (this.signedPtr) (k.fill_f32x4 as KernelFn)(this.tasks * this.ld, this.signedPtr, 0);
    this.signedK = (k.signed_colsum_f32x4 as KernelFn) ?? null;
    this.repPtr = this.repSize.map((n) => alloc(n));
    this.acc = alloc(store.total);
    this.alphaPtr = alloc(2 * this.tasks);
    this.alpha = new Float64Array(this.tasks);
    this.copy = k.cols_copy_f32x4 as KernelFn;
    this.axpy = k.axpy_f32x4 as KernelFn;
    this.scaleK = k.scale_f32x4 as KernelFn;
    this.fill = k.fill_f32x4 as KernelFn;
    this.colsum = (k.colsum_f32x4 as KernelFn) ?? null;
    this.scaleCols = (k.scale_cols_f32x4 as KernelFn) ?? null;
    const rel = model.graph.relations;
    if (this.mode === "param") {
      this.perTask = io.tasks.map((t) => {
        if (!t.loss) throw new Error("per-task gradients need a training program");
        return program.backwardFor([t.loss]);
      });
      this.relations = rel.length ? program.backwardFor(rel) : [];
      return;
    }
    // Rep mode: per task, the backward from its loss down to the representations; the relation terms' likewise;
    // then one backward from the representations (seeded) through the trunk.
    if (!this.colsum) throw new Error("mtl.wasm has no kernel colsum_f32x4 (rep_grad needs it)");
    for (const t of io.tasks) {
      const v = t.representation.value;
      let i = this.reps.indexOf(v);
      if (i < 0) {
        i = this.reps.push(v) - 1;
        this.relRep.push(alloc(t.representation.size));
        this.distinctSize.push(t.representation.size);
      }
      this.repOf.push(i);
    }
    const cut = this.reps;
    const toRanges = (ps: Value[]) => {
      const set = new Set(ps.map((v) => model.paramOf(v)));
      return store.ranges((p) => set.has(p));
    };
    /** Parameters above the representations: what the per-task and relation backwards write. */
    const tower = new Set<Value>();
    this.perTask = io.tasks.map((t) => {
      if (!t.loss) throw new Error("per-task gradients need a training program");
      const part = program.backwardPart({ roots: [t.loss], cut });
      this.perTaskRanges.push(toRanges(part.params));
      for (const v of part.params) tower.add(v);
      return part.steps;
    });
    if (rel.length) {
      const part = program.backwardPart({ roots: rel, cut });
      this.relations = part.steps;
      this.relRanges = toRanges(part.params);
      for (const v of part.params) tower.add(v);
    } else this.relations = [];
    const trunk = program.backwardPart({ seeds: this.reps });
    this.trunk = trunk.steps;
    for (const p of trunk.params) if (tower.has(p)) throw new Error(`rep_grad: parameter ${p.name} is both above and below the shared representation`);
    this.towerRanges = toRanges([...tower]);
    const written = new Set([...tower, ...trunk.params].map((v) => model.paramOf(v)));
    this.idleRanges = store.ranges((p) => p.role !== "weighting" && !written.has(p));
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

  /** acc[r] += a·g[r] over the given ranges of the block. */
  private accumulate(ranges: [number, number][], a: number): void {
    const { g } = this.model.store;
    for (const [off, len] of ranges) this.axpy(len, g + off * 4, this.acc + off * 4, a);
  }

  /** dst[r] = src[r] over the given ranges. */
  private copyRanges(ranges: [number, number][], src: number, dst: number): void {
    for (const [off, len] of ranges) this.copy(1, len, src + off * 4, len, dst + off * 4, len, 0);
  }

  /**
   * After a forward: the per-task backward passes, leaving each task's gradient vector in its row of G (and
   * ∂L_t/∂z_t), and the task-specific parameters' and relation terms' gradients aside. `scales[t]` weights task t's
   * own parameters' gradient (the loss-weighting scale, w_t for gradient methods). A method may then change the
   * stage; `finish` writes the step's gradient.
   */
  run(scales: Float64Array, labelled?: ArrayLike<number>, opts: RunOptions = {}): GradientStage {
    const { io } = this.built;
    const { store } = this.model;
    const T = this.tasks, ld = this.ld, n = this.size;
    // The loss nodes read io.scales (often the same array as `scales`): seed 1 per task, then restore.
    const hostScales = io.scales;
    const saved = Float64Array.from(scales);
    const lab = labelled ?? io.labelled;
    this.fill(store.total, this.acc, 0);
    this.featureScale = 0;
    for (let t = 0; t < T; t++) {
      hostScales.fill(0);
      hostScales[t] = opts.seeds?.[t] ?? 1;
      for (const s of this.perTask[t]) s();
      const row = this.rowsPtr + t * ld * 4;
      const rep = io.tasks[t].representation;
      if (rep.grad) this.copy(1, this.repSize[t], rep.grad, this.repSize[t], this.repPtr[t], this.repSize[t], 0);
      if (this.mode === "param") {
        this.gatherShared(row);
        this.axpy(store.total, store.g, this.acc, saved[t]);
      } else {
        this.colsum!(io.batch, n, this.repPtr[t], row);
        if (this.withSigned) {
          const signed = this.signedPtr + t * ld * 4;
          this.signedK!(io.batch, n, rep.ptr, this.repPtr[t], signed);
          if (this.weights[t] !== 1) this.scaleK(n, signed, this.weights[t]);
        }
        this.accumulate(this.perTaskRanges[t], saved[t]);
      }
      if (this.weights[t] !== 1) this.scaleK(n, row, this.weights[t]);
    }
    hostScales.set(saved);
    // acc's shared part holds only the relation terms' gradient (the tasks' is Σ alpha_t·G_t, in finish).
    if (this.mode === "param") for (const [off, len] of this.ranges) this.fill(len, this.acc + off * 4, 0);
    if (this.relations.length) {
      // A representation the relation terms do not reach keeps a zero gradient (its buffer is not written).
      if (this.mode === "rep") this.reps.forEach((v, i) => this.fill(this.distinctSize[i], this.built.program.grad(v), 0));
      for (const s of this.relations) s();
      if (this.mode === "param") this.axpy(store.total, store.g, this.acc, 1);
      else {
        this.accumulate(this.relRanges, 1);
        this.reps.forEach((v, i) => {
          const g = this.built.program.grad(v), size = this.distinctSize[i];
          this.copy(1, size, g, size, this.relRep[i], size, 0);
        });
      }
    }
    const active: number[] = [];
    for (let t = 0; t < T; t++) if ((lab[t] ?? 1) > 0) active.push(t);
    this.alpha.fill(0);
    for (const t of active) this.alpha[t] = 1;
    const self = this;
    return {
      tasks: T,
      mode: this.mode,
      size: n,
      ld,
      losses: opts.losses ?? io.losses,
      weights: this.weights,
      active,
      labelled: lab,
      alpha: this.alpha,
      batch: io.batch,
      k: this.model.k,
      row: (t) => self.f32(self.rowsPtr + t * ld * 4, n),
      taskGradient: (t) => self.f32(self.rowsPtr + t * ld * 4, n),
      representationGradient: (t) => self.f32(self.repPtr[t], self.repSize[t]),
      get featureScale() {
        return self.featureScale;
      },
      set featureScale(p: number) {
        self.featureScale = p;
      },
      ptr: {
        rows: this.rowsPtr,
        signed: this.signedPtr,
        representation: (t) => io.tasks[t].representation.ptr,
        representationGradient: (t) => self.repPtr[t],
      },
    };
  }

  /**
   * The step's raw buffers, as views (valid until memory grows), for summing across data-parallel shards before a
   * method runs: G [T·ld], S [T·ld] (rep mode; empty otherwise), and the gradient aside (acc [block], param mode:
   * task-specific parameters and the relation terms).
   */
  views(): {
    /** G, T·ld elements. */
    rows: Float32Array;
    /** S, T·ld elements (rep mode; empty otherwise). */
    signed: Float32Array;
    /** The gradient set aside (the parameter block's length). */
    acc: Float32Array;
  } {
    const T = this.tasks, ld = this.ld;
    return {
      rows: this.f32(this.rowsPtr, T * ld),
      signed: this.signedPtr ? this.f32(this.signedPtr, T * ld) : new Float32Array(0),
      acc: this.f32(this.acc, this.model.store.total),
    };
  }

  /** Set the combination a method chose on another thread (rep mode shards): alpha and feature multipliers or null. */
  setMix(alpha: ArrayLike<number>, featureScale: Float32Array | null): void {
    this.alpha.set(alpha);
    if (!featureScale) {
      this.featureScale = 0;
      return;
    }
    if (!this.mixPtr) this.mixPtr = this.region.alloc(this.tasks * this.ld);
    this.f32(this.mixPtr, this.tasks * this.ld).set(featureScale);
    this.featureScale = this.mixPtr;
  }

  /** The feature multipliers of this step ([T·ld] view) or null (rep mode). */
  featureScaleView(): Float32Array | null {
    return this.featureScale ? this.f32(this.featureScale, this.tasks * this.ld) : null;
  }

  /** Write the step's gradient into the block (see the file comment), from the stage's alpha. */
  finish(): void {
    const { store, k } = this.model;
    const T = this.tasks, ld = this.ld, n = this.size;
    // What the step used, for the logs (steps.csv, the epoch line): the loss scales are read again only after
    // the next step's weighting has rewritten them.
    for (let t = 0; t < T; t++) this.built.io.scales[t] = this.alpha[t] * this.weights[t];
    const w = new Float64Array(k.memory.buffer, this.alphaPtr, T);
    if (this.mode === "param") {
      w.set(this.alpha);
      // g = acc (task-specific parameters, relation terms); then g_shared += Σ_t alpha_t·G_t. The strategy's own
      // parameters keep the gradient it wrote (in step or gradient: no backward writes them).
      this.copyRanges(this.ownRanges, this.acc, store.g);
      let at = 0;
      const wsum = k.wsum_f32x4 as KernelFn;
      for (const [off, len] of this.ranges) {
        // g_shared[r] = 1·acc[r] + Σ_t alpha_t·G[t, at + r]
        wsum(T, len, this.rowsPtr + at * 4, ld, this.alphaPtr, store.g + off * 4, 1);
        at += len;
      }
      return;
    }
    // Rep mode: seed each representation's gradient, then the trunk backward.
    const { program, io } = this.built;
    this.reps.forEach((v, i) => {
      const g = program.grad(v), size = this.distinctSize[i];
      if (this.relations.length) this.copy(1, size, this.relRep[i], size, g, size, 0);
      else this.fill(size, g, 0);
    });
    for (let t = 0; t < T; t++) {
      const a = this.alpha[t] * this.weights[t];
      if (a === 0) continue;
      if (this.featureScale) this.scaleCols!(io.batch, n, this.featureScale + t * ld * 4, this.repPtr[t]);
      this.axpy(this.repSize[t], this.repPtr[t], program.grad(this.reps[this.repOf[t]]), a);
    }
    for (const s of this.trunk) s();
    this.copyRanges(this.towerRanges, this.acc, store.g);
    for (const [off, len] of this.idleRanges) this.fill(len, store.g + off * 4, 0);
  }

  /** Free the wasm memory of its buffers; the object is unusable afterwards. */
  dispose(): void {
    this.region.dispose();
  }
}
