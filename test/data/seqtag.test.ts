// The seqtag reader (src/data/seqtag.ts, data.format "seqtag"): aligned seq.in / seq.out / label files, named errors
// (line counts, tag counts, empty lines), the CLI's folder reading with data.validation_path, and the real ATIS and
// SNIPS folders against the counts in their README (SKIP when ../shared/data/atis-snips is missing).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readSeqtag } from "../../src/data/seqtag.ts";
import { fromString } from "../../src/data/source.ts";
import { readTable, splitRows } from "../../src/data/load.ts";
import { encode, fitPreprocessing, UNKNOWN_CLASS } from "../../src/data/preprocess.ts";
import { splitTokens } from "../../src/data/tokens.ts";
import { validateSpec } from "../../src/model/spec.ts";
import { readData, readTrainingData } from "../../src/cli/files.ts";
import { rejects } from "../helpers.ts";
import { needFile } from "../skip.ts";

const src = (name: string, text: string) => fromString(name, text, 7);

test("three aligned files → tokens, slots, intent; trailing blank lines ignored; CRLF", async () => {
  const t = await readSeqtag("d", { tokens: src("d/seq.in", "show me flights\r\nto boston\n\n"), slots: src("d/seq.out", "O O O\nO B-to\n"), intent: src("d/label", "flight\natis_airfare#atis_flight") });
  assert.equal(t.columns, ["tokens", "slots", "intent"]);
  assert.equal(t.stringColumn("tokens"), ["show me flights", "to boston"]);
  assert.equal(t.stringColumn("slots"), ["O O O", "O B-to"]);
  assert.equal(t.stringColumn("intent"), ["flight", "atis_airfare#atis_flight"]);
  assert.equal([t.name, t.line(1)], ["d", 2]);
  const only = await readSeqtag("p", { tokens: src("p/seq.in", "a b\n"), slots: null, intent: null });
  assert.equal(only.columns, ["tokens"]);
});

test("named errors: tag count, line count, empty utterance, empty file, readTable", async () => {
  await rejects(readSeqtag("d", { tokens: src("d/seq.in", "a b\nc d e\n"), slots: src("d/seq.out", "O O\nO O\n"), intent: null }), "d/seq.out: line 2: 2 tags, but line 2 of d/seq.in has 3 tokens");
  await rejects(readSeqtag("d", { tokens: src("d/seq.in", "a b\nc\n"), slots: null, intent: src("d/label", "x\n") }), "d/label: 1 lines, but d/seq.in has 2");
  await rejects(readSeqtag("d", { tokens: src("d/seq.in", "a b\n\nc\n"), slots: null, intent: null }), "d/seq.in: line 2 is empty");
  await rejects(readSeqtag("d", { tokens: src("d/seq.in", "\n\n"), slots: null, intent: null }), "d/seq.in: no data rows");
  await rejects(readTable(src("x", "a"), { format: "seqtag", delimiter: "," }), 'x: format "seqtag" reads a folder', "readSeqtag");
});

const SPEC = (dir: string) =>
  validateSpec({
    data: { format: "seqtag", path: join(dir, "train"), validation_path: join(dir, "dev") },
    inputs: { tokens: { column: "tokens", max_length: 8 } },
    tasks: [{ name: "slots", type: "tagging", label: "slots" }, { name: "intent", type: "multiclass", label: "intent", unknown: true }],
  });

test("CLI folder reading: data.path and data.validation_path are folders; unseen dev intent and tag → <unk>", async () => {
  const dir = mkdtempSync(join(tmpdir(), "seqtag-"));
  const put = (sub: string, files: Record<string, string>) => {
    mkdirSync(join(dir, sub));
    for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, sub, f), text);
  };
  put("train", { "seq.in": "to boston\nto denver please\n", "seq.out": "O B-to\nO B-to O\n", label: "flight\nfare\n" });
  put("dev", { "seq.in": "from boston\n", "seq.out": "O B-from\n", label: "ground\n" });
  put("empty", { "seq.out": "O\n" });
  const spec = SPEC(dir);
  const t = await readTrainingData(spec, spec.data!.path!);
  const { train, validation } = splitRows(spec, t);
  assert.equal([Array.from(train), Array.from(validation)], [[0, 1], [2]]);
  const pre = fitPreprocessing(spec, t, train);
  assert.equal(pre.tasks[1].classes, [UNKNOWN_CLASS, "fare", "flight"]);
  const e = encode(spec, pre, t, validation);
  assert.equal(Array.from(e.tasks[1].labels), [0]);
  assert.equal(Array.from(e.tasks[0].labels.subarray(0, 2)), [2, 0], "B-from was not in training: <unk>");
  assert.equal(Array.from(e.tokens!.ids.subarray(0, 2)), [1, 3], "from is unknown; boston has id 3 (after 'to')");
  await rejects(readData(spec, join(dir, "empty")), "no file seq.in");
});

// ---- the real data: README counts ------------------------------------------------------------------------------------
const ROOT = new URL("../../../shared/data/atis-snips/", import.meta.url).pathname;
const README: Record<string, { rows: number; intents: number; tags: number }> = {
  "atis/train": { rows: 4478, intents: 21, tags: 120 },
  "atis/dev": { rows: 500, intents: 16, tags: 96 },
  "atis/test": { rows: 893, intents: 20, tags: 101 },
  "snips/train": { rows: 13084, intents: 7, tags: 72 },
  "snips/dev": { rows: 700, intents: 7, tags: 70 },
};

test("ATIS and SNIPS: utterances, intents and slot tags seen per split as the README counts them", async () => {
  if (!needFile(ROOT, "ATIS/SNIPS seqtag reader")) return;
  const spec = validateSpec({ data: { format: "seqtag" }, inputs: { tokens: { column: "tokens", max_length: 50 } }, tasks: [{ name: "intent", type: "multiclass", label: "intent", unknown: true }] });
  for (const [split, want] of Object.entries(README)) {
    const t = await readData(spec, join(ROOT, split));
    const toks = t.stringColumn("tokens").map((s) => splitTokens(s).length), tags = t.stringColumn("slots").map((s) => splitTokens(s));
    assert.equal(t.rowCount, want.rows, `${split} utterances`);
    assert.equal(tags.map((x) => x.length), toks, `${split}: one tag per token`);
    assert.equal(new Set(t.stringColumn("intent")).size, want.intents, `${split} intents`);
    assert.equal(new Set(tags.flat()).size, want.tags, `${split} slot tags`);
    if (split.endsWith("train")) {
      const pre = fitPreprocessing(spec, t, Uint32Array.from({ length: t.rowCount }, (_, i) => i));
      process.stdout.write(`\n${split}: vocabulary ${pre.tokens!.vocab.length} tokens (+ pad, unk), ${toks.reduce((a, b) => a + b, 0)} tokens, longest ${Math.max(...toks)}\n`);
    }
  }
});

test.run();
