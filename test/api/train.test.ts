// The high-level API (src/api/train.ts): train(spec, rows | Table | CSV, opts) gives the same model as `mtl train`
// on the same data and seed (bit for bit), and its predict / export / save agree with the model and with the CLI's readers.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WASM_PATH, rejects } from "../helpers.ts";
import { train } from "../../src/api/train.ts";
import { Table } from "../../src/data/table.ts";
import { main } from "../../src/cli/main.ts";
import { createSession } from "../../src/infer/session.ts";
import { loadKernels } from "../../src/runtime/load.ts";

const compiled = WebAssembly.compile(readFileSync(WASM_PATH));
const dir = mkdtempSync(join(tmpdir(), "mtl-api-"));

const spec = {
  name: "api",
  inputs: { numeric: ["x0", "x1", "x2"], categorical: [{ column: "color", dim: 3 }] },
  architecture: { type: "hps", layers: [8] },
  tasks: [
    { name: "big", type: "binary", label: "y" },
    { name: "size", type: "regression", label: "r" },
  ],
  training: { epochs: 8, batch_size: 16, seed: 7 },
};

/** 200 seeded rows: numbers as JS numbers, one missing cell (null). */
function rows(n = 200) {
  let s = 12345;
  const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0), s / 2 ** 32);
  return Array.from({ length: n }, (_, i) => {
    const x0 = rnd() * 2 - 1, x1 = rnd() * 2 - 1, x2 = i === 5 ? null : rnd();
    const color = ["red", "green", "blue"][i % 3];
    return { x0, x1, x2, color, y: x0 + 0.5 * x1 > 0 ? 1 : 0, r: 3 * x0 - x1 + (color === "red" ? 1 : 0) };
  });
}
const csv = (rs: Record<string, unknown>[]) => [Object.keys(rs[0]).join(","), ...rs.map((r) => Object.values(r).map((v) => (v === null ? "" : String(v))).join(","))].join("\n") + "\n";

test("train on rows: history, metrics, predict equals the model's forward and the ONNX export in onnxruntime-web", async () => {
  const data = rows();
  const run = await train(spec, data, { kernels: await compiled, onWarning: (w) => assert.unreachable(w.message) });
  assert.is(run.history.length, 8);
  assert.is(run.rows.train + run.rows.validation, 200);
  assert.ok(run.rows.validation > 20 && run.rows.validation < 60, `validation ${run.rows.validation}`);
  assert.ok(run.metrics.big.auc > 0.8, `auc ${run.metrics.big.auc}`);
  const probe = data.slice(0, 10).map(({ y: _, r: __, ...inputs }) => inputs);
  const p = await run.predict(probe);
  assert.equal(Object.keys(p).sort(), ["big", "size"]);
  assert.is(p.big.length, 10);
  const onnx = run.export();
  assert.ok(onnx.length > 1000);
  const ort = await createSession(onnx, { engine: "ort" });
  const q = await ort.run(probe);
  for (const t of ["big", "size"]) p[t].forEach((v, i) => assert.ok(Math.abs(v - q[t][i]) < 1e-5, `${t}[${i}] mtl ${v} vs ort ${q[t][i]}`));
  await ort.dispose();
  await run.dispose();
});

test("rows, a Table and CSV text give the same weights; the same seed twice too", async () => {
  const k = await compiled;
  const data = rows();
  const a = await train(spec, data, { kernels: k });
  const text = csv(data);
  const b = await train(spec, text, { kernels: k });
  const c = await train(spec, Table.fromRecords("t.csv", data.map((r) => Object.fromEntries(Object.entries(r).map(([key, v]) => [key, v === null ? "" : String(v)])))), { kernels: k });
  const d = await train(spec, new TextEncoder().encode(text), { kernels: await loadKernels(k) });
  const w = (r: typeof a) => r.save().weights;
  assert.equal(w(a), w(b));
  assert.equal(w(a), w(c));
  assert.equal(w(a), w(d));
  const e = await train(spec, data, { kernels: k, seed: 8 });
  assert.not.equal(w(a), w(e));
  for (const r of [a, b, c, d, e]) await r.dispose();
});

test("the same weights as `mtl train` on the same CSV and seed; save() is a model directory the CLI reads", async () => {
  const data = rows();
  writeFileSync(join(dir, "d.csv"), csv(data));
  writeFileSync(join(dir, "c.json"), JSON.stringify({ ...spec, data: { format: "csv", path: join(dir, "d.csv") } }));
  const code = await main(["train", join(dir, "c.json"), "--out", join(dir, "cli"), "--quiet"], () => compiled, { log: () => {}, error: (s) => assert.unreachable(s) });
  assert.is(code, 0);
  const run = await train(spec, data, { kernels: await compiled });
  const saved = run.save();
  assert.equal(saved.weights, new Uint8Array(readFileSync(join(dir, "cli", "weights.safetensors"))));
  const cliMetrics = JSON.parse(readFileSync(join(dir, "cli", "metrics.json"), "utf8")).validation;
  assert.equal(JSON.parse(JSON.stringify(run.metrics)), cliMetrics);
  // save() → DIR that `mtl predict DIR` reads (in-wasm forward) and that predicts what run.predict does.
  writeFileSync(join(dir, "model.json"), saved.modelJson);
  writeFileSync(join(dir, "weights.safetensors"), saved.weights);
  writeFileSync(join(dir, "in.csv"), csv(data.slice(0, 5).map(({ y: _, r: __, ...i }) => i)));
  assert.is(await main(["predict", dir, "--data", join(dir, "in.csv"), "--out", join(dir, "p.csv")], () => compiled, { log: () => {}, error: (s) => assert.unreachable(s) }), 0);
  const lines = readFileSync(join(dir, "p.csv"), "utf8").trim().split("\n");
  assert.is(lines[0], "big,size");
  const p = await run.predict(data.slice(0, 5));
  lines.slice(1).forEach((l, i) => {
    const [big, size] = l.split(",").map(Number);
    assert.ok(Math.abs(big - p.big[i]) < 1e-5 && Math.abs(size - p.size[i]) < 1e-4, `row ${i}: ${l} vs ${p.big[i]},${p.size[i]}`);
  });
  await run.dispose();
});

test("a validation set of its own; validation 0 trains on every row", async () => {
  const k = await compiled;
  const data = rows(240);
  const run = await train(spec, data.slice(0, 200), { kernels: k, validation: data.slice(200) });
  assert.equal(run.rows, { train: 200, validation: 40 });
  assert.ok(run.metrics.size.rmse > 0);
  const all = await train(spec, data, { kernels: k, validation: 0, onWarning: () => {} });
  assert.equal(all.rows, { train: 240, validation: 0 });
  assert.equal(all.metrics, {});
  await run.dispose();
  await all.dispose();
});

test("errors name what is wrong: the spec field, the column, the row, missing kernels", async () => {
  const k = await compiled;
  await rejects(train({ ...spec, tasks: [{ name: "big", type: "binary", label: "y", loss: "mse" }] }, rows(), { kernels: k }), "tasks[0].loss");
  await rejects(train(spec, rows().map(({ x1: _, ...r }) => r), { kernels: k }), 'no column "x1"');
  const bad = rows();
  (bad[17] as Record<string, unknown>).x0 = "1.2.3";
  await rejects(train(spec, bad, { kernels: k }), "row 18", "x0", "1.2.3");
  await rejects(train(spec, [1, 2] as never, { kernels: k }), "row 1 is number");
  await rejects(train(spec, rows()), "no kernels");
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
