// Philox RNG and dropout vs a scalar Philox-4x32-10 written here (checked against Random123's known
// answers): bit-exact streams at tail-exercising sizes and offsets that hit both the 16-wide SIMD path and
// the scalar head/tail.
import { rng_uniform_f32, rng_normal_f32, dropout_fwd_f32x4, dropout_bwd_f32x4 } from "../../assembly/kernels/rng";

const SIZES: i32[] = [1, 3, 5, 17, 64, 130];
const OFFSETS: i32[] = [0, 1, 3, 15, 16, 1000, -2];
const SENT: f32 = 12345;

/** Scalar Philox-4x32-10; returns word w of the block. */
function philox(c0: u32, c1: u32, c2: u32, c3: u32, k0: u32, k1: u32, w: i32): u32 {
  for (let r = 0; r < 10; r++) {
    const p0 = <u64>0xD2511F53 * <u64>c0;
    const p1 = <u64>0xCD9E8D57 * <u64>c2;
    const n0 = <u32>(p1 >>> 32) ^ c1 ^ k0;
    const n2 = <u32>(p0 >>> 32) ^ c3 ^ k1;
    c1 = <u32>p1;
    c3 = <u32>p0;
    c0 = n0;
    c2 = n2;
    k0 += 0x9E3779B9;
    k1 += 0xBB67AE85;
  }
  return w == 0 ? c0 : w == 1 ? c1 : w == 2 ? c2 : c3;
}

function word(k0: u32, k1: u32, c: u64): u32 {
  const b = c >>> 2;
  return philox(<u32>b, <u32>(b >>> 32), 0, 0, k0, k1, <i32>(c & 3));
}

function buf(n: i32): Float32Array {
  const x = new Float32Array(n + 1);
  for (let i = 0; i < n; i++) x[i] = NaN;
  x[n] = SENT;
  return x;
}

describe("rng", () => {
  it("scalar reference matches Random123 known answers", () => {
    expect(philox(0, 0, 0, 0, 0, 0, 0)).toBe(0x6627e8d5);
    expect(philox(0, 0, 0, 0, 0, 0, 3)).toBe(0x9b00dbd8);
    expect(philox(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 1)).toBe(0x41c83b0e);
    expect(philox(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 2)).toBe(0x5001e420);
  });
  it("rng_uniform is bit-exact vs the scalar stream", () => {
    for (let s = 0; s < SIZES.length; s++) for (let o = 0; o < OFFSETS.length; o++) {
      const n = SIZES[s], off = OFFSETS[o];
      const out = buf(n);
      rng_uniform_f32(n, out.dataStart, 17, -5, off, -2, 3);
      let bad = 0;
      for (let i = 0; i < n; i++) {
        const u = <f32>(word(17, <u32>-5, <u64><u32>off + <u64>i) >>> 8) * <f32>5.9604644775390625e-8;
        const r: f32 = <f32>-2 + <f32>5 * u;
        if (reinterpret<u32>(out[i]) != reinterpret<u32>(r)) bad++;
        if (!(out[i] >= -2 && out[i] < 3)) bad++;
      }
      expect(bad).toBe(0, "uniform n=" + n.toString() + " offset=" + off.toString());
      expect(out[n]).toBe(SENT, "uniform wrote past n");
    }
  });
  it("dropout mask and output are bit-exact vs the scalar stream; backward is dy ⊙ mask", () => {
    const P: f32 = 0.3;
    const scale: f32 = 1 / (1 - P);
    for (let s = 0; s < SIZES.length; s++) for (let o = 0; o < OFFSETS.length; o++) {
      const n = SIZES[s], off = OFFSETS[o];
      const x = new Float32Array(n);
      for (let i = 0; i < n; i++) x[i] = <f32>i * 0.25 - 3;
      const y = buf(n), mask = buf(n);
      dropout_fwd_f32x4(n, x.dataStart, y.dataStart, mask.dataStart, 4, 9, off, P);
      let bad = 0;
      for (let i = 0; i < n; i++) {
        const u = <f32>(word(4, 9, <u64><u32>off + <u64>i) >>> 8) * <f32>5.9604644775390625e-8;
        const mk: f32 = u >= P ? scale : 0;
        if (mask[i] != mk) bad++;
        if (y[i] != x[i] * mk) bad++;
      }
      expect(bad).toBe(0, "dropout n=" + n.toString() + " offset=" + off.toString());
      expect(y[n]).toBe(SENT, "dropout wrote past y");
      expect(mask[n]).toBe(SENT, "dropout wrote past mask");
      const dx = buf(n);
      dropout_bwd_f32x4(n, mask.dataStart, x.dataStart, dx.dataStart, 0);
      bad = 0;
      for (let i = 0; i < n; i++) if (dx[i] != x[i] * mask[i]) bad++;
      expect(bad).toBe(0, "dropout bwd beta=0");
      dropout_bwd_f32x4(n, mask.dataStart, x.dataStart, dx.dataStart, 1);
      bad = 0;
      for (let i = 0; i < n; i++) if (dx[i] != x[i] * mask[i] + x[i] * mask[i]) bad++;
      expect(bad).toBe(0, "dropout bwd beta=1");
      expect(dx[n]).toBe(SENT, "dropout bwd wrote past n");
    }
  });
  it("rng_normal is finite, bounded, and reproducible across splits", () => {
    for (let s = 0; s < SIZES.length; s++) {
      const n = SIZES[s];
      const a = buf(2 * n), b = buf(2 * n);
      rng_normal_f32(2 * n, a.dataStart, 1, 2, 7, 0, 1);
      rng_normal_f32(n, b.dataStart, 1, 2, 7, 0, 1);
      rng_normal_f32(n, b.dataStart + <usize>(4 * n), 1, 2, 7 + n, 0, 1);
      let bad = 0;
      for (let i = 0; i < 2 * n; i++) {
        if (reinterpret<u32>(a[i]) != reinterpret<u32>(b[i])) bad++;
        if (!(Mathf.abs(a[i]) < 7)) bad++;
      }
      expect(bad).toBe(0, "normal n=" + n.toString());
      expect(a[2 * n]).toBe(SENT, "normal wrote past n");
    }
  });
});
