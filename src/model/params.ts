// The parameter plan: every trainable tensor gets an offset in one flat block. Parameters, gradients and
// each optimizer state (m, v / velocity) are four blocks with the same layout, so one fused optimizer
// call covers them all. Layout is the graph's parameter order; each parameter keeps its graph role, and
// `ranges(role)` gives the contiguous runs of one role (what λ_shared·‖θ_shared‖² and per-task gradients act on).
import type { Arena } from "../runtime/heap.ts";
import type { Init, Role } from "../graph/graph.ts";

export type { Init, Role } from "../graph/graph.ts";

export interface Param {
  name: string;
  shape: number[];
  size: number;
  /** Offset in elements inside each block (a multiple of 4, so every parameter is 16-byte aligned). */
  offset: number;
  init: Init;
  role: Role;
  /** role === "shared": part of the trunk every task reads (counted by shared_l2). */
  shared: boolean;
}

export class ParamStore {
  readonly params: Param[] = [];

  private byName = new Map<string, Param>();
  private size = 0;
  /** Block base addresses (bytes); 0 until `allocate`. */
  p = 0;
  g = 0;
  s1 = 0;
  s2 = 0;

  get total(): number {
    return this.size;
  }

  /**
   * Elements (padded) of the trainable parameters: every parameter before the first of role "state" (state is
   * declared last, so the optimizer and gradient clipping run over [0, trainable) and never touch it).
   */
  get trainable(): number {
    const first = this.params.find((p) => p.role === "state");
    return first ? first.offset : this.size;
  }

  get allocated(): boolean {
    return this.p !== 0;
  }

  /** Declare (first call) or look up (later calls, same shape) a parameter. */
  declare(name: string, shape: number[], init: Init, role: Role): Param {
    const have = this.byName.get(name);
    if (have) {
      if (have.shape.join("x") !== shape.join("x")) throw new Error(`parameter ${name}: declared as [${have.shape}] and again as [${shape}]`);
      return have;
    }
    if (this.allocated) throw new Error(`parameter ${name}: declared after the parameter block was allocated`);
    if (role !== "state" && this.params.some((p) => p.role === "state")) throw new Error(`parameter ${name}: declared after model state; state must come last (outside the optimizer's range)`);
    const size = shape.reduce((a, b) => a * b, 1);
    const p: Param = { name, shape, size, offset: this.size, init, role, shared: role === "shared" };
    this.size += Math.ceil(size / 4) * 4; // arithmetic, not a 32-bit mask: huge (refused) plans must not wrap
    this.params.push(p);
    this.byName.set(name, p);
    return p;
  }

  get(name: string): Param {
    const p = this.byName.get(name);
    if (!p) throw new Error(`no parameter named ${name}`);
    return p;
  }

  /** Contiguous runs [offset, size] (elements, padded to 4) of the parameters whose role passes `keep`. */
  ranges(keep: (p: Param) => boolean): [number, number][] {
    const out: [number, number][] = [];
    for (const p of this.params) {
      if (!keep(p)) continue;
      const n = Math.ceil(p.size / 4) * 4, last = out[out.length - 1];
      if (last && last[0] + last[1] === p.offset) last[1] += n;
      else out.push([p.offset, n]);
    }
    return out;
  }

  /** Elements of the parameters with role "shared" (the trunk). */
  get sharedSize(): number {
    return this.params.reduce((s, p) => s + (p.shared ? p.size : 0), 0);
  }

  /** Allocate the four blocks (zeroed). */
  allocate(arena: Arena): void {
    if (this.allocated) return;
    const n = Math.max(4, this.size);
    this.p = arena.alloc(n);
    this.g = arena.alloc(n);
    this.s1 = arena.alloc(n);
    this.s2 = arena.alloc(n);
  }

  /** Byte address of a parameter's values (block = p) or its gradient (block = g). */
  addr(param: Param, block: "p" | "g" | "s1" | "s2" = "p"): number {
    if (!this.allocated) throw new Error("parameter block not allocated yet");
    return this[block] + param.offset * 4;
  }
}
