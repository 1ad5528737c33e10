// Gradient accumulation, planned per value. The backward visits nodes in reverse graph order; for every
// gradient a node writes, the first writer of that value overwrites (beta 0) and every later writer
// accumulates (beta 1), so no gradient buffer is ever zero-filled except where a writer can only accumulate
// (scatter-add: embeddings, gathers) or where one kernel call writes several gradients with one beta and
// they disagree: then the planner zero-fills the ones that would have been first and the call accumulates.
// Parameter gradients that no node of this backward writes are zero-filled at its start (e.g. another
// task's tower in a per-task backward), except `weighting` parameters, whose strategy writes them itself.
import type { Value } from "./graph.ts";
import type { Step } from "./op.ts";

export interface GradBuffers {
  /** Gradient address of v (0: no gradient flows into v in this backward). */
  addr(v: Value): number;
  /** Elements of v's gradient. */
  size(v: Value): number;
}

export class GradPlan {
  private readonly written = new Set<Value>();
  /** Steps the planner inserts before the current node's step (zero fills). */
  private pending: Step[] = [];

  constructor(
    private readonly buffers: GradBuffers,
    private readonly fill: (n: number, ptr: number, value: number) => number,
  ) {}

  /** Whether v's gradient has been written by a node visited so far. */
  has(v: Value): boolean {
    return this.written.has(v);
  }

  /** Planned beta for writing v's gradient: 0 the first time, 1 afterwards. No gradient: 0 (nothing is written). */
  beta(v: Value): number {
    if (!this.buffers.addr(v)) return 0;
    if (this.written.has(v)) return 1;
    this.written.add(v);
    return 0;
  }

  /** v's gradient was written before this backward starts (a seed of a partial backward): every writer accumulates. */
  seeded(v: Value): void {
    this.written.add(v);
  }

  /** An accumulate-only writer: zero-fill first if nobody wrote v yet. */
  accumulate(v: Value): void {
    const ptr = this.buffers.addr(v);
    if (!ptr || this.written.has(v)) return;
    const n = this.buffers.size(v), fill = this.fill;
    this.pending.push(() => void fill(n, ptr, 0));
    this.written.add(v);
  }

  /**
   * One beta for several gradients written by one kernel call. All first: 0. Otherwise 1, after
   * zero-filling those written first here.
   */
  betaAll(vs: readonly Value[]): number {
    const live = vs.filter((v) => this.buffers.addr(v));
    if (live.length === 0) return 0;
    const first = live.filter((v) => !this.written.has(v));
    if (first.length === live.length) {
      for (const v of live) this.written.add(v);
      return 0;
    }
    for (const v of first) this.accumulate(v);
    return 1;
  }

  /** The fills planned for the node just lowered (call once per node, before its step). */
  takePending(): Step[] {
    const p = this.pending;
    this.pending = [];
    return p;
  }

  /** Zero fills for the parameters this backward never writes (all but the weighting strategy's own). */
  unwritten(params: readonly Value[], addr: (v: Value) => number): Step[] {
    const out: Step[] = [];
    for (const p of params) {
      if (p.role === "weighting" || this.written.has(p)) continue;
      const ptr = addr(p);
      if (!ptr) continue;
      const n = this.buffers.size(p), fill = this.fill;
      out.push(() => void fill(n, ptr, 0));
    }
    return out;
  }
}
