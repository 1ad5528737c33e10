// The one portable runtime scenario: the same code trains and infers in Node, Deno, Chromium (page and Web
// Worker) and workerd. No node:* imports, no file system, no network: the caller hands in the kernels (or a
// loader for fresh instances) and, optionally, an onnxruntime-web namespace it configured for its runtime.
//
// Steps: generate a seeded two-task dataset (8 numeric features and 2 categorical columns, one with a value rarer
// than its min_count that lands in the unknown bucket; a binary and a regression task), train an MMoE (embeddings,
// layer norm, dropout, a relation term, uncertainty weighting) for a fixed number of epochs, then the same with a
// gradient-level balancing method (BALANCE), a small conv model on seeded images (CONV) and a small joint intent + slot
// text model on seeded utterances (TEXT, test/runtimes/text-scenario.ts), check each objective fell,
// hash the training data and all four trained models' weights (SHA-256 over the named tensors' f32 bytes: equal weight
// hashes mean bit-identical training), export ONNX, run it with the mtl engine (and ORT when given) and compare both with the
// model's own forward pass.
//
// The weight hash is checked against the one committed in test/runtimes/reference.json (tools/runtimes.mjs): every
// runtime, and every rewrite of the training core, must produce exactly that hash. Any change to this file's
// scenario (spec, data, defaults) changes the hash: regenerate the reference deliberately with
// `node tools/runtimes.mjs node --update-reference` and say why in the commit.
import type { Kernels } from "../../src/runtime/load.ts";
import { validateSpec, type ModelSpec } from "../../src/model/spec.ts";
import { Model } from "../../src/model/model.ts";
import { fit } from "../../src/train/trainer.ts";
import { mulberry32 } from "../../src/data/split.ts";
import type { Encoded, Preprocessing } from "../../src/data/preprocess.ts";
import { exportOnnx } from "../../src/onnx/export.ts";
import { createSession } from "../../src/infer/session.ts";
import { TEXT, textPhase, textSpecInput } from "./text-scenario.ts";

type Ort = typeof import("onnxruntime-web");

export interface ScenarioOptions {
  /** Loaded kernels, or a loader: with a loader the mtl inference engine gets its own instance (own memory). */
  kernels: Kernels | (() => Promise<Kernels>);
  /** onnxruntime-web, configured for this runtime (wasm location, precompiled module); omitted: ORT is skipped. */
  ort?: Ort | null;
  log?: (line: string) => void;
  /** Per-epoch hook (the demo draws curves with it). */
  onEpoch?: (epoch: number, losses: Record<string, number>, weights: Record<string, number>) => void;
  seed?: number;
  rows?: number;
  epochs?: number;
}

/** What the scenario ran: compared with the reference's, so a changed scenario is named as such. */
export interface ScenarioParams {
  seed: number;
  rows: number;
  probeRows: number;
  epochs: number;
  /** The spec as written (before validation: a new default in validateSpec does not change it). */
  spec: Record<string, unknown>;
  /** The balancing run (BALANCE). */
  balance?: typeof BALANCE;
  /** The conv run (CONV, convSpecInput). */
  conv?: typeof CONV;
  /** The text run (TEXT and its spec as written). */
  text?: typeof TEXT & { spec: Record<string, unknown> };
}

export interface ScenarioResult {
  scenario: ScenarioParams;
  /**
   * SHA-256 of `${main}\n${text}\n`: main = SHA-256 of the encoded training rows (numeric f32, categorical i32, labels
   * and masks, in that order), text = SHA-256 of the text phase's (textDataBytes).
   */
  dataSha256: string;
  lossStart: number;
  lossEnd: number;
  /**
   * SHA-256 of the trained weights as named tensors (sorted by name: `name[shape]\n` then the f32 bytes of each), so
   * the parameter block's layout (order, padding) does not enter it, only every tensor's name, shape and values.
   */
  weightsSha256: string;
  /** Per tensor: the first 16 hex digits of SHA-256 over its f32 bytes (to name the tensors that differ). */
  tensorSha256: Record<string, string>;
  /** null when no ORT was given. */
  ortVsMtlMaxDiff: number | null;
  mtlVsWasmMaxDiff: number;
  /** The text model: objective first → last epoch; max |diff| of its export on raw utterances vs model.predict (ort null when skipped). */
  text: { lossStart: number; lossEnd: number; mtlVsWasmMaxDiff: number; ortVsWasmMaxDiff: number | null };
  /** Wall time of the whole scenario (workerd's clock only advances on I/O, so it reads ~0 there). */
  ms: number;
  params: number;
  onnxBytes: number;
  onnx: Uint8Array;
}

export const FEATURES = 8;
export const TOLERANCE = 1e-5;
/** The second training of the scenario: a gradient-level balancing method (its weights enter the weight hash). */
export const BALANCE = { epochs: 2, weighting: { type: "aligned_mtl", rep_grad: true } } as const;

/** The third training of the scenario: a small conv model on seeded images (its weights enter the weight hash). */
export const CONV = { rows: 256, epochs: 3, side: 8 } as const;

export function convSpecInput(seed: number): Record<string, unknown> {
  return {
    name: "runtimes-conv",
    inputs: { image: { channels: 1, height: CONV.side, width: CONV.side } },
    architecture: {
      type: "hps",
      layers: [
        { type: "conv", filters: 4, kernel: 3, padding: "same", activation: "none", batchnorm: true },
        { type: "activation", activation: "relu" },
        { type: "pool", mode: "max", size: 2 },
        { type: "conv", filters: 6, kernel: 3, activation: "relu" },
        { type: "pool", mode: "global_avg" },
        { type: "flatten" },
      ],
    },
    tasks: [
      { name: "bright", type: "binary", label: "bright", tower: [4] },
      { name: "corner", type: "regression", label: "corner" },
    ],
    training: { epochs: CONV.epochs, batch_size: 32, seed, optimizer: { type: "adam", lr: 0.01 } },
  };
}

/** Train the conv model on seeded images (integer generator only): bright = the left half outweighs the right; corner = the top-left 3×3 mean. */
async function convPhase(kernels: Kernels, seed: number) {
  const spec = validateSpec(convSpecInput(seed));
  const n = CONV.rows, P = CONV.side * CONV.side;
  const next = mulberry32(seed ^ 0xc0ffee);
  const x = new Float32Array(n * P), bright = new Float32Array(n), corner = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    let left = 0, right = 0, c = 0;
    for (let i = 0; i < P; i++) {
      const v = (next() >>> 24) / 255;
      x[r * P + i] = v;
      const row = Math.floor(i / CONV.side), col = i % CONV.side;
      if (col < CONV.side / 2) left += v;
      else right += v;
      if (row < 3 && col < 3) c += v;
    }
    bright[r] = left > right ? 1 : 0;
    corner[r] = c / 9;
  }
  const ones = new Float32Array(n).fill(1), none = new Int32Array(0);
  const data: Encoded = { rows: n, numeric: new Float32Array(0), categorical: [], tensor: x, tasks: [{ labels: bright, mask: ones, group: none }, { labels: corner, mask: ones, group: none }] };
  const pre: Preprocessing = { numeric: [], categorical: [], tasks: spec.tasks.map((t) => ({ name: t.name, classes: t.classes, groups: null, target: null })) };
  const model = new Model(spec, pre, kernels);
  model.initParams(seed);
  const { history } = await fit(model, data, null);
  const lossStart = history[0].objective, lossEnd = history[history.length - 1].objective;
  if (!(lossEnd < lossStart)) throw new Error(`the conv model's objective did not fall: ${lossStart} → ${lossEnd}`);
  const hashes = await weightHashes(model);
  model.dispose();
  return { lossStart, lossEnd, hashes };
}

/** The scenario's defaults: the committed reference hash is for exactly these. */
export const DEFAULTS = { seed: 7, rows: 1024, probeRows: 200, epochs: 4 } as const;

/**
 * The categorical columns. Values are drawn with integer weights (out of their sum); `effect` moves the labels.
 * shop's "s6" (weight 1 in 100, ~10 of 1024 training rows) stays below min_count 16: the unknown bucket (index 0).
 */
export const CATEGORICAL = [
  { column: "shop", dim: 4, min_count: 16, values: ["s0", "s1", "s2", "s3", "s4", "s5", "s6"], weights: [30, 22, 16, 12, 10, 9, 1], effect: [0.75, -0.5, 0.25, -1, 0, 0.5, 1.5] },
  { column: "day", dim: 3, min_count: 1, values: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], weights: [1, 1, 1, 1, 1, 1, 1], effect: [0, 0.25, 0, -0.25, 0.5, 1, 0.75] },
] as const;

/** The spec as written (what the reference records); scenarioSpec validates it. */
export function scenarioSpecInput(seed: number, epochs: number): Record<string, unknown> {
  return {
    name: "runtimes",
    inputs: {
      numeric: Array.from({ length: FEATURES }, (_, j) => `x${j}`),
      categorical: CATEGORICAL.map((c) => ({ column: c.column, dim: c.dim, min_count: c.min_count })),
    },
    architecture: { type: "mmoe", experts: 2, layers: [{ units: 16, activation: "relu", dropout: 0.1, layernorm: true }] },
    tasks: [
      { name: "click", type: "binary", label: "y_click", tower: [{ units: 8, activation: "tanh", layernorm: true }] },
      { name: "value", type: "regression", label: "y_value", tower: [{ units: 8, activation: "gelu" }] },
    ],
    training: {
      epochs,
      batch_size: 64,
      seed,
      optimizer: { type: "adam", lr: 0.01 },
      relations: [{ tasks: ["click", "value"], lambda: 0.05 }],
      weighting: { type: "uncertainty" },
    },
  };
}

export function scenarioSpec(seed: number, epochs: number): ModelSpec {
  return validateSpec(scenarioSpecInput(seed, epochs));
}

export interface RawData {
  x: Float32Array;
  click: Float32Array;
  value: Float32Array;
  /** One string column per CATEGORICAL entry (empty without `categorical`). */
  categorical: string[][];
}

/**
 * Raw rows from a seeded generator using integer arithmetic and + − × only (no transcendental functions).
 * With `categorical`, the CATEGORICAL columns come from a second stream (so x is the same either way) and add
 * their effects to both labels; without it (the demo, the parallel scenario) the rows are the numeric-only ones.
 */
export function makeData(rows: number, seed: number, opts: { categorical?: boolean } = {}): RawData {
  const next = mulberry32(seed);
  const u = () => next() / 4294967296;
  const bell = () => u() + u() + u() - 1.5; // Irwin–Hall: mean 0, variance 1/4
  const cats = opts.categorical ? CATEGORICAL : [];
  const nextCat = mulberry32(seed ^ 0xca7e9);
  const pick = (c: (typeof CATEGORICAL)[number]) => {
    let k = nextCat() % c.weights.reduce((a, b) => a + b, 0), i = 0;
    while (k >= c.weights[i]) k -= c.weights[i++];
    return i;
  };
  const x = new Float32Array(rows * FEATURES), click = new Float32Array(rows), value = new Float32Array(rows);
  const categorical = cats.map(() => new Array<string>(rows));
  for (let r = 0; r < rows; r++) {
    const f = Array.from({ length: FEATURES }, (_, j) => (j + 1) * bell() + (j % 3) - 1);
    f.forEach((v, j) => (x[r * FEATURES + j] = v));
    let zc = 0, vc = 0;
    cats.forEach((c, j) => {
      const i = pick(c);
      categorical[j][r] = c.values[i];
      zc += c.effect[i];
      vc += j === 0 ? 0.5 * c.effect[i] : -0.25 * c.effect[i];
    });
    const z = f[0] - 0.5 * f[1] + 0.25 * f[2] * f[3] + 0.5 * bell() + zc;
    click[r] = z > 0 ? 1 : 0;
    value[r] = 1.5 + 0.3 * f[0] * f[1] - 0.2 * f[4] + 0.1 * f[5] + 0.1 * bell() + vc;
  }
  return { x, click, value, categorical };
}

function meanStd(v: ArrayLike<number>, stride: number, offset: number, n: number): { mean: number; std: number } {
  let s = 0;
  for (let i = 0; i < n; i++) s += v[i * stride + offset];
  const mean = s / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (v[i * stride + offset] - mean) ** 2;
  const std = Math.sqrt(ss / n);
  return { mean, std: std > 1e-12 ? std : 1 };
}

/**
 * The vocabulary fitPreprocessing learns from the first `rows` rows: the values seen at least min_count times,
 * sorted (vocab[k] gets index k + 1; everything else is the unknown bucket 0).
 */
function vocabulary(cells: string[], rows: number, minCount: number): string[] {
  const counts = new Map<string, number>();
  for (let r = 0; r < rows; r++) counts.set(cells[r], (counts.get(cells[r]) ?? 0) + 1);
  return [...counts].filter(([, n]) => n >= minCount).map(([v]) => v).sort(); // non-numeric values: sortValues' order
}

/** The preprocessing, learnt by hand from the training rows (what fitPreprocessing would learn from a table). */
export function makePreprocessing(train: RawData, rows: number): Preprocessing {
  return {
    numeric: Array.from({ length: FEATURES }, (_, j) => ({ column: `x${j}`, ...meanStd(train.x, FEATURES, j, rows) })),
    categorical: train.categorical.map((cells, j) => ({ column: CATEGORICAL[j].column, vocab: vocabulary(cells, rows, CATEGORICAL[j].min_count) })),
    tasks: [
      { name: "click", classes: null, groups: null, target: null },
      { name: "value", classes: null, groups: null, target: [meanStd(train.value, 1, 0, rows)] },
    ],
  };
}

export function encodeData(pre: Preprocessing, d: RawData, rows: number): Encoded {
  const numeric = new Float32Array(rows * FEATURES);
  for (let r = 0; r < rows; r++) for (let j = 0; j < FEATURES; j++) numeric[r * FEATURES + j] = (d.x[r * FEATURES + j] - pre.numeric[j].mean) / pre.numeric[j].std;
  const t = pre.tasks[1].target![0];
  const value = Float32Array.from(d.value.subarray(0, rows), (v) => (v - t.mean) / t.std);
  const ones = new Float32Array(rows).fill(1);
  const categorical = pre.categorical.map((c, j) => {
    const index = new Map(c.vocab.map((v, k) => [v, k + 1]));
    return Int32Array.from({ length: rows }, (_, r) => index.get(d.categorical[j][r]) ?? 0);
  });
  return {
    rows,
    numeric,
    categorical,
    tensor: new Float32Array(0),
    tasks: [
      { labels: d.click.subarray(0, rows), mask: ones, group: new Int32Array(0) },
      { labels: value, mask: ones, group: new Int32Array(0) },
    ],
  };
}

/** SHA-256 of an encoded data set's bytes: numeric, categorical columns, then each task's labels and mask. */
export async function dataSha256(d: Encoded): Promise<string> {
  const parts: ArrayBufferView[] = [d.numeric, ...d.categorical, ...d.tasks.flatMap((t) => [t.labels, t.mask])];
  const all = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) all.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), at), (at += p.byteLength);
  return sha256Hex(all);
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const copy = new Uint8Array(bytes); // digest wants a plain ArrayBuffer-backed view
  const h = new Uint8Array(await crypto.subtle.digest("SHA-256", copy));
  return Array.from(h, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The weight hashes of `model` (see ScenarioResult.weightsSha256). */
export async function weightHashes(model: Model): Promise<{ weightsSha256: string; tensorSha256: Record<string, string> }> {
  const snap = model.snapshot();
  const params = [...model.store.params].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const utf8 = new TextEncoder();
  const parts: Uint8Array[] = [];
  const tensorSha256: Record<string, string> = {};
  for (const p of params) {
    const bytes = new Uint8Array(snap.buffer, snap.byteOffset + 4 * p.offset, 4 * p.size);
    parts.push(utf8.encode(`${p.name}[${p.shape.join(",")}]\n`), bytes);
    tensorSha256[p.name] = (await sha256Hex(bytes)).slice(0, 16);
  }
  const all = new Uint8Array(parts.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const b of parts) all.set(b, at), (at += b.length);
  return { weightsSha256: await sha256Hex(all), tensorSha256 };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>, what: string): number {
  if (a.length !== b.length) throw new Error(`${what}: ${a.length} values vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = d; // NaN propagates
  }
  return m;
}

export async function runScenario(opts: ScenarioOptions): Promise<ScenarioResult> {
  const t0 = performance.now();
  const log = opts.log ?? (() => {});
  const seed = opts.seed ?? DEFAULTS.seed, rows = opts.rows ?? DEFAULTS.rows, epochs = opts.epochs ?? DEFAULTS.epochs, probeRows = DEFAULTS.probeRows;
  const kernels = typeof opts.kernels === "function" ? await opts.kernels() : opts.kernels;
  const scenario: ScenarioParams = { seed, rows, probeRows, epochs, spec: scenarioSpecInput(seed, epochs), balance: BALANCE, conv: CONV, text: { ...TEXT, spec: textSpecInput(seed) } };

  const spec = scenarioSpec(seed, epochs);
  const raw = makeData(rows + probeRows, seed, { categorical: true });
  const pre = makePreprocessing(raw, rows);
  const all = encodeData(pre, raw, rows + probeRows);
  const slice = (e: Encoded, from: number, to: number): Encoded => ({
    rows: to - from,
    numeric: e.numeric.subarray(from * FEATURES, to * FEATURES),
    categorical: e.categorical.map((c) => c.subarray(from, to)),
    tensor: e.tensor,
    tasks: e.tasks.map((t) => ({ labels: t.labels.subarray(from, to), mask: t.mask.subarray(from, to), group: t.group })),
  });
  const train = slice(all, 0, rows), probe = slice(all, rows, rows + probeRows);
  const unknown = train.categorical.map((c) => c.reduce((n, i) => n + (i === 0 ? 1 : 0), 0));
  log(`categorical: ${pre.categorical.map((c, j) => `${c.column} vocab ${c.vocab.join(",")} (${unknown[j]} training rows unknown)`).join("; ")}`);
  const mainData = await dataSha256(train);

  const model = new Model(spec, pre, kernels);
  model.initParams(seed);
  const { history } = await fit(model, train, null, {
    onEpoch: (e) => {
      log(`epoch ${e.epoch}: objective ${e.objective.toFixed(5)} ${Object.entries(e.trainLoss).map(([k, v]) => `${k}=${v.toFixed(5)}`).join(" ")}`);
      opts.onEpoch?.(e.epoch, e.trainLoss, e.weights);
    },
  });
  const lossStart = history[0].objective, lossEnd = history[history.length - 1].objective;
  if (!(lossEnd < lossStart)) throw new Error(`the training objective did not fall: ${lossStart} → ${lossEnd}`);
  const main = await weightHashes(model);

  // Gradient-level balancing in every runtime: the same data trained with Aligned-MTL on representation gradients
  // (per-task backwards to the representations, a Jacobi eigen-decomposition in wasm, one trunk backward), hashed
  // into the same weight hash.
  const balanced = new Model(validateSpec({ ...scenarioSpecInput(seed, BALANCE.epochs), training: { ...(scenarioSpecInput(seed, BALANCE.epochs).training as object), weighting: BALANCE.weighting } }), pre, kernels);
  balanced.initParams(seed);
  const bh = await fit(balanced, train, null);
  const bStart = bh.history[0].objective, bEnd = bh.history[bh.history.length - 1].objective;
  if (!(bEnd < bStart)) throw new Error(`the balanced (${BALANCE.weighting.type}) objective did not fall: ${bStart} → ${bEnd}`);
  log(`balanced (${BALANCE.weighting.type}, rep_grad): objective ${bStart.toFixed(5)} → ${bEnd.toFixed(5)}`);
  const second = await weightHashes(balanced);
  balanced.dispose();

  // A small convolutional model (issue 13): conv + batch norm + relu + max pool + conv + global average pool, two
  // tasks, on seeded 1×8×8 images; also hashed into the weight hash.
  const conv = await convPhase(kernels, seed);
  log(`conv: objective ${conv.lossStart.toFixed(5)} → ${conv.lossEnd.toFixed(5)}`);
  const third = conv.hashes;

  // A small joint text model (issue 16): tokens → embedding → conv1d → bigru, an intent and a tagging head, trained
  // on seeded utterances; its export runs on the mtl engine (and ORT) from raw strings. Also hashed.
  const freshKernels = async () => (typeof opts.kernels === "function" ? await opts.kernels() : kernels);
  const text = await textPhase(kernels, freshKernels, seed, opts.ort, TOLERANCE);
  log(`text: objective ${text.lossStart.toFixed(5)} → ${text.lossEnd.toFixed(5)}; export vs predict: mtl ${text.mtlVsWasm}, ort ${text.ortVsWasm ?? "skipped"}`);
  const fourth = await weightHashes(text.model);
  text.model.dispose();
  const data = await sha256Hex(new TextEncoder().encode(`${mainData}\n${await sha256Hex(text.data)}\n`));
  const weightsSha256 = await sha256Hex(new TextEncoder().encode(`${main.weightsSha256}\n${second.weightsSha256}\n${third.weightsSha256}\n${fourth.weightsSha256}\n`));
  const tensorSha256 = {
    ...main.tensorSha256,
    ...Object.fromEntries(Object.entries(second.tensorSha256).map(([k, v]) => [`balance/${k}`, v])),
    ...Object.fromEntries(Object.entries(third.tensorSha256).map(([k, v]) => [`conv/${k}`, v])),
    ...Object.fromEntries(Object.entries(fourth.tensorSha256).map(([k, v]) => [`text/${k}`, v])),
  };

  // Our own forward pass, then the ONNX export run by the mtl engine (fresh kernels when we can get them:
  // the engine's arena would otherwise share the model's memory) and by ORT.
  const wasmOut = model.predict(probe);
  const onnx = exportOnnx(model);
  const C = probe.categorical.length, cat = new BigInt64Array(probeRows * C);
  for (let r = 0; r < probeRows; r++) for (let j = 0; j < C; j++) cat[r * C + j] = BigInt(probe.categorical[j][r]);
  const feeds = {
    numeric: { type: "float32" as const, data: raw.x.slice(rows * FEATURES), dims: [probeRows, FEATURES] },
    categorical: { type: "int64" as const, data: cat, dims: [probeRows, C] },
  };
  const mtlKernels = typeof opts.kernels === "function" ? await opts.kernels() : kernels;
  const mtl = await (await createSession(onnx, { engine: "mtl", kernels: mtlKernels })).run(feeds);
  let mtlVsWasmMaxDiff = 0;
  spec.tasks.forEach((t, i) => (mtlVsWasmMaxDiff = Math.max(mtlVsWasmMaxDiff, maxAbsDiff(mtl[t.name], wasmOut[i], `${t.name}: mtl vs model.predict`))));
  if (!(mtlVsWasmMaxDiff <= TOLERANCE)) throw new Error(`mtl engine vs model.predict: max |diff| ${mtlVsWasmMaxDiff} > ${TOLERANCE}`);

  let ortVsMtlMaxDiff: number | null = null;
  if (opts.ort) {
    const out = await (await createSession(onnx, { engine: "ort", ort: opts.ort })).run(feeds);
    ortVsMtlMaxDiff = 0;
    let ortVsWasm = 0;
    spec.tasks.forEach((t, i) => {
      ortVsMtlMaxDiff = Math.max(ortVsMtlMaxDiff!, maxAbsDiff(out[t.name], mtl[t.name], `${t.name}: ort vs mtl`));
      ortVsWasm = Math.max(ortVsWasm, maxAbsDiff(out[t.name], wasmOut[i], `${t.name}: ort vs model.predict`));
    });
    if (!(ortVsMtlMaxDiff <= TOLERANCE)) throw new Error(`ort vs mtl engine: max |diff| ${ortVsMtlMaxDiff} > ${TOLERANCE}`);
    if (!(ortVsWasm <= TOLERANCE)) throw new Error(`ort vs model.predict: max |diff| ${ortVsWasm} > ${TOLERANCE}`);
  }
  return {
    scenario,
    dataSha256: data,
    lossStart,
    lossEnd,
    weightsSha256,
    tensorSha256,
    ortVsMtlMaxDiff,
    mtlVsWasmMaxDiff,
    text: { lossStart: text.lossStart, lossEnd: text.lossEnd, mtlVsWasmMaxDiff: text.mtlVsWasm, ortVsWasmMaxDiff: text.ortVsWasm },
    ms: Math.round(performance.now() - t0),
    params: model.store.total,
    onnxBytes: onnx.length,
    onnx,
  };
}

/** The one result line every driver prints. */
export function formatLine(runtime: string, r: ScenarioResult): string {
  const e = (x: number) => (x === 0 ? "0" : x.toExponential(1));
  return `runtime=${runtime} sha256=${r.weightsSha256} loss=${r.lossStart.toFixed(4)}→${r.lossEnd.toFixed(4)} ort=${r.ortVsMtlMaxDiff === null ? "skipped" : e(r.ortVsMtlMaxDiff)} mtl=${e(r.mtlVsWasmMaxDiff)} text=${r.text.lossStart.toFixed(4)}→${r.text.lossEnd.toFixed(4)},ort:${r.text.ortVsWasmMaxDiff === null ? "skipped" : e(r.text.ortVsWasmMaxDiff)},mtl:${e(r.text.mtlVsWasmMaxDiff)} ms=${r.ms}`;
}
