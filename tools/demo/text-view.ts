// The text option's predictions from the downloaded ONNX model: intent accuracy and CoNLL span F1 of the slots over
// the held-out utterances, a table of the first ones (gold vs predicted intent, each token with its predicted tag, wrong
// tags marked), and a box where the user types an utterance: both engines run it, the page shows the predicted intent
// and one tag per token (#text-out carries them as data-* attributes for tools/demo/check.mjs).
//
// Outputs (src/onnx/export.ts): intent [N, intents] softmax; slots [N, L, tags] softmax per token, L =
// inputs.tokens.max_length; classes from the model's metadata (UNKNOWN_CLASS first where the task has `unknown`).
import * as ort from "onnxruntime-web/wasm";
import { loadInlineKernels } from "../../src/entry/inline.ts";
import { createSession, type Session } from "../../src/infer/session.ts";
import { spanScores } from "../../src/metrics/spans.ts";
import { decodeTags, splitTokens } from "../../src/data/tokens.ts";
import type { BothRuns } from "./onnx-run.ts";
import type { Probe } from "./protocol.ts";

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
/** Rows of the held-out table. */
const SHOWN = 12;

export interface TextPrediction {
  /** The tokens as the model saw them (normalized: lowercased, sentence punctuation dropped). */
  tokens: string[];
  intent: string;
  /** The predicted intent's probability. */
  p: number;
  tags: string[];
}

/** Argmax of v[at .. at + n). */
function argmax(v: Float32Array, at: number, n: number): number {
  let best = 0;
  for (let c = 1; c < n; c++) if (v[at + c] > v[at + best]) best = c;
  return best;
}

/** Row r's predictions from the outputs `out` (intent, slots) of a batch of `texts`. */
function decode(out: Record<string, Float32Array>, r: number, text: string, intents: readonly string[], tags: readonly string[], L: number): TextPrediction {
  const I = intents.length, C = tags.length, tokens = splitTokens(text);
  const k = argmax(out.intent, r * I, I);
  const ids = Array.from({ length: Math.min(tokens.length, L) }, (_, j) => argmax(out.slots, (r * L + j) * C, C));
  return { tokens, intent: intents[k], p: out.intent[r * I + k], tags: decodeTags(ids, tokens.length, tags) };
}

/** What the user typed, as the training utterances are written: lowercase, no sentence punctuation, single spaces. */
export function normalizeUtterance(s: string): string {
  return s.toLowerCase().replace(/[?!.,;:"]+(?=\s|$)/g, "").replace(/\s+/g, " ").trim();
}

export interface TextShown {
  intentAccuracy: number;
  slotF1: number;
  rows: number;
  /** Every held-out utterance's predicted intent and tags (the check scores them itself against `gold`). */
  predicted: { intent: string; tags: string[] }[];
  gold: { intent: string; slots: string[] }[];
}

/** Fill the metrics line and the held-out table; wire the utterance box to both engines over `bytes`. */
/** The sessions of the last run's utterance box (disposed when the next run shows its predictions). */
let open: Session[] = [];

export async function showText(els: { metrics: HTMLElement; table: HTMLElement; box: HTMLElement; input: HTMLInputElement; button: HTMLButtonElement; out: HTMLElement }, probe: Probe, runs: BothRuns, bytes: Uint8Array): Promise<TextShown> {
  for (const s of open.splice(0)) await s.dispose();
  const mtl = await createSession(bytes, { engine: "mtl", kernels: await loadInlineKernels() });
  open.push(mtl);
  let viaOrt: Session | null = null;
  try {
    viaOrt = await createSession(bytes, { engine: "ort", ort: ort as unknown as typeof import("onnxruntime-web") });
    open.push(viaOrt);
  } catch (e) {
    console.warn("onnxruntime-web unavailable:", e);
  }
  const pre = mtl.meta!.pre, intents = pre.tasks[0].classes!, tags = pre.tasks[1].classes!, L = pre.tokens!.max_length;
  const texts = probe.texts!, gold = probe.gold!;
  const predicted = texts.map((t, r) => decode(runs.mtl, r, t, intents, tags, L));
  const correct = predicted.reduce((n, p, r) => n + (p.intent === gold[r].intent ? 1 : 0), 0);
  const intentAccuracy = correct / texts.length;
  const slotF1 = spanScores(gold.map((g) => g.slots), predicted.map((p) => p.tags)).f1;
  els.metrics.innerHTML =
    `ONNX ${bytes.length.toLocaleString("en-US")} bytes, ${esc(probe.what)} — <span class="nw"><b>intent</b> accuracy ${intentAccuracy.toFixed(3)}</span> · ` +
    `<span class="nw"><b>slots</b> span F1 ${slotF1.toFixed(3)} <span class="dim">(CoNLL: type and both boundaries)</span></span> · ` +
    `<span class="nw">max |mtl − ort| <b>${runs.maxDiff !== null ? runs.maxDiff.toExponential(1) : "n/a (onnxruntime-web did not start; see the console)"}</b></span>`;
  const tokenCells = (p: TextPrediction, g?: string[]) =>
    p.tokens.map((w, j) => `<span class="tok${g && g[j] !== p.tags[j] ? " wrong" : ""}" title="${g ? `gold ${esc(g[j])}` : ""}">${esc(w)}<sub>${p.tags[j] === "O" ? "" : esc(p.tags[j])}</sub></span>`).join(" ");
  const rows = predicted.slice(0, SHOWN).map((p, r) => {
    const ok = p.intent === gold[r].intent;
    return `<tr><td class="txt">${tokenCells(p, gold[r].slots)}</td><td>${esc(gold[r].intent)}</td><td><b class="${ok ? "ok" : "bad"}">${esc(p.intent)}</b> <span class="dim">${p.p.toFixed(2)}</span></td></tr>`;
  });
  els.table.innerHTML = `<table><thead><tr><th class="txt">held-out utterance (predicted tags; red: ≠ gold)</th><th>gold intent</th><th>predicted</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;

  els.box.style.display = "";
  const predict = async () => {
    const text = normalizeUtterance(els.input.value);
    if (!text) {
      els.out.textContent = "type an utterance first, e.g. “show me flights from boston to denver on monday”";
      delete els.out.dataset.intent;
      return;
    }
    const out = await mtl.run([{ tokens: text }]);
    const other = viaOrt ? await viaOrt.run([{ tokens: text }]) : null;
    let diff: number | null = null;
    if (other) {
      diff = 0;
      for (const k of Object.keys(out)) out[k].forEach((v, i) => (diff = Math.max(diff!, Math.abs(v - other[k][i]))));
    }
    const p = decode(out, 0, text, intents, tags, L);
    const unknown = p.tokens.filter((w) => !pre.tokens!.vocab.includes(w));
    els.out.innerHTML =
      `<div>intent <b>${esc(p.intent)}</b> <span class="dim">(p = ${p.p.toFixed(3)}; max |mtl − ort| ${diff === null ? "n/a" : diff.toExponential(1)})</span></div>` +
      `<div class="tags">${tokenCells(p)}</div>` +
      (unknown.length ? `<div class="dim">not in the ${pre.tokens!.vocab.length}-token vocabulary (read as unknown): ${unknown.map(esc).join(", ")}</div>` : "");
    Object.assign(els.out.dataset, { tokens: p.tokens.join(" "), intent: p.intent, tags: p.tags.join(" "), maxDiff: diff === null ? "" : String(diff) });
  };
  els.button.onclick = () => void predict().catch((e) => ((els.out.textContent = `error: ${(e as Error).message}`), console.error(e)));
  els.input.onkeydown = (e) => e.key === "Enter" && els.button.click();
  if (els.input.value.trim()) await predict();
  return { intentAccuracy, slotF1, rows: Math.min(SHOWN, predicted.length), predicted: predicted.map((p) => ({ intent: p.intent, tags: p.tags })), gold };
}
