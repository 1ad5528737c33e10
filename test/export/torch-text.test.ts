// The PyTorch bridge on token models (inputs.tokens): the shipped joint intent + slot configs (atis-joint,
// snips-joint: token embedding, bigru, max pooling for the intent head, a tagging head with tag_xent), on real
// utterances of ../shared/data/atis-snips, with Debian's python3-torch running the exported package (torch_parity.py):
//   forward  predict() (float32, eval) equals Model.predict within 1e-5 on ROWS real rows (token ids in, the intent
//            [N, classes] and the per-token slot softmax [N, L, tags], padding positions included);
//   grad     J, the task losses and every parameter's gradient after one step equal ours within 1e-4 relative (torch
//            in float64). The shipped objective without dropout, and a harder one (uncertainty weighting, unequal task
//            weights, shared_l2, ~20 % of the rows unlabelled in each task, some tags −1 at real tokens);
//   round trip  mtl export --format torch → 3 SGD steps in torch → mtl import → model.onnx in onnxruntime-web and in
//            the mtl engine, from the raw rows (strings), equals what torch predicts within 1e-5 and differs from before.
//   package  seq.encode_tokens of the probe rows' text gives our ids (unknown tokens included); left-padded ids and an
//            id outside the vocabulary are refused by name.
// Also atis-joint+conv, a smaller variant with the other sequence layers (conv1d with dilation and an even kernel, an
// activation layer over tokens, mean pooling, a dense tower on the pooled rows, a conv1d tower on the tagging task).
// The models are trained a few SGD steps by our engine from initParams (the test checks every parameter moved; the
// embedding's padding row never trains). Shipped widths for the shipped configs (dim 96, 96 GRU units per direction,
// L 50 / 40); ROWS checked rows, fitted on the first FIT rows; the probe rows come after FIT (unknown tokens).
// SKIP (a failure under CI) when /usr/bin/python3 cannot import torch or the data is missing.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng, setup } from "../helpers.ts";
import { needFile, skipOrFail } from "../skip.ts";
import { checkRoundTrip, maxScaledDiff, ourStep, packageFolder, PYTHON, readOut, runPython as runPythonIn, cli, noDropout, specOf, checkAllGrads } from "./torch-harness.ts";
import { validateSpec, type ModelSpec } from "../../src/model/spec.ts";
import { Model } from "../../src/model/model.ts";
import { readData } from "../../src/cli/files.ts";
import { encode, fitPreprocessing, type Encoded } from "../../src/data/preprocess.ts";
import { serialize, type Tensor } from "../../src/io/safetensors.ts";
import { torchUnsupported } from "../../src/export/torch.ts";

const CONFIGS = ["atis-joint", "snips-joint"];
const FIT = 2000; // rows the vocabulary and classes are fitted on (the first of the file)
const ROWS = 40; // the checked batch (first rows)
const PROBE = 16; // the rows predicted after the torch steps (the first rows past FIT: some tokens are unknown)
const TRAIN_STEPS = 3, TRAIN_LR = 0.5; // our engine's SGD steps before the checks
const FWD_TOL = 1e-5, GRAD_TOL = 1e-4;

const { k } = await setup();
const torchOk = spawnSync(PYTHON, ["-c", "import torch"], { stdio: "ignore" }).status === 0;
const work = mkdtempSync(join(tmpdir(), "mtl-torch-text-"));
function harder(spec: ModelSpec): ModelSpec {
  const s = JSON.parse(JSON.stringify(noDropout(spec)));
  s.training.weighting = { type: "uncertainty" };
  s.training.shared_l2 = 0.01;
  s.tasks.forEach((t: { weight: number }, i: number) => (t.weight = 0.6 + 0.35 * i));
  return validateSpec(s);
}

/**
 * atis-joint with the other sequence layers, smaller: conv1d (odd kernel dilated with tanh after it; even kernel, so
 * the `same` padding is uneven, with relu fused), an activation layer over token rows, then the bigru; the intent
 * head mean-pooled with a dense tower, the slot head behind a conv1d tower (kernel 1, sigmoid) and dropout.
 */
function convSpec(): ModelSpec {
  const s = JSON.parse(JSON.stringify(specOf("atis-joint")));
  s.name = "atis-joint+conv";
  s.inputs.tokens.dim = 24;
  s.architecture.layers = [
    { type: "conv1d", filters: 20, kernel: 3, dilation: 2, activation: "tanh", dropout: 0.1 },
    { type: "activation", activation: "gelu" },
    { type: "conv1d", filters: 16, kernel: 2, activation: "relu" },
    { type: "bigru", units: 12, dropout: 0.2 },
  ];
  s.tasks[0].pool = "mean";
  s.tasks[0].tower = [{ units: 16, activation: "silu" }];
  s.tasks[1].tower = [{ type: "conv1d", filters: 10, kernel: 1, activation: "sigmoid", dropout: 0.1 }];
  return validateSpec(s);
}


/** The model of `spec` fitted on the first FIT rows, from initParams(seed), then TRAIN_STEPS SGD steps on the checked rows. */
async function build(spec: ModelSpec, seed: number) {
  const table = await readData(spec, spec.data!.path!);
  const pre = fitPreprocessing(spec, table, Uint32Array.from({ length: Math.min(FIT, table.rowCount) }, (_, i) => i));
  const model = new Model(spec, pre, k);
  model.initParams(seed);
  const rows = Int32Array.from({ length: ROWS }, (_, i) => i), probe = Int32Array.from({ length: PROBE }, (_, i) => FIT + i);
  const enc = encode(spec, pre, table, rows);
  const init = model.getWeights();
  for (let s = 0; s < TRAIN_STEPS; s++) {
    const { grads } = ourStep(model, enc);
    const w = model.getWeights();
    for (const [n, g] of grads) w[n].forEach((x, i) => (w[n][i] = x - TRAIN_LR * g[i]));
    model.setWeights(w);
  }
  const moved = model.getWeights();
  for (const n of Object.keys(init)) assert.ok(moved[n].some((v, i) => v !== init[n][i]), `${spec.name}: ${n} still at its initial value after ${TRAIN_STEPS} steps`);
  return { model, table, pre, rows, probe, enc, probeEnc: encode(spec, pre, table, probe) };
}

/** ~20 % of the rows unlabelled in every task, and ~5 % of the remaining tags −1 (ignored) at real tokens. */
function dropLabels(enc: Encoded, seed: number): void {
  const rng = new Rng(seed), L = enc.tokens!.maxLength;
  for (const t of enc.tasks) {
    for (let i = 0; i < enc.rows; i++) {
      if (rng.next() >= 0.2) continue;
      t.mask[i] = 0;
      if (t.tokenMask) t.tokenMask.fill(0, i * L, (i + 1) * L);
    }
    if (t.tokenMask) t.tokenMask.forEach((m, j) => m > 0 && rng.next() < 0.05 && ((t.labels as Int32Array)[j] = -1));
  }
}

/** The token ids, labels and masks as safetensors tensors (prefix "probe:" for the probe rows). */
function inputTensors(spec: ModelSpec, enc: Encoded, prefix = ""): Record<string, Tensor> {
  const N = enc.rows, L = enc.tokens!.maxLength;
  const out: Record<string, Tensor> = { [`${prefix}tokens`]: { dtype: "I32", shape: [N, L], data: enc.tokens!.ids } };
  spec.tasks.forEach((t, i) => {
    const e = enc.tasks[i];
    const tagging = t.type === "tagging";
    out[`${prefix}label:${t.name}`] = { dtype: "I32", shape: tagging ? [N, L] : [N], data: e.labels as Int32Array };
    out[`${prefix}mask:${t.name}`] = { dtype: "F32", shape: tagging ? [N, L] : [N], data: tagging ? e.tokenMask! : e.mask };
  });
  return out;
}

/** The model folder `mtl train` would write, then its torch package (torch-harness.ts packageFolder). */
const folder = (name: string, model: Model) => packageFolder(join(work, name), model, cli);

const runPython = (jobs: object[]) => runPythonIn(work, jobs, 300_000);

async function parity(name: string, shipped: ModelSpec): Promise<void> {
  if (!torchOk) return skipOrFail(`torch text parity (${name})`, `${PYTHON} cannot import torch (apt-get install python3-torch; node tools/deps.mjs)`);
  if (!needFile(shipped.data!.path!, `torch text parity (${name})`)) return;
  assert.is(torchUnsupported(shipped), null);
  const jobs: object[] = [];
  const f = await build(shipped, 3);
  // The checked rows have padding (rows shorter than L); the probe rows (past FIT) have unknown tokens.
  const L = f.enc.tokens!.maxLength;
  assert.ok(f.enc.tokens!.mask.some((m, j) => m === 0 && j % L > 0), `${name}: no padding in the checked rows`);
  assert.ok(f.probeEnc.tokens!.mask[L - 1] === 0 && f.probeEnc.tokens!.ids.includes(1), `${name}: the first probe row has no padding, or no probe row an unknown token`);
  const fdir = await folder(`${name}-fwd`, f.model);
  writeFileSync(join(fdir, "inputs.safetensors"), serialize({ ...inputTensors(shipped, f.enc), ...inputTensors(shipped, f.probeEnc, "probe:") }));
  jobs.push({ mode: "forward", pkg: join(fdir, "torch"), inputs: join(fdir, "inputs.safetensors"), out: join(fdir, "forward.safetensors") });
  jobs.push({ mode: "steps", pkg: join(fdir, "torch"), inputs: join(fdir, "inputs.safetensors"), out: join(fdir, "steps.safetensors"), weights: join(fdir, "trained.safetensors"), steps: 3, lr: 0.5 });
  const trained = f.model.getWeights();
  const grads: { label: string; dir: string; ours: ReturnType<typeof ourStep> }[] = [];
  for (const [label, spec] of [["shipped", noDropout(shipped)], ["harder", harder(shipped)]] as const) {
    const table = f.table, model = new Model(spec, f.pre, k);
    model.initParams(1);
    model.setWeights({ ...model.getWeights(), ...trained }); // the same trained weights (weighting.log_var, when present, stays at its init)
    const enc = encode(spec, f.pre, table, f.rows);
    if (label === "harder") dropLabels(enc, 11);
    const dir = await folder(`${name}-${label}`, model);
    writeFileSync(join(dir, "inputs.safetensors"), serialize(inputTensors(spec, enc)));
    jobs.push({ mode: "grad", pkg: join(dir, "torch"), inputs: join(dir, "inputs.safetensors"), out: join(dir, "grad.safetensors") });
    grads.push({ label, dir, ours: ourStep(model, enc) });
    model.dispose();
  }
  runPython(jobs);

  const ours = f.model.predict(f.enc);
  const theirs = readOut(join(fdir, "forward.safetensors"));
  let fwd = 0;
  shipped.tasks.forEach((t, i) => {
    const d = maxScaledDiff(theirs[`out:${t.name}`].data as Float32Array, ours[i]);
    fwd = Math.max(fwd, d);
    assert.ok(d <= FWD_TOL, `${name} ${t.name}: forward max |torch − ours| = ${d.toExponential(2)} > ${FWD_TOL}`);
  });

  checkAllGrads(name, fwd, grads, GRAD_TOL);

  const before = f.model.predict(f.probeEnc).map((data, i) => ({ name: shipped.tasks[i].name, data }));
  await checkRoundTrip(name, fdir, before, Array.from(f.probe, (i) => f.table.row(i)), k, cli, FWD_TOL);
  packageChecks(name, join(fdir, "torch"), f.table.stringColumn(shipped.inputs.tokens!.column), f.probe, f.probeEnc);
  f.model.dispose();
}

/**
 * The package's own token handling: seq.encode_tokens of the probe rows' text gives our ids; left-padded ids and an
 * id outside the vocabulary are refused naming the row and position.
 */
function packageChecks(name: string, pkg: string, cells: readonly string[], probe: Int32Array, enc: Encoded): void {
  const texts = join(pkg, "texts.json");
  writeFileSync(texts, JSON.stringify(Array.from(probe, (r) => cells[r])));
  const script = `
import json, sys, torch
sys.path.insert(0, ${JSON.stringify(pkg)})
import model as M, seq as S
net, mj = M.load(${JSON.stringify(pkg)})
ids = S.encode_tokens(mj["preprocessing"], json.load(open(${JSON.stringify(texts)})))
print(json.dumps(ids.flatten().tolist()))
out_of_range = ids.clone()
out_of_range[1, 2] = len(mj["preprocessing"]["tokens"]["vocab"]) + 2
for bad in (torch.cat([ids[:, -1:], ids[:, :-1]], dim=1), out_of_range):  # left padding (row 0 has padding), id V
    try:
        net.predict(tokens=bad)
        print("accepted")
    except ValueError as e:
        print(e)
`;
  const r = spawnSync(PYTHON, ["-c", script], { encoding: "utf8", timeout: 60_000 });
  assert.is(r.status, 0, `${name}: package checks failed:\n${r.stdout}\n${r.stderr}`);
  const [ids, leftPad, range] = r.stdout.trim().split("\n");
  assert.equal(JSON.parse(ids), Array.from(enc.tokens!.ids), `${name}: seq.encode_tokens of the probe rows`);
  assert.match(leftPad, /^tokens: row \d+: a real token at position 1 after padding; the GRU needs right padding/, `${name}: left padding`);
  assert.match(range, /^tokens: row 1, position 2: token id \d+ is out of range \[0, \d+\)$/, `${name}: id out of range`);
}

test("torchUnsupported takes the token configs and still refuses an unsupported layer by name", () => {
  for (const name of CONFIGS) assert.is(torchUnsupported(specOf(name)), null, name);
  const s = JSON.parse(JSON.stringify(specOf("atis-joint")));
  s.training.weighting = { type: "gradnorm" };
  assert.match(torchUnsupported(s as ModelSpec) ?? "", /atis-joint: training\.weighting "gradnorm" \(supported: .*\) is not supported by the torch export/);
});

for (const name of CONFIGS) {
  test(`${name}: torch forward, loss and every gradient equal ours on real utterances; export → torch steps → import → ONNX equals torch`, () => parity(name, specOf(name)));
}
test("atis-joint+conv (conv1d layers, activations over tokens, mean pooling, towers): the same checks", () => parity("atis-joint+conv", convSpec()));

test.after(() => rmSync(work, { recursive: true, force: true }));
test.run();
