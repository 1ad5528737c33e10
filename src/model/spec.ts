// The model spec: plain JSON that drives training, ONNX export, the CLI and the docs.
// `validateSpec` checks a parsed JSON value and returns a normalized copy with every default filled in;
// every error names the offending path, e.g. `tasks[2].loss: "bce" needs type "binary" or "multilabel"`.

import { ACTIVATION_NAMES, type ActivationName } from "../ops/activation.ts";
import { MULTILABEL_HIGHER_IS_BETTER, MULTILABEL_METRICS, type MultilabelMetricName } from "../metrics/multilabel.ts";

/** "none" and every activation op in src/ops/activation.ts. */
export const ACTIVATIONS: readonly Activation[] = ["none", ...ACTIVATION_NAMES];
/** An activation name of the spec: "none" (identity) or an activation op (relu, leaky_relu, silu, sigmoid, tanh, gelu). */
export type Activation = "none" | ActivationName;
/**
 * The task types, as `tasks[].type` takes them: binary (one 0/1 or `positive` label column, sigmoid output),
 * multiclass (one label column, softmax over the classes), multilabel (one 0/1 column per label, a sigmoid each),
 * regression (one or more numeric columns, standardized for training, predicted in their units), tagging (one label
 * column holding a tag per token of inputs.tokens, space-separated; softmax over the tag classes at every token).
 */
export const TASK_TYPES = ["binary", "multiclass", "multilabel", "regression", "tagging"] as const;
/** One of TASK_TYPES. */
export type TaskType = (typeof TASK_TYPES)[number];
export const LOSSES = ["bce", "xent", "mse", "mae", "huber", "smooth_l1", "giou"] as const;
export type LossName = (typeof LOSSES)[number];
export const ARCHITECTURES = ["hps", "mmoe", "cgc", "ple", "cross_stitch", "dselect_k"] as const;
export type ArchitectureType = (typeof ARCHITECTURES)[number];
export const WEIGHTINGS = [
  "static", "uncertainty", "dwa", "gls", "rlw", "famo", "stch",
  "gradnorm", "mgda", "pcgrad", "graddrop", "gradvac", "cagrad", "imtl", "aligned_mtl", "nash_mtl", "upgrad", "db_mtl",
] as const;
export type WeightingName = (typeof WEIGHTINGS)[number];

/**
 * Which gradients a balancing method reads (LibMTL's rules): "loss" methods only scale losses; the others need
 * per-task gradients, of the shared parameters (`rep_grad: false`) or of the shared representation (`rep_grad:
 * true`, one trunk backward per step). "param" methods need the parameters' gradients (their geometry is defined
 * there: PCGrad/GradVac/CAGrad/Nash-MTL/UPGrad/DB-MTL), "rep" ones the representation's (GradDrop masks the
 * representation's features), "both" work either way.
 */
export const WEIGHTING_GRADIENTS: Record<WeightingName, "loss" | "param" | "rep" | "both"> = {
  static: "loss", uncertainty: "loss", dwa: "loss", gls: "loss", rlw: "loss", famo: "loss", stch: "loss",
  gradnorm: "both", mgda: "both", imtl: "both", aligned_mtl: "both",
  pcgrad: "param", gradvac: "param", cagrad: "param", nash_mtl: "param", upgrad: "param", db_mtl: "param",
  graddrop: "rep",
};
export const MGDA_NORMALIZATIONS = ["none", "l2", "loss", "loss+"] as const;

/** The options of training.weighting besides `type`, each with the methods it applies to and its default. */
const WEIGHTING_OPTIONS: Record<string, { methods: WeightingName[]; dflt: number | string; check?: { int?: boolean; min?: number; max?: number; gt?: number; lt?: number; limit?: number }; values?: readonly string[] }> = {
  temperature: { methods: ["dwa"], dflt: 2, check: { gt: 0 } },
  alpha: { methods: ["gradnorm"], dflt: 1.5, check: { min: 0 } },
  normalization: { methods: ["mgda"], dflt: "none", values: MGDA_NORMALIZATIONS },
  leak: { methods: ["graddrop"], dflt: 0, check: { min: 0, max: 1 } },
  beta: { methods: ["gradvac", "db_mtl"], dflt: NaN, check: { min: 0, max: 1 } },
  beta_sigma: { methods: ["db_mtl"], dflt: 0, check: { min: 0 } },
  c: { methods: ["cagrad"], dflt: 0.5, check: { min: 0 } },
  rescale: { methods: ["cagrad"], dflt: 1, check: { int: true, min: 0, max: 2 } },
  update_every: { methods: ["nash_mtl"], dflt: 1, check: { int: true, min: 1, limit: 2 ** 31 - 1 } },
  iterations: { methods: ["nash_mtl"], dflt: 20, check: { int: true, min: 1, limit: 10_000 } },
  max_norm: { methods: ["nash_mtl"], dflt: 1, check: { min: 0 } },
  norm_eps: { methods: ["upgrad"], dflt: 1e-4, check: { min: 0 } },
  reg_eps: { methods: ["upgrad"], dflt: 1e-4, check: { min: 0 } },
  lr: { methods: ["famo"], dflt: 0.025, check: { gt: 0 } },
  decay: { methods: ["famo"], dflt: 1e-3, check: { min: 0 } },
  mu: { methods: ["stch"], dflt: 1, check: { gt: 0 } },
  warmup_epochs: { methods: ["stch"], dflt: 4, check: { int: true, min: 0, limit: 100_000 } },
};
/** Per-method defaults that differ from the option's (beta: GradVac's EMA 0.5, DB-MTL's 0.9, as LibMTL). */
const WEIGHTING_DEFAULTS: Partial<Record<WeightingName, Record<string, number | string>>> = { gradvac: { beta: 0.5 }, db_mtl: { beta: 0.9 } };
export const OPTIMIZERS = ["adam", "adamw", "sgd"] as const;
export const SCHEDULES = ["constant", "step", "cosine"] as const;
/**
 * iou and iou50 apply to box tasks: regression with 4 labels read as [x0, y0, x1, y1] (src/metrics/box.ts). The
 * multi-label metrics (hamming_loss … macro_auc, src/metrics/multilabel.ts) apply to multilabel tasks.
 */
export const METRICS = ["auc", "accuracy", "logloss", "rmse", "mae", "r2", "explained_variance", "iou", "iou50", ...MULTILABEL_METRICS, "span_f1", "sentence_accuracy"] as const;
export type MetricName = (typeof METRICS)[number];
export const DATA_FORMATS = ["csv", "census", "jsonl", "idx", "arff", "parquet", "seqtag"] as const;
/** inputs.missing when the spec leaves it out: the cells read as a missing value. */
export const DEFAULT_MISSING: readonly string[] = ["", "?", "NA", "NaN"];

// ---- size limits ----------------------------------------------------------------------------------------------
// Every size a spec sets is capped, so a slip (batch_size 2**53, experts 1e308) is a SpecError naming the path and
// the limit, not a hang or a failed allocation. The caps sit far above any real config (models/*.json: batch ≤ 256,
// layers ≤ 32 units, 8 experts, embeddings of 4). Whether a model within them fits in wasm memory (4 GiB) depends
// on the data too (vocabularies × embedding dims, classes, groups): Model checks the planned bytes before allocating.
/** training.batch_size. */
export const MAX_BATCH_SIZE = 65_536;
/** training.epochs. */
export const MAX_EPOCHS = 100_000;
/** training.early_stopping.patience (epochs). */
export const MAX_PATIENCE = MAX_EPOCHS;
/** training.schedule.warmup_steps and step_size (optimizer steps). */
export const MAX_STEPS = 2 ** 31 - 1;
/** Units of one layer (architecture.layers, tasks[].tower). */
export const MAX_UNITS = 1_048_576;
/** Layers in one MLP (architecture.layers, tasks[].tower). */
export const MAX_LAYERS = 256;
/** architecture.experts, shared_experts and task_experts (each). */
export const MAX_EXPERTS = 1024;
/** architecture.levels (ple). */
export const MAX_LEVELS = 64;
/** Limit of architecture.cross (DCN-v2 cross layers before the trunk). */
export const MAX_CROSS = 16;
/** inputs.embedding_dim and inputs.categorical[].dim. */
export const MAX_EMBEDDING_DIM = 65_536;
/** inputs.categorical[].min_count (training rows). */
export const MAX_MIN_COUNT = 2 ** 31 - 1;
/** inputs.tokens.max_length: tokens per row after truncation. */
export const MAX_SEQUENCE_LENGTH = 8192;
/** inputs.tokens.vocab_size: token ids, the two reserved ones (padding, unknown) included. */
export const MAX_VOCAB_SIZE = 1_048_576;
/** inputs.tensor: features per row of the raw tensor input. */
export const MAX_TENSOR_WIDTH = 1_048_576;
/** inputs.numeric and inputs.categorical (columns, each list). */
export const MAX_INPUT_COLUMNS = 65_536;
/** tasks. */
export const MAX_TASKS = 1024;
/** tasks[].labels (label columns of one task). */
export const MAX_LABELS = 65_536;
/** tasks[].classes. */
export const MAX_CLASSES = 65_536;
/** training.relations. */
export const MAX_RELATIONS = 65_536;
/** training.affinity.every (optimizer steps between samples). */
export const MAX_AFFINITY_EVERY = MAX_STEPS;
/** training.affinity.every when `affinity` is given without it: recording costs T backwards and T forwards a sample. */
export const DEFAULT_AFFINITY_EVERY = 10;

/**
 * One dense layer: units, activation after it, dropout after the activation, optional layer norm before it.
 * Written as a number (its units) or `{ units, activation?, dropout?, layernorm? }` (`"type": "dense"` optional;
 * the normalized spec leaves `type` out).
 */
export interface Layer {
  /** "dense" or left out (the normalized spec leaves it out). */
  type?: "dense";
  /** Output width, an integer in [1, MAX_UNITS]; required. */
  units: number;
  /** Activation after the layer (after the layer norm); default `architecture.activation` ("relu"). */
  activation: Activation;
  /** Inverted dropout probability after the activation, in [0, 1), training only; default `architecture.dropout` (0). */
  dropout: number;
  /** Layer norm of the dense output before the activation; default false. */
  layernorm: boolean;
}

/**
 * `{ "type": "conv", "filters": 32, "kernel": 3, "stride"?: 1, "padding"?: "valid" | "same" | [top, left, bottom,
 * right], "dilation"?: 1, "groups"?: 1, "activation"?, "batchnorm"?: false, "dropout"?: 0 }` over an image [C, H, W]:
 * conv2d (bias unless batchnorm) → (batchnorm) → activation → (dropout). kernel/stride/dilation: a number or [h, w].
 * "same" pads so that H_out = ⌈H / stride⌉ (the odd pad at the bottom/right). `groups` G splits the channels into G
 * groups convolved apart (ONNX Conv's `group`, PyTorch's `groups`): G divides C and filters; "depthwise" means G = C
 * (a depthwise conv; filters = C·m for m filters per channel).
 */
export interface ConvLayer {
  /** Always "conv". */
  type: "conv";
  /** Output channels, an integer in [1, MAX_UNITS]; required. */
  filters: number;
  /** [height, width] of the kernel, each an integer in [1, MAX_KERNEL]; required (a number n means [n, n]). */
  kernel: [number, number];
  /** [height, width] step, each in [1, MAX_KERNEL]; default [1, 1]. */
  stride: [number, number];
  /** "valid" (no padding, the default), "same" (H_out = ⌈H / stride⌉) or explicit [top, left, bottom, right] in [0, MAX_KERNEL]. */
  padding: "valid" | "same" | [number, number, number, number];
  /** [height, width] spacing of the kernel taps, each in [1, MAX_KERNEL]; default [1, 1]. */
  dilation: [number, number];
  /** Channel groups convolved apart, an integer in [1, MAX_UNITS] dividing the input channels and filters, or "depthwise" (one group per input channel); default 1. */
  groups: number | "depthwise";
  /** Activation after the conv (and batch norm); default `architecture.activation` ("relu"). */
  activation: Activation;
  /** Batch norm per channel after the conv (the conv then has no bias); default false. */
  batchnorm: boolean;
  /** Inverted dropout probability after the activation, in [0, 1); default 0. */
  dropout: number;
}

/**
 * `{ "type": "pool", "mode": "max" | "avg" | "global_avg", "size"?: 2, "stride"?: size }`: windows without
 * padding, floor mode (a 2×2 pool on 5×5 gives 2×2); global_avg gives [C, 1, 1].
 */
export interface PoolLayer {
  /** Always "pool". */
  type: "pool";
  /** max or avg over size×size windows, or global_avg over the whole image (→ [C, 1, 1]); required. */
  mode: "max" | "avg" | "global_avg";
  /** [height, width] window, each in [1, MAX_KERNEL]; default [2, 2]; null for global_avg. */
  size: [number, number] | null;
  /** [height, width] step, each in [1, MAX_KERNEL]; default `size`; null for global_avg. */
  stride: [number, number] | null;
  /** Inverted dropout probability after the pool, in [0, 1); default 0. */
  dropout: number;
}

/** `{ "type": "batchnorm" }` (images: per channel; flat: per feature), `{ "type": "flatten" }` ([C, H, W] → [C·H·W]),
 * `{ "type": "activation", "activation": "relu" }`. */
export interface BatchnormLayer {
  /** Always "batchnorm". */
  type: "batchnorm";
  /** Inverted dropout probability after the layer, in [0, 1); default 0. */
  dropout: number;
}
/** `{ "type": "flatten" }`: an image [C, H, W] as a flat row [C·H·W] (C-major, no copy); a flat input is unchanged. */
export interface FlattenLayer {
  /** Always "flatten". */
  type: "flatten";
  /** Inverted dropout probability after the layer, in [0, 1); default 0. */
  dropout: number;
}
/** `{ "type": "activation", "activation": "relu" }`: an activation alone, elementwise, on any shape. */
export interface ActivationLayer {
  /** Always "activation". */
  type: "activation";
  /** The activation; required. */
  activation: Activation;
  /** Inverted dropout probability after the activation, in [0, 1); default 0. */
  dropout: number;
}

/**
 * `{ "type": "conv1d", "filters": 128, "kernel": 3, "dilation"?: 1, "activation"?, "dropout"?: 0 }` over token rows
 * [L, C] (inputs.tokens): a 1-D convolution over time with `same` length, masked at padding (src/ops/seq-conv.ts)
 * → activation → (dropout). kernel 1 is a dense layer applied to every token. Gives [L, filters].
 */
export interface Conv1dLayer {
  /** Always "conv1d". */
  type: "conv1d";
  /** Output channels, an integer in [1, MAX_UNITS]; required. */
  filters: number;
  /** Taps over time, an integer in [1, MAX_KERNEL]; required. */
  kernel: number;
  /** Spacing of the taps, an integer in [1, MAX_KERNEL]; default 1. */
  dilation: number;
  /** Activation after the conv; default `architecture.activation` ("relu"). */
  activation: Activation;
  /** Inverted dropout probability after the activation, in [0, 1); default 0. */
  dropout: number;
}

/**
 * `{ "type": "bigru", "units": 64, "dropout"?: 0 }` over token rows [L, C]: a bidirectional GRU (src/ops/seq-gru.ts),
 * `units` per direction, each running over the row's real tokens → [L, 2·units] → (dropout).
 */
export interface GruLayer {
  /** Always "bigru". */
  type: "bigru";
  /** Hidden units per direction, an integer in [1, MAX_UNITS]; required. */
  units: number;
  /** Inverted dropout probability after the layer, in [0, 1); default 0. */
  dropout: number;
}

/**
 * Any layer of architecture.layers, an expert or a tower. Dense layers need a flat input: no auto-flatten. conv1d and
 * bigru take token rows [L, C] (inputs.tokens) and give token rows.
 */
export type AnyLayer = Layer | ConvLayer | PoolLayer | BatchnormLayer | FlattenLayer | ActivationLayer | Conv1dLayer | GruLayer;
export const LAYER_TYPES = ["dense", "conv", "pool", "batchnorm", "flatten", "activation", "conv1d", "bigru"] as const;
export const POOL_MODES = ["max", "avg", "global_avg"] as const;
/** Kernel, stride and pool sizes (each side). */
export const MAX_KERNEL = 1024;
/** inputs.image: channels, height, width (each). */
export const MAX_IMAGE_SIDE = 65_536;

/**
 * One categorical column, embedded: written as its column name (defaults below) or `{ column, dim?, min_count? }`.
 * Its vocabulary is learnt from the training rows; unseen values map to the unknown bucket (index 0).
 */
export interface CategoricalInput {
  /** The column's name; required, non-empty, not used by another input or as a label. */
  column: string;
  /** Embedding width, an integer in [1, MAX_EMBEDDING_DIM]; default `inputs.embedding_dim` (4). */
  dim: number;
  /**
   * Values seen fewer times than this in the training rows map to the unknown bucket; an integer in
   * [1, MAX_MIN_COUNT], default 1.
   */
  min_count: number;
}

/**
 * `inputs.tokens`: a text column read as a token sequence (src/data/tokens.ts). A cell is split on whitespace (or is a
 * JSON array of strings, as JSON lines give token arrays), lowercased when `lowercase`. Ids: 0 padding, 1 unknown,
 * then the training rows' tokens by frequency (ties by string). Each row becomes max_length ids (truncated or padded)
 * and a mask of its real tokens.
 */
export interface TokenInput {
  /** The column; required, non-empty, not used by another input or as a label. */
  column: string;
  /** At most this many ids, the 2 reserved included (the embedding table's rows); an integer in [3, MAX_VOCAB_SIZE], or null (min_count decides). */
  vocab_size: number | null;
  /** Tokens seen fewer times than this in the training rows map to the unknown id; an integer ≥ 1, default 1; 1 when vocab_size is given. */
  min_count: number;
  /** Tokens kept per row, an integer in [1, MAX_SEQUENCE_LENGTH]; required. Later tokens (and their tags) are dropped from the model's input. */
  max_length: number;
  /** Lowercase the tokens before the vocabulary sees them (training and prediction alike); default true. */
  lowercase: boolean;
  /** Width of the token embedding (the trunk's input is [L, dim]), an integer in [1, MAX_EMBEDDING_DIM]; default 64. */
  dim: number;
}

/** The encodings of a numeric input (src/data/numeric-encodings.ts computes them from the training rows). */
export const NUMERIC_ENCODINGS = ["standardize", "quantile", "ple", "periodic"] as const;

/**
 * How one numeric column reaches the model. Statistics come from the training rows' present values; a missing cell
 * takes the training mean before it is encoded, and `missing_indicator` adds a 0/1 column (1 = missing) when the
 * training rows have missing cells in this column.
 * - standardize: (x − mean) / std, one column.
 * - quantile: the training quantile transform to `output` "uniform" ([0, 1]) or "normal" (normal scores), one column
 *   (piecewise-linear between `quantiles` training quantiles, as scikit-learn's QuantileTransformer).
 * - ple: piecewise-linear encoding into `bins` components over quantile bins (Gorishniy et al. 2022), or over
 *   target-aware bins with `tree`: { task, min_samples_leaf, min_impurity_decrease } (the paper's tree-based bins).
 * - periodic: the standardized value x ↦ [sin(2π c_i x), cos(2π c_i x)] for `frequencies` trainable c_i ~ N(0, sigma²),
 *   2·frequencies columns (Gorishniy et al. 2022, periodic embeddings).
 */
export type NumericEncoding = StandardizeEncoding | QuantileEncoding | PleEncoding | PeriodicEncoding;

/** What every numeric encoding has. */
export interface NumericEncodingBase {
  /** The numeric column. */
  column: string;
  /** Add a 0/1 column (1 = missing) when the training rows have missing cells in this column. */
  missing_indicator: boolean;
}
/** (x − mean) / std, one column. */
export interface StandardizeEncoding extends NumericEncodingBase {
  /** The encoding's name. */
  encoding: "standardize";
}
/** The training quantile transform, one column. */
export interface QuantileEncoding extends NumericEncodingBase {
  /** The encoding's name. */
  encoding: "quantile";
  /** Training quantiles kept (the knots of the piecewise-linear map). */
  quantiles: number;
  /** "uniform" ([0, 1]) or "normal" (normal scores). */
  output: "uniform" | "normal";
}
/** Piecewise-linear encoding over quantile bins, or target-aware bins from a decision tree, at most `bins` columns. */
export interface PleEncoding extends NumericEncodingBase {
  /** The encoding's name. */
  encoding: "ple";
  /** Bins (columns). */
  bins: number;
  /** Target-aware bins (src/data/tree-bins.ts): the edges are the column's min, max and split thresholds of a tree grown on it against one task's labels. Absent: quantile bins. */
  tree?: TreeBins;
}
/** The decision tree behind target-aware ple bins (scikit-learn's max_leaf_nodes = bins and these two limits). */
export interface TreeBins {
  /** The task whose labels the tree fits: binary, multiclass (Gini) or one-column regression (squared error on standardized targets). */
  task: string;
  /** Training rows each leaf keeps (default 64). */
  min_samples_leaf: number;
  /** A split's least decrease of the row-weighted impurity (default 1e−4). */
  min_impurity_decrease: number;
}
/** Periodic embeddings of the standardized value, 2·frequencies columns. */
export interface PeriodicEncoding extends NumericEncodingBase {
  /** The encoding's name. */
  encoding: "periodic";
  /** Trainable frequencies c_i. */
  frequencies: number;
  /** Their initial standard deviation. */
  sigma: number;
}

/** Limits of the encodings' sizes. */
export const MAX_QUANTILES = 100_000;
export const MAX_BINS = 4096;
export const MAX_FREQUENCIES = 4096;

/**
 * `inputs`: what a row feeds the model. The encoded row is [numeric..., embeddings..., tensor...] (flat), or the
 * image [channels, height, width]; at least one of numeric, categorical and tensor is required.
 */
export interface Inputs {
  /** Numeric columns, standardized with training statistics (missing values become the mean); default []. */
  numeric: string[];
  /**
   * Per numeric column, in `numeric`'s order, how it is encoded (see NumericEncoding); absent when every column is
   * standardized without a missing indicator (the default, and the spec of every model before encodings existed).
   * Written as `inputs.numeric_encoding` (the default of every column), `inputs.missing_indicator` and object entries
   * of `inputs.numeric` (`{ "column": "wage", "encoding": "ple", "bins": 16 }`); normalized to this list.
   */
  numeric_encodings?: NumericEncoding[];
  /** Categorical columns, each embedded (see CategoricalInput); default []. */
  categorical: CategoricalInput[];
  /**
   * A raw float tensor of this many features per row, handed in by the caller (no column names); an integer in
   * [0, MAX_TENSOR_WIDTH], default 0 (none); with `image`, channels·height·width.
   */
  tensor: number;
  /**
   * The tensor input viewed as an image [channels, height, width] (NCHW rows, e.g. 784 pixels y·28 + x → [1, 28,
   * 28]): `tensor` is then channels·height·width. Values arrive as the data source scales them (idx: p / 255).
   */
  image: {
    /** Channels, an integer in [1, MAX_IMAGE_SIDE]; default 1. */
    channels: number;
    /** Rows of pixels, an integer in [1, MAX_IMAGE_SIDE]; required. */
    height: number;
    /** Pixels per row, an integer in [1, MAX_IMAGE_SIDE]; required. */
    width: number;
  } | null;
  /** Tokens read as a missing value in numeric and label columns (default DEFAULT_MISSING: "", "?", "NA", "NaN"). */
  missing: string[];
  /**
   * A numeric input or label that is not a finite float32 (±Infinity, "nan", 1e400, 3.5e38): "error" (default)
   * rejects it naming the file, row and column; "missing" reads it as a missing value.
   */
  nonfinite: "error" | "missing";
  /** A token-sequence input (see TokenInput); absent when the spec declares none. Not combined with tensor or image. */
  tokens?: TokenInput;
}

/**
 * `architecture`: the shared part of the model. Written also with `activation` (default "relu") and `dropout`
 * (default 0, in [0, 1)), the defaults of every dense and conv layer here and in the towers (the normalized spec
 * carries them in each layer). Default `{ "type": "hps", "layers": [] }` (a linear model with per-task heads).
 */
export interface Architecture {
  /** "hps" (hard parameter sharing: one trunk, then towers; the default), "mmoe" or "cgc" (experts mixed by per-task gates). */
  type: ArchitectureType;
  /** hps: the shared trunk (default []); mmoe/cgc: each expert's layers (at least one, ending flat). */
  layers: AnyLayer[];
  /** mmoe (dselect_k): number of experts, an integer in [1 (2), MAX_EXPERTS], required; 0 for the other types (setting it is an error). */
  experts: number;
  /** cgc, ple: shared experts (per level), an integer in [0, MAX_EXPERTS], required; 0 for the other types. */
  shared_experts: number;
  /** cgc, ple: experts per task (per level), an integer in [0, MAX_EXPERTS], required (shared + task ≥ 1); 0 for the other types. */
  task_experts: number;
  /** ple only (absent otherwise): stacked extraction levels, an integer in [1, MAX_LEVELS], default 2; 1 is cgc. */
  levels?: number;
  /**
   * ple only (absent otherwise): what the gates of levels ≥ 2 read: "previous" (default, the paper's: the input of
   * the experts of that branch, the previous level's output) or "raw" (the model input at every level).
   */
  gate_input?: "previous" | "raw";
  /** dselect_k only (absent otherwise): experts each task's gate selects (its single-expert selectors), an integer in [1, experts], required. */
  k?: number;
  /** dselect_k only: width of the smooth-step's cubic band [−γ/2, γ/2], > 0, default 1 (the reference's). */
  gamma?: number;
  /** dselect_k only: λ of the selectors' entropy regularizer, ≥ 0, default 0 (the reference gate's: no regularizer). */
  entropy?: number;
  /**
   * DCN-v2 cross layers (Wang et al. 2021, the stacked form) on the flat input row before the trunk, an integer in
   * [0, MAX_CROSS]; absent when 0 (the default). Layer l: x_{l+1} = x_0 ⊙ (x_l·W_l + b_l) + x_l, W_l [D, D] (D the
   * input row's width); the trunk (and every gate reading the model input) reads x_L.
   */
  cross?: number;
}

/** One entry of `tasks`: a head on the shared part, its labels, loss and metrics. */
export interface Task {
  /** Unique task name, non-empty, without ':' or whitespace (the key of its outputs and metrics); required. */
  name: string;
  /** The task type (see TASK_TYPES); required. */
  type: TaskType;
  /** Label column(s): one for binary, multiclass and regression; one per label (multilabel) or output (regression). */
  labels: string[];
  /** binary: label values counted as the positive class (else the column is read as 0/1). */
  positive: string[] | null;
  /** multiclass: the class values in output order (else learnt from the training rows, sorted). */
  classes: string[] | null;
  /**
   * One task per distinct value of this column (e.g. School's `school`): each row trains only its group's head.
   * The task name then prefixes each group: `score:17`.
   */
  group_by: string | null;
  /**
   * group_by tasks: each group's head is a shared head plus the group's own deviation, and λ·‖deviation‖²
   * pulls the groups toward the shared head (mean-regularized multi-task learning, Evgeniou & Pontil 2004).
   */
  group_l2: number;
  /** The task's own layers between the shared part and its dense head, ending flat; default [] (the head alone). */
  tower: AnyLayer[];
  /**
   * Default by type: bce (binary, multilabel), xent (multiclass), mse (regression); regression also takes mae,
   * huber, smooth_l1 and giou (exactly 4 label columns, a box [x0, y0, x1, y1]).
   */
  loss: LossName;
  /** Static weight w_t of the task's loss in Σ_t w_t·L_t (and in every weighting method); ≥ 0, default 1. */
  weight: number;
  /** bce only: weight of the positive class's term in the loss (> 1 favours recall); > 0, default 1. */
  pos_weight: number;
  /** huber only: δ, where the loss turns from quadratic (½d²) to linear (δ·(|d| − ½δ)); > 0, default 1. */
  huber_delta: number;
  /** smooth_l1's β (> 0, default 1; smooth_l1 only): quadratic below β, linear above; smooth_l1 = huber(δ = β) / β. */
  smooth_l1_beta: number;
  /**
   * Validation metrics (see METRICS; each must apply to the type). Default: binary auc, accuracy, logloss;
   * multilabel those plus every MULTILABEL_METRICS; multiclass accuracy, logloss; tagging span_f1 (CoNLL spans), accuracy (per token), and sentence_accuracy (the
   * row's tags and its class in the spec's one multiclass task all right) when the spec has exactly one multiclass
   * and one tagging task; regression rmse, mae, r2, explained_variance; giou tasks iou, iou50, mae.
   */
  metrics: MetricName[];
  /**
   * Funnel heads (src/model/funnel.ts): this binary task is the next step after task `after` (an earlier binary task),
   * e.g. conversion after click. "esmm" (Ma et al. 2018): the task's tower and head give the conditional
   * p(task | after) (also an output, `<task>.given_<after>`); its output and loss are p(after)·p(task | after) on its
   * label over all rows (the label is 1 only where both happened). "aitm" (Xi et al. 2021): the task's tower output
   * and the previous task's transferred information meet in an attention unit before the head; the objective adds
   * `calibrator`·mean_rows max(ŷ_task − ŷ_after, 0). null (default): a plain head.
   */
  funnel: "esmm" | "aitm" | null;
  /** The earlier task this one follows in the funnel (with `funnel`), else null. */
  after: string | null;
  /** aitm only: λ of the behavioural-expectation calibrator, ≥ 0; default 0.6 (the paper's). 0 for other tasks. */
  calibrator: number;
  /**
   * multiclass and tagging: one more class, "<unk>" at index 0 (UNKNOWN_CLASS, src/data/preprocess.ts), that labels
   * never seen in training map to (ATIS test intents and tags), so they count as errors instead of failing the read.
   * Default false for multiclass (an unseen label is an error), true for tagging; false for the other types.
   */
  unknown: boolean;
  /**
   * Sentence-level tasks (binary, multiclass, multilabel, regression) of a spec with inputs.tokens: how the trunk's
   * token rows [L, D] become the row [D] the tower reads, "max" (default) or "mean" over the real tokens
   * (src/ops/seq-pool.ts). Absent otherwise.
   */
  pool?: "max" | "mean";
}

/**
 * One of `training.relations`: adds λ·R to the objective, R = ½·Σ_j (a_j − b_j)² over the two tasks' outputs
 * (probabilities or values), averaged over the batch's rows (labels are not needed).
 */
export interface Relation {
  /** Two different ungrouped task names whose outputs have the same width. */
  tasks: [string, string];
  /** λ ≥ 0; required. */
  lambda: number;
}

/** `training`: how the model is fitted. Every field is optional in the JSON; the normalized spec has each default. */
export interface TrainingOptions {
  /** Passes over the training rows, an integer in [0, MAX_EPOCHS]; default 10. */
  epochs: number;
  /** Rows per optimizer step (the last batch of an epoch may be shorter), an integer in [1, MAX_BATCH_SIZE]; default 256. */
  batch_size: number;
  /** Seed of the split, initialization, shuffling and dropout, an integer in [0, 2^31 − 1]; default 1. */
  seed: number;
  /** Fraction of the rows held out for validation (seeded split), in [0, 1); default 0.2, or 0 with data.validation_path (which requires 0). */
  validation: number;
  /** The optimizer, one fused pass over all trainable parameters per step. */
  optimizer: {
    /** "adam" (the default), "adamw" (decoupled weight decay) or "sgd". */
    type: (typeof OPTIMIZERS)[number];
    /** Peak learning rate (after warm-up; the schedule scales it); > 0, default 0.001 (sgd: 0.01). */
    lr: number;
    /** ≥ 0; default 0 (adamw: 0.01). adam and sgd add wd·θ to the gradient; adamw multiplies θ by 1 − lr·wd. */
    weight_decay: number;
    /** sgd only: momentum in [0, 1); default 0. */
    momentum: number;
    /** sgd only: Nesterov momentum (needs momentum > 0); default false. */
    nesterov: boolean;
    /** adam/adamw: decay of the first moment, in [0, 1); default 0.9. */
    beta1: number;
    /** adam/adamw: decay of the second moment, in [0, 1); default 0.999. */
    beta2: number;
    /** adam/adamw: ε added to √v̂ in the denominator; > 0, default 1e-8. */
    eps: number;
  };
  /** The learning rate over the run's optimizer steps (src/train/schedule.ts). */
  schedule: {
    /** "constant" (the default), "step" (lr·γ^⌊epoch / step_size⌋) or "cosine" (lr to min_lr over the steps after warm-up). */
    type: (typeof SCHEDULES)[number];
    /** Linear warm-up from lr/warmup_steps to lr over the first steps (optimizer steps), an integer in [0, MAX_STEPS]; default 0 (none). */
    warmup_steps: number;
    /** "step": epochs between decays, an integer in [1, MAX_STEPS]; default 1. */
    step_size: number;
    /** "step": the decay factor γ, in (0, 1]; default 0.1. */
    gamma: number;
    /** "cosine": the final learning rate, ≥ 0; default 0. */
    min_lr: number;
  };
  /** How task losses (or gradients) are balanced; default `{ "type": "static" }` (Σ_t w_t·L_t). */
  weighting: WeightingSpec;
  /** Rescale the gradient so its global L2 norm is at most this, before the update; ≥ 0, default 0 (off). */
  clip_grad_norm: number;
  /** Stop when `metric` has not improved for `patience` epochs; the best epoch's weights are kept. null (default): off. */
  early_stopping: {
    /** "loss" (validation loss; the default), "TASK.METRIC", "mean.METRIC" or "multilabel.METRIC"; the metric must be reported. */
    metric: string;
    /** Epochs without improvement before stopping, an integer in [1, MAX_PATIENCE]; default 3. */
    patience: number;
  } | null;
  /** Output-agreement terms between pairs of tasks (see Relation), at most MAX_RELATIONS; default []. */
  relations: Relation[];
  /** λ_shared·‖θ_shared‖² on the shared (trunk) parameters; λ_shared ≥ 0, default 0. */
  shared_l2: number;
  /**
   * Task-affinity recording (src/train/affinity.ts): every `every`-th step of each epoch (its first step included),
   * the cosines of the task gradients on the shared parameters and TAG's lookahead affinity. null: off.
   */
  affinity: {
    /** Steps between samples, an integer in [1, MAX_AFFINITY_EVERY]; default DEFAULT_AFFINITY_EVERY (10). */
    every: number;
  } | null;
  /**
   * Exponential moving average of the weights after every optimizer step (src/train/averaging.ts), used for validation,
   * early stopping, the saved weights and the export. null (default): off. Excludes `swa`.
   */
  ema: {
    /** The decay, in (0, 1), e.g. 0.999. */
    decay: number;
    /** Ramp the decay as min(decay, (1 + n) / (10 + n)) after n updates (TensorFlow's num_updates); default false. */
    warmup: boolean;
  } | null;
  /**
   * Stochastic weight averaging (Izmailov et al. 2018): the mean of the weights at the end of each of the last `epochs`
   * epochs, used for validation, the saved weights and the export. Not with early_stopping or batch norm. null (default): off.
   */
  swa: {
    /** Epochs averaged, an integer in [1, training.epochs]. */
    epochs: number;
    /** A constant learning rate for those epochs (> 0); null (default): the schedule's. */
    lr: number | null;
  } | null;
}

/**
 * training.weighting, normalized: `type`, `temperature` (always, for DWA), `rep_grad` (gradient methods) and the
 * options that apply to the chosen type, each with its default (see WEIGHTING_OPTIONS).
 */
export interface WeightingSpec {
  /** The method (WEIGHTINGS, LibMTL's catalogue); default "static" (Σ_t w_t·L_t with the tasks' `weight`). */
  type: WeightingName;
  /** dwa only: the softmax temperature τ over the loss ratios; > 0, default 2 (always present in the normalized spec). */
  temperature: number;
  /**
   * Gradient methods only (WEIGHTING_GRADIENTS): true balances gradients of the shared representation (one trunk
   * backward per step), false those of the shared parameters. Default false; graddrop requires true; pcgrad, gradvac,
   * cagrad, nash_mtl, upgrad and db_mtl require false; loss methods reject it. Present for gradient methods only.
   */
  rep_grad?: boolean;
  /** gradnorm only: α, how strongly training rates are equalized; ≥ 0, default 1.5. */
  alpha?: number;
  /** mgda only: the gradients' normalizers, "none" (default), "l2" (‖g_t‖), "loss" (L_t) or "loss+" (L_t·‖g_t‖). */
  normalization?: (typeof MGDA_NORMALIZATIONS)[number];
  /** graddrop only: ℓ, the mask's floor (m = ℓ + (1 − ℓ)·M); in [0, 1], default 0. */
  leak?: number;
  /** gradvac (default 0.5) and db_mtl (default 0.9) only: the EMA coefficient β of their running targets, in [0, 1]. */
  beta?: number;
  /** db_mtl only: the EMA rate decays as β / k^beta_sigma at step k; ≥ 0, default 0. */
  beta_sigma?: number;
  /** cagrad only: c, the radius of the conflict-averse ball around the mean gradient; ≥ 0, default 0.5. */
  c?: number;
  /** cagrad only: divide the result by 1 + c² (1, the default), by 1 + c (2) or not at all (0); an integer in [0, 2]. */
  rescale?: number;
  /** nash_mtl only: steps between solves (the weights are reused in between), an integer in [1, 2^31 − 1]; default 1. */
  update_every?: number;
  /** nash_mtl only: at most this many Newton steps per solve, an integer in [1, 10000]; default 20. */
  iterations?: number;
  /** nash_mtl only: cap on the combined gradient's norm (0: no cap); ≥ 0, default 1. */
  max_norm?: number;
  /** upgrad only: below this trace the Gram matrix counts as zero; ≥ 0, default 1e-4. */
  norm_eps?: number;
  /** upgrad only: ridge added to the normalized Gram matrix's diagonal; ≥ 0, default 1e-4. */
  reg_eps?: number;
  /** famo only: learning rate of the task-weight logits (their own Adam); > 0, default 0.025. */
  lr?: number;
  /** famo only: L2 weight decay of the task-weight logits; ≥ 0, default 0.001. */
  decay?: number;
  /** stch only: μ, the smoothing of the Tchebycheff max (smaller: closer to the max); > 0, default 1. */
  mu?: number;
  /** stch only: epochs of plain log-loss training before the nadir epoch, an integer in [0, 100000]; default 4. */
  warmup_epochs?: number;
}

/**
 * `data`: where `mtl` reads the rows and in which format. Optional: without it train() reads CSV, and the CLI
 * needs the format from it.
 */
export interface DataSource {
  /**
   * "csv" (the default), "census", "jsonl", "idx", "arff", "parquet" or "seqtag" (src/data/*.ts). "seqtag": `path` (and
   * validation_path) is a folder of aligned `seq.in`, `seq.out`, `label` files, read as the columns tokens, slots, intent.
   */
  format: (typeof DATA_FORMATS)[number];
  /**
   * The data file, relative to the directory `mtl` runs in (gzip is detected). Optional: the CLI then needs
   * `--data FILE`, and train() reads no files (it takes the rows); left out of the normalized spec when not given.
   * format "idx": set to `images`.
   */
  path?: string;
  /** csv (and the idx labels CSV): the field separator, one character; default ",". */
  delimiter: string;
  /** Split the validation fraction inside each value of this column (e.g. 20 % of every school). */
  stratify: string | null;
  /** format "idx": the IDX3 image file (gzip or plain), read as the tensor input; `path` is set to it too. */
  images?: string;
  /** format "idx": the CSV of labels (`delimiter`), one row per image in the same order. */
  labels?: string;
  /**
   * The validation rows as a file of their own (same format and columns; relative to the current directory like
   * `path`): no split, so training.validation is 0 and stratify is not allowed. Left out when not given.
   */
  validation_path?: string;
  /**
   * A column that only identifies rows (School's `student_index`): the split leaves it out when it keeps identical
   * rows on one side, so rows that differ only in it count as copies. Left out when not given.
   */
  row_id?: string;
  /**
   * Train from the file row by row instead of holding it (src/data/stream.ts): statistics from streaming passes, the
   * validation rows chosen by a seeded hash of each row, epochs through a shuffle buffer. csv, census and jsonl only.
   * Left out when not given (false).
   */
  streaming?: boolean;
  /** data.streaming: rows the shuffle buffer holds, an integer in [1, 2^24]; left out when not given (65536). */
  shuffle_buffer?: number;
}

/**
 * Multi-label metrics over a set of binary tasks, one label each (e.g. Yeast's 14 classes as 14 tasks):
 * `"multilabel": ["Class1", "Class2", …]` (task names; every metric) or `{ "tasks": [...], "metrics": [...] }`
 * (a subset of hamming_loss, ranking_loss, one_error, coverage, average_precision, micro_f1, macro_f1, macro_auc).
 * The evaluation reports them as one more entry, `multilabel`, beside the tasks' (so no task may be named so);
 * `training.early_stopping.metric` may name one as `multilabel.METRIC`. A row's missing labels are masked.
 */
export interface MultilabelGroup {
  /** Names of at least 2 ungrouped binary tasks, each once. */
  tasks: string[];
  /** The metrics reported, a non-empty subset of MULTILABEL_METRICS; default all of them. */
  metrics: MultilabelMetricName[];
}

/**
 * A validated model spec (validateSpec's result): the JSON config with every default filled in. The JSON may also
 * hold `$schema` and `description`, which are dropped.
 */
export interface ModelSpec {
  /** The model's name (in exports and reports); non-empty, default "model". */
  name: string;
  /** The data file and its format; null when the JSON has no `data` section. */
  data: DataSource | null;
  /** The inputs a row feeds the model; at least one is required. */
  inputs: Inputs;
  /** The shared part of the model; default hps with no layers. */
  architecture: Architecture;
  /** The tasks, a non-empty array of at most MAX_TASKS; required. */
  tasks: Task[];
  /** Training options (defaults when the JSON has no `training`). */
  training: TrainingOptions;
  /** Present only when the spec declares it (see MultilabelGroup). */
  multilabel?: MultilabelGroup;
}

/** A spec error: `path` is where in the JSON, e.g. `tasks[2].loss`. */
export class SpecError extends Error {
  constructor(
    /** Where in the JSON the error is, e.g. `tasks[2].loss`, `inputs.image` or `spec` (the root); the message starts with it. */
    readonly path: string,
    detail: string,
  ) {
    super(`${path}: ${detail}`);
    this.name = "SpecError";
  }
}

type Json = unknown;
const isObj = (v: Json): v is Record<string, Json> => typeof v === "object" && v !== null && !Array.isArray(v);
const show = (v: Json) => (typeof v === "string" ? JSON.stringify(v) : Array.isArray(v) ? "an array" : v === null ? "null" : typeof v === "object" ? "an object" : String(v));

function obj(v: Json, path: string): Record<string, Json> {
  if (!isObj(v)) throw new SpecError(path, `expected an object, found ${show(v)}`);
  return v;
}

function known(o: Record<string, Json>, path: string, keys: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (!keys.includes(k)) {
      // A key that is not a plain name (empty, dotted, spaced) is quoted in the path so the message still says which.
      const key = /^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k);
      throw new SpecError(path ? `${path}.${key}` : key, `unknown key; expected one of ${keys.join(", ")}`);
    }
  }
}

/**
 * `limit`: the value is a size, an integer in [min (default 0), limit]; the message names the range, or the limit
 * when the value is above it (`architecture.experts: 1e+308 is above the limit of 1024 (…)`).
 */
function num(o: Record<string, Json>, key: string, path: string, dflt: number | undefined, check: { int?: boolean; min?: number; max?: number; gt?: number; lt?: number; limit?: number } = {}): number {
  const p = `${path}.${key}`.replace(/^\./, "");
  const v = o[key];
  if (v === undefined) {
    if (dflt === undefined) throw new SpecError(p, "is required");
    return dflt;
  }
  if (check.limit !== undefined) return size(v, p, check.min ?? 0, check.limit);
  if (typeof v !== "number" || !Number.isFinite(v)) throw new SpecError(p, `expected a number, found ${show(v)}`);
  if (check.int && !Number.isInteger(v)) throw new SpecError(p, `expected an integer, found ${v}`);
  if (check.min !== undefined && v < check.min) throw new SpecError(p, `must be ≥ ${check.min}, found ${v}`);
  if (check.max !== undefined && v > check.max) throw new SpecError(p, `must be ≤ ${check.max}, found ${v}`);
  if (check.gt !== undefined && !(v > check.gt)) throw new SpecError(p, `must be > ${check.gt}, found ${v}`);
  if (check.lt !== undefined && !(v < check.lt)) throw new SpecError(p, `must be < ${check.lt}, found ${v}`);
  return v;
}

/** A size: an integer in [min, limit] (not 1.5, NaN or Infinity). */
function size(v: Json, p: string, min: number, limit: number): number {
  const range = `an integer in [${min}, ${limit}]`;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) throw new SpecError(p, `must be ${range}, got ${show(v)}`);
  if (v > limit) throw new SpecError(p, `${show(v)} is above the limit of ${limit} (must be ${range})`);
  return v;
}

/** A list no longer than `limit`. */
function capped<T>(list: T[], p: string, limit: number, what: string): T[] {
  if (list.length > limit) throw new SpecError(p, `${list.length} ${what} is above the limit of ${limit}`);
  return list;
}

function str(o: Record<string, Json>, key: string, path: string, dflt?: string): string {
  const p = `${path}.${key}`.replace(/^\./, "");
  const v = o[key];
  if (v === undefined) {
    if (dflt === undefined) throw new SpecError(p, "is required");
    return dflt;
  }
  if (typeof v !== "string" || v === "") throw new SpecError(p, `expected a non-empty string, found ${show(v)}`);
  return v;
}

function oneOf<T extends string>(o: Record<string, Json>, key: string, path: string, options: readonly T[], dflt?: T): T {
  const v = str(o, key, path, dflt);
  if (!(options as readonly string[]).includes(v)) throw new SpecError(`${path}.${key}`.replace(/^\./, ""), `${JSON.stringify(v)} is not one of ${options.join(", ")}`);
  return v as T;
}

function bool(o: Record<string, Json>, key: string, path: string, dflt: boolean): boolean {
  const v = o[key];
  if (v === undefined) return dflt;
  if (typeof v !== "boolean") throw new SpecError(`${path}.${key}`.replace(/^\./, ""), `expected true or false, found ${show(v)}`);
  return v;
}

function strList(v: Json, path: string, allowEmpty = true, allowEmptyStrings = false): string[] {
  if (typeof v === "string") return [v];
  if (!Array.isArray(v)) throw new SpecError(path, `expected a string or an array of strings, found ${show(v)}`);
  v.forEach((s, i) => {
    if (typeof s !== "string" || (s === "" && !allowEmptyStrings)) throw new SpecError(`${path}[${i}]`, `expected a non-empty string, found ${show(s)}`);
  });
  if (!allowEmpty && v.length === 0) throw new SpecError(path, "must not be empty");
  return v as string[];
}

function layers(v: Json, path: string, defaults: { activation: Activation; dropout: number }): AnyLayer[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new SpecError(path, `expected an array of layers (numbers, {units, activation, dropout, layernorm} or {type: ${LAYER_TYPES.map((t) => JSON.stringify(t)).join(" | ")}, …}), found ${show(v)}`);
  capped(v, path, MAX_LAYERS, "layers");
  return v.map((l, i): AnyLayer => {
    const p = `${path}[${i}]`;
    if (typeof l === "number") {
      if (!Number.isInteger(l) || l < 1) throw new SpecError(p, `layer width must be a positive integer, found ${l}`);
      if (l > MAX_UNITS) throw new SpecError(p, `${l} is above the limit of ${MAX_UNITS} (a layer width must be an integer in [1, ${MAX_UNITS}])`);
      return { units: l, activation: defaults.activation, dropout: defaults.dropout, layernorm: false };
    }
    const o = obj(l, p);
    const type = oneOf(o, "type", p, LAYER_TYPES, "dense");
    const dropout = () => num(o, "dropout", p, 0, { min: 0, lt: 1 });
    switch (type) {
      case "dense":
        known(o, p, ["type", "units", "activation", "dropout", "layernorm"]);
        return {
          units: num(o, "units", p, undefined, { min: 1, limit: MAX_UNITS }),
          activation: oneOf(o, "activation", p, ACTIVATIONS, defaults.activation),
          dropout: num(o, "dropout", p, defaults.dropout, { min: 0, lt: 1 }),
          layernorm: bool(o, "layernorm", p, false),
        };
      case "conv": {
        known(o, p, ["type", "filters", "kernel", "stride", "padding", "dilation", "groups", "activation", "batchnorm", "dropout"]);
        let padding: ConvLayer["padding"] = "valid";
        if (Array.isArray(o.padding)) {
          if (o.padding.length !== 4) throw new SpecError(`${p}.padding`, `explicit padding is [top, left, bottom, right], found ${o.padding.length} numbers`);
          padding = o.padding.map((x, j) => size(x, `${p}.padding[${j}]`, 0, MAX_KERNEL)) as [number, number, number, number];
        } else padding = oneOf(o, "padding", p, ["valid", "same"] as const, "valid");
        return {
          type,
          filters: num(o, "filters", p, undefined, { min: 1, limit: MAX_UNITS }),
          kernel: side(o, "kernel", p, undefined),
          stride: side(o, "stride", p, [1, 1]),
          padding,
          dilation: side(o, "dilation", p, [1, 1]),
          groups: convGroupsOf(o, p),
          activation: oneOf(o, "activation", p, ACTIVATIONS, defaults.activation),
          batchnorm: bool(o, "batchnorm", p, false),
          dropout: dropout(),
        };
      }
      case "pool": {
        known(o, p, ["type", "mode", "size", "stride", "dropout"]);
        const mode = oneOf(o, "mode", p, POOL_MODES);
        if (mode === "global_avg") {
          if (o.size != null || o.stride != null) throw new SpecError(`${p}.${o.size != null ? "size" : "stride"}`, `mode "global_avg" pools the whole image; leave out size and stride`);
          return { type, mode, size: null, stride: null, dropout: dropout() };
        }
        const sz = side(o, "size", p, [2, 2]);
        return { type, mode, size: sz, stride: side(o, "stride", p, sz), dropout: dropout() };
      }
      case "batchnorm":
      case "flatten":
        known(o, p, ["type", "dropout"]);
        return { type, dropout: dropout() };
      case "activation":
        known(o, p, ["type", "activation", "dropout"]);
        return { type, activation: oneOf(o, "activation", p, ACTIVATIONS), dropout: dropout() };
      case "conv1d":
        known(o, p, ["type", "filters", "kernel", "dilation", "activation", "dropout"]);
        return {
          type,
          filters: num(o, "filters", p, undefined, { min: 1, limit: MAX_UNITS }),
          kernel: num(o, "kernel", p, undefined, { min: 1, limit: MAX_KERNEL }),
          dilation: num(o, "dilation", p, 1, { min: 1, limit: MAX_KERNEL }),
          activation: oneOf(o, "activation", p, ACTIVATIONS, defaults.activation),
          dropout: num(o, "dropout", p, defaults.dropout, { min: 0, lt: 1 }),
        };
      case "bigru":
        known(o, p, ["type", "units", "dropout"]);
        return { type, units: num(o, "units", p, undefined, { min: 1, limit: MAX_UNITS }), dropout: dropout() };
    }
  });
}

/** A kernel, stride or pool size: a positive integer (both sides) or [h, w]. */
function side(o: Record<string, Json>, key: string, path: string, dflt: [number, number] | undefined): [number, number] {
  const p = `${path}.${key}`, v = o[key];
  if (v == null) {
    if (!dflt) throw new SpecError(p, "is required");
    return dflt;
  }
  if (Array.isArray(v)) {
    if (v.length !== 2) throw new SpecError(p, `expected a number or [height, width], found ${v.length} numbers`);
    return [size(v[0], `${p}[0]`, 1, MAX_KERNEL), size(v[1], `${p}[1]`, 1, MAX_KERNEL)];
  }
  const n = size(v, p, 1, MAX_KERNEL);
  return [n, n];
}

/** A shape after the batch dimension: [width] (flat), [C, H, W] (an image) or ["L", D] (token rows: D per token). */
export type RowShape = [number] | [number, number, number] | ["L", number];

const showRow = (s: RowShape) => `[${s.join(", ")}]`;
/** Token rows ["L", D] (inputs.tokens and what conv1d and bigru give). */
export const isTokenRows = (s: RowShape): s is ["L", number] => s[0] === "L";

/**
 * "same" padding along one axis (ONNX SAME_UPPER): H_out = ⌈H / stride⌉; [pad_top, pad_bottom].
 */
export function samePadding(len: number, k: number, stride: number, dil: number): [number, number] {
  const out = Math.ceil(len / stride);
  const total = Math.max(0, (out - 1) * stride + dil * (k - 1) + 1 - len);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** A conv layer's `groups`: "depthwise" or a size in [1, MAX_UNITS] (default 1). */
function convGroupsOf(o: Record<string, Json>, p: string): ConvLayer["groups"] {
  if (o.groups === "depthwise") return "depthwise";
  if (typeof o.groups === "string") throw new SpecError(`${p}.groups`, `expected an integer ≥ 1 or "depthwise", found ${show(o.groups)}`);
  return num(o, "groups", p, 1, { min: 1, limit: MAX_UNITS });
}

/** A conv layer's channel groups over an input of c channels ("depthwise": c). */
export function convGroups(l: Pick<ConvLayer, "groups">, c: number): number {
  return l.groups === "depthwise" ? c : l.groups;
}

/** A conv layer's explicit pads [top, left, bottom, right] for an input of h × w. */
export function convPads(l: ConvLayer, h: number, w: number): [number, number, number, number] {
  if (Array.isArray(l.padding)) return l.padding;
  if (l.padding === "valid") return [0, 0, 0, 0];
  const [t, b] = samePadding(h, l.kernel[0], l.stride[0], l.dilation[0]), [le, r] = samePadding(w, l.kernel[1], l.stride[1], l.dilation[1]);
  return [t, le, b, r];
}

const extent = (len: number, k: number, stride: number, p0: number, p1: number, dil: number) => {
  const span = len + p0 + p1 - dil * (k - 1) - 1;
  return span < 0 ? 0 : Math.floor(span / stride) + 1;
};

/**
 * The shape after each layer, from the input's: throws a SpecError naming the layer and the shape that does not
 * fit (`architecture.layers[2]: pool 2×2 on 1×1 leaves nothing …`, `tasks[0].tower[0]: dense needs a flat input;
 * add {"type": "flatten"} after architecture.layers[3] (shape [64, 5, 5])`). `from` names where the input came
 * from (for the flatten hint).
 */
export function layerShapes(ls: readonly AnyLayer[], input: RowShape, path: string, from: string): RowShape {
  let s = input, last = from;
  ls.forEach((l, i) => {
    const p = `${path}[${i}]`;
    const image = s.length === 3, seq = isTokenRows(s);
    if (seq && l.type !== "conv1d" && l.type !== "bigru" && l.type !== "activation") {
      const what = l.type ?? "dense";
      throw new SpecError(p, `${what} does not take token rows (shape ${showRow(s)}, from ${last}); over tokens use {"type": "conv1d"} (kernel 1: a dense layer per token), {"type": "bigru"} or {"type": "activation"}${path.startsWith("tasks") ? "" : "; a sentence-level task pools the tokens before its tower"}`);
    }
    if (!seq && (l.type === "conv1d" || l.type === "bigru")) throw new SpecError(p, `${l.type} needs token rows [L, D] (inputs.tokens), but its input is ${showRow(s)} (from ${last})`);
    const needImage = (what: string) => {
      if (!image) throw new SpecError(p, `${what} needs an image input [C, H, W], but its input is flat (${showRow(s)}, from ${last}); declare inputs.image and keep image layers before any flatten or dense layer`);
    };
    switch (l.type) {
      case undefined:
      case "dense":
        if (image) throw new SpecError(p, `dense needs a flat input; add {"type": "flatten"} after ${last} (shape ${showRow(s)})`);
        s = [l.units];
        break;
      case "conv": {
        needImage("conv");
        const [c, h, w] = s as [number, number, number];
        const [pt, pl, pb, pr] = convPads(l, h, w);
        const ho = extent(h, l.kernel[0], l.stride[0], pt, pb, l.dilation[0]), wo = extent(w, l.kernel[1], l.stride[1], pl, pr, l.dilation[1]);
        if (ho < 1 || wo < 1) throw new SpecError(p, `conv ${l.kernel[0]}×${l.kernel[1]}${l.dilation[0] > 1 || l.dilation[1] > 1 ? ` (dilation ${l.dilation.join("×")})` : ""} on ${h}×${w} (padding ${JSON.stringify(l.padding)}) leaves no output (input shape ${showRow(s)}); use padding "same" or a smaller kernel`);
        const g = convGroups(l, c);
        if (c % g !== 0 || l.filters % g !== 0) {
          throw new SpecError(`${p}.groups`, `conv groups ${l.groups === "depthwise" ? `"depthwise" (${g}, the input channels)` : g} must divide the input channels (${c}, input shape ${showRow(s)}) and the filters (${l.filters})`);
        }
        if ((c / g) * l.kernel[0] * l.kernel[1] * ho * wo > 2 ** 28) throw new SpecError(p, `conv's im2col buffer (${c / g}·${l.kernel[0]}·${l.kernel[1]}·${ho}·${wo} floats per image) is above 2^28`);
        s = [l.filters, ho, wo];
        break;
      }
      case "pool": {
        needImage("pool");
        const [c, h, w] = s as [number, number, number];
        if (l.mode === "global_avg" || !l.size || !l.stride) s = [c, 1, 1];
        else {
          const ho = extent(h, l.size[0], l.stride[0], 0, 0, 1), wo = extent(w, l.size[1], l.stride[1], 0, 0, 1);
          if (ho < 1 || wo < 1) throw new SpecError(p, `pool ${l.size[0]}×${l.size[1]} on ${h}×${w} leaves nothing (input shape ${showRow(s)}); use a smaller size or drop a pool`);
          s = [c, ho, wo];
        }
        break;
      }
      case "flatten":
        s = [(s as number[]).reduce((a, b) => a * b, 1)];
        break;
      case "batchnorm":
      case "activation":
        break;
      case "conv1d":
        s = ["L", l.filters];
        break;
      case "bigru":
        s = ["L", 2 * l.units];
        break;
    }
    last = p;
  });
  return s;
}

/** The encoded input's row shape: the image, the embedded tokens ["L", dim], or the flat features (numeric + embeddings + tensor). */
export function inputShape(inputs: Inputs): RowShape {
  if (inputs.image) return [inputs.image.channels, inputs.image.height, inputs.image.width];
  if (inputs.tokens) return ["L", inputs.tokens.dim];
  return [inputs.numeric.length + inputs.categorical.reduce((a, c) => a + c.dim, 0) + inputs.tensor];
}

const DEFAULT_LOSS: Record<TaskType, LossName> = { binary: "bce", multilabel: "bce", multiclass: "xent", regression: "mse", tagging: "xent" };
const DEFAULT_METRICS: Record<TaskType, MetricName[]> = {
  binary: ["auc", "accuracy", "logloss"],
  multilabel: ["auc", "accuracy", "logloss", ...MULTILABEL_METRICS],
  multiclass: ["accuracy", "logloss"],
  regression: ["rmse", "mae", "r2", "explained_variance"],
  tagging: ["span_f1", "accuracy"],
};
const LOSS_TYPES: Record<LossName, TaskType[]> = { bce: ["binary", "multilabel"], xent: ["multiclass", "tagging"], mse: ["regression"], mae: ["regression"], huber: ["regression"], smooth_l1: ["regression"], giou: ["regression"] };
/** Box tasks (loss giou, metrics iou/iou50) take exactly this many label columns, ordered x0, y0, x1, y1. */
export const BOX_WIDTH = 4;
/** Metrics that read a task's outputs as boxes [x0, y0, x1, y1]. */
export const BOX_METRICS: readonly MetricName[] = ["iou", "iou50"];
const METRIC_TYPES: Record<MetricName, TaskType[]> = {
  auc: ["binary", "multilabel"],
  accuracy: ["binary", "multilabel", "multiclass", "tagging"],
  logloss: ["binary", "multilabel", "multiclass"],
  rmse: ["regression"],
  mae: ["regression"],
  r2: ["regression"],
  explained_variance: ["regression"],
  iou: ["regression"],
  iou50: ["regression"],
  ...(Object.fromEntries(MULTILABEL_METRICS.map((m) => [m, ["multilabel"]])) as Record<MultilabelMetricName, TaskType[]>),
  span_f1: ["tagging"],
  sentence_accuracy: ["tagging"],
};

/** Validate a parsed JSON model spec; returns a normalized deep copy with defaults, or throws SpecError. */
export function validateSpec(json: Json): ModelSpec {
  const root = obj(json, "spec");
  known(root, "", ["$schema", "name", "description", "data", "inputs", "architecture", "tasks", "training", "multilabel"]);
  const name = str(root, "name", "", "model");

  let data: DataSource | null = null;
  if (root.data !== undefined && root.data !== null) {
    const d = obj(root.data, "data");
    known(d, "data", ["format", "path", "delimiter", "stratify", "images", "labels", "validation_path", "row_id", "streaming", "shuffle_buffer"]);
    const format = oneOf(d, "format", "data", DATA_FORMATS, "csv");
    if (format === "idx") {
      // Images (IDX3) and labels (CSV) are two files; `path` names the images (normalized specs carry both).
      const images = str(d, "images", "data");
      if (d.path !== undefined && d.path !== images) throw new SpecError("data.path", `format "idx" reads data.images and data.labels; leave out "path" (found ${show(d.path)}, images ${JSON.stringify(images)})`);
      data = { format, path: images, delimiter: str(d, "delimiter", "data", ","), stratify: d.stratify == null ? null : str(d, "stratify", "data"), images, labels: str(d, "labels", "data") };
    } else {
      for (const k of ["images", "labels"] as const) if (d[k] !== undefined) throw new SpecError(`data.${k}`, `only for format "idx" (the format is ${JSON.stringify(format)})`);
      // `path` is optional: train() takes the rows themselves, and the CLI asks for --data when it is missing.
      data = {
        format,
        ...(d.path === undefined ? {} : { path: str(d, "path", "data") }),
        delimiter: str(d, "delimiter", "data", ","),
        stratify: d.stratify == null ? null : str(d, "stratify", "data"),
      };
    }
    if (data.delimiter.length !== 1) throw new SpecError("data.delimiter", `expected one character, found ${JSON.stringify(data.delimiter)}`);
    if (d.validation_path != null) {
      const vp = str(d, "validation_path", "data");
      if (format === "idx") throw new SpecError("data.validation_path", `format "idx" splits its validation rows from the images (training.validation); a separate validation file is not supported for it`);
      if (data.stratify) throw new SpecError("data.stratify", `stratifies the validation split, but data.validation_path (${JSON.stringify(vp)}) gives the validation rows, so there is no split; leave one out`);
      const v = obj(root.training ?? {}, "training").validation;
      if (v !== undefined && v !== 0) throw new SpecError("training.validation", `is ${show(v)}, but data.validation_path (${JSON.stringify(vp)}) gives the validation rows, so there is no split; leave training.validation out (or 0)`);
      data.validation_path = vp;
    }
    if (d.row_id != null) data.row_id = str(d, "row_id", "data");
    if (d.streaming != null && bool(d, "streaming", "data", false)) data.streaming = true;
    if (d.shuffle_buffer != null) {
      if (!data.streaming) throw new SpecError("data.shuffle_buffer", `sizes the shuffle buffer of data.streaming, which is off; set "streaming": true or leave it out`);
      data.shuffle_buffer = num(d, "shuffle_buffer", "data", undefined, { int: true, min: 1, max: 1 << 24 });
    }
  }

  const inp = obj(root.inputs ?? {}, "inputs");
  known(inp, "inputs", ["numeric", "numeric_encoding", "missing_indicator", "numeric_encodings", "categorical", "embedding_dim", "tensor", "image", "missing", "nonfinite", "tokens"]);
  const embDefault = num(inp, "embedding_dim", "inputs", 4, { min: 1, limit: MAX_EMBEDDING_DIM });
  const { numeric, encodings: numeric_encodings } = numericInputs(inp);
  const catRaw = inp.categorical === undefined ? [] : inp.categorical;
  if (!Array.isArray(catRaw)) throw new SpecError("inputs.categorical", `expected an array, found ${show(catRaw)}`);
  capped(catRaw, "inputs.categorical", MAX_INPUT_COLUMNS, "categorical columns");
  const categorical: CategoricalInput[] = catRaw.map((c, i) => {
    const p = `inputs.categorical[${i}]`;
    if (typeof c === "string" && c !== "") return { column: c, dim: embDefault, min_count: 1 };
    const o = obj(c, p);
    known(o, p, ["column", "dim", "min_count"]);
    return { column: str(o, "column", p), dim: num(o, "dim", p, embDefault, { min: 1, limit: MAX_EMBEDDING_DIM }), min_count: num(o, "min_count", p, 1, { min: 1, limit: MAX_MIN_COUNT }) };
  });
  let tensor = num(inp, "tensor", "inputs", 0, { min: 0, limit: MAX_TENSOR_WIDTH });
  let image: Inputs["image"] = null;
  if (inp.image !== undefined && inp.image !== null) {
    const io = obj(inp.image, "inputs.image");
    known(io, "inputs.image", ["channels", "height", "width"]);
    image = { channels: num(io, "channels", "inputs.image", 1, { min: 1, limit: MAX_IMAGE_SIDE }), height: num(io, "height", "inputs.image", undefined, { min: 1, limit: MAX_IMAGE_SIDE }), width: num(io, "width", "inputs.image", undefined, { min: 1, limit: MAX_IMAGE_SIDE }) };
    const pixels = image.channels * image.height * image.width;
    if (pixels > MAX_TENSOR_WIDTH) throw new SpecError("inputs.image", `${image.channels}·${image.height}·${image.width} = ${pixels} values per image is above the limit of ${MAX_TENSOR_WIDTH}`);
    if (inp.tensor !== undefined && tensor !== pixels) throw new SpecError("inputs.tensor", `is ${tensor}, but inputs.image holds ${image.channels}·${image.height}·${image.width} = ${pixels} values per row (leave tensor out: the image sets it)`);
    if (numeric.length || categorical.length) throw new SpecError("inputs.image", "an image input cannot be combined with numeric or categorical inputs yet");
    tensor = pixels;
  }
  const missing = inp.missing === undefined ? [...DEFAULT_MISSING] : strList(inp.missing, "inputs.missing", true, true);
  const nonfinite = oneOf(inp, "nonfinite", "inputs", ["error", "missing"] as const, "error");
  const seenCols = new Map<string, string>();
  const claim = (col: string, path: string) => {
    const prev = seenCols.get(col);
    if (prev) throw new SpecError(path, `column ${JSON.stringify(col)} is already used at ${prev}`);
    seenCols.set(col, path);
  };
  numeric.forEach((c, i) => claim(c, `inputs.numeric[${i}]`));
  categorical.forEach((c, i) => claim(c.column, `inputs.categorical[${i}]`));
  const tokens = inp.tokens == null ? undefined : tokenInput(inp.tokens);
  if (tokens) {
    if (image || tensor) throw new SpecError("inputs.tokens", `a token input cannot be combined with ${image ? "inputs.image" : "inputs.tensor"}`);
    if (numeric.length || categorical.length) throw new SpecError("inputs.tokens", `a token input cannot be combined with ${numeric.length ? "inputs.numeric" : "inputs.categorical"} yet`);
    claim(tokens.column, "inputs.tokens.column");
  }
  if (!numeric.length && !categorical.length && !tensor && !tokens) throw new SpecError("inputs", "declares no input: give numeric, categorical, tensor or tokens");
  if (data?.format === "idx" && !tensor) throw new SpecError("inputs.tensor", `data.format "idx" feeds each image to the tensor input: set it to the pixels per image (784 for 28 × 28)`);

  const a = obj(root.architecture ?? { type: "hps" }, "architecture");
  known(a, "architecture", ["type", "layers", "activation", "dropout", "experts", "shared_experts", "task_experts", "levels", "gate_input", "k", "gamma", "entropy", "cross"]);
  const type = oneOf(a, "type", "architecture", ARCHITECTURES, "hps");
  const actDefault = oneOf(a, "activation", "architecture", ACTIVATIONS, "relu");
  const dropDefault = num(a, "dropout", "architecture", 0, { min: 0, lt: 1 });
  const archLayers = layers(a.layers, "architecture.layers", { activation: actDefault, dropout: dropDefault });
  const architecture: Architecture = {
    type,
    layers: archLayers,
    experts: type === "mmoe" || type === "dselect_k" ? num(a, "experts", "architecture", undefined, { min: type === "mmoe" ? 1 : 2, limit: MAX_EXPERTS }) : 0,
    shared_experts: type === "cgc" || type === "ple" ? num(a, "shared_experts", "architecture", undefined, { min: 0, limit: MAX_EXPERTS }) : 0,
    task_experts: type === "cgc" || type === "ple" ? num(a, "task_experts", "architecture", undefined, { min: 0, limit: MAX_EXPERTS }) : 0,
    ...(type === "ple" ? { levels: num(a, "levels", "architecture", 2, { min: 1, limit: MAX_LEVELS }), gate_input: oneOf(a, "gate_input", "architecture", ["previous", "raw"] as const, "previous") } : {}),
    ...(type === "dselect_k" ? { k: num(a, "k", "architecture", undefined, { min: 1, limit: MAX_EXPERTS }), gamma: num(a, "gamma", "architecture", 1, { gt: 0 }), entropy: num(a, "entropy", "architecture", 0, { min: 0 }) } : {}),
  };
  const cross = num(a, "cross", "architecture", 0, { min: 0, limit: MAX_CROSS });
  if (cross > 0) {
    if (image || tokens) throw new SpecError("architecture.cross", `cross layers mix one flat input row; ${image ? "an image input" : "a token input"} has none (use them with numeric, categorical or tensor inputs)`);
    architecture.cross = cross;
  }
  if (type !== "mmoe" && type !== "dselect_k" && a.experts !== undefined && a.experts !== 0) throw new SpecError("architecture.experts", `only applies to type "mmoe" or "dselect_k", not ${JSON.stringify(type)}`);
  for (const k of ["k", "gamma", "entropy"] as const) if (type !== "dselect_k" && a[k] !== undefined) throw new SpecError(`architecture.${k}`, `only applies to type "dselect_k", not ${JSON.stringify(type)}`);
  if (type === "dselect_k" && architecture.k! > architecture.experts) throw new SpecError("architecture.k", `must be ≤ experts (${architecture.experts}), found ${architecture.k}`);
  const setCgc = (x: Json) => x !== undefined && x !== 0;
  if (type !== "cgc" && type !== "ple" && (setCgc(a.shared_experts) || setCgc(a.task_experts))) {
    throw new SpecError(setCgc(a.shared_experts) ? "architecture.shared_experts" : "architecture.task_experts", `only applies to type "cgc" or "ple", not ${JSON.stringify(type)}`);
  }
  for (const k of ["levels", "gate_input"] as const) if (type !== "ple" && a[k] !== undefined) throw new SpecError(`architecture.${k}`, `only applies to type "ple", not ${JSON.stringify(type)}`);
  if (type === "cross_stitch" && archLayers.length === 0) throw new SpecError("architecture.layers", `type "cross_stitch" needs at least one layer (each task's column; a cross-stitch unit follows every layer)`);
  if (type !== "hps" && archLayers.length === 0) throw new SpecError("architecture.layers", `type ${JSON.stringify(type)} needs at least one expert layer`);
  if ((type === "cgc" || type === "ple") && architecture.shared_experts + architecture.task_experts === 0) throw new SpecError("architecture", `${type} needs shared_experts + task_experts ≥ 1`);

  if (!Array.isArray(root.tasks) || root.tasks.length === 0) throw new SpecError("tasks", "expected a non-empty array of tasks");
  capped(root.tasks, "tasks", MAX_TASKS, "tasks");
  const names = new Set<string>();
  const tasks: Task[] = root.tasks.map((t, i) => {
    const p = `tasks[${i}]`;
    const o = obj(t, p);
    known(o, p, ["name", "type", "label", "labels", "positive", "classes", "group_by", "group_l2", "tower", "loss", "weight", "pos_weight", "huber_delta", "smooth_l1_beta", "metrics", "funnel", "after", "calibrator", "unknown", "pool"]);
    const tname = str(o, "name", p);
    if (/[:\s]/.test(tname)) throw new SpecError(`${p}.name`, `must not contain ':' or spaces, found ${JSON.stringify(tname)}`);
    if (names.has(tname)) throw new SpecError(`${p}.name`, `duplicate task name ${JSON.stringify(tname)}`);
    names.add(tname);
    const ttype = oneOf(o, "type", p, TASK_TYPES);
    if (o.label !== undefined && o.labels !== undefined) throw new SpecError(`${p}.labels`, "give either label or labels, not both");
    const labels = strList(o.labels ?? o.label ?? [], o.labels !== undefined ? `${p}.labels` : `${p}.label`);
    if (!labels.length) throw new SpecError(`${p}.label`, "is required");
    capped(labels, `${p}.labels`, MAX_LABELS, "label columns");
    if ((ttype === "binary" || ttype === "multiclass" || ttype === "tagging") && labels.length !== 1) throw new SpecError(`${p}.label`, `type ${JSON.stringify(ttype)} takes exactly one label column, found ${labels.length}`);
    labels.forEach((c, j) => {
      if (seenCols.has(c) && seenCols.get(c)!.startsWith("inputs")) throw new SpecError(`${p}.label${labels.length > 1 ? `s[${j}]` : ""}`, `column ${JSON.stringify(c)} is also an input (${seenCols.get(c)}): a label must not be an input`);
    });
    const loss = oneOf(o, "loss", p, LOSSES, DEFAULT_LOSS[ttype]);
    if (!LOSS_TYPES[loss].includes(ttype)) throw new SpecError(`${p}.loss`, `${JSON.stringify(loss)} needs type ${LOSS_TYPES[loss].map((x) => JSON.stringify(x)).join(" or ")}, but the task is ${JSON.stringify(ttype)}`);
    const positive = o.positive == null ? null : strList(o.positive, `${p}.positive`, false);
    if (positive && ttype !== "binary") throw new SpecError(`${p}.positive`, `only applies to type "binary"`);
    const classes = o.classes == null ? null : strList(o.classes, `${p}.classes`, false);
    if (classes && ttype !== "multiclass" && ttype !== "tagging") throw new SpecError(`${p}.classes`, `only applies to type "multiclass" or "tagging"`);
    if (o.unknown !== undefined && o.unknown !== false && ttype !== "multiclass" && ttype !== "tagging") throw new SpecError(`${p}.unknown`, `only applies to type "multiclass" or "tagging"`);
    const unknown = bool(o, "unknown", p, ttype === "tagging");
    if (o.pool != null && (!tokens || ttype === "tagging")) throw new SpecError(`${p}.pool`, `only applies to sentence-level tasks over inputs.tokens (${tokens ? "a tagging task reads every token" : "the spec declares no inputs.tokens"})`);
    const pool = tokens && ttype !== "tagging" ? { pool: oneOf(o, "pool", p, ["max", "mean"] as const, "max") } : {};
    if (ttype === "tagging") {
      if (!tokens) throw new SpecError(`${p}.type`, `"tagging" labels each token of inputs.tokens, but the spec declares no inputs.tokens`);
      if (o.group_by != null) throw new SpecError(`${p}.group_by`, `a tagging task cannot be grouped (group_by)`);
    }
    if (classes && classes.length < 2) throw new SpecError(`${p}.classes`, "needs at least 2 classes");
    if (classes) capped(classes, `${p}.classes`, MAX_CLASSES, "classes");
    if (classes && new Set(classes).size !== classes.length) throw new SpecError(`${p}.classes`, "has duplicates");
    if (loss === "giou" && labels.length !== BOX_WIDTH) throw new SpecError(o.labels !== undefined ? `${p}.labels` : `${p}.label`, `loss "giou" needs exactly ${BOX_WIDTH} label columns, the box [x0, y0, x1, y1] in that order, found ${labels.length}`);
    // sentence_accuracy (a tagging task's rows whose tags are all right AND whose class is right in the spec's one
    // multiclass task) is a default of the tagging task when the spec has exactly one multiclass and one tagging task.
    const all = root.tasks as Json[], count = (ty: string) => all.filter((x) => isObj(x) && x.type === ty).length;
    const joint = count("multiclass") === 1 && count("tagging") === 1;
    const metrics = o.metrics === undefined ? (loss === "giou" ? ["iou", "iou50", "mae"] as MetricName[] : ttype === "tagging" && joint ? [...DEFAULT_METRICS.tagging, "sentence_accuracy" as const] : DEFAULT_METRICS[ttype]) : (strList(o.metrics, `${p}.metrics`) as MetricName[]);
    if (metrics.includes("sentence_accuracy") && !joint) throw new SpecError(`${p}.metrics[${metrics.indexOf("sentence_accuracy")}]`, `"sentence_accuracy" (every tag and the sentence's class right) needs exactly one multiclass task and one tagging task in the spec`);
    metrics.forEach((m, j) => {
      if (!(METRICS as readonly string[]).includes(m)) throw new SpecError(`${p}.metrics[${j}]`, `${JSON.stringify(m)} is not one of ${METRICS.join(", ")}`);
      if (!METRIC_TYPES[m].includes(ttype)) throw new SpecError(`${p}.metrics[${j}]`, `${JSON.stringify(m)} does not apply to type ${JSON.stringify(ttype)}`);
      if (BOX_METRICS.includes(m) && labels.length !== BOX_WIDTH) throw new SpecError(`${p}.metrics[${j}]`, `${JSON.stringify(m)} reads the outputs as a box [x0, y0, x1, y1] and needs exactly ${BOX_WIDTH} label columns, found ${labels.length}`);
    });
    const group_by = o.group_by == null ? null : str(o, "group_by", p);
    if (group_by && seenCols.get(group_by)?.startsWith("inputs.numeric")) throw new SpecError(`${p}.group_by`, `column ${JSON.stringify(group_by)} is a numeric input; group by a categorical or unused column`);
    if (o.group_l2 !== undefined && o.group_l2 !== 0 && !group_by) throw new SpecError(`${p}.group_l2`, "only applies to tasks with group_by");
    if (o.pos_weight !== undefined && o.pos_weight !== 1 && loss !== "bce") throw new SpecError(`${p}.pos_weight`, `only applies to loss "bce"`);
    if (o.huber_delta !== undefined && o.huber_delta !== 1 && loss !== "huber") throw new SpecError(`${p}.huber_delta`, `only applies to loss "huber"`);
    if (o.smooth_l1_beta !== undefined && o.smooth_l1_beta !== 1 && loss !== "smooth_l1") throw new SpecError(`${p}.smooth_l1_beta`, `only applies to loss "smooth_l1"`);
    return {
      name: tname,
      type: ttype,
      labels,
      positive,
      classes,
      group_by,
      group_l2: num(o, "group_l2", p, 0, { min: 0 }),
      tower: layers(o.tower, `${p}.tower`, { activation: actDefault, dropout: dropDefault }),
      loss,
      weight: num(o, "weight", p, 1, { min: 0 }),
      pos_weight: num(o, "pos_weight", p, 1, { gt: 0 }),
      huber_delta: num(o, "huber_delta", p, 1, { gt: 0 }),
      smooth_l1_beta: num(o, "smooth_l1_beta", p, 1, { gt: 0 }),
      unknown,
      metrics,
      ...funnelFields(o, p),
      ...pool,
    };
  });
  checkFunnels(tasks);
  checkTreeBins(numeric_encodings, tasks, (i) => (inp.numeric_encodings !== undefined ? `inputs.numeric_encodings[${i}]` : `inputs.numeric[${i}]`));

  // Shapes through the trunk (or each expert) and every tower: errors name the layer and the shape.
  const inShape = inputShape({ numeric, categorical, tensor, image, missing, nonfinite, ...(tokens ? { tokens } : {}) });
  if (tokens && type !== "hps") throw new SpecError("architecture.type", `${JSON.stringify(type)} over inputs.tokens is not supported yet (its gates and units mix flat rows); use "hps", whose trunk is the shared sequence encoder`);
  const trunkOut = layerShapes(archLayers, inShape, "architecture.layers", image ? "inputs.image" : tokens ? "inputs.tokens" : "the inputs");
  if (type !== "hps" && type !== "cross_stitch" && trunkOut.length !== 1) throw new SpecError("architecture.layers", `${type} experts must end in a flat vector for the gates to mix, but they end in an image ${showRow(trunkOut)}; end them with {"type": "flatten"} (after a {"type": "pool", "mode": "global_avg"} to keep it small)`);
  // ple: the experts of level l ≥ 2 apply the same layers to level l − 1's (flat) output.
  if ((architecture.levels ?? 1) > 1) layerShapes(archLayers, trunkOut, "architecture.layers", "level 1's experts (architecture.levels > 1 applies the layers again to that output)");
  tasks.forEach((t, i) => {
    const from = archLayers.length ? `architecture.layers[${archLayers.length - 1}]` : image ? "inputs.image" : tokens ? "inputs.tokens" : "the inputs";
    if (t.type === "tagging") {
      layerShapes(t.tower, trunkOut, `tasks[${i}].tower`, from); // token rows stay token rows; the head is per token
      return;
    }
    const out = t.pool ? layerShapes(t.tower, [(trunkOut as ["L", number])[1]], `tasks[${i}].tower`, `${from} ${t.pool}-pooled over the tokens`) : layerShapes(t.tower, trunkOut, `tasks[${i}].tower`, from);
    if (out.length !== 1) throw new SpecError(`tasks[${i}].tower`, `the task's head is dense and needs a flat input; add {"type": "flatten"} at the end (shape ${showRow(out)})`);
  });

  const tr = obj(root.training ?? {}, "training");
  known(tr, "training", ["epochs", "batch_size", "seed", "validation", "optimizer", "schedule", "weighting", "clip_grad_norm", "early_stopping", "relations", "shared_l2", "affinity", "ema", "swa"]);
  const op = obj(tr.optimizer ?? {}, "training.optimizer");
  known(op, "training.optimizer", ["type", "lr", "weight_decay", "momentum", "nesterov", "beta1", "beta2", "eps"]);
  const optType = oneOf(op, "type", "training.optimizer", OPTIMIZERS, "adam");
  const optimizer = {
    type: optType,
    lr: num(op, "lr", "training.optimizer", optType === "sgd" ? 0.01 : 1e-3, { gt: 0 }),
    weight_decay: num(op, "weight_decay", "training.optimizer", optType === "adamw" ? 0.01 : 0, { min: 0 }),
    momentum: num(op, "momentum", "training.optimizer", 0, { min: 0, lt: 1 }),
    nesterov: bool(op, "nesterov", "training.optimizer", false),
    beta1: num(op, "beta1", "training.optimizer", 0.9, { min: 0, lt: 1 }),
    beta2: num(op, "beta2", "training.optimizer", 0.999, { min: 0, lt: 1 }),
    eps: num(op, "eps", "training.optimizer", 1e-8, { gt: 0 }),
  };
  const setSgd = (x: Json) => x !== undefined && x !== 0 && x !== false;
  if (optType !== "sgd" && (setSgd(op.momentum) || setSgd(op.nesterov))) throw new SpecError(setSgd(op.momentum) ? "training.optimizer.momentum" : "training.optimizer.nesterov", `only applies to type "sgd"`);
  if (optimizer.nesterov && optimizer.momentum === 0) throw new SpecError("training.optimizer.nesterov", "needs momentum > 0");
  const sc = obj(tr.schedule ?? {}, "training.schedule");
  known(sc, "training.schedule", ["type", "warmup_steps", "step_size", "gamma", "min_lr"]);
  const schedule = {
    type: oneOf(sc, "type", "training.schedule", SCHEDULES, "constant"),
    warmup_steps: num(sc, "warmup_steps", "training.schedule", 0, { min: 0, limit: MAX_STEPS }),
    step_size: num(sc, "step_size", "training.schedule", 1, { min: 1, limit: MAX_STEPS }),
    gamma: num(sc, "gamma", "training.schedule", 0.1, { gt: 0, max: 1 }),
    min_lr: num(sc, "min_lr", "training.schedule", 0, { min: 0 }),
  };
  const weighting = weightingSpec(obj(tr.weighting ?? {}, "training.weighting"));

  const relRaw = tr.relations ?? [];
  if (!Array.isArray(relRaw)) throw new SpecError("training.relations", `expected an array, found ${show(relRaw)}`);
  capped(relRaw, "training.relations", MAX_RELATIONS, "relations");
  const relations: Relation[] = relRaw.map((r, i) => {
    const p = `training.relations[${i}]`;
    const o = obj(r, p);
    known(o, p, ["tasks", "lambda"]);
    const ts = strList(o.tasks, `${p}.tasks`);
    if (ts.length !== 2) throw new SpecError(`${p}.tasks`, `expected two task names, found ${ts.length}`);
    const [ta, tb] = ts.map((n, j) => {
      const t = tasks.find((x) => x.name === n);
      if (!t) throw new SpecError(`${p}.tasks[${j}]`, `no task named ${JSON.stringify(n)}; tasks are ${tasks.map((x) => x.name).join(", ")}`);
      if (t.group_by) throw new SpecError(`${p}.tasks[${j}]`, `task ${JSON.stringify(n)} is grouped (group_by); relations tie ungrouped tasks`);
      if (t.type === "tagging") throw new SpecError(`${p}.tasks[${j}]`, `task ${JSON.stringify(n)} is a tagging task (an output per token); relations tie per-row outputs`);
      return t;
    });
    if (ta === tb) throw new SpecError(`${p}.tasks`, "names the same task twice");
    const wa = outputWidth(ta), wb = outputWidth(tb);
    if (wa !== null && wb !== null && wa !== wb) throw new SpecError(`${p}.tasks`, `outputs differ in width (${ta.name}: ${wa}, ${tb.name}: ${wb})`);
    return { tasks: [ta.name, tb.name] as [string, string], lambda: num(o, "lambda", p, undefined, { min: 0 }) };
  });

  const multilabel = root.multilabel == null ? null : multilabelGroup(root.multilabel, tasks);

  let early_stopping: TrainingOptions["early_stopping"] = null;
  if (tr.early_stopping !== undefined && tr.early_stopping !== null) {
    const e = obj(tr.early_stopping, "training.early_stopping");
    known(e, "training.early_stopping", ["metric", "patience"]);
    const metric = str(e, "metric", "training.early_stopping", "loss");
    checkMetricRef(metric, tasks, "training.early_stopping.metric", multilabel);
    early_stopping = { metric, patience: num(e, "patience", "training.early_stopping", 3, { min: 1, limit: MAX_PATIENCE }) };
  }

  let affinity: TrainingOptions["affinity"] = null;
  if (tr.affinity !== undefined && tr.affinity !== null) {
    const a = obj(tr.affinity, "training.affinity");
    known(a, "training.affinity", ["every"]);
    affinity = { every: num(a, "every", "training.affinity", DEFAULT_AFFINITY_EVERY, { min: 1, limit: MAX_AFFINITY_EVERY }) };
  }

  return {
    name,
    data,
    inputs: { numeric, ...(numeric_encodings ? { numeric_encodings } : {}), categorical, tensor, image, missing, nonfinite, ...(tokens ? { tokens } : {}) },
    architecture,
    tasks,
    training: {
      epochs: num(tr, "epochs", "training", 10, { min: 0, limit: MAX_EPOCHS }),
      batch_size: num(tr, "batch_size", "training", 256, { min: 1, limit: MAX_BATCH_SIZE }),
      seed: num(tr, "seed", "training", 1, { int: true, min: 0, max: 2 ** 31 - 1 }),
      validation: num(tr, "validation", "training", data?.validation_path ? 0 : 0.2, { min: 0, lt: 1 }),
      optimizer,
      schedule,
      weighting,
      clip_grad_norm: num(tr, "clip_grad_norm", "training", 0, { min: 0 }),
      early_stopping,
      relations,
      shared_l2: num(tr, "shared_l2", "training", 0, { min: 0 }),
      affinity,
      ...averaging(tr, num(tr, "epochs", "training", 10, { min: 0, limit: MAX_EPOCHS }), early_stopping),
    },
    ...(multilabel ? { multilabel } : {}),
  };
}

/** training.ema and training.swa (one or neither; SWA needs a fixed number of epochs, so no early stopping). */
function averaging(tr: Record<string, Json>, epochs: number, early: TrainingOptions["early_stopping"]): Pick<TrainingOptions, "ema" | "swa"> {
  let ema: TrainingOptions["ema"] = null, swa: TrainingOptions["swa"] = null;
  if (tr.ema !== undefined && tr.ema !== null) {
    const e = obj(tr.ema, "training.ema");
    known(e, "training.ema", ["decay", "warmup"]);
    const d = num(e, "decay", "training.ema", undefined);
    if (!(d > 0 && d < 1)) throw new SpecError("training.ema.decay", `must be in (0, 1), found ${d}`);
    ema = { decay: d, warmup: bool(e, "warmup", "training.ema", false) };
  }
  if (tr.swa !== undefined && tr.swa !== null) {
    if (ema) throw new SpecError("training.swa", "excludes training.ema: average the weights one way");
    if (early) throw new SpecError("training.swa", "averages the last epochs of a run of fixed length, and training.early_stopping would end it elsewhere: set training.early_stopping to null");
    const w = obj(tr.swa, "training.swa");
    known(w, "training.swa", ["epochs", "lr"]);
    const k = num(w, "epochs", "training.swa", undefined, { min: 1, limit: MAX_EPOCHS });
    if (k < 1 || k > epochs) throw new SpecError("training.swa.epochs", `must be an integer in [1, training.epochs = ${epochs}], found ${k}`);
    swa = { epochs: k, lr: w.lr === undefined || w.lr === null ? null : num(w, "lr", "training.swa", undefined, { gt: 0 }) };
  }
  return { ema, swa };
}

/** The options an encoding object may carry besides column, encoding and missing_indicator. */
const ENCODING_OPTIONS = ["quantiles", "output", "bins", "tree", "frequencies", "sigma"];

/** ple's `tree`: true (every default) or { task?, min_samples_leaf?, min_impurity_decrease? }; the task is resolved against the tasks later (checkTreeBins). */
function treeBins(v: Json, p: string): TreeBins {
  const o = v === true ? {} : obj(v, p);
  known(o, p, ["task", "min_samples_leaf", "min_impurity_decrease"]);
  return {
    task: o.task === undefined || o.task === null ? "" : str(o, "task", p),
    min_samples_leaf: num(o, "min_samples_leaf", p, 64, { int: true, min: 1, max: 1 << 30 }),
    min_impurity_decrease: num(o, "min_impurity_decrease", p, 1e-4, { min: 0, max: 1e6 }),
  };
}

/** Target-aware ple bins: the task exists (default: the first task) and has labels a tree can fit. */
function checkTreeBins(encodings: NumericEncoding[] | undefined, tasks: Task[], where: (i: number) => string): void {
  encodings?.forEach((e, i) => {
    if (e.encoding !== "ple" || !e.tree) return;
    const p = `${where(i)}.tree.task`;
    if (!e.tree.task) e.tree.task = tasks[0].name;
    const t = tasks.find((t) => t.name === e.tree!.task);
    if (!t) throw new SpecError(p, `names no task (the tasks: ${tasks.map((t) => JSON.stringify(t.name)).join(", ")})`);
    const fits = t.type === "binary" || t.type === "multiclass" || (t.type === "regression" && t.labels.length === 1);
    if (!fits || t.group_by || t.funnel) throw new SpecError(p, `task ${JSON.stringify(t.name)} is ${t.type}${t.type === "regression" ? ` over ${t.labels.length} label columns` : ""}${t.group_by ? " grouped by " + JSON.stringify(t.group_by) : ""}${t.funnel ? " with a funnel head" : ""}; target-aware bins need a binary, multiclass or one-column regression task`);
  });
}

/**
 * The encoding options of `o` at `p` for `encoding` (defaults from `base` when it has the same encoding, else the
 * encoding's own: quantiles 1000, output "uniform", bins 16, frequencies 8, sigma 0.1); `column` and
 * `missing_indicator` are the caller's.
 */
function encodingOptions(o: Record<string, Json>, p: string, encoding: NumericEncoding["encoding"], column: string, missing_indicator: boolean, base: Record<string, Json>): NumericEncoding {
  const pick = (k: string) => (o[k] !== undefined ? o : base);
  const only = (keys: string[]) => {
    for (const k of ENCODING_OPTIONS) if (o[k] !== undefined && !keys.includes(k)) throw new SpecError(`${p}.${k}`, `is not an option of encoding ${JSON.stringify(encoding)}${keys.length ? ` (its options: ${keys.join(", ")})` : " (it has none)"}`);
  };
  switch (encoding) {
    case "standardize":
      only([]);
      return { column, encoding, missing_indicator };
    case "quantile":
      only(["quantiles", "output"]);
      return { column, encoding, quantiles: num(pick("quantiles"), "quantiles", p, 1000, { min: 2, limit: MAX_QUANTILES }), output: oneOf(pick("output"), "output", p, ["uniform", "normal"] as const, "uniform"), missing_indicator };
    case "ple": {
      only(["bins", "tree"]);
      const t = pick("tree").tree;
      const tree = t === undefined || t === null || t === false ? null : treeBins(t, `${o.tree !== undefined ? p : "inputs.numeric_encoding"}.tree`);
      return { column, encoding, bins: num(pick("bins"), "bins", p, 16, { min: 1, limit: MAX_BINS }), ...(tree ? { tree } : {}), missing_indicator };
    }
    case "periodic":
      only(["frequencies", "sigma"]);
      return { column, encoding, frequencies: num(pick("frequencies"), "frequencies", p, 8, { min: 1, limit: MAX_FREQUENCIES }), sigma: num(pick("sigma"), "sigma", p, 0.1, { gt: 0, max: 1e6 }), missing_indicator };
  }
}

/**
 * inputs.numeric (strings or `{ column, encoding?, missing_indicator?, <options> }`), inputs.numeric_encoding (the
 * default encoding: a name or `{ type, <options> }`), inputs.missing_indicator (default false), or the normalized
 * inputs.numeric_encodings: the columns, and the per-column encodings unless every column is the default.
 */
function numericInputs(inp: Record<string, Json>): { numeric: string[]; encodings?: NumericEncoding[] } {
  const raw = inp.numeric === undefined ? [] : typeof inp.numeric === "string" ? [inp.numeric] : inp.numeric;
  if (!Array.isArray(raw)) throw new SpecError("inputs.numeric", `expected a string or an array of columns, found ${show(raw)}`);
  capped(raw, "inputs.numeric", MAX_INPUT_COLUMNS, "numeric columns");
  let def: Record<string, Json> = {}, defType: NumericEncoding["encoding"] = "standardize";
  if (typeof inp.numeric_encoding === "string") defType = oneOf(inp, "numeric_encoding", "inputs", NUMERIC_ENCODINGS);
  else if (inp.numeric_encoding !== undefined) {
    def = obj(inp.numeric_encoding, "inputs.numeric_encoding");
    known(def, "inputs.numeric_encoding", ["type", ...ENCODING_OPTIONS]);
    defType = oneOf(def, "type", "inputs.numeric_encoding", NUMERIC_ENCODINGS);
    encodingOptions(def, "inputs.numeric_encoding", defType, "", false, {});
  }
  const defIndicator = bool(inp, "missing_indicator", "inputs", false);
  let encodings: NumericEncoding[];
  const numeric: string[] = [];
  if (inp.numeric_encodings !== undefined) {
    for (const k of ["numeric_encoding", "missing_indicator"]) if (inp[k] !== undefined) throw new SpecError(`inputs.${k}`, "cannot be combined with inputs.numeric_encodings (the normalized per-column list); give one or the other");
    const list = inp.numeric_encodings;
    if (!Array.isArray(list) || list.length !== raw.length) throw new SpecError("inputs.numeric_encodings", `expected an array of ${raw.length} encodings, one per inputs.numeric column, found ${Array.isArray(list) ? `${list.length}` : show(list)}`);
    encodings = list.map((e, i) => {
      const p = `inputs.numeric_encodings[${i}]`, o = obj(e, p);
      known(o, p, ["column", "encoding", "missing_indicator", ...ENCODING_OPTIONS]);
      const column = str(o, "column", p);
      if (raw[i] !== column) throw new SpecError(`${p}.column`, `is ${JSON.stringify(column)}, but inputs.numeric[${i}] is ${show(raw[i])}`);
      numeric.push(column);
      return encodingOptions(o, p, oneOf(o, "encoding", p, NUMERIC_ENCODINGS), column, bool(o, "missing_indicator", p, false), {});
    });
  } else {
    encodings = raw.map((c, i) => {
      const p = `inputs.numeric[${i}]`;
      if (typeof c === "string" && c !== "") {
        numeric.push(c);
        return encodingOptions({}, p, defType, c, defIndicator, def);
      }
      const o = obj(c, p);
      known(o, p, ["column", "encoding", "missing_indicator", ...ENCODING_OPTIONS]);
      const column = str(o, "column", p);
      numeric.push(column);
      const type = o.encoding === undefined ? defType : oneOf(o, "encoding", p, NUMERIC_ENCODINGS);
      return encodingOptions(o, p, type, column, bool(o, "missing_indicator", p, defIndicator), type === defType ? def : {});
    });
  }
  const plain = encodings.every((e) => e.encoding === "standardize" && !e.missing_indicator);
  return plain ? { numeric } : { numeric, encodings };
}

/** inputs.tokens (see TokenInput): vocab_size and min_count exclude each other. */
function tokenInput(v: Json): TokenInput {
  const P = "inputs.tokens";
  const o = obj(v, P);
  known(o, P, ["column", "vocab_size", "min_count", "max_length", "lowercase", "dim"]);
  // min_count 1 (the default, and what a normalized spec with vocab_size carries) cuts nothing, so it may stay.
  if (o.vocab_size != null && o.min_count != null && o.min_count !== 1) throw new SpecError(`${P}.min_count`, "give either vocab_size or min_count, not both");
  return {
    column: str(o, "column", P),
    vocab_size: o.vocab_size == null ? null : num(o, "vocab_size", P, undefined, { min: 3, limit: MAX_VOCAB_SIZE }),
    min_count: o.min_count == null ? 1 : num(o, "min_count", P, undefined, { min: 1, limit: MAX_MIN_COUNT }),
    max_length: num(o, "max_length", P, undefined, { min: 1, limit: MAX_SEQUENCE_LENGTH }),
    lowercase: bool(o, "lowercase", P, true),
    dim: num(o, "dim", P, 64, { min: 1, limit: MAX_EMBEDDING_DIM }),
  };
}

/** A task's funnel, after and calibrator (see Task.funnel); checkFunnels checks them against the other tasks. */
function funnelFields(o: Record<string, Json>, p: string): Pick<Task, "funnel" | "after" | "calibrator"> {
  const funnel = o.funnel == null ? null : oneOf(o, "funnel", p, ["esmm", "aitm"] as const);
  const after = o.after == null ? null : str(o, "after", p);
  if (funnel && !after) throw new SpecError(`${p}.after`, `funnel ${JSON.stringify(funnel)} needs "after": the name of the earlier task this one follows`);
  if (after && !funnel) throw new SpecError(`${p}.funnel`, `"after" needs "funnel": "esmm" or "aitm"`);
  if (o.calibrator !== undefined && o.calibrator !== 0 && funnel !== "aitm") throw new SpecError(`${p}.calibrator`, `only applies to funnel "aitm"`);
  return { funnel, after, calibrator: funnel === "aitm" ? num(o, "calibrator", p, 0.6, { min: 0 }) : 0 };
}

/** Funnel tasks: binary, ungrouped, after an earlier binary ungrouped task; esmm takes the plain bce loss. */
function checkFunnels(tasks: Task[]): void {
  tasks.forEach((t, i) => {
    if (!t.funnel) return;
    const p = `tasks[${i}]`;
    if (t.type !== "binary") throw new SpecError(`${p}.funnel`, `funnel heads are for binary tasks, but the task is ${JSON.stringify(t.type)}`);
    if (t.group_by) throw new SpecError(`${p}.funnel`, "a funnel task cannot be grouped (group_by)");
    if (t.funnel === "esmm" && t.pos_weight !== 1) throw new SpecError(`${p}.pos_weight`, `funnel "esmm" trains p(${t.after})·p(${t.name} | ${t.after}) with the plain bce loss; pos_weight does not apply`);
    const j = tasks.findIndex((x) => x.name === t.after);
    if (j < 0) throw new SpecError(`${p}.after`, `no task named ${JSON.stringify(t.after)}; tasks are ${tasks.map((x) => x.name).join(", ")}`);
    if (j >= i) throw new SpecError(`${p}.after`, `task ${JSON.stringify(t.after)} must come before ${JSON.stringify(t.name)} in tasks (a funnel runs in task order)`);
    const a = tasks[j];
    if (t.funnel === "esmm" && a.funnel === "esmm") throw new SpecError(`${p}.after`, `task ${JSON.stringify(a.name)} is itself an esmm task; an esmm task follows a task with its own probability (plain or aitm)`);
    if (a.type !== "binary" || a.group_by) throw new SpecError(`${p}.after`, `task ${JSON.stringify(a.name)} is ${a.group_by ? "grouped (group_by)" : JSON.stringify(a.type)}; a funnel follows an ungrouped binary task`);
  });
}

/** The `multilabel` group (see MultilabelGroup): binary tasks of the spec, at least two, each once. */
function multilabelGroup(v: Json, tasks: Task[]): MultilabelGroup {
  const P = "multilabel";
  const o: Record<string, Json> = Array.isArray(v) || typeof v === "string" ? { tasks: v } : obj(v, P);
  known(o, P, ["tasks", "metrics"]);
  if (o.tasks === undefined) throw new SpecError(`${P}.tasks`, "is required");
  const names = strList(o.tasks, `${P}.tasks`);
  const named = tasks.find((t) => t.name === "multilabel");
  if (named) throw new SpecError(P, `a task is named "multilabel", the name under which the group's metrics are reported; rename the task`);
  names.forEach((n, i) => {
    const t = tasks.find((x) => x.name === n);
    if (!t) throw new SpecError(`${P}.tasks[${i}]`, `no task named ${JSON.stringify(n)}; tasks are ${tasks.map((x) => x.name).join(", ")}`);
    if (t.type !== "binary" || t.group_by) throw new SpecError(`${P}.tasks[${i}]`, `task ${JSON.stringify(n)} is ${t.group_by ? "grouped (group_by)" : JSON.stringify(t.type)}; the group takes ungrouped binary tasks (a multilabel task reports these metrics itself)`);
    if (names.indexOf(n) !== i) throw new SpecError(`${P}.tasks[${i}]`, `task ${JSON.stringify(n)} is listed twice`);
  });
  if (names.length < 2) throw new SpecError(`${P}.tasks`, `needs at least 2 binary tasks, found ${names.length}`);
  const metrics = o.metrics === undefined ? [...MULTILABEL_METRICS] : (strList(o.metrics, `${P}.metrics`, false) as MultilabelMetricName[]);
  metrics.forEach((m, j) => {
    if (!(MULTILABEL_METRICS as readonly string[]).includes(m)) throw new SpecError(`${P}.metrics[${j}]`, `${JSON.stringify(m)} is not one of ${MULTILABEL_METRICS.join(", ")}`);
  });
  return { tasks: names, metrics };
}

/** training.weighting: the type, rep_grad by LibMTL's rules, and the options that apply to the type. */
function weightingSpec(w: Record<string, Json>): WeightingSpec {
  const P = "training.weighting";
  known(w, P, ["type", "rep_grad", ...Object.keys(WEIGHTING_OPTIONS)]);
  const type = oneOf(w, "type", P, WEIGHTINGS, "static");
  const out: WeightingSpec = { type, temperature: num(w, "temperature", P, 2, { gt: 0 }) };
  if (w.temperature !== undefined && w.temperature !== 2 && type !== "dwa") throw new SpecError(`${P}.temperature`, `only applies to type "dwa"`);
  for (const [key, o] of Object.entries(WEIGHTING_OPTIONS)) {
    if (key === "temperature") continue;
    const applies = o.methods.includes(type);
    if (!applies) {
      if (w[key] !== undefined) throw new SpecError(`${P}.${key}`, `only applies to type ${o.methods.map((m) => JSON.stringify(m)).join(" or ")}`);
      continue;
    }
    const dflt = WEIGHTING_DEFAULTS[type]?.[key] ?? o.dflt;
    (out as unknown as Record<string, unknown>)[key] = o.values ? oneOf(w, key, P, o.values, dflt as string) : num(w, key, P, dflt as number, o.check);
  }
  const kind = WEIGHTING_GRADIENTS[type];
  if (kind === "loss") {
    if (w.rep_grad !== undefined) throw new SpecError(`${P}.rep_grad`, `type ${JSON.stringify(type)} scales losses and reads no per-task gradients; rep_grad applies to gradient methods (${WEIGHTINGS.filter((m) => WEIGHTING_GRADIENTS[m] !== "loss").join(", ")})`);
  } else {
    const rep = bool(w, "rep_grad", P, kind === "rep");
    if (rep && kind === "param") throw new SpecError(`${P}.rep_grad`, `${type} is defined on the shared parameters' gradients and cannot use representation gradients (as in LibMTL); use rep_grad: false`);
    if (!rep && kind === "rep") throw new SpecError(`${P}.rep_grad`, `${type} masks the shared representation's gradient by sign, feature by feature, so it needs rep_grad: true (as in LibMTL)`);
    out.rep_grad = rep;
  }
  return out;
}

/** Output width per row when the spec alone fixes it (multiclass without `classes` is learnt from data); null for tagging (per token). */
export function outputWidth(t: Task): number | null {
  if (t.type === "tagging") return null;
  if (t.type === "multiclass") return t.classes ? t.classes.length + (t.unknown ? 1 : 0) : null;
  return t.labels.length;
}

/**
 * A metric reference: `loss` (validation loss, lower is better), `TASK.METRIC`, `mean.METRIC` (mean over the
 * tasks that report it), or `multilabel.METRIC` when the spec has a multilabel group.
 */
export function checkMetricRef(ref: string, tasks: Task[], path: string, multilabel: MultilabelGroup | null = null): void {
  if (ref === "loss") return;
  const dot = ref.lastIndexOf(".");
  const [who, metric] = dot < 0 ? ["", ref] : [ref.slice(0, dot), ref.slice(dot + 1)];
  if (!(METRICS as readonly string[]).includes(metric)) throw new SpecError(path, `${JSON.stringify(ref)}: expected "loss", "TASK.METRIC" or "mean.METRIC" with METRIC one of ${METRICS.join(", ")}`);
  if (who === "multilabel" && multilabel) {
    if (!(multilabel.metrics as string[]).includes(metric)) throw new SpecError(path, `the multilabel group does not report ${JSON.stringify(metric)}; it reports ${multilabel.metrics.join(", ")}`);
    return;
  }
  if (who === "mean") {
    if (!tasks.some((t) => t.metrics.includes(metric as MetricName))) throw new SpecError(path, `no task reports ${JSON.stringify(metric)}`);
    return;
  }
  const t = tasks.find((x) => x.name === who);
  if (!t) throw new SpecError(path, `${JSON.stringify(ref)}: no task named ${JSON.stringify(who)}`);
  if (!t.metrics.includes(metric as MetricName)) throw new SpecError(path, `task ${JSON.stringify(who)} does not report ${JSON.stringify(metric)}; it reports ${t.metrics.join(", ")}`);
}

/** Whether a larger value of this metric is better. */
export function higherIsBetter(metric: string): boolean {
  const m = metric.slice(metric.lastIndexOf(".") + 1);
  return m === "auc" || m === "accuracy" || m === "r2" || m === "explained_variance" || m === "iou" || m === "iou50" || m === "span_f1" || m === "sentence_accuracy" || (MULTILABEL_HIGHER_IS_BETTER as readonly string[]).includes(m);
}
