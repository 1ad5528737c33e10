// conv2d at W2's shapes (issue 13): 1×28×28 → Conv(32, 3×3, relu) → MaxPool 2 → Conv(64, 3×3, relu), batch 64,
// valid padding: GFLOP/s of the kernels the conv2d op picks for each shape (src/ops/conv-kernels.ts: direct 3×3 for conv1's
// single input channel, Winograd for conv2), per pass: forward, bwd_x (dX only), bwd_w (dW and db only), and bwd (the
// one backward call training makes: dX, dW, db, the relu's mask fused, counted as two passes). flops = 2·n·c_out·
// (c_in·kh·kw)·(h_out·w_out) per pass, the direct convolution's count, whatever the algorithm: Winograd computes fewer
// products, so its rows are effective GFLOP/s and may exceed the f32x4 peak.
// Timed in CPU time of this process (process.cpuUsage: user + system), not wall time: on a machine shared with
// other jobs the wall clock also counts the time this thread waits for a core (peak_f32x4 read 5–13 GFLOP/s by
// wall clock and 51–53 by CPU time in the same minutes here). Nothing else in the process may run meanwhile.
// Shared by bench:kernels and bench:train -- --w2.
import type { Kernels } from "../src/runtime/load.ts";
import type { Arena } from "../src/runtime/heap.ts";
import { winogradPlan, winogradScratch, winograd4Scratch, directConv, directScratch } from "../src/ops/conv-kernels.ts";

export interface ConvRow { shape: string; pass: string; kernel: string; ours: number; peak: number; ratioPeak: number; ms: number; min: number; max: number }

export const W2_CONV_SHAPES = [
  { label: "conv1 64×1×28×28 → 32, 3×3", n: 64, ci: 1, h: 28, w: 28, co: 32 },
  { label: "conv2 64×32×13×13 → 64, 3×3", n: 64, ci: 32, h: 13, w: 13, co: 64 },
];

/** The peak_f32x4 call the rows compare against: 56 flops per iteration (7 f32x4 muls + 7 f32x4 adds). */
export const PEAK_ITERS = 1 << 18;
export const PEAK_GFLOP = (56 * PEAK_ITERS) / 1e9;

/** CPU milliseconds this process has used (user + system). */
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e3;
};

/**
 * Time each pass at each W2 shape against the peak: per row, `repeats` rounds of (ours, peak), each run
 * ≥ minRunS seconds after a warm-up; ours is the median GFLOP/s (min/max over rounds), peak the median.
 */
export function timeConvRows(k: Kernels, arena: Arena, opts: { minRunS: number; repeats: number }): ConvRow[] {
  const fn = (name: string) => k[name] as (...a: number[]) => number;
  const peak = fn("peak_f32x4");
  const runPeak = () => void peak(PEAK_ITERS);
  let seed = 3;
  const rand = (n: number) => Float32Array.from({ length: n }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1);
  const calibrate = (f: () => void) => {
    f();
    const t0 = cpuMs();
    let calls = 0;
    while (calls < 3 || cpuMs() - t0 < 60) { f(); calls++; }
    return Math.max(1, Math.ceil(opts.minRunS / ((cpuMs() - t0) / 1e3 / calls)));
  };
  const rows: ConvRow[] = [];
  for (const s of W2_CONV_SHAPES) {
    const mark = arena.mark();
    const ho = s.h - 2, wo = s.w - 2, K = s.ci * 9, P = ho * wo;
    const shape = { n: s.n, c: s.ci, cOut: s.co, kh: 3, kw: 3, stride: [1, 1] as [number, number], dil: [1, 1] as [number, number], hOut: ho, wOut: wo };
    const wino = winogradPlan(shape), direct = !wino && directConv(shape);
    const scratch = wino
      ? Math.max(...[wino.nbFwd, wino.nbBwd].map((nb) => (wino.m === 4 ? winograd4Scratch : winogradScratch)(s.ci, s.co, ho, wo, nb)))
      : Math.max(K * P, direct ? directScratch(s.ci, s.co, s.h, s.w, [0, 0, 0, 0], ho, wo) : 0);
    const pp = arena.putI32([s.n, s.ci, s.h, s.w, s.co, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, ho, wo]);
    const xp = arena.putF32(rand(s.n * s.ci * s.h * s.w)), wp = arena.putF32(rand(s.co * K)), bp = arena.putF32(rand(s.co));
    const yp = arena.alloc(s.n * s.co * P), dyp = arena.putF32(rand(s.n * s.co * P)), dxp = arena.alloc(s.n * s.ci * s.h * s.w);
    const dwp = arena.alloc(s.co * K), dbp = arena.alloc(s.co), colp = arena.alloc(scratch);
    const f = (2 * s.n * s.co * K * P) / 1e9;
    const passes: [string, string, () => void, number][] = [];
    if (wino) {
      const sfx = wino.m === 4 ? "_wino4" : "_wino", fwd = fn(`conv2d_fwd_f32x4${sfx}`), bwd = fn(`conv2d_bwd_f32x4${sfx}`);
      const { nbFwd, nbBwd } = wino;
      passes.push(
        ["fwd", `fwd${sfx} nb ${nbFwd}`, () => void fwd(pp, xp, wp, bp, yp, colp, 1, nbFwd), 1],
        ["bwd_x", `bwd${sfx} dX`, () => void bwd(pp, xp, 0, dyp, wp, dxp, 0, 0, colp, 0, 0, nbBwd), 1],
        ["bwd_w", `bwd${sfx} dW,db`, () => void bwd(pp, xp, 0, dyp, wp, 0, dwp, dbp, colp, 0, 0, nbBwd), 1],
        ["bwd", `bwd${sfx} all+relu nb ${nbBwd}`, () => void bwd(pp, xp, yp, dyp, wp, dxp, dwp, dbp, colp, 0, 0, nbBwd), 2],
      );
    } else if (direct) {
      const fwd = fn("conv2d_fwd_f32x4_direct"), bwdW = fn("conv2d_bwd_w_f32x4_direct"), bwdX = fn("conv2d_bwd_x_f32x4");
      passes.push(
        ["fwd", "fwd_direct", () => void fwd(pp, xp, wp, bp, yp, colp, 1), 1],
        // training skips it here (conv1's input is the image); an inner layer would run im2col's
        ["bwd_x", "im2col (W2 never runs it)", () => void bwdX(pp, dyp, wp, dxp, colp, 0), 1],
        ["bwd_w", "bwd_w_direct relu", () => void bwdW(pp, xp, yp, dyp, dwp, dbp, colp, 0), 1],
      );
    } else {
      const fwd = fn("conv2d_fwd_f32x4"), bwdX = fn("conv2d_bwd_x_f32x4"), bwdW = fn("conv2d_bwd_w_f32x4");
      passes.push(
        ["fwd", "fwd (im2col)", () => void fwd(pp, xp, wp, bp, yp, colp, 1), 1],
        ["bwd_x", "bwd_x (im2col)", () => void bwdX(pp, dyp, wp, dxp, colp, 0), 1],
        ["bwd_w", "bwd_w (im2col)", () => void bwdW(pp, xp, dyp, dwp, dbp, colp, 0), 1],
      );
    }
    for (const [pass, kernel, run, count] of passes) {
      const fs = [run, runPeak], reps = fs.map(calibrate), ts: number[][] = [[], []];
      for (let q = 0; q < opts.repeats; q++) {
        fs.forEach((g, i) => {
          const t0 = cpuMs();
          for (let r = 0; r < reps[i]; r++) g();
          ts[i].push((cpuMs() - t0) / 1e3 / reps[i]);
        });
      }
      const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
      const fl = f * count, to = med(ts[0]), pk = PEAK_GFLOP / med(ts[1]);
      rows.push({ shape: s.label, pass, kernel, ours: fl / to, peak: pk, ratioPeak: fl / to / pk, ms: to * 1e3, min: fl / Math.max(...ts[0]), max: fl / Math.min(...ts[0]) });
    }
    arena.release(mark);
  }
  return rows;
}

export function printConvRows(rows: ConvRow[]): void {
  console.log(`${"shape".padEnd(30)} ${"pass".padEnd(6)} ${"kernel".padEnd(26)} ${"ours".padStart(7)} ${"[min – max]".padEnd(14)} ${"ms".padStart(7)} ${"peak".padStart(7)} ${"ours/peak".padStart(10)}`);
  for (const r of rows) {
    console.log(`${r.shape.padEnd(30)} ${r.pass.padEnd(6)} ${r.kernel.padEnd(26)} ${r.ours.toFixed(1).padStart(7)} ${`[${r.min.toFixed(1)} – ${r.max.toFixed(1)}]`.padEnd(14)} ${r.ms.toFixed(2).padStart(7)} ${r.peak.toFixed(1).padStart(7)} ${`${(100 * r.ratioPeak).toFixed(0)}%`.padStart(10)}`);
  }
}
