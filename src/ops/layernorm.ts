// layernorm over the last axis of [N, n]: y = (x − μ)·rstd ⊙ g + b, with μ and rstd saved per row (scratch).
// Backward: one kernel writes dx, dg and db with one beta (the planner reconciles them per value).
// ONNX: LayerNormalization(axis = −1, epsilon).
import { attrNum, expect, type OpDef } from "../graph/op.ts";
import { showShape } from "../graph/shape.ts";

const EPS = 1e-5;

export const layernorm: OpDef = {
  op: "layernorm",
  infer([x, g, b]) {
    expect(x.dtype === "f32" && x.shape.length === 2, `expected f32 [N, n], got ${showShape(x.shape)}`);
    expect(g.shape.length === 1 && g.shape[0] === x.shape[1] && b.shape.length === 1 && b.shape[0] === x.shape[1], `scale and bias must be [${String(x.shape[1])}]`);
    return [{ dtype: "f32", shape: [...x.shape] }];
  },
  forward(c, n) {
    const [x, g, b] = n.inputs, y = n.outputs[0];
    const [m, w] = c.dims(x), eps = attrNum(n.attrs, "eps", EPS);
    const mean = c.scratch(m), rstd = c.scratch(m);
    Object.assign(c.memo(n), { mean, rstd });
    const f = c.call("layernorm_fwd_f32x4");
    const xp = c.ptr(x), gp = c.ptr(g), bp = c.ptr(b), yp = c.ptr(y);
    return () => void f(m, w, xp, gp, bp, yp, mean, rstd, eps);
  },
  backward(c, n) {
    const [x, g, b] = n.inputs, y = n.outputs[0];
    const [m, w] = c.dims(x);
    const s = c.memo(n);
    if (!s.mean) throw new Error("backward lowered before forward");
    const dx0 = c.grad(x), dg0 = c.grad(g), db0 = c.grad(b);
    const beta = c.betaAll([x, g, b]);
    // The kernel writes all three: a gradient nobody needs goes to scratch.
    const dx = dx0 || c.scratch(m * w), dg = dg0 || c.scratch(w), db = db0 || c.scratch(w);
    const bw = c.call("layernorm_bwd_f32x4");
    const xp = c.ptr(x), gp = c.ptr(g), dy = c.grad(y);
    return () => void bw(m, w, xp, gp, s.mean, s.rstd, dy, dx, dg, db, beta);
  },
  saves: (n) => [n.inputs[0]],
  onnx(e, n) {
    const [x, g, b] = n.inputs, o = e.outName(n.outputs[0]);
    e.bind(n.outputs[0], e.g.node("LayerNormalization", [e.name(x), e.name(g), e.name(b)], o ? [o] : 1, { axis: -1, epsilon: { type: "FLOAT", value: attrNum(n.attrs, "eps", EPS) } })[0]);
  },
  imports: [
    {
      onnx: "LayerNormalization",
      match(c, i) {
        const node = c.nodes[i];
        const ins = node.input.map((s) => c.value(s));
        if (ins.length !== 3 || ins.some((v) => !v)) throw new Error(`${c.where(i)}: needs x, scale and bias defined before this node`);
        const axis = Number(node.attribute.find((a) => a.name === "axis")?.value ?? -1);
        if (axis !== -1 && axis !== ins[0]!.shape.length - 1) throw new Error(`${c.where(i)}: only the last axis is supported (axis ${axis})`);
        const eps = Number(node.attribute.find((a) => a.name === "epsilon")?.value ?? EPS);
        c.bind(node.output[0], c.graph.add1("layernorm", ins as never, { eps }, node.name || undefined));
        c.consume(i);
        return true;
      },
    },
  ],
};
