// The data boundary of an exported model, in f32 exactly as ONNX computes it (one rounding per operation).
// standardize: y = (x − mean) / std per column (raw numeric inputs → the standardized values training saw);
// ONNX: Sub then Div. affine: y = x·scale + shift per column (standardized regression outputs → the label's
// units); ONNX: Mul then Add. Both run in JS over wasm memory (N × F elements, once per run).
import type { Value } from "../graph/graph.ts";
import { expect, type ImportCtx, type OpDef } from "../graph/op.ts";
import { showShape } from "../graph/shape.ts";

function perColumn(name: string, first: "Sub" | "Mul", second: "Div" | "Add", f: (x: number, a: number, b: number) => number): OpDef {
  return {
    op: name,
    infer([x, a, b]) {
      expect(x.dtype === "f32" && x.shape.length === 2, `expected f32 [N, F], got ${showShape(x.shape)}`);
      for (const v of [a, b]) expect(v.kind === "const" && v.shape.length === 1 && v.shape[0] === x.shape[1], `statistics must be constants [${String(x.shape[1])}], got ${showShape(v.shape)}`);
      return [{ dtype: "f32", shape: [...x.shape] }];
    },
    forward(c, n) {
      const [x, a, b] = n.inputs, y = n.outputs[0];
      const [m, F] = c.dims(x), xp = c.ptr(x) >>> 2, yp = c.ptr(y) >>> 2;
      const av = Float32Array.from(a.data as Float32Array), bv = Float32Array.from(b.data as Float32Array);
      return () => {
        const h = c.f32();
        for (let r = 0; r < m; r++) for (let j = 0; j < F; j++) h[yp + r * F + j] = f(h[xp + r * F + j], av[j], bv[j]);
      };
    },
    backward: { none: "the data boundary of an exported model" },
    saves: () => [],
    onnx(e, n) {
      const [x, a, b] = n.inputs, o = e.outName(n.outputs[0]);
      const t = e.g.node(first, [e.name(x), e.name(a)])[0];
      e.bind(n.outputs[0], e.g.node(second, [t, e.name(b)], o ? [o] : 1)[0]);
    },
    imports: [
      {
        onnx: first,
        match(c: ImportCtx, i: number) {
          const n1 = c.nodes[i];
          const x = c.value(n1.input[0]), a = c.value(n1.input[1]);
          const r = c.soleReader(n1.output[0]);
          if (!x || !a || a.kind !== "const" || r < 0 || c.nodes[r].opType !== second) return false;
          const b = c.value(c.nodes[r].input[1]);
          if (!b || b.kind !== "const" || c.nodes[r].input[0] !== n1.output[0]) return false;
          c.bind(c.nodes[r].output[0], c.graph.add1(name, [x, a, b] as Value[], {}, n1.name || undefined));
          c.consume(i, r);
          return true;
        },
      },
    ],
  };
}

const f = Math.fround;
export const standardize = perColumn("standardize", "Sub", "Div", (x, mean, std) => f(f(x - mean) / std));
export const affine = perColumn("affine", "Mul", "Add", (x, scale, shift) => f(f(x * scale) + shift));
