// The aligned three-file sequence-tagging format (data.format "seqtag", as ATIS and SNIPS ship): a folder holding
// seq.in (the tokens, space-separated), seq.out (one tag per token) and label (the sentence's class), one utterance per
// line, line i of each file belonging together. Portable: the caller opens the files (src/cli/files.ts readData).
import { textLines, type ByteSource } from "./source.ts";
import { splitTokens } from "./tokens.ts";
import { Table } from "./table.ts";

/** The files of a seqtag folder and the table columns they become, in column order. */
export const SEQTAG_FILES = [
  { file: "seq.in", column: "tokens" },
  { file: "seq.out", column: "slots" },
  { file: "label", column: "intent" },
] as const;

/** The sources of one seqtag folder: seq.in is required; seq.out and label may be left out (prediction). */
export interface SeqtagSources {
  /** seq.in → column "tokens". */
  tokens: ByteSource;
  /** seq.out → column "slots", or null. */
  slots: ByteSource | null;
  /** label → column "intent", or null. */
  intent: ByteSource | null;
}

/** A file's lines, trailing blank lines dropped (a final newline, or a few, is not an utterance). */
async function lines(src: ByteSource): Promise<string[]> {
  const out: string[] = [];
  for await (const { text } of textLines(src)) out.push(text);
  while (out.length && out[out.length - 1].trim() === "") out.pop();
  return out;
}

/**
 * Read a seqtag folder into a table named `name` (the folder) with the columns tokens, slots and intent (those whose
 * file is given), one row per line, data row i = line i of every file; cells keep the lines' text (trimmed).
 * Errors name the file and line: files of different line counts, an empty line of seq.in (an utterance needs a
 * token), a seq.out line whose tag count differs from its seq.in line's token count, an empty folder.
 */
export async function readSeqtag(name: string, src: SeqtagSources): Promise<Table> {
  const tokens = await lines(src.tokens);
  if (tokens.length === 0) throw new Error(`${src.tokens.name}: no data rows (the file is empty or holds only blank lines)`);
  tokens.forEach((t, i) => {
    if (t.trim() === "") throw new Error(`${src.tokens.name}: line ${i + 1} is empty; expected the utterance's tokens (one utterance per line)`);
  });
  const cols: string[] = ["tokens"], data: string[][] = [tokens.map((t) => t.trim())];
  for (const [key, column] of [["slots", "slots"], ["intent", "intent"]] as const) {
    const s = src[key];
    if (!s) continue;
    const ls = await lines(s);
    if (ls.length !== tokens.length) throw new Error(`${s.name}: ${ls.length} lines, but ${src.tokens.name} has ${tokens.length}; expected one line per utterance, aligned`);
    if (key === "slots") {
      ls.forEach((l, i) => {
        const nt = splitTokens(l).length, nw = splitTokens(tokens[i]).length;
        if (nt !== nw) throw new Error(`${s.name}: line ${i + 1}: ${nt} tags, but line ${i + 1} of ${src.tokens.name} has ${nw} tokens; expected one tag per token`);
      });
    }
    cols.push(column);
    data.push(ls.map((l) => l.trim()));
  }
  return Table.fromColumns(name, cols, data);
}
