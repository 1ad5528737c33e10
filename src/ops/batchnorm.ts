// batchnorm per channel: y = (x − μ)/√(σ² + eps)·γ + β over x [N, C, H, W] (statistics over N, H, W) or [N, C].
// Inputs (x, γ, β, running_mean, running_var), all per-channel vectors [C]. The running statistics are model
// state (Graph.state, role "state"): they live in the parameter block, so weights.safetensors, checkpoints,
// resume and the ONNX export carry them, but they get no gradient and the optimizer never touches them.
// Training (batch statistics): μ and 1/√(σ² + eps) of the batch are saved per channel (program scratch) for the
// backward, and the running statistics are updated in place, PyTorch's convention: r ← (1 − momentum)·r +
// momentum·batch, with the unbiased batch variance (attrs momentum 0.1, eps 1e-5). The batch statistics are the
// program's real rows' (HostState.rows, set by the feeder; a data-parallel shard's own rows): a last partial batch's
// padding rows are normalized with them but counted in no statistic, and get no gradient, so a partial batch trains
// as a batch of exactly its rows (and as PyTorch would). A program with no real rows (a shard past a short last
// batch) leaves the running statistics as they were.
// Inference: the running statistics. Backward (through the batch statistics): one kernel writes dx, dγ, dβ with
// one beta (the planner reconciles them per value).
// ONNX: BatchNormalization in inference form (opset 15+, training_mode 0) with the running statistics as
// initializers, not folded into the Conv before it; the same form imports back.
import { attrNum, expect, type FwdCtx, type OpDef } from "../graph/op.ts";
import type { Node } from "../graph/graph.ts";
import { showShape } from "../graph/shape.ts";

export const BN_EPS = 1e-5;
export const BN_MOMENTUM = 0.1;

function dims(c: FwdCtx, n: Node): [number, number, number] {
  const d = c.dims(n.inputs[0]);
  return [d[0], d[1], d.length === 4 ? d[2] * d[3] : 1];
}

export const batchnorm: OpDef = {
  op: "batchnorm",
  infer(inputs, attrs) {
    expect(inputs.length === 5, `expected inputs (x, scale, bias, running_mean, running_var), got ${inputs.length}`);
    const [x, ...vecs] = inputs;
    expect(x.dtype === "f32" && (x.shape.length === 4 || x.shape.length === 2), `x must be f32 [N, C, H, W] or [N, C], got ${x.dtype} ${showShape(x.shape)}`);
    for (const v of vecs) expect(v.dtype === "f32" && v.shape.length === 1 && v.shape[0] === x.shape[1], `scale, bias and running statistics must be [${String(x.shape[1])}], got ${showShape(v.shape)}`);
    const m = attrNum(attrs, "momentum", BN_MOMENTUM), eps = attrNum(attrs, "eps", BN_EPS);
    expect(m >= 0 && m <= 1 && eps > 0, `momentum must be in [0, 1] and eps > 0, got ${m}, ${eps}`);
    return [{ dtype: "f32", shape: [...x.shape] }];
  },
  forward(c, n) {
    const [x, g, b, rm, rv] = n.inputs, y = n.outputs[0];
    const [N, C, hw] = dims(c, n), eps = attrNum(n.attrs, "eps", BN_EPS);
    const xp = c.ptr(x), gp = c.ptr(g), bp = c.ptr(b), rmp = c.ptr(rm), rvp = c.ptr(rv), yp = c.ptr(y);
    if (!c.training) {
      const f = c.call("batchnorm_fwd_infer_f32x4");
      return () => void f(N, C, hw, xp, gp, bp, rmp, rvp, yp, eps);
    }
    const mean = c.scratch(C), inv = c.scratch(C), mom = attrNum(n.attrs, "momentum", BN_MOMENTUM);
    Object.assign(c.memo(n), { mean, inv });
    const f = c.call("batchnorm_fwd_train_f32x4"), valid = c.host.rows;
    return () => void f(N, C, hw, valid.value, xp, gp, bp, yp, mean, inv, rmp, rvp, mom, eps);
  },
  backward(c, n) {
    const [x, g, b] = n.inputs, y = n.outputs[0];
    const [N, C, hw] = dims(c, n);
    const s = c.memo(n);
    if (!s.mean) throw new Error("backward lowered before a training forward");
    const dx0 = c.grad(x), dg0 = c.grad(g), db0 = c.grad(b);
    const beta = c.betaAll([x, g, b]);
    const dx = dx0 || c.scratch(c.numel(x)), dg = dg0 || c.scratch(C), db = db0 || c.scratch(C);
    const bw = c.call("batchnorm_bwd_f32x4");
    const xp = c.ptr(x), gp = c.ptr(g), dy = c.grad(y), valid = c.host.rows;
    return () => void bw(N, C, hw, valid.value, xp, dy, gp, s.mean, s.inv, dx, dg, db, beta);
  },
  saves: (n) => [n.inputs[0]],
  onnx(e, n) {
    const o = e.outName(n.outputs[0]);
    const ins = n.inputs.map((v) => e.name(v));
    e.bind(n.outputs[0], e.g.node("BatchNormalization", ins, o ? [o] : 1, { epsilon: { type: "FLOAT", value: Math.fround(attrNum(n.attrs, "eps", BN_EPS)) }, momentum: { type: "FLOAT", value: Math.fround(1 - attrNum(n.attrs, "momentum", BN_MOMENTUM)) } })[0]);
  },
  imports: [
    {
      onnx: "BatchNormalization",
      match(c, i) {
        const node = c.nodes[i];
        const ins = node.input.map((s) => c.value(s));
        if (ins.length !== 5 || ins.some((v) => !v)) throw new Error(`${c.where(i)}: needs x, scale, bias, mean and var defined before this node`);
        const tm = node.attribute.find((a) => a.name === "training_mode");
        if (tm && Number(tm.value) !== 0) throw new Error(`${c.where(i)}: training_mode 1 is not supported (inference form only)`);
        if (node.output.length > 1 && node.output.slice(1).some((s) => s !== "")) throw new Error(`${c.where(i)}: the running-statistics outputs are not supported (inference form only)`);
        const eps = Number(node.attribute.find((a) => a.name === "epsilon")?.value ?? BN_EPS);
        c.bind(node.output[0], c.graph.add1("batchnorm", ins as never, { eps }, node.name || undefined));
        c.consume(i);
        return true;
      },
    },
  ],
  describe: () => "",
};
