// Demo worker: trains the two-task MMoE of the runtime scenario (more rows and epochs, uncertainty weighting) and
// streams per-step losses and per-epoch task weights to the page; at the end it exports ONNX and transfers it.
import { loadInlineKernels } from "../../src/entry/inline.ts";
import { validateSpec } from "../../src/model/spec.ts";
import { Model } from "../../src/model/model.ts";
import { fit } from "../../src/train/trainer.ts";
import { exportOnnx } from "../../src/onnx/export.ts";
import { FEATURES, makeData, makePreprocessing, encodeData } from "../../test/runtimes/scenario.ts";

export interface TrainRequest {
  rows: number;
  probeRows: number;
  epochs: number;
  seed: number;
  weighting: "static" | "uncertainty" | "dwa" | "gls" | "rlw";
}

const post = (m: unknown, transfer: Transferable[] = []) => (globalThis as unknown as Worker).postMessage(m, transfer);

async function train(req: TrainRequest): Promise<void> {
  const t0 = performance.now();
  const kernels = await loadInlineKernels();
  const spec = validateSpec({
    name: "demo-mmoe",
    inputs: { numeric: Array.from({ length: FEATURES }, (_, j) => `x${j}`) },
    architecture: { type: "mmoe", experts: 4, layers: [{ units: 32, activation: "relu", dropout: 0.1 }] },
    tasks: [
      { name: "click", type: "binary", label: "y_click", tower: [{ units: 16, activation: "tanh" }] },
      { name: "value", type: "regression", label: "y_value", tower: [{ units: 16, activation: "gelu" }] },
    ],
    training: { epochs: req.epochs, batch_size: 64, seed: req.seed, optimizer: { type: "adam", lr: 0.005 }, weighting: { type: req.weighting } },
  });
  const raw = makeData(req.rows + req.probeRows, req.seed);
  const pre = makePreprocessing(raw, req.rows);
  const all = encodeData(pre, raw, req.rows);
  const model = new Model(spec, pre, kernels);
  model.initParams(req.seed);
  post({ type: "start", tasks: spec.tasks.map((t) => t.name), params: model.store.total, steps: Math.ceil(req.rows / 64) * req.epochs });
  await fit(model, all, null, {
    onStep: (step, losses, scales) => post({ type: "step", step, losses: Array.from(losses), scales: Array.from(scales) }),
    onEpoch: (e) => post({ type: "epoch", epoch: e.epoch, loss: e.trainLoss, weights: e.weights, objective: e.objective, seconds: e.seconds }),
    // Yield between epochs so the page's messages flow and the curves animate.
    afterEpoch: () => new Promise((r) => setTimeout(r, 0)),
  });
  const onnx = exportOnnx(model);
  const probe = raw.x.slice(req.rows * FEATURES);
  post(
    { type: "done", onnx, probe, click: raw.click.slice(req.rows), value: raw.value.slice(req.rows), ms: Math.round(performance.now() - t0) },
    [onnx.buffer, probe.buffer],
  );
}

(globalThis as unknown as Worker).onmessage = (e: MessageEvent<TrainRequest>) =>
  train(e.data).catch((err) => post({ type: "error", error: String((err as Error)?.stack ?? err) }));
