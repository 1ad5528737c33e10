// Elementwise activations, one op each (the op name is the spec's activation name): y = f(x), any shape.
// Each entry names its kernels (`<kernel>_fwd_f32x4(n, x, y[, alpha])`, `<kernel>_bwd_f32x4(n, saved, dy, dx,
// beta[, alpha])`), which forward value its backward reads (x or y), and its ONNX form. Adding an activation
// is one entry here plus its kernels in assembly/kernels/act.ts; the spec accepts every name listed.
import type { Node, Value } from "../graph/graph.ts";
import { expect, type ImportCtx, type Importer, type OnnxCtx, type OpDef } from "../graph/op.ts";

interface Activation {
  kernel: string;
  /** Rectifier-like (He-uniform initialization of the layer before it) rather than saturating (Glorot). */
  he?: boolean;
  /** The forward value the backward kernel reads. */
  saves: "x" | "y";
  /** Extra scalar after the pointers (leaky_relu's slope). */
  alpha?: number;
  /** ONNX lowering of y = f(x): returns the ONNX name of y (`out`: the required name, if any). */
  onnx(e: OnnxCtx, x: string, out: string | undefined): string;
  /** The single ONNX op that is this activation, for import. */
  onnxOp?: string;
  /** A multi-node ONNX pattern for import. */
  importer?: Importer;
}

const outs = (o: string | undefined) => (o ? [o] : 1);

const TABLE = {
  relu: { kernel: "relu", he: true, saves: "y", onnxOp: "Relu", onnx: (e, x, o) => e.g.node("Relu", [x], outs(o))[0] },
  leaky_relu: { kernel: "leaky_relu", he: true, saves: "x", alpha: 0.01, onnxOp: "LeakyRelu", onnx: (e, x, o) => e.g.node("LeakyRelu", [x], outs(o), { alpha: { type: "FLOAT", value: 0.01 } })[0] },
  // x·σ(x); opset 17 has no SiLU: Mul(x, Sigmoid(x)). Before sigmoid, so its importer sees Sigmoid first.
  silu: {
    kernel: "silu",
    he: true,
    saves: "x",
    onnx: (e, x, o) => e.g.node("Mul", [x, e.g.node("Sigmoid", [x])[0]], outs(o))[0],
    importer: { onnx: "Sigmoid", match: importSilu },
  },
  sigmoid: { kernel: "sigmoid", saves: "y", onnxOp: "Sigmoid", onnx: (e, x, o) => e.g.node("Sigmoid", [x], outs(o))[0] },
  tanh: { kernel: "tanh", saves: "y", onnxOp: "Tanh", onnx: (e, x, o) => e.g.node("Tanh", [x], outs(o))[0] },
  gelu: {
    kernel: "gelu",
    he: true,
    saves: "x",
    // 0.5·x·(1 + erf(x/√2)), exact (opset 17 has no Gelu).
    onnx(e, x, o) {
      const erf = e.g.node("Erf", [e.g.node("Div", [x, e.f32("sqrt2", [Math.SQRT2], [])])[0]])[0];
      const onePlus = e.g.node("Add", [erf, e.f32("one", [1], [])])[0];
      return e.g.node("Mul", [e.g.node("Mul", [x, e.f32("half", [0.5], [])])[0], onePlus], outs(o))[0];
    },
    importer: { onnx: "Div", match: importGelu },
  },
} satisfies Record<string, Activation>;

/** An activation's name as the spec writes it, e.g. "relu" or "gelu" (ACTIVATION_NAMES lists every one). */
export type ActivationName = keyof typeof TABLE;
/** Every activation the spec accepts besides "none". */
export const ACTIVATION_NAMES = Object.keys(TABLE) as ActivationName[];

/** Whether the layer before activation `name` gets He-uniform initialization (rectifiers) instead of Glorot. */
export const heInit = (name: string): boolean => !!(TABLE as Record<string, Activation>)[name]?.he;

function scalarConst(c: ImportCtx, name: string): number | null {
  const t = c.initializer(name);
  if (!t || t.data.length !== 1 || !(t.data instanceof Float32Array)) return null;
  return t.data[0];
}

/** Div(x, √2) → Erf → Add(·, 1) → Mul(Mul(x, 0.5), ·). */
function importGelu(c: ImportCtx, i: number): boolean {
  const div = c.nodes[i];
  if (scalarConst(c, div.input[1]) !== Math.fround(Math.SQRT2)) return false;
  const e = c.soleReader(div.output[0]);
  if (e < 0 || c.nodes[e].opType !== "Erf") return false;
  const a = c.soleReader(c.nodes[e].output[0]);
  if (a < 0 || c.nodes[a].opType !== "Add" || scalarConst(c, c.nodes[a].input[1]) !== 1) return false;
  const m = c.soleReader(c.nodes[a].output[0]);
  if (m < 0 || c.nodes[m].opType !== "Mul") return false;
  const halfName = c.nodes[m].input.find((s) => s !== c.nodes[a].output[0]);
  const h = c.nodes.findIndex((n) => n.output[0] === halfName);
  if (h < 0 || c.nodes[h].opType !== "Mul" || c.nodes[h].input[0] !== div.input[0] || scalarConst(c, c.nodes[h].input[1]) !== 0.5) return false;
  const x = c.value(div.input[0]);
  if (!x) return false;
  c.bind(c.nodes[m].output[0], c.graph.add1("gelu", [x], {}, div.name || undefined));
  c.consume(i, e, a, h, m);
  return true;
}

/** Sigmoid(x) → Mul(x, ·). */
function importSilu(c: ImportCtx, i: number): boolean {
  const sig = c.nodes[i];
  const m = c.soleReader(sig.output[0]);
  if (m < 0 || c.nodes[m].opType !== "Mul" || !c.nodes[m].input.includes(sig.input[0])) return false;
  const x = c.value(sig.input[0]);
  if (!x) return false;
  c.bind(c.nodes[m].output[0], c.graph.add1("silu", [x], {}, sig.name || undefined));
  c.consume(i, m);
  return true;
}

function importSingle(op: string): Importer {
  return {
    onnx: (TABLE[op as ActivationName] as Activation).onnxOp!,
    match(c, i) {
      const node = c.nodes[i];
      const x = c.value(node.input[0]);
      if (!x) throw new Error(`${c.where(i)}: input ${JSON.stringify(node.input[0])} is not defined before this node`);
      const alpha = node.attribute.find((a) => a.name === "alpha");
      if (op === "leaky_relu" && alpha && Math.abs(Number(alpha.value) - 0.01) > 1e-9) throw new Error(`${c.where(i)}: LeakyRelu alpha ${alpha.value} is not supported (only 0.01)`);
      c.bind(node.output[0], c.graph.add1(op, [x], {}, node.name || undefined));
      c.consume(i);
      return true;
    },
  };
}

function activationOp(op: ActivationName): OpDef {
  const a: Activation = TABLE[op];
  const saved = (n: Node): Value => (a.saves === "x" ? n.inputs[0] : n.outputs[0]);
  const extra = a.alpha === undefined ? [] : [a.alpha];
  return {
    op,
    infer(inputs) {
      expect(inputs.length === 1 && inputs[0].dtype === "f32", `expected one f32 input`);
      return [{ dtype: "f32", shape: [...inputs[0].shape] }];
    },
    forward(c, n) {
      const f = c.call(`${a.kernel}_fwd_f32x4`);
      const len = c.numel(n.inputs[0]), x = c.ptr(n.inputs[0]), y = c.ptr(n.outputs[0]);
      return extra.length ? () => void f(len, x, y, ...extra) : () => void f(len, x, y);
    },
    backward(c, n) {
      const x = n.inputs[0], y = n.outputs[0];
      const dx = c.grad(x);
      if (!dx) return null;
      const g = c.call(`${a.kernel}_bwd_f32x4`);
      const len = c.numel(x), s = c.ptr(saved(n)), dy = c.grad(y), beta = c.beta(x);
      return extra.length ? () => void g(len, s, dy, dx, beta, ...extra) : () => void g(len, s, dy, dx, beta);
    },
    saves: (n) => [saved(n)],
    onnx(e, n) {
      const y = n.outputs[0];
      e.bind(y, a.onnx(e, e.name(n.inputs[0]), e.outName(y)));
    },
    imports: a.importer ? [a.importer] : a.onnxOp ? [importSingle(op)] : { none: "no ONNX form" },
  };
}

export const activations: OpDef[] = ACTIVATION_NAMES.map(activationOp);
