// identity: y = x, sharing x's memory. Names a graph output that is another value (ONNX Identity).
import type { OpDef } from "../graph/op.ts";

export const identity: OpDef = {
  op: "identity",
  infer([x]) {
    return [{ dtype: x.dtype, shape: [...x.shape] }];
  },
  forward: () => null,
  backward: { none: "only used at the inference boundary" },
  saves: () => [],
  alias: () => [[0, 0]],
  onnx(e, n) {
    const o = e.outName(n.outputs[0]);
    e.bind(n.outputs[0], e.g.node("Identity", [e.name(n.inputs[0])], o ? [o] : 1)[0]);
  },
  imports: [
    {
      onnx: "Identity",
      match(c, i) {
        const node = c.nodes[i], x = c.value(node.input[0]);
        if (!x) throw new Error(`${c.where(i)}: input ${JSON.stringify(node.input[0])} is not defined before this node`);
        c.bind(node.output[0], c.graph.add1("identity", [x], {}, node.name || undefined));
        c.consume(i);
        return true;
      },
    },
  ],
};
