// The mtl command end to end on generated CSV files: train → evaluate → predict agree with each other,
// resume-after-interrupt reproduces an uninterrupted run bit for bit, and bad input gets errors that name
// the file, row and column.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng, WASM_PATH } from "../helpers.ts";
import { main } from "../../src/cli/main.ts";
import { rocAuc } from "../../src/metrics/auc.ts";

const dir = mkdtempSync(join(tmpdir(), "mtl-cli-"));
const compiled = WebAssembly.compile(readFileSync(WASM_PATH));
const kernels = () => compiled;

/** Rows with a learnable signal: bin depends on x0 + c, reg on x1, cls on sign pattern; some labels missing. */
function makeCsv(path: string, n: number, seed: number, opts: { badRow?: number; unknownClass?: number } = {}) {
  const rng = new Rng(seed);
  const lines = ["x0,x1,x2,c,bin,reg,cls"];
  const colours = ["red", "green", "blue"];
  for (let i = 0; i < n; i++) {
    const x = [rng.normal(), rng.normal(), rng.normal()];
    const c = rng.int(3);
    const z = 2 * x[0] + (c === 2 ? 1.5 : -0.5) + 0.5 * rng.normal();
    const bin = rng.next() < 0.1 ? "" : z > 0 ? "yes" : "no";
    const reg = rng.next() < 0.1 ? "" : (3 * x[1] - x[2] + 0.3 * rng.normal() + 50).toFixed(3);
    const cls = x[0] > 0.5 ? "a" : x[1] > 0 ? "b" : "c";
    const x0 = opts.badRow === i + 1 ? "1.2.3" : x[0].toFixed(4);
    lines.push([x0, x[1].toFixed(4), x[2].toFixed(4), colours[c], bin, reg, opts.unknownClass === i + 1 ? "zz" : cls].join(","));
  }
  writeFileSync(path, lines.join("\n") + "\n");
}

const config = (extra: Record<string, unknown> = {}) => ({
  name: "toy",
  data: { format: "csv", path: join(dir, "train.csv") },
  inputs: { numeric: ["x0", "x1", "x2"], categorical: [{ column: "c", dim: 2 }] },
  architecture: { type: "mmoe", experts: 3, layers: [{ units: 16, dropout: 0.1 }] },
  tasks: [
    { name: "bin", type: "binary", label: "bin", positive: "yes", tower: [8] },
    { name: "cls", type: "multiclass", label: "cls", tower: [8] },
    { name: "reg", type: "regression", label: "reg" },
  ],
  training: { epochs: 6, batch_size: 64, seed: 3, optimizer: { type: "adam", lr: 0.01 }, weighting: { type: "dwa" }, early_stopping: { metric: "mean.auc", patience: 10 }, ...extra },
});

makeCsv(join(dir, "train.csv"), 1500, 1);
makeCsv(join(dir, "other.csv"), 400, 2);
writeFileSync(join(dir, "toy.json"), JSON.stringify(config()));

async function run(argv: string[]) {
  const out: string[] = [], err: string[] = [];
  const code = await main(argv, kernels, { log: (s) => out.push(s), error: (s) => err.push(s) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

test("train writes the model directory and learns the signal", async () => {
  const r = await run(["train", join(dir, "toy.json"), "--out", join(dir, "m"), "--quiet"]);
  assert.is(r.code, 0, r.err);
  const metrics = JSON.parse(readFileSync(join(dir, "m", "metrics.json"), "utf8"));
  assert.ok(metrics.validation.bin.auc > 0.9, `bin auc ${metrics.validation.bin.auc}`);
  assert.ok(metrics.validation.cls.accuracy > 0.7, `cls accuracy ${metrics.validation.cls.accuracy}`);
  assert.ok(metrics.validation.reg.r2 > 0.8, `reg r2 ${metrics.validation.reg.r2}`);
  const model = JSON.parse(readFileSync(join(dir, "m", "model.json"), "utf8"));
  assert.equal(model.preprocessing.tasks[1].classes, ["a", "b", "c"]);
  // safetensors header names every parameter with its shape.
  const st = readFileSync(join(dir, "m", "weights.safetensors"));
  const header = JSON.parse(st.subarray(8, 8 + Number(st.readBigUInt64LE(0))).toString());
  for (const p of model.params) assert.equal(header[p.name].shape, p.shape, p.name);
});

test("predict writes one row per input row in order; evaluate agrees with it", async () => {
  const pr = await run(["predict", join(dir, "m"), "--data", join(dir, "other.csv"), "--out", join(dir, "pred.csv")]);
  assert.is(pr.code, 0, pr.err);
  const lines = readFileSync(join(dir, "pred.csv"), "utf8").trim().split("\n");
  assert.is(lines[0], "bin,cls:a,cls:b,cls:c,reg");
  assert.is(lines.length, 401);
  const rows = lines.slice(1).map((l) => l.split(",").map(Number));
  rows.forEach((r, i) => assert.ok(Math.abs(r[1] + r[2] + r[3] - 1) < 1e-5, `row ${i}: class probabilities sum to ${r[1] + r[2] + r[3]}`));
  const ev = await run(["evaluate", join(dir, "m"), "--data", join(dir, "other.csv"), "--json"]);
  assert.is(ev.code, 0, ev.err);
  const m = JSON.parse(ev.out).metrics;
  // Recompute AUC from the prediction file and the raw labels: the two commands must agree.
  const src = readFileSync(join(dir, "other.csv"), "utf8").trim().split("\n").slice(1).map((l) => l.split(","));
  const keep = src.map((r, i) => [r, i] as const).filter(([r]) => r[4] !== "");
  const auc = rocAuc(keep.map(([r]) => (r[4] === "yes" ? 1 : 0)), keep.map(([, i]) => rows[i][0]));
  assert.ok(Math.abs(auc - m.bin.auc) < 1e-9, `${auc} vs ${m.bin.auc}`);
  assert.is(m.bin.count, keep.length);
  // Input order: a file with the rows reversed gives the predictions reversed.
  const text = readFileSync(join(dir, "other.csv"), "utf8").trim().split("\n");
  writeFileSync(join(dir, "rev.csv"), [text[0], ...text.slice(1).reverse()].join("\n") + "\n");
  await run(["predict", join(dir, "m"), "--data", join(dir, "rev.csv"), "--out", join(dir, "pred-rev.csv")]);
  const rev = readFileSync(join(dir, "pred-rev.csv"), "utf8").trim().split("\n").slice(1);
  assert.equal(rev.reverse(), lines.slice(1));
});

test("the ONNX export predicts the same as the wasm model, in onnxruntime-web and in our kernels", async () => {
  const ex = await run(["export", join(dir, "m"), "--out", join(dir, "m.onnx")]);
  assert.is(ex.code, 0, ex.err);
  const wasm = readFileSync(join(dir, "pred.csv"), "utf8").trim().split("\n");
  for (const engine of ["ort", "mtl"]) {
    const r = await run(["predict", join(dir, "m.onnx"), "--data", join(dir, "other.csv"), "--out", join(dir, `pred-${engine}.csv`), "--engine", engine]);
    assert.is(r.code, 0, r.err);
    const got = readFileSync(join(dir, `pred-${engine}.csv`), "utf8").trim().split("\n");
    assert.is(got[0], wasm[0]);
    assert.is(got.length, wasm.length);
    let worst = 0;
    for (let i = 1; i < got.length; i++) {
      const a = got[i].split(",").map(Number), b = wasm[i].split(",").map(Number);
      a.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - b[j]) / Math.max(1, Math.abs(b[j])))));
    }
    assert.ok(worst <= 1e-5, `${engine}: worst difference ${worst}`);
  }
  // train also wrote DIR/model.onnx and checked it with onnxruntime-web on the validation rows.
  const metrics = JSON.parse(readFileSync(join(dir, "m", "metrics.json"), "utf8"));
  assert.ok(metrics.onnx.max_abs_diff <= 1e-4, `train's ORT check: ${metrics.onnx.max_abs_diff}`);
  assert.ok(Math.abs(metrics.onnx.ort_validation.bin.auc - metrics.validation.bin.auc) < 1e-6);
});

test("resume after an interrupted run gives the same weights as an uninterrupted one", async () => {
  const full = await run(["train", join(dir, "toy.json"), "--out", join(dir, "full"), "--quiet", "--epochs", "5"]);
  assert.is(full.code, 0, full.err);
  const part = await run(["train", join(dir, "toy.json"), "--out", join(dir, "part"), "--quiet", "--epochs", "2"]);
  assert.is(part.code, 0, part.err);
  const rest = await run(["train", join(dir, "toy.json"), "--out", join(dir, "part"), "--quiet", "--epochs", "5", "--resume"]);
  assert.is(rest.code, 0, rest.err);
  for (const f of ["weights.safetensors", "state.safetensors"]) {
    assert.ok(Buffer.compare(readFileSync(join(dir, "full", f)), readFileSync(join(dir, "part", f))) === 0, `${f} differs`);
  }
});

test("--threads 2 trains data-parallel; steps.csv logs each step's task losses and weights", async () => {
  const r = await run(["train", join(dir, "toy.json"), "--out", join(dir, "par"), "--quiet", "--threads", "2", "--epochs", "4"]);
  assert.is(r.code, 0, r.err);
  const metrics = JSON.parse(readFileSync(join(dir, "par", "metrics.json"), "utf8"));
  assert.ok(metrics.validation.bin.auc > 0.9, `bin auc ${metrics.validation.bin.auc}`);
  const steps = readFileSync(join(dir, "par", "steps.csv"), "utf8").trim().split("\n");
  assert.is(steps[0], "step,epoch,loss:bin,loss:cls,loss:reg,weight:bin,weight:cls,weight:reg");
  const perEpoch = Math.ceil(metrics.rows.train / 64);
  assert.is(steps.length - 1, 4 * perEpoch);
  // DWA: weights are 1 for the first two epochs, then T·softmax(r/2), which sums to the number of tasks.
  const row = (i: number) => steps[i].split(",").map(Number);
  assert.equal(row(1).slice(5), [1, 1, 1]);
  const late = row(steps.length - 1);
  assert.is(late[1], 4);
  assert.ok(Math.abs(late[5] + late[6] + late[7] - 3) < 1e-4, `weights ${late.slice(5)}`);
  assert.not.equal(late.slice(5), [1, 1, 1]);
});

test("bad input: errors name the file, row and column", async () => {
  makeCsv(join(dir, "bad.csv"), 50, 4, { badRow: 17 });
  let r = await run(["evaluate", join(dir, "m"), "--data", join(dir, "bad.csv")]);
  assert.is(r.code, 1);
  assert.match(r.err, /bad\.csv: data row 17 \(line 18\), column "x0": value "1\.2\.3" is not a number/);
  makeCsv(join(dir, "unknown.csv"), 30, 5, { unknownClass: 9 });
  r = await run(["evaluate", join(dir, "m"), "--data", join(dir, "unknown.csv")]);
  assert.is(r.code, 1);
  assert.match(r.err, /unknown\.csv: data row 9 \(line 10\), column "cls": unknown label "zz" for task cls/);
  writeFileSync(join(dir, "nocol.csv"), "x0,x1,c,bin,reg,cls\n1,2,red,yes,3,a\n");
  r = await run(["predict", join(dir, "m"), "--data", join(dir, "nocol.csv"), "--out", join(dir, "p.csv")]);
  assert.is(r.code, 1);
  assert.match(r.err, /nocol\.csv: no column "x2"; available columns \(6\)/);
  writeFileSync(join(dir, "badspec.json"), JSON.stringify({ ...config(), tasks: [{ name: "bin", type: "regression", label: "bin", loss: "bce" }] }));
  r = await run(["train", join(dir, "badspec.json"), "--out", join(dir, "x")]);
  assert.is(r.code, 2);
  assert.match(r.err, /tasks\[0\]\.loss: "bce" needs type "binary" or "multilabel"/);
  r = await run(["train", join(dir, "toy.json")]);
  assert.is(r.code, 2);
  assert.match(r.err, /--out DIR is required/);
  r = await run(["predict", join(dir, "nowhere"), "--data", "x", "--out", "y"]);
  assert.match(r.err, /no model\.json/);
});

test("configs may have comments and trailing commas (JSONC); a syntax error names line and column; --epochs 0 is refused", async () => {
  const body = JSON.stringify({ ...config(), training: { epochs: 1, batch_size: 64, seed: 3 } }, null, 2);
  // Comments and a trailing comma in the README's style: the same model as the plain JSON.
  const jsonc = body.replace('"name": "toy",', '"name": "toy", // the toy model\n  /* two lines\n     of comment */').replace(/\n}$/, ",\n}");
  writeFileSync(join(dir, "c.jsonc"), jsonc);
  let r = await run(["summary", join(dir, "c.jsonc"), "--json"]);
  assert.is(r.code, 0, r.err);
  writeFileSync(join(dir, "broken.json"), '{\n  "name": "toy",\n  "tasks": [ { "name": "a" ] \n}');
  r = await run(["train", join(dir, "broken.json"), "--out", join(dir, "y")]);
  assert.is(r.code, 2);
  assert.match(r.err, /broken\.json: not valid JSON: line 3, column 28: unexpected "\]"; expected "," or "}"/);
  for (const cmd of ["train", "evaluate", "predict", "export", "summary", "affinity", "report"]) {
    const h = await run([cmd, "--help"]);
    assert.is(h.code, 0, `${cmd} --help`);
    assert.match(h.out, new RegExp(`^usage: mtl ${cmd} `), `${cmd} --help: ${h.out}`);
  }
  r = await run(["train", join(dir, "c.jsonc"), "--out", join(dir, "z"), "--epochs", "0"]);
  assert.is(r.code, 2);
  assert.match(r.err, /--epochs must be at least 1, found 0/);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
