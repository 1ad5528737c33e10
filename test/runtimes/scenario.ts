// The one portable runtime scenario: the same code trains and infers in Node, Deno, Chromium (page and Web
// Worker) and workerd. No node:* imports, no file system, no network: the caller hands in the kernels (or a
// loader for fresh instances) and, optionally, an onnxruntime-web namespace it configured for its runtime.
//
// Steps: generate a seeded two-task dataset (8 numeric features; a binary and a regression task), train an
// MMoE with dropout for a fixed number of epochs, check the objective fell, hash the parameter block
// (SHA-256 over the raw f32 bytes: equal hashes mean bit-identical training), export ONNX, run it with the
// mtl engine (and ORT when given) and compare both with the model's own forward pass.
import type { Kernels } from "../../src/runtime/load.ts";
import { validateSpec, type ModelSpec } from "../../src/model/spec.ts";
import { Model } from "../../src/model/model.ts";
import { fit } from "../../src/train/trainer.ts";
import { mulberry32 } from "../../src/data/split.ts";
import type { Encoded, Preprocessing } from "../../src/data/preprocess.ts";
import { exportOnnx } from "../../src/onnx/export.ts";
import { createSession } from "../../src/infer/session.ts";

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

export interface ScenarioResult {
  lossStart: number;
  lossEnd: number;
  weightsSha256: string;
  /** null when no ORT was given. */
  ortVsMtlMaxDiff: number | null;
  mtlVsWasmMaxDiff: number;
  /** Wall time of the whole scenario (workerd's clock only advances on I/O, so it reads ~0 there). */
  ms: number;
  params: number;
  onnxBytes: number;
  onnx: Uint8Array;
}

export const FEATURES = 8;
export const TOLERANCE = 1e-5;

export function scenarioSpec(seed: number, epochs: number): ModelSpec {
  return validateSpec({
    name: "runtimes",
    inputs: { numeric: Array.from({ length: FEATURES }, (_, j) => `x${j}`) },
    architecture: { type: "mmoe", experts: 2, layers: [{ units: 16, activation: "relu", dropout: 0.1 }] },
    tasks: [
      { name: "click", type: "binary", label: "y_click", tower: [{ units: 8, activation: "tanh" }] },
      { name: "value", type: "regression", label: "y_value", tower: [{ units: 8, activation: "gelu" }] },
    ],
    training: { epochs, batch_size: 64, seed, optimizer: { type: "adam", lr: 0.01 } },
  });
}

/** Raw rows from a seeded generator using integer arithmetic and + − × only (no transcendental functions). */
export function makeData(rows: number, seed: number): { x: Float32Array; click: Float32Array; value: Float32Array } {
  const next = mulberry32(seed);
  const u = () => next() / 4294967296;
  const bell = () => u() + u() + u() - 1.5; // Irwin–Hall: mean 0, variance 1/4
  const x = new Float32Array(rows * FEATURES), click = new Float32Array(rows), value = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const f = Array.from({ length: FEATURES }, (_, j) => (j + 1) * bell() + (j % 3) - 1);
    f.forEach((v, j) => (x[r * FEATURES + j] = v));
    const z = f[0] - 0.5 * f[1] + 0.25 * f[2] * f[3] + 0.5 * bell();
    click[r] = z > 0 ? 1 : 0;
    value[r] = 1.5 + 0.3 * f[0] * f[1] - 0.2 * f[4] + 0.1 * f[5] + 0.1 * bell();
  }
  return { x, click, value };
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

/** The preprocessing, learnt by hand from the training rows (what fitPreprocessing would learn from a table). */
export function makePreprocessing(train: ReturnType<typeof makeData>, rows: number): Preprocessing {
  return {
    numeric: Array.from({ length: FEATURES }, (_, j) => ({ column: `x${j}`, ...meanStd(train.x, FEATURES, j, rows) })),
    categorical: [],
    tasks: [
      { name: "click", classes: null, groups: null, target: null },
      { name: "value", classes: null, groups: null, target: [meanStd(train.value, 1, 0, rows)] },
    ],
  };
}

export function encodeData(pre: Preprocessing, d: ReturnType<typeof makeData>, rows: number): Encoded {
  const numeric = new Float32Array(rows * FEATURES);
  for (let r = 0; r < rows; r++) for (let j = 0; j < FEATURES; j++) numeric[r * FEATURES + j] = (d.x[r * FEATURES + j] - pre.numeric[j].mean) / pre.numeric[j].std;
  const t = pre.tasks[1].target![0];
  const value = Float32Array.from(d.value.subarray(0, rows), (v) => (v - t.mean) / t.std);
  const ones = new Float32Array(rows).fill(1);
  return {
    rows,
    numeric,
    categorical: [],
    tensor: new Float32Array(0),
    tasks: [
      { labels: d.click.subarray(0, rows), mask: ones, group: new Int32Array(0) },
      { labels: value, mask: ones, group: new Int32Array(0) },
    ],
  };
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const copy = new Uint8Array(bytes); // digest wants a plain ArrayBuffer-backed view
  const h = new Uint8Array(await crypto.subtle.digest("SHA-256", copy));
  return Array.from(h, (b) => b.toString(16).padStart(2, "0")).join("");
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
  const seed = opts.seed ?? 7, rows = opts.rows ?? 1024, epochs = opts.epochs ?? 4, probeRows = 200;
  const kernels = typeof opts.kernels === "function" ? await opts.kernels() : opts.kernels;

  const spec = scenarioSpec(seed, epochs);
  const raw = makeData(rows + probeRows, seed);
  const pre = makePreprocessing(raw, rows);
  const all = encodeData(pre, raw, rows + probeRows);
  const slice = (e: Encoded, from: number, to: number): Encoded => ({
    rows: to - from,
    numeric: e.numeric.subarray(from * FEATURES, to * FEATURES),
    categorical: [],
    tensor: e.tensor,
    tasks: e.tasks.map((t) => ({ labels: t.labels.subarray(from, to), mask: t.mask.subarray(from, to), group: t.group })),
  });
  const train = slice(all, 0, rows), probe = slice(all, rows, rows + probeRows);

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
  const snap = model.snapshot();
  const weightsSha256 = await sha256Hex(new Uint8Array(snap.buffer, snap.byteOffset, snap.byteLength));

  // Our own forward pass, then the ONNX export run by the mtl engine (fresh kernels when we can get them:
  // the engine's arena would otherwise share the model's memory) and by ORT.
  const wasmOut = model.predict(probe);
  const onnx = exportOnnx(model);
  const feeds = { numeric: { type: "float32" as const, data: raw.x.slice(rows * FEATURES), dims: [probeRows, FEATURES] } };
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
    lossStart,
    lossEnd,
    weightsSha256,
    ortVsMtlMaxDiff,
    mtlVsWasmMaxDiff,
    ms: Math.round(performance.now() - t0),
    params: model.store.total,
    onnxBytes: onnx.length,
    onnx,
  };
}

/** The one result line every driver prints. */
export function formatLine(runtime: string, r: ScenarioResult): string {
  const e = (x: number) => (x === 0 ? "0" : x.toExponential(1));
  return `runtime=${runtime} sha256=${r.weightsSha256} loss=${r.lossStart.toFixed(4)}→${r.lossEnd.toFixed(4)} ort=${r.ortVsMtlMaxDiff === null ? "skipped" : e(r.ortVsMtlMaxDiff)} mtl=${e(r.mtlVsWasmMaxDiff)} ms=${r.ms}`;
}
