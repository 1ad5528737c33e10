// Demo worker: prepares the chosen data set (datasets.ts, multimnist-data.ts), trains the chosen architecture and
// streams per-step losses and weights and per-epoch curves to the page (protocol.ts); at the end it exports ONNX and
// assembles the report `mtl report` would write for the run (src/report/data.ts), and transfers both with the probe
// rows. A "stop" message ends training after the current epoch; the best epoch so far is kept.
import { loadInlineKernels } from "../../src/entry/inline.ts";
import { Model } from "../../src/model/model.ts";
import { fit, type EpochLog, type TrainState } from "../../src/train/trainer.ts";
import { exportOnnx } from "../../src/onnx/export.ts";
import { evaluatePredictions } from "../../src/metrics/evaluate.ts";
import { summarize } from "../../src/graph/summary.ts";
import { assembleReport, taskCurves, type ReportData } from "../../src/report/data.ts";
import { synthetic, toy, wine, type Prepared } from "./datasets.ts";
import { multimnist } from "./multimnist-data.ts";
import { atis } from "./text-data.ts";
import type { DoneMessage, StopRequest, TaskInfo, TrainRequest, WorkerMessage } from "./protocol.ts";

const post = (m: WorkerMessage, transfer: Transferable[] = []) => (globalThis as unknown as Worker).postMessage(m, transfer);
/** Steps are sent in batches at most this often (ms), and at the end of each epoch. */
const FLUSH_MS = 100;

class Stopped extends Error {}
let stopRequested = false;

async function prepare(req: TrainRequest): Promise<Prepared> {
  const status = (text: string) => post({ type: "status", text });
  if (req.dataset === "wine") return wine(req);
  if (req.dataset === "toy") return toy(req);
  if (req.dataset === "multimnist") return multimnist(req, status);
  if (req.dataset === "text") return atis(req, status);
  status("generating the synthetic rows…");
  return synthetic(req);
}

async function run(req: TrainRequest): Promise<void> {
  const t0 = performance.now();
  if (!(Number.isInteger(req.epochs) && req.epochs >= 1)) throw new Error(`epochs must be a whole number ≥ 1, got ${req.epochs}`);
  const kernels = await loadInlineKernels();
  const d = await prepare(req);
  const { spec, pre } = d;
  const model = new Model(spec, pre, kernels);
  try {
    model.initParams(req.seed);
    const T = spec.tasks.length;
    const tasks: TaskInfo[] = spec.tasks.map((t, i) => ({ name: t.name, type: t.type === "binary" || t.type === "multiclass" || t.type === "tagging" ? t.type : "regression", width: model.dims.outputs[i] }));
    const stepsPerEpoch = Math.ceil(d.train.rows / spec.training.batch_size);
    const monitor = spec.training.early_stopping!.metric;
    post({ type: "start", tasks, params: model.store.total, stepsPerEpoch, epochs: req.epochs, note: d.note, trainRows: d.train.rows, validationRows: d.validation.rows });

    // steps.csv as `mtl train` writes it (the report's per-step charts), and the batch not yet sent to the page.
    const stepRows: string[] = [["step", "epoch", ...spec.tasks.map((t) => `loss:${t.name}`), ...spec.tasks.map((t) => `weight:${t.name}`)].join(",")];
    let batch = { first: 1, losses: spec.tasks.map(() => [] as number[]), scales: spec.tasks.map(() => [] as number[]) };
    let lastFlush = performance.now();
    const flush = () => {
      if (batch.losses[0].length) post({ type: "steps", ...batch });
      batch = { first: batch.first + batch.losses[0].length, losses: spec.tasks.map(() => []), scales: spec.tasks.map(() => []) };
      lastFlush = performance.now();
    };
    const history: EpochLog[] = [];
    let state: TrainState | null = null, best: Float32Array | null = null;
    let stopped = false;
    try {
      await fit(model, d.train, d.validation, {
        onStep: (step, losses, scales) => {
          stepRows.push([step, Math.floor((step - 1) / stepsPerEpoch) + 1, ...Array.from(losses, (x) => x.toPrecision(6)), ...Array.from(scales, (x) => x.toPrecision(6))].join(","));
          for (let t = 0; t < T; t++) batch.losses[t].push(losses[t]), batch.scales[t].push(scales[t]);
          if (performance.now() - lastFlush > FLUSH_MS) flush();
        },
        onEpoch: (log) => history.push(log),
        afterEpoch: async (st, snap) => {
          (state = st), (best = snap);
          flush();
          const kept = st.bestEpoch > 0 ? st.bestEpoch : st.epoch;
          // The curves' "kept model" values: the kept epoch's validation metrics.
          const keptMetrics = (history[kept - 1]?.validation ?? {}) as Record<string, Record<string, number>>;
          post({ type: "epoch", log: history[history.length - 1], curves: taskCurves(spec, pre, history, keptMetrics), kept, monitor });
          // Yield, so the page's messages (stop) are handled and its curves animate.
          await new Promise((r) => setTimeout(r, 0));
          if (stopRequested && st.epoch < req.epochs) throw new Stopped();
        },
      });
    } catch (e) {
      if (!(e instanceof Stopped)) throw e;
      // fit restores the best weights only when it returns: do it here.
      stopped = true;
      if (best) model.restore(best);
    }
    const st = state!;
    const keptEpoch = best ? st.bestEpoch : st.epoch;
    const trainSeconds = (performance.now() - t0) / 1000;
    const onnx = exportOnnx(model);
    const report = runReport(model, d, history, stepRows.join("\n") + "\n", { keptEpoch, epochsRun: st.epoch, trainSeconds, stopped, req });
    const done: DoneMessage = { type: "done", onnx, probe: d.probe, tasks, report, stopped, ms: Math.round(performance.now() - t0) };
    post(done, [onnx.buffer, d.probe.data.buffer, ...d.probe.labels.map((l) => l.buffer)]);
  } finally {
    model.dispose();
  }
}

/** The report data of this run, as `mtl report` assembles it from a model directory (src/report/load.ts). */
function runReport(model: Model, d: Prepared, history: EpochLog[], steps: string, o: { keptEpoch: number; epochsRun: number; trainSeconds: number; stopped: boolean; req: TrainRequest }): ReportData {
  const { spec, pre } = d;
  const predictions = model.predict(d.validation);
  const validation = evaluatePredictions(spec, pre, model.dims.outputs, predictions, d.validation);
  const metrics = {
    data: d.data,
    rows: { train: d.train.rows, validation: d.validation.rows },
    best_epoch: o.keptEpoch,
    epochs_run: o.epochsRun,
    train_seconds: o.trainSeconds,
    validation,
    history,
    environment: {
      runtime: `browser: ${navigator.userAgent}`,
      "trained by": "the mtl-wasm demo page, in a Web Worker",
      threads: "1",
      ...(o.stopped ? { stopped: `by the user after epoch ${o.epochsRun} of ${o.req.epochs}` } : {}),
      started: new Date(Date.now() - o.trainSeconds * 1000).toISOString(),
    },
  };
  return assembleReport({
    spec,
    pre,
    metrics,
    steps,
    affinity: null,
    summary: summarize(model.graph, model.store.params),
    widths: model.dims.outputs,
    predictions,
    labels: d.validation.tasks,
    validationRows: d.validation.rows,
  });
}

(globalThis as unknown as Worker).onmessage = (e: MessageEvent<TrainRequest | StopRequest>) => {
  if (e.data.type === "stop") {
    stopRequested = true;
    return;
  }
  run(e.data).catch((err) => post({ type: "error", error: String((err as Error)?.stack ?? err) }));
};
