"""Workload W1 (bench/w1.ts) in PyTorch on the CPU: the torch-cpu engine of bench/train.bench.ts.

usage: torch-w1.py INPUTS.safetensors THREADS. INPUTS (written by the bench): x F32 [N, 64], a I32 [N] (class
0..9), b F32 [N], c F32 [N] (0/1), the initial weights "<layer>.weight" F32 [in, out] and "<layer>.bias" F32 [out]
for the layers shared.0, shared.1, tower.<T>.0, head.<T> (T = A, B, C; mtl's names and layout), and "adam" F32
[lr, beta1, beta2, eps, batch]. The model: x → Dense(256, relu) → Dense(256, relu) → per task Dense(64, relu) →
head; loss = A softmax cross-entropy + B mean squared error + C sigmoid binary cross-entropy (means over the batch);
torch.optim.Adam; batches of the rows in order (no shuffle), as tfjs is fed.
Protocol (one JSON line per command on stdin, one JSON line back on stdout):
  "check"  → {"losses": [A, B, C]}: the task losses on the first batch at the current weights (no step)
  "epoch"  → {"losses": [J per step], "tasks": [[A, B, C] per step], "seconds": the epoch's training time}
  "quit"   → exits.
torch.set_num_threads(THREADS) and set_num_interop_threads(1). Exit status 3 when torch cannot be imported.
"""
import json
import struct
import sys
import time

try:
    import torch
    import torch.nn.functional as F
except ImportError as e:
    print(json.dumps({"error": f"torch is not importable: {e}"}), flush=True)
    sys.exit(3)

DTYPES = {"F32": torch.float32, "I32": torch.int32}


def read_safetensors(path):
    """name → tensor of a safetensors file (F32 and I32, little-endian)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    body = bytearray(raw[8 + n :])
    out = {}
    for name, h in header.items():
        if name == "__metadata__":
            continue
        lo, hi = h["data_offsets"]
        if h["dtype"] not in DTYPES:
            raise ValueError(f"{path}: tensor {name!r} has dtype {h['dtype']}, expected F32 or I32")
        out[name] = torch.frombuffer(body[lo:hi], dtype=DTYPES[h["dtype"]]).reshape(h["shape"]) if hi > lo else torch.zeros(h["shape"])
    return out


class W1(torch.nn.Module):
    """The W1 network with mtl's layers: dense(x) = x @ W + b, W [in, out]."""

    LAYERS = ["shared.0", "shared.1"] + [n for t in "ABC" for n in (f"tower.{t}.0", f"head.{t}")]

    def __init__(self, init):
        super().__init__()
        self.w = torch.nn.ParameterDict()
        for name in self.LAYERS:
            key = name.replace(".", "_")
            self.w[key + "_W"] = torch.nn.Parameter(init[f"{name}.weight"].clone())
            self.w[key + "_b"] = torch.nn.Parameter(init[f"{name}.bias"].clone())

    def dense(self, x, name):
        key = name.replace(".", "_")
        return torch.addmm(self.w[key + "_b"], x, self.w[key + "_W"])

    def forward(self, x):
        h = F.relu(self.dense(F.relu(self.dense(x, "shared.0")), "shared.1"))
        return [self.dense(F.relu(self.dense(h, f"tower.{t}.0")), f"head.{t}") for t in "ABC"]


def task_losses(z, a, b, c):
    return [F.cross_entropy(z[0], a), F.mse_loss(z[1].view(-1), b), F.binary_cross_entropy_with_logits(z[2].view(-1), c)]


def main():
    torch.set_num_threads(int(sys.argv[2]))
    torch.set_num_interop_threads(1)
    x = read_safetensors(sys.argv[1])
    lr, b1, b2, eps, batch = x["adam"].tolist()
    batch = int(batch)
    net = W1(x)
    opt = torch.optim.Adam(net.parameters(), lr=lr, betas=(b1, b2), eps=eps)
    N = x["x"].shape[0]
    batches = [(x["x"][i : i + batch], x["a"][i : i + batch].long(), x["b"][i : i + batch], x["c"][i : i + batch]) for i in range(0, N - batch + 1, batch)]
    print(json.dumps({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd == "check":
            with torch.no_grad():
                xb, a, b, c = batches[0]
                print(json.dumps({"losses": [float(v) for v in task_losses(net(xb), a, b, c)]}), flush=True)
        elif cmd == "epoch":
            losses, tasks = [], []
            t0 = time.perf_counter()
            for xb, a, b, c in batches:
                L = task_losses(net(xb), a, b, c)
                J = L[0] + L[1] + L[2]
                opt.zero_grad()
                J.backward()
                opt.step()
                losses.append(float(J))
                tasks.append([float(v) for v in L])
            print(json.dumps({"losses": losses, "tasks": tasks, "seconds": time.perf_counter() - t0}), flush=True)
        elif cmd == "quit":
            return
        else:
            raise ValueError(f"unknown command {cmd!r}")


if __name__ == "__main__":
    main()
