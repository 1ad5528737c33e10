// Training from a file that is not held in memory (data.streaming): the streamed data set (src/data/stream.ts), a
// model initialized with the spec's seed, and fit over the streamed batches on this thread. Resuming works as in
// memory (FitOptions.resume): each epoch's shuffle depends on the seed and the epoch only. Portable.
import type { ModelSpec } from "../model/spec.ts";
import { Model } from "../model/model.ts";
import type { Kernels } from "../runtime/load.ts";
import { openStreaming, type Reopen, type StreamingData, type StreamingOptions } from "../data/stream.ts";
import { fit, type FitOptions, type FitResult } from "./trainer.ts";

/** A trained streaming run: the model (dispose it), fit's result and the streamed data set. */
export interface StreamingRun {
  /** The trained model. */
  model: Model;
  /** fit's history and state. */
  result: FitResult;
  /** The preprocessing, the validation rows and the batch source. */
  data: StreamingData;
}

/**
 * Train `spec` on the rows `reopen` opens (once per pass: two statistics passes, then one per epoch). One thread:
 * `fit.gradients` must be left out (a thread pool shares an in-memory data set with its workers).
 */
export async function trainStreaming(spec: ModelSpec, reopen: Reopen, k: Kernels, opts: FitOptions & StreamingOptions = {}): Promise<StreamingRun> {
  if (opts.gradients) throw new Error("data.streaming trains on one thread: a thread pool (gradients) shares an in-memory data set with its workers; leave gradients out");
  const data = await openStreaming(spec, reopen, opts);
  const model = new Model(spec, data.pre, k);
  try {
    model.initParams(spec.training.seed);
    const result = await fit(model, data.train, data.validation.rows ? data.validation : null, opts);
    return { model, result, data };
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    data.train.close();
  }
}
