// data.path is optional: validateSpec accepts a data section without it (the normalized spec leaves it out, so the
// spec validates again, e.g. from model.json), and train() reads the format and delimiter from such a section and
// trains exactly as with a path, which it ignores.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { WASM_PATH } from "../helpers.ts";
import { train } from "../../src/api/train.ts";
import { SpecError, validateSpec } from "../../src/model/spec.ts";
import { parseModelJson } from "../../src/io/checkpoint.ts";

const compiled = WebAssembly.compile(readFileSync(WASM_PATH));

const spec = (data: Record<string, unknown>) => ({
  name: "nopath",
  data,
  inputs: { numeric: ["x0", "x1"], categorical: ["c"] },
  architecture: { type: "hps", layers: [6] },
  tasks: [{ name: "y", type: "regression", label: "y" }],
  training: { epochs: 3, batch_size: 16, seed: 5, validation: 0, optimizer: { type: "adam", lr: 0.02 } },
});

/** 120 seeded rows with ";" between fields: y = 2·x0 − x1 (+ 0.5 for category a). */
function csvBytes(): { bytes: Uint8Array; ys: number[] } {
  let s = 9;
  const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0), s / 2 ** 32);
  const lines = ["x0;x1;c;y"], ys: number[] = [];
  for (let i = 0; i < 120; i++) {
    const x0 = rnd() * 2 - 1, x1 = rnd() * 2 - 1, c = i % 2 ? "b" : "a";
    const y = 2 * x0 - x1 + (c === "a" ? 0.5 : 0);
    ys.push(Number(y.toFixed(4)));
    lines.push(`${x0.toFixed(4)};${x1.toFixed(4)};${c};${y.toFixed(4)}`);
  }
  return { bytes: new TextEncoder().encode(lines.join("\n") + "\n"), ys };
}

test("validateSpec: data without path is valid and stays without path; an empty path is still an error", () => {
  const s = validateSpec(spec({ format: "csv", delimiter: ";" }));
  assert.equal(s.data, { format: "csv", delimiter: ";", stratify: null });
  assert.not.ok("path" in s.data!, "the normalized spec has no path key");
  // The normalized spec validates again (train() re-validates it for opts.epochs; model.json is read back through it).
  assert.equal(validateSpec(JSON.parse(JSON.stringify(s))), s);
  assert.equal(validateSpec(spec({ format: "csv", path: "d.csv" })).data!.path, "d.csv");
  try {
    validateSpec(spec({ format: "csv", path: "" }));
    assert.unreachable("an empty path was accepted");
  } catch (e) {
    assert.instance(e, SpecError);
    assert.is((e as Error).message, 'data.path: expected a non-empty string, found ""');
  }
});

test("train(): a data section without path sets the format and delimiter; the weights equal a run with a path", async () => {
  const { bytes, ys } = csvBytes();
  const k = await compiled;
  const quiet = { kernels: k, onWarning: () => {} };
  const a = await train(spec({ format: "csv", delimiter: ";" }), bytes, { ...quiet, epochs: 4 });
  const b = await train(spec({ format: "csv", delimiter: ";", path: "never-read.csv" }), bytes, { ...quiet, epochs: 4 });
  assert.equal(a.rows, { train: 120, validation: 0 });
  assert.is(a.history.length, 4, "opts.epochs applied (the spec without path was validated again)");
  assert.equal(a.save().weights, b.save().weights);
  // The ";" delimiter was read: the predictions track y (an independent float64 check on the training rows).
  const text = new TextDecoder().decode(bytes).trim().split("\n").slice(1).map((l) => l.split(";"));
  const p = (await a.predict(text.map(([x0, x1, c]) => ({ x0, x1, c })))).y;
  let se = 0, sv = 0;
  const mean = ys.reduce((t, y) => t + y, 0) / ys.length;
  ys.forEach((y, i) => ((se += (p[i] - y) ** 2), (sv += (y - mean) ** 2)));
  assert.ok(1 - se / sv > 0.5, `r² ${1 - se / sv}`);
  // model.json carries the spec without a path, and reads back.
  const j = parseModelJson(a.save().modelJson, "model.json");
  assert.equal(j.spec.data, { format: "csv", delimiter: ";", stratify: null });
  for (const r of [a, b]) await r.dispose();
});

test.run();
