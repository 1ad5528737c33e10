// Float64 forward references for the architecture tests, from the weights by NAME (the naming scheme is the
// contract): dense MLP stacks, softmax gates, and the encoded-boundary plumbing shared by test/arch/*.
import { validateSpec, type ModelSpec } from "../../src/model/spec.ts";
import type { Encoded, Preprocessing } from "../../src/data/preprocess.ts";
import { Rng } from "../helpers.ts";

export type Rows = number[][];
export type Weights = Record<string, Float32Array>;

const ACT: Record<string, (x: number) => number> = { relu: (x) => Math.max(0, x), tanh: Math.tanh, none: (x) => x };

/** rows·W + b for W [in, out] row-major. */
export function dense64(x: Rows, w: Weights, name: string): Rows {
  const W = w[`${name}.weight`], b = w[`${name}.bias`];
  if (!W || !b) throw new Error(`no parameter ${name}.weight / .bias`);
  const out = b.length, inp = W.length / out;
  return x.map((r) => {
    if (r.length !== inp) throw new Error(`${name}: input width ${r.length}, weight [${inp}, ${out}]`);
    return Array.from({ length: out }, (_, o) => r.reduce((s, v, i) => s + v * W[i * out + o], b[o]));
  });
}

/** A stack of dense layers `<name>.<i>` with the given activations. */
export function mlp64(x: Rows, w: Weights, name: string, acts: readonly string[]): Rows {
  return acts.reduce((h, a, i) => dense64(h, w, `${name}.${i}`).map((r) => r.map(ACT[a])), x);
}

export function softmax64(x: Rows): Rows {
  return x.map((r) => {
    const m = Math.max(...r), e = r.map((v) => Math.exp(v - m)), s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / s);
  });
}

/** Row-wise Σ_k g[k]·experts[k]. */
export function mix64(experts: Rows[], g: Rows): Rows {
  return g.map((gr, i) => experts[0][i].map((_, c) => experts.reduce((s, e, k) => s + gr[k] * e[i][c], 0)));
}

/** A spec with `numeric` numeric inputs and regression tasks without towers (output = head(representation)). */
export function regressionSpec(architecture: unknown, tasks: string[], numeric = 5, extra: Record<string, unknown> = {}): ModelSpec {
  return validateSpec({
    inputs: { numeric: Array.from({ length: numeric }, (_, i) => `x${i}`) },
    architecture,
    tasks: tasks.map((name) => ({ name, type: "regression", label: `y_${name}` })),
    ...extra,
  });
}

export const identityPre = (spec: ModelSpec): Preprocessing => ({
  numeric: spec.inputs.numeric.map((column) => ({ column, mean: 0, std: 1 })),
  categorical: [],
  tasks: spec.tasks.map((t) => ({ name: t.name, classes: t.classes, groups: null, target: null })),
});

/** Encoded rows of the numeric inputs (labels unused: prediction only). */
export function numericRows(spec: ModelSpec, x: Rows): Encoded {
  return {
    rows: x.length,
    numeric: Float32Array.from(x.flat()),
    categorical: [],
    tensor: new Float32Array(0),
    tasks: spec.tasks.map(() => ({ labels: new Float32Array(0), mask: new Float32Array(0), group: new Int32Array(0) })),
  };
}

/** Every weight moved by 0.3·N(0, 1), so biases are non-zero and gates far from uniform. */
export function perturb(w: Weights, seed: number): Weights {
  const r = new Rng(seed);
  for (const v of Object.values(w)) v.forEach((z, i) => (v[i] = z + 0.3 * r.normal()));
  return w;
}

export const randomRows = (n: number, width: number, seed: number): Rows => {
  const r = new Rng(seed);
  return Array.from({ length: n }, () => Array.from({ length: width }, () => Math.fround(r.normal())));
};

/** max |a − b| over a model output (flat [N, 1]) and a reference column. */
export function maxDiff(a: Float32Array, b: Rows): number {
  return b.reduce((m, r, i) => Math.max(m, Math.abs(a[i] - r[0])), 0);
}
