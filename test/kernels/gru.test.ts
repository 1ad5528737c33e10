// Bidirectional GRU kernels (assembly/kernels/gru.ts) vs a float64 reference of ONNX GRU's equations with
// linear_before_reset = 1, written here: forward values with masked rows of different lengths (an empty row, a
// full row), and the BPTT backward vs central differences of Σ R ⊙ Y for X, W, R and B.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup, guarded, Rng, finiteDiff, assertClose, assertRelErr } from "../helpers.ts";

const { arena, call } = await setup();
const { out, guardIntact } = guarded(arena);

const sig = (v: number) => 1 / (1 + Math.exp(-v));

/** Y [n, l, 2h] of the ONNX bidirectional GRU (linear_before_reset 1) over each row's first lens[i] tokens. */
function gruRef(n: number, l: number, d: number, h: number, lens: number[], x: ArrayLike<number>, W: ArrayLike<number>, R: ArrayLike<number>, B: ArrayLike<number>): Float64Array {
  const y = new Float64Array(n * l * 2 * h);
  for (let dir = 0; dir < 2; dir++) {
    const w = (g: number, j: number, c: number) => W[((dir * 3 + g) * h + j) * d + c];
    const r = (g: number, j: number, c: number) => R[((dir * 3 + g) * h + j) * h + c];
    const wb = (g: number, j: number) => B[dir * 6 * h + g * h + j], rb = (g: number, j: number) => B[dir * 6 * h + (3 + g) * h + j];
    for (let i = 0; i < n; i++) {
      let hs = new Float64Array(h);
      for (let s = 0; s < lens[i]; s++) {
        const t = dir === 0 ? s : lens[i] - 1 - s;
        const next = new Float64Array(h);
        for (let j = 0; j < h; j++) {
          const a = [0, 1, 2].map((g) => {
            let v = wb(g, j);
            for (let c = 0; c < d; c++) v += w(g, j, c) * x[(i * l + t) * d + c];
            return v;
          });
          const q = [0, 1, 2].map((g) => {
            let v = rb(g, j);
            for (let c = 0; c < h; c++) v += r(g, j, c) * hs[c];
            return v;
          });
          const z = sig(a[0] + q[0]), rr = sig(a[1] + q[1]), hh = Math.tanh(a[2] + rr * q[2]);
          next[j] = (1 - z) * hh + z * hs[j];
          y[(i * l + t) * 2 * h + dir * h + j] = next[j];
        }
        hs = next;
      }
    }
  }
  return y;
}

interface Case { n: number; l: number; d: number; h: number; lens: number[] }
const CASES: Case[] = [
  { n: 4, l: 5, d: 3, h: 5, lens: [5, 0, 2, 4] }, // h % 4 = 1: the one-lane tail
  { n: 3, l: 4, d: 4, h: 8, lens: [1, 4, 3] },
  { n: 5, l: 6, d: 2, h: 3, lens: [6, 6, 1, 0, 3] },
];

function put(c: Case, rng: Rng) {
  const { n, l, d, h, lens } = c;
  const mask = Float32Array.from({ length: n * l }, (_, e) => (e % l < lens[Math.floor(e / l)] ? 1 : 0));
  const x = rng.f32(n * l * d, () => rng.normal()), W = rng.f32(2 * 3 * h * d, () => 0.6 * rng.uniform()), R = rng.f32(2 * 3 * h * h, () => 0.6 * rng.uniform()), B = rng.f32(2 * 6 * h, () => 0.5 * rng.uniform());
  return { mask, x, W, R, B, xp: arena.putF32(x), mp: arena.putF32(mask), wp: arena.putF32(W), rp: arena.putF32(R), bp: arena.putF32(B) };
}

test("bigru_fwd_f32x4 equals the float64 ONNX GRU (both directions, masked lengths; padding outputs 0), with and without save", () => {
  const rng = new Rng(11);
  for (const c of CASES) {
    const mk = arena.mark();
    const { n, l, d, h, lens } = c, p = put(c, rng);
    // NaN at padding positions of X: never read
    const xn = Float32Array.from(p.x, (v, e) => (p.mask[Math.floor(e / d)] > 0 ? v : NaN));
    const want = gruRef(n, l, d, h, lens, p.x, p.W, p.R, p.B);
    for (const saving of [true, false]) {
      const yp = out(n * l * 2 * h), save = saving ? arena.alloc(2 * n * l * 4 * h) : 0, work = arena.alloc(call("bigru_fwd_work", n, l, h));
      call("bigru_fwd_f32x4", n, l, d, h, arena.putF32(xn), p.mp, p.wp, p.rp, p.bp, yp, save, work);
      assertClose(arena.readF32(yp, n * l * 2 * h), want, { rtol: 1e-5, atol: 2e-6, name: `Y ${JSON.stringify(c)} save=${saving}` });
      guardIntact(yp, n * l * 2 * h, "Y");
    }
    arena.release(mk);
  }
});

test("bigru_bwd_f32x4: dX, dW, dR, dB vs central differences of Σ R ⊙ Y; beta accumulates; padding gets no dX", () => {
  const rng = new Rng(12);
  for (const c of CASES) {
    const mk = arena.mark();
    const { n, l, d, h, lens } = c, p = put(c, rng);
    const r = rng.f32(n * l * 2 * h, () => rng.normal());
    const yp = out(n * l * 2 * h), save = arena.alloc(2 * n * l * 4 * h);
    call("bigru_fwd_f32x4", n, l, d, h, p.xp, p.mp, p.wp, p.rp, p.bp, yp, save, arena.alloc(call("bigru_fwd_work", n, l, h)));
    const sizes = { dx: n * l * d, dw: 6 * h * d, dr: 6 * h * h, db: 12 * h };
    const run = (beta: number, fill: number) => {
      const g = { dx: out(sizes.dx, fill), dw: out(sizes.dw, fill), dr: out(sizes.dr, fill), db: out(sizes.db, fill) };
      call("bigru_bwd_f32x4", n, l, d, h, p.xp, p.mp, p.wp, p.rp, yp, save, arena.putF32(r), g.dx, g.dw, g.dr, g.db, arena.alloc(call("bigru_bwd_work", n, l, h)), beta, beta);
      return g;
    };
    const g0 = run(0, NaN), g1 = run(1, 0.5);
    const J = (x: ArrayLike<number>, W: ArrayLike<number>, R: ArrayLike<number>, B: ArrayLike<number>) => gruRef(n, l, d, h, lens, x, W, R, B).reduce((s, y, e) => s + r[e] * y, 0);
    const fds = {
      dx: finiteDiff((v) => J(v, p.W, p.R, p.B), Float64Array.from(p.x)),
      dw: finiteDiff((v) => J(p.x, v, p.R, p.B), Float64Array.from(p.W)),
      dr: finiteDiff((v) => J(p.x, p.W, v, p.B), Float64Array.from(p.R)),
      db: finiteDiff((v) => J(p.x, p.W, p.R, v), Float64Array.from(p.B)),
    };
    for (const key of ["dx", "dw", "dr", "db"] as const) {
      const got = arena.readF32(g0[key], sizes[key]);
      assertRelErr(got, fds[key], 1e-4, `${key} ${JSON.stringify(c)}`);
      assertClose(arena.readF32(g1[key], sizes[key]), Float64Array.from(got, (v) => v + 0.5), { rtol: 1e-5, atol: 1e-5, name: `${key} beta 1` });
      guardIntact(g0[key], sizes[key], key);
    }
    const dx = arena.readF32(g0.dx, sizes.dx);
    for (let e = 0; e < sizes.dx; e++) if (!(p.mask[Math.floor(e / d)] > 0)) assert.is(dx[e], 0, "dX at a padding position");
    arena.release(mk);
  }
});

test.run();
