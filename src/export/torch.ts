// The PyTorch bridge's exporter: a trained model folder (model.json + weights.safetensors) as a small Python
// package that needs only torch (Debian's python3-torch):
//
//   OUT/model.py            MTLModel(model_json): a torch.nn.Module computing what src/model/lower.ts builds,
//                           parameters named and laid out as in weights.safetensors (dense W [in, out]); raw
//                           numeric values (NaN = missing) go through every inputs.numeric_encodings encoding
//                           (standardize, quantile, ple, periodic, missing indicators) with model.json's statistics;
//                           tensor/image inputs (conv W [filters, C / groups, kh, kw], pool, batchnorm with its running
//                           statistics as buffers, flatten) and esmm/aitm funnel heads
//   OUT/loss.py             MTLLoss(model_json): the training objective J (masks, weighting, relations,
//                           architecture terms, shared_l2, group_l2)
//   OUT/seq.py              token inputs (inputs.tokens ids [N, L]), conv1d, bigru, masked pooling, tagging heads
//                           and their loss tag_xent, as src/ops/seq-*.ts
//   OUT/safetensors_io.py   read_safetensors / write_safetensors (header JSON + raw little-endian F32)
//   OUT/__init__.py, OUT/README.md (usage), OUT/model.json, OUT/weights.safetensors (copies)
//
// What the Python does not implement is refused here, by name, before anything is written (torchUnsupported).
import type { ModelSpec } from "../model/spec.ts";
import type { ModelJson } from "../io/checkpoint.ts";
import { MODEL_PY } from "./torch/model-py.ts";
import { LOSS_PY } from "./torch/loss-py.ts";
import { SAFETENSORS_PY } from "./torch/safetensors-py.ts";
import { INIT_PY } from "./torch/init-py.ts";
import { SEQ_PY } from "./torch/seq-py.ts";
import { torchReadme } from "./torch/readme.ts";

const ENCODINGS: readonly string[] = ["standardize", "quantile", "ple", "periodic"];
const ARCHS = ["hps", "mmoe", "cgc", "ple", "cross_stitch", "dselect_k"];
const LAYERS = ["dense", "activation", "flatten", "conv1d", "bigru", "conv", "pool", "batchnorm"];
const TASK_TYPES = ["binary", "multiclass", "multilabel", "regression", "tagging"];
const LOSSES = ["bce", "xent", "mse", "mae", "huber", "smooth_l1", "giou"];
const FUNNELS = ["esmm", "aitm"];
const WEIGHTINGS = ["static", "uncertainty"];

/** Why the torch export cannot represent `spec` (the first reason, naming the field), or null when it can. */
export function torchUnsupported(spec: ModelSpec): string | null {
  const no = (what: string) => `${spec.name}: ${what} is not supported by the torch export`;
  const encodings = spec.inputs.numeric_encodings ?? [];
  const j = encodings.findIndex((e) => !ENCODINGS.includes(e.encoding));
  if (j >= 0) return no(`inputs.numeric_encodings[${j}] (${encodings[j].column}): encoding ${JSON.stringify(encodings[j].encoding)} (supported: ${ENCODINGS.join(", ")})`);
  if (!ARCHS.includes(spec.architecture.type)) return no(`architecture.type ${JSON.stringify(spec.architecture.type)}`);
  const stacks: [string, readonly { type?: string }[]][] = [["architecture.layers", spec.architecture.layers], ...spec.tasks.map((t, i) => [`tasks[${i}].tower`, t.tower] as [string, readonly { type?: string }[]])];
  for (const [where, layers] of stacks) {
    const j = layers.findIndex((l) => !LAYERS.includes(l.type ?? "dense"));
    if (j >= 0) return no(`${where}[${j}]: layer type ${JSON.stringify(layers[j].type)} (supported: ${LAYERS.join(", ")})`);
  }
  for (const [i, t] of spec.tasks.entries()) {
    if (!TASK_TYPES.includes(t.type)) return no(`tasks[${i}] (${t.name}): type ${JSON.stringify(t.type)}`);
    if (t.funnel && !FUNNELS.includes(t.funnel)) return no(`tasks[${i}] (${t.name}): funnel ${JSON.stringify(t.funnel)} (supported: ${FUNNELS.join(", ")})`);
    if (!LOSSES.includes(t.loss)) return no(`tasks[${i}] (${t.name}): loss ${JSON.stringify(t.loss)}`);
  }
  const w = spec.training.weighting.type;
  if (!WEIGHTINGS.includes(w)) return no(`training.weighting ${JSON.stringify(w)} (supported: ${WEIGHTINGS.join(", ")})`);
  return null;
}

/** The package's files (name → contents) for a model folder's model.json and weights.safetensors bytes. */
export function torchPackage(json: ModelJson, weights: Uint8Array): [name: string, data: string | Uint8Array][] {
  const why = torchUnsupported(json.spec);
  if (why) throw new Error(why);
  return [
    ["model.py", MODEL_PY],
    ["loss.py", LOSS_PY],
    ["seq.py", SEQ_PY],
    ["safetensors_io.py", SAFETENSORS_PY],
    ["__init__.py", INIT_PY],
    ["README.md", torchReadme(json.spec)],
    ["model.json", JSON.stringify(json, null, 2) + "\n"],
    ["weights.safetensors", weights],
  ];
}
