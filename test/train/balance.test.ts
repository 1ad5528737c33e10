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
import { cagradWeighting } from "../../src/train/weighting/cagrad.ts";
import { imtlWeighting } from "../../src/train/weighting/imtl.ts";
import { alignedMtlWeighting } from "../../src/train/weighting/aligned-mtl.ts";
import { nashMtlWeighting } from "../../src/train/weighting/nash-mtl.ts";
import { upgradWeighting } from "../../src/train/weighting/upgrad.ts";
import { gradvacWeighting } from "../../src/train/weighting/gradvac.ts";
import { dbMtlWeighting } from "../../src/train/weighting/db-mtl.ts";
import { graddropWeighting, GRADDROP_KEY } from "../../src/train/weighting/graddrop.ts";

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
  // The framework's sign statistic S_t = w_t·Σ_b dz_t[b,·]·sign(z_t[b,·]), computed here in float64.
  const sp = arena.alloc(T * ld);
  if (o.rep) {
    const S = new Float32Array(T * ld), w = o.weights ?? rows.map(() => 1), B = o.batch ?? 0;
    for (let t = 0; t < T; t++)
      for (let c = 0; c < n; c++) {
        let acc = 0;
        for (let b = 0; b < B; b++) acc += o.rep.dz[t][b * n + c] * Math.sign(o.rep.z[t][b * n + c]);
        S[t * ld + c] = Math.fround(acc) * w[t];
      }
    new Float32Array(k.memory.buffer, sp, T * ld).set(S);
  }
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
    ptr: { rows: p, signed: sp, representation: (t) => repPtr[t], representationGradient: (t) => dzPtr[t] },
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

// ─── CAGrad ───
for (const [c, rescale] of [[0.5, 1], [0.2, 0], [1.5, 2], [0, 1]] as const) {
  test(`cagrad (c ${c}, rescale ${rescale}): alpha = (1/m + λ·w)/r with w from a simplex grid + refinement (golden section at T = 2)`, () => {
    const rng = new Rng(303 + rescale);
    for (const cs of CASES) {
      const active = cs.active ?? [...Array(cs.T).keys()];
      const rows = randomRows(rng, cs.T, cs.n, active);
      const st = run(cagradWeighting(ctxOf(cs.T, { c, rescale })), rows, { active });
      const r = ref.cagrad(sub(rows, active), c, rescale);
      const want = spread(active, r.alpha, cs.T);
      near(st.combined(), ref.combine(rows, want), 1e-4);
      // the kernel's w (recovered from alpha) is no worse than the reference's minimum
      const m = active.length, rs = rescale === 0 ? 1 : rescale === 1 ? 1 + c * c : 1 + c;
      if (c > 0) {
        const lw = active.map((t) => st.alpha[t] * rs - 1 / m), sum = lw.reduce((x, y) => x + y, 0);
        const w = lw.map((x) => x / sum);
        assert.ok(r.F(w) <= r.F(r.w) + 1e-9 * Math.abs(r.F(r.w)), `F(kernel w) ${r.F(w)} > F(ref w) ${r.F(r.w)}`);
      }
      assert.ok(rows.every((_, t) => active.includes(t) || st.alpha[t] === 0));
    }
  });
}

test("cagrad: c = 0 is plain gradient descent on the mean; the direction never loses to g0 by more than c‖g0‖ (eq. 2)", () => {
  const rng = new Rng(31);
  const rows = randomRows(rng, 4, 10);
  const st = run(cagradWeighting(ctxOf(4, { c: 0, rescale: 0 })), rows);
  near(Array.from(st.alpha), [0.25, 0.25, 0.25, 0.25], 1e-7, "alpha");
  const st2 = run(cagradWeighting(ctxOf(4, { c: 0.5, rescale: 0 })), rows);
  const d = st2.combined(), g0 = ref.combine(rows, [0.25, 0.25, 0.25, 0.25]);
  const A = ref.gram(rows), phi = 0.5 * Math.sqrt(A.flat().reduce((x, y) => x + y, 0) / 16 + 1e-8) + 1e-8;
  // d = g0 + λ g_w with ‖λ g_w‖ = φ: ‖d − g0‖ = φ
  assertClose([ref.norm(d.map((x, k) => x - g0[k]))], [phi], { rtol: 1e-4, atol: 0 });
});

// ─── IMTL-G ───
test("imtl: alpha matches the closed form from the vectors; the aggregate has equal projections on every unit gradient", () => {
  const rng = new Rng(404);
  for (const cs of CASES) {
    const active = cs.active ?? [...Array(cs.T).keys()];
    const rows = randomRows(rng, cs.T, cs.n, active);
    const st = run(imtlWeighting(ctxOf(cs.T)), rows, { active });
    const want = spread(active, ref.imtl(sub(rows, active)), cs.T);
    assertClose(st.alpha, want, { rtol: 1e-4, atol: 1e-6, name: `alpha T=${cs.T}` });
    const g = st.combined();
    const proj = active.map((t) => ref.dot(g, rows[t]) / ref.norm(rows[t]));
    assertClose(proj, proj.map(() => proj[0]), { rtol: 1e-4, atol: 1e-6, name: "projections" });
    assertClose([active.reduce((x, t) => x + st.alpha[t], 0)], [1], { rtol: 1e-9, atol: 1e-12, name: "Σ alpha" });
  }
});

// ─── Aligned-MTL ───
test("aligned_mtl: alpha = B·1 against power-iteration eigenpairs; the aligned gradients have all singular values √λ_min", () => {
  const rng = new Rng(505);
  const cases = [...CASES, { T: 4, n: 12, dup: true }];
  for (const cs of cases) {
    const active = (cs as { active?: number[] }).active ?? [...Array(cs.T).keys()];
    const rows = randomRows(rng, cs.T, cs.n, active);
    if ((cs as { dup?: boolean }).dup) rows[3] = rows[1].map((x) => Math.fround(2 * x)); // rank T − 1
    const st = run(alignedMtlWeighting(ctxOf(cs.T)), rows, { active });
    const g = sub(rows, active);
    const r = ref.alignedMtl(g);
    assertClose(st.alpha, spread(active, r.alpha, cs.T), { rtol: 2e-4, atol: 1e-6, name: `alpha T=${cs.T}` });
    // Ĝ = B·G (rows: aligned task gradients); Ĝ·Ĝᵀ = λ_min·P (P a projection of rank r): (ĜĜᵀ)² = λ_min·ĜĜᵀ, trace r·λ_min
    const Gh = r.B.map((b) => ref.combine(g, b));
    const H = ref.gram(Gh);
    const H2 = H.map((row) => H.map((_, j) => row.reduce((x, h, k) => x + h * H[k][j], 0)));
    assertClose(H2.flat(), H.flat().map((x) => r.lmin * x), { rtol: 1e-6, atol: 1e-8 * r.lmin * r.lmin, name: "(ĜĜᵀ)²" });
    assertClose([H.reduce((x, row, i) => x + row[i], 0)], [r.rank * r.lmin], { rtol: 1e-8, atol: 0, name: "trace" });
    if ((cs as { dup?: boolean }).dup) assert.is(r.rank, 3);
    near(st.combined(), ref.combine(Gh, Gh.map(() => 1)), 2e-4, "Σ_t ĝ_t");
  }
});

// ─── Nash-MTL ───
test("nash_mtl: alpha solves Kα = 1/α (coordinate-minimisation reference) and α_i(Kα)_i = 1; max_norm 0 leaves it unclipped", () => {
  const rng = new Rng(606);
  for (const cs of CASES) {
    const active = cs.active ?? [...Array(cs.T).keys()];
    const rows = randomRows(rng, cs.T, cs.n, active);
    const st = run(nashMtlWeighting(ctxOf(cs.T, { max_norm: 0, iterations: 100 })), rows, { active });
    const want = ref.nash(sub(rows, active));
    assertClose(st.alpha, spread(active, want, cs.T), { rtol: 1e-7, atol: 1e-9, name: `alpha T=${cs.T}` });
    const A = ref.gram(sub(rows, active)), fro = Math.sqrt(A.flat().reduce((x, y) => x + y * y, 0));
    const al = active.map((t) => st.alpha[t]);
    al.forEach((x, i) => assertClose([x * ref.dot(A[i], al) / fro], [1], { rtol: 1e-8, atol: 0, name: "α_i(Kα)_i" }));
  }
});

test("nash_mtl: max_norm clips the combined gradient's norm to max_norm (torch's clip_coef), and only when larger", () => {
  const rng = new Rng(607);
  for (const mx of [0.05, 1e6]) {
    const rows = randomRows(rng, 3, 20);
    const st = run(nashMtlWeighting(ctxOf(3, { max_norm: mx, iterations: 100 })), rows);
    const free = ref.nash(rows), full = ref.norm(ref.combine(rows, free));
    const want = mx < full ? free.map((x) => (x * mx) / (full + 1e-6)) : free;
    assertClose(st.alpha, want, { rtol: 1e-7, atol: 0 });
    if (mx < full) assertClose([ref.norm(st.combined())], [mx], { rtol: 1e-5, atol: 0 });
  }
});

test("nash_mtl: update_every reuses alpha between updates; state()/restore() mid-run gives the same next steps bit for bit", () => {
  const rng = new Rng(608);
  const steps = Array.from({ length: 7 }, () => randomRows(rng, 3, 9));
  const w = nashMtlWeighting(ctxOf(3, { update_every: 3, max_norm: 0 }));
  const got = steps.map((r) => Array.from(run(w, r).alpha));
  assert.equal(got[1], got[0]);
  assert.equal(got[2], got[0]);
  assert.not.equal(got[3], got[0]);
  assertClose(got[3], ref.nash(steps[3]), { rtol: 1e-7, atol: 0 });
  const a = nashMtlWeighting(ctxOf(3, { update_every: 2 }));
  for (let s = 0; s < 3; s++) run(a, steps[s]);
  const b = nashMtlWeighting(ctxOf(3, { update_every: 2 }));
  b.restore!(JSON.parse(JSON.stringify(a.state!())));
  for (let s = 3; s < 7; s++) assert.equal(Array.from(run(b, steps[s]).alpha), Array.from(run(a, steps[s]).alpha));
});

// ─── UPGrad ───
for (const [normEps, regEps] of [[1e-4, 1e-4], [1e-4, 0.1], [1e9, 1e-4]] as const) {
  test(`upgrad (norm_eps ${normEps}, reg_eps ${regEps}): alpha = Σ_i argmin_{v ≥ e_i/m} vᵀGv against active-set enumeration`, () => {
    const rng = new Rng(707);
    for (const cs of CASES) {
      const active = cs.active ?? [...Array(cs.T).keys()];
      const rows = randomRows(rng, cs.T, cs.n, active);
      const st = run(upgradWeighting(ctxOf(cs.T, { norm_eps: normEps, reg_eps: regEps })), rows, { active });
      const want = spread(active, ref.upgrad(sub(rows, active), normEps, regEps), cs.T);
      assertClose(st.alpha, want, { rtol: 1e-6, atol: 1e-9, name: `alpha T=${cs.T}` });
    }
  });
}

test("upgrad: the combined gradient conflicts with no task (g·g_t ≥ 0), and equals the mean when nothing conflicts", () => {
  const rng = new Rng(708);
  for (let r = 0; r < 10; r++) {
    const rows = randomRows(rng, 4, 8);
    const st = run(upgradWeighting(ctxOf(4, { reg_eps: 0 })), rows);
    const g = st.combined();
    for (const row of rows) assert.ok(ref.dot(g, row) >= -1e-6 * ref.norm(g) * ref.norm(row), "non-conflicting");
  }
  const base = randomRows(rng, 1, 8)[0];
  const rows = [0, 1, 2].map(() => base.map((x) => Math.fround(x * (1 + 0.01 * rng.next()))));
  const st = run(upgradWeighting(ctxOf(3, { reg_eps: 0 })), rows);
  assertClose(st.alpha, [1 / 3, 1 / 3, 1 / 3], { rtol: 1e-9, atol: 1e-12 });
});

// ─── GradVac ───
const zeros = (T: number) => Array.from({ length: T }, () => Array(T).fill(0));

test("gradvac: from ρ̂ = 0 each rewritten row is the paper's update under some order of the other tasks; inactive rows untouched", () => {
  const rng = new Rng(909);
  for (const cs of CASES) {
    const active = cs.active ?? [...Array(cs.T).keys()];
    const rows = randomRows(rng, cs.T, cs.n, active);
    const st = run(gradvacWeighting(ctxOf(cs.T, { beta: 0.5 })), rows, { active });
    const got = st.rows();
    assert.equal(Array.from(st.alpha), rows.map((_, t) => (active.includes(t) ? 1 : 0)));
    for (let t = 0; t < cs.T; t++) {
      if (!active.includes(t)) {
        assert.equal(got[t], rows[t]);
        continue;
      }
      const errs = ref.permutations(active.filter((j) => j !== t)).map((order) => {
        const orders = rows.map(() => [] as number[]);
        orders[t] = order;
        const want = ref.gradvac(rows, orders, zeros(cs.T), 0.5).rows[t];
        return ref.norm(want.map((x, k) => x - got[t][k])) / ref.norm(want);
      });
      assert.ok(Math.min(...errs) < 2e-5, `row ${t}: no order reproduces it (${errs.map((e) => e.toExponential(2))})`);
    }
  }
});

for (const beta of [0.5, 0.1]) {
  test(`gradvac (β ${beta}): T = 2 over several steps follows the reference's EMA targets; a vaccinated pair reaches cosine ρ̂`, () => {
    const rng = new Rng(910);
    const w = gradvacWeighting(ctxOf(2, { beta }));
    let rho = zeros(2), vaccinated = 0;
    for (let s = 0; s < 6; s++) {
      const rows = randomRows(rng, 2, 15);
      // aligned steps raise ρ̂, conflicting ones fall below it
      rows[1] = rows[1].map((x, k) => Math.fround(x + (s % 2 ? 1.5 : -0.5) * rows[0][k]));
      const got = run(w, rows).rows();
      const r = ref.gradvac(rows, [[1], [0]], rho, beta);
      near(got.flat(), r.rows.flat(), 2e-5, `rows at step ${s}`);
      assertClose((w.state!() as { rho: number[] }).rho, r.rho.flat(), { rtol: 1e-5, atol: 1e-6, name: "ρ̂" });
      for (const [i, j] of [[0, 1], [1, 0]]) {
        const before = ref.dot(rows[i], rows[j]) / (ref.norm(rows[i]) * ref.norm(rows[j]));
        if (before < rho[i][j] - 1e-3) {
          vaccinated++;
          const after = ref.dot(got[i], rows[j]) / (ref.norm(got[i]) * ref.norm(rows[j]));
          assertClose([after], [rho[i][j]], { rtol: 1e-4, atol: 1e-5, name: "cosine after the update" });
        }
      }
      rho = r.rho;
    }
    assert.ok(vaccinated > 0, "some step applied the vaccine");
  });
}

test("gradvac: state()/restore() mid-run gives the same next steps bit for bit", () => {
  const rng = new Rng(911);
  const steps = Array.from({ length: 6 }, () => randomRows(rng, 5, 11));
  const a = gradvacWeighting(ctxOf(5, { beta: 0.3 }, 3));
  for (let s = 0; s < 3; s++) run(a, steps[s]);
  const b = gradvacWeighting(ctxOf(5, { beta: 0.3 }, 3));
  b.restore!(JSON.parse(JSON.stringify(a.state!())));
  for (let s = 3; s < 6; s++) assert.equal(run(b, steps[s]).rows(), run(a, steps[s]).rows());
});

// ─── DB-MTL ───
for (const [beta, sigma] of [[0.9, 0], [0.6, 0.5]] as const) {
  test(`db_mtl (β ${beta}, beta_sigma ${sigma}): rows become the EMA buffers of ∇log L, alpha = max‖b‖/‖b_t‖, over steps with changing active tasks`, () => {
    const rng = new Rng(1001);
    for (const T of [3, 5]) {
      const n = 4 * T + 3;
      const w = dbMtlWeighting(ctxOf(T, { beta, beta_sigma: sigma }));
      let bufs = Array.from({ length: T }, () => Array(n).fill(0));
      for (let s = 1; s <= 5; s++) {
        const active = [...Array(T).keys()].filter((t) => s === 1 || (t + s) % 3 !== 0);
        const rows = randomRows(rng, T, n, active);
        const losses = rows.map(() => 0.1 + rng.next());
        const st = run(w, rows, { active, losses });
        const r = ref.dbMtl(sub(rows, active), active.map((t) => losses[t]), sub(bufs, active), s, beta, sigma);
        bufs = bufs.map((b, t) => (active.includes(t) ? r.buffers[active.indexOf(t)] : b));
        const got = st.rows();
        for (const [q, t] of active.entries()) near(got[t], r.buffers[q], 2e-5, `row ${t} step ${s}`);
        for (let t = 0; t < T; t++) if (!active.includes(t)) assert.equal(got[t], rows[t], "inactive row untouched");
        assertClose(st.alpha, spread(active, r.alpha, T), { rtol: 2e-5, atol: 0, name: `alpha step ${s}` });
      }
    }
  });
}

test("db_mtl: state()/restore() round-trips bit for bit, also when restored before its first step", () => {
  const rng = new Rng(1002);
  const steps = Array.from({ length: 5 }, () => randomRows(rng, 3, 10));
  const losses = [0.5, 1.5, 0.25];
  const a = dbMtlWeighting(ctxOf(3));
  for (let s = 0; s < 2; s++) run(a, steps[s], { losses });
  const saved = JSON.parse(JSON.stringify(a.state!()));
  const b = dbMtlWeighting(ctxOf(3));
  b.restore!(saved);
  const c = dbMtlWeighting(ctxOf(3));
  run(c, steps[0], { losses });
  c.restore!(saved);
  for (let s = 2; s < 5; s++) {
    const ra = run(a, steps[s], { losses }), rb = run(b, steps[s], { losses }), rc = run(c, steps[s], { losses });
    assert.equal(rb.rows(), ra.rows());
    assert.equal(rc.rows(), ra.rows());
    assert.equal(Array.from(rb.alpha), Array.from(ra.alpha));
  }
});

// ─── GradDrop ───
function repStage(rng: Rng, T: number, B: number, d: number, active: number[], weights: number[]) {
  const z = Array.from({ length: T }, () => Array.from({ length: B }, () => Array.from(rng.f32(d, () => (rng.next() < 0.15 ? 0 : rng.normal())))));
  const dz = Array.from({ length: T }, (_, t) => Array.from({ length: B }, () => (active.includes(t) ? Array.from(rng.f32(d, () => rng.normal())) : Array(d).fill(0))));
  const st = fakeStage(Array.from({ length: T }, () => Array(d).fill(0)), { active, weights, mode: "rep", batch: B, rep: { z: z.map((m) => Float32Array.from(m.flat())), dz: dz.map((m) => Float32Array.from(m.flat())) } });
  return { z, dz, st };
}

function uniforms(seed: number, offset: number, d: number): number[] {
  const p = env.arena.alloc(d);
  (env.k.rng_uniform_f32 as (...a: number[]) => void)(d, p, (seed ^ GRADDROP_KEY[0]) | 0, GRADDROP_KEY[1] | 0, offset, 0, 1);
  return Array.from(new Float32Array(env.k.memory.buffer, p, d));
}

for (const leak of [0, 0.25]) {
  test(`graddrop (leak ${leak}): the mask equals the reference's from the same uniforms; kept components share a sign per feature`, () => {
    const rng = new Rng(1101);
    for (const [T, B, d, active] of [[2, 5, 9, [0, 1]], [3, 7, 33, [0, 1, 2]], [5, 4, 18, [0, 2, 3]]] as [number, number, number, number[]][]) {
      const weights = Array.from({ length: T }, (_, t) => [1, 2, 0.5, 1, 3][t]);
      const w = graddropWeighting(ctxOf(T, { leak }, 21, weights));
      for (let s = 0; s < 3; s++) {
        const { z, dz, st } = repStage(rng, T, B, d, active, weights);
        w.gradient!(st);
        assert.ok(st.featureScale !== 0, "featureScale set");
        const fs = new Float32Array(env.k.memory.buffer, st.featureScale, T * st.ld);
        const U = uniforms(21, s * d, d);
        const r = ref.graddrop(active.map((t) => z[t]), active.map((t) => dz[t]), active.map((t) => weights[t]), U, leak);
        for (const [q, t] of active.entries())
          for (let k = 0; k < d; k++) {
            if (Math.abs(r.P[k] - U[k]) < 1e-5) continue;
            assert.is(fs[t * st.ld + k], Math.fround(r.mask[q][k]), `mask[${t}][${k}] step ${s}`);
          }
        for (let t = 0; t < T; t++) if (!active.includes(t)) for (let k = 0; k < d; k++) assert.is(fs[t * st.ld + k], 1);
        // sign purity: per feature, every fully kept component has one sign, and it is every component of that sign
        for (let k = 0; k < d; k++) {
          const kept = active.filter((t) => fs[t * st.ld + k] === 1).map((t) => Math.sign(r.G[active.indexOf(t)][k]));
          assert.ok(kept.every((x) => x === kept[0]) && !kept.includes(0), `feature ${k}: mixed signs kept`);
          if (kept.length) assert.is(kept.length, r.G.filter((g) => Math.sign(g[k]) === kept[0]).length);
        }
        assert.equal(Array.from(st.alpha), Array.from({ length: T }, (_, t) => (active.includes(t) ? 1 : 0)));
      }
    }
  });
}

test("graddrop: each step draws new uniforms; state()/restore() gives the same next masks bit for bit", () => {
  const rng = new Rng(1102);
  const stages = Array.from({ length: 5 }, () => repStage(rng, 3, 6, 12, [0, 1, 2], [1, 1, 1]).st);
  const mask = (w: Weighting, st: Fake) => (w.gradient!(st), Array.from(new Float32Array(env.k.memory.buffer, st.featureScale, 3 * st.ld)));
  const a = graddropWeighting(ctxOf(3, { leak: 0 }, 5));
  const first = mask(a, stages[0]);
  assert.not.equal(mask(a, stages[0]), first, "the same gradients get new uniforms next step");
  const b = graddropWeighting(ctxOf(3, { leak: 0 }, 5));
  b.restore!(JSON.parse(JSON.stringify(a.state!())));
  for (let s = 1; s < 5; s++) assert.equal(mask(b, stages[s]), mask(a, stages[s]));
});

// ─── all T×T methods: inactive tasks ───
test("inactive tasks get alpha 0 and do not change the others' alpha (same as a stage of the active tasks alone)", () => {
  const rng = new Rng(808);
  const active = [0, 2, 3];
  const rows = randomRows(rng, 5, 18, active);
  const makers: [string, (T: number) => Weighting][] = [
    ["mgda", (T) => mgdaWeighting(ctxOf(T, { normalization: "l2" }))],
    ["cagrad", (T) => cagradWeighting(ctxOf(T))],
    ["imtl", (T) => imtlWeighting(ctxOf(T))],
    ["aligned_mtl", (T) => alignedMtlWeighting(ctxOf(T))],
    ["nash_mtl", (T) => nashMtlWeighting(ctxOf(T))],
    ["upgrad", (T) => upgradWeighting(ctxOf(T))],
  ];
  for (const [name, make] of makers) {
    const st = run(make(5), rows, { active });
    const alone = run(make(3), sub(rows, active));
    assert.equal(active.map((t) => st.alpha[t]), Array.from(alone.alpha), name);
    assert.equal([st.alpha[1], st.alpha[4]], [0, 0], name);
  }
});

test.run();
