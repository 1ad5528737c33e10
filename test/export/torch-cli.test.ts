// The PyTorch bridge's commands without torch: `mtl export --format torch` refuses what the package cannot compute
// by name and never deletes foreign files; `mtl import` checks every tensor's name, dtype, shape and values and names
// the offending one, and on success serves the new weights (weights.safetensors, model.json's hash, model.onnx).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setup, WASM_PATH } from "../helpers.ts";
import { parseJsonc } from "../../src/util/jsonc.ts";
import { validateSpec, type ModelSpec } from "../../src/model/spec.ts";
import { Model } from "../../src/model/model.ts";
import type { Preprocessing } from "../../src/data/preprocess.ts";
import { deserialize, serialize, type Tensor } from "../../src/io/safetensors.ts";
import { modelJson, weightsBytes } from "../../src/io/checkpoint.ts";
import { sha256 } from "../../src/io/checkpoint-files.ts";
import { exportOnnx } from "../../src/onnx/export.ts";
import { torchUnsupported } from "../../src/export/torch.ts";
import { main } from "../../src/cli/main.ts";
import { createSession } from "../../src/infer/session.ts";

const { k } = await setup();
const work = mkdtempSync(join(tmpdir(), "mtl-torch-cli-"));
const cli = async (argv: string[]) => {
  const lines: string[] = [];
  const code = await main(argv, () => WebAssembly.compile(readFileSync(WASM_PATH)), { log: (s) => lines.push(s), error: (s) => lines.push(s), progress: null });
  return { code, text: lines.join("\n") };
};
const shipped = (name: string) => validateSpec(parseJsonc(readFileSync(`models/${name}.json`, "utf8")));

const spec = validateSpec({
  name: "tiny",
  data: { format: "csv" },
  inputs: { numeric: ["a", "b"], categorical: [{ column: "c", dim: 2 }] },
  architecture: { type: "mmoe", experts: 2, layers: [3] },
  tasks: [
    { name: "y", type: "binary", label: "y" },
    { name: "r", type: "regression", label: "r" },
  ],
});
const pre: Preprocessing = {
  numeric: [{ column: "a", mean: 1, std: 2 }, { column: "b", mean: -1, std: 0.5 }],
  categorical: [{ column: "c", vocab: ["p", "q"] }],
  tasks: [{ name: "y", classes: null, groups: null, target: null }, { name: "r", classes: null, groups: null, target: [{ mean: 3, std: 2 }] }],
};

function modelDir(name: string): { dir: string; model: Model } {
  const dir = join(work, name);
  mkdirSync(dir);
  const model = new Model(spec, pre, k);
  model.initParams(1);
  const w = weightsBytes(model);
  writeFileSync(join(dir, "weights.safetensors"), w);
  writeFileSync(join(dir, "model.onnx"), exportOnnx(model));
  writeFileSync(join(dir, "model.json"), JSON.stringify(modelJson(model, null, undefined, sha256(w))));
  return { dir, model };
}

/** The model's weights as safetensors tensors, edited by `edit`. */
function file(model: Model, edit: (t: Record<string, Tensor>) => void): string {
  const t: Record<string, Tensor> = {};
  for (const p of model.store.params) t[p.name] = { dtype: "F32", shape: [...p.shape], data: model.getWeights()[p.name].map((x) => x + 0.5) };
  edit(t);
  const path = join(work, `w-${Math.random().toString(36).slice(2)}.safetensors`);
  writeFileSync(path, serialize(t));
  return path;
}

test("export --format torch refuses what the package cannot compute, by name", () => {
  const why = (s: ModelSpec) => torchUnsupported(s) ?? "supported";
  // Every shipped config exports (all of models/*.json: a new one must too).
  const configs = readdirSync("models").filter((f) => f.endsWith(".json")).map((f) => f.slice(0, -5));
  assert.ok(configs.length >= 18, `${configs.length} shipped configs`);
  for (const name of configs) assert.is(why(shipped(name)), "supported", name);
  assert.match(why(validateSpec({ ...JSON.parse(JSON.stringify(spec)), training: { weighting: { type: "dwa" } } })), /training\.weighting "dwa" .*not supported/);
});

test("export --format torch writes the package and never replaces a folder holding other files", async () => {
  const { dir, model } = modelDir("export");
  const r = await cli(["export", dir, "--format", "torch"]);
  assert.is(r.code, 0, r.text);
  for (const f of ["model.py", "loss.py", "seq.py", "safetensors_io.py", "__init__.py", "README.md", "model.json", "weights.safetensors"]) assert.ok(existsSync(join(dir, "torch", f)), f);
  assert.equal(readFileSync(join(dir, "torch", "weights.safetensors")), readFileSync(join(dir, "weights.safetensors")));
  assert.is((await cli(["export", dir, "--format", "torch"])).code, 0, "a second export replaces the package");
  writeFileSync(join(dir, "torch", "train.py"), "# mine");
  const again = await cli(["export", dir, "--format", "torch"]);
  assert.is(again.code, 2);
  assert.match(again.text, /holds files that are not the torch package's \(train\.py\)/);
  assert.ok(existsSync(join(dir, "torch", "train.py")));
  const bad = await cli(["export", dir, "--format", "tf"]);
  assert.match(bad.text, /--format "tf": expected "onnx" or "torch"/);
  model.dispose();
});

test("import names the missing, extra, mis-shaped, mistyped or non-finite tensor and changes nothing", async () => {
  const { dir, model } = modelDir("bad");
  const before = readFileSync(join(dir, "weights.safetensors"));
  const cases: [string, (t: Record<string, Tensor>) => void, RegExp][] = [
    ["missing", (t) => delete t["gate.y.weight"], /missing tensor "gate\.y\.weight"/],
    ["extra", (t) => (t["tower.z.weight"] = { dtype: "F32", shape: [1], data: new Float32Array(1) }), /unexpected tensor\(s\) "tower\.z\.weight"/],
    ["shape", (t) => (t["head.y.weight"] = { ...t["head.y.weight"], shape: [1, 3] }), /tensor "head\.y\.weight" has shape \[1,3\], expected \[3,1\]/],
    ["dtype", (t) => (t["head.y.bias"] = { dtype: "F64", shape: [1], data: new Float64Array(1) }), /tensor "head\.y\.bias" has dtype F64, expected F32/],
    ["nan", (t) => ((t["expert.1.0.bias"].data as Float32Array)[2] = NaN), /tensor "expert\.1\.0\.bias" has a non-finite value at element 2/],
  ];
  for (const [label, edit, re] of cases) {
    const r = await cli(["import", dir, "--from", file(model, edit)]);
    assert.is(r.code, 1, `${label}: ${r.text}`);
    assert.match(r.text, re, label);
    assert.equal(readFileSync(join(dir, "weights.safetensors")), before, `${label}: weights unchanged`);
  }
  const usage = await cli(["import", dir]);
  assert.is(usage.code, 2);
  assert.match(usage.text, /usage: mtl import DIR --from FILE\.safetensors/);
  model.dispose();
});

test("import serves the new weights: weights.safetensors, model.json's hash, model.onnx, predict", async () => {
  const { dir, model } = modelDir("good");
  const from = file(model, () => {});
  const r = await cli(["import", dir, "--from", from]);
  assert.is(r.code, 0, r.text);
  const got = deserialize(readFileSync(join(dir, "weights.safetensors"))).tensors;
  const want = deserialize(readFileSync(from)).tensors;
  for (const p of model.store.params) assert.equal(Array.from(got[p.name].data as Float32Array), Array.from(want[p.name].data as Float32Array), p.name);
  const j = JSON.parse(readFileSync(join(dir, "model.json"), "utf8"));
  assert.is(j.weights_sha256, sha256(readFileSync(join(dir, "weights.safetensors"))));
  // model.onnx was rewritten from the imported weights: it equals a fresh export of them.
  const m2 = new Model(spec, pre, k);
  m2.setWeights(Object.fromEntries(model.store.params.map((p) => [p.name, want[p.name].data as Float32Array])));
  assert.equal(readFileSync(join(dir, "model.onnx")), Buffer.from(exportOnnx(m2)));
  const csv = join(work, "rows.csv");
  writeFileSync(csv, "a,b,c\n1.5,0.2,q\n-3,4,zz\n");
  const pr = await cli(["predict", dir, "--data", csv, "--out", join(work, "pred.csv"), "--engine", "mtl"]);
  assert.is(pr.code, 0, pr.text);
  // predict DIR reads the imported weights: its values are those of the imported weights' own export.
  const s = await createSession(exportOnnx(m2), { engine: "mtl", kernels: k });
  const served = await s.run([{ a: "1.5", b: "0.2", c: "q" }, { a: "-3", b: "4", c: "zz" }]);
  await s.dispose();
  const [head, ...lines] = readFileSync(join(work, "pred.csv"), "utf8").trim().split("\n");
  assert.equal(head.split(","), ["y", "r"]);
  lines.forEach((l, i) => l.split(",").forEach((v, j) => assert.ok(Math.abs(Number(v) - served[["y", "r"][j]][i]) <= 1e-5 * Math.max(1, Math.abs(Number(v))), `pred.csv row ${i} column ${j}: ${v} vs ${served[["y", "r"][j]][i]}`)));
  m2.dispose();
  model.dispose();
});

test.after(() => rmSync(work, { recursive: true, force: true }));
test.run();
