// moe_combine: y[i, :] = Σ_j gate[i, j]·experts[j][i, :], experts a stack [N, E, n] (expert-major, see
// concat.ts), gate [N, E] (softmax probabilities) → [N, n]. Backward: one kernel writes dexperts and dgate with
// one beta (the planner reconciles them per value). ONNX: ReduceSum(Mul(stack, Unsqueeze(gate, 2)), axis 1).
import { expect, type ImportCtx, type OpDef } from "../graph/op.ts";
import { showShape } from "../graph/shape.ts";

export const moeCombine: OpDef = {
  op: "moe_combine",
  infer([experts, gate]) {
    expect(experts.dtype === "f32" && experts.shape.length === 3, `experts must be a stack [N, E, n], got ${showShape(experts.shape)}`);
    expect(gate.dtype === "f32" && gate.shape.length === 2 && gate.shape[1] === experts.shape[1], `gate must be [N, ${String(experts.shape[1])}], got ${showShape(gate.shape)}`);
    return [{ dtype: "f32", shape: [experts.shape[0], experts.shape[2]] }];
  },
  forward(c, n) {
    const [ex, gate] = n.inputs, [m, e, w] = c.dims(ex);
    const f = c.call("moe_combine_fwd_f32x4"), ep = c.ptr(ex), gp = c.ptr(gate), yp = c.ptr(n.outputs[0]);
    return () => void f(m, e, w, ep, gp, yp);
  },
  backward(c, n) {
    const [ex, gate] = n.inputs, [m, e, w] = c.dims(ex);
    const de0 = c.grad(ex), dg0 = c.grad(gate);
    const beta = c.betaAll([ex, gate]);
    const de = de0 || c.scratch(m * e * w), dg = dg0 || c.scratch(m * e);
    const g = c.call("moe_combine_bwd_f32x4"), ep = c.ptr(ex), gp = c.ptr(gate), dy = c.grad(n.outputs[0]);
    return () => void g(m, e, w, ep, gp, dy, de, dg, beta);
  },
  saves: (n) => [n.inputs[0], n.inputs[1]],
  onnx(e, n) {
    const [ex, gate] = n.inputs, o = e.outName(n.outputs[0]);
    const g3 = e.g.node("Unsqueeze", [e.name(gate), e.i64("axes2", [2])])[0];
    const prod = e.g.node("Mul", [e.name(ex), g3])[0];
    e.bind(n.outputs[0], e.g.node("ReduceSum", [prod, e.i64("axes1", [1])], o ? [o] : 1, { keepdims: 0 })[0]);
  },
  imports: [{ onnx: "Unsqueeze", match: importCombine }],
};

/** Unsqueeze(gate, [2]) → Mul(stack, ·) → ReduceSum(·, [1], keepdims 0). */
function importCombine(c: ImportCtx, i: number): boolean {
  const u = c.nodes[i];
  const axes = (name: string) => {
    const t = c.initializer(name);
    return t ? Array.from(t.data as BigInt64Array, Number).join() : null;
  };
  if (axes(u.input[1]) !== "2") return false;
  const m = c.soleReader(u.output[0]);
  if (m < 0 || c.nodes[m].opType !== "Mul") return false;
  const r = c.soleReader(c.nodes[m].output[0]);
  const red = r >= 0 ? c.nodes[r] : null;
  if (!red || red.opType !== "ReduceSum" || axes(red.input[1]) !== "1" || Number(red.attribute.find((a) => a.name === "keepdims")?.value ?? 1) !== 0) return false;
  const stackName = c.nodes[m].input.find((s) => s !== u.output[0])!;
  const ex = c.value(stackName), gate = c.value(u.input[0]);
  if (!ex || !gate || ex.producer?.op !== "stack") return false;
  c.bind(red.output[0], c.graph.add1("moe_combine", [ex, gate], {}, red.name || undefined));
  c.consume(i, m, r);
  return true;
}
