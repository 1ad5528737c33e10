// The session.run contract (src/infer/session.ts, src/infer/feeds.ts) is one contract for both engines: the same
// list of bad and edge inputs goes through `ort` (onnxruntime-web) and `mtl` (our kernels), and each gives the same
// outcome — the same outputs within 1e-5, or an error with the same message, pinned here. Also: an empty batch
// runs neither engine; corrupt metadata JSON and ONNX decode errors name the file (and the metadata key).
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as ort from "onnxruntime-web";
import { setup, Rng } from "../helpers.ts";
import { validateSpec, type ModelSpec } from "../../src/model/spec.ts";
import { Model } from "../../src/model/model.ts";
import type { Preprocessing } from "../../src/data/preprocess.ts";
import { exportOnnx } from "../../src/onnx/export.ts";
import { decodeModel, encodeModel } from "../../src/onnx/model.ts";
import { createSession, type RunOptions, type Session } from "../../src/infer/session.ts";
import type { Kernels } from "../../src/runtime/load.ts";

const { k } = await setup();

const spec: ModelSpec = validateSpec({
  inputs: { numeric: ["a", "b", "c"], categorical: [{ column: "colour", dim: 3 }, { column: "size", dim: 2 }] },
  architecture: { type: "hps", layers: [{ units: 8, activation: "tanh", layernorm: true }] },
  tasks: [
    { name: "bin", type: "binary", label: "yb", tower: [{ units: 4, activation: "gelu" }] },
    { name: "cls", type: "multiclass", label: "yc", classes: ["p", "q", "r"] },
    { name: "grp", type: "regression", label: "yg", group_by: "school" },
  ],
});
const pre: Preprocessing = {
  numeric: spec.inputs.numeric.map((column, i) => ({ column, mean: 0.1 * i, std: 1 + 0.5 * i })),
  categorical: [{ column: "colour", vocab: ["red", "green", "blue", "teal"] }, { column: "size", vocab: ["s", "m", "l"] }],
  tasks: spec.tasks.map((t) => ({ name: t.name, classes: t.classes, groups: t.group_by ? ["s1", "s2", "s3"] : null, target: t.type === "regression" ? [{ mean: 3, std: 2 }] : null })),
};
// colour: vocabulary 4 → indices [0, 5); size: 3 → [0, 4); school: 3 groups → [0, 3).

const bytes = (() => {
  const m = new Model(spec, pre, k);
  try {
    m.initParams(3);
    const rng = new Rng(11);
    const w = m.getWeights();
    for (const v of Object.values(w)) v.forEach((x, i) => (v[i] = x + 0.2 * rng.normal()));
    m.setWeights(w);
    return exportOnnx(m);
  } finally {
    m.dispose();
  }
})();
/** The same graph without mtl metadata: a "foreign" ONNX model. */
const foreign = (() => {
  const m = decodeModel(bytes);
  m.metadataProps = [];
  return encodeModel(m);
})();

const NUM = [1.5, -2, 0.25, 0, 3, -1, 10, 0.5, 2];
const CAT = [1, 2, 4, 3, 0, 1];
const GRP = [0, 2, 1];
const numeric = (data: unknown = Float32Array.from(NUM), dims: unknown = [3, 3]) => ({ type: "float32", data, dims });
const categorical = (data: unknown = BigInt64Array.from(CAT.map(BigInt)), dims: unknown = [3, 2]) => ({ type: "int64", data, dims });
const groups = (data: unknown = BigInt64Array.from(GRP.map(BigInt)), dims: unknown = [3, 1]) => ({ type: "int64", data, dims });
const feeds = (over: Record<string, unknown> = {}) => ({ numeric: numeric(), categorical: categorical(), groups: groups(), ...over });
const cat = (values: number[]) => categorical(BigInt64Array.from(values.map(BigInt)));
const row = { a: "1.5", b: "-2", c: "0.25", colour: "red", size: "l", school: "s1" };
/** `row` without some of its keys. */
const without = (...keys: string[]) => Object.fromEntries(Object.entries(row).filter(([key]) => !keys.includes(key)));
const ABSENT = 'Pass null for a missing value, or run(rows, { missing: "impute" }) to read absent columns as missing';

type Expect = "same as ok" | "ok" | "empty" | "nan row 1" | string;
const M = "model.onnx";
const cases: { name: string; foreign?: boolean; input: () => unknown; opts?: RunOptions; expect: Expect }[] = [
  { name: "valid tensors", input: () => feeds(), expect: "ok" },
  { name: "categorical index −1", input: () => feeds({ categorical: cat([1, 2, 4, -1, 0, 1]) }), expect: `${M}: input "categorical" row 2, column 1 ("size"): index -1 is outside [0, 4)` },
  { name: "categorical index = vocabulary size", input: () => feeds({ categorical: cat([5, 2, 4, 3, 0, 1]) }), expect: `${M}: input "categorical" row 1, column 0 ("colour"): index 5 is outside [0, 5)` },
  { name: "categorical index = vocabulary size (size)", input: () => feeds({ categorical: cat([1, 2, 4, 3, 0, 4]) }), expect: `${M}: input "categorical" row 3, column 1 ("size"): index 4 is outside [0, 4)` },
  { name: "group index = number of groups", input: () => feeds({ groups: groups(BigInt64Array.of(0n, 3n, 1n)) }), expect: `${M}: input "groups" row 2, column 0 ("school", task grp): group 3 is outside [0, 3)` },
  { name: "group index −1", input: () => feeds({ groups: groups(BigInt64Array.of(0n, 1n, -1n)) }), expect: `${M}: input "groups" row 3, column 0 ("school", task grp): group -1 is outside [0, 3)` },
  { name: "empty batch (tensors)", input: () => feeds({ numeric: numeric(new Float32Array(0), [0, 3]), categorical: categorical(new BigInt64Array(0), [0, 2]), groups: groups(new BigInt64Array(0), [0, 1]) }), expect: "empty" },
  { name: "empty batch (rows)", input: () => [], expect: "empty" },
  { name: "Float64Array for float32", input: () => feeds({ numeric: numeric(Float64Array.from(NUM)) }), expect: `${M}: input "numeric" is a Float64Array, expected float32 [N, 3] as a Float32Array (Float32Array.from(data) rounds it to float32)` },
  { name: "number[] for float32", input: () => feeds({ numeric: numeric([...NUM]) }), expect: `${M}: input "numeric" is an array, expected float32 [N, 3] as a Float32Array (Float32Array.from(data) rounds it to float32)` },
  { name: "Int32Array for int64", input: () => feeds({ categorical: categorical(Int32Array.from(CAT)), groups: groups(Int32Array.from(GRP)) }), expect: "same as ok" },
  { name: "number[] for int64", input: () => feeds({ categorical: categorical([...CAT]), groups: groups([...GRP]) }), expect: "same as ok" },
  { name: "bigint[] for int64", input: () => feeds({ categorical: categorical(CAT.map(BigInt)) }), expect: "same as ok" },
  { name: "non-integer in number[] for int64", input: () => feeds({ categorical: categorical([1, 2, 4, 1.5, 0, 1]) }), expect: `${M}: input "categorical" element 3 is a number (1.5), expected an integer (int64 [N, 2])` },
  { name: "Int32Array index out of range", input: () => feeds({ categorical: categorical(Int32Array.of(1, 2, 4, 3, -7, 1)) }), expect: `${M}: input "categorical" row 3, column 0 ("colour"): index -7 is outside [0, 5)` },
  { name: "Float32Array for int64", input: () => feeds({ categorical: categorical(Float32Array.from(CAT)) }), expect: `${M}: input "categorical" is a Float32Array, expected int64 [N, 2] as a BigInt64Array, an Int32Array or an array of integers` },
  { name: "non-array data", input: () => feeds({ numeric: numeric("1,2,3") }), expect: `${M}: input "numeric" is a string ("1,2,3"), expected float32 [N, 3] as a Float32Array` },
  { name: "wrong dims (width)", input: () => feeds({ numeric: numeric(Float32Array.from(NUM), [1, 9]) }), expect: `${M}: input "numeric" has shape [1,9] with 9 values, expected float32 [N, 3] (N = 1)` },
  { name: "wrong dims (batch differs between inputs)", input: () => feeds({ numeric: numeric(new Float32Array(6), [2, 3]) }), expect: `${M}: input "categorical" has shape [3,2] with 6 values, expected int64 [N, 2] (N = 2)` },
  { name: "dims/data length mismatch", input: () => feeds({ numeric: numeric(new Float32Array(8), [3, 3]) }), expect: `${M}: input "numeric" has shape [3,3] with 8 values, expected float32 [N, 3]` },
  { name: "non-integer dims", input: () => feeds({ numeric: numeric(Float32Array.from(NUM), [1.5, 6]) }), expect: `${M}: input "numeric" has dims [1.5, 6], expected an array of sizes for float32 [N, 3]` },
  { name: "wrong type field", input: () => feeds({ numeric: { ...numeric(), type: "float64" } }), expect: `${M}: input "numeric" has type "float64", expected float32 [N, 3]` },
  { name: "missing input", input: () => ({ numeric: numeric(), categorical: categorical() }), expect: `${M}: missing input "groups" (int64 [N, 1]); inputs are numeric, categorical, groups` },
  { name: "unknown input", input: () => feeds({ numerik: numeric() }), expect: `${M}: unknown input "numerik"; inputs are numeric, categorical, groups` },
  { name: "input that is not a tensor", input: () => feeds({ numeric: Float32Array.from(NUM) }), expect: `${M}: input "numeric" is a Float32Array, expected a tensor { type, data, dims } of float32 [N, 3]` },
  { name: "null instead of input", input: () => null, expect: `${M}: run() takes rows (an array of objects keyed by column) or tensors (an object keyed by input name: numeric, categorical, groups), not null` },
  { name: "[null]", input: () => [null], expect: `${M}: row 1 is null, expected an object keyed by column` },
  { name: '["str"]', input: () => ["str"], expect: `${M}: row 1 is a string ("str"), expected an object keyed by column` },
  { name: "row array inside rows", input: () => [row, [1, 2]], expect: `${M}: row 2 is an array, expected an object keyed by column` },
  { name: "rows", input: () => [row, { ...row, colour: "mauve", school: "s3" }], expect: "ok" },
  { name: "row without a numeric column", input: () => [row, without("b")], expect: `${M}: row 2 has no column "b". ${ABSENT}` },
  { name: "row with a misspelled column", input: () => [{ ...without("colour"), Colour: "red" }], expect: `${M}: row 1 has no column "colour" (it has "Colour": did you mean it?). ${ABSENT}` },
  { name: "undefined is absent", input: () => [row, row, { ...row, size: undefined }], expect: `${M}: row 3 has no column "size". ${ABSENT}` },
  { name: "rows without several columns", input: () => [row, without("a", "school"), without("c")], expect: `${M}: row 2 has no 2 of the model's 6 input columns: "a", "school"; 2 of the 3 rows lack input columns. ${ABSENT}` },
  { name: "null is a missing value", input: () => [row, { ...row, b: null, colour: null }], expect: "ok" },
  { name: "absent columns imputed on request", input: () => [row, without("b", "colour")], opts: { missing: "impute" }, expect: "ok" },
  { name: "missing option misspelled", input: () => [row], opts: { missing: "imputed" } as unknown as RunOptions, expect: `${M}: option missing must be "error" or "impute", not "imputed"` },
  { name: "NaN in a float input passes through", input: () => feeds({ numeric: numeric(Float32Array.from(NUM, (v, i) => (i === 4 ? NaN : v))) }), expect: "nan row 1" },
  { name: "±Infinity in a float input passes through", input: () => feeds({ numeric: numeric(Float32Array.from(NUM, (v, i) => (i === 0 ? Infinity : i === 8 ? -Infinity : v))) }), expect: "ok" },
  { name: "rows for a model without metadata", foreign: true, input: () => [row], expect: `${M}: rows need an mtl-wasm export (vocabularies in its metadata); pass tensors for other models` },
  { name: "tensors for a model without metadata", foreign: true, input: () => feeds(), expect: "same as ok" },
  { name: "model without metadata: index −1 feeding an embedding table", foreign: true, input: () => feeds({ categorical: cat([1, 2, 4, -1, 0, 1]) }), expect: `${M}: input "categorical" row 2, column 1: index -1 is outside [0, 4)` },
];

type Outcome = { ok: Record<string, Float32Array> } | { error: string };
const outcome = (s: Session, input: unknown, opts?: RunOptions): Promise<Outcome> =>
  s.run(input as Parameters<Session["run"]>[0], opts).then((ok) => ({ ok }), (e: Error) => ({ error: `${e.constructor.name}: ${e.message}` }));

const close = (a: Float32Array, b: Float32Array, what: string) => {
  assert.is(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(a[i]) || Number.isNaN(b[i])) assert.ok(Number.isNaN(a[i]) && Number.isNaN(b[i]), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
    else assert.ok(Math.abs(a[i] - b[i]) <= 1e-5, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
  }
};

test("every bad and edge input has one outcome on both engines", async () => {
  const sessions = {
    mtl: { ort: await createSession(bytes, { engine: "ort" }), mtl: await createSession(bytes, { engine: "mtl", kernels: k }) },
    foreign: { ort: await createSession(foreign, { engine: "ort" }), mtl: await createSession(foreign, { engine: "mtl", kernels: k }) },
  };
  const ref = await sessions.mtl.ort.run(feeds() as never);
  assert.equal(Object.keys(ref), ["bin", "cls", "grp"]);
  for (const c of cases) {
    const pair = c.foreign ? sessions.foreign : sessions.mtl;
    const a = await outcome(pair.ort, c.input(), c.opts), b = await outcome(pair.mtl, c.input(), c.opts);
    if ("error" in a || "error" in b) {
      assert.ok("error" in a && "error" in b, `${c.name}: ort ${JSON.stringify("error" in a ? a.error : "ok")}, mtl ${JSON.stringify("error" in b ? b.error : "ok")}`);
      assert.is(b.error, a.error, `${c.name}: the engines' errors differ`);
      assert.is(a.error, `Error: ${c.expect}`, `${c.name}`);
      continue;
    }
    assert.equal(Object.keys(b.ok), Object.keys(a.ok), `${c.name}: output names`);
    for (const o of Object.keys(a.ok)) close(b.ok[o], a.ok[o], `${c.name}: ${o} (mtl vs ort)`);
    if (c.expect === "same as ok") for (const o of Object.keys(ref)) close(a.ok[o], ref[o], `${c.name}: ${o} vs valid tensors`);
    else if (c.expect === "empty") for (const o of Object.keys(ref)) assert.equal(a.ok[o], new Float32Array(0), `${c.name}: ${o}`);
    else if (c.expect === "nan row 1") {
      for (const [o, out] of Object.entries(a.ok)) {
        const w = out.length / 3;
        assert.ok(out.subarray(w, 2 * w).every(Number.isNaN), `${c.name}: ${o} row 2 is NaN`);
        close(out.subarray(0, w), ref[o].subarray(0, w), `${c.name}: ${o} row 1`);
        close(out.subarray(2 * w), ref[o].subarray(2 * w), `${c.name}: ${o} row 3`);
      }
    } else assert.is(c.expect, "ok", `${c.name}: expected an error, got outputs`);
  }
  for (const pair of Object.values(sessions)) for (const s of Object.values(pair)) await s.dispose();
});

test("an empty batch runs neither engine", async () => {
  let ortRuns = 0, kernelCalls = 0;
  const countingOrt = {
    env: ort.env,
    Tensor: ort.Tensor,
    InferenceSession: {
      async create(...a: Parameters<typeof ort.InferenceSession.create>) {
        const s = await ort.InferenceSession.create(...a);
        return { inputNames: s.inputNames, outputNames: s.outputNames, run: (f: ort.InferenceSession.FeedsType) => (ortRuns++, s.run(f)), release: () => s.release() };
      },
    },
  } as unknown as typeof ort;
  const counted = Object.assign(Object.create(null), k) as Record<string, unknown>;
  for (const [n, f] of Object.entries(k)) if (typeof f === "function" && n !== "heap_base" && n !== "abi_version") counted[n] = (...args: number[]) => (kernelCalls++, (f as (...a: number[]) => number)(...args));
  const viaOrt = await createSession(bytes, { engine: "ort", ort: countingOrt });
  const viaMtl = await createSession(bytes, { engine: "mtl", kernels: counted as unknown as Kernels });
  const before = kernelCalls;
  for (const s of [viaOrt, viaMtl]) {
    const out = await s.run([]);
    assert.equal(Object.keys(out), ["bin", "cls", "grp"]);
    for (const v of Object.values(out)) assert.ok(v instanceof Float32Array && v.length === 0);
  }
  assert.is(ortRuns, 0, "onnxruntime-web ran on an empty batch");
  assert.is(kernelCalls, before, "the mtl engine ran kernels on an empty batch");
  await viaOrt.run([row]);
  await viaMtl.run([row]);
  assert.is(ortRuns, 1);
  assert.ok(kernelCalls > before, "the counting kernels are the ones the mtl engine calls");
  await viaOrt.dispose();
  await viaMtl.dispose();
});

test("corrupt metadata JSON and ONNX decode errors name the file (and the key) on both engines", async () => {
  const withMeta = (key: string, value: string | null) => {
    const m = decodeModel(bytes);
    m.metadataProps = m.metadataProps.flatMap((e) => (e.key !== key ? [e] : value === null ? [] : [{ key, value }]));
    return encodeModel(m);
  };
  const err = (b: Uint8Array, engine: "ort" | "mtl", name?: string) =>
    createSession(b, { engine, kernels: k, name }).then(() => "no error", (e: Error) => `${e.constructor.name}: ${e.message}`);
  for (const engine of ["ort", "mtl"] as const) {
    for (const key of ["mtl.spec", "mtl.preprocessing", "mtl.inputs"]) {
      const e = await err(withMeta(key, '{"inputs": '), engine, "m.onnx");
      assert.match(e, new RegExp(`^Error: m\\.onnx: metadata "${key.replace(".", "\\.")}" is not valid JSON \\(.+\\)$`), `${engine}, ${key}: ${e}`);
      assert.is(await err(withMeta(key, null), engine), `Error: model.onnx: metadata "${key}" is missing (mtl.format is present)`, `${engine}, ${key} missing`);
    }
    assert.is(await err(withMeta("mtl.preprocessing", "[1, 2]"), engine), 'Error: model.onnx: metadata "mtl.preprocessing" is not preprocessing (an object with numeric, categorical and tasks lists)');
    assert.match(await err(withMeta("mtl.spec", '{"inputs": {}}'), engine), /^Error: model\.onnx: metadata "mtl\.spec" is not a valid spec: /);
    const cut = await err(bytes.subarray(0, bytes.length >> 1), engine, "models/x.onnx");
    assert.match(cut, /^OnnxDecodeError: models\/x\.onnx: ONNX: /, `${engine}: ${cut}`);
    assert.is(await err(new Uint8Array(0), engine), "OnnxDecodeError: model.onnx: ONNX: not an ONNX model (the input is empty)");
  }
});

test.run();
