// What the gradient-level balancing methods (issue 12) share: the static `step`, f64/f32 buffers in the method's
// wasm region (allocated once, on the first gradient stage, when the row length is known), the Gram matrix of the
// active tasks' rows, and a seeded permutation driven by integer arithmetic only (mulberry32 + rejection sampling),
// so every JS engine draws the same orders.
import type { GradientStage, Weighting, WeightingContext } from "./types.ts";
import type { Kernels, KernelFn } from "../../runtime/load.ts";
import type { Region } from "../../runtime/heap.ts";
import { mulberry32, shuffleInPlace } from "../../data/split.ts";

/** A gradient method's `step`: scale_t = w_t (task-specific parameters get w_t·∂L_t/∂θ); returns Σ_t w_t·L_t. */
export function staticStep(ctx: WeightingContext): Weighting["step"] {
  return (losses, scales) => {
    let total = 0;
    for (let t = 0; t < losses.length; t++) {
      scales[t] = ctx.weights[t];
      total += ctx.weights[t] * losses[t];
    }
    return total;
  };
}

/** The gradient mode of a method that works on either gradient ("both" in spec.ts): the spec's rep_grad. */
export function modeOf(ctx: WeightingContext): "param" | "rep" {
  return ctx.options?.rep_grad ? "rep" : "param";
}

/** Call a kernel by name (throws naming it when build/mtl.wasm lacks it). */
export function kernel(k: Kernels, name: string): KernelFn {
  const f = k[name];
  if (typeof f !== "function") throw new Error(`mtl.wasm has no kernel ${name}`);
  return f as KernelFn;
}

/**
 * Buffers of one method in its region. `f64(p, n)`/`f32(p, n)` are fresh views (valid until memory grows: take
 * them after any allocation and kernel call that may grow memory — kernels never grow it).
 */
export class Buffers {
  readonly k: Kernels;
  private readonly region: Region;
  constructor(ctx: WeightingContext, readonly method: string) {
    if (!ctx.k || !ctx.region) throw new Error(`${method}: needs the kernels and a wasm memory region (WeightingContext.k, .region)`);
    this.k = ctx.k;
    this.region = ctx.region;
  }
  /** n f64 elements, zeroed, 16-byte aligned; returns the byte address. */
  alloc64(n: number): number {
    return this.region.allocBytes(Math.max(16, n * 8));
  }
  /** n f32 elements, zeroed. */
  alloc32(n: number): number {
    return this.region.allocBytes(Math.max(16, n * 4));
  }
  f64(ptr: number, n: number): Float64Array {
    return new Float64Array(this.k.memory.buffer, ptr, n);
  }
  f32(ptr: number, n: number): Float32Array {
    return new Float32Array(this.k.memory.buffer, ptr, n);
  }
  dispose(): void {
    this.region.dispose();
  }
}

/**
 * Scratch for the small T×T problems: the full Gram [T, T], the active sub-Gram packed [m, m] (`sub`), a second
 * m×m matrix (`mat`), vectors `x`, `y`, `z` [T], and a work area of T² + 8T f64 (enough for every T×T kernel:
 * nash_f64 T² + 3T, cagrad_f64 8T, solve_f64 T² + T, symeig_f64 T², minnorm_f64/nnqp_f64 T).
 */
export class Small {
  readonly gram: number;
  readonly sub: number;
  readonly mat: number;
  readonly vecs: number;
  readonly x: number;
  readonly y: number;
  readonly z: number;
  readonly work: number;
  constructor(readonly buf: Buffers, readonly T: number) {
    const TT = T * T;
    this.gram = buf.alloc64(TT);
    this.sub = buf.alloc64(TT);
    this.mat = buf.alloc64(TT);
    this.vecs = buf.alloc64(TT);
    this.x = buf.alloc64(T);
    this.y = buf.alloc64(T);
    this.z = buf.alloc64(T);
    this.work = buf.alloc64(TT + 8 * T);
  }

  /**
   * The Gram matrix of the active rows, packed m×m in `sub` (row-major, m = active.length): entries in f64
   * (gram_f32x4 over all T rows — inactive rows are zero — then the active sub-matrix). Returns a view of it.
   */
  activeGram(stage: GradientStage): Float64Array {
    const { T } = this;
    kernel(this.buf.k, "gram_f32x4")(T, stage.size, stage.ptr.rows, stage.ld, this.gram);
    const full = this.buf.f64(this.gram, T * T);
    const a = stage.active, m = a.length;
    const sub = this.buf.f64(this.sub, m * m);
    for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) sub[i * m + j] = full[a[i] * T + a[j]];
    return sub;
  }
}

/**
 * A seeded uint32 stream (mulberry32 of seed ^ salt) that counts its draws, so `state()`/`restore()` can replay it
 * (a restored stream continues exactly where the saved one was).
 */
export class Stream {
  private next: () => number;
  private n = 0;
  constructor(private readonly seed: number) {
    this.next = mulberry32(seed);
  }
  get draws(): number {
    return this.n;
  }
  /** Replay to `draws` draws from the start. */
  seek(draws: number): void {
    if (!(Number.isInteger(draws) && draws >= 0)) throw new Error(`restore: bad generator position ${draws}`);
    this.next = mulberry32(this.seed);
    for (let i = 0; i < draws; i++) this.next();
    this.n = draws;
  }
  /** Fisher–Yates shuffle of `a` in place (randomInt: rejection sampling, no modulo bias). */
  shuffle(a: number[]): number[] {
    return shuffleInPlace(a, () => (this.n++, this.next()));
  }
}

/** Number array of a state field, checked (restore's input is JSON read from disk). */
export function numbers(v: unknown, len: number, what: string): number[] {
  if (!Array.isArray(v) || v.length !== len || v.some((x) => typeof x !== "number")) throw new Error(`restore: ${what} must be ${len} numbers`);
  return v as number[];
}

/** An object state, checked. */
export function record(v: unknown, method: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null) throw new Error(`${method}: restore needs the object state() returned`);
  return v as Record<string, unknown>;
}

/**
 * A copy of the stage's rows G taken before a method rewrites them (PCGrad and GradVac project onto the original
 * g_j), in a [T, ld] buffer allocated at the first step. Returns the copy's row address function for this step.
 */
export function originalRows(buf: Buffers, T: number, method: string): (stage: GradientStage) => (t: number) => number {
  let orig = 0, size = -1;
  return (stage) => {
    const { ld, size: n } = stage;
    if (size < 0) {
      orig = buf.alloc32(T * ld);
      size = n;
    } else if (n !== size) throw new Error(`${method}: gradient length changed from ${size} to ${n}`);
    kernel(buf.k, "cols_copy_f32x4")(T, n, stage.ptr.rows, ld, orig, ld, 0);
    return (t) => orig + t * ld * 4;
  };
}
