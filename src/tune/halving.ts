// Synchronous successive halving (Jamieson & Talwalkar 2016; one bracket of Hyperband, Li et al. 2018, with every
// trial starting at the smallest budget). Chosen over ASHA's asynchronous promotions so that the trials promoted, and
// so the leaderboard, do not depend on which worker thread finishes first: each rung waits for all its trials.
//
// Rungs (epochs): with R = the spec's training.epochs, η the reduction factor and r the minimum epochs,
// s = ⌊log_η(R / r)⌋ and rung k ∈ [0, s] trains max(r, round(R / η^(s − k))) epochs (the last rung trains R), equal
// neighbours merged. Trials per rung: n_0 = N, n_k = max(1, ⌊n_{k−1} / η⌋): the best n_k of rung k − 1 by the metric
// (ties: the lower trial id) are retrained from scratch for the rung's epochs, the rest stop there.

/** The epochs of each rung, increasing, the last = `maxEpochs`. */
export function rungEpochs(maxEpochs: number, eta: number, minEpochs: number): number[] {
  if (!(Number.isInteger(maxEpochs) && maxEpochs >= 1)) throw new Error(`tune: training.epochs must be at least 1 (the last rung's epochs), found ${maxEpochs}`);
  if (!(Number.isInteger(eta) && eta >= 2)) throw new Error(`tune: --eta must be an integer ≥ 2, found ${eta}`);
  if (!(Number.isInteger(minEpochs) && minEpochs >= 1 && minEpochs <= maxEpochs)) throw new Error(`tune: --min-epochs must be an integer in [1, training.epochs = ${maxEpochs}], found ${minEpochs}`);
  let s = 0;
  while (minEpochs * eta ** (s + 1) <= maxEpochs) s++;
  const out: number[] = [];
  for (let k = 0; k <= s; k++) {
    const e = k === s ? maxEpochs : Math.max(minEpochs, Math.round(maxEpochs / eta ** (s - k)));
    if (out[out.length - 1] !== e) out.push(e);
  }
  return out;
}

/** How many trials train at each rung: n_0 = trials, n_k = max(1, ⌊n_{k−1} / η⌋). */
export function rungSizes(trials: number, rungs: number, eta: number): number[] {
  const out = [trials];
  for (let k = 1; k < rungs; k++) out.push(Math.max(1, Math.floor(out[k - 1] / eta)));
  return out;
}

/** One trained (trial, rung): the metric (NaN when the trial diverged) and what happened next. */
export interface RungResult {
  trial: number;
  rung: number;
  epochs: number;
  metric: number;
  /** "promoted" to the next rung, "stopped" here, "final" (trained at the last rung), "failed" (diverged: `error`). */
  status: "promoted" | "stopped" | "final" | "failed";
  error?: string;
  /** Wall time of the run in seconds. */
  seconds: number;
}

/** Runs trials for one rung; the results in the order of `jobs` (metric NaN + error for a diverged run). */
export type RunRung = (jobs: { trial: number; epochs: number }[]) => Promise<{ metric: number; error?: string; seconds: number }[]>;

/**
 * Successive halving over trials 0 … trials − 1: every rung's results, rung by rung (within a rung in trial order).
 * `higherIsBetter` orders the metric; NaN ranks last and is never promoted.
 */
export async function successiveHalving(trials: number, epochs: number[], eta: number, higherIsBetter: boolean, run: RunRung, onRung?: (rung: RungResult[]) => void): Promise<RungResult[]> {
  const sizes = rungSizes(trials, epochs.length, eta);
  const results: RungResult[] = [];
  let alive = Array.from({ length: trials }, (_, i) => i);
  for (let k = 0; k < epochs.length && alive.length; k++) {
    const got = await run(alive.map((trial) => ({ trial, epochs: epochs[k] })));
    const rung: RungResult[] = alive.map((trial, i) => ({ trial, rung: k, epochs: epochs[k], metric: got[i].metric, status: Number.isNaN(got[i].metric) ? "failed" : "stopped", seconds: got[i].seconds, ...(got[i].error ? { error: got[i].error } : {}) }));
    const ranked = rankResults(rung, higherIsBetter).filter((r) => r.status !== "failed");
    const last = k === epochs.length - 1;
    const keep = last ? ranked : ranked.slice(0, sizes[k + 1]);
    for (const r of keep) r.status = last ? "final" : "promoted";
    alive = keep.map((r) => r.trial).sort((a, b) => a - b);
    results.push(...rung);
    onRung?.(rung);
  }
  return results;
}

/** `rs` best first: by metric (NaN last), ties by the lower trial id. */
export function rankResults<T extends { metric: number; trial: number }>(rs: readonly T[], higherIsBetter: boolean): T[] {
  return [...rs].sort((a, b) => {
    const an = Number.isNaN(a.metric), bn = Number.isNaN(b.metric);
    if (an || bn) return an === bn ? a.trial - b.trial : an ? 1 : -1;
    const d = higherIsBetter ? b.metric - a.metric : a.metric - b.metric;
    return d !== 0 ? d : a.trial - b.trial;
  });
}

/**
 * The leaderboard: each trial once, at the highest rung it reached, best first (a higher rung beats a lower one,
 * then the metric).
 */
export function leaderboard(results: readonly RungResult[], higherIsBetter: boolean): RungResult[] {
  const top = new Map<number, RungResult>();
  for (const r of results) if (!top.has(r.trial) || top.get(r.trial)!.rung < r.rung) top.set(r.trial, r);
  const byRung = new Map<number, RungResult[]>();
  for (const r of top.values()) byRung.set(r.rung, [...(byRung.get(r.rung) ?? []), r]);
  return [...byRung.keys()].sort((a, b) => b - a).flatMap((k) => rankResults(byRung.get(k)!, higherIsBetter));
}
