// Ops of the funnel heads (src/model/funnel.ts; kernels in assembly/kernels/funnel.ts):
//   mul        y = a ⊙ b, two f32 values of one shape [N, n]. Backward: da = dy ⊙ b, db = dy ⊙ a.
//              ONNX: Mul (both inputs computed, not constants).
//   rowdot     y = scale·Σ_j a_ij·b_ij, [N, n] × [N, n] → [N, 1]. Backward: da = scale·dy·b, db = scale·dy·a.
//              ONNX: ReduceSum(Mul(a, b), axes [1], keepdims 1), then Mul by the scalar scale when it is not 1.
//   funnel_hinge  objective term H = Σ_i valid_i·Σ_j max(a_ij − b_ij, 0) / valid count into host.relations[index]
//              (AITM's calibrator with a = ŷ_t, b = ŷ_{t−1}); backward seeded with λ/valid. No ONNX form.
//   esmm_bce   task loss: BCE of p = σ(a)·σ(b) from the two logits a (the earlier task's) and b (this task's
//              conditional), masked mean over rows into host.losses[task]; backward into both logits, seeded with
//              host.scales[task]. No ONNX form.
import { attrNum, expect, sameShape, type ImportCtx, type OpDef } from "../graph/op.ts";
import { showShape } from "../graph/shape.ts";

const twoOfOneShape = (a: { dtype: string; shape: readonly unknown[] }, b: { dtype: string; shape: readonly unknown[] }, what: string) =>
  expect(a.dtype === "f32" && b.dtype === "f32" && a.shape.length === 2 && sameShape(a.shape as never, b.shape as never), `${what} must be two f32 [N, n] of one shape, got ${showShape(a.shape as never)} and ${showShape(b.shape as never)}`);

export const mul: OpDef = {
  op: "mul",
  infer([a, b]) {
    twoOfOneShape(a, b, "factors");
    return [{ dtype: "f32", shape: [...a.shape] }];
  },
  forward(c, n) {
    const [a, b] = n.inputs, len = c.numel(a), f = c.call("mul_fwd_f32x4"), ap = c.ptr(a), bp = c.ptr(b), yp = c.ptr(n.outputs[0]);
    return () => void f(len, ap, bp, yp);
  },
  backward(c, n) {
    const [a, b] = n.inputs, len = c.numel(a), g = c.call("mul_bwd_f32x4"), dy = c.grad(n.outputs[0]);
    const da = c.grad(a), db = c.grad(b), ap = c.ptr(a), bp = c.ptr(b);
    const ba = da ? c.beta(a) : 0, bb = db ? c.beta(b) : 0;
    return () => {
      if (da) g(len, bp, dy, da, ba);
      if (db) g(len, ap, dy, db, bb);
    };
  },
  saves: (n) => [n.inputs[0], n.inputs[1]],
  onnx(e, n) {
    const o = e.outName(n.outputs[0]);
    e.bind(n.outputs[0], e.g.node("Mul", [e.name(n.inputs[0]), e.name(n.inputs[1])], o ? [o] : 1)[0]);
  },
  imports: [
    {
      onnx: "Mul",
      match(c, i) {
        const node = c.nodes[i], a = c.value(node.input[0]), b = c.value(node.input[1]);
        if (!a || !b || a.kind === "const" || b.kind === "const" || a.shape.length !== 2 || !sameShape(a.shape, b.shape)) return false;
        c.bind(node.output[0], c.graph.add1("mul", [a, b], {}, node.name || undefined));
        c.consume(i);
        return true;
      },
    },
  ],
};

/** A scalar f32 initializer's value, else null. */
function scalar(c: ImportCtx, name: string): number | null {
  const t = c.initializer(name);
  return t && t.data instanceof Float32Array && t.data.length === 1 ? t.data[0] : null;
}

/** Mul(a, b) → ReduceSum(axes [1], keepdims 1) [→ Mul(·, scalar scale)]. */
function importRowdot(c: ImportCtx, i: number): boolean {
  const m = c.nodes[i], a = c.value(m.input[0]), b = c.value(m.input[1]);
  if (!a || !b || a.kind === "const" || b.kind === "const" || a.shape.length !== 2 || !sameShape(a.shape, b.shape)) return false;
  const r = c.soleReader(m.output[0]);
  const red = r >= 0 ? c.nodes[r] : null;
  const axes = red?.input[1] ? c.initializer(red.input[1]) : undefined;
  if (!red || red.opType !== "ReduceSum" || !axes || Array.from(axes.data as BigInt64Array, Number).join() !== "1" || Number(red.attribute.find((x) => x.name === "keepdims")?.value ?? 1) !== 1) return false;
  let out = red.output[0], scale = 1;
  const s = c.soleReader(out), sm = s >= 0 ? c.nodes[s] : null;
  const k = sm && sm.opType === "Mul" && sm.input[0] === out ? scalar(c, sm.input[1]) : null;
  if (k !== null) {
    scale = k;
    out = sm!.output[0];
    c.consume(s);
  }
  c.bind(out, c.graph.add1("rowdot", [a, b], { scale }, red.name || undefined));
  c.consume(i, r);
  return true;
}

export const rowdot: OpDef = {
  op: "rowdot",
  infer([a, b], attrs) {
    attrNum(attrs, "scale");
    twoOfOneShape(a, b, "rowdot's inputs");
    return [{ dtype: "f32", shape: [a.shape[0], 1] }];
  },
  forward(c, n) {
    const [a, b] = n.inputs, [m, w] = c.dims(a), s = attrNum(n.attrs, "scale");
    const f = c.call("rowdot_fwd_f32x4"), ap = c.ptr(a), bp = c.ptr(b), yp = c.ptr(n.outputs[0]);
    return () => void f(m, w, ap, bp, yp, s);
  },
  backward(c, n) {
    const [a, b] = n.inputs, [m, w] = c.dims(a), s = attrNum(n.attrs, "scale");
    const g = c.call("rowdot_bwd_f32x4"), dy = c.grad(n.outputs[0]), ap = c.ptr(a), bp = c.ptr(b);
    const da = c.grad(a), db = c.grad(b);
    const ba = da ? c.beta(a) : 0, bb = db ? c.beta(b) : 0;
    return () => {
      if (da) g(m, w, bp, dy, da, s, ba);
      if (db) g(m, w, ap, dy, db, s, bb);
    };
  },
  saves: (n) => [n.inputs[0], n.inputs[1]],
  onnx(e, n) {
    const s = attrNum(n.attrs, "scale"), o = e.outName(n.outputs[0]);
    const prod = e.g.node("Mul", [e.name(n.inputs[0]), e.name(n.inputs[1])])[0];
    const sum = e.g.node("ReduceSum", [prod, e.i64("axes1", [1])], s === 1 && o ? [o] : 1, { keepdims: 1 })[0];
    e.bind(n.outputs[0], s === 1 ? sum : e.g.node("Mul", [sum, e.f32("scale", [s], [])], o ? [o] : 1)[0]);
  },
  imports: [{ onnx: "Mul", match: importRowdot }],
  describe: (n) => `scale=${attrNum(n.attrs, "scale").toPrecision(4)}`,
};

export const funnelHinge: OpDef = {
  op: "funnel_hinge",
  infer([a, b, valid], attrs) {
    attrNum(attrs, "index");
    attrNum(attrs, "lambda");
    twoOfOneShape(a, b, "the calibrated outputs");
    expect(valid.dtype === "f32" && valid.shape.length === 1, "valid must be f32 [N]");
    return [{ dtype: "f32", shape: [], host: true }];
  },
  forward(c, n) {
    const [a, b, valid] = n.inputs, [m, w] = c.dims(a), i = attrNum(n.attrs, "index");
    const f = c.call("hinge_fwd_f32x4"), ap = c.ptr(a), bp = c.ptr(b), vp = c.ptr(valid), h = c.host;
    return () => void (h.relations[i] = f(m, w, ap, bp, vp) / Math.max(1, h.validCount.value));
  },
  backward(c, n) {
    const [a, b, valid] = n.inputs, [m, w] = c.dims(a), lambda = attrNum(n.attrs, "lambda");
    const g = c.call("hinge_bwd_f32x4"), ap = c.ptr(a), bp = c.ptr(b), vp = c.ptr(valid), h = c.host;
    const da = c.grad(a), db = c.grad(b);
    const ba = da ? c.beta(a) : 0, bb = db ? c.beta(b) : 0;
    return () => {
      const s = lambda / Math.max(1, h.validCount.value);
      if (da) g(m, w, ap, bp, vp, da, s, ba);
      if (db) g(m, w, ap, bp, vp, db, -s, bb);
    };
  },
  saves: (n) => [n.inputs[0], n.inputs[1]],
  onnx: { none: "a training objective term" },
  imports: { none: "a training objective term" },
  describe: (n) => `λ=${attrNum(n.attrs, "lambda")}`,
};

export const esmmBce: OpDef = {
  op: "esmm_bce",
  infer([a, b, labels, mask], attrs) {
    attrNum(attrs, "task");
    twoOfOneShape(a, b, "the two logits");
    expect(labels.dtype === "f32" && sameShape(labels.shape, a.shape), `labels must be f32 ${showShape(a.shape)}, got ${labels.dtype} ${showShape(labels.shape)}`);
    expect(mask.dtype === "f32" && mask.shape.length === 1, `mask must be f32 [N], got ${showShape(mask.shape)}`);
    return [{ dtype: "f32", shape: [], host: true }];
  },
  forward(c, n) {
    const [a, b, labels, mask] = n.inputs, [m, w] = c.dims(a), t = attrNum(n.attrs, "task");
    const f = c.call("esmm_bce_fwd_f32x4"), ap = c.ptr(a), bp = c.ptr(b), lp = c.ptr(labels), mp = c.ptr(mask), losses = c.host.losses;
    return () => void (losses[t] = f(m, w, ap, bp, lp, mp));
  },
  backward(c, n) {
    const [a, b, labels, mask] = n.inputs, [m, w] = c.dims(a), t = attrNum(n.attrs, "task");
    const da = c.grad(a), db = c.grad(b);
    if (!da && !db) return null;
    const g = c.call("esmm_bce_bwd_f32x4"), ap = c.ptr(a), bp = c.ptr(b), lp = c.ptr(labels), mp = c.ptr(mask), scales = c.host.scales;
    const ba = da ? c.beta(a) : 0, bb = db ? c.beta(b) : 0;
    return () => void g(m, w, ap, bp, lp, mp, da, db, scales[t], ba, bb);
  },
  saves: (n) => [n.inputs[0], n.inputs[1]],
  onnx: { none: "a training loss: exports are inference graphs" },
  imports: { none: "a training loss" },
};
