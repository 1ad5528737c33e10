// Workload W1 (fixed, so numbers compare over time), shared by bench:infer and bench:train:
// 64 float features → Dense(256, relu) → Dense(256, relu) → three heads, each Dense(64, relu) → Dense(out):
// A 10 classes (softmax cross-entropy), B 1 output (MSE), C 1 output (sigmoid BCE); loss = sum; Adam 1e-3; batch 128.
import { validateSpec } from "../src/model/spec.ts";
import type { Encoded, Preprocessing } from "../src/data/preprocess.ts";
import { mulberry32 } from "../src/data/split.ts";
import { cos, log, tanh } from "../src/util/dmath.ts";

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

/** Rows of W1 training data (bench:train, bench:engines): 8,192 by default. Portable (no node:* imports). */
export const W1_ROWS = 8192;

/** The W1 rows: x ~ N(0, 1); a fixed teacher h = tanh(x·T / 8) [32]; A = argmax(h·U), B = h·v + 0.1·noise, C = [h·w > 0]. */
export function w1Data(ROWS = W1_ROWS): Encoded {
  const r = rng(SEED);
  const H = 32;
  const T = Float64Array.from({ length: F * H }, () => r.normal()), U = Float64Array.from({ length: H * CLASSES }, () => r.normal());
  const v = Float64Array.from({ length: H }, () => r.normal() / Math.sqrt(H)), w = Float64Array.from({ length: H }, () => r.normal());
  const x = new Float32Array(ROWS * F), a = new Int32Array(ROWS), b = new Float32Array(ROWS), c = new Float32Array(ROWS);
  const h = new Float64Array(H);
  for (let i = 0; i < ROWS; i++) {
    for (let j = 0; j < F; j++) x[i * F + j] = r.normal();
    for (let q = 0; q < H; q++) {
      let s = 0;
      for (let j = 0; j < F; j++) s += x[i * F + j] * T[j * H + q];
      h[q] = tanh(s / 8);
    }
    let best = 0, bestV = -Infinity, sb = 0, sc = 0;
    for (let k = 0; k < CLASSES; k++) {
      let s = 0;
      for (let q = 0; q < H; q++) s += h[q] * U[q * CLASSES + k];
      if (s > bestV) (bestV = s), (best = k);
    }
    for (let q = 0; q < H; q++) (sb += h[q] * v[q]), (sc += h[q] * w[q]);
    a[i] = best;
    b[i] = sb + 0.1 * r.normal();
    c[i] = sc > 0 ? 1 : 0;
  }
  const ones = new Float32Array(ROWS).fill(1), none = new Int32Array(0);
  return {
    rows: ROWS,
    numeric: new Float32Array(0),
    categorical: [],
    tensor: x,
    tasks: [
      { labels: a, mask: ones, group: none },
      { labels: b, mask: ones, group: none },
      { labels: c, mask: ones, group: none },
    ],
  };
}
