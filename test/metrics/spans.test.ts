// Span metrics (src/metrics/spans.ts): hand-worked conlleval cases (BIO, IOB1, I- after another type, B-B, boundary
// and type mismatches, sentence boundaries, IOE), a chunk-set implementation written here from the CoNLL definition
// (a chunk is a maximal run: B-x or a "stray" I-x opens it, I-x of the same type continues it) compared on random
// tag sequences, sentence accuracy, and named errors.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { sentenceAccuracy, spanScores, tagsFromIds } from "../../src/metrics/spans.ts";
import { Rng, throwsWith } from "../helpers.ts";

// ---- independent reference for B/I/O tags: chunk sets, then set intersection ------------------------------------------
function chunks(sentences: string[][]): Set<string> {
  const out = new Set<string>();
  sentences.forEach((tags, s) => {
    let open: { type: string; start: number } | null = null;
    const close = (end: number) => {
      if (open) out.add(`${s}:${open.type}:${open.start}:${end}`);
      open = null;
    };
    tags.forEach((t, j) => {
      if (t === "O") return close(j - 1);
      const [prefix, type] = [t.slice(0, 1), t.slice(2)];
      if (prefix === "B" || !open || open.type !== type) {
        close(j - 1);
        open = { type, start: j };
      }
    });
    close(tags.length - 1);
  });
  return out;
}

function reference(gold: string[][], pred: string[][]) {
  const g = chunks(gold), p = chunks(pred);
  const correct = [...p].filter((c) => g.has(c)).length;
  const P = p.size ? correct / p.size : 0, R = g.size ? correct / g.size : 0;
  let tokens = 0, right = 0;
  gold.forEach((s, i) => s.forEach((t, j) => (tokens++, (right += t === pred[i][j] ? 1 : 0))));
  return { gold: g.size, predicted: p.size, correct, precision: P, recall: R, f1: P + R ? (2 * P * R) / (P + R) : 0, accuracy: tokens ? right / tokens : 0 };
}

const tags = (s: string) => s.split(" ");
const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-15, `${what}: ${a} vs ${b}`);

test("hand-worked: a mix of right, wrongly bounded and right chunks", () => {
  // gold chunks a[0,1] b[3] c[5]; predicted a[0,1] b[3,4] c[5]: 2 of 3 right each way; 5 of 6 tags right.
  const r = spanScores([tags("B-a I-a O B-b O B-c")], [tags("B-a I-a O B-b I-b B-c")]);
  assert.equal([r.gold, r.predicted, r.correct, r.tokens, r.correctTags], [3, 3, 2, 6, 5]);
  close(r.precision, 2 / 3, "precision");
  close(r.recall, 2 / 3, "recall");
  close(r.f1, 2 / 3, "f1");
  close(r.accuracy, 5 / 6, "accuracy");
  assert.equal(r.types.b, { gold: 1, predicted: 1, correct: 0, precision: 0, recall: 0, f1: 0 });
  assert.equal(r.types.a.correct, 1);
});

test("conlleval quirks: IOB1 I- after O opens a chunk; I- after another type opens a new one; B-B is two chunks", () => {
  // I-a after O: the chunk [0,1] matches B-a I-a.
  let r = spanScores([tags("I-a I-a O")], [tags("B-a I-a O")]);
  assert.equal([r.gold, r.predicted, r.correct], [1, 1, 1]);
  assert.equal(r.correctTags, 2);
  // B-a I-b: gold holds a[0] and b[1]; predicted a[0,1] matches neither.
  r = spanScores([tags("B-a I-b")], [tags("B-a I-a")]);
  assert.equal([r.gold, r.predicted, r.correct, r.f1], [2, 1, 0, 0]);
  // B-a B-a: two chunks; B-a I-a: one; none match.
  r = spanScores([tags("B-a B-a")], [tags("B-a I-a")]);
  assert.equal([r.gold, r.predicted, r.correct], [2, 1, 0]);
  // Same start, different end; same span, different type.
  r = spanScores([tags("B-a I-a I-a"), tags("B-a I-a")], [tags("B-a I-a O"), tags("B-b I-b")]);
  assert.equal([r.gold, r.predicted, r.correct, r.precision, r.recall], [2, 2, 0, 0, 0]);
  assert.equal(Object.keys(r.types), ["a", "b"]);
});

test("sentence boundaries split chunks; IOE ends; hyphenated types keep their tail", () => {
  // B-a at the end of sentence 1 and I-a at the start of sentence 2 are two chunks (one if the sentences were joined).
  let r = spanScores([tags("O B-a"), tags("I-a O")], [tags("O B-a"), tags("B-a O")]);
  assert.equal([r.gold, r.predicted, r.correct, r.f1], [2, 2, 2, 1]);
  r = spanScores([tags("O B-a I-a O")], [tags("O B-a B-a O")]);
  assert.equal([r.gold, r.predicted, r.correct], [1, 2, 0]);
  // IOE1: E-a then I-a ends one chunk and starts another.
  r = spanScores([tags("I-a E-a I-a")], [tags("I-a E-a I-a")]);
  assert.equal([r.gold, r.correct], [2, 2]);
  // The 2004 conlleval splits at the first hyphen: "B-x-y" has type "x-y", different from "B-x-z".
  r = spanScores([tags("B-x-y I-x-y")], [tags("B-x-y I-x-z")]);
  assert.equal([r.gold, r.predicted, r.correct], [1, 2, 0]);
  assert.equal(Object.keys(r.types), ["x-y", "x-z"]);
});

test("no chunks anywhere: precision, recall and F1 are 0 as conlleval prints them; accuracy still counts", () => {
  const r = spanScores([tags("O O")], [tags("O O")]);
  assert.equal([r.gold, r.predicted, r.correct, r.f1, r.accuracy], [0, 0, 0, 0, 1]);
  assert.equal(spanScores([], []).accuracy, 0);
});

test("random B/I/O sequences (IOB1 strays included): conlleval scan = chunk-set reference", () => {
  const rng = new Rng(16);
  const alphabet = ["O", "O", "B-a", "I-a", "B-b", "I-b", "B-c"];
  let sawCorrect = 0, sawStray = 0;
  for (let trial = 0; trial < 300; trial++) {
    const ns = 1 + rng.int(4);
    const gold: string[][] = [], pred: string[][] = [];
    for (let s = 0; s < ns; s++) {
      const len = rng.int(9);
      const g = Array.from({ length: len }, () => alphabet[rng.int(alphabet.length)]);
      // Predictions copy the gold tag 70 % of the time, so correct chunks are common.
      gold.push(g);
      pred.push(g.map((t) => (rng.next() < 0.7 ? t : alphabet[rng.int(alphabet.length)])));
      if (g.some((t, j) => t.startsWith("I-") && (j === 0 || g[j - 1] === "O"))) sawStray++;
    }
    const r = spanScores(gold, pred), ref = reference(gold, pred);
    sawCorrect += ref.correct;
    assert.equal([r.gold, r.predicted, r.correct], [ref.gold, ref.predicted, ref.correct], `trial ${trial}: ${JSON.stringify({ gold, pred })}`);
    close(r.f1, ref.f1, `trial ${trial} f1`);
    close(r.accuracy, ref.accuracy, `trial ${trial} accuracy`);
  }
  assert.ok(sawCorrect > 100 && sawStray > 50, `the random cases exercise matches (${sawCorrect}) and stray I- tags (${sawStray})`);
});

test("tagsFromIds and sentenceAccuracy", () => {
  const classes = ["<unk>", "B-a", "I-a", "O"];
  assert.equal(tagsFromIds([Int32Array.of(1, 2, 3), [3]], classes), [["B-a", "I-a", "O"], ["O"]]);
  throwsWith(() => tagsFromIds([[1, 4]], classes), "sentence 1, token 2", "class id 4", "4 classes");
  // Sentence 1 right; 2 wrong intent; 3 one tag wrong; 4 right. → 2 / 4.
  const goldT = [tags("B-a O"), tags("O"), tags("B-a I-a"), tags("O O")];
  const predT = [tags("B-a O"), tags("O"), tags("B-a O"), tags("O O")];
  close(sentenceAccuracy(["x", "y", "x", "z"], ["x", "x", "x", "z"], goldT, predT), 0.5, "sentence accuracy");
  close(sentenceAccuracy([0, 1], [0, 1], [[], ["O"]], [[], ["O"]]), 1, "ids and an empty sentence");
  throwsWith(() => sentenceAccuracy(["x"], ["x", "y"], goldT.slice(0, 1), predT.slice(0, 1)), "1 gold classes but 2 predicted classes");
  throwsWith(() => sentenceAccuracy(["x"], ["x"], [tags("O O")], [tags("O")]), "sentence 1: 2 gold tags but 1 predicted");
});

test("named errors: sentence and tag counts must match", () => {
  throwsWith(() => spanScores([tags("O")], []), "1 gold sentences but 0 predicted");
  throwsWith(() => spanScores([tags("O"), tags("B-a O")], [tags("O"), tags("B-a")]), "sentence 2: 2 gold tags but 1 predicted");
});

test.run();
