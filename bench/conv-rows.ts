// conv2d at W2's shapes (issue 13): 1×28×28 → Conv(32, 3×3, relu) → MaxPool 2 → Conv(64, 3×3, relu), batch 64,
// valid padding: GFLOP/s of conv2d_fwd / bwd_x / bwd_w (flops = 2·n·c_out·(c_in·kh·kw)·(h_out·w_out) for each;
// bwd_w includes db) beside the f32x4 peak, re-measured in the same interleaved rounds as each row.
// Timed in CPU time of this process (process.cpuUsage: user + system), not wall time: on a machine shared with
// other jobs the wall clock also counts the time this thread waits for a core (peak_f32x4 read 5–13 GFLOP/s by
// wall clock and 51–53 by CPU time in the same minutes here). Nothing else in the process may run meanwhile.
// Shared by bench:kernels and bench:train -- --w2.
import type { Kernels } from "../src/runtime/load.ts";
import type { Arena } from "../src/runtime/heap.ts";

export interface ConvRow { shape: string; pass: string; ours: number; peak: number; ratioPeak: number; ms: number; min: number; max: number }

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
  const peak = fn("peak_f32x4"), convFwd = fn("conv2d_fwd_f32x4"), convBwdX = fn("conv2d_bwd_x_f32x4"), convBwdW = fn("conv2d_bwd_w_f32x4");
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
    const pp = arena.putI32([s.n, s.ci, s.h, s.w, s.co, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, ho, wo]);
    const xp = arena.putF32(rand(s.n * s.ci * s.h * s.w)), wp = arena.putF32(rand(s.co * K)), bp = arena.putF32(rand(s.co));
    const yp = arena.alloc(s.n * s.co * P), dyp = arena.putF32(rand(s.n * s.co * P)), dxp = arena.alloc(s.n * s.ci * s.h * s.w);
    const dwp = arena.alloc(s.co * K), dbp = arena.alloc(s.co), colp = arena.alloc(K * P);
    const f = (2 * s.n * s.co * K * P) / 1e9;
    for (const [pass, run] of [
      ["fwd", () => void convFwd(pp, xp, wp, bp, yp, colp, 1)],
      ["bwd_x", () => void convBwdX(pp, dyp, wp, dxp, colp, 0)],
      ["bwd_w", () => void convBwdW(pp, xp, dyp, dwp, dbp, colp, 0)],
    ] as const) {
      const fs = [run, runPeak], reps = fs.map(calibrate), ts: number[][] = [[], []];
      for (let q = 0; q < opts.repeats; q++) {
        fs.forEach((g, i) => {
          const t0 = cpuMs();
          for (let r = 0; r < reps[i]; r++) g();
          ts[i].push((cpuMs() - t0) / 1e3 / reps[i]);
        });
      }
      const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
      const to = med(ts[0]), pk = PEAK_GFLOP / med(ts[1]);
      rows.push({ shape: s.label, pass, ours: f / to, peak: pk, ratioPeak: f / to / pk, ms: to * 1e3, min: f / Math.max(...ts[0]), max: f / Math.min(...ts[0]) });
    }
    arena.release(mark);
  }
  return rows;
}

export function printConvRows(rows: ConvRow[]): void {
  console.log(`${"shape".padEnd(30)} ${"pass".padEnd(6)} ${"ours".padStart(7)} ${"[min – max]".padEnd(14)} ${"ms".padStart(7)} ${"peak".padStart(7)} ${"ours/peak".padStart(10)}`);
  for (const r of rows) {
    console.log(`${r.shape.padEnd(30)} ${r.pass.padEnd(6)} ${r.ours.toFixed(1).padStart(7)} ${`[${r.min.toFixed(1)} – ${r.max.toFixed(1)}]`.padEnd(14)} ${r.ms.toFixed(2).padStart(7)} ${r.peak.toFixed(1).padStart(7)} ${`${(100 * r.ratioPeak).toFixed(0)}%`.padStart(10)}`);
  }
}
