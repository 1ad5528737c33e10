// mtl train prints the data warnings (a task without labels in the training split) and stops on data that makes
// training meaningless (no training rows, a header-only file), naming the file and the task.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WASM_PATH } from "../helpers.ts";
import { main } from "../../src/cli/main.ts";

const dir = mkdtempSync(join(tmpdir(), "mtl-warn-"));
const compiled = WebAssembly.compile(readFileSync(WASM_PATH));
const kernels = () => compiled;

function run(config: unknown, csv: string) {
  writeFileSync(join(dir, "d.csv"), csv);
  writeFileSync(join(dir, "c.json"), JSON.stringify(config));
  const lines: string[] = [];
  return main(["train", join(dir, "c.json"), "--out", join(dir, "out"), "--quiet"], kernels, { log: (s: string) => void lines.push(s), error: (s: string) => void lines.push(s) })
    .then((code) => ({ code, text: lines.join("\n") }), (e) => ({ code: -1, text: `${lines.join("\n")}\nthrown: ${(e as Error).message}` }));
}

const config = (extra: Record<string, unknown> = {}) => ({
  name: "warn",
  data: { format: "csv", path: join(dir, "d.csv") },
  inputs: { numeric: ["x"] },
  architecture: { type: "hps", layers: [4] },
  tasks: [
    { name: "a", type: "binary", label: "ya" },
    { name: "b", type: "regression", label: "yb" },
  ],
  training: { epochs: 1, batch_size: 8, ...extra },
});

const rows = (n: number, yb: (i: number) => string) => ["x,ya,yb", ...Array.from({ length: n }, (_, i) => `${(i % 7) / 3},${i % 2},${yb(i)}`)].join("\n") + "\n";

test("a task whose labels are all missing in the training split is a warning line", async () => {
  const r = await run(config(), rows(40, () => ""));
  assert.match(r.text, /warning: .*task "b"/);
  assert.match(r.text, /loss is 0/);
});

test("a header-only file stops with an error naming it", async () => {
  const r = await run(config(), "x,ya,yb\n");
  assert.ok(r.code !== 0, r.text);
  assert.match(r.text, /d\.csv.*no data rows/);
});

test("clean data prints no warning", async () => {
  const r = await run(config(), rows(40, (i) => String(i / 10)));
  assert.is(r.code, 0, r.text);
  assert.not.match(r.text, /warning:/);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
