// Embedding gather / scatter-add vs scalar references at tail-exercising widths, strided outputs.
import { embed_fwd_f32x4, embed_bwd_f32x4 } from "../../assembly/kernels/embed";

const SIZES: i32[] = [1, 3, 5, 17, 64, 130];
const SENT: f32 = 12345;

let seed: u32 = 31;
function next(): u32 {
  seed = seed * 1664525 + 1013904223;
  return seed >>> 8;
}
function sym(): f32 {
  return <f32>next() / <f32>8388608.0 - 1;
}

describe("embed", () => {
  it("forward into a strided, unaligned block and backward scatter-add with repeats", () => {
    for (let a = 0; a < SIZES.length; a++) for (let b = 0; b < SIZES.length; b++) {
      const d = SIZES[a], m = SIZES[b] < 17 ? SIZES[b] : 17;
      const v = 3;
      const table = new Float32Array(v * d);
      for (let i = 0; i < v * d; i++) table[i] = sym();
      const idx = new Int32Array(m);
      for (let i = 0; i < m; i++) idx[i] = <i32>(next() % <u32>v);
      const col = 1, ld = d + 3;
      const y = new Float32Array(m * ld + 1);
      for (let i = 0; i < y.length; i++) y[i] = SENT;
      embed_fwd_f32x4(m, d, idx.dataStart, table.dataStart, y.dataStart + <usize>(4 * col), ld);
      let bad = 0;
      for (let i = 0; i < m; i++) for (let j = 0; j < ld; j++) {
        const want: f32 = j >= col && j < col + d ? table[idx[i] * d + j - col] : SENT;
        if (y[i * ld + j] != want) bad++;
      }
      expect(bad).toBe(0, "embed fwd m=" + m.toString() + " d=" + d.toString());
      expect(y[m * ld]).toBe(SENT, "embed fwd wrote past the end");
      // backward: dy is y's block (strided); dtable starts at 1s
      const dt = new Float32Array(v * d + 1);
      for (let i = 0; i < v * d; i++) dt[i] = 1;
      dt[v * d] = SENT;
      embed_bwd_f32x4(m, d, idx.dataStart, y.dataStart + <usize>(4 * col), ld, dt.dataStart);
      const want = new Float64Array(v * d);
      for (let i = 0; i < v * d; i++) want[i] = 1;
      for (let i = 0; i < m; i++) for (let j = 0; j < d; j++) want[idx[i] * d + j] += <f64>y[i * ld + col + j];
      bad = 0;
      for (let i = 0; i < v * d; i++) if (!(Math.abs(<f64>dt[i] - want[i]) <= 1e-5)) bad++;
      expect(bad).toBe(0, "embed bwd m=" + m.toString() + " d=" + d.toString());
      expect(dt[v * d]).toBe(SENT, "embed bwd wrote past the table");
    }
  });
});
