// Mixture-of-experts combine vs scalar float64 references over a covering set of (m, e, n).
import { moe_combine_fwd_f32x4, moe_combine_bwd_f32x4 } from "../../assembly/kernels/gate";

const SIZES: i32[] = [1, 3, 5, 17, 64, 130];
const SENT: f32 = 12345;

let seed: u32 = 61;
function sym(): f32 {
  seed = seed * 1664525 + 1013904223;
  return <f32>(seed >>> 8) / <f32>8388608.0 - 1;
}

function rand(len: i32): Float32Array {
  const x = new Float32Array(len + 1);
  for (let i = 0; i < len; i++) x[i] = sym();
  x[len] = SENT;
  return x;
}

function nans(len: i32): Float32Array {
  const x = new Float32Array(len + 1);
  for (let i = 0; i < len; i++) x[i] = NaN;
  x[len] = SENT;
  return x;
}

describe("gate", () => {
  it("moe_combine forward and backward vs float64 reference", () => {
    const ES: i32[] = [1, 3, 4];
    for (let a = 0; a < SIZES.length; a++) for (let b = 0; b < SIZES.length; b++) for (let c = 0; c < ES.length; c++) {
      const n = SIZES[a], m = SIZES[b] < 17 ? SIZES[b] : 17, e = ES[c];
      const tag = "m=" + m.toString() + " e=" + e.toString() + " n=" + n.toString();
      const ex = rand(e * m * n), g = rand(m * e), dy = rand(m * n);
      const y = nans(m * n);
      moe_combine_fwd_f32x4(m, e, n, ex.dataStart, g.dataStart, y.dataStart);
      let bad = 0;
      for (let i = 0; i < m; i++) for (let k = 0; k < n; k++) {
        let s: f64 = 0;
        for (let j = 0; j < e; j++) s += <f64>g[i * e + j] * <f64>ex[(j * m + i) * n + k];
        if (!(Math.abs(<f64>y[i * n + k] - s) <= 1e-5)) bad++;
      }
      expect(bad).toBe(0, "moe fwd " + tag);
      expect(y[m * n]).toBe(SENT, "moe fwd wrote past the end");
      const de = nans(e * m * n), dg = nans(m * e);
      moe_combine_bwd_f32x4(m, e, n, ex.dataStart, g.dataStart, dy.dataStart, de.dataStart, dg.dataStart, 0);
      bad = 0;
      for (let i = 0; i < m; i++) for (let j = 0; j < e; j++) {
        let s: f64 = 0;
        for (let k = 0; k < n; k++) {
          s += <f64>ex[(j * m + i) * n + k] * <f64>dy[i * n + k];
          if (!(Math.abs(<f64>de[(j * m + i) * n + k] - <f64>g[i * e + j] * <f64>dy[i * n + k]) <= 1e-6)) bad++;
        }
        if (!(Math.abs(<f64>dg[i * e + j] - s) <= 1e-5 * (1 + Math.abs(s)))) bad++;
      }
      expect(bad).toBe(0, "moe bwd " + tag);
      expect(de[e * m * n]).toBe(SENT, "moe bwd wrote past dexperts");
      expect(dg[m * e]).toBe(SENT, "moe bwd wrote past dgate");
      const de1 = de.slice(), dg1 = dg.slice();
      moe_combine_bwd_f32x4(m, e, n, ex.dataStart, g.dataStart, dy.dataStart, de1.dataStart, dg1.dataStart, 1);
      bad = 0;
      for (let i = 0; i < e * m * n; i++) if (!(Mathf.abs(de1[i] - 2 * de[i]) <= 1e-6)) bad++;
      for (let i = 0; i < m * e; i++) if (!(Mathf.abs(dg1[i] - 2 * dg[i]) <= 1e-5 * (1 + Mathf.abs(dg[i])))) bad++;
      expect(bad).toBe(0, "moe bwd beta=1 " + tag);
    }
  });
});
