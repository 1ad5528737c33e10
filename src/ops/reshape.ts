// Reshapes that move no data: the output shares the input's memory (also in training: a reshape's output and
// input are one buffer, so liveness treats them as one value). Backward: dX (+)= dY, a flat copy, because
// gradient buffers are not shared.
//   reshape: x [N, …] → [N, ...attrs.shape] with the same number of elements per row (the image input: the
//            tensor input [N, C·H·W] viewed as [N, C, H, W]). ONNX: Reshape(x, [0, ...shape]) (0 keeps the
//            batch dimension); import: Reshape with a constant shape whose first entry is 0 or −1.
//   flatten: x [N, d1, …] → [N, d1·…]. ONNX: Flatten(axis = 1); import: Flatten with axis 1.
import type { Node, Value } from "../graph/graph.ts";
import { expect, type BwdCtx, type OpDef } from "../graph/op.ts";
import { showShape } from "../graph/shape.ts";

const rowElems = (v: Value) => (v.shape.slice(1) as number[]).reduce((a, b) => a * b, 1);

function backward(c: BwdCtx, n: Node) {
  const x = n.inputs[0], dx = c.grad(x);
  if (!dx) return null;
  const copy = c.call("cols_copy_f32x4"), dy = c.grad(n.outputs[0]), len = c.numel(x), beta = c.beta(x);
  return () => void copy(1, len, dy, len, dx, len, beta);
}

export const reshape: OpDef = {
  op: "reshape",
  infer([x], attrs) {
    const shape = attrs.shape;
    expect(Array.isArray(shape) && shape.length >= 1 && shape.length <= 3 && shape.every((d) => Number.isInteger(d) && d > 0), `attribute shape must be 1 to 3 positive integers (after the batch), got ${JSON.stringify(shape)}`);
    expect(x.shape[0] === "N" && x.shape.slice(1).every((d) => typeof d === "number"), `x must be [N, …] with fixed sizes after the batch, got ${showShape(x.shape)}`);
    const want = (shape as number[]).reduce((a, b) => a * b, 1);
    expect(want === rowElems(x), `cannot view ${showShape(x.shape)} as [N, ${(shape as number[]).join(", ")}]: ${rowElems(x)} elements per row, not ${want}`);
    return [{ dtype: x.dtype, shape: ["N", ...(shape as number[])] }];
  },
  forward: () => null,
  backward,
  saves: () => [],
  alias: () => [[0, 0]],
  onnx(e, n) {
    const o = e.outName(n.outputs[0]);
    const shape = e.i64("shape", [0, ...(n.attrs.shape as number[])]);
    e.bind(n.outputs[0], e.g.node("Reshape", [e.name(n.inputs[0]), shape], o ? [o] : 1)[0]);
  },
  imports: [
    {
      onnx: "Reshape",
      match(c, i) {
        const node = c.nodes[i], x = c.value(node.input[0]), t = c.initializer(node.input[1]);
        if (!x) throw new Error(`${c.where(i)}: input ${JSON.stringify(node.input[0])} is not defined before this node`);
        if (!t || !(t.data instanceof BigInt64Array)) throw new Error(`${c.where(i)}: the shape must be a constant int64 initializer`);
        const s = Array.from(t.data, Number);
        if (s[0] !== 0 && s[0] !== -1) throw new Error(`${c.where(i)}: the shape must keep the batch dimension first (0 or −1), got [${s}]`);
        c.bind(node.output[0], c.graph.add1("reshape", [x], { shape: s.slice(1) }, node.name || undefined));
        c.consume(i);
        return true;
      },
    },
  ],
  describe: (n) => `[${(n.attrs.shape as number[]).join("×")}]`,
};

export const flatten: OpDef = {
  op: "flatten",
  infer([x]) {
    expect(x.shape.length >= 2 && x.shape[0] === "N" && x.shape.slice(1).every((d) => typeof d === "number"), `x must be [N, …] with fixed sizes after the batch, got ${showShape(x.shape)}`);
    return [{ dtype: x.dtype, shape: ["N", rowElems(x)] }];
  },
  forward: () => null,
  backward,
  saves: () => [],
  alias: () => [[0, 0]],
  onnx(e, n) {
    const o = e.outName(n.outputs[0]);
    e.bind(n.outputs[0], e.g.node("Flatten", [e.name(n.inputs[0])], o ? [o] : 1, { axis: 1 })[0]);
  },
  imports: [
    {
      onnx: "Flatten",
      match(c, i) {
        const node = c.nodes[i], x = c.value(node.input[0]);
        if (!x) throw new Error(`${c.where(i)}: input ${JSON.stringify(node.input[0])} is not defined before this node`);
        const axis = Number(node.attribute.find((a) => a.name === "axis")?.value ?? 1);
        if (axis !== 1) throw new Error(`${c.where(i)}: only axis 1 is supported (axis ${axis})`);
        c.bind(node.output[0], c.graph.add1("flatten", [x], {}, node.name || undefined));
        c.consume(i);
        return true;
      },
    },
  ],
};
