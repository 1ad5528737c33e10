// dropout (inverted): training draws a mask from the program's counter-based stream (Philox; seed and a
// counter that every draw advances, so a run is reproducible and resumable) and saves it for the backward;
// inference is the identity (the output shares the input's memory). ONNX: omitted (identity).
//
// Streams (assembly/kernels/rng.ts): Philox's key is (k0, k1) = (seed_lo, seed_hi) and the element counter is
// u32(offset) + i. The model's stream position `counter` (a float, < 2⁵³) is split so the kernel's 31-bit
// offset never overflows: k1 = seedHi + ⌊counter / 2³¹⌋ (mod 2³²), offset = counter mod 2³¹. Within one key
// the draws of successive calls are a translation of disjoint counter ranges, so one thread never repeats an
// element; the counter's high bits only ever move k1.
//
// Threads (data-parallel training, parallel.ts) put their index t in the other key word, which the counter
// never touches: k0 = seedLo XOR (t · 0x9E3779B9 mod 2³²) (`threadSeedLo`). 0x9E3779B9 is odd, so t ↦ t·M
// mod 2³² is a bijection and, for a given seed, distinct threads (t < 2³²) have distinct k0: their (key,
// counter) pairs can never coincide, whatever the counters. (The old scheme, seedHi + t, shared k1 with the
// counter's high bits: thread 0 reached thread 1's key after 2³¹ draws.) For a fixed t the map is a
// bijection of seedLo too (distinct seeds stay distinct streams), and thread 0 is the identity: a
// single-thread run draws exactly what it always drew.
import { attrNum, expect, type OpDef } from "../graph/op.ts";

/** Odd multiplier (2³²/φ) that spreads thread indices over key word 0. */
export const THREAD_KEY_MUL = 0x9e3779b9;

/** Key word 0 of thread `thread`'s dropout stream for the model seed word `seedLo` (thread 0: seedLo itself). */
export function threadSeedLo(seedLo: number, thread: number): number {
  return (seedLo ^ Math.imul(thread, THREAD_KEY_MUL)) | 0;
}

/** Key word 1 for stream position `counter`: the seed word plus the counter's bits above 31 (as i32). */
export function counterSeedHi(seedHi: number, counter: number): number {
  return (seedHi + Math.floor(counter / 2 ** 31)) | 0;
}

/** The kernel's 31-bit element offset for stream position `counter`. */
export function counterOffset(counter: number): number {
  return counter % 2 ** 31;
}

/**
 * The arguments (seed_lo, seed_hi, offset) that dropout_fwd_f32x4 gets for thread `thread` at stream position
 * `counter` of the model stream (seedLo, seedHi). Pure; the op computes the same with the thread folded into
 * its RngState's seedLo (parallel-worker.ts sets seedLo = threadSeedLo(seedLo, t)).
 */
export function dropoutStream(seedLo: number, seedHi: number, thread: number, counter: number): { seedLo: number; seedHi: number; offset: number } {
  return { seedLo: threadSeedLo(seedLo, thread), seedHi: counterSeedHi(seedHi, counter), offset: counterOffset(counter) };
}

export const dropout: OpDef = {
  op: "dropout",
  infer([x], attrs) {
    const p = attrNum(attrs, "p");
    expect(p >= 0 && p < 1, `p must be in [0, 1), got ${p}`);
    expect(x.dtype === "f32", "expected an f32 input");
    return [{ dtype: "f32", shape: [...x.shape] }];
  },
  forward(c, n) {
    if (!c.training) return null;
    const x = n.inputs[0], y = n.outputs[0], p = attrNum(n.attrs, "p"), len = c.numel(x);
    const mask = c.scratch(len);
    c.memo(n).mask = mask;
    const f = c.call("dropout_fwd_f32x4"), rng = c.host.rng, xp = c.ptr(x), yp = c.ptr(y);
    return () => {
      f(len, xp, yp, mask, rng.seedLo, counterSeedHi(rng.seedHi, rng.counter), counterOffset(rng.counter), p);
      rng.counter += len;
    };
  },
  backward(c, n) {
    const x = n.inputs[0], y = n.outputs[0], dx = c.grad(x);
    if (!dx) return null;
    const g = c.call("dropout_bwd_f32x4"), len = c.numel(x), mask = c.memo(n).mask, dy = c.grad(y), beta = c.beta(x);
    return () => void g(len, mask, dy, dx, beta);
  },
  saves: () => [],
  alias: (_n, training) => (training ? [] : [[0, 0]]),
  onnx(e, n) {
    e.bind(n.outputs[0], e.name(n.inputs[0]));
  },
  imports: { none: "exports omit dropout" },
  describe: (n) => `p=${attrNum(n.attrs, "p")}`,
};
