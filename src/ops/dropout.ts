// dropout (inverted): training draws a mask from the program's counter-based stream (Philox; seed and a
// counter that every draw advances, so a run is reproducible and resumable) and saves it for the backward;
// inference is the identity (the output shares the input's memory). ONNX: omitted (identity).
import { attrNum, expect, type OpDef } from "../graph/op.ts";

export const dropout: OpDef = {
  op: "dropout",
  infer([x], attrs) {
    const p = attrNum(attrs, "p");
    expect(p >= 0 && p < 1, `p must be in [0, 1), got ${p}`);
    expect(x.dtype === "f32", "expected an f32 input");
    return [{ dtype: "f32", shape: [...x.shape] }];
  },
  forward(c, n) {
    if (!c.training) return null;
    const x = n.inputs[0], y = n.outputs[0], p = attrNum(n.attrs, "p"), len = c.numel(x);
    const mask = c.scratch(len);
    c.memo(n).mask = mask;
    const f = c.call("dropout_fwd_f32x4"), rng = c.host.rng, xp = c.ptr(x), yp = c.ptr(y);
    return () => {
      f(len, xp, yp, mask, rng.seedLo, rng.seedHi + Math.floor(rng.counter / 2 ** 31), rng.counter % 2 ** 31, p);
      rng.counter += len;
    };
  },
  backward(c, n) {
    const x = n.inputs[0], y = n.outputs[0], dx = c.grad(x);
    if (!dx) return null;
    const g = c.call("dropout_bwd_f32x4"), len = c.numel(x), mask = c.memo(n).mask, dy = c.grad(y), beta = c.beta(x);
    return () => void g(len, mask, dy, dx, beta);
  },
  saves: () => [],
  alias: (_n, training) => (training ? [] : [[0, 0]]),
  onnx(e, n) {
    e.bind(n.outputs[0], e.name(n.inputs[0]));
  },
  imports: { none: "exports omit dropout" },
  describe: (n) => `p=${attrNum(n.attrs, "p")}`,
};
