// `mtl train` without a validation split (training.validation 0) and with a validation file of its own
// (data.validation_path): no vacuous "0 validation rows" lines, the last epoch kept, metrics.json without an empty
// validation check; the separate file's rows are the validation rows (all of them, none split off the training file);
// --single-task without validation rows is refused by name.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng, WASM_PATH } from "../helpers.ts";
import { main } from "../../src/cli/main.ts";

const dir = mkdtempSync(join(tmpdir(), "mtl-val-"));
const compiled = WebAssembly.compile(readFileSync(WASM_PATH));

function csv(path: string, n: number, seed: number) {
  const rng = new Rng(seed);
  const lines = ["x0,x1,y"];
  for (let i = 0; i < n; i++) {
    const x0 = rng.normal(), x1 = rng.normal();
    lines.push([x0.toFixed(4), x1.toFixed(4), x0 - x1 + 0.3 * rng.normal() > 0 ? 1 : 0].join(","));
  }
  writeFileSync(path, lines.join("\n") + "\n");
}
csv(join(dir, "train.csv"), 300, 1);
csv(join(dir, "val.csv"), 77, 2);

const spec = (data: Record<string, unknown>, training: Record<string, unknown>) => ({
  name: "v",
  data: { format: "csv", path: join(dir, "train.csv"), ...data },
  inputs: { numeric: ["x0", "x1"] },
  architecture: { type: "hps", layers: [4] },
  tasks: [{ name: "y", type: "binary", label: "y" }],
  training: { epochs: 3, batch_size: 32, ...training },
});

async function run(name: string, s: unknown, extra: string[] = []) {
  writeFileSync(join(dir, `${name}.json`), JSON.stringify(s));
  const lines: string[] = [], errors: string[] = [];
  const code = await main(["train", join(dir, `${name}.json`), "--out", join(dir, name), "--threads", "1", ...extra], () => compiled, { log: (l) => void lines.push(l), error: (l) => void errors.push(l) });
  return { code, out: lines.join("\n"), err: errors.join("\n") };
}

test("validation 0: every row trains, the last epoch is kept, no line about 0 validation rows", async () => {
  const r = await run("zero", spec({}, { validation: 0 }));
  assert.is(r.code, 0, r.err);
  assert.not.match(r.out, /0 validation rows|validation \(epoch/);
  assert.match(r.out, /trained on every row \(validation 0\): kept the last epoch, 3/);
  const m = JSON.parse(readFileSync(join(dir, "zero", "metrics.json"), "utf8"));
  assert.equal(m.rows, { train: 300, validation: 0 });
  assert.is(m.best_epoch, 3);
  assert.is(m.onnx.ort_validation, undefined);
});

test("data.validation_path: its rows are the validation rows, the training file is not split", async () => {
  const r = await run("file", spec({ validation_path: join(dir, "val.csv") }, { validation: 0 }));
  assert.is(r.code, 0, r.err);
  const m = JSON.parse(readFileSync(join(dir, "file", "metrics.json"), "utf8"));
  assert.equal(m.rows, { train: 300, validation: 77 });
  assert.match(r.out, /on 77 validation rows/);
  assert.ok(m.validation.y.auc > 0.7, `auc ${m.validation.y.auc}`);
});

test("--single-task without validation rows is refused by name", async () => {
  const r = await run("single", spec({}, { validation: 0 }), ["--single-task"]);
  assert.is(r.code, 2);
  assert.match(r.err, /--single-task compares validation metrics \(Δm\), and training.validation is 0/);
});

test.run();
