// A compiled program: the model lowered to a fixed list of kernel calls over planned addresses for one
// batch size B. Forward steps run in declaration order, backward steps in reverse. Gradient accumulation
// is planned statically: walking the backward in order, the first kernel that writes a tensor's gradient
// gets beta = 0 (overwrite) and every later one beta = 1 (accumulate), so no gradient is ever zero-filled
// except for scatter-style writers (embeddings, gathers), which get a fill inserted before them.
import type { Arena } from "../runtime/heap.ts";
import type { Kernels } from "../runtime/load.ts";

/** An activation tensor [rows, cols] (row-major, ld = cols) with an optional gradient of the same shape. */
export interface Tensor {
  name: string;
  rows: number;
  cols: number;
  ptr: number;
  /** Gradient address, 0 when no gradient flows into this tensor. */
  grad: number;
}

/** A gradient destination: an activation's gradient or a parameter's gradient slice. */
export interface GradTarget {
  key: string;
  ptr: number;
  size: number;
}

export type Step = () => void;

interface NodeDef {
  fwd: Step | null;
  writes: GradTarget[];
  /** Writers that can only accumulate (scatter-add): the planner inserts a zero fill when they are first. */
  accumulateOnly?: boolean;
  bwd: ((beta: (t: GradTarget) => number) => Step) | null;
}

export class ProgramBuilder {
  readonly nodes: NodeDef[] = [];
  private seq = 0;

  constructor(
    readonly k: Kernels,
    readonly arena: Arena,
    readonly batch: number,
    /** Whether gradients are needed at all (training program) or forward only (inference). */
    readonly training: boolean,
  ) {}

  call(name: string): (...args: number[]) => number {
    const f = this.k[name];
    if (typeof f !== "function") throw new Error(`mtl.wasm has no kernel ${name}`);
    return f as (...args: number[]) => number;
  }

  /** A [batch, cols] activation; `grad` allocates its gradient (training programs only). */
  tensor(name: string, cols: number, grad: boolean, rows = this.batch): Tensor {
    const ptr = this.arena.alloc(rows * cols);
    const g = grad && this.training ? this.arena.alloc(rows * cols) : 0;
    return { name: `${name}#${this.seq++}`, rows, cols, ptr, grad: g };
  }

  /** A view of part of another tensor's memory (e.g. one expert's slot in a stacked buffer). */
  view(name: string, base: Tensor, elemOffset: number, rows: number, cols: number): Tensor {
    return { name: `${name}#${this.seq++}`, rows, cols, ptr: base.ptr + elemOffset * 4, grad: base.grad ? base.grad + elemOffset * 4 : 0 };
  }

  gradOf(t: Tensor): GradTarget {
    return { key: t.name, ptr: t.grad, size: t.rows * t.cols };
  }

  node(def: NodeDef): void {
    this.nodes.push(def);
  }

  /** Plan betas and freeze the step lists. */
  finish(): Program {
    const forward: Step[] = [];
    for (const n of this.nodes) if (n.fwd) forward.push(n.fwd);
    const backward: Step[] = [];
    if (this.training) {
      const written = new Set<string>();
      const fill = this.call("fill_f32x4");
      for (let i = this.nodes.length - 1; i >= 0; i--) {
        const n = this.nodes[i];
        const live = n.writes.filter((w) => w.ptr !== 0);
        if (!n.bwd || live.length === 0) continue;
        const betas = new Map<string, number>();
        for (const w of live) {
          const first = !written.has(w.key);
          if (first && n.accumulateOnly) backward.push(() => void fill(w.size, w.ptr, 0));
          betas.set(w.key, first && !n.accumulateOnly ? 0 : 1);
          written.add(w.key);
        }
        backward.push(n.bwd((t) => (t.ptr === 0 ? 0 : betas.get(t.key) ?? 1)));
      }
    }
    return { forward, backward };
  }
}

export interface Program {
  forward: Step[];
  /** Empty for inference programs. */
  backward: Step[];
}
