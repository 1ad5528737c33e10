// DSelect-k (Hazimeh et al. 2021), the per-example gate and its two objective terms; kernels in
// assembly/kernels/dselect.ts, equations there.
//   dselect_gate(z [N, k·m], α [N, k]) → q [N, e]: q_j = Σ_i softmax(α)_i·r_ij(z_i), m = ⌈log₂ e⌉;
//     attrs experts (e ≥ 2), k (1 … e), gamma (> 0). Backward: one kernel writes dz and dα, each with its own beta.
//   dselect_entropy(z, valid) → host: Σ_rows valid·Σ_i H(r_i) / valid rows, into host.relations[index]; the
//     objective adds λ·that, and the backward is seeded with λ/valid (as relation.ts).
//   dselect_reach(z, valid) → host: the same with 1/(Σ_j r_ij + ε) per selector (e not a power of two).
// ONNX (gate only; the terms are training-only), opset 17, checked by the import pattern below:
//   Reshape(z, [0, k, 1, m]) → Clip(·, −γ/2, γ/2) = t → S = (t·t·a₃ + a₁)·t + ½   (a₃ = −2/γ³, a₁ = 3/(2γ))
//   → F = S·B₁ + B₀ [N, k, e, m] (B₁ = 2C − 1, B₀ = 1 − C, C [e, m] the experts' codes, most significant bit first)
//   → r = ReduceProd(F, axes [3]) [N, k, e];  q = ReduceSum(r·Unsqueeze(Softmax(α), [2]), [1]) [N, e].
import { attrNum, expect, type ImportCtx, type OnnxCtx, type OpDef } from "../graph/op.ts";
import type { Attrs, Node, Value } from "../graph/graph.ts";
import { showShape } from "../graph/shape.ts";

export const dselectBits = (experts: number): number => Math.ceil(Math.log2(experts));

/** The codes C [e, m]: row j is j in m binary digits, most significant first (the reference's binary_repr). */
export function dselectCodes(experts: number): Float32Array {
  const m = dselectBits(experts), c = new Float32Array(experts * m);
  for (let j = 0; j < experts; j++) for (let b = 0; b < m; b++) c[j * m + b] = (j >> (m - 1 - b)) & 1;
  return c;
}

interface Gate {
  e: number;
  k: number;
  m: number;
  gamma: number;
}

function gateAttrs(attrs: Attrs): Gate {
  const e = attrNum(attrs, "experts"), k = attrNum(attrs, "k"), gamma = attrNum(attrs, "gamma");
  expect(Number.isInteger(e) && e >= 2, `attribute experts must be an integer ≥ 2, got ${e}`);
  expect(Number.isInteger(k) && k >= 1 && k <= e, `attribute k must be an integer in [1, experts = ${e}], got ${k}`);
  expect(gamma > 0, `attribute gamma must be > 0, got ${gamma}`);
  return { e, k, m: dselectBits(e), gamma };
}

function checkZ(z: Value, a: Gate): void {
  expect(z.dtype === "f32" && z.shape.length === 2 && z.shape[1] === a.k * a.m, `z must be f32 [N, k·m = ${a.k}·${a.m}], got ${z.dtype} ${showShape(z.shape)}`);
}

const describe = (n: Node) => {
  const a = gateAttrs(n.attrs);
  return `k=${a.k} of ${a.e}, γ=${a.gamma}`;
};

export const dselectGate: OpDef = {
  op: "dselect_gate",
  infer([z, alpha], attrs) {
    const a = gateAttrs(attrs);
    checkZ(z, a);
    expect(alpha.dtype === "f32" && alpha.shape.length === 2 && alpha.shape[1] === a.k && alpha.shape[0] === z.shape[0], `α must be f32 [N, k = ${a.k}], got ${alpha.dtype} ${showShape(alpha.shape)}`);
    return [{ dtype: "f32", shape: [z.shape[0], a.e] }];
  },
  forward(c, n) {
    const [z, alpha] = n.inputs, { e, k, m, gamma } = gateAttrs(n.attrs), [rows] = c.dims(z);
    const f = c.call("dselect_fwd_f32"), zp = c.ptr(z), ap = c.ptr(alpha), qp = c.ptr(n.outputs[0]);
    return () => void f(rows, k, m, e, zp, ap, qp, gamma);
  },
  backward(c, n) {
    const [z, alpha] = n.inputs, { e, k, m, gamma } = gateAttrs(n.attrs), [rows] = c.dims(z);
    const dz = c.grad(z), da = c.grad(alpha);
    if (!dz && !da) return null;
    const bz = dz ? c.beta(z) : 0, ba = da ? c.beta(alpha) : 0;
    const g = c.call("dselect_bwd_f32"), zp = c.ptr(z), ap = c.ptr(alpha), dq = c.grad(n.outputs[0]);
    return () => void g(rows, k, m, e, zp, ap, dq, dz, da, gamma, bz, ba);
  },
  saves: (n) => [n.inputs[0], n.inputs[1]],
  onnx: exportGate,
  imports: [{ onnx: "Reshape", match: importGate }],
  describe,
};

/** An objective term over the selectors (entropy or reach): value / valid rows, backward seeded with λ/valid. */
function term(op: string, kind: "entropy" | "reach"): OpDef {
  return {
    op,
    infer([z, valid], attrs) {
      attrNum(attrs, "index");
      attrNum(attrs, "lambda");
      checkZ(z, gateAttrs(attrs));
      expect(valid.dtype === "f32" && valid.shape.length === 1, "valid must be f32 [N]");
      return [{ dtype: "f32", shape: [], host: true }];
    },
    forward(c, n) {
      const [z, valid] = n.inputs, { e, k, m, gamma } = gateAttrs(n.attrs), [rows] = c.dims(z), i = attrNum(n.attrs, "index");
      const f = c.call(`dselect_${kind}_fwd_f32`), zp = c.ptr(z), vp = c.ptr(valid), h = c.host;
      return () => void (h.relations[i] = f(rows, k, m, e, zp, vp, gamma) / Math.max(1, h.validCount.value));
    },
    backward(c, n) {
      const [z, valid] = n.inputs, { e, k, m, gamma } = gateAttrs(n.attrs), [rows] = c.dims(z), lambda = attrNum(n.attrs, "lambda");
      const dz = c.grad(z);
      if (!dz) return null;
      const beta = c.beta(z), g = c.call(`dselect_${kind}_bwd_f32`), zp = c.ptr(z), vp = c.ptr(valid), h = c.host;
      return () => void g(rows, k, m, e, zp, vp, dz, lambda / Math.max(1, h.validCount.value), gamma, beta);
    },
    saves: (n) => [n.inputs[0]],
    onnx: { none: "a training objective term" },
    imports: { none: "a training objective term" },
    describe: (n) => `${describe(n)}, λ=${attrNum(n.attrs, "lambda")}`,
  };
}

/** λ·mean over valid rows of Σ_i H(r_i): pushes each selector towards one expert. */
export const dselectEntropy = term("dselect_entropy", "entropy");
/** mean over valid rows of Σ_i 1/(Σ_j r_ij + ε): keeps the selectors off the codes ≥ e. */
export const dselectReach = term("dselect_reach", "reach");

function exportGate(x: OnnxCtx, n: Node): void {
  const [z, alpha] = n.inputs, { e, k, m, gamma } = gateAttrs(n.attrs), g = x.g, o = x.outName(n.outputs[0]);
  const codes = dselectCodes(e);
  const mul = (a: string, b: string) => g.node("Mul", [a, b])[0], add = (a: string, b: string) => g.node("Add", [a, b])[0];
  const zr = g.node("Reshape", [x.name(z), x.i64("dselect_shape", [0, k, 1, m])])[0];
  const t = g.node("Clip", [zr, x.f32("dselect_lo", [-gamma / 2], []), x.f32("dselect_hi", [gamma / 2], [])])[0];
  const cubic = add(mul(add(mul(mul(t, t), x.f32("dselect_a3", [-2 / gamma ** 3], [])), x.f32("dselect_a1", [3 / (2 * gamma)], [])), t), x.f32("dselect_half", [0.5], []));
  const f = add(mul(cubic, x.f32("dselect_b1", Array.from(codes, (v) => 2 * v - 1), [e, m])), x.f32("dselect_b0", Array.from(codes, (v) => 1 - v), [e, m]));
  const r = g.node("ReduceProd", [f], 1, { axes: [3], keepdims: 0 })[0];
  const s = g.node("Unsqueeze", [g.node("Softmax", [x.name(alpha)], 1, { axis: -1 })[0], x.i64("axes2", [2])])[0];
  x.bind(n.outputs[0], g.node("ReduceSum", [mul(r, s), x.i64("axes1", [1])], o ? [o] : 1, { keepdims: 0 })[0]);
}

/** The ONNX form above, from its Reshape; false (nothing consumed) for any other Reshape. */
function importGate(c: ImportCtx, i: number): boolean {
  const nodes = c.nodes;
  const ints = (name: string) => {
    const t = c.initializer(name);
    return t && t.data instanceof BigInt64Array ? Array.from(t.data, Number) : null;
  };
  const floats = (name: string) => {
    const t = c.initializer(name);
    return t && t.data instanceof Float32Array ? Array.from(t.data) : null;
  };
  const attr = (j: number, name: string) => nodes[j].attribute.find((a) => a.name === name)?.value;
  /** The later nodes of type `op` that read `name`. */
  const readers = (name: string, op: string) => nodes.flatMap((nd, j) => (j > i && nd.opType === op && nd.input.includes(name) ? [j] : []));
  /** The one reader of `name` of type `op` whose other input is a constant satisfying `ok` (−1 if none). */
  const withConst = (name: string, op: string, ok: (v: number[]) => boolean) => {
    const j = c.soleReader(name);
    if (j < 0 || nodes[j].opType !== op) return -1;
    const other = floats(nodes[j].input.find((s) => s !== name) ?? "");
    return other && ok(other) ? j : -1;
  };
  const near = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));

  const shape = ints(nodes[i].input[1]);
  if (!shape || shape.length !== 4 || shape[0] !== 0 || shape[2] !== 1) return false;
  const [, k, , m] = shape;
  const clip = c.soleReader(nodes[i].output[0]);
  if (clip < 0 || nodes[clip].opType !== "Clip") return false;
  const lo = floats(nodes[clip].input[1]), hi = floats(nodes[clip].input[2]);
  if (!lo || !hi || !(hi[0] > 0) || !near(lo[0], -hi[0])) return false;
  const gamma = 2 * hi[0], t = nodes[clip].output[0];
  const sq = readers(t, "Mul").find((j) => nodes[j].input[0] === t && nodes[j].input[1] === t);
  if (sq === undefined) return false;
  const m3 = withConst(nodes[sq].output[0], "Mul", (v) => near(v[0], -2 / gamma ** 3));
  const a1 = m3 < 0 ? -1 : withConst(nodes[m3].output[0], "Add", (v) => near(v[0], 3 / (2 * gamma)));
  const mt = a1 < 0 ? -1 : c.soleReader(nodes[a1].output[0]);
  if (mt < 0 || nodes[mt].opType !== "Mul" || !nodes[mt].input.includes(t)) return false;
  const half = withConst(nodes[mt].output[0], "Add", (v) => v.length === 1 && v[0] === 0.5);
  if (half < 0) return false;
  // The experts' codes fix e: B₁ = 2C − 1, B₀ = 1 − C with C the binary codes of 0 … e − 1.
  const b1 = c.soleReader(nodes[half].output[0]);
  if (b1 < 0 || nodes[b1].opType !== "Mul") return false;
  const b1t = c.initializer(nodes[b1].input[1]);
  if (!b1t || b1t.dims.length !== 2 || b1t.dims[1] !== m) return false;
  const e = b1t.dims[0], codes = e >= 2 && dselectBits(e) === m ? dselectCodes(e) : null;
  if (!codes || !floats(b1t.name)!.every((v, j) => v === 2 * codes[j] - 1)) return false;
  const b0 = withConst(nodes[b1].output[0], "Add", (v) => v.length === codes.length && v.every((x, j) => x === 1 - codes[j]));
  const prod = b0 < 0 ? -1 : c.soleReader(nodes[b0].output[0]);
  if (prod < 0 || nodes[prod].opType !== "ReduceProd" || String(attr(prod, "axes")) !== "3" || Number(attr(prod, "keepdims") ?? 1) !== 0) return false;
  const mix = c.soleReader(nodes[prod].output[0]);
  if (mix < 0 || nodes[mix].opType !== "Mul") return false;
  const unsq = nodes.findIndex((nd, j) => j > i && nd.opType === "Unsqueeze" && nodes[mix].input.includes(nd.output[0]));
  if (unsq < 0 || ints(nodes[unsq].input[1])?.join() !== "2") return false;
  const sm = nodes.findIndex((nd, j) => j > i && nd.opType === "Softmax" && nd.output[0] === nodes[unsq].input[0]);
  if (sm < 0 || ![-1, 1].includes(Number(attr(sm, "axis") ?? -1))) return false;
  const sum = c.soleReader(nodes[mix].output[0]);
  if (sum < 0 || nodes[sum].opType !== "ReduceSum" || ints(nodes[sum].input[1])?.join() !== "1" || Number(attr(sum, "keepdims") ?? 1) !== 0) return false;
  const z = c.value(nodes[i].input[0]), alpha = c.value(nodes[sm].input[0]);
  if (!z || !alpha) return false;
  c.bind(nodes[sum].output[0], c.graph.add1("dselect_gate", [z, alpha], { experts: e, k, gamma }, nodes[sum].name || undefined));
  c.consume(i, clip, sq, m3, a1, mt, half, b1, b0, prod, sm, unsq, mix, sum);
  return true;
}
