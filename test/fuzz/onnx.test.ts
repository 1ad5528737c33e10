// Fuzz the ONNX decoder: generated models (every supported tensor type, attributes of every supported kind, symbolic
// / fixed / unknown dims, metadata) round-trip encode → decode; mutated bytes (bit flips, truncation, inserted bytes,
// huge varint lengths, swapped and duplicated fields), of generated models and of a real mtl-wasm export, decode or
// fail with an OnnxDecodeError ("ONNX: …", with the byte offset and field path) within the time budget; a model that
// decodes re-encodes (or fails with a named encodeModel error) and decodes to the same model again.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { fc, params, attempt, judge, verdict, byteMutations, mutateBytes, concat } from "./fuzz.ts";
import { DataType, decodeModel, encodeModel, type AttributeProto, type ModelProto, type TensorProto } from "../../src/onnx/model.ts";
import { OnnxDecodeError } from "../../src/onnx/proto.ts";
import { exportedModel } from "./model.ts";

const n = (dims: number[]) => dims.reduce((a, b) => a * b, 1);
const dims = fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 });
const TENSOR: Record<number, (k: number) => fc.Arbitrary<TensorProto["data"]>> = {
  [DataType.FLOAT]: (k) => fc.float32Array({ minLength: k, maxLength: k }),
  [DataType.DOUBLE]: (k) => fc.float64Array({ minLength: k, maxLength: k }),
  [DataType.INT64]: (k) => fc.bigInt64Array({ minLength: k, maxLength: k }),
  [DataType.INT32]: (k) => fc.int32Array({ minLength: k, maxLength: k }),
  [DataType.INT8]: (k) => fc.int8Array({ minLength: k, maxLength: k }),
  [DataType.UINT8]: (k) => fc.uint8Array({ minLength: k, maxLength: k }),
  [DataType.BOOL]: (k) => fc.uint8Array({ minLength: k, maxLength: k, max: 1 }),
};
const name = fc.string({ maxLength: 6, unit: "binary" });
const tensor: fc.Arbitrary<TensorProto> = fc
  .record({ name, dataType: fc.constantFrom(...Object.keys(TENSOR).map(Number)), dims })
  .chain((t) => TENSOR[t.dataType](n(t.dims)).map((data) => ({ ...t, data })));
const f32 = fc.float({ noNaN: true });
const attribute: fc.Arbitrary<AttributeProto> = fc.oneof(
  fc.record({ name: fc.string({ minLength: 1, maxLength: 5 }), type: fc.constant("FLOAT" as const), value: f32 }),
  fc.record({ name: fc.string({ minLength: 1, maxLength: 5 }), type: fc.constant("INT" as const), value: fc.maxSafeInteger() }),
  fc.record({ name: fc.string({ minLength: 1, maxLength: 5 }), type: fc.constant("STRING" as const), value: name }),
  fc.record({ name: fc.string({ minLength: 1, maxLength: 5 }), type: fc.constant("TENSOR" as const), value: tensor }),
  fc.record({ name: fc.string({ minLength: 1, maxLength: 5 }), type: fc.constant("FLOATS" as const), value: fc.array(f32, { maxLength: 4 }) }),
  fc.record({ name: fc.string({ minLength: 1, maxLength: 5 }), type: fc.constant("INTS" as const), value: fc.array(fc.maxSafeInteger(), { maxLength: 4 }) }),
  fc.record({ name: fc.string({ minLength: 1, maxLength: 5 }), type: fc.constant("STRINGS" as const), value: fc.array(name, { maxLength: 3 }) }),
);
const valueInfo = fc.record({ name, type: fc.record({ elemType: fc.constantFrom(1, 6, 7, 9), shape: fc.array(fc.oneof(fc.nat(1 << 20), fc.constantFrom("N", "batch"), fc.constant(null)), { maxLength: 3 }) }, { requiredKeys: ["elemType"] }) }, { requiredKeys: ["name"] });
const node = fc.record({
  opType: fc.constantFrom("Gemm", "Relu", "Add", "Custom"),
  domain: fc.constantFrom("", "ai.onnx.ml"),
  name,
  input: fc.array(name, { maxLength: 3 }),
  output: fc.array(name, { maxLength: 2 }),
  attribute: fc.array(attribute, { maxLength: 3 }),
  docString: name,
});
export const modelArb: fc.Arbitrary<ModelProto> = fc.record({
  irVersion: fc.integer({ min: 3, max: 10 }),
  opsetImport: fc.array(fc.record({ domain: fc.constantFrom("", "ai.onnx.ml"), version: fc.integer({ min: 1, max: 21 }) }), { minLength: 1, maxLength: 2 }),
  producerName: name,
  producerVersion: name,
  domain: name,
  modelVersion: fc.nat(),
  docString: name,
  graph: fc.record({ name, node: fc.array(node, { maxLength: 3 }), initializer: fc.array(tensor, { maxLength: 3 }), input: fc.array(valueInfo, { maxLength: 3 }), output: fc.array(valueInfo, { maxLength: 2 }), valueInfo: fc.array(valueInfo, { maxLength: 2 }), docString: name }),
  metadataProps: fc.array(fc.record({ key: name, value: name }), { maxLength: 3 }),
});

/** A model as plain JSON: typed arrays as constructor name + bytes (so -0, NaN payloads and BigInts compare exactly). */
export function plain(m: unknown): string {
  return JSON.stringify(m, (_k, v) => (ArrayBuffer.isView(v) ? [v.constructor.name, Array.from(new Uint8Array(v.buffer, v.byteOffset, v.byteLength))] : typeof v === "number" && Object.is(v, -0) ? "-0" : v));
}

const named = (e: Error) => e instanceof OnnxDecodeError && e.message.startsWith("ONNX: ");
const REAL = await exportedModel();

test("onnx: encode → decode round-trips generated models", async () => {
  await fc.assert(
    fc.asyncProperty(modelArb, async (m) => {
      const o = await attempt(() => decodeModel(encodeModel(m)));
      if (!o.ok) return verdict("onnx valid", "wrong:valid model rejected", plain(m), String((o.error as Error)?.message));
      judge("onnx valid", o, named, plain(m));
      assert.is(plain(o.value), plain(m));
    }),
    params(2),
  );
});

/** Field tags with absurd lengths or values, spliced in: LEN fields claiming 2^32 / 2^53 bytes, 10-byte varints. */
const hostile = fc.constantFrom(
  Uint8Array.of(0x3a, 0xff, 0xff, 0xff, 0xff, 0x0f), // graph (7, LEN) of 2^32 - 1 bytes
  Uint8Array.of(0x3a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f), // 2^53-ish
  Uint8Array.of(0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), // ir_version = -1 (10-byte varint)
  Uint8Array.of(0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01), // 11-byte varint
  Uint8Array.of(0x0a, 0x02, 0x08, 0x07), // a packed dims field in the wrong place
  Uint8Array.of(0x0b), // group start
  Uint8Array.of(0x00), // field 0
  Uint8Array.of(0x0f), // wire type 7
);

test("onnx: mutated models decode or fail with an OnnxDecodeError; decoded models re-encode", async () => {
  await fc.assert(
    fc.asyncProperty(fc.oneof(modelArb.map(encodeModel), fc.constant(REAL)), byteMutations, fc.option(fc.tuple(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), hostile)), async (bytes, muts, splice) => {
      let b = mutateBytes(bytes, muts);
      if (splice) {
        const at = Math.floor(splice[0] * (b.length + 1));
        b = concat([b.subarray(0, at), splice[1], b.subarray(at)]);
      }
      const repro = { bytes: b.length > 600 ? `${b.length} bytes` : Array.from(b), muts, splice };
      const o = await attempt(() => decodeModel(b));
      if (judge("onnx mutated", o, named, repro) !== "value" || !o.ok) return;
      const re = await attempt(() => encodeModel(o.value as ModelProto));
      if (judge("onnx mutated re-encode", re, (e) => e.message.startsWith("encodeModel: "), repro) !== "value" || !re.ok) return;
      const again = await attempt(() => decodeModel(re.value as Uint8Array));
      if (!again.ok || plain(again.value) !== plain(o.value)) verdict("onnx mutated re-encode", "wrong:decode(encode(decode(x))) differs from decode(x)", repro, again.ok ? "" : String((again.error as Error).message));
    }),
    params(3),
  );
});

test.run();
