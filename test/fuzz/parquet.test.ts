// Fuzz openParquet / readTable("parquet"): files from the test writer (test/data/parquet-writer.ts: every supported
// type, nulls, dictionary pages, row groups), mutated byte by byte (bit flips, truncation, inserted and deleted
// bytes, swapped runs), give a table or an Error naming the file, within the time budget; a table's cells are text
// and its numeric columns never let a non-finite number through unless it was spelled as one ("NaN", "Infinity").
import { test } from "uvu";
import { fc, params, attempt, judge, verdict, byteMutations, mutateBytes } from "./fuzz.ts";
import { readTable } from "../../src/data/load.ts";
import { fromBytes } from "../../src/data/source.ts";
import type { Table } from "../../src/data/table.ts";
import { CONVERTED, writeParquet, type PqColumn, type PqType } from "../data/parquet-writer.ts";

const NAME = "fuzz/part-0.parquet";
const TYPES: PqType[] = ["BOOLEAN", "INT32", "INT64", "FLOAT", "DOUBLE", "BYTE_ARRAY"];
const value = (t: PqType) =>
  t === "BOOLEAN" ? fc.boolean()
  : t === "INT32" ? fc.integer()
  : t === "INT64" ? fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })
  : t === "FLOAT" ? fc.float({ noNaN: true, noDefaultInfinity: true })
  : t === "DOUBLE" ? fc.double({ noNaN: true, noDefaultInfinity: true })
  : fc.string({ maxLength: 6 });

const file = fc
  .record({ n: fc.integer({ min: 1, max: 12 }), cols: fc.array(fc.record({ type: fc.constantFrom(...TYPES), optional: fc.boolean(), dictionary: fc.boolean() }), { minLength: 1, maxLength: 4 }), split: fc.integer({ min: 1, max: 12 }) })
  .chain(({ n, cols, split }) =>
    fc.tuple(...cols.map((c) => fc.array(c.optional ? fc.option(value(c.type) as fc.Arbitrary<unknown>) : (value(c.type) as fc.Arbitrary<unknown>), { minLength: n, maxLength: n }))).map((vals) => {
      const columns = cols.map((c, j): PqColumn => ({ name: `c${j}`, type: c.type, optional: c.optional, dictionary: c.dictionary && c.type !== "BOOLEAN", converted: c.type === "BYTE_ARRAY" ? CONVERTED.UTF8 : undefined, values: vals[j] as PqColumn["values"] }));
      const groups = split >= n ? [n] : [split, n - split];
      return writeParquet(columns, { groups });
    }),
  );

test("parquet: mutated files give a table or an Error naming the file; numbers stay finite", async () => {
  await fc.assert(
    fc.asyncProperty(file, byteMutations, fc.integer({ min: 1, max: 4096 }), async (good, bm, chunk) => {
      const bytes = mutateBytes(good, bm);
      const repro = { bytes, chunk };
      const o = await attempt(() => readTable(fromBytes(NAME, bytes, chunk), { format: "parquet", delimiter: "," }));
      if (judge("parquet mutated", o, [NAME], repro) !== "value" || !o.ok) return;
      const t = o.value as Table;
      for (const c of t.columns) {
        const n = await attempt(() => t.numericColumn(c, { missing: [""], nonfinite: "error" }));
        if (judge("parquet mutated numericColumn", n, [NAME], repro) !== "value" || !n.ok) continue;
        const v = n.value as Float64Array, cells = t.stringColumn(c);
        const i = v.findIndex((x, i) => (cells[i] === "" ? !Number.isNaN(x) : !Number.isFinite(x)));
        if (i >= 0) verdict("parquet mutated numericColumn", "wrong:non-finite number accepted", { column: c, cell: cells[i] }, `column ${JSON.stringify(c)}: cell ${JSON.stringify(cells[i])} read as ${v[i]}`);
      }
    }),
    params(),
  );
});

test.run();
