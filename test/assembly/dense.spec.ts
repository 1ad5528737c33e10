// Dense kernels vs scalar triple loops (float64 accumulation) at sizes that exercise every tail:
// m % 4, n % 8, n % 4 and k from {1, 3, 5, 17, 64, 130}.
import { dense_fwd_f32x4, dense_bwd_x_f32x4, dense_bwd_w_f32x4, peak_f32x4 } from "../../assembly/kernels/dense";

const SIZES: i32[] = [1, 3, 5, 17, 64, 130];
const U: f64 = 1.0 / 16777216.0; // 2^-24

/** Every size in every position (with tail-sized partners), plus a few large combinations. */
function triples(): i32[] {
  const t: i32[] = [];
  for (let i = 0; i < SIZES.length; i++) {
    const s = SIZES[i];
    t.push(s); t.push(17); t.push(5);
    t.push(5); t.push(s); t.push(3);
    t.push(3); t.push(1); t.push(s);
    t.push(17); t.push(s); t.push(130);
  }
  t.push(64); t.push(64); t.push(64);
  t.push(130); t.push(130); t.push(17);
  t.push(130); t.push(5); t.push(130);
  return t;
}

let seed: u32 = 12345;
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
function copyArr(a: Float32Array): Float32Array {
  const b = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) b[i] = a[i];
  return b;
}

/** |got - want| within the f32 accumulation bound of `terms` products whose |.|-sum is absSum. */
function near(got: f32, want: f64, absSum: f64, terms: i32): bool {
  const tol = 2.0 * <f64>(terms + 4) * U * absSum + 1e-30;
  return Math.abs(<f64>got - want) <= tol;
}

describe("dense_fwd_f32x4", () => {
  it("matches a scalar triple loop (bias on/off, identity/relu)", () => {
    const t = triples();
    let checked = 0;
    for (let q = 0; q < t.length; q += 3) {
      const m = t[q], k = t[q + 1], n = t[q + 2];
      const x = randArr(m * k), w = randArr(k * n), b = randArr(n);
      for (let hb = 0; hb < 2; hb++) {
        for (let act = 0; act < 2; act++) {
          const y = nanArr(m * n);
          dense_fwd_f32x4(m, k, n, x.dataStart, w.dataStart, hb ? b.dataStart : 0, y.dataStart, act);
          for (let i = 0; i < m; i++) {
            for (let j = 0; j < n; j++) {
              let s: f64 = hb ? <f64>b[j] : 0, a: f64 = hb ? Math.abs(<f64>b[j]) : 0;
              for (let p = 0; p < k; p++) {
                const v = <f64>x[i * k + p] * <f64>w[p * n + j];
                s += v; a += Math.abs(v);
              }
              if (act == 1 && s < 0) s = 0;
              const ok = near(y[i * n + j], s, a, k);
              if (!ok) expect(ok).toBe(true, "fwd m=" + m.toString() + " k=" + k.toString() + " n=" + n.toString() + " i=" + i.toString() + " j=" + j.toString());
              checked++;
            }
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(100000);
  });
});

describe("dense_bwd_x_f32x4", () => {
  it("dX = beta·dX + dY·Wᵀ for beta 0 (NaN-filled dX) and 1", () => {
    const t = triples();
    for (let q = 0; q < t.length; q += 3) {
      const m = t[q], k = t[q + 1], n = t[q + 2];
      const dy = randArr(m * n), w = randArr(k * n), old = randArr(m * k);
      for (let bi = 0; bi < 2; bi++) {
        const beta: f32 = <f32>bi;
        const dx = bi ? copyArr(old) : nanArr(m * k);
        dense_bwd_x_f32x4(m, k, n, dy.dataStart, w.dataStart, dx.dataStart, beta);
        for (let i = 0; i < m; i++) {
          for (let c = 0; c < k; c++) {
            let s: f64 = bi ? <f64>old[i * k + c] : 0, a: f64 = Math.abs(s);
            for (let j = 0; j < n; j++) {
              const v = <f64>dy[i * n + j] * <f64>w[c * n + j];
              s += v; a += Math.abs(v);
            }
            const ok = near(dx[i * k + c], s, a, n);
            if (!ok) expect(ok).toBe(true, "bwd_x m=" + m.toString() + " k=" + k.toString() + " n=" + n.toString() + " beta=" + bi.toString() + " i=" + i.toString() + " c=" + c.toString());
          }
        }
      }
    }
  });
});

describe("dense_bwd_w_f32x4", () => {
  it("dW = beta·dW + Xᵀ·dY and db = beta·db + Σ dY for beta 0 (NaN-filled) and 1, with and without db", () => {
    const t = triples();
    for (let q = 0; q < t.length; q += 3) {
      const m = t[q], k = t[q + 1], n = t[q + 2];
      const x = randArr(m * k), dy = randArr(m * n), oldW = randArr(k * n), oldB = randArr(n);
      for (let bi = 0; bi < 2; bi++) {
        for (let hb = 0; hb < 2; hb++) {
          const beta: f32 = <f32>bi;
          const dw = bi ? copyArr(oldW) : nanArr(k * n);
          const db = bi ? copyArr(oldB) : nanArr(n);
          dense_bwd_w_f32x4(m, k, n, x.dataStart, dy.dataStart, dw.dataStart, hb ? db.dataStart : 0, beta);
          for (let p = 0; p < k; p++) {
            for (let j = 0; j < n; j++) {
              let s: f64 = bi ? <f64>oldW[p * n + j] : 0, a: f64 = Math.abs(s);
              for (let i = 0; i < m; i++) {
                const v = <f64>x[i * k + p] * <f64>dy[i * n + j];
                s += v; a += Math.abs(v);
              }
              const ok = near(dw[p * n + j], s, a, m);
              if (!ok) expect(ok).toBe(true, "bwd_w dW m=" + m.toString() + " k=" + k.toString() + " n=" + n.toString() + " beta=" + bi.toString() + " p=" + p.toString() + " j=" + j.toString());
            }
          }
          for (let j = 0; j < n; j++) {
            if (hb) {
              let s: f64 = bi ? <f64>oldB[j] : 0, a: f64 = Math.abs(s);
              for (let i = 0; i < m; i++) {
                s += <f64>dy[i * n + j]; a += Math.abs(<f64>dy[i * n + j]);
              }
              const ok = near(db[j], s, a, m);
              if (!ok) expect(ok).toBe(true, "bwd_w db m=" + m.toString() + " n=" + n.toString() + " beta=" + bi.toString() + " j=" + j.toString());
            } else {
              // db_ptr == 0: the db buffer is never touched.
              const same = bi ? db[j] == oldB[j] : isNaN(db[j]);
              if (!same) expect(same).toBe(true, "bwd_w wrote db although db_ptr == 0, j=" + j.toString());
            }
          }
        }
      }
    }
  });
});

describe("peak_f32x4", () => {
  it("returns the finite lane sum of its accumulators", () => {
    const r0 = peak_f32x4(0), r1 = peak_f32x4(1000);
    expect(isFinite(r0) && isFinite(r1)).toBe(true, "finite");
    // 28 mul lanes stay at 1 (1·1) and 28 add lanes at 0 (0 + 0): the lane sum is 28 for any iters.
    expect(r0).toBe(28, "iters 0 sum");
    expect(r1).toBe(28, "iters 1000 sum");
  });
});
