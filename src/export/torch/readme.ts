// The exported Python package's README.md: what is in it, a usage snippet (a few SGD steps, then `mtl import`) and
// "Outgrowing one machine" (a DDP script for torchrun or mp.spawn; test/export/torch_ddp.py runs the same loop).
import type { ModelSpec } from "../../model/spec.ts";

/** The README's paragraph on token input (a spec with inputs.tokens). */
function tokensUsage(spec: ModelSpec): string {
  const tagging = spec.tasks.find((t) => t.type === "tagging")?.name, other = spec.tasks.find((t) => t.type !== "tagging")?.name;
  return `
This model reads token sequences: call \`model(tokens=ids)\` with ids [N, L] int64 (0 padding after the real tokens,
1 unknown, the vocabulary of model.json's \`preprocessing.tokens\` from 2;
\`seq.encode_tokens(mj["preprocessing"], texts)\` encodes strings as mtl-wasm does; in the DDP script below, pass
\`tokens=\` in place of numeric and categorical). The real-token mask is \`ids > 0\`.${other ? ` A sentence-level task (\`${other}\`) reads the
encoder pooled over the real tokens; its labels are class indices [N].` : ""}${tagging ? ` A tagging task (\`${tagging}\`) gives \`outputs\` [N, L, tags]
(softmax per token); its labels are tag indices [N, L] (−1 unlabelled) and its mask [N, L] (1 at the labelled real tokens).` : ""}
`;
}

/** The README's paragraph on a tensor or image input (inputs.tensor, inputs.image), or "". */
function tensorUsage(spec: ModelSpec): string {
  const T = spec.inputs.tensor, im = spec.inputs.image;
  if (!T) return "";
  return `
This model reads ${im ? `images: pass \`tensor=\` rows [N, ${T}] float, each image's ${im.channels}·${im.height}·${im.width} values in
NCHW order (channel, row, column; uint8 pixels as p / 255, what \`data.format\` "idx" feeds), viewed as
[N, ${im.channels}, ${im.height}, ${im.width}] inside` : `a tensor: pass \`tensor=\` rows [N, ${T}] float`} (\`model(tensor=x)\`; numeric may be omitted). Conv weights are
[filters, C, kh, kw] (PyTorch's Conv2d layout); batch norm's running statistics (\`<layer>.bn_running_mean\`,
\`.bn_running_var\`) are buffers (\`model.named_state()\`), updated in training mode with momentum 0.1 and saved by
\`save_weights\`.
`;
}

/** The README's paragraph on funnel tasks (tasks[].funnel), or "". */
function funnelUsage(spec: ModelSpec): string {
  const f = spec.tasks.filter((t) => t.funnel);
  if (!f.length) return "";
  return `
Funnel tasks: ${f.map((t) => `\`${t.name}\` (${t.funnel}, after \`${t.after}\`)`).join(", ")}. An esmm task's output is p(after)·p(task | after) and
\`outputs["<task>.given_<after>"]\` the conditional; its loss is the bce of that product on every impression. An aitm
task's head reads the attention over its tower and the information transferred from the earlier task; its calibrator
adds λ·mean max(ŷ_task − ŷ_after, 0) to the objective (one of \`forward(...)["terms"]\`).
`;
}

export function torchReadme(spec: ModelSpec): string {
  const t0 = spec.tasks[0].name;
  return `# ${spec.name} in PyTorch

Written by \`mtl export DIR --format torch\`. Needs only torch (Debian: \`apt-get install python3-torch\`).

- \`model.py\`: \`MTLModel(model_json)\`, a \`torch.nn.Module\` computing what mtl-wasm computes, with the same
  parameter names (\`model.named_weights()\`); \`load(folder)\` builds it and loads \`weights.safetensors\`.
  \`forward(numeric, categorical, groups)\` takes raw numeric values [N, F] (NaN = missing), vocabulary indices [N, C]
  (\`encode_categorical(rows)\`; 0 is the unknown bucket) and group indices [N, G] of group_by tasks; it returns per
  task \`logits\` and \`outputs\`. The numeric values are encoded inside with model.json's statistics, as mtl-wasm
  does: standardization, or the \`inputs.numeric_encodings\` quantile, ple and periodic encodings and missing
  indicators (a missing value takes the training mean); the periodic frequencies \`periodic.<column>.frequencies\`
  are parameters like the others. \`encode_numeric(numeric)\` gives the encoded columns [N, V]; pass
  \`standardized=True\` to feed those instead (e.g. encoded once for many epochs).
  \`predict(...)\` gives regression outputs in the label's units, as \`mtl predict\` does.
- \`loss.py\`: \`MTLLoss(model_json)\`, the training objective (masked task losses, task weights, weighting,
  relations, regularizers). Regression labels are standardized with model.json's target statistics.
- \`safetensors_io.py\`: \`read_safetensors\` / \`write_safetensors\`.
- \`seq.py\`: token sequences (\`inputs.tokens\`): the token embedding, \`conv1d\` and \`bigru\` layers (the GRU's
  recurrence written out, ONNX's gate order z, r, h with linear_before_reset = 1), pooling over the real tokens and
  tagging heads with their per-token loss, as mtl-wasm computes them.
${spec.inputs.tokens ? tokensUsage(spec) : ""}${tensorUsage(spec)}${funnelUsage(spec)}
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
${spec.inputs.tokens ? "# ids [N, L] int64 (seq.encode_tokens), labels/masks: {task: tensor}\nout = model(tokens=ids)" : "# numeric [N, F] float raw values (NaN = missing), categorical [N, C] int64, labels/masks: {task: tensor}\nout = model(numeric, categorical)"}
J, losses = objective(model, out, {"${t0}": labels}, {"${t0}": masks})
opt.zero_grad(); J.backward(); opt.step()
model.save_weights("trained.safetensors", extra=objective.extra_weights())
\`\`\`

Then bring the weights back: \`mtl import DIR --from trained.safetensors\` (then \`mtl export DIR\`, \`mtl predict DIR\`).

## Outgrowing one machine

The same module trains with \`torch.distributed\` (DistributedDataParallel): every process holds a replica, takes its
shard of the rows (\`DistributedSampler\`) and DDP averages the gradients, so the replicas stay identical. Give each
process \`batch_size / world\` rows a step to keep model.json's batch. A \`train_ddp.py\` that runs under \`torchrun\`
and, without it, starts its own processes:

\`\`\`python
import os, sys, torch, torch.distributed as dist, torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset
PKG = "path/to/this/folder"
sys.path.insert(0, PKG)
from model import load
from loss import MTLLoss

class Objective(torch.nn.Module):                   # model + loss in one module: DDP syncs the loss's parameters too
    def __init__(self, net, loss): super().__init__(); self.net, self.loss = net, loss
    def forward(self, num, cat, labels, masks): return self.loss(self.net, self.net(num, cat), labels, masks)[0]

def worker(rank, world, init_method):
    torch.set_num_threads(int(os.environ.get("THREADS", "1")))
    dist.init_process_group("gloo", init_method=init_method, rank=rank, world_size=world)   # "nccl" on GPUs
    net, mj = load(PKG)
    obj = MTLLoss(mj)
    net.load_weights(PKG + "/weights.safetensors", extra=obj.extra_weights())
    tasks = [t["name"] for t in mj["spec"]["tasks"]]
    numeric, categorical, labels, masks = my_rows()  # [N, F] raw values, [N, C] (net.encode_categorical), {task: [N, w]}, {task: [N]}
    data = TensorDataset(numeric, categorical, *[labels[t] for t in tasks], *[masks[t] for t in tasks])
    sampler = DistributedSampler(data, num_replicas=world, rank=rank, shuffle=True, seed=1)
    loader = DataLoader(data, batch_size=mj["spec"]["training"]["batch_size"] // world, sampler=sampler)
    ddp = DDP(Objective(net, obj))
    opt = torch.optim.Adam(ddp.parameters(), lr=mj["spec"]["training"]["optimizer"].get("lr", 1e-3))
    for epoch in range(5):
        sampler.set_epoch(epoch)
        for num, cat, *rest in loader:
            J = ddp(num, cat, dict(zip(tasks, rest[:len(tasks)])), dict(zip(tasks, rest[len(tasks):])))
            opt.zero_grad(); J.backward(); opt.step()
    if rank == 0:
        net.save_weights("trained.safetensors", extra=obj.extra_weights())
    dist.destroy_process_group()

if __name__ == "__main__":
    if "RANK" in os.environ:                        # started by torchrun (it sets RANK, WORLD_SIZE, MASTER_ADDR/PORT)
        worker(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), "env://")
    else:                                           # python3 train_ddp.py: 2 processes on this machine
        mp.spawn(worker, args=(2, "tcp://127.0.0.1:29500"), nprocs=2)
\`\`\`

On a cluster, the same command on every machine (here 2 machines × 4 processes; HOST is one of them):

\`\`\`sh
torchrun --nnodes=2 --nproc_per_node=4 --rdzv_backend=c10d --rdzv_endpoint=HOST:29500 --rdzv_id=census train_ddp.py
\`\`\`

Debian 12's \`torchrun\` (torch 1.13 on Python 3.11) fails before starting workers (an \`AttributeError\` in its output
redirection); there, run \`python3 train_ddp.py\` (the \`mp.spawn\` branch, one machine), or on each machine call
\`mp.spawn\` with \`init_method="tcp://HOST:29500"\`, \`world = machines × processes\` and \`rank = machine × processes +
local rank\`. Then \`mtl import DIR --from trained.safetensors\`.
`;
}
