// Build step of the demo's text option: the first ATIS_ROWS training utterances of ATIS (../shared/data/atis-snips/
// atis/train: seq.in, seq.out, label, line i of each together) that have at most MAX_TOKENS tokens, written as
// OUTDIR/atis-slice.json for the page's worker to fetch from the demo server itself (no other request at run time):
//   { source: string, rows: [{ tokens: "show me flights …", slots: "O O O …", intent: "atis_flight" }, …] }
// Lines whose tag count differs from their token count, or files of different line counts, are errors naming the file
// and line.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const ATIS_DIR = "atis-snips/atis/train";
export const ATIS_ROWS = 600;
export const MAX_TOKENS = 30;
export const ATIS_SLICE = "atis-slice.json";

/** The ATIS folder under `dataDir`, or null when one of its three files is missing. */
export function atisDir(dataDir) {
  const dir = join(dataDir, ATIS_DIR);
  return ["seq.in", "seq.out", "label"].every((f) => existsSync(join(dir, f))) ? dir : null;
}

/** Write OUTDIR/atis-slice.json from dataDir's ATIS training folder; returns the number of utterances written. */
export function writeAtisSlice(dataDir, outdir) {
  const dir = atisDir(dataDir);
  if (!dir) throw new Error(`no ATIS training files (seq.in, seq.out, label) under ${join(dataDir, ATIS_DIR)}`);
  const read = (f) => readFileSync(join(dir, f), "utf8").replace(/\n+$/, "").split("\n");
  const [words, tags, labels] = ["seq.in", "seq.out", "label"].map(read);
  if (words.length !== tags.length || words.length !== labels.length) throw new Error(`${dir}: seq.in has ${words.length} lines, seq.out ${tags.length}, label ${labels.length}; expected equal counts`);
  const rows = [];
  for (let i = 0; i < words.length && rows.length < ATIS_ROWS; i++) {
    const w = words[i].trim().split(/\s+/), t = tags[i].trim().split(/\s+/);
    if (w.length !== t.length) throw new Error(`${join(dir, "seq.out")} line ${i + 1}: ${t.length} tags for the ${w.length} tokens of seq.in line ${i + 1}; expected one tag per token`);
    if (w.length <= MAX_TOKENS) rows.push({ tokens: w.join(" "), slots: t.join(" "), intent: labels[i].trim() });
  }
  const source = `the first ${rows.length} utterances of ${ATIS_DIR} with at most ${MAX_TOKENS} tokens`;
  writeFileSync(join(outdir, ATIS_SLICE), JSON.stringify({ source, rows }) + "\n");
  return rows.length;
}
