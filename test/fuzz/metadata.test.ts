// Fuzz the mtl-wasm metadata of an exported ONNX model (modelMeta / modelMetaFromBytes): the export's metadata reads
// back as its spec and preprocessing; mutated metadata (JSON with wrong types, extreme numbers, deep nesting, deleted
// keys, truncated or garbled text, missing / duplicated entries) gives a ModelMeta whose preprocessing is usable, or an
// Error naming the file (or a SpecError naming the JSON path, or an OnnxDecodeError for corrupt bytes), in budget.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { fc, params, attempt, judge, verdict, byteMutations, mutateBytes, jsonMutations, mutateJson, jsonText, textMutation, mutateText } from "./fuzz.ts";
import { decodeModel, encodeModel, type ModelProto } from "../../src/onnx/model.ts";
import { OnnxDecodeError } from "../../src/onnx/proto.ts";
import { SpecError } from "../../src/model/spec.ts";
import { encodeRows, modelMeta, modelMetaFromBytes, type ModelMeta } from "../../src/infer/rows.ts";
import { exportedModel, spec, pre } from "./model.ts";

const NAME = "fuzz/exported-3.onnx";
const BYTES = await exportedModel();
const PROTO = decodeModel(BYTES);
const KEYS = ["mtl.format", "mtl.spec", "mtl.preprocessing", "mtl.inputs"];
const ROWS = [{ a: 1, b: "2", c: null, colour: "red", school: "s1" }];

const named = (e: Error) => e.message.includes(NAME) || e instanceof OnnxDecodeError || (e instanceof SpecError && e.path.length > 0);

/** Structural checks of accepted metadata: what encodeRows and the engines rely on. */
function malformed(m: ModelMeta): string | null {
  const p = m.pre as unknown as Record<string, unknown>;
  if (!p || typeof p !== "object") return "preprocessing is not an object";
  if (!Array.isArray(p.numeric) || p.numeric.length !== m.spec.inputs.numeric.length) return "preprocessing.numeric does not match spec.inputs.numeric";
  for (const s of p.numeric as { column: unknown; mean: unknown; std: unknown }[]) {
    if (!s || typeof s.column !== "string" || typeof s.mean !== "number" || !Number.isFinite(s.mean) || typeof s.std !== "number" || !(s.std > 0) || !Number.isFinite(s.std)) return `preprocessing.numeric entry ${JSON.stringify(s)?.slice(0, 80)} is not {column, finite mean, finite std > 0}`;
  }
  if (!Array.isArray(p.categorical) || p.categorical.length !== m.spec.inputs.categorical.length) return "preprocessing.categorical does not match spec.inputs.categorical";
  for (const c of p.categorical as { column: unknown; vocab: unknown }[]) if (!c || typeof c.column !== "string" || !Array.isArray(c.vocab) || !c.vocab.every((v) => typeof v === "string")) return "preprocessing.categorical entry is not {column, vocab: string[]}";
  if (!Array.isArray(p.tasks) || p.tasks.length !== m.spec.tasks.length) return "preprocessing.tasks does not match spec.tasks";
  if (!m.inputs || typeof m.inputs !== "object" || !Object.values(m.inputs).every((v) => Array.isArray(v) && v.every((c) => typeof c === "string"))) return "mtl.inputs is not {input: string[]}";
  return null;
}

test("metadata: the export's metadata reads back as its spec and preprocessing", async () => {
  const m = modelMetaFromBytes(BYTES, NAME);
  assert.equal(m.spec, spec);
  assert.equal(m.pre, pre);
  assert.is(malformed(m), null);
});

type Mut = { kind: "json"; key: number; m: Parameters<typeof mutateJson>[1] } | { kind: "text"; key: number; m: Parameters<typeof mutateText>[1] } | { kind: "drop"; key: number } | { kind: "dup"; key: number; value: string } | { kind: "bytes"; m: Parameters<typeof mutateBytes>[1] };
const mutation: fc.Arbitrary<Mut> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("json" as const), key: fc.integer({ min: 1, max: 3 }), m: jsonMutations }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("text" as const), key: fc.nat(3), m: fc.array(textMutation, { minLength: 1, maxLength: 2 }) }) },
  fc.record({ kind: fc.constant("drop" as const), key: fc.nat(3) }),
  fc.record({ kind: fc.constant("dup" as const), key: fc.nat(3), value: fc.constantFrom("", "{}", "null", "[]", "1e400") }),
  fc.record({ kind: fc.constant("bytes" as const), m: byteMutations }),
);

test("metadata: mutated metadata gives usable metadata or an Error naming the file / JSON path", async () => {
  await fc.assert(
    fc.asyncProperty(mutation, async (mut) => {
      let bytes: Uint8Array;
      let repro: unknown = mut;
      if (mut.kind === "bytes") bytes = mutateBytes(BYTES, mut.m);
      else {
        const model: ModelProto = { ...PROTO, metadataProps: PROTO.metadataProps.map((e) => ({ ...e })) };
        const i = model.metadataProps.findIndex((e) => e.key === KEYS[mut.key]);
        const e = model.metadataProps[i];
        if (mut.kind === "json") e.value = jsonText(mutateJson(JSON.parse(e.value), mut.m));
        else if (mut.kind === "text") e.value = mutateText(e.value, mut.m);
        else if (mut.kind === "drop") model.metadataProps.splice(i, 1);
        else model.metadataProps.push({ key: KEYS[mut.key], value: mut.value });
        repro = mut.kind === "json" || mut.kind === "text" ? { key: KEYS[mut.key], value: e.value } : mut;
        bytes = encodeModel(model);
      }
      const o = await attempt(() => modelMetaFromBytes(bytes, NAME));
      if (judge("metadata mutated", o, named, repro) !== "value" || !o.ok) return;
      const meta = o.value as ModelMeta;
      const bad = malformed(meta);
      if (bad) return verdict("metadata mutated", "wrong:malformed metadata accepted", repro, bad);
      // Accepted metadata must encode rows (or name the row / column at fault).
      const enc = await attempt(() => encodeRows(meta, ROWS));
      judge("metadata mutated encodeRows", enc, (e) => /row \d|column|input/.test(e.message), repro);
    }),
    params(3),
  );
});

// modelMeta on an in-memory proto (no bytes): same contract.
test("metadata: modelMeta on a proto without mtl metadata names the file", () => {
  assert.throws(() => modelMeta({ ...PROTO, metadataProps: [] }, NAME), (e: Error) => e.message.includes(NAME));
});

test.run();
