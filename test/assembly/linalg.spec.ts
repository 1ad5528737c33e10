// Task-balancing linear algebra, direct checks inside wasm: Gram symmetry and values against a scalar f64 loop,
// the residual of solve_f64, and minnorm_f64's T = 2 closed form.
import { gram_f32x4, solve_f64, minnorm_f64 } from "../../assembly/kernels/linalg";

let seed: u32 = 9091;
function sym(): f32 {
  seed = seed * 1664525 + 1013904223;
  return <f32>(seed >>> 8) / <f32>8388608.0 - 1; // [-1, 1)
}

describe("linalg", () => {
  it("gram: symmetric bit for bit, equal to a scalar f64 loop, row padding never read", () => {
    const NS: i32[] = [1, 3, 5, 17, 130];
    for (let s = 0; s < NS.length; s++) {
      const n = NS[s], T = 4, ld = n + 2;
      const g = new Float32Array(T * ld);
      for (let i = 0; i < T * ld; i++) g[i] = i % ld < n ? sym() : <f32>NaN;
      const G = new Float64Array(T * T);
      gram_f32x4(T, n, g.dataStart, ld, G.dataStart);
      let bad = 0;
      for (let i = 0; i < T; i++) {
        for (let j = 0; j < T; j++) {
          let r: f64 = 0;
          for (let k = 0; k < n; k++) r += <f64>g[i * ld + k] * <f64>g[j * ld + k];
          if (G[i * T + j] != G[j * T + i]) bad++;
          if (!(Math.abs(G[i * T + j] - r) <= 1e-12 * (1 + Math.abs(r)))) bad++;
        }
      }
      expect(bad).toBe(0, "gram n=" + n.toString());
    }
  });

  it("solve: A·x = b to rounding, a and b untouched; singular gives 0", () => {
    const n = 6;
    const a = new Float64Array(n * n), b = new Float64Array(n), x = new Float64Array(n);
    const work = new Float64Array(n * n + n);
    for (let i = 0; i < n * n; i++) a[i] = <f64>sym();
    for (let i = 0; i < n; i++) b[i] = <f64>sym();
    const a0 = a.slice(), b0 = b.slice();
    expect(solve_f64(n, a.dataStart, b.dataStart, work.dataStart, x.dataStart)).toBe(1);
    let worst: f64 = 0;
    for (let i = 0; i < n; i++) {
      let r = -b[i];
      for (let j = 0; j < n; j++) r += a[i * n + j] * x[j];
      worst = Math.max(worst, Math.abs(r));
    }
    expect(worst <= 1e-12).toBe(true, "residual " + worst.toString());
    let changed = 0;
    for (let i = 0; i < n * n; i++) if (a[i] != a0[i]) changed++;
    for (let i = 0; i < n; i++) if (b[i] != b0[i]) changed++;
    expect(changed).toBe(0);
    // Row 5 = row 0 + row 1: singular.
    for (let j = 0; j < n; j++) a[5 * n + j] = a[j] + a[n + j];
    expect(solve_f64(n, a.dataStart, b.dataStart, work.dataStart, x.dataStart)).toBe(0);
  });

  it("minnorm: T = 2 is the closed form, no iterations", () => {
    const G = new Float64Array(4), w = new Float64Array(2), work = new Float64Array(2);
    for (let r = 0; r < 20; r++) {
      // two vectors in 3-D
      const u0 = <f64>sym(), u1 = <f64>sym(), u2 = <f64>sym(), v0 = <f64>sym(), v1 = <f64>sym(), v2 = <f64>sym();
      G[0] = u0 * u0 + u1 * u1 + u2 * u2;
      G[1] = G[2] = u0 * v0 + u1 * v1 + u2 * v2;
      G[3] = v0 * v0 + v1 * v1 + v2 * v2;
      expect(minnorm_f64(2, G.dataStart, work.dataStart, w.dataStart, 100, 1e-12)).toBe(0);
      // γ = clamp(⟨v, v − u⟩ / ‖u − v‖², 0, 1) minimises ‖γu + (1 − γ)v‖².
      let gam = (G[3] - G[1]) / (G[0] + G[3] - 2 * G[1]);
      gam = Math.min(1, Math.max(0, gam));
      expect(Math.abs(w[0] - gam) <= 1e-12).toBe(true, "γ " + w[0].toString() + " vs " + gam.toString());
      expect(w[1]).toBe(1 - w[0]);
    }
  });
});
