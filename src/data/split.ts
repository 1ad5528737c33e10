// Seeded, runtime-independent randomness for data splits and epoch shuffling: mulberry32 (32-bit integer arithmetic
// with Math.imul, so every JS engine produces the same stream) and Fisher–Yates. Never uses Math.random. Portable.

/** mulberry32: a function returning uniform uint32 values; the same seed gives the same stream everywhere. */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    let t = (s = (s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Uniform integer in [0, n) from a uint32 generator, without modulo bias (rejection sampling). n ≤ 2^32. */
export function randomInt(next: () => number, n: number): number {
  if (!(n >= 1 && n <= 4294967296 && Number.isInteger(n))) throw new RangeError(`randomInt: n must be an integer in [1, 2^32], got ${n}`);
  // Accept values below the largest multiple of n that fits in 2^32.
  const limit = 4294967296 - (4294967296 % n);
  for (;;) {
    const x = next();
    if (x < limit) return x % n;
  }
}

function checkN(n: number, what: string): void {
  if (!(Number.isInteger(n) && n >= 0 && n < 4294967296)) throw new RangeError(`${what}: n must be a non-negative integer, got ${n}`);
}

/** Shuffle `a` in place with Fisher–Yates driven by `next`. */
export function shuffleInPlace<T extends { length: number; [i: number]: number }>(a: T, next: () => number): T {
  for (let i = a.length - 1; i > 0; i--) {
    const j = randomInt(next, i + 1);
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
  return a;
}

/** A seeded permutation of 0..n-1 (e.g. for epoch shuffling: use seed + epoch, or permutationStream). */
export function permutation(n: number, seed: number): Uint32Array {
  checkN(n, "permutation");
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  return shuffleInPlace(p, mulberry32(seed));
}

/** Successive seeded permutations of 0..n-1 from one generator: call it once per epoch. */
export function permutationStream(n: number, seed: number): () => Uint32Array {
  checkN(n, "permutationStream");
  const next = mulberry32(seed);
  return () => {
    const p = new Uint32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return shuffleInPlace(p, next);
  };
}

/** Constraints of {@link trainValidationSplit}: keep groups together, or split each stratum separately. */
export interface SplitOptions {
  /**
   * Group key per row: rows with the same key all go to the same side (e.g. identical rows, as the School README
   * recommends). With groups, whole groups are added to validation until it reaches its target size, so it can
   * overshoot by less than one group.
   */
  groups?: ArrayLike<string | number>;
  /** Stratum key per row: the fraction is applied inside each stratum separately (e.g. per school). */
  strata?: ArrayLike<string | number>;
}

/**
 * Seeded train/validation split of n rows. Without options, round(n · validationFraction) rows chosen uniformly go to
 * validation. Returns ascending index arrays that are disjoint and together cover 0..n-1. Same (n, fraction, seed,
 * options) → same split in every runtime.
 */
export function trainValidationSplit(n: number, validationFraction: number, seed: number, opts: SplitOptions = {}): {
  /** Training row indices, ascending. */
  train: Uint32Array;
  /** Validation row indices, ascending. */
  validation: Uint32Array;
} {
  checkN(n, "trainValidationSplit");
  if (!(validationFraction >= 0 && validationFraction <= 1)) throw new RangeError(`trainValidationSplit: validationFraction must be in [0, 1], got ${validationFraction}`);
  for (const [k, a] of [["groups", opts.groups], ["strata", opts.strata]] as const) {
    if (a && a.length !== n) throw new RangeError(`trainValidationSplit: ${k} has ${a.length} entries, expected ${n}`);
  }
  const next = mulberry32(seed);
  const isVal = new Uint8Array(n);
  if (!opts.groups && !opts.strata) {
    const p = new Uint32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    shuffleInPlace(p, next);
    const nv = Math.round(n * validationFraction);
    for (let k = 0; k < nv; k++) isVal[p[k]] = 1;
  } else {
    // Strata in order of first appearance; inside each, groups in order of first appearance, then shuffled.
    const strata = new Map<string | number, number[]>();
    for (let i = 0; i < n; i++) {
      const s = opts.strata ? opts.strata[i] : 0;
      let list = strata.get(s);
      if (!list) strata.set(s, (list = []));
      list.push(i);
    }
    for (const rows of strata.values()) {
      const groups = new Map<string | number, number[]>();
      for (const i of rows) {
        const g = opts.groups ? opts.groups[i] : i;
        let list = groups.get(g);
        if (!list) groups.set(g, (list = []));
        list.push(i);
      }
      const glist = [...groups.values()];
      const order = new Uint32Array(glist.length);
      for (let k = 0; k < order.length; k++) order[k] = k;
      shuffleInPlace(order, next);
      const target = Math.round(rows.length * validationFraction);
      let taken = 0;
      for (let k = 0; k < order.length && taken < target; k++) {
        for (const i of glist[order[k]]) isVal[i] = 1;
        taken += glist[order[k]].length;
      }
    }
  }
  let nv = 0;
  for (let i = 0; i < n; i++) nv += isVal[i];
  const train = new Uint32Array(n - nv), validation = new Uint32Array(nv);
  let a = 0, b = 0;
  for (let i = 0; i < n; i++) {
    if (isVal[i]) validation[b++] = i;
    else train[a++] = i;
  }
  return { train, validation };
}
