// Kernel benchmark: GFLOP/s of the dense kernels (forward, bwd_x, bwd_w) beside a plain-JS triple loop,
// tfjs-backend-wasm's tf.matMul (XNNPACK, SIMD, one thread) and the measured f32x4 peak of this machine.
//
//   node --import tsx bench/kernels.bench.ts [--json FILE] [--quick]
//
// MTL_WASM=path overrides the artifact (default build/mtl.wasm). A product of shapes (m, k, n) counts
// 2·m·k·n flops. Each number is the median of REPEATS timed runs of ≥ MIN_RUN_S seconds, after warm-up
// (which also lets V8 tier the wasm up from Liftoff to TurboFan); the contenders of a row (ours, tfjs,
// plain JS, peak) are timed in interleaved rounds. --quick: shorter runs, for a smoke test.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs-core";
import { setThreadsCount, setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { loadKernels } from "../src/runtime/load.ts";
import { Arena } from "../src/runtime/heap.ts";
import { timeConvRows, printConvRows } from "./conv-rows.ts";

const args = process.argv.slice(2);
const jsonAt = args.indexOf("--json");
const jsonFile = jsonAt >= 0 ? args[jsonAt + 1] : undefined;
if (jsonAt >= 0 && !jsonFile) throw new Error("--json needs a file name");
const quick = args.includes("--quick");
const MIN_RUN_S = quick ? 0.05 : 0.2;
const REPEATS = quick ? 3 : 5;

/** Flops of one product (m, k, n). */
const flops = (m: number, k: number, n: number) => 2 * m * k * n;

/** Warm f up (≥ 3 calls and ≥ 60 ms, which also lets V8 tier wasm up from Liftoff to TurboFan); return calls per run of ≥ MIN_RUN_S. */
function calibrate(f: () => void): number {
  f(); // the first call may run in Liftoff and include compilation: not used for the estimate
  const t0 = performance.now();
  let calls = 0;
  while (calls < 3 || performance.now() - t0 < 60) { f(); calls++; }
  const perCall = (performance.now() - t0) / 1e3 / calls;
  return Math.max(1, Math.ceil(MIN_RUN_S / perCall));
}

/**
 * Median seconds per call of each contender. The contenders' timed runs are interleaved (one run of
 * each per round, REPEATS rounds), so a burst of load from elsewhere on the machine hits all of them
 * alike and the ratios stay meaningful.
 */
function timeAll(fs: (() => void)[]): number[] {
  const reps = fs.map(calibrate);
  const ts: number[][] = fs.map(() => []);
  for (let q = 0; q < REPEATS; q++) {
    fs.forEach((f, i) => {
      const t0 = performance.now();
      for (let r = 0; r < reps[i]; r++) f();
      ts[i].push((performance.now() - t0) / 1e3 / reps[i]);
    });
  }
  return ts.map((t) => t.sort((a, b) => a - b)[t.length >> 1]);
}

// ---- our artifact ----
const wasmPath = process.env.MTL_WASM ?? fileURLToPath(new URL("../build/mtl.wasm", import.meta.url));
const k = await loadKernels(readFileSync(wasmPath), ["dense_fwd_f32x4", "dense_bwd_x_f32x4", "dense_bwd_w_f32x4", "peak_f32x4", "conv2d_fwd_f32x4", "conv2d_bwd_x_f32x4", "conv2d_bwd_w_f32x4"]);
const arena = new Arena(k);
const fn = (name: string) => k[name] as (...a: number[]) => number;
const fwd = fn("dense_fwd_f32x4"), bwdX = fn("dense_bwd_x_f32x4"), bwdW = fn("dense_bwd_w_f32x4"), peak = fn("peak_f32x4");

// ---- tfjs-backend-wasm ----
const require = createRequire(import.meta.url);
setWasmPaths(dirname(require.resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm")) + "/");
setThreadsCount(1);
if (!(await tf.setBackend("wasm"))) throw new Error("tfjs: the wasm backend failed to initialise");
await tf.ready();
const tfSimd = (await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT")) as boolean;
const tfThreads = (await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT")) as boolean;

// ---- plain JS ----
let seed = 1;
const rand = (n: number) => Float32Array.from({ length: n }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1);

/** Y[m,n] = X[m,k]·W[k,n], ikj order. */
function jsFwd(m: number, kk: number, n: number, x: Float32Array, w: Float32Array, y: Float32Array): void {
  y.fill(0);
  for (let i = 0; i < m; i++) {
    const yo = i * n;
    for (let p = 0; p < kk; p++) {
      const a = x[i * kk + p], wo = p * n;
      for (let j = 0; j < n; j++) y[yo + j] += a * w[wo + j];
    }
  }
}
/** dX[m,k] = dY[m,n]·W[k,n]ᵀ: row-by-row dot products (both operands contiguous along n). */
function jsBwdX(m: number, kk: number, n: number, dy: Float32Array, w: Float32Array, dx: Float32Array): void {
  for (let i = 0; i < m; i++) {
    for (let c = 0; c < kk; c++) {
      let s = 0;
      const a = i * n, b = c * n;
      for (let j = 0; j < n; j++) s += dy[a + j] * w[b + j];
      dx[i * kk + c] = s;
    }
  }
}
/** dW[k,n] = X[m,k]ᵀ·dY[m,n], ikj order (i the reduction). */
function jsBwdW(m: number, kk: number, n: number, x: Float32Array, dy: Float32Array, dw: Float32Array): void {
  dw.fill(0);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < kk; p++) {
      const a = x[i * kk + p], wo = p * n, yo = i * n;
      for (let j = 0; j < n; j++) dw[wo + j] += a * dy[yo + j];
    }
  }
}

// ---- run ----
const PEAK_ITERS = 1 << 18;
const PEAK_GFLOP = (56 * PEAK_ITERS) / 1e9; // 56 flops per iteration: 7 f32x4 muls + 7 f32x4 adds (see peak_f32x4)
const runPeak = () => void peak(PEAK_ITERS);
const peakGf = PEAK_GFLOP / timeAll([runPeak])[0];

const shapes: { label: string; m: number; k: number; n: number }[] = [
  { label: "64³", m: 64, k: 64, n: 64 },
  { label: "256³", m: 256, k: 256, n: 256 },
  { label: "512³", m: 512, k: 512, n: 512 },
  { label: "mlp 64→256", m: 128, k: 64, n: 256 },
  { label: "mlp 256→256", m: 128, k: 256, n: 256 },
];

interface Row { shape: string; m: number; k: number; n: number; pass: string; ours: number; tfjs: number; tfjsDataSync: number; js: number; peak: number; ratioTfjs: number; ratioJs: number; ratioPeak: number }
const rows: Row[] = [];

console.log(`mtl-wasm kernel bench — node ${process.version}, artifact ${wasmPath}`);
console.log(`tfjs-backend-wasm ${tf.version_core}: backend=${tf.getBackend()} SIMD=${tfSimd} threads=${tfThreads} (setThreadsCount(1))`);
if (!tfSimd) console.log("WARNING: tfjs-backend-wasm is NOT using SIMD; its numbers are not the fair baseline");
console.log(`measured peak (peak_f32x4, 7 independent f32x4 mul chains + 7 independent add chains): ${peakGf.toFixed(1)} GFLOP/s\n`);

for (const s of shapes) {
  const { m, k: kk, n } = s;
  const mark = arena.mark();
  const X = rand(m * kk), W = rand(kk * n), DY = rand(m * n);
  const xp = arena.putF32(X), wp = arena.putF32(W), dyp = arena.putF32(DY);
  const yp = arena.alloc(m * n), dxp = arena.alloc(m * kk), dwp = arena.alloc(kk * n);
  const jy = new Float32Array(m * n), jdx = new Float32Array(m * kk), jdw = new Float32Array(kk * n);
  const tx = tf.tensor2d(X, [m, kk]), tw = tf.tensor2d(W, [kk, n]), tdy = tf.tensor2d(DY, [m, n]);
  // The wasm backend runs kernels synchronously: when tf.matMul returns, the product is in wasm memory
  // (as ours is). dataSync() adds a copy out of the heap plus the JS-side allocation and GC it causes,
  // which at 256³ can cost as much as the product itself, so both are reported and the ratio uses the
  // faster, kernel-only number.
  const tfRun = (a: tf.Tensor2D, b: tf.Tensor2D, ta: boolean, tb: boolean, sync: boolean) => () => {
    const r = tf.matMul(a, b, ta, tb);
    if (sync) r.dataSync();
    r.dispose();
  };
  const passes: [string, () => void, [tf.Tensor2D, tf.Tensor2D, boolean, boolean], () => void][] = [
    ["fwd", () => fwd(m, kk, n, xp, wp, 0, yp, 0), [tx, tw, false, false], () => jsFwd(m, kk, n, X, W, jy)],
    ["bwd_x", () => bwdX(m, kk, n, dyp, wp, dxp, 0), [tdy, tw, false, true], () => jsBwdX(m, kk, n, DY, W, jdx)],
    ["bwd_w", () => bwdW(m, kk, n, xp, dyp, dwp, 0, 0), [tx, tdy, true, false], () => jsBwdW(m, kk, n, X, DY, jdw)],
  ];
  for (const [pass, ours, [ta, tb, fa, fb], js] of passes) {
    const f = flops(m, kk, n) / 1e9;
    // The peak is re-measured beside every row, so ours/peak compares numbers taken under the same load.
    const [to, tt, ts, tj, tp] = timeAll([ours, tfRun(ta, tb, fa, fb, false), tfRun(ta, tb, fa, fb, true), js, runPeak]);
    const o = f / to, t = f / tt, tsync = f / ts, j = f / tj, pk = PEAK_GFLOP / tp;
    const best = Math.max(t, tsync);
    rows.push({ shape: s.label, m, k: kk, n, pass, ours: o, tfjs: t, tfjsDataSync: tsync, js: j, peak: pk, ratioTfjs: o / best, ratioJs: o / j, ratioPeak: o / pk });
  }
  tx.dispose(); tw.dispose(); tdy.dispose();
  arena.release(mark);
}

const pad = (v: string, w: number) => v.padStart(w);
const head = ["shape (m,k,n)", "pass", "ours", "tfjs-wasm", "+dataSync", "plain JS", "peak", "ours/tfjs", "ours/JS", "ours/peak"];
const widths = [28, 6, 7, 10, 10, 9, 7, 10, 8, 10];
console.log("GFLOP/s (2·m·k·n flops per product; median of timed runs). fwd = X·W (no bias, identity: the op tf.matMul does);");
console.log("bwd_x = dY·Wᵀ (tf.matMul(dY, W, false, true)); bwd_w = Xᵀ·dY (tf.matMul(X, dY, true, false)), ours without db.");
console.log("tfjs-wasm: tf.matMul + dispose (the backend is synchronous); +dataSync: also reading the result back to JS.");
console.log("ours/tfjs is against the faster of the two tfjs columns; peak is re-measured beside each row.");
console.log(head.map((h, i) => (i < 2 ? h.padEnd(widths[i]) : pad(h, widths[i]))).join(" "));
console.log(widths.map((w) => "-".repeat(w)).join(" "));
for (const r of rows) {
  console.log([
    `${r.shape} (${r.m},${r.k},${r.n})`.padEnd(widths[0]), r.pass.padEnd(widths[1]),
    pad(r.ours.toFixed(1), widths[2]), pad(r.tfjs.toFixed(1), widths[3]), pad(r.tfjsDataSync.toFixed(1), widths[4]), pad(r.js.toFixed(2), widths[5]),
    pad(r.peak.toFixed(1), widths[6]), pad(`${r.ratioTfjs.toFixed(2)}×`, widths[7]), pad(`${r.ratioJs.toFixed(1)}×`, widths[8]), pad(`${(100 * r.ratioPeak).toFixed(0)}%`, widths[9]),
  ].join(" "));
}
const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
const fwd256 = rows.find((r) => r.m === 256 && r.pass === "fwd");
console.log(`peak: ${peakGf.toFixed(1)} GFLOP/s at start, median beside the rows ${med(rows.map((r) => r.peak)).toFixed(1)}`);
if (fwd256) console.log(`headline: dense forward 256³ = ${fwd256.ours.toFixed(1)} GFLOP/s = ${fwd256.ratioTfjs.toFixed(2)}× tfjs-backend-wasm, ${(100 * fwd256.ratioPeak).toFixed(0)}% of peak`);

// ---- conv2d at W2's shapes (bench/conv-rows.ts, shared with bench:train -- --w2)
const convRows = timeConvRows(k, arena, { minRunS: MIN_RUN_S, repeats: REPEATS });
console.log("\nconv2d (NCHW), W2 shapes, valid padding, the kernels the conv2d op picks (bench/conv-rows.ts), relu fused; GFLOP/s = 2·n·c_out·K·P per pass / CPU time");
console.log("(the direct convolution's flops whatever the algorithm: Winograd rows are effective rates; median [min – max] over rounds)");
printConvRows(convRows);

if (jsonFile) {
  writeFileSync(jsonFile, JSON.stringify({ date: new Date().toISOString(), node: process.version, artifact: wasmPath, tfjs: { version: tf.version_core, simd: tfSimd, threads: tfThreads }, peakGflops: peakGf, unit: "GFLOP/s", rows, convRows }, null, 2) + "\n");
  console.log(`wrote ${jsonFile}`);
}
