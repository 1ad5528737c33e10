// The subset of onnx.proto3 that mtl-wasm writes and runs, as plain TypeScript objects, with encodeModel/decodeModel.
// Field numbers follow https://github.com/onnx/onnx/blob/main/onnx/onnx.proto3. Portable: no node:* imports.
//
// Conventions (so that decodeModel(encodeModel(m)) deep-equals m for models built with GraphBuilder):
// - proto3 defaults: absent strings decode as "", absent ints as 0, absent repeated fields as [].
// - Tensor data are typed arrays (copied out of the input buffer, so they are aligned and independent of it).
//   Written as little-endian raw_data; read from raw_data or from float_data / int32_data / int64_data / double_data.
// - FLOAT attributes are float32 on the wire: give Math.fround'ed values to get exact round trips.
// - INT attributes are numbers (exact within ±2^53; larger int64 values such as INT64_MAX decode to the nearest double).
// - Unsupported constructs (graph attributes, sparse tensors, external data, non-tensor types, string tensors) are
//   rejected with an explicit error rather than dropped.

import { type FieldNames, LITTLE_ENDIAN, littleEndianBytes, OnnxDecodeError, Reader, WireType, Writer } from "./proto.ts";

/** TensorProto.DataType values. */
export const DataType = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  COMPLEX64: 14,
  COMPLEX128: 15,
  BFLOAT16: 16,
} as const;
export type DataTypeCode = (typeof DataType)[keyof typeof DataType];

/** Name of a DataType code, e.g. 1 → "FLOAT" (or "DataType(99)"). */
export function dataTypeName(code: number): string {
  for (const [k, v] of Object.entries(DataType)) if (v === code) return k;
  return `DataType(${code})`;
}

/** Typed array per supported data type: FLOAT→Float32Array, INT64→BigInt64Array, INT32→Int32Array, BOOL/UINT8→Uint8Array, INT8→Int8Array, DOUBLE→Float64Array. */
export type TensorData = Float32Array | BigInt64Array | Int32Array | Uint8Array | Int8Array | Float64Array;

export interface TensorProto {
  name: string;
  /** A DataType code. */
  dataType: number;
  dims: number[];
  /** Row-major elements; length = product of dims. */
  data: TensorData;
}

/** A dimension: a fixed size, a symbolic name such as "N", or null (unknown, neither set). */
export type Dim = number | string | null;

/** TypeProto.Tensor: element type and optional shape (undefined = unknown rank; [] = scalar). */
export interface TensorType {
  elemType: number;
  shape?: Dim[];
}

export interface ValueInfoProto {
  name: string;
  /** Absent when the ValueInfoProto has no type (allowed for value_info, not for graph inputs/outputs). */
  type?: TensorType;
}

export type AttributeValue =
  | { type: "FLOAT"; value: number }
  | { type: "INT"; value: number }
  | { type: "STRING"; value: string }
  | { type: "TENSOR"; value: TensorProto }
  | { type: "FLOATS"; value: number[] }
  | { type: "INTS"; value: number[] }
  | { type: "STRINGS"; value: string[] };
export type AttributeType = AttributeValue["type"];
export type AttributeProto = { name: string } & AttributeValue;

/** AttributeProto.AttributeType codes. */
export const AttributeTypeCode = {
  UNDEFINED: 0,
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
  TENSORS: 9,
  GRAPHS: 10,
  SPARSE_TENSOR: 11,
  SPARSE_TENSORS: 12,
  TYPE_PROTO: 13,
  TYPE_PROTOS: 14,
} as const;

export interface NodeProto {
  opType: string;
  /** Operator domain; "" is the default ONNX domain. */
  domain: string;
  name: string;
  /** Input value names; "" marks an omitted optional input. */
  input: string[];
  output: string[];
  attribute: AttributeProto[];
  docString: string;
}

export interface GraphProto {
  name: string;
  node: NodeProto[];
  initializer: TensorProto[];
  input: ValueInfoProto[];
  output: ValueInfoProto[];
  valueInfo: ValueInfoProto[];
  docString: string;
}

export interface OperatorSetIdProto {
  domain: string;
  version: number;
}

export interface StringStringEntryProto {
  key: string;
  value: string;
}

export interface ModelProto {
  irVersion: number;
  opsetImport: OperatorSetIdProto[];
  producerName: string;
  producerVersion: string;
  domain: string;
  modelVersion: number;
  docString: string;
  graph: GraphProto;
  metadataProps: StringStringEntryProto[];
}

/** Number of elements for dims (1 for a scalar). */
export function numElements(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

const ELEM_BYTES: Record<number, number> = {
  [DataType.FLOAT]: 4,
  [DataType.INT64]: 8,
  [DataType.INT32]: 4,
  [DataType.BOOL]: 1,
  [DataType.UINT8]: 1,
  [DataType.INT8]: 1,
  [DataType.DOUBLE]: 8,
};

const ARRAY_FOR: Record<number, string> = {
  [DataType.FLOAT]: "Float32Array",
  [DataType.INT64]: "BigInt64Array",
  [DataType.INT32]: "Int32Array",
  [DataType.BOOL]: "Uint8Array",
  [DataType.UINT8]: "Uint8Array",
  [DataType.INT8]: "Int8Array",
  [DataType.DOUBLE]: "Float64Array",
};

function arrayMatches(dataType: number, data: TensorData): boolean {
  switch (dataType) {
    case DataType.FLOAT:
      return data instanceof Float32Array;
    case DataType.INT64:
      return data instanceof BigInt64Array;
    case DataType.INT32:
      return data instanceof Int32Array;
    case DataType.BOOL:
    case DataType.UINT8:
      return data instanceof Uint8Array;
    case DataType.INT8:
      return data instanceof Int8Array;
    case DataType.DOUBLE:
      return data instanceof Float64Array;
    default:
      return false;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Encoding

/** Serialize a model. Throws (before writing anything) on inconsistent tensors or out-of-range integers. */
export function encodeModel(model: ModelProto): Uint8Array {
  if (!model.graph) throw new Error("encodeModel: model has no graph");
  const w = new Writer(1024);
  if (model.irVersion) w.int64Field(1, model.irVersion);
  if (model.producerName) w.stringField(2, model.producerName);
  if (model.producerVersion) w.stringField(3, model.producerVersion);
  if (model.domain) w.stringField(4, model.domain);
  if (model.modelVersion) w.int64Field(5, model.modelVersion);
  if (model.docString) w.stringField(6, model.docString);
  for (const op of model.opsetImport)
    w.messageField(8, (o) => {
      if (op.domain) o.stringField(1, op.domain);
      o.int64Field(2, op.version);
    });
  for (const e of model.metadataProps)
    w.messageField(14, (o) => {
      o.stringField(1, e.key);
      o.stringField(2, e.value);
    });
  // The graph goes last (protobuf allows any field order): then every strict prefix of the file fails to decode,
  // either with "no graph" or with a length running past the end, so truncated downloads are always detected.
  w.messageField(7, (g) => encodeGraph(g, model.graph));
  return w.finish();
}

function encodeGraph(w: Writer, g: GraphProto): void {
  for (const n of g.node) w.messageField(1, (o) => encodeNode(o, n));
  if (g.name) w.stringField(2, g.name);
  for (const t of g.initializer) w.messageField(5, (o) => encodeTensor(o, t));
  if (g.docString) w.stringField(10, g.docString);
  for (const v of g.input) w.messageField(11, (o) => encodeValueInfo(o, v));
  for (const v of g.output) w.messageField(12, (o) => encodeValueInfo(o, v));
  for (const v of g.valueInfo) w.messageField(13, (o) => encodeValueInfo(o, v));
}

function encodeNode(w: Writer, n: NodeProto): void {
  if (!n.opType) throw new Error(`encodeModel: node '${n.name}' has no opType`);
  for (const s of n.input) w.stringField(1, s);
  for (const s of n.output) w.stringField(2, s);
  if (n.name) w.stringField(3, n.name);
  w.stringField(4, n.opType);
  for (const a of n.attribute) w.messageField(5, (o) => encodeAttribute(o, a, n));
  if (n.docString) w.stringField(6, n.docString);
  if (n.domain) w.stringField(7, n.domain);
}

function encodeAttribute(w: Writer, a: AttributeProto, n: NodeProto): void {
  const where = `node '${n.name || n.opType}' attribute '${a.name}'`;
  if (!a.name) throw new Error(`encodeModel: node '${n.name || n.opType}' has an attribute with no name`);
  w.stringField(1, a.name);
  switch (a.type) {
    case "FLOAT":
      w.floatField(2, a.value);
      break;
    case "INT":
      if (!Number.isSafeInteger(a.value)) throw new Error(`encodeModel: ${where}: INT value ${a.value} is not a safe integer`);
      w.int64Field(3, a.value);
      break;
    case "STRING":
      w.stringField(4, a.value);
      break;
    case "TENSOR":
      w.messageField(5, (o) => encodeTensor(o, a.value));
      break;
    case "FLOATS":
      if (a.value.length) w.packedFloats(7, a.value);
      break;
    case "INTS":
      for (const v of a.value) if (!Number.isSafeInteger(v)) throw new Error(`encodeModel: ${where}: INTS value ${v} is not a safe integer`);
      if (a.value.length) w.packedVarints(8, a.value);
      break;
    case "STRINGS":
      for (const s of a.value) w.stringField(9, s);
      break;
    default:
      throw new Error(`encodeModel: ${where} has unsupported type ${(a as { type: string }).type}`);
  }
  w.int32Field(20, AttributeTypeCode[a.type]);
}

function encodeTensor(w: Writer, t: TensorProto): void {
  const label = `tensor '${t.name}'`;
  if (!(t.dataType in ELEM_BYTES)) throw new Error(`encodeModel: ${label} has unsupported data type ${dataTypeName(t.dataType)}`);
  if (!arrayMatches(t.dataType, t.data))
    throw new Error(`encodeModel: ${label} is ${dataTypeName(t.dataType)} but its data is a ${t.data.constructor.name}, expected ${ARRAY_FOR[t.dataType]}`);
  for (const d of t.dims) if (!Number.isSafeInteger(d) || d < 0) throw new Error(`encodeModel: ${label} has invalid dim ${d} in [${t.dims}]`);
  const n = numElements(t.dims);
  if (n !== t.data.length) throw new Error(`encodeModel: ${label} has dims [${t.dims}] (${n} elements) but ${t.data.length} data elements`);
  if (t.dims.length) w.packedVarints(1, t.dims);
  w.int32Field(2, t.dataType);
  if (t.name) w.stringField(8, t.name);
  if (t.data.length) w.bytesField(9, littleEndianBytes(t.data));
}

function encodeValueInfo(w: Writer, v: ValueInfoProto): void {
  w.stringField(1, v.name);
  const t = v.type;
  if (!t) return;
  w.messageField(2, (tp) =>
    tp.messageField(1, (tt) => {
      tt.int32Field(1, t.elemType);
      if (t.shape)
        tt.messageField(2, (sh) => {
          for (const d of t.shape!)
            sh.messageField(1, (dim) => {
              if (typeof d === "number") {
                if (!Number.isSafeInteger(d) || d < 0) throw new Error(`encodeModel: value '${v.name}' has invalid dim ${d}`);
                dim.int64Field(1, d);
              } else if (typeof d === "string") dim.stringField(2, d);
            });
        });
    }),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Decoding

const MODEL_FIELDS: FieldNames = {
  1: "ir_version", 2: "producer_name", 3: "producer_version", 4: "domain", 5: "model_version", 6: "doc_string",
  7: "graph", 8: "opset_import", 14: "metadata_props", 20: "training_info", 25: "functions",
};
const OPSET_FIELDS: FieldNames = { 1: "domain", 2: "version" };
const ENTRY_FIELDS: FieldNames = { 1: "key", 2: "value" };
const GRAPH_FIELDS: FieldNames = {
  1: "node", 2: "name", 5: "initializer", 10: "doc_string", 11: "input", 12: "output", 13: "value_info",
  14: "quantization_annotation", 15: "sparse_initializer",
};
const NODE_FIELDS: FieldNames = { 1: "input", 2: "output", 3: "name", 4: "op_type", 5: "attribute", 6: "doc_string", 7: "domain", 8: "overload" };
const ATTR_FIELDS: FieldNames = {
  1: "name", 2: "f", 3: "i", 4: "s", 5: "t", 6: "g", 7: "floats", 8: "ints", 9: "strings", 10: "tensors", 11: "graphs",
  13: "doc_string", 14: "tp", 15: "type_protos", 20: "type", 21: "ref_attr_name", 22: "sparse_tensor", 23: "sparse_tensors",
};
const TENSOR_FIELDS: FieldNames = {
  1: "dims", 2: "data_type", 3: "segment", 4: "float_data", 5: "int32_data", 6: "string_data", 7: "int64_data", 8: "name",
  9: "raw_data", 10: "double_data", 11: "uint64_data", 12: "doc_string", 13: "external_data", 14: "data_location",
};
const VALUE_INFO_FIELDS: FieldNames = { 1: "name", 2: "type", 3: "doc_string" };
const TYPE_FIELDS: FieldNames = { 1: "tensor_type", 4: "sequence_type", 5: "map_type", 6: "denotation", 8: "sparse_tensor_type", 9: "optional_type" };
const TENSOR_TYPE_FIELDS: FieldNames = { 1: "elem_type", 2: "shape" };
const SHAPE_FIELDS: FieldNames = { 1: "dim" };
const DIM_FIELDS: FieldNames = { 1: "dim_value", 2: "dim_param", 3: "denotation" };

/**
 * Parse an ONNX model. Throws OnnxDecodeError ("ONNX: …", with the byte offset and the path of enclosing fields)
 * on truncated or corrupt input, on group/invalid wire types, on missing graph / ir_version / opset_import and on
 * constructs this subset does not support. Unknown fields are skipped. Runs in time linear in the input size.
 */
export function decodeModel(input: Uint8Array | ArrayBuffer): ModelProto {
  const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
  if (bytes.length === 0) throw new OnnxDecodeError("not an ONNX model (the input is empty)");
  const r = new Reader(bytes, "ModelProto", MODEL_FIELDS);
  const m: ModelProto = {
    irVersion: 0,
    opsetImport: [],
    producerName: "",
    producerVersion: "",
    domain: "",
    modelVersion: 0,
    docString: "",
    graph: { name: "", node: [], initializer: [], input: [], output: [], valueInfo: [], docString: "" },
    metadataProps: [],
  };
  let graphs = 0;
  while (r.next()) {
    switch (r.field) {
      case 1:
        r.expectWire(WireType.VARINT);
        m.irVersion = r.safeInt64("ir_version");
        break;
      case 2:
        m.producerName = r.string();
        break;
      case 3:
        m.producerVersion = r.string();
        break;
      case 4:
        m.domain = r.string();
        break;
      case 5:
        r.expectWire(WireType.VARINT);
        m.modelVersion = r.safeInt64("model_version");
        break;
      case 6:
        m.docString = r.string();
        break;
      case 7:
        if (graphs++) r.fail(`ModelProto.graph appears twice (second at byte ${r.tagPos})`);
        m.graph = r.message("graph", "GraphProto", GRAPH_FIELDS, () => readGraph(r));
        break;
      case 8:
        m.opsetImport.push(r.message(`opset_import[${m.opsetImport.length}]`, "OperatorSetIdProto", OPSET_FIELDS, () => readOpset(r)));
        break;
      case 14:
        m.metadataProps.push(r.message(`metadata_props[${m.metadataProps.length}]`, "StringStringEntryProto", ENTRY_FIELDS, () => readEntry(r)));
        break;
      default:
        r.skip();
    }
  }
  if (!graphs) throw new OnnxDecodeError(`not an ONNX model (no graph in ${bytes.length} bytes${m.irVersion ? "" : ", no ir_version"})`);
  if (m.irVersion <= 0) throw new OnnxDecodeError(`not an ONNX model (${m.irVersion ? `ir_version ${m.irVersion}` : "no ir_version"})`);
  if (m.opsetImport.length === 0 && m.irVersion >= 3) throw new OnnxDecodeError(`model (IR version ${m.irVersion}) has no opset_import`);
  return m;
}

function readOpset(r: Reader): OperatorSetIdProto {
  const o: OperatorSetIdProto = { domain: "", version: 0 };
  while (r.next()) {
    if (r.field === 1) o.domain = r.string();
    else if (r.field === 2) {
      r.expectWire(WireType.VARINT);
      o.version = r.safeInt64("opset version");
    } else r.skip();
  }
  return o;
}

function readEntry(r: Reader): StringStringEntryProto {
  const e: StringStringEntryProto = { key: "", value: "" };
  while (r.next()) {
    if (r.field === 1) e.key = r.string();
    else if (r.field === 2) e.value = r.string();
    else r.skip();
  }
  return e;
}

function readGraph(r: Reader): GraphProto {
  const g: GraphProto = { name: "", node: [], initializer: [], input: [], output: [], valueInfo: [], docString: "" };
  while (r.next()) {
    switch (r.field) {
      case 1:
        g.node.push(r.message(`node[${g.node.length}]`, "NodeProto", NODE_FIELDS, () => readNode(r)));
        break;
      case 2:
        g.name = r.string();
        break;
      case 5:
        g.initializer.push(r.message(`initializer[${g.initializer.length}]`, "TensorProto", TENSOR_FIELDS, () => readTensor(r)));
        break;
      case 10:
        g.docString = r.string();
        break;
      case 11:
        g.input.push(r.message(`input[${g.input.length}]`, "ValueInfoProto", VALUE_INFO_FIELDS, () => readValueInfo(r)));
        break;
      case 12:
        g.output.push(r.message(`output[${g.output.length}]`, "ValueInfoProto", VALUE_INFO_FIELDS, () => readValueInfo(r)));
        break;
      case 13:
        g.valueInfo.push(r.message(`value_info[${g.valueInfo.length}]`, "ValueInfoProto", VALUE_INFO_FIELDS, () => readValueInfo(r)));
        break;
      case 15:
        return r.fail(`graph has a sparse_initializer (byte ${r.tagPos}); sparse tensors are not supported`);
      default:
        r.skip();
    }
  }
  return g;
}

function readNode(r: Reader): NodeProto {
  const n: NodeProto = { opType: "", domain: "", name: "", input: [], output: [], attribute: [], docString: "" };
  while (r.next()) {
    switch (r.field) {
      case 1:
        n.input.push(r.string());
        break;
      case 2:
        n.output.push(r.string());
        break;
      case 3:
        n.name = r.string();
        break;
      case 4:
        n.opType = r.string();
        break;
      case 5:
        n.attribute.push(r.message(`attribute[${n.attribute.length}]`, "AttributeProto", ATTR_FIELDS, () => readAttribute(r)));
        break;
      case 6:
        n.docString = r.string();
        break;
      case 7:
        n.domain = r.string();
        break;
      default:
        r.skip();
    }
  }
  if (!n.opType) r.fail(`node '${n.name}' has no op_type`);
  return n;
}

const UNSUPPORTED_ATTR: Record<number, string> = { 6: "GRAPH", 10: "TENSORS", 11: "GRAPHS", 14: "TYPE_PROTO", 15: "TYPE_PROTOS", 22: "SPARSE_TENSOR", 23: "SPARSE_TENSORS" };

function readAttribute(r: Reader): AttributeProto {
  let name = "";
  let code = 0;
  let f: number | undefined;
  let i: number | undefined;
  let s: string | undefined;
  let t: TensorProto | undefined;
  const floats: number[] = [];
  const ints: number[] = [];
  const strings: string[] = [];
  let unsupported = "";
  let refAttr = "";
  while (r.next()) {
    switch (r.field) {
      case 1:
        name = r.string();
        break;
      case 2:
        r.expectWire(WireType.I32);
        f = r.float32();
        break;
      case 3:
        r.expectWire(WireType.VARINT);
        i = r.int64();
        break;
      case 4:
        s = r.string();
        break;
      case 5:
        t = r.message("t", "TensorProto", TENSOR_FIELDS, () => readTensor(r));
        break;
      case 7:
        r.repeatedFloats(floats);
        break;
      case 8:
        r.repeatedVarints(ints, () => r.int64());
        break;
      case 9:
        strings.push(r.string());
        break;
      case 20:
        r.expectWire(WireType.VARINT);
        code = r.int32();
        break;
      case 21:
        refAttr = r.string();
        break;
      default:
        if (r.field in UNSUPPORTED_ATTR) unsupported = UNSUPPORTED_ATTR[r.field];
        r.skip();
    }
  }
  const label = `attribute '${name}'`;
  if (!name) r.fail("attribute has no name");
  if (refAttr) r.fail(`${label} refers to a function attribute ('${refAttr}'); functions are not supported`);
  if (code === 0) {
    // Pre-IR-3 writers may omit `type`: infer it from the one value field that is set.
    if (unsupported) code = -1;
    else if (t) code = AttributeTypeCode.TENSOR;
    else if (s !== undefined) code = AttributeTypeCode.STRING;
    else if (f !== undefined) code = AttributeTypeCode.FLOAT;
    else if (i !== undefined) code = AttributeTypeCode.INT;
    else if (floats.length) code = AttributeTypeCode.FLOATS;
    else if (ints.length) code = AttributeTypeCode.INTS;
    else if (strings.length) code = AttributeTypeCode.STRINGS;
    else r.fail(`${label} has no type and no value`);
  }
  switch (code) {
    case AttributeTypeCode.FLOAT:
      return { name, type: "FLOAT", value: f ?? 0 };
    case AttributeTypeCode.INT:
      return { name, type: "INT", value: i ?? 0 };
    case AttributeTypeCode.STRING:
      return { name, type: "STRING", value: s ?? "" };
    case AttributeTypeCode.TENSOR:
      if (!t) return r.fail(`${label} has type TENSOR but no tensor`);
      return { name, type: "TENSOR", value: t };
    case AttributeTypeCode.FLOATS:
      return { name, type: "FLOATS", value: floats };
    case AttributeTypeCode.INTS:
      return { name, type: "INTS", value: ints };
    case AttributeTypeCode.STRINGS:
      return { name, type: "STRINGS", value: strings };
    default: {
      const tn = code === -1 ? unsupported : (Object.entries(AttributeTypeCode).find(([, v]) => v === code)?.[0] ?? `${code}`);
      return r.fail(`${label} has type ${tn}, which is not supported (only FLOAT, INT, STRING, TENSOR, FLOATS, INTS, STRINGS)`);
    }
  }
}

function readTensor(r: Reader): TensorProto {
  const dims: number[] = [];
  let dataType = 0;
  let name = "";
  let raw: Uint8Array | undefined;
  const floatData: number[] = [];
  const int32Data: number[] = [];
  const int64Data: bigint[] = [];
  const doubleData: number[] = [];
  let typedFields = 0; // how many of float_data/int32_data/int64_data/double_data were present
  let external = false;
  let stringData = false;
  while (r.next()) {
    switch (r.field) {
      case 1:
        r.repeatedVarints(dims, () => r.safeInt64("tensor dim"));
        break;
      case 2:
        r.expectWire(WireType.VARINT);
        dataType = r.int32();
        break;
      case 3:
        return r.fail(`tensor uses 'segment' (byte ${r.tagPos}), which is not supported`);
      case 4:
        typedFields |= 1;
        r.repeatedFloats(floatData);
        break;
      case 5:
        typedFields |= 2;
        r.repeatedVarints(int32Data, () => r.int32());
        break;
      case 6:
        stringData = true;
        r.skip();
        break;
      case 7:
        typedFields |= 4;
        r.repeatedVarints(int64Data, () => r.int64Big());
        break;
      case 8:
        name = r.string();
        break;
      case 9:
        raw = r.bytes();
        break;
      case 10:
        typedFields |= 8;
        r.repeatedDoubles(doubleData);
        break;
      case 13:
        external = true;
        r.skip();
        break;
      case 14:
        r.expectWire(WireType.VARINT);
        if (r.int32() === 1) external = true;
        break;
      default:
        r.skip();
    }
  }
  const label = `tensor '${name}'`;
  if (external) r.fail(`${label} keeps its data in an external file (external_data); only models with embedded tensors are supported`);
  if (dataType === DataType.STRING || stringData) r.fail(`${label} is a STRING tensor, which is not supported`);
  const size = ELEM_BYTES[dataType];
  if (size === undefined) r.fail(`${label} has unsupported data type ${dataTypeName(dataType)} (supported: FLOAT, INT64, INT32, BOOL, UINT8, INT8, DOUBLE)`);
  for (const d of dims) if (d < 0) r.fail(`${label} has a negative dim in [${dims}]`);
  const n = numElements(dims);
  const desc = `${label} (${dataTypeName(dataType)}, dims [${dims}], ${n} elements)`;
  let data: TensorData;
  if (raw !== undefined && typedFields) r.fail(`${desc} has both raw_data and typed data fields`);
  if (raw !== undefined) {
    if (raw.length !== n * size) r.fail(`${desc} has ${raw.length} bytes of raw_data, expected ${n * size}`);
    data = fromLittleEndian(dataType, raw, n);
  } else if (!typedFields) {
    if (n !== 0) r.fail(`${desc} has no data (neither raw_data nor a typed data field)`);
    data = fromLittleEndian(dataType, new Uint8Array(0), 0);
  } else {
    const expectField =
      dataType === DataType.FLOAT ? 1 : dataType === DataType.INT64 ? 4 : dataType === DataType.DOUBLE ? 8 : 2; // int32_data carries INT32, BOOL, UINT8, INT8
    const fieldName = { 1: "float_data", 2: "int32_data", 4: "int64_data", 8: "double_data" }[expectField]!;
    if (typedFields & ~expectField) r.fail(`${desc} stores its values in the wrong field (expected ${fieldName} or raw_data)`);
    const src: ArrayLike<number | bigint> = expectField === 1 ? floatData : expectField === 4 ? int64Data : expectField === 8 ? doubleData : int32Data;
    if (src.length !== n) r.fail(`${desc} has ${src.length} values in ${fieldName}, expected ${n}`);
    switch (dataType) {
      case DataType.FLOAT:
        data = Float32Array.from(floatData);
        break;
      case DataType.INT64:
        data = BigInt64Array.from(int64Data);
        break;
      case DataType.DOUBLE:
        data = Float64Array.from(doubleData);
        break;
      case DataType.INT32:
        data = Int32Array.from(int32Data);
        break;
      case DataType.INT8:
        data = Int8Array.from(int32Data);
        break;
      default:
        data = Uint8Array.from(int32Data, (v) => (dataType === DataType.BOOL ? (v ? 1 : 0) : v & 0xff));
    }
  }
  return { name, dataType, dims, data };
}

/** Copy little-endian bytes into a fresh, aligned typed array of the tensor's type. */
function fromLittleEndian(dataType: number, raw: Uint8Array, n: number): TensorData {
  // Uint8Array.prototype.slice: an own ArrayBuffer at offset 0 (aligned for any element size). A Node Buffer's
  // own slice() would return a view of the whole pool, so the typed-array method is called explicitly.
  const copy = Uint8Array.prototype.slice.call(raw);
  const buf = copy.buffer;
  if (dataType === DataType.BOOL || dataType === DataType.UINT8) return copy;
  if (dataType === DataType.INT8) return new Int8Array(buf, 0, n);
  if (LITTLE_ENDIAN) {
    switch (dataType) {
      case DataType.FLOAT:
        return new Float32Array(buf, 0, n);
      case DataType.INT64:
        return new BigInt64Array(buf, 0, n);
      case DataType.INT32:
        return new Int32Array(buf, 0, n);
      default:
        return new Float64Array(buf, 0, n);
    }
  }
  const dv = new DataView(buf);
  switch (dataType) {
    case DataType.FLOAT:
      return Float32Array.from({ length: n }, (_, i) => dv.getFloat32(i * 4, true));
    case DataType.INT64:
      return BigInt64Array.from({ length: n }, (_, i) => dv.getBigInt64(i * 8, true));
    case DataType.INT32:
      return Int32Array.from({ length: n }, (_, i) => dv.getInt32(i * 4, true));
    default:
      return Float64Array.from({ length: n }, (_, i) => dv.getFloat64(i * 8, true));
  }
}

function readValueInfo(r: Reader): ValueInfoProto {
  const v: ValueInfoProto = { name: "" };
  let type: TensorType | undefined;
  while (r.next()) {
    if (r.field === 1) v.name = r.string();
    else if (r.field === 2) type = r.message("type", "TypeProto", TYPE_FIELDS, () => readType(r));
    else r.skip();
  }
  if (type) v.type = type;
  return v;
}

function readType(r: Reader): TensorType | undefined {
  let t: TensorType | undefined;
  while (r.next()) {
    switch (r.field) {
      case 1:
        t = r.message("tensor_type", "TypeProto.Tensor", TENSOR_TYPE_FIELDS, () => readTensorType(r));
        break;
      case 4:
      case 5:
      case 8:
      case 9:
        return r.fail(`${r.fieldDesc()} at byte ${r.tagPos}: only tensor types are supported`);
      default:
        r.skip();
    }
  }
  return t;
}

function readTensorType(r: Reader): TensorType {
  const t: TensorType = { elemType: 0 };
  while (r.next()) {
    if (r.field === 1) {
      r.expectWire(WireType.VARINT);
      t.elemType = r.int32();
    } else if (r.field === 2) {
      const shape: Dim[] = [];
      r.message("shape", "TensorShapeProto", SHAPE_FIELDS, () => {
        while (r.next()) {
          if (r.field === 1) shape.push(r.message(`dim[${shape.length}]`, "TensorShapeProto.Dimension", DIM_FIELDS, () => readDim(r)));
          else r.skip();
        }
      });
      t.shape = shape;
    } else r.skip();
  }
  return t;
}

function readDim(r: Reader): Dim {
  let d: Dim = null;
  while (r.next()) {
    if (r.field === 1) {
      r.expectWire(WireType.VARINT);
      d = r.safeInt64("dim_value");
    } else if (r.field === 2) d = r.string();
    else r.skip();
  }
  return d;
}
