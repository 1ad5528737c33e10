// Demo worker: builds the chosen data set, trains the chosen architecture and streams per-step losses and per-epoch
// task weights to the page; at the end it exports ONNX and transfers it with the held-out rows' raw inputs and labels.
//   synthetic: the MMoE synthetic generator of Ma et al. 2018 (src/data/synthetic.ts), task correlation p, two
//              regression tasks y1, y2 on 100 Gaussian inputs; generated here from the seed and p.
//   wine:      UCI wine quality, red and white in one table: two regression tasks (red, white quality) on the 11
//              physico-chemical inputs; each row carries only its own colour's label (the other is "", missing), so
//              the per-row label masks decide which head a row trains. The page fetches the two CSV files and hands
//              their text over; they are read here with our CSV reader and Table.
//   toy:       the runtime scenario's seeded click (binary) / value (regression) data on 8 inputs.
import { loadInlineKernels } from "../../src/entry/inline.ts";
import { validateSpec, type ModelSpec } from "../../src/model/spec.ts";
import { Model } from "../../src/model/model.ts";
import { fit } from "../../src/train/trainer.ts";
import { exportOnnx } from "../../src/onnx/export.ts";
import { fromString } from "../../src/data/source.ts";
import { openCsv } from "../../src/data/csv.ts";
import { Table } from "../../src/data/table.ts";
import { encode, fitPreprocessing, type Encoded, type Preprocessing } from "../../src/data/preprocess.ts";
import { trainValidationSplit } from "../../src/data/split.ts";
import { mmoeSynthetic } from "../../src/data/synthetic.ts";
import { FEATURES, makeData } from "../../test/runtimes/scenario.ts";

export type DatasetName = "synthetic" | "wine" | "toy";
export type ArchitectureName = "mmoe" | "hps" | "cgc";

export interface TrainRequest {
  dataset: DatasetName;
  /** synthetic: the task correlation p ∈ [0, 1]. */
  correlation: number;
  architecture: ArchitectureName;
  epochs: number;
  seed: number;
  weighting: "static" | "uncertainty" | "dwa" | "gls" | "rlw";
  /** wine: the text of winequality-red.csv and winequality-white.csv. */
  wine?: { red: string; white: string };
}

export interface TaskInfo {
  name: string;
  type: "binary" | "regression";
}

/** The "done" message: the ONNX bytes and the held-out rows (raw inputs, labels NaN where missing). */
export interface DoneMessage {
  type: "done";
  onnx: Uint8Array;
  /** Raw (unstandardized) inputs of the held-out rows, [rows, features]: the ONNX model's `numeric` input. */
  probe: Float32Array;
  features: string[];
  /** Indices of the features the page shows in its table. */
  shown: number[];
  labels: Float32Array[];
  tasks: TaskInfo[];
  ms: number;
}

const post = (m: unknown, transfer: Transferable[] = []) => (globalThis as unknown as Worker).postMessage(m, transfer);

/** A data set ready to train: the spec, learnt preprocessing, the encoded training rows and the held-out rows. */
interface Prepared {
  spec: ModelSpec;
  pre: Preprocessing;
  train: Encoded;
  probe: Float32Array;
  labels: Float32Array[];
  features: string[];
  shown: number[];
  note: string;
}

function architecture(req: TrainRequest, units: number) {
  const layer = [{ units, activation: "relu" }];
  if (req.architecture === "hps") return { type: "hps", layers: [{ units: units * 2, activation: "relu" }] };
  if (req.architecture === "cgc") return { type: "cgc", shared_experts: 2, task_experts: 2, layers: layer };
  return { type: "mmoe", experts: 6, layers: layer };
}

function training(req: TrainRequest, lr: number) {
  return { epochs: req.epochs, batch_size: 64, seed: req.seed, optimizer: { type: "adam", lr }, weighting: { type: req.weighting } };
}

const meanStd = (v: Float32Array, stride: number, offset: number, rows: ArrayLike<number>) => {
  let s = 0, n = 0;
  for (let k = 0; k < rows.length; k++) {
    const x = v[rows[k] * stride + offset];
    if (x === x) (s += x), n++;
  }
  const mean = n ? s / n : 0;
  let ss = 0;
  for (let k = 0; k < rows.length; k++) {
    const x = v[rows[k] * stride + offset];
    if (x === x) ss += (x - mean) ** 2;
  }
  const std = n > 1 ? Math.sqrt(ss / n) : 0;
  return { mean, std: std > 1e-12 ? std : 1 };
};

/**
 * Arrays → Preprocessing + Encoded, as fitPreprocessing/encode would do for a table with these columns (the generated
 * sets skip the string table: 100 float columns of unique values gain nothing from it). Labels: NaN = missing.
 */
function fromArrays(spec: ModelSpec, x: Float32Array, labels: Float32Array[], train: Uint32Array): { pre: Preprocessing; enc: Encoded } {
  const F = spec.inputs.numeric.length, n = train.length;
  const pre: Preprocessing = {
    numeric: spec.inputs.numeric.map((column, j) => ({ column, ...meanStd(x, F, j, train) })),
    categorical: [],
    tasks: spec.tasks.map((t, i) => ({ name: t.name, classes: null, groups: null, target: t.type === "regression" ? [meanStd(labels[i], 1, 0, train)] : null })),
  };
  const numeric = new Float32Array(n * F);
  for (let k = 0; k < n; k++) for (let j = 0; j < F; j++) numeric[k * F + j] = (x[train[k] * F + j] - pre.numeric[j].mean) / pre.numeric[j].std;
  const tasks = spec.tasks.map((_, i) => {
    const tg = pre.tasks[i].target?.[0];
    const lab = new Float32Array(n), mask = new Float32Array(n);
    for (let k = 0; k < n; k++) {
      const v = labels[i][train[k]];
      lab[k] = tg ? (v - tg.mean) / tg.std : v;
      mask[k] = v === v ? 1 : 0;
    }
    return { labels: lab, mask, group: new Int32Array(0) };
  });
  return { pre, enc: { rows: n, numeric, categorical: [], tensor: new Float32Array(0), tasks } };
}

function gather(x: Float32Array, F: number, rows: ArrayLike<number>): Float32Array {
  const out = new Float32Array(rows.length * F);
  for (let k = 0; k < rows.length; k++) out.set(x.subarray(rows[k] * F, rows[k] * F + F), k * F);
  return out;
}

function prepareArrays(req: TrainRequest, spec: ModelSpec, x: Float32Array, labels: Float32Array[], note: string): Prepared {
  const F = spec.inputs.numeric.length, n = x.length / F;
  const split = trainValidationSplit(n, 0.2, req.seed);
  const { pre, enc } = fromArrays(spec, x, labels, split.train);
  const v = split.validation;
  return {
    spec,
    pre,
    train: enc,
    probe: gather(x, F, v),
    labels: labels.map((l) => Float32Array.from(v, (r) => l[r])),
    features: spec.inputs.numeric,
    shown: [0, 1, 2],
    note,
  };
}

function synthetic(req: TrainRequest): Prepared {
  const p = req.correlation, d = mmoeSynthetic({ rows: 10000, dim: 100, correlation: p, seed: req.seed });
  const spec = validateSpec({
    name: "demo-synthetic",
    inputs: { numeric: Array.from({ length: d.dim }, (_, j) => `x${j}`) },
    architecture: architecture(req, 16),
    tasks: [
      { name: "y1", type: "regression", label: "y1", tower: [{ units: 8, activation: "relu" }] },
      { name: "y2", type: "regression", label: "y2", tower: [{ units: 8, activation: "relu" }] },
    ],
    training: training(req, 0.005),
  });
  return prepareArrays(req, spec, d.x, [d.y1, d.y2], `MMoE synthetic: 10,000 rows × 100 inputs, task correlation p = ${p.toFixed(2)}`);
}

function toy(req: TrainRequest): Prepared {
  const raw = makeData(5000, req.seed);
  const spec = validateSpec({
    name: "demo-toy",
    inputs: { numeric: Array.from({ length: FEATURES }, (_, j) => `x${j}`) },
    architecture: architecture(req, 32),
    tasks: [
      { name: "click", type: "binary", label: "y_click", tower: [{ units: 16, activation: "tanh" }] },
      { name: "value", type: "regression", label: "y_value", tower: [{ units: 16, activation: "gelu" }] },
    ],
    training: training(req, 0.005),
  });
  return prepareArrays(req, spec, raw.x, [raw.click, raw.value], `toy click/value: 5,000 rows × ${FEATURES} inputs`);
}

const WINE_FEATURES = ["fixed acidity", "volatile acidity", "citric acid", "residual sugar", "chlorides", "free sulfur dioxide", "total sulfur dioxide", "density", "pH", "sulphates", "alcohol"];

async function wine(req: TrainRequest): Promise<Prepared> {
  if (!req.wine) throw new Error("wine: the page did not send the CSV files");
  const read = (name: string, text: string) => Table.from(openCsv(fromString(name, text), { delimiter: ";" }));
  const colours = [["red", await read("winequality-red.csv", req.wine.red)], ["white", await read("winequality-white.csv", req.wine.white)]] as const;
  // One table: the 11 inputs, `colour`, and one label column per task; a row's other-colour label is "" (missing).
  const columns = [...WINE_FEATURES, "colour", "red_quality", "white_quality"];
  const data: string[][] = columns.map(() => []);
  const rowNo: number[] = [], lineNo: number[] = [];
  for (const [colour, t] of colours) {
    for (const c of [...WINE_FEATURES, "quality"]) if (!t.has(c)) throw new Error(`${t.name}: no column ${JSON.stringify(c)} (columns: ${t.columns.join(", ")})`);
    WINE_FEATURES.forEach((c, j) => data[j].push(...t.stringColumn(c)));
    const q = t.stringColumn("quality");
    data[WINE_FEATURES.length].push(...q.map(() => colour));
    data[WINE_FEATURES.length + 1].push(...q.map((v) => (colour === "red" ? v : "")));
    data[WINE_FEATURES.length + 2].push(...q.map((v) => (colour === "white" ? v : "")));
    for (let i = 0; i < t.rowCount; i++) rowNo.push(t.dataRow(i)), lineNo.push(t.line(i));
  }
  const table = Table.fromColumns("winequality-red.csv + winequality-white.csv", columns, data, rowNo, lineNo);
  const spec = validateSpec({
    name: "demo-wine",
    inputs: { numeric: WINE_FEATURES, missing: [""] },
    architecture: architecture(req, 32),
    tasks: [
      { name: "red", type: "regression", label: "red_quality", tower: [{ units: 16, activation: "relu" }] },
      { name: "white", type: "regression", label: "white_quality", tower: [{ units: 16, activation: "relu" }] },
    ],
    training: training(req, 0.003),
  });
  // 20 % held out within each colour; identical rows (the files have duplicates) stay on one side.
  const colour = table.stringColumn("colour");
  const rowKey = Array.from({ length: table.rowCount }, (_, i) => data.map((col) => col[i]).join(";"));
  const split = trainValidationSplit(table.rowCount, 0.2, req.seed, { strata: colour, groups: rowKey });
  const pre = fitPreprocessing(spec, table, split.train);
  const train = encode(spec, pre, table, split.train);
  // Held-out rows for the page, red and white interleaved so its table shows both colours.
  const val = Array.from(split.validation);
  const reds = val.filter((i) => colour[i] === "red"), whites = val.filter((i) => colour[i] === "white");
  const order: number[] = [];
  for (let k = 0; k < Math.max(reds.length, whites.length); k++) {
    if (k < reds.length) order.push(reds[k]);
    if (k < whites.length) order.push(whites[k]);
  }
  const F = WINE_FEATURES.length, probe = new Float32Array(order.length * F);
  WINE_FEATURES.forEach((c, j) => {
    const v = table.numericColumn(c);
    order.forEach((r, k) => (probe[k * F + j] = v[r]));
  });
  const labels = spec.tasks.map((t) => {
    const v = table.numericColumn(t.labels[0], { missing: [""] });
    return Float32Array.from(order, (r) => v[r]);
  });
  const present = (m: Float32Array) => m.reduce((a, b) => a + b, 0);
  const note =
    `wine quality: ${table.rowCount.toLocaleString()} rows (${colours[0][1].rowCount.toLocaleString()} red, ${colours[1][1].rowCount.toLocaleString()} white) × 11 inputs; ` +
    `training rows with a label: red ${present(train.tasks[0].mask)}, white ${present(train.tasks[1].mask)} of ${train.rows} (the other label is masked)`;
  return { spec, pre, train, probe, labels, features: WINE_FEATURES, shown: [10, 1, 9], note };
}

async function run(req: TrainRequest): Promise<void> {
  const t0 = performance.now();
  const kernels = await loadInlineKernels();
  const d = req.dataset === "wine" ? await wine(req) : req.dataset === "toy" ? toy(req) : synthetic(req);
  const model = new Model(d.spec, d.pre, kernels);
  model.initParams(req.seed);
  const tasks: TaskInfo[] = d.spec.tasks.map((t) => ({ name: t.name, type: t.type === "binary" ? "binary" : "regression" }));
  const steps = Math.ceil(d.train.rows / d.spec.training.batch_size) * req.epochs;
  post({ type: "start", tasks, params: model.store.total, steps, note: d.note, trainRows: d.train.rows, probeRows: d.labels[0].length });
  await fit(model, d.train, null, {
    onStep: (step, losses, scales) => post({ type: "step", step, losses: Array.from(losses), scales: Array.from(scales) }),
    onEpoch: (e) => post({ type: "epoch", epoch: e.epoch, loss: e.trainLoss, weights: e.weights, objective: e.objective, seconds: e.seconds }),
    // Yield between epochs so the page's messages flow and the curves animate.
    afterEpoch: () => new Promise((r) => setTimeout(r, 0)),
  });
  const onnx = exportOnnx(model);
  const done: DoneMessage = { type: "done", onnx, probe: d.probe, features: d.features, shown: d.shown, labels: d.labels, tasks, ms: Math.round(performance.now() - t0) };
  post(done, [onnx.buffer, d.probe.buffer, ...d.labels.map((l) => l.buffer)]);
}

(globalThis as unknown as Worker).onmessage = (e: MessageEvent<TrainRequest>) =>
  run(e.data).catch((err) => post({ type: "error", error: String((err as Error)?.stack ?? err) }));
