// The exported Python package's README.md: what is in it and a usage snippet (a few SGD steps, then `mtl import`).
import type { ModelSpec } from "../../model/spec.ts";

export function torchReadme(spec: ModelSpec): string {
  const t0 = spec.tasks[0].name;
  return `# ${spec.name} in PyTorch

Written by \`mtl export DIR --format torch\`. Needs only torch (Debian: \`apt-get install python3-torch\`).

- \`model.py\`: \`MTLModel(model_json)\`, a \`torch.nn.Module\` computing what mtl-wasm computes, with the same
  parameter names (\`model.named_weights()\`); \`load(folder)\` builds it and loads \`weights.safetensors\`.
  \`forward(numeric, categorical, groups)\` takes raw numeric values [N, F] (standardized inside; \`standardized=True\`
  for values already standardized), vocabulary indices [N, C] (\`encode_categorical(rows)\`; 0 is the unknown
  bucket) and group indices [N, G] of group_by tasks; it returns per task \`logits\` and \`outputs\`.
  \`predict(...)\` gives regression outputs in the label's units, as \`mtl predict\` does.
- \`loss.py\`: \`MTLLoss(model_json)\`, the training objective (masked task losses, task weights, weighting,
  relations, regularizers). Regression labels are standardized with model.json's target statistics.
- \`safetensors_io.py\`: \`read_safetensors\` / \`write_safetensors\`.

\`\`\`python
import sys, torch
sys.path.insert(0, "path/to/this/folder")      # this folder itself (not its parent)
from model import load
from loss import MTLLoss

model, mj = load("path/to/this/folder")
objective = MTLLoss(mj)
model.load_weights("path/to/this/folder/weights.safetensors", extra=objective.extra_weights())
opt = torch.optim.Adam(list(model.parameters()) + list(objective.parameters()), lr=1e-3)
model.train()
# numeric [N, F] float, categorical [N, C] int64, labels/masks: {task: tensor}
out = model(numeric, categorical)
J, losses = objective(model, out, {"${t0}": labels}, {"${t0}": masks})
opt.zero_grad(); J.backward(); opt.step()
model.save_weights("trained.safetensors", extra=objective.extra_weights())
\`\`\`

Then bring the weights back: \`mtl import DIR --from trained.safetensors\` (then \`mtl export DIR\`, \`mtl predict DIR\`).
`;
}
