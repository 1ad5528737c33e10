// The numeric part of the model's input block when inputs.numeric_encodings is set (src/data/numeric-encodings.ts):
// encoded boundary, the input "numeric" [N, V] the trainer feeds (the encoder's columns); raw boundary, the input
// "numeric" [N, F] of raw values (NaN = missing) and a numeric_encode node computing the same [N, V]. Either way the
// periodic columns (the last block of V) go through one periodic node each, with trainable frequencies
// `periodic.<column>.frequencies` [1, k] ~ N(0, sigma²), role shared; the rest of V goes to the trunk as is.
import type { Graph, Value } from "../graph/graph.ts";
import type { ModelSpec } from "./spec.ts";
import type { Preprocessing } from "../data/preprocess.ts";
import { encoderPlan } from "../data/numeric-encodings.ts";

/** The values the numeric inputs add to the trunk's input, in order (input name "numeric" on both boundaries). */
export function numericParts(g: Graph, spec: ModelSpec, pre: Preprocessing, raw: boolean, name: string): Value[] {
  const plan = encoderPlan(pre.numeric), { F, W, V } = plan;
  let enc: Value;
  if (raw) {
    const x = g.input(name, "f32", ["N", F]);
    const k = (n: string, data: Float32Array | Int32Array, shape: number[]) => g.constant(`numeric_${n}`, data, shape);
    enc = g.add1("numeric_encode", [x, k("mean", plan.mean, [F]), k("cols", plan.cols, [W]), k("lo", plan.lo, [W]), k("width", plan.width, [W]), k("cmin", plan.cmin, [W]), k("cmax", plan.cmax, [W]), k("M", plan.M, [W, V])], {}, "numeric.encoded");
  } else enc = g.input(name, "f32", ["N", V]);
  const P = plan.periodic.length;
  if (!P) return [enc];
  const parts: Value[] = [];
  if (V > P) parts.push(g.add1("slice", [enc], { start: 0, size: V - P }, "numeric.values"));
  for (const p of plan.periodic) {
    const e = spec.inputs.numeric_encodings![p.index];
    const sigma = e.encoding === "periodic" ? e.sigma : 1;
    const column = pre.numeric[p.index].column;
    const x = V === 1 ? enc : g.add1("slice", [enc], { start: p.at, size: 1 }, `numeric.${column}`);
    const c = g.param(`periodic.${column}.frequencies`, [1, p.frequencies], { kind: "normal", std: sigma }, "shared");
    parts.push(g.add1("periodic", [x, c], {}, `periodic.${column}`));
  }
  return parts;
}
