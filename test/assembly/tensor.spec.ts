// cols_copy vs a scalar reference at tail-exercising widths, with unaligned offsets and every beta path.
import { cols_copy_f32x4 } from "../../assembly/kernels/tensor";

const SIZES: i32[] = [1, 3, 5, 17, 64, 130];

let seed: u32 = 8;
function sym(): f32 {
  seed = seed * 1664525 + 1013904223;
  return <f32>(seed >>> 8) / <f32>8388608.0 - 1;
}

describe("tensor", () => {
  it("cols_copy matches dst = beta·dst + src on the block and leaves the rest alone", () => {
    const betas: f32[] = [0, 1, 0.5];
    for (let a = 0; a < SIZES.length; a++) for (let b = 0; b < SIZES.length; b++) for (let t = 0; t < 3; t++) {
      const n = SIZES[a], m = SIZES[b] < 17 ? SIZES[b] : 17;
      const beta = betas[t];
      const so = 1 + (a & 1), doff = 3 - (b & 1);
      const lds = n + so + 1, ldd = n + doff + 2;
      const src = new Float32Array(m * lds);
      for (let i = 0; i < src.length; i++) src[i] = sym();
      const dst = new Float32Array(m * ldd + 1);
      for (let i = 0; i < dst.length; i++) dst[i] = beta == 0 ? NaN : sym();
      for (let i = 0; i < m; i++) for (let j = 0; j < ldd; j++) if (j < doff || j >= doff + n) dst[i * ldd + j] = 7;
      dst[m * ldd] = 7;
      const old = dst.slice();
      cols_copy_f32x4(m, n, src.dataStart + <usize>(4 * so), lds, dst.dataStart + <usize>(4 * doff), ldd, beta);
      let bad = 0;
      for (let i = 0; i < m; i++) for (let j = 0; j < ldd; j++) {
        const k = i * ldd + j;
        if (j >= doff && j < doff + n) {
          const s = src[i * lds + so + j - doff];
          const want: f32 = beta == 0 ? s : beta * old[k] + s;
          if (!(Mathf.abs(dst[k] - want) <= 1e-6)) bad++;
        } else if (dst[k] != 7) bad++;
      }
      expect(bad).toBe(0, "cols_copy m=" + m.toString() + " n=" + n.toString() + " beta=" + beta.toString());
      expect(dst[m * ldd]).toBe(7, "cols_copy wrote past the end");
    }
  });
  it("contiguous copy (ld = n on both sides)", () => {
    for (let a = 0; a < SIZES.length; a++) {
      const n = SIZES[a], m = 3;
      const src = new Float32Array(m * n);
      for (let i = 0; i < src.length; i++) src[i] = sym();
      const dst = new Float32Array(m * n + 1);
      dst[m * n] = 7;
      cols_copy_f32x4(m, n, src.dataStart, n, dst.dataStart, n, 0);
      let bad = 0;
      for (let i = 0; i < m * n; i++) if (dst[i] != src[i]) bad++;
      expect(bad).toBe(0, "flat copy n=" + n.toString());
      expect(dst[m * n]).toBe(7, "flat copy wrote past the end");
    }
  });
});
