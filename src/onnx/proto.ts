// Low-level protobuf wire format (https://protobuf.dev/programming-guides/encoding/): varints, length-delimited
// fields, fixed32/fixed64 and packed repeated scalars. Enough for ONNX; no schema, no reflection, no dependencies.
// Portable: no node:* imports (Node, Deno, browsers and workers).
//
// Integers: protobuf int64 values travel as 10-byte two's-complement varints when negative. `number` is used where
// the value is known to be small (lengths, enums, dims, attribute ints); `bigint` where all 64 bits matter.
import { utf8DecodeStrict, utf8Encode } from "../util/utf8.ts";

/** Wire types. 3 and 4 (groups) are deprecated and rejected; 6 and 7 do not exist. */
export const WireType = { VARINT: 0, I64: 1, LEN: 2, SGROUP: 3, EGROUP: 4, I32: 5 } as const;

/** Every decode failure is an OnnxDecodeError whose message starts with "ONNX: " and says what and where. */
export class OnnxDecodeError extends Error {
  constructor(message: string) {
    super(message.startsWith("ONNX: ") ? message : `ONNX: ${message}`);
    this.name = "OnnxDecodeError";
  }
}

/** Whether this platform stores typed arrays little-endian (every current one does; BE is handled anyway). */
export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const TWO32 = 4294967296;

// ---------------------------------------------------------------------------------------------------------------
// Writer

/**
 * Append-only protobuf writer. Scalars go into a growing scratch buffer; big byte payloads (raw tensor data) and
 * nested messages are kept as references and concatenated once by finish(), so a large initializer is copied once.
 * Byte arrays handed to bytes()/rawBytes() must not be modified before finish().
 */
export class Writer {
  private chunks: Uint8Array[] = [];
  private done = 0; // bytes in chunks
  private buf: Uint8Array;
  private pos = 0;

  constructor(initial = 256) {
    this.buf = new Uint8Array(initial);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.done + this.pos;
  }

  private flush(): void {
    if (this.pos > 0) {
      this.chunks.push(this.buf.subarray(0, this.pos));
      this.done += this.pos;
      this.buf = this.buf.subarray(this.pos);
      this.pos = 0;
    }
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.flush();
    if (this.buf.length < n) this.buf = new Uint8Array(Math.max(n, 1024, Math.min(this.done, 1 << 16)));
  }

  private byte(b: number): void {
    this.buf[this.pos++] = b;
  }

  /** Unsigned varint of a non-negative safe integer (or any int64 when negative: two's complement, 10 bytes). */
  varint(v: number): this {
    if (!Number.isSafeInteger(v)) throw new RangeError(`protobuf: cannot encode ${v} as a varint (not a safe integer)`);
    if (v < 0) return this.varintBig(BigInt(v));
    this.ensure(10);
    while (v >= 0x80) {
      this.byte((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.byte(v);
    return this;
  }

  /** Varint of a 64-bit value given as bigint; negative values are written as two's complement (10 bytes). */
  varintBig(v: bigint): this {
    if (v < -(1n << 63n) || v >= 1n << 64n) throw new RangeError(`protobuf: ${v} does not fit in 64 bits`);
    let u = BigInt.asUintN(64, v);
    this.ensure(10);
    while (u >= 0x80n) {
      this.byte(Number(u & 0x7fn) | 0x80);
      u >>= 7n;
    }
    this.byte(Number(u));
    return this;
  }

  tag(field: number, wire: number): this {
    if (!Number.isInteger(field) || field < 1 || field > 0x1fffffff) throw new RangeError(`protobuf: bad field number ${field}`);
    return this.varint(field * 8 + wire);
  }

  fixed32(v: number): this {
    this.ensure(4);
    const x = v >>> 0;
    this.byte(x & 0xff);
    this.byte((x >>> 8) & 0xff);
    this.byte((x >>> 16) & 0xff);
    this.byte(x >>> 24);
    return this;
  }

  float32(v: number): this {
    this.ensure(4);
    new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).setFloat32(0, v, true);
    this.pos += 4;
    return this;
  }

  float64(v: number): this {
    this.ensure(8);
    new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8).setFloat64(0, v, true);
    this.pos += 8;
    return this;
  }

  /** Raw bytes with no length prefix. Large arrays are referenced, not copied. */
  rawBytes(b: Uint8Array): this {
    if (b.length >= 512) {
      this.flush();
      this.chunks.push(b);
      this.done += b.length;
    } else {
      this.ensure(b.length);
      this.buf.set(b, this.pos);
      this.pos += b.length;
    }
    return this;
  }

  // Field-level helpers (tag + value). Proto3 omits default values; callers decide whether to call these.

  int64Field(field: number, v: number | bigint): this {
    this.tag(field, WireType.VARINT);
    return typeof v === "bigint" ? this.varintBig(v) : this.varint(v);
  }

  /** int32/enum field: negative values are sign-extended to 64 bits as protobuf requires. */
  int32Field(field: number, v: number): this {
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) throw new RangeError(`protobuf: ${v} is not an int32`);
    return this.tag(field, WireType.VARINT).varint(v);
  }

  floatField(field: number, v: number): this {
    return this.tag(field, WireType.I32).float32(v);
  }

  bytesField(field: number, b: Uint8Array): this {
    return this.tag(field, WireType.LEN).varint(b.length).rawBytes(b);
  }

  stringField(field: number, s: string): this {
    return this.bytesField(field, utf8Encode(s));
  }

  /** A nested message: `body` writes its fields into a fresh Writer, which is then length-prefixed and appended. */
  messageField(field: number, body: (w: Writer) => void): this {
    const sub = new Writer(64);
    body(sub);
    this.tag(field, WireType.LEN).varint(sub.length);
    sub.flush();
    this.flush();
    for (const c of sub.chunks) this.chunks.push(c);
    this.done += sub.done;
    return this;
  }

  /** Packed repeated int64 (also used for int32: same varint encoding, sign-extended). */
  packedVarints(field: number, values: ArrayLike<number | bigint>): this {
    const sub = new Writer(Math.max(16, values.length * 2));
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (typeof v === "bigint") sub.varintBig(v);
      else sub.varint(v);
    }
    return this.bytesField(field, sub.finish());
  }

  packedFloats(field: number, values: ArrayLike<number>): this {
    const sub = new Writer(values.length * 4);
    for (let i = 0; i < values.length; i++) sub.float32(values[i]);
    return this.bytesField(field, sub.finish());
  }

  /** All bytes written, as one fresh Uint8Array (its own ArrayBuffer). The writer should not be used afterwards. */
  finish(): Uint8Array {
    this.flush();
    const out = new Uint8Array(this.done);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

/** Bytes of a typed array as stored little-endian (a view when the platform is LE, a converted copy otherwise). */
export function littleEndianBytes(a: Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array): Uint8Array {
  if (LITTLE_ENDIAN || a.BYTES_PER_ELEMENT === 1) return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const out = new Uint8Array(a.byteLength);
  const dv = new DataView(out.buffer);
  const n = a.length;
  if (a instanceof Float32Array) for (let i = 0; i < n; i++) dv.setFloat32(i * 4, a[i], true);
  else if (a instanceof Float64Array) for (let i = 0; i < n; i++) dv.setFloat64(i * 8, a[i], true);
  else if (a instanceof Int32Array) for (let i = 0; i < n; i++) dv.setInt32(i * 4, a[i], true);
  else if (a instanceof BigInt64Array) for (let i = 0; i < n; i++) dv.setBigInt64(i * 8, a[i], true);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Reader

/** Field names of one message type, for error messages: { 7: "graph", ... }. */
export type FieldNames = Readonly<Record<number, string>>;

/**
 * Bounds-checked protobuf reader over one buffer. Positions in error messages are absolute byte offsets into the
 * buffer given to the constructor. Nested messages are read in place (no copies) by narrowing `limit`.
 * Every read advances or throws, so a loop over next() always terminates.
 */
export class Reader {
  readonly buf: Uint8Array;
  private readonly view: DataView;
  pos: number;
  /** End of the message being read (exclusive). */
  limit: number;
  /** Current field number and wire type, set by next(). */
  field = 0;
  wire = 0;
  /** Where the current tag starts. */
  tagPos = 0;
  /** Name of the message being read and its field names, for errors. */
  msg = "message";
  names: FieldNames = {};
  /** Path of enclosing fields, e.g. ["graph", "node[3]"], for errors. */
  private path: string[] = [];
  // last varint, as two 32-bit halves
  private lo = 0;
  private hi = 0;

  constructor(buf: Uint8Array, msg = "message", names: FieldNames = {}) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = 0;
    this.limit = buf.length;
    this.msg = msg;
    this.names = names;
  }

  /** Throw an OnnxDecodeError with the current path appended. */
  fail(what: string): never {
    const where = this.path.length ? ` (in ${this.path.join(".")})` : "";
    throw new OnnxDecodeError(`${what}${where}`);
  }

  /** "field 7 (graph)" for the current field. */
  fieldDesc(): string {
    const n = this.names[this.field];
    return n ? `field ${this.field} (${this.msg}.${n})` : `field ${this.field} of ${this.msg}`;
  }

  private endDesc(): string {
    return this.limit === this.buf.length && this.path.length === 0
      ? `the end of the buffer (${this.buf.length} bytes)`
      : `the end of the enclosing ${this.msg} (which ends at byte ${this.limit} of ${this.buf.length})`;
  }

  private readVarintBits(): void {
    const start = this.pos;
    const buf = this.buf;
    const limit = this.limit;
    let lo = 0;
    let hi = 0;
    let b = 0;
    let p = start;
    const next = (): number => {
      if (p >= limit) this.fail(`truncated varint at byte ${start}: ${this.endDesc()} came first`);
      return buf[p++];
    };
    for (let i = 0; i < 4; i++) {
      b = next();
      lo |= (b & 0x7f) << (i * 7);
      if (b < 0x80) {
        this.lo = lo >>> 0;
        this.hi = 0;
        this.pos = p;
        return;
      }
    }
    b = next();
    lo |= (b & 0x7f) << 28;
    hi = (b & 0x7f) >>> 4;
    if (b >= 0x80) {
      let i = 0;
      for (; i < 5; i++) {
        b = next();
        hi |= (b & 0x7f) << (i * 7 + 3);
        if (b < 0x80) break;
      }
      if (i === 5) this.fail(`malformed varint at byte ${start}: more than 10 bytes`);
    }
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
    this.pos = p;
  }

  /** Unsigned varint as a number; fails if it exceeds 2^53 - 1 (use uint64Big for full range). */
  uint53(): number {
    const at = this.pos;
    this.readVarintBits();
    if (this.hi >= 0x200000) this.fail(`varint at byte ${at} is too large (${this.bigFromBits(false)})`);
    return this.hi * TWO32 + this.lo;
  }

  private bigFromBits(signed: boolean): bigint {
    const u = (BigInt(this.hi) << 32n) | BigInt(this.lo);
    return signed ? BigInt.asIntN(64, u) : u;
  }

  /** Signed int64 varint as bigint (exact). */
  int64Big(): bigint {
    this.readVarintBits();
    return this.bigFromBits(true);
  }

  /** Unsigned uint64 varint as bigint (exact). */
  uint64Big(): bigint {
    this.readVarintBits();
    return this.bigFromBits(false);
  }

  /** Signed int64 varint as a number: exact within ±2^53, otherwise the nearest double (e.g. INT64_MAX). */
  int64(): number {
    this.readVarintBits();
    if (this.hi === 0) return this.lo;
    if (this.hi < 0x200000) return this.hi * TWO32 + this.lo;
    if (this.hi === 0xffffffff) return this.lo - TWO32; // small negative
    return Number(this.bigFromBits(true));
  }

  /** Signed int64 varint that must be a safe integer (dims, versions); `what` names it in the error. */
  safeInt64(what: string): number {
    const at = this.pos;
    const v = this.int64();
    if (!Number.isSafeInteger(v)) this.fail(`${what} at byte ${at} is ${this.bigFromBits(true)}, outside the safe integer range`);
    return v;
  }

  /** int32 / enum varint (protobuf semantics: the low 32 bits, as signed). */
  int32(): number {
    this.readVarintBits();
    return this.lo | 0;
  }

  bool(): boolean {
    this.readVarintBits();
    return this.lo !== 0 || this.hi !== 0;
  }

  private need(n: number, what: string): void {
    if (n > this.limit - this.pos) this.fail(`truncated ${what} at byte ${this.pos}: needs ${n} bytes, ${this.endDesc()} is ${this.limit - this.pos} bytes away`);
  }

  float32(): number {
    this.need(4, "fixed32");
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  float64(): number {
    this.need(8, "fixed64");
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /**
   * Next field's tag, or false at the end of the current message. Rejects field number 0, group wire types (3, 4)
   * and invalid wire types (6, 7).
   */
  next(): boolean {
    if (this.pos >= this.limit) return false;
    this.tagPos = this.pos;
    const tag = this.uint53();
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    this.field = field;
    this.wire = wire;
    if (field === 0 || field > 0x1fffffff) this.fail(`invalid field number ${field} at byte ${this.tagPos} in ${this.msg}`);
    if (wire === WireType.SGROUP || wire === WireType.EGROUP)
      this.fail(`${this.fieldDesc()} at byte ${this.tagPos} uses the deprecated group wire type ${wire}, which ONNX never uses`);
    if (wire > 5) this.fail(`invalid wire type ${wire} for field ${field} at byte ${this.tagPos} in ${this.msg}`);
    return true;
  }

  /** Fail unless the current field has the wire type its schema says. */
  expectWire(wire: number): void {
    if (this.wire !== wire) {
      const names = ["varint", "fixed64", "length-delimited", "group start", "group end", "fixed32"];
      this.fail(`${this.fieldDesc()} at byte ${this.tagPos} has wire type ${this.wire} (${names[this.wire]}), expected ${wire} (${names[wire]})`);
    }
  }

  /** Read a length prefix and check it fits; returns [start, end) of the payload. */
  lengthPrefixed(): [number, number] {
    this.expectWire(WireType.LEN);
    const at = this.pos;
    const len = this.uint53();
    if (len > this.limit - this.pos)
      this.fail(`${this.fieldDesc()} length ${len} (prefix at byte ${at}) runs past ${this.endDesc()}: only ${this.limit - this.pos} bytes remain`);
    const start = this.pos;
    this.pos += len;
    return [start, start + len];
  }

  /** Length-delimited payload as a view into the buffer (not a copy). */
  bytes(): Uint8Array {
    const [s, e] = this.lengthPrefixed();
    return this.buf.subarray(s, e);
  }

  /** Length-delimited UTF-8 string; invalid UTF-8 is an error. */
  string(): string {
    const at = this.tagPos;
    const b = this.bytes();
    try {
      return utf8DecodeStrict(b);
    } catch {
      return this.fail(`${this.fieldDesc()} at byte ${at} is not valid UTF-8`);
    }
  }

  /**
   * Read the current length-delimited field as a nested message: `body` runs with `limit` narrowed to the payload,
   * msg/names set for errors and `label` pushed on the path. Fails if body does not consume exactly the payload.
   */
  message<T>(label: string, msg: string, names: FieldNames, body: () => T): T {
    const [start, end] = this.lengthPrefixed();
    const saved = { limit: this.limit, msg: this.msg, names: this.names, field: this.field, wire: this.wire, tagPos: this.tagPos, after: this.pos };
    this.pos = start;
    this.limit = end;
    this.msg = msg;
    this.names = names;
    this.path.push(label);
    const v = body();
    if (this.pos !== end) this.fail(`${msg} ended at byte ${this.pos}, expected ${end}`);
    this.path.pop();
    this.pos = saved.after;
    this.limit = saved.limit;
    this.msg = saved.msg;
    this.names = saved.names;
    this.field = saved.field;
    this.wire = saved.wire;
    this.tagPos = saved.tagPos;
    return v;
  }

  /** Skip the current field's value according to its wire type (unknown fields). */
  skip(): void {
    switch (this.wire) {
      case WireType.VARINT:
        this.readVarintBits();
        return;
      case WireType.I64:
        this.need(8, `fixed64 ${this.fieldDesc()}`);
        this.pos += 8;
        return;
      case WireType.LEN:
        this.lengthPrefixed();
        return;
      case WireType.I32:
        this.need(4, `fixed32 ${this.fieldDesc()}`);
        this.pos += 4;
        return;
      default:
        this.fail(`cannot skip wire type ${this.wire} at byte ${this.tagPos}`);
    }
  }

  /** Repeated varint field: accepts packed (wire type 2) and unpacked (wire type 0) encodings; appends to `out`. */
  repeatedVarints<T>(out: T[], read: () => T): void {
    if (this.wire === WireType.VARINT) {
      out.push(read());
      return;
    }
    this.expectWire(WireType.LEN);
    const [start, end] = this.lengthPrefixed();
    const savedLimit = this.limit;
    const after = this.pos;
    this.pos = start;
    this.limit = end;
    while (this.pos < end) out.push(read());
    this.limit = savedLimit;
    this.pos = after;
  }

  /** Repeated float field: packed (wire type 2, length a multiple of 4) or unpacked (wire type 5). */
  repeatedFloats(out: number[]): void {
    if (this.wire === WireType.I32) {
      out.push(this.float32());
      return;
    }
    const at = this.tagPos;
    const [start, end] = this.lengthPrefixed();
    if ((end - start) % 4 !== 0) this.fail(`packed float ${this.fieldDesc()} at byte ${at} has length ${end - start}, not a multiple of 4`);
    for (let p = start; p < end; p += 4) out.push(this.view.getFloat32(p, true));
  }

  /** Repeated double field: packed (wire type 2, length a multiple of 8) or unpacked (wire type 1). */
  repeatedDoubles(out: number[]): void {
    if (this.wire === WireType.I64) {
      out.push(this.float64());
      return;
    }
    const at = this.tagPos;
    const [start, end] = this.lengthPrefixed();
    if ((end - start) % 8 !== 0) this.fail(`packed double ${this.fieldDesc()} at byte ${at} has length ${end - start}, not a multiple of 8`);
    for (let p = start; p < end; p += 8) out.push(this.view.getFloat64(p, true));
  }
}

/** Encode one value as a standalone varint (tests, debugging). */
export function encodeVarint(v: number | bigint): Uint8Array {
  const w = new Writer(16);
  if (typeof v === "bigint") w.varintBig(v);
  else w.varint(v);
  return w.finish();
}
