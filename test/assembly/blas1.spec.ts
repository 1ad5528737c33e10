// BLAS-1 helpers vs scalar references at tail-exercising sizes; the element just past n must stay untouched.
import { fill_f32x4, scale_f32x4, axpy_f32x4, sum_f32x4, dot_f32x4 } from "../../assembly/kernels/blas1";

const SIZES: i32[] = [1, 3, 5, 17, 64, 130];

let seed: u32 = 4242;
function sym(): f32 {
  seed = seed * 1664525 + 1013904223;
  return <f32>(seed >>> 8) / <f32>8388608.0 - 1;
}

function rand(n: i32): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = sym();
  return x;
}

describe("blas1", () => {
  it("fill", () => {
    for (let s = 0; s < SIZES.length; s++) {
      const n = SIZES[s];
      const x = rand(n + 1);
      const last = x[n];
      fill_f32x4(n, x.dataStart, 3.5);
      let bad = 0;
      for (let i = 0; i < n; i++) if (x[i] != 3.5) bad++;
      expect(bad).toBe(0, "fill n=" + n.toString());
      expect(x[n]).toBe(last, "fill past n");
    }
  });
  it("scale", () => {
    for (let s = 0; s < SIZES.length; s++) {
      const n = SIZES[s];
      const x = rand(n + 1);
      const ref = x.slice();
      scale_f32x4(n, x.dataStart, -0.3);
      let bad = 0;
      for (let i = 0; i < n; i++) if (x[i] != <f32>-0.3 * ref[i]) bad++;
      expect(bad).toBe(0, "scale n=" + n.toString());
      expect(x[n]).toBe(ref[n], "scale past n");
    }
  });
  it("axpy", () => {
    for (let s = 0; s < SIZES.length; s++) {
      const n = SIZES[s];
      const x = rand(n), y = rand(n + 1);
      const ref = y.slice();
      axpy_f32x4(n, x.dataStart, y.dataStart, 1.75);
      let bad = 0;
      for (let i = 0; i < n; i++) if (Mathf.abs(y[i] - (ref[i] + <f32>1.75 * x[i])) > 1e-6) bad++;
      expect(bad).toBe(0, "axpy n=" + n.toString());
      expect(y[n]).toBe(ref[n], "axpy past n");
    }
  });
  it("sum and dot in f64", () => {
    for (let s = 0; s < SIZES.length; s++) {
      const n = SIZES[s];
      const x = rand(n + 1), y = rand(n + 1);
      x[n] = 1e30; // past n: must not be summed
      y[n] = 1e30;
      let sx: f64 = 0, sxy: f64 = 0;
      for (let i = 0; i < n; i++) { sx += <f64>x[i]; sxy += <f64>x[i] * <f64>y[i]; }
      expect(Math.abs(sum_f32x4(n, x.dataStart) - sx) <= 1e-12).toBe(true, "sum n=" + n.toString());
      expect(Math.abs(dot_f32x4(n, x.dataStart, y.dataStart) - sxy) <= 1e-12).toBe(true, "dot n=" + n.toString());
    }
    const e = new Float32Array(4);
    expect(sum_f32x4(0, e.dataStart)).toBe(0);
    expect(dot_f32x4(0, e.dataStart, e.dataStart)).toBe(0);
  });
});
