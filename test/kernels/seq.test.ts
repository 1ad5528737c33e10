// Sequence kernels (assembly/kernels/seq.ts) vs float64 references written here: the token embedding's
// scatter-add with a fixed padding id, masked max/mean pooling over time, and the masked `same` 1-D convolution
// (forward values; backward vs central differences of the float64 reference). Masks have an all-padding row,
// a short row and a hole, so padding positions must be skipped, not multiplied by 0.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup, guarded, Rng, finiteDiff, assertClose, assertRelErr } from "../helpers.ts";

const { arena, call } = await setup();
const { out, guardIntact } = guarded(arena);

/** Mask [n, l]: row 0 full, row 1 empty, row 2 a prefix, row 3 a prefix with a hole, the rest random prefixes. */
function maskOf(n: number, l: number, rng: Rng): Float32Array {
  const m = new Float32Array(n * l);
  for (let i = 0; i < n; i++) {
    const len = i === 0 ? l : i === 1 ? 0 : i === 2 ? Math.max(1, l >> 1) : 1 + rng.int(l);
    for (let t = 0; t < len; t++) m[i * l + t] = 1;
    if (i === 3 && len > 2) m[i * l + 1] = 0;
  }
  return m;
}

test("embed_seq_bwd_f32x4: scatter-add with repeated ids, the padding id skipped (pad −1: none)", () => {
  const rng = new Rng(1);
  for (const d of [1, 3, 4, 17]) for (const pad of [0, 2, -1]) {
    const mk = arena.mark();
    const v = 5, m = 13;
    const ids = Int32Array.from({ length: m }, (_, i) => (i < 4 ? 2 : i < 6 ? 0 : rng.int(v)));
    const dy = rng.f32(m * d), init = rng.f32(v * d);
    const want = Float64Array.from(init);
    for (let i = 0; i < m; i++) if (ids[i] !== pad) for (let j = 0; j < d; j++) want[ids[i] * d + j] += dy[i * d + j];
    const dt = out(v * d, init);
    call("embed_seq_bwd_f32x4", m, d, arena.putI32(ids), arena.putF32(dy), dt, pad);
    assertClose(arena.readF32(dt, v * d), want, { rtol: 1e-6, atol: 1e-6, name: `d${d} pad${pad}` });
    if (pad >= 0) for (let j = 0; j < d; j++) assert.is(arena.readF32(dt, v * d)[pad * d + j], init[pad * d + j], "the padding row changed");
    guardIntact(dt, v * d, "dtable");
    arena.release(mk);
  }
});

// ---- pooling -------------------------------------------------------------------------------------------------

function poolRef(mode: string, n: number, l: number, d: number, x: ArrayLike<number>, mask: ArrayLike<number>): Float64Array {
  const y = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) {
    let acc = mode === "max" ? -Infinity : 0, cnt = 0;
    for (let t = 0; t < l; t++) {
      if (!(mask[i * l + t] > 0)) continue;
      const v = x[(i * l + t) * d + j];
      acc = mode === "max" ? Math.max(acc, v) : acc + v;
      cnt++;
    }
    y[i * d + j] = cnt === 0 ? 0 : mode === "max" ? acc : acc / cnt;
  }
  return y;
}

const SHAPES = [[5, 6, 3], [4, 7, 8], [6, 3, 13], [4, 1, 4]];

test("seq_max / seq_mean forward: values (and argmax positions) match the float64 reference; empty rows give 0", () => {
  const rng = new Rng(2);
  for (const [n, l, d] of SHAPES) {
    const mk = arena.mark();
    const x = rng.f32(n * l * d, () => rng.normal()), mask = maskOf(n, l, rng);
    const xp = arena.putF32(x), mp = arena.putF32(mask);
    for (const mode of ["max", "mean"]) {
      const yp = out(n * d), ip = out(n * d);
      if (mode === "max") call("seq_max_fwd_f32x4", n, l, d, xp, mp, yp, ip);
      else call("seq_mean_fwd_f32x4", n, l, d, xp, mp, yp);
      assertClose(arena.readF32(yp, n * d), poolRef(mode, n, l, d, x, mask), { rtol: 1e-6, atol: 1e-6, name: `${mode} ${n}×${l}×${d}` });
      guardIntact(yp, n * d, "y");
      if (mode === "max") {
        const idx = arena.i32(ip, n * d);
        for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) {
          const t = idx[i * d + j];
          if (i === 1 || l === 0) assert.is(t, -1, "an empty row's argmax is −1");
          else assert.is(x[(i * l + t) * d + j], arena.readF32(yp, n * d)[i * d + j], `argmax (${i}, ${j}) points at the maximum`);
          if (t >= 0) assert.ok(mask[i * l + t] > 0, "argmax at a padding position");
        }
      }
    }
    // The mask is honoured by selection: garbage (NaN) at padding positions never reaches y.
    const xn = Float32Array.from(x, (v, e) => (mask[Math.floor(e / d)] > 0 ? v : NaN));
    const yp = out(n * d);
    call("seq_mean_fwd_f32x4", n, l, d, arena.putF32(xn), mp, yp);
    assert.not.ok(arena.readF32(yp, n * d).some(Number.isNaN), "NaN at a padding position reached the mean");
    call("seq_max_fwd_f32x4", n, l, d, arena.putF32(xn), mp, yp, 0);
    assert.not.ok(arena.readF32(yp, n * d).some(Number.isNaN), "NaN at a padding position reached the max");
    arena.release(mk);
  }
});

test("seq_max / seq_mean backward vs central differences of Σ R ⊙ pool(X); beta accumulates; padding gets 0", () => {
  const rng = new Rng(3);
  for (const [n, l, d] of SHAPES) {
    const mk = arena.mark();
    // distinct values ≥ 1e-2 apart: the argmax does not move under the probes
    const perm = Array.from({ length: n * l * d }, (_, i) => i).sort(() => rng.next() - 0.5);
    const x = Float32Array.from(perm, (v) => v * 1e-2 - 1), mask = maskOf(n, l, rng), r = rng.f32(n * d);
    const xp = arena.putF32(x), mp = arena.putF32(mask), rp = arena.putF32(r);
    for (const mode of ["max", "mean"]) {
      const ip = out(n * d), yp = out(n * d), dx = out(n * l * d), dx1 = out(n * l * d, 0.25);
      if (mode === "max") {
        call("seq_max_fwd_f32x4", n, l, d, xp, mp, yp, ip);
        call("seq_max_bwd_f32x4", n, l, d, rp, ip, dx, 0);
        call("seq_max_bwd_f32x4", n, l, d, rp, ip, dx1, 1);
      } else {
        call("seq_mean_bwd_f32x4", n, l, d, rp, mp, dx, 0);
        call("seq_mean_bwd_f32x4", n, l, d, rp, mp, dx1, 1);
      }
      const fd = finiteDiff((X) => poolRef(mode, n, l, d, X, mask).reduce((s, y, i) => s + r[i] * y, 0), Float64Array.from(x), 1e-4);
      const got = arena.readF32(dx, n * l * d);
      assertRelErr(got, fd, 1e-5, `${mode} dX ${n}×${l}×${d}`);
      for (let e = 0; e < n * l * d; e++) if (!(mask[Math.floor(e / d)] > 0)) assert.is(got[e], 0, `${mode}: gradient at a padding position`);
      assertClose(arena.readF32(dx1, n * l * d), Float64Array.from(got, (g) => g + 0.25), { rtol: 1e-6, atol: 1e-6, name: `${mode} beta 1` });
      guardIntact(dx, n * l * d, "dx");
    }
    arena.release(mk);
  }
});

// ---- conv1d --------------------------------------------------------------------------------------------------

interface Conv {
  n: number; l: number; c: number; co: number; k: number; dil: number;
}
const padLeft = (g: Conv) => Math.floor((g.dil * (g.k - 1)) / 2);

/** Float64 masked `same` conv: Y[i, t, o] = act(b[o] + Σ_c Σ_j W[o, c, j]·X[i, t + dil·j − pl, c]), 0 at padding t. */
function convRef(g: Conv, x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number> | null, mask: ArrayLike<number>, relu: boolean): Float64Array {
  const { n, l, c, co, k, dil } = g, pl = padLeft(g);
  const y = new Float64Array(n * l * co);
  for (let i = 0; i < n; i++) for (let t = 0; t < l; t++) {
    if (!(mask[i * l + t] > 0)) continue;
    for (let o = 0; o < co; o++) {
      let s = b ? b[o] : 0;
      for (let j = 0; j < k; j++) {
        const p = t + dil * j - pl;
        if (p < 0 || p >= l || !(mask[i * l + p] > 0)) continue;
        for (let ci = 0; ci < c; ci++) s += w[(o * c + ci) * k + j] * x[(i * l + p) * c + ci];
      }
      y[(i * l + t) * co + o] = relu ? Math.max(s, 0) : s;
    }
  }
  return y;
}

const CONVS: Conv[] = [
  { n: 4, l: 7, c: 3, co: 5, k: 3, dil: 1 },
  { n: 5, l: 9, c: 4, co: 8, k: 3, dil: 2 },
  { n: 4, l: 6, c: 5, co: 3, k: 2, dil: 1 }, // even width: one more tap on the right
  { n: 4, l: 5, c: 1, co: 1, k: 1, dil: 1 },
  { n: 4, l: 12, c: 8, co: 12, k: 5, dil: 3 },
];

test("conv1d_fwd_f32x4 matches the float64 masked `same` convolution (bias, relu, dilation, even widths)", () => {
  const rng = new Rng(4);
  for (const g of CONVS) for (const relu of [0, 1]) for (const bias of [true, false]) {
    const mk = arena.mark();
    const { n, l, c, co, k, dil } = g;
    const mask = maskOf(n, l, rng);
    // NaN at padding positions: read as zero, never multiplied
    const x = rng.f32(n * l * c, () => rng.normal()).map((v, e) => (mask[Math.floor(e / c)] > 0 ? v : NaN));
    const w = rng.f32(co * c * k), b = bias ? rng.f32(co) : null;
    const yp = out(n * l * co), col = arena.alloc(n * l * c * k);
    call("conv1d_fwd_f32x4", n, l, c, co, k, dil, padLeft(g), arena.putF32(x), arena.putF32(w), b ? arena.putF32(b) : 0, arena.putF32(mask), yp, col, relu);
    assertClose(arena.readF32(yp, n * l * co), convRef(g, x, w, b, mask, relu === 1), { rtol: 1e-5, atol: 1e-5, name: `conv1d ${JSON.stringify(g)} relu${relu}` });
    guardIntact(yp, n * l * co, "y");
    arena.release(mk);
  }
});

test("conv1d_bwd_f32x4: dX, dW, db vs central differences of Σ R ⊙ conv(X); beta; padding positions get no dX", () => {
  const rng = new Rng(5);
  for (const g of CONVS) for (const relu of [0, 1]) {
    const mk = arena.mark();
    const { n, l, c, co, k, dil } = g, pl = padLeft(g);
    const mask = maskOf(n, l, rng);
    const x = rng.f32(n * l * c, () => rng.normal()), w = rng.f32(co * c * k), b = rng.f32(co), r = rng.f32(n * l * co, () => rng.normal());
    const xp = arena.putF32(x), wp = arena.putF32(w), bp = arena.putF32(b), mp = arena.putF32(mask), rp = arena.putF32(r);
    const yp = out(n * l * co), col = arena.alloc(n * l * c * k), dz = arena.alloc(n * l * co);
    call("conv1d_fwd_f32x4", n, l, c, co, k, dil, pl, xp, wp, bp, mp, yp, col, relu);
    const dx = out(n * l * c), dw = out(co * c * k), db = out(co);
    call("conv1d_bwd_f32x4", n, l, c, co, k, dil, pl, xp, yp, rp, wp, mp, dx, dw, db, col, dz, relu, 0, 0);
    const J = (X: ArrayLike<number>, W: ArrayLike<number>, B: ArrayLike<number>) => convRef(g, X, W, B, mask, relu === 1).reduce((s, y, i) => s + r[i] * y, 0);
    const tag = `${JSON.stringify(g)} relu${relu}`;
    const gx = arena.readF32(dx, n * l * c);
    assertRelErr(gx, finiteDiff((X) => J(X, w, b), Float64Array.from(x)), 1e-4, `dX ${tag}`);
    assertRelErr(arena.readF32(dw, co * c * k), finiteDiff((W) => J(x, W, b), Float64Array.from(w)), 1e-4, `dW ${tag}`);
    assertRelErr(arena.readF32(db, co), finiteDiff((B) => J(x, w, B), Float64Array.from(b)), 1e-4, `db ${tag}`);
    for (let e = 0; e < n * l * c; e++) if (!(mask[Math.floor(e / c)] > 0)) assert.is(gx[e], 0, `dX at a padding position (${tag})`);
    for (const [p, len, name] of [[dx, n * l * c, "dx"], [dw, co * c * k, "dw"], [db, co, "db"]] as const) guardIntact(p, len, name);
    // beta = 1 accumulates onto what is there; null dX / dW / db pointers are skipped
    const dx1 = out(n * l * c, 0.5), dw1 = out(co * c * k, 0.5), db1 = out(co, 0.5);
    call("conv1d_bwd_f32x4", n, l, c, co, k, dil, pl, xp, yp, rp, wp, mp, dx1, dw1, db1, col, dz, relu, 1, 1);
    assertClose(arena.readF32(dx1, n * l * c), Float64Array.from(gx, (v) => v + 0.5), { rtol: 1e-6, atol: 1e-6, name: `dX beta 1 ${tag}` });
    assertClose(arena.readF32(dw1, co * c * k), Float64Array.from(arena.readF32(dw, co * c * k), (v) => v + 0.5), { rtol: 1e-6, atol: 1e-6, name: `dW beta 1 ${tag}` });
    const dbOnly = out(co);
    call("conv1d_bwd_f32x4", n, l, c, co, k, dil, pl, xp, yp, rp, wp, mp, 0, 0, dbOnly, col, dz, relu, 0, 0);
    assertClose(arena.readF32(dbOnly, co), arena.readF32(db, co), { rtol: 0, atol: 0, name: `db alone ${tag}` });
    arena.release(mk);
  }
});

test.run();
