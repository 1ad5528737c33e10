// A minimal Parquet writer for test fixtures, written from the format specification (apache/parquet-format:
// parquet.thrift and Encodings.md), independent of the reader under test: data page v1, uncompressed, PLAIN values or
// a PLAIN dictionary page with RLE_DICTIONARY indices, definition levels as RLE runs for optional columns, one or more
// row groups, the footer in the Thrift compact protocol. Enough to make every case the reader must take or refuse.
//
// File: "PAR1" · per row group, per column: [dictionary page] data page · FileMetaData · u32 LE footer length · "PAR1".

export type PqType = "BOOLEAN" | "INT32" | "INT64" | "FLOAT" | "DOUBLE" | "BYTE_ARRAY";
export type PqValue = number | bigint | boolean | string | Uint8Array | null;

export interface PqColumn {
  name: string;
  type: PqType;
  /** ConvertedType enum value (UTF8 0, ENUM 4, DATE 6, TIMESTAMP_MILLIS 9, INT_8 15 … see CONVERTED). */
  converted?: number;
  /** OPTIONAL (nulls allowed, definition levels written) or REQUIRED. */
  optional: boolean;
  /** One value per row (null only when optional). */
  values: PqValue[];
  /** Write a dictionary page and RLE_DICTIONARY indices instead of PLAIN values. */
  dictionary?: boolean;
  /**
   * Declare the column as a nested LIST of `type` (group → repeated "list" → "element") instead; its data is not
   * written (readers refuse or skip it from the schema alone).
   */
  nestedList?: boolean;
}

export const TYPES: Record<PqType, number> = { BOOLEAN: 0, INT32: 1, INT64: 2, FLOAT: 4, DOUBLE: 5, BYTE_ARRAY: 6 };
export const CONVERTED = { UTF8: 0, LIST: 3, ENUM: 4, DECIMAL: 5, DATE: 6, TIMESTAMP_MILLIS: 9, INT_8: 15, INT_16: 16, INT_64: 18, JSON: 19 } as const;
const ENC = { PLAIN: 0, PLAIN_DICTIONARY: 2, RLE: 3, RLE_DICTIONARY: 8 };

// ---- bytes ------------------------------------------------------------------------------------------------------
class Bytes {
  private parts: number[] = [];
  byte(b: number): this {
    this.parts.push(b & 0xff);
    return this;
  }
  bytes(b: Uint8Array): this {
    for (const x of b) this.parts.push(x);
    return this;
  }
  uvarint(v: bigint | number): this {
    let x = BigInt(v);
    do {
      let b = Number(x & 0x7fn);
      x >>= 7n;
      if (x) b |= 0x80;
      this.byte(b);
    } while (x);
    return this;
  }
  u32le(v: number): this {
    for (let i = 0; i < 4; i++) this.byte(v >>> (8 * i));
    return this;
  }
  get length(): number {
    return this.parts.length;
  }
  done(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

const zigzag = (v: bigint | number) => {
  const x = BigInt(v);
  return x >= 0n ? x << 1n : ((-x) << 1n) - 1n;
};

// ---- Thrift compact protocol ------------------------------------------------------------------------------------
// A struct is a list of [field id, value]; values are tagged so the writer knows their wire type.
type TValue = { i32: number } | { i64: bigint | number } | { bin: Uint8Array | string } | { bool: boolean } | { list: TValue[]; elem: number } | { struct: TField[] };
type TField = [number, TValue];
const CT = { TRUE: 1, FALSE: 2, I32: 5, I64: 6, BINARY: 8, LIST: 9, STRUCT: 12 };

function typeOf(v: TValue): number {
  if ("i32" in v) return CT.I32;
  if ("i64" in v) return CT.I64;
  if ("bin" in v) return CT.BINARY;
  if ("bool" in v) return v.bool ? CT.TRUE : CT.FALSE;
  if ("list" in v) return CT.LIST;
  return CT.STRUCT;
}

function writeValue(out: Bytes, v: TValue): void {
  if ("i32" in v) out.uvarint(zigzag(v.i32));
  else if ("i64" in v) out.uvarint(zigzag(v.i64));
  else if ("bin" in v) {
    const b = typeof v.bin === "string" ? new TextEncoder().encode(v.bin) : v.bin;
    out.uvarint(b.length).bytes(b);
  } else if ("bool" in v) out.byte(v.bool ? 1 : 0); // only inside lists
  else if ("list" in v) {
    const n = v.list.length;
    if (n < 15) out.byte((n << 4) | v.elem);
    else out.byte(0xf0 | v.elem).uvarint(n);
    for (const x of v.list) writeValue(out, x);
  } else writeStruct(out, v.struct);
}

function writeStruct(out: Bytes, fields: TField[]): void {
  let last = 0;
  for (const [id, v] of fields) {
    const t = typeOf(v);
    if (id > last && id - last <= 15) out.byte(((id - last) << 4) | t);
    else out.byte(t).uvarint(zigzag(id));
    last = id;
    if (!("bool" in v)) writeValue(out, v);
  }
  out.byte(0);
}

const i32 = (x: number): TValue => ({ i32: x });
const i64 = (x: number | bigint): TValue => ({ i64: x });
const str = (s: string): TValue => ({ bin: s });
const struct = (...f: TField[]): TValue => ({ struct: f });
const list = (elem: number, xs: TValue[]): TValue => ({ list: xs, elem });

// ---- encodings --------------------------------------------------------------------------------------------------
function plain(type: PqType, values: PqValue[]): Uint8Array {
  const out = new Bytes();
  if (type === "BOOLEAN") {
    for (let i = 0; i < values.length; i += 8) {
      let b = 0;
      for (let k = 0; k < 8 && i + k < values.length; k++) if (values[i + k]) b |= 1 << k;
      out.byte(b);
    }
    return out.done();
  }
  for (const v of values) {
    const dv = new DataView(new ArrayBuffer(8));
    switch (type) {
      case "INT32":
        dv.setInt32(0, Number(v), true);
        out.bytes(new Uint8Array(dv.buffer, 0, 4));
        break;
      case "INT64":
        dv.setBigInt64(0, BigInt(v as number | bigint), true);
        out.bytes(new Uint8Array(dv.buffer, 0, 8));
        break;
      case "FLOAT":
        dv.setFloat32(0, Number(v), true);
        out.bytes(new Uint8Array(dv.buffer, 0, 4));
        break;
      case "DOUBLE":
        dv.setFloat64(0, Number(v), true);
        out.bytes(new Uint8Array(dv.buffer, 0, 8));
        break;
      case "BYTE_ARRAY": {
        const b = typeof v === "string" ? new TextEncoder().encode(v) : (v as Uint8Array);
        out.u32le(b.length).bytes(b);
        break;
      }
    }
  }
  return out.done();
}

/** RLE/bit-packed hybrid as RLE runs only: per run, varint(len << 1) then the value in ⌈width / 8⌉ bytes LE. */
function rleRuns(values: number[], width: number): Uint8Array {
  const out = new Bytes();
  const nb = Math.ceil(width / 8);
  for (let i = 0; i < values.length; ) {
    let j = i;
    while (j < values.length && values[j] === values[i]) j++;
    out.uvarint((j - i) << 1);
    for (let k = 0; k < nb; k++) out.byte(values[i] >>> (8 * k));
    i = j;
  }
  return out.done();
}

/** One column's pages for `values` (one row group); returns the bytes and where the data page starts within them. */
function columnChunk(c: PqColumn, values: PqValue[]): { bytes: Uint8Array; dataOffset: number; dictOffset: number | null } {
  const present = values.filter((v) => v !== null);
  const defs = c.optional ? (() => {
    const runs = rleRuns(values.map((v) => (v === null ? 0 : 1)), 1);
    return new Bytes().u32le(runs.length).bytes(runs).done();
  })() : new Uint8Array(0);
  const header = (type: number, body: Uint8Array, sub: TField) => {
    const h = new Bytes();
    writeStruct(h, [[1, i32(type)], [2, i32(body.length)], [3, i32(body.length)], sub]);
    return new Bytes().bytes(h.done()).bytes(body).done();
  };
  if (!c.dictionary) {
    const body = new Bytes().bytes(defs).bytes(plain(c.type, present)).done();
    return { bytes: header(0, body, [5, struct([1, i32(values.length)], [2, i32(ENC.PLAIN)], [3, i32(ENC.RLE)], [4, i32(ENC.RLE)])]), dataOffset: 0, dictOffset: null };
  }
  const keyOf = (v: PqValue) => (v instanceof Uint8Array ? Array.from(v).join(",") : typeof v === "bigint" ? `${v}n` : String(v));
  const dict: PqValue[] = [], index = new Map<string, number>();
  for (const v of present) if (!index.has(keyOf(v))) index.set(keyOf(v), dict.push(v) - 1);
  const width = Math.max(1, Math.ceil(Math.log2(Math.max(2, dict.length))));
  const dictPage = header(2, plain(c.type, dict), [7, struct([1, i32(dict.length)], [2, i32(ENC.PLAIN_DICTIONARY)])]);
  const body = new Bytes().bytes(defs).byte(width).bytes(rleRuns(present.map((v) => index.get(keyOf(v))!), width)).done();
  const dataPage = header(0, body, [5, struct([1, i32(values.length)], [2, i32(ENC.RLE_DICTIONARY)], [3, i32(ENC.RLE)], [4, i32(ENC.RLE)])]);
  return { bytes: new Bytes().bytes(dictPage).bytes(dataPage).done(), dataOffset: dictPage.length, dictOffset: 0 };
}

/**
 * A Parquet file of `columns` (all of the same row count), split into row groups of `groups` rows (default one
 * group). `numRows` overrides the footer's row count (to make an inconsistent footer); `codec` declares a
 * compression codec (CompressionCodec enum: GZIP 2, ZSTD 6) although the pages are written uncompressed.
 */
export function writeParquet(columns: PqColumn[], opts: { groups?: number[]; numRows?: number; codec?: number } = {}): Uint8Array {
  const n = columns.length ? columns[0].values.length : 0;
  for (const c of columns) if (!c.nestedList && c.values.length !== n) throw new Error(`writeParquet: column ${c.name} has ${c.values.length} values, expected ${n}`);
  const groups = opts.groups ?? [n];
  const out = new Bytes().bytes(new TextEncoder().encode("PAR1"));
  const rowGroups: TValue[] = [];
  let start = 0;
  for (const g of groups) {
    const chunks: TValue[] = [];
    let size = 0;
    for (const c of columns) {
      const vals = c.nestedList ? [] : c.values.slice(start, start + g);
      const ch = columnChunk(c.nestedList ? { ...c, optional: true, dictionary: false } : c, vals);
      const base = out.length;
      out.bytes(ch.bytes);
      size += ch.bytes.length;
      const path = c.nestedList ? [str(c.name), str("list"), str("element")] : [str(c.name)];
      const meta: TField[] = [
        [1, i32(TYPES[c.type])],
        [2, list(CT.I32, c.dictionary ? [i32(ENC.PLAIN_DICTIONARY), i32(ENC.RLE), i32(ENC.RLE_DICTIONARY)] : [i32(ENC.PLAIN), i32(ENC.RLE)])],
        [3, list(CT.BINARY, path)],
        [4, i32(opts.codec ?? 0)],
        [5, i64(vals.length)],
        [6, i64(ch.bytes.length)],
        [7, i64(ch.bytes.length)],
        [9, i64(base + ch.dataOffset)],
      ];
      if (ch.dictOffset !== null) meta.push([11, i64(base + ch.dictOffset)]);
      chunks.push(struct([2, i64(base)], [3, struct(...meta)]));
    }
    rowGroups.push(struct([1, list(CT.STRUCT, chunks)], [2, i64(size)], [3, i64(g)]));
    start += g;
  }
  const schema: TValue[] = [struct([4, str("schema")], [5, i32(columns.length)])];
  for (const c of columns) {
    if (c.nestedList) {
      schema.push(struct([3, i32(1)], [4, str(c.name)], [5, i32(1)], [6, i32(CONVERTED.LIST)]));
      schema.push(struct([3, i32(2)], [4, str("list")], [5, i32(1)]));
      schema.push(struct([1, i32(TYPES[c.type])], [3, i32(1)], [4, str("element")]));
      continue;
    }
    const f: TField[] = [[1, i32(TYPES[c.type])], [3, i32(c.optional ? 1 : 0)], [4, str(c.name)]];
    if (c.converted !== undefined) f.push([6, i32(c.converted)]);
    schema.push(struct(...f));
  }
  const footer = new Bytes();
  writeStruct(footer, [[1, i32(1)], [2, list(CT.STRUCT, schema)], [3, i64(opts.numRows ?? n)], [4, list(CT.STRUCT, rowGroups)], [6, str("mtl-wasm test writer")]]);
  const f = footer.done();
  return out.bytes(f).u32le(f.length).bytes(new TextEncoder().encode("PAR1")).done();
}
