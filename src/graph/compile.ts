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
import { type Graph, type Node, type Value } from "./graph.ts";
import { DTYPE_BYTES, dims as shapeDims, numel as shapeNumel } from "./shape.ts";
import { isNone, type BwdCtx, type FwdCtx, type HostState, type Step } from "./op.ts";
import { opDef } from "./registry.ts";
import { GradPlan } from "./grad-plan.ts";
import type { Kernels, KernelFn } from "../runtime/load.ts";

const ALIGN = 16;
const up = (n: number) => (n + ALIGN - 1) & ~(ALIGN - 1);

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

export function compile(o: CompileOptions): Program {
  const { graph, k, batch: B, training } = o;
  const label = o.label ?? graph.name;
  const fill = k.fill_f32x4 as KernelFn;
  if (typeof fill !== "function") throw new Error("mtl.wasm has no kernel fill_f32x4");
  const roots = training ? [...(o.roots ?? [])] : [];
  const nodes = graph.needed([...o.targets, ...roots]);
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
  const constants = graph.values.filter((v) => v.kind === "const" && !o.constant);
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
  o.targets.forEach(keep);
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
  // Copy constants that live in the program's block.
  {
    const mem = k.memory;
    for (const v of constants) {
      const d = v.data!, at = addrOf(v);
      if (d instanceof Float32Array) new Float32Array(mem.buffer, at, d.length).set(d);
      else if (d instanceof Int32Array) new Int32Array(mem.buffer, at, d.length).set(d);
      else new BigInt64Array(mem.buffer, at, d.length).set(d);
    }
  }

  // ---- gradients ------------------------------------------------------------------------------------------
  /** Values a gradient flows into from `rs`. */
  const reach = (rs: readonly Value[]): Set<Value> => {
    const r = new Set<Value>(rs);
    for (let i = nodes.length - 1; i >= 0; i--) {
      const n = nodes[i];
      if (!n.outputs.some((v) => r.has(v))) continue;
      for (const v of n.inputs) if (v.requiresGrad) r.add(v);
    }
    return r;
  };
  const full = training ? reach(roots) : new Set<Value>();
  const gradAddr = new Map<Value, number>();
  if (training) {
    let gbytes = 0;
    const acts = [...full].filter((v) => v.kind === "act");
    const offs = acts.map((v) => {
      const at = gbytes;
      gbytes += up(Math.max(ALIGN, bytesOf(v)));
      return at;
    });
    if (gbytes) {
      const gbase = alloc(gbytes);
      bytes += gbytes;
      acts.forEach((v, i) => gradAddr.set(v, gbase + offs[i]));
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

  const lowerBackward = (rs: readonly Value[]): Step[] => {
    const r = reach(rs);
    const gaddr = (v: Value) => (r.has(v) ? (gradAddr.get(v) ?? 0) : 0);
    const plan = new GradPlan({ addr: gaddr, size: numelOf }, fill);
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
      if (!n.outputs.some((v) => r.has(v))) continue;
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
    const params = graph.values.filter((v) => v.kind === "param" && full.has(v));
    return [...plan.unwritten(params, (v) => gradAddr.get(v) ?? 0), ...steps];
  };
  const backward = training ? lowerBackward(roots) : [];
  const cache = new Map<string, Step[]>();
  let disposed = false;
  return {
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
}
