// Column kinds from a sample (src/data/infer-columns.ts): each rule on a column built to meet it (and one built to
// just miss it), the reasons' numbers, and the label checks per task type with their errors.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { checkLabels, closeMatches, editDistance, embeddingDim, inferColumn, LabelError, NUMERIC_PARSE_RATE } from "../../src/data/infer-columns.ts";
import { DEFAULT_MISSING } from "../../src/model/spec.ts";

const MISSING = new Set(DEFAULT_MISSING);
const range = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i));
const kind = (cells: string[]) => inferColumn("c", cells, MISSING);

test("numeric: floats, a dense integer scale, and the 99 % parse rate at its boundary", () => {
  const floats = kind(range(200, (i) => (Math.sin(i) * 10).toFixed(3)));
  assert.is(floats.kind, "numeric");
  assert.match(floats.reason, /^100 % of 200 non-missing cells are numbers; \d+ distinct values; -?\d/);
  const scale = kind(range(100, (i) => String(1 + (i % 5))));
  assert.is(scale.kind, "numeric");
  assert.is(scale.reason, "100 % of 100 non-missing cells are numbers; 5 distinct values; integers 1…5, a dense scale (kept numeric; a code would be categorical)");
  // 990 numbers and 10 "n/a" of 1000: exactly the threshold, numeric, and "n/a" becomes a missing token.
  assert.is(NUMERIC_PARSE_RATE, 0.99);
  const at = kind(range(1000, (i) => (i % 100 === 7 ? "n/a" : `${i}.5`)));
  assert.is(at.kind, "numeric");
  assert.equal(at.extraMissing, ["n/a"]);
  assert.match(at.reason, 'of 1,000 non-missing cells are numbers; 991 distinct values; 0.5…999.5; read as missing: "n/a" ×10');
  assert.match(at.reason, /^99\.0 %/);
  const below = kind(range(1000, (i) => (i % 100 === 7 || i === 8 ? "n/a" : `${i}.5`)));
  assert.is(below.kind, "categorical");
  assert.match(below.reason, /^98\.9 % of 1,000 non-missing cells are numbers/);
  // Missing cells are not counted against the rate, and are reported.
  const gaps = kind(range(100, (i) => (i % 10 === 0 ? "" : i % 10 === 1 ? "NA" : `${i * 0.25}`)));
  assert.is(gaps.kind, "numeric");
  assert.match(gaps.reason, /^100 % of 80 non-missing cells are numbers; 80 distinct values; 20 missing/);
  // inf/nan are numbers that are not finite: counted as numbers, and flagged for inputs.nonfinite.
  const inf = kind(range(100, (i) => (i === 3 ? "inf" : `${i}.25`)));
  assert.is(inf.kind, "numeric");
  assert.is(inf.stats.nonfinite, 1);
});

test("codes: sparse integers and leading zeros are categorical; a 2-value or dense column is not", () => {
  const codes = ["3", "17", "42", "105", "230"];
  const sparse = kind(range(100, (i) => codes[i % 5]));
  assert.is(sparse.kind, "categorical");
  assert.match(sparse.reason, /^code: 5 distinct integers spread over 3…230 \(not a dense scale\), read as categories; 100 % of 100 non-missing cells are numbers; 5 distinct values \("3" 20, /);
  assert.is(sparse.dim, embeddingDim(5));
  // 6 values over 1…12: span 12 = 2 × 6, still dense; over 1…13 it is a code.
  assert.is(kind(range(60, (i) => String([1, 3, 5, 7, 9, 12][i % 6]))).kind, "numeric");
  assert.is(kind(range(60, (i) => String([1, 3, 5, 7, 9, 13][i % 6]))).kind, "categorical");
  assert.is(kind(range(60, (i) => String([1, 99][i % 2]))).kind, "numeric", "two values are an indicator either way");
  const zeros = kind(range(60, (i) => ["01", "02", "10"][i % 3]));
  assert.is(zeros.kind, "categorical");
  assert.match(zeros.reason, /^code: integers written with leading zeros \("01"\), read as text; /);
  // More than CODE_MAX_DISTINCT distinct integers: numeric however sparse.
  assert.is(kind(range(100, (i) => String((i % 25) * 1000))).kind, "numeric");
});

test("dropped: empty, constant, id-like text, a row number; categorical with min_count 2 at high cardinality", () => {
  assert.equal([kind(range(30, () => "")).kind, kind(range(30, () => "")).reason], ["drop", "empty: all 30 sampled cells are missing"]);
  const constant = kind(range(30, (i) => (i % 3 ? "x" : "?")));
  assert.equal([constant.kind, constant.reason], ["drop", 'constant: every non-missing cell is "x" (20 cells; 10 missing)']);
  const id = kind(range(30, (i) => `u${1000 + i * 7}`));
  assert.equal([id.kind, id.reason], ["drop", 'id-like: all 30 non-missing values are distinct (e.g. "u1000")']);
  assert.is(kind(range(19, (i) => `u${i}`)).kind, "categorical", "below ID_MIN_ROWS cells, distinct text is not yet an id");
  const rowNo = kind(range(50, (i) => String(i + 1)));
  assert.equal([rowNo.kind, rowNo.reason], ["drop", "row number: 50 distinct integers counting up by one in file order (1…50)"]);
  assert.is(kind(range(50, (i) => String((i * 37) % 50))).kind, "numeric", "distinct integers out of order are a quantity");
  const many = kind(range(40, (i) => `v${i % 30}`));
  assert.is(many.kind, "categorical");
  assert.is(many.minCount, 2);
  assert.match(many.reason, "; high cardinality: values seen once map to the unknown bucket (min_count 2)");
  const cat = kind(range(40, (i) => ["red", "green", "blue", "red"][i % 4]));
  assert.equal([cat.kind, cat.minCount, cat.reason], ["categorical", 1, '0 % of 40 non-missing cells are numbers; 3 distinct values ("red" 20, "green" 10, "blue" 10)']);
  // fastai's width rule, clamped to [2, 16]: round(1.6 · (n + 1)^0.56).
  for (const n of [1, 2, 5, 50, 1000]) assert.is(embeddingDim(n), Math.max(2, Math.min(16, Math.round(1.6 * (n + 1) ** 0.56))));
  assert.equal([embeddingDim(1), embeddingDim(2), embeddingDim(1000)], [2, 3, 16]);
});

test("labels: binary positive, multiclass counts, multilabel 0/1, regression statistics; errors say what the type needs", () => {
  const cols: Record<string, string[]> = {
    yn: range(10, (i) => (i < 7 ? "no" : "yes")),
    ab: range(10, (i) => (i < 3 ? "B" : "A")),
    tie: range(10, (i) => (i % 2 ? "p" : "q")),
    neg: range(10, (i) => (i < 8 ? "false" : "maybe")),
    zo: range(10, (i) => String(i % 2)),
    three: range(10, (i) => ["a", "b", "c"][i % 3]),
    one: range(10, () => "k"),
    ml: range(10, (i) => (i < 4 ? "1" : i < 9 ? "0" : "")),
    bad: range(10, (i) => (i < 4 ? "1" : "2")),
    r: range(10, (i) => (i === 9 ? "?" : String(i * 1.5))),
    txt: range(10, (i) => `t${i}`),
  };
  const check = (type: "binary" | "multiclass" | "multilabel" | "regression", ...labels: string[]) => checkLabels({ name: "t", type, labels }, (c) => cols[c], MISSING);
  const err = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      assert.instance(e, LabelError);
      return (e as Error).message;
    }
    return "no error";
  };
  assert.equal(check("binary", "yn"), { summary: 'binary: "no" 7, "yes" 3; "yes" → 1 (reads as yes; change tasks[].positive to flip)', positive: "yes", extraMissing: [] });
  assert.is(check("binary", "ab").positive, "B", "the rarer value");
  assert.is(check("binary", "tie").positive, "q", "a tie: the later in sorted order");
  assert.is(check("binary", "neg").positive, "maybe", "the other value of a negative word");
  assert.equal(check("binary", "zo"), { summary: 'binary: "0" 5, "1" 5; read as 0/1 ("1" → 1)', positive: null, extraMissing: [] });
  assert.is(err(() => check("binary", "three")), 'label column "three" has 3 distinct values ("a" 4, "b" 3, "c" 3); binary needs exactly two (use multiclass, or regression for a score)');
  assert.is(err(() => check("binary", "one")), 'label column "one" has 1 distinct value ("k" 10); binary needs exactly two');
  assert.is(check("multiclass", "three").summary, 'multiclass: 3 classes ("a" 4, "b" 3, "c" 3)');
  assert.is(err(() => check("multiclass", "one")), 'label column "one" has 1 distinct value ("k" 10); multiclass needs at least two classes');
  assert.is(check("multilabel", "ml", "zo").summary, 'multilabel: "ml" 4/9 ones (1 missing), "zo" 5/10 ones');
  assert.is(err(() => check("multilabel", "zo", "bad")), 'label column "bad" holds "2"; multilabel labels must be 0 or 1');
  // Regression statistics against a float64 reference over the 9 numeric cells (the "?" is missing).
  const xs = cols.r.slice(0, 9).map(Number);
  const mean = xs.reduce((a, b) => a + b, 0) / 9, sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / 9);
  assert.is(check("regression", "r").summary, `regression: "r" mean ${+mean.toPrecision(6)}, sd ${+sd.toPrecision(6)}, range 0…12, 9 distinct, 1 missing`);
  assert.is(err(() => check("regression", "txt")), 'label column "txt": only 0 % of 10 non-missing cells are numbers (e.g. "t0", "t1", "t2"); regression needs numbers (a text label is multiclass)');
  assert.is(err(() => checkLabels({ name: "t", type: "regression", labels: ["e"] }, () => range(5, () => "NA"), MISSING)), 'label column "e" is missing in all 5 sampled rows');
});

test("closeMatches: case, spacing and small edits", () => {
  const cols = ["Age", "income", "first_name", "zip", "quality"];
  assert.equal(closeMatches("age", cols), ["Age"]);
  assert.equal(closeMatches("incme", cols), ["income"]);
  assert.equal(closeMatches("first name", cols), ["first_name"]);
  assert.equal(closeMatches("qualty", cols), ["quality"]);
  assert.equal(closeMatches("colour", cols), []);
  assert.equal(closeMatches("aeg", cols), ["Age"], "a swap of neighbours is one edit");
  assert.equal([editDistance("rge", "reg"), editDistance("kitten", "sitting"), editDistance("", "abc"), editDistance("ab", "ba")], [1, 3, 3, 1]);
});

test.run();
