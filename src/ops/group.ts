// group_gather: each row picks its own group's block of a per-group output: y[i, :] = x[i, g_i·w : (g_i+1)·w],
// x [N, G·w] (every group's head in one dense call), g i32 [N] group indices → [N, w]. The row offsets
// i·G + g_i are computed into scratch each forward (and checked: a group outside [0, G) is an error naming the
// row); the backward scatter-adds into dx (accumulate-only). ONNX (w = 1): GatherElements(x, Unsqueeze(g, 1), axis 1).
import { attrNum, expect, type ImportCtx, type OpDef } from "../graph/op.ts";
import { showShape } from "../graph/shape.ts";

export const groupGather: OpDef = {
  op: "group_gather",
  infer([x, g], attrs) {
    const G = attrNum(attrs, "groups");
    expect(x.dtype === "f32" && x.shape.length === 2 && (x.shape[1] as number) % G === 0, `x must be f32 [N, groups·w] with groups = ${G}, got ${showShape(x.shape)}`);
    expect(g.dtype === "i32" && g.shape.length === 1, `group indices must be i32 [N], got ${g.dtype} ${showShape(g.shape)}`);
    return [{ dtype: "f32", shape: [x.shape[0], (x.shape[1] as number) / G] }];
  },
  forward(c, n) {
    const [x, g] = n.inputs, y = n.outputs[0];
    const G = attrNum(n.attrs, "groups"), m = c.dims(x)[0], w = c.dims(y)[1];
    const rows = c.scratch(m);
    c.memo(n).rows = rows;
    const f = c.call("embed_fwd_f32x4"), xp = c.ptr(x), gp = c.ptr(g) >>> 2, rp = rows >>> 2, yp = c.ptr(y), what = c.where(n);
    return () => {
      const i32 = c.i32();
      for (let r = 0; r < m; r++) {
        const k = i32[gp + r];
        if (!(k >= 0 && k < G)) throw new Error(`${what}: row ${r}: group ${k} is out of range [0, ${G})`);
        i32[rp + r] = r * G + k;
      }
      f(m, w, rows, xp, yp, w);
    };
  },
  backward(c, n) {
    const [x] = n.inputs, y = n.outputs[0], dx = c.grad(x);
    if (!dx) return null;
    c.accumulate(x);
    const m = c.dims(x)[0], w = c.dims(y)[1], rows = c.memo(n).rows, dy = c.grad(y);
    const g = c.call("embed_bwd_f32x4");
    return () => void g(m, w, rows, dy, w, dx);
  },
  saves: (n) => [n.inputs[1]],
  onnx(e, n) {
    const [x, g] = n.inputs, y = n.outputs[0];
    if (y.shape[1] !== 1) throw new Error(`ONNX export: ${n.name}: group heads are exported for single-output tasks only (width ${String(y.shape[1])})`);
    const idx = e.g.node("Unsqueeze", [e.name(g), e.i64("axes1", [1])])[0];
    e.bind(y, e.g.node("GatherElements", [e.name(x), idx], e.outName(y) ? [e.outName(y)!] : 1, { axis: 1 })[0]);
  },
  imports: [{ onnx: "Unsqueeze", match: importGroup }],
};

/** Unsqueeze(g, [1]) → GatherElements(x, ·, axis 1), x [N, G]. */
function importGroup(c: ImportCtx, i: number): boolean {
  const u = c.nodes[i];
  const t = c.initializer(u.input[1]);
  if (!t || Array.from(t.data as BigInt64Array, Number).join() !== "1") return false;
  const r = c.soleReader(u.output[0]);
  const ge = r >= 0 ? c.nodes[r] : null;
  if (!ge || ge.opType !== "GatherElements" || ge.input[1] !== u.output[0]) return false;
  const axis = Number(ge.attribute.find((a) => a.name === "axis")?.value ?? 0);
  const x = c.value(ge.input[0]), g = c.value(u.input[0]);
  if (!x || !g || x.shape.length !== 2 || g.dtype !== "i32" || (axis !== 1 && axis !== -1)) throw new Error(`${c.where(r)}: only GatherElements of one group column per row (axis 1) is supported`);
  c.bind(ge.output[0], c.graph.add1("group_gather", [x, g], { groups: x.shape[1] as number }, ge.name || undefined));
  c.consume(i, r);
  return true;
}
