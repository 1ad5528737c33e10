// The demo's data sets, made ready to train in the worker: the spec, the preprocessing learnt from the training rows,
// the encoded training and validation rows (the curves and the report), and the probe the page runs through the
// exported ONNX model.
//   synthetic:  the MMoE synthetic generator of Ma et al. 2018 (src/data/synthetic.ts), task correlation p, two
//               regression tasks y1, y2 on 100 Gaussian inputs; generated here from the seed and p.
//   wine:       UCI wine quality, red and white in one table: two regression tasks (red, white quality) on the 11
//               physico-chemical inputs; each row carries only its own colour's label (the other is "", missing), so
//               the per-row label masks decide which head a row trains. The page fetches the two CSV files.
//   toy:        the runtime scenario's seeded click (binary) / value (regression) data on 8 inputs.
//   multimnist: see multimnist-data.ts.
import { validateSpec, type ModelSpec } from "../../src/model/spec.ts";
import { fromString } from "../../src/data/source.ts";
import { openCsv } from "../../src/data/csv.ts";
import { Table } from "../../src/data/table.ts";
import { encode, fitPreprocessing, type Encoded, type Preprocessing } from "../../src/data/preprocess.ts";
import { trainValidationSplit } from "../../src/data/split.ts";
import { mmoeSynthetic } from "../../src/data/synthetic.ts";
import { FEATURES, makeData } from "../../test/runtimes/scenario.ts";
import type { Probe, TrainRequest } from "./protocol.ts";

/** A data set ready to train. */
export interface Prepared {
  spec: ModelSpec;
  pre: Preprocessing;
  train: Encoded;
  validation: Encoded;
  probe: Probe;
  /** One line for the page: rows, inputs, what is masked. */
  note: string;
  /** Where the rows came from (the report's environment). */
  data: string;
}

/** The validation fraction of the tabular sets (the probe is the same held-out rows). */
const HOLD_OUT = 0.2;

export function architecture(req: TrainRequest, units: number) {
  const layer = [{ units, activation: "relu" }];
  if (req.architecture === "hps") return { type: "hps", layers: [{ units: units * 2, activation: "relu" }] };
  if (req.architecture === "cgc") return { type: "cgc", shared_experts: 2, task_experts: 2, layers: layer };
  return { type: "mmoe", experts: 6, layers: layer };
}

/**
 * training: the request's epochs, seed and weighting; early stopping on `monitor` with patience = epochs, so every
 * epoch runs and the best one is kept (marked in the curves, exported, reported).
 */
export function training(req: TrainRequest, lr: number, monitor = "loss", batch = 64) {
  return { epochs: req.epochs, batch_size: batch, seed: req.seed, validation: HOLD_OUT, optimizer: { type: "adam", lr }, weighting: { type: req.weighting }, early_stopping: { metric: monitor, patience: req.epochs } };
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
 * Numeric arrays x [n, F] and one label array per task (one column each, NaN = missing) → Preprocessing learnt from
 * the `train` rows, as fitPreprocessing would for a table with these columns (the generated sets skip the string
 * table: 100 float columns of unique values gain nothing from it).
 */
function fitArrays(spec: ModelSpec, x: Float32Array, labels: Float32Array[], train: ArrayLike<number>): Preprocessing {
  const F = spec.inputs.numeric.length;
  return {
    numeric: spec.inputs.numeric.map((column, j) => ({ column, ...meanStd(x, F, j, train) })),
    categorical: [],
    tasks: spec.tasks.map((t, i) => ({ name: t.name, classes: null, groups: null, target: t.type === "regression" ? [meanStd(labels[i], 1, 0, train)] : null })),
  };
}

/** The rows `rows` encoded as encode() would: standardized inputs and targets, label masks. */
function encodeArrays(pre: Preprocessing, x: Float32Array, labels: Float32Array[], rows: ArrayLike<number>): Encoded {
  const F = pre.numeric.length, n = rows.length;
  const numeric = new Float32Array(n * F);
  for (let k = 0; k < n; k++) for (let j = 0; j < F; j++) numeric[k * F + j] = (x[rows[k] * F + j] - pre.numeric[j].mean) / pre.numeric[j].std;
  const tasks = pre.tasks.map((p, i) => {
    const tg = p.target?.[0];
    const lab = new Float32Array(n), mask = new Float32Array(n);
    for (let k = 0; k < n; k++) {
      const v = labels[i][rows[k]];
      lab[k] = tg ? (v - tg.mean) / tg.std : v;
      mask[k] = v === v ? 1 : 0;
    }
    return { labels: lab, mask, group: new Int32Array(0) };
  });
  return { rows: n, numeric, categorical: [], tensor: new Float32Array(0), tasks };
}

function gather(x: Float32Array, F: number, rows: ArrayLike<number>): Float32Array {
  const out = new Float32Array(rows.length * F);
  for (let k = 0; k < rows.length; k++) out.set(x.subarray(rows[k] * F, rows[k] * F + F), k * F);
  return out;
}

function prepareArrays(req: TrainRequest, spec: ModelSpec, x: Float32Array, labels: Float32Array[], note: string, data: string): Prepared {
  const F = spec.inputs.numeric.length, n = x.length / F;
  const split = trainValidationSplit(n, HOLD_OUT, req.seed);
  const pre = fitArrays(spec, x, labels, split.train);
  const v = split.validation;
  return {
    spec,
    pre,
    train: encodeArrays(pre, x, labels, split.train),
    validation: encodeArrays(pre, x, labels, v),
    probe: { input: "numeric", data: gather(x, F, v), width: F, rows: v.length, features: spec.inputs.numeric, shown: [0, 1, 2], labels: labels.map((l) => Float32Array.from(v, (r) => l[r])), what: `${v.length.toLocaleString("en-US")} held-out rows` },
    note,
    data,
  };
}

export function synthetic(req: TrainRequest): Prepared {
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
  const what = `MMoE synthetic (Ma et al. 2018): 10,000 rows × 100 inputs, task correlation p = ${p.toFixed(2)}, seed ${req.seed}`;
  return prepareArrays(req, spec, d.x, [d.y1, d.y2], what, `${what}, generated in the browser`);
}

export function toy(req: TrainRequest): Prepared {
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
  const what = `toy click/value: 5,000 rows × ${FEATURES} inputs, seed ${req.seed}`;
  return prepareArrays(req, spec, raw.x, [raw.click, raw.value], what, `${what}, generated in the browser`);
}

const WINE_FEATURES = ["fixed acidity", "volatile acidity", "citric acid", "residual sugar", "chlorides", "free sulfur dioxide", "total sulfur dioxide", "density", "pH", "sulphates", "alcohol"];

export async function wine(req: TrainRequest): Promise<Prepared> {
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
  const split = trainValidationSplit(table.rowCount, HOLD_OUT, req.seed, { strata: colour, groups: rowKey });
  const pre = fitPreprocessing(spec, table, split.train);
  const train = encode(spec, pre, table, split.train);
  const validation = encode(spec, pre, table, split.validation);
  // The probe: the held-out rows, red and white interleaved so the page's table shows both colours.
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
    `wine quality: ${table.rowCount.toLocaleString("en-US")} rows (${colours[0][1].rowCount.toLocaleString("en-US")} red, ${colours[1][1].rowCount.toLocaleString("en-US")} white) × 11 inputs; ` +
    `training rows with a label: red ${present(train.tasks[0].mask)}, white ${present(train.tasks[1].mask)} of ${train.rows} (the other label is masked)`;
  return {
    spec,
    pre,
    train,
    validation,
    probe: { input: "numeric", data: probe, width: F, rows: order.length, features: WINE_FEATURES, shown: [10, 1, 9], labels, what: `${order.length.toLocaleString("en-US")} held-out rows` },
    note,
    data: "winequality-red.csv + winequality-white.csv (UCI wine quality), fetched from the demo server's /data/wine-quality/",
  };
}
