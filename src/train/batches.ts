// Where fit's mini-batches come from: a source of batches per epoch. The in-memory source walks a seeded permutation
// of an Encoded (the historical order, bit for bit); the streaming source (src/data/stream-batches.ts) re-reads a file
// through a shuffle buffer. Portable.
import type { Encoded } from "../data/preprocess.ts";
import { permutationStream } from "../data/split.ts";

/** One step's rows: order[start, start + count) of `data` (count ≤ the step's batch size). */
export interface Batch {
  /** The rows' encoded arrays (the streaming source reuses one object: valid only until the next batch is drawn). */
  data: Encoded;
  /** Row indices into `data`. */
  order: ArrayLike<number>;
  /** First position in `order`. */
  start: number;
  /** Rows in this step, 1 ≤ count ≤ batch size. */
  count: number;
}

/** A source of training batches, epoch by epoch. */
export interface BatchSource {
  /** Training rows per epoch (every epoch yields each of them exactly once). */
  readonly rows: number;
  /**
   * The batches of epoch `epoch` (0-based), `size` rows each but the last. Epochs are asked for in increasing order;
   * a resumed run starts at a later epoch and must get the same batches an uninterrupted run would have.
   */
  epoch(epoch: number, size: number): Iterable<Batch> | AsyncIterable<Batch>;
}

/** The rows of an Encoded in a seeded permutation per epoch (permutationStream(rows, seed): one draw per epoch). */
export function memoryBatches(train: Encoded, seed: number): BatchSource {
  const nextPerm = permutationStream(train.rows, seed);
  let drawn = 0;
  return {
    rows: train.rows,
    *epoch(epoch, size) {
      while (drawn < epoch) nextPerm(), drawn++; // a resumed run: the same shuffles as an uninterrupted one
      if (drawn > epoch) throw new Error(`memoryBatches: epoch ${epoch} asked for after epoch ${drawn - 1}; epochs run in order`);
      const order = nextPerm();
      drawn++;
      for (let s = 0; s < train.rows; s += size) yield { data: train, order, start: s, count: Math.min(size, train.rows - s) };
    },
  };
}

/** True for a BatchSource (fit accepts one in place of an Encoded). */
export function isBatchSource(x: Encoded | BatchSource): x is BatchSource {
  return typeof (x as BatchSource).epoch === "function";
}
