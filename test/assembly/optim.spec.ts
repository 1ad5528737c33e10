// Optimizer kernels vs scalar references at tail-exercising sizes (one and three steps), sumsq and clipping.
import { sgd_step_f32x4, adam_step_f32x4, sumsq_f32x4, clip_grad_norm_f32x4 } from "../../assembly/kernels/optim";

const SIZES: i32[] = [1, 3, 5, 17, 64, 130];

let seed: u32 = 99;
function sym(): f32 {
  seed = seed * 1664525 + 1013904223;
  return <f32>(seed >>> 8) / <f32>8388608.0 - 1;
}
function rand(n: i32): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = sym();
  return x;
}
function close(a: f64, b: f64, rtol: f64, atol: f64): bool {
  return Math.abs(a - b) <= atol + rtol * Math.abs(b);
}

function checkSgd(n: i32, momentum: f32, wd: f32, nesterov: i32): void {
  const lr: f32 = 0.07;
  const p = rand(n), v = new Float32Array(n);
  const pr = new Float64Array(n), vr = new Float64Array(n);
  for (let i = 0; i < n; i++) pr[i] = <f64>p[i];
  for (let step = 0; step < 3; step++) {
    const g = rand(n);
    sgd_step_f32x4(n, g.dataStart, p.dataStart, v.dataStart, lr, momentum, wd, nesterov);
    for (let i = 0; i < n; i++) {
      let d = <f64>g[i] + <f64>wd * pr[i];
      if (momentum != 0) {
        vr[i] = <f64>momentum * vr[i] + d;
        d = nesterov ? d + <f64>momentum * vr[i] : vr[i];
      }
      pr[i] -= <f64>lr * d;
    }
  }
  let bad = 0;
  for (let i = 0; i < n; i++) {
    if (!close(<f64>p[i], pr[i], 1e-5, 1e-6)) bad++;
    if (!close(<f64>v[i], momentum != 0 ? vr[i] : 0, 1e-5, 1e-6)) bad++;
  }
  expect(bad).toBe(0, "sgd n=" + n.toString() + " momentum=" + momentum.toString() + " nesterov=" + nesterov.toString());
}

function checkAdam(n: i32, wd: f32, decoupled: i32): void {
  const lr: f32 = 0.01, b1: f32 = 0.9, b2: f32 = 0.99, eps: f32 = 1e-6;
  const p = rand(n), m = new Float32Array(n), v = new Float32Array(n);
  const pr = new Float64Array(n), mr = new Float64Array(n), vr = new Float64Array(n);
  for (let i = 0; i < n; i++) pr[i] = <f64>p[i];
  for (let t = 1; t <= 3; t++) {
    const g = rand(n);
    adam_step_f32x4(n, g.dataStart, p.dataStart, m.dataStart, v.dataStart, lr, b1, b2, eps, wd, t, decoupled);
    const bc1 = 1 - Math.pow(<f64>b1, <f64>t), bc2 = 1 - Math.pow(<f64>b2, <f64>t);
    for (let i = 0; i < n; i++) {
      let gi = <f64>g[i];
      if (decoupled) pr[i] *= 1 - <f64>lr * <f64>wd;
      else gi += <f64>wd * pr[i];
      mr[i] = <f64>b1 * mr[i] + (1 - <f64>b1) * gi;
      vr[i] = <f64>b2 * vr[i] + (1 - <f64>b2) * gi * gi;
      pr[i] -= <f64>lr * (mr[i] / bc1) / (Math.sqrt(vr[i] / bc2) + <f64>eps);
    }
  }
  let bad = 0;
  for (let i = 0; i < n; i++) {
    if (!close(<f64>p[i], pr[i], 1e-5, 1e-6)) bad++;
    if (!close(<f64>m[i], mr[i], 1e-5, 1e-7)) bad++;
    if (!close(<f64>v[i], vr[i], 1e-5, 1e-9)) bad++;
  }
  expect(bad).toBe(0, "adam n=" + n.toString() + " decoupled=" + decoupled.toString());
}

describe("optimizers", () => {
  it("sgd: plain, momentum, nesterov, weight decay", () => {
    for (let s = 0; s < SIZES.length; s++) {
      checkSgd(SIZES[s], 0, 0, 0);
      checkSgd(SIZES[s], 0, 0.1, 0);
      checkSgd(SIZES[s], 0.9, 0.05, 0);
      checkSgd(SIZES[s], 0.9, 0.05, 1);
    }
  });
  it("adam and adamw", () => {
    for (let s = 0; s < SIZES.length; s++) {
      checkAdam(SIZES[s], 0, 0);
      checkAdam(SIZES[s], 0.2, 0);
      checkAdam(SIZES[s], 0.2, 1);
    }
  });
  it("sumsq and clip_grad_norm", () => {
    for (let s = 0; s < SIZES.length; s++) {
      const n = SIZES[s];
      const g = rand(n + 1);
      g[n] = 1e20; // past n: ignored
      let ss: f64 = 0;
      for (let i = 0; i < n; i++) ss += <f64>g[i] * <f64>g[i];
      expect(close(sumsq_f32x4(n, g.dataStart), ss, 1e-12, 0)).toBe(true, "sumsq n=" + n.toString());
      const norm = Math.sqrt(ss);
      // Over the threshold: scaled to max_norm.
      const h = g.slice();
      const maxNorm = <f32>(norm * 0.5);
      const got = clip_grad_norm_f32x4(n, h.dataStart, maxNorm);
      expect(close(<f64>got, norm, 1e-6, 0)).toBe(true, "clip returns the norm n=" + n.toString());
      let ss2: f64 = 0;
      for (let i = 0; i < n; i++) ss2 += <f64>h[i] * <f64>h[i];
      // PyTorch's coefficient is max_norm / (norm + 1e-6), so the new norm is max_norm·norm/(norm + 1e-6).
      expect(close(Math.sqrt(ss2), <f64>maxNorm * norm / (norm + 1e-6), 1e-6, 0)).toBe(true, "clipped norm n=" + n.toString());
      expect(h[n]).toBe(g[n], "clip past n");
      // Under the threshold: unchanged.
      const u = g.slice();
      clip_grad_norm_f32x4(n, u.dataStart, <f32>(norm * 2));
      let changed = 0;
      for (let i = 0; i <= n; i++) if (u[i] != g[i]) changed++;
      expect(changed).toBe(0, "clip under threshold n=" + n.toString());
    }
  });
});
