// Fuzz openJsonl / readTable("jsonl"): valid JSON lines round-trip (cells are jsonCell of each value); mutated files
// (bit flips, truncation, inserted bytes, extreme numbers such as 1e400 / -0, wrong types, unknown keys, deep nesting)
// give a table or an Error naming the file, within the time budget, and numeric columns never hold a non-finite number.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { gzipSync } from "node:zlib";
import { fc, params, attempt, judge, verdict, byteMutations, mutateBytes, textMutation, mutateText, deepJsonText } from "./fuzz.ts";
import { jsonCell, openJsonl } from "../../src/data/jsonl.ts";
import { readTable } from "../../src/data/load.ts";
import { fromBytes } from "../../src/data/source.ts";
import type { Table } from "../../src/data/table.ts";

const NAME = "fuzz/records.jsonl";
const value: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
  { weight: 2, arbitrary: fc.string({ maxLength: 8, unit: "binary" }) },
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 3 }),
);

interface Doc {
  keys: string[];
  rows: unknown[][];
}
const doc: fc.Arbitrary<Doc> = fc.uniqueArray(fc.string({ maxLength: 5, unit: "binary" }), { minLength: 1, maxLength: 4 }).chain((keys) =>
  fc.record({ keys: fc.constant(keys), rows: fc.array(fc.array(value, { minLength: keys.length, maxLength: keys.length }), { minLength: 1, maxLength: 6 }) }),
);

/** JSON text of one record; `raw` replaces the value of key j by a raw token (1e400, -0, deep nesting ...). */
function recordText(keys: string[], vals: unknown[], raw?: { j: number; token: string }): string {
  return "{" + keys.map((k, j) => `${JSON.stringify(k)}:${raw && raw.j === j ? raw.token : JSON.stringify(vals[j])}`).join(",") + "}";
}
const text = (d: Doc) => d.rows.map((r) => recordText(d.keys, r)).join("\n") + "\n";
const enc = (s: string) => new TextEncoder().encode(s);

test("jsonl: valid files round-trip (any chunk size, gzip or not)", async () => {
  await fc.assert(
    fc.asyncProperty(doc, fc.integer({ min: 1, max: 64 }), fc.boolean(), async (d, chunk, gz) => {
      const bytes = gz ? new Uint8Array(gzipSync(enc(text(d)))) : enc(text(d));
      const o = await attempt(async () => {
        const s = await openJsonl(fromBytes(NAME, bytes, chunk));
        const rows: string[][] = [];
        for await (const r of s) rows.push(r.fields);
        return { columns: [...s.columns], rows };
      });
      if (!o.ok) verdict("jsonl valid", "wrong:valid JSON lines rejected", d, String((o.error as Error)?.message));
      else {
        judge("jsonl valid", o, [NAME], d);
        // JSON.parse sorts integer-like keys first, as every JS object does.
        const cols = Object.keys(JSON.parse(recordText(d.keys, d.rows[0])));
        assert.equal(o.value, { columns: cols, rows: d.rows.map((r) => cols.map((c) => jsonCell(JSON.parse(JSON.stringify(r[d.keys.indexOf(c)]))))) });
      }
    }),
    params(),
  );
});

const RAW = ["1e400", "-1e400", "-0", "1e-400", "NaN", "Infinity", "9".repeat(400), '"1e400"', '"Infinity"', "[]", "{}", '{"a":1}', "true", "null", "0x10", "01", "1.", '"\\ud800"'];
const raw = fc.record({
  row: fc.nat(),
  j: fc.nat(),
  token: fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...RAW) },
    fc.record({ depth: fc.constantFrom(10, 1000, 20000, 200000), kind: fc.constantFrom("array" as const, "object" as const) }).map(({ depth, kind }) => deepJsonText(depth, kind)),
  ),
});

test("jsonl: mutated files give a table or an Error naming the file; numbers stay finite", async () => {
  await fc.assert(
    fc.asyncProperty(doc, fc.array(raw, { maxLength: 2 }), fc.oneof({ weight: 2, arbitrary: fc.constant([]) }, byteMutations), fc.array(textMutation, { maxLength: 2 }), fc.option(fc.string({ maxLength: 4 })), fc.integer({ min: 1, max: 64 }), fc.boolean(), async (d, raws, bm, tm, extraKey, chunk, gz) => {
      const lines = d.rows.map((r, i) => {
        const sub = raws.find((x) => x.row % d.rows.length === i);
        let s = recordText(d.keys, r, sub && { j: sub.j % d.keys.length, token: sub.token });
        if (extraKey !== null && i === d.rows.length - 1) s = s.slice(0, -1) + `,${JSON.stringify(extraKey)}:1}`;
        return s;
      });
      const plain = enc(mutateText(lines.join("\n") + "\n", tm));
      const bytes = mutateBytes(gz ? new Uint8Array(gzipSync(plain)) : plain, bm);
      const repro = gz ? { gzip: bytes.length, chunk } : { text: new TextDecoder().decode(bytes), chunk };
      const o = await attempt(() => readTable(fromBytes(NAME, bytes, chunk), { format: "jsonl", delimiter: "," }));
      if (judge("jsonl mutated", o, [NAME], repro) !== "value" || !o.ok) return;
      const t = o.value as Table;
      for (const c of t.columns) {
        const n = await attempt(() => t.numericColumn(c, { missing: [""] }));
        if (judge("jsonl mutated numericColumn", n, [NAME], repro) !== "value" || !n.ok) continue;
        const v = n.value as Float64Array, cells = t.stringColumn(c);
        const i = v.findIndex((x, i) => (cells[i] === "" ? !Number.isNaN(x) : !Number.isFinite(x)));
        if (i >= 0) verdict("jsonl mutated numericColumn", "wrong:non-finite number accepted", { column: c, cell: cells[i] }, `column ${JSON.stringify(c)}: cell ${JSON.stringify(cells[i])} read as ${v[i]}`);
      }
    }),
    params(),
  );
});

test.run();
