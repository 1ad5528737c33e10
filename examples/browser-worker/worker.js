// The training worker: generates rows, trains with train() and posts each epoch's progress, then the final metrics.
// Messages out: { type: "epoch", epoch, objective, auc, rmse }, { type: "done", metrics, seconds }, { type: "error", message }.
import { train } from "mtl-wasm";

const spec = {
  name: "browser-demo",
  inputs: { numeric: ["a", "b"], categorical: [{ column: "color", dim: 2 }] },
  architecture: { type: "hps", layers: [16] },
  tasks: [
    { name: "above", type: "binary", label: "y" },     // is a above b?
    { name: "sum", type: "regression", label: "r" },   // a + 2b (+1 for red)
  ],
  training: { batch_size: 32, seed: 3, validation: 0.2, optimizer: { type: "adam", lr: 0.02 } },
};

/** n seeded rows (a small LCG, so every run sees the same data). */
function rows(n) {
  let s = 12345;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0), s / 2 ** 32);
  return Array.from({ length: n }, (_, i) => {
    const a = rnd() * 2 - 1, b = rnd() * 2 - 1, color = ["red", "green", "blue"][i % 3];
    return { a, b, color, y: a > b ? 1 : 0, r: a + 2 * b + (color === "red" ? 1 : 0) };
  });
}

self.onmessage = async ({ data: { rows: n, epochs } }) => {
  const t0 = performance.now();
  try {
    const run = await train(spec, rows(n), {
      epochs,
      // Every epoch: the combined training objective and the validation metrics per task.
      onEpoch: (log) => self.postMessage({ type: "epoch", epoch: log.epoch, objective: log.objective, auc: log.validation.above.auc, rmse: log.validation.sum.rmse }),
    });
    self.postMessage({ type: "done", metrics: run.metrics, seconds: (performance.now() - t0) / 1000 });
    await run.dispose();
  } catch (e) {
    self.postMessage({ type: "error", message: String(e?.stack ?? e) });
  }
};
