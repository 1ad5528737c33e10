// Fuzz openCensus / readTable("census") and the numeric columns / targets of the census format: valid lines of 42
// ", "-separated fields round-trip; mutated files (bit flips, truncation, inserted bytes, extreme numbers in numeric
// fields, swapped fields, gzip corruption) give a table or an Error naming the file, within the time budget, and
// numeric columns never let a non-finite number through.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { gzipSync } from "node:zlib";
import { fc, params, attempt, judge, verdict, byteMutations, mutateBytes, textMutation, mutateText } from "./fuzz.ts";
import { CENSUS_COLUMNS, CENSUS_NUMERIC_COLUMNS, censusTargets, openCensus } from "../../src/data/census.ts";
import { readTable } from "../../src/data/load.ts";
import { fromBytes } from "../../src/data/source.ts";
import type { Table } from "../../src/data/table.ts";

const NAME = "fuzz/census-income.data";
const NUMERIC = new Set<string>(CENSUS_NUMERIC_COLUMNS);
const word = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9 ()-]{0,10}[A-Za-z0-9]$|^[A-Za-z0-9?]$/);
const num = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 99999 }).map(String) },
  { weight: 2, arbitrary: fc.double({ min: -1e6, max: 1e6, noNaN: true }).map(String) },
  fc.constantFrom("?", "1e400", "-1e400", "Infinity", "-0", "NaN", "1e-400", "9".repeat(400)),
);
const label = fc.constantFrom("- 50000.", "50000+.", "- 50000", "50000+", "50000+..", "?");
const line = fc.tuple(...CENSUS_COLUMNS.map((c) => (c === "income_50k" ? label : NUMERIC.has(c) ? num : word)));
const doc = fc.record({ lines: fc.array(line, { maxLength: 6 }), crlf: fc.boolean(), blank: fc.boolean() });
type Doc = { lines: string[][]; crlf: boolean; blank: boolean };

const text = (d: Doc) => d.lines.map((l) => l.join(", ")).join(d.crlf ? "\r\n" : "\n") + (d.blank ? "\n\n" : "\n");
const enc = (s: string) => new TextEncoder().encode(s);
const strip = (s: string) => (s.endsWith(".") ? s.slice(0, -1) : s);

test("census: valid files round-trip (fields trimmed, label dot stripped; any chunk size, gzip or not)", async () => {
  await fc.assert(
    fc.asyncProperty(doc, fc.integer({ min: 1, max: 97 }), fc.boolean(), async (d, chunk, gz) => {
      const bytes = gz ? new Uint8Array(gzipSync(enc(text(d)))) : enc(text(d));
      const o = await attempt(async () => {
        const rows: string[][] = [];
        for await (const r of await openCensus(fromBytes(NAME, bytes, chunk))) rows.push(r.fields);
        return rows;
      });
      if (!o.ok) verdict("census valid", "wrong:valid census file rejected", d, String((o.error as Error)?.message));
      else {
        judge("census valid", o, [NAME], d);
        assert.equal(o.value, d.lines.map((l) => l.map((f, j) => (j === l.length - 1 ? strip(f) : f))));
      }
    }),
    params(),
  );
});

async function checkTable(prop: string, t: Table, repro: unknown): Promise<void> {
  for (const c of CENSUS_NUMERIC_COLUMNS) {
    const o = await attempt(() => t.numericColumn(c, { missing: ["?"] }));
    if (judge(`${prop} numericColumn`, o, [NAME], repro) !== "value" || !o.ok) continue;
    const cells = t.stringColumn(c), v = o.value as Float64Array;
    const i = v.findIndex((x, i) => (cells[i].trim() === "?" ? !Number.isNaN(x) : !Number.isFinite(x)));
    if (i >= 0) verdict(`${prop} numericColumn`, "wrong:non-finite number accepted", { column: c, cell: cells[i] }, `column ${c}: cell ${JSON.stringify(cells[i])} read as ${v[i]}`);
  }
  judge(`${prop} censusTargets`, await attempt(() => censusTargets(t)), [NAME], repro);
}

test("census: mutated files give a table or an Error naming the file; numbers stay finite", async () => {
  await fc.assert(
    fc.asyncProperty(doc, fc.oneof({ weight: 2, arbitrary: fc.constant([]) }, byteMutations), fc.array(textMutation, { maxLength: 3 }), fc.integer({ min: 1, max: 97 }), fc.boolean(), async (d, bm, tm, chunk, gz) => {
      const plain = enc(mutateText(text(d), tm));
      const bytes = mutateBytes(gz ? new Uint8Array(gzipSync(plain)) : plain, bm);
      const repro = gz ? { gzip: Array.from(bytes), chunk } : { text: new TextDecoder().decode(bytes), chunk };
      const o = await attempt(() => readTable(fromBytes(NAME, bytes, chunk), { format: "census", delimiter: "," }));
      if (judge("census mutated", o, [NAME], repro) === "value" && o.ok) await checkTable("census mutated", o.value as Table, repro);
    }),
    params(),
  );
});

test.run();
