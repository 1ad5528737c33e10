// `mtl train` with weight averaging and ensembles on a generated CSV: with training.ema and early stopping, 2 epochs
// then --resume to 4 writes the same files, bit for bit, as 4 epochs at once (the average travels in
// state.safetensors); --ensemble 2 writes DIR/members/<i>/ and one DIR/model.onnx, and bad --ensemble values are named.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng, WASM_PATH } from "../helpers.ts";
import { main } from "../../src/cli/main.ts";
import { deserialize } from "../../src/io/safetensors.ts";

const dir = mkdtempSync(join(tmpdir(), "mtl-avg-"));
const compiled = WebAssembly.compile(readFileSync(WASM_PATH));

const rng = new Rng(3);
const lines = ["x0,x1,c,bin,reg"];
for (let i = 0; i < 600; i++) {
  const x0 = rng.normal(), x1 = rng.normal(), c = ["a", "b", "c"][rng.int(3)];
  lines.push([x0.toFixed(4), x1.toFixed(4), c, x0 + (c === "a" ? 1 : 0) > 0.2 ? "yes" : "no", (2 * x1 + 10 + 0.1 * rng.normal()).toFixed(3)].join(","));
}
writeFileSync(join(dir, "d.csv"), lines.join("\n") + "\n");
const config = (training: Record<string, unknown>) => ({
  name: "avg",
  data: { format: "csv", path: join(dir, "d.csv") },
  inputs: { numeric: ["x0", "x1"], categorical: [{ column: "c", dim: 2 }] },
  architecture: { type: "mmoe", experts: 2, layers: [{ units: 8, dropout: 0.1 }] },
  tasks: [
    { name: "bin", type: "binary", label: "bin", positive: "yes" },
    { name: "reg", type: "regression", label: "reg" },
  ],
  training: { epochs: 4, batch_size: 64, seed: 2, optimizer: { type: "adam", lr: 0.01 }, ...training },
});
writeFileSync(join(dir, "ema.json"), JSON.stringify(config({ ema: { decay: 0.9, warmup: true }, early_stopping: { metric: "loss", patience: 10 } })));
writeFileSync(join(dir, "plain.json"), JSON.stringify(config({})));

async function run(argv: string[]) {
  const out: string[] = [], err: string[] = [];
  let code: number;
  try {
    code = await main(argv, () => compiled, { log: (s) => out.push(s), error: (s) => err.push(s) });
  } catch (e) {
    code = -1;
    err.push((e as Error).message);
  }
  return { code, out: out.join("\n"), err: err.join("\n") };
}

test("training.ema with early stopping: 2 epochs + --resume to 4 = 4 epochs, bit for bit", async () => {
  const whole = join(dir, "whole"), parts = join(dir, "parts");
  assert.is((await run(["train", join(dir, "ema.json"), "--out", whole, "--threads", "1", "--quiet"])).code, 0);
  assert.is((await run(["train", join(dir, "ema.json"), "--out", parts, "--threads", "1", "--epochs", "2", "--quiet"])).code, 0);
  const r = await run(["train", join(dir, "ema.json"), "--out", parts, "--threads", "1", "--epochs", "4", "--resume", "--quiet"]);
  assert.is(r.code, 0, r.err);
  for (const f of ["weights.safetensors", "checkpoints/4/state.safetensors", "checkpoints/4/weights.safetensors"]) {
    assert.ok(Buffer.compare(readFileSync(join(whole, f)), readFileSync(join(parts, f))) === 0, `${f} differs after resuming`);
  }
  // The checkpoint carries the average, and the weights to use are it (not the latest weights).
  const st = deserialize(readFileSync(join(whole, "checkpoints/4/state.safetensors"))).tensors;
  const w = deserialize(readFileSync(join(whole, "checkpoints/4/weights.safetensors"))).tensors;
  const name = "head.bin.weight" in st ? "head.bin.weight" : Object.keys(w)[0];
  assert.ok(st[`average/${name}`], `state.safetensors has average/${name}`);
  assert.not.equal(Array.from(st[`param/${name}`].data as Float32Array), Array.from(w[name].data as Float32Array), "weights.safetensors is not the latest weights");
});

test("--ensemble 2: members/<i>/ with seeds 2 and 3, one model.onnx, metrics.json with members and the ensemble", async () => {
  const out = join(dir, "ens");
  const r = await run(["train", join(dir, "plain.json"), "--out", out, "--threads", "1", "--ensemble", "2"]);
  assert.is(r.code, 0, r.err);
  for (const i of [0, 1]) for (const f of ["model.json", "weights.safetensors", "model.onnx", "metrics.json"]) assert.ok(existsSync(join(out, "members", String(i), f)), `members/${i}/${f}`);
  assert.equal([0, 1].map((i) => JSON.parse(readFileSync(join(out, "members", String(i), "model.json"), "utf8")).spec.training.seed), [2, 3]);
  const m = JSON.parse(readFileSync(join(out, "metrics.json"), "utf8"));
  assert.is(m.ensemble.members.length, 2);
  assert.ok(m.ensemble.onnx.max_abs_diff <= 1e-5, `ort vs mean of members ${m.ensemble.onnx.max_abs_diff}`);
  assert.ok(Number.isFinite(m.ensemble.validation.bin.auc));
  assert.match(r.out, /ensemble of 2 \(seeds 2, 3\), validation: /);
});

test("bad --ensemble values are usage errors naming the flag", async () => {
  for (const v of ["1", "65", "x"]) {
    const r = await run(["train", join(dir, "plain.json"), "--out", join(dir, "bad"), "--ensemble", v]);
    assert.ok(r.code !== 0 && /--ensemble/.test(r.err), `--ensemble ${v}: ${r.err}`);
  }
  const r = await run(["train", join(dir, "plain.json"), "--out", join(dir, "bad"), "--ensemble", "2", "--single-task"]);
  assert.match(r.err, "--ensemble and --single-task do not combine");
});

test.run();
