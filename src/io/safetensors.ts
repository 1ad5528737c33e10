// The safetensors format (https://github.com/huggingface/safetensors), portable (no node:*):
//
//   [8 bytes] N, the header length, u64 little-endian
//   [N bytes] UTF-8 JSON: { "__metadata__"?: {string: string}, name: { "dtype": "F32", "shape": [..],
//             "data_offsets": [begin, end] }, ... }, padded with spaces (0x20) so that 8 + N is a multiple of 8
//   [rest]    the byte buffer: each tensor's raw little-endian data, C (row-major) order, at
//             [begin, end) relative to the start of the buffer
//
// Layout written by serialize: tensors ordered by element size, largest first, then by name (JS code-unit order),
// packed with no gaps. This mirrors the reference implementation (which sorts by dtype, then name) and keeps every
// tensor aligned to its element size. The header lists "__metadata__" first, then the tensors in layout order.
// deserialize accepts any valid layout (key order is irrelevant) and, like the reference, requires the tensors to tile
// the buffer exactly: no overlap, no gap, nothing after the last tensor. It returns copies, never views of the input.
// Only little-endian hosts are supported (all current JS platforms); F16/BF16/F8 data are raw bits in Uint16Array /
// Uint8Array (F16 also accepts Float16Array where it exists).

/** safetensors element types (the header's "dtype"). */
export type Dtype = "F64" | "F32" | "F16" | "BF16" | "F8_E4M3" | "F8_E5M2" | "I64" | "I32" | "I16" | "I8" | "U64" | "U32" | "U16" | "U8" | "BOOL";

/** The typed array holding a tensor's elements: the one matching its dtype (raw bits for F16, BF16 and F8). */
export type TensorData =
  | Float64Array
  | Float32Array
  | BigInt64Array
  | BigUint64Array
  | Int32Array
  | Uint32Array
  | Int16Array
  | Uint16Array
  | Int8Array
  | Uint8Array;

/** One named tensor of a safetensors file. */
export interface Tensor {
  /** Element type. */
  dtype: Dtype;
  /** Dimensions; [] is a scalar (one element). */
  shape: number[];
  /** ∏ shape elements, row-major, in the typed array of `dtype`. */
  data: TensorData;
}

/** A parsed safetensors file. */
export interface SafetensorsFile {
  /** The tensors by name. */
  tensors: Record<string, Tensor>;
  /** The header's "__metadata__" (string to string), when present. */
  metadata?: Record<string, string>;
}

type Ctor = { new (buf: ArrayBuffer): TensorData; new (n: number): TensorData; readonly BYTES_PER_ELEMENT: number; readonly name: string };

interface DtypeInfo {
  size: number;
  ctor: Ctor;
  /** Constructor names accepted on serialize. */
  accept: readonly string[];
}

const DTYPES: Record<Dtype, DtypeInfo> = {
  F64: { size: 8, ctor: Float64Array, accept: ["Float64Array"] },
  F32: { size: 4, ctor: Float32Array, accept: ["Float32Array"] },
  F16: { size: 2, ctor: Uint16Array, accept: ["Uint16Array", "Float16Array"] },
  BF16: { size: 2, ctor: Uint16Array, accept: ["Uint16Array"] },
  F8_E4M3: { size: 1, ctor: Uint8Array, accept: ["Uint8Array"] },
  F8_E5M2: { size: 1, ctor: Uint8Array, accept: ["Uint8Array"] },
  I64: { size: 8, ctor: BigInt64Array, accept: ["BigInt64Array"] },
  U64: { size: 8, ctor: BigUint64Array, accept: ["BigUint64Array"] },
  I32: { size: 4, ctor: Int32Array, accept: ["Int32Array"] },
  U32: { size: 4, ctor: Uint32Array, accept: ["Uint32Array"] },
  I16: { size: 2, ctor: Int16Array, accept: ["Int16Array"] },
  U16: { size: 2, ctor: Uint16Array, accept: ["Uint16Array"] },
  I8: { size: 1, ctor: Int8Array, accept: ["Int8Array"] },
  U8: { size: 1, ctor: Uint8Array, accept: ["Uint8Array", "Uint8ClampedArray"] },
  BOOL: { size: 1, ctor: Uint8Array, accept: ["Uint8Array"] },
};

/** Byte size of one element of a dtype. */
export function dtypeSize(dtype: Dtype): number {
  const d = DTYPES[dtype];
  if (!d) throw new Error(`safetensors: unknown dtype ${show(dtype)}`);
  return d.size;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
function requireLE(): void {
  if (!LITTLE_ENDIAN) throw new Error("safetensors: big-endian hosts are not supported");
}

/** Upper bound on the header, as in the reference implementation (100 MB). */
const MAX_HEADER = 100_000_000;

function numel(shape: readonly number[], where: string): number {
  let n = 1;
  for (const d of shape) {
    if (!(Number.isSafeInteger(d) && d >= 0)) throw new Error(`safetensors: ${where}: shape ${show(shape)} has an invalid dimension ${show(d)}`);
    n *= d;
  }
  if (!Number.isSafeInteger(n)) throw new Error(`safetensors: ${where}: shape ${show(shape)} is too large`);
  return n;
}

const cmpStr = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * A header value for an error message: its JSON, cut to 80 characters. Never throws, so a hostile header (a value
 * nested too deeply for JSON.stringify's recursion, a BigInt) still gets its named error, not a RangeError.
 */
function show(v: unknown): string {
  let s: string | undefined;
  try {
    s = JSON.stringify(v);
  } catch {
    s = Array.isArray(v) ? "a deeply nested array" : "a deeply nested object";
  }
  s ??= String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** obj[key] = value as an ordinary own property, also for key "__proto__". */
function defineOwn(obj: object, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Serialize tensors (and optional string metadata) to safetensors bytes. See the file comment for the layout. */
export function serialize(tensors: Record<string, Tensor>, metadata?: Record<string, string>): Uint8Array {
  requireLE();
  const names = Object.keys(tensors);
  for (const name of names) {
    if (name === "__metadata__") throw new Error(`safetensors: "__metadata__" is reserved and cannot be a tensor name`);
    const t = tensors[name];
    const info = DTYPES[t?.dtype];
    if (!info) throw new Error(`safetensors: tensor "${name}": unknown dtype ${show(t?.dtype)}`);
    const n = numel(t.shape, `tensor "${name}"`);
    if (!ArrayBuffer.isView(t.data) || !info.accept.includes(t.data.constructor.name)) {
      throw new Error(`safetensors: tensor "${name}": dtype ${t.dtype} needs ${info.accept.join(" or ")}, got ${(t.data as object)?.constructor?.name ?? typeof t.data}`);
    }
    if (t.data.length !== n) throw new Error(`safetensors: tensor "${name}": shape ${show(t.shape)} has ${n} elements but data has ${t.data.length}`);
  }
  names.sort((a, b) => DTYPES[tensors[b].dtype].size - DTYPES[tensors[a].dtype].size || cmpStr(a, b));

  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") throw new Error(`safetensors: metadata value for ${JSON.stringify(k)} must be a string, got ${typeof v}`);
    }
    header.__metadata__ = { ...metadata };
  }
  let offset = 0;
  for (const name of names) {
    const t = tensors[name];
    const bytes = t.data.byteLength;
    // defineProperty: a tensor named "__proto__" is an own key (plain assignment would set the prototype and drop it).
    defineOwn(header, name, { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes] });
    offset += bytes;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + padded);
  let o = 8 + padded;
  for (const name of names) {
    const d = tensors[name].data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), o);
    o += d.byteLength;
  }
  return out;
}

/** Parse only the header (JSON) of safetensors bytes, validated; returns it with the buffer's start offset. */
export function readHeader(bytes: Uint8Array): { header: Record<string, { dtype: Dtype; shape: number[]; data_offsets: [number, number] }>; metadata?: Record<string, string>; dataStart: number } {
  if (bytes.length < 8) throw new Error(`safetensors: file is ${bytes.length} bytes, too short for the 8-byte header length`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = dv.getBigUint64(0, true);
  const avail = bytes.length - 8;
  if (n64 > BigInt(avail)) throw new Error(`safetensors: header length ${n64} goes beyond the end of the file (${avail} bytes after the 8-byte length; truncated or not a safetensors file?)`);
  const n = Number(n64);
  if (n > MAX_HEADER) throw new Error(`safetensors: header length ${n} exceeds the ${MAX_HEADER}-byte limit`);
  if (n < 2) throw new Error(`safetensors: header length ${n} is too small for a JSON object`);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    throw new Error(`safetensors: header (${n} bytes) is not valid UTF-8`);
  }
  if (!text.startsWith("{")) throw new Error(`safetensors: header does not start with "{" (not a safetensors file?): ${JSON.stringify(text.slice(0, 40))}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`safetensors: header is not valid JSON: ${(e as Error).message}`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("safetensors: header JSON is not an object");
  const raw = parsed as Record<string, unknown>;
  const dataLen = avail - n;
  let metadata: Record<string, string> | undefined;
  const header: Record<string, { dtype: Dtype; shape: number[]; data_offsets: [number, number] }> = Object.create(null);
  for (const [name, v] of Object.entries(raw)) {
    if (name === "__metadata__") {
      if (v === null || typeof v !== "object" || Array.isArray(v)) throw new Error(`safetensors: "__metadata__" must be an object of strings`);
      metadata = {};
      for (const [k, s] of Object.entries(v as Record<string, unknown>)) {
        if (typeof s !== "string") throw new Error(`safetensors: "__metadata__" entry ${JSON.stringify(k)} is not a string`);
        defineOwn(metadata, k, s); // a "__proto__" key stays an own entry
      }
      continue;
    }
    const where = `tensor "${name}"`;
    if (v === null || typeof v !== "object" || Array.isArray(v)) throw new Error(`safetensors: ${where}: header entry is not an object`);
    const e = v as Record<string, unknown>;
    const dtype = e.dtype as Dtype;
    if (typeof dtype !== "string" || !Object.hasOwn(DTYPES, dtype)) throw new Error(`safetensors: ${where}: unknown dtype ${show(e.dtype)}`);
    if (!Array.isArray(e.shape)) throw new Error(`safetensors: ${where}: "shape" is not an array`);
    const shape = e.shape as number[];
    const count = numel(shape, where);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((x) => Number.isSafeInteger(x) && x >= 0)) {
      throw new Error(`safetensors: ${where}: "data_offsets" must be two non-negative integers, got ${show(off)}`);
    }
    const [b, end] = off as [number, number];
    if (b > end) throw new Error(`safetensors: ${where}: data_offsets [${b}, ${end}] are reversed (begin > end)`);
    if (end > dataLen) throw new Error(`safetensors: ${where}: data_offsets [${b}, ${end}] go beyond the data buffer of ${dataLen} bytes (truncated file?)`);
    const size = DTYPES[dtype].size;
    if (count * size !== end - b) {
      throw new Error(`safetensors: ${where}: shape ${show(shape)} × ${dtype} (${size} bytes) needs ${count * size} bytes but data_offsets [${b}, ${end}] hold ${end - b}`);
    }
    header[name] = { dtype, shape: [...shape], data_offsets: [b, end] };
  }
  // The tensors must tile the buffer: sorted by begin, each starts where the previous ended.
  const spans = Object.entries(header).sort((x, y) => x[1].data_offsets[0] - y[1].data_offsets[0] || x[1].data_offsets[1] - y[1].data_offsets[1]);
  let pos = 0;
  let prev = "";
  for (const [name, { data_offsets: [b, end] }] of spans) {
    if (b < pos) throw new Error(`safetensors: tensor "${name}": data_offsets [${b}, ${end}] overlap tensor "${prev}" (which ends at ${pos})`);
    if (b > pos) throw new Error(`safetensors: tensor "${name}": data_offsets [${b}, ${end}] leave a gap of ${b - pos} bytes after ${prev ? `tensor "${prev}"` : "the start of the buffer"} (offset ${pos})`);
    pos = end;
    if (end > b || !prev) prev = name;
  }
  if (pos !== dataLen) throw new Error(`safetensors: the tensors cover ${pos} bytes but the data buffer has ${dataLen} (trailing bytes or a missing tensor)`);
  return { header, metadata, dataStart: 8 + n };
}

/** Parse safetensors bytes into tensors (copies, independent of `bytes`) and metadata; validates as described above. */
export function deserialize(bytes: Uint8Array): SafetensorsFile {
  requireLE();
  const { header, metadata, dataStart } = readHeader(bytes);
  const tensors: Record<string, Tensor> = {};
  for (const [name, h] of Object.entries(header)) {
    const info = DTYPES[h.dtype];
    const [b, end] = h.data_offsets;
    // Uint8Array.prototype.slice copies into a fresh, aligned ArrayBuffer (a Node Buffer's own slice() would
    // return a view of the whole pool, so call the typed-array method explicitly).
    const buf = Uint8Array.prototype.slice.call(bytes, dataStart + b, dataStart + end).buffer;
    // defineProperty: a tensor named "__proto__" stays an ordinary own property.
    defineOwn(tensors, name, { dtype: h.dtype, shape: h.shape, data: new info.ctor(buf) });
  }
  return metadata === undefined ? { tensors } : { tensors, metadata };
}
