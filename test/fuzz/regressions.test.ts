// Plain unit tests for the defects the fuzzers found in src/io/safetensors.ts and src/data/source.ts (fixed there), so they stay fixed
// whatever the fuzz seed explores.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { deserialize, serialize } from "../../src/io/safetensors.ts";
import { fromString, textLines } from "../../src/data/source.ts";
import { openJsonl } from "../../src/data/jsonl.ts";
import { loadTable } from "../../src/data/table.ts";
import { encodeRows, modelMeta, type ModelMeta } from "../../src/infer/rows.ts";
import { validateSpec } from "../../src/model/spec.ts";

function withHeader(header: string, data = new Uint8Array(0)): Uint8Array {
  const json = new TextEncoder().encode(header);
  const n = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + n + data.length).fill(0x20, 8, 8 + n);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  out.set(json, 8);
  out.set(data, 8 + n);
  return out;
}

test("safetensors: a metadata key \"__proto__\" round-trips as an own entry", () => {
  const metadata: Record<string, string> = {};
  Object.defineProperty(metadata, "__proto__", { value: "x", enumerable: true, writable: true, configurable: true });
  const back = deserialize(serialize({}, metadata));
  assert.ok(back.metadata && Object.hasOwn(back.metadata, "__proto__"));
  assert.is(Object.getOwnPropertyDescriptor(back.metadata, "__proto__")?.value, "x");
  assert.is(Object.getPrototypeOf(back.metadata), Object.prototype);
});

test("safetensors: a tensor named \"__proto__\" survives serialize (it used to set the header's prototype)", () => {
  const tensors = {};
  Object.defineProperty(tensors, "__proto__", { value: { dtype: "F32", shape: [2], data: Float32Array.of(1, 2) }, enumerable: true, writable: true, configurable: true });
  const back = deserialize(serialize(tensors));
  assert.equal(Object.keys(back.tensors), ["__proto__"]);
  assert.equal(Array.from(back.tensors["__proto__"].data as Float32Array), [1, 2]);
});

test("safetensors: deeply nested header values give a named error, not a RangeError from the message", () => {
  const deep = "[".repeat(50000) + "]".repeat(50000);
  for (const header of [`{"t":{"dtype":${deep},"shape":[],"data_offsets":[0,0]}}`, `{"t":{"dtype":"U8","shape":[${deep}],"data_offsets":[0,0]}}`, `{"t":{"dtype":"U8","shape":[1],"data_offsets":${deep}}}`]) {
    assert.throws(() => deserialize(withHeader(header)), (e: Error) => e.constructor === Error && /^safetensors: tensor "t": /.test(e.message) && e.message.length < 300);
  }
});


// src/data/source.ts textLines: a long line delivered in tiny chunks (a 1-byte chunked source, or a gzip stream that
// decompresses piecewise) used to cost O(length²); the JSON-lines and census readers sit on it.
test("textLines: a 1 MB line in 1-byte chunks is read in linear time, CR/LF handling unchanged", async () => {
  const long = "x".repeat(1 << 20);
  const t0 = performance.now();
  const lines: { text: string; line: number }[] = [];
  for await (const l of textLines(fromString("long.txt", `a\r\n${long}\r\nb\n\r\n\rc\r`, 1))) lines.push(l);
  const ms = performance.now() - t0;
  assert.equal(lines.map((l) => [l.text.length > 10 ? `${l.text.length}` : l.text, l.line]), [["a", 1], [`${1 << 20}`, 2], ["b", 3], ["", 4], ["\rc", 5]]);
  assert.ok(ms < 5000, `took ${ms.toFixed(0)} ms`);
});


test("jsonl: a value nested too deeply for a cell is an error naming the file, line and key (was a bare RangeError)", async () => {
  const deep = "[".repeat(20000) + "]".repeat(20000);
  const err = await openJsonl(fromString("deep.jsonl", `{"a": 1, "b": ${deep}}\n`))
    .then((s) => loadTable(s))
    .then(() => "no error", (e) => e);
  assert.instance(err, Error);
  assert.not.instance(err, RangeError);
  assert.match(String((err as Error).message), /^deep\.jsonl: line 1 \(data row 1\): key "b": /);
});

test("encodeRows: an object as a cell value is an error naming the row and column (was a bare TypeError)", () => {
  const meta = {
    spec: validateSpec({ inputs: { numeric: ["a"], categorical: ["c"] }, tasks: [{ name: "t", type: "binary", label: "y" }] }),
    pre: { numeric: [{ column: "a", mean: 0, std: 1 }], categorical: [{ column: "c", vocab: ["u"] }], tasks: [{ name: "t", classes: null, groups: null, target: null }] },
    inputs: { numeric: ["a"], categorical: ["c"] },
    outputs: { t: 1 },
  } as unknown as ModelMeta;
  const bad = Object.create(null);
  for (const row of [{ a: 1, c: bad }, { a: bad, c: "u" }, { a: 2, c: [1] }]) {
    let err: unknown = null;
    try {
      encodeRows(meta, [{ a: 0, c: "u" }, row as never]);
    } catch (e) {
      err = e;
    }
    assert.instance(err, Error);
    assert.not.instance(err, TypeError);
    assert.match(String((err as Error).message), /^row 2, column "[ac]": /);
  }
});

test("modelMeta: a numeric preprocessing entry without a string column or a positive std is refused, naming the key", () => {
  const bad = [{ column: -1, mean: 0.5, std: 2 }, { column: "a", mean: 0, std: 0 }, { column: "a", mean: "x", std: 1 }];
  for (const entry of bad) {
    const props = [
      { key: "mtl.format", value: "mtl-wasm/onnx" },
      { key: "mtl.spec", value: JSON.stringify({ inputs: { numeric: ["a"] }, tasks: [{ name: "t", type: "binary", label: "y" }] }) },
      { key: "mtl.preprocessing", value: JSON.stringify({ numeric: [entry], categorical: [], tasks: [] }) },
      { key: "mtl.inputs", value: JSON.stringify({ numeric: ["a"] }) },
    ];
    const model = { graph: { output: [] }, metadataProps: props } as never;
    assert.throws(() => modelMeta(model, "m.onnx"), /m\.onnx: metadata "mtl\.preprocessing"/);
  }
});

test.run();
