// IDX files (the MNIST format, LeCun et al.): reader and writer. Portable (no node:*): the reader takes a ByteSource,
// so files, fetch() bodies and in-memory bytes read the same, gzip detected by its magic bytes and inflated with
// DecompressionStream (source.ts's decompressedChunks), the payload consumed chunk by chunk as it arrives.
//
// Layout (all integers big-endian):
//   byte 0–1   0x00 0x00
//   byte 2     element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
//   byte 3     number of dimensions n (IDX1 = 1 for label files, IDX3 = 3 for image files)
//   byte 4…    n dimension sizes, uint32 each
//   then       ∏ dims elements, row-major (the last dimension varies fastest), each big-endian
// A file must hold exactly that many payload bytes: fewer is "truncated", more is "extra bytes after the payload".
// Every error is an IdxError naming the file, the byte offset (in the unpacked data when the file is gzip) and what was
// expected there.

import { decompressedChunks, isGzip, type ByteSource } from "./source.ts";

/** The element types an IDX file can hold (byte 2 of its header). */
export type IdxType = "uint8" | "int8" | "int16" | "int32" | "float32" | "float64";
/** The typed array of each IdxType, in the same order (decoded to the host's byte order). */
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

/** A decoded IDX array: `data` is row-major with `data.length` = ∏ dims, in the typed array of `type`. */
export interface IdxArray {
  /** The dimensions, outermost first (e.g. [count, 28, 28] for MNIST images). */
  dims: number[];
  /** The element type. */
  type: IdxType;
  /** ∏ dims elements, row-major. */
  data: IdxData;
}

/** The type codes of byte 2 and the size of one element. */
export const IDX_TYPE_CODES: Readonly<Record<IdxType, number>> = { uint8: 0x08, int8: 0x09, int16: 0x0b, int32: 0x0c, float32: 0x0d, float64: 0x0e };
export const IDX_TYPE_SIZES: Readonly<Record<IdxType, number>> = { uint8: 1, int8: 1, int16: 2, int32: 4, float32: 4, float64: 8 };
const TYPE_OF_CODE = new Map<number, IdxType>(Object.entries(IDX_TYPE_CODES).map(([t, c]) => [c, t as IdxType]));
const CODE_LIST = Object.entries(IDX_TYPE_CODES).map(([t, c]) => `0x${c.toString(16).padStart(2, "0")} ${t}`).join(", ");

/** Default cap on the payload a header may announce (2 GiB − 1): a corrupt dimension is an error, not a huge allocation. */
export const IDX_MAX_BYTES = 2 ** 31 - 1;

/** A malformed IDX file: `file`, the byte `offset` where it went wrong, and what was `expected` there. */
export class IdxError extends Error {
  /** Always "IdxError". */
  override name = "IdxError";
  constructor(
    /** The file's name as given to the reader. */
    readonly file: string,
    /** Byte offset of the problem (of the unpacked data for gzip files). */
    readonly offset: number,
    /** What was found, e.g. "truncated: the file ends after 10 of 784 payload bytes". */
    readonly problem: string,
    /** What was expected there. */
    readonly expected: string,
    unpacked = false,
  ) {
    super(`${file}: byte ${offset}${unpacked ? " of the unpacked data" : ""}: ${problem}; expected ${expected}`);
  }
}

/** What the header says. */
/** An IDX file's header, as read and checked. */
export interface IdxHeader {
  /** The element type (byte 2). */
  type: IdxType;
  /** The dimensions (byte 3 is their count), outermost first. */
  dims: number[];
  /** 4 + 4·rank. */
  headerBytes: number;
  /** ∏ dims · element size. */
  payloadBytes: number;
  /** Elements per item along the first dimension (∏ dims[1..]; 1 for a rank-1 file). */
  itemSize: number;
  /** Whether the file was gzip (offsets in errors then count unpacked bytes). */
  gzip: boolean;
}

/** Checks {@link openIdx} and {@link readIdx} apply to the header before reading the payload. */
export interface IdxReadOptions {
  /** Refuse a header announcing more payload bytes than this (default IDX_MAX_BYTES). */
  maxBytes?: number;
  /** Refuse a file of another element type (e.g. "uint8" for MNIST images), naming byte 2. */
  type?: IdxType;
  /** Refuse a file of another rank (3 for images, 1 for labels), naming byte 3. */
  rank?: number;
}

/** An open IDX file: the header, then its payload once, either as raw big-endian chunks or as decoded items. */
export interface IdxStream {
  /** The file's name (in error messages). */
  readonly name: string;
  /** The header, read and checked when the stream was opened. */
  readonly header: IdxHeader;
  /** The payload bytes as they arrive (big-endian; a prefix of the file may be in the first chunk). Single use. */
  chunks(): AsyncGenerator<Uint8Array>;
  /** The items along the first dimension, decoded (each `itemSize` elements, a fresh array). Single use. */
  items(): AsyncGenerator<IdxData>;
}

function hex(b: number): string {
  return `0x${b.toString(16).padStart(2, "0")}`;
}

/** Parse the header from `head` (the file's first bytes, at least 4 + 4·rank of them unless the file is that short). */
function parseHeader(name: string, head: Uint8Array, ended: boolean, gzip: boolean, opts: IdxReadOptions): IdxHeader | number {
  const err = (offset: number, problem: string, expected: string) => new IdxError(name, offset, problem, expected, gzip);
  if (head.length < 4) {
    if (!ended) return 4;
    throw err(head.length, `file ends after ${head.length} byte(s), inside the 4-byte magic number`, "the magic 00 00 <type> <rank> (e.g. 00 00 08 03 for uint8 images)");
  }
  if (head[0] !== 0 || head[1] !== 0) {
    const gzipNote = head[0] === 0x1f && head[1] === 0x8b ? " (a gzip file inside gzip?)" : "";
    throw err(0, `bad magic ${hex(head[0])} ${hex(head[1])}${gzipNote}: not an IDX file`, "00 00 (the IDX magic starts with two zero bytes)");
  }
  const type = TYPE_OF_CODE.get(head[2]);
  if (!type) throw err(2, `unknown element type ${hex(head[2])}`, `one of ${CODE_LIST}`);
  if (opts.type && type !== opts.type) throw err(2, `element type ${hex(head[2])} (${type})`, `${hex(IDX_TYPE_CODES[opts.type])} (${opts.type})`);
  const rank = head[3];
  if (rank === 0) throw err(3, "rank 0", "at least one dimension");
  if (opts.rank !== undefined && rank !== opts.rank) throw err(3, `rank ${rank}`, `rank ${opts.rank} (IDX${opts.rank})`);
  const headerBytes = 4 + 4 * rank;
  if (head.length < headerBytes) {
    if (!ended) return headerBytes;
    throw err(head.length, `file ends inside the header (${head.length} of ${headerBytes} bytes)`, `${rank} dimension sizes of 4 bytes each after the magic`);
  }
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) {
    const o = 4 + 4 * i;
    dims.push(((head[o] << 24) >>> 0) + (head[o + 1] << 16) + (head[o + 2] << 8) + head[o + 3]);
  }
  let elements = 1;
  for (const d of dims) elements *= d;
  const size = IDX_TYPE_SIZES[type];
  const payloadBytes = elements * size;
  const maxBytes = opts.maxBytes ?? IDX_MAX_BYTES;
  if (!(payloadBytes <= maxBytes)) throw err(4, `dimensions [${dims.join(", ")}] × ${size} byte(s) announce ${payloadBytes} payload bytes, over the limit of ${maxBytes}`, "dimensions whose product fits the limit (a corrupt size?)");
  let itemSize = 1;
  for (let i = 1; i < rank; i++) itemSize *= dims[i];
  return { type, dims, headerBytes, payloadBytes, itemSize, gzip };
}

/**
 * Open an IDX source (gzip or plain): reads and checks the header, then hands out the payload once. The byte count is
 * checked as the payload streams: a file that ends early throws IdxError "truncated" at the offset where it ended, one
 * with more bytes throws at the first extra byte (after counting them all).
 */
export async function openIdx(source: ByteSource, opts: IdxReadOptions = {}): Promise<IdxStream> {
  const name = source.name;
  // Whether the raw bytes start with the gzip magic: watched on the way into decompressedChunks.
  const raw: { head: Uint8Array } = { head: new Uint8Array(0) };
  const watched: ByteSource = {
    name,
    chunks: (async function* () {
      for await (const c of source.chunks) {
        if (raw.head.length < 2 && c.length) raw.head = concat2(raw.head, c.subarray(0, 2 - raw.head.length));
        yield c;
      }
    })(),
  };
  const it = decompressedChunks(watched)[Symbol.asyncIterator]();
  let head: Uint8Array = new Uint8Array(0);
  let ended = false;
  let header: IdxHeader;
  for (;;) {
    const gz = isGzip(raw.head);
    const h = parseHeader(name, head, ended, gz, opts);
    if (typeof h !== "number") {
      header = h;
      break;
    }
    while (head.length < h && !ended) {
      const r = await it.next();
      if (r.done) ended = true;
      else head = concat2(head, r.value);
    }
  }
  const rest = head.subarray(header.headerBytes);
  let used = false;
  const once = (what: string) => {
    if (used) throw new Error(`${name}: the IDX payload can be read only once (${what})`);
    used = true;
  };
  async function* payload(): AsyncGenerator<Uint8Array> {
    const want = header.payloadBytes;
    let got = 0;
    let pending: Uint8Array | null = rest.length ? rest : null;
    try {
      for (;;) {
        let c: Uint8Array;
        if (pending) {
          c = pending;
          pending = null;
        } else {
          if (ended) break;
          const r = await it.next();
          if (r.done) {
            ended = true;
            break;
          }
          c = r.value;
        }
        if (got + c.length > want) {
          // Extra bytes: count them all (bounded by the file) for an exact message.
          const inPayload = want - got;
          if (inPayload > 0) yield c.subarray(0, inPayload);
          let extra = c.length - inPayload;
          for (;;) {
            const r = await it.next();
            if (r.done) break;
            extra += r.value.length;
          }
          ended = true;
          throw new IdxError(name, header.headerBytes + want, `${extra} extra byte(s) after the payload`, `the file to end there: dimensions [${header.dims.join(", ")}] × ${IDX_TYPE_SIZES[header.type]} byte(s) = ${want} payload bytes after the ${header.headerBytes}-byte header`, header.gzip);
        }
        got += c.length;
        if (c.length) yield c;
      }
      if (got < want) {
        throw new IdxError(name, header.headerBytes + got, `truncated: the file ends after ${got} of ${want} payload bytes`, `dimensions [${header.dims.join(", ")}] × ${IDX_TYPE_SIZES[header.type]} byte(s) = ${want} payload bytes after the ${header.headerBytes}-byte header`, header.gzip);
      }
    } finally {
      if (!ended) await it.return?.(undefined);
    }
  }
  return {
    name,
    header,
    chunks() {
      once("chunks");
      return payload();
    },
    async *items() {
      once("items");
      const itemBytes = header.itemSize * IDX_TYPE_SIZES[header.type];
      const count = header.dims[0];
      if (itemBytes === 0) {
        for await (const _ of payload());
        for (let i = 0; i < count; i++) yield decode(header.type, new Uint8Array(0), 0);
        return;
      }
      let buf = new Uint8Array(itemBytes);
      let fill = 0;
      for await (const c of payload()) {
        let o = 0;
        while (o < c.length) {
          const n = Math.min(itemBytes - fill, c.length - o);
          buf.set(c.subarray(o, o + n), fill);
          fill += n;
          o += n;
          if (fill === itemBytes) {
            yield decode(header.type, buf, header.itemSize);
            buf = new Uint8Array(itemBytes);
            fill = 0;
          }
        }
      }
    },
  };
}

function concat2(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** Decode `n` big-endian elements of `type` from `bytes` (which the result may share for uint8/int8). */
function decode(type: IdxType, bytes: Uint8Array, n: number): IdxData {
  switch (type) {
    case "uint8":
      return bytes;
    case "int8":
      return new Int8Array(bytes.buffer, bytes.byteOffset, n);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (type) {
    case "int16": {
      const out = new Int16Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getInt16(2 * i, false);
      return out;
    }
    case "int32": {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getInt32(4 * i, false);
      return out;
    }
    case "float32": {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, false);
      return out;
    }
    case "float64": {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getFloat64(8 * i, false);
      return out;
    }
  }
}

/**
 * Read a whole IDX source (gzip or plain) into `{ dims, type, data }`. The payload is collected as it streams and
 * decoded once its length is confirmed, so a header announcing more than the file holds allocates nothing large.
 */
export async function readIdx(source: ByteSource, opts: IdxReadOptions = {}): Promise<IdxArray> {
  const s = await openIdx(source, opts);
  const parts: Uint8Array[] = [];
  for await (const c of s.chunks()) parts.push(c);
  const bytes = new Uint8Array(s.header.payloadBytes);
  let o = 0;
  for (const p of parts) {
    bytes.set(p, o);
    o += p.length;
  }
  const n = s.header.payloadBytes / IDX_TYPE_SIZES[s.header.type];
  return { dims: s.header.dims, type: s.header.type, data: decode(s.header.type, bytes, n) };
}

const DATA_CLASS: Readonly<Record<IdxType, string>> = { uint8: "Uint8Array", int8: "Int8Array", int16: "Int16Array", int32: "Int32Array", float32: "Float32Array", float64: "Float64Array" };

/**
 * The bytes of an IDX file (uncompressed) for `{ dims, type, data }`: the data must be the typed array of `type`
 * (Uint8Array for uint8, ...) holding exactly ∏ dims elements; 1 to 255 dimensions, each an integer in [0, 2³²).
 */
export function encodeIdx(arr: IdxArray): Uint8Array {
  const { dims, type, data } = arr;
  const size = IDX_TYPE_SIZES[type];
  if (size === undefined) throw new Error(`encodeIdx: unknown type ${JSON.stringify(type)}; expected one of ${Object.keys(IDX_TYPE_SIZES).join(", ")}`);
  if (Object.prototype.toString.call(data) !== `[object ${DATA_CLASS[type]}]`) throw new Error(`encodeIdx: type ${type} needs its data as a ${DATA_CLASS[type]}, got ${Object.prototype.toString.call(data).slice(8, -1)}`);
  if (!Array.isArray(dims) || dims.length < 1 || dims.length > 255) throw new Error(`encodeIdx: expected 1 to 255 dimensions, got ${Array.isArray(dims) ? dims.length : typeof dims}`);
  let elements = 1;
  for (const d of dims) {
    if (!(Number.isInteger(d) && d >= 0 && d < 2 ** 32)) throw new Error(`encodeIdx: dimension ${d} is not an integer in [0, 2^32)`);
    elements *= d;
  }
  if (elements !== data.length) throw new Error(`encodeIdx: dimensions [${dims.join(", ")}] hold ${elements} elements but the data has ${data.length}`);
  const headerBytes = 4 + 4 * dims.length;
  const out = new Uint8Array(headerBytes + elements * size);
  const dv = new DataView(out.buffer);
  out[2] = IDX_TYPE_CODES[type];
  out[3] = dims.length;
  dims.forEach((d, i) => dv.setUint32(4 + 4 * i, d, false));
  switch (type) {
    case "uint8":
    case "int8":
      out.set(new Uint8Array(data.buffer, data.byteOffset, data.length), headerBytes);
      break;
    case "int16":
      for (let i = 0; i < elements; i++) dv.setInt16(headerBytes + 2 * i, data[i], false);
      break;
    case "int32":
      for (let i = 0; i < elements; i++) dv.setInt32(headerBytes + 4 * i, data[i], false);
      break;
    case "float32":
      for (let i = 0; i < elements; i++) dv.setFloat32(headerBytes + 4 * i, data[i], false);
      break;
    case "float64":
      for (let i = 0; i < elements; i++) dv.setFloat64(headerBytes + 8 * i, data[i], false);
      break;
  }
  return out;
}

/** An IDX3 uint8 image file: `images` holds `count` row-major images of rows × cols pixels. */
export function encodeIdxImages(images: Uint8Array, count: number, rows: number, cols: number): Uint8Array {
  return encodeIdx({ dims: [count, rows, cols], type: "uint8", data: images });
}

/** An IDX1 uint8 label file. */
export function encodeIdxLabels(labels: Uint8Array): Uint8Array {
  return encodeIdx({ dims: [labels.length], type: "uint8", data: labels });
}
