// Task-balancing linear algebra (assembly/kernels/linalg.ts): the SIMD reductions against float64 references at
// tail-exercising sizes with padded rows (ld_g > n) and guard blocks; the solvers by their defining conditions
// (KKT, A·V = V·Λ, residuals) and against independent solutions (closed forms, exhaustive grids, active-set
// enumeration, Gauss–Jordan, bisection).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup, Rng, assertClose } from "../helpers.ts";
import {
  gramRef, wsumRef, matvec, quad, gaussJordan, nnqpBrute, minnormBrute, simplexGrid, cagradObj, signedColsumRef, graddropRef,
} from "../ref/linalg.ts";

const { k, arena, call } = await setup();
const SIZES = [0, 1, 3, 5, 17, 130, 1031];
const GUARD = -123.25;

const f64view = (p: number, n: number) => new Float64Array(k.memory.buffer, p, n);
function putF64(data: ArrayLike<number>): number {
  const p = arena.allocBytes(Math.max(8, data.length * 8));
  f64view(p, data.length).set(data);
  return p;
}
const readF64 = (p: number, n: number) => f64view(p, n).slice();

/** An f64 output of n elements between guard blocks, pre-filled with `fill`; returns ptr and a checker. */
function guardedF64(n: number, fill = NaN): { p: number; check: (what: string) => Float64Array } {
  const g0 = putF64(new Float64Array(4).fill(GUARD));
  const p = putF64(new Float64Array(n).fill(fill));
  const g1 = putF64(new Float64Array(4).fill(GUARD));
  return {
    p,
    check: (what) => {
      assert.equal(Array.from(readF64(g0, 4)), [GUARD, GUARD, GUARD, GUARD], `${what}: guard before`);
      assert.equal(Array.from(readF64(g1, 4)), [GUARD, GUARD, GUARD, GUARD], `${what}: guard after`);
      return readF64(p, n);
    },
  };
}

function guardedF32(data: Float32Array): { p: number; check: (what: string) => Float32Array } {
  const g0 = arena.putF32(new Float32Array(8).fill(GUARD));
  const p = arena.putF32(data);
  const g1 = arena.putF32(new Float32Array(8).fill(GUARD));
  return {
    p,
    check: (what) => {
      assert.equal(Array.from(arena.readF32(g0, 8)), new Array(8).fill(GUARD), `${what}: guard before`);
      assert.equal(Array.from(arena.readF32(g1, 8)), new Array(8).fill(GUARD), `${what}: guard after`);
      return arena.readF32(p, data.length);
    },
  };
}

/** T rows of n values with row stride ld; the padding holds NaN, so reading it poisons the result. */
function rows(rng: Rng, T: number, n: number, ld: number): Float32Array {
  const g = new Float32Array(T * ld).fill(NaN);
  for (let t = 0; t < T; t++) for (let i = 0; i < n; i++) g[t * ld + i] = rng.normal();
  return g;
}

/** A random PSD Gram matrix G = B·Bᵀ of T vectors in r dimensions (rank ≤ r). */
function randGram(rng: Rng, T: number, r: number): Float64Array {
  const B = Float64Array.from({ length: T * r }, () => rng.normal());
  return gramRef(T, r, B, r);
}

const sameF64 = (a: ArrayLike<number>, b: ArrayLike<number>, what: string) => assert.equal(Array.from(a), Array.from(b), what);

// ───────────────────────── gram / wsum ─────────────────────────

test("gram: G = g·gᵀ in f64, symmetric bit for bit, equal to dot_f32x4 of the rows; padding never read", () => {
  const rng = new Rng(1201);
  for (const T of [1, 2, 3, 5]) {
    for (const n of SIZES) {
      const mk = arena.mark();
      const ld = n + 3;
      const g = rows(rng, T, n, ld);
      const gp = arena.putF32(g);
      const out = guardedF64(T * T);
      call("gram_f32x4", T, n, gp, ld, out.p);
      const G = out.check(`gram T=${T} n=${n}`);
      assertClose(G, gramRef(T, n, g, ld), { rtol: 1e-12, atol: 1e-12, name: `gram T=${T} n=${n}` });
      for (let i = 0; i < T; i++) {
        for (let j = 0; j < T; j++) {
          assert.ok(Object.is(G[i * T + j], G[j * T + i]), `gram symmetric T=${T} n=${n} (${i},${j})`);
          assert.ok(Object.is(G[i * T + j], call("dot_f32x4", n, gp + 4 * i * ld, gp + 4 * j * ld)), "gram = dot_f32x4");
        }
      }
      assert.equal(Array.from(arena.readF32(gp, T * ld)), Array.from(g), "g untouched");
      arena.release(mk);
    }
  }
  // f64 accumulation: 1e8, 1 … 1, −1e8 against itself shifted; an f32 sum loses the ones.
  const n = 1003;
  const g = new Float32Array(2 * n).fill(1);
  g[0] = 1e8;
  g[n - 1] = -1e8;
  g[n] = 1; // row 1 all ones
  const gp = arena.putF32(g);
  const out = guardedF64(4);
  call("gram_f32x4", 2, n, gp, n, out.p);
  assert.is(out.check("gram cancellation")[1], 1001);
});

test("wsum: out = beta·out + Σ_t w_t·g_t in f64, rounded once; beta = 0 never reads out", () => {
  const rng = new Rng(1202);
  for (const T of [0, 1, 2, 3, 6]) {
    for (const n of SIZES) {
      for (const beta of [0, 1, -0.5]) {
        const mk = arena.mark();
        const ld = n + 5;
        const g = rows(rng, T, n, ld);
        const w = Float64Array.from({ length: T }, () => rng.normal());
        const gp = arena.putF32(g), wp = putF64(w);
        const out0 = beta === 0 ? new Float32Array(n + 3).fill(NaN) : rng.f32(n + 3, () => rng.normal());
        const out = guardedF32(out0);
        call("wsum_f32x4", T, n, gp, ld, wp, out.p, beta);
        const got = out.check(`wsum T=${T} n=${n} beta=${beta}`);
        const ref = wsumRef(T, n, g, ld, w, out0, beta);
        // The exact rounding of the f64 value (same order: Σ over t, then beta·out added).
        for (let i = 0; i < n; i++) {
          if (!Object.is(got[i], Math.fround(ref[i]))) assert.unreachable(`wsum T=${T} n=${n} beta=${beta} [${i}] = ${got[i]}, expected ${Math.fround(ref[i])}`);
        }
        for (let i = n; i < n + 3; i++) assert.ok(Object.is(got[i], out0[i]), "past n untouched");
        assert.equal(Array.from(arena.readF32(gp, T * ld)), Array.from(g), "g untouched");
        assert.equal(Array.from(readF64(wp, T)), Array.from(w), "w untouched");
        arena.release(mk);
      }
    }
  }
  // Cancellation an f32 accumulator would lose, in every lane and the tail.
  const n = 7, T = 5;
  const g = new Float32Array(T * n);
  for (let i = 0; i < n; i++) {
    g[i] = 1e8;
    g[n + i] = 1;
    g[2 * n + i] = 1;
    g[3 * n + i] = 1;
    g[4 * n + i] = -1e8;
  }
  const out = guardedF32(new Float32Array(n));
  call("wsum_f32x4", T, n, arena.putF32(g), n, putF64([1, 1, 1, 1, 1]), out.p, 0);
  assert.equal(Array.from(out.check("wsum cancellation")), new Array(n).fill(3));
});

// ───────────────────────── minnorm ─────────────────────────

function runMinnorm(T: number, G: ArrayLike<number>, maxIter = 5000, tol = 1e-14): { w: Float64Array; it: number } {
  const mk = arena.mark();
  const gp = putF64(G);
  const work = putF64(new Float64Array(T).fill(NaN));
  const out = guardedF64(T);
  const it = call("minnorm_f64", T, gp, work, out.p, maxIter, tol);
  const w = out.check(`minnorm T=${T}`);
  sameF64(readF64(gp, T * T), G, "gram untouched");
  arena.release(mk);
  return { w, it };
}

test("minnorm: T = 1 and the T = 2 closed form", () => {
  assert.equal(Array.from(runMinnorm(1, [4]).w), [1]);
  const rng = new Rng(1203);
  const cases: number[][] = [[1, 0.5, 0.5, 2], [1, 1, 1, 1], [1, -1, -1, 1], [1, 2, 2, 5], [5, 2, 2, 1], [0, 0, 0, 0]];
  for (let r = 0; r < 20; r++) cases.push(Array.from(randGram(rng, 2, 1 + (r % 3))));
  for (const G of cases) {
    const { w, it } = runMinnorm(2, G);
    assert.is(it, 0);
    // Independent: ‖γ·g1 + (1 − γ)·g2‖² is minimised at γ = clamp(⟨g2, g2 − g1⟩ / ‖g1 − g2‖², 0, 1).
    const den = G[0] + G[3] - 2 * G[1];
    const gam = den > 0 ? Math.min(1, Math.max(0, (G[3] - G[1]) / den)) : 1;
    const f = (x: number) => x * x * G[0] + 2 * x * (1 - x) * G[1] + (1 - x) * (1 - x) * G[3];
    assert.ok(Math.abs(w[0] + w[1] - 1) <= 1e-15 && w[0] >= 0 && w[1] >= 0, `on the simplex ${w}`);
    assert.ok(f(w[0]) <= f(gam) + 1e-14 * (1 + Math.abs(G[0]) + Math.abs(G[3])), `T=2 ${G}: objective ${f(w[0])} > ${f(gam)}`);
    if (den > 1e-9) assertClose([w[0]], [gam], { rtol: 0, atol: 1e-12, name: `T=2 γ for ${G}` });
  }
});

test("minnorm: T = 3-5 against an exhaustive simplex grid, active-set enumeration and the KKT conditions", () => {
  const rng = new Rng(1204);
  const steps: Record<number, number> = { 3: 60, 4: 24, 5: 14 };
  for (const T of [3, 4, 5]) {
    for (let r = 0; r < 8; r++) {
      // full rank, rank-deficient, and a point inside the hull (optimum 0)
      const rank = r % 4 === 0 ? 1 : r % 4 === 1 ? T - 1 : T + 2;
      const G = randGram(rng, T, rank);
      const { w, it } = runMinnorm(T, G);
      assert.ok(it >= 0 && it < 5000, `iterations ${it}`);
      const sum = w.reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - 1) <= 1e-12 && w.every((v) => v >= 0), `T=${T}: w ${w} not on the simplex`);
      const obj = quad(T, G, w);
      const scale = Math.max(...Array.from({ length: T }, (_, i) => G[i * T + i]));
      let grid = Infinity;
      simplexGrid(T, steps[T], (v) => (grid = Math.min(grid, quad(T, G, v))));
      assert.ok(obj <= grid + 1e-12 * scale, `T=${T} r=${r}: objective ${obj} above the grid's ${grid}`);
      const exact = minnormBrute(T, G);
      assert.ok(Math.abs(obj - exact) <= 1e-11 * scale, `T=${T} r=${r}: objective ${obj}, exact ${exact}`);
      // KKT: (Gw)_i ≥ wᵀGw for all i, equality on the support.
      const Gw = matvec(T, T, G, w);
      for (let i = 0; i < T; i++) {
        assert.ok(Gw[i] >= obj - 1e-9 * scale, `T=${T} r=${r}: (Gw)_${i} = ${Gw[i]} < wᵀGw = ${obj}`);
        if (w[i] > 1e-3) assert.ok(Gw[i] <= obj + 1e-9 * scale, `T=${T} r=${r}: support ${i}: (Gw)_i = ${Gw[i]} > ${obj}`);
      }
    }
  }
  // A known answer: three unit vectors at 120° contain the origin; the equal weights reach it.
  const c = Math.cos((2 * Math.PI) / 3);
  const { w } = runMinnorm(3, [1, c, c, c, 1, c, c, c, 1]);
  assertClose(w, [1 / 3, 1 / 3, 1 / 3], { rtol: 0, atol: 1e-6, name: "120° star" });
  // max_iter bounds the work, and the best pair is the start: one Frank–Wolfe step at most.
  const G = randGram(rng, 5, 7);
  assert.ok(runMinnorm(5, G, 1).it <= 1);
  assert.is(runMinnorm(5, G, 0).it, 0);
});

// ───────────────────────── symeig ─────────────────────────

function runSymeig(T: number, A: ArrayLike<number>, maxSweeps = 50) {
  const mk = arena.mark();
  const ap = putF64(A);
  const work = putF64(new Float64Array(T * T).fill(NaN));
  const vals = guardedF64(T), vecs = guardedF64(T * T);
  const sweeps = call("symeig_f64", T, ap, work, vals.p, vecs.p, maxSweeps);
  const L = vals.check("vals"), V = vecs.check("vecs");
  sameF64(readF64(ap, T * T), A, "a untouched");
  arena.release(mk);
  return { L, V, sweeps };
}

function checkEig(T: number, A: ArrayLike<number>, L: Float64Array, V: Float64Array, what: string) {
  let norm = 0;
  for (let i = 0; i < T * T; i++) norm += A[i] * A[i];
  norm = Math.sqrt(norm);
  for (let j = 0; j < T; j++) {
    for (let i = 0; i < T; i++) {
      let av = 0;
      for (let m = 0; m < T; m++) av += A[i * T + m] * V[m * T + j];
      assert.ok(Math.abs(av - L[j] * V[i * T + j]) <= 1e-12 * Math.max(norm, 1e-300), `${what}: (AV − VΛ)[${i},${j}] = ${av - L[j] * V[i * T + j]}`);
    }
    for (let j2 = 0; j2 < T; j2++) {
      let d = 0;
      for (let m = 0; m < T; m++) d += V[m * T + j] * V[m * T + j2];
      assert.ok(Math.abs(d - (j === j2 ? 1 : 0)) <= 1e-13, `${what}: (VᵀV)[${j},${j2}] = ${d}`);
    }
    if (j > 0) assert.ok(L[j - 1] <= L[j], `${what}: not ascending at ${j}: ${L[j - 1]} > ${L[j]}`);
    // Sign convention: the largest-magnitude component (first on ties) is positive.
    let bi = 0;
    for (let i = 1; i < T; i++) if (Math.abs(V[i * T + j]) > Math.abs(V[bi * T + j])) bi = i;
    assert.ok(V[bi * T + j] > 0, `${what}: eigenvector ${j}'s largest component ${V[bi * T + j]} is not positive`);
  }
  // Independent invariants: Σλ = trace, Σλ² = ‖A‖_F².
  let tr = 0;
  for (let i = 0; i < T; i++) tr += A[i * T + i];
  assertClose([L.reduce((a, b) => a + b, 0), L.reduce((a, b) => a + b * b, 0)], [tr, norm * norm], { rtol: 1e-12, atol: 1e-12 * norm, name: `${what}: trace, ‖A‖²` });
}

test("symeig: A·V = V·Λ, VᵀV = I, ascending, sign convention; random SPD, rank-deficient, indefinite, diagonal", () => {
  const rng = new Rng(1205);
  for (const T of [1, 2, 3, 5, 8, 12]) {
    for (const kind of ["spd", "rank2", "indef"]) {
      let A: Float64Array;
      if (kind === "spd") A = randGram(rng, T, T + 3);
      else if (kind === "rank2") A = randGram(rng, T, Math.min(2, T));
      else {
        A = new Float64Array(T * T);
        for (let i = 0; i < T; i++) for (let j = i; j < T; j++) A[i * T + j] = A[j * T + i] = rng.normal();
      }
      const { L, V, sweeps } = runSymeig(T, A);
      assert.ok(sweeps >= 0 && sweeps < 50, `${kind} T=${T}: ${sweeps} sweeps`);
      checkEig(T, A, L, V, `${kind} T=${T}`);
      if (kind === "rank2" && T > 2) for (let j = 0; j < T - 2; j++) assert.ok(Math.abs(L[j]) <= 1e-12 * Math.abs(L[T - 1]), `rank 2: λ${j} = ${L[j]}`);
    }
  }
  // 2×2 closed form: λ = (a + d)/2 ∓ sqrt(((a − d)/2)² + b²).
  for (const [a, b, d] of [[2, 1, 2], [1, 3, -2], [0, 1e-200, 0], [5, -0.25, 1]]) {
    const { L, V } = runSymeig(2, [a, b, b, d]);
    const m = (a + d) / 2, r = Math.hypot((a - d) / 2, b);
    assertClose(L, [m - r, m + r], { rtol: 1e-14, atol: 1e-300, name: `2×2 [${a} ${b}; ${b} ${d}]` });
    checkEig(2, [a, b, b, d], L, V, `2×2 [${a} ${b}; ${b} ${d}]`);
  }
  // Diagonal: no sweep, values sorted (stably), vectors a permutation of the identity.
  const { L, V, sweeps } = runSymeig(4, [3, 0, 0, 0, 0, -1, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0.5]);
  assert.is(sweeps, 0);
  assert.equal(Array.from(L), [-1, 0.5, 3, 3]);
  assert.equal(Array.from(V), [0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0]);
  // Zero matrix and T = 0.
  const z = runSymeig(3, new Float64Array(9));
  assert.is(z.sweeps, 0);
  assert.equal(Array.from(z.L), [0, 0, 0]);
  assert.is(call("symeig_f64", 0, 0, 0, 0, 0, 10), 0);
  // max_sweeps = 1 stops early: the off-diagonal is not yet negligible for a dense random 8×8.
  const A = randGram(rng, 8, 8);
  assert.is(runSymeig(8, A, 1).sweeps, 1);
});

// ───────────────────────── solve ─────────────────────────

function runSolve(n: number, A: ArrayLike<number>, b: ArrayLike<number>): { ok: number; x: Float64Array } {
  const mk = arena.mark();
  const ap = putF64(A), bp = putF64(b);
  const work = putF64(new Float64Array(n * n + n).fill(NaN));
  const out = guardedF64(n);
  const ok = call("solve_f64", n, ap, bp, work, out.p);
  const x = out.check(`solve n=${n}`);
  sameF64(readF64(ap, n * n), A, "a untouched");
  sameF64(readF64(bp, n), b, "b untouched");
  arena.release(mk);
  return { ok, x };
}

test("solve: residual, agreement with Gauss–Jordan, pivoting, x aliasing b, singular → 0", () => {
  const rng = new Rng(1206);
  for (const n of [1, 2, 3, 5, 8, 16]) {
    for (let r = 0; r < 4; r++) {
      const A = Float64Array.from({ length: n * n }, () => rng.normal());
      const b = Float64Array.from({ length: n }, () => rng.normal());
      const { ok, x } = runSolve(n, A, b);
      assert.is(ok, 1);
      const res = matvec(n, n, A, x).map((v, i) => v - b[i]);
      const xn = Math.max(...x.map(Math.abs)), an = Math.max(...A.map(Math.abs));
      assert.ok(Math.max(...res.map(Math.abs)) <= 1e-12 * n * an * xn, `n=${n}: residual ${Math.max(...res.map(Math.abs))}`);
      const ref = gaussJordan(n, A, b)!;
      assertClose(x, ref, { rtol: 1e-9, atol: 1e-9 * xn, name: `solve n=${n} vs Gauss–Jordan` });
    }
  }
  // A zero leading pivot needs a row swap.
  assert.equal(Array.from(runSolve(2, [0, 1, 1, 0], [2, 3]).x), [3, 2]);
  assert.equal(Array.from(runSolve(3, [0, 0, 2, 0, 4, 0, 1, 0, 0], [2, 8, 5]).x), [5, 2, 1]);
  // x may alias b (b is copied first).
  const mk = arena.mark();
  const ap = putF64([2, 1, 1, 3]), bp = putF64([3, 5]);
  assert.is(call("solve_f64", 2, ap, bp, putF64(new Float64Array(6)), bp), 1);
  assertClose(readF64(bp, 2), [0.8, 1.4], { rtol: 1e-15, atol: 1e-15, name: "x aliasing b" });
  arena.release(mk);
  // Singular: zero matrix, two equal rows, rank-deficient Gram; n = 0 is trivially solved.
  assert.is(runSolve(2, [0, 0, 0, 0], [1, 1]).ok, 0);
  assert.is(runSolve(3, [1, 2, 3, 1, 2, 3, 0, 1, 1], [1, 1, 1]).ok, 0);
  assert.is(runSolve(4, randGram(rng, 4, 2), [1, 2, 3, 4]).ok, 0);
  assert.is(runSolve(2, [1e-300, 0, 0, 1e-300], [1, 1]).ok, 1, "tiny but well-conditioned is not singular");
  assert.is(call("solve_f64", 0, 0, 0, 0, 0), 1);
});

// ───────────────────────── nnqp ─────────────────────────

function runNnqp(T: number, Q: ArrayLike<number>, c: ArrayLike<number>, x0: ArrayLike<number>, maxIter = 10000, tol = 1e-13) {
  const mk = arena.mark();
  const qp = putF64(Q), cp = putF64(c);
  const work = putF64(new Float64Array(T).fill(NaN));
  const out = guardedF64(T);
  f64view(out.p, T).set(x0);
  const it = call("nnqp_f64", T, qp, cp, work, out.p, maxIter, tol);
  const x = out.check(`nnqp T=${T}`);
  sameF64(readF64(qp, T * T), Q, "Q untouched");
  sameF64(readF64(cp, T), c, "c untouched");
  arena.release(mk);
  return { x, it };
}

test("nnqp: KKT on random PSD problems, brute force over active sets for T = 2-3, the upgrad shape", () => {
  const rng = new Rng(1207);
  for (const T of [1, 2, 3, 4, 6, 10]) {
    for (let r = 0; r < 6; r++) {
      const Q = randGram(rng, T, r % 2 ? T + 2 : Math.max(1, T - 1));
      // Cyclic CD converges linearly at a rate set by the conditioning: a ridge of 5% of the mean diagonal keeps
      // it to a few hundred sweeps (the ill-conditioned case is below).
      let tr = 0;
      for (let i = 0; i < T; i++) tr += Q[i * T + i];
      for (let i = 0; i < T; i++) Q[i * T + i] += (0.05 * tr) / T;
      const c = Float64Array.from({ length: T }, () => rng.normal());
      const x0 = Float64Array.from({ length: T }, () => rng.normal()); // negatives are clamped
      const { x, it } = runNnqp(T, Q, c, x0);
      assert.ok(it >= 1 && it < 10000, `T=${T}: ${it} sweeps`);
      const g = matvec(T, T, Q, x).map((v, i) => v + c[i]);
      const sc = 1 + Math.max(...x);
      for (let i = 0; i < T; i++) {
        assert.ok(x[i] >= 0, `T=${T}: x_${i} = ${x[i]} < 0`);
        assert.ok(g[i] >= -1e-8 * sc, `T=${T}: ∇_${i} = ${g[i]} < 0`);
        assert.ok(Math.abs(x[i] * g[i]) <= 1e-8 * sc, `T=${T}: x_${i}·∇_${i} = ${x[i] * g[i]}`);
      }
      if (T <= 3) assertClose(x, nnqpBrute(T, Q, c)!, { rtol: 1e-7, atol: 1e-8, name: `nnqp T=${T} vs active sets` });
    }
  }
  // Ill-conditioned (rank one + 1e-6): still bounded by max_iter, and KKT holds to a looser tolerance.
  {
    const Q = randGram(rng, 4, 1);
    for (let i = 0; i < 4; i++) Q[i * 4 + i] += 1e-6;
    const c = [-1, 0.5, -0.2, 0.3];
    const { x, it } = runNnqp(4, Q, c, [0, 0, 0, 0], 20000, 1e-10);
    assert.ok(it <= 20000);
    const g = matvec(4, 4, Q, x).map((v, i) => v + c[i]);
    for (let i = 0; i < 4; i++) assert.ok(x[i] >= 0 && g[i] >= -1e-6 && Math.abs(x[i] * g[i]) <= 1e-6 * (1 + x[i]), `ill-conditioned ${i}: x ${x[i]} ∇ ${g[i]}`);
  }
  // UPGrad's projection of e_i onto the dual cone: u = v − e_i ≥ 0, min (u + e_i)ᵀG(u + e_i) ⇒ Q = 2G, c = 2G·e_i.
  const G = randGram(rng, 3, 5);
  for (let i = 0; i < 3; i++) {
    const c = Float64Array.from({ length: 3 }, (_, j) => 2 * G[j * 3 + i]);
    const Q = G.map((v) => 2 * v);
    const { x } = runNnqp(3, Q, c, [0, 0, 0]);
    assertClose(x, nnqpBrute(3, Q, c)!, { rtol: 1e-7, atol: 1e-8, name: `upgrad projection ${i}` });
  }
  // Q_kk ≤ 0: that coordinate is set to 0; NaN start is clamped to 0; max_iter = 0 only clamps.
  assert.equal(Array.from(runNnqp(2, [0, 0, 0, 2], [-1, -4], [5, 0]).x), [0, 2]);
  assert.equal(Array.from(runNnqp(2, [1, 0, 0, 1], [-1, -1], [NaN, -3], 0).x), [0, 0]);
  assert.is(runNnqp(2, [1, 0, 0, 1], [-1, -1], [NaN, -3], 0).it, 0);
  // The unconstrained minimiser when it is positive.
  assertClose(runNnqp(2, [2, 1, 1, 2], [-3, -3], [0, 0]).x, [1, 1], { rtol: 0, atol: 1e-12, name: "interior" });
});

// ───────────────────────── nash ─────────────────────────

function runNash(T: number, K: ArrayLike<number>, a0: ArrayLike<number>, maxIter = 100, tol = 1e-12) {
  const mk = arena.mark();
  const kp = putF64(K);
  const work = putF64(new Float64Array(T * T + 3 * T).fill(NaN));
  const out = guardedF64(T);
  f64view(out.p, T).set(a0);
  const it = call("nash_f64", T, kp, work, out.p, maxIter, tol);
  const a = out.check(`nash T=${T}`);
  sameF64(readF64(kp, T * T), K, "K untouched");
  arena.release(mk);
  return { a, it };
}

/** T = 2 reference by bisection: α₂(α₁) solves K22·α₂² + K12·α₁·α₂ = 1; find α₁ with α₁·(Kα)₁ = 1. */
function nash2(K: ArrayLike<number>): [number, number] {
  const a2 = (a1: number) => (-K[1] * a1 + Math.sqrt(K[1] * K[1] * a1 * a1 + 4 * K[3])) / (2 * K[3]);
  const h = (a1: number) => a1 * (K[0] * a1 + K[1] * a2(a1)) - 1;
  let lo = 1e-12, hi = 1;
  while (h(hi) < 0) hi *= 2;
  for (let i = 0; i < 200; i++) {
    const mid = 0.5 * (lo + hi);
    if (h(mid) < 0) lo = mid;
    else hi = mid;
  }
  return [lo, a2(lo)];
}

test("nash: α > 0 with α_i·(Kα)_i = 1; T = 2 against bisection; bad starts; no solution → −1", () => {
  const rng = new Rng(1208);
  for (const T of [1, 2, 3, 5, 8]) {
    for (let r = 0; r < 5; r++) {
      const K = randGram(rng, T, r % 2 ? T + 4 : T); // full rank (almost surely)
      const diag = Array.from({ length: T }, (_, i) => 1 / Math.sqrt(K[i * T + i]));
      const starts = [diag, new Array(T).fill(1), new Array(T).fill(1e-3), Array.from({ length: T }, () => 10 * rng.next() + 0.01)];
      for (const a0 of starts) {
        const { a, it } = runNash(T, K, a0);
        assert.ok(it >= 0 && it <= 100, `T=${T}: returned ${it}`);
        const Ka = matvec(T, T, K, a);
        for (let i = 0; i < T; i++) {
          assert.ok(a[i] > 0, `T=${T}: α_${i} = ${a[i]}`);
          assert.ok(Math.abs(a[i] * Ka[i] - 1) <= 1e-12, `T=${T}: α_${i}(Kα)_${i} − 1 = ${a[i] * Ka[i] - 1}`);
        }
        if (T === 1) assertClose(a, [1 / Math.sqrt(K[0])], { rtol: 1e-13, atol: 0, name: "T=1" });
        if (T === 2) assertClose(a, nash2(K), { rtol: 1e-9, atol: 0, name: `T=2 vs bisection` });
      }
    }
  }
  // Rank one (identical gradients): α_i = 1/(‖g‖·√T).
  const K = new Float64Array(9).fill(4);
  assertClose(runNash(3, K, [1, 2, 3]).a, new Array(3).fill(1 / (2 * Math.sqrt(3))), { rtol: 1e-10, atol: 0, name: "rank one" });
  // Non-positive or NaN starts are replaced by 1/√K_ii.
  const K2 = randGram(rng, 3, 5);
  const bad = runNash(3, K2, [0, -1, NaN]);
  assert.ok(bad.it >= 0 && bad.a.every((v) => v > 0), "bad start recovered");
  // Already converged: 0 steps; max_iter too small: −1 with a positive iterate.
  assert.is(runNash(3, K2, bad.a).it, 0);
  const few = runNash(3, K2, [1e-4, 1e-4, 1e-4], 1);
  assert.is(few.it, -1);
  assert.ok(few.a.every((v) => v > 0));
  // A zero gradient: no solution exists (α → ∞); the kernel must say so.
  assert.is(runNash(2, [1, 0, 0, 0], [1, 1]).it, -1);
});

// ───────────────────────── cagrad ─────────────────────────

function runCagrad(T: number, A: ArrayLike<number>, c: number, maxIter = 5000, tol = 1e-13) {
  const mk = arena.mark();
  const ap = putF64(A);
  const work = putF64(new Float64Array(8 * T).fill(NaN));
  const out = guardedF64(T, NaN); // ignored on entry
  const it = call("cagrad_f64", T, ap, work, out.p, c, maxIter, tol);
  const w = out.check(`cagrad T=${T}`);
  sameF64(readF64(ap, T * T), A, "A untouched");
  arena.release(mk);
  return { w, it };
}

/** The minimum of F over the simplex by a grid, then repeated finer grids around the best point. */
function cagradGridMin(T: number, A: ArrayLike<number>, c: number): number {
  const steps = T === 2 ? 2000 : 150;
  let best = Infinity, bw: Float64Array = new Float64Array(T);
  simplexGrid(T, steps, (w) => {
    const f = cagradObj(T, A, w, c);
    if (f < best) [best, bw] = [f, w];
  });
  let h = 2 / steps;
  for (let round = 0; round < 40; round++) {
    const center = bw;
    // local lattice: center + h·(i, j, …) / 8, projected back by clipping and renormalising
    const m = 8;
    const rec = (t: number, p: Float64Array) => {
      if (t === T - 1) {
        let s = 0;
        for (let i = 0; i < T - 1; i++) s += p[i];
        p[T - 1] = 1 - s;
        if (p.some((v) => v < 0)) return;
        const f = cagradObj(T, A, p, c);
        if (f < best) [best, bw] = [f, p.slice()];
        return;
      }
      for (let i = -m; i <= m; i++) {
        p[t] = center[t] + (h * i) / m;
        rec(t + 1, p);
      }
    };
    rec(0, new Float64Array(T));
    h /= 2;
  }
  return best;
}

test("cagrad: against an exhaustive simplex grid (+ refinement) for T = 2, 3 and the KKT conditions", () => {
  const rng = new Rng(1209);
  for (const T of [2, 3, 4, 6, 8]) {
    for (let r = 0; r < 6; r++) {
      const A = randGram(rng, T, r % 3 === 0 ? 1 : T + 2);
      if (r % 3 === 2) for (let i = 0; i < T; i++) for (let j = 0; j < T; j++) if (i !== j) A[i * T + j] *= -1; // some conflict
      let mean = 0;
      for (const v of A) mean += v / (T * T);
      const calpha = [0.5, 0.2, 0.9, 0.4, 0.1, 2][r];
      const c = calpha * Math.sqrt(Math.abs(mean) + 1e-8) + 1e-8;
      const { w, it } = runCagrad(T, A, c);
      assert.ok(it >= 1 && it < 5000, `T=${T}: ${it} iterations`);
      assert.ok(Math.abs(w.reduce((a, b) => a + b, 0) - 1) <= 1e-12 && w.every((v) => v >= 0), `T=${T}: ${w} not on the simplex`);
      const F = cagradObj(T, A, w, c);
      const scale = Math.max(...Array.from({ length: T }, (_, i) => A[i * T + i]));
      if (T <= 3) {
        const grid = cagradGridMin(T, A, c);
        assert.ok(F <= grid + 1e-10 * scale, `T=${T} r=${r}: F = ${F} above the refined grid's ${grid}`);
        assert.ok(F >= grid - 1e-6 * scale, `T=${T} r=${r}: F = ${F} below the refined grid's ${grid}?`);
      }
      // KKT of min F over the simplex: ∇F_i ≥ μ for all i, = μ on the support (μ = min_i ∇F_i).
      const Aw = matvec(T, T, A, w);
      const q = quad(T, A, w);
      const grad = Array.from({ length: T }, (_, i) => {
        let ab = 0;
        for (let j = 0; j < T; j++) ab += A[i * T + j] / T;
        return ab + (c * Aw[i]) / Math.sqrt(q + 1e-8);
      });
      const mu = Math.min(...grad);
      for (let i = 0; i < T; i++) if (w[i] > 1e-4) assert.ok(grad[i] - mu <= 1e-8 * scale, `T=${T} r=${r}: support ${i}: ∇F = ${grad[i]}, μ = ${mu}`);
    }
  }
  // c = 0: F is linear, the minimum sits at the vertex of the smallest row mean.
  const A = [3, 1, 0, 1, 2, -1, 0, -1, 4];
  assertClose(runCagrad(3, A, 0).w, [0, 1, 0], { rtol: 0, atol: 1e-12, name: "c = 0 vertex" });
  assert.equal(Array.from(runCagrad(1, [2], 0.5).w), [1]);
});

// ───────────────────────── GradDrop ─────────────────────────

test("signed_colsum: Σ_b dy·sign(x) in f64 with sign(0) = 0; inputs untouched", () => {
  const rng = new Rng(1210);
  for (const B of [0, 1, 3, 9]) {
    for (const d of SIZES) {
      const mk = arena.mark();
      const x = rng.f32(B * d, () => (rng.next() < 0.2 ? 0 : rng.normal()));
      const dy = rng.f32(B * d, () => rng.normal());
      const xp = arena.putF32(x), dp = arena.putF32(dy);
      const out = guardedF32(new Float32Array(d + 2).fill(NaN));
      call("signed_colsum_f32x4", B, d, xp, dp, out.p);
      const got = out.check(`signed_colsum B=${B} d=${d}`);
      const ref = signedColsumRef(B, d, x, dy);
      for (let i = 0; i < d; i++) if (!Object.is(got[i], Math.fround(ref[i]) + 0)) assert.unreachable(`B=${B} d=${d} [${i}] = ${got[i]}, expected ${Math.fround(ref[i])}`);
      assert.ok(Number.isNaN(got[d]) && Number.isNaN(got[d + 1]), "past d untouched");
      assert.equal(Array.from(arena.readF32(xp, B * d)), Array.from(x));
      assert.equal(Array.from(arena.readF32(dp, B * d)), Array.from(dy));
      arena.release(mk);
    }
  }
  // f64 sum: 1e8·(+1), 1 ×3, 1e8·(−1) via x's sign, in every lane and the tail.
  const d = 5, B = 5;
  const x = new Float32Array(B * d), dy = new Float32Array(B * d);
  for (let k2 = 0; k2 < d; k2++) {
    [1, 1, 1, 1, -1].forEach((s, b) => (x[b * d + k2] = s * (b + 1)));
    [1e8, 1, 1, 1, 1e8].forEach((v, b) => (dy[b * d + k2] = v));
  }
  const out = guardedF32(new Float32Array(d));
  call("signed_colsum_f32x4", B, d, arena.putF32(x), arena.putF32(dy), out.p);
  assert.equal(Array.from(out.check("signed_colsum cancellation")), new Array(d).fill(3));
});

test("graddrop_mask: LibMTL's mask, sign purity, leak = 1 keeps everything", () => {
  const rng = new Rng(1211);
  for (const T of [1, 2, 3, 5]) {
    for (const d of SIZES) {
      for (const [leak, sc] of [[0, 1], [0.25, 1], [1, 1], [0, 3e-8]]) {
        const mk = arena.mark();
        // sc = 3e-8: |g| comparable to the 1e-7 in P's denominator, so P depends on it
        const g = rng.f32(T * d, () => (rng.next() < 0.1 ? 0 : sc * rng.normal()));
        const u = rng.f32(d, () => rng.next());
        const gp = arena.putF32(g), up = arena.putF32(u);
        const out = guardedF32(new Float32Array(T * d).fill(NaN));
        call("graddrop_mask_f32x4", T, d, gp, up, out.p, leak);
        const m = out.check(`graddrop T=${T} d=${d}`);
        const { P, M } = graddropRef(T, d, g, u);
        for (let i = 0; i < T * d; i++) {
          const want = M[i] ? 1 : Math.fround(leak);
          if (m[i] !== want) assert.unreachable(`T=${T} d=${d} leak=${leak} m[${i}] = ${m[i]}, expected ${want}`);
        }
        if (leak === 1) assert.ok(m.every((v) => v === 1), "leak = 1 keeps every gradient");
        if (leak === 0) {
          // Sign purity: the kept gradients of a column share one sign (P_k = u_k keeps none).
          for (let kk = 0; kk < d; kk++) {
            const kept = [...Array(T).keys()].filter((t) => m[t * d + kk] === 1).map((t) => Math.sign(g[t * d + kk]));
            assert.ok(kept.every((s) => s === kept[0]) && !kept.includes(0), `column ${kk}: kept signs ${kept}`);
            if (P[kk] === u[kk]) assert.is(kept.length, 0);
          }
        }
        assert.equal(Array.from(arena.readF32(gp, T * d)), Array.from(g));
        arena.release(mk);
      }
    }
  }
  // Handmade columns, in the SIMD body (d = 5: 4 + tail) and all in the scalar tail (d = 3, shifted):
  // all positive ⇒ P ≈ 1 > u = 0.999: both kept; all negative ⇒ P ≈ 0 < u: both kept; P = 0.5 = u: a tie keeps
  // none; g = (1e-6, −0.5e-6): P = 0.5·(1 + 0.5e-6 / (1.5e-6 + 1e-7)) = 0.65625 > u = 0.6 keeps the positive one
  // (without the 1e-7 P would be 2/3; with a larger epsilon it would fall below 0.6).
  const cols = [[1, 2, 0.999], [-2, -1, 0.001], [3, -3, 0.5], [0, 0, 0.5], [1e-6, -0.5e-6, 0.6]];
  const want = [[1, 1], [1, 1], [0, 0], [0, 0], [1, 0]];
  for (const pick of [[0, 1, 2, 3, 4], [2, 4, 0], [4, 3, 2]]) {
    const d = pick.length;
    const mk = arena.mark();
    const g = [...pick.map((c) => cols[c][0]), ...pick.map((c) => cols[c][1])];
    const out = guardedF32(new Float32Array(2 * d));
    call("graddrop_mask_f32x4", 2, d, arena.putF32(g), arena.putF32(pick.map((c) => cols[c][2])), out.p, 0);
    assert.equal(Array.from(out.check(`handmade ${pick}`)), [...pick.map((c) => want[c][0]), ...pick.map((c) => want[c][1])], `handmade ${pick}`);
    arena.release(mk);
  }
});

test("scale_cols: x[b,k] *= s[k] in place", () => {
  const rng = new Rng(1212);
  for (const B of [0, 1, 4]) {
    for (const d of SIZES) {
      const mk = arena.mark();
      const s = rng.f32(d, () => rng.normal());
      const x = rng.f32(B * d + 3, () => rng.normal());
      const sp = arena.putF32(s);
      const out = guardedF32(x);
      call("scale_cols_f32x4", B, d, sp, out.p);
      const got = out.check(`scale_cols B=${B} d=${d}`);
      for (let b = 0; b < B; b++) for (let kk = 0; kk < d; kk++) assert.is(got[b * d + kk], Math.fround(x[b * d + kk] * s[kk]));
      assert.equal(Array.from(got.subarray(B * d)), Array.from(x.subarray(B * d)), "past B·d untouched");
      assert.equal(Array.from(arena.readF32(sp, d)), Array.from(s));
      arena.release(mk);
    }
  }
});

test.run();
