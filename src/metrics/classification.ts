// Classification metrics in float64. Probabilities for c classes are row-major [n, c]. Portable.
import { log } from "../util/dmath.ts";

/** Default probability clipping for log-loss: p is clipped to [eps, 1 − eps]. */
export const LOG_LOSS_EPS = 1e-7;

function checkLabel01(what: string, y: number, i: number): void {
  if (y !== 0 && y !== 1) throw new Error(`${what}: labels[${i}] = ${y}, expected 0 or 1`);
}

function checkClass(what: string, y: number, i: number, c: number): void {
  if (!(Number.isInteger(y) && y >= 0 && y < c)) throw new Error(`${what}: labels[${i}] = ${y}, expected an integer class in [0, ${c})`);
}

function checkShape(what: string, n: number, probs: ArrayLike<number>, c: number): void {
  if (!(Number.isInteger(c) && c >= 1)) throw new Error(`${what}: numClasses must be a positive integer, got ${c}`);
  if (probs.length !== n * c) throw new Error(`${what}: probabilities have ${probs.length} entries, expected n·c = ${n}·${c} = ${n * c}`);
}

/**
 * Binary accuracy: the prediction is 1 when p > threshold (strictly; default 0.5, so p = 0.5 predicts 0, as
 * torchmetrics does), else 0. NaN for n = 0.
 */
export function binaryAccuracy(labels: ArrayLike<number>, probs: ArrayLike<number>, threshold = 0.5): number {
  if (labels.length !== probs.length) throw new Error(`binaryAccuracy: labels have ${labels.length} entries but probabilities have ${probs.length}`);
  const n = labels.length;
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    checkLabel01("binaryAccuracy", y, i);
    if ((probs[i] > threshold ? 1 : 0) === y) correct++;
  }
  return n ? correct / n : NaN;
}

/** Index of the largest of probs[i·c .. i·c + c) (the first one on ties; NaN entries never win). */
export function argmaxRow(probs: ArrayLike<number>, i: number, c: number): number {
  let best = 0, bv = -Infinity;
  for (let k = 0; k < c; k++) {
    const v = probs[i * c + k];
    if (v > bv) {
      bv = v;
      best = k;
    }
  }
  return best;
}

/** Multiclass accuracy: argmax of each probability (or logit) row vs the integer label. NaN for n = 0. */
export function multiclassAccuracy(labels: ArrayLike<number>, probs: ArrayLike<number>, numClasses: number): number {
  const n = labels.length;
  checkShape("multiclassAccuracy", n, probs, numClasses);
  let correct = 0;
  for (let i = 0; i < n; i++) {
    checkClass("multiclassAccuracy", labels[i], i, numClasses);
    if (argmaxRow(probs, i, numClasses) === labels[i]) correct++;
  }
  return n ? correct / n : NaN;
}

/** Mean binary cross-entropy −[y ln p + (1−y) ln(1−p)] with p clipped to [eps, 1−eps]. NaN for n = 0. */
export function binaryLogLoss(labels: ArrayLike<number>, probs: ArrayLike<number>, eps = LOG_LOSS_EPS): number {
  if (labels.length !== probs.length) throw new Error(`binaryLogLoss: labels have ${labels.length} entries but probabilities have ${probs.length}`);
  const n = labels.length;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    checkLabel01("binaryLogLoss", y, i);
    const p = Math.min(1 - eps, Math.max(eps, probs[i]));
    sum -= y === 1 ? log(p) : log(1 - p);
  }
  return n ? sum / n : NaN;
}

/**
 * Mean multiclass cross-entropy −ln p[i, yᵢ], p clipped to [eps, 1−eps] (rows are not renormalised; pass softmax
 * outputs). NaN for n = 0.
 */
export function multiclassLogLoss(labels: ArrayLike<number>, probs: ArrayLike<number>, numClasses: number, eps = LOG_LOSS_EPS): number {
  const n = labels.length;
  checkShape("multiclassLogLoss", n, probs, numClasses);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    checkClass("multiclassLogLoss", y, i, numClasses);
    const p = Math.min(1 - eps, Math.max(eps, probs[i * numClasses + y]));
    sum -= log(p);
  }
  return n ? sum / n : NaN;
}
