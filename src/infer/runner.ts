// The `mtl` engine: executes an ONNX model with our own wasm kernels, so an edge worker needs only
// build/mtl.wasm (tens of KB) instead of onnxruntime-web (14 MB). The model is imported into the typed graph
// (src/onnx/import.ts) and compiled by the same scheduler as training, forward only: activation buffers are
// reused by liveness, fixed weights are uploaded once (and transposed once where the batch-1 path wants Wᵀ).
//
// Memory is bounded: plans are compiled for powers of two of the batch size (a batch is padded up to its plan;
// more than MAX_INFER_BATCH rows run in chunks), at most INFER_PLANS are kept (least recently used evicted),
// and dispose() releases every byte the session holds.
import type { Kernels } from "../runtime/load.ts";
import { Arena, type Region } from "../runtime/heap.ts";
import { decodeModel } from "../onnx/model.ts";
import { importOnnx, SUPPORTED_OPS } from "../onnx/import.ts";
import type { Graph, Value } from "../graph/graph.ts";
import { compile, type Program } from "../graph/compile.ts";
import type { HostState } from "../graph/op.ts";
import { DTYPE_BYTES, numel } from "../graph/shape.ts";
import { INFER_PLANS, MAX_INFER_BATCH, planBatch } from "../model/model.ts";
import type { InputTensor } from "./rows.ts";

export { SUPPORTED_OPS };

interface Plan {
  program: Program;
  region: Region;
}

export class MtlRunner {
  private readonly arena: Arena;
  private readonly region: Region;
  private readonly graph: Graph;
  private readonly inputs: Value[];
  private readonly outputs: { name: string; value: Value }[];
  private readonly consts = new Map<Value, number>();
  private readonly transposes = new Map<Value, number>();
  private readonly plans = new Map<number, Plan>();
  private readonly host: HostState = { losses: new Float64Array(0), relations: new Float64Array(0), scales: new Float64Array(0), validCount: { value: 0 }, rows: { value: 0 }, rng: { seedLo: 0, seedHi: 0, counter: 0 } };
  private disposed = false;
  readonly inputNames: string[];
  readonly outputNames: string[];

  private constructor(
    private readonly k: Kernels,
    bytes: Uint8Array,
    private readonly name: string,
    symbols: Readonly<Record<string, number>>,
  ) {
    const imported = importOnnx(decodeModel(bytes), name, symbols);
    this.graph = imported.graph;
    this.inputs = imported.inputs;
    this.outputs = imported.outputs;
    this.inputNames = this.inputs.map((v) => v.name);
    this.outputNames = this.outputs.map((o) => o.name);
    this.arena = new Arena(k);
    this.region = this.arena.region();
    for (const v of this.graph.values) {
      if (v.kind !== "const") continue;
      const d = v.data!;
      const at = this.region.allocBytes(Math.max(16, d.length * DTYPE_BYTES[v.dtype]));
      if (d instanceof Float32Array) new Float32Array(k.memory.buffer, at, d.length).set(d);
      else if (d instanceof Int32Array) new Int32Array(k.memory.buffer, at, d.length).set(d);
      else new BigInt64Array(k.memory.buffer, at, d.length).set(d);
      this.consts.set(v, at);
    }
  }

  /**
   * Decode and check an ONNX model for execution on `kernels` (errors name the node or tensor at fault). `symbols`
   * fixes symbolic input dimensions after the batch (importOnnx), e.g. { L: 46 } for a text model's token length.
   */
  static create(bytes: Uint8Array, kernels: Kernels, name = "model.onnx", symbols: Readonly<Record<string, number>> = {}): MtlRunner {
    return new MtlRunner(kernels, bytes, name, symbols);
  }

  /** Plans currently compiled (at most INFER_PLANS). */
  get planCount(): number {
    return this.plans.size;
  }

  /** Wᵀ [n, k] of a constant W [k, n], made once per session. */
  private transposed(w: Value): number {
    let p = this.transposes.get(w);
    if (p === undefined) {
      const [k, n] = w.shape as number[];
      const src = w.data as Float32Array;
      p = this.region.allocBytes(Math.max(16, k * n * 4));
      const t = new Float32Array(this.k.memory.buffer, p, k * n);
      for (let i = 0; i < k; i++) for (let j = 0; j < n; j++) t[j * k + i] = src[i * n + j];
      this.transposes.set(w, p);
    }
    return p;
  }

  private plan(batch: number): Program {
    const hit = this.plans.get(batch);
    if (hit) {
      this.plans.delete(batch);
      this.plans.set(batch, hit);
      return hit.program;
    }
    if (this.plans.size >= INFER_PLANS) {
      const [oldest, entry] = this.plans.entries().next().value!;
      entry.program.dispose();
      entry.region.dispose();
      this.plans.delete(oldest);
    }
    const region = this.arena.region();
    try {
      const program = compile({
        graph: this.graph,
        k: this.k,
        batch,
        training: false,
        targets: this.outputs.map((o) => o.value),
        constant: (v) => this.consts.get(v)!,
        transposed: (v) => this.transposed(v),
        memory: region,
        host: this.host,
        label: this.name,
      });
      this.plans.set(batch, { program, region });
      return program;
    } catch (e) {
      region.dispose();
      throw e;
    }
  }

  run(feeds: Record<string, InputTensor>): Record<string, Float32Array> {
    if (this.disposed) throw new Error(`${this.name}: the session was disposed`);
    for (const n of Object.keys(feeds)) if (!this.inputNames.includes(n)) throw new Error(`${this.name}: unknown input ${JSON.stringify(n)}; inputs are ${this.inputNames.join(", ")}`);
    const first = feeds[this.inputNames[0]];
    if (!first) throw new Error(`${this.name}: missing input ${JSON.stringify(this.inputNames[0])}`);
    const rows = first.dims[0];
    const out: Record<string, Float32Array> = {};
    const widths = this.outputs.map((o) => numel(o.value.shape, 1));
    this.outputs.forEach((o, i) => (out[o.name] = new Float32Array(rows * widths[i])));
    for (let s = 0; s < rows; s += MAX_INFER_BATCH) {
      const count = Math.min(MAX_INFER_BATCH, rows - s);
      const program = this.plan(planBatch(count));
      const B = program.batch;
      const mem = this.k.memory.buffer;
      for (const v of this.inputs) {
        const f = feeds[v.name];
        if (!f) throw new Error(`${this.name}: missing input ${JSON.stringify(v.name)}`);
        const per = numel(v.shape, 1), at = program.addr(v);
        const want = v.dtype === "f32" ? "float32" : "int64";
        if (f.type !== want) throw new Error(`${this.name}: input ${JSON.stringify(v.name)} has type ${f.type}, expected ${want}`);
        if (f.data.length !== rows * per) throw new Error(`${this.name}: input ${JSON.stringify(v.name)} has ${f.data.length} values, expected ${rows} × ${per}${v.shape.length > 2 || f.dims.length > 2 || (f.dims[1] !== undefined && f.dims[1] !== per) ? ` (the mtl engine runs this input at shape [N, ${v.shape.slice(1).join(", ")}]: pad or truncate it)` : ""}`);
        if (v.dtype === "f32") {
          const dst = new Float32Array(mem, at, B * per);
          dst.set((f.data as Float32Array).subarray(s * per, (s + count) * per));
          dst.fill(0, count * per);
        } else {
          const dst = new BigInt64Array(mem, at, B * per);
          dst.set((f.data as BigInt64Array).subarray(s * per, (s + count) * per));
          dst.fill(0n, count * per);
        }
      }
      const steps = program.forward;
      for (let i = 0; i < steps.length; i++) steps[i]();
      const f32 = new Float32Array(this.k.memory.buffer);
      this.outputs.forEach((o, i) => {
        const at = program.addr(o.value) >>> 2, w = widths[i];
        out[o.name].set(f32.subarray(at, at + count * w), s * w);
      });
    }
    return out;
  }

  /** Release every plan, the uploaded weights and their transposes. The runner cannot be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const p of this.plans.values()) {
      p.program.dispose();
      p.region.dispose();
    }
    this.plans.clear();
    this.region.dispose();
    this.consts.clear();
    this.transposes.clear();
  }
}
