// concat: [N, n_1] … [N, n_k] → [N, Σ n_j] along the feature axis (strided column copies; backward copies the
// slices back). slice: columns [start, start + size) of [N, n] → [N, size]; its backward adds dy into that block
// of dx only (accumulate-only: the planner zero-fills dx first when it is the first writer). stack: k values [N, n] → [N, k, n] (the experts of a mixture), stored expert-major: slot j
// is the contiguous block [j·N·n, (j+1)·N·n) — the layout moe_combine reads. ONNX: Concat(axis 1);
// stack → Concat(axis 1) of Unsqueeze(axis 1).
import type { Value } from "../graph/graph.ts";
import { attrNum, expect, type ImportCtx, type OpDef } from "../graph/op.ts";
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

export const slice: OpDef = {
  op: "slice",
  infer([x], attrs) {
    const start = attrNum(attrs, "start"), size = attrNum(attrs, "size");
    expect(x.dtype === "f32" && x.shape.length === 2, `expected f32 [N, n], got ${showShape(x.shape)}`);
    expect(Number.isInteger(start) && Number.isInteger(size) && start >= 0 && size >= 1 && start + size <= (x.shape[1] as number), `columns [${start}, ${start + size}) are not inside [0, ${String(x.shape[1])})`);
    return [{ dtype: "f32", shape: [x.shape[0], size] }];
  },
  forward(c, n) {
    const x = n.inputs[0], [m, w] = c.dims(x), start = attrNum(n.attrs, "start"), size = attrNum(n.attrs, "size");
    const copy = c.call("cols_copy_f32x4"), xp = c.ptr(x) + start * 4, yp = c.ptr(n.outputs[0]);
    return () => void copy(m, size, xp, w, yp, size, 0);
  },
  backward(c, n) {
    const x = n.inputs[0], dx = c.grad(x);
    if (!dx) return null;
    c.accumulate(x);
    const [m, w] = c.dims(x), start = attrNum(n.attrs, "start"), size = attrNum(n.attrs, "size");
    const copy = c.call("cols_copy_f32x4"), dy = c.grad(n.outputs[0]);
    return () => void copy(m, size, dy, size, dx + start * 4, w, 1);
  },
  saves: () => [],
  onnx(e, n) {
    const start = attrNum(n.attrs, "start"), size = attrNum(n.attrs, "size"), o = e.outName(n.outputs[0]);
    e.bind(n.outputs[0], e.g.node("Slice", [e.name(n.inputs[0]), e.i64("starts", [start]), e.i64("ends", [start + size]), e.i64("axes", [1])], o ? [o] : 1)[0]);
  },
  imports: [
    {
      onnx: "Slice",
      match(c, i) {
        const node = c.nodes[i], x = c.value(node.input[0]);
        const ints = (k: number) => {
          const t = node.input[k] ? c.initializer(node.input[k]) : undefined;
          return t ? Array.from(t.data as BigInt64Array, Number) : null;
        };
        const [starts, ends, axes, steps] = [ints(1), ints(2), node.input[3] ? ints(3) : [1], node.input[4] ? ints(4) : [1]];
        if (!x || x.shape.length !== 2 || !starts || !ends || !axes || !steps || starts.length !== 1 || (axes[0] !== 1 && axes[0] !== -1) || steps[0] !== 1)
          throw new Error(`${c.where(i)}: only a Slice of constant columns (axis 1, step 1) of an [N, n] value is supported`);
        const w = x.shape[1] as number, start = Math.min(w, Math.max(0, starts[0] < 0 ? starts[0] + w : starts[0])), end = Math.min(w, ends[0] < 0 ? ends[0] + w : ends[0]);
        c.bind(node.output[0], c.graph.add1("slice", [x], { start, size: end - start }, node.name || undefined));
        c.consume(i);
        return true;
      },
    },
  ],
  describe: (n) => `[${attrNum(n.attrs, "start")}, ${attrNum(n.attrs, "start") + attrNum(n.attrs, "size")})`,
};
