// mtl export --out to a place it cannot write: a named error (file and folder), exit 2, before the model is loaded;
// and the successful export next to it, for contrast.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WASM_PATH } from "../helpers.ts";
import { train } from "../../src/api/train.ts";
import { main } from "../../src/cli/main.ts";

const compiled = WebAssembly.compile(readFileSync(WASM_PATH));
const dir = mkdtempSync(join(tmpdir(), "mtl-export-"));

async function run(argv: string[]) {
  const out: string[] = [], err: string[] = [];
  const code = await main(argv, () => compiled, { log: (s) => out.push(s), error: (s) => err.push(s) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

test("export to a missing folder, a file's folder or a folder: named errors; to an existing folder: the file", async () => {
  const rows = Array.from({ length: 40 }, (_, i) => ({ x: i / 40, y: (i % 3) / 2 }));
  const r = await train({ inputs: { numeric: ["x"] }, tasks: [{ name: "y", type: "regression", label: "y" }], training: { epochs: 1, validation: 0 } }, rows, { kernels: await compiled, onWarning: () => {} });
  const m = join(dir, "m");
  mkdirSync(m);
  const saved = r.save();
  writeFileSync(join(m, "model.json"), saved.modelJson);
  writeFileSync(join(m, "weights.safetensors"), saved.weights);
  await r.dispose();

  const missing = join(dir, "no", "such", "dir");
  const a = await run(["export", m, "--out", join(missing, "model.onnx")]);
  assert.is(a.code, 2);
  assert.is(a.err, `mtl export: cannot write ${join(missing, "model.onnx")}: folder ${missing} does not exist`);
  assert.not.ok(existsSync(missing));
  writeFileSync(join(dir, "file"), "x");
  const b = await run(["export", m, "--out", join(dir, "file", "model.onnx")]);
  assert.is(b.err, `mtl export: cannot write ${join(dir, "file", "model.onnx")}: ${join(dir, "file")} is not a folder`);
  const c = await run(["export", m, "--out", m]);
  assert.is(c.err, `mtl export: cannot write ${m}: it is a folder; give a file name (e.g. ${join(m, "model.onnx")})`);
  const ok = await run(["export", m, "--out", join(dir, "x.onnx")]);
  assert.is(ok.code, 0, ok.err);
  assert.ok(readFileSync(join(dir, "x.onnx")).length > 100);
});

test.run();
