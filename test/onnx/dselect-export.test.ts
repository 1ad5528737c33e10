// DSelect-k export parity: the exported ONNX gate (Clip + cubic smooth-step, codes as constant bit patterns,
// ReduceProd, Softmax, weighted sum) run by onnxruntime-web and by the mtl engine (which imports it back into one
// dselect_gate node) equals our wasm forward within 1e-5, e a power of two or not; the python3-onnx checker
// accepts the files; the objective terms never reach the export.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup, Rng } from "../helpers.ts";
import { validateSpec } from "../../src/model/spec.ts";
import { Model } from "../../src/model/model.ts";
import { Table } from "../../src/data/table.ts";
import { encode, fitPreprocessing } from "../../src/data/preprocess.ts";
import { exportOnnx } from "../../src/onnx/export.ts";
import { decodeModel } from "../../src/onnx/model.ts";
import { importOnnx } from "../../src/onnx/import.ts";
import { encodeRows, modelMetaFromBytes, type Row } from "../../src/infer/rows.ts";
import { createOrtRunner } from "../../src/infer/ort.ts";
import { createSession } from "../../src/infer/session.ts";
import { checkWithPython } from "./checker.ts";
import { skipOrFail } from "../skip.ts";

const { k } = await setup();

function rows(n: number, seed: number): Row[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const x = [rng.normal() * 3 + 10, rng.normal(), rng.normal() * 0.1];
    return { a: x[0].toFixed(3), b: x[1].toFixed(3), c: x[2].toFixed(4), colour: ["red", "green", "blue"][rng.int(3)], yb: x[1] > 0 ? "1" : "0", yc: ["p", "q", "r"][rng.int(3)], yr: (5 * x[1] + 20).toFixed(2) };
  });
}

const specOf = (experts: number, kk: number, gamma: number) =>
  validateSpec({
    name: `dselect-${experts}`,
    inputs: { numeric: ["a", "b", "c"], categorical: ["colour"] },
    architecture: { type: "dselect_k", experts, k: kk, gamma, entropy: 0.1, layers: [{ units: 6, activation: "tanh" }] },
    tasks: [
      { name: "bin", type: "binary", label: "yb", tower: [4] },
      { name: "cls", type: "multiclass", label: "yc" },
      { name: "reg", type: "regression", label: "yr", tower: [{ units: 3, activation: "gelu" }] },
    ],
  });

const maxAbs = (a: Float32Array, b: Float32Array) => {
  assert.is(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

const exported: Uint8Array[] = [];
for (const [E, K, gamma] of [[8, 2, 1], [5, 3, 0.6], [2, 1, 2]] as const) {
  test(`dselect_k ${E} experts, k = ${K}, γ = ${gamma}: onnxruntime-web and the mtl engine equal our forward within 1e-5`, async () => {
    const spec = specOf(E, K, gamma);
    const train = rows(200, 1), probe = rows(64, 2);
    const pre = fitPreprocessing(spec, Table.fromRecords("train", train as Record<string, string>[]), Uint32Array.from({ length: 200 }, (_, i) => i));
    const model = new Model(spec, pre, k);
    model.initParams(5);
    // Spread z over both sides of the smooth-step's band (the initializer keeps it mid-band) and perturb the rest.
    const rng = new Rng(9), w = model.getWeights();
    for (const [name, v] of Object.entries(w)) v.forEach((x, i) => (v[i] = x + (name.includes(".z.") ? 0.8 * gamma : 0.2) * rng.normal()));
    model.setWeights(w);
    const bytes = exportOnnx(model);
    exported.push(bytes);
    const onnxOps = decodeModel(bytes).graph.node.map((n) => n.opType);
    for (const op of ["Clip", "ReduceProd", "Softmax"]) assert.ok(onnxOps.includes(op), `the export has ${op}`);
    // The mtl engine reads each gate back as one dselect_gate node.
    const imported = importOnnx(decodeModel(bytes)).graph.nodes.filter((n) => n.op === "dselect_gate");
    assert.equal(imported.map((n) => [n.attrs.experts, n.attrs.k, n.attrs.gamma]), spec.tasks.map(() => [E, K, Math.fround(gamma)])); // γ/2 travels as a float32 Clip bound
    const ours = model.predict(encode(spec, pre, Table.fromRecords("probe", probe as Record<string, string>[]), undefined, { labels: false }));
    const ort = await (await createOrtRunner(bytes)).run(encodeRows(modelMetaFromBytes(bytes), probe));
    const mtl = await createSession(bytes, { engine: "mtl", kernels: k });
    const viaMtl = await mtl.run(probe), seven = await mtl.run(probe.slice(0, 7));
    spec.tasks.forEach((t, i) => {
      assert.ok(maxAbs(ort[t.name], ours[i]) <= 1e-5, `${t.name}: max |ort − ours| = ${maxAbs(ort[t.name], ours[i]).toExponential(2)}`);
      assert.ok(maxAbs(viaMtl[t.name], ours[i]) <= 1e-5, `${t.name}: max |mtl − ours| = ${maxAbs(viaMtl[t.name], ours[i]).toExponential(2)}`);
      const width = model.dims.outputs[i];
      assert.ok(maxAbs(seven[t.name], ours[i].slice(0, 7 * width)) <= 1e-5, `${t.name}: batch of seven`);
    });
    // Not a constant gate: the outputs vary across rows (so the parity above says something).
    assert.ok(maxAbs(ours[0].slice(0, 32), ours[0].slice(32, 64)) > 1e-2, "outputs vary across rows");
  });
}

test("the python3-onnx checker accepts the DSelect-k exports (full check, strict shape inference)", () => {
  const r = checkWithPython(exported);
  if (!r.available) return skipOrFail("python3-onnx checker on the DSelect-k exports", `checker unavailable (${r.output})`);
  assert.ok(r.ok, r.output);
  assert.is(r.output.split("\n").filter((l) => l.startsWith("OK")).length, exported.length, r.output);
});

test.run();
