// Workload W2 (issue 13; fixed, so numbers compare over time), for bench:train -- --w2:
// 1×28×28 images → Conv(32, 3×3, relu) → MaxPool 2 → Conv(64, 3×3, relu) → MaxPool 2 → Flatten (64·5·5 = 1,600)
// → Dense(128, relu) → two heads Dense(10), softmax cross-entropy each; loss = sum; Adam 1e-3; batch 64.
// Data: random pixels in [0, 1) and random labels for both heads, from a fixed seed (the bench measures speed;
// the labels carry no signal, the loss only checks that every engine runs the same arithmetic).
import { validateSpec } from "../src/model/spec.ts";
import type { Encoded, Preprocessing } from "../src/data/preprocess.ts";
import { rng } from "./w1.ts";

export const W2_SEED = 20240613;
export const W2_BATCH = 64, W2_CLASSES = 10, W2_H = 28, W2_W = 28;
/** Rows of W2 training data: one bench repeat is one epoch of W2_ROWS / W2_BATCH steps. */
export const W2_ROWS = 1024;

const classes = Array.from({ length: W2_CLASSES }, (_, i) => String(i));
export const w2Spec = validateSpec({
  name: "w2",
  inputs: { image: { channels: 1, height: W2_H, width: W2_W } },
  architecture: {
    type: "hps",
    layers: [
      { type: "conv", filters: 32, kernel: 3, activation: "relu" },
      { type: "pool", mode: "max", size: 2 },
      { type: "conv", filters: 64, kernel: 3, activation: "relu" },
      { type: "pool", mode: "max", size: 2 },
      { type: "flatten" },
      { units: 128, activation: "relu" },
    ],
  },
  tasks: [
    { name: "left", type: "multiclass", label: "left", classes, tower: [], loss: "xent" },
    { name: "right", type: "multiclass", label: "right", classes, tower: [], loss: "xent" },
  ],
  training: { epochs: 1, batch_size: W2_BATCH, seed: W2_SEED, optimizer: { type: "adam", lr: 1e-3 }, weighting: { type: "static" } },
});

/** No preprocessing: pixels are used as given. */
export const w2Pre: Preprocessing = { numeric: [], categorical: [], tasks: w2Spec.tasks.map((t) => ({ name: t.name, classes: t.classes, groups: null, target: null })) };

/** The W2 rows: pixels uniform in [0, 1) (NCHW, C = 1), labels uniform over the 10 classes, per head. */
export function w2Data(ROWS = W2_ROWS): Encoded {
  const r = rng(W2_SEED);
  const px = W2_H * W2_W;
  const x = new Float32Array(ROWS * px), a = new Int32Array(ROWS), b = new Int32Array(ROWS);
  for (let i = 0; i < x.length; i++) x[i] = r.next();
  for (let i = 0; i < ROWS; i++) (a[i] = Math.floor(r.next() * W2_CLASSES)), (b[i] = Math.floor(r.next() * W2_CLASSES));
  const ones = new Float32Array(ROWS).fill(1), none = new Int32Array(0);
  return {
    rows: ROWS,
    numeric: new Float32Array(0),
    categorical: [],
    tensor: x,
    tasks: [
      { labels: a, mask: ones, group: none },
      { labels: b, mask: ones, group: none },
    ],
  };
}
