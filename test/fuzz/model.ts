// A small trained-looking mtl-wasm model and its ONNX export, shared by the onnx, metadata and session-run fuzzers:
// numeric and categorical inputs, binary / multiclass / regression / grouped tasks (so every input kind and the
// group feed exist).
import { setup, Rng } from "../helpers.ts";
import { validateSpec, type ModelSpec } from "../../src/model/spec.ts";
import { Model } from "../../src/model/model.ts";
import type { Preprocessing } from "../../src/data/preprocess.ts";
import { exportOnnx } from "../../src/onnx/export.ts";

export const spec: ModelSpec = validateSpec({
  inputs: { numeric: ["a", "b", "c"], categorical: [{ column: "colour", dim: 3 }] },
  architecture: { type: "hps", layers: [{ units: 8, activation: "relu" }, { units: 6, activation: "tanh", layernorm: true }] },
  tasks: [
    { name: "bin", type: "binary", label: "yb" },
    { name: "cls", type: "multiclass", label: "yc", classes: ["p", "q", "r"] },
    { name: "reg", type: "regression", label: "yr" },
    { name: "grp", type: "regression", label: "yg", group_by: "school" },
  ],
});
export const pre: Preprocessing = {
  numeric: spec.inputs.numeric.map((column, i) => ({ column, mean: 0.5 * i, std: 1 + i })),
  categorical: [{ column: "colour", vocab: ["red", "green", "blue"] }],
  tasks: spec.tasks.map((t) => ({ name: t.name, classes: t.classes, groups: t.group_by ? ["s1", "s2"] : null, target: t.type === "regression" ? [{ mean: 3, std: 2 }] : null })),
};

let cached: Promise<Uint8Array> | null = null;
/** The exported ONNX bytes (built once per process). */
export function exportedModel(): Promise<Uint8Array> {
  cached ??= (async () => {
    const { k } = await setup();
    const m = new Model(spec, pre, k);
    try {
      m.initParams(3);
      const rng = new Rng(5);
      const w = m.getWeights();
      for (const v of Object.values(w)) v.forEach((x, i) => (v[i] = x + 0.1 * rng.normal()));
      m.setWeights(w);
      return exportOnnx(m);
    } finally {
      m.dispose();
    }
  })();
  return cached;
}
