// Test rig for graph-level tests (test/graph/*.test.ts): compile a hand-built Graph (src/graph/graph.ts) against
// a parameter block the test owns, feed its inputs, run forward/backward, and compare parameter gradients with
// central finite differences of a float64 objective. Only the public graph API is used: Graph, compile, Program.
import type { Graph, Value } from "../../src/graph/graph.ts";
import { numel } from "../../src/graph/shape.ts";
import { compile, type Program } from "../../src/graph/compile.ts";
import type { HostState, Step } from "../../src/graph/op.ts";
import type { Kernels } from "../../src/runtime/load.ts";
import type { Arena, Region } from "../../src/runtime/heap.ts";
import { relErr } from "../helpers.ts";

export type Feed = Float32Array | Int32Array | BigInt64Array;

export interface RigOptions {
  graph: Graph;
  k: Kernels;
  arena: Arena;
  batch: number;
  training: boolean;
  targets: readonly Value[];
  roots?: readonly Value[];
  /** Data of every graph input the program reads, row-major for `batch` rows. */
  feeds: Map<Value, Feed>;
  /** Initial values of every parameter. */
  init: (v: Value) => Float32Array;
  /** Per-task loss scales the backward seeds losses with (default 1). */
  scales?: number[];
  tasks?: number;
  relations?: number;
}

export class Rig {
  readonly program: Program;
  readonly host: HostState;
  readonly params: Value[];
  private readonly region: Region;
  private readonly p = new Map<Value, number>();
  private readonly g = new Map<Value, number>();
  /** Byte range of the whole parameter-gradient block. */
  readonly gradBlock: { ptr: number; elems: number };

  constructor(readonly o: RigOptions) {
    const { graph, k, batch } = o;
    this.region = o.arena.region();
    this.params = graph.params();
    const T = o.tasks ?? 4, R = o.relations ?? 2;
    this.host = {
      losses: new Float64Array(T),
      relations: new Float64Array(R),
      scales: Float64Array.from({ length: T }, (_, t) => o.scales?.[t] ?? 1),
      validCount: { value: batch },
      rows: { value: batch },
      rng: { seedLo: 1234, seedHi: 0x5eed, counter: 0 },
    };
    let total = 0;
    const offs = this.params.map((v) => {
      const at = total;
      total += (numel(v.shape, 1) + 3) & ~3;
      return at;
    });
    const pb = this.region.alloc(Math.max(4, total)), gb = this.region.alloc(Math.max(4, total));
    this.gradBlock = { ptr: gb, elems: total };
    this.params.forEach((v, i) => {
      this.p.set(v, pb + offs[i] * 4);
      this.g.set(v, gb + offs[i] * 4);
      this.writeParam(v, o.init(v));
    });
    this.program = compile({
      graph,
      k,
      batch,
      training: o.training,
      targets: o.targets,
      roots: o.roots,
      param: (v) => ({ p: this.p.get(v)!, g: this.g.get(v)! }),
      memory: this.region,
      host: this.host,
      label: graph.name,
    });
    this.feed();
  }

  private get mem(): ArrayBuffer {
    return this.o.k.memory.buffer as ArrayBuffer;
  }

  size(v: Value): number {
    return numel(v.shape, this.o.batch);
  }

  feed(): void {
    for (const [v, d] of this.o.feeds) {
      const at = this.program.addr(v);
      if (d instanceof Float32Array) new Float32Array(this.mem, at, d.length).set(d);
      else if (d instanceof Int32Array) new Int32Array(this.mem, at, d.length).set(d);
      else new BigInt64Array(this.mem, at, d.length).set(d);
    }
  }

  paramAddr(v: Value): number {
    return this.p.get(v)!;
  }

  paramGradAddr(v: Value): number {
    return this.g.get(v)!;
  }

  readParam(v: Value): Float32Array {
    return new Float32Array(this.mem, this.p.get(v)!, this.size(v)).slice();
  }

  writeParam(v: Value, data: ArrayLike<number>): void {
    new Float32Array(this.mem, this.p.get(v)!, this.size(v)).set(data);
  }

  readGrad(v: Value): Float32Array {
    return new Float32Array(this.mem, this.g.get(v)!, this.size(v)).slice();
  }

  /** An activation (or input) of the last forward. */
  read(v: Value): Float32Array {
    return new Float32Array(this.mem, this.program.addr(v), this.size(v)).slice();
  }

  /** The gradient buffer of an activation (full backward's address). */
  readActGrad(v: Value): Float32Array {
    const at = this.program.grad(v);
    if (!at) throw new Error(`no gradient buffer for ${v.name}`);
    return new Float32Array(this.mem, at, this.size(v)).slice();
  }

  /** Fill every gradient buffer (the parameter-gradient block and every activation's gradient) with `x`. */
  poisonGrads(x = NaN): void {
    new Float32Array(this.mem, this.gradBlock.ptr, this.gradBlock.elems).fill(x);
    for (const v of this.o.graph.values) {
      if (v.kind !== "act") continue;
      const at = this.program.grad(v);
      if (at) new Float32Array(this.mem, at, this.size(v)).fill(x);
    }
  }

  forward(): void {
    this.host.rng.counter = 0; // the same dropout mask every forward
    this.feed();
    for (const s of this.program.forward) s();
  }

  run(steps: readonly Step[]): void {
    for (const s of steps) s();
  }

  dispose(): void {
    this.program.dispose();
    this.region.dispose();
  }
}

/** Masked mean squared error as the mse kernel defines it, in float64: Σ_i w_i Σ_j (y − t)² / (n·Σ w). */
export function mse64(y: ArrayLike<number>, t: ArrayLike<number>, mask: ArrayLike<number>, width: number): number {
  let s = 0, w = 0;
  for (let i = 0; i < mask.length; i++) {
    w += mask[i];
    if (!mask[i]) continue;
    for (let j = 0; j < width; j++) s += mask[i] * (y[i * width + j] - t[i * width + j]) ** 2;
  }
  return w ? s / (width * w) : 0;
}

export interface FdReport {
  name: string;
  err: number;
  skipped: number;
  checked: number;
}

/**
 * Central finite differences of `objective` (float64, evaluated after a fresh forward) with respect to every
 * element of parameter `v`. The step is taken on the f32 value actually stored (p ± h rounded), and an element
 * whose differences at h and h/2 disagree (a kink of relu / mae within reach) is skipped, at most `maxSkip` of them.
 */
export function fdParam(rig: Rig, v: Value, objective: () => number, h = 4e-3): { fd: Float64Array; skip: Uint8Array } {
  const p0 = rig.readParam(v);
  const cur = p0.slice();
  const n = p0.length;
  const fd = new Float64Array(n), skip = new Uint8Array(n);
  const at = (i: number, step: number) => {
    cur[i] = p0[i] + step;
    const up = cur[i];
    rig.writeParam(v, cur);
    rig.forward();
    const jp = objective();
    cur[i] = p0[i] - step;
    const dn = cur[i];
    rig.writeParam(v, cur);
    rig.forward();
    const jm = objective();
    cur[i] = p0[i];
    return (jp - jm) / (up - dn);
  };
  for (let i = 0; i < n; i++) {
    const d1 = at(i, h), d2 = at(i, h / 2);
    fd[i] = d2;
    if (Math.abs(d1 - d2) > 2e-3 + 2e-2 * Math.abs(d2)) skip[i] = 1;
  }
  rig.writeParam(v, p0);
  rig.forward();
  return { fd, skip };
}

/** relErr of `got` against `fd` over the elements not skipped (floor: an absolute rms error of tol·floor). */
export function compare(got: ArrayLike<number>, fd: ArrayLike<number>, skip: Uint8Array, floor = 1e-2): { err: number; skipped: number } {
  const a: number[] = [], b: number[] = [];
  let skipped = 0;
  for (let i = 0; i < fd.length; i++) {
    if (skip[i]) {
      skipped++;
      continue;
    }
    a.push(got[i]);
    b.push(fd[i]);
  }
  return { err: relErr(a, b, floor * Math.sqrt(Math.max(1, a.length))), skipped };
}

export const hasNaN = (a: ArrayLike<number>) => Array.prototype.some.call(a, (x: number) => Number.isNaN(x));
