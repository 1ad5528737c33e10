// Sequence-tagging metrics: span-level precision/recall/F1 exactly as CoNLL's conlleval.pl (2004 version), token
// accuracy, and sentence accuracy of a joint sentence-class + tagging model. Pure functions of tag strings (or
// class ids with their class list); no model, no I/O.
//
// conlleval's rules, reproduced here (a tag is PREFIX-TYPE, split at its first "-" as the 2004 version's
// /^([^-]*)-(.*)$/ does, so "B-a-b" has type "a-b"; a tag without "-" is a prefix with type ""; a type Perl reads as
// false, "0", becomes ""; "O" is outside):
//   a chunk ENDS between prev and cur when  prev·cur ∈ {B·B, B·O, I·B, I·O, E·E, E·I, E·O}, or prev ∉ {O, .} and the
//     types differ, or prev ∈ {[, ]};
//   a chunk STARTS at cur when  prev·cur ∈ {B·B, I·B, O·B, O·I, E·E, E·I, O·E}, or cur ∉ {O, .} and the types
//     differ, or cur ∈ {[, ]}.
// So an I- tag after O or after a different type starts a chunk (IOB1 and sloppy BIO), an I- after B- of its type
// continues it, and a B- always starts one. Sentences are separated by an uncounted (O, O) boundary token.
// A predicted chunk is correct when a gold chunk starts at the same token with the same type and both end at the same
// token.

/** Span and token counts; precision, recall and F1 as fractions in [0, 1] (conlleval prints percentages). */
export interface SpanScores {
  /** Chunks in the gold tags. */
  gold: number;
  /** Chunks in the predicted tags. */
  predicted: number;
  /** Predicted chunks matching a gold chunk (type, start and end). */
  correct: number;
  /** correct / predicted (0 when nothing is predicted, as conlleval). */
  precision: number;
  /** correct / gold (0 when there is no gold chunk). */
  recall: number;
  /** 2PR / (P + R), 0 when P + R = 0. */
  f1: number;
  /** Tokens compared. */
  tokens: number;
  /** Tokens whose predicted tag equals the gold tag. */
  correctTags: number;
  /** correctTags / tokens (conlleval's "accuracy"; 0 for no tokens). */
  accuracy: number;
  /** Per chunk type: its gold, predicted and correct counts and F1, types in code-unit order. */
  types: Record<string, { gold: number; predicted: number; correct: number; precision: number; recall: number; f1: number }>;
}

const split = (tag: string): [string, string] => {
  const d = tag.indexOf("-");
  if (d < 0) return [tag, ""];
  const type = tag.slice(d + 1);
  return [tag.slice(0, d), type === "0" ? "" : type];
};

/** conlleval's endOfChunk. */
export function chunkEnds(prevTag: string, prevType: string, tag: string, type: string): boolean {
  const pt = prevTag + "·" + tag;
  if (pt === "B·B" || pt === "B·O" || pt === "I·B" || pt === "I·O" || pt === "E·E" || pt === "E·I" || pt === "E·O") return true;
  if (prevTag !== "O" && prevTag !== "." && prevType !== type) return true;
  return prevTag === "]" || prevTag === "[";
}

/** conlleval's startOfChunk. */
export function chunkStarts(prevTag: string, prevType: string, tag: string, type: string): boolean {
  const pt = prevTag + "·" + tag;
  if (pt === "B·B" || pt === "I·B" || pt === "O·B" || pt === "O·I" || pt === "E·E" || pt === "E·I" || pt === "O·E") return true;
  if (tag !== "O" && tag !== "." && prevType !== type) return true;
  return tag === "[" || tag === "]";
}

const ratio = (a: number, b: number) => (b > 0 ? a / b : 0);
const f1Of = (p: number, r: number) => (p + r > 0 ? (2 * p * r) / (p + r) : 0);

/**
 * conlleval over sentences: gold[s] and predicted[s] are sentence s's tags, of equal length (an error names the
 * sentence and both lengths). The scan is conlleval's on a file of these sentences, each followed by a blank line: one
 * pass, the blank line read as an uncounted (O, O) token.
 */
export function spanScores(gold: readonly (readonly string[])[], predicted: readonly (readonly string[])[]): SpanScores {
  if (gold.length !== predicted.length) throw new Error(`spanScores: ${gold.length} gold sentences but ${predicted.length} predicted; expected one prediction per sentence`);
  let nGold = 0, nPred = 0, nCorrect = 0, tokens = 0, correctTags = 0;
  const per = new Map<string, { gold: number; predicted: number; correct: number }>();
  const count = (type: string) => {
    let c = per.get(type);
    if (!c) per.set(type, (c = { gold: 0, predicted: 0, correct: 0 }));
    return c;
  };
  // The scan's state crosses sentences as in conlleval (only odd tags such as "." keep a chunk open past a boundary).
  let lastC = "O", lastCT = "", lastG = "O", lastGT = "", inCorrect = false;
  for (let s = 0; s < gold.length; s++) {
    const g = gold[s], p = predicted[s];
    if (g.length !== p.length) throw new Error(`spanScores: sentence ${s + 1}: ${g.length} gold tags but ${p.length} predicted; expected one tag per token`);
    // Positions 0..len−1 are tokens; position len is the boundary (O, O) after the sentence, not counted as a token.
    for (let j = 0; j <= g.length; j++) {
      const [c, ct] = j < g.length ? split(g[j]) : ["O", ""];
      const [q, qt] = j < g.length ? split(p[j]) : ["O", ""];
      const endC = chunkEnds(lastC, lastCT, c, ct), endG = chunkEnds(lastG, lastGT, q, qt);
      if (inCorrect) {
        if (endC && endG && lastGT === lastCT) {
          inCorrect = false;
          nCorrect++;
          count(lastCT).correct++;
        } else if (endC !== endG || qt !== ct) inCorrect = false;
      }
      const startC = chunkStarts(lastC, lastCT, c, ct), startG = chunkStarts(lastG, lastGT, q, qt);
      if (startC && startG && qt === ct) inCorrect = true;
      if (startC) {
        nGold++;
        count(ct).gold++;
      }
      if (startG) {
        nPred++;
        count(qt).predicted++;
      }
      if (j < g.length) {
        tokens++;
        if (c === q && ct === qt) correctTags++;
      }
      (lastC = c), (lastCT = ct), (lastG = q), (lastGT = qt);
    }
  }
  // conlleval's end of file: a correct chunk still open counts.
  if (inCorrect) {
    nCorrect++;
    count(lastCT).correct++;
  }
  const precision = ratio(nCorrect, nPred), recall = ratio(nCorrect, nGold);
  const types: SpanScores["types"] = {};
  for (const k of [...per.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
    const c = per.get(k)!;
    const tp = ratio(c.correct, c.predicted), tr = ratio(c.correct, c.gold);
    types[k] = { ...c, precision: tp, recall: tr, f1: f1Of(tp, tr) };
  }
  return { gold: nGold, predicted: nPred, correct: nCorrect, precision, recall, f1: f1Of(precision, recall), tokens, correctTags, accuracy: ratio(correctTags, tokens), types };
}

/** Sentences of class ids as tag strings: ids[s][j] indexes `classes` (an id outside it throws naming s and j). */
export function tagsFromIds(ids: readonly ArrayLike<number>[], classes: readonly string[]): string[][] {
  return ids.map((row, s) =>
    Array.from(row, (id, j) => {
      const c = classes[id];
      if (c === undefined) throw new RangeError(`tagsFromIds: sentence ${s + 1}, token ${j + 1}: class id ${id} is outside the ${classes.length} classes`);
      return c;
    }),
  );
}

/**
 * Sentence accuracy of a joint model: the fraction of sentences whose class is right AND every tag is right (the
 * "overall" or "semantic frame" accuracy of joint intent/slot papers). Classes compare with ===; the four arrays
 * are per sentence, of one length (an error names which differs). 0 for no sentences.
 */
export function sentenceAccuracy(goldClass: ArrayLike<string | number>, predClass: ArrayLike<string | number>, goldTags: readonly (readonly string[])[], predTags: readonly (readonly string[])[]): number {
  const n = goldClass.length;
  for (const [what, len] of [["predicted classes", predClass.length], ["gold tag sequences", goldTags.length], ["predicted tag sequences", predTags.length]] as const) {
    if (len !== n) throw new Error(`sentenceAccuracy: ${n} gold classes but ${len} ${what}; expected one per sentence`);
  }
  let right = 0;
  for (let s = 0; s < n; s++) {
    const g = goldTags[s], p = predTags[s];
    if (g.length !== p.length) throw new Error(`sentenceAccuracy: sentence ${s + 1}: ${g.length} gold tags but ${p.length} predicted`);
    if (goldClass[s] !== predClass[s]) continue;
    let ok = true;
    for (let j = 0; j < g.length && ok; j++) ok = g[j] === p[j];
    if (ok) right++;
  }
  return ratio(right, n);
}
