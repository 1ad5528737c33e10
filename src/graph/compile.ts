// The scheduler: a graph becomes a program for one batch size, a fixed list of kernel calls over planned
// addresses. Training and inference programs, the model's and the mtl engine's, are all compiled here.
//
// Memory: one block per program. Inputs and every value a backward reads (the op's `saves`) or a caller
// reads (targets) live for the whole program; every other activation's buffer is reused once its last reader
// has run (liveness, first fit over byte offsets, 16-byte aligned). Identity-like ops (dropout at inference,
// ONNX Identity/Unsqueeze) share their input's buffer. Gradient buffers (training) are not reused. Parameters
// live in the caller's parameter block; fixed constants (imported initializers) in the caller's memory.
//
// Backward: compiled per set of roots (loss and relation values). The full backward seeds every loss with
// host.scales[t] and every relation with λ/valid; `backwardFor([loss_t])` seeds only task t (per-task
// gradients). Gradient accumulation is planned per value (grad-plan.ts).
//
// Planning without memory: `planMemory` / `planBytes` run the same code as compile() — the same liveness
// layout (`layout` below) and the same lowering of every node, so every scratch request is counted — against a
// counting memory, no-op kernels and placeholder parameter addresses: they allocate no wasm memory and run no
// kernel, and their byte count is exactly what compile() would allocate (the sum of its blocks, each rounded
// up to 16). Sizes are rounded arithmetically (not with 32-bit masks), so plans of many gigabytes stay exact
// enough to be refused with a clear message.
import { type Graph, type Node, type Value } from "./graph.ts";
import { DTYPE_BYTES, dims as shapeDims, numel as shapeNumel } from "./shape.ts";
import { isNone, type BwdCtx, type FwdCtx, type HostState, type OpDef, type Step } from "./op.ts";
import { opDef } from "./registry.ts";
import { GradPlan } from "./grad-plan.ts";
import type { Kernels, KernelFn } from "../runtime/load.ts";

const ALIGN = 16;
// Arithmetic, not `& ~15`: the same result below 2³¹, and no 32-bit wrap for the oversized plans planMemory reports.
const up = (n: number) => Math.ceil(n / ALIGN) * ALIGN;

export interface Memory {
  allocBytes(bytes: number): number;
  free(ptr: number): void;
}

export interface CompileOptions {
  graph: Graph;
  k: Kernels;
  batch: number;
  training: boolean;
  /** What the program must compute and keep readable after a forward. */
  targets: readonly Value[];
  /** Loss and relation values the full backward starts from (training). */
  roots?: readonly Value[];
  /** Addresses of a parameter's values and gradient in the caller's parameter block. */
  param?(v: Value): { p: number; g: number };
  /** Address of a fixed constant kept by the caller; absent: constants are copied into the program's block. */
  constant?(v: Value): number;
  /** Cached Wᵀ of a fixed constant (the mtl engine). */
  transposed?(v: Value): number;
  memory: Memory;
  host: HostState;
  /** Name used in error messages. */
  label?: string;
}

export interface Program {
  readonly batch: number;
  readonly forward: Step[];
  /** The node each forward step belongs to (same length as forward). */
  readonly forwardNodes: Node[];
  /** The full backward (training programs; empty for inference). */
  readonly backward: Step[];
  /** The backward seeded from these roots only (e.g. one task's loss): cached per root set. */
  backwardFor(roots: readonly Value[]): Step[];
  /**
   * A partial backward, for representation-level balancing (cached per argument set):
   * - `{ roots, cut }`: from these losses/relations, stopping at the `cut` values (their producers do not run;
   *   each cut value's gradient buffer holds ∂root/∂v afterwards);
   * - `{ seeds }`: from the gradients the caller left in the seeds' gradient buffers (`grad(v)`), through
   *   everything upstream of them; the seeds count as written, so a node that also writes one accumulates.
   * Unlike backwardFor, parameters it does not reach are left untouched (not zero-filled); `params` lists
   * those it writes (each overwritten by its first writer).
   */
  backwardPart(o: { roots?: readonly Value[]; cut?: readonly Value[]; seeds?: readonly Value[] }): { steps: Step[]; params: Value[] };
  /** Byte address of an input or activation. */
  addr(v: Value): number;
  /** Byte address of v's gradient in the full backward (0: none). */
  grad(v: Value): number;
  /** Bytes this program holds (activations, inputs, gradients, scratch). */
  readonly bytes: number;
  dispose(): void;
}

interface Buffer {
  bytes: number;
  /** Index of the first node that writes it (-1: alive from the start), and of its last reader (Infinity: to the end). */
  start: number;
  end: number;
  offset: number;
}

/** The targets and roots Model compiles: outputs (inference); outputs, losses, relations, representations (training). */
export function defaultTargets(graph: Graph, training: boolean): { targets: Value[]; roots: Value[] } {
  const outputs = graph.tasks.flatMap((t) => [t.output, ...(t.extras ?? []).map((x) => x.value)]);
  const roots = training ? [...graph.tasks.map((t) => t.loss!), ...graph.relations] : [];
  return { targets: training ? [...outputs, ...roots, ...graph.tasks.map((t) => t.representation)] : outputs, roots };
}

/** The memory layout of a program: which buffers exist, their lifetimes and offsets, and the gradient buffers. */
interface Layout {
  nodes: Node[];
  defs: OpDef[];
  roots: Value[];
  bufOf: Map<Value, Buffer>;
  /** Constants copied into the program's block. */
  constants: Value[];
  /** Bytes of the block (inputs, constants, activations after liveness). */
  total: number;
  /** Values a gradient flows into from `rs` (not through the producers of `cut` values). */
  reach(rs: readonly Value[], cut?: ReadonlySet<Value>): Set<Value>;
  /** The full backward's reach (training). */
  full: Set<Value>;
  /** Activations with a gradient buffer, their offsets in the gradient block, and its bytes. */
  gradActs: Value[];
  gradOffs: number[];
  gradBytes: number;
  numelOf(v: Value): number;
  bytesOf(v: Value): number;
}

/** The liveness planner: buffers, lifetimes and first-fit offsets; gradient offsets. Touches no memory. */
function layout(graph: Graph, B: number, training: boolean, targets: readonly Value[], rootsIn: readonly Value[] | undefined, externalConstants: boolean): Layout {
  const roots = training ? [...(rootsIn ?? [])] : [];
  const nodes = graph.needed([...targets, ...roots]);
  const defs = nodes.map((n) => opDef(n.op));
  const numelOf = (v: Value) => shapeNumel(v.shape, B);
  const bytesOf = (v: Value) => numelOf(v) * DTYPE_BYTES[v.dtype];

  // ---- buffers and lifetimes ----------------------------------------------------------------------------
  const bufOf = new Map<Value, Buffer>();
  const buffers: Buffer[] = [];
  const newBuf = (v: Value, start: number) => {
    const b: Buffer = { bytes: up(Math.max(ALIGN, bytesOf(v))), start, end: start, offset: -1 };
    buffers.push(b);
    bufOf.set(v, b);
    return b;
  };
  for (const v of graph.values) if (v.kind === "input") newBuf(v, -1).end = Infinity;
  const constants = graph.values.filter((v) => v.kind === "const" && !externalConstants);
  for (const v of constants) newBuf(v, -1).end = Infinity;
  const consumers = new Map<Value, number>();
  nodes.forEach((n, i) => {
    const def = defs[i];
    const aliases = new Map((def.alias?.(n, training) ?? []).map(([out, inp]) => [out, inp]));
    n.outputs.forEach((v, j) => {
      if (v.kind === "host") return;
      const a = aliases.get(j);
      if (a !== undefined && bufOf.has(n.inputs[a])) bufOf.set(v, bufOf.get(n.inputs[a])!);
      else newBuf(v, i);
    });
    for (const v of n.inputs) consumers.set(v, i);
  });
  for (const [v, i] of consumers) {
    const b = bufOf.get(v);
    if (b) b.end = Math.max(b.end, i);
  }
  const keep = (v: Value) => {
    const b = bufOf.get(v);
    if (b) b.end = Infinity;
  };
  targets.forEach(keep);
  if (training) nodes.forEach((n, i) => defs[i].saves(n).forEach(keep));

  // First fit over offsets, in order of first write; a buffer is free once its last reader has run.
  const live: Buffer[] = [];
  let total = 0;
  const byStart = [...new Set(buffers)].sort((a, b) => a.start - b.start);
  for (const b of byStart) {
    for (let i = live.length - 1; i >= 0; i--) if (live[i].end < b.start) live.splice(i, 1);
    live.sort((x, y) => x.offset - y.offset);
    let at = 0;
    for (const l of live) {
      if (l.offset - at >= b.bytes) break;
      at = Math.max(at, l.offset + l.bytes);
    }
    b.offset = at;
    total = Math.max(total, at + b.bytes);
    live.push(b);
  }

  // ---- gradients ------------------------------------------------------------------------------------------
  const reach = (rs: readonly Value[], cut?: ReadonlySet<Value>): Set<Value> => {
    const r = new Set<Value>(rs);
    for (let i = nodes.length - 1; i >= 0; i--) {
      const n = nodes[i];
      if (!n.outputs.some((v) => r.has(v) && !cut?.has(v))) continue;
      for (const v of n.inputs) if (v.requiresGrad) r.add(v);
    }
    return r;
  };
  const full = training ? reach(roots) : new Set<Value>();
  let gradBytes = 0;
  const gradActs = training ? [...full].filter((v) => v.kind === "act") : [];
  const gradOffs = gradActs.map((v) => {
    const at = gradBytes;
    gradBytes += up(Math.max(ALIGN, bytesOf(v)));
    return at;
  });
  return { nodes, defs, roots, bufOf, constants, total, reach, full, gradActs, gradOffs, gradBytes, numelOf, bytesOf };
}

export function compile(o: CompileOptions): Program {
  return build(o, false)[0];
}

/** compile()'s body; `dry` (planMemory): no constants are copied (there is no memory), nothing else differs. */
function build(o: CompileOptions, dry: boolean): [Program, Layout] {
  const { graph, k, batch: B, training } = o;
  const label = o.label ?? graph.name;
  const fill = k.fill_f32x4 as KernelFn;
  if (typeof fill !== "function") throw new Error("mtl.wasm has no kernel fill_f32x4");
  const L = layout(graph, B, training, o.targets, o.roots, !!o.constant);
  const { nodes, defs, roots, bufOf, constants, total, reach, full, numelOf } = L;
  const owned: number[] = [];
  const alloc = (bytes: number) => {
    const p = o.memory.allocBytes(bytes);
    owned.push(p);
    return p;
  };
  let bytes = total;
  const base = alloc(Math.max(ALIGN, total));
  const addrOf = (v: Value): number => {
    if (v.kind === "param") {
      if (!o.param) throw new Error(`${label}: parameter ${v.name} has no address (no parameter block)`);
      return o.param(v).p;
    }
    if (v.kind === "const" && o.constant) return o.constant(v);
    const b = bufOf.get(v);
    if (!b) throw new Error(`${label}: value ${JSON.stringify(v.name)} has no buffer (it is not computed by this program)`);
    return base + b.offset;
  };
  // Copy constants that live in the program's block (a plan has no memory to copy into).
  if (!dry) {
    const mem = k.memory;
    for (const v of constants) {
      const d = v.data!, at = addrOf(v);
      if (d instanceof Float32Array) new Float32Array(mem.buffer, at, d.length).set(d);
      else if (d instanceof Int32Array) new Int32Array(mem.buffer, at, d.length).set(d);
      else new BigInt64Array(mem.buffer, at, d.length).set(d);
    }
  }

  // ---- gradients ------------------------------------------------------------------------------------------
  const gradAddr = new Map<Value, number>();
  if (training) {
    if (L.gradBytes) {
      const gbase = alloc(L.gradBytes);
      bytes += L.gradBytes;
      L.gradActs.forEach((v, i) => gradAddr.set(v, gbase + L.gradOffs[i]));
    }
    for (const v of full) if (v.kind === "param") gradAddr.set(v, o.param!(v).g);
  }

  // ---- lowering -------------------------------------------------------------------------------------------
  let views: { buf: ArrayBufferLike; f32: Float32Array; i32: Int32Array; i64: BigInt64Array } | null = null;
  const view = () => {
    const b = k.memory.buffer;
    if (!views || views.buf !== b) views = { buf: b, f32: new Float32Array(b), i32: new Int32Array(b), i64: new BigInt64Array(b) };
    return views;
  };
  const memos = new Map<Node, Record<string, number>>();
  // The program's shared work buffer: requests during lowering only raise `want`; `settle` allocates it after
  // each lowering pass (forward, each backward), growing it when a later pass asks for more.
  const shared = { ptr: 0, elems: 0, want: 0 };
  const settle = () => {
    if (shared.want <= shared.elems) return;
    const b = up(shared.want * 4);
    bytes += b;
    shared.ptr = alloc(b);
    shared.elems = shared.want;
  };
  const where = (n: Node) => `${label}: node ${JSON.stringify(n.name)} (${n.op})`;
  const base_ctx: FwdCtx = {
    k,
    call(name) {
      const f = k[name];
      if (typeof f !== "function") throw new Error(`mtl.wasm has no kernel ${name}`);
      return f as KernelFn;
    },
    batch: B,
    training,
    ptr: addrOf,
    dims: (v) => shapeDims(v.shape, B),
    numel: numelOf,
    scratch(elems, per = 4) {
      const b = up(Math.max(ALIGN, elems * per));
      bytes += b;
      return alloc(b);
    },
    sharedScratch(elems) {
      shared.want = Math.max(shared.want, elems);
      return shared;
    },
    host: o.host,
    f32: () => view().f32,
    i32: () => view().i32,
    i64: () => view().i64,
    fixed: (v) => v.kind === "const" && !!o.transposed,
    transposed(v) {
      if (!o.transposed || v.kind !== "const") throw new Error(`${label}: ${v.name} is not a fixed constant`);
      return o.transposed(v);
    },
    memo(n) {
      let m = memos.get(n);
      if (!m) memos.set(n, (m = {}));
      return m;
    },
    readers: (v) => nodes.filter((n) => n.inputs.includes(v)),
    where,
  };
  const forward: Step[] = [];
  const forwardNodes: Node[] = [];
  nodes.forEach((n, i) => {
    let s: Step | null;
    try {
      s = defs[i].forward(base_ctx, n);
    } catch (e) {
      throw new Error(`${where(n)}: ${(e as Error).message}`);
    }
    if (s) {
      forward.push(s);
      forwardNodes.push(n);
    }
  });
  settle();

  const lowerBackward = (rs: readonly Value[], part?: { cut: Set<Value>; seeds: readonly Value[]; params: Value[] }): Step[] => {
    const cut = part?.cut;
    const r = reach(rs, cut);
    const gaddr = (v: Value) => (r.has(v) ? (gradAddr.get(v) ?? 0) : 0);
    const plan = new GradPlan({ addr: gaddr, size: numelOf }, fill);
    for (const v of part?.seeds ?? []) plan.seeded(v);
    const ctx: BwdCtx = {
      ...base_ctx,
      grad: gaddr,
      beta: (v) => plan.beta(v),
      accumulate: (v) => plan.accumulate(v),
      betaAll: (vs) => plan.betaAll(vs),
    };
    const steps: Step[] = [];
    for (let i = nodes.length - 1; i >= 0; i--) {
      const n = nodes[i];
      if (!n.outputs.some((v) => r.has(v) && !cut?.has(v))) continue;
      if (!n.inputs.some((v) => r.has(v))) continue;
      const def = defs[i];
      if (isNone(def.backward)) throw new Error(`${where(n)}: a gradient flows through this node, but the op has no backward (${def.backward.none})`);
      let s: Step | null;
      try {
        s = def.backward(ctx, n);
      } catch (e) {
        throw new Error(`${where(n)}: ${(e as Error).message}`);
      }
      steps.push(...plan.takePending());
      if (s) steps.push(s);
    }
    settle();
    const params = graph.values.filter((v) => v.kind === "param" && full.has(v));
    if (part) {
      part.params.push(...params.filter((v) => plan.has(v)));
      return steps;
    }
    return [...plan.unwritten(params, (v) => gradAddr.get(v) ?? 0), ...steps];
  };
  const parts = new Map<string, { steps: Step[]; params: Value[] }>();
  const backward = training ? lowerBackward(roots) : [];
  const cache = new Map<string, Step[]>();
  let disposed = false;
  const program: Program = {
    batch: B,
    forward,
    forwardNodes,
    backward,
    backwardFor(rs) {
      if (!training) throw new Error(`${label}: an inference program has no backward`);
      for (const v of rs) if (!roots.includes(v)) throw new Error(`${label}: ${v.name} is not a loss or relation of this program`);
      const key = rs.map((v) => v.id).join(",");
      let s = cache.get(key);
      if (!s) cache.set(key, (s = lowerBackward(rs)));
      return s;
    },
    backwardPart({ roots: rs = [], cut = [], seeds = [] }) {
      if (!training) throw new Error(`${label}: an inference program has no backward`);
      for (const v of rs) if (!roots.includes(v)) throw new Error(`${label}: ${v.name} is not a loss or relation of this program`);
      for (const v of [...cut, ...seeds]) if (!full.has(v) || v.kind !== "act") throw new Error(`${label}: ${v.name} has no gradient in this program`);
      if (rs.length && seeds.length) throw new Error(`${label}: a partial backward starts from roots or from seeds, not both`);
      const key = `${rs.map((v) => v.id).join(",")}|${cut.map((v) => v.id).join(",")}|${seeds.map((v) => v.id).join(",")}`;
      let p = parts.get(key);
      if (!p) {
        const params: Value[] = [];
        p = { steps: lowerBackward(rs.length ? rs : seeds, { cut: new Set(cut), seeds, params }), params };
        parts.set(key, p);
      }
      return p;
    },
    addr: addrOf,
    grad: (v) => gradAddr.get(v) ?? 0,
    get bytes() {
      return bytes;
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const p of owned) o.memory.free(p);
      owned.length = 0;
    },
  };
  return [program, L];
}

// ---- planning without memory ------------------------------------------------------------------------------

export interface PlanOptions {
  graph: Graph;
  batch: number;
  training: boolean;
  /** Default (with roots): what Model compiles, see `defaultTargets`. */
  targets?: readonly Value[];
  roots?: readonly Value[];
  label?: string;
}

/** One buffer of a planned program. */
export interface PlannedTensor {
  /** The value's name (a gradient buffer is named after its value). */
  name: string;
  kind: "input" | "const" | "activation" | "gradient";
  dims: number[];
  /** Bytes of the tensor itself (dims × dtype size). */
  bytes: number;
}

export interface MemoryPlan {
  batch: number;
  training: boolean;
  /** Bytes compile() allocates for this program (every block rounded up to 16, as the arena does): `used` grows by this. */
  bytes: number;
  /** The block of inputs, constants and activations (after liveness: buffers reused once their last reader ran). */
  block: number;
  /** Activation gradients (training; never reused). */
  gradients: number;
  /** Scratch the ops ask for while lowered (saved statistics, masks, relu'd gradients, …). */
  scratch: number;
  /** Every input, constant and activation buffer (aliases share their source's) and gradient buffer, largest first. */
  tensors: PlannedTensor[];
}

const DRY_ADDR = ALIGN;
const dryKernel: KernelFn = () => 0;
/** Kernels for a dry lowering: every name is a no-op; there is no memory (steps are built, never run). */
const DRY_KERNELS = new Proxy({} as Kernels, { get: (_t, name) => (name === "memory" ? undefined : dryKernel) });

/**
 * The memory a program would take, without allocating any: the same layout and lowering as compile() (one
 * planner), run against a counting memory. `bytes` equals what compile() allocates for the same options.
 */
export function planMemory(o: PlanOptions): MemoryPlan {
  const { graph, batch, training } = o;
  const d = defaultTargets(graph, training);
  const targets = o.targets ?? d.targets, roots = o.roots ?? (o.targets ? [] : d.roots);
  let used = 0, next = DRY_ADDR;
  const memory: Memory = {
    allocBytes(bytes) {
      const size = up(Math.max(ALIGN, bytes));
      const p = next;
      used += size;
      next += size;
      return p;
    },
    free() {},
  };
  const host: HostState = {
    losses: new Float64Array(graph.tasks.length),
    relations: new Float64Array(graph.relations.length),
    scales: new Float64Array(graph.tasks.length).fill(1),
    validCount: { value: batch },
    rows: { value: batch },
    rng: { seedLo: 0, seedHi: 0, counter: 0 },
  };
  const [program, L] = build({ graph, k: DRY_KERNELS, batch, training, targets, roots, param: () => ({ p: DRY_ADDR, g: DRY_ADDR }), memory, host, label: o.label }, true);
  const block = up(Math.max(ALIGN, L.total));
  const tensors: PlannedTensor[] = [];
  const seen = new Set<Buffer>();
  for (const [v, b] of L.bufOf) {
    if (seen.has(b)) continue; // an alias: the buffer is its source's
    seen.add(b);
    tensors.push({ name: v.name, kind: v.kind === "input" ? "input" : v.kind === "const" ? "const" : "activation", dims: shapeDims(v.shape, batch), bytes: L.bytesOf(v) });
  }
  for (const v of L.gradActs) tensors.push({ name: v.name, kind: "gradient", dims: shapeDims(v.shape, batch), bytes: L.bytesOf(v) });
  tensors.sort((a, b) => b.bytes - a.bytes);
  return { batch, training, bytes: used, block, gradients: L.gradBytes, scratch: program.bytes - L.total - L.gradBytes, tensors };
}

/** Bytes compile() would allocate for `graph` at `batch` (Model's targets unless given), allocating nothing. */
export function planBytes(graph: Graph, batch: number, training: boolean, o: { targets?: readonly Value[]; roots?: readonly Value[] } = {}): number {
  return planMemory({ graph, batch, training, ...o }).bytes;
}
