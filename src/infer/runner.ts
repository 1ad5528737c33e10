// The `mtl` engine: executes an ONNX graph with our own wasm kernels, so an edge worker needs only
// build/mtl.wasm (tens of KB) instead of onnxruntime-web (14 MB). It supports exactly the operators our
// exporter emits; any other operator is refused when the session is created, naming the node.
//
// A plan is compiled per batch size: shapes are inferred node by node, every value gets an arena buffer,
// and each node becomes a closure over fixed addresses. Heavy operators run as kernels (Gemm → dense, with a
// following Relu fused; activations; Softmax; LayerNormalization; embedding Gather; Concat as strided copies);
// small glue (broadcast arithmetic, ReduceSum, GatherElements, index Gather) runs in JS on arena views.
import type { Kernels } from "../runtime/load.ts";
import { Arena } from "../runtime/heap.ts";
import { decodeModel, DataType, type GraphProto, type NodeProto, type AttributeProto } from "../onnx/model.ts";
import type { InputTensor } from "./rows.ts";

export const SUPPORTED_OPS = [
  "Gemm", "Relu", "LeakyRelu", "Sigmoid", "Tanh", "Erf", "Softmax", "LayerNormalization", "Add", "Sub", "Mul", "Div",
  "Gather", "GatherElements", "Concat", "Unsqueeze", "ReduceSum", "Identity",
] as const;

/** A value during planning: f32 values live in the arena; i64 values (indices) live in JS. */
type Value = { kind: "f32"; dims: number[]; ptr: number } | { kind: "i64"; dims: number[]; data: BigInt64Array };

const size = (dims: number[]) => dims.reduce((a, b) => a * b, 1);

function attrOf(node: NodeProto, name: string): AttributeProto | undefined {
  return node.attribute.find((a) => a.name === name);
}
function intAttr(node: NodeProto, name: string, dflt: number): number {
  const a = attrOf(node, name);
  return a && a.type === "INT" ? Number(a.value) : dflt;
}
function floatAttr(node: NodeProto, name: string, dflt: number): number {
  const a = attrOf(node, name);
  return a && a.type === "FLOAT" ? a.value : dflt;
}

interface Plan {
  steps: (() => void)[];
  inputs: Map<string, Value>;
  /** The inputs in order with their element type, for the per-run checks. */
  feeds: { name: string; value: Value; type: "float32" | "int64" }[];
  outputs: { name: string; value: Value }[];
}

export class MtlRunner {
  private readonly arena: Arena;
  private readonly consts = new Map<string, Value>();
  private readonly plans = new Map<number, Plan>();
  private readonly transposes = new Map<string, number>();
  readonly inputNames: string[];
  readonly outputNames: string[];

  private constructor(
    private readonly k: Kernels,
    private readonly graph: GraphProto,
    private readonly name: string,
  ) {
    this.arena = new Arena(k);
    const bad = graph.node.map((n, i) => [n, i] as const).filter(([n]) => n.domain !== "" && n.domain !== "ai.onnx" ? true : !(SUPPORTED_OPS as readonly string[]).includes(n.opType));
    if (bad.length) {
      const [n, i] = bad[0];
      throw new Error(`${name}: node ${JSON.stringify(n.name || `#${i}`)} (index ${i}) uses operator ${n.domain ? `${n.domain}.` : ""}${n.opType}, which the mtl engine does not support; supported: ${SUPPORTED_OPS.join(", ")}`);
    }
    for (const t of graph.initializer) {
      if (t.dataType === DataType.FLOAT) this.consts.set(t.name, { kind: "f32", dims: t.dims, ptr: this.arena.putF32(t.data as Float32Array) });
      else if (t.dataType === DataType.INT64) this.consts.set(t.name, { kind: "i64", dims: t.dims, data: t.data as BigInt64Array });
      else throw new Error(`${name}: initializer ${JSON.stringify(t.name)} has data type ${t.dataType}; the mtl engine supports FLOAT and INT64`);
    }
    this.inputNames = graph.input.map((v) => v.name).filter((n) => !this.consts.has(n));
    this.outputNames = graph.output.map((v) => v.name);
  }

  /** Decode and check an ONNX model for execution on `kernels` (errors name the node or tensor at fault). */
  static create(bytes: Uint8Array, kernels: Kernels, name = "model.onnx"): MtlRunner {
    const model = decodeModel(bytes);
    return new MtlRunner(kernels, model.graph, name);
  }

  run(feeds: Record<string, InputTensor>): Record<string, Float32Array> {
    for (const n of Object.keys(feeds)) if (!this.inputNames.includes(n)) throw new Error(`${this.name}: unknown input ${JSON.stringify(n)}; inputs are ${this.inputNames.join(", ")}`);
    const first = feeds[this.inputNames[0]];
    if (!first) throw new Error(`${this.name}: missing input ${JSON.stringify(this.inputNames[0])}`);
    const batch = first.dims[0];
    const plan = this.plan(batch);
    for (const { name, value: v, type } of plan.feeds) {
      const f = feeds[name];
      const want = () => `${type} [${(this.graph.input.find((x) => x.name === name)!.type?.shape ?? []).map((d) => d ?? "?").join(", ")}]`;
      if (!f) throw new Error(`${this.name}: missing input ${JSON.stringify(name)} (${want()})`);
      if (f.type !== type) throw new Error(`${this.name}: input ${JSON.stringify(name)} has type ${f.type}, expected ${want()}`);
      let ok = f.dims.length === v.dims.length && f.data.length === size(v.dims);
      for (let i = 0; ok && i < v.dims.length; i++) ok = f.dims[i] === v.dims[i];
      if (!ok) throw new Error(`${this.name}: input ${JSON.stringify(name)} has shape [${f.dims}] (${f.data.length} values), expected ${want()} with N = ${batch}`);
      if (v.kind === "f32") this.arena.writeF32(v.ptr, f.data as Float32Array);
      else v.data.set(f.data as BigInt64Array);
    }
    const steps = plan.steps;
    for (let i = 0; i < steps.length; i++) steps[i]();
    const out: Record<string, Float32Array> = {};
    for (const { name, value } of plan.outputs) {
      if (value.kind !== "f32") throw new Error(`${this.name}: output ${name} is not float`);
      out[name] = this.arena.readF32(value.ptr, size(value.dims));
    }
    return out;
  }

  /**
   * Wᵀ [n, k] of a constant weight W [k, n] (an initializer), made once and kept in the arena;
   * 0 when W is computed by the graph (then the GEMM handles every row).
   */
  private transposed(name: string, w: Value & { kind: "f32" }, k: number, n: number): number {
    if (this.consts.get(name) !== w) return 0;
    let p = this.transposes.get(name);
    if (p === undefined) {
      const src = this.arena.readF32(w.ptr, k * n), t = new Float32Array(k * n);
      for (let i = 0; i < k; i++) for (let j = 0; j < n; j++) t[j * k + i] = src[i * n + j];
      p = this.arena.putF32(t);
      this.transposes.set(name, p);
    }
    return p;
  }

  private plan(batch: number): Plan {
    let p = this.plans.get(batch);
    if (!p) {
      p = this.compile(batch);
      this.plans.set(batch, p);
    }
    return p;
  }

  private compile(N: number): Plan {
    const { k, arena, graph } = this;
    const call = (n: string) => k[n] as (...a: number[]) => number;
    const vals = new Map<string, Value>(this.consts);
    const inputs = new Map<string, Value>();
    for (const v of graph.input) {
      if (this.consts.has(v.name)) continue;
      const dims = (v.type?.shape ?? []).map((d) => (typeof d === "number" ? d : N));
      const value: Value = v.type?.elemType === DataType.INT64 ? { kind: "i64", dims, data: new BigInt64Array(size(dims)) } : { kind: "f32", dims, ptr: arena.alloc(size(dims)) };
      vals.set(v.name, value);
      inputs.set(v.name, value);
    }
    // Consumers, to fuse Gemm → Relu when the Relu is the Gemm output's only reader.
    const readers = new Map<string, number>();
    for (const n of graph.node) for (const i of n.input) readers.set(i, (readers.get(i) ?? 0) + 1);
    const graphOutputs = new Set(graph.output.map((o) => o.name));
    const fused = new Set<NodeProto>();
    const steps: (() => void)[] = [];
    const where = (n: NodeProto, i: number) => `${this.name}: node ${JSON.stringify(n.name || `#${i}`)} (${n.opType})`;

    graph.node.forEach((node, ni) => {
      if (fused.has(node)) return;
      const get = (j: number): Value => {
        const v = vals.get(node.input[j]);
        if (!v) throw new Error(`${where(node, ni)}: input ${JSON.stringify(node.input[j])} is not defined before this node`);
        return v;
      };
      const f32 = (j: number) => {
        const v = get(j);
        if (v.kind !== "f32") throw new Error(`${where(node, ni)}: input ${j} must be float`);
        return v;
      };
      const i64 = (j: number) => {
        const v = get(j);
        if (v.kind !== "i64") throw new Error(`${where(node, ni)}: input ${j} must be int64`);
        return v;
      };
      const newF32 = (dims: number[]): Value & { kind: "f32" } => ({ kind: "f32", dims, ptr: arena.alloc(size(dims)) });
      const set = (v: Value, j = 0) => vals.set(node.output[j], v);
      const op = node.opType;
      switch (op) {
        case "Gemm": {
          const a = f32(0);
          const checked = (g: NodeProto, gi: number) => {
            if (intAttr(g, "transA", 0) || intAttr(g, "transB", 0) || floatAttr(g, "alpha", 1) !== 1 || floatAttr(g, "beta", 1) !== 1) {
              throw new Error(`${where(g, gi)}: only transA = transB = 0 and alpha = beta = 1 are supported`);
            }
            const at = (j: number) => {
              const v = vals.get(g.input[j]);
              if (!v) throw new Error(`${where(g, gi)}: input ${JSON.stringify(g.input[j])} is not defined before this node`);
              if (v.kind !== "f32") throw new Error(`${where(g, gi)}: input ${j} must be float`);
              return v;
            };
            const b = at(1), c = g.input[2] ? at(2) : null;
            const [m, kk] = a.dims, [k2, n] = b.dims;
            if (a.dims.length !== 2 || b.dims.length !== 2 || kk !== k2 || (c && size(c.dims) !== n)) throw new Error(`${where(g, gi)}: shapes [${a.dims}]·[${b.dims}] + [${c?.dims ?? ""}] do not match`);
            const next = graph.node.find((x) => x.input[0] === g.output[0]);
            const relu = next?.opType === "Relu" && readers.get(g.output[0]) === 1 && !graphOutputs.has(g.output[0]) ? next : null;
            return { node: g, b, c, m, kk, n, relu };
          };
          const first = checked(node, ni);
          const { m, kk } = first;
          // Batch 1: Gemms that read the same input with constant weights (the task towers on the trunk) run as
          // one call over their concatenated Wᵀ; each one's output is a slice of the joint row.
          const group = [first];
          if (m === 1 && this.consts.get(node.input[1]) === first.b && (!first.c || this.consts.get(node.input[2]) === first.c)) {
            graph.node.forEach((g, gi) => {
              if (gi <= ni || g.opType !== "Gemm" || g.input[0] !== node.input[0] || fused.has(g)) return;
              const w = this.consts.get(g.input[1]), bias = g.input[2] ? this.consts.get(g.input[2]) : null;
              if (!w || w.kind !== "f32" || (g.input[2] && (!bias || bias.kind !== "f32")) || w.dims.length !== 2 || w.dims[0] !== kk) return;
              group.push(checked(g, gi));
            });
          }
          if (group.length > 1) {
            group.sort((p, q) => Number(!!q.relu) - Number(!!p.relu)); // relu-fused first: one relu call
            const total = group.reduce((t, g) => t + g.n, 0), reluCols = group.reduce((t, g) => t + (g.relu ? g.n : 0), 0);
            const y = newF32([1, total]);
            const key = group.map((g) => g.node.input[1]).join("\u0000");
            let wt = this.transposes.get(key);
            if (wt === undefined) {
              const t = new Float32Array(total * kk);
              let row = 0;
              for (const g of group) {
                const src = arena.f32(g.b.ptr, kk * g.n);
                for (let i = 0; i < kk; i++) for (let j = 0; j < g.n; j++) t[(row + j) * kk + i] = src[i * g.n + j];
                row += g.n;
              }
              wt = arena.putF32(t);
              this.transposes.set(key, wt);
            }
            const biasAll = new Float32Array(total);
            let off = 0;
            for (const g of group) {
              if (g.c) biasAll.set(arena.f32(g.c.ptr, g.n), off);
              const out: Value = { kind: "f32", dims: [1, g.n], ptr: y.ptr + off * 4 };
              vals.set(g.node.output[0], out);
              if (g.relu) vals.set(g.relu.output[0], out), fused.add(g.relu);
              fused.add(g.node);
              off += g.n;
            }
            const bp = arena.putF32(biasAll), w = wt;
            const dots = call("dense_bwd_x_f32x4"), copy = call("cols_copy_f32x4"), relu = call("relu_fwd_f32x4");
            steps.push(() => {
              copy(1, total, bp, total, y.ptr, total, 0);
              dots(1, total, kk, a.ptr, w, y.ptr, 1);
              if (reluCols) relu(reluCols, y.ptr, y.ptr);
            });
            break;
          }
          const { b, c, n, relu: next } = first;
          const fuse = next !== null;
          const y = newF32([m, n]);
          const dense = call("dense_fwd_f32x4");
          const cp = c ? c.ptr : 0;
          // Rows in blocks of 4 go through the GEMM (its 4×8 microkernel); the last m % 4 rows (all of them
          // at batch 1) as dot products against Wᵀ (dense_bwd_x: four independent accumulator chains per
          // row instead of the GEMM's two for a lone row): y = bias, then y += x·(Wᵀ)ᵀ, then relu.
          const m4 = m & ~3, rem = m - m4;
          const wt = rem > 0 ? this.transposed(node.input[1], b, kk, n) : 0;
          if (!wt) steps.push(() => void dense(m, kk, n, a.ptr, b.ptr, cp, y.ptr, fuse ? 1 : 0));
          else {
            const dots = call("dense_bwd_x_f32x4"), copy = call("cols_copy_f32x4"), relu = call("relu_fwd_f32x4");
            const ar = a.ptr + m4 * kk * 4, yr = y.ptr + m4 * n * 4, act = fuse ? 1 : 0;
            steps.push(() => {
              if (m4) dense(m4, kk, n, a.ptr, b.ptr, cp, y.ptr, act);
              if (cp) copy(rem, n, cp, rem === 1 ? n : 0, yr, n, 0);
              dots(rem, n, kk, ar, wt, yr, cp ? 1 : 0);
              if (act) relu(rem * n, yr, yr);
            });
          }
          if (next) {
            fused.add(next);
            vals.set(next.output[0], y);
          }
          set(y);
          break;
        }
        case "Relu":
        case "Sigmoid":
        case "Tanh":
        case "Erf": {
          const x = f32(0), y = newF32(x.dims), n = size(x.dims);
          const f = call(`${op === "Erf" ? "erf" : op.toLowerCase()}_fwd_f32x4`);
          steps.push(() => void f(n, x.ptr, y.ptr));
          set(y);
          break;
        }
        case "LeakyRelu": {
          const x = f32(0), y = newF32(x.dims), n = size(x.dims), alpha = floatAttr(node, "alpha", 0.01);
          const f = call("leaky_relu_fwd_f32x4");
          steps.push(() => void f(n, x.ptr, y.ptr, alpha));
          set(y);
          break;
        }
        case "Softmax": {
          const x = f32(0), axis = intAttr(node, "axis", -1);
          if (axis !== -1 && axis !== x.dims.length - 1) throw new Error(`${where(node, ni)}: only the last axis is supported (axis ${axis})`);
          const y = newF32(x.dims), n = x.dims[x.dims.length - 1], m = size(x.dims) / n;
          const f = call("softmax_fwd_f32x4");
          steps.push(() => void f(m, n, x.ptr, y.ptr));
          set(y);
          break;
        }
        case "LayerNormalization": {
          const x = f32(0), g = f32(1), b = f32(2), axis = intAttr(node, "axis", -1);
          if (axis !== -1 && axis !== x.dims.length - 1) throw new Error(`${where(node, ni)}: only the last axis is supported (axis ${axis})`);
          const n = x.dims[x.dims.length - 1], m = size(x.dims) / n, eps = floatAttr(node, "epsilon", 1e-5);
          const y = newF32(x.dims), mean = arena.alloc(m), rstd = arena.alloc(m);
          const f = call("layernorm_fwd_f32x4");
          steps.push(() => void f(m, n, x.ptr, g.ptr, b.ptr, y.ptr, mean, rstd, eps));
          set(y);
          break;
        }
        case "Add":
        case "Sub":
        case "Mul":
        case "Div": {
          const a = f32(0), b = f32(1);
          const dims = broadcastDims(a.dims, b.dims, () => where(node, ni));
          const y = newF32(dims);
          const fn = op === "Add" ? (p: number, q: number) => p + q : op === "Sub" ? (p: number, q: number) => p - q : op === "Mul" ? (p: number, q: number) => p * q : (p: number, q: number) => p / q;
          const ia = broadcastIndex(a.dims, dims), ib = broadcastIndex(b.dims, dims), n = size(dims);
          steps.push(() => {
            const av = arena.f32(a.ptr, size(a.dims)), bv = arena.f32(b.ptr, size(b.dims)), yv = arena.f32(y.ptr, n);
            for (let i = 0; i < n; i++) yv[i] = fn(av[ia[i]], bv[ib[i]]);
          });
          set(y);
          break;
        }
        case "Gather": {
          const data = get(0), idx = i64(1), axis = intAttr(node, "axis", 0);
          if (data.kind === "i64" && axis === 1 && data.dims.length === 2 && idx.dims.length === 0) {
            // A column of an index matrix: [N, C] → [N].
            const [rows, cols] = data.dims;
            const y: Value = { kind: "i64", dims: [rows], data: new BigInt64Array(rows) };
            steps.push(() => {
              const j = Number(idx.data[0]);
              for (let r = 0; r < rows; r++) y.data[r] = data.data[r * cols + j];
            });
            set(y);
          } else if (data.kind === "f32" && axis === 0 && data.dims.length === 2 && idx.dims.length === 1) {
            // Embedding lookup: table [V, d] at indices [N] → [N, d], as the embedding kernel.
            const [V, d] = data.dims, m = idx.dims[0];
            const y = newF32([m, d]), idx32 = arena.alloc(m);
            const f = call("embed_fwd_f32x4");
            steps.push(() => {
              const iv = arena.i32(idx32, m);
              for (let r = 0; r < m; r++) {
                const v = Number(idx.data[r]);
                if (!(v >= 0 && v < V)) throw new Error(`${where(node, ni)}: index ${v} in row ${r} is out of range [0, ${V}) for ${JSON.stringify(node.input[0])}`);
                iv[r] = v;
              }
              f(m, d, idx32, data.ptr, y.ptr, d);
            });
            set(y);
          } else throw new Error(`${where(node, ni)}: unsupported Gather form (data ${data.kind} [${data.dims}], indices [${idx.dims}], axis ${axis})`);
          break;
        }
        case "GatherElements": {
          const x = f32(0), idx = i64(1), axis = intAttr(node, "axis", 0);
          if (x.dims.length !== 2 || idx.dims.length !== 2 || (axis !== 1 && axis !== -1) || idx.dims[0] !== x.dims[0]) throw new Error(`${where(node, ni)}: only 2-D GatherElements along axis 1 is supported`);
          const [rows, cols] = x.dims, w = idx.dims[1];
          const y = newF32([rows, w]);
          steps.push(() => {
            const xv = arena.f32(x.ptr, rows * cols), yv = arena.f32(y.ptr, rows * w);
            for (let r = 0; r < rows; r++)
              for (let c = 0; c < w; c++) {
                const j = Number(idx.data[r * w + c]);
                if (!(j >= 0 && j < cols)) throw new Error(`${where(node, ni)}: index ${j} in row ${r} is out of range [0, ${cols})`);
                yv[r * w + c] = xv[r * cols + j];
              }
          });
          set(y);
          break;
        }
        case "Concat": {
          const parts = node.input.map((_, j) => f32(j));
          const rank = parts[0].dims.length;
          let axis = intAttr(node, "axis", 0);
          if (axis < 0) axis += rank;
          const dims = [...parts[0].dims];
          dims[axis] = parts.reduce((s, p) => s + p.dims[axis], 0);
          for (const p of parts) if (p.dims.length !== rank || p.dims.some((d, i) => i !== axis && d !== dims[i])) throw new Error(`${where(node, ni)}: parts [${parts.map((q) => `[${q.dims}]`).join(", ")}] do not match along axis ${axis}`);
          const outer = size(dims.slice(0, axis)), inner = size(dims.slice(axis));
          const y = newF32(dims);
          const copy = call("cols_copy_f32x4");
          let off = 0;
          for (const p of parts) {
            const w = size(p.dims.slice(axis)), at = off;
            steps.push(() => void copy(outer, w, p.ptr, w, y.ptr + at * 4, inner, 0));
            off += w;
          }
          set(y);
          break;
        }
        case "Unsqueeze": {
          const x = get(0), axes = i64(1);
          const dims = [...x.dims];
          const rank = dims.length + axes.data.length;
          for (const a of Array.from(axes.data, Number).map((a) => (a < 0 ? a + rank : a)).sort((p, q) => p - q)) dims.splice(a, 0, 1);
          set(x.kind === "f32" ? { kind: "f32", dims, ptr: x.ptr } : { kind: "i64", dims, data: x.data });
          break;
        }
        case "ReduceSum": {
          const x = f32(0), keep = intAttr(node, "keepdims", 1);
          const axesV = node.input[1] ? i64(1) : null;
          if (!axesV || axesV.data.length !== 1) throw new Error(`${where(node, ni)}: exactly one reduction axis is supported`);
          let axis = Number(axesV.data[0]);
          if (axis < 0) axis += x.dims.length;
          const outer = size(x.dims.slice(0, axis)), len = x.dims[axis], inner = size(x.dims.slice(axis + 1));
          const dims = x.dims.filter((_, i) => i !== axis);
          if (keep) dims.splice(axis, 0, 1);
          const y = newF32(dims);
          steps.push(() => {
            const xv = arena.f32(x.ptr, size(x.dims)), yv = arena.f32(y.ptr, outer * inner);
            for (let o = 0; o < outer; o++)
              for (let i = 0; i < inner; i++) {
                let s = 0;
                for (let r = 0; r < len; r++) s += xv[(o * len + r) * inner + i];
                yv[o * inner + i] = s;
              }
          });
          set(y);
          break;
        }
        case "Identity":
          set(get(0));
          break;
      }
    });
    const outputs = graph.output.map((o) => {
      const value = vals.get(o.name);
      if (!value) throw new Error(`${this.name}: graph output ${JSON.stringify(o.name)} is never computed`);
      return { name: o.name, value };
    });
    const feeds = [...inputs].map(([name, value]) => ({ name, value, type: value.kind === "f32" ? ("float32" as const) : ("int64" as const) }));
    return { steps, inputs, feeds, outputs };
  }
}

/** numpy broadcasting of two shapes. */
function broadcastDims(a: number[], b: number[], where: () => string): number[] {
  const r = Math.max(a.length, b.length), out: number[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1, y = b[b.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new Error(`${where()}: shapes [${a}] and [${b}] do not broadcast`);
    out.push(Math.max(x, y));
  }
  return out;
}

/** For each flat index of `out`, the flat index into a tensor of shape `dims` broadcast to it. */
function broadcastIndex(dims: number[], out: number[]): Int32Array {
  const n = size(out), r = out.length, idx = new Int32Array(n);
  const d = Array.from({ length: r }, (_, i) => dims[dims.length - r + i] ?? 1);
  const strides = new Array<number>(r);
  let s = 1;
  for (let i = r - 1; i >= 0; i--) {
    strides[i] = d[i] === 1 ? 0 : s;
    s *= d[i];
  }
  for (let flat = 0; flat < n; flat++) {
    let rem = flat, off = 0;
    for (let i = r - 1; i >= 0; i--) {
      const c = rem % out[i];
      rem = (rem - c) / out[i];
      off += c * strides[i];
    }
    idx[flat] = off;
  }
  return idx;
}
