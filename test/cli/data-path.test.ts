// mtl train with a config whose data section has no path (or no data section): without --data it is a usage error
// naming the config; with --data it trains exactly as a config that names the same file, and the model directory
// (whose spec has no path) serves mtl predict.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng, WASM_PATH } from "../helpers.ts";
import { main } from "../../src/cli/main.ts";

const dir = mkdtempSync(join(tmpdir(), "mtl-data-path-"));
const compiled = WebAssembly.compile(readFileSync(WASM_PATH));
const DATA = join(dir, "rows.csv");

const config = (data: Record<string, unknown> | undefined) => ({
  name: "nopath",
  ...(data ? { data } : {}),
  inputs: { numeric: ["x0", "x1"] },
  architecture: { type: "hps", layers: [4] },
  tasks: [{ name: "y", type: "binary", label: "y" }],
  training: { epochs: 2, batch_size: 16, seed: 2 },
});

const rng = new Rng(4);
const lines = ["x0,x1,y"];
for (let i = 0; i < 80; i++) {
  const x0 = rng.normal(), x1 = rng.normal();
  lines.push(`${x0.toFixed(4)},${x1.toFixed(4)},${x0 - x1 > 0 ? 1 : 0}`);
}
writeFileSync(DATA, lines.join("\n") + "\n");
const write = (name: string, json: unknown) => (writeFileSync(join(dir, name), JSON.stringify(json)), join(dir, name));
const NOPATH = write("nopath.json", config({ format: "csv" }));
const NODATA = write("nodata.json", config(undefined));
const WITHPATH = write("withpath.json", config({ format: "csv", path: DATA }));

async function run(argv: string[]) {
  const out: string[] = [], err: string[] = [];
  const code = await main(argv, () => compiled, { log: (s) => out.push(s), error: (s) => err.push(s), progress: null });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

test("no data.path and no --data: a usage error naming the config, before anything is written", async () => {
  for (const cfg of [NOPATH, NODATA]) {
    const out = join(dir, `never-${cfg === NOPATH ? "a" : "b"}`);
    const r = await run(["train", cfg, "--out", out, "--quiet"]);
    assert.is(r.code, 2, r.err);
    assert.is(r.err, `mtl train: ${cfg} has no data.path; pass --data FILE`);
    assert.not.ok(existsSync(out), `${out} was created`);
  }
});

test("with --data it trains as a config naming the file does; its model directory predicts", async () => {
  const a = await run(["train", NOPATH, "--data", DATA, "--out", join(dir, "a"), "--threads", "1", "--quiet"]);
  assert.is(a.code, 0, a.err);
  const b = await run(["train", WITHPATH, "--out", join(dir, "b"), "--threads", "1", "--quiet"]);
  assert.is(b.code, 0, b.err);
  assert.equal(readFileSync(join(dir, "a", "weights.safetensors")), readFileSync(join(dir, "b", "weights.safetensors")));
  assert.is(JSON.parse(readFileSync(join(dir, "a", "metrics.json"), "utf8")).data, DATA);
  assert.equal(JSON.parse(readFileSync(join(dir, "a", "model.json"), "utf8")).spec.data, { format: "csv", delimiter: ",", stratify: null });
  const p = await run(["predict", join(dir, "a"), "--data", DATA, "--out", join(dir, "pred.csv")]);
  assert.is(p.code, 0, p.err);
  assert.is(readFileSync(join(dir, "pred.csv"), "utf8").trim().split("\n").length, 81);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
