// concat: [N, n_1] … [N, n_k] → [N, Σ n_j] along the feature axis (strided column copies; backward copies the
// slices back). stack: k values [N, n] → [N, k, n] (the experts of a mixture), stored expert-major: slot j
// is the contiguous block [j·N·n, (j+1)·N·n) — the layout moe_combine reads. ONNX: Concat(axis 1);
// stack → Concat(axis 1) of Unsqueeze(axis 1).
import type { Value } from "../graph/graph.ts";
import { expect, type ImportCtx, type OpDef } from "../graph/op.ts";
import { showShape } from "../graph/shape.ts";

export const concat: OpDef = {
  op: "concat",
  infer(inputs) {
    expect(inputs.length >= 1, "expected at least one input");
    for (const v of inputs) expect(v.dtype === "f32" && v.shape.length === 2 && v.shape[0] === inputs[0].shape[0], `parts must be f32 [N, n_j], got ${showShape(v.shape)}`);
    return [{ dtype: "f32", shape: [inputs[0].shape[0], inputs.reduce((s, v) => s + (v.shape[1] as number), 0)] }];
  },
  forward(c, n) {
    const y = n.outputs[0], [m, total] = c.dims(y), copy = c.call("cols_copy_f32x4"), yp = c.ptr(y);
    let off = 0;
    const parts = n.inputs.map((v) => {
      const w = c.dims(v)[1], at = off;
      off += w;
      return { p: c.ptr(v), w, at };
    });
    return () => {
      for (const q of parts) copy(m, q.w, q.p, q.w, yp + q.at * 4, total, 0);
    };
  },
  backward(c, n) {
    const y = n.outputs[0], [m, total] = c.dims(y), copy = c.call("cols_copy_f32x4"), dy = c.grad(y);
    let off = 0;
    const parts: { d: number; w: number; at: number; beta: number }[] = [];
    for (const v of n.inputs) {
      const w = c.dims(v)[1], at = off, d = c.grad(v);
      off += w;
      if (d) parts.push({ d, w, at, beta: c.beta(v) });
    }
    return () => {
      for (const q of parts) copy(m, q.w, dy + q.at * 4, total, q.d, q.w, q.beta);
    };
  },
  saves: () => [],
  onnx(e, n) {
    const o = e.outName(n.outputs[0]);
    if (n.inputs.length === 1) e.bind(n.outputs[0], e.name(n.inputs[0]));
    else e.bind(n.outputs[0], e.g.node("Concat", n.inputs.map((v) => e.name(v)), o ? [o] : 1, { axis: 1 })[0]);
  },
  imports: [
    {
      onnx: "Concat",
      match(c, i) {
        const node = c.nodes[i];
        const parts = node.input.map((s) => c.value(s));
        const axis = Number(node.attribute.find((a) => a.name === "axis")?.value ?? 0);
        if (parts.some((v) => !v || v.shape.length !== 2) || (axis !== 1 && axis !== -1)) throw new Error(`${c.where(i)}: only Concat of [N, n] values along axis 1 is supported`);
        c.bind(node.output[0], c.graph.add1("concat", parts as Value[], {}, node.name || undefined));
        c.consume(i);
        return true;
      },
    },
  ],
};

/** The stack of `parts` already made by this import (MMoE tasks share one), else a new one. */
const stacks = new WeakMap<object, Map<string, Value>>();

function importStack(c: ImportCtx, i: number): boolean {
  const first = c.nodes[i];
  const axes = (name: string) => {
    const t = c.initializer(name);
    return t ? Array.from(t.data as BigInt64Array, Number) : null;
  };
  if (axes(first.input[1])?.join() !== "1") return false;
  const r = c.soleReader(first.output[0]);
  if (r < 0 || c.nodes[r].opType !== "Concat" || Number(c.nodes[r].attribute.find((a) => a.name === "axis")?.value) !== 1) return false;
  const cat = c.nodes[r];
  const unsq = cat.input.map((s) => c.nodes.findIndex((q) => q.output[0] === s));
  if (unsq.some((u) => u < 0 || c.nodes[u].opType !== "Unsqueeze" || axes(c.nodes[u].input[1])?.join() !== "1")) return false;
  const parts = unsq.map((u) => c.value(c.nodes[u].input[0]));
  if (parts.some((v) => !v || v.shape.length !== 2)) return false;
  let seen = stacks.get(c.graph);
  if (!seen) stacks.set(c.graph, (seen = new Map()));
  const key = parts.map((v) => v!.id).join(",");
  let s = seen.get(key);
  if (!s) seen.set(key, (s = c.graph.add1("stack", parts as Value[], {}, cat.name || undefined)));
  c.bind(cat.output[0], s);
  c.consume(...unsq, r);
  return true;
}

export const stack: OpDef = {
  op: "stack",
  infer(inputs) {
    expect(inputs.length >= 1, "expected at least one input");
    const s = inputs[0].shape;
    for (const v of inputs) expect(v.dtype === "f32" && v.shape.length === 2 && v.shape[0] === s[0] && v.shape[1] === s[1], `parts must all be f32 ${showShape(s)}, got ${showShape(v.shape)}`);
    return [{ dtype: "f32", shape: [s[0], inputs.length, s[1]] }];
  },
  forward(c, n) {
    const y = n.outputs[0], len = c.numel(n.inputs[0]), copy = c.call("cols_copy_f32x4"), yp = c.ptr(y);
    const ps = n.inputs.map((v) => c.ptr(v));
    return () => {
      for (let j = 0; j < ps.length; j++) copy(1, len, ps[j], len, yp + j * len * 4, len, 0);
    };
  },
  backward(c, n) {
    const y = n.outputs[0], len = c.numel(n.inputs[0]), copy = c.call("cols_copy_f32x4"), dy = c.grad(y);
    const parts: { d: number; j: number; beta: number }[] = [];
    n.inputs.forEach((v, j) => {
      const d = c.grad(v);
      if (d) parts.push({ d, j, beta: c.beta(v) });
    });
    return () => {
      for (const q of parts) copy(1, len, dy + q.j * len * 4, len, q.d, len, q.beta);
    };
  },
  saves: () => [],
  onnx(e, n) {
    const axes = e.i64("axes1", [1]);
    const o = e.outName(n.outputs[0]);
    e.bind(n.outputs[0], e.g.node("Concat", n.inputs.map((v) => e.g.node("Unsqueeze", [e.name(v), axes])[0]), o ? [o] : 1, { axis: 1 })[0]);
  },
  imports: [{ onnx: "Unsqueeze", match: importStack }],
  describe: () => "expert-major",
};
