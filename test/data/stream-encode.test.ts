// The streaming encoder (RowEncoder) against encode() on a Table of the same rows: bit-identical Encoded arrays
// (missing cells and tokens, unknown categories, positive-valued and 0/1 labels, multiclass with a missing label,
// groups, standardized regression targets, a short last chunk), and the same error, word for word, for each bad cell
// (and the same first error when a chunk holds several).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { validateSpec, type ModelSpec } from "../../src/model/spec.ts";
import { fromString } from "../../src/data/source.ts";
import { readTable } from "../../src/data/load.ts";
import { encode, fitPreprocessing, type Encoded, type Preprocessing } from "../../src/data/preprocess.ts";
import { rowChunks } from "../../src/data/stream-rows.ts";
import { RowEncoder } from "../../src/data/stream-encode.ts";
import { Rng } from "../helpers.ts";
import type { Table } from "../../src/data/table.ts";

const spec: ModelSpec = validateSpec({
  data: { format: "csv", streaming: true },
  inputs: { numeric: ["x", "y"], categorical: [{ column: "color", min_count: 2 }], missing: ["", "?"], nonfinite: "missing" },
  tasks: [
    { name: "kind", type: "multiclass", label: "kind" },
    { name: "clicked", type: "binary", label: "clicked", positive: ["yes"], group_by: "shop" },
    { name: "flag", type: "binary", label: "flag" },
    { name: "spend", type: "regression", label: "spend" },
  ],
  training: { seed: 1, validation: 0 },
});
const HEADER = "x,y,color,kind,clicked,flag,shop,spend";

function csv(n: number): string {
  const rng = new Rng(9);
  const lines = [HEADER];
  for (let i = 0; i < n; i++) {
    const x = [" 1.25 ", "", "?", "inf", (rng.normal() * 1e3).toPrecision(7), "3e-2"][i % 6 === 0 ? Math.floor(rng.next() * 6) : 4];
    const y = (rng.normal() * 5 - 2).toFixed(3);
    const color = rng.next() < 0.1 ? `once${i}` : ["red", " green", "blue "][Math.floor(rng.next() * 3)];
    const kind = ["a", "b", "c", ""][Math.floor(rng.next() * 4)];
    lines.push([x, y, color, kind, rng.next() < 0.4 ? "yes" : "no", rng.next() < 0.1 ? "?" : rng.next() < 0.5 ? "1" : "0", `s${i % 5}`, (rng.normal() * 30 + 100).toFixed(2)].join(","));
  }
  return lines.join("\n") + "\n";
}

/** Every chunk of the text through a RowEncoder (the last one short), concatenated per array as bytes. */
async function streamed(text: string, pre: Preprocessing, size: number): Promise<Uint8Array[][]> {
  const parts: Uint8Array[][] = [];
  let enc: RowEncoder | null = null;
  for await (const c of rowChunks(spec, () => fromString("d.csv", text, 64), "all", size)) {
    enc ??= new RowEncoder(spec, pre, c.name, c.columns, size);
    parts.push(arrays(enc.encode(c)));
  }
  return parts[0].map((_, a) => parts.map((p) => p[a]));
}

const all = (t: Table) => Uint32Array.from({ length: t.rowCount }, (_, i) => i);
const bytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice();
const arrays = (e: Encoded): Uint8Array[] => [bytes(e.numeric), ...e.categorical.map(bytes), bytes(e.tensor), ...e.tasks.flatMap((t) => [bytes(t.labels), bytes(t.mask), bytes(t.group)])];
const concat = (xs: Uint8Array[]) => {
  const out = new Uint8Array(xs.reduce((a, x) => a + x.length, 0));
  let o = 0;
  for (const x of xs) out.set(x, o), (o += x.length);
  return out;
};

test("RowEncoder equals encode() bit for bit, chunk by chunk (missing, unknown, labels, groups, targets)", async () => {
  const text = csv(1000);
  const table = await readTable(fromString("d.csv", text), spec.data!);
  const pre = fitPreprocessing(spec, table, all(table));
  const whole = arrays(encode(spec, pre, table));
  const got = await streamed(text, pre, 97); // 1000 = 10 · 97 + 30: a short last chunk
  assert.is(got.length, whole.length);
  got.forEach((parts, a) => assert.ok(Buffer.compare(concat(parts), whole[a]) === 0, `array ${a} differs`));
  // The data exercises what it should: missing numerics (→ 0), unknown categories (→ 0), a missing class (−1).
  const e = encode(spec, pre, table);
  assert.ok(e.numeric.some((v, i) => i % 2 === 0 && v === 0), "missing x → 0");
  assert.ok(e.categorical[0].some((v) => v === 0), "unknown color → 0");
  assert.ok((e.tasks[0].labels as Int32Array).some((v) => v === -1), "missing kind → −1");
  assert.ok(e.tasks[2].mask.some((v) => v === 0), "missing flag → mask 0");
});

/** The error encode() throws on the text, and RowEncoder's (the chunk holds every row). */
async function errors(text: string, pre: Preprocessing): Promise<[string, string]> {
  const msg = async (f: () => unknown) => {
    try {
      await f();
    } catch (e) {
      return (e as Error).message;
    }
    return "no error";
  };
  const a = await msg(async () => encode(spec, pre, await readTable(fromString("d.csv", text), spec.data!)));
  const b = await msg(async () => {
    let enc: RowEncoder | null = null;
    for await (const c of rowChunks(spec, () => fromString("d.csv", text), "all", 4096)) (enc ??= new RowEncoder(spec, pre, c.name, c.columns, 4096)).encode(c);
  });
  return [a, b];
}

test("bad cells: RowEncoder's error is encode()'s, naming file, row, line and column", async () => {
  const good = csv(200);
  const gt = await readTable(fromString("d.csv", good), spec.data!);
  const pre = fitPreprocessing(spec, gt, all(gt));
  const lines = good.trim().split("\n");
  const put = (row: number, col: number, v: string, ls = lines.slice()) => {
    const f = ls[row].split(",");
    f[col] = v;
    ls[row] = f.join(",");
    return ls;
  };
  const cases: [string, string[], string][] = [
    ["a non-number x", put(7, 0, "abc"), 'data row 7 (line 8), column "x": value "abc" is not a number (missing-value tokens: "", "?")'],
    ["an unknown class", put(3, 3, "zzz"), 'column "kind": unknown label "zzz" for task kind'],
    ["a 0/1 label that is 2", put(5, 5, "2"), 'binary label "2" is not 0 or 1 (task flag)'],
    ["an unknown group", put(9, 6, "nowhere"), 'group "nowhere" of task clicked was not in the training data'],
    ["a non-number target", put(4, 7, "12,5".replace(",", ";")), 'column "spend": value "12;5" is not a number (task spend is regression)'],
    // Several bad cells: encode() reports the numeric column first, though the label error is on an earlier row.
    ["two bad cells", put(9, 1, "oops", put(2, 3, "zzz")), 'data row 9 (line 10), column "y": value "oops"'],
  ];
  for (const [what, ls, expect] of cases) {
    const [a, b] = await errors(ls.join("\n") + "\n", pre);
    assert.ok(a.includes(expect), `${what}: encode says ${a}`);
    assert.is(b, a, what);
  }
});

test("a non-finite number is an error unless inputs.nonfinite is missing, as in encode()", async () => {
  const strict = validateSpec({ ...spec, inputs: { ...spec.inputs, nonfinite: "error" } });
  const text = "x,y,color,kind,clicked,flag,shop,spend\n1,2,red,a,yes,1,s0,3\n1e400,2,red,b,no,0,s1,4\n";
  const t0 = await readTable(fromString("d.csv", "x,y,color,kind,clicked,flag,shop,spend\n1,2,red,a,yes,1,s0,3\n2,2,red,b,no,0,s1,4\n"), strict.data!);
  const pre = fitPreprocessing(strict, t0, all(t0));
  let msg = "";
  try {
    for await (const c of rowChunks(strict, () => fromString("d.csv", text), "all", 8)) new RowEncoder(strict, pre, c.name, c.columns, 8).encode(c);
  } catch (e) {
    msg = (e as Error).message;
  }
  assert.match(msg, /d\.csv: data row 2 \(line 3\), column "x": value "1e400" is not a finite float32/);
});


// Numeric encodings that stream: periodic and standardize columns, with missing indicators (x has missing cells,
// y none: its indicator is dropped), through encode()'s encoder; an overflow is encode()'s error.
const encSpec: ModelSpec = validateSpec({
  data: { format: "csv", streaming: true },
  inputs: { numeric: [{ column: "x", encoding: "periodic", frequencies: 3, missing_indicator: true }, { column: "y", missing_indicator: true }], categorical: ["color"], missing: ["", "?"], nonfinite: "missing" },
  tasks: [{ name: "spend", type: "regression", label: "spend" }],
  training: { seed: 1, validation: 0 },
});

async function encodedBoth(s: ModelSpec, text: string, pre: Preprocessing, size: number): Promise<{ whole: Uint8Array[]; got: Uint8Array[][] }> {
  const table = await readTable(fromString("d.csv", text), s.data!);
  const whole = arrays(encode(s, pre, table));
  const parts: Uint8Array[][] = [];
  let enc: RowEncoder | null = null;
  for await (const c of rowChunks(s, () => fromString("d.csv", text, 64), "all", size)) {
    enc ??= new RowEncoder(s, pre, c.name, c.columns, size);
    parts.push(arrays(enc.encode(c)));
  }
  return { whole, got: parts[0].map((_, a) => parts.map((p) => p[a])) };
}

test("with periodic / standardize encodings and missing indicators, RowEncoder equals encode() bit for bit", async () => {
  const text = csv(500);
  const table = await readTable(fromString("d.csv", text), encSpec.data!);
  const pre = fitPreprocessing(encSpec, table, all(table));
  assert.equal(pre.numeric.map((n) => [n.encoding ?? "standardize", !!n.indicator]), [["periodic", true], ["standardize", false]]);
  const { whole, got } = await encodedBoth(encSpec, text, pre, 61);
  got.forEach((parts, a) => assert.ok(Buffer.compare(concat(parts), whole[a]) === 0, `array ${a} differs`));
  // [y standardized | x's indicator | x standardized (the periodic op's input)]: 3 columns.
  assert.is(whole[0].length / 4, 500 * 3);
});

test("an encoded value that overflows float32: RowEncoder's error is encode()'s", async () => {
  // The overflowing cell is in the second column: the error must name it, not the first.
  const lines = ["w,z,spend"];
  for (let i = 0; i < 50; i++) lines.push(`${i % 7},${(i / 50).toFixed(3)},${i}`);
  lines.push("3,3.3e38,1");
  const s = validateSpec({ data: { format: "csv", streaming: true }, inputs: { numeric: ["w", { column: "z", encoding: "periodic" }] }, tasks: [{ name: "spend", type: "regression", label: "spend" }], training: { seed: 1, validation: 0 } });
  const text = lines.join("\n") + "\n", table = await readTable(fromString("d.csv", text), s.data!);
  const pre = fitPreprocessing(s, table, Uint32Array.from({ length: 50 }, (_, i) => i));
  let a = "", b = "";
  try {
    encode(s, pre, table);
  } catch (e) {
    a = (e as Error).message;
  }
  try {
    let enc: RowEncoder | null = null;
    for await (const c of rowChunks(s, () => fromString("d.csv", text), "all", 4096)) (enc ??= new RowEncoder(s, pre, c.name, c.columns, 4096)).encode(c);
  } catch (e) {
    b = (e as Error).message;
  }
  assert.match(a, /d\.csv: data row 51 \(line 52\), column "z": value 3\.\d+e\+38 encoded as periodic overflows float32/);
  assert.is(b, a);
});
test.run();
