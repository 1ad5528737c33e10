// Cost of the task-balancing methods on workload W1 (bench/w1.ts: 3 tasks, 8,192 rows, batch 128, Adam):
// ms per training step of every method, in each gradient mode LibMTL allows, beside equal weighting (static),
// in one process, methods interleaved round by round so load from elsewhere hits all alike.
//
//   npm run bench:train -- --methods [--quick] [--json FILE]
//
// One repeat = one epoch (64 steps) through `fit` (the library's loop, resumed so counters continue), after one
// untimed warm-up epoch per method. Reported: median ms/step over repeats, [min – max], and the ratio to static's
// median. Targets (issue 12): rep_grad methods ≤ 1.3× static; parameter-gradient methods ≤ (T + 0.5)× = 3.5×.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { loadKernels } from "../src/runtime/load.ts";
import { Model } from "../src/model/model.ts";
import { fit, type TrainState } from "../src/train/trainer.ts";
import { validateSpec, WEIGHTINGS, WEIGHTING_GRADIENTS } from "../src/model/spec.ts";
import { spec as w1, pre, SEED, W1_ROWS, BATCH, w1Data } from "./w1.ts";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const jsonAt = args.indexOf("--json");
const REPEATS = quick ? 2 : 5;
const STEPS = W1_ROWS / BATCH;
const k = await loadKernels(readFileSync(process.env.MTL_WASM ?? fileURLToPath(new URL("../build/mtl.wasm", import.meta.url))));
const data = w1Data(W1_ROWS);
const T = w1.tasks.length;

interface Run {
  name: string;
  kind: string;
  epoch(): Promise<number>;
  times: number[];
}

function run(type: (typeof WEIGHTINGS)[number], rep?: boolean): Run {
  const s = validateSpec({ ...w1, training: { ...w1.training, weighting: rep === undefined ? { type } : { type, rep_grad: rep } } });
  const model = new Model(s, pre, k);
  model.initParams(SEED);
  let state: TrainState | undefined;
  const kind = WEIGHTING_GRADIENTS[type] === "loss" ? "loss" : rep ? "rep" : "param";
  return {
    name: rep === undefined ? type : `${type} (${rep ? "rep" : "param"})`,
    kind,
    times: [],
    async epoch() {
      const t0 = performance.now();
      const r = await fit(model, data, null, { epochs: (state?.epoch ?? 0) + 1, resume: state });
      state = r.state;
      return (performance.now() - t0) / STEPS;
    },
  };
}

const runs: Run[] = [];
for (const type of WEIGHTINGS) {
  const g = WEIGHTING_GRADIENTS[type];
  if (g === "loss") runs.push(run(type));
  if (g === "param" || g === "both") runs.push(run(type, false));
  if (g === "rep" || g === "both") runs.push(run(type, true));
}
for (const r of runs) await r.epoch(); // warm-up
for (let i = 0; i < REPEATS; i++) for (const r of runs) r.times.push(await r.epoch());

const median = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const base = median(runs.find((r) => r.name === "static")!.times);
console.log(`W1 (${T} tasks, batch ${BATCH}), ms per step, median of ${REPEATS} epochs [min – max]; ratio to static`);
console.log(`| method | gradients | ms/step | ratio | target |`);
console.log(`|---|---|---:|---:|---|`);
const rows = runs.map((r) => {
  const m = median(r.times), ratio = m / base;
  const target = r.kind === "rep" ? 1.3 : r.kind === "param" ? T + 0.5 : null;
  const ok = target === null ? "" : ratio <= target ? `≤ ${target}× ok` : `≤ ${target}× MISSED`;
  console.log(`| ${r.name} | ${r.kind} | ${m.toFixed(3)} [${Math.min(...r.times).toFixed(3)} – ${Math.max(...r.times).toFixed(3)}] | ${ratio.toFixed(2)}× | ${ok} |`);
  return { name: r.name, kind: r.kind, ms: m, times: r.times, ratio, target };
});
if (jsonAt >= 0) writeFileSync(args[jsonAt + 1], JSON.stringify({ base, rows }, null, 2));
