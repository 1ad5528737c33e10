// Fuzz openArff / readTable("arff"): generated ARFF files (dense and sparse rows, every attribute type, quoting,
// comments, any chunking, gzip or not) read back cell for cell; mutated ones (bit flips, truncation, inserted tokens
// such as quotes, braces, "%", 1e400) give a table or an Error naming the file, within the time budget, and numeric
// columns never let a non-finite number through.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { gzipSync } from "node:zlib";
import { fc, params, attempt, judge, verdict, byteMutations, mutateBytes, textMutation, mutateText } from "./fuzz.ts";
import { openArff } from "../../src/data/arff.ts";
import { readTable } from "../../src/data/load.ts";
import { fromBytes } from "../../src/data/source.ts";
import type { Table } from "../../src/data/table.ts";

const NAME = "fuzz/bench-3.arff";

type Kind = "numeric" | "nominal" | "string";
interface Doc {
  kinds: Kind[];
  names: string[];
  levels: string[][];
  rows: (string | null)[][];
  sparse: boolean[];
}
const word = fc.string({ minLength: 1, maxLength: 6, unit: "binary" }).filter((s) => !/[\n\r]/.test(s));
const number = fc.oneof(fc.integer({ min: -1e6, max: 1e6 }).map(String), fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e30, max: 1e30 }).map(String));
const doc: fc.Arbitrary<Doc> = fc
  .array(fc.record({ kind: fc.constantFrom<Kind>("numeric", "nominal", "string"), name: word, levels: fc.uniqueArray(word, { minLength: 1, maxLength: 4 }) }), { minLength: 1, maxLength: 5 })
  .filter((cols) => new Set(cols.map((c) => c.name)).size === cols.length)
  .chain((cols) =>
    fc.record({
      kinds: fc.constant(cols.map((c) => c.kind)),
      names: fc.constant(cols.map((c) => c.name)),
      levels: fc.constant(cols.map((c) => c.levels)),
      rows: fc.array(fc.tuple(...cols.map((c) => fc.option(c.kind === "numeric" ? number : c.kind === "nominal" ? fc.constantFrom(...c.levels) : word, { freq: 8 }))), { minLength: 1, maxLength: 6 }),
      sparse: fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
    }),
  );

const q = (s: string) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
function text(d: Doc): string {
  const lines = ["% generated", "@relation fuzz"];
  d.names.forEach((n, j) => lines.push(`@attribute ${q(n)} ${d.kinds[j] === "nominal" ? `{${d.levels[j].map(q).join(", ")}}` : d.kinds[j]}`));
  lines.push("@data");
  d.rows.forEach((r, i) => {
    const v = (j: number) => (r[j] === null ? "?" : d.kinds[j] === "numeric" ? r[j]! : q(r[j]!));
    // A sparse row may leave out numeric and nominal attributes holding their default, never a string one.
    if (d.sparse[i]) lines.push(`{${r.flatMap((x, j) => (d.kinds[j] !== "string" && x === (d.kinds[j] === "numeric" ? "0" : d.levels[j][0]) ? [] : [`${j} ${v(j)}`])).join(", ")}}`);
    else lines.push(r.map((_, j) => v(j)).join(","));
  });
  return lines.join("\n") + "\n";
}
const enc = (s: string) => new TextEncoder().encode(s);

test("arff: generated files read back cell for cell (dense and sparse rows, any chunk size, gzip or not)", async () => {
  await fc.assert(
    fc.asyncProperty(doc, fc.integer({ min: 1, max: 64 }), fc.boolean(), async (d, chunk, gz) => {
      const bytes = gz ? new Uint8Array(gzipSync(enc(text(d)))) : enc(text(d));
      const o = await attempt(async () => {
        const s = await openArff(fromBytes(NAME, bytes, chunk));
        const rows: string[][] = [];
        for await (const r of s) rows.push(r.fields);
        return { columns: [...s.columns], rows };
      });
      if (!o.ok) return verdict("arff valid", "wrong:valid ARFF rejected", text(d), String((o.error as Error)?.message));
      judge("arff valid", o, [NAME], d);
      assert.equal(o.value, { columns: d.names, rows: d.rows.map((r) => r.map((x) => x ?? "")) });
    }),
    params(),
  );
});

test("arff: mutated files give a table or an Error naming the file; numbers stay finite", async () => {
  await fc.assert(
    fc.asyncProperty(doc, fc.array(textMutation, { maxLength: 3 }), fc.oneof({ weight: 2, arbitrary: fc.constant([]) }, byteMutations), fc.integer({ min: 1, max: 64 }), fc.boolean(), async (d, tm, bm, chunk, gz) => {
      const plain = enc(mutateText(text(d), tm));
      const bytes = mutateBytes(gz ? new Uint8Array(gzipSync(plain)) : plain, bm);
      const repro = gz ? { gzip: bytes.length, chunk } : { text: new TextDecoder().decode(bytes), chunk };
      const o = await attempt(() => readTable(fromBytes(NAME, bytes, chunk), { format: "arff", delimiter: "," }));
      if (judge("arff mutated", o, [NAME], repro) !== "value" || !o.ok) return;
      const t = o.value as Table;
      for (const c of t.columns) {
        const n = await attempt(() => t.numericColumn(c, { missing: [""] }));
        if (judge("arff mutated numericColumn", n, [NAME], repro) !== "value" || !n.ok) continue;
        const v = n.value as Float64Array, cells = t.stringColumn(c);
        const i = v.findIndex((x, i) => (cells[i] === "" ? !Number.isNaN(x) : !Number.isFinite(x)));
        if (i >= 0) verdict("arff mutated numericColumn", "wrong:non-finite number accepted", { column: c, cell: cells[i] }, `column ${JSON.stringify(c)}: cell ${JSON.stringify(cells[i])} read as ${v[i]}`);
      }
    }),
    params(),
  );
});

test.run();
