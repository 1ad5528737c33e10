// The runtime scenario's text phase (test/runtimes/scenario.ts): a small joint intent + slot model trained on seeded
// ATIS-like utterances, portable like the rest (no node:* imports, no files, no TextDecoder: jsc and SpiderMonkey
// shells lack it). Utterances come from a fixed grammar driven by mulberry32 (integer arithmetic only): an intent
// (flight, airfare, ground_service) and one BIO tag per token (B-/I-fromloc, B-/I-toloc, B-/I-city, B-day, O).
// The vocabulary and the classes are learnt by fitPreprocessing from an in-memory table, as `mtl train` would.
//
// Model: token embedding → conv1d (relu) → bigru trunk; the intent head reads the max-pooled trunk, the slot head
// every token. After training: the weights are hashed (they enter the scenario's weight hash), the model is exported
// to ONNX and session.run(raw utterances) on the mtl engine (and ORT when given) must equal model.predict within `tol`.
import type { Kernels } from "../../src/runtime/load.ts";
import { validateSpec } from "../../src/model/spec.ts";
import { Model } from "../../src/model/model.ts";
import { fit } from "../../src/train/trainer.ts";
import { mulberry32 } from "../../src/data/split.ts";
import { Table } from "../../src/data/table.ts";
import { encode, fitPreprocessing, type Encoded } from "../../src/data/preprocess.ts";
import { exportOnnx } from "../../src/onnx/export.ts";
import { createSession } from "../../src/infer/session.ts";

type Ort = typeof import("onnxruntime-web");

/** The text phase's size: training and probe utterances, epochs, L (inputs.tokens.max_length). */
export const TEXT = { rows: 96, probeRows: 16, epochs: 4, maxLength: 12 } as const;

export function textSpecInput(seed: number): Record<string, unknown> {
  return {
    name: "runtimes-text",
    inputs: { tokens: { column: "text", max_length: TEXT.maxLength, dim: 8 } },
    architecture: {
      type: "hps",
      layers: [
        { type: "conv1d", filters: 8, kernel: 3, activation: "relu" },
        { type: "bigru", units: 6 },
      ],
    },
    tasks: [
      { name: "intent", type: "multiclass", label: "intent", pool: "max" },
      { name: "slots", type: "tagging", label: "slots" },
    ],
    training: { epochs: TEXT.epochs, batch_size: 16, seed, optimizer: { type: "adam", lr: 0.01 } },
  };
}

const CITIES = ["boston", "denver", "dallas", "atlanta", "seattle", "new york", "salt lake city"];
const DAYS = ["monday", "friday", "sunday"];

/** `words` tagged as one slot: B-<slot> on the first word, I-<slot> on the rest. */
const slot = (words: string, name: string): [string, string][] => words.split(" ").map((w, i) => [w, `${i ? "I" : "B"}-${name}`]);
const plain = (words: string): [string, string][] => words.split(" ").map((w) => [w, "O"]);

/** One utterance per row: text (space-separated tokens), intent, slots (one tag per token). */
export function makeTextRows(n: number, seed: number): Record<string, string>[] {
  const next = mulberry32(seed ^ 0x7e47);
  const pick = <T>(xs: readonly T[]): T => xs[next() % xs.length];
  const rows: Record<string, string>[] = [];
  for (let r = 0; r < n; r++) {
    const from = pick(CITIES), to = pick(CITIES.filter((c) => c !== from)), day = pick(DAYS);
    const withDay = next() % 2 === 0;
    const dayPart = withDay ? [...plain("on"), ...slot(day, "day")] : [];
    let intent: string, parts: [string, string][];
    switch (next() % 6) {
      case 0: (intent = "flight"), (parts = [...plain("show me flights from"), ...slot(from, "fromloc"), ...plain("to"), ...slot(to, "toloc"), ...dayPart]); break;
      case 1: (intent = "flight"), (parts = [...plain("i want to fly to"), ...slot(to, "toloc"), ...dayPart]); break;
      case 2: (intent = "airfare"), (parts = [...plain("what is the fare from"), ...slot(from, "fromloc"), ...plain("to"), ...slot(to, "toloc")]); break;
      case 3: (intent = "airfare"), (parts = [...plain("how much is a ticket to"), ...slot(to, "toloc"), ...dayPart]); break;
      case 4: (intent = "ground_service"), (parts = [...plain("ground transportation in"), ...slot(from, "city")]); break;
      default: (intent = "ground_service"), (parts = [...plain("is there a taxi in"), ...slot(to, "city"), ...dayPart]); break;
    }
    rows.push({ text: parts.map((p) => p[0]).join(" "), intent, slots: parts.map((p) => p[1]).join(" ") });
  }
  return rows;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>, what: string): number {
  if (a.length !== b.length) throw new Error(`text ${what}: ${a.length} values vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = d; // NaN propagates
  }
  return m;
}

/** The encoded training rows' bytes (token ids, token mask, then each task's labels, mask and token mask). */
export function textDataBytes(d: Encoded): Uint8Array {
  const parts: ArrayBufferView[] = [d.tokens!.ids, d.tokens!.mask, ...d.tasks.flatMap((t) => [t.labels, t.mask, ...(t.tokenMask ? [t.tokenMask] : [])])];
  const all = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) all.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), at), (at += p.byteLength);
  return all;
}

export interface TextPhase {
  model: Model;
  data: Uint8Array;
  lossStart: number;
  lossEnd: number;
  /** max |session.run − model.predict| over both tasks' outputs on the probe utterances, per engine (ort null when not given). */
  mtlVsWasm: number;
  ortVsWasm: number | null;
}

/**
 * Train the text model and check its export; the caller hashes `model`'s weights and disposes it. `engineKernels`:
 * kernels for the mtl inference engine (its own instance when the runtime can make one).
 */
export async function textPhase(kernels: Kernels, engineKernels: () => Promise<Kernels>, seed: number, ort: Ort | null | undefined, tol: number): Promise<TextPhase> {
  const spec = validateSpec(textSpecInput(seed));
  const records = makeTextRows(TEXT.rows + TEXT.probeRows, seed);
  const table = Table.fromRecords("runtimes-text", records, ["text", "intent", "slots"]);
  const trainIdx = Array.from({ length: TEXT.rows }, (_, i) => i), probeIdx = Array.from({ length: TEXT.probeRows }, (_, i) => TEXT.rows + i);
  const pre = fitPreprocessing(spec, table, trainIdx);
  const train = encode(spec, pre, table, trainIdx);
  const model = new Model(spec, pre, kernels);
  model.initParams(seed);
  const { history } = await fit(model, train, null);
  const lossStart = history[0].objective, lossEnd = history[history.length - 1].objective;
  if (!(lossEnd < lossStart)) throw new Error(`the text model's objective did not fall: ${lossStart} → ${lossEnd}`);

  const want = model.predict(encode(spec, pre, table, probeIdx, { labels: false }));
  const onnx = exportOnnx(model);
  const rows = probeIdx.map((i) => ({ text: records[i].text }));
  const compare = async (engine: "mtl" | "ort") => {
    const s = await createSession(onnx, engine === "mtl" ? { engine, kernels: await engineKernels() } : { engine, ort: ort! });
    try {
      const got = await s.run(rows);
      return Math.max(...spec.tasks.map((t, i) => maxAbsDiff(got[t.name], want[i], `${t.name}: ${engine} vs model.predict`)));
    } finally {
      await s.dispose();
    }
  };
  const mtlVsWasm = await compare("mtl");
  if (!(mtlVsWasm <= tol)) throw new Error(`text model: mtl engine vs model.predict: max |diff| ${mtlVsWasm} > ${tol}`);
  const ortVsWasm = ort ? await compare("ort") : null;
  if (ortVsWasm !== null && !(ortVsWasm <= tol)) throw new Error(`text model: ort vs model.predict: max |diff| ${ortVsWasm} > ${tol}`);
  return { model, data: textDataBytes(train), lossStart, lossEnd, mtlVsWasm, ortVsWasm };
}
