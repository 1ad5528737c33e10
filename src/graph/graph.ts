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
export type Role = "shared" | `task:${string}` | `gate:${string}` | "weighting" | "state";
export type Init = { kind: "uniform"; limit: number } | { kind: "normal"; std: number } | { kind: "zeros" } | { kind: "ones" };

/**
 * input: fed by the caller each run (data, labels, masks); param: trainable, in the parameter block;
 * const: fixed data in the graph (imported ONNX initializers, standardization statistics);
 * act: computed by a node; host: a scalar computed by a node into JS (a loss or relation value).
 */
export type ValueKind = "input" | "param" | "const" | "act" | "host";

export interface Value {
  readonly id: number;
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly Dim[];
  readonly kind: ValueKind;
  /** The node that computes it (act and host values). */
  producer: Node | null;
  /** param: its role and initializer. */
  readonly role?: Role;
  readonly init?: Init;
  /** const: its data (row-major; i64 as BigInt64Array). */
  readonly data?: Float32Array | Int32Array | BigInt64Array;
  /** Whether a gradient can flow into it (it depends on a parameter). */
  readonly requiresGrad: boolean;
}

export type Attrs = Record<string, unknown>;

export interface Node {
  readonly id: number;
  readonly op: string;
  readonly name: string;
  readonly inputs: readonly Value[];
  readonly outputs: readonly Value[];
  readonly attrs: Attrs;
}

/** What the model's tasks expose: where each prediction, loss and shared representation lives. */
export interface TaskPorts {
  name: string;
  /** The prediction a caller reads: probabilities (classification) or values. */
  output: Value;
  /** The loss node's host value (training graphs only). */
  loss: Value | null;
  /** The shared representation this task's tower reads (the trunk output, or the task's mixture). */
  representation: Value;
}

export class Graph {
  readonly values: Value[] = [];
  readonly nodes: Node[] = [];
  readonly tasks: TaskPorts[] = [];
  /** Relation terms (host values), in spec order. */
  readonly relations: Value[] = [];
  private readonly names = new Map<string, Value>();
  private readonly nodeNames = new Set<string>();

  constructor(readonly name: string) {}

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

  get(name: string): Value {
    const v = this.names.get(name);
    if (!v) throw new Error(`graph ${this.name}: no value named ${JSON.stringify(name)}`);
    return v;
  }

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

  params(): Value[] {
    return this.values.filter((v) => v.kind === "param");
  }

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

