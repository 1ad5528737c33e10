// The two-task fixture the threading tests share: an MMoE over 4 numeric columns with a binary and a regression
// task, a relation and uncertainty weighting, and seeded rows whose labels are missing unevenly (so shards differ).
import { Rng } from "../helpers.ts";
import { validateSpec, type ModelSpec } from "../../src/model/spec.ts";
import type { Encoded, Preprocessing } from "../../src/data/preprocess.ts";

export function twoTaskSpec(epochs: number): ModelSpec {
  return validateSpec({
    inputs: { numeric: ["a", "b", "c", "d"] },
    architecture: { type: "mmoe", experts: 2, layers: [12] },
    tasks: [
      { name: "bin", type: "binary", label: "y1", tower: [6] },
      { name: "reg", type: "regression", label: "y2" },
    ],
    training: { epochs, batch_size: 50, optimizer: { type: "adam", lr: 0.01 }, relations: [{ tasks: ["bin", "reg"], lambda: 0.1 }], weighting: { type: "uncertainty" } },
  });
}

export function twoTaskPre(spec: ModelSpec): Preprocessing {
  return { numeric: spec.inputs.numeric.map((column) => ({ column, mean: 0, std: 1 })), categorical: [], tasks: spec.tasks.map((t) => ({ name: t.name, classes: null, groups: null, target: null })) };
}

export function twoTaskData(n: number): Encoded {
  const rng = new Rng(4);
  const x = rng.f32(n * 4, () => rng.normal());
  const y1 = new Float32Array(n), y2 = new Float32Array(n), m1 = new Float32Array(n), m2 = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    y1[i] = x[i * 4] + x[i * 4 + 1] > 0 ? 1 : 0;
    y2[i] = x[i * 4 + 2] - 0.5 * x[i * 4 + 3];
    m1[i] = rng.next() < 0.8 ? 1 : 0; // missing labels, unevenly spread over shards
    m2[i] = rng.next() < 0.6 ? 1 : 0;
  }
  return { rows: n, numeric: x, categorical: [], tensor: new Float32Array(0), tasks: [{ labels: y1, mask: m1, group: new Int32Array(0) }, { labels: y2, mask: m2, group: new Int32Array(0) }] };
}
