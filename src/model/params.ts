// The parameter plan: every trainable tensor gets an offset in one flat block. Parameters, gradients and
// each optimizer state (m, v / velocity) are four blocks with the same layout, so one fused optimizer
// call covers them all. Layout is insertion order: the builder declares the shared trunk first, so the
// trunk is the prefix [0, sharedSize) that λ_shared·‖θ_shared‖² acts on.
import type { Arena } from "../runtime/heap.ts";

export type Init = { kind: "uniform"; limit: number } | { kind: "normal"; std: number } | { kind: "zeros" } | { kind: "ones" };

export interface Param {
  name: string;
  shape: number[];
  size: number;
  /** Offset in elements inside each block (a multiple of 4, so every parameter is 16-byte aligned). */
  offset: number;
  init: Init;
  /** Part of the shared trunk (counted by shared_l2). */
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
  /** While true, `addr` of an unallocated block answers 0 (a declaring build, whose steps never run). */
  declaring = false;

  get total(): number {
    return this.size;
  }

  get allocated(): boolean {
    return this.p !== 0;
  }

  /** Declare (first call) or look up (later calls, same shape) a parameter. */
  declare(name: string, shape: number[], init: Init, shared: boolean): Param {
    const have = this.byName.get(name);
    if (have) {
      if (have.shape.join("x") !== shape.join("x")) throw new Error(`parameter ${name}: declared as [${have.shape}] and again as [${shape}]`);
      return have;
    }
    if (this.allocated) throw new Error(`parameter ${name}: declared after the parameter block was allocated`);
    const size = shape.reduce((a, b) => a * b, 1);
    const p: Param = { name, shape, size, offset: this.size, init, shared };
    this.size += (size + 3) & ~3;
    this.params.push(p);
    this.byName.set(name, p);
    return p;
  }

  get(name: string): Param {
    const p = this.byName.get(name);
    if (!p) throw new Error(`no parameter named ${name}`);
    return p;
  }

  /** Elements in the shared prefix: every shared parameter comes before the first non-shared one. */
  get sharedSize(): number {
    let end = 0;
    for (const p of this.params) {
      if (!p.shared) break;
      end = p.offset + ((p.size + 3) & ~3);
    }
    return end;
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
    if (!this.allocated) {
      if (this.declaring) return 0;
      throw new Error("parameter block not allocated yet");
    }
    return this[block] + param.offset * 4;
  }
}
