// Dropout streams of data-parallel threads (src/ops/dropout.ts): thread t's Philox key word 0 is
// threadSeedLo(seedLo, t) and the counter's high bits move only key word 1, so no two threads ever draw at the
// same (key, counter) pair, whatever their stream positions; thread 0's stream is the single-thread one.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup } from "../helpers.ts";
import { counterOffset, counterSeedHi, dropoutStream, threadSeedLo } from "../../src/ops/dropout.ts";

const { arena, call } = await setup();

const SEEDS: [number, number][] = [[0, 0x5eed], [7, 0x5eed], [-1, 0x5eed], [0x9e3779b9 | 0, 0], [123456789, -1]];
const THREADS = [0, 1, 2, 3];
/** Stream positions next to the 2³¹ boundaries where key word 1 steps (k = 0..5), and a few far ones. */
const COUNTERS = [...new Set([0, 1, 17, 2 ** 53 - 1, 2 ** 40 + 3, ...[1, 2, 3, 4, 5].flatMap((k) => [-64, -1, 0, 1, 64].map((d) => k * 2 ** 31 + d))])];

/** The old per-thread scheme (seedHi + t), for showing that the check below does catch a collision. */
const legacy = (seedLo: number, seedHi: number, t: number, c: number) => ({ seedLo, seedHi: (seedHi + t + Math.floor(c / 2 ** 31)) | 0, offset: c % 2 ** 31 });

/** (thread, counter) pairs whose kernel arguments (key, offset) coincide, under a stream mapping. */
function collisions(map: typeof dropoutStream, seedLo: number, seedHi: number): string[] {
  const seen = new Map<string, string>(), out: string[] = [];
  for (const t of THREADS)
    for (const c of COUNTERS) {
      const s = map(seedLo, seedHi, t, c);
      const key = `${s.seedLo},${s.seedHi},${s.offset}`;
      const prev = seen.get(key);
      if (prev !== undefined) out.push(`${prev} = thread ${t} at ${c}`);
      else seen.set(key, `thread ${t} at ${c}`);
    }
  return out;
}

test("the mapping is a pure function: thread 0 is the single-thread stream, the worker's folding agrees", () => {
  for (const [lo, hi] of SEEDS)
    for (const c of COUNTERS) {
      // Thread 0 passes exactly what the op always passed: seedLo, seedHi + ⌊c / 2³¹⌋, c mod 2³¹.
      assert.equal(dropoutStream(lo, hi, 0, c), { seedLo: lo | 0, seedHi: (hi + Math.floor(c / 2 ** 31)) | 0, offset: c % 2 ** 31 });
      for (const t of THREADS) {
        const s = dropoutStream(lo, hi, t, c);
        // A worker folds t into its RngState's seedLo and the op runs the thread-0 mapping.
        assert.equal(s, dropoutStream(threadSeedLo(lo, t), hi, 0, c));
        assert.equal([s.seedHi, s.offset], [counterSeedHi(hi, c), counterOffset(c)]);
        assert.ok(s.offset >= 0 && s.offset < 2 ** 31 && Number.isInteger(s.offset));
        assert.ok(s.seedLo === (s.seedLo | 0) && s.seedHi === (s.seedHi | 0), "i32 key words");
      }
    }
});

test("threads never share a key: (key, counter) pairs of different threads never coincide (near every 2³¹·k)", () => {
  for (const [lo, hi] of SEEDS) {
    // Key word 0 differs between any two threads, so even the element ranges [offset, offset + n) of different
    // threads live under different keys and cannot overlap.
    const k0 = THREADS.map((t) => threadSeedLo(lo, t));
    assert.is(new Set(k0).size, THREADS.length, `seed ${lo}: key words ${k0}`);
    for (const c of COUNTERS) for (const t of THREADS.slice(1)) assert.is.not(dropoutStream(lo, hi, t, c).seedLo, dropoutStream(lo, hi, 0, c).seedLo);
    assert.equal(collisions(dropoutStream, lo, hi), [], `seed (${lo}, ${hi})`);
    // The old scheme collides exactly as the issue says: thread 0 at 2³¹·k meets thread k at 0.
    const old = collisions(legacy, lo, hi);
    assert.ok(old.includes(`thread 0 at ${2 ** 31} = thread 1 at 0`), old.join("; "));
  }
  // More threads: t ↦ t·0x9E3779B9 mod 2³² is injective, checked over the first 2¹⁶ threads for two seeds.
  for (const lo of [0, 0x1234567]) {
    const s = new Set<number>();
    for (let t = 0; t < 1 << 16; t++) s.add(threadSeedLo(lo, t));
    assert.is(s.size, 1 << 16);
  }
  // For a fixed thread, distinct seeds keep distinct keys (XOR with a constant is a bijection).
  const lows = new Set<number>();
  for (let lo = -500; lo < 500; lo++) lows.add(threadSeedLo(lo, 3));
  assert.is(lows.size, 1000);
});

function mask(n: number, s: { seedLo: number; seedHi: number; offset: number }, p = 0.5): Float32Array {
  const mk = arena.mark();
  const xp = arena.putF32(new Float32Array(n).fill(1)), yp = arena.alloc(n), mp = arena.alloc(n);
  call("dropout_fwd_f32x4", n, xp, yp, mp, s.seedLo, s.seedHi, s.offset, p);
  const out = arena.readF32(mp, n);
  arena.release(mk);
  return out;
}

test("the mask thread 1 draws at counter 0 differs from thread 0's at counter 2³¹ (the old collision)", () => {
  const n = 4096, [lo, hi] = [7, 0x5eed];
  const t0 = mask(n, dropoutStream(lo, hi, 0, 2 ** 31)), t1 = mask(n, dropoutStream(lo, hi, 1, 0));
  let same = 0;
  for (let i = 0; i < n; i++) same += t0[i] === t1[i] ? 1 : 0;
  // Independent p = 0.5 masks agree on about half the elements (4σ band); identical ones on all.
  assert.ok(Math.abs(same - n / 2) < 4 * Math.sqrt(n / 4), `${same} of ${n} equal`);
  // Under the old scheme both were the same draw.
  assert.equal(mask(n, legacy(lo, hi, 0, 2 ** 31)), mask(n, legacy(lo, hi, 1, 0)));
  // And thread 0's draws are still the single-thread ones (the kernel called as the op always called it).
  assert.equal(mask(64, dropoutStream(lo, hi, 0, 2 ** 31 + 5)), mask(64, { seedLo: lo, seedHi: hi + 1, offset: 5 }));
});

test.run();
