// dense: Y = act(X·W + b), act ∈ {none, relu} fused into the GEMM's store. X [N, k], W [k, n], b [n] (optional), Y [N, n].
// Backward: dZ = dY ⊙ [Y > 0] (relu, into scratch: dY stays Y's gradient), dW,db (one kernel, one beta), dX = dZ·Wᵀ.
// ONNX: Gemm (+ Relu). Import: Gemm with transA = transB = 0, alpha = beta = 1, a following Relu fused when
// it is the Gemm's only reader. Inference with fixed weights (the mtl engine): rows in blocks of 4 go through
// the GEMM, the last N % 4 rows are dot products against a cached Wᵀ, and at batch 1 the dense nodes that read
// the same input (the task towers on the trunk) run as one call over their concatenated Wᵀ.
import type { Node, Value } from "../graph/graph.ts";
import { attrStr, expect, type FwdCtx, type ImportCtx, type OpDef, type Step } from "../graph/op.ts";
import { showShape } from "../graph/shape.ts";

const act = (n: Node) => attrStr(n.attrs, "act", "none");

function forward(c: FwdCtx, n: Node): Step | null {
  const [x, W, b] = n.inputs, y = n.outputs[0];
  const [m, k] = c.dims(x), nn = c.dims(W)[1];
  const relu = act(n) === "relu" ? 1 : 0;
  const dense = c.call("dense_fwd_f32x4");
  const xp = c.ptr(x), wp = c.ptr(W), bp = b ? c.ptr(b) : 0, yp = c.ptr(y);
  const fixed = c.fixed(W) && (!b || c.fixed(b));
  if (fixed && m === 1) {
    const group = siblings(c, n);
    if (group) return group;
  }
  const m4 = m & ~3, rem = m - m4;
  if (!fixed || rem === 0) return () => void dense(m, k, nn, xp, wp, bp, yp, relu);
  // The last m % 4 rows (all of them at batch 1) as dot products against Wᵀ: four independent accumulator
  // chains per row instead of the GEMM's two for a lone row. y = bias, then y += x·(Wᵀ)ᵀ, then relu.
  const wt = c.transposed(W);
  const dots = c.call("dense_bwd_x_f32x4"), copy = c.call("cols_copy_f32x4"), reluF = c.call("relu_fwd_f32x4");
  const xr = xp + m4 * k * 4, yr = yp + m4 * nn * 4;
  return () => {
    if (m4) dense(m4, k, nn, xp, wp, bp, yp, relu);
    if (bp) copy(rem, nn, bp, rem === 1 ? nn : 0, yr, nn, 0);
    dots(rem, nn, k, xr, wt, yr, bp ? 1 : 0);
    if (relu) reluF(rem * nn, yr, yr);
  };
}


/**
 * Batch 1, fixed weights: every dense node reading the same input with fixed weights runs in one call over
 * their concatenated Wᵀ (relu-fused members first, so one relu call covers them). The first member of the
 * group computes the joint row into scratch; every member then copies its slice to its own output, at its
 * own place in the schedule (so the memory planner's lifetimes hold).
 */
function siblings(c: FwdCtx, n: Node): Step | null {
  const copy = c.call("cols_copy_f32x4");
  const mine = c.memo(n);
  if (mine.at) return () => void copy(1, mine.cols, mine.at, mine.cols, c.ptr(n.outputs[0]), mine.cols, 0);
  const x = n.inputs[0];
  const members = c.readers(x).filter((r) => r.op === "dense" && c.fixed(r.inputs[1]) && (!r.inputs[2] || c.fixed(r.inputs[2])) && r.inputs[0] === x);
  if (members.length < 2 || members[0] !== n) return null;
  members.sort((p, q) => Number(act(q) === "relu") - Number(act(p) === "relu"));
  const k = c.dims(x)[1];
  const total = members.reduce((s, g) => s + c.dims(g.inputs[1])[1], 0);
  const reluCols = members.reduce((s, g) => s + (act(g) === "relu" ? c.dims(g.inputs[1])[1] : 0), 0);
  const joint = c.scratch(total), wt = c.scratch(total * k), bias = c.scratch(total);
  const f32 = c.f32();
  let row = 0;
  for (const g of members) {
    const cols = c.dims(g.inputs[1])[1];
    const w = f32.subarray(c.ptr(g.inputs[1]) >>> 2, (c.ptr(g.inputs[1]) >>> 2) + k * cols);
    for (let i = 0; i < k; i++) for (let j = 0; j < cols; j++) f32[(wt >>> 2) + (row + j) * k + i] = w[i * cols + j];
    if (g.inputs[2]) f32.set(f32.subarray(c.ptr(g.inputs[2]) >>> 2, (c.ptr(g.inputs[2]) >>> 2) + cols), (bias >>> 2) + row);
    Object.assign(c.memo(g), { at: joint + row * 4, cols });
    row += cols;
  }
  const dots = c.call("dense_bwd_x_f32x4"), relu = c.call("relu_fwd_f32x4");
  const xp = c.ptr(x), first = c.memo(n), yp = c.ptr(n.outputs[0]);
  return () => {
    copy(1, total, bias, total, joint, total, 0);
    dots(1, total, k, xp, wt, joint, 1);
    if (reluCols) relu(reluCols, joint, joint);
    copy(1, first.cols, first.at, first.cols, yp, first.cols, 0);
  };
}

export const dense: OpDef = {
  op: "dense",
  infer(inputs, attrs) {
    const [x, W, b] = inputs;
    expect(inputs.length === 2 || inputs.length === 3, `expected inputs (x, W[, b]), got ${inputs.length}`);
    expect(x.dtype === "f32" && x.shape.length === 2, `x must be f32 [N, k], got ${x.dtype} ${showShape(x.shape)}`);
    expect(W.dtype === "f32" && W.shape.length === 2 && W.shape[0] === x.shape[1], `W must be [${x.shape[1]}, n], got ${showShape(W.shape)}`);
    if (b) expect(b.shape.length === 1 && b.shape[0] === W.shape[1], `b must be [${W.shape[1]}], got ${showShape(b.shape)}`);
    const a = attrs.act ?? "none";
    expect(a === "none" || a === "relu", `act must be "none" or "relu", got ${String(a)}`);
    return [{ dtype: "f32", shape: [x.shape[0], W.shape[1]] }];
  },
  forward,
  backward(c, n) {
    const [x, W, b] = n.inputs, y = n.outputs[0];
    const [m, k] = c.dims(x), nn = c.dims(W)[1];
    const relu = act(n) === "relu";
    const bwW = c.call("dense_bwd_w_f32x4"), bwX = c.call("dense_bwd_x_f32x4"), reluB = c.call("relu_bwd_f32x4");
    const xp = c.ptr(x), yp = c.ptr(y), wp = c.ptr(W), dy = c.grad(y);
    const dw = c.grad(W), db = b ? c.grad(b) : 0, dx = c.grad(x);
    const bw = dw || db ? c.betaAll(b ? [W, b] : [W]) : 0;
    const bx = dx ? c.beta(x) : 0;
    // relu: dZ = dY ⊙ [Y > 0] into scratch, so dY stays readable as Y's gradient (per-task representations).
    const dz = relu ? c.scratch(m * nn) : dy;
    return () => {
      if (relu) reluB(m * nn, yp, dy, dz, 0);
      if (dw || db) bwW(m, k, nn, xp, dz, dw, db, bw);
      if (dx) bwX(m, k, nn, dz, wp, dx, bx);
    };
  },
  saves: (n) => (act(n) === "relu" ? [n.inputs[0], n.outputs[0]] : [n.inputs[0]]),
  onnx(e, n) {
    const [x, W, b] = n.inputs, y = n.outputs[0];
    const ins = b ? [e.name(x), e.name(W), e.name(b)] : [e.name(x), e.name(W)];
    if (act(n) === "relu") {
      const z = e.g.node("Gemm", ins)[0];
      const o = e.outName(y);
      e.bind(y, e.g.node("Relu", [z], o ? [o] : 1)[0]);
    } else {
      const o = e.outName(y);
      e.bind(y, e.g.node("Gemm", ins, o ? [o] : 1)[0]);
    }
  },
  imports: [{ onnx: "Gemm", match: importGemm }],
  describe: (n) => (act(n) === "relu" ? "relu" : ""),
};

function importGemm(c: ImportCtx, i: number): boolean {
  const node = c.nodes[i];
  const num = (key: string, d: number) => {
    const a = node.attribute.find((x) => x.name === key);
    return a && (a.type === "INT" || a.type === "FLOAT") ? Number(a.value) : d;
  };
  if (num("transA", 0) || num("transB", 0) || num("alpha", 1) !== 1 || num("beta", 1) !== 1) throw new Error(`${c.where(i)}: only transA = transB = 0 and alpha = beta = 1 are supported`);
  const ins = node.input.filter((s) => s !== "").map((s) => {
    const v = c.value(s);
    if (!v) throw new Error(`${c.where(i)}: input ${JSON.stringify(s)} is not defined before this node`);
    return v;
  });
  const r = c.soleReader(node.output[0]);
  const relu = r >= 0 && c.nodes[r].opType === "Relu" ? r : -1;
  const y = c.graph.add1("dense", ins as Value[], { act: relu >= 0 ? "relu" : "none" }, node.name || undefined);
  c.bind(relu >= 0 ? c.nodes[relu].output[0] : node.output[0], y);
  c.consume(i);
  if (relu >= 0) c.consume(relu);
  return true;
}
