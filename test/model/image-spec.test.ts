// Image specs (issue 13 item 2): inputs.image, conv / pool / batchnorm / flatten / activation layers in the trunk,
// experts and towers, and shape errors that name the layer path and the shape that does not fit.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { validateSpec, layerShapes, inputShape } from "../../src/model/spec.ts";
import { lowerSpec } from "../../src/model/lower.ts";

const base = (architecture: unknown, tower: unknown[] = []) => ({
  inputs: { image: { channels: 1, height: 28, width: 28 } },
  architecture,
  tasks: [{ name: "left", type: "multiclass", label: "left", tower }],
});
const lenet = [
  { type: "conv", filters: 10, kernel: 5, activation: "none" },
  { type: "pool", mode: "max", size: 2 },
  { type: "activation", activation: "relu" },
  { type: "conv", filters: 20, kernel: 5, activation: "none" },
  { type: "pool", mode: "max", size: 2 },
  { type: "activation", activation: "relu" },
  { type: "flatten" },
  { units: 50 },
];

function rejects(spec: unknown, message: string | RegExp) {
  try {
    validateSpec(spec);
  } catch (e) {
    const m = (e as Error).message;
    if (typeof message === "string") assert.is(m, message);
    else assert.match(m, message);
    return;
  }
  assert.unreachable(`accepted; expected ${String(message)}`);
}

test("inputs.image sets the tensor width; LeNet's shapes are 10×24×24 → 10×12×12 → 20×8×8 → 20×4×4 → 320 → 50", () => {
  const s = validateSpec(base({ type: "hps", layers: lenet }));
  assert.is(s.inputs.tensor, 784);
  assert.equal(s.inputs.image, { channels: 1, height: 28, width: 28 });
  assert.equal(layerShapes(s.architecture.layers.slice(0, 7), inputShape(s.inputs), "architecture.layers", "inputs.image"), [320]);
  assert.equal(layerShapes(s.architecture.layers.slice(0, 2), inputShape(s.inputs), "architecture.layers", "inputs.image"), [10, 12, 12]);
  // "same" keeps the size at stride 1 and gives ⌈H/stride⌉ at stride 2.
  const same = validateSpec(base({ type: "hps", layers: [{ type: "conv", filters: 4, kernel: 3, padding: "same", stride: 2 }, { type: "flatten" }] }));
  assert.equal(layerShapes(same.architecture.layers, inputShape(same.inputs), "architecture.layers", "inputs.image"), [4 * 14 * 14]);
  const g = lowerSpec(s, { numeric: 0, vocab: [], outputs: [10], groups: [0] }, { numeric: [], categorical: [], tasks: [{ name: "left", classes: null, groups: null, target: null }] } as never, "encoded");
  assert.equal(g.get("image").shape, ["N", 1, 28, 28]);
  assert.equal(g.get("shared.6.flatten").shape, ["N", 320]);
});

test("conv groups: depthwise is one group per input channel; groups must divide channels and filters, by name", () => {
  const layers = [
    { type: "conv", filters: 6, kernel: 3 },
    { type: "conv", filters: 12, kernel: 3, groups: "depthwise" },
    { type: "conv", filters: 4, kernel: 3, groups: 2 },
    { type: "flatten" },
  ];
  const s = validateSpec(base({ type: "hps", layers }));
  assert.equal(s.architecture.layers.map((l) => (l.type === "conv" ? l.groups : null)), [1, "depthwise", 2, null]);
  assert.equal(layerShapes(s.architecture.layers, inputShape(s.inputs), "architecture.layers", "inputs.image"), [4 * 22 * 22]);
  const g = lowerSpec(s, { numeric: 0, vocab: [], outputs: [10], groups: [0] }, { numeric: [], categorical: [], tasks: [{ name: "left", classes: null, groups: null, target: null }] } as never, "encoded");
  assert.equal(g.get("shared.1.weight").shape, [12, 1, 3, 3]);
  assert.equal(g.get("shared.2.weight").shape, [4, 6, 3, 3]);
  const with1 = (l: object) => base({ type: "hps", layers: [layers[0], l, { type: "flatten" }] });
  rejects(with1({ type: "conv", filters: 6, kernel: 3, groups: 4 }), "architecture.layers[1].groups: conv groups 4 must divide the input channels (6, input shape [6, 26, 26]) and the filters (6)");
  rejects(with1({ type: "conv", filters: 9, kernel: 3, groups: "depthwise" }), `architecture.layers[1].groups: conv groups "depthwise" (6, the input channels) must divide the input channels (6, input shape [6, 26, 26]) and the filters (9)`);
  rejects(with1({ type: "conv", filters: 6, kernel: 3, groups: "pointwise" }), `architecture.layers[1].groups: expected an integer ≥ 1 or "depthwise", found "pointwise"`);
  rejects(with1({ type: "conv", filters: 6, kernel: 3, groups: 0 }), /^architecture\.layers\[1\]\.groups: must be an integer in \[1, /);
  rejects(with1({ type: "conv", filters: 6, kernel: 3, groups: 1.5 }), /^architecture\.layers\[1\]\.groups: must be an integer in \[1, /);
});

test("shape errors name the layer path and the shape", () => {
  rejects(base({ type: "hps", layers: [{ type: "conv", filters: 4, kernel: 5 }, { units: 8 }] }), `architecture.layers[1]: dense needs a flat input; add {"type": "flatten"} after architecture.layers[0] (shape [4, 24, 24])`);
  rejects(base({ type: "hps", layers: [{ type: "conv", filters: 4, kernel: 3 }] }, [{ units: 8 }]), `tasks[0].tower[0]: dense needs a flat input; add {"type": "flatten"} after architecture.layers[0] (shape [4, 26, 26])`);
  rejects(base({ type: "hps", layers: [{ type: "pool", mode: "max", size: 8 }, { type: "pool", mode: "max", size: 3 }, { type: "pool", mode: "max", size: 2 }] }), /^architecture\.layers\[2\]: pool 2×2 on 1×1 leaves nothing \(input shape \[1, 1, 1\]\)/);
  rejects(base({ type: "hps", layers: [{ type: "conv", filters: 4, kernel: 29 }] }), /^architecture\.layers\[0\]: conv 29×29 on 28×28 \(padding "valid"\) leaves no output/);
  rejects(base({ type: "hps", layers: [{ type: "flatten" }, { type: "conv", filters: 2, kernel: 3 }] }), /^architecture\.layers\[1\]: conv needs an image input \[C, H, W\], but its input is flat \(\[784\], from architecture\.layers\[0\]\)/);
  rejects(base({ type: "hps", layers: [{ type: "conv", filters: 2, kernel: 3 }] }), /^tasks\[0\]\.tower: the task's head is dense and needs a flat input; add \{"type": "flatten"\} at the end \(shape \[2, 26, 26\]\)/);
  rejects(base({ type: "mmoe", experts: 2, layers: [{ type: "conv", filters: 2, kernel: 3 }] }), /^architecture\.layers: mmoe experts must end in a flat vector/);
  rejects({ inputs: { numeric: ["a"] }, architecture: { layers: [{ type: "conv", filters: 2, kernel: 3 }] }, tasks: [{ name: "t", type: "binary", label: "y" }] }, /^architecture\.layers\[0\]: conv needs an image input/);
  rejects({ ...base({ type: "hps", layers: [] }), inputs: { image: { channels: 1, height: 28, width: 28 }, tensor: 100 } }, /^inputs\.tensor: is 100, but inputs\.image holds 1·28·28 = 784/);
  rejects(base({ type: "hps", layers: [{ type: "pool", mode: "global_avg", size: 2 }] }), /^architecture\.layers\[0\]\.size: mode "global_avg" pools the whole image/);
  rejects(base({ type: "hps", layers: [{ type: "conv", filters: 2 }] }), "architecture.layers[0].kernel: is required");
  rejects(base({ type: "hps", layers: [{ type: "conv", filters: 2, kernel: 3, padding: "full" }] }), /^architecture\.layers\[0\]\.padding: "full" is not one of valid, same/);
  rejects(base({ type: "hps", layers: [{ type: "pool", mode: "min" }] }), /^architecture\.layers\[0\]\.mode: "min" is not one of max, avg, global_avg/);
});

test("a normalized image spec validates again to itself (model.json and the ONNX metadata carry it)", () => {
  for (const j of [base({ type: "hps", layers: lenet }), base({ type: "hps", layers: [{ type: "conv", filters: 2, kernel: [3, 2], padding: "same", batchnorm: true, dropout: 0.1 }, { type: "pool", mode: "global_avg" }, { type: "batchnorm" }, { type: "flatten" }] })]) {
    const once = validateSpec(j);
    assert.equal(validateSpec(JSON.parse(JSON.stringify(once))), once);
  }
});

test("towers may start with conv when the trunk ends in an image; experts may be conv stacks", () => {
  validateSpec(base({ type: "hps", layers: [{ type: "conv", filters: 4, kernel: 3, batchnorm: true }] }, [{ type: "pool", mode: "global_avg" }, { type: "flatten" }, { units: 8 }]));
  validateSpec(base({ type: "cgc", shared_experts: 1, task_experts: 1, layers: [{ type: "conv", filters: 4, kernel: 3 }, { type: "pool", mode: "max", size: 2 }, { type: "flatten" }] }));
});

test.run();
