// GraphBuilder + encodeModel/decodeModel, validated three ways for each model: (1) decode(encode(m)) deep-equals m,
// (2) onnxruntime-web runs it and matches a float64 reference computed here, (3) Debian's python3-onnx checker
// (full_check + strict shape inference) accepts it when /usr/bin/python3 has onnx. Also: decoding python-written
// models (typed data fields, unpacked repeated fields) and decode errors on truncated / random / corrupted bytes.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { skipOrFail } from "../skip.ts";
import { spawnSync } from "node:child_process";
import type * as Ort from "onnxruntime-web";
import { attr, GraphBuilder } from "../../src/onnx/builder.ts";
import { DataType, decodeModel, encodeModel, type ModelProto } from "../../src/onnx/model.ts";
import { OnnxDecodeError, Reader, Writer } from "../../src/onnx/proto.ts";
import { checkWithPython } from "./checker.ts";

// ---------------------------------------------------------------------------------------------------------------
// helpers

/** mulberry32: deterministic inputs. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    let t = (s = (s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(12345);
/** Float32Array of n uniform values in [lo, hi). */
const f32 = (n: number, lo = -1, hi = 1) => Float32Array.from({ length: n }, () => lo + (hi - lo) * rand());
const i64 = (n: number, k: number) => BigInt64Array.from({ length: n }, () => BigInt(Math.floor(rand() * k)));

let ort: typeof Ort;
async function session(bytes: Uint8Array): Promise<Ort.InferenceSession> {
  if (!ort) {
    ort = await import("onnxruntime-web");
    ort.env.wasm.numThreads = 1;
  }
  return ort.InferenceSession.create(bytes);
}

type Feed = Record<string, { data: Float32Array | BigInt64Array; dims: number[] }>;
async function run(s: Ort.InferenceSession, feeds: Feed): Promise<Record<string, { data: Float32Array; dims: number[] }>> {
  const f: Record<string, Ort.Tensor> = {};
  for (const [k, v] of Object.entries(feeds)) f[k] = new ort.Tensor(v.data instanceof Float32Array ? "float32" : "int64", v.data, v.dims);
  const out = await s.run(f);
  const res: Record<string, { data: Float32Array; dims: number[] }> = {};
  for (const [k, v] of Object.entries(out)) res[k] = { data: v.data as Float32Array, dims: [...v.dims] };
  return res;
}

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, tol = 1e-5): void {
  assert.is(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i];
    if (!(Math.abs(a - e) <= tol * Math.max(1, Math.abs(e)))) assert.unreachable(`${what}[${i}] = ${a}, expected ${e} (|diff| ${Math.abs(a - e)})`);
  }
}

/** erf in float64 by its Taylor series (|x| < 6, ~1e-13), ±1 beyond. */
function erf(x: number): number {
  if (Math.abs(x) >= 6) return Math.sign(x);
  let term = x, sum = x;
  for (let n = 1; n < 200 && Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

/** Row-major matmul [m,k]·[k,n] in float64. */
function matmul(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number): number[] {
  const out = new Array<number>(m * n).fill(0);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let t = 0; t < k; t++) s += a[i * k + t] * b[t * n + j];
    out[i * n + j] = s;
  }
  return out;
}

/** Round trip: decode(encode(m)) deep-equals m, and re-encoding gives the same bytes. Returns the bytes. */
function roundTrip(model: ModelProto): Uint8Array {
  const bytes = encodeModel(model);
  const back = decodeModel(bytes);
  assert.equal(back, model);
  assert.equal(encodeModel(back), bytes);
  return bytes;
}

function throwsDecode(fn: () => unknown, re: RegExp): string {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof OnnxDecodeError)) throw e;
    assert.match(e.message, re);
    return e.message;
  }
  assert.unreachable(`expected an OnnxDecodeError matching ${re}`);
  return "";
}

/** Every model built here, for the python checker at the end. */
const built: Record<string, Uint8Array> = {};

// ---------------------------------------------------------------------------------------------------------------
// models

function mlp() {
  const W = f32(4 * 3), B = f32(3);
  const g = new GraphBuilder("mlp");
  const x = g.input("X", "float", ["N", 4]);
  const [h] = g.node("MatMul", [x, g.initializer("W", W, [4, 3])]);
  const [hb] = g.node("Add", [h, g.initializer("B", B, [3])]);
  g.node("Relu", [hb], ["Y"], {}, "relu");
  g.output("Y", "float", ["N", 3]);
  g.metadata("mtl.format", "1").metadata("tasks", JSON.stringify(["a", "b"]));
  const model = g.toModel({ producerName: "mtl-wasm", producerVersion: "0.1.0", irVersion: 8, opset: 17 });
  const ref = (X: Float32Array, n: number) => matmul(X, W, n, 4, 3).map((v, i) => Math.max(0, v + B[i % 3]));
  return { model, ref };
}

test("builder: MatMul + Add + Relu with a symbolic batch dim and metadata_props", async () => {
  const { model, ref } = mlp();
  assert.equal(model.metadataProps, [{ key: "mtl.format", value: "1" }, { key: "tasks", value: '["a","b"]' }]);
  assert.equal(model.graph.input[0].type, { elemType: DataType.FLOAT, shape: ["N", 4] });
  assert.equal(model.graph.node.map((n) => n.opType), ["MatMul", "Add", "Relu"]);
  assert.equal(model.opsetImport, [{ domain: "", version: 17 }]);
  assert.is(model.irVersion, 8);
  const bytes = (built.mlp = roundTrip(model));
  const s = await session(bytes);
  assert.equal(s.inputNames, ["X"]);
  assert.equal(s.outputNames, ["Y"]);
  for (const n of [1, 5]) {
    const X = f32(n * 4, -2, 2);
    const { Y } = await run(s, { X: { data: X, dims: [n, 4] } });
    assert.equal(Y.dims, [n, 3]);
    close(Y.data, ref(X, n), `mlp N=${n}`);
  }
});

test("builder: Gemm (transB, alpha, beta) + Sigmoid", async () => {
  const W = f32(3 * 5), C = f32(3);
  const g = new GraphBuilder("gemm");
  g.input("X", "float", ["N", 5]);
  const [z] = g.node("Gemm", ["X", g.initializer("W", W, [3, 5]), g.initializer("C", C, [3])], 1, { transB: 1, alpha: 0.5, beta: attr.float(2) });
  g.node("Sigmoid", [z], ["Y"]);
  g.output("Y", "float", ["N", 3]);
  const model = g.toModel({ producerName: "mtl-wasm" });
  assert.equal(model.graph.node[0].attribute, [
    { name: "transB", type: "INT", value: 1 },
    { name: "alpha", type: "FLOAT", value: 0.5 },
    { name: "beta", type: "FLOAT", value: 2 },
  ]);
  const s = await session((built.gemm = roundTrip(model)));
  const n = 4, X = f32(n * 5);
  const { Y } = await run(s, { X: { data: X, dims: [n, 5] } });
  const expected: number[] = [];
  for (let i = 0; i < n; i++) for (let j = 0; j < 3; j++) {
    let acc = 0;
    for (let t = 0; t < 5; t++) acc += X[i * 5 + t] * W[j * 5 + t];
    expected.push(1 / (1 + Math.exp(-(0.5 * acc + 2 * C[j]))));
  }
  close(Y.data, expected, "gemm");
});

test("builder: Gather (int64 indices) + Concat + Softmax(axis=-1)", async () => {
  const E = f32(10 * 4, -3, 3);
  const g = new GraphBuilder("embed");
  g.input("ids", "int64", ["N", 2]);
  g.input("X", "float", ["N", 2, 4]);
  const [e] = g.node("Gather", [g.initializer("E", E, [10, 4]), "ids"], ["emb"], { axis: 0 });
  const [c] = g.node("Concat", [e, "X"], 1, { axis: -1 });
  g.node("Softmax", [c], ["P"], { axis: -1 });
  g.output("P", "float", ["N", 2, 8]);
  g.output("emb", "float", ["N", 2, 4]);
  const s = await session((built.embed = roundTrip(g.toModel({ producerName: "mtl-wasm" }))));
  const n = 3, ids = i64(n * 2, 10), X = f32(n * 2 * 4, -3, 3);
  const { P, emb } = await run(s, { ids: { data: ids, dims: [n, 2] }, X: { data: X, dims: [n, 2, 4] } });
  assert.equal(P.dims, [n, 2, 8]);
  const eRef: number[] = [], pRef: number[] = [];
  for (let r = 0; r < n * 2; r++) {
    const row = [...E.subarray(Number(ids[r]) * 4, Number(ids[r]) * 4 + 4)];
    eRef.push(...row);
    const cat = [...row, ...X.subarray(r * 4, r * 4 + 4)];
    const m = Math.max(...cat), ex = cat.map((v) => Math.exp(v - m)), z = ex.reduce((a, b) => a + b, 0);
    pRef.push(...ex.map((v) => v / z));
  }
  close(emb.data, eRef, "gather");
  close(P.data, pRef, "softmax");
});

test("builder: LayerNormalization (opset 17) + exact GELU via Erf, Div, Mul, Add, Sub", async () => {
  const D = 6, scale = f32(D, 0.5, 1.5), bias = f32(D, -0.2, 0.2);
  const g = new GraphBuilder("ln_gelu");
  g.input("X", "float", ["N", D]);
  const [h] = g.node("LayerNormalization", ["X", g.initializer("scale", scale, [D]), g.initializer("bias", bias, [D])], 1, { axis: -1, epsilon: 1e-5 });
  const [u] = g.node("Div", [h, g.initializer("sqrt2", new Float32Array([Math.SQRT2]), [])]);
  const [er] = g.node("Erf", [u]);
  const [one] = [g.initializer("one", new Float32Array([1]), [])];
  const [p] = g.node("Add", [er, one]);
  const [hp] = g.node("Mul", [h, p]);
  g.node("Mul", [hp, g.initializer("half", new Float32Array([0.5]), [])], ["G"]);
  g.node("Sub", ["G", "X"], ["R"]);
  g.output("G", "float", ["N", D]);
  g.output("R", "float", ["N", D]);
  const model = g.toModel({ producerName: "mtl-wasm" });
  assert.equal(model.graph.node[0].attribute[1], { name: "epsilon", type: "FLOAT", value: Math.fround(1e-5) });
  const s = await session((built.ln_gelu = roundTrip(model)));
  const n = 5, X = f32(n * D, -3, 3);
  const { G, R } = await run(s, { X: { data: X, dims: [n, D] } });
  const gRef: number[] = [], rRef: number[] = [];
  const sqrt2 = Math.fround(Math.SQRT2), eps = Math.fround(1e-5);
  for (let i = 0; i < n; i++) {
    const row = [...X.subarray(i * D, i * D + D)];
    const mean = row.reduce((a, b) => a + b, 0) / D;
    const varc = row.reduce((a, b) => a + (b - mean) ** 2, 0) / D;
    row.forEach((v, j) => {
      const hv = ((v - mean) / Math.sqrt(varc + eps)) * scale[j] + bias[j];
      const gv = hv * (erf(hv / sqrt2) + 1) * 0.5;
      gRef.push(gv);
      rRef.push(gv - v);
    });
  }
  close(G.data, gRef, "gelu(layernorm)");
  close(R.data, rRef, "sub");
});

test("builder: ReduceSum with axes input, Unsqueeze with axes input, GatherElements, Concat", async () => {
  const g = new GraphBuilder("reduce");
  g.input("X", "float", ["N", 5]);
  g.input("idx", "int64", ["N", 2]);
  const axes = g.initializer("axes", new BigInt64Array([1n]), [1]);
  const [sum] = g.node("ReduceSum", ["X", axes], 1, { keepdims: 0 });
  const [sumK] = g.node("ReduceSum", ["X", axes], ["sum_keep"], { keepdims: 1 });
  const [u] = g.node("Unsqueeze", [sum, axes]);
  const [ge] = g.node("GatherElements", ["X", "idx"], ["picked"], { axis: 1 });
  g.node("Concat", [u, ge, sumK], ["Y"], { axis: 1 });
  g.output("Y", "float", ["N", 4]);
  g.output(sum, "float", ["N"]);
  g.output("picked", "float", ["N", 2]);
  const model = g.toModel({ producerName: "mtl-wasm" });
  const s = await session((built.reduce = roundTrip(model)));
  const n = 4, X = f32(n * 5), idx = i64(n * 2, 5);
  const out = await run(s, { X: { data: X, dims: [n, 5] }, idx: { data: idx, dims: [n, 2] } });
  const sums: number[] = [], picked: number[] = [], y: number[] = [];
  for (let i = 0; i < n; i++) {
    const row = [...X.subarray(i * 5, i * 5 + 5)];
    const sm = row.reduce((a, b) => a + b, 0);
    const pk = [row[Number(idx[i * 2])], row[Number(idx[i * 2 + 1])]];
    sums.push(sm);
    picked.push(...pk);
    y.push(sm, ...pk, sm);
  }
  assert.equal(out.Y.dims, [n, 4]);
  assert.equal(out[sum].dims, [n]);
  close(out.Y.data, y, "concat");
  close(out[sum].data, sums, "reducesum");
  close(out.picked.data, picked, "gatherelements");
});

test("builder: attribute typing, generated names and build-time errors", () => {
  const g = new GraphBuilder("t");
  const x = g.input("x", "float", [2, null]);
  const [a, b] = g.node("Split", [x], 2, { axis: 0 });
  assert.is.not(a, b);
  const [c] = g.node("Identity", [a]);
  assert.ok(g.has(c) && c.startsWith("Identity_"));
  g.node("Cast", [b], ["y"], {
    to: DataType.INT32,
    f: 1.5,
    fs: [0.5, 1],
    fx: attr.floats([1, 2]),
    ints: [1, -2, 3],
    s: "abc",
    ss: ["p", "q"],
    t: { name: "", dataType: DataType.INT32, dims: [1], data: new Int32Array([7]) },
  });
  g.output("y", "int32", [1, null]);
  const nodes = g.toModel().graph.node;
  assert.equal(nodes.map((n) => n.name), ["Split_0", "Identity_1", "Cast_2"]);
  assert.equal(nodes[0].output, ["Split_0_out0", "Split_0_out1"]);
  assert.equal(nodes[1].output, ["Identity_1_out"]);
  const attrs = g.toModel().graph.node[2].attribute.map((a) => [a.name, a.type]);
  assert.equal(attrs, [["to", "INT"], ["f", "FLOAT"], ["fs", "FLOATS"], ["fx", "FLOATS"], ["ints", "INTS"], ["s", "STRING"], ["ss", "STRINGS"], ["t", "TENSOR"]]);
  const m = g.toModel();
  assert.equal(m.graph.input[0].type!.shape, [2, null]);
  assert.equal(decodeModel(encodeModel(m)), m); // unknown dims and every attribute type round trip

  assert.throws(() => g.node("Relu", ["nope"]), /reads 'nope', which is not defined yet/);
  assert.throws(() => g.input("x", "float", [1]), /'x' is defined twice \(graph input, then graph input\)/);
  assert.throws(() => g.node("Relu", [x], ["y"]), /'y' is defined twice/);
  assert.throws(() => g.output("zzz", "float", [1]), /output 'zzz' is not defined/);
  assert.throws(() => g.initializer("w", new Float32Array(5), [2, 3]), /dims \[2,3\] hold 6 elements but the data has 5/);
  assert.throws(() => g.metadata("k", "1").metadata("k", "2"), /metadata key 'k' is set twice/);
  assert.throws(() => new GraphBuilder("empty").toModel(), /no outputs/);
  const bad = mlp().model;
  bad.graph.initializer[0].data = new Float64Array(12);
  assert.throws(() => encodeModel(bad), /tensor 'W' is FLOAT but its data is a Float64Array, expected Float32Array/);
  bad.graph.initializer[0].data = new Float32Array(11);
  assert.throws(() => encodeModel(bad), /tensor 'W' has dims \[4,3\] \(12 elements\) but 11 data elements/);
});

test("tensors: INT64/INT32/BOOL/empty/scalar initializers round trip; decoded arrays are aligned copies", () => {
  const g = new GraphBuilder("tensors");
  g.input("x", "float", []);
  const big = new BigInt64Array([-1n, 2n ** 62n, -(2n ** 63n), 2n ** 63n - 1n]);
  g.initializer("i64", big, [2, 2]);
  g.initializer("i32", new Int32Array([-5, 0, 2 ** 31 - 1]), [3]);
  g.initializer("mask", new Uint8Array([1, 0, 1]), [3]);
  g.initializer("empty", new Float32Array(0), [0, 4]);
  g.initializer("scalar", new Float32Array([-0.125]), []);
  g.node("Identity", ["x"], ["y"]);
  g.output("y", "float", []);
  const model = g.toModel();
  const bytes = encodeModel(model);
  // decode from an odd offset inside a larger buffer: typed arrays must still come out aligned and independent
  const shifted = new Uint8Array(bytes.length + 3);
  shifted.set(bytes, 3);
  const back = decodeModel(shifted.subarray(3));
  assert.equal(back, model);
  const i64 = back.graph.initializer[0];
  assert.is(i64.dataType, DataType.INT64);
  assert.equal([...(i64.data as BigInt64Array)], [...big]);
  assert.is(back.graph.initializer[2].dataType, DataType.BOOL);
  shifted.fill(0);
  assert.equal([...(back.graph.initializer[1].data as Int32Array)], [-5, 0, 2 ** 31 - 1]);
  built.tensors = bytes;
});

// ---------------------------------------------------------------------------------------------------------------
// Models written by python3-onnx: typed data fields (float_data, int64_data, int32_data), unpacked repeated fields

const PY_MODEL = `
import sys, numpy as np
from onnx import helper, TensorProto as T
w = helper.make_tensor("W", T.FLOAT, [2, 3], [1.5, -2, 0.25, 3, 4, -5])           # float_data
k = helper.make_tensor("K", T.INT64, [3], [-1, 2**40, 7])                        # int64_data
i = helper.make_tensor("I", T.INT32, [2], [-3, 9])                               # int32_data
b = helper.make_tensor("M", T.BOOL, [3], [True, False, True])                    # int32_data
r = helper.make_tensor("R", T.FLOAT, [2], np.array([0.5, -1], np.float32).tobytes(), raw=True)
v = helper.make_tensor("V", T.FLOAT, [], [2.0])
n = helper.make_node("Gemm", ["X", "W"], ["Y"], name="g", alpha=0.25, transB=0, strs=["a", "b"], fl=[1.0, 2.5], il=[1, -1], s="hi", t=v)
g = helper.make_graph([n], "py", [helper.make_tensor_value_info("X", T.FLOAT, ["batch", 2])],
                      [helper.make_tensor_value_info("Y", T.FLOAT, [None, 3])], [w, k, i, b, r], doc_string="doc")
m = helper.make_model(g, producer_name="python3-onnx", opset_imports=[helper.make_opsetid("", 17)])
m.ir_version = 8
helper.set_model_props(m, {"k": "v"})
sys.stdout.buffer.write(m.SerializeToString())
`;

test("decode: a model written by python3-onnx (typed data fields, unpacked repeated fields)", () => {
  const python = process.env.ONNX_PYTHON || "/usr/bin/python3";
  const res = spawnSync(python, ["-c", PY_MODEL], { maxBuffer: 1 << 20 });
  if (res.error || res.status !== 0) return skipOrFail("decode a python3-onnx model", `python3-onnx unavailable: ${res.error?.message ?? res.stderr.toString().trim().split("\n").pop()}`);
  const m = decodeModel(new Uint8Array(res.stdout));
  assert.is(m.producerName, "python3-onnx");
  assert.equal(m.metadataProps, [{ key: "k", value: "v" }]);
  assert.is(m.graph.docString, "doc");
  assert.equal(m.graph.input[0], { name: "X", type: { elemType: DataType.FLOAT, shape: ["batch", 2] } });
  assert.equal(m.graph.output[0], { name: "Y", type: { elemType: DataType.FLOAT, shape: [null, 3] } });
  const [w, k, i, b, r] = m.graph.initializer;
  assert.equal(w, { name: "W", dataType: DataType.FLOAT, dims: [2, 3], data: new Float32Array([1.5, -2, 0.25, 3, 4, -5]) });
  assert.equal(k, { name: "K", dataType: DataType.INT64, dims: [3], data: new BigInt64Array([-1n, 2n ** 40n, 7n]) });
  assert.equal(i, { name: "I", dataType: DataType.INT32, dims: [2], data: new Int32Array([-3, 9]) });
  assert.equal(b, { name: "M", dataType: DataType.BOOL, dims: [3], data: new Uint8Array([1, 0, 1]) });
  assert.equal(r, { name: "R", dataType: DataType.FLOAT, dims: [2], data: new Float32Array([0.5, -1]) });
  const byName = Object.fromEntries(m.graph.node[0].attribute.map((a) => [a.name, a]));
  assert.equal(byName.alpha, { name: "alpha", type: "FLOAT", value: 0.25 });
  assert.equal(byName.transB, { name: "transB", type: "INT", value: 0 });
  assert.equal(byName.strs, { name: "strs", type: "STRINGS", value: ["a", "b"] });
  assert.equal(byName.fl, { name: "fl", type: "FLOATS", value: [1, 2.5] });
  assert.equal(byName.il, { name: "il", type: "INTS", value: [1, -1] });
  assert.equal(byName.s, { name: "s", type: "STRING", value: "hi" });
  assert.equal(byName.t, { name: "t", type: "TENSOR", value: { name: "V", dataType: DataType.FLOAT, dims: [], data: new Float32Array([2]) } });
});

// ---------------------------------------------------------------------------------------------------------------
// Decode errors: always an OnnxDecodeError with what and where, never a hang or another exception type

test("decode errors: every truncation of a model is detected", () => {
  for (const name of ["mlp", "embed", "ln_gelu"]) {
    const bytes = built[name];
    const kinds = new Set<string>();
    for (let cut = 0; cut < bytes.length; cut++) {
      const msg = throwsDecode(() => decodeModel(bytes.subarray(0, cut)), /^ONNX: (truncated varint at byte \d+|truncated fixed(32|64)|field \d+ \(\w+\.\w+\) length \d+ \(prefix at byte \d+\) runs past the end of the buffer \(\d+ bytes\)|not an ONNX model \((the input is empty|no graph in \d+ bytes))/);
      kinds.add(msg.replace(/\d+/g, "#").slice(0, 40));
    }
    assert.ok(kinds.size >= 3, `${name}: only ${[...kinds]}`);
  }
  const msg = throwsDecode(() => decodeModel(built.mlp.subarray(0, built.mlp.length - 10)), /runs past the end of the buffer/);
  assert.match(msg, /^ONNX: field 7 \(ModelProto\.graph\) length \d+ \(prefix at byte \d+\) runs past the end of the buffer \(\d+ bytes\): only \d+ bytes remain$/);
});

test("decode errors: random bytes and random single-byte corruptions", () => {
  const r = rng(7);
  let rejected = 0;
  for (let k = 0; k < 2000; k++) {
    const len = 1 + Math.floor(r() * 300);
    const b = Uint8Array.from({ length: len }, () => Math.floor(r() * 256));
    throwsDecode(() => decodeModel(b), /^ONNX: /);
    rejected++;
  }
  assert.is(rejected, 2000);
  // corrupting one byte of a valid model: either still decodes (e.g. a changed float) or fails with an OnnxDecodeError
  let failed = 0;
  for (const name of ["mlp", "embed", "reduce"]) {
    const good = built[name];
    for (let k = 0; k < 1000; k++) {
      const b = good.slice();
      b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
      try {
        decodeModel(b);
      } catch (e) {
        if (!(e instanceof OnnxDecodeError)) throw e;
        assert.match(e.message, /^ONNX: /);
        failed++;
      }
    }
  }
  assert.ok(failed > 100, `${failed} corruptions detected`);
});

/** Byte range [start, end) of top-level field `field`'s length-delimited value, and where its length prefix starts. */
function locate(bytes: Uint8Array, field: number): { prefix: number; start: number; end: number } {
  const r = new Reader(bytes);
  while (r.next()) {
    if (r.field === field) {
      const prefix = r.pos;
      const [start, end] = r.lengthPrefixed();
      return { prefix, start, end };
    }
    r.skip();
  }
  throw new Error(`field ${field} not found`);
}

test("decode errors: corrupted lengths, missing pieces, wrong file types", () => {
  const bytes = built.mlp;
  // graph length grown by 1000
  const gpos = locate(bytes, 7);
  const w = new Writer();
  w.rawBytes(bytes.subarray(0, gpos.prefix)).varint(gpos.end - gpos.start + 1000).rawBytes(bytes.subarray(gpos.start));
  throwsDecode(() => decodeModel(w.finish()), new RegExp(`^ONNX: field 7 \\(ModelProto\\.graph\\) length ${gpos.end - gpos.start + 1000} \\(prefix at byte ${gpos.prefix}\\) runs past the end of the buffer \\(\\d+ bytes\\): only ${gpos.end - gpos.start} bytes remain$`));

  // raw_data length of initializer W (48 bytes → prefix 0x30) off by ±1
  const W = decodeModel(bytes).graph.initializer[0].data as Float32Array;
  const wBytes = new Uint8Array(W.buffer);
  let at = -1;
  for (let i = 0; i + wBytes.length <= bytes.length && at < 0; i++) if (wBytes.every((v, j) => bytes[i + j] === v)) at = i;
  assert.is(bytes[at - 1], 48);
  assert.is(bytes[at - 2], (9 << 3) | 2);
  const longer = bytes.slice();
  longer[at - 1] = 49;
  throwsDecode(() => decodeModel(longer), /^ONNX: field 9 \(TensorProto\.raw_data\) length 49 \(prefix at byte \d+\) runs past the end of the enclosing TensorProto \(which ends at byte \d+ of \d+\).* \(in graph\.initializer\[0\]\)$/);
  const shorter = bytes.slice();
  shorter[at - 1] = 47;
  throwsDecode(() => decodeModel(shorter), /^ONNX: .* \(in graph\.initializer\[0\]\)$/);
  const fewer = bytes.slice(); // 44 bytes of raw_data, then 4 data bytes parsed as fields: error either way
  fewer[at - 1] = 44;
  throwsDecode(() => decodeModel(fewer), /\(in graph\.initializer\[0\]\)$/);

  // a correctly framed tensor whose raw_data does not match its dims
  const g = new GraphBuilder("bad");
  g.input("x", "float", [2]);
  g.node("Identity", ["x"], ["y"]);
  g.output("y", "float", [2]);
  const m = g.toModel();
  m.graph.initializer.push({ name: "w", dataType: DataType.FLOAT, dims: [3], data: new Float32Array(3) });
  const enc = encodeModel(m);
  const t = new Writer(); // same model, but with dims [4] written by hand
  t.int64Field(1, 8).messageField(8, (o) => o.int64Field(2, 17)).messageField(7, (gw) => {
    gw.messageField(5, (tw) => tw.packedVarints(1, [4]).int32Field(2, DataType.FLOAT).stringField(8, "w").bytesField(9, new Uint8Array(12)));
  });
  assert.ok(decodeModel(enc).graph.initializer.length === 1);
  throwsDecode(() => decodeModel(t.finish()), /^ONNX: tensor 'w' \(FLOAT, dims \[4\], 4 elements\) has 12 bytes of raw_data, expected 16 \(in graph\.initializer\[0\]\)$/);

  // not a model at all
  throwsDecode(() => decodeModel(new Uint8Array(0)), /^ONNX: not an ONNX model \(the input is empty\)$/);
  throwsDecode(() => decodeModel(new TextEncoder().encode('{"graph": {}}')), /^ONNX: field 15 of ModelProto at byte 0 uses the deprecated group wire type 3/);
  throwsDecode(() => decodeModel(new Writer().int64Field(1, 8).finish()), /^ONNX: not an ONNX model \(no graph in 2 bytes\)$/);
  throwsDecode(() => decodeModel(new Writer().messageField(7, () => {}).finish()), /^ONNX: not an ONNX model \(no ir_version\)$/);
  throwsDecode(() => decodeModel(new Writer().int64Field(1, 8).messageField(7, () => {}).finish()), /^ONNX: model \(IR version 8\) has no opset_import$/);
  throwsDecode(
    () => decodeModel(new Writer().int64Field(1, 8).messageField(8, (o) => o.int64Field(2, 17)).messageField(7, (gw) => gw.messageField(1, (n) => n.stringField(3, "n0"))).finish()),
    /^ONNX: node 'n0' has no op_type \(in graph\.node\[0\]\)$/,
  );
  // external data and unsupported attribute types are rejected by name
  const ext = new Writer().int64Field(1, 8).messageField(8, (o) => o.int64Field(2, 17)).messageField(7, (gw) =>
    gw.messageField(5, (tw) => tw.packedVarints(1, [2]).int32Field(2, 1).stringField(8, "big").int32Field(14, 1)));
  throwsDecode(() => decodeModel(ext.finish()), /tensor 'big' keeps its data in an external file/);
  const gattr = new Writer().int64Field(1, 8).messageField(8, (o) => o.int64Field(2, 17)).messageField(7, (gw) =>
    gw.messageField(1, (n) => n.stringField(4, "If").messageField(5, (a) => a.stringField(1, "then_branch").messageField(6, () => {}).int32Field(20, 5))));
  throwsDecode(() => decodeModel(gattr.finish()), /^ONNX: attribute 'then_branch' has type GRAPH, which is not supported .* \(in graph\.node\[0\]\.attribute\[0\]\)$/);
});

// ---------------------------------------------------------------------------------------------------------------

test("python3-onnx checker (full_check + strict shape inference) accepts every built model", () => {
  const names = Object.keys(built);
  assert.ok(names.length >= 6, `built: ${names}`);
  const res = checkWithPython(names.map((n) => built[n]));
  if (!res.available) return skipOrFail("python3-onnx checker", `unavailable: ${res.output}`);
  assert.ok(res.ok, res.output);
  if (process.env.ONNX_VERBOSE) console.log(res.output);
  assert.is(res.output.split("\n").filter((l) => l.startsWith("OK ")).length, names.length, res.output);
});

test("checker helper: reports failures and unavailability distinctly", () => {
  const bad = mlp().model;
  bad.graph.output[0].type = { elemType: DataType.FLOAT, shape: ["N", 7] }; // contradicts inference (N, 3)
  const res = checkWithPython([encodeModel(bad)]);
  if (!res.available) skipOrFail("checker helper on a bad model", `python3-onnx unavailable: ${res.output}`);
  else {
    assert.not.ok(res.ok);
    assert.match(res.output, /^FAIL .*model0\.onnx: /);
  }
  const saved = process.env.ONNX_PYTHON;
  process.env.ONNX_PYTHON = "/nonexistent/python3";
  try {
    const un = checkWithPython([built.mlp]);
    assert.equal([un.available, un.ok], [false, false]);
    assert.match(un.output, /not available \(ENOENT\)/);
  } finally {
    if (saved === undefined) delete process.env.ONNX_PYTHON;
    else process.env.ONNX_PYTHON = saved;
  }
});

test.run();
