// seq_mask: the real-token mask of token ids. ids i32 or i64 [N, L] → f32 [N, L], 1 where id > 0 (a token: unknown
// is 1, the vocabulary's ids follow) and 0 where id ≤ 0 (padding, PAD_ID = 0; src/data/tokens.ts). The model derives
// its mask from the ids, so an exported model takes the ids alone (with a symbolic length L).
// ONNX: Cast(Greater(ids, 0), to FLOAT); the pair imports back.
import { expect, type ImportCtx, type OpDef } from "../graph/op.ts";
import { showShape } from "../graph/shape.ts";
import { chainAt, scalar } from "./seq-onnx.ts";

const FLOAT = 1;

export const seqMask: OpDef = {
  op: "seq_mask",
  infer([ids]) {
    expect((ids.dtype === "i32" || ids.dtype === "i64") && ids.shape.length === 2, `token ids must be i32 or i64 [N, L], got ${ids.dtype} ${showShape(ids.shape)}`);
    return [{ dtype: "f32", shape: [...ids.shape] }];
  },
  forward(c, n) {
    const ids = n.inputs[0], y = n.outputs[0], m = c.numel(ids), yp = c.ptr(y) >>> 2;
    if (ids.dtype === "i64") {
      const xp = c.ptr(ids) >>> 3;
      return () => {
        const src = c.i64(), dst = c.f32();
        for (let i = 0; i < m; i++) dst[yp + i] = src[xp + i] > 0n ? 1 : 0;
      };
    }
    const xp = c.ptr(ids) >>> 2;
    return () => {
      const src = c.i32(), dst = c.f32();
      for (let i = 0; i < m; i++) dst[yp + i] = src[xp + i] > 0 ? 1 : 0;
    };
  },
  backward: { none: "integer ids carry no gradient" },
  saves: () => [],
  onnx(e, n) {
    const o = e.outName(n.outputs[0]), g = e.g;
    const gt = g.node("Greater", [e.name(n.inputs[0]), e.i64Scalar("zero", 0)])[0];
    e.bind(n.outputs[0], g.node("Cast", [gt], o ? [o] : 1, { to: FLOAT })[0]);
  },
  imports: [{ onnx: "Greater", match: importMask }],
  describe: () => "id > 0",
};

function importMask(c: ImportCtx, i: number): boolean {
  const ch = chainAt(c, i, ["Greater", "Cast"]);
  if (!ch || ch[1].input[0] !== ch[0].output[0] || Number(ch[1].attribute.find((a) => a.name === "to")?.value) !== FLOAT) return false;
  const ids = c.value(ch[0].input[0]), zero = c.initializer(ch[0].input[1]);
  if (!ids || !zero || zero.data.length !== 1 || Number(zero.data[0]) !== 0 || scalar(c, ch[0].input[1]) !== null) return false;
  c.bind(ch[1].output[0], c.graph.add1("seq_mask", [ids], {}, ch[0].name || undefined));
  c.consume(i, i + 1);
  return true;
}
