// The API of mtl-wasm but the Parquet reader (src/index.ts adds it): what the edge worker entry (src/entry/worker.ts)
// exports, so its bundle leaves hyparquet out. Nothing else is API.

// The high-level API: train a model from rows, a Table or CSV in a few lines (src/api/train.ts)
export { train, toTable } from "./api/train.ts";
export type { StreamedData, TrainData, TrainOptions, Trained, Workers } from "./api/train.ts";
export type { DataWarning } from "./data/warnings.ts";

// Kernels and memory
export { loadKernels } from "./runtime/load.ts";
export type { Kernels, KernelFn, WasmSource } from "./runtime/load.ts";
export { Arena } from "./runtime/heap.ts";
export type { Region } from "./runtime/heap.ts";
export { ABI_VERSION } from "./runtime/abi.ts";

// Model spec and model
export { validateSpec, SpecError, outputWidth } from "./model/spec.ts";
export type { ModelSpec, Task, TaskType, Layer, Activation, Architecture, TrainingOptions, TokenInput, Conv1dLayer, GruLayer, NumericEncoding, NumericEncodingBase, StandardizeEncoding, QuantileEncoding, PleEncoding, TreeBins, PeriodicEncoding } from "./model/spec.ts";
export { Model, planBatch, INFER_PLANS, MAX_INFER_BATCH } from "./model/model.ts";
export type { Built, NamedOutput, ProgramIO, TaskIO } from "./model/model.ts";

// The model graph: one typed graph that training, export, the mtl engine and summaries read
export { lowerSpec } from "./model/lower.ts";
export type { Boundary, DataDims } from "./model/lower.ts";
export { Graph } from "./graph/graph.ts";
export type { Value, Node, Role, TaskPorts } from "./graph/graph.ts";
export { OPS } from "./graph/registry.ts";
export type { OpDef } from "./graph/op.ts";

// Data: byte sources, readers, tables, splits, preprocessing
export { fromBytes, fromString, fromChunks, fromReadableStream } from "./data/source.ts";
export type { ByteSource } from "./data/source.ts";
export { openCsv } from "./data/csv.ts";
export { openCensus, CENSUS_COLUMNS } from "./data/census.ts";
export { openJsonl } from "./data/jsonl.ts";
export { openArff } from "./data/arff.ts";
export type { ArffAttribute, ArffStream, ArffType } from "./data/arff.ts";
export { Table } from "./data/table.ts";
export { readTable, readIdxTable, splitRows, checkColumns } from "./data/load.ts";
export { openStreaming } from "./data/stream.ts";
export type { Reopen, StreamingData, StreamingOptions } from "./data/stream.ts";
export type { StreamBatches } from "./data/stream-batches.ts";
export { trainStreaming } from "./train/stream-train.ts";
export type { StreamingRun } from "./train/stream-train.ts";
export type { Batch, BatchSource } from "./train/batches.ts";
export { readIdx, openIdx, encodeIdx, IdxError } from "./data/idx.ts";
export type { IdxArray, IdxType, IdxStream, IdxHeader } from "./data/idx.ts";
export { generateMultiMnist, parseMnistPackageDigits, idxDigits, multiMnistCsv, MULTIMNIST_COLUMNS } from "./data/multimnist.ts";
export type { DigitSet, MultiMnist } from "./data/multimnist.ts";
export { trainValidationSplit, permutation } from "./data/split.ts";
export { fitPreprocessing, encode, dataDims } from "./data/preprocess.ts";
export type { Preprocessing, Encoded } from "./data/preprocess.ts";
export type { TokenVocabulary } from "./data/tokens.ts";
export type { NumericStats } from "./data/numeric-encodings.ts";

// Training
export { fit } from "./train/trainer.ts";
export type { FitOptions, FitResult, EpochLog, TrainState } from "./train/trainer.ts";
export { learningRate } from "./train/schedule.ts";
export { localGradients } from "./train/trainer.ts";
export { TaskGradients } from "./train/task-gradients.ts";
export { AffinityRecorder, bestGrouping, groupingScore, mostConflicting, MAX_GROUPING_TASKS } from "./train/affinity.ts";
export type { AffinitySummary, AffinitySample, AffinityOptions } from "./train/affinity.ts";
export type { GradientStage } from "./train/task-gradients.ts";
export type { GradientSource } from "./train/trainer.ts";
export { parallelGradients, canRunParallel } from "./train/parallel.ts";
export type { ParallelOptions, ParallelGradients, WorkerLike } from "./train/parallel.ts";
export { autoGradients, adaptiveGradients, ThreadChooser, availableThreads, autoThreadCount } from "./train/auto-threads.ts";
export { shardedGradients, type ShardedGradients } from "./train/sharded.ts";
export type { AutoGradients, AutoOptions, AdaptiveOptions, ChooserOptions, ThreadDecision, ThreadMode } from "./train/auto-threads.ts";
export { serveParallel } from "./train/parallel-worker.ts";
export { serveStream } from "./data/stream-serve.ts";
export type { StreamWorkerInit, StreamPort } from "./data/stream-serve.ts";
export { mmoeSynthetic } from "./data/synthetic.ts";

// Metrics
export { rocAuc } from "./metrics/auc.ts";
export { binaryAccuracy, multiclassAccuracy, binaryLogLoss, multiclassLogLoss } from "./metrics/classification.ts";
export { rmse, mae, r2, explainedVariance } from "./metrics/regression.ts";
export { boxIou, meanIou, iouRate } from "./metrics/box.ts";
export { deltaM } from "./metrics/delta-m.ts";
export { evaluatePredictions } from "./metrics/evaluate.ts";
export { multilabelMetrics, macroAuc, MULTILABEL_METRICS } from "./metrics/multilabel.ts";
export type { MultilabelMetricName } from "./metrics/multilabel.ts";
export type { TaskMetrics } from "./metrics/evaluate.ts";

// ONNX export and inference
export { exportOnnx, onnxInputs } from "./onnx/export.ts";
export { createSession } from "./infer/session.ts";
export type { Session, SessionOptions, Engine, RunOptions } from "./infer/session.ts";
export type { EncodeOptions } from "./infer/rows.ts";
export { encodeRows, modelMetaFromBytes } from "./infer/rows.ts";
export type { InputTensor, ModelMeta, Row } from "./infer/rows.ts";

// Checkpoints (bytes; writing files is the caller's)
export { serialize as serializeSafetensors, deserialize as deserializeSafetensors } from "./io/safetensors.ts";
export { modelJson, parseModelJson, weightsBytes, stateBytes, loadWeights, loadState } from "./io/checkpoint.ts";

// Types that the signatures above use (options, results, the spec's parts), so the API reference can link them
export type { AnyLayer, ActivationLayer, BatchnormLayer, CategoricalInput, ConvLayer, DataSource, FlattenLayer, Inputs, MultilabelGroup, PoolLayer, Relation, WeightingSpec } from "./model/spec.ts";
export { TASK_TYPES } from "./model/spec.ts";
export type { ActivationName } from "./ops/activation.ts";
export type { CsvOptions } from "./data/csv.ts";
export type { CensusOptions } from "./data/census.ts";
export type { JsonlOptions } from "./data/jsonl.ts";
export type { ParsedRow, RowStream } from "./data/source.ts";
export type { IdxData, IdxReadOptions } from "./data/idx.ts";
export type { SplitOptions } from "./data/split.ts";
export type { MmoeSynthetic, MmoeSyntheticOptions } from "./data/synthetic.ts";
export type { CategoricalColumn, NonFinitePolicy, NumericColumnOptions } from "./data/table.ts";
export type { Attrs, Init, ValueKind } from "./graph/graph.ts";
export type { DType, Dim } from "./graph/shape.ts";
export type { RunTensor } from "./infer/feeds.ts";
export type { ModelJson } from "./io/checkpoint.ts";
export type { SafetensorsFile, Tensor, TensorData, Dtype as SafetensorsDtype } from "./io/safetensors.ts";
export type { DeltaMMetric, DeltaMTask } from "./metrics/delta-m.ts";
export type { GateStats, GateSummary } from "./metrics/gates.ts";
export type { ParallelInit, Port } from "./train/parallel-worker.ts";
export type { GradientMode, TaskGradientOptions } from "./train/task-gradients.ts";
