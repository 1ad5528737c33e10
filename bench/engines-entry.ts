// The portable half of bench:engines (bundled by bench/engines.mjs with build/mtl.wasm inlined, run unchanged in
// Node, jsc and js102): W1 training with the library's fit, one untimed warm-up epoch, then `repeats` timed epochs.
import { loadInlineKernels } from "../src/entry/inline.ts";
import { Model } from "../src/model/model.ts";
import { fit, type TrainState } from "../src/train/trainer.ts";
import { spec, pre, SEED, BATCH, W1_ROWS, w1Data } from "./w1.ts";

export interface EngineBench {
  rows: number;
  batch: number;
  /** samples/s of each timed epoch (W1_ROWS / wall seconds). */
  samplesPerSec: number[];
  /** The summed task loss of the last step: equal bits in every engine (training is bit-identical). */
  lastLoss: number;
}

export async function benchW1(repeats: number): Promise<EngineBench> {
  const data = w1Data(W1_ROWS);
  const model = new Model(spec, pre, await loadInlineKernels());
  model.initParams(SEED);
  let state: TrainState | undefined;
  let lastLoss = NaN;
  const epoch = async () => {
    const r = await fit(model, data, null, { epochs: (state?.epoch ?? 0) + 1, resume: state, onStep: (_s, l) => (lastLoss = l[0] + l[1] + l[2]) });
    state = r.state;
  };
  await epoch(); // warm-up: the engine tiers the wasm up
  const samplesPerSec: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await epoch();
    samplesPerSec.push(W1_ROWS / ((performance.now() - t0) / 1000));
  }
  return { rows: W1_ROWS, batch: BATCH, samplesPerSec, lastLoss };
}
