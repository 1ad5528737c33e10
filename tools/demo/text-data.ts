// The demo's text option: joint intent detection + slot filling on a slice of ATIS's training utterances, which the
// demo's build step writes beside the page (tools/demo/atis-slice.mjs → atis-slice.json) and the worker fetches from
// the demo server itself. Model: token embedding → bigru trunk (shared bottom only); the intent head reads the
// max-pooled trunk, the slot head every token (as models/atis-joint.json, smaller). 20 % of the slice is held out for
// validation and is the probe the page runs through the downloaded ONNX model.
import { validateSpec } from "../../src/model/spec.ts";
import { Table } from "../../src/data/table.ts";
import { splitRows } from "../../src/data/load.ts";
import { encode, fitPreprocessing } from "../../src/data/preprocess.ts";
import { training, type Prepared } from "./datasets.ts";
import type { TrainRequest } from "./protocol.ts";

/** Where the demo server serves the slice (tools/demo/build.mjs demoSite writes it into the page's folder). */
export const ATIS_SLICE_URL = "./atis-slice.json";
/** inputs.tokens.max_length: the slice holds utterances of at most 30 tokens (tools/demo/atis-slice.mjs MAX_TOKENS). */
export const TEXT_MAX_LENGTH = 30;
export const TEXT_COLUMNS = ["tokens", "slots", "intent"] as const;

export interface AtisSlice {
  source: string;
  rows: { tokens: string; slots: string; intent: string }[];
}

/** Check the fetched slice's shape; errors name the row and field. */
export function checkSlice(j: unknown, url: string): AtisSlice {
  const o = j as Partial<AtisSlice> | null;
  if (!o || typeof o.source !== "string" || !Array.isArray(o.rows)) throw new Error(`${url}: expected { source: string, rows: [...] }`);
  o.rows.forEach((r, i) => {
    for (const c of TEXT_COLUMNS) if (typeof (r as Record<string, unknown>)?.[c] !== "string") throw new Error(`${url}: rows[${i}].${c} is not a string`);
  });
  return o as AtisSlice;
}

export function textSpec(req: TrainRequest) {
  return validateSpec({
    name: "demo-atis",
    inputs: { tokens: { column: "tokens", max_length: TEXT_MAX_LENGTH, dim: 32 } },
    architecture: { type: "hps", layers: [{ type: "bigru", units: 32 }] },
    tasks: [
      { name: "intent", type: "multiclass", label: "intent", unknown: true, pool: "max" },
      { name: "slots", type: "tagging", label: "slots", unknown: true },
    ],
    training: training(req, 0.01, "loss", 32),
  });
}

export function prepareText(req: TrainRequest, slice: AtisSlice): Prepared {
  const spec = textSpec(req);
  const table = Table.fromRecords("atis-slice.json", slice.rows, [...TEXT_COLUMNS]);
  const split = splitRows(spec, table);
  const pre = fitPreprocessing(spec, table, split.train);
  const validation = encode(spec, pre, table, split.validation);
  const v = Array.from(split.validation), intents = pre.tasks[0].classes!;
  return {
    spec,
    pre,
    train: encode(spec, pre, table, split.train),
    validation,
    probe: {
      input: "tokens",
      data: new Float32Array(0),
      width: 0,
      rows: v.length,
      features: [],
      shown: [],
      texts: v.map((i) => slice.rows[i].tokens),
      gold: v.map((i) => ({ intent: slice.rows[i].intent, slots: slice.rows[i].slots.split(" ") })),
      labels: [Float32Array.from(validation.tasks[0].labels)],
      what: `${v.length.toLocaleString("en-US")} held-out ATIS utterances`,
    },
    note: `ATIS: ${slice.rows.length} training utterances (${split.train.length} train, ${split.validation.length} held out), ${intents.length} intents, ${pre.tasks[1].classes!.length} slot tags, vocabulary ${pre.tokens!.vocab.length} tokens`,
    data: `${slice.source}, bundled with the demo page by its build step`,
  };
}

export async function atis(req: TrainRequest, status: (s: string) => void): Promise<Prepared> {
  status("fetching the ATIS slice the demo serves…");
  const r = await fetch(new URL(ATIS_SLICE_URL, location.href));
  if (!r.ok) throw new Error(`${ATIS_SLICE_URL}: HTTP ${r.status} (the demo's build step writes it from ../shared/data/atis-snips/atis/train; start the server with npm run demo [-- --data DIR])`);
  return prepareText(req, checkSlice(await r.json(), ATIS_SLICE_URL));
}
