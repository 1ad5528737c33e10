// add: y = a + b, two f32 values of one shape. Backward: da = dy, db = dy. ONNX: Add.
import { expect, sameShape, type OpDef } from "../graph/op.ts";
import { showShape } from "../graph/shape.ts";

export const add: OpDef = {
  op: "add",
  infer([a, b]) {
    expect(a.dtype === "f32" && b.dtype === "f32" && sameShape(a.shape, b.shape), `expected two f32 values of one shape, got ${showShape(a.shape)} and ${showShape(b.shape)}`);
    return [{ dtype: "f32", shape: [...a.shape] }];
  },
  forward(c, n) {
    const [a, b] = n.inputs, y = n.outputs[0], len = c.numel(a);
    const copy = c.call("cols_copy_f32x4"), ap = c.ptr(a), bp = c.ptr(b), yp = c.ptr(y);
    // y = a, then y = 1·y + b.
    return () => {
      copy(1, len, ap, len, yp, len, 0);
      copy(1, len, bp, len, yp, len, 1);
    };
  },
  backward(c, n) {
    const [a, b] = n.inputs, y = n.outputs[0], len = c.numel(a);
    const copy = c.call("cols_copy_f32x4"), dy = c.grad(y);
    const da = c.grad(a), db = c.grad(b);
    const ba = da ? c.beta(a) : 0, bb = db ? c.beta(b) : 0;
    return () => {
      if (da) copy(1, len, dy, len, da, len, ba);
      if (db) copy(1, len, dy, len, db, len, bb);
    };
  },
  saves: () => [],
  onnx(e, n) {
    const o = e.outName(n.outputs[0]);
    e.bind(n.outputs[0], e.g.node("Add", [e.name(n.inputs[0]), e.name(n.inputs[1])], o ? [o] : 1)[0]);
  },
  imports: [
    {
      onnx: "Add",
      match(c, i) {
        const node = c.nodes[i], a = c.value(node.input[0]), b = c.value(node.input[1]);
        if (!a || !b || a.kind === "const" || b.kind === "const" || !sameShape(a.shape, b.shape)) return false;
        c.bind(node.output[0], c.graph.add1("add", [a, b], {}, node.name || undefined));
        c.consume(i);
        return true;
      },
    },
  ],
};
