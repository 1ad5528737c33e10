// Fuzz Session.run on both engines (mtl kernels, onnxruntime-web) with an exported model: valid rows and tensors give
// finite outputs of the right sizes, the same on both engines; mutated rows (wrong types, extreme numbers such as
// 1e400 / Infinity / -0 / NaN, missing and unknown columns, unseen groups) and mutated tensors (wrong element type,
// wrong or fractional / negative / NaN / huge dims, data of the wrong kind or length, missing or extra inputs) give
// outputs or an Error naming the model file or the input / column at fault, never a TypeError / RangeError / wasm
// trap, within the time budget; and a failed run leaves the session working (the next valid run gives the same bits).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { fc, params, attempt, judge, verdict } from "./fuzz.ts";
import { setup } from "../helpers.ts";
import { createSession, type Session } from "../../src/infer/session.ts";
import type { InputTensor, Row } from "../../src/infer/rows.ts";
import { exportedModel } from "./model.ts";

const NAME = "fuzz/session-model.onnx";
const BYTES = await exportedModel();
const { k } = await setup();
const sessions: Record<"mtl" | "ort", Session> = {
  mtl: await createSession(BYTES, { engine: "mtl", kernels: k, name: NAME }),
  ort: await createSession(BYTES, { engine: "ort", name: NAME }),
};
const INPUTS = sessions.mtl.inputNames;

const goodRow = fc.record({
  a: fc.oneof(fc.double({ min: -100, max: 100, noNaN: true }), fc.double({ min: -100, max: 100, noNaN: true }).map(String), fc.constant(null), fc.constant("?")),
  b: fc.double({ min: -100, max: 100, noNaN: true }),
  c: fc.integer({ min: -5, max: 5 }).map(String),
  colour: fc.constantFrom("red", "green", "blue", "purple", ""),
  school: fc.constantFrom("s1", "s2"),
});
const BASE: Row[] = [{ a: 1, b: 2, c: "3", colour: "red", school: "s1" }, { a: -1, b: 0.5, c: null, colour: "teal", school: "s2" }];
const baseline = { mtl: await sessions.mtl.run(BASE), ort: await sessions.ort.run(BASE) };

const bits = (o: Record<string, Float32Array>) => JSON.stringify(Object.entries(o).map(([n, v]) => [n, Array.from(new Uint32Array(v.buffer, v.byteOffset, v.length))]));

function checkOutputs(prop: string, out: Record<string, Float32Array>, n: number, repro: unknown): boolean {
  for (const name of sessions.mtl.outputNames) {
    const v = out[name];
    const w = sessions.mtl.meta!.outputs[name];
    if (!(v instanceof Float32Array) || v.length !== n * w) {
      verdict(prop, "wrong:output of the wrong size", repro, `${name}: ${v?.length} values for ${n} rows × ${w}`);
      return false;
    }
    if (!v.every(Number.isFinite)) {
      verdict(prop, "wrong:non-finite output", repro, `${name}: ${Array.from(v).slice(0, 8)}`);
      return false;
    }
  }
  return true;
}

/** After any case, the session still runs the baseline rows to the same bits. */
async function stillWorks(prop: string, engine: "mtl" | "ort", repro: unknown): Promise<void> {
  const o = await attempt(() => sessions[engine].run(BASE));
  if (!o.ok || bits(o.value as never) !== bits(baseline[engine])) verdict(prop, "wrong:session broken after a failed run", repro, o.ok ? "baseline bits changed" : String((o.error as Error).message));
}

test("session.run: valid rows give finite outputs of the right size, the same on both engines", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(goodRow, { minLength: 1, maxLength: 40 }), async (rows) => {
      const m = await attempt(() => sessions.mtl.run(rows));
      const r = await attempt(() => sessions.ort.run(rows));
      if (!m.ok || !r.ok) return verdict("session valid rows", "wrong:valid rows rejected", rows, String(((m.ok ? r : m) as { error: Error }).error?.message));
      judge("session valid rows", m, [NAME], rows);
      if (!checkOutputs("session valid rows", m.value as never, rows.length, rows)) return;
      for (const [name, v] of Object.entries(m.value as Record<string, Float32Array>)) {
        const w = (r.value as Record<string, Float32Array>)[name];
        v.forEach((x, i) => assert.ok(Math.abs(x - w[i]) <= 1e-4 * (1 + Math.abs(w[i])), `${name}[${i}]: mtl ${x} vs ort ${w[i]}`));
      }
    }),
    params(0.5),
  );
});

const WEIRD: unknown[] = ["1e400", "-1e400", "Infinity", "-Infinity", "NaN", Infinity, -Infinity, NaN, -0, 1e308, 3.5e38, -3.5e38, 5e-324, "0x10", "1,5", "", " ", true, false, {}, [], [1], { toString: 1 }, 10n, Symbol("s"), () => 1, "9".repeat(400), "\u0000"];
const rowMutation = fc.record({ row: fc.nat(), column: fc.constantFrom("a", "b", "c", "colour", "school", "extra", "__proto__"), value: fc.oneof(fc.constantFrom(...WEIRD), fc.constant(undefined)), drop: fc.boolean() });

test("session.run: mutated rows give outputs or an Error naming the model, row or column; non-finite numbers are errors", async () => {
  await fc.assert(
    fc.asyncProperty(fc.constantFrom("mtl" as const, "ort" as const), fc.array(goodRow, { minLength: 1, maxLength: 8 }), fc.array(rowMutation, { minLength: 1, maxLength: 3 }), async (engine, good, muts) => {
      const rows: Record<string, unknown>[] = good.map((r) => ({ ...r }));
      let nonFinite = false;
      for (const m of muts) {
        const r = rows[m.row % rows.length];
        if (m.drop) delete r[m.column];
        else Object.defineProperty(r, m.column, { value: m.value, enumerable: true, writable: true, configurable: true });
        if (["a", "b", "c"].includes(m.column) && !m.drop) nonFinite ||= (typeof m.value === "number" && !Number.isFinite(m.value) && !Number.isNaN(m.value)) || (typeof m.value === "string" && /^[+-]?(?:1e400|Infinity|9{400})$/.test(m.value.trim()));
      }
      // Later mutations of the same cell override earlier ones; recompute from the final rows.
      nonFinite = rows.some((r) => ["a", "b", "c"].some((c) => { const v = r[c]; return (typeof v === "number" && (v === Infinity || v === -Infinity)) || (typeof v === "string" && /^[+-]?(?:1e400|Infinity|9{400})$/.test(v.trim())); }));
      const repro = { engine, rows: rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === "bigint" || typeof v === "symbol" || typeof v === "function" ? String(v) : v]))) };
      const o = await attempt(() => sessions[engine].run(rows as Row[]));
      const cls = judge("session mutated rows", o, (e) => e.message.includes(NAME) || /row \d+|column "/.test(e.message), repro);
      if (cls === "value" && o.ok) {
        if (nonFinite) verdict("session mutated rows", "wrong:non-finite number accepted", repro, "a numeric cell ±Infinity / 1e400 was encoded instead of a named error");
      }
      await stillWorks("session mutated rows", engine, repro);
    }),
    params(0.5),
  );
});

type Feed = Record<string, unknown>;
const DATA_KINDS = ["float32", "float64", "int64", "int32", "array", "null", "string", "short", "long"] as const;
function data(kind: (typeof DATA_KINDS)[number], type: string, len: number): unknown {
  const L = Math.max(0, Math.min(len, 1 << 22));
  switch (kind) {
    case "float32": return type === "int64" ? new BigInt64Array(L) : new Float32Array(L).fill(0.5);
    case "float64": return new Float64Array(L);
    case "int64": return new BigInt64Array(L);
    case "int32": return new Int32Array(L);
    case "array": return Array.from({ length: Math.min(L, 1000) }, () => 0);
    case "null": return null;
    case "string": return "0123";
    case "short": return type === "int64" ? new BigInt64Array(Math.max(0, L - 1)) : new Float32Array(Math.max(0, L - 1));
    case "long": return type === "int64" ? new BigInt64Array(L + 1) : new Float32Array(L + 1);
  }
}
const DIMS = [0, 1, 2, 3, 7, 1.5, -1, -2, NaN, Infinity, 2 ** 31, 2 ** 53, 1e400, -0, 2 ** 14];
const tensorMutation = fc.record({
  input: fc.nat(),
  type: fc.constantFrom("same", "float32", "int64", "float16", "bogus", undefined),
  rows: fc.constantFrom(...DIMS),
  width: fc.oneof(fc.constant("same" as const), fc.constantFrom(...DIMS)),
  rank: fc.constantFrom(1, 2, 3),
  data: fc.oneof({ weight: 5, arbitrary: fc.constant("match" as const) }, fc.constantFrom(...DATA_KINDS)),
  drop: fc.boolean(),
});

function validFeeds(n: number): Record<string, InputTensor> {
  const widths: Record<string, number> = { numeric: 3, categorical: 1, groups: 1 };
  const out: Record<string, InputTensor> = {};
  for (const name of INPUTS) {
    const w = widths[name];
    out[name] = name === "numeric" ? { type: "float32", data: new Float32Array(n * w).fill(0.25), dims: [n, w] } : { type: "int64", data: new BigInt64Array(n * w).fill(1n), dims: [n, w] };
  }
  return out;
}

test("session.run: mutated tensors give outputs or an Error naming the model or input", async () => {
  await fc.assert(
    fc.asyncProperty(fc.constantFrom("mtl" as const, "ort" as const), fc.integer({ min: 1, max: 16 }), fc.array(tensorMutation, { maxLength: 2 }), fc.option(fc.constantFrom("extra", "__proto__", "")), async (engine, n, muts, extra) => {
      const feeds: Feed = { ...validFeeds(n) };
      for (const m of muts) {
        const name = INPUTS[m.input % INPUTS.length];
        const f = feeds[name] as InputTensor | undefined;
        if (m.drop) {
          delete feeds[name];
          continue;
        }
        const type = m.type === "same" ? (f?.type ?? "float32") : m.type;
        const w = m.width === "same" ? (name === "numeric" ? 3 : 1) : m.width;
        const dims = m.rank === 1 ? [m.rows] : m.rank === 2 ? [m.rows, w] : [m.rows, w, 1];
        const len = dims.reduce((a, b) => a * b, 1);
        const d = m.data === "match" ? (type === "int64" ? new BigInt64Array(Number.isSafeInteger(len) && len >= 0 && len <= 1 << 22 ? len : 0) : new Float32Array(Number.isSafeInteger(len) && len >= 0 && len <= 1 << 22 ? len : 0)) : data(m.data, String(type), Number.isSafeInteger(len) ? len : 0);
        feeds[name] = { type, data: d, dims };
      }
      if (extra !== null) Object.defineProperty(feeds, extra, { value: validFeeds(n).numeric, enumerable: true, writable: true, configurable: true });
      const repro = { engine, feeds: Object.fromEntries(Object.entries(feeds).map(([k, f]) => [k, { type: (f as InputTensor).type, dims: (f as InputTensor).dims, data: (f as InputTensor).data == null ? (f as InputTensor).data : `${(f as object).constructor && (f as InputTensor).data.constructor.name}(${(f as InputTensor).data.length})` }])) };
      const o = await attempt(() => sessions[engine].run(feeds as Record<string, InputTensor>));
      const cls = judge("session mutated tensors", o, (e) => e.message.includes(NAME) || INPUTS.some((i) => e.message.includes(`"${i}"`)), repro);
      if (cls === "value" && o.ok) {
        const rows = (feeds.numeric as InputTensor).dims[0];
        checkOutputs("session mutated tensors", o.value as never, rows, repro);
      }
      await stillWorks("session mutated tensors", engine, repro);
    }),
    params(0.5),
  );
});

test.run();
