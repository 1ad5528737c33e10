// A model instance: a validated spec lowered to its graph, its preprocessing, one parameter block in wasm
// memory, and compiled programs (one per batch size and mode) that share that block. Training programs are
// kept per batch size; inference programs are compiled for powers of two (the last batch is padded) and at
// most INFER_PLANS of them are kept, least recently used evicted, so serving varied batch sizes stays bounded.
import type { ModelSpec } from "./spec.ts";
import { ParamStore, type Param } from "./params.ts";
import { lowerSpec, INPUT, type DataDims } from "./lower.ts";
import type { Graph, Value } from "../graph/graph.ts";
import { compile, defaultTargets, planMemory, type MemoryPlan, type Program } from "../graph/compile.ts";
import type { HostState, RngState } from "../graph/op.ts";
import { Arena, formatBytes, MAX_MEMORY_BYTES, type Region } from "../runtime/heap.ts";
import type { Kernels } from "../runtime/load.ts";
import { dataDims, type Encoded, type Preprocessing } from "../data/preprocess.ts";
import { mulberry32 } from "../data/split.ts";
import { cos, log } from "../util/dmath.ts";

export type { DataDims } from "./lower.ts";
export type { RngState } from "../graph/op.ts";

/** One output of {@link Model.predictNamed}. */
export interface NamedOutput {
  /** The task's name, or `<task>.<name>` for an extra output. */
  name: string;
  /** Values per row (tagging: L·tags, token-major). */
  width: number;
  /** [rows, width]. */
  data: Float32Array;
}

/** Where one task's data and results live in a compiled program (byte addresses). */
export interface TaskIO {
  /** The task, as in the spec. */
  task: ModelSpec["tasks"][number];
  /** Output columns (classes for multiclass, labels for multilabel/regression, 1 for binary). */
  width: number;
  /** Number of groups of a `group_by` task, or 0. */
  groups: number;
  /** Labels: i32 [B] for multiclass, i32 [B, L] for tagging, f32 [B, width] otherwise. */
  labels: number;
  /** f32 [B]: 1 where the label is present (and the row is valid); tagging: f32 [B, L], 1 at a labelled token. */
  mask: number;
  /** Grouped tasks: i32 [B] group index of each row. */
  gather: number;
  /** The task's prediction [B, width] (tagging [B, L, width]): probabilities (binary, multiclass, multilabel, tagging) or values. */
  out: {
    /** Byte address of the f32 [B, cols] block. */
    ptr: number;
    /** Values per row: width, or L·width for tagging. */
    cols: number;
  };
  /** The task's extra outputs (TaskPorts.extras), named `<task>.<name>`, each [B, width]. */
  extras: {
    /** `<task>.<name>`, e.g. `conversion.given_click`. */
    name: string;
    /** Byte address of its values [B, width]. */
    ptr: number;
  }[];
  /** The loss value in the graph (training programs). */
  loss: Value | null;
  /** The shared representation this task's tower reads, with its address and gradient address (0: none). */
  representation: {
    /** The graph value. */
    value: Value;
    /** Byte address of its f32 data (0 in inference programs). */
    ptr: number;
    /** Byte address of its gradient (0: none). */
    grad: number;
    /** Elements in the program's batch: B × the product of its non-batch dims. */
    size: number;
  };
}

/** Addresses the data loader fills for each batch, and where the program leaves its results. */
export interface ProgramIO {
  /** The batch size B the program was compiled for. */
  batch: number;
  /** Standardized numeric columns [B, F] (0 when the model has none). */
  numeric: number;
  /** The raw tensor input [B, T] (0 when none). */
  tensor: number;
  /** Token ids i32 [B, L] (0 when the model has no token input). */
  tokens: number;
  /** One i32 [B] index vector per categorical input. */
  catIdx: number[];
  /** Valid-row mask f32 [B]: 1 for real rows, 0 for padding in the last batch. */
  valid: number;
  /** Number of valid rows in the current batch (set by the loader). */
  validCount: {
    /** Valid rows, 0 ≤ value ≤ B. */
    value: number;
  };
  /** Rows of this program's batch that hold data (HostState.rows): what feed() wrote; shards keep their own. */
  rows: {
    /** Rows holding data, 0 ≤ value ≤ B: the first ones. */
    value: number;
  };
  /** Per task, in spec order. */
  tasks: TaskIO[];
  /** Loss values of the last forward, per task (masked means). */
  losses: Float64Array;
  /** Relation values of the last forward, per relation (½·Σ(a − b)² over valid rows, divided by the valid count). */
  relations: Float64Array;
  /** Per-task loss scales used by the next backward (the weighting strategy writes them). */
  scales: Float64Array;
  /** Per task: rows of the current batch whose label is present (set by the feeder). */
  labelled: Float64Array;
}

/** A compiled program and the addresses its caller feeds and reads. */
export interface Built {
  /** The forward (and, for training, backward) kernel calls over planned addresses. */
  program: Program;
  /** Where its inputs go and its results are. */
  io: ProgramIO;
}

/** Inference programs kept per model (and per mtl-engine session). */
export const INFER_PLANS = 4;
/** The largest inference batch compiled; larger inputs run in chunks of it. */
export const MAX_INFER_BATCH = 1024;

/** The inference batch size compiled for `rows` rows: the next power of two, at most `cap`. */
export function planBatch(rows: number, cap = MAX_INFER_BATCH): number {
  let b = 1;
  while (b < rows && b < cap) b *= 2;
  return Math.min(b, cap);
}

export interface ModelOptions {
  /**
   * The most wasm memory (bytes) this model may hold: its parameter block (4 copies) plus every program it
   * compiles. The constructor refuses a model whose parameters, training program at the spec's batch_size and an
   * inference program need more, and program() a program that would take the model past it. Default: no limit
   * beyond the wasm32 memory itself (4 GiB, shared with everything else on the kernel instance).
   */
  maxMemory?: number;
}

/** The inference batch the constructor's memory check plans for (Model.predict's default batch). */
const PLANNED_INFER_BATCH = 512;
/** Tensors an out-of-memory message names. */
const NAMED_TENSORS = 3;

/**
 * A model on one kernel instance: the spec's training graph, its parameter block (weights, gradient and two
 * optimizer-state copies, same layout) and the programs compiled from the graph, per batch size. Public reads
 * (getWeights, snapshot, predict) return copies; `dispose` frees its memory.
 */
export class Model {
  /** Sizes from the data: numeric columns, vocabularies, output widths, groups. */
  readonly dims: DataDims;
  /** The parameter layout: every parameter's offset in the blocks. */
  readonly store = new ParamStore();
  /** The wasm memory allocator this model's blocks and programs live in. */
  readonly arena: Arena;
  /** The dropout stream: the seed (training.seed) and the Philox counter, advanced by each training forward. */
  readonly rng: RngState;
  /** The training graph (encoded boundary): what every program of this model is compiled from. */
  readonly graph: Graph;
  /** Uncertainty weighting's learnt log-variances s_t (one per task), when the spec asks for them. */
  readonly logVars: Param | null;
  /** GradNorm's learnt loss-weight logits ξ_t (w = T·softmax(ξ)), when the spec asks for them. */
  readonly gradnormLogits: Param | null;
  /** Training programs by batch size, and by `${batch}#${copy}` for further copies (program's `copy`). */
  private readonly training = new Map<number | string, { built: Built; region: Region }>();
  private readonly inference = new Map<number, { built: Built; region: Region }>();
  private readonly byValue = new Map<Value, Param>();
  private disposed = false;
  /** Bytes of the four parameter blocks (computed before they are allocated). */
  private readonly paramBytes: number;
  /** Planned bytes per program (`t:` training, `i:` inference, then the batch). */
  private readonly plans = new Map<string, MemoryPlan>();

  /**
   * Lay out and allocate the parameter block (parameters are not initialized: call initParams or setWeights).
   * Throws when the parameters plus a training and an inference program would not fit in `options.maxMemory` or
   * the wasm32 memory, naming the largest tensors.
   * @param spec A validated spec.
   * @param pre The preprocessing fitted on the training rows (vocabularies, statistics).
   * @param k The kernel instance to allocate on.
   * @param options Memory limit.
   */
  constructor(
    /** The validated spec. */
    readonly spec: ModelSpec,
    /** Vocabularies and standardization statistics (fitted on the training rows). */
    readonly pre: Preprocessing,
    /** The kernels (one wasm instance) every program calls. */
    readonly k: Kernels,
    /** Memory limit. */
    readonly options: ModelOptions = {},
  ) {
    this.dims = dataDims(spec, pre);
    this.arena = new Arena(k);
    this.rng = { seedLo: spec.training.seed | 0, seedHi: 0x5eed, counter: 0 };
    this.graph = lowerSpec(spec, this.dims, pre, "encoded");
    const declare = (v: Value) => this.byValue.set(v, this.store.declare(v.name, v.shape as number[], v.init!, v.role!));
    for (const v of this.graph.params()) if (v.role !== "state") declare(v);
    this.logVars = spec.training.weighting.type === "uncertainty" ? this.store.declare("weighting.log_var", [spec.tasks.length], { kind: "zeros" }, "weighting") : null;
    this.gradnormLogits = spec.training.weighting.type === "gradnorm" ? this.store.declare("weighting.gradnorm_logit", [spec.tasks.length], { kind: "zeros" }, "weighting") : null;
    // Model state (batch norm's running statistics) last: outside the optimizer's range (ParamStore.trainable).
    for (const v of this.graph.params()) if (v.role === "state") declare(v);
    // Memory, before any is allocated: the parameter block's 4 copies, the training program at batch_size and one
    // inference program. Refused with the largest tensors named, rather than failing inside memory.grow.
    const max = options.maxMemory;
    if (max !== undefined && !(typeof max === "number" && Number.isFinite(max) && max > 0)) throw new Error(`model ${spec.name}: maxMemory must be a positive number of bytes, got ${String(max)}`);
    this.paramBytes = 4 * Math.ceil((Math.max(4, this.store.total) * 4) / 16) * 16;
    const train = this.plan(spec.training.batch_size, true), infer = this.plan(planBatch(PLANNED_INFER_BATCH), false);
    const need = this.paramBytes + train.bytes + infer.bytes;
    const limit = this.limit(need, 0);
    if (limit) {
      throw new Error(
        `model ${spec.name} needs ${formatBytes(need)} of wasm memory (${limit}): largest tensors ${this.largest([train, infer], true)}; ` +
          `parameters ${formatBytes(this.paramBytes)} (4 copies), training program at batch ${train.batch} ${formatBytes(train.bytes)}, inference program at batch ${infer.batch} ${formatBytes(infer.bytes)}`,
      );
    }
    this.store.allocate(this.arena);
  }

  /** The planned memory of one program (no memory is allocated). */
  private plan(batch: number, training: boolean): MemoryPlan {
    const key = `${training ? "t" : "i"}:${batch}`;
    let p = this.plans.get(key);
    if (!p) this.plans.set(key, (p = planMemory({ graph: this.graph, batch, training, label: this.spec.name })));
    return p;
  }

  /**
   * Why `more` bytes more (with `held` bytes of this model already allocated) do not fit, or null: the wasm32
   * memory (4 GiB, less what is already in use on this kernel instance) or options.maxMemory.
   */
  private limit(more: number, held: number): string | null {
    const inUse = this.arena.used, start = Math.ceil(this.arena.base / 16) * 16;
    if (start + inUse + more > MAX_MEMORY_BYTES) return `limit ${formatBytes(MAX_MEMORY_BYTES)}${inUse ? `, ${formatBytes(inUse)} already in use` : ""}`;
    const max = this.options.maxMemory;
    if (max !== undefined && held + more > max) return `limit max_memory = ${formatBytes(max)}${held ? `, the model holds ${formatBytes(held)}` : ""}`;
    return null;
  }

  /** The largest tensors of these plans (and of the parameter block), as `name [dims] size` text. */
  private largest(plans: MemoryPlan[], params: boolean): string {
    // A parameter counts 4 times (values, gradient, two moments); an activation planned in several programs once,
    // at its largest (e.g. the inference batch).
    const items: { key: string; text: string; bytes: number }[] = [];
    if (params) for (const p of this.store.params) items.push({ key: `p:${p.name}`, text: `${p.name} [${p.shape.join(", ")}] ${formatBytes(p.size * 4)} ×4`, bytes: 4 * p.size * 4 });
    for (const plan of plans) {
      for (const t of plan.tensors.slice(0, NAMED_TENSORS)) {
        const grad = t.kind === "gradient";
        items.push({ key: `${grad ? "g" : "a"}:${t.name}`, text: `${grad ? "gradient of " : ""}${t.name} [${t.dims.join(", ")}] ${formatBytes(t.bytes)}`, bytes: t.bytes });
      }
    }
    items.sort((a, b) => b.bytes - a.bytes);
    const seen = new Set<string>();
    const named = items.filter((x) => !seen.has(x.key) && !!seen.add(x.key));
    return named.slice(0, NAMED_TENSORS).map((x) => x.text).join(", ") + (named.length > NAMED_TENSORS ? ", …" : "");
  }

  /**
   * The program for batch size `batch` (training or inference), compiled once and cached. `copy` > 0 (training
   * only): another program of the same batch size with activations of its own, so several can hold a forward's
   * state at once (the shards of sharded.ts); they share the parameters, their gradient and the dropout stream.
   */
  program(batch: number, training: boolean, copy = 0): Built {
    if (this.disposed) throw new Error(`model ${this.spec.name}: used after dispose()`);
    if (copy !== 0 && !(training && Number.isInteger(copy) && copy > 0)) throw new Error(`model ${this.spec.name}: program copy ${copy}: copies are positive integers, of training programs only`);
    const cache = (training ? this.training : this.inference) as Map<number | string, { built: Built; region: Region }>;
    const key = copy ? `${batch}#${copy}` : batch;
    const hit = cache.get(key);
    if (hit) {
      // Least recently used last out: re-insert on use.
      cache.delete(key);
      cache.set(key, hit);
      return hit.built;
    }
    if (!(Number.isInteger(batch) && batch >= 1)) throw new Error(`model ${this.spec.name}: batch size must be a positive integer, got ${batch}`);
    if (!training && cache.size >= INFER_PLANS) {
      const [oldest, entry] = cache.entries().next().value!;
      entry.region.dispose();
      cache.delete(oldest);
    }
    // The program's memory, planned without allocating: refused before compile() could fail inside memory.grow.
    const plan = this.plan(batch, training);
    let held = this.paramBytes;
    for (const c of [this.training, this.inference]) for (const e of c.values()) held += e.region.owned;
    const limit = this.limit(plan.bytes, held);
    if (limit) throw new Error(`model ${this.spec.name}: the ${training ? "training" : "inference"} program at batch ${batch} needs ${formatBytes(plan.bytes)} of wasm memory (${limit}): largest tensors ${this.largest([plan], false)}`);
    const region = this.arena.region();
    try {
      const built = this.build(batch, training, region);
      cache.set(key, { built, region });
      return built;
    } catch (e) {
      region.dispose();
      throw e;
    }
  }

  private build(batch: number, training: boolean, region: Region): Built {
    const { graph, spec, store } = this;
    const T = spec.tasks.length;
    const host: HostState = {
      losses: new Float64Array(T),
      relations: new Float64Array(graph.relations.length),
      scales: new Float64Array(T).fill(1),
      validCount: { value: batch },
      rows: { value: batch },
      rng: this.rng,
    };
    // The same targets and roots planMemory planned for (compile.ts defaultTargets).
    const { targets, roots } = defaultTargets(graph, training);
    const program = compile({
      graph,
      k: this.k,
      batch,
      training,
      targets,
      roots,
      param: (v) => {
        const p = this.byValue.get(v)!;
        return { p: store.addr(p, "p"), g: store.addr(p, "g") };
      },
      memory: region,
      host,
      label: spec.name,
    });
    const addr = (name: string) => (graph.has(name) ? program.addr(graph.get(name)) : 0);
    const io: ProgramIO = {
      batch,
      numeric: addr(INPUT.numeric),
      tensor: addr(INPUT.tensor),
      tokens: addr(INPUT.tokens),
      catIdx: spec.inputs.categorical.map((c) => addr(INPUT.categorical(c.column))),
      valid: addr(INPUT.valid),
      validCount: host.validCount,
      rows: host.rows,
      tasks: spec.tasks.map((t, i) => {
        const ports = graph.tasks[i], rep = ports.representation;
        return {
          task: t,
          width: this.dims.outputs[i],
          groups: this.dims.groups[i],
          labels: addr(INPUT.label(t.name)),
          mask: addr(INPUT.mask(t.name)),
          gather: addr(INPUT.group(t.name)),
          out: { ptr: program.addr(ports.output), cols: this.dims.outputs[i] * (t.type === "tagging" ? this.dims.tokens!.length : 1) },
          extras: (ports.extras ?? []).map((x) => ({ name: `${t.name}.${x.name}`, ptr: program.addr(x.value) })),
          loss: ports.loss,
          representation: { value: rep, ptr: training ? program.addr(rep) : 0, grad: program.grad(rep), size: batch * (rep.shape.slice(1) as number[]).reduce((a, b) => a * b, 1) },
        };
      }),
      losses: host.losses,
      relations: host.relations,
      scales: host.scales,
      labelled: new Float64Array(T),
    };
    return { program, io };
  }

  /** The parameter behind a graph parameter value. */
  paramOf(v: Value): Param {
    const p = this.byValue.get(v);
    if (!p) throw new Error(`model ${this.spec.name}: ${v.name} is not a parameter of this model`);
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
        else if (init.kind === "normal") a[i] = Math.sqrt(-2 * log(1 - u())) * cos(2 * Math.PI * u()) * init.std;
        else if (init.kind === "mix") a[i] = Math.floor(i / p.shape[1]) === i % p.shape[1] ? init.diag : init.off;
        else a[i] = init.kind === "ones" ? 1 : 0;
      }
    }
    this.resetOptimizer();
  }

  /** Zero the optimizer's moment blocks (s1, s2), e.g. before training loaded weights anew. */
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

  /** Write a {@link snapshot} back into the parameter block (same model, same layout). */
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
    const B = io.batch, F = this.dims.numeric, Tn = this.spec.inputs.tensor;
    const f32 = this.arena.heapF32(), i32 = this.arena.heapI32();
    const xn = io.numeric >>> 2, xt = io.tensor >>> 2, valid = io.valid >>> 2;
    const num = data.numeric, ten = data.tensor;
    io.validCount.value = count;
    io.rows.value = count;
    for (let r = 0; r < B; r++) {
      if (r < count) {
        const row = order[start + r];
        if (valid) f32[valid + r] = 1;
        for (let j = 0, s = row * F, d = xn + r * F; j < F; j++) f32[d + j] = num[s + j];
        for (let j = 0, s = row * Tn, d = xt + r * Tn; j < Tn; j++) f32[d + j] = ten[s + j];
      } else {
        if (valid) f32[valid + r] = 0;
        if (F) f32.fill(0, xn + r * F, xn + (r + 1) * F);
        if (Tn) f32.fill(0, xt + r * Tn, xt + (r + 1) * Tn);
      }
    }
    if (io.tokens) {
      // Token ids [B, L]; padding rows are all PAD (0), so their mask (derived from the ids) is 0 too.
      const L = this.dims.tokens!.length, at = io.tokens >>> 2, ids = data.tokens!.ids;
      for (let r = 0; r < B; r++) {
        if (r < count) i32.set(ids.subarray(order[start + r] * L, (order[start + r] + 1) * L), at + r * L);
        else i32.fill(0, at + r * L, at + (r + 1) * L);
      }
    }
    for (let j = 0; j < io.catIdx.length; j++) {
      const idx = io.catIdx[j] >>> 2, src = data.categorical[j];
      for (let r = 0; r < B; r++) i32[idx + r] = r < count ? src[order[start + r]] : 0;
    }
    for (let ti = 0; ti < io.tasks.length; ti++) {
      const t = io.tasks[ti], enc = data.tasks[ti];
      if (t.groups) {
        const g = t.gather >>> 2;
        for (let r = 0; r < B; r++) i32[g + r] = r < count ? enc.group[order[start + r]] : 0;
      }
      if (!t.labels) continue; // an inference program reads no labels
      const mask = t.mask >>> 2, lab = t.labels >>> 2;
      if (t.task.type === "tagging") {
        // Labels i32 [B, L] and the token mask [B, L]; labelled counts tokens (tag_xent's mean is over them).
        const L = this.dims.tokens!.length, src = enc.labels as Int32Array, tm = enc.tokenMask!;
        let n = 0;
        for (let r = 0; r < B; r++) {
          const d = r * L;
          if (r < count) {
            const s = order[start + r] * L;
            i32.set(src.subarray(s, s + L), lab + d);
            f32.set(tm.subarray(s, s + L), mask + d);
            for (let j = 0; j < L; j++) n += tm[s + j];
          } else {
            i32.fill(-1, lab + d, lab + d + L);
            f32.fill(0, mask + d, mask + d + L);
          }
        }
        io.labelled[ti] = n;
        continue;
      }
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
      let n = 0;
      for (let r = 0; r < B; r++) {
        const m = r < count ? enc.mask[order[start + r]] : 0;
        f32[mask + r] = m;
        if (m > 0) n++;
      }
      io.labelled[ti] = n;
    }
  }

  /** Run the forward pass of an inference program over all rows; returns each task's outputs [rows, width] (tagging [rows, L, tags]). */
  predict(data: Encoded, batch = 512): Float32Array[] {
    return this.predictAll(data, batch).outs;
  }

  /**
   * Every output in export order: each task's prediction [rows, width] (named after the task) followed by its extra
   * outputs (`<task>.<name>`, e.g. ESMM's `conversion.given_click`), as the ONNX export's outputs.
   */
  predictNamed(data: Encoded, batch = 512): NamedOutput[] {
    const { outs, extras } = this.predictAll(data, batch);
    const L = this.dims.tokens?.length ?? 1;
    return this.spec.tasks.flatMap((t, i) => [{ name: t.name, width: this.dims.outputs[i] * (t.type === "tagging" ? L : 1), data: outs[i] }, ...extras[i].map((x) => ({ ...x, width: this.dims.outputs[i] }))]);
  }

  private predictAll(data: Encoded, batch: number): { outs: Float32Array[]; extras: { name: string; data: Float32Array }[][] } {
    const built = this.program(planBatch(Math.max(1, data.rows), batch), false);
    const B = built.io.batch;
    const order = Int32Array.from({ length: data.rows }, (_, i) => i);
    const outs = built.io.tasks.map((t) => new Float32Array(data.rows * t.out.cols));
    const extras = built.io.tasks.map((t) => t.extras.map((x) => ({ name: x.name, data: new Float32Array(data.rows * t.width) })));
    for (let s = 0; s < data.rows; s += B) {
      const count = Math.min(B, data.rows - s);
      this.feed(built, data, order, s, count);
      for (const f of built.program.forward) f();
      built.io.tasks.forEach((t, i) => {
        outs[i].set(this.arena.f32(t.out.ptr, count * t.out.cols), s * t.out.cols);
        t.extras.forEach((x, j) => extras[i][j].data.set(this.arena.f32(x.ptr, count * t.width), s * t.width));
      });
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
    return { outs, extras };
  }

  /**
   * After a non-finite loss: where it started, for the error message. Checks the parameters, then re-runs the
   * forward of the batch already fed one node at a time and names the first input or layer output that is not
   * finite (the dropout stream is restored afterwards).
   */
  firstNonFinite(built: Built): string {
    const f32 = () => this.arena.heapF32();
    for (const p of this.store.params) {
      const v = f32().subarray((this.store.p >>> 2) + p.offset, (this.store.p >>> 2) + p.offset + p.size);
      const i = v.findIndex((x) => !Number.isFinite(x));
      if (i >= 0) return `parameter ${p.name} [${p.shape}] is not finite (element ${i} = ${v[i]})`;
    }
    const { program } = built;
    const B = built.io.batch, rows = built.io.validCount.value;
    const scan = (v: Value): string | null => {
      if (v.kind === "host" || v.dtype !== "f32") return null;
      const at = program.addr(v) >>> 2, w = v.shape.length > 1 ? (v.shape[v.shape.length - 1] as number) : 1;
      const n = Math.min(rows, B) * (v.shape.length === 3 ? (v.shape[1] as number) * w : w);
      const data = f32().subarray(at, at + n);
      const i = data.findIndex((x) => !Number.isFinite(x));
      return i < 0 ? null : `row ${Math.floor(i / w)}, column ${i % w} = ${data[i]}`;
    };
    for (const v of this.graph.inputs()) {
      const bad = scan(v);
      if (bad) return `input ${v.name} is not finite (${bad})`;
    }
    const nodes = program.forwardNodes;
    const saved = this.rng.counter;
    try {
      for (let i = 0; i < program.forward.length; i++) {
        program.forward[i]();
        const n = nodes[i];
        for (const v of n.outputs) {
          const bad = scan(v);
          if (bad) return `the first layer whose output is not finite is ${JSON.stringify(n.name)} (${n.op}), ${bad}`;
        }
      }
    } finally {
      this.rng.counter = saved;
    }
    return "";
  }

  /** Inference programs currently compiled (bounded by INFER_PLANS). */
  get inferencePlans(): number {
    return this.inference.size;
  }

  /** Release every program and the parameter block; the model cannot be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const c of [this.training, this.inference]) {
      for (const e of c.values()) e.region.dispose();
      c.clear();
    }
    for (const b of [this.store.p, this.store.g, this.store.s1, this.store.s2]) this.arena.free(b);
  }
}
