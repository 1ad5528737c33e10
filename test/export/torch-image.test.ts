// The PyTorch bridge (src/export/torch.ts) on image/conv models and funnel heads, against our engine, with Debian's
// python3-torch running the exported package (torch_parity.py). For each shipped config multimnist-{hps, mmoe, boxes,
// wide, boxes-wide} and funnel-{esmm, aitm}, plus variants exercising what those do not (conv with batch norm,
// padding "same" and explicit, stride, dilation; avg, global-avg pool; batchnorm layers in the trunk and a tower; a
// giou box task; cross_stitch, dselect_k, ple and cgc trunks over an image; a flat inputs.tensor):
//   data      real rows: MultiMNIST composites of MNIST test digits (../shared/data/mnist, src/data/multimnist.ts),
//             written as an idx data set and read back as `mtl train` reads it; the funnel from src/data/funnel.ts;
//   model     fitted preprocessing, then one epoch of our training (a few steps) so the weights are not at init;
//   forward   the package's predict() (float32, eval) equals Model.predictNamed within 1e-5 (relative above 1),
//             ESMM's extra output conversion.given_click included;
//   grad      J, the task losses and the gradient of every parameter after one step equal ours within 1e-4
//             relative (torch in float64; dropout set to 0); batch norm: the running statistics after the step too;
//   round trip  mtl export --format torch → 3 SGD steps in torch → mtl import → DIR/model.onnx in onnxruntime-web and
//             in the mtl engine equals what torch predicts within 1e-5, and differs from before the steps.
// SKIP (a failure under CI) when /usr/bin/python3 cannot import torch or the MNIST files are missing.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { relErr, setup } from "../helpers.ts";
import { needFile, skipOrFail } from "../skip.ts";
import { checkGrads, checkRoundTrip, maxScaledDiff, ourStep, packageFolder, PYTHON, readOut, runPython as runPythonIn, cli, noDropout, specOf, taskTensors } from "./torch-harness.ts";
import { validateSpec, type ModelSpec } from "../../src/model/spec.ts";
import { Model } from "../../src/model/model.ts";
import { readIdxTable, readTable } from "../../src/data/load.ts";
import { readIdx, encodeIdxImages } from "../../src/data/idx.ts";
import { fileSource } from "../../src/data/node-file.ts";
import { generateMultiMnist, idxDigits, multiMnistCsv } from "../../src/data/multimnist.ts";
import { funnelCsv, generateFunnel } from "../../src/data/funnel.ts";
import { encode, fitPreprocessing, type Encoded } from "../../src/data/preprocess.ts";
import type { Table } from "../../src/data/table.ts";
import { serialize, type Tensor } from "../../src/io/safetensors.ts";
import { fit } from "../../src/train/trainer.ts";
import { torchUnsupported } from "../../src/export/torch.ts";

const MNIST = fileURLToPath(new URL("../../../shared/data/mnist/", import.meta.url));
const FWD_TOL = 1e-5, GRAD_TOL = 1e-4;

const { k } = await setup();
const torchOk = spawnSync(PYTHON, ["-c", "import torch"], { stdio: "ignore" }).status === 0;
const work = mkdtempSync(join(tmpdir(), "mtl-torch-image-"));

/** A variant of multimnist-boxes with what the shipped configs do not use: batch norm, paddings, strides, dilation, avg pools, giou. */
function variant(): ModelSpec {
  const s = JSON.parse(JSON.stringify(specOf("multimnist-boxes")));
  s.name = "multimnist-boxes+bn";
  s.architecture.layers = [
    { type: "conv", filters: 6, kernel: 3, padding: "same", stride: 2, batchnorm: true, activation: "relu" }, // 14×14
    { type: "conv", filters: 8, kernel: [3, 2], padding: [1, 0, 2, 1], dilation: [2, 1], activation: "tanh" }, // 13×14
    { type: "pool", mode: "avg", size: 2 }, // 6×7
    { type: "batchnorm" },
    { type: "conv", filters: 8, kernel: 2, padding: "same", activation: "none" }, // 6×7, the odd pad bottom/right
    { type: "pool", mode: "max", size: [3, 2], stride: [2, 2] }, // 2×3
    { type: "flatten" },
    { units: 24, activation: "relu" },
  ];
  s.tasks[1].tower = [{ type: "batchnorm" }, { units: 16, activation: "silu" }];
  s.tasks[2].loss = "giou";
  delete s.tasks[2].smooth_l1_beta;
  return validateSpec(s);
}
/** A global-average-pool trunk under MMoE (gates on the flattened image). */
function variantGlobal(): ModelSpec {
  const s = JSON.parse(JSON.stringify(specOf("multimnist-mmoe")));
  s.name = "multimnist-mmoe+global";
  s.architecture.experts = 2;
  s.architecture.layers = [{ type: "conv", filters: 4, kernel: 5, stride: 3, batchnorm: true }, { type: "pool", mode: "global_avg" }, { type: "flatten" }, { units: 12 }];
  return validateSpec(s);
}

// ---- data ------------------------------------------------------------------------------------------------------
const IMAGE_ROWS = 48, IMAGE_PROBE = 16, FUNNEL_ROWS = 400, FUNNEL_PROBE = 64;
let images: Promise<Table> | null = null;
/** MultiMNIST composites of the MNIST test digits as the idx data set `mtl data multimnist` writes, read back as training reads it. */
function multimnistTable(): Promise<Table> {
  images ??= (async () => {
    const d = idxDigits(await readIdx(fileSource(MNIST + "t10k-images-idx3-ubyte.gz")), await readIdx(fileSource(MNIST + "t10k-labels-idx1-ubyte.gz")));
    const set = generateMultiMnist(d, IMAGE_ROWS + IMAGE_PROBE, 7);
    const dir = join(work, "multimnist");
    mkdirSync(dir);
    writeFileSync(join(dir, "images"), encodeIdxImages(set.images, set.count, 28, 28));
    writeFileSync(join(dir, "labels.csv"), multiMnistCsv(set));
    return readIdxTable(fileSource(join(dir, "images")), fileSource(join(dir, "labels.csv")));
  })();
  return images;
}
let funnelRows: Promise<Table> | null = null;
function funnelTable(spec: ModelSpec): Promise<Table> {
  funnelRows ??= (async () => {
    const path = join(work, "funnel.csv");
    writeFileSync(path, funnelCsv(generateFunnel(FUNNEL_ROWS + FUNNEL_PROBE, 3)));
    return readTable(fileSource(path), spec.data!);
  })();
  return funnelRows;
}

/** The model of `spec` on its data's first rows, trained one epoch (batch 16) from seed 5. */
async function build(spec: ModelSpec) {
  const image = !!spec.inputs.tensor;
  const table = await (image ? multimnistTable() : funnelTable(spec));
  const n = image ? IMAGE_ROWS : FUNNEL_ROWS, m = image ? IMAGE_PROBE : FUNNEL_PROBE;
  const rows = Int32Array.from({ length: n }, (_, i) => i), probe = Int32Array.from({ length: m }, (_, i) => n + i);
  const pre = fitPreprocessing(spec, table, Uint32Array.from(rows));
  const trainSpec = validateSpec({ ...JSON.parse(JSON.stringify(spec)), training: { ...JSON.parse(JSON.stringify(spec.training)), batch_size: 16, early_stopping: null, schedule: null } });
  const model = new Model(trainSpec, pre, k);
  model.initParams(5);
  const enc = encode(spec, pre, table, rows);
  const init = model.getWeights();
  const { history } = await fit(model, enc, null, { epochs: 1 });
  const trained = model.getWeights();
  const moved = Object.keys(init).filter((n) => maxScaledDiff(init[n], trained[n]) > 1e-4);
  assert.ok(moved.length === Object.keys(init).length && history.length === 1, `${spec.name}: training moved only ${moved.length} of ${Object.keys(init).length} weights`);
  return { model, table, pre, rows, probe, enc, probeEnc: encode(spec, pre, table, probe) };
}
/** `from`'s weights (state included) in a new model of `spec` (same preprocessing). */
function copyTo(spec: ModelSpec, from: Awaited<ReturnType<typeof build>>): Model {
  const model = new Model(spec, from.pre, k);
  model.setWeights(from.model.getWeights());
  return model;
}

function inputTensors(spec: ModelSpec, model: Model, enc: Encoded, prefix = ""): Record<string, Tensor> {
  const N = enc.rows, F = model.dims.numeric, T = spec.inputs.tensor ?? 0;
  const out: Record<string, Tensor> = {
    [`${prefix}numeric`]: { dtype: "F32", shape: [N, F], data: enc.numeric.slice(0, N * F) },
    [`${prefix}categorical`]: { dtype: "I32", shape: [N, 0], data: new Int32Array(0) },
    [`${prefix}groups`]: { dtype: "I32", shape: [N, 1], data: new Int32Array(N) },
  };
  if (T) out[`${prefix}tensor`] = { dtype: "F32", shape: [N, T], data: enc.tensor.slice(0, N * T) };
  return { ...out, ...taskTensors(prefix, spec, model, enc, N) };
}

/** The model folder `mtl train` would write, then its torch package (torch-harness.ts packageFolder). */
const folder = (name: string, model: Model) => packageFolder(join(work, name), model, cli);


const runPython = (jobs: object[]) => runPythonIn(work, jobs);

async function parity(name: string, shipped: ModelSpec): Promise<void> {
  if (!torchOk) return skipOrFail(`torch parity (${name})`, `${PYTHON} cannot import torch (apt-get install python3-torch; node tools/deps.mjs)`);
  if (shipped.inputs.tensor && !needFile(MNIST + "t10k-images-idx3-ubyte.gz", `torch parity (${name})`)) return;
  assert.is(torchUnsupported(shipped), null, name);
  const b = await build(shipped);
  const fdir = await folder(`${name}-fwd`, b.model);
  writeFileSync(join(fdir, "inputs.safetensors"), serialize({ ...inputTensors(shipped, b.model, b.enc), ...inputTensors(shipped, b.model, b.probeEnc, "probe:") }));
  const gspec = noDropout(shipped), gmodel = copyTo(gspec, b);
  const gdir = await folder(`${name}-grad`, gmodel);
  writeFileSync(join(gdir, "inputs.safetensors"), serialize(inputTensors(gspec, gmodel, b.enc)));
  runPython([
    { mode: "forward", pkg: join(fdir, "torch"), inputs: join(fdir, "inputs.safetensors"), out: join(fdir, "forward.safetensors") },
    { mode: "steps", pkg: join(fdir, "torch"), inputs: join(fdir, "inputs.safetensors"), out: join(fdir, "steps.safetensors"), weights: join(fdir, "trained.safetensors"), steps: 3, lr: 0.05 },
    { mode: "grad", pkg: join(gdir, "torch"), inputs: join(gdir, "inputs.safetensors"), out: join(gdir, "grad.safetensors") },
  ]);

  // forward: every output (the extra outputs included) in export order
  const ours = b.model.predictNamed(b.enc);
  const theirs = readOut(join(fdir, "forward.safetensors"));
  assert.equal(Object.keys(theirs).filter((n) => n.startsWith("out:")).sort(), ours.map((o) => `out:${o.name}`).sort(), `${name}: output names`);
  let fwd = 0;
  for (const o of ours) {
    const d = maxScaledDiff(theirs[`out:${o.name}`].data as Float32Array, o.data);
    fwd = Math.max(fwd, d);
    assert.ok(d <= FWD_TOL, `${name} ${o.name}: forward max |torch − ours| = ${d.toExponential(2)} > ${FWD_TOL}`);
  }

  // loss, every gradient, the state after the step
  const o = ourStep(gmodel, b.enc);
  const { t, ...worst } = checkGrads(name, join(gdir, "grad.safetensors"), o, GRAD_TOL);
  assert.equal(Object.keys(t).filter((n) => n.startsWith("state:")).map((n) => n.slice(6)).sort(), [...o.state.keys()].sort(), `${name}: state names`);
  let st = 0;
  for (const [s, v] of o.state) {
    const e = relErr(v, t[`state:${s}`].data as Float32Array, 1e-6);
    st = Math.max(st, e);
    assert.ok(e <= GRAD_TOL, `${name}: running statistic ${s} after the step differs, relative error ${e.toExponential(2)} > ${GRAD_TOL}`);
  }
  process.stdout.write(`\n  ${name}: forward max ${fwd.toExponential(1)}, worst gradient ${worst.name} ${worst.err.toExponential(1)}${o.state.size ? `, state ${st.toExponential(1)}` : ""}\n`);

  // round trip
  const T = shipped.inputs.tensor ?? 0, P = b.probeEnc.rows;
  const input = T ? { tensor: { type: "float32", data: b.probeEnc.tensor.slice(0, P * T), dims: [P, T] } } : Array.from(b.probe, (i) => b.table.row(i));
  await checkRoundTrip(name, fdir, b.model.predictNamed(b.probeEnc), input, k, cli, FWD_TOL);
  b.model.dispose();
  gmodel.dispose();
}

const CONFIGS = ["multimnist-hps", "multimnist-mmoe", "multimnist-boxes", "multimnist-wide", "multimnist-boxes-wide", "funnel-esmm", "funnel-aitm"];
const ONLY = process.env.TORCH_PARITY_CONFIGS?.split(",");
for (const name of CONFIGS) {
  if (ONLY && !ONLY.includes(name)) continue;
  test(`${name}: torch forward, loss and every gradient equal ours; export → torch steps → import → ONNX equals torch`, () => parity(name, specOf(name)));
}
/** Other trunks over an image (gates and selectors on the flattened image, cross-stitch mixing conv columns), and a flat tensor input. */
function variantArch(name: string, architecture: object, inputs?: object): () => ModelSpec {
  return () => {
    const s = JSON.parse(JSON.stringify(specOf("multimnist-hps")));
    Object.assign(s, { name, architecture }, inputs ? { inputs } : {});
    return validateSpec(s);
  };
}
const SMALL_CONV = [{ type: "conv", filters: 4, kernel: 5, stride: 3, activation: "relu" }, { type: "flatten" }, { units: 12, activation: "relu" }];
const ARCH_VARIANTS = [
  variantArch("multimnist-cross-stitch+conv", { type: "cross_stitch", layers: [{ type: "conv", filters: 4, kernel: 5, stride: 2 }, { type: "pool", mode: "max", size: 2 }, { type: "flatten" }, { units: 12 }] }),
  variantArch("multimnist-dselect+conv", { type: "dselect_k", experts: 3, k: 2, layers: SMALL_CONV }),
  variantArch("multimnist-ple+conv", { type: "ple", levels: 1, task_experts: 1, shared_experts: 1, layers: SMALL_CONV }),
  variantArch("multimnist-cgc+conv", { type: "cgc", task_experts: 1, shared_experts: 2, layers: SMALL_CONV }),
  variantArch("multimnist-flat", { type: "hps", layers: [{ units: 16, activation: "relu" }] }, { tensor: 784 }),
  // grouped convs with relu fused: depthwise 3×3 "same" (direct, dX), groups 2 at 8 channels a group (Winograd),
  // depthwise with 2 filters a channel and stride 2 (im2col)
  variantArch("multimnist-grouped+conv", {
    type: "hps",
    layers: [
      { type: "conv", filters: 16, kernel: 3, stride: 2, activation: "relu" }, // 13×13
      { type: "conv", filters: 16, kernel: 3, groups: "depthwise", padding: "same", activation: "relu" },
      { type: "conv", filters: 16, kernel: 3, groups: 2, activation: "relu" }, // 11×11
      { type: "conv", filters: 32, kernel: 3, groups: "depthwise", stride: 2, activation: "relu" }, // 5×5
      { type: "flatten" },
      { units: 12, activation: "relu" },
    ],
  }),
];
for (const make of [variant, variantGlobal, ...ARCH_VARIANTS]) {
  const spec = make();
  if (ONLY && !ONLY.includes(spec.name)) continue;
  test(`${spec.name}: torch forward, loss, every gradient (and running statistics) equal ours; the round trip`, () => parity(spec.name, spec));
}

test("torchUnsupported still refuses what the package does not implement, by name", () => {
  const s = JSON.parse(JSON.stringify(specOf("funnel-esmm")));
  s.training.weighting = { type: "gradnorm" };
  assert.match(String(torchUnsupported(validateSpec(s))), /funnel-esmm: training.weighting "gradnorm"/);
});

test.after(() => rmSync(work, { recursive: true, force: true }));
test.run();
