// The x axis and series of the demo's per-step charts (live.ts): per-step values thinned to bucket means under
// per-epoch values. Pure: no DOM.

/** Per-step points drawn per task at most; more steps are averaged in equal buckets. */
export const MAX_POINTS = 1500;
export type Num = number | null;

/**
 * One x axis, in epochs of training (step s at s / stepsPerEpoch), for per-step values under per-epoch values: the
 * mean of each bucket of `bucket` steps at its last step (the last bucket may be shorter), and epoch e's value at
 * e − ½, the middle of the steps it averages; each series is null at the other's points (uPlot spans the gaps).
 */
export function stepAndEpochSeries(perStep: number[][], perEpoch: number[][], stepsPerEpoch: number): { x: number[]; faint: Num[][]; bold: Num[][]; bucket: number } {
  const S = perStep[0]?.length ?? 0, E = perEpoch[0]?.length ?? 0;
  const k = Math.max(1, Math.ceil(S / MAX_POINTS));
  const bucketMean = new Map<number, number[]>(), epochAt = new Map<number, number>();
  for (let end = k; end < S + k; end += k) {
    const to = Math.min(end, S), from = end - k;
    bucketMean.set(to / stepsPerEpoch, perStep.map((v) => {
      let sum = 0;
      for (let i = from; i < to; i++) sum += v[i];
      return sum / (to - from);
    }));
  }
  for (let e = 1; e <= E; e++) epochAt.set(e - 0.5, e - 1);
  const x = [...new Set([...bucketMean.keys(), ...epochAt.keys()])].sort((a, b) => a - b);
  const faint = perStep.map((_, t) => x.map((p) => bucketMean.get(p)?.[t] ?? null));
  const bold = perEpoch.map((v) => x.map((p) => (epochAt.has(p) ? v[epochAt.get(p)!] : null)));
  return { x, faint, bold, bucket: k };
}
