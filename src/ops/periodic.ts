// periodic: embeddings of numeric features (Gorishniy et al. 2022): x f32 [N, p], trainable frequencies c [p, k] →
// y [N, p·2k], feature j's block [sin(2π c_j1 x_j) … sin(2π c_jk x_j), cos(2π c_j1 x_j) … cos(2π c_jk x_j)]
// (kernels and rounding: assembly/kernels/periodic.ts). Backward: one kernel writes dc and dx with one beta.
// ONNX: u = Unsqueeze(x, [2]) [N, p, 1]; t = Mul(c, 2π) [p, k]; θ = Mul(u, t) [N, p, k];
// Reshape(Concat(Sin θ, Cos θ, axis 2), [0, p·2k]).
import type { Value } from "../graph/graph.ts";
import { expect, type ImportCtx, type OpDef } from "../graph/op.ts";
import { showShape } from "../graph/shape.ts";

/** 2π as the kernels and the ONNX initializer hold it (f32). */
const TWO_PI = Math.fround(2 * Math.PI);

export const periodic: OpDef = {
  op: "periodic",
  infer([x, c]) {
    expect(x.dtype === "f32" && x.shape.length === 2 && typeof x.shape[1] === "number", `expected f32 [N, p], got ${showShape(x.shape)}`);
    expect(c.dtype === "f32" && c.shape.length === 2 && c.shape[0] === x.shape[1] && (c.shape[1] as number) >= 1, `frequencies must be f32 [${String(x.shape[1])}, k], got ${showShape(c.shape)}`);
    return [{ dtype: "f32", shape: [x.shape[0], (x.shape[1] as number) * 2 * (c.shape[1] as number)] }];
  },
  forward(c, n) {
    const [x, fr] = n.inputs, y = n.outputs[0];
    const [m, p] = c.dims(x), k = fr.shape[1] as number;
    const f = c.call("periodic_fwd_f32x4"), xp = c.ptr(x), cp = c.ptr(fr), yp = c.ptr(y);
    return () => void f(m, p, k, xp, cp, yp);
  },
  backward(c, n) {
    const [x, fr] = n.inputs, y = n.outputs[0];
    const [m, p] = c.dims(x), k = fr.shape[1] as number;
    const dx = c.grad(x), dc0 = c.grad(fr);
    if (!dx && !dc0) return null;
    const beta = c.betaAll(dx ? [x, fr] : [fr]);
    const dc = dc0 || c.scratch(p * k);
    const bw = c.call("periodic_bwd_f32x4"), xp = c.ptr(x), cp = c.ptr(fr), dy = c.grad(y);
    return () => void bw(m, p, k, xp, cp, dy, dx, dc, beta);
  },
  saves: (n) => [n.inputs[0]],
  onnx(e, n) {
    const [x, fr] = n.inputs, o = e.outName(n.outputs[0]);
    const p = x.shape[1] as number, k = fr.shape[1] as number;
    const u = e.g.node("Unsqueeze", [e.name(x), e.i64("axes", [2])])[0];
    const t = e.g.node("Mul", [e.name(fr), e.f32("two_pi", [TWO_PI], [])])[0];
    const th = e.g.node("Mul", [u, t])[0];
    const cat = e.g.node("Concat", [e.g.node("Sin", [th])[0], e.g.node("Cos", [th])[0]], 1, { axis: 2 })[0];
    e.bind(n.outputs[0], e.g.node("Reshape", [cat, e.i64("shape", [0, p * 2 * k])], o ? [o] : 1)[0]);
  },
  imports: [{ onnx: "Unsqueeze", match: importPeriodic }],
  describe: (n) => `${n.inputs[1].shape[1]} frequencies`,
};

/** The ONNX form above, from its Unsqueeze; false (another op's Unsqueeze) unless the whole pattern is there. */
function importPeriodic(c: ImportCtx, i: number): boolean {
  const nodes = c.nodes;
  const un = nodes[i], x = c.value(un.input[0]), axes = un.input[1] ? c.initializer(un.input[1]) : undefined;
  if (!x || x.shape.length !== 2 || !axes || Array.from(axes.data as BigInt64Array, Number).join() !== "2") return false;
  const reader = (name: string, op: string) => {
    const r = c.soleReader(name);
    return r >= 0 && nodes[r].opType === op ? r : -1;
  };
  const mi = reader(un.output[0], "Mul");
  if (mi < 0) return false;
  const mul = nodes[mi], tName = mul.input[0] === un.output[0] ? mul.input[1] : mul.input[0];
  const ti = nodes.findIndex((nd, j) => j > i && nd.opType === "Mul" && nd.output[0] === tName);
  if (ti < 0) return false;
  const fr = c.value(nodes[ti].input[0]), tp = c.initializer(nodes[ti].input[1]);
  if (!fr || fr.kind !== "const" || fr.shape.length !== 2 || !tp || (tp.data as Float32Array).length !== 1 || (tp.data as Float32Array)[0] !== TWO_PI) return false;
  const thReaders = nodes.flatMap((nd, j) => (j > i && nd.input.includes(mul.output[0]) ? [j] : []));
  const si = thReaders.find((j) => nodes[j].opType === "Sin"), co = thReaders.find((j) => nodes[j].opType === "Cos");
  if (thReaders.length !== 2 || si === undefined || co === undefined) return false;
  const ci = reader(nodes[si].output[0], "Concat");
  if (ci < 0 || nodes[ci].input.join() !== `${nodes[si].output[0]},${nodes[co].output[0]}`) return false;
  const ri = reader(nodes[ci].output[0], "Reshape");
  if (ri < 0) return false;
  const y = c.graph.add1("periodic", [x, fr as Value], {}, un.name || undefined);
  c.bind(nodes[ri].output[0], y);
  c.consume(i, ti, mi, si, co, ci, ri);
  return true;
}
