// A model instance: a validated spec, its preprocessing, one parameter block in wasm memory, and
// compiled programs (one per batch size and mode) that share that block.
import type { ModelSpec } from "./spec.ts";
import { ParamStore, type Param } from "./params.ts";
import { buildProgram, type Built, type DataDims, type RngState } from "./build.ts";
import { Arena } from "../runtime/heap.ts";
import type { Kernels } from "../runtime/load.ts";
import { dataDims, type Encoded, type Preprocessing } from "../data/preprocess.ts";
import { mulberry32 } from "../data/split.ts";

export class Model {
  readonly dims: DataDims;
  readonly store = new ParamStore();
  readonly arena: Arena;
  readonly rng: RngState;
  /** Uncertainty weighting's learnt log-variances s_t (one per task), when the spec asks for them. */
  readonly logVars: Param | null;
  private programs = new Map<string, Built>();

  constructor(
    readonly spec: ModelSpec,
    readonly pre: Preprocessing,
    readonly k: Kernels,
  ) {
    this.dims = dataDims(spec, pre);
    this.arena = new Arena(k);
    this.rng = { seedLo: spec.training.seed | 0, seedHi: 0x5eed, counter: 0 };
    // Declare every parameter with a throwaway batch-1 training build (its steps are never run), then
    // allocate the block; every later program looks the same parameters up by name.
    const mark = this.arena.mark();
    this.store.declaring = true;
    buildProgram(spec, this.dims, this.store, k, this.arena, 1, true, this.rng);
    this.store.declaring = false;
    this.arena.release(mark);
    const store = this.store;
    this.logVars = spec.training.weighting.type === "uncertainty" ? store.declare("weighting.log_var", [spec.tasks.length], { kind: "zeros" }, false) : null;
    store.allocate(this.arena);
  }

  /** The program for batch size `batch` (training or inference), compiled once and cached. */
  program(batch: number, training: boolean): Built {
    const key = `${batch}:${training}`;
    let p = this.programs.get(key);
    if (!p) {
      p = buildProgram(this.spec, this.dims, this.store, this.k, this.arena, batch, training, this.rng);
      this.programs.set(key, p);
    }
    return p;
  }

  /** Initialize every parameter from `seed` (uniform/normal from a seeded JS generator: identical everywhere). */
  initParams(seed: number): void {
    const next = mulberry32(seed ^ 0x9e3779b9);
    const u = () => next() / 4294967296;
    const view = this.arena.f32(this.store.p, this.store.total);
    for (const p of this.store.params) {
      const a = view.subarray(p.offset, p.offset + p.size);
      const init = p.init;
      for (let i = 0; i < p.size; i++) {
        if (init.kind === "uniform") a[i] = (2 * u() - 1) * init.limit;
        else if (init.kind === "normal") a[i] = Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u()) * init.std;
        else a[i] = init.kind === "ones" ? 1 : 0;
      }
    }
    this.resetOptimizer();
  }

  resetOptimizer(): void {
    this.arena.f32(this.store.s1, this.store.total).fill(0);
    this.arena.f32(this.store.s2, this.store.total).fill(0);
  }

  /** Copies of the parameters by name. */
  getWeights(block: "p" | "s1" | "s2" = "p"): Record<string, Float32Array> {
    const view = this.arena.f32(this.store[block], this.store.total);
    const out: Record<string, Float32Array> = {};
    for (const p of this.store.params) out[p.name] = view.slice(p.offset, p.offset + p.size);
    return out;
  }

  /** Set parameters by name; every parameter must be present with the right size. */
  setWeights(weights: Record<string, ArrayLike<number>>, block: "p" | "s1" | "s2" = "p", what = "weights"): void {
    const view = this.arena.f32(this.store[block], this.store.total);
    for (const p of this.store.params) {
      const w = weights[p.name];
      if (!w) throw new Error(`${what}: missing tensor ${JSON.stringify(p.name)} [${p.shape}]`);
      if (w.length !== p.size) throw new Error(`${what}: tensor ${JSON.stringify(p.name)} has ${w.length} values, expected ${p.size} ([${p.shape}])`);
      view.set(w, p.offset);
    }
    const extra = Object.keys(weights).filter((n) => !this.store.params.some((p) => p.name === n));
    if (extra.length) throw new Error(`${what}: unexpected tensor(s) ${extra.map((n) => JSON.stringify(n)).join(", ")} for this model`);
  }

  /** A copy of the whole parameter block (for best-epoch snapshots). */
  snapshot(): Float32Array {
    return this.arena.readF32(this.store.p, this.store.total);
  }

  restore(snap: Float32Array): void {
    this.arena.writeF32(this.store.p, snap);
  }

  /**
   * Copy rows `order[start .. start+count)` of `data` into the program's input buffers; rows past `count`
   * (the last, partial batch) are zero padding with mask 0.
   */
  feed(built: Built, data: Encoded, order: ArrayLike<number>, start: number, count: number): void {
    // Plain loops over whole-memory views: no typed-array views or closures are allocated per step.
    const { io } = built;
    const B = io.batch, d0 = io.x0.cols, F = this.dims.numeric, Tn = this.spec.inputs.tensor;
    const f32 = this.arena.heapF32(), i32 = this.arena.heapI32();
    const x0 = io.x0.ptr >>> 2, valid = io.valid >>> 2, tcol = io.tensorCol;
    const num = data.numeric, ten = data.tensor;
    io.validCount.value = count;
    for (let r = 0; r < B; r++) {
      const dst = x0 + r * d0;
      if (r < count) {
        const row = order[start + r];
        f32[valid + r] = 1;
        for (let j = 0, s = row * F; j < F; j++) f32[dst + j] = num[s + j];
        for (let j = 0, s = row * Tn; j < Tn; j++) f32[dst + tcol + j] = ten[s + j];
      } else {
        f32[valid + r] = 0;
        f32.fill(0, dst, dst + F + Tn);
      }
    }
    for (let j = 0; j < io.catIdx.length; j++) {
      const idx = io.catIdx[j] >>> 2, src = data.categorical[j];
      for (let r = 0; r < B; r++) i32[idx + r] = r < count ? src[order[start + r]] : 0;
    }
    for (let ti = 0; ti < io.tasks.length; ti++) {
      const t = io.tasks[ti], enc = data.tasks[ti];
      const mask = t.mask >>> 2, lab = t.labels >>> 2;
      if (t.task.type === "multiclass") {
        const src = enc.labels as Int32Array;
        for (let r = 0; r < B; r++) i32[lab + r] = r < count ? src[order[start + r]] : -1;
      } else {
        const src = enc.labels as Float32Array, w = t.width;
        for (let r = 0; r < B; r++) {
          const row = r < count ? order[start + r] : -1;
          for (let j = 0; j < w; j++) f32[lab + r * w + j] = row >= 0 ? src[row * w + j] : 0;
        }
      }
      for (let r = 0; r < B; r++) f32[mask + r] = r < count ? enc.mask[order[start + r]] : 0;
      if (t.groups) {
        const g = t.gather >>> 2;
        for (let r = 0; r < B; r++) i32[g + r] = r * t.groups + (r < count ? enc.group[order[start + r]] : 0);
      }
    }
  }

  /** Run the forward pass of an inference program over all rows; returns each task's outputs [rows, width]. */
  predict(data: Encoded, batch = 512): Float32Array[] {
    const built = this.program(Math.min(batch, Math.max(1, data.rows)), false);
    const B = built.io.batch;
    const order = Int32Array.from({ length: data.rows }, (_, i) => i);
    const outs = built.io.tasks.map((t) => new Float32Array(data.rows * t.width));
    for (let s = 0; s < data.rows; s += B) {
      const count = Math.min(B, data.rows - s);
      this.feed(built, data, order, s, count);
      for (const f of built.program.forward) f();
      built.io.tasks.forEach((t, i) => outs[i].set(this.arena.f32(t.out.ptr, count * t.width), s * t.width));
    }
    // Regression heads predict standardized targets: map back to the label's units, in f32 as the exported
    // graph does (Mul by std, then Add mean), so the two agree to the last bits.
    const f = Math.fround;
    this.pre.tasks.forEach((info, i) => {
      if (!info.target) return;
      const o = outs[i], w = info.target.length;
      for (let j = 0; j < w; j++) {
        const std = f(info.target[j].std), mean = f(info.target[j].mean);
        for (let r = 0; r < data.rows; r++) o[r * w + j] = f(f(o[r * w + j] * std) + mean);
      }
    });
    return outs;
  }
}
