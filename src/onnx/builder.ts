// A typed ONNX graph builder: declare inputs, initializers, nodes and outputs by name, get a ModelProto.
//
//   const g = new GraphBuilder("mlp");
//   const x = g.input("X", "float", ["N", 4]);
//   const w = g.initializer("W", new Float32Array(12), [4, 3]);
//   const [h] = g.node("MatMul", [x, w]);
//   const [y] = g.node("Relu", [h], ["Y"]);
//   g.output(y, "float", ["N", 3]);
//   const bytes = encodeModel(g.toModel({ producerName: "mtl-wasm" }));
//
// Names are checked as the graph is built: every node input must already be defined (graph input, initializer or
// an earlier node's output; "" marks an omitted optional input), and no name may be defined twice. Portable.

import {
  type AttributeProto,
  type AttributeValue,
  DataType,
  type Dim,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  numElements,
  type OperatorSetIdProto,
  type TensorData,
  type TensorProto,
  type ValueInfoProto,
} from "./model.ts";

/** Element type names accepted by input()/output()/valueInfo(). */
export type ElemTypeName = "float" | "int64" | "int32" | "bool" | "double" | "uint8" | "int8";

export const ELEM_TYPE: Record<ElemTypeName, number> = {
  float: DataType.FLOAT,
  int64: DataType.INT64,
  int32: DataType.INT32,
  bool: DataType.BOOL,
  double: DataType.DOUBLE,
  uint8: DataType.UINT8,
  int8: DataType.INT8,
};

/**
 * An attribute value for node(). Plain values are typed by shape: an integer number → INT, a non-integer number →
 * FLOAT, a string → STRING, a number[] of integers → INTS (otherwise FLOATS), a string[] → STRINGS, a Float32Array
 * → FLOATS, a TensorProto → TENSOR. Use the `attr` helpers when the inference would be wrong (e.g. attr.float(1)).
 */
export type AttrInput = number | string | number[] | string[] | Float32Array | TensorProto | AttributeValue;

/** Explicitly typed attribute values. FLOAT values are rounded to float32, as they are stored. */
export const attr = {
  float: (value: number): AttributeValue => ({ type: "FLOAT", value: Math.fround(value) }),
  int: (value: number): AttributeValue => ({ type: "INT", value }),
  string: (value: string): AttributeValue => ({ type: "STRING", value }),
  tensor: (value: TensorProto): AttributeValue => ({ type: "TENSOR", value }),
  floats: (value: ArrayLike<number>): AttributeValue => ({ type: "FLOATS", value: Array.from(value, Math.fround) }),
  ints: (value: number[]): AttributeValue => ({ type: "INTS", value: [...value] }),
  strings: (value: string[]): AttributeValue => ({ type: "STRINGS", value: [...value] }),
};

/** A TensorProto from a typed array (FLOAT, INT64, INT32 or, for Uint8Array, BOOL unless dataType says UINT8). */
export function tensor(name: string, data: TensorData, dims: number[], dataType?: number): TensorProto {
  const dt = dataType ?? dataTypeOf(data);
  const n = numElements(dims);
  for (const d of dims) if (!Number.isSafeInteger(d) || d < 0) throw new Error(`tensor '${name}': invalid dim ${d} in [${dims}]`);
  if (n !== data.length) throw new Error(`tensor '${name}': dims [${dims}] hold ${n} elements but the data has ${data.length}`);
  return { name, dataType: dt, dims: [...dims], data };
}

function dataTypeOf(data: TensorData): number {
  if (data instanceof Float32Array) return DataType.FLOAT;
  if (data instanceof BigInt64Array) return DataType.INT64;
  if (data instanceof Int32Array) return DataType.INT32;
  if (data instanceof Uint8Array) return DataType.BOOL;
  if (data instanceof Int8Array) return DataType.INT8;
  if (data instanceof Float64Array) return DataType.DOUBLE;
  throw new Error(`unsupported tensor data ${(data as object).constructor.name}`);
}

function isTensorProto(v: unknown): v is TensorProto {
  return typeof v === "object" && v !== null && "dataType" in v && "dims" in v && "data" in v;
}

function isAttributeValue(v: unknown): v is AttributeValue {
  return typeof v === "object" && v !== null && "type" in v && "value" in v && !Array.isArray(v);
}

/** Convert an AttrInput to a typed attribute (exported for callers assembling NodeProtos by hand). */
export function toAttribute(name: string, v: AttrInput): AttributeProto {
  if (isAttributeValue(v)) {
    if (v.type === "FLOAT") return { name, type: "FLOAT", value: Math.fround(v.value) };
    if (v.type === "FLOATS") return { name, type: "FLOATS", value: v.value.map(Math.fround) };
    return { name, ...v };
  }
  if (typeof v === "number") {
    if (!Number.isFinite(v)) return { name, type: "FLOAT", value: v };
    return Number.isInteger(v) ? { name, type: "INT", value: v } : { name, type: "FLOAT", value: Math.fround(v) };
  }
  if (typeof v === "string") return { name, type: "STRING", value: v };
  if (v instanceof Float32Array) return { name, type: "FLOATS", value: Array.from(v) };
  if (isTensorProto(v)) return { name, type: "TENSOR", value: v };
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === "string")) return { name, type: "STRINGS", value: [...(v as string[])] };
    const nums = v as number[];
    if (nums.every((x) => typeof x === "number")) {
      return nums.every((x) => Number.isInteger(x)) ? { name, type: "INTS", value: [...nums] } : { name, type: "FLOATS", value: nums.map(Math.fround) };
    }
  }
  throw new Error(`attribute '${name}': cannot infer an ONNX attribute type for ${String(v)}`);
}

export interface ToModelOptions {
  producerName?: string;
  producerVersion?: string;
  /** Default 8 (the newest Debian's onnx 1.12 checks). */
  irVersion?: number;
  /** Version of the default ONNX domain; default 17. */
  opset?: number;
  /** Further operator sets, e.g. [{ domain: "com.microsoft", version: 1 }]. */
  opsets?: OperatorSetIdProto[];
  domain?: string;
  modelVersion?: number;
  docString?: string;
}

export class GraphBuilder {
  readonly name: string;
  private readonly nodes: NodeProto[] = [];
  private readonly inits: TensorProto[] = [];
  private readonly inputs: ValueInfoProto[] = [];
  private readonly outputs: ValueInfoProto[] = [];
  private readonly infos: ValueInfoProto[] = [];
  private readonly meta: { key: string; value: string }[] = [];
  /** Every value name defined so far, with what defined it (for error messages). */
  private readonly defined = new Map<string, string>();
  private readonly nodeNames = new Set<string>();
  private counter = 0;
  docString = "";

  constructor(name: string) {
    this.name = name;
  }

  private define(name: string, by: string): void {
    if (!name) throw new Error(`GraphBuilder(${this.name}): ${by} has an empty name`);
    const prev = this.defined.get(name);
    if (prev) throw new Error(`GraphBuilder(${this.name}): '${name}' is defined twice (${prev}, then ${by})`);
    this.defined.set(name, by);
  }

  /** A name not used yet by any value or node: `base` itself if free, else `base_2`, `base_3`, … */
  uniqueName(base: string): string {
    const taken = (n: string) => this.defined.has(n) || this.nodeNames.has(n);
    if (!taken(base)) return base;
    let k = 2;
    while (taken(`${base}_${k}`)) k++;
    return `${base}_${k}`;
  }

  /** Whether a value name is defined (input, initializer or node output). */
  has(name: string): boolean {
    return this.defined.has(name);
  }

  /** Declare a graph input. Dims are sizes or symbolic names ("N"); null means unknown. Returns the name. */
  input(name: string, type: ElemTypeName, dims: Dim[]): string {
    this.define(name, "graph input");
    this.inputs.push(valueInfo(name, type, dims));
    return name;
  }

  /** Add a constant tensor (stored as raw_data). Returns its name. Uint8Array data means BOOL. */
  initializer(name: string, data: TensorData, dims: number[], dataType?: number): string {
    this.define(name, "initializer");
    this.inits.push(tensor(name, data, dims, dataType));
    return name;
  }

  /**
   * Add a node. `outputs` is a list of names, or how many outputs to create with generated unique names (default 1).
   * Attributes are typed by AttrInput's rules. Returns the output names.
   */
  node(opType: string, inputs: string[], outputs: string[] | number = 1, attributes: Record<string, AttrInput> = {}, name?: string, domain = ""): string[] {
    const nodeName = name ?? this.uniqueName(`${opType}_${this.counter++}`);
    if (this.nodeNames.has(nodeName)) throw new Error(`GraphBuilder(${this.name}): node name '${nodeName}' is used twice`);
    for (const i of inputs) {
      if (i !== "" && !this.defined.has(i)) throw new Error(`GraphBuilder(${this.name}): node '${nodeName}' (${opType}) reads '${i}', which is not defined yet`);
    }
    const outs = typeof outputs === "number" ? Array.from({ length: outputs }, (_, k) => this.uniqueName(outputs === 1 ? `${nodeName}_out` : `${nodeName}_out${k}`)) : [...outputs];
    for (const o of outs) this.define(o, `output of node '${nodeName}' (${opType})`);
    this.nodeNames.add(nodeName);
    this.nodes.push({
      opType,
      domain,
      name: nodeName,
      input: [...inputs],
      output: outs,
      attribute: Object.entries(attributes).map(([k, v]) => toAttribute(k, v)),
      docString: "",
    });
    return outs;
  }

  /** Declare a defined value as a graph output. Returns the name. */
  output(name: string, type: ElemTypeName, dims: Dim[]): string {
    if (!this.defined.has(name)) throw new Error(`GraphBuilder(${this.name}): output '${name}' is not defined`);
    if (this.outputs.some((o) => o.name === name)) throw new Error(`GraphBuilder(${this.name}): '${name}' is declared as an output twice`);
    this.outputs.push(valueInfo(name, type, dims));
    return name;
  }

  /** Annotate an intermediate value's type and shape (value_info). */
  valueInfo(name: string, type: ElemTypeName, dims: Dim[]): string {
    if (!this.defined.has(name)) throw new Error(`GraphBuilder(${this.name}): value_info '${name}' is not defined`);
    this.infos.push(valueInfo(name, type, dims));
    return name;
  }

  /** Add a metadata_props entry (keys must be unique). */
  metadata(key: string, value: string): this {
    if (this.meta.some((e) => e.key === key)) throw new Error(`GraphBuilder(${this.name}): metadata key '${key}' is set twice`);
    this.meta.push({ key, value });
    return this;
  }

  toGraph(): GraphProto {
    if (this.outputs.length === 0) throw new Error(`GraphBuilder(${this.name}): the graph has no outputs`);
    return {
      name: this.name,
      node: this.nodes.map((n) => ({ ...n, input: [...n.input], output: [...n.output], attribute: [...n.attribute] })),
      initializer: [...this.inits],
      input: this.inputs.map(cloneInfo),
      output: this.outputs.map(cloneInfo),
      valueInfo: this.infos.map(cloneInfo),
      docString: this.docString,
    };
  }

  toModel(opts: ToModelOptions = {}): ModelProto {
    const opsetImport: OperatorSetIdProto[] = [{ domain: "", version: opts.opset ?? 17 }, ...(opts.opsets ?? []).map((o) => ({ ...o }))];
    const domains = new Set(opsetImport.map((o) => o.domain));
    for (const n of this.nodes) {
      if (!domains.has(n.domain)) throw new Error(`GraphBuilder(${this.name}): node '${n.name}' uses domain '${n.domain}', which is not in opsets`);
    }
    return {
      irVersion: opts.irVersion ?? 8,
      opsetImport,
      producerName: opts.producerName ?? "",
      producerVersion: opts.producerVersion ?? "",
      domain: opts.domain ?? "",
      modelVersion: opts.modelVersion ?? 0,
      docString: opts.docString ?? "",
      graph: this.toGraph(),
      metadataProps: this.meta.map((e) => ({ ...e })),
    };
  }
}

function valueInfo(name: string, type: ElemTypeName, dims: Dim[]): ValueInfoProto {
  const elemType = ELEM_TYPE[type];
  if (elemType === undefined) throw new Error(`value '${name}': unknown element type '${type}'`);
  for (const d of dims) {
    if (typeof d === "number" && (!Number.isSafeInteger(d) || d < 0)) throw new Error(`value '${name}': invalid dim ${d}`);
  }
  return { name, type: { elemType, shape: [...dims] } };
}

function cloneInfo(v: ValueInfoProto): ValueInfoProto {
  return v.type ? { name: v.name, type: { elemType: v.type.elemType, ...(v.type.shape ? { shape: [...v.type.shape] } : {}) } } : { name: v.name };
}
