// The files of `mtl train` (src/io/checkpoint-files.ts): a checkpoint is one directory published in one rename, with
// a manifest of hashes; --resume and the readers of a trained DIR accept only a complete checkpoint and otherwise
// fall back to the one before, saying so; stale temporaries are cleaned when train starts.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng, WASM_PATH } from "../helpers.ts";
import { main } from "../../src/cli/main.ts";
import { isTempName, removeDirAtomic, removeStaleTemps, writeDirAtomic } from "../../src/io/atomic.ts";
import { checkCheckpoint, checkpointManifest } from "../../src/io/checkpoint.ts";
import { checkpointEpochs, findCheckpoint, readTrainedDir, sha256 } from "../../src/io/checkpoint-files.ts";

const dir = mkdtempSync(join(tmpdir(), "mtl-ckpt-"));
const compiled = WebAssembly.compile(readFileSync(WASM_PATH));

/** Run the CLI in this process; console.error (where train and the readers report fallbacks) is captured too. */
async function run(argv: string[]) {
  const out: string[] = [], err: string[] = [];
  const orig = console.error;
  console.error = (...a: unknown[]) => void err.push(a.join(" "));
  try {
    const code = await main(argv, () => compiled, { log: (s) => out.push(s), error: (s) => err.push(s) });
    return { code, out: out.join("\n"), err: err.join("\n") };
  } finally {
    console.error = orig;
  }
}

const rng = new Rng(9);
const lines = ["x0,x1,y,r"];
for (let i = 0; i < 200; i++) {
  const a = rng.normal(), b = rng.normal();
  lines.push([a.toFixed(4), b.toFixed(4), a + 0.3 * rng.normal() > 0 ? "1" : "0", (2 * b + 0.1 * rng.normal()).toFixed(3)].join(","));
}
writeFileSync(join(dir, "d.csv"), lines.join("\n") + "\n");
const CONFIG = join(dir, "c.json");
writeFileSync(
  CONFIG,
  JSON.stringify({
    name: "ckpt",
    data: { format: "csv", path: join(dir, "d.csv") },
    inputs: { numeric: ["x0", "x1"] },
    architecture: { type: "hps", layers: [{ units: 6, dropout: 0.1 }] },
    tasks: [
      { name: "y", type: "binary", label: "y", positive: "1" },
      { name: "r", type: "regression", label: "r" },
    ],
    training: { epochs: 4, batch_size: 32, seed: 1, optimizer: { type: "adam", lr: 0.02 }, weighting: { type: "dwa" }, early_stopping: { metric: "mean.auc", patience: 10 } },
  }),
);
const train = (out: string, ...extra: string[]) => run(["train", CONFIG, "--out", out, "--quiet", ...extra]);
const bytes = (...p: string[]) => readFileSync(join(...p));
const listing = (p: string) => readdirSync(p).sort();

test("writeDirAtomic publishes every file or none; removeDirAtomic; removeStaleTemps", async () => {
  const root = join(dir, "atomic");
  mkdirSync(root);
  const target = join(root, "7");
  await writeDirAtomic(target, [["a.bin", new Uint8Array([1, 2])], ["manifest.json", "{}"]]);
  assert.equal(listing(target), ["a.bin", "manifest.json"]);
  // Replacing a non-empty directory.
  await writeDirAtomic(target, [["b.bin", "new"]]);
  assert.equal(listing(target), ["b.bin"]);
  // A bad file name fails before the rename: the old directory is intact and no temporary is left.
  try {
    await writeDirAtomic(target, [["ok", "x"], ["../escape", "y"]]);
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /bad file name/);
  }
  assert.equal(listing(root), ["7"]);
  assert.is(readFileSync(join(target, "b.bin"), "utf8"), "new");
  await removeDirAtomic(target);
  await removeDirAtomic(target); // absent: nothing to do
  assert.equal(listing(root), []);
  // Temporaries: writeFileAtomic's and writeDirAtomic's names go, everything else stays.
  for (const f of [".model.json.123.0123456789ab.tmp", "keep.json", "x.tmpl"]) writeFileSync(join(root, f), "");
  for (const d of ["3.tmp-abcdef", "4.tmp-del-abc", "5"]) mkdirSync(join(root, d));
  assert.ok(isTempName("3.tmp-old-1") && !isTempName("tmp") && !isTempName("x.tmpl"));
  assert.equal(await removeStaleTemps(root), [".model.json.123.0123456789ab.tmp", "3.tmp-abcdef", "4.tmp-del-abc"]);
  assert.equal(listing(root), ["5", "keep.json", "x.tmpl"]);
});

test("checkCheckpoint: complete, then each way of being incomplete", () => {
  const enc = new TextEncoder();
  const files: Record<string, Uint8Array> = {
    "model.json": enc.encode(JSON.stringify({ train_state: { epoch: 3 } })),
    "weights.safetensors": new Uint8Array([1, 2, 3]),
    "state.safetensors": new Uint8Array([4]),
  };
  const all = { ...files, "manifest.json": enc.encode(checkpointManifest(3, files, sha256)) };
  const check = (f: Record<string, Uint8Array>, epoch = 3) => checkCheckpoint(epoch, (n) => f[n] ?? null, sha256);
  assert.is(check(all), null);
  assert.is(check({ ...all, "manifest.json": undefined! }), "no manifest.json");
  assert.is(check({ ...all, "manifest.json": enc.encode("{") }), "manifest.json: not valid JSON");
  assert.is(check(all, 4), "manifest.json: says epoch 3");
  assert.is(check({ ...all, "state.safetensors": undefined! }), "state.safetensors: missing");
  assert.is(check({ ...all, "weights.safetensors": new Uint8Array([1, 2, 4]) }), "weights.safetensors: hash mismatch");
  assert.is(check({ ...all, "weights.safetensors": new Uint8Array([1, 2]) }), "weights.safetensors: 2 bytes, the manifest says 3");
  const { "state.safetensors": _, ...noState } = files;
  assert.is(check({ ...noState, "manifest.json": enc.encode(checkpointManifest(3, noState, sha256)) }), "manifest.json: does not list state.safetensors");
});

test("train: one directory per epoch, the last 2 kept, each with a manifest; the top level names its weights' hash", async () => {
  const d = join(dir, "full");
  const r = await train(d);
  assert.is(r.code, 0, r.err);
  assert.equal(checkpointEpochs(d), [4, 3]);
  assert.equal(listing(join(d, "checkpoints")), ["3", "4"]);
  assert.equal(listing(join(d, "checkpoints", "4")), ["manifest.json", "model.json", "state.safetensors", "steps.csv", "weights.safetensors"]);
  const m = JSON.parse(readFileSync(join(d, "checkpoints", "4", "manifest.json"), "utf8"));
  assert.is(m.epoch, 4);
  assert.is(m.files["weights.safetensors"].sha256, sha256(bytes(d, "checkpoints", "4", "weights.safetensors")));
  const top = JSON.parse(readFileSync(join(d, "model.json"), "utf8"));
  assert.is(top.weights_sha256, sha256(bytes(d, "weights.safetensors")));
  // The final weights are the last checkpoint's (the best epoch's under early stopping).
  assert.ok(bytes(d, "weights.safetensors").equals(bytes(d, "checkpoints", "4", "weights.safetensors")));
  assert.equal(listing(d), ["checkpoints", "metrics.json", "model.json", "model.onnx", "state.safetensors", "steps.csv", "weights.safetensors"]);
});

test("--resume skips a damaged newest checkpoint, says so, and still ends bit-identical", async () => {
  const d = join(dir, "damaged");
  let r = await train(d);
  assert.is(r.code, 0, r.err);
  // Damage epoch 4 and make the run look interrupted there: resuming from epoch 3 retrains epoch 4.
  const w = join(d, "checkpoints", "4", "weights.safetensors");
  const b = readFileSync(w);
  b[b.length - 1] ^= 1;
  writeFileSync(w, b);
  r = await train(d, "--resume");
  assert.is(r.code, 0, r.err);
  assert.match(r.err, "checkpoint epoch 4 is incomplete (weights.safetensors: hash mismatch); resuming from epoch 3");
  for (const f of ["weights.safetensors", "state.safetensors", "steps.csv"]) assert.ok(bytes(d, f).equals(bytes(dir, "full", f)), `${f} differs`);
  assert.ok(bytes(d, "checkpoints", "4", "weights.safetensors").equals(bytes(dir, "full", "checkpoints", "4", "weights.safetensors")));
  // A missing manifest: not a checkpoint either.
  rmSync(join(d, "checkpoints", "4", "manifest.json"));
  r = await train(d, "--resume");
  assert.is(r.code, 0, r.err);
  assert.match(r.err, "checkpoint epoch 4 is incomplete (no manifest.json); resuming from epoch 3");
  assert.ok(bytes(d, "weights.safetensors").equals(bytes(dir, "full", "weights.safetensors")));
});

test("--resume with no checkpoint, or none complete, is a clear error", async () => {
  const d = join(dir, "empty");
  mkdirSync(d);
  let r = await train(d, "--resume");
  assert.is(r.code, 2);
  assert.match(r.err, /empty: nothing to resume \(no checkpoint in .*checkpoints\); train without --resume to start afresh/);
  r = await train(d);
  assert.is(r.code, 0, r.err);
  for (const e of [3, 4]) rmSync(join(d, "checkpoints", String(e), "manifest.json"));
  r = await train(d, "--resume");
  assert.is(r.code, 2);
  assert.match(r.err, /no complete checkpoint to resume from \(epoch 4: no manifest\.json; epoch 3: no manifest\.json\)/);
});

test("train starts by deleting stale temporaries; a fresh run drops an earlier run's checkpoints", async () => {
  const d = join(dir, "stale");
  let r = await train(d, "--epochs", "2");
  assert.is(r.code, 0, r.err);
  // What killed writes leave behind, and a checkpoint from a longer earlier run.
  writeFileSync(join(d, ".weights.safetensors.999.0123456789ab.tmp"), "partial");
  mkdirSync(join(d, "checkpoints", "3.tmp-0123456789ab"));
  writeFileSync(join(d, "checkpoints", "3.tmp-0123456789ab", "model.json"), "{");
  mkdirSync(join(d, "checkpoints", "1.tmp-del-0123456789ab"));
  r = await train(d, "--resume", "--epochs", "2");
  assert.is(r.code, 0, r.err);
  assert.equal(listing(join(d, "checkpoints")), ["1", "2"]);
  assert.not.ok(readdirSync(d).some(isTempName));
  mkdirSync(join(d, "checkpoints", "9"));
  copyFileSync(join(d, "checkpoints", "2", "model.json"), join(d, "checkpoints", "9", "model.json"));
  r = await train(d);
  assert.is(r.code, 0, r.err);
  assert.equal(checkpointEpochs(d), [4, 3]);
  assert.ok(bytes(d, "weights.safetensors").equals(bytes(dir, "full", "weights.safetensors")));
});

test("readers of DIR: top-level files from different epochs → the newest complete checkpoint, said on stderr", async () => {
  const d = join(dir, "split");
  let r = await train(d);
  assert.is(r.code, 0, r.err);
  const good = await run(["export", d, "--out", join(dir, "good.onnx")]);
  assert.is(good.code, 0, good.err);
  assert.is(good.err, "");
  // As after a kill between the top-level copies: a weights.safetensors that is not model.json's.
  const w = bytes(d, "weights.safetensors");
  w[w.length - 1] ^= 1;
  writeFileSync(join(d, "weights.safetensors"), w);
  const notes: string[] = [];
  const t = readTrainedDir(d, (s) => notes.push(s));
  assert.is(t.weightsPath, join(d, "checkpoints", "4", "weights.safetensors"));
  assert.match(notes.join("\n"), /split: weights\.safetensors is not the one model\.json was written with \(an interrupted write\); using checkpoint epoch 4/);
  for (const cmd of [["export", d, "--out", join(dir, "fallback.onnx")], ["evaluate", d, "--data", join(dir, "d.csv")], ["summary", d]]) {
    r = await run(cmd);
    assert.is(r.code, 0, r.err);
    assert.match(r.err, "using checkpoint epoch 4", cmd[0]);
  }
  assert.ok(bytes(dir, "fallback.onnx").equals(bytes(dir, "good.onnx")));
  // No model.json yet (killed before the first top-level copy): the checkpoint too.
  rmSync(join(d, "model.json"));
  r = await run(["predict", d, "--data", join(dir, "d.csv"), "--out", join(dir, "p.csv")]);
  assert.is(r.code, 0, r.err);
  assert.match(r.err, /split: no model\.json .*; using checkpoint epoch 4/);
  // Neither: the old error.
  rmSync(join(d, "checkpoints"), { recursive: true });
  r = await run(["evaluate", d, "--data", join(dir, "d.csv")]);
  assert.is(r.code, 2);
  assert.match(r.err, /split: no model\.json \(expected a directory written by mtl train\)/);
  // A model.json that records no hash (older writers, hand-made directories) is taken as it is.
  const j = JSON.parse(readFileSync(join(dir, "full", "model.json"), "utf8"));
  delete j.weights_sha256;
  writeFileSync(join(d, "model.json"), JSON.stringify(j));
  notes.length = 0;
  assert.is(readTrainedDir(d, (s) => notes.push(s)).weightsPath, join(d, "weights.safetensors"));
  assert.equal(notes, []);
  assert.is(findCheckpoint(join(dir, "nowhere")).found, null);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
