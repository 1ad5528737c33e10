// The conv2d op (src/ops/conv.ts) on its own: shape inference and its errors, the kernel each shape gets (per
// (image, group) slice for grouped convs), the one-line description, and the ONNX Conv it exports and imports
// (group, auto_pad, the fused Relu). The numbers it computes are checked elsewhere: test/model/gradcheck.test.ts
// (finite differences through every kernel path), test/onnx/conv-export.test.ts (ORT on MNIST),
// test/export/torch-image.test.ts (PyTorch).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup, throwsWith, Rng } from "../helpers.ts";
import { conv2d } from "../../src/ops/conv.ts";
import type { Node, Value } from "../../src/graph/graph.ts";
import { validateSpec } from "../../src/model/spec.ts";
import { Model } from "../../src/model/model.ts";
import type { Kernels } from "../../src/runtime/load.ts";
import type { Encoded, Preprocessing } from "../../src/data/preprocess.ts";
import { exportOnnx } from "../../src/onnx/export.ts";
import { decodeModel, type ModelProto } from "../../src/onnx/model.ts";
import { importOnnx } from "../../src/onnx/import.ts";
import { toAttribute } from "../../src/onnx/builder.ts";

const { k } = await setup();

const v = (shape: (number | string)[], dtype = "f32") => ({ dtype, shape }) as unknown as Value;
const infer = (ins: Value[], attrs: Record<string, unknown> = {}) => conv2d.infer(ins, attrs as never);

test("infer: [N, C_out, H_out, W_out] with strides, pads, dilations and groups; W is [C_out, C / group, kh, kw]", () => {
  // H_out = ⌊(10 + 1 + 1 − 1·2 − 1) / 2⌋ + 1 = 5, W_out = ⌊(12 + 0 + 2 − 2·2 − 1) / 1⌋ + 1 = 10
  const [y] = infer([v(["N", 8, 10, 12]), v([6, 4, 3, 3]), v([6])], { stride: [2, 1], pads: [1, 0, 1, 2], dilation: [1, 2], group: 2, act: "relu" });
  assert.equal(y, { dtype: "f32", shape: ["N", 6, 5, 10] });
  assert.equal(infer([v([3, 8, 5, 5]), v([8, 1, 5, 5])], { group: 8 })[0].shape, [3, 8, 1, 1]); // depthwise, no bias
  assert.equal(infer([v([3, 2, 7, 7]), v([4, 2, 3, 3])], {})[0].shape, [3, 4, 5, 5]); // defaults: stride 1, no pads, group 1
});

test("infer: errors name what does not fit", () => {
  const x = v(["N", 8, 10, 10]), W = v([6, 4, 3, 3]);
  throwsWith(() => infer([x]), "expected inputs (x, W[, b]), got 1");
  throwsWith(() => infer([x, W, v([6]), v([6])], { group: 2 }), "expected inputs (x, W[, b]), got 4");
  for (const g of [0, 1.5, -2, "2"]) throwsWith(() => infer([x, W], { group: g }), `group must be an integer ≥ 1, got ${String(g)}`);
  throwsWith(() => infer([v(["N", 8, 10]), W], { group: 2 }), "x must be f32 [N, C, H, W], got f32 [N, 8, 10]");
  throwsWith(() => infer([v(["N", 8, 10, 10], "i32"), W], { group: 2 }), "x must be f32 [N, C, H, W], got i32 [N, 8, 10, 10]");
  throwsWith(() => infer([x, v([6, 8, 3, 3])], { group: 3 }), "group 3 must divide x's 8 channels");
  throwsWith(() => infer([x, v([6, 8, 3, 3])], { group: 2 }), "W must be [C_out, 4, kh, kw] with C_out a multiple of group 2, got [6, 8, 3, 3]");
  throwsWith(() => infer([x, v([5, 4, 3, 3])], { group: 2 }), "W must be [C_out, 4, kh, kw] with C_out a multiple of group 2, got [5, 4, 3, 3]");
  throwsWith(() => infer([x, v([6, 4, 3, 3])]), "W must be [C_out, 8, kh, kw], got [6, 4, 3, 3]");
  throwsWith(() => infer([x, v([6, 4, 9])], { group: 2 }), "W must be [C_out, 4, kh, kw]");
  throwsWith(() => infer([x, v([6, 4, 3, 3], "i32")], { group: 2 }), "W must be [C_out, 4, kh, kw]");
  throwsWith(() => infer([x, W, v([5])], { group: 2 }), "b must be [6], got [5]");
  throwsWith(() => infer([x, W, v([6, 1])], { group: 2 }), "b must be [6], got [6, 1]");
  throwsWith(() => infer([x, W], { group: 2, act: "gelu" }), `act must be "none" or "relu", got gelu`);
  throwsWith(() => infer([x, v([6, 4, 11, 3])], { group: 2 }), "a 11×3 kernel (dilation 1×1, pads 0,0,0,0) does not fit a 10×10 input");
  throwsWith(() => infer([x, v([6, 4, 3, 3])], { group: 2, dilation: [1, 5], pads: [0, 0, 0, 0] }), "a 3×3 kernel (dilation 1×5, pads 0,0,0,0) does not fit a 10×10 input");
});

test("describe: kernel, stride, groups (depthwise when one per channel) and a fused relu", () => {
  const node = (x: number[], W: number[], attrs: Record<string, unknown>) => ({ inputs: [v(x), v(W)], outputs: [], attrs }) as unknown as Node;
  const d = conv2d.describe as (n: Node) => string;
  assert.is(d(node([1, 3, 9, 9], [4, 3, 3, 3], {})), "3×3");
  assert.is(d(node([1, 3, 9, 9], [4, 3, 5, 3], { stride: [2, 2], act: "relu" })), "5×3/2 relu");
  assert.is(d(node([1, 3, 9, 9], [4, 3, 3, 3], { stride: [1, 2] })), "3×3/1");
  assert.is(d(node([1, 8, 9, 9], [8, 1, 3, 3], { group: 8, act: "relu" })), "3×3 depthwise relu");
  assert.is(d(node([1, 8, 9, 9], [4, 4, 3, 3], { group: 2, act: "none" })), "3×3 groups 2");
});

// ---- one training step ------------------------------------------------------------------------------------------

/**
 * One training step (forward, then backward with unit loss scales) of a model with a channels × size × size image,
 * `layers` → global average pool → a regression head, on seeded data; weights from `weights` or seed `init`.
 * `before` runs after the program is built and fed, before the step. Returns the gradient block and the weights.
 */
function step(o: { channels: number; size: number; layers: unknown[]; batch?: number; kernels?: Kernels; weights?: Record<string, Float32Array>; init?: number; before?: () => void }) {
  const batch = o.batch ?? 3;
  const spec = validateSpec({
    inputs: { image: { channels: o.channels, height: o.size, width: o.size } },
    architecture: { type: "hps", layers: [...o.layers, { type: "pool", mode: "global_avg" }, { type: "flatten" }] },
    tasks: [{ name: "t", type: "regression", label: "y" }],
    training: { batch_size: batch },
  });
  const pre: Preprocessing = { numeric: [], categorical: [], tasks: [{ name: "t", classes: null, groups: null, target: null }] };
  const model = new Model(spec, pre, o.kernels ?? k);
  model.initParams(o.init ?? 1);
  if (o.weights) model.setWeights(o.weights);
  const weights = model.getWeights();
  const built = model.program(batch, true);
  const rng = new Rng(8);
  const enc: Encoded = {
    rows: batch,
    numeric: new Float32Array(0),
    categorical: [],
    tensor: Float32Array.from({ length: batch * o.channels * o.size * o.size }, () => rng.normal()),
    tasks: [{ labels: Float32Array.from({ length: batch }, () => rng.normal()), mask: new Float32Array(batch).fill(1), group: new Int32Array(0) }],
  };
  model.feed(built, enc, Int32Array.from({ length: batch }, (_, i) => i), 0, batch);
  o.before?.();
  for (const f of built.program.forward) f();
  built.io.scales.fill(1);
  for (const f of built.program.backward) f();
  const g = model.arena.readF32(model.store.g, model.store.total);
  model.dispose();
  return { g, weights };
}

// ---- which kernels run ------------------------------------------------------------------------------------------

/** The conv2d kernels called by one training step (forward, backward) of a model with the given image and layers. */
function kernelCalls(channels: number, size: number, layers: unknown[], batch = 3): Map<string, number> {
  const calls = new Map<string, number>();
  const wrapped: Record<string, unknown> = Object.create(null);
  for (const [name, f] of Object.entries(k)) {
    if (typeof f !== "function") { wrapped[name] = f; continue; }
    const g = f as (...a: number[]) => number;
    wrapped[name] = (...a: number[]) => {
      if (name.startsWith("conv2d_") && !name.endsWith("scratch")) calls.set(name, (calls.get(name) ?? 0) + 1);
      return g(...a);
    };
  }
  // the program's set-up calls (scratch sizes) are not the step's
  step({ channels, size, layers, batch, kernels: wrapped as unknown as Kernels, before: () => calls.clear() });
  return calls;
}
const calls = (m: Map<string, number>) => Object.fromEntries([...m].sort());

test("kernel choice: Winograd F(4×4) from 6×6 outputs and F(2×2) below, at ≥ 8 channels in and out; direct 3×3 for fewer input channels; im2col otherwise", () => {
  // a first layer: no dX
  assert.equal(calls(kernelCalls(8, 12, [{ type: "conv", filters: 8, kernel: 3 }])), { conv2d_bwd_f32x4_wino4: 1, conv2d_fwd_f32x4_wino4: 1 });
  assert.equal(calls(kernelCalls(8, 7, [{ type: "conv", filters: 8, kernel: 3 }])), { conv2d_bwd_f32x4_wino: 1, conv2d_fwd_f32x4_wino: 1 });
  assert.equal(calls(kernelCalls(7, 12, [{ type: "conv", filters: 8, kernel: 3 }])), { conv2d_bwd_w_f32x4_direct: 1, conv2d_fwd_f32x4_direct: 1 });
  assert.equal(calls(kernelCalls(8, 12, [{ type: "conv", filters: 7, kernel: 3 }])), { conv2d_bwd_w_f32x4: 1, conv2d_fwd_f32x4: 1 });
  assert.equal(calls(kernelCalls(8, 12, [{ type: "conv", filters: 8, kernel: 3, stride: 2 }])), { conv2d_bwd_w_f32x4: 1, conv2d_fwd_f32x4: 1 });
  assert.equal(calls(kernelCalls(2, 9, [{ type: "conv", filters: 8, kernel: 3 }])), { conv2d_bwd_w_f32x4: 1, conv2d_fwd_f32x4: 1 }); // 7 wide: below the direct kernel's 8
  // an inner layer: dX too (the direct path adds im2col's bwd_x; Winograd computes it in its one backward call)
  assert.equal(calls(kernelCalls(1, 12, [{ type: "conv", filters: 4, kernel: 1 }, { type: "conv", filters: 8, kernel: 3 }])), {
    conv2d_bwd_w_f32x4: 1, conv2d_bwd_w_f32x4_direct: 1, conv2d_bwd_x_f32x4: 1, conv2d_fwd_f32x4: 1, conv2d_fwd_f32x4_direct: 1,
  });
});

test("kernel choice for grouped convs: one group's shape, called once per (image, group)", () => {
  const B = 3;
  // groups 2 over 16 channels: 8 → 8 a group, Winograd; inner layer after a 1×1 conv
  assert.equal(calls(kernelCalls(1, 12, [{ type: "conv", filters: 16, kernel: 1 }, { type: "conv", filters: 16, kernel: 3, groups: 2 }], B)), {
    conv2d_bwd_f32x4_wino4: 2 * B, conv2d_bwd_w_f32x4: 1, conv2d_fwd_f32x4: 1, conv2d_fwd_f32x4_wino4: 2 * B,
  });
  // depthwise 3×3 "same" on 12 wide (direct, one channel a group) as a first layer over 5 channels: no dX
  assert.equal(calls(kernelCalls(5, 12, [{ type: "conv", filters: 5, kernel: 3, padding: "same", groups: "depthwise" }], B)), { conv2d_bwd_w_f32x4_direct: 5 * B, conv2d_fwd_f32x4_direct: 5 * B });
  // groups 4, stride 2 (im2col), inner: dW and dX per slice
  assert.equal(calls(kernelCalls(1, 12, [{ type: "conv", filters: 8, kernel: 1 }, { type: "conv", filters: 4, kernel: 3, groups: 4, stride: 2 }], B)), {
    conv2d_bwd_w_f32x4: 4 * B + 1, conv2d_bwd_x_f32x4: 4 * B, conv2d_fwd_f32x4: 4 * B + 1,
  });
});

// ---- a fused relu ---------------------------------------------------------------------------------------------------

test("a relu fused into a grouped conv gives the gradients of the conv followed by a separate relu, on every kernel path", () => {
  const pre = { type: "conv", filters: 16, kernel: 1, activation: "tanh" }; // makes the grouped conv an inner layer (dX)
  const cases: [string, number, object[], object][] = [
    ["depthwise, first layer (direct, dW without dX)", 2, [], { filters: 4, kernel: 3, padding: "same", groups: "depthwise" }],
    ["groups 2 (Winograd)", 1, [pre], { filters: 16, kernel: 3, groups: 2 }],
    ["depthwise, inner (direct + im2col dX)", 1, [pre], { filters: 16, kernel: 3, padding: "same", groups: "depthwise" }],
    ["groups 4, stride 2 (im2col)", 1, [pre], { filters: 8, kernel: 3, groups: 4, stride: 2 }],
  ];
  for (const [name, channels, before, conv] of cases) {
    // the same weights: the init depends on the activation
    const a = step({ channels, size: 12, layers: [...before, { type: "conv", ...conv, activation: "relu" }], init: 4 }), fused = a.g;
    const apart = step({ channels, size: 12, layers: [...before, { type: "conv", ...conv, activation: "none" }, { type: "activation", activation: "relu" }], weights: a.weights }).g;
    let worst = 0, scale = 0;
    for (let i = 0; i < fused.length; i++) (worst = Math.max(worst, Math.abs(fused[i] - apart[i]))), (scale = Math.max(scale, Math.abs(apart[i])));
    assert.ok(scale > 0 && worst <= 1e-6 * scale, `${name}: max |fused − apart| = ${worst.toExponential(2)} of max |g| ${scale.toExponential(2)}`);
  }
});

// ---- ONNX ---------------------------------------------------------------------------------------------------------

function exported(layers: unknown[], channels = 4): ModelProto {
  const spec = validateSpec({
    inputs: { image: { channels, height: 8, width: 8 } },
    architecture: { type: "hps", layers: [...layers, { type: "flatten" }] },
    tasks: [{ name: "t", type: "regression", label: "y" }],
  });
  const model = new Model(spec, { numeric: [], categorical: [], tasks: [{ name: "t", classes: null, groups: null, target: null }] }, k);
  model.initParams(2);
  const bytes = exportOnnx(model);
  model.dispose();
  return decodeModel(bytes);
}
const convNodes = (m: ModelProto) => m.graph.node.filter((n) => n.opType === "Conv");
const attrOf = (m: ModelProto, i: number, name: string) => convNodes(m)[i].attribute.find((a) => a.name === name)?.value;
const importedConvs = (m: ModelProto) => importOnnx(m).graph.nodes.filter((n) => n.op === "conv2d");

test("ONNX: Conv carries group, strides, pads, dilations; a relu is a Relu after it; import reads them back", () => {
  const m = exported([
    { type: "conv", filters: 8, kernel: [3, 2], stride: [2, 1], padding: [1, 0, 2, 1], dilation: [1, 2], groups: 2, activation: "relu" },
    { type: "conv", filters: 8, kernel: 3, groups: "depthwise", activation: "none" },
  ]);
  assert.equal([attrOf(m, 0, "group"), attrOf(m, 0, "strides"), attrOf(m, 0, "pads"), attrOf(m, 0, "dilations"), attrOf(m, 0, "kernel_shape")], [2, [2, 1], [1, 0, 2, 1], [1, 2], [3, 2]]);
  assert.equal([attrOf(m, 1, "group"), attrOf(m, 1, "kernel_shape")], [8, [3, 3]]);
  const convs = convNodes(m);
  assert.equal(m.graph.node.filter((n) => n.input.includes(convs[0].output[0])).map((n) => n.opType), ["Relu"]);
  assert.ok(!m.graph.node.some((n) => n.opType === "Relu" && n.input.includes(convs[1].output[0])), "no Relu after the linear conv");
  assert.equal(convs[0].input.length, 3); // bias
  const back = importedConvs(m);
  assert.equal(back.map((n) => n.attrs), [
    { stride: [2, 1], pads: [1, 0, 2, 1], dilation: [1, 2], act: "relu", group: 2 },
    { stride: [1, 1], pads: [0, 0, 0, 0], dilation: [1, 1], act: "none", group: 8 },
  ]);
  assert.equal(back.map((n) => n.inputs[1].shape), [[8, 2, 3, 2], [8, 1, 3, 3]]);
});

test("ONNX import: an ungrouped conv has no group attribute; auto_pad VALID drops the pads; errors name the node", () => {
  const m = exported([{ type: "conv", filters: 3, kernel: 3, padding: "same", activation: "tanh" }, { type: "pool", mode: "global_avg" }]); // any H_out fits
  assert.equal(importedConvs(m)[0].attrs, { stride: [1, 1], pads: [1, 1, 1, 1], dilation: [1, 1], act: "none" });
  const conv = convNodes(m)[0];
  conv.attribute.push(toAttribute("auto_pad", "VALID"));
  assert.equal(importedConvs(m)[0].attrs.pads, [0, 0, 0, 0]);
  conv.attribute = conv.attribute.map((a) => (a.name === "auto_pad" ? toAttribute("auto_pad", "SAME_UPPER") : a));
  const where = `node ${JSON.stringify(conv.name)}`;
  throwsWith(() => importOnnx(m), where, "auto_pad SAME_UPPER is not supported (give explicit pads)");
  conv.attribute = conv.attribute.filter((a) => a.name !== "auto_pad");
  for (const g of [0, -1]) {
    conv.attribute = [...conv.attribute.filter((a) => a.name !== "group"), toAttribute("group", g)];
    throwsWith(() => importOnnx(m), where, `group must be an integer ≥ 1 (group ${g})`);
  }
  conv.attribute = [...conv.attribute.filter((a) => a.name !== "group"), toAttribute("group", 3)];
  throwsWith(() => importOnnx(m), `node ${JSON.stringify(conv.name)} (conv2d): group 3 must divide x's 4 channels`);
  conv.attribute = conv.attribute.filter((a) => a.name !== "group");
  conv.input[1] = "nowhere";
  throwsWith(() => importOnnx(m), where, `input "nowhere" is not defined before this node`);
});

test("saves: x always, y too when the relu is fused (its mask)", () => {
  const node = (act: string) => ({ inputs: [v([1, 2, 5, 5]), v([2, 2, 3, 3])], outputs: [v([1, 2, 3, 3])], attrs: { act } }) as unknown as Node;
  const relu = node("relu"), none = node("none");
  assert.equal(conv2d.saves?.(relu), [relu.inputs[0], relu.outputs[0]]);
  assert.equal(conv2d.saves?.(none), [none.inputs[0]]);
});

test.run();
