// Token sequences: splitting a text cell into tokens, the vocabulary learnt from the training rows, and the
// fixed-length encodings of tokens (ids and mask) and of per-token tags (class ids and mask). Portable, pure.
//
// Layout of every [N, L] array: row-major, row k's position j at k·L + j, L = inputs.tokens.max_length. A row's first
// min(n_k, L) positions hold its tokens in order (n_k = its token count); the rest is padding. Tokens past L are
// dropped from the model's input, and so are their tags: evaluation compares against the full gold tag sequence, with
// the dropped positions predicted "O" (decodeTags), so a span cut off by truncation counts as missed, never as right.
import type { TokenInput } from "../model/spec.ts";

/** Id of padding (positions past a row's last token). */
export const PAD_ID = 0;
/** Id of a token outside the vocabulary (unseen in training, or rarer than min_count, or beyond vocab_size). */
export const UNK_ID = 1;
/** Ids before the vocabulary's first token. */
export const RESERVED_IDS = 2;
/** The tag predicted at positions dropped by truncation (decodeTags). */
export const OUTSIDE_TAG = "O";

/** The learnt token vocabulary (Preprocessing.tokens): JSON, in model.json and the ONNX metadata. */
export interface TokenVocabulary {
  /** The token column. */
  column: string;
  /** Whether tokens are lowercased before lookup. */
  lowercase: boolean;
  /** L: ids per row. */
  max_length: number;
  /** vocab[k] has id k + RESERVED_IDS (0 padding, 1 unknown): by training frequency, descending, ties by string. */
  vocab: string[];
}

/**
 * The tokens of a cell: a JSON array of strings (how JSON lines' token arrays arrive as cells, see jsonCell) gives its
 * elements; any other text is split on runs of whitespace (leading and trailing whitespace ignored). "" → [].
 */
export function splitTokens(cell: string): string[] {
  const s = cell.trim();
  if (s === "") return [];
  if (s.charCodeAt(0) === 91 /* [ */ && s.charCodeAt(s.length - 1) === 93 /* ] */) {
    let v: unknown;
    try {
      v = JSON.parse(s);
    } catch {
      v = null;
    }
    if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v as string[];
  }
  return s.split(/\s+/);
}

/** A token as the vocabulary sees it (lowercased when `lowercase`). */
const normal = (t: string, lowercase: boolean) => (lowercase ? t.toLowerCase() : t);

/**
 * Learn the vocabulary from `cells[rows[k]]` (the training rows): tokens counted after lowercasing (if set), kept when
 * seen at least min_count times, sorted by count descending then by string (code-unit order), and cut to
 * vocab_size − 2 when vocab_size is set.
 */
export function fitVocabulary(input: TokenInput, cells: readonly string[], rows: ArrayLike<number>): TokenVocabulary {
  const counts = new Map<string, number>();
  for (let k = 0; k < rows.length; k++) {
    for (const t of splitTokens(cells[rows[k]])) {
      const s = normal(t, input.lowercase);
      counts.set(s, (counts.get(s) ?? 0) + 1);
    }
  }
  const kept = [...counts].filter(([, n]) => n >= input.min_count);
  kept.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const vocab = kept.map(([s]) => s);
  if (input.vocab_size !== null && vocab.length > input.vocab_size - RESERVED_IDS) vocab.length = input.vocab_size - RESERVED_IDS;
  return { column: input.column, lowercase: input.lowercase, max_length: input.max_length, vocab };
}

/** Encoded token rows: see the layout at the top of the file. */
export interface EncodedTokens {
  /** L, ids per row. */
  maxLength: number;
  /** Token ids int32 [N, L]: vocabulary ids, UNK_ID outside it, PAD_ID at padding. */
  ids: Int32Array;
  /** 1 at a real token, 0 at padding: f32 [N, L]. */
  mask: Float32Array;
  /** Each row's token count before truncation (n_k; may exceed L): int32 [N]. */
  lengths: Int32Array;
}

/** Encode `cells[rows[k]]` with the vocabulary (truncated to, or padded up to, max_length). */
export function encodeTokens(voc: TokenVocabulary, cells: readonly string[], rows: ArrayLike<number>): EncodedTokens {
  const L = voc.max_length, n = rows.length;
  const map = new Map(voc.vocab.map((s, k) => [s, k + RESERVED_IDS]));
  const ids = new Int32Array(n * L), mask = new Float32Array(n * L), lengths = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    const toks = splitTokens(cells[rows[k]]);
    lengths[k] = toks.length;
    const m = Math.min(L, toks.length);
    for (let j = 0; j < m; j++) {
      ids[k * L + j] = map.get(normal(toks[j], voc.lowercase)) ?? UNK_ID;
      mask[k * L + j] = 1;
    }
  }
  return { maxLength: L, ids, mask, lengths };
}

/**
 * A row's predicted tags as strings for evaluation against its full gold sequence: `length` tags (the row's token
 * count before truncation), classes[ids[j]] for j < min(length, ids.length) and OUTSIDE_TAG past max_length.
 */
export function decodeTags(ids: ArrayLike<number>, length: number, classes: readonly string[]): string[] {
  const out = new Array<string>(length);
  for (let j = 0; j < length; j++) {
    if (j >= ids.length) {
      out[j] = OUTSIDE_TAG;
      continue;
    }
    const c = classes[ids[j]];
    if (c === undefined) throw new RangeError(`decodeTags: class id ${ids[j]} at position ${j} is outside the ${classes.length} classes`);
    out[j] = c;
  }
  return out;
}
