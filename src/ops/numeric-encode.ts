// numeric_encode: the data boundary of an exported model whose numeric inputs use inputs.numeric_encodings.
// Inputs: x f32 [N, F] raw values (NaN = missing), then constants mean [F], cols [W] (i32 or i64, in [0, 2F)),
// lo, width, cmin, cmax [W], M [W, V]; output E f32 [N, V]. The computation and the constants are those of
// src/data/numeric-encodings.ts (the same encoder runs here, over wasm memory, once per run).
// ONNX (opset 17): m = IsNaN(x); xi = Where(m, mean, x); z = Concat(xi, Cast(m, float)) when a component reads an
// indicator (cols ≥ F), else xi; g = Gather(z, cols, axis 1); c = Min(Max(Div(Sub(g, lo), width), cmin), cmax);
// E = MatMul(c, M).
import type { Value } from "../graph/graph.ts";
import { expect, type ImportCtx, type OpDef } from "../graph/op.ts";
import { showShape } from "../graph/shape.ts";
import { makeEncoder, type EncoderPlan } from "../data/numeric-encodings.ts";

function planOf(inputs: readonly Value[]): EncoderPlan {
  const [x, mean, cols, lo, width, cmin, cmax, M] = inputs;
  const F = x.shape[1] as number, W = cols.shape[0] as number, V = M.shape[1] as number;
  const f32 = (v: Value) => Float32Array.from(v.data as Float32Array);
  return { F, W, V, periodic: [], mean: f32(mean), cols: Int32Array.from(cols.data as ArrayLike<number | bigint>, Number), lo: f32(lo), width: f32(width), cmin: f32(cmin), cmax: f32(cmax), M: f32(M) };
}

export const numericEncode: OpDef = {
  op: "numeric_encode",
  infer(inputs) {
    const [x, mean, cols, ...rest] = inputs;
    expect(inputs.length === 8, `expected x and 7 constants (mean, cols, lo, width, cmin, cmax, M), got ${inputs.length} inputs`);
    expect(x.dtype === "f32" && x.shape.length === 2 && typeof x.shape[1] === "number", `expected f32 [N, F], got ${showShape(x.shape)}`);
    const F = x.shape[1] as number;
    for (const v of inputs.slice(1)) expect(v.kind === "const", `the encoder's statistics must be constants (${v.name} is not)`);
    expect(mean.shape.length === 1 && mean.shape[0] === F, `mean must be [${F}], got ${showShape(mean.shape)}`);
    expect(cols.dtype !== "f32" && cols.shape.length === 1, `cols must be integer [W], got ${cols.dtype} ${showShape(cols.shape)}`);
    const W = cols.shape[0] as number, M = rest[4];
    for (const v of rest.slice(0, 4)) expect(v.dtype === "f32" && v.shape.length === 1 && v.shape[0] === W, `${v.name} must be f32 [${W}], got ${showShape(v.shape)}`);
    expect(M.dtype === "f32" && M.shape.length === 2 && M.shape[0] === W, `M must be f32 [${W}, V], got ${showShape(M.shape)}`);
    for (const c of Array.from(cols.data as ArrayLike<number | bigint>)) expect(Number(c) >= 0 && Number(c) < 2 * F, `cols must lie in [0, ${2 * F}), found ${c}`);
    return [{ dtype: "f32", shape: [x.shape[0], M.shape[1]] }];
  },
  forward(c, n) {
    const enc = makeEncoder(planOf(n.inputs));
    const x = n.inputs[0], y = n.outputs[0];
    const [m] = c.dims(x), xp = c.ptr(x) >>> 2, yp = c.ptr(y) >>> 2;
    return () => {
      const h = c.f32();
      enc.run(m, h, xp, h, yp);
    };
  },
  backward: { none: "the data boundary of an exported model" },
  saves: () => [],
  onnx(e, n) {
    const [x, mean, cols, lo, width, cmin, cmax, M] = n.inputs, o = e.outName(n.outputs[0]);
    const F = x.shape[1] as number, colv = Array.from(cols.data as ArrayLike<number | bigint>, Number);
    const m = e.g.node("IsNaN", [e.name(x)])[0];
    const xi = e.g.node("Where", [m, e.name(mean), e.name(x)])[0];
    const z = colv.some((k) => k >= F) ? e.g.node("Concat", [xi, e.g.node("Cast", [m], 1, { to: 1 })[0]], 1, { axis: 1 })[0] : xi;
    const gth = e.g.node("Gather", [z, e.i64("cols", colv)], 1, { axis: 1 })[0];
    const d = e.g.node("Div", [e.g.node("Sub", [gth, e.name(lo)])[0], e.name(width)])[0];
    const cl = e.g.node("Min", [e.g.node("Max", [d, e.name(cmin)])[0], e.name(cmax)])[0];
    e.bind(n.outputs[0], e.g.node("MatMul", [cl, e.name(M)], o ? [o] : 1)[0]);
  },
  imports: [{ onnx: "IsNaN", match: importEncode }],
  describe: (n) => `${n.inputs[2].shape[0]} components`,
};

/** The ONNX form above, from its IsNaN: every intermediate read by the next node only (the mask by Where and Cast). */
function importEncode(c: ImportCtx, i: number): boolean {
  const nodes = c.nodes;
  const readers = (name: string) => nodes.flatMap((nd, j) => (j > i && nd.input.includes(name) ? [j] : []));
  const fail = (why: string): never => {
    throw new Error(`${c.where(i)}: not the numeric encoder's form (${why})`);
  };
  const isnan = nodes[i], x = c.value(isnan.input[0]);
  if (!x) fail("its input is not defined before it");
  const mr = readers(isnan.output[0]);
  const wi = mr.find((j) => nodes[j].opType === "Where"), ci = mr.find((j) => nodes[j].opType === "Cast");
  if (wi === undefined || mr.length !== (ci === undefined ? 1 : 2)) fail("IsNaN must feed one Where (and at most one Cast)");
  const where = nodes[wi!];
  if (where.input[0] !== isnan.output[0] || where.input[2] !== isnan.input[0]) fail("Where(IsNaN(x), mean, x) expected");
  const used = [i, wi!];
  const sole = (name: string, op: string) => {
    const r = readers(name);
    if (r.length !== 1 || nodes[r[0]].opType !== op) fail(`${name} must be read by one ${op}`);
    used.push(r[0]);
    return nodes[r[0]];
  };
  let z = where.output[0];
  if (ci !== undefined) {
    const cat = sole(where.output[0], "Concat");
    if (cat.input[0] !== where.output[0] || cat.input[1] !== nodes[ci].output[0] || readers(nodes[ci].output[0]).length !== 1) fail("Concat(Where, Cast(IsNaN)) expected");
    used.push(ci);
    z = cat.output[0];
  }
  const gth = sole(z, "Gather");
  const attr = (nd: typeof isnan, name: string) => Number(nd.attribute.find((a) => a.name === name)?.value ?? 0);
  if (attr(gth, "axis") !== 1 || (ci !== undefined && attr(nodes[ci], "to") !== 1)) fail("Gather must take axis 1 and Cast must make float");
  const sub = sole(gth.output[0], "Sub"), div = sole(sub.output[0], "Div"), mx = sole(div.output[0], "Max"), mn = sole(mx.output[0], "Min"), mm = sole(mn.output[0], "MatMul");
  const consts = [where.input[1], gth.input[1], sub.input[1], div.input[1], mx.input[1], mn.input[1], mm.input[1]].map((s) => c.value(s));
  if (consts.some((v) => !v || v.kind !== "const")) fail("its statistics must be initializers");
  const y = c.graph.add1("numeric_encode", [x!, ...(consts as Value[])], {}, isnan.name || undefined);
  c.bind(mm.output[0], y);
  c.consume(...used);
  return true;
}
