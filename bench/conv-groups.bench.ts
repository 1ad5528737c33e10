// Grouped and depthwise convs against the full convolution they replace (issue 13): one training step (forward and
// backward, no optimizer) of a single conv block on a 32×13×13 image input, batch 64, as a first layer (no dX), each
// row a model of its own: the block → global average pool → a regression head. Grouped convs run the ungrouped
// kernels once per (image, group) slice (src/ops/conv.ts), so this shows what a depthwise-separable block costs
// today, not a tuned kernel.
//
//   node --import tsx bench/conv-groups.bench.ts [--quick]        (npm run bench:conv-groups)
//
// Times are CPU time of this process (process.cpuUsage), median [min – max] over rounds of 10 steps after 5 warm-up
// steps; the rows run interleaved, round by round, so a burst of load elsewhere hits all of them. MTL_WASM=path
// overrides the artifact (default build/mtl.wasm).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { loadKernels } from "../src/runtime/load.ts";
import { Model } from "../src/model/model.ts";
import { validateSpec } from "../src/model/spec.ts";
import type { Encoded, Preprocessing } from "../src/data/preprocess.ts";

const quick = process.argv.includes("--quick");
const ROUNDS = quick ? 3 : 7, STEPS = 10;
const B = 64, C = 32, H = 13;
const k = await loadKernels(readFileSync(process.env.MTL_WASM ?? fileURLToPath(new URL("../build/mtl.wasm", import.meta.url))));
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e3;
};

const ROWS: [string, unknown[]][] = [
  ["conv 32→64 3×3 same relu (Winograd F(4×4))", [{ type: "conv", filters: 64, kernel: 3, padding: "same" }]],
  ["depthwise 32 3×3 same relu (direct, 32 slices an image)", [{ type: "conv", filters: 32, kernel: 3, padding: "same", groups: "depthwise" }]],
  ["1×1 conv 32→64 relu (GEMM)", [{ type: "conv", filters: 64, kernel: 1 }]],
  ["depthwise 3×3 + 1×1 → 64 (separable block)", [{ type: "conv", filters: 32, kernel: 3, padding: "same", groups: "depthwise" }, { type: "conv", filters: 64, kernel: 1 }]],
  ["conv 32→64 3×3 same relu, groups 4 (Winograd, 4 slices)", [{ type: "conv", filters: 64, kernel: 3, padding: "same", groups: 4 }]],
];

/** One training step (forward, then backward with unit loss scales) of a model of `layers`, as a closure. */
function stepOf(layers: unknown[]): () => void {
  const spec = validateSpec({
    inputs: { image: { channels: C, height: H, width: H } },
    architecture: { type: "hps", layers: [...layers, { type: "pool", mode: "global_avg" }, { type: "flatten" }] },
    tasks: [{ name: "t", type: "regression", label: "y" }],
    training: { batch_size: B },
  });
  const pre: Preprocessing = { numeric: [], categorical: [], tasks: [{ name: "t", classes: null, groups: null, target: null }] };
  const m = new Model(spec, pre, k);
  m.initParams(1);
  const built = m.program(B, true);
  const enc: Encoded = {
    rows: B,
    numeric: new Float32Array(0),
    categorical: [],
    tensor: Float32Array.from({ length: B * C * H * H }, (_, i) => Math.sin(i)),
    tasks: [{ labels: Float32Array.from({ length: B }, (_, i) => i % 3), mask: new Float32Array(B).fill(1), group: new Int32Array(0) }],
  };
  m.feed(built, enc, Int32Array.from({ length: B }, (_, i) => i), 0, B);
  return () => {
    for (const f of built.program.forward) f();
    built.io.scales.fill(1);
    for (const f of built.program.backward) f();
  };
}

const steps = ROWS.map(([, layers]) => stepOf(layers));
for (const s of steps) for (let i = 0; i < 5; i++) s();
const times: number[][] = ROWS.map(() => []);
for (let r = 0; r < ROUNDS; r++) {
  steps.forEach((s, i) => {
    const t0 = cpuMs();
    for (let j = 0; j < STEPS; j++) s();
    times[i].push((cpuMs() - t0) / STEPS);
  });
}
const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
const full = med(times[0]);
console.log(`one training step (forward + backward) of a conv block on ${C}×${H}×${H}, batch ${B}, first layer; CPU ms, median [min – max] over ${ROUNDS} rounds of ${STEPS} steps`);
console.log(`${"block".padEnd(58)} ${"ms".padStart(7)} ${"[min – max]".padEnd(16)} ${"vs full conv".padStart(12)}`);
ROWS.forEach(([name], i) => {
  const t = med(times[i]);
  console.log(`${name.padEnd(58)} ${t.toFixed(2).padStart(7)} ${`[${Math.min(...times[i]).toFixed(2)} – ${Math.max(...times[i]).toFixed(2)}]`.padEnd(16)} ${`${(full / t).toFixed(2)}×`.padStart(12)}`);
});
