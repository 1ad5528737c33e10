// relation: R = ½·Σ_i valid_i·Σ_j (a_ij − b_ij)², divided by the batch's valid row count, into
// host.relations[index]; the objective adds λ·R. Backward (seeded with λ/valid): da = λ/valid·(a − b),
// db = −λ/valid·(a − b), one kernel call per side so each gets its own planned beta.
import { attrNum, expect, sameShape, type OpDef } from "../graph/op.ts";
import { showShape } from "../graph/shape.ts";

export const relation: OpDef = {
  op: "relation",
  infer([a, b, valid], attrs) {
    attrNum(attrs, "index");
    attrNum(attrs, "lambda");
    expect(a.dtype === "f32" && sameShape(a.shape, b.shape) && a.shape.length === 2, `related outputs must have one shape, got ${showShape(a.shape)} and ${showShape(b.shape)}`);
    expect(valid.dtype === "f32" && valid.shape.length === 1, "valid must be f32 [N]");
    return [{ dtype: "f32", shape: [], host: true }];
  },
  forward(c, n) {
    const [a, b, valid] = n.inputs, [m, w] = c.dims(a), i = attrNum(n.attrs, "index");
    const f = c.call("relation_fwd_f32x4"), ap = c.ptr(a), bp = c.ptr(b), vp = c.ptr(valid), h = c.host;
    return () => void (h.relations[i] = f(m, w, ap, bp, vp) / Math.max(1, h.validCount.value));
  },
  backward(c, n) {
    const [a, b, valid] = n.inputs, [m, w] = c.dims(a), lambda = attrNum(n.attrs, "lambda");
    const g = c.call("relation_bwd_f32x4"), ap = c.ptr(a), bp = c.ptr(b), vp = c.ptr(valid), h = c.host;
    const da = c.grad(a), db = c.grad(b);
    const ba = da ? c.beta(a) : 0, bb = db ? c.beta(b) : 0;
    return () => {
      const s = lambda / Math.max(1, h.validCount.value);
      if (da) g(m, w, ap, bp, vp, da, 0, s, ba);
      if (db) g(m, w, ap, bp, vp, 0, db, s, bb);
    };
  },
  saves: (n) => [n.inputs[0], n.inputs[1]],
  onnx: { none: "a training objective term" },
  imports: { none: "a training objective term" },
  describe: (n) => `λ=${attrNum(n.attrs, "lambda")}`,
};
