// Max / average pooling kernels vs the float64 references (forward, argmax indices) and central finite
// differences (backward).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setup, guarded, Rng, finiteDiff, assertClose, assertRelErr, toF64 } from "../helpers.ts";
import { poolDims, maxPoolFwd, avgPoolFwd, poolObjective, POOL_FIELDS, type PoolDims } from "../ref/pool.ts";

const { arena, call } = await setup();
const { out, guardIntact } = guarded(arena);


const params = (d: PoolDims) => arena.putI32(POOL_FIELDS.map((f) => d[f]));
const xLen = (d: PoolDims) => d.n * d.c * d.h * d.w;
const yLen = (d: PoolDims) => d.n * d.c * d.h_out * d.w_out;
const tag = (d: PoolDims) => `n${d.n} c${d.c} ${d.h}×${d.w} k${d.kh}×${d.kw} s${d.stride_h},${d.stride_w} p${d.pad_top},${d.pad_left},${d.pad_bottom},${d.pad_right} d${d.dil_h},${d.dil_w}`;

/** 2×2/2 (the f32x4 path, with w_out % 4 tails and odd h, w), global, overlapping, padded, dilated. */
function grid(): PoolDims[] {
  return [
    poolDims(2, 3, 8, 8, 2, 2, [2, 2]),
    poolDims(1, 2, 26, 26, 2, 2, [2, 2]),
    poolDims(3, 1, 7, 19, 2, 2, [2, 2]),
    poolDims(1, 5, 11, 11, 2, 2, [2, 2]),
    poolDims(2, 2, 6, 7, 2, 2, [2, 2]), // w_out 3: scalar rows
    poolDims(1, 3, 9, 17, 2, 2, [2, 2]), // odd h and w: an uncovered last row and column
    poolDims(2, 2, 9, 10, 3, 3, [2, 2]),
    poolDims(1, 3, 7, 7, 3, 3, [1, 1], [1, 1, 1, 1]),
    poolDims(2, 2, 6, 9, 2, 3, [1, 2], [0, 1, 1, 0]),
    poolDims(1, 2, 9, 9, 2, 2, [1, 1], [1, 0, 0, 1], [2, 2]),
    poolDims(2, 3, 5, 7, 5, 7, [1, 1]), // global
    poolDims(1, 4, 1, 1, 1, 1, [1, 1]), // 1×1 plane
    poolDims(2, 3, 13, 6, 13, 6, [1, 1]), // global, hw % 8 tails
  ];
}

test("maxpool2d_fwd_f32x4: values and argmax indices match the reference (with and without idx)", () => {
  const rng = new Rng(1);
  for (const d of grid()) {
    const mark = arena.mark();
    const x = rng.f32(xLen(d));
    const xp = arena.putF32(x), yp = out(yLen(d)), ip = out(yLen(d)), y2 = out(yLen(d));
    call("maxpool2d_fwd_f32x4", params(d), xp, yp, ip);
    call("maxpool2d_fwd_f32x4", params(d), xp, y2, 0);
    const ref = maxPoolFwd(d, x);
    assertClose(arena.readF32(yp, yLen(d)), ref.y, { rtol: 0, atol: 0, name: `max y ${tag(d)}` });
    assert.equal(Array.from(arena.i32(ip, yLen(d))), Array.from(ref.idx), `max idx ${tag(d)}`);
    assertClose(arena.readF32(y2, yLen(d)), ref.y, { rtol: 0, atol: 0, name: `max y (no idx) ${tag(d)}` });
    guardIntact(yp, yLen(d), "Y");
    guardIntact(ip, yLen(d), "idx");
    assert.equal(arena.readF32(xp, x.length), x, "X untouched");
    arena.release(mark);
  }
});

test("max pool ties: the first maximum in row-major window order wins; a NaN wins over numbers", () => {
  for (const d of [poolDims(1, 1, 4, 16, 2, 2, [2, 2]), poolDims(1, 1, 4, 6, 3, 3, [1, 1])]) {
    const mark = arena.mark();
    const rng = new Rng(2);
    // values from {0, 1, 2}: many ties; a few NaNs
    const x = rng.f32(xLen(d), () => rng.int(3));
    x[5] = NaN; x[21] = NaN; x[22] = NaN;
    const yp = out(yLen(d)), ip = out(yLen(d));
    call("maxpool2d_fwd_f32x4", params(d), arena.putF32(x), yp, ip);
    const ref = maxPoolFwd(d, x);
    assert.equal(Array.from(arena.i32(ip, yLen(d))), Array.from(ref.idx), `tie indices ${tag(d)}`);
    const y = arena.readF32(yp, yLen(d));
    for (let i = 0; i < y.length; i++) assert.ok(Object.is(y[i], ref.y[i]) || (Number.isNaN(y[i]) && Number.isNaN(ref.y[i])), `y[${i}] = ${y[i]}, expected ${ref.y[i]}`);
    assert.ok(y.some(Number.isNaN), "NaN propagated");
    arena.release(mark);
  }
});

test("avgpool2d_fwd_f32x4 matches the reference (count_include_pad 0 and 1)", () => {
  const rng = new Rng(3);
  for (const d of grid()) {
    for (const inc of [0, 1]) {
      const mark = arena.mark();
      const x = rng.f32(xLen(d));
      const yp = out(yLen(d));
      call("avgpool2d_fwd_f32x4", params(d), arena.putF32(x), yp, inc);
      assertClose(arena.readF32(yp, yLen(d)), avgPoolFwd(d, x, inc === 1), { rtol: 1e-5, atol: 1e-6, name: `avg ${tag(d)} inc=${inc}` });
      guardIntact(yp, yLen(d), "Y");
      arena.release(mark);
    }
  }
});

test("pool backward kernels vs central finite differences of Σ R ⊙ pool(X)", () => {
  const rng = new Rng(4);
  for (const d of grid()) {
    const mark = arena.mark();
    // distinct values at least 1e-3 apart: the argmax does not move under the ±1e-6 probes
    const perm = Array.from({ length: xLen(d) }, (_, i) => i).sort(() => rng.next() - 0.5);
    const x = Float32Array.from(perm, (v) => v * 1e-2 - 1);
    const r = rng.f32(yLen(d));
    const pp = params(d), xp = arena.putF32(x), rp = arena.putF32(r);
    const yp = out(yLen(d)), ip = out(yLen(d)), dxm = out(xLen(d)), dxa = out(xLen(d)), dxa1 = out(xLen(d));
    call("maxpool2d_fwd_f32x4", pp, xp, yp, ip);
    call("maxpool2d_bwd_f32x4", pp, rp, ip, dxm, 0);
    const X = toF64(x);
    const gm = finiteDiff((v) => poolObjective(maxPoolFwd(d, v).y, r), X);
    assertRelErr(arena.readF32(dxm, xLen(d)), gm, 1e-6, `max dX ${tag(d)}`);
    for (const [inc, dxp] of [[0, dxa], [1, dxa1]] as const) {
      call("avgpool2d_bwd_f32x4", pp, rp, dxp, inc, 0);
      const ga = finiteDiff((v) => poolObjective(avgPoolFwd(d, v, inc === 1), r), X);
      assertRelErr(arena.readF32(dxp, xLen(d)), ga, 1e-6, `avg dX ${tag(d)} inc=${inc}`);
      guardIntact(dxp, xLen(d), "dX avg");
    }
    guardIntact(dxm, xLen(d), "dX max");
    assert.equal(arena.readF32(rp, r.length), r, "dY untouched");
    arena.release(mark);
  }
});

test("pool backward: beta = 1 accumulates, beta = 0.5 scales (max and avg, global too)", () => {
  const rng = new Rng(5);
  for (const d of grid()) {
    for (const beta of [1, 0.5]) {
      const mark = arena.mark();
      const x = rng.f32(xLen(d)), dy = rng.f32(yLen(d)), old = rng.f32(xLen(d));
      const pp = params(d), ip = out(yLen(d)), yp = out(yLen(d)), dyp = arena.putF32(dy);
      call("maxpool2d_fwd_f32x4", pp, arena.putF32(x), yp, ip);
      for (const [name, run] of [
        ["max", (dx: number, b: number) => call("maxpool2d_bwd_f32x4", pp, dyp, ip, dx, b)],
        ["avg", (dx: number, b: number) => call("avgpool2d_bwd_f32x4", pp, dyp, dx, 0, b)],
      ] as const) {
        const acc = out(xLen(d), old), fresh = out(xLen(d));
        run(acc, beta);
        run(fresh, 0);
        const f = arena.readF32(fresh, xLen(d));
        assertClose(arena.readF32(acc, xLen(d)), Float64Array.from(f, (v, i) => beta * old[i] + v), { rtol: 1e-6, atol: 1e-6, name: `${name} beta=${beta} ${tag(d)}` });
        guardIntact(acc, xLen(d), name);
      }
      arena.release(mark);
    }
  }
});

test("n = 0 or c = 0: nothing written", () => {
  const d = { ...poolDims(1, 1, 4, 4, 2, 2, [2, 2]), n: 0 };
  const yp = out(4, 3);
  call("maxpool2d_fwd_f32x4", params(d), 0, yp, 0);
  call("avgpool2d_fwd_f32x4", params(d), 0, yp, 0);
  assertClose(arena.readF32(yp, 4), [3, 3, 3, 3], { name: "untouched" });
});

test.run();
