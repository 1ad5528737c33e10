// softmax over the last axis of [N, n] (or [N, L, n]: every row of n, e.g. per token): y = e^(x − max) / Σ e^(x − max). Backward from the saved output:
// dx = y ⊙ (dy − ⟨dy, y⟩). ONNX: Softmax(axis = −1).
import { expect, type OpDef } from "../graph/op.ts";
import { showShape } from "../graph/shape.ts";

/** [rows, n] of a [N, n] or [N, L, n] tensor's dims. */
const rows = (d: number[]): [number, number] => [d.slice(0, -1).reduce((a, b) => a * b, 1), d[d.length - 1]];

export const softmax: OpDef = {
  op: "softmax",
  infer([x]) {
    expect(x.dtype === "f32" && (x.shape.length === 2 || x.shape.length === 3), `expected f32 [N, n] or [N, L, n], got ${x.dtype} ${showShape(x.shape)}`);
    return [{ dtype: "f32", shape: [...x.shape] }];
  },
  forward(c, n) {
    const f = c.call("softmax_fwd_f32x4");
    const [m, w] = rows(c.dims(n.inputs[0])), x = c.ptr(n.inputs[0]), y = c.ptr(n.outputs[0]);
    return () => void f(m, w, x, y);
  },
  backward(c, n) {
    const x = n.inputs[0], y = n.outputs[0], dx = c.grad(x);
    if (!dx) return null;
    const g = c.call("softmax_bwd_f32x4");
    const [m, w] = rows(c.dims(x)), yp = c.ptr(y), dy = c.grad(y), beta = c.beta(x);
    return () => void g(m, w, yp, dy, dx, beta);
  },
  saves: (n) => [n.outputs[0]],
  onnx(e, n) {
    const o = e.outName(n.outputs[0]);
    e.bind(n.outputs[0], e.g.node("Softmax", [e.name(n.inputs[0])], o ? [o] : 1, { axis: -1 })[0]);
  },
  imports: [
    {
      onnx: "Softmax",
      match(c, i) {
        const node = c.nodes[i], x = c.value(node.input[0]);
        if (!x) throw new Error(`${c.where(i)}: input ${JSON.stringify(node.input[0])} is not defined before this node`);
        const axis = Number(node.attribute.find((a) => a.name === "axis")?.value ?? -1);
        if (axis !== -1 && axis !== x.shape.length - 1) throw new Error(`${c.where(i)}: only the last axis is supported (axis ${axis})`);
        c.bind(node.output[0], c.graph.add1("softmax", [x], {}, node.name || undefined));
        c.consume(i);
        return true;
      },
    },
  ],
};
