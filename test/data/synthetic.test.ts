import { test } from "uvu";
import * as assert from "uvu/assert";
import { gaussian, mmoeSynthetic } from "../../src/data/synthetic.ts";

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let j = 0; j < a.length; j++) s += a[j] * b[j];
  return s;
};

function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0, mb = 0;
  for (let i = 0; i < n; i++) (ma += a[i]), (mb += b[i]);
  ma /= n;
  mb /= n;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i] - ma, db = b[i] - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return sab / Math.sqrt(saa * sbb);
}

/** Row r's linear parts w_tᵀx, from the returned x and w's. */
function linear(d: ReturnType<typeof mmoeSynthetic>, r: number): [number, number] {
  const x = d.x.subarray(r * d.dim, (r + 1) * d.dim);
  return [dot(x, d.w1), dot(x, d.w2)];
}

test("u1 and u2 are orthonormal; w1·w2 = c²·p and cos(w1, w2) = p", () => {
  for (const c of [1, 2.5]) {
    for (const p of [-0.5, 0, 0.25, 0.5, 0.9, 1]) {
      const d = mmoeSynthetic({ rows: 0, correlation: p, c, seed: 3 });
      assert.is(d.u1.length, 100);
      assert.ok(Math.abs(dot(d.u1, d.u1) - 1) < 1e-12, "|u1| = 1");
      assert.ok(Math.abs(dot(d.u2, d.u2) - 1) < 1e-12, "|u2| = 1");
      assert.ok(Math.abs(dot(d.u1, d.u2)) < 1e-12, "u1 ⊥ u2");
      assert.ok(Math.abs(dot(d.w1, d.w2) - c * c * p) < 1e-12, `w1·w2 = c²p for c=${c} p=${p}`);
      const cos = dot(d.w1, d.w2) / Math.sqrt(dot(d.w1, d.w1) * dot(d.w2, d.w2));
      assert.ok(Math.abs(cos - p) < 1e-12, `cos = ${cos}, p = ${p}`);
      assert.ok(Math.abs(Math.sqrt(dot(d.w2, d.w2)) - c) < 1e-12, "|w2| = c");
    }
  }
});

test("the linear parts w1ᵀx and w2ᵀx correlate with Pearson r ≈ p over 20,000 rows", () => {
  for (const p of [0, 0.3, 0.5, 0.8, 1]) {
    const d = mmoeSynthetic({ rows: 20000, correlation: p, seed: 11 });
    const a = new Float64Array(d.rows), b = new Float64Array(d.rows);
    for (let r = 0; r < d.rows; r++) [a[r], b[r]] = linear(d, r);
    const r = pearson(a, b);
    assert.ok(Math.abs(r - p) < 0.03, `p=${p}: Pearson ${r.toFixed(4)}`);
  }
});

test("x ~ N(0, 1) element-wise and α, β ~ N(0, 1)", () => {
  const d = mmoeSynthetic({ rows: 5000, correlation: 0.5, seed: 1 });
  let s = 0, ss = 0;
  for (const v of d.x) (s += v), (ss += v * v);
  const n = d.x.length, mean = s / n, variance = ss / n - mean * mean;
  assert.ok(Math.abs(mean) < 0.01, `mean ${mean}`);
  assert.ok(Math.abs(variance - 1) < 0.01, `variance ${variance}`);
  assert.is(d.alpha.length, 10);
  assert.is(d.beta.length, 10);
  const g = gaussian(5);
  let gs = 0, gss = 0;
  for (let i = 0; i < 100000; i++) {
    const v = g();
    gs += v;
    gss += v * v;
  }
  assert.ok(Math.abs(gs / 1e5) < 0.01 && Math.abs(gss / 1e5 - 1) < 0.02, "gaussian: mean 0, variance 1");
});

test("same seed → identical arrays; another seed → different; the noise level does not move x", () => {
  const a = mmoeSynthetic({ rows: 300, correlation: 0.7, seed: 42 });
  const b = mmoeSynthetic({ rows: 300, correlation: 0.7, seed: 42 });
  const c = mmoeSynthetic({ rows: 300, correlation: 0.7, seed: 43 });
  for (const k of ["x", "y1", "y2", "w1", "w2", "alpha", "beta"] as const) {
    assert.equal(Array.from(a[k]), Array.from(b[k]), `${k}: same seed`);
    assert.not.equal(Array.from(a[k]), Array.from(c[k]), `${k}: other seed`);
  }
  const quiet = mmoeSynthetic({ rows: 300, correlation: 0.7, seed: 42, noise: 0 });
  assert.equal(Array.from(quiet.x), Array.from(a.x));
  // The first rows of a larger draw are the same rows (per-row draws come after the shared parameters).
  const more = mmoeSynthetic({ rows: 500, correlation: 0.7, seed: 42 });
  assert.equal(Array.from(more.y1.subarray(0, 300)), Array.from(a.y1));
});

test("the targets follow the formula, recomputed here from x, w, α and β", () => {
  const target = (d: ReturnType<typeof mmoeSynthetic>, lin: number) => {
    let s = lin;
    for (let i = 0; i < d.alpha.length; i++) s += Math.sin(d.alpha[i] * lin + d.beta[i]);
    return s;
  };
  // Without noise: equal up to float32 rounding of the stored targets.
  for (const p of [0, 0.5, 1]) {
    const d = mmoeSynthetic({ rows: 50, correlation: p, seed: 9, noise: 0 });
    for (const r of [0, 1, 17, 49]) {
      const [l1, l2] = linear(d, r);
      const t1 = target(d, l1), t2 = target(d, l2);
      assert.ok(Math.abs(d.y1[r] - t1) <= 1e-6 * Math.max(1, Math.abs(t1)), `p=${p} row ${r}: y1 ${d.y1[r]} vs ${t1}`);
      assert.ok(Math.abs(d.y2[r] - t2) <= 1e-6 * Math.max(1, Math.abs(t2)), `p=${p} row ${r}: y2 ${d.y2[r]} vs ${t2}`);
    }
    if (p === 1) assert.equal(Array.from(d.y1), Array.from(d.y2), "p = 1: identical tasks");
  }
  // With noise: the residual y − f(x) has mean 0 and standard deviation `noise`, independently per task.
  const d = mmoeSynthetic({ rows: 20000, correlation: 0.5, seed: 9, noise: 0.1 });
  const e1 = new Float64Array(d.rows), e2 = new Float64Array(d.rows);
  for (let r = 0; r < d.rows; r++) {
    const [l1, l2] = linear(d, r);
    e1[r] = d.y1[r] - target(d, l1);
    e2[r] = d.y2[r] - target(d, l2);
  }
  for (const e of [e1, e2]) {
    const mean = e.reduce((a, b) => a + b, 0) / e.length;
    const std = Math.sqrt(e.reduce((a, b) => a + (b - mean) ** 2, 0) / e.length);
    assert.ok(Math.abs(mean) < 0.005, `noise mean ${mean}`);
    assert.ok(Math.abs(std - 0.1) < 0.005, `noise std ${std}`);
  }
  assert.ok(Math.abs(pearson(e1, e2)) < 0.03, "ε1 and ε2 independent");
});

test("the label correlation falls with p (the property the paper's experiment relies on)", () => {
  const rs = [0, 0.5, 0.9, 1].map((p) => {
    const d = mmoeSynthetic({ rows: 10000, correlation: p, seed: 2 });
    return pearson(d.y1, d.y2);
  });
  for (let i = 1; i < rs.length; i++) assert.ok(rs[i] > rs[i - 1], `label correlations ${rs.map((r) => r.toFixed(3))}`);
  assert.ok(rs[3] > 0.99, "p = 1: labels differ only by noise");
});

test("bad options throw", () => {
  assert.throws(() => mmoeSynthetic({ rows: 10, correlation: 1.5, seed: 1 }), /correlation/);
  assert.throws(() => mmoeSynthetic({ rows: -1, correlation: 0, seed: 1 }), /rows/);
  assert.throws(() => mmoeSynthetic({ rows: 1, dim: 1, correlation: 0, seed: 1 }), /dim/);
  assert.throws(() => mmoeSynthetic({ rows: 1, correlation: 0, seed: 1, noise: -1 }), /noise/);
});

test.run();
