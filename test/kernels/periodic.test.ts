// Periodic-embedding kernels (assembly/kernels/periodic.ts) against float64 references written here: the forward
// against Math.sin / Math.cos of the same f32 angle, for k = 1..9 frequencies (4-lane blocks and every tail) and angles
// up to |θ| ≈ 3000; the backward against the float64 chain rule and against central differences of the float64
// forward, with beta = 0 (NaN-filled outputs), beta = 1 (accumulate), dx_ptr = 0 (no input gradient) and guards.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup, Rng, finiteDiff, assertClose, assertRelErr, guarded } from "../helpers.ts";

const { arena, call } = await setup();
const f = Math.fround, TWO_PI = f(2 * Math.PI);
const SHAPES: [number, number, number][] = [[1, 1, 1], [3, 2, 2], [2, 3, 3], [5, 1, 4], [2, 2, 5], [3, 2, 6], [1, 3, 7], [4, 1, 8], [2, 2, 9]];

/** y [m, p·2k] in float64 from the f32 angle θ = f(x·f(2π·c)) (the kernels' and the ONNX form's rounding). */
function fwdRef(m: number, p: number, k: number, x: ArrayLike<number>, c: ArrayLike<number>, round = true): Float64Array {
  const y = new Float64Array(m * p * 2 * k);
  for (let r = 0; r < m; r++)
    for (let j = 0; j < p; j++)
      for (let i = 0; i < k; i++) {
        const th = round ? f(x[r * p + j] * f(TWO_PI * c[j * k + i])) : x[r * p + j] * 2 * Math.PI * c[j * k + i];
        y[(r * p + j) * 2 * k + i] = Math.sin(th);
        y[(r * p + j) * 2 * k + k + i] = Math.cos(th);
      }
  return y;
}

function data(m: number, p: number, k: number, seed: number, scale: number) {
  const rng = new Rng(seed);
  return {
    x: Float32Array.from({ length: m * p }, () => f(rng.normal() * scale)),
    c: Float32Array.from({ length: p * k }, () => f(rng.normal())),
    dy: Float32Array.from({ length: m * p * 2 * k }, () => f(rng.normal())),
  };
}

test("forward: sin and cos of the f32 angle within 3e-7 (|θ| ≲ 60) and 2e-6 (|θ| ≲ 3000), every tail length", () => {
  for (const [scale, tol] of [[1, 3e-7], [50, 2e-6]] as const) {
    for (const [m, p, k] of SHAPES) {
      const { x, c } = data(m, p, k, m * 100 + p * 10 + k, scale);
      const mk = arena.mark(), g = guarded(arena);
      const n = m * p * 2 * k, yp = g.out(n);
      call("periodic_fwd_f32x4", m, p, k, arena.putF32(x), arena.putF32(c), yp);
      assertClose(arena.readF32(yp, n), fwdRef(m, p, k, x, c), { atol: tol, rtol: 0, name: `periodic fwd [${m}, ${p}] k=${k} scale ${scale}` });
      g.guardIntact(yp, n, "y");
      arena.release(mk);
    }
  }
});

test("backward: dc and dx equal the float64 chain rule and central differences; beta 0 / 1; dx_ptr 0 writes no dx", () => {
  for (const [m, p, k] of SHAPES) {
    const { x, c, dy } = data(m, p, k, 7 + m + p + k, 1);
    const obj = (xv: ArrayLike<number>, cv: ArrayLike<number>) => fwdRef(m, p, k, xv, cv, false).reduce((a, y, e) => a + y * dy[e], 0);
    const fdC = finiteDiff((cv) => obj(x, cv), Float64Array.from(c));
    const fdX = finiteDiff((xv) => obj(xv, c), Float64Array.from(x));
    const mk = arena.mark(), g = guarded(arena);
    const xp = arena.putF32(x), cp = arena.putF32(c), dyp = arena.putF32(dy);
    const dx = g.out(m * p), dc = g.out(p * k);
    call("periodic_bwd_f32x4", m, p, k, xp, cp, dyp, dx, dc, 0);
    const dc0 = arena.readF32(dc, p * k), dx0 = arena.readF32(dx, m * p);
    assertRelErr(dc0, fdC, 1e-4, `dc [${m}, ${p}] k=${k}`);
    assertRelErr(dx0, fdX, 1e-4, `dx [${m}, ${p}] k=${k}`);
    g.guardIntact(dx, m * p, "dx");
    g.guardIntact(dc, p * k, "dc");
    // beta = 1 adds the same gradient again.
    call("periodic_bwd_f32x4", m, p, k, xp, cp, dyp, dx, dc, 1);
    assertClose(arena.readF32(dc, p * k), Array.from(dc0, (v) => 2 * v), { rtol: 1e-6, atol: 1e-6, name: "dc, beta 1" });
    assertClose(arena.readF32(dx, m * p), Array.from(dx0, (v) => 2 * v), { rtol: 1e-6, atol: 1e-6, name: "dx, beta 1" });
    // No input gradient: dc alone, the same values.
    const dc2 = g.out(p * k);
    call("periodic_bwd_f32x4", m, p, k, xp, cp, dyp, 0, dc2, 0);
    assert.equal(Array.from(arena.readF32(dc2, p * k)), Array.from(dc0), "dc without dx");
    arena.release(mk);
  }
});

test.run();
