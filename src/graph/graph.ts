// The typed model graph: one description of a model that training, inference, ONNX export, the ONNX import
// of the mtl engine and `mtl summary` all read.
//
// Values have a dtype and a shape of rank 0–4, batch first: "N" is the batch dimension, fixed only when a
// program is compiled for a batch size (images are NCHW). Nodes are `{op, inputs, outputs, attrs}` in
// insertion order, which is a topological order (a node may only read values defined before it) and the
// order forward steps run in; backward steps run in reverse. Parameters carry a role: `shared` (the trunk
// every task reads), `task:<name>` (one task's tower, head or own experts), `gate:<task>` (a task's gate
// over shared experts) and `weighting` (a balancing strategy's own parameters, e.g. log-variances).
import { opDef } from "./registry.ts";
import type { DType, Dim } from "./shape.ts";

export type { DType, Dim } from "./shape.ts";
export { numel, dims, showShape, DTYPE_BYTES } from "./shape.ts";
/**
 * Who a parameter belongs to: `shared` (the trunk), `task:<name>` (one task's tower, head or own experts),
 * `gate:<task>` (a task's gate), `weighting` (a balancing strategy's parameters), `state` (non-trainable state).
 */
export type Role = "shared" | `task:${string}` | `gate:${string}` | "weighting" | "state";
/** A parameter's initializer (drawn with the spec's seed): U(−limit, limit), N(0, std²), all zeros, all ones, or a mixing matrix. */
export type Init =
  | {
      /** Uniform on [−limit, limit]. */
      kind: "uniform";
      /** Half-width of the interval (> 0). */
      limit: number;
    }
  | {
      /** Normal with mean 0. */
      kind: "normal";
      /** Standard deviation (> 0). */
      std: number;
    }
  | {
      /** Every element 0. */
      kind: "zeros";
    }
  | {
      /** Every element 1. */
      kind: "ones";
    }
  | {
      /** A square [T, T]: `diag` on the diagonal, `off` elsewhere (cross-stitch units start near identity). */
      kind: "mix";
      /** The diagonal's value. */
      diag: number;
      /** Every other element's value. */
      off: number;
    };

/**
 * input: fed by the caller each run (data, labels, masks); param: trainable, in the parameter block;
 * const: fixed data in the graph (imported ONNX initializers, standardization statistics);
 * act: computed by a node; host: a scalar computed by a node into JS (a loss or relation value).
 */
export type ValueKind = "input" | "param" | "const" | "act" | "host";

/** A tensor of the graph: an input, parameter, constant, node output or host scalar. */
export interface Value {
  /** Its index in `Graph.values` (definition order). */
  readonly id: number;
  /** Unique in the graph; for parameters, the safetensors key. */
  readonly name: string;
  /** Element type. */
  readonly dtype: DType;
  /** Rank 0–4, batch first ("N"); images NCHW. */
  readonly shape: readonly Dim[];
  /** What kind of value it is (see {@link ValueKind}). */
  readonly kind: ValueKind;
  /** The node that computes it (act and host values). */
  producer: Node | null;
  /** param: its role and initializer. */
  readonly role?: Role;
  /** param: how it is initialized. */
  readonly init?: Init;
  /** const: its data (row-major; i64 as BigInt64Array). */
  readonly data?: Float32Array | Int32Array | BigInt64Array;
  /** Whether a gradient can flow into it (it depends on a parameter). */
  readonly requiresGrad: boolean;
}

/** A node's attributes by name (numbers, strings, arrays; each op reads its own with clear errors). */
export type Attrs = Record<string, unknown>;

/** One operation of the graph: `op` applied to `inputs`, computing `outputs`. */
export interface Node {
  /** Its index in `Graph.nodes` (insertion order, a topological order). */
  readonly id: number;
  /** The op's registry name (`OPS`), e.g. "dense". */
  readonly op: string;
  /** Unique among the graph's nodes; outputs are named after it. */
  readonly name: string;
  /** The values it reads, in the op's argument order. */
  readonly inputs: readonly Value[];
  /** The values it computes (act or host). */
  readonly outputs: readonly Value[];
  /** The op's attributes. */
  readonly attrs: Attrs;
}

/** What the model's tasks expose: where each prediction, loss and shared representation lives. */
export interface TaskPorts {
  /** The task's name (the spec's `tasks[].name`; a `group_by` task expands to one port per group). */
  name: string;
  /** The prediction a caller reads: probabilities (classification) or values. */
  output: Value;
  /** The loss node's host value (training graphs only). */
  loss: Value | null;
  /** The shared representation this task's tower reads (the trunk output, or the task's mixture). */
  representation: Value;
  /**
   * Further predictions of the task beside `output` (ESMM's conditional p(task | after)), each [N, width of output]:
   * exported as ONNX outputs and predict columns named `<task>.<name>`, e.g. `conversion.given_click`.
   */
  extras?: {
    /** The output's name after the task's (`given_click` → `conversion.given_click`). */
    name: string;
    /** Its value [N, width of output]. */
    value: Value;
  }[];
}

/**
 * A model as a typed graph (see the file header): values and nodes in definition order, plus each task's ports.
 * Built by `lowerSpec` from a spec, or imported from ONNX by the mtl engine.
 */
export class Graph {
  /** Every value, indexed by `Value.id`. */
  readonly values: Value[] = [];
  /** Every node in insertion (topological, forward-run) order. */
  readonly nodes: Node[] = [];
  /** Per task: where its prediction, loss and shared representation live. */
  readonly tasks: TaskPorts[] = [];
  /**
   * The objective's terms beyond the task losses (spec relations, regularizers that architectures and heads add):
   * relations[i] is a host scalar its node writes to host.relations[i], averaged over the batch's real rows; the
   * objective adds terms[i].lambda · relations[i], and the full backward seeds it with that λ. Add them with `term`.
   */
  readonly relations: Value[] = [];
  /** Each term's label and weight, in the order of `relations`. */
  readonly terms: {
    /** The label logs and errors use (`income~never_married`, `dselect.income`). */
    name: string;
    /** Its weight λ in the objective. */
    lambda: number;
  }[] = [];
  /** The batch's real rows ([N] f32, 1 or 0) that terms read; null in a graph without an objective (export). */
  valid: Value | null = null;
  private readonly names = new Map<string, Value>();
  private readonly nodeNames = new Set<string>();

  /** @param name The graph's name, used in error messages (the model's name). */
  constructor(readonly name: string) {}

  /**
   * An objective term: node `op` (which writes host.relations[attrs.index] and reads attrs.lambda) added with
   * index and lambda set here. `name` labels it in logs and errors (`income~never_married`, `dselect.income`).
   */
  term(op: string, inputs: Value[], attrs: Attrs, name: string, lambda: number, nodeName?: string): Value {
    const v = this.add1(op, inputs, { ...attrs, index: this.relations.length, lambda }, nodeName ?? name);
    this.relations.push(v);
    this.terms.push({ name, lambda });
    return v;
  }

  private value(v: Omit<Value, "id">): Value {
    if (this.names.has(v.name)) throw new Error(`graph ${this.name}: value ${JSON.stringify(v.name)} is defined twice`);
    for (const d of v.shape) if (d !== "N" && !(Number.isSafeInteger(d) && d >= 0)) throw new Error(`graph ${this.name}: value ${JSON.stringify(v.name)} has an invalid dimension ${String(d)} in [${v.shape}]`);
    if (v.shape.length > 4) throw new Error(`graph ${this.name}: value ${JSON.stringify(v.name)} has rank ${v.shape.length}; ranks 0–4 are supported`);
    const full: Value = { ...v, id: this.values.length };
    this.values.push(full);
    this.names.set(full.name, full);
    return full;
  }

  /** A value fed by the caller. */
  input(name: string, dtype: DType, shape: Dim[]): Value {
    return this.value({ name, dtype, shape, kind: "input", producer: null, requiresGrad: false });
  }

  /** A trainable parameter (names are the safetensors keys). */
  param(name: string, shape: number[], init: Init, role: Role): Value {
    return this.value({ name, dtype: "f32", shape, kind: "param", producer: null, role, init, requiresGrad: true });
  }

  /**
   * Non-trainable state in the parameter block (role "state", e.g. batch norm's running statistics): saved with
   * the weights and exported like a parameter, updated in place by its op's training forward, never given a
   * gradient and never touched by the optimizer (the model lays state out after every trainable parameter).
   */
  state(name: string, shape: number[], init: Init): Value {
    return this.value({ name, dtype: "f32", shape, kind: "param", producer: null, role: "state", init, requiresGrad: false });
  }

  /** A constant tensor. */
  constant(name: string, data: Float32Array | Int32Array | BigInt64Array, shape: number[]): Value {
    const dtype: DType = data instanceof Float32Array ? "f32" : data instanceof Int32Array ? "i32" : "i64";
    const n = shape.reduce((a, b) => a * b, 1);
    if (n !== data.length) throw new Error(`graph ${this.name}: constant ${JSON.stringify(name)} has ${data.length} values for shape [${shape}]`);
    return this.value({ name, dtype, shape, kind: "const", producer: null, data, requiresGrad: false });
  }

  /** A name not taken yet: `base`, else `base_2`, `base_3`, … */
  unique(base: string): string {
    if (!this.names.has(base) && !this.nodeNames.has(base)) return base;
    let k = 2;
    while (this.names.has(`${base}_${k}`) || this.nodeNames.has(`${base}_${k}`)) k++;
    return `${base}_${k}`;
  }

  /** The value named `name`; throws naming the graph when there is none. */
  get(name: string): Value {
    const v = this.names.get(name);
    if (!v) throw new Error(`graph ${this.name}: no value named ${JSON.stringify(name)}`);
    return v;
  }

  /** Whether a value is named `name`. */
  has(name: string): boolean {
    return this.names.has(name);
  }

  /**
   * Add a node: the op's shape inference checks the inputs and gives the outputs' dtype and shape.
   * Output names are `name` (one output) or `name:0`, `name:1`, …; `name` defaults to a unique `op`.
   */
  add(op: string, inputs: Value[], attrs: Attrs = {}, name?: string): Value[] {
    const def = opDef(op);
    for (const v of inputs) if (this.values[v.id] !== v) throw new Error(`graph ${this.name}: node ${name ?? op} reads a value of another graph (${v.name})`);
    const nodeName = name ? this.unique(name) : this.unique(op);
    let outs;
    try {
      outs = def.infer(inputs, attrs);
    } catch (e) {
      throw new Error(`graph ${this.name}: node ${JSON.stringify(nodeName)} (${op}): ${(e as Error).message}`);
    }
    const grad = inputs.some((v) => v.requiresGrad);
    const node: Node = { id: this.nodes.length, op, name: nodeName, inputs: [...inputs], outputs: [], attrs };
    const outputs = outs.map((o, j) =>
      this.value({ name: this.unique(outs.length === 1 ? nodeName : `${nodeName}:${j}`), dtype: o.dtype, shape: o.shape, kind: o.host ? "host" : "act", producer: node, requiresGrad: grad && o.dtype === "f32" }),
    );
    (node as unknown as { outputs: Value[] }).outputs = outputs;
    this.nodes.push(node);
    this.nodeNames.add(nodeName);
    return outputs;
  }

  /** Add a node with exactly one output. */
  add1(op: string, inputs: Value[], attrs: Attrs = {}, name?: string): Value {
    const out = this.add(op, inputs, attrs, name);
    if (out.length !== 1) throw new Error(`graph ${this.name}: ${op} has ${out.length} outputs`);
    return out[0];
  }

  /** The parameter values (trainable parameters and state), in definition order. */
  params(): Value[] {
    return this.values.filter((v) => v.kind === "param");
  }

  /** The input values (fed by the caller each run), in definition order. */
  inputs(): Value[] {
    return this.values.filter((v) => v.kind === "input");
  }

  /** Readers of each value, in node order. */
  consumers(): Map<Value, Node[]> {
    const m = new Map<Value, Node[]>();
    for (const n of this.nodes)
      for (const v of n.inputs) {
        let l = m.get(v);
        if (!l) m.set(v, (l = []));
        if (!l.includes(n)) l.push(n);
      }
    return m;
  }

  /** The nodes needed to compute `targets`, in graph order. */
  needed(targets: readonly Value[]): Node[] {
    const keep = new Set<Node>();
    const stack = [...targets];
    while (stack.length) {
      const v = stack.pop()!;
      const n = v.producer;
      if (!n || keep.has(n)) continue;
      keep.add(n);
      stack.push(...n.inputs);
    }
    return this.nodes.filter((n) => keep.has(n));
  }
}

