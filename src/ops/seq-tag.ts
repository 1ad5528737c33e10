// tag_xent: the token-level task loss. Per-token softmax cross-entropy of logits f32 [N, L, C] against labels
// i32 [N, L] with a label mask f32 [N, L] (0 at padding and unlabelled tokens), averaged over the labelled tokens
// of the batch: Σ_{n,t} w_nt·ℓ_nt / Σ w_nt (0 when nothing is labelled). That is xent's contract (src/ops/loss/:
// a host scalar in host.losses[task], the backward seeded with host.scales[task]) over the N·L tokens as rows,
// so it runs the xent kernels on [N·L, C]: masked tokens contribute nothing and get zero gradient, and a label
// outside [0, C) marks a token unlabelled like a 0 weight.
import { attrNum, expect, type OpDef } from "../graph/op.ts";
import { showShape } from "../graph/shape.ts";

export const tagXent: OpDef = {
  op: "tag_xent",
  infer([x, labels, mask], attrs) {
    attrNum(attrs, "task");
    expect(x.dtype === "f32" && x.shape.length === 3, `logits must be f32 [N, L, C], got ${x.dtype} ${showShape(x.shape)}`);
    const want = `[N, ${String(x.shape[1])}]`;
    expect(labels && labels.dtype === "i32" && labels.shape.length === 2 && labels.shape[1] === x.shape[1], `labels must be i32 ${want}, got ${labels ? `${labels.dtype} ${showShape(labels.shape)}` : "none"}`);
    expect(mask && mask.dtype === "f32" && mask.shape.length === 2 && mask.shape[1] === x.shape[1], `label mask must be f32 ${want}, got ${mask ? `${mask.dtype} ${showShape(mask.shape)}` : "none"}`);
    return [{ dtype: "f32", shape: [], host: true }];
  },
  forward(c, n) {
    const [x, labels, mask] = n.inputs, [N, L, C] = c.dims(x), t = attrNum(n.attrs, "task");
    const f = c.call("xent_fwd_f32x4"), xp = c.ptr(x), lp = c.ptr(labels), mp = c.ptr(mask), losses = c.host.losses;
    return () => void (losses[t] = f(N * L, C, xp, lp, mp));
  },
  backward(c, n) {
    const [x, labels, mask] = n.inputs, [N, L, C] = c.dims(x), t = attrNum(n.attrs, "task");
    const dx = c.grad(x);
    if (!dx) return null;
    const g = c.call("xent_bwd_f32x4"), xp = c.ptr(x), lp = c.ptr(labels), mp = c.ptr(mask), scales = c.host.scales, beta = c.beta(x);
    return () => void g(N * L, C, xp, lp, mp, dx, scales[t], beta);
  },
  saves: (n) => [n.inputs[0]],
  onnx: { none: "a training loss: exports are inference graphs" },
  imports: { none: "a training loss" },
  describe: () => "per token",
};
