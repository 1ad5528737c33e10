// bigru: a bidirectional GRU layer over masked token rows. Inputs x f32 [N, L, D], mask f32 [N, L] (1 real, 0
// padding; a row's real tokens must be a prefix — right padding — and the forward checks it), W [2, 3H, D],
// R [2, 3H, H], B [2, 6H] in ONNX GRU's layout and gate order (z, r, h) → y [N, L, 2H]: the forward-time and
// backward-time states of each token side by side, 0 at padding. ONNX GRU's equations with linear_before_reset = 1
// (PyTorch's form: one recurrent GEMM per step serves all gates); each direction runs over the row's real tokens
// only, the backward one starting at the last (see assembly/kernels/gru.ts). Backward: BPTT in one kernel call.
// The training forward saves the gates (2·N·L·4H f32, program scratch); both passes work in the shared scratch.
// ONNX: lens = Cast(ReduceSum(mask, [1], keepdims 0), INT32); Y = GRU(Transpose(x, [1, 0, 2]), W, R, B, lens;
// bidirectional, linear_before_reset 1) [L, 2, N, H]; y = Reshape(Transpose(Y, [2, 0, 1, 3]), [0, 0, 2H]).
// The same chain imports back.
import type { Node } from "../graph/graph.ts";
import { expect, type ImportCtx, type OpDef, type FwdCtx } from "../graph/op.ts";
import { showShape } from "../graph/shape.ts";
import { chainAt, ints, attr } from "./seq-onnx.ts";

const CHAIN = ["ReduceSum", "Cast", "Transpose", "GRU", "Transpose", "Reshape"];
const INT32 = 6;

function dimsOf(c: FwdCtx, n: Node) {
  const [x, , , R] = n.inputs;
  const [N, L, D] = c.dims(x), H = c.dims(R)[2];
  return { N, L, D, H };
}

export const bigru: OpDef = {
  op: "bigru",
  infer(inputs) {
    const [x, mask, W, R, B] = inputs;
    expect(inputs.length === 5, `expected inputs (x, mask, W, R, B), got ${inputs.length}`);
    expect(x.dtype === "f32" && x.shape.length === 3, `x must be f32 [N, L, D], got ${x.dtype} ${showShape(x.shape)}`);
    expect(mask.dtype === "f32" && mask.shape.length === 2 && mask.shape[1] === x.shape[1], `mask must be f32 [N, ${String(x.shape[1])}], got ${mask.dtype} ${showShape(mask.shape)}`);
    const H = R.shape[2] as number, D = x.shape[2];
    expect(R.shape.length === 3 && R.shape[0] === 2 && R.shape[1] === 3 * H, `R must be [2, 3H, H], got ${showShape(R.shape)}`);
    expect(W.shape.length === 3 && W.shape[0] === 2 && W.shape[1] === 3 * H && W.shape[2] === D, `W must be [2, ${3 * H}, ${String(D)}], got ${showShape(W.shape)}`);
    expect(B.shape.length === 2 && B.shape[0] === 2 && B.shape[1] === 6 * H, `B must be [2, ${6 * H}], got ${showShape(B.shape)}`);
    return [{ dtype: "f32", shape: [x.shape[0], x.shape[1], 2 * H] }];
  },
  forward(c, n) {
    const [x, mask, W, R, B] = n.inputs, y = n.outputs[0];
    const { N, L, D, H } = dimsOf(c, n), f = c.call("bigru_fwd_f32x4");
    const work = c.sharedScratch(c.call("bigru_fwd_work")(N, L, H));
    const save = c.training ? c.scratch(2 * N * L * 4 * H) : 0;
    c.memo(n).save = save;
    const xp = c.ptr(x), mp = c.ptr(mask), wp = c.ptr(W), rp = c.ptr(R), bp = c.ptr(B), yp = c.ptr(y), what = c.where(n);
    return () => {
      const m = c.f32(), at = mp >>> 2;
      for (let i = 0; i < N; i++) {
        let pad = -1;
        for (let t = 0; t < L; t++) {
          const real = m[at + i * L + t] > 0;
          if (!real && pad < 0) pad = t;
          else if (real && pad >= 0) throw new Error(`${what}: row ${i}: the mask has a real token at position ${t} after padding at ${pad}; the GRU needs right padding (real tokens first)`);
        }
      }
      f(N, L, D, H, xp, mp, wp, rp, bp, yp, save, work.ptr);
    };
  },
  backward(c, n) {
    const [x, mask, W, R, B] = n.inputs, y = n.outputs[0];
    const dx = c.grad(x), dw = c.grad(W), dr = c.grad(R), db = c.grad(B);
    if (!dx && !dw && !dr && !db) return null;
    const save = c.memo(n).save;
    if (!save) throw new Error("backward lowered before a training forward");
    const { N, L, D, H } = dimsOf(c, n), g = c.call("bigru_bwd_f32x4");
    const work = c.sharedScratch(c.call("bigru_bwd_work")(N, L, H));
    const withGrad = [W, R, B].filter((_, i) => [dw, dr, db][i]);
    const bx = dx ? c.beta(x) : 0, bw = withGrad.length ? c.betaAll(withGrad) : 0;
    const xp = c.ptr(x), mp = c.ptr(mask), wp = c.ptr(W), rp = c.ptr(R), yp = c.ptr(y), dy = c.grad(y);
    return () => void g(N, L, D, H, xp, mp, wp, rp, yp, save, dy, dx, dw, dr, db, work.ptr, bx, bw);
  },
  saves: (n) => [n.inputs[0], n.inputs[1], n.outputs[0]],
  onnx(e, n) {
    const [x, mask, W, R, B] = n.inputs, y = n.outputs[0], o = e.outName(y), g = e.g;
    const H = R.shape[2] as number;
    const lenf = g.node("ReduceSum", [e.name(mask), e.i64("axes1", [1])], 1, { keepdims: 0 })[0];
    const lens = g.node("Cast", [lenf], 1, { to: INT32 })[0];
    const xt = g.node("Transpose", [e.name(x)], 1, { perm: [1, 0, 2] })[0];
    const Y = g.node("GRU", [xt, e.name(W), e.name(R), e.name(B), lens], 1, { direction: "bidirectional", hidden_size: H, linear_before_reset: 1 })[0];
    const yt = g.node("Transpose", [Y], 1, { perm: [2, 0, 1, 3] })[0];
    e.bind(y, g.node("Reshape", [yt, e.i64("shape", [0, 0, 2 * H])], o ? [o] : 1)[0]); // 0: copied, so L may be symbolic
  },
  imports: [{ onnx: "ReduceSum", match: importGru }],
  describe: (n) => `H=${String(n.inputs[3].shape[2])}×2`,
};

function importGru(c: ImportCtx, i: number): boolean {
  const ch = chainAt(c, i, CHAIN);
  if (!ch) return false;
  const [sum, cast, tx, gru, ty, rs] = ch, gi = i + 3;
  const mask = c.value(sum.input[0]), x = c.value(tx.input[0]);
  const [W, R, B] = gru.input.slice(1, 4).map((s) => c.value(s));
  if (!mask || !x || !W || !R || !B || ints(c, sum.input[1])?.join() !== "1" || cast.input[0] !== sum.output[0] || gru.input[4] !== cast.output[0]) return false;
  if (tx.output[0] !== gru.input[0] || ty.input[0] !== gru.output[0] || rs.input[0] !== ty.output[0]) return false;
  const perm = (j: number) => (attr(c, i + j, "perm") as number[] | undefined)?.map(Number).join();
  if (perm(2) !== "1,0,2" || perm(4) !== "2,0,1,3") return false;
  if (String(attr(c, gi, "direction")) !== "bidirectional" || Number(attr(c, gi, "linear_before_reset") ?? 0) !== 1 || gru.input.length > 5 && gru.input[5] !== "") {
    throw new Error(`${c.where(gi)}: the mtl engine runs bidirectional GRUs with linear_before_reset = 1 and no initial state`);
  }
  if (attr(c, gi, "activations") !== undefined || attr(c, gi, "clip") !== undefined) throw new Error(`${c.where(gi)}: custom GRU activations and clip are not supported`);
  c.bind(rs.output[0], c.graph.add1("bigru", [x, mask, W, R, B], {}, gru.name || undefined));
  c.consume(...ch.map((_, j) => i + j));
  return true;
}
