// Row-wise softmax vs a scalar float64 reference over a covering set of (m, n); rows past m untouched.
import { softmax_fwd_f32x4, softmax_bwd_f32x4 } from "../../assembly/kernels/softmax";

const DIMS: i32[] = [1, 3, 5, 17, 64, 130];
const SENT: f32 = 12345;

let seed: u32 = 99;
function sym(): f32 {
  seed = seed * 1664525 + 1013904223;
  return <f32>(seed >>> 8) / <f32>8388608.0 - 1;
}

function rand(len: i32, scale: f32): Float32Array {
  const x = new Float32Array(len + 1);
  for (let i = 0; i < len; i++) x[i] = scale * sym();
  x[len] = SENT;
  return x;
}

function ref(m: i32, n: i32, x: Float32Array): Float64Array {
  const y = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    let mx = -Infinity;
    for (let j = 0; j < n; j++) mx = Math.max(mx, <f64>x[i * n + j]);
    let s: f64 = 0;
    for (let j = 0; j < n; j++) {
      const e = Math.exp(<f64>x[i * n + j] - mx);
      y[i * n + j] = e;
      s += e;
    }
    for (let j = 0; j < n; j++) y[i * n + j] /= s;
  }
  return y;
}

describe("softmax", () => {
  it("forward vs float64 reference", () => {
    for (let a = 0; a < DIMS.length; a++) for (let b = 0; b < DIMS.length; b++) {
      const m = DIMS[a] < 17 ? DIMS[a] : 17;
      const n = DIMS[b];
      const x = rand(m * n, 8);
      const y = rand(m * n, 0);
      softmax_fwd_f32x4(m, n, x.dataStart, y.dataStart);
      const r = ref(m, n, x);
      let bad = 0;
      for (let i = 0; i < m * n; i++) if (!(Math.abs(<f64>y[i] - r[i]) <= 2e-6 * r[i] + 1e-10)) bad++;
      expect(bad).toBe(0, "softmax fwd " + m.toString() + "x" + n.toString());
      expect(y[m * n]).toBe(SENT, "softmax fwd wrote past the end");
    }
  });
  it("forward is stable for inputs around 1000", () => {
    const x = rand(10, 1);
    for (let i = 0; i < 10; i++) x[i] += 1000;
    const y = new Float32Array(10);
    softmax_fwd_f32x4(2, 5, x.dataStart, y.dataStart);
    const r = ref(2, 5, x);
    let bad = 0;
    for (let i = 0; i < 10; i++) if (!(Math.abs(<f64>y[i] - r[i]) <= 2e-6 * r[i])) bad++;
    expect(bad).toBe(0, "softmax at 1000");
  });
  it("backward vs float64 Jacobian product, beta 0 (NaN dx) and beta 1", () => {
    for (let a = 0; a < DIMS.length; a++) for (let b = 0; b < DIMS.length; b++) {
      const m = DIMS[a] < 17 ? DIMS[a] : 17;
      const n = DIMS[b];
      const x = rand(m * n, 3);
      const y = new Float32Array(m * n);
      softmax_fwd_f32x4(m, n, x.dataStart, y.dataStart);
      const dy = rand(m * n, 1);
      const dx = new Float32Array(m * n + 1);
      for (let i = 0; i < m * n; i++) dx[i] = NaN;
      dx[m * n] = SENT;
      softmax_bwd_f32x4(m, n, y.dataStart, dy.dataStart, dx.dataStart, 0);
      let bad = 0;
      for (let i = 0; i < m; i++) {
        let s: f64 = 0;
        for (let j = 0; j < n; j++) s += <f64>y[i * n + j] * <f64>dy[i * n + j];
        for (let j = 0; j < n; j++) {
          const r = <f64>y[i * n + j] * (<f64>dy[i * n + j] - s);
          if (!(Math.abs(<f64>dx[i * n + j] - r) <= 1e-6)) bad++;
        }
      }
      expect(bad).toBe(0, "softmax bwd " + m.toString() + "x" + n.toString());
      expect(dx[m * n]).toBe(SENT, "softmax bwd wrote past the end");
      const acc = rand(m * n, 1);
      const old = acc.slice();
      softmax_bwd_f32x4(m, n, y.dataStart, dy.dataStart, acc.dataStart, 1);
      bad = 0;
      for (let i = 0; i < m * n; i++) if (!(Mathf.abs(acc[i] - (old[i] + dx[i])) <= 1e-6)) bad++;
      expect(bad).toBe(0, "softmax bwd beta=1");
    }
  });
});
