// Fuzz the safetensors reader: serialize → deserialize round-trips every dtype, shape (scalars and zero-size
// included), name and metadata; mutated files (bit flips, truncation, inserted bytes, a rewritten 8-byte header
// length, header JSON with wrong types, extreme numbers such as 1e400 / -0 / NaN / 2^64, huge shapes and offsets, deep
// nesting, unknown and "__proto__" keys) give tensors or an Error starting "safetensors: " within the time budget.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { fc, params, attempt, judge, verdict, byteMutations, mutateBytes, jsonMutations, mutateJson, jsonText, concat } from "./fuzz.ts";
import { deserialize, serialize, type Dtype, type Tensor } from "../../src/io/safetensors.ts";

const DTYPES: Record<Dtype, (n: number) => fc.Arbitrary<Tensor["data"]>> = {
  F64: (n) => fc.float64Array({ minLength: n, maxLength: n }),
  F32: (n) => fc.float32Array({ minLength: n, maxLength: n }),
  F16: (n) => fc.uint16Array({ minLength: n, maxLength: n }) as never,
  BF16: (n) => fc.uint16Array({ minLength: n, maxLength: n }) as never,
  F8_E4M3: (n) => fc.uint8Array({ minLength: n, maxLength: n }),
  F8_E5M2: (n) => fc.uint8Array({ minLength: n, maxLength: n }),
  I64: (n) => fc.bigInt64Array({ minLength: n, maxLength: n }),
  U64: (n) => fc.bigUint64Array({ minLength: n, maxLength: n }),
  I32: (n) => fc.int32Array({ minLength: n, maxLength: n }),
  U32: (n) => fc.uint32Array({ minLength: n, maxLength: n }),
  I16: (n) => fc.int16Array({ minLength: n, maxLength: n }),
  U16: (n) => fc.uint16Array({ minLength: n, maxLength: n }) as never,
  I8: (n) => fc.int8Array({ minLength: n, maxLength: n }),
  U8: (n) => fc.uint8Array({ minLength: n, maxLength: n }),
  BOOL: (n) => fc.uint8Array({ minLength: n, maxLength: n, max: 1 }),
};
const tensor: fc.Arbitrary<Tensor> = fc
  .record({ dtype: fc.constantFrom(...(Object.keys(DTYPES) as Dtype[])), shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }) })
  .chain(({ dtype, shape }) => DTYPES[dtype](shape.reduce((a, b) => a * b, 1)).map((data) => ({ dtype, shape, data })));
const tensorName = fc.oneof(fc.string({ maxLength: 8, unit: "binary" }), fc.constantFrom("__proto__", "constructor", "toString", "a.weight", "0"));
const file = fc.record({
  tensors: fc.uniqueArray(fc.tuple(tensorName, tensor), { maxLength: 5, selector: ([n]) => n }).map((es) => {
    const o: Record<string, Tensor> = {};
    for (const [n, t] of es) if (n !== "__metadata__") Object.defineProperty(o, n, { value: t, enumerable: true, writable: true, configurable: true });
    return o;
  }),
  metadata: fc.option(
    fc.uniqueArray(fc.tuple(fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom("__proto__", "format")), fc.string({ maxLength: 10, unit: "binary" })), { maxLength: 3, selector: ([k]) => k }).map((es) => {
      const o: Record<string, string> = {};
      for (const [k, v] of es) Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
      return o;
    }),
    { nil: undefined },
  ),
});

const bytesOf = (d: Tensor["data"]) => Array.from(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
const plain = (f: { tensors: Record<string, Tensor>; metadata?: Record<string, string> }) => ({
  tensors: Object.entries(f.tensors).map(([n, t]) => [n, t.dtype, t.shape, t.data.constructor.name, bytesOf(t.data)]).sort((a, b) => ((a[0] as string) < (b[0] as string) ? -1 : 1)),
  metadata: f.metadata === undefined ? undefined : Object.entries(f.metadata).sort(),
});

const named = (e: Error) => e.message.startsWith("safetensors: ");

test("safetensors: serialize → deserialize round-trips (dtypes, shapes, names, metadata)", async () => {
  await fc.assert(
    fc.asyncProperty(file, async (f) => {
      const o = await attempt(() => deserialize(serialize(f.tensors, f.metadata)));
      if (!o.ok) return verdict("safetensors valid", "wrong:valid file rejected", plain(f), String((o.error as Error)?.message));
      judge("safetensors valid", o, named, plain(f));
      assert.equal(plain(o.value as never), plain(f));
    }),
    params(2),
  );
});

/** Rebuild a file with a new header text (length field and space padding recomputed) and the same data. */
function withHeader(bytes: Uint8Array, header: string): Uint8Array {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const json = new TextEncoder().encode(header);
  const padded = new Uint8Array(Math.ceil(json.length / 8) * 8).fill(0x20);
  padded.set(json);
  const len = new Uint8Array(8);
  new DataView(len.buffer).setBigUint64(0, BigInt(padded.length), true);
  return concat([len, padded, bytes.subarray(8 + n)]);
}

const lengthField = fc.constantFrom(0n, 1n, 2n, 7n, 2n ** 32n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n, 100_000_001n);

test("safetensors: mutated files give tensors or an Error starting \"safetensors: \"", async () => {
  await fc.assert(
    fc.asyncProperty(file, fc.oneof(fc.record({ kind: fc.constant("bytes" as const), m: byteMutations }), fc.record({ kind: fc.constant("header" as const), m: jsonMutations }), fc.record({ kind: fc.constant("length" as const), m: lengthField })), async (f, mut) => {
      let bytes = serialize(f.tensors, f.metadata);
      let repro: unknown;
      if (mut.kind === "bytes") bytes = mutateBytes(bytes, mut.m);
      else if (mut.kind === "length") new DataView(bytes.buffer).setBigUint64(0, mut.m, true);
      else {
        const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
        const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
        const text = jsonText(mutateJson(header, mut.m));
        bytes = withHeader(bytes, text);
        repro = text;
      }
      repro ??= { bytes: Array.from(bytes.subarray(0, 400)), length: bytes.length };
      const o = await attempt(() => deserialize(bytes));
      judge("safetensors mutated", o, named, repro);
    }),
    params(3),
  );
});

test.run();
