// Workload W1 (fixed, so numbers compare over time), shared by bench:infer and bench:train:
// 64 float features → Dense(256, relu) → Dense(256, relu) → three heads, each Dense(64, relu) → Dense(out):
// A 10 classes (softmax cross-entropy), B 1 output (MSE), C 1 output (sigmoid BCE); loss = sum; Adam 1e-3; batch 128.
import { validateSpec } from "../src/model/spec.ts";
import type { Preprocessing } from "../src/data/preprocess.ts";
import { mulberry32 } from "../src/data/split.ts";
import { cos, log } from "../src/util/dmath.ts";

export const SEED = 20240601;
export const F = 64, BATCH = 128, CLASSES = 10;

export const spec = validateSpec({
  name: "w1",
  inputs: { tensor: F },
  architecture: { type: "hps", layers: [256, 256] },
  tasks: [
    { name: "A", type: "multiclass", label: "a", classes: Array.from({ length: CLASSES }, (_, i) => String(i)), tower: [64], loss: "xent" },
    { name: "B", type: "regression", label: "b", tower: [64], loss: "mse" },
    { name: "C", type: "binary", label: "c", tower: [64], loss: "bce" },
  ],
  training: { epochs: 1, batch_size: BATCH, seed: SEED, optimizer: { type: "adam", lr: 1e-3 }, weighting: { type: "static" } },
});

/** No preprocessing: the tensor input is used as given, regression targets unscaled. */
export const pre: Preprocessing = { numeric: [], categorical: [], tasks: spec.tasks.map((t) => ({ name: t.name, classes: t.classes, groups: null, target: null })) };

/** A seeded uniform [0, 1) stream and standard normals (Box–Muller), identical in every runtime. */
export function rng(seed: number): { next: () => number; normal: () => number } {
  const u32 = mulberry32(seed);
  const next = () => u32() / 4294967296;
  return { next, normal: () => Math.sqrt(-2 * log(1 - next())) * cos(2 * Math.PI * next()) };
}
