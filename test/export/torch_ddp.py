"""The PyTorch side of test/export/torch-ddp.test.ts: trains an exported package with DistributedDataParallel.

usage: torch_ddp.py JOB.json. JOB: {"pkg": FOLDER (an exported package: model.json, weights.safetensors, model.py,
loss.py), "inputs": FILE.safetensors, "world": W, "port": P, "epochs": E, "batch_size": B (global: each rank
takes B / W rows a step, and DDP averages the ranks' gradients, so a step is one of batch B), "lr": Adam's rate,
"seed": S, "out": PREFIX}.
Inputs (the training rows): numeric F32 [N, F] (standardized), categorical I32 [N, C], label:<task>, mask:<task>
F32 [N] (0 = label missing; loss.py leaves those rows out).
W processes (torch.multiprocessing.spawn; gloo on tcp://127.0.0.1:P; 1 thread each) each train on their shard of
the rows (DistributedSampler: a seeded permutation per epoch, rank r takes every W-th row of it), with loss.py's
objective and Adam. Every rank writes its final weights to PREFIX.rank<r>.safetensors (the test checks they are
equal: DDP keeps the replicas in sync); rank 0 also writes PREFIX.log.json: {"epochs": [{"loss": mean J over rank
0's steps}], "seconds": training wall time}.
Exit status 3 when torch cannot be imported (the test reports a skip), 1 on any other failure.
"""
import json
import os
import sys
import time

try:
    import torch
    import torch.distributed as dist
    import torch.multiprocessing as mp
    from torch.nn.parallel import DistributedDataParallel as DDP
    from torch.utils.data import DataLoader, DistributedSampler, TensorDataset
except ImportError as e:
    print(f"torch is not importable: {e}")
    sys.exit(3)


class Objective(torch.nn.Module):
    """The model and its loss as one module, so DDP syncs the loss's parameters (weighting.log_var) too.
    forward(numeric, categorical, labels, masks) → J."""

    def __init__(self, net, loss):
        super().__init__()
        self.net, self.loss = net, loss

    def forward(self, numeric, categorical, labels, masks):
        out = self.net(numeric, categorical, standardized=True)
        J, _ = self.loss(self.net, out, labels, masks)
        return J


def worker(rank, job):
    torch.set_num_threads(1)
    world = job["world"]
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{job['port']}", rank=rank, world_size=world)
    sys.path.insert(0, job["pkg"])
    import model as M
    import loss as L
    from safetensors_io import read_safetensors, write_safetensors

    torch.manual_seed(job["seed"])
    net, mj = M.load(job["pkg"])
    obj = L.MTLLoss(mj)
    net.load_weights(os.path.join(job["pkg"], "weights.safetensors"), extra=obj.extra_weights())
    tasks = [t["name"] for t in mj["spec"]["tasks"]]
    x = read_safetensors(job["inputs"])
    data = TensorDataset(x["numeric"], x["categorical"].long(), *[x[f"label:{t}"] for t in tasks], *[x[f"mask:{t}"] for t in tasks])
    sampler = DistributedSampler(data, num_replicas=world, rank=rank, shuffle=True, seed=job["seed"], drop_last=True)
    loader = DataLoader(data, batch_size=job["batch_size"] // world, sampler=sampler, drop_last=True)
    ddp = DDP(Objective(net, obj))  # broadcasts rank 0's parameters; averages gradients every backward
    opt = torch.optim.Adam(ddp.parameters(), lr=job["lr"])
    T = len(tasks)
    log = []
    start = time.perf_counter()
    ddp.train()
    for epoch in range(job["epochs"]):
        sampler.set_epoch(epoch)
        total, steps = 0.0, 0
        for batch in loader:
            num, cat, labs, masks = batch[0], batch[1], batch[2 : 2 + T], batch[2 + T :]
            J = ddp(num, cat, dict(zip(tasks, labs)), dict(zip(tasks, masks)))
            opt.zero_grad()
            J.backward()
            opt.step()
            total, steps = total + float(J), steps + 1
        log.append({"loss": total / max(1, steps), "steps": steps})
    seconds = time.perf_counter() - start
    net.save_weights(f"{job['out']}.rank{rank}.safetensors", extra=obj.extra_weights())
    if rank == 0:
        with open(f"{job['out']}.log.json", "w", encoding="utf-8") as f:
            json.dump({"epochs": log, "seconds": seconds, "rows_per_rank": len(sampler)}, f)
    dist.destroy_process_group()


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        job = json.load(f)
    mp.spawn(worker, args=(job,), nprocs=job["world"], join=True)
    print(f"OK {job['world']} ranks, {job['epochs']} epochs")


if __name__ == "__main__":
    main()
