// Messages between the demo page (demo.ts) and its training worker (worker.ts). Types only.
import type { EpochLog } from "../../src/train/trainer.ts";
import type { ReportData, TaskReport } from "../../src/report/data.ts";

export type DatasetName = "synthetic" | "wine" | "toy" | "multimnist" | "text";
export type ArchitectureName = "mmoe" | "hps" | "cgc";
export type WeightingName = "static" | "uncertainty" | "dwa" | "gls" | "rlw";

/** page → worker: what to train. */
export interface TrainRequest {
  type: "train";
  dataset: DatasetName;
  /** synthetic: the task correlation p ∈ [0, 1]. */
  correlation: number;
  architecture: ArchitectureName;
  /** ≥ 1 (the page refuses anything else). */
  epochs: number;
  seed: number;
  weighting: WeightingName;
  /** wine: the text of winequality-red.csv and winequality-white.csv. */
  wine?: { red: string; white: string };
  /** multimnist: training composites (a tenth of them held out for validation) and test composites. */
  composites?: { train: number; test: number };
}

/** page → worker: finish the current epoch, then stop (the best epoch so far is kept, exported and reported). */
export interface StopRequest {
  type: "stop";
}

export interface TaskInfo {
  name: string;
  type: "binary" | "regression" | "multiclass" | "tagging";
  /** Output columns: 1, the class count, or the label count (a box: 4); tagging: the tag count (per token). */
  width: number;
}

export interface StartMessage {
  type: "start";
  tasks: TaskInfo[];
  params: number;
  stepsPerEpoch: number;
  epochs: number;
  note: string;
  trainRows: number;
  validationRows: number;
}

/** Steps since the last message: losses[t][k] and scales[t][k] of step first + k. */
export interface StepsMessage {
  type: "steps";
  first: number;
  losses: number[][];
  scales: number[][];
}

export interface EpochMessage {
  type: "epoch";
  log: EpochLog;
  /** The per-task training/validation curves so far, as the report draws them. */
  curves: TaskReport[];
  /** The epoch whose weights are kept so far (best validation value of `monitor`). */
  kept: number;
  monitor: string;
}

/** The held-out rows the page runs through the ONNX model: raw inputs and labels (NaN where missing). */
export interface Probe {
  /** The ONNX input: "numeric" (tabular), "tensor" (MultiMNIST pixels / 255) or "tokens" (text: rows of raw `texts`). */
  input: "numeric" | "tensor" | "tokens";
  /** [rows, width] float32 (empty for "tokens"). */
  data: Float32Array;
  width: number;
  rows: number;
  /** Input names of the columns (tabular), and the ones the page's table shows. */
  features: string[];
  shown: number[];
  /** Per task [rows, task width]: the label (multiclass: the class index), NaN where missing. */
  labels: Float32Array[];
  /** tokens: the utterances (space-separated tokens), run as rows { tokens: text }. */
  texts?: string[];
  /** tokens: each utterance's gold intent and tags. */
  gold?: { intent: string; slots: string[] }[];
  /** What the rows are ("1,300 held-out rows", "1,000 test composites"). */
  what: string;
}

export interface DoneMessage {
  type: "done";
  onnx: Uint8Array;
  probe: Probe;
  tasks: TaskInfo[];
  /** The report `mtl report` would write for this run (src/report/data.ts). */
  report: ReportData;
  /** Whether the user stopped the run before its last epoch. */
  stopped: boolean;
  ms: number;
}

export interface ErrorMessage {
  type: "error";
  error: string;
}

export type WorkerMessage = StartMessage | StepsMessage | EpochMessage | DoneMessage | ErrorMessage | { type: "status"; text: string };
