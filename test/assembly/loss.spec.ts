// Masked loss kernels vs scalar references at tail-exercising sizes, on the three code paths: no mask
// (flat), n = 1 with a mask (vectorised across rows) and n > 1 with a mask (row by row).
import {
  xent_fwd_f32x4, xent_bwd_f32x4, bce_fwd_f32x4, bce_bwd_f32x4, mse_fwd_f32x4, mse_bwd_f32x4,
  mae_fwd_f32x4, mae_bwd_f32x4, huber_fwd_f32x4, huber_bwd_f32x4, giou_fwd_f32x4, giou_bwd_f32x4,
} from "../../assembly/kernels/loss";

const SIZES: i32[] = [1, 3, 5, 17, 64, 130];
const MSE: i32 = 0, MAE: i32 = 1, HUBER: i32 = 2, BCE: i32 = 3;
const DELTA: f32 = 0.6;
const PW: f32 = 2.0;

let seed: u32 = 12345;
function rnd(): f32 {
  seed = seed * 1664525 + 1013904223;
  return <f32>(seed >>> 8) / <f32>16777216.0; // [0, 1)
}
function sym(s: f32): f32 {
  return (rnd() * 2 - 1) * s;
}

/** Weights 1, 0 (missing), 0.5, 1, 0, 2, … (row 0 always present). */
function makeMask(m: i32): Float32Array {
  const k = new Float32Array(m);
  for (let i = 0; i < m; i++) {
    const r = i % 6;
    k[i] = r == 1 || r == 4 ? 0 : r == 2 ? 0.5 : r == 5 ? 2 : 1;
  }
  return k;
}

function elemLoss(kind: i32, z: f64, t: f64): f64 {
  const d = z - t;
  if (kind == MSE) return d * d;
  if (kind == MAE) return Math.abs(d);
  if (kind == HUBER) {
    const a = Math.abs(d);
    return a <= <f64>DELTA ? 0.5 * d * d : <f64>DELTA * (a - 0.5 * <f64>DELTA);
  }
  const pw = <f64>PW;
  const sp = Math.max(-z, 0) + Math.log1p(Math.exp(-Math.abs(z)));
  return (1 - t) * z + (1 + (pw - 1) * t) * sp;
}

function elemGrad(kind: i32, z: f64, t: f64): f64 {
  const d = z - t;
  if (kind == MSE) return 2 * d;
  if (kind == MAE) return d > 0 ? 1 : d < 0 ? -1 : 0;
  if (kind == HUBER) return Math.min(Math.max(d, -<f64>DELTA), <f64>DELTA);
  const pw = <f64>PW;
  return (1 - t) - (1 + (pw - 1) * t) / (1 + Math.exp(z));
}

function refFwd(kind: i32, m: i32, n: i32, z: Float32Array, t: Float32Array, k: Float32Array | null): f64 {
  let acc: f64 = 0, ws: f64 = 0;
  for (let i = 0; i < m; i++) {
    const w: f64 = k ? <f64>k[i] : 1;
    if (!(w > 0)) continue;
    for (let j = 0; j < n; j++) acc += w * elemLoss(kind, <f64>z[i * n + j], <f64>t[i * n + j]);
    ws += w;
  }
  return ws > 0 ? acc / (<f64>n * ws) : 0;
}

function runFwd(kind: i32, m: i32, n: i32, z: Float32Array, t: Float32Array, k: Float32Array | null): f32 {
  const kp = k ? k.dataStart : 0;
  if (kind == MSE) return mse_fwd_f32x4(m, n, z.dataStart, t.dataStart, kp);
  if (kind == MAE) return mae_fwd_f32x4(m, n, z.dataStart, t.dataStart, kp);
  if (kind == HUBER) return huber_fwd_f32x4(m, n, z.dataStart, t.dataStart, kp, DELTA);
  return bce_fwd_f32x4(m, n, z.dataStart, t.dataStart, kp, PW);
}

function runBwd(kind: i32, m: i32, n: i32, z: Float32Array, t: Float32Array, k: Float32Array | null, d: Float32Array, scale: f32, beta: f32): void {
  const kp = k ? k.dataStart : 0;
  if (kind == MSE) mse_bwd_f32x4(m, n, z.dataStart, t.dataStart, kp, d.dataStart, scale, beta);
  else if (kind == MAE) mae_bwd_f32x4(m, n, z.dataStart, t.dataStart, kp, d.dataStart, scale, beta);
  else if (kind == HUBER) huber_bwd_f32x4(m, n, z.dataStart, t.dataStart, kp, d.dataStart, DELTA, scale, beta);
  else bce_bwd_f32x4(m, n, z.dataStart, t.dataStart, kp, d.dataStart, PW, scale, beta);
}

function close(a: f64, b: f64, rtol: f64, atol: f64): bool {
  return Math.abs(a - b) <= atol + rtol * Math.abs(b);
}

// Mismatches are counted and the first one described (messages are only built on failure); each check
// ends with expect(bad).toBe(0, firstBad).
let bad: i32 = 0;
let firstBad: string = "";
let ctxKind: i32 = 0, ctxM: i32 = 0, ctxN: i32 = 0;
function chk(ok: bool, tag: string, idx: i32, got: f64, want: f64): void {
  if (ok) return;
  if (bad == 0) {
    firstBad = tag + " kind=" + ctxKind.toString() + " m=" + ctxM.toString() + " n=" + ctxN.toString() + " at " + idx.toString() + ": got " + got.toString() + ", want " + want.toString();
  }
  bad++;
}
function done(): void {
  const b = bad, msg = firstBad;
  bad = 0;
  firstBad = "";
  expect(b).toBe(0, msg);
}

function checkKind(kind: i32, m: i32, n: i32, masked: bool): void {
  const len = m * n;
  const z = new Float32Array(len), t = new Float32Array(len);
  for (let i = 0; i < len; i++) {
    z[i] = sym(2.5);
    t[i] = kind == BCE ? rnd() : sym(1.5);
  }
  const k: Float32Array | null = masked ? makeMask(m) : null;
  if (k) for (let i = 0; i < m; i++) if (!(k[i] > 0)) for (let j = 0; j < n; j++) t[i * n + j] = NaN;
  ctxKind = kind; ctxM = m; ctxN = n;
  const got = runFwd(kind, m, n, z, t, k);
  const want = refFwd(kind, m, n, z, t, k);
  chk(close(<f64>got, want, 1e-5, 1e-7), "forward", 0, got, want);
  // Backward with beta = 0 into NaN, then beta = 1 on top of it.
  const d = new Float32Array(len);
  d.fill(NaN);
  const scale: f32 = 0.75;
  runBwd(kind, m, n, z, t, k, d, scale, 0);
  let ws: f64 = 0;
  for (let i = 0; i < m; i++) {
    const w: f64 = k ? <f64>k[i] : 1;
    if (w > 0) ws += w;
  }
  for (let i = 0; i < m; i++) {
    const w: f64 = k ? <f64>k[i] : 1;
    for (let j = 0; j < n; j++) {
      const e = w > 0 ? <f64>scale * w * elemGrad(kind, <f64>z[i * n + j], <f64>t[i * n + j]) / (<f64>n * ws) : 0;
      chk(close(<f64>d[i * n + j], e, 1e-5, 1e-7), "grad", i * n + j, d[i * n + j], e);
    }
  }
  const d1 = new Float32Array(len);
  for (let i = 0; i < len; i++) d1[i] = sym(1);
  const old = d1.slice();
  runBwd(kind, m, n, z, t, k, d1, scale, 1);
  for (let i = 0; i < len; i++) {
    chk(close(<f64>d1[i], <f64>old[i] + <f64>d[i], 1e-6, 1e-7), "beta=1", i, d1[i], <f64>old[i] + <f64>d[i]);
  }
  done();
}

describe("element-wise losses", () => {
  it("flat path (no mask) at tail sizes", () => {
    for (let kind = 0; kind < 4; kind++) for (let s = 0; s < SIZES.length; s++) {
      checkKind(kind, 2, SIZES[s], false);
      checkKind(kind, SIZES[s], 1, false);
    }
  });
  it("n = 1 with a mask: vectorised across rows", () => {
    for (let kind = 0; kind < 4; kind++) for (let s = 0; s < SIZES.length; s++) checkKind(kind, SIZES[s], 1, true);
  });
  it("n > 1 with a mask: row by row", () => {
    for (let kind = 0; kind < 4; kind++) for (let s = 0; s < SIZES.length; s++) checkKind(kind, 7, SIZES[s], true);
  });
  it("huber on both sides of delta", () => {
    const z = new Float32Array(8), t = new Float32Array(8), d = new Float32Array(8);
    const diffs: f32[] = [0.1, -0.3, 0.59, -0.59, 0.61, -0.9, 2.0, -3.0];
    for (let i = 0; i < 8; i++) { t[i] = sym(1); z[i] = t[i] + diffs[i]; }
    huber_bwd_f32x4(8, 1, z.dataStart, t.dataStart, 0, d.dataStart, DELTA, 8, 0);
    for (let i = 0; i < 8; i++) {
      const e = Mathf.min(Mathf.max(z[i] - t[i], -DELTA), DELTA);
      expect(Mathf.abs(d[i] - e) <= 1e-6).toBe(true, "huber grad " + i.toString());
    }
    expect(close(<f64>huber_fwd_f32x4(8, 1, z.dataStart, t.dataStart, 0, DELTA), refFwd(HUBER, 8, 1, z, t, null), 1e-5, 1e-7)).toBe(true, "huber fwd");
  });
  it("all rows missing: 0 loss, 0 gradient", () => {
    const z = new Float32Array(12), t = new Float32Array(12), k = new Float32Array(4), d = new Float32Array(12);
    t.fill(NaN);
    d.fill(NaN);
    for (let kind = 0; kind < 4; kind++) {
      expect(runFwd(kind, 4, 3, z, t, k)).toBe(0);
      runBwd(kind, 4, 3, z, t, k, d, 1, 0);
      for (let i = 0; i < 12; i++) expect(d[i]).toBe(0);
    }
  });
});

function xentRef(m: i32, c: i32, z: Float32Array, y: Int32Array, k: Float32Array | null): f64 {
  let acc: f64 = 0, ws: f64 = 0;
  for (let i = 0; i < m; i++) {
    const w: f64 = k ? <f64>k[i] : 1;
    if (!(w > 0) || y[i] < 0 || y[i] >= c) continue;
    let mx: f64 = -Infinity;
    for (let j = 0; j < c; j++) mx = Math.max(mx, <f64>z[i * c + j]);
    let s: f64 = 0;
    for (let j = 0; j < c; j++) s += Math.exp(<f64>z[i * c + j] - mx);
    acc += w * (mx + Math.log(s) - <f64>z[i * c + y[i]]);
    ws += w;
  }
  return ws > 0 ? acc / ws : 0;
}

function checkXent(m: i32, c: i32, masked: bool, spread: f32): void {
  const z = new Float32Array(m * c);
  for (let i = 0; i < m * c; i++) z[i] = sym(spread);
  const y = new Int32Array(m);
  for (let i = 0; i < m; i++) y[i] = <i32>(rnd() * <f32>c) % c;
  const k: Float32Array | null = masked ? makeMask(m) : null;
  if (k) for (let i = 0; i < m; i++) if (!(k[i] > 0)) { y[i] = i % 2 ? -1 : c + 5; for (let j = 0; j < c; j++) z[i * c + j] = NaN; }
  const kp = k ? k.dataStart : 0;
  ctxKind = -1; ctxM = m; ctxN = c;
  const got = xent_fwd_f32x4(m, c, z.dataStart, y.dataStart, kp);
  const want = xentRef(m, c, z, y, k);
  chk(close(<f64>got, want, 1e-5, 1e-6), "xent fwd", 0, got, want);
  const d = new Float32Array(m * c);
  d.fill(NaN);
  xent_bwd_f32x4(m, c, z.dataStart, y.dataStart, kp, d.dataStart, 1.25, 0);
  let ws: f64 = 0;
  for (let i = 0; i < m; i++) { const w: f64 = k ? <f64>k[i] : 1; if (w > 0) ws += w; }
  for (let i = 0; i < m; i++) {
    const w: f64 = k ? <f64>k[i] : 1;
    let mx: f64 = -Infinity, s: f64 = 0;
    if (w > 0) {
      for (let j = 0; j < c; j++) mx = Math.max(mx, <f64>z[i * c + j]);
      for (let j = 0; j < c; j++) s += Math.exp(<f64>z[i * c + j] - mx);
    }
    for (let j = 0; j < c; j++) {
      const e: f64 = w > 0 ? 1.25 * w * (Math.exp(<f64>z[i * c + j] - mx) / s - (j == y[i] ? 1 : 0)) / ws : 0;
      chk(close(<f64>d[i * c + j], e, 1e-5, 1e-7), "xent grad", i * c + j, d[i * c + j], e);
    }
  }
  const d1 = new Float32Array(m * c);
  for (let i = 0; i < m * c; i++) d1[i] = sym(1);
  const old = d1.slice();
  xent_bwd_f32x4(m, c, z.dataStart, y.dataStart, kp, d1.dataStart, 1.25, 1);
  for (let i = 0; i < m * c; i++) chk(close(<f64>d1[i], <f64>old[i] + <f64>d[i], 1e-6, 1e-7), "xent beta=1", i, d1[i], <f64>old[i] + <f64>d[i]);
  done();
}

describe("softmax cross-entropy", () => {
  it("matches the scalar reference at tail sizes (classes and rows)", () => {
    for (let s = 0; s < SIZES.length; s++) {
      checkXent(3, SIZES[s], false, 4);
      checkXent(7, SIZES[s], true, 4);
      checkXent(SIZES[s], 3, true, 4);
    }
  });
  it("is stable for large logits", () => {
    for (let s = 0; s < SIZES.length; s++) checkXent(4, SIZES[s], true, 80);
  });
});

// GIoU: 4-row SIMD blocks plus leftover rows one at a time, against a scalar f64 reference and its central
// differences (boxes kept away from the kinks: prediction edges at least 0.01 from the target's).
function giouOne(z: Float32Array, t: Float32Array, r: i32, dz: i32, h: f64): f64 {
  const a0 = <f64>z[4 * r] + (dz == 0 ? h : 0), a1 = <f64>z[4 * r + 1] + (dz == 1 ? h : 0), a2 = <f64>z[4 * r + 2] + (dz == 2 ? h : 0), a3 = <f64>z[4 * r + 3] + (dz == 3 ? h : 0);
  const px0 = Math.min(a0, a2), px1 = Math.max(a0, a2), py0 = Math.min(a1, a3), py1 = Math.max(a1, a3);
  const b0 = <f64>t[4 * r], b1 = <f64>t[4 * r + 1], b2 = <f64>t[4 * r + 2], b3 = <f64>t[4 * r + 3];
  const gx0 = Math.min(b0, b2), gx1 = Math.max(b0, b2), gy0 = Math.min(b1, b3), gy1 = Math.max(b1, b3);
  const inter = Math.max(0, Math.min(px1, gx1) - Math.max(px0, gx0)) * Math.max(0, Math.min(py1, gy1) - Math.max(py0, gy0));
  const u = (px1 - px0) * (py1 - py0) + (gx1 - gx0) * (gy1 - gy0) - inter;
  const c = (Math.max(px1, gx1) - Math.min(px0, gx0)) * (Math.max(py1, gy1) - Math.min(py0, gy0));
  return 1 - inter / (u + 1e-7) + (c - u) / (c + 1e-7);
}

function checkGiou(m: i32, masked: bool): void {
  const z = new Float32Array(m * 4), t = new Float32Array(m * 4);
  for (let i = 0; i < m; i++) {
    const x0 = rnd() * 0.6, y0 = rnd() * 0.6;
    t[4 * i] = x0; t[4 * i + 1] = y0; t[4 * i + 2] = x0 + 0.1 + rnd() * 0.3; t[4 * i + 3] = y0 + 0.1 + rnd() * 0.3;
    for (let j = 0; j < 4; j++) {
      let v = t[4 * i + j] + sym(i % 3 == 1 ? 0.6 : 0.08);
      for (let k = 0; k < 4; k++) if (Math.abs(<f64>v - <f64>t[4 * i + k]) < 0.01) v += 0.03;
      z[4 * i + j] = v;
    }
    if (i % 4 == 3) { const s = z[4 * i]; z[4 * i] = z[4 * i + 2]; z[4 * i + 2] = s; }
  }
  const k: Float32Array | null = masked ? makeMask(m) : null;
  if (k) for (let i = 0; i < m; i++) if (!(k[i] > 0)) for (let j = 0; j < 4; j++) { z[4 * i + j] = NaN; t[4 * i + j] = NaN; }
  const kp = k ? k.dataStart : 0;
  ctxKind = -2; ctxM = m; ctxN = 4;
  let ws: f64 = 0, acc: f64 = 0;
  for (let i = 0; i < m; i++) {
    const w: f64 = k ? <f64>k[i] : 1;
    if (w > 0) { ws += w; acc += w * giouOne(z, t, i, -1, 0); }
  }
  const got = giou_fwd_f32x4(m, 4, z.dataStart, t.dataStart, kp);
  chk(close(<f64>got, acc / ws, 1e-5, 1e-6), "giou fwd", 0, got, acc / ws);
  const d = new Float32Array(m * 4);
  d.fill(NaN);
  giou_bwd_f32x4(m, 4, z.dataStart, t.dataStart, kp, d.dataStart, 1.25, 0);
  const h: f64 = 1e-6;
  for (let i = 0; i < m; i++) {
    const w: f64 = k ? <f64>k[i] : 1;
    for (let j = 0; j < 4; j++) {
      const e: f64 = w > 0 ? 1.25 * w * (giouOne(z, t, i, j, h) - giouOne(z, t, i, j, -h)) / (2 * h) / ws : 0;
      chk(close(<f64>d[4 * i + j], e, 2e-3, 1e-5 / ws), "giou grad", 4 * i + j, d[4 * i + j], e);
    }
  }
  const d1 = new Float32Array(m * 4);
  for (let i = 0; i < m * 4; i++) d1[i] = sym(1);
  const old = d1.slice();
  giou_bwd_f32x4(m, 4, z.dataStart, t.dataStart, kp, d1.dataStart, 1.25, 1);
  for (let i = 0; i < m * 4; i++) chk(close(<f64>d1[i], <f64>old[i] + <f64>d[i], 1e-6, 1e-7), "giou beta=1", i, d1[i], <f64>old[i] + <f64>d[i]);
  done();
}

describe("giou boxes", () => {
  it("matches the scalar reference and its central differences at tail sizes (masked and not)", () => {
    for (let s = 0; s < SIZES.length; s++) {
      checkGiou(SIZES[s], false);
      checkGiou(SIZES[s], true);
    }
  });
});
