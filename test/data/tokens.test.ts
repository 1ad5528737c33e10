// Token inputs and tagging labels: the spec fields (inputs.tokens, type "tagging", "unknown"), the vocabulary
// (src/data/tokens.ts) against counts worked by hand, the [N, L] encodings (ids, masks, labels, truncation), JSON-lines
// token arrays, and named errors.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { validateSpec, MAX_SEQUENCE_LENGTH } from "../../src/model/spec.ts";
import { dataDims, encode, fitPreprocessing, UNKNOWN_CLASS } from "../../src/data/preprocess.ts";
import { decodeTags, encodeTokens, fitVocabulary, splitTokens } from "../../src/data/tokens.ts";
import { openJsonl } from "../../src/data/jsonl.ts";
import { fromString } from "../../src/data/source.ts";
import { Table } from "../../src/data/table.ts";
import { throwsWith } from "../helpers.ts";

const spec = (tokens: Record<string, unknown>, tasks?: unknown[], extra: Record<string, unknown> = {}) =>
  validateSpec({
    inputs: { tokens: { column: "tokens", max_length: 4, ...tokens }, ...extra },
    tasks: tasks ?? [{ name: "slots", type: "tagging", label: "slots" }, { name: "intent", type: "multiclass", label: "intent", unknown: true }],
  });
const specError = (f: () => unknown, path: string, ...parts: string[]) => {
  const m = throwsWith(f, path, ...parts);
  assert.ok(m.startsWith(path), m);
};

test("spec: inputs.tokens defaults, tagging defaults, unknown; named errors", () => {
  const s = spec({});
  assert.equal(s.inputs.tokens, { column: "tokens", vocab_size: null, min_count: 1, max_length: 4, lowercase: true, dim: 64 });
  assert.equal([s.tasks[0].loss, s.tasks[0].metrics, s.tasks[0].unknown, s.tasks[1].unknown], ["xent", ["span_f1", "accuracy", "sentence_accuracy"], true, true]);
  assert.equal(validateSpec({ inputs: { numeric: ["x"] }, tasks: [{ name: "c", type: "multiclass", label: "y" }] }).tasks[0].unknown, false);
  assert.equal(validateSpec({ inputs: { numeric: ["x"] }, tasks: [{ name: "c", type: "binary", label: "y" }] }).inputs.tokens, undefined);
  specError(() => spec({ vocab_size: 100, min_count: 2 }), "inputs.tokens.min_count", "either vocab_size or min_count");
  // A normalized spec validates to itself (model.json round trip), vocab_size with min_count 1 included.
  for (const sp of [s, spec({ vocab_size: 100 }), spec({ min_count: 3, lowercase: false })]) assert.equal(validateSpec(JSON.parse(JSON.stringify(sp))), sp);
  specError(() => spec({ max_length: 0 }), "inputs.tokens.max_length", "an integer in [1, 8192]");
  specError(() => spec({ max_length: MAX_SEQUENCE_LENGTH + 1 }), "inputs.tokens.max_length", "above the limit of 8192");
  specError(() => spec({ vocab_size: 2 }), "inputs.tokens.vocab_size", "[3, ");
  specError(() => spec({ lowercase: "yes" }), "inputs.tokens.lowercase", "true or false");
  specError(() => spec({}, undefined, { tensor: 3 }), "inputs.tokens", "cannot be combined with inputs.tensor");
  specError(() => spec({}, undefined, { categorical: ["tokens"] }), "inputs.tokens", "cannot be combined with inputs.categorical");
  specError(() => spec({}, [{ name: "t", type: "tagging", label: "tokens" }]), "tasks[0].label", "also an input");
  specError(() => validateSpec({ inputs: { numeric: ["x"] }, tasks: [{ name: "t", type: "tagging", label: "slots" }] }), "tasks[0].type", "declares no inputs.tokens");
  specError(() => spec({}, [{ name: "t", type: "binary", label: "y", unknown: true }]), "tasks[0].unknown", "only applies to type");
  specError(() => spec({}, [{ name: "t", type: "tagging", label: "slots", metrics: ["auc"] }]), "tasks[0].metrics[0]", "does not apply to type \"tagging\"");
  specError(() => spec({}, [{ name: "t", type: "tagging", label: "slots", group_by: "g" }]), "tasks[0].group_by", "cannot be grouped");
  specError(() => validateSpec({ inputs: { tokens: { column: "tokens", max_length: 4 } }, tasks: [{ name: "a", type: "tagging", label: "slots" }, { name: "b", type: "multiclass", label: "intent", classes: ["x", "y"] }], training: { relations: [{ tasks: ["a", "b"], lambda: 1 }] } }), "training.relations[0].tasks[0]", "tagging task");
});

test("splitTokens: whitespace runs, JSON string arrays, empty", () => {
  assert.equal(splitTokens("  show  me\tflights "), ["show", "me", "flights"]);
  assert.equal(splitTokens('["new york", "to"]'), ["new york", "to"]);
  assert.equal(splitTokens("[not json"), ["[not", "json"]);
  assert.equal(splitTokens("[1, 2]"), ["[1,", "2]"]);
  assert.equal(splitTokens(""), []);
});

// Training rows: counts after lowercasing: the 4, to 3, boston 2, denver 1, Show/show 2 → "show" 2.
const CELLS = ["show the flights to boston", "Show the to denver", "the the to boston"];
const ALL = [0, 1, 2];

test("vocabulary: by count, ties by string; min_count; vocab_size counts the two reserved ids; lowercase", () => {
  const input = spec({}).inputs.tokens!;
  assert.equal(fitVocabulary(input, CELLS, ALL).vocab, ["the", "to", "boston", "show", "denver", "flights"]);
  assert.equal(fitVocabulary({ ...input, min_count: 2 }, CELLS, ALL).vocab, ["the", "to", "boston", "show"]);
  assert.equal(fitVocabulary({ ...input, vocab_size: 5 }, CELLS, ALL).vocab, ["the", "to", "boston"]);
  assert.equal(fitVocabulary({ ...input, lowercase: false }, CELLS, ALL).vocab, ["the", "to", "boston", "Show", "denver", "flights", "show"]);
  // Only the training rows count: row 2 left out → show, the, to 2 each (by string), then boston, denver, flights 1.
  assert.equal(fitVocabulary(input, CELLS, [0, 1]).vocab, ["show", "the", "to", "boston", "denver", "flights"]);
});

test("encodeTokens: ids (0 pad, 1 unknown, vocab from 2), mask, lengths before truncation", () => {
  const voc = { column: "tokens", lowercase: true, max_length: 4, vocab: ["the", "to", "boston"] };
  const e = encodeTokens(voc, ["THE to Paris", "the to boston the to", ""], [0, 1, 2]);
  assert.equal(Array.from(e.ids), [2, 3, 1, 0, 2, 3, 4, 2, 0, 0, 0, 0]);
  assert.equal(Array.from(e.mask), [1, 1, 1, 0, 1, 1, 1, 1, 0, 0, 0, 0]);
  assert.equal(Array.from(e.lengths), [3, 5, 0]);
  assert.equal(decodeTags([1, 2, 0, 1], 6, ["<unk>", "B-a", "O"]), ["B-a", "O", "<unk>", "B-a", "O", "O"]);
  throwsWith(() => decodeTags([3], 1, ["a", "b"]), "class id 3 at position 0", "2 classes");
});

const TABLE = () =>
  Table.fromColumns("utts.tsv", ["tokens", "slots", "intent"], [
    ["show flights to boston", "to denver", "flights to boston from denver now", "to paris", "boston"],
    ["O O O B-to", "O B-to", "O O B-to O B-from O", "O B-city", ""],
    ["flight", "flight", "airfare", "ground", "flight"],
  ]);

test("fitPreprocessing + encode: token ids, tag classes with <unk> first, labels and masks [N, L], truncation", () => {
  const s = spec({});
  const t = TABLE();
  const pre = fitPreprocessing(s, t, [0, 1, 2]);
  // Tag classes of the training rows, sorted, after UNKNOWN_CLASS; intents likewise.
  assert.equal(pre.tasks[0].classes, [UNKNOWN_CLASS, "B-from", "B-to", "O"]);
  assert.equal(pre.tasks[1].classes, [UNKNOWN_CLASS, "airfare", "flight"]);
  // to 3, boston 2, denver 2, flights 2, from 1, now 1, show 1.
  assert.equal(pre.tokens!.vocab, ["to", "boston", "denver", "flights", "from", "now", "show"]);
  assert.ok(JSON.parse(JSON.stringify(pre)).tokens.vocab.length === 7, "the vocabulary is plain JSON");
  const e = encode(s, pre, t);
  const L = 4;
  assert.equal(e.tokens!.maxLength, L);
  assert.equal(Array.from(e.tokens!.ids.subarray(2 * L, 3 * L)), [5, 2, 3, 6], "row 3 truncated after 4 tokens");
  assert.equal(Array.from(e.tokens!.ids.subarray(3 * L, 4 * L)), [2, 1, 0, 0], "paris is unknown");
  assert.equal(Array.from(e.tokens!.lengths), [4, 2, 6, 2, 1]);
  const lab = e.tasks[0].labels as Int32Array;
  assert.equal(Array.from(lab), [3, 3, 3, 2, 3, 2, -1, -1, 3, 3, 2, 3, 3, 0, -1, -1, -1, -1, -1, -1]);
  assert.equal(Array.from(e.tasks[0].tokenMask!), [1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0]);
  assert.equal(Array.from(e.tasks[0].mask), [4, 2, 4, 2, 0], "the row mask counts a row's labelled tokens (min(tags, L)); row 5 has no tags");
  assert.equal(Array.from(e.tasks[1].labels), [2, 2, 1, 0, 2], "the unseen intent 'ground' is <unk>");
  const nolab = encode(s, pre, t, [0, 1], { labels: false });
  assert.equal(Array.from(nolab.tasks[0].labels), new Array(8).fill(-1));
  assert.equal(Array.from(nolab.tasks[0].tokenMask!), new Array(8).fill(0));
  const dims = dataDims(s, pre);
  assert.equal(dims.tokens, { vocab: 7 + 2, length: L }, "the embedding table's rows: the vocabulary and the 2 reserved ids");
  assert.equal(dims.outputs, [4, 3], "tagging: tags per token; multiclass: classes");
});

test("encode errors: tag/token count mismatch; unseen tag or class without unknown", () => {
  const s = spec({}, [{ name: "slots", type: "tagging", label: "slots", unknown: false }, { name: "intent", type: "multiclass", label: "intent" }]);
  const t = TABLE();
  const pre = fitPreprocessing(s, t, [0, 1, 2]);
  assert.equal(pre.tasks[0].classes, ["B-from", "B-to", "O"]);
  throwsWith(() => encode(s, pre, t, [3]), "utts.tsv: data row 4", 'column "slots"', 'tag "B-city" (token 2)', "unknown");
  const s2 = spec({}, [{ name: "intent", type: "multiclass", label: "intent" }]);
  throwsWith(() => encode(s2, fitPreprocessing(s2, t, [0, 1, 2]), t, [3]), 'unknown label "ground"', '"unknown": true');
  const bad = Table.fromColumns("bad.tsv", ["tokens", "slots"], [["a b c", "a b"], ["O O", "O O"]]);
  const s3 = spec({}, [{ name: "slots", type: "tagging", label: "slots" }]);
  throwsWith(() => encode(s3, fitPreprocessing(s3, bad, [0, 1]), bad), "bad.tsv: data row 1", 'column "slots"', '2 tags for the 3 tokens of column "tokens"', "slots");
});

test("JSON lines with token arrays encode like the text", async () => {
  const text = '{"tokens": ["Show", "me"], "slots": ["O", "B-x"], "intent": "a"}\n{"tokens": ["me"], "slots": ["O"], "intent": "b"}\n';
  const t = await Table.from(await openJsonl(fromString("u.jsonl", text)));
  const s = spec({}, [{ name: "slots", type: "tagging", label: "slots" }, { name: "intent", type: "multiclass", label: "intent" }]);
  const pre = fitPreprocessing(s, t, [0, 1]);
  assert.equal(pre.tokens!.vocab, ["me", "show"]);
  assert.equal(pre.tasks[0].classes, [UNKNOWN_CLASS, "B-x", "O"]);
  const e = encode(s, pre, t);
  assert.equal(Array.from(e.tokens!.ids), [3, 2, 0, 0, 2, 0, 0, 0]);
  assert.equal(Array.from(e.tasks[0].labels), [2, 1, -1, -1, 2, -1, -1, -1]);
});

test.run();
