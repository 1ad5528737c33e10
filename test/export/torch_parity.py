"""The PyTorch side of test/export/torch.test.ts: runs the exported package on the inputs the test wrote.

usage: torch_parity.py JOBS.json. Each job: {"mode": "forward" | "grad" | "steps", "pkg": FOLDER (an exported
package, with model.json and weights.safetensors), "inputs": FILE.safetensors, "out": FILE.safetensors, ...}.
Inputs: numeric F32 [N, V] (encoded), categorical I32 [N, C], groups I32 [N, G], label:<task> (F32 [N, w], or
I32 [N] for multiclass), mask:<task> F32 [N]; "probe:"-prefixed copies for the rows 'steps' predicts after training.
With job["raw"] true the model gets raw F32 [N, F] (NaN = missing; encoded by the package) instead of numeric.
  forward  (float32, eval mode) writes out:<task>, the outputs predict() gives, and out64:<task>, the same in float64
  grad     (float64, train mode; the spec has no dropout) writes J [1], losses [T] and grad:<parameter> for every
           parameter (and weighting.log_var)
  steps    (float32, train mode) runs job["steps"] SGD steps (lr job["lr"]) on the inputs, writes the weights to
           job["weights"] and out:<task> predicted (eval) on the probe rows
Inputs may hold tokens I32 [N, L] (inputs.tokens ids, "probe:tokens" too; then nothing else is fed, and tagging
tasks' labels are I32 [N, L] with token masks F32 [N, L]), passed as forward(tokens=...).
Inputs may hold tensor F32 [N, T] (inputs.tensor/image rows; "probe:tensor" too), passed as forward(tensor=...);
forward and steps also write the extra outputs (out:<task>.given_<after>), grad also state:<name> (batch norm running
statistics after the training forward).
Exit status 3 when torch cannot be imported (the test reports a skip), 1 on any other failure.
"""
import json
import sys

try:
    import torch
except ImportError as e:
    print(f"torch is not importable: {e}")
    sys.exit(3)


def run(job):
    sys.path.insert(0, job["pkg"])
    for m in ("model", "loss", "safetensors_io", "seq"):
        sys.modules.pop(m, None)
    import model as M
    import loss as L
    from safetensors_io import read_safetensors, write_safetensors
    sys.path.pop(0)

    net, mj = M.load(job["pkg"])
    obj = L.MTLLoss(mj)
    net.load_weights(job["pkg"] + "/weights.safetensors", extra=obj.extra_weights())
    x = read_safetensors(job["inputs"])
    tasks = [t["name"] for t in mj["spec"]["tasks"]]

    raw = bool(job.get("raw"))

    def feed(prefix=""):
        if prefix + "tokens" in x:  # inputs.tokens models (torch-text.test.ts) take the ids alone (see kw)
            return None, None, None
        return x[prefix + ("raw" if raw else "numeric")], x[prefix + "categorical"].long(), x[prefix + "groups"].long()

    def kw(prefix=""):  # inputs.tensor/image rows [N, T] when the inputs hold them
        if prefix + "tokens" in x:  # inputs.tokens: ids [N, L] (I32 in the file)
            return {"tokens": x[prefix + "tokens"].long()}
        return {"tensor": x[prefix + "tensor"]} if prefix + "tensor" in x else {}

    def forward64(prefix):
        """predict() of the module and its floating inputs in float64 (the module stays float64): "out64:<task>", the
        reference the forward check holds our f32 engine to (the f32 package's own error depends on its BLAS's
        summation order). Raw values are encoded in float32 first, as every engine encodes them (the encoder is
        defined by its f32 roundings)."""
        num, cat, grp = feed(prefix)
        if raw and num is not None:
            num = net.encode_numeric(num)
        net.double()
        dbl = lambda v: v.double() if v is not None and v.is_floating_point() else v
        pred = net.predict(dbl(num), cat, grp, standardized=True, **{k: dbl(v) for k, v in kw(prefix).items()})
        return {f"out64:{t}": pred[t] for t in pred}

    out = {}
    if job["mode"] == "forward":
        net.eval()
        pred = net.predict(*feed(), standardized=not raw, **kw())
        out = {f"out:{t}": pred[t] for t in pred}  # the tasks' outputs, then the extra outputs
        out.update(forward64(""))
    elif job["mode"] == "grad":
        net.double()
        obj.double()
        net.train()
        num, cat, grp = feed()
        res = net(num.double() if num is not None else None, cat, grp, standardized=not raw, **kw())
        J, losses = obj(net, res, {t: x[f"label:{t}"].double() for t in tasks}, {t: x[f"mask:{t}"].double() for t in tasks})
        J.backward()
        out = {"J": J.detach().reshape(1), "losses": losses}
        for n, p in list(net.named_weights()) + list(obj.extra_weights().items()):
            out[f"grad:{n}"] = p.grad if p.grad is not None else torch.zeros_like(p)
        for n, b in getattr(net, "named_state", list)():  # batch norm running statistics after the training forward
            out[f"state:{n}"] = b
    elif job["mode"] == "steps":
        torch.manual_seed(job.get("seed", 0))
        params = list(net.parameters()) + list(obj.parameters())
        opt = torch.optim.SGD(params, lr=job["lr"])
        net.train()
        for _ in range(job["steps"]):
            res = net(*feed(), standardized=not raw, **kw())
            J, _ = obj(net, res, {t: x[f"label:{t}"] for t in tasks}, {t: x[f"mask:{t}"] for t in tasks})
            opt.zero_grad()
            J.backward()
            opt.step()
        net.save_weights(job["weights"], extra=obj.extra_weights())
        net.eval()
        pred = net.predict(*feed("probe:"), standardized=not raw, **kw("probe:"))
        out = {f"out:{t}": pred[t] for t in pred}
    else:
        raise ValueError(f"unknown mode {job['mode']!r}")
    write_safetensors(job["out"], out)


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        jobs = json.load(f)
    for job in jobs:
        try:
            run(job)
        except Exception as e:
            print(f"FAIL {job['pkg']} ({job['mode']}): {type(e).__name__}: {e}")
            raise
    print(f"OK {len(jobs)} jobs")


if __name__ == "__main__":
    main()
