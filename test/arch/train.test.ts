// A short training run of each new architecture learns: on seeded rows whose labels depend on the inputs, the
// training loss of every task falls by a clear margin over 8 epochs, and validation AUC of the binary task ends
// well above chance. (Gradient correctness itself: test/model/arch-gradcheck.test.ts.)
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { WASM_PATH } from "../helpers.ts";
import { train } from "../../src/api/train.ts";

const compiled = WebAssembly.compile(readFileSync(WASM_PATH));

/** 400 seeded rows: y = [x0 + x1·x2 > 0], r = 2·x0 − x1² (+ a little noise). */
function rows(n = 400) {
  let s = 987;
  const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0), s / 2 ** 32);
  return Array.from({ length: n }, () => {
    const x = [rnd() * 2 - 1, rnd() * 2 - 1, rnd() * 2 - 1, rnd() * 2 - 1];
    return { x0: x[0], x1: x[1], x2: x[2], x3: x[3], y: x[0] + x[1] * x[2] > 0 ? 1 : 0, r: 2 * x[0] - x[1] * x[1] + 0.1 * (rnd() - 0.5) };
  });
}

for (const architecture of [
  { type: "ple", levels: 2, shared_experts: 1, task_experts: 1, layers: [8] },
  { type: "ple", levels: 2, shared_experts: 1, task_experts: 1, gate_input: "raw", layers: [8] },
  { type: "cross_stitch", layers: [8, 6] },
]) {
  test(`${architecture.type}${architecture.gate_input ? ` (gate_input ${architecture.gate_input})` : ""}: the training loss falls and the binary task is learnt`, async () => {
    const spec = {
      name: architecture.type,
      inputs: { numeric: ["x0", "x1", "x2", "x3"] },
      architecture,
      tasks: [
        { name: "big", type: "binary", label: "y" },
        { name: "size", type: "regression", label: "r" },
      ],
      training: { epochs: 8, batch_size: 16, seed: 3, optimizer: { type: "adam", lr: 0.01 } },
    };
    const run = await train(spec, rows(), { kernels: await compiled, onWarning: (w) => assert.unreachable(w.message) });
    const first = run.history[0].trainLoss, last = run.history[run.history.length - 1].trainLoss;
    for (const t of ["big", "size"]) assert.ok(last[t] < 0.7 * first[t], `${t}: loss ${first[t].toFixed(4)} → ${last[t].toFixed(4)}`);
    assert.ok(run.metrics.big.auc > 0.85, `auc ${run.metrics.big.auc}`);
    await run.dispose();
  });
}

test.run();
