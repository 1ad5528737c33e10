// Layer norm vs a scalar float64 reference over a covering set of (m, n).
import { layernorm_fwd_f32x4, layernorm_bwd_f32x4 } from "../../assembly/kernels/norm";

const DIMS: i32[] = [1, 3, 5, 17, 64, 130];
const SENT: f32 = 12345;
const EPS: f32 = 1e-5;

let seed: u32 = 5;
function sym(): f32 {
  seed = seed * 1664525 + 1013904223;
  return <f32>(seed >>> 8) / <f32>8388608.0 - 1;
}

function rand(len: i32, scale: f32, shift: f32): Float32Array {
  const x = new Float32Array(len + 1);
  for (let i = 0; i < len; i++) x[i] = shift + scale * sym();
  x[len] = SENT;
  return x;
}

function nans(len: i32): Float32Array {
  const x = new Float32Array(len + 1);
  for (let i = 0; i < len; i++) x[i] = NaN;
  x[len] = SENT;
  return x;
}

describe("layernorm", () => {
  it("forward and backward vs float64 reference", () => {
    for (let a = 0; a < DIMS.length; a++) for (let b = 0; b < DIMS.length; b++) {
      const m = DIMS[a] < 17 ? DIMS[a] : 17;
      const n = DIMS[b];
      const tag = m.toString() + "x" + n.toString();
      const x = rand(m * n, 2, 1.5), g = rand(n, 0.5, 1), bb = rand(n, 0.5, 0);
      const y = nans(m * n), mean = nans(m), rstd = nans(m);
      layernorm_fwd_f32x4(m, n, x.dataStart, g.dataStart, bb.dataStart, y.dataStart, mean.dataStart, rstd.dataStart, EPS);
      // float64 reference
      const xh = new Float64Array(m * n);
      const rs = new Float64Array(m);
      let bad = 0;
      for (let i = 0; i < m; i++) {
        let s: f64 = 0;
        for (let j = 0; j < n; j++) s += <f64>x[i * n + j];
        const mu = s / <f64>n;
        let q: f64 = 0;
        for (let j = 0; j < n; j++) q += (<f64>x[i * n + j] - mu) * (<f64>x[i * n + j] - mu);
        const r = 1 / Math.sqrt(q / <f64>n + <f64>EPS);
        rs[i] = r;
        if (!(Math.abs(<f64>mean[i] - mu) <= 1e-6)) bad++;
        if (!(Math.abs(<f64>rstd[i] - r) <= 2e-5 * r)) bad++;
        for (let j = 0; j < n; j++) {
          xh[i * n + j] = (<f64>x[i * n + j] - mu) * r;
          const yr = xh[i * n + j] * <f64>g[j] + <f64>bb[j];
          if (!(Math.abs(<f64>y[i * n + j] - yr) <= 2e-5)) bad++;
        }
      }
      expect(bad).toBe(0, "layernorm fwd " + tag);
      expect(y[m * n]).toBe(SENT, "fwd wrote past y");
      expect(mean[m]).toBe(SENT, "fwd wrote past mean");
      expect(rstd[m]).toBe(SENT, "fwd wrote past rstd");
      // backward, beta 0 into NaN buffers
      const dy = rand(m * n, 1, 0);
      const dx = nans(m * n), dg = nans(n), db = nans(n);
      layernorm_bwd_f32x4(m, n, x.dataStart, g.dataStart, mean.dataStart, rstd.dataStart, dy.dataStart, dx.dataStart, dg.dataStart, db.dataStart, 0);
      bad = 0;
      for (let j = 0; j < n; j++) {
        let sg: f64 = 0, sb: f64 = 0;
        for (let i = 0; i < m; i++) {
          sg += <f64>dy[i * n + j] * xh[i * n + j];
          sb += <f64>dy[i * n + j];
        }
        if (!(Math.abs(<f64>dg[j] - sg) <= 1e-4 * (1 + Math.abs(sg)))) bad++;
        if (!(Math.abs(<f64>db[j] - sb) <= 1e-4 * (1 + Math.abs(sb)))) bad++;
      }
      for (let i = 0; i < m; i++) {
        let s1: f64 = 0, s2: f64 = 0;
        for (let j = 0; j < n; j++) {
          const gh = <f64>dy[i * n + j] * <f64>g[j];
          s1 += gh;
          s2 += gh * xh[i * n + j];
        }
        for (let j = 0; j < n; j++) {
          const gh = <f64>dy[i * n + j] * <f64>g[j];
          const r = rs[i] * (gh - s1 / <f64>n - xh[i * n + j] * s2 / <f64>n);
          if (!(Math.abs(<f64>dx[i * n + j] - r) <= 1e-4 * (1 + Math.abs(r)))) bad++;
        }
      }
      expect(bad).toBe(0, "layernorm bwd " + tag);
      expect(dx[m * n]).toBe(SENT, "bwd wrote past dx");
      expect(dg[n]).toBe(SENT, "bwd wrote past dg");
      expect(db[n]).toBe(SENT, "bwd wrote past db");
      // beta 1 accumulates all three
      const dx1 = dx.slice(), dg1 = dg.slice(), db1 = db.slice();
      layernorm_bwd_f32x4(m, n, x.dataStart, g.dataStart, mean.dataStart, rstd.dataStart, dy.dataStart, dx1.dataStart, dg1.dataStart, db1.dataStart, 1);
      bad = 0;
      for (let i = 0; i < m * n; i++) if (!(Mathf.abs(dx1[i] - 2 * dx[i]) <= 1e-5 * (1 + Mathf.abs(dx[i])))) bad++;
      for (let j = 0; j < n; j++) {
        if (!(Mathf.abs(dg1[j] - 2 * dg[j]) <= 1e-5 * (1 + Mathf.abs(dg[j])))) bad++;
        if (!(Mathf.abs(db1[j] - 2 * db[j]) <= 1e-5 * (1 + Mathf.abs(db[j])))) bad++;
      }
      expect(bad).toBe(0, "layernorm bwd beta=1 " + tag);
    }
  });
});
