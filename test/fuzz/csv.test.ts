// Fuzz openCsv / readTable("csv") / Table.numericColumn: valid CSV round-trips (any chunking, gzip or not); mutated
// CSV (bit flips, truncation, inserted bytes, extreme numbers in cells, swapped fields) gives a table or an Error that
// names the file, within the time budget; numeric columns never let a non-finite number through (it must be a named
// error, like any other non-number).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { gzipSync } from "node:zlib";
import { fc, params, attempt, judge, verdict, byteMutations, mutateBytes, textMutation, mutateText } from "./fuzz.ts";
import { openCsv } from "../../src/data/csv.ts";
import { readTable } from "../../src/data/load.ts";
import { fromBytes } from "../../src/data/source.ts";
import type { Table } from "../../src/data/table.ts";

const NAME = "fuzz/input-7.csv";
const MISSING = ["", "?", "NA"];

const numberCell = fc.oneof(
  { weight: 3, arbitrary: fc.integer().map(String) },
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
  fc.constantFrom("1e400", "-1e400", "Infinity", "-Infinity", "+Infinity", "-0", "NaN", "1e-400", "9".repeat(400), " 12 ", ".5", "5.", "1e5"),
);
const textCell = fc.oneof(fc.string({ maxLength: 8, unit: "binary" }), fc.constantFrom("", "?", "NA", "a,b", 'say "hi"', "two\nlines", "cr\rlf", "\uFEFFbom", " spaced "));
const cell = fc.oneof(numberCell, textCell);

interface Doc {
  delimiter: string;
  header: string[];
  rows: string[][];
  crlf: boolean;
}

/** Columns are numeric (numbers, extreme numbers, missing tokens) or free text, so numericColumn sees both. */
const doc: fc.Arbitrary<Doc> = fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }).chain((kinds) =>
  fc.record({
    delimiter: fc.constantFrom(",", ";", "\t", "|"),
    header: fc.uniqueArray(fc.string({ maxLength: 6, unit: "binary" }), { minLength: kinds.length, maxLength: kinds.length }),
    rows: fc.array(fc.tuple(...kinds.map((numeric) => (numeric ? fc.oneof({ weight: 5, arbitrary: numberCell }, fc.constantFrom(...MISSING)) : cell))), { maxLength: 8 }),
    crlf: fc.boolean(),
  }),
);

function quoteField(s: string, d: string): string {
  return s === "" || s.includes(d) || s.includes('"') || s.includes("\n") || s.includes("\r") || s.startsWith("\uFEFF") ? `"${s.replaceAll('"', '""')}"` : s;
}

function csvText(d: Doc): string {
  const nl = d.crlf ? "\r\n" : "\n";
  return [d.header, ...d.rows].map((r) => r.map((f) => quoteField(f, d.delimiter)).join(d.delimiter)).join(nl) + nl;
}

const enc = (s: string) => new TextEncoder().encode(s);

/** Numeric columns: each must be finite or NaN exactly where the cell is a missing token, or a named error. */
async function checkColumns(prop: string, table: Table, repro: unknown): Promise<void> {
  for (const c of table.columns) {
    const o = await attempt(() => table.numericColumn(c, { missing: MISSING }));
    const cls = judge(`${prop} numericColumn`, o, [NAME], repro);
    if (cls !== "value") continue;
    const vals = o.ok ? (o.value as Float64Array) : new Float64Array(0);
    const cells = table.stringColumn(c);
    for (let i = 0; i < vals.length; i++) {
      const missing = MISSING.includes(cells[i].trim());
      if (missing ? !Number.isNaN(vals[i]) : !Number.isFinite(vals[i])) {
        verdict(`${prop} numericColumn`, "wrong:non-finite number accepted", { column: c, cell: cells[i] }, `column ${JSON.stringify(c)}, cell ${JSON.stringify(cells[i])} read as ${vals[i]} instead of a named error`);
        break;
      }
    }
    const cat = await attempt(() => table.categoricalColumn(c));
    judge(`${prop} categoricalColumn`, cat, [NAME], repro);
  }
}

test("csv: valid documents round-trip through openCsv (any chunk size, plain or gzip)", async () => {
  await fc.assert(
    fc.asyncProperty(doc, fc.integer({ min: 1, max: 64 }), fc.boolean(), async (d, chunk, gz) => {
      const bytes = gz ? new Uint8Array(gzipSync(enc(csvText(d)))) : enc(csvText(d));
      const o = await attempt(async () => {
        const s = await openCsv(fromBytes(NAME, bytes, chunk), { delimiter: d.delimiter });
        const rows: string[][] = [];
        for await (const r of s) rows.push(r.fields);
        return { columns: [...s.columns], rows };
      });
      // Valid input must be accepted: any error here is a bad class.
      if (!o.ok) verdict("csv valid", `wrong:valid CSV rejected`, d, String((o.error as Error)?.message ?? o.error));
      else {
        judge("csv valid", o, [NAME], d);
        assert.equal(o.value, { columns: d.header, rows: d.rows });
      }
    }),
    params(),
  );
});

test("csv: mutated documents give a table or an Error naming the file; numbers stay finite", async () => {
  await fc.assert(
    fc.asyncProperty(doc, fc.oneof({ weight: 2, arbitrary: fc.constant([]) }, byteMutations), fc.array(textMutation, { maxLength: 3 }), fc.integer({ min: 1, max: 64 }), fc.boolean(), async (d, bm, tm, chunk, gz) => {
      const text = mutateText(csvText(d), tm);
      const plain = enc(text);
      const bytes = mutateBytes(gz ? new Uint8Array(gzipSync(plain)) : plain, bm);
      const repro = { text: gz ? undefined : new TextDecoder().decode(bytes), gzip: gz ? Array.from(bytes) : undefined, delimiter: d.delimiter, chunk };
      const o = await attempt(() => readTable(fromBytes(NAME, bytes, chunk), { format: "csv", delimiter: d.delimiter }));
      if (judge("csv mutated", o, [NAME], repro) === "value") await checkColumns("csv mutated", o.ok ? (o.value as Table) : (null as never), repro);
    }),
    params(),
  );
});

test.run();
