// The op registry (src/graph/registry.ts) against the OpDef contract (src/graph/op.ts):
//   - every op has every stage: infer, forward, saves (functions); backward, onnx, imports each a function / an
//     importer list or an explicit { none: reason } with a reason; every importer names a real ONNX op type;
//     ops with importers can be exported and exported ops can be imported (a short list of documented exceptions);
//   - every differentiable op (backward is a function) has a gradient case here, and its backward agrees with
//     central finite differences of a float64 objective: its own parameters' gradients, and (through a dense layer
//     in front of each activation input) the gradient it passes to its inputs. Gradient buffers are NaN-poisoned
//     before each backward, so a gradient that is never written, or accumulated into garbage, fails;
//   - the same for the losses and the relation term, whose forward values are the objective;
//   - every op with an ONNX form round-trips: a tiny inference graph containing it, lowered node by node through
//     the ops' `onnx` exactly as src/onnx/export.ts does, imports back (src/onnx/import.ts) into a graph holding the
//     same op, and the mtl engine running those bytes equals our own forward pass.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup, Rng } from "../helpers.ts";
import { OPS, opDef } from "../../src/graph/registry.ts";
import { isNone, type OpDef } from "../../src/graph/op.ts";
import { Graph, type Value } from "../../src/graph/graph.ts";
import { SUPPORTED_OPS } from "../../src/onnx/import.ts";
import { Rig, fdParam, compare, mse64, hasNaN, type Feed } from "./harness.ts";
import { GraphBuilder } from "../../src/onnx/builder.ts";
import { encodeModel, decodeModel } from "../../src/onnx/model.ts";
import { importOnnx } from "../../src/onnx/import.ts";
import { MtlRunner } from "../../src/infer/runner.ts";
import { ONNX_IR_VERSION, ONNX_OPSET } from "../../src/onnx/export.ts";
import type { OnnxCtx } from "../../src/graph/op.ts";
import { encoderPlan } from "../../src/data/numeric-encodings.ts";

const { k, arena } = await setup();

/** Operator types of the default ONNX domain (ai.onnx), all opsets up to 21. */
const ONNX_OPS = new Set(
  `Abs Acos Acosh Add AffineGrid And ArgMax ArgMin Asin Asinh Atan Atanh AveragePool BatchNormalization Bernoulli BitShift
  BitwiseAnd BitwiseNot BitwiseOr BitwiseXor BlackmanWindow Cast CastLike Ceil Celu CenterCropPad Clip Col2Im Compress Concat
  ConcatFromSequence Constant ConstantOfShape Conv ConvInteger ConvTranspose Cos Cosh CumSum DFT DeformConv DepthToSpace
  DequantizeLinear Det Div Dropout DynamicQuantizeLinear Einsum Elu Equal Erf Exp Expand EyeLike Flatten Floor GRU Gather
  GatherElements GatherND Gelu Gemm GlobalAveragePool GlobalLpPool GlobalMaxPool Greater GreaterOrEqual GridSample
  GroupNormalization HammingWindow HannWindow HardSigmoid HardSwish Hardmax Identity If ImageDecoder InstanceNormalization
  IsInf IsNaN LRN LSTM LayerNormalization LeakyRelu Less LessOrEqual Log LogSoftmax Loop LpNormalization LpPool MatMul
  MatMulInteger Max MaxPool MaxRoiPool MaxUnpool Mean MeanVarianceNormalization MelWeightMatrix Min Mish Mod Mul Multinomial
  Neg NegativeLogLikelihoodLoss NonMaxSuppression NonZero Not OneHot Optional OptionalGetElement OptionalHasElement Or PRelu
  Pad Pow QLinearConv QLinearMatMul QuantizeLinear RNN RandomNormal RandomNormalLike RandomUniform RandomUniformLike Range
  Reciprocal ReduceL1 ReduceL2 ReduceLogSum ReduceLogSumExp ReduceMax ReduceMean ReduceMin ReduceProd ReduceSum
  ReduceSumSquare RegexFullMatch Relu Reshape Resize ReverseSequence RoiAlign Round STFT Scan Scatter ScatterElements
  ScatterND Selu SequenceAt SequenceConstruct SequenceEmpty SequenceErase SequenceInsert SequenceLength SequenceMap Shape
  Shrink Sigmoid Sign Sin Sinh Size Slice Softmax SoftmaxCrossEntropyLoss Softplus Softsign SpaceToDepth Split
  SplitToSequence Sqrt Squeeze StringConcat StringNormalizer StringSplit Sub Sum Tan Tanh TfIdfVectorizer ThresholdedRelu
  Tile TopK Transpose Trilu Unique Unsqueeze Upsample Where Xor`.split(/\s+/).filter(Boolean),
);

/** Ops exported to ONNX without an importer of their own, and why that is right. */
const EXPORT_ONLY: Record<string, string> = {
  dropout: "inference is the identity: its ONNX form emits no node",
  index_column: "its Gather is recognized by embedding's Gather importer",
  seq_ids: "Gather takes its int64 ids directly: embed_seq's Gather importer makes seq_ids nodes",
};
/** Ops with importers but no ONNX lowering (none today). */
const IMPORT_ONLY: Record<string, string> = {};

const stage = (d: OpDef, key: "backward" | "onnx" | "imports") => d[key] as unknown;
const isLossOrRelation = (d: OpDef) => isNone(d.onnx) && isNone(d.imports) && typeof d.backward === "function";

// ---- the contract ---------------------------------------------------------------------------------------------

test("every op has every stage: infer, forward, saves; backward, onnx, imports or an explicit { none: reason }", () => {
  assert.ok(OPS.length >= 20, `only ${OPS.length} ops registered`);
  const names = new Set<string>();
  for (const d of OPS) {
    assert.type(d.op, "string");
    assert.ok(d.op.length > 0, "an op without a name");
    assert.not.ok(names.has(d.op), `${d.op} registered twice`);
    names.add(d.op);
    assert.is(opDef(d.op), d, `opDef(${d.op}) is not the registered definition`);
    for (const f of ["infer", "forward", "saves"] as const) assert.type(d[f], "function", `${d.op}.${f}`);
    for (const key of ["backward", "onnx", "imports"] as const) {
      const s = stage(d, key);
      if (isNone(s)) {
        assert.type(s.none, "string", `${d.op}.${key}: the reason must be a string`);
        assert.ok(s.none.trim().length > 0, `${d.op}.${key}: { none } needs a reason`);
        assert.equal(Object.keys(s as object), ["none"], `${d.op}.${key}: { none } has extra keys`);
      } else if (key === "imports") {
        assert.ok(Array.isArray(s), `${d.op}.imports must be an importer list or { none }`);
        assert.ok((s as unknown[]).length > 0, `${d.op}.imports is an empty list: say { none: reason } instead`);
      } else assert.type(s, "function", `${d.op}.${key} must be a function or { none }`);
    }
    if (d.alias !== undefined) assert.type(d.alias, "function", `${d.op}.alias`);
    if (d.describe !== undefined) assert.type(d.describe, "function", `${d.op}.describe`);
  }
  assert.throws(() => opDef("no_such_op"), /unknown op "no_such_op"/);
});

test("every importer names a real ONNX op type and has a matcher; the engine's supported list is real ONNX", () => {
  let importers = 0;
  for (const d of OPS) {
    if (isNone(d.imports)) continue;
    for (const im of d.imports) {
      importers++;
      assert.type(im.onnx, "string", `${d.op}: importer without an ONNX op type`);
      assert.ok(ONNX_OPS.has(im.onnx), `${d.op}: importer for ${JSON.stringify(im.onnx)}, which is not an ONNX operator`);
      assert.type(im.match, "function", `${d.op}: importer for ${im.onnx} has no match function`);
    }
  }
  assert.ok(importers >= 15, `only ${importers} importers`);
  for (const op of SUPPORTED_OPS) assert.ok(ONNX_OPS.has(op), `SUPPORTED_OPS lists ${op}, which is not an ONNX operator`);
});

test("ops with importers have an ONNX lowering and vice versa (documented exceptions only)", () => {
  for (const d of OPS) {
    const exports = !isNone(d.onnx), imports = !isNone(d.imports);
    if (imports && !exports) assert.ok(d.op in IMPORT_ONLY, `${d.op} is imported from ONNX but cannot be exported: add an onnx lowering`);
    if (exports && !imports) assert.ok(d.op in EXPORT_ONLY, `${d.op} is exported to ONNX but no importer recognizes it: add one (or document why in EXPORT_ONLY)`);
    if (!exports && !imports) assert.ok(isLossOrRelation(d), `${d.op} has neither ONNX form but is not a training loss or relation`);
  }
  // The exceptions are still accurate.
  for (const op of Object.keys(EXPORT_ONLY)) {
    const d = opDef(op);
    assert.ok(!isNone(d.onnx) && isNone(d.imports), `EXPORT_ONLY lists ${op}, which now has an importer or lost its ONNX form`);
  }
  for (const op of Object.keys(IMPORT_ONLY)) assert.ok(isNone(opDef(op).onnx) && !isNone(opDef(op).imports), `IMPORT_ONLY lists ${op}`);
  // index_column's claim: some op imports Gather (embedding's importer makes index_column nodes).
  assert.ok(OPS.some((d) => !isNone(d.imports) && d.imports.some((im) => im.onnx === "Gather")), "no importer recognizes Gather");
  // dropout's claim: its lowering binds its output to its input's name and emits nothing.
  {
    const g = new Graph("drop");
    const x = g.input("x", "f32", ["N", 3]);
    const y = g.add1("dropout", [x], { p: 0.5 });
    const bound = new Map<Value, string>();
    const emitted: string[] = [];
    const ctx = {
      g: new Proxy({}, { get: (_t, key) => () => emitted.push(String(key)) }),
      name: (v: Value) => bound.get(v) ?? v.name,
      bind: (v: Value, n: string) => void bound.set(v, n),
      outName: () => undefined,
      f32: () => emitted.push("f32"),
      i64: () => emitted.push("i64"),
      i64Scalar: () => emitted.push("i64Scalar"),
    };
    (opDef("dropout").onnx as (e: never, n: unknown) => void)(ctx as never, y.producer);
    assert.equal(emitted, [], "dropout's ONNX form emitted nodes");
    assert.is(bound.get(y), "x");
  }
});

test("losses and the relation are training-only: no ONNX form, a backward, and a host scalar output", () => {
  const losses = OPS.filter(isLossOrRelation).map((d) => d.op).sort();
  assert.equal(losses, ["bce", "dselect_entropy", "dselect_reach", "esmm_bce", "funnel_hinge", "giou", "huber", "mae", "mse", "relation", "smooth_l1", "tag_xent", "xent"]);
});

// ---- gradients -----------------------------------------------------------------------------------------------

const B = 5; // odd: the GEMM's 4-row blocks and a remainder row
const IN = 3; // width of the raw input in front of each dense pre-layer

interface Builder {
  g: Graph;
  rng: Rng;
  feeds: Map<Value, Feed>;
  /** An activation [N, width] that depends on parameters: dense(x, W, b) of a fresh raw input x. */
  act(width: number, name?: string): Value;
  /** A raw f32 input [N, width] (no gradient). */
  input(width: number, gen?: () => number): Value;
  /** An i32 index input [N] with values in [0, n). */
  index(n: number, values?: number[]): Value;
  param(shape: number[], name?: string): Value;
  /** An activation [N, c, h, w] that depends on parameters: dense of a fresh raw input, viewed as an image. */
  act4(c: number, h: number, w: number): Value;
  /** A raw f32 image input [N, c, h, w]. */
  image(c: number, h: number, w: number): Value;
  /** A token sequence activation [N, l, d] that depends on parameters (dense of a raw input, viewed as [l, d]). */
  act3(l: number, d: number): Value;
  /** A raw f32 sequence input [N, l, d]. */
  seq(l: number, d: number): Value;
  /** A token mask f32 [N, l]: real-token prefixes of lengths l, 0, 2, l − 1, 1 (an all-padding row). */
  mask(l: number): Value;
}

/** One graph per differentiable op: returns the value the objective reads (f32 [N, w]). */
const CASES: Record<string, ((b: Builder) => Value)[]> = {
  dense: [
    (b) => b.g.add1("dense", [b.act(4), b.param([4, 3]), b.param([3])]),
    (b) => b.g.add1("dense", [b.act(4), b.param([4, 3]), b.param([3])], { act: "relu" }),
    (b) => b.g.add1("dense", [b.act(4), b.param([4, 2])]),
    // A raw input in front: dx must not be written (no gradient flows into an input).
    (b) => b.g.add1("dense", [b.input(3), b.param([3, 2]), b.param([2])]),
  ],
  relu: [(b) => b.g.add1("relu", [b.act(4)])],
  mul: [
    (b) => b.g.add1("mul", [b.act(3), b.act(3)]),
    // One value on both sides: its gradient is the sum of the two (2·dy·a).
    (b) => ((a) => b.g.add1("mul", [a, a]))(b.act(3)),
    (b) => b.g.add1("mul", [b.act(4), b.input(4)]),
  ],
  rowdot: [
    (b) => b.g.add1("rowdot", [b.act(5), b.act(5)], { scale: 0.5 }),
    (b) => ((a) => b.g.add1("rowdot", [a, a], { scale: 1 }))(b.act(3)),
  ],
  leaky_relu: [(b) => b.g.add1("leaky_relu", [b.act(4)])],
  silu: [(b) => b.g.add1("silu", [b.act(4)])],
  sigmoid: [(b) => b.g.add1("sigmoid", [b.act(4)])],
  tanh: [(b) => b.g.add1("tanh", [b.act(4)])],
  gelu: [(b) => b.g.add1("gelu", [b.act(4)])],
  softmax: [(b) => b.g.add1("softmax", [b.act(4)])],
  embedding: [
    // Repeated indices: the table's gradient is a scatter-add.
    (b) => b.g.add1("embedding", [b.param([4, 3]), b.index(4, [1, 3, 1, 0, 1])]),
  ],
  layernorm: [(b) => b.g.add1("layernorm", [b.act(5), b.param([5]), b.param([5])])],
  dropout: [(b) => b.g.add1("dropout", [b.act(6)], { p: 0.4 })],
  concat: [(b) => b.g.add1("concat", [b.act(2), b.act(3), b.act(1)])],
  // Two overlapping slices of one value: both add into its gradient, the first after a zero fill.
  slice: [
    (b) => {
      const x = b.act(5);
      return b.g.add1("concat", [b.g.add1("slice", [x], { start: 1, size: 2 }), b.g.add1("slice", [x], { start: 0, size: 3 })]);
    },
  ],
  // A stack only feeds a mixture: combine it with a fixed (input) gate.
  stack: [(b) => b.g.add1("moe_combine", [b.g.add1("stack", [b.act(3), b.act(3)]), b.input(2, () => b.rng.next())])],
  moe_combine: [(b) => b.g.add1("moe_combine", [b.g.add1("stack", [b.act(3), b.act(3), b.act(3)]), b.g.add1("softmax", [b.act(3)])])],
  // Every output read; one output read (the other's dy is a 0 table entry); image columns.
  cross_stitch: [
    (b) => b.g.add1("concat", b.g.add("cross_stitch", [b.act(4), b.act(4), b.act(4), b.param([3, 3])])),
    (b) => b.g.add("cross_stitch", [b.act(3), b.act(3), b.param([2, 2])])[1],
    (b) => b.g.add1("concat", b.g.add("cross_stitch", [b.act4(2, 2, 3), b.act4(2, 2, 3), b.param([2, 2])]).map((y) => flat(b, y))),
  ],
  // 5 experts (3 bits), z on both sides of the smooth-step's band; then a raw α (dα must not be written)
  dselect_gate: [
    (b) => b.g.add1("dselect_gate", [b.act(2 * 3), b.act(2)], { experts: 5, k: 2, gamma: 1.5 }),
    (b) => b.g.add1("dselect_gate", [b.act(3 * 3), b.input(3)], { experts: 8, k: 3, gamma: 1 }),
  ],
  group_gather: [(b) => b.g.add1("group_gather", [b.act(6), b.index(3, [2, 0, 2, 1, 0])], { groups: 3 })],
  add: [(b) => b.g.add1("add", [b.act(3), b.act(3)])],
  conv2d: [
    (b) => flat(b, b.g.add1("conv2d", [b.act4(2, 5, 5), b.param([3, 2, 3, 3]), b.param([3])])),
    // relu fused, stride 2, padding, a non-square kernel
    (b) => flat(b, b.g.add1("conv2d", [b.act4(2, 6, 5), b.param([2, 2, 3, 2]), b.param([2])], { act: "relu", stride: [2, 2], pads: [1, 1, 1, 0] })),
    // K = 4·3·3 = 36 > 32: bwd_w's im2row + GEMM path; dilation 2, no bias
    (b) => flat(b, b.g.add1("conv2d", [b.act4(4, 6, 6), b.param([2, 4, 3, 3])], { dilation: [2, 2], pads: [2, 1, 2, 1] })),
    // 1×1 pointwise (no im2col) on a raw image: dx must not be written
    (b) => flat(b, b.g.add1("conv2d", [b.image(3, 3, 4), b.param([2, 3, 1, 1]), b.param([2])])),
    // two convs in a row share the program's im2col scratch
    (b) => flat(b, b.g.add1("conv2d", [b.g.add1("conv2d", [b.act4(1, 6, 6), b.param([3, 1, 3, 3]), b.param([3])], { act: "relu" }), b.param([2, 3, 2, 2]), b.param([2])])),
    // 3×3, ≥ 8 channels in and out: Winograd (one backward call for dX, dW, db, the relu's mask fused), asymmetric pads
    (b) => flat(b, b.g.add1("conv2d", [b.act4(8, 5, 6), b.param([8, 8, 3, 3]), b.param([8])], { act: "relu", pads: [1, 0, 1, 2] })),
    // few input channels, 3×3, output ≥ 8 wide: direct kernels; on a raw image (no dX) the relu's mask is fused into dW, db
    (b) => flat(b, b.g.add1("conv2d", [b.image(2, 7, 9), b.param([4, 2, 3, 3]), b.param([4])], { act: "relu", pads: [1, 0, 0, 1] })),
    // Winograd without bias or relu, into an im2col conv that shares the scratch
    (b) => flat(b, b.g.add1("conv2d", [b.g.add1("conv2d", [b.act4(9, 4, 5), b.param([8, 9, 3, 3])]), b.param([2, 8, 2, 2]), b.param([2])])),
    // a 6×7 output: Winograd F(4×4, 3×3) (the cases above a 5×6 or smaller one: F(2×2, 3×3)), relu fused
    (b) => flat(b, b.g.add1("conv2d", [b.act4(8, 6, 7), b.param([9, 8, 3, 3]), b.param([9])], { act: "relu", pads: [1, 1, 1, 1] })),
  ],
  maxpool2d: [
    (b) => flat(b, b.g.add1("maxpool2d", [b.act4(2, 4, 6)], { kernel: [2, 2] })),
    // overlapping windows (3×3, stride 2) with padding: gradients add
    (b) => flat(b, b.g.add1("maxpool2d", [b.act4(1, 5, 5)], { kernel: [3, 3], stride: [2, 2], pads: [1, 1, 1, 1] })),
  ],
  avgpool2d: [
    (b) => flat(b, b.g.add1("avgpool2d", [b.act4(2, 4, 6)], { kernel: [2, 2] })),
    (b) => flat(b, b.g.add1("avgpool2d", [b.act4(3, 3, 5)], { global: true })),
    (b) => flat(b, b.g.add1("avgpool2d", [b.act4(1, 5, 5)], { kernel: [3, 3], stride: [2, 2], pads: [1, 1, 1, 1] })),
    (b) => flat(b, b.g.add1("avgpool2d", [b.act4(1, 5, 5)], { kernel: [3, 3], stride: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 1 })),
  ],
  batchnorm: [
    (b) => flat(b, b.g.add1("batchnorm", [b.act4(3, 2, 3), b.param([3]), b.param([3]), b.g.state(`rm${b.rng.int(1e9)}`, [3], { kind: "zeros" }), b.g.state(`rv${b.rng.int(1e9)}`, [3], { kind: "ones" })])),
    (b) => b.g.add1("batchnorm", [b.act(4), b.param([4]), b.param([4]), b.g.state("rm", [4], { kind: "zeros" }), b.g.state("rv", [4], { kind: "ones" })]),
  ],
  reshape: [(b) => b.g.add1("dense", [flat(b, b.g.add1("reshape", [b.act(12)], { shape: [3, 2, 2] })), b.param([12, 2])])],
  // repeated ids with the padding id 0 among them (masked out by the pool: no gradient reaches row 0 either way)
  embed_seq: [
    (b) => {
      const ids = b.g.input("ids", "i32", ["N", 4]), mask = b.g.input("idmask", "f32", ["N", 4]);
      const v = [3, 1, 3, 2, 0, 0, 1, 3, 0, 0, 2, 2, 2, 1, 0, 1, 3, 3, 3, 0];
      b.feeds.set(ids, Int32Array.from(v));
      b.feeds.set(mask, Float32Array.from(v, (id) => (id ? 1 : 0)));
      return b.g.add1("seq_pool", [b.g.add1("embed_seq", [b.param([4, 3]), ids]), mask], { mode: "mean" });
    },
  ],
  seq_pool: [
    (b) => b.g.add1("seq_pool", [b.act3(4, 3), b.mask(4)], { mode: "max" }),
    (b) => b.g.add1("seq_pool", [b.act3(4, 5), b.mask(4)], { mode: "mean" }),
  ],
  conv1d: [
    (b) => flat(b, b.g.add1("conv1d", [b.act3(6, 3), b.mask(6), b.param([4, 3, 3]), b.param([4])], { act: "relu" })),
    // dilation 2, even width, no bias
    (b) => flat(b, b.g.add1("conv1d", [b.act3(7, 2), b.mask(7), b.param([3, 2, 2])], { dilation: 2 })),
    // on a raw sequence (dX must not be written), into a second conv sharing the scratch
    (b) => {
      const m = b.mask(5);
      const h = b.g.add1("conv1d", [b.seq(5, 3), m, b.param([4, 3, 3]), b.param([4])], { act: "relu" });
      return flat(b, b.g.add1("conv1d", [h, m, b.param([2, 4, 3]), b.param([2])], { dilation: 2 }));
    },
  ],
  // H = 3 (a scalar tail), rows of lengths 4, 0, 2, 3, 1
  bigru: [(b) => flat(b, b.g.add1("bigru", [b.act3(4, 2), b.mask(4), b.param([2, 9, 2]), b.param([2, 9, 3]), b.param([2, 18])]))],
  // k = 5 (a 4-lane block and a 1-lane tail), then k = 3 (tail only) on a raw input (dx must not be written)
  periodic: [(b) => b.g.add1("periodic", [b.act(3), b.param([3, 5])]), (b) => b.g.add1("periodic", [b.input(2), b.param([2, 3])])],
  // flatten's input gradient through an image-shaped value that another reader also uses (accumulation)
  flatten: [(b) => {
    const x = b.act4(2, 2, 3);
    return b.g.add1("add", [flat(b, x), flat(b, b.g.add1("avgpool2d", [x], { kernel: [1, 1] }))]);
  }],
};

const flat = (b: Builder, x: Value) => b.g.add1("flatten", [x]);

function builder(name: string, seed: number): Builder {
  const g = new Graph(name);
  const rng = new Rng(seed);
  const feeds = new Map<Value, Feed>();
  let n = 0;
  const b: Builder = {
    g,
    rng,
    feeds,
    input(width, gen = () => rng.normal()) {
      const x = g.input(`x${n++}`, "f32", ["N", width]);
      feeds.set(x, rng.f32(B * width, gen));
      return x;
    },
    index(count, values) {
      const x = g.input(`i${n++}`, "i32", ["N"]);
      feeds.set(x, Int32Array.from(values ?? Array.from({ length: B }, () => rng.int(count))));
      return x;
    },
    param(shape, pname) {
      return g.param(pname ?? `p${n++}`, shape, { kind: "zeros" }, "shared");
    },
    act(width, aname) {
      const x = b.input(IN);
      return g.add1("dense", [x, b.param([IN, width]), b.param([width])], {}, aname ?? `pre${n++}`);
    },
    act4(c, h, w) {
      return g.add1("reshape", [b.act(c * h * w)], { shape: [c, h, w] });
    },
    image(c, h, w) {
      const x = g.input(`img${n++}`, "f32", ["N", c, h, w]);
      feeds.set(x, rng.f32(B * c * h * w, () => rng.normal()));
      return x;
    },
    act3(l, d) {
      return g.add1("reshape", [b.act(l * d)], { shape: [l, d] });
    },
    seq(l, d) {
      const x = g.input(`seq${n++}`, "f32", ["N", l, d]);
      feeds.set(x, rng.f32(B * l * d, () => rng.normal()));
      return x;
    },
    mask(l) {
      const x = g.input(`mask${n++}`, "f32", ["N", l]);
      const lens = [l, 0, 2, l - 1, 1];
      feeds.set(x, Float32Array.from({ length: B * l }, (_, e) => (e % l < lens[Math.floor(e / l) % lens.length] ? 1 : 0)));
      return x;
    },
  };
  return b;
}

/** Parameter values: weights ~ U(−0.8, 0.8), layer-norm scales around 1, everything else ~ 0.5·N(0, 1). */
const initOf = (rng: Rng) => (v: Value) => {
  const size = (v.shape as number[]).reduce((a, c) => a * c, 1);
  return rng.f32(size, () => 0.8 * rng.uniform());
};

interface GradCase {
  label: string;
  g: Graph;
  feeds: Map<Value, Feed>;
  targets: Value[];
  roots: Value[];
  objective: (rig: Rig) => number;
  scales: number[];
}

/** op output y → mse against random targets (one row unlabelled), seeded with scale 0.7. */
function mseCase(op: string, i: number, make: (b: Builder) => Value): GradCase {
  const b = builder(`${op}#${i}`, 1000 + 17 * i + op.length);
  const out = make(b);
  assert.is(out.shape.length, 2, `${op}: the case must end in an [N, w] value`);
  const w = out.shape[1] as number;
  // A tail of adds with random inputs: its buffers are allocated after the op's inputs and output are dead (unless
  // the op saves them), so a backward reading a value its op forgot to list in `saves` reads the tail's numbers.
  let y = out;
  for (let j = 0; j < 3; j++) y = b.g.add1("add", [y, b.input(w)], {}, `tail${j}`);
  const t = b.g.input("target", "f32", ["N", w]), mask = b.g.input("mask", "f32", ["N"]);
  const tv = b.rng.f32(B * w, () => b.rng.normal()), mv = Float32Array.from({ length: B }, (_, r) => (r === 2 ? 0 : 1));
  b.feeds.set(t, tv);
  b.feeds.set(mask, mv);
  const loss = b.g.add1("mse", [y, t, mask], { task: 0 }, "loss");
  return { label: `${op}#${i}`, g: b.g, feeds: b.feeds, targets: [y, loss], roots: [loss], scales: [0.7], objective: (rig) => 0.7 * mse64(rig.read(y), tv, mv, w) };
}

/** Check every parameter's gradient of one case against finite differences; returns a line per failure. */
function checkCase(c: GradCase, rng: Rng, tol = 3e-3): string[] {
  const rig = new Rig({ graph: c.g, k, arena, batch: B, training: true, targets: c.targets, roots: c.roots, feeds: c.feeds, init: initOf(rng), scales: c.scales });
  const failures: string[] = [];
  try {
    assert.ok(rig.params.length > 0, `${c.label}: no parameters`);
    // Stale values first (a different parameter point), then poison: the checked backward must overwrite.
    rig.forward();
    rig.run(rig.program.backward);
    rig.poisonGrads(NaN);
    rig.forward();
    rig.run(rig.program.backward);
    const grads = new Map(rig.params.map((p) => [p, rig.readGrad(p)]));
    let skippedTotal = 0, checkedTotal = 0;
    for (const p of rig.params) {
      if (!p.requiresGrad) continue; // model state (batch norm's running statistics): no gradient
      const got = grads.get(p)!;
      if (hasNaN(got)) {
        failures.push(`${c.label}: ${p.name}'s gradient has NaN (unwritten, or accumulated into garbage)`);
        continue;
      }
      const { fd, skip } = fdParam(rig, p, () => c.objective(rig));
      const { err, skipped } = compare(got, fd, skip, 1e-2);
      skippedTotal += skipped;
      checkedTotal += fd.length;
      if (skipped > Math.max(1, fd.length / 4)) failures.push(`${c.label}: ${p.name}: ${skipped} of ${fd.length} elements near kinks`);
      if (process.env.GRAPH_DEBUG) console.log(`${c.label} ${p.name} err=${err.toExponential(2)} skipped=${skipped}/${fd.length}`);
      if (!(err <= tol)) failures.push(`${c.label}: ${p.name}: relative error ${err.toExponential(2)} > ${tol} (got ${Array.from(got.slice(0, 4), (x) => x.toFixed(5))}…, fd ${Array.from(fd.slice(0, 4), (x) => x.toFixed(5))}…)`);
    }
    if (skippedTotal > 0.05 * checkedTotal + 1) failures.push(`${c.label}: ${skippedTotal} of ${checkedTotal} elements skipped`);
  } finally {
    rig.dispose();
  }
  return failures;
}

const differentiable = OPS.filter((d) => typeof d.backward === "function" && !isLossOrRelation(d));

test("every differentiable op has a gradient case in this file", () => {
  const missing = differentiable.map((d) => d.op).filter((op) => !CASES[op]?.length);
  assert.equal(missing, [], `add a case to CASES for: ${missing.join(", ")}`);
  for (const op of Object.keys(CASES)) assert.ok(differentiable.some((d) => d.op === op), `CASES has ${op}, which is not a differentiable op`);
});

for (const d of differentiable) {
  test(`${d.op}: parameter gradients and input gradients (through a dense layer) equal finite differences`, () => {
    const cases = CASES[d.op] ?? [];
    if (!cases.length) return; // reported by the test above
    const failures = cases.flatMap((make, i) => checkCase(mseCase(d.op, i, make), new Rng(77 + i)));
    assert.equal(failures, [], failures.join("\n"));
  });
}

// Losses and the relation: the forward's host value is the objective (f32 kernel sums: larger steps, a looser floor).
function lossCase(op: string): GradCase {
  const b = builder(`loss:${op}`, 4242 + op.length);
  const w = op === "xent" || op === "giou" ? 4 : op.startsWith("dselect_") ? 6 : 3; // giou: one box [x0, y0, x1, y1] per row; dselect: z of k = 2 selectors × 3 bits
  const x = b.act(w);
  const mv = Float32Array.from({ length: B }, (_, r) => (r === 1 ? 0 : 1));
  const mask = b.g.input("mask", "f32", ["N"]);
  b.feeds.set(mask, mv);
  if (op === "relation") {
    const y = b.act(w), valid = b.g.input("valid", "f32", ["N"]);
    b.feeds.set(valid, mv);
    const r = b.g.add1("relation", [x, y, valid], { index: 1, lambda: 0.6 }, "rel");
    // validCount is the feeder's (B rows valid here: the rig sets it to the batch size).
    return { label: op, g: b.g, feeds: b.feeds, targets: [r], roots: [r], scales: [], objective: (rig) => 0.6 * rig.host.relations[1] };
  }
  if (op === "funnel_hinge") {
    const y = b.act(w), valid = b.g.input("valid", "f32", ["N"]);
    b.feeds.set(valid, mv);
    const r = b.g.add1(op, [x, y, valid], { index: 1, lambda: 0.6 }, "term");
    return { label: op, g: b.g, feeds: b.feeds, targets: [r], roots: [r], scales: [], objective: (rig) => 0.6 * rig.host.relations[1] };
  }
  if (op === "esmm_bce") {
    const y = b.act(w), labels = b.g.input("labels", "f32", ["N", w]);
    b.feeds.set(labels, b.rng.f32(B * w, () => (b.rng.next() < 0.5 ? 1 : 0)));
    const loss = b.g.add1(op, [x, y, labels, mask], { task: 1 }, "loss");
    return { label: op, g: b.g, feeds: b.feeds, targets: [loss], roots: [loss], scales: [1, 1.3], objective: (rig) => 1.3 * rig.host.losses[1] };
  }
  if (op.startsWith("dselect_")) {
    const valid = b.g.input("valid", "f32", ["N"]);
    b.feeds.set(valid, mv);
    const r = b.g.add1(op, [x, valid], { experts: 5, k: 2, gamma: 1.5, index: 1, lambda: 0.6 }, "term");
    return { label: op, g: b.g, feeds: b.feeds, targets: [r], roots: [r], scales: [], objective: (rig) => 0.6 * rig.host.relations[1] };
  }
  if (op === "tag_xent") {
    // logits [N, 4, 3]; an out-of-range label (unlabelled); a label mask with an all-padding row
    const z = b.g.add1("reshape", [b.g.add1("dense", [x, b.param([w, 12]), b.param([12])])], { shape: [4, 3] });
    const labels = b.g.input("labels", "i32", ["N", 4]), lm = b.mask(4);
    b.feeds.set(labels, Int32Array.from({ length: B * 4 }, (_, e) => (e === 1 ? -1 : b.rng.int(3))));
    const loss = b.g.add1("tag_xent", [z, labels, lm], { task: 1 }, "loss");
    return { label: op, g: b.g, feeds: b.feeds, targets: [loss], roots: [loss], scales: [1, 1.3], objective: (rig) => 1.3 * rig.host.losses[1] };
  }
  let labels: Value;
  if (op === "xent") {
    labels = b.g.input("labels", "i32", ["N"]);
    b.feeds.set(labels, Int32Array.from({ length: B }, () => b.rng.int(w)));
  } else {
    labels = b.g.input("labels", "f32", ["N", w]);
    b.feeds.set(labels, b.rng.f32(B * w, op === "bce" ? () => (b.rng.next() < 0.5 ? 1 : 0) : () => 2 * b.rng.normal()));
  }
  const loss = b.g.add1(op, [x, labels, mask], { task: 1, pos_weight: 2.5, delta: 0.8, beta: 0.6 }, "loss");
  return { label: op, g: b.g, feeds: b.feeds, targets: [loss], roots: [loss], scales: [1, 1.3], objective: (rig) => 1.3 * rig.host.losses[1] };
}

for (const op of ["bce", "xent", "mse", "mae", "huber", "smooth_l1", "giou", "relation", "dselect_entropy", "dselect_reach", "funnel_hinge", "esmm_bce", "tag_xent"]) {
  test(`${op}: the backward is the gradient of the forward's value (seeded with the task's scale)`, () => {
    const failures = checkCase(lossCase(op), new Rng(5), 5e-3);
    assert.equal(failures, [], failures.join("\n"));
  });
}

// ---- ONNX round trip -------------------------------------------------------------------------------------------

/** Inference graphs at the raw boundary (f32 / int64 inputs), one or more per op with an ONNX form. */
const ONNX_CASES: Record<string, ((b: Builder, cat: () => Value) => Value)[]> = {
  dense: [
    (b) => b.g.add1("dense", [b.input(4), b.param([4, 3]), b.param([3])]),
    (b) => b.g.add1("dense", [b.input(4), b.param([4, 3]), b.param([3])], { act: "relu" }),
    (b) => b.g.add1("dense", [b.input(4), b.param([4, 2])]),
  ],
  softmax: [(b) => b.g.add1("softmax", [b.input(4)])],
  mul: [(b) => b.g.add1("mul", [b.g.add1("dense", [b.input(3), b.param([3, 2])]), b.g.add1("softmax", [b.input(2)])])],
  rowdot: [
    (b) => b.g.add1("rowdot", [b.input(4), b.g.add1("dense", [b.input(3), b.param([3, 4])])], { scale: 0.5 }),
    (b) => b.g.add1("rowdot", [b.input(3), b.input(3)], { scale: 1 }),
  ],
  embedding: [(b, cat) => b.g.add1("embedding", [b.param([4, 3]), b.g.add1("index_column", [cat()], { col: 1, limit: 4 })])],
  index_column: [(b, cat) => b.g.add1("embedding", [b.param([4, 2]), b.g.add1("index_column", [cat()], { col: 0, limit: 4 })])],
  layernorm: [(b) => b.g.add1("layernorm", [b.input(5), b.param([5]), b.param([5])])],
  dropout: [(b) => b.g.add1("dense", [b.g.add1("dropout", [b.input(3)], { p: 0.5 }), b.param([3, 2])])],
  concat: [(b) => b.g.add1("concat", [b.input(2), b.input(3)])],
  slice: [(b) => b.g.add1("slice", [b.input(5)], { start: 1, size: 3 })],
  stack: [(b) => b.g.add1("moe_combine", [b.g.add1("stack", [b.input(3), b.input(3)]), b.g.add1("softmax", [b.input(2)])])],
  moe_combine: [(b) => b.g.add1("moe_combine", [b.g.add1("stack", [b.input(2), b.input(2), b.input(2)]), b.g.add1("softmax", [b.input(3)])])],
  cross_stitch: [
    (b) => b.g.add1("concat", b.g.add("cross_stitch", [b.input(3), b.input(3), b.input(3), b.param([3, 3])])),
    (b) => b.g.add1("concat", b.g.add("cross_stitch", [b.image(2, 2, 3), b.image(2, 2, 3), b.param([2, 2])]).map((y) => flat(b, y))),
  ],
  dselect_gate: [(b) => b.g.add1("dselect_gate", [b.g.add1("dense", [b.input(3), b.param([3, 6])]), b.g.add1("dense", [b.input(3), b.param([3, 2])])], { experts: 5, k: 2, gamma: 1.5 })],
  group_gather: [(b, cat) => b.g.add1("group_gather", [b.input(3), b.g.add1("index_column", [cat()], { col: 0, limit: 3 })], { groups: 3 })],
  add: [(b) => b.g.add1("add", [b.g.add1("dense", [b.input(2), b.param([2, 3])]), b.g.add1("dense", [b.input(2), b.param([2, 3])])])],
  identity: [(b) => b.g.add1("identity", [b.g.add1("dense", [b.input(2), b.param([2, 3])])])],
  standardize: [(b) => b.g.add1("standardize", [b.input(3), b.g.constant("mean", Float32Array.of(0.5, -1, 2), [3]), b.g.constant("std", Float32Array.of(2, 0.5, 3), [3])])],
  conv2d: [
    (b) => flat(b, b.g.add1("conv2d", [b.image(2, 6, 5), b.param([3, 2, 3, 3]), b.param([3])], { stride: [2, 1], pads: [1, 0, 1, 1] })),
    (b) => flat(b, b.g.add1("conv2d", [b.image(2, 5, 5), b.param([2, 2, 3, 3])], { act: "relu", dilation: [2, 1], pads: [2, 1, 2, 1] })),
  ],
  maxpool2d: [(b) => flat(b, b.g.add1("maxpool2d", [b.image(2, 5, 6)], { kernel: [2, 2] })), (b) => flat(b, b.g.add1("maxpool2d", [b.image(1, 5, 5)], { kernel: [3, 3], stride: [2, 2], pads: [1, 1, 1, 1] }))],
  avgpool2d: [
    (b) => flat(b, b.g.add1("avgpool2d", [b.image(2, 4, 6)], { kernel: [2, 2] })),
    (b) => flat(b, b.g.add1("avgpool2d", [b.image(3, 3, 5)], { global: true })),
    (b) => flat(b, b.g.add1("avgpool2d", [b.image(1, 5, 5)], { kernel: [3, 3], stride: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 1 })),
  ],
  batchnorm: [(b) => flat(b, b.g.add1("batchnorm", [b.image(3, 2, 3), b.param([3]), b.param([3]), b.g.constant("mean", Float32Array.of(0.3, -0.5, 1), [3]), b.g.constant("var", Float32Array.of(0.5, 2, 1.5), [3])]))],
  reshape: [(b) => flat(b, b.g.add1("reshape", [b.input(12)], { shape: [3, 2, 2] }))],
  flatten: [(b) => flat(b, b.image(2, 2, 3))],
  embed_seq: [(b) => flat(b, b.g.add1("embed_seq", [b.param([5, 3]), b.g.add1("seq_ids", [tokens(b, 4, 5)], { limit: 5 })]))],
  seq_ids: [(b) => flat(b, b.g.add1("embed_seq", [b.param([5, 2]), b.g.add1("seq_ids", [tokens(b, 3, 5)], { limit: 5 })]))],
  seq_mask: [(b) => b.g.add1("seq_mask", [tokens(b, 5, 3)]), (b) => b.g.add1("seq_pool", [b.seq(4, 2), b.g.add1("seq_mask", [tokens(b, 4, 4)])], { mode: "mean" })],
  seq_pool: [(b) => b.g.add1("seq_pool", [b.seq(4, 3), b.mask(4)], { mode: "max" }), (b) => b.g.add1("seq_pool", [b.seq(5, 2), b.mask(5)], { mode: "mean" })],
  conv1d: [
    (b) => flat(b, b.g.add1("conv1d", [b.seq(6, 3), b.mask(6), b.param([4, 3, 3]), b.param([4])], { act: "relu" })),
    (b) => flat(b, b.g.add1("conv1d", [b.seq(7, 2), b.mask(7), b.param([3, 2, 2])], { dilation: 2 })),
  ],
  bigru: [(b) => flat(b, b.g.add1("bigru", [b.seq(4, 2), b.mask(4), b.param([2, 15, 2]), b.param([2, 15, 5]), b.param([2, 30])]))],
  periodic: [(b) => b.g.add1("periodic", [b.input(3), b.param([3, 6])]), (b) => b.g.add1("periodic", [b.g.add1("dense", [b.input(2), b.param([2, 2])]), b.param([2, 1])])],
  // quantile, ple and standardize columns and an indicator, on raw values with missing (NaN) cells and values
  // outside every knot range
  numeric_encode: [
    (b) => {
      const plan = encoderPlan([
        { column: "a", mean: 0.1, std: 1.3, encoding: "quantile", knots: [-1, 0, 0.5, 2], refs: [0, 0.25, 0.5, 1] },
        { column: "b", mean: -0.2, std: 0.7, encoding: "ple", edges: [-1, 0, 1] },
        { column: "c", mean: 0.5, std: 2, indicator: true },
      ]);
      const x = b.input(3, () => (b.rng.next() < 0.2 ? NaN : 2.5 * b.rng.normal()));
      const K = (n: string, d: Float32Array | Int32Array, s: number[]) => b.g.constant(n, d, s);
      return b.g.add1("numeric_encode", [x, K("mean", plan.mean, [3]), K("cols", plan.cols, [plan.W]), K("lo", plan.lo, [plan.W]), K("width", plan.width, [plan.W]), K("cmin", plan.cmin, [plan.W]), K("cmax", plan.cmax, [plan.W]), K("M", plan.M, [plan.W, plan.V])]);
    },
  ],
  affine: [(b) => b.g.add1("affine", [b.g.add1("dense", [b.input(2), b.param([2, 3])]), b.g.constant("scale", Float32Array.of(2, 0.5, 3), [3]), b.g.constant("shift", Float32Array.of(0.5, -1, 2), [3])])],
};
// After a Gemm, a Relu is fused into the dense node on import (dense's own relu case above): relu reads an input.
for (const op of ["relu", "leaky_relu", "silu", "sigmoid", "tanh", "gelu"])
  ONNX_CASES[op] = [(b) => b.g.add1(op, [b.input(4)]), ...(op === "relu" ? [] : [(b: Builder) => b.g.add1(op, [b.g.add1("dense", [b.input(3), b.param([3, 4])])])])];

/** An int64 token-id input [N, l] with ids in [0, v). */
function tokens(b: Builder, l: number, v: number): Value {
  const x = b.g.input("tokens", "i64", ["N", l]);
  b.feeds.set(x, BigInt64Array.from({ length: B * l }, () => BigInt(b.rng.int(v))));
  return x;
}

const exportable = OPS.filter((d) => !isNone(d.onnx));

test("every op with an ONNX form has a round-trip case in this file", () => {
  const missing = exportable.map((d) => d.op).filter((op) => !ONNX_CASES[op]?.length);
  assert.equal(missing, [], `add a case to ONNX_CASES for: ${missing.join(", ")}`);
});

/** Lower `graph`'s nodes needed for `out` through the ops' onnx (as src/onnx/export.ts does); `out` is named "out". */
function toOnnx(graph: Graph, out: Value, rig: Rig): Uint8Array {
  const g = new GraphBuilder(graph.name);
  const names = new Map<Value, string>();
  const ELEM = { f32: "float", i64: "int64", i32: "int32" } as const;
  for (const v of graph.inputs()) names.set(v, g.input(v.name, ELEM[v.dtype], [...v.shape]));
  const ctx: OnnxCtx = {
    g,
    name(v) {
      let n = names.get(v);
      if (n !== undefined) return n;
      if (v.kind === "param") n = g.initializer(v.name, rig.readParam(v), v.shape as number[]);
      else if (v.kind === "const") n = g.initializer(g.uniqueName(v.name), v.data!, v.shape as number[]);
      else throw new Error(`${v.name} is used before the node that computes it`);
      names.set(v, n);
      return n;
    },
    bind(v, onnxName) {
      names.set(v, onnxName);
    },
    outName: (v) => (v === out ? "out" : undefined),
    f32: (name, values, dims) => g.initializer(g.uniqueName(name), Float32Array.from(values), dims ?? [values.length]),
    i64: (name, values) => g.initializer(g.uniqueName(name), BigInt64Array.from(values.map(BigInt)), [values.length]),
    i64Scalar: (name, value) => g.initializer(g.uniqueName(name), BigInt64Array.of(BigInt(value)), []),
  };
  for (const n of graph.needed([out])) (opDef(n.op).onnx as (e: OnnxCtx, n: unknown) => void)(ctx, n);
  let name = ctx.name(out);
  if (name !== "out") name = g.node("Identity", [name], ["out"])[0];
  g.output(name, "float", ["N", out.shape[1] as number]);
  return encodeModel(g.toModel({ producerName: "registry.test", irVersion: ONNX_IR_VERSION, opset: ONNX_OPSET }));
}

for (const d of exportable) {
  test(`${d.op}: exports to ONNX, imports back to the same op, and the mtl engine equals our forward`, () => {
    for (const [i, make] of (ONNX_CASES[d.op] ?? []).entries()) {
      const b = builder(`onnx-${d.op}-${i}`, 300 + i + d.op.length);
      const cat = () => {
        const v = b.g.input("cat", "i64", ["N", 2]);
        b.feeds.set(v, BigInt64Array.from({ length: B * 2 }, (_, j) => BigInt((j * 7 + 1) % 3)));
        return v;
      };
      const out = make(b, cat);
      assert.ok(b.g.nodes.some((n) => n.op === d.op), `${d.op}#${i}: the case has no ${d.op} node`);
      const rig = new Rig({ graph: b.g, k, arena, batch: B, training: false, targets: [out], feeds: b.feeds, init: initOf(new Rng(i + 3)) });
      try {
        rig.forward();
        const ours = rig.read(out);
        const bytes = toOnnx(b.g, out, rig);
        const imported = importOnnx(decodeModel(bytes), `${d.op}#${i}`);
        const ops = imported.graph.nodes.map((n) => n.op);
        if (d.op !== "dropout") assert.ok(ops.includes(d.op), `${d.op}#${i}: the import of its ONNX form has no ${d.op} node (ops: ${ops.join(", ")})`);
        else assert.not.ok(ops.includes("dropout"), "dropout is omitted from exports");
        const runner = MtlRunner.create(bytes, k, `${d.op}#${i}`);
        try {
          const feeds: Record<string, { type: "float32" | "int64"; data: Float32Array | BigInt64Array; dims: number[] }> = {};
          for (const [v, data] of b.feeds) feeds[v.name] = { type: v.dtype === "i64" ? "int64" : "float32", data: data as Float32Array | BigInt64Array, dims: [B, ...(v.shape.slice(1) as number[])] };
          const theirs = runner.run(feeds).out;
          assert.is(theirs.length, ours.length);
          let worst = 0;
          for (let j = 0; j < ours.length; j++) worst = Math.max(worst, Math.abs(theirs[j] - ours[j]) / Math.max(1, Math.abs(ours[j])));
          assert.ok(worst <= 1e-5, `${d.op}#${i}: mtl engine differs from our forward by ${worst.toExponential(2)}`);
        } finally {
          runner.dispose();
        }
      } finally {
        rig.dispose();
      }
    }
  });
}

test.run();
