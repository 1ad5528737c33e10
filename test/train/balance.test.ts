// Gradient-level balancing methods (issue 12): each against its float64 reference (test/ref/balance.ts) on rows in
// wasm memory, plus the property that defines it.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup, Rng, assertClose } from "../helpers.ts";
import type { Kernels } from "../../src/runtime/load.ts";
import type { Arena } from "../../src/runtime/heap.ts";
import type { GradientStage, Weighting, WeightingContext } from "../../src/train/weighting/types.ts";
import type { WeightingSpec } from "../../src/model/spec.ts";
import * as ref from "../ref/balance.ts";
import { mgdaWeighting } from "../../src/train/weighting/mgda.ts";
import { pcgradWeighting } from "../../src/train/weighting/pcgrad.ts";

let env: { k: Kernels; arena: Arena };
test.before(async () => {
  const { k, arena } = await setup();
  env = { k, arena };
});

type Rows = number[][];

/** Random rows [T][n] (f32-exact), rows of inactive tasks zero. */
function randomRows(rng: Rng, T: number, n: number, active: number[] = [...Array(T).keys()]): Rows {
  return Array.from({ length: T }, (_, t) => (active.includes(t) ? Array.from(rng.f32(n, () => rng.normal())) : Array(n).fill(0)));
}

interface Fake extends GradientStage {
  rows(): Rows;
  /** Σ_t alpha_t·row_t in f64 from the (possibly rewritten) rows. */
  combined(): number[];
}

/** A stage over rows in wasm memory (row stride ld = n rounded up to 4, garbage in the padding). */
function fakeStage(rows: Rows, o: { active?: number[]; losses?: number[]; weights?: number[]; mode?: "param" | "rep"; batch?: number; rep?: { z: Float32Array[]; dz: Float32Array[] } } = {}): Fake {
  const { k, arena } = env;
  const T = rows.length, n = rows[0].length, ld = (n + 3) & ~3;
  const p = arena.alloc(T * ld);
  const view = () => new Float32Array(k.memory.buffer, p, T * ld);
  view().fill(777);
  rows.forEach((r, t) => view().set(r, t * ld));
  const active = o.active ?? [...Array(T).keys()];
  const alpha = new Float64Array(T);
  for (const t of active) alpha[t] = 1;
  const repPtr = o.rep ? o.rep.z.map((z) => { const q = arena.alloc(z.length); new Float32Array(k.memory.buffer, q, z.length).set(z); return q; }) : [];
  const dzPtr = o.rep ? o.rep.dz.map((z) => { const q = arena.alloc(z.length); new Float32Array(k.memory.buffer, q, z.length).set(z); return q; }) : [];
  let fs = 0;
  const row = (t: number) => new Float32Array(k.memory.buffer, p + t * ld * 4, n);
  const st: Fake = {
    tasks: T, mode: o.mode ?? "param", size: n, ld,
    losses: Float64Array.from(o.losses ?? rows.map(() => 1)),
    weights: o.weights ?? rows.map(() => 1),
    active, labelled: rows.map((_, t) => (active.includes(t) ? 1 : 0)), alpha,
    row, taskGradient: row,
    representationGradient: (t) => new Float32Array(k.memory.buffer, dzPtr[t], o.rep!.dz[t].length),
    get featureScale() { return fs; },
    set featureScale(v: number) { fs = v; },
    ptr: { rows: p, representation: (t) => repPtr[t], representationGradient: (t) => dzPtr[t] },
    batch: o.batch ?? 0, k,
    rows: () => rows.map((_, t) => Array.from(row(t))),
    combined: () => ref.combine(st.rows(), Array.from(alpha)),
  };
  return st;
}

function ctxOf(T: number, options: Partial<WeightingSpec> = {}, seed = 7, weights?: number[]): WeightingContext {
  return { weights: weights ?? Array(T).fill(1), seed, options: { type: "static", temperature: 2, ...options } as WeightingSpec, k: env.k, region: env.arena.region() };
}

/** Relative closeness of two vectors in ‖·‖₂, float32-appropriate. */
function near(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 2e-5, what = "combined gradient") {
  let d = 0, s = 0;
  for (let i = 0; i < expected.length; i++) (d += (actual[i] - expected[i]) ** 2), (s += expected[i] ** 2);
  const e = Math.sqrt(d) / Math.max(Math.sqrt(s), 1e-12);
  assert.ok(e <= tol, `${what}: relative error ${e.toExponential(3)} > ${tol}`);
}

const CASES: { T: number; n: number; active?: number[] }[] = [
  { T: 2, n: 7 }, { T: 3, n: 13 }, { T: 5, n: 37 }, { T: 3, n: 9, active: [0, 2] }, { T: 5, n: 22, active: [1, 2, 4] },
];

/** Run a method's gradient on a fake stage; returns the stage. */
function run(w: Weighting, rows: Rows, o: Parameters<typeof fakeStage>[1] = {}): Fake {
  const st = fakeStage(rows, o);
  w.gradient!(st);
  return st;
}

const sub = (rows: Rows, a: number[]) => a.map((t) => rows[t]);
const spread = (a: number[], vals: number[], T: number) => { const out = Array(T).fill(0); a.forEach((t, i) => (out[t] = vals[i])); return out; };

// ─── MGDA ───
for (const norm of ["none", "l2", "loss", "loss+"] as const) {
  test(`mgda (${norm}): alpha is the min-norm point of the normalized hull (active-set enumeration), divided by the normalizers`, () => {
    const rng = new Rng(101);
    for (const c of CASES) {
      const active = c.active ?? [...Array(c.T).keys()];
      const rows = randomRows(rng, c.T, c.n, active);
      const losses = rows.map(() => 0.2 + rng.next());
      const st = run(mgdaWeighting(ctxOf(c.T, { normalization: norm })), rows, { active, losses });
      const want = spread(active, ref.mgda(sub(rows, active), active.map((t) => losses[t]), norm), c.T);
      assertClose(st.alpha, want, { rtol: 1e-5, atol: 1e-7, name: `alpha T=${c.T}` });
      near(st.combined(), ref.combine(rows, want));
    }
  });
}

test("mgda: T = 2 closed form w₁ = (g₂−g₁)·g₂/‖g₁−g₂‖² clamped to [0, 1]; the min-norm point is optimal on a fine grid", () => {
  const rng = new Rng(5);
  for (let r = 0; r < 20; r++) {
    const rows = randomRows(rng, 2, 11);
    if (r % 3 === 0) rows[1] = rows[0].map((x, i) => 0.5 * x + 0.1 * rows[1][i]); // one end point wins
    const st = run(mgdaWeighting(ctxOf(2)), rows);
    const [a, b] = rows, d = a.map((x, i) => x - b[i]);
    const w1 = Math.min(1, Math.max(0, -ref.dot(d, b) / ref.dot(d, d)));
    assertClose(st.alpha, [w1, 1 - w1], { rtol: 1e-6, atol: 1e-9 });
    const f = (w: number) => ref.norm(ref.combine(rows, [w, 1 - w]));
    for (let i = 0; i <= 1000; i++) assert.ok(f(st.alpha[0]) <= f(i / 1000) + 1e-9);
  }
});

test("mgda: the min-norm point is no worse than any point of a grid over the simplex (T = 3, 4)", () => {
  const rng = new Rng(9);
  for (const T of [3, 4]) {
    const rows = randomRows(rng, T, 6);
    const st = run(mgdaWeighting(ctxOf(T)), rows);
    const f = (w: number[]) => ref.norm(ref.combine(rows, w));
    const got = f(Array.from(st.alpha));
    const N = 30;
    const grid = (k: number, left: number, acc: number[]): void => {
      if (k === T - 1) return void assert.ok(got <= f([...acc, left / N]) + 1e-7, `grid point ${[...acc, left / N]}`);
      for (let i = 0; i <= left; i++) grid(k + 1, left - i, [...acc, i / N]);
    };
    grid(0, N, []);
  }
});

// ─── PCGrad ───
test("pcgrad: each rewritten row is the paper's projection under some order of the other tasks; alpha stays 1/0", () => {
  const rng = new Rng(202);
  for (const c of CASES) {
    const active = c.active ?? [...Array(c.T).keys()];
    const rows = randomRows(rng, c.T, c.n, active);
    const st = run(pcgradWeighting(ctxOf(c.T)), rows, { active });
    const got = st.rows();
    assert.equal(Array.from(st.alpha), rows.map((_, t) => (active.includes(t) ? 1 : 0)));
    for (let t = 0; t < c.T; t++) {
      if (!active.includes(t)) {
        assert.equal(got[t], rows[t], "an inactive row is untouched");
        continue;
      }
      const others = active.filter((j) => j !== t);
      const errs = ref.permutations(others).map((order) => {
        const orders = rows.map(() => [] as number[]);
        orders[t] = order;
        const want = ref.pcgrad(rows, orders)[t];
        return Math.sqrt(want.reduce((s, x, i) => s + (x - got[t][i]) ** 2, 0)) / ref.norm(want);
      });
      assert.ok(Math.min(...errs) < 2e-5, `row ${t}: no order reproduces it (errors ${errs.map((e) => e.toExponential(2))})`);
    }
  }
});

test("pcgrad: T = 2 with a conflict removes exactly the conflicting component (g₁'·g₂ = 0, g₁' − g₁ ∥ g₂), none without", () => {
  const rng = new Rng(3);
  let conflicts = 0;
  for (let r = 0; r < 40; r++) {
    const rows = randomRows(rng, 2, 10);
    const st = run(pcgradWeighting(ctxOf(2, {}, r)), rows);
    const got = st.rows();
    const d = ref.dot(rows[0], rows[1]);
    for (const [i, j] of [[0, 1], [1, 0]]) {
      const change = got[i].map((x, k) => x - rows[i][k]);
      if (d >= 0) assert.equal(got[i], rows[i].map(Math.fround), "no conflict: unchanged");
      else {
        conflicts++;
        assert.ok(Math.abs(ref.dot(got[i], rows[j])) <= 1e-5 * ref.norm(rows[i]) * ref.norm(rows[j]), "projected onto the normal plane");
        const c = ref.dot(change, rows[j]) / ref.dot(rows[j], rows[j]);
        const resid = change.map((x, k) => x - c * rows[j][k]);
        assert.ok(ref.norm(resid) <= 1e-5 * ref.norm(rows[i]), "the change is parallel to g_j");
        assertClose([c], [-d / ref.dot(rows[j], rows[j])], { rtol: 1e-5, atol: 1e-7 });
      }
    }
  }
  assert.ok(conflicts > 10);
});

test("pcgrad: T = 5, every row's change lies in the span of the other tasks' gradients and its last projection holds", () => {
  const rng = new Rng(4);
  const rows = randomRows(rng, 5, 40);
  const got = run(pcgradWeighting(ctxOf(5)), rows).rows();
  for (let i = 0; i < 5; i++) {
    const others = [0, 1, 2, 3, 4].filter((j) => j !== i).map((j) => rows[j]);
    const change = got[i].map((x, k) => x - rows[i][k]);
    // least squares of the change on the others: residual ≈ 0
    const c = ref.solve(ref.gram(others), others.map((o) => ref.dot(o, change)))!;
    const resid = change.map((x, k) => x - others.reduce((s, o, j) => s + c[j] * o[k], 0));
    assert.ok(ref.norm(resid) <= 1e-5 * ref.norm(rows[i]), `row ${i}: change outside the span`);
    // after the last projected j, g_i'·g_j ≥ −tol for at least that j: the row conflicts with at most T−2 tasks
    const neg = others.filter((o) => ref.dot(got[i], o) < -1e-5 * ref.norm(got[i]) * ref.norm(o)).length;
    assert.ok(neg <= 3);
  }
});

test("pcgrad: seeded orders; state()/restore() mid-run gives the next step bit for bit", () => {
  const rng = new Rng(8);
  const steps = Array.from({ length: 6 }, () => randomRows(rng, 5, 9));
  const a = pcgradWeighting(ctxOf(5, {}, 11));
  for (let s = 0; s < 3; s++) run(a, steps[s]);
  const saved = JSON.parse(JSON.stringify(a.state!()));
  const b = pcgradWeighting(ctxOf(5, {}, 11));
  b.restore!(saved);
  for (let s = 3; s < 6; s++) assert.equal(run(b, steps[s]).rows(), run(a, steps[s]).rows());
  // another seed visits in other orders: some row differs on some step
  const c = pcgradWeighting(ctxOf(5, {}, 12)), d = pcgradWeighting(ctxOf(5, {}, 11));
  assert.ok(steps.some((r) => JSON.stringify(run(c, r).rows()) !== JSON.stringify(run(d, r).rows())), "the seed sets the order");
});

test.run();
