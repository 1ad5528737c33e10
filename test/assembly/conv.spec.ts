// conv2d, pooling and batch norm: a few direct checks against scalar loops written here, in f64.
import { Conv2dParams, Pool2dParams } from "../../assembly/abi";
import { conv2d_fwd_f32x4, conv2d_bwd_x_f32x4, conv2d_bwd_w_f32x4 } from "../../assembly/kernels/conv";
import { maxpool2d_fwd_f32x4, avgpool2d_fwd_f32x4 } from "../../assembly/kernels/pool";
import { batchnorm_fwd_train_f32x4 } from "../../assembly/kernels/batchnorm";

let seed: u32 = 777;
function rnd(): f32 {
  seed = seed * 1664525 + 1013904223;
  return <f32>(<f64>(seed >> 8) / 16777216.0 * 2.0 - 1.0);
}
function randArr(n: i32): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rnd();
  return a;
}
function nanArr(n: i32): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = NaN;
  return a;
}

/** Conv2dParams in an Int32Array (the struct's 17 words, in order). */
function convParams(n: i32, ci: i32, h: i32, w: i32, co: i32, kh: i32, kw: i32, s: i32, pt: i32, pl: i32, pb: i32, pr: i32, d: i32): Int32Array {
  const ho = (h + pt + pb - d * (kh - 1) - 1) / s + 1, wo = (w + pl + pr - d * (kw - 1) - 1) / s + 1;
  const a = new Int32Array(17);
  a[0] = n; a[1] = ci; a[2] = h; a[3] = w; a[4] = co; a[5] = kh; a[6] = kw; a[7] = s; a[8] = s;
  a[9] = pt; a[10] = pl; a[11] = pb; a[12] = pr; a[13] = d; a[14] = d; a[15] = ho; a[16] = wo;
  return a;
}

/** Direct convolution at one output, f64. */
function direct(p: Conv2dParams, x: Float32Array, w: Float32Array, b: Float32Array, i: i32, o: i32, oy: i32, ox: i32): f64 {
  let s: f64 = <f64>b[o];
  for (let c = 0; c < p.c_in; c++) for (let ky = 0; ky < p.kh; ky++) for (let kx = 0; kx < p.kw; kx++) {
    const iy = oy * p.stride_h + ky * p.dil_h - p.pad_top, ix = ox * p.stride_w + kx * p.dil_w - p.pad_left;
    if (iy < 0 || iy >= p.h || ix < 0 || ix >= p.w) continue;
    s += <f64>x[((i * p.c_in + c) * p.h + iy) * p.w + ix] * <f64>w[((o * p.c_in + c) * p.kh + ky) * p.kw + kx];
  }
  return s;
}

describe("conv2d_fwd_f32x4", () => {
  it("matches the direct loop (stride 2, dilation 2, asymmetric padding, relu)", () => {
    const cases: i32[] = [2, 3, 9, 11, 5, 3, 3, 2, 1, 2, 0, 1, 2,   1, 1, 8, 8, 9, 3, 3, 1, 1, 1, 1, 1, 1,   2, 5, 6, 7, 6, 1, 1, 1, 0, 0, 0, 0, 1];
    for (let q = 0; q < cases.length; q += 13) {
      const pa = convParams(cases[q], cases[q + 1], cases[q + 2], cases[q + 3], cases[q + 4], cases[q + 5], cases[q + 6], cases[q + 7], cases[q + 8], cases[q + 9], cases[q + 10], cases[q + 11], cases[q + 12]);
      const p = changetype<Conv2dParams>(pa.dataStart);
      const x = randArr(p.n * p.c_in * p.h * p.w), w = randArr(p.c_out * p.c_in * p.kh * p.kw), b = randArr(p.c_out);
      const y = nanArr(p.n * p.c_out * p.h_out * p.w_out), col = nanArr(p.c_in * p.kh * p.kw * p.h_out * p.w_out);
      conv2d_fwd_f32x4(pa.dataStart, x.dataStart, w.dataStart, b.dataStart, y.dataStart, col.dataStart, 1);
      for (let i = 0; i < p.n; i++) for (let o = 0; o < p.c_out; o++) for (let oy = 0; oy < p.h_out; oy++) for (let ox = 0; ox < p.w_out; ox++) {
        let want = direct(p, x, w, b, i, o, oy, ox);
        if (want < 0) want = 0;
        const got = y[((i * p.c_out + o) * p.h_out + oy) * p.w_out + ox];
        const ok = Math.abs(<f64>got - want) <= 1e-5;
        if (!ok) expect(ok).toBe(true, "case " + (q / 13).toString() + " o=" + o.toString() + " oy=" + oy.toString() + " ox=" + ox.toString());
      }
    }
  });
});

describe("conv2d backward", () => {
  it("bwd_x and bwd_w satisfy the adjoint identity <dY, conv(X, W)> = <dX, X> = <dW, W> (no bias)", () => {
    const pa = convParams(2, 3, 7, 6, 4, 3, 2, 2, 1, 0, 1, 1, 1);
    const p = changetype<Conv2dParams>(pa.dataStart);
    const nx = p.n * p.c_in * p.h * p.w, nw = p.c_out * p.c_in * p.kh * p.kw, ny = p.n * p.c_out * p.h_out * p.w_out;
    const x = randArr(nx), w = randArr(nw), dy = randArr(ny), zero = new Float32Array(p.c_out);
    const y = nanArr(ny), dx = nanArr(nx), dw = nanArr(nw), db = nanArr(p.c_out), col = nanArr(p.c_in * p.kh * p.kw * p.h_out * p.w_out);
    conv2d_fwd_f32x4(pa.dataStart, x.dataStart, w.dataStart, zero.dataStart, y.dataStart, col.dataStart, 0);
    conv2d_bwd_x_f32x4(pa.dataStart, dy.dataStart, w.dataStart, dx.dataStart, col.dataStart, 0);
    conv2d_bwd_w_f32x4(pa.dataStart, x.dataStart, dy.dataStart, dw.dataStart, db.dataStart, col.dataStart, 0);
    let a: f64 = 0, b: f64 = 0, c: f64 = 0;
    for (let i = 0; i < ny; i++) a += <f64>dy[i] * <f64>y[i];
    for (let i = 0; i < nx; i++) b += <f64>dx[i] * <f64>x[i];
    for (let i = 0; i < nw; i++) c += <f64>dw[i] * <f64>w[i];
    expect(Math.abs(a - b) <= 1e-4 * (1 + Math.abs(a))).toBe(true, "<dY, Y> = <dX, X>");
    expect(Math.abs(a - c) <= 1e-4 * (1 + Math.abs(a))).toBe(true, "<dY, Y> = <dW, W>");
    let s: f64 = 0;
    for (let i = 0; i < ny; i++) s += <f64>dy[i];
    let t: f64 = 0;
    for (let o = 0; o < p.c_out; o++) t += <f64>db[o];
    expect(Math.abs(s - t) <= 1e-4).toBe(true, "Σ db = Σ dY");
  });
});

describe("pooling", () => {
  it("2×2/2 max and average on a known plane; global average", () => {
    const pa = new Int32Array(16);
    pa[0] = 1; pa[1] = 1; pa[2] = 2; pa[3] = 10; pa[4] = 2; pa[5] = 2; pa[6] = 2; pa[7] = 2; pa[12] = 1; pa[13] = 1; pa[14] = 1; pa[15] = 5;
    const x = new Float32Array(20);
    for (let i = 0; i < 20; i++) x[i] = <f32>((i * 7) % 11);
    const y = nanArr(5), a = nanArr(5), idx = new Int32Array(5);
    maxpool2d_fwd_f32x4(pa.dataStart, x.dataStart, y.dataStart, idx.dataStart);
    avgpool2d_fwd_f32x4(pa.dataStart, x.dataStart, a.dataStart, 0);
    for (let ox = 0; ox < 5; ox++) {
      const t0 = x[2 * ox], t1 = x[2 * ox + 1], t2 = x[10 + 2 * ox], t3 = x[11 + 2 * ox];
      expect(y[ox]).toBe(max(max(t0, t1), max(t2, t3)));
      expect(x[idx[ox]]).toBe(y[ox]);
      expect(a[ox]).toBe((t0 + t1 + t2 + t3) / 4);
    }
    const g = new Int32Array(16);
    g[0] = 1; g[1] = 1; g[2] = 2; g[3] = 10; g[4] = 2; g[5] = 10; g[6] = 1; g[7] = 1; g[12] = 1; g[13] = 1; g[14] = 1; g[15] = 1;
    const m = nanArr(1);
    avgpool2d_fwd_f32x4(g.dataStart, x.dataStart, m.dataStart, 0);
    let s: f32 = 0;
    for (let i = 0; i < 20; i++) s += x[i];
    expect(Math.abs(m[0] - s / 20) <= 1e-6).toBe(true, "global mean");
    expect(changetype<Pool2dParams>(g.dataStart).w_out).toBe(1);
  });
});

describe("batchnorm_fwd_train_f32x4", () => {
  it("normalizes each channel to mean β and variance γ²·var/(var + eps)", () => {
    const n = 3, c = 2, hw = 5;
    const x = randArr(n * c * hw), y = nanArr(n * c * hw), mean = nanArr(c), inv = nanArr(c);
    const gamma = new Float32Array(c), beta = new Float32Array(c), rm = new Float32Array(c), rv = new Float32Array(c);
    gamma[0] = 2; gamma[1] = 0.5; beta[0] = 1; beta[1] = -1; rv[0] = 1; rv[1] = 1;
    batchnorm_fwd_train_f32x4(n, c, hw, n, x.dataStart, gamma.dataStart, beta.dataStart, y.dataStart, mean.dataStart, inv.dataStart, rm.dataStart, rv.dataStart, 0.1, 0);
    for (let ch = 0; ch < c; ch++) {
      let s: f64 = 0, q: f64 = 0;
      for (let i = 0; i < n; i++) for (let j = 0; j < hw; j++) s += <f64>y[(i * c + ch) * hw + j];
      const mu = s / 15;
      for (let i = 0; i < n; i++) for (let j = 0; j < hw; j++) q += (<f64>y[(i * c + ch) * hw + j] - mu) ** 2;
      expect(Math.abs(mu - <f64>beta[ch]) <= 1e-5).toBe(true, "mean = β");
      expect(Math.abs(q / 15 - <f64>gamma[ch] * <f64>gamma[ch]) <= 1e-4).toBe(true, "var = γ²");
    }
  });
});
