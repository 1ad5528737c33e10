// Embedding lookup into strided (column-block) outputs and its scatter-add backward with repeated indices,
// vs float64 references and central differences.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup, Rng, finiteDiff, assertClose, assertRelErr, toF64 } from "../helpers.ts";
import { embedRef, embedBwdRef } from "../ref/embed.ts";

const { arena, call } = await setup();

/** Lookup into a [m, ldY] buffer pre-filled with a sentinel, at element column `col`. */
function fwd(m: number, d: number, idx: ArrayLike<number>, table: ArrayLike<number>, ldY = d, col = 0): Float32Array {
  const mk = arena.mark();
  const ip = arena.putI32(idx), tp = arena.putF32(table);
  const yp = arena.putF32(new Float32Array(m * ldY).fill(-7));
  call("embed_fwd_f32x4", m, d, ip, tp, yp + 4 * col, ldY);
  const y = arena.readF32(yp, m * ldY);
  arena.release(mk);
  return y;
}

function bwd(m: number, d: number, v: number, idx: ArrayLike<number>, dy: ArrayLike<number>, ldDy: number, col: number, init: ArrayLike<number>): Float32Array {
  const mk = arena.mark();
  const ip = arena.putI32(idx), dyp = arena.putF32(dy), dtp = arena.putF32(init);
  call("embed_bwd_f32x4", m, d, ip, dyp + 4 * col, ldDy, dtp);
  const dt = arena.readF32(dtp, v * d);
  arena.release(mk);
  return dt;
}

/** Rows [m, d] of a strided [m, ld] buffer starting at column col. */
const block = (a: ArrayLike<number>, m: number, d: number, ld: number, col: number) =>
  Float64Array.from({ length: m * d }, (_, k) => a[Math.floor(k / d) * ld + col + (k % d)]);

test("forward gathers rows exactly, into dense and strided/unaligned column blocks", () => {
  const rng = new Rng(51);
  for (const d of [1, 3, 5, 17, 64, 130]) for (const m of [1, 3, 17]) {
    const v = 1 + rng.int(9);
    const table = rng.f32(v * d);
    const idx = Int32Array.from({ length: m }, () => rng.int(v));
    assertClose(fwd(m, d, idx, table), embedRef(m, d, idx, table), { rtol: 0, atol: 0, name: `embed ${m}x${d}` });
    const col = 1 + rng.int(3), ld = d + col + rng.int(4);
    const y = fwd(m, d, idx, table, ld, col);
    assertClose(block(y, m, d, ld, col), embedRef(m, d, idx, table), { rtol: 0, atol: 0, name: `strided ${m}x${d}` });
    // nothing outside the block is touched
    for (let i = 0; i < m; i++) for (let j = 0; j < ld; j++) {
      if (j < col || j >= col + d) assert.is(y[i * ld + j], -7, `wrote outside the block at (${i}, ${j})`);
    }
  }
  // m = 0 / d = 0 write nothing
  assert.ok(fwd(0, 4, [], [1, 2, 3, 4], 4).every((x) => x === -7));
  assert.ok(fwd(3, 0, [0, 0, 0], [], 2).every((x) => x === -7));
});

test("backward scatter-adds with repeated indices (vs float64 scatter-add) and accumulates into dtable", () => {
  const rng = new Rng(52);
  for (const d of [1, 3, 5, 17, 64, 130]) {
    const v = 4, m = 11;
    const idx = Int32Array.from({ length: m }, (_, i) => (i < 4 ? 2 : rng.int(v))); // index 2 repeated ≥ 4 times
    const col = rng.int(3), ld = d + col + rng.int(3);
    const dy = rng.f32(m * ld);
    const init = rng.f32(v * d);
    const got = bwd(m, d, v, idx, dy, ld, col, init);
    const want = embedBwdRef(m, d, v, idx, block(dy, m, d, ld, col), init);
    assertClose(got, want, { rtol: 1e-6, atol: 1e-6, name: `scatter-add d=${d}` });
    // from zeros: rows never indexed stay exactly 0
    const z = bwd(m, d, v, idx, dy, ld, col, new Float32Array(v * d));
    for (let r = 0; r < v; r++) if (!idx.includes(r)) for (let j = 0; j < d; j++) assert.is(z[r * d + j], 0);
  }
});

test("backward matches float64 central differences of L = Σ r ⊙ table[idx]", () => {
  const rng = new Rng(53);
  for (const [m, d, v] of [[1, 1, 1], [5, 3, 2], [9, 17, 4], [6, 8, 3]] as const) {
    const table = rng.f32(v * d);
    const idx = Int32Array.from({ length: m }, () => rng.int(v));
    idx[0] = idx[m - 1]; // at least one repeat when m > 1
    const r = rng.f32(m * d);
    const L = (t: Float64Array) => embedRef(m, d, idx, t).reduce((s, y, i) => s + r[i] * y, 0);
    const g = finiteDiff(L, toF64(table));
    assertRelErr(bwd(m, d, v, idx, r, d, 0, new Float32Array(v * d)), g, 1e-3, `dtable ${m}x${d}`);
  }
});

test.run();
