// The exported Python package's model.py: the torch.nn.Module built from model.json (same parameter names and layouts as src/model/lower.ts).
// Written verbatim by src/export/torch.ts (`mtl export DIR --format torch`).
export const MODEL_PY = String.raw`"""An mtl-wasm model as a torch.nn.Module, built from the model folder's model.json.

Written by 'mtl export DIR --format torch'. The module computes what mtl-wasm's graph computes
(src/model/lower.ts, src/arch/*.ts) with the same parameter names and layouts, so weights.safetensors
loads as it is and 'mtl import' brings trained weights back:

  inputs   numeric [N, F] float: raw values, NaN = missing (encoded inside with model.json's preprocessing:
           standardized, or the inputs.numeric_encodings quantile, ple, periodic and missing indicators; see
           encode_numeric); pass standardized=True for rows already encoded ([N, V], what mtl-wasm's training
           feeds), categorical [N, C] int64 (vocabulary indices: 0 is the unknown bucket, vocab[k] is k + 1; see
           encode_categorical), groups [N, G] int64 (group indices of the group_by tasks, in task order)
  numeric  encoded as src/data/numeric-encodings.ts: xi = x, or the f32 mean where x is NaN; z = [xi | isnan(x)];
           c_k = min(max((z[cols_k] - lo_k) / width_k, cmin_k), cmax_k); E = c @ M [N, V]. Columns of E: the
           standardize, quantile and ple columns in spec order, the missing indicators, then the periodic columns'
           standardized values, each of which becomes [sin(2 pi c x), cos(2 pi c x)] with trainable frequencies
           periodic.<column>.frequencies [1, k]
  tokens   inputs.tokens: forward(tokens=ids [N, L] int64; 0 padding, 1 unknown; seq.encode_tokens) instead of
           numeric/categorical; the trunk's token rows are pooled for sentence-level tasks, kept for tagging tasks
           (outputs [N, L, tags]); see seq.py
  tensor   inputs.tensor/image: forward(tensor=rows [N, C·H·W] float), an image viewed as [N, C, H, W] (NCHW);
           conv W [filters, C / groups, kh, kw] (+ b [filters], none before batch norm), pool, batchnorm (running statistics
           are buffers: named_state(), saved and loaded with the weights), flatten
  funnel   esmm: output p(after)·p(task | after), extra output "<task>.given_<after>"; aitm: attention over the
           task's tower and the earlier task's transferred information, calibrator term in forward()["terms"]
  trunk    hps, mmoe, cgc, ple, cross_stitch or dselect_k; dense layers x @ W + b with W [in, out]
  heads    one per task; forward() returns per task its logits [N, width] and output [N, width]:
           sigmoid (binary, multilabel), softmax (multiclass), the standardized value (regression;
           predict() maps it to the label's units)
"""
import json
import math
import os

import torch
import torch.nn.functional as F
from torch import nn

try:
    from .safetensors_io import read_safetensors, write_safetensors
except ImportError:  # the folder itself on sys.path
    from safetensors_io import read_safetensors, write_safetensors
try:
    from . import seq as S
except ImportError:
    import seq as S

LAYERNORM_EPS = 1e-5
LEAKY_SLOPE = 0.01
DSELECT_EPS = 1e-6
BN_EPS = 1e-5  # batch norm (src/ops/batchnorm.ts): eps, and momentum of the running statistics
BN_MOMENTUM = 0.1
TWO_PI_F32 = 6.2831854820251465  # 2 pi rounded to float32, as mtl-wasm's periodic kernels and ONNX export hold it
NUMERIC_ENCODINGS = ("standardize", "quantile", "ple", "periodic")

ACTIVATIONS = {
    "none": lambda x: x,
    "relu": F.relu,
    "leaky_relu": lambda x: F.leaky_relu(x, LEAKY_SLOPE),
    "silu": F.silu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "gelu": lambda x: F.gelu(x),  # exact (erf)
}


class Unsupported(ValueError):
    """model.json uses something this package does not implement (named in the message)."""


def check_supported(spec):
    """Raise Unsupported naming the first feature of 'spec' this module cannot compute."""
    name = spec.get("name", "model")
    inp = spec["inputs"]
    for j, e in enumerate(inp.get("numeric_encodings") or []):
        if e.get("encoding") not in NUMERIC_ENCODINGS:
            raise Unsupported(f"{name}: inputs.numeric_encodings[{j}] ({e.get('column')}): encoding {e.get('encoding')!r} is not supported by the torch export")
    arch = spec["architecture"]
    if arch["type"] not in ("hps", "mmoe", "cgc", "ple", "cross_stitch", "dselect_k"):
        raise Unsupported(f"{name}: architecture.type {arch['type']!r} is not supported by the torch export")
    stacks = [("architecture.layers", arch["layers"])] + [(f"tasks[{i}].tower", t["tower"]) for i, t in enumerate(spec["tasks"])]
    for where, layers in stacks:
        for j, l in enumerate(layers):
            if l.get("type", "dense") not in ("dense", "activation", "flatten", "conv1d", "bigru", "conv", "pool", "batchnorm"):
                raise Unsupported(f"{name}: {where}[{j}]: layer type {l['type']!r} is not supported by the torch export")
            if l.get("activation", "none") not in ACTIVATIONS:
                raise Unsupported(f"{name}: {where}[{j}]: activation {l['activation']!r} is not supported by the torch export")
    for i, t in enumerate(spec["tasks"]):
        if t["type"] not in ("binary", "multiclass", "multilabel", "regression", "tagging"):
            raise Unsupported(f"{name}: tasks[{i}] ({t['name']}): type {t['type']!r} is not supported by the torch export")
        if t.get("funnel") not in (None, "esmm", "aitm"):
            raise Unsupported(f"{name}: tasks[{i}] ({t['name']}): funnel {t['funnel']!r} is not supported by the torch export")


def encoder_plan(stats):
    """The numeric encoder's constants for model.json's preprocessing.numeric (src/data/numeric-encodings.ts
    encoderPlan): a dict of lists mean [F], cols [W] (columns of z = [xi | isnan(x)], in [0, 2F)), lo, width, cmin,
    cmax [W], M [W][V], and periodic: (column, index in E, frequencies) per periodic column, in spec order. Values are
    float64 here; they become float32 tensors (one rounding each, as mtl-wasm's Math.fround), so the constants are
    the same f32 values the graph holds. None when every column is plain standardization without an indicator."""
    if not any(s.get("encoding") or s.get("indicator") for s in stats):
        return None
    F, inf = len(stats), math.inf
    comps = []  # (col, lo, width, cmin, cmax, v, m)
    V = 0

    def standardize(j, v):
        comps.append((j, stats[j]["mean"], stats[j]["std"], -inf, inf, v, 1.0))

    for j, s in enumerate(stats):
        kind = s.get("encoding")
        if kind == "periodic":
            continue
        if kind == "quantile":
            q, r = s["knots"], s["refs"]
            comps.append((j, 0.0, 1.0, 1.0, 1.0, V, r[0]))  # the constant r_0
            for k in range(1, len(q)):
                comps.append((j, q[k - 1], q[k] - q[k - 1], 0.0, 1.0, V, r[k] - r[k - 1]))
            V += 1
        elif kind == "ple":
            b = s["edges"]
            T = len(b) - 1
            for t in range(1, T + 1):
                comps.append((j, b[t - 1], b[t] - b[t - 1], -inf if t == 1 else 0.0, inf if t == T else 1.0, V, 1.0))
                V += 1
        elif kind is None or kind == "standardize":
            standardize(j, V)
            V += 1
        else:
            raise Unsupported(f"preprocessing.numeric[{j}] ({s['column']}): encoding {kind!r} is not supported by the torch export")
    for j, s in enumerate(stats):
        if s.get("indicator"):
            comps.append((F + j, 0.0, 1.0, -inf, inf, V, 1.0))
            V += 1
    periodic = []
    for j, s in enumerate(stats):
        if s.get("encoding") == "periodic":
            periodic.append((s["column"], V, s["frequencies"]))
            standardize(j, V)
            V += 1
    M = [[0.0] * V for _ in comps]
    for k, c in enumerate(comps):
        M[k][c[5]] = c[6]
    return {
        "mean": [s["mean"] for s in stats],
        "cols": [c[0] for c in comps],
        "lo": [c[1] for c in comps],
        "width": [c[2] for c in comps],
        "cmin": [c[3] for c in comps],
        "cmax": [c[4] for c in comps],
        "M": M,
        "periodic": periodic,
    }


def _same_padding(n, k, stride, dil):
    """(before, after) zeros of padding "same" along a side of n pixels (src/model/spec.ts samePadding)."""
    total = max(0, (math.ceil(n / stride) - 1) * stride + dil * (k - 1) + 1 - n)
    return total // 2, total - total // 2


def _key(name):
    """A parameter name as a ParameterDict key ('.' is not allowed there)."""
    return name.replace(".", "/")


class MTLModel(nn.Module):
    """The model of one model.json (a dict): see the module docstring for inputs and outputs."""

    def __init__(self, model_json):
        super().__init__()
        spec, pre = model_json["spec"], model_json["preprocessing"]
        check_supported(spec)
        self.spec, self.pre = spec, pre
        self.params = nn.ParameterDict()
        self.order = []  # parameter names in declaration order (mtl-wasm's graph order)
        self.roles = {}
        self.vocab = [len(c["vocab"]) + 1 for c in pre["categorical"]]
        self.widths = [len(pre["tasks"][i]["classes"]) if t["type"] in ("multiclass", "tagging") else len(t["labels"]) for i, t in enumerate(spec["tasks"])]
        self.group_counts = [len(pre["tasks"][i]["groups"] or []) for i in range(len(spec["tasks"]))]
        self.register_buffer("numeric_mean", torch.tensor([s["mean"] for s in pre["numeric"]], dtype=torch.float32))
        self.register_buffer("numeric_std", torch.tensor([s["std"] for s in pre["numeric"]], dtype=torch.float32))
        plan = encoder_plan(pre["numeric"])
        self.periodic = plan["periodic"] if plan else []
        self.encoded_width = len(plan["M"][0]) if plan else len(pre["numeric"])
        if plan:
            for n in ("lo", "width", "cmin", "cmax", "M"):
                self.register_buffer(f"encoder_{n}", torch.tensor(plan[n], dtype=torch.float32))
            self.register_buffer("encoder_cols", torch.tensor(plan["cols"], dtype=torch.long))
        self.encoder = plan is not None
        # inputs.tensor [N, T] (flat), or inputs.image: the same rows viewed as [N, C, H, W] (NCHW, C-major).
        self.image = spec["inputs"].get("image")
        self.tensor_width = spec["inputs"].get("tensor") or 0
        self.state_order = []  # batch norm running statistics (model.json role "state", after every parameter)
        self._tokens = S.dummy_tokens(pre)  # the token ids of the current call (forward sets them), or None
        # Building runs the forward once on a dummy row (shapes and parameter declaration only).
        self._declaring = True
        self._run(torch.zeros(1, self.encoded_width), torch.zeros(1, len(self.vocab), dtype=torch.long), torch.zeros(1, max(1, sum(1 for g in self.group_counts if g)), dtype=torch.long), True, torch.zeros(1, self.tensor_width))
        self._declaring = False
        expected = [p for p in model_json.get("params", []) if not p["name"].startswith("weighting.")]
        if expected:
            mine = [(n, list(self.params[_key(n)].shape)) for n in self.order] + [(n, list(b.shape)) for n, b in self.named_state()]
            theirs = [(p["name"], list(p["shape"])) for p in expected]
            if mine != theirs:
                diff = next((f"{a} vs model.json {b}" for a, b in zip(mine + [None] * len(theirs), theirs + [None] * len(mine)) if a != b), "")
                raise Unsupported(f"{spec['name']}: the torch module's parameters differ from model.json's params: first difference {diff}")

    # ---- parameters -------------------------------------------------------------------------------------
    def p(self, name, shape=None, role=None):
        """The parameter 'name' (declared with 'shape' on the building pass)."""
        if self._declaring and _key(name) not in self.params:
            self.params[_key(name)] = nn.Parameter(torch.zeros(*shape))
            self.order.append(name)
            self.roles[name] = role
        return self.params[_key(name)]

    def named_weights(self):
        """(mtl name, parameter) in declaration order."""
        return [(n, self.params[_key(n)]) for n in self.order]

    def state(self, name, shape, fill):
        """The model state 'name' (a batch norm running statistic: a buffer, no gradient), declared filled with
        'fill' on the building pass."""
        if self._declaring and _key(name) not in self._buffers:
            self.register_buffer(_key(name), torch.full(shape, float(fill)))
            self.state_order.append(name)
        return self._buffers[_key(name)]

    def named_state(self):
        """(mtl name, buffer) of the model state in declaration order (weights.safetensors holds them too)."""
        return [(n, self._buffers[_key(n)]) for n in self.state_order]

    # ---- layers -----------------------------------------------------------------------------------------
    def dense(self, x, units, act, name, role):
        W = self.p(f"{name}.weight", (x.shape[-1], units), role)
        b = self.p(f"{name}.bias", (units,), role)
        return ACTIVATIONS[act](x @ W + b)

    def batchnorm(self, x, name, role):
        """Batch norm over dim 1 of x [N, C, H, W] or [N, C] (src/ops/batchnorm.ts, PyTorch's convention): <name>.bn_scale,
        .bn_bias [C]; training normalizes with the batch statistics (biased variance) and updates the state
        <name>.bn_running_mean, .bn_running_var in place, r = (1 - 0.1)·r + 0.1·batch (unbiased variance); eval
        normalizes with the running statistics."""
        c = x.shape[1]
        s = self.p(f"{name}.bn_scale", (c,), role)
        b = self.p(f"{name}.bn_bias", (c,), role)
        rm = self.state(f"{name}.bn_running_mean", (c,), 0)
        rv = self.state(f"{name}.bn_running_var", (c,), 1)
        return F.batch_norm(x, rm, rv, s, b, self.training and not self._declaring, BN_MOMENTUM, BN_EPS)

    def conv(self, x, l, name, role):
        """act(conv(x) (+ b)) on x [N, C, H, W]: <name>.weight [filters, C / groups, kh, kw] (PyTorch's Conv2d layout, a
        cross-correlation; groups "depthwise" = C), <name>.bias [filters] unless batch norm follows (then no bias); stride, dilation, and
        padding "valid", "same" (H_out = ceil(H / stride), the odd pixel at the bottom/right) or [top, left, bottom,
        right] zeros."""
        C, H, W = x.shape[1], x.shape[2], x.shape[3]
        (kh, kw), st, dil = l["kernel"], l.get("stride") or [1, 1], l.get("dilation") or [1, 1]
        pad = l.get("padding", "valid")
        if pad == "valid":
            pad = [0, 0, 0, 0]
        elif pad == "same":
            (t, b), (le, r) = _same_padding(H, kh, st[0], dil[0]), _same_padding(W, kw, st[1], dil[1])
            pad = [t, le, b, r]
        if any(pad):
            x = F.pad(x, (pad[1], pad[3], pad[0], pad[2]))
        groups = l.get("groups", 1)
        groups = C if groups == "depthwise" else groups
        Wt = self.p(f"{name}.weight", (l["filters"], C // groups, kh, kw), role)
        bias = None if l.get("batchnorm") else self.p(f"{name}.bias", (l["filters"],), role)
        y = F.conv2d(x, Wt, bias, tuple(st), 0, tuple(dil), groups)
        if l.get("batchnorm"):
            y = self.batchnorm(y, name, role)
        return ACTIVATIONS[l.get("activation", "relu")](y)

    @staticmethod
    def pool(x, l):
        """max or avg over size windows (stride default: size; no padding, floor), or global_avg → [N, C, 1, 1]."""
        size = l.get("size")
        if l["mode"] == "global_avg" or not size:
            return x.mean(dim=(2, 3), keepdim=True)
        stride = l.get("stride") or size
        return (F.max_pool2d if l["mode"] == "max" else F.avg_pool2d)(x, tuple(size), tuple(stride))

    def layer(self, x, l, at, role):
        kind = l.get("type", "dense")
        seq = S.layer(self, x, l, at, role, self._mask, ACTIVATIONS)  # conv1d, bigru (else None)
        if seq is not None:
            x = seq
        elif kind == "dense":
            if l.get("layernorm"):
                y = self.dense(x, l["units"], "none", at, role)
                s = self.p(f"{at}.ln_scale", (l["units"],), role)
                b = self.p(f"{at}.ln_bias", (l["units"],), role)
                x = ACTIVATIONS[l["activation"]](F.layer_norm(y, (l["units"],), s, b, LAYERNORM_EPS))
            else:
                x = self.dense(x, l["units"], l["activation"], at, role)
        elif kind == "activation":
            x = ACTIVATIONS[l["activation"]](x)
        elif kind == "conv":
            x = self.conv(x, l, at, role)
        elif kind == "pool":
            x = self.pool(x, l)
        elif kind == "batchnorm":
            x = self.batchnorm(x, at, role)
        elif kind == "flatten":
            x = x.flatten(1)
        if l.get("dropout", 0) > 0:
            x = F.dropout(x, l["dropout"], self.training and not self._declaring)
        return x

    def mlp(self, x, layers, name, role):
        for i, l in enumerate(layers):
            x = self.layer(x, l, f"{name}.{i}", role)
        return x

    def gate(self, x, experts, name, role):
        return torch.softmax(self.dense(x.flatten(1), experts, "none", name, role), dim=-1)  # an image flattened

    @staticmethod
    def combine(experts, gate):
        """Σ_j gate[:, j]·experts[j]: experts a list of E values [N, D], gate [N, E] → [N, D]."""
        return (torch.stack(experts, dim=1) * gate.unsqueeze(2)).sum(dim=1)

    # ---- architectures ----------------------------------------------------------------------------------
    def trunk(self, x, terms):
        a, tasks = self.spec["architecture"], self.spec["tasks"]
        kind = a["type"]
        if kind == "hps":
            h = self.mlp(x, a["layers"], "shared", "shared")
            return [h for _ in tasks]
        if kind == "mmoe":
            experts = [self.mlp(x, a["layers"], f"expert.{j}", "shared") for j in range(a["experts"])]
            return [self.combine(experts, self.gate(x, a["experts"], f"gate.{t['name']}", f"gate:{t['name']}")) for t in tasks]
        if kind == "cgc":
            shared = [self.mlp(x, a["layers"], f"shared_expert.{j}", "shared") for j in range(a["shared_experts"])]
            reps = []
            for t in tasks:
                own = [self.mlp(x, a["layers"], f"task_expert.{t['name']}.{j}", f"task:{t['name']}") for j in range(a["task_experts"])]
                reps.append(self.combine(own + shared, self.gate(x, a["task_experts"] + a["shared_experts"], f"gate.{t['name']}", f"gate:{t['name']}")))
            return reps
        if kind == "ple":
            L, raw = a.get("levels") or 2, a.get("gate_input") == "raw"
            s, h = x, [x for _ in tasks]
            for lv in range(1, L + 1):
                at = f"level.{lv}"
                shared = [self.mlp(s, a["layers"], f"{at}.shared_expert.{j}", "shared") for j in range(a["shared_experts"])]
                own_all, nxt = [], []
                for i, t in enumerate(tasks):
                    own = [self.mlp(h[i], a["layers"], f"{at}.task_expert.{t['name']}.{j}", f"task:{t['name']}") for j in range(a["task_experts"])]
                    own_all += own
                    w = self.gate(x if raw else h[i], a["task_experts"] + a["shared_experts"], f"{at}.gate.{t['name']}", f"gate:{t['name']}")
                    nxt.append(self.combine(own + shared, w))
                if lv < L:
                    every = own_all + shared
                    s = self.combine(every, self.gate(x if raw else s, len(every), f"{at}.shared_gate", "shared"))
                h = nxt
            return h
        if kind == "cross_stitch":
            T = len(tasks)
            cols = [x for _ in tasks]
            for i, l in enumerate(a["layers"]):
                cols = [self.layer(cols[c], l, f"column.{t['name']}.{i}", f"task:{t['name']}") for c, t in enumerate(tasks)]
                if T < 2:
                    continue
                alpha = self.p(f"cross_stitch.{i}.alpha", (T, T), "shared")
                stacked = torch.stack(cols, dim=1)  # [N, T, D] (or [N, T, C, H, W] after conv layers)
                cols = [torch.einsum("j,nj...->n...", alpha[r], stacked) for r in range(T)]
            return cols
        if kind == "dselect_k":
            return self.dselect(x, a, tasks, terms)
        raise Unsupported(kind)

    def dselect(self, x, a, tasks, terms):
        E, k, gamma, lam = a["experts"], a["k"], a["gamma"], a["entropy"]
        m = math.ceil(math.log2(E))
        experts = [self.mlp(x, a["layers"], f"expert.{j}", "shared") for j in range(E)]
        codes = torch.tensor([[(j >> (m - 1 - b)) & 1 for b in range(m)] for j in range(E)], dtype=x.dtype)  # [E, m]
        reps = []
        for t in tasks:
            name, role = f"gate.{t['name']}", f"gate:{t['name']}"
            z = self.dense(x.flatten(1), k * m, "none", f"{name}.z", role)  # an image flattened
            alpha = self.dense(x.flatten(1), k, "none", f"{name}.alpha", role)
            tz = z.view(-1, k, 1, m).clamp(-gamma / 2, gamma / 2)
            S = (-2 / gamma**3 * tz * tz + 3 / (2 * gamma)) * tz + 0.5  # smooth-step [N, k, 1, m]
            r = torch.where(codes.bool(), S, 1 - S).prod(dim=3)  # [N, k, E]
            q = (r * torch.softmax(alpha, dim=-1).unsqueeze(2)).sum(dim=1)  # [N, E]
            if lam > 0:
                terms.append((f"dselect.{t['name']}", lam, (-(r * torch.log(r + DSELECT_EPS))).sum(dim=(1, 2))))
            if 2**m != E:
                terms.append((f"dselect.{t['name']}.reach", 1.0, (1 / (r.sum(dim=2) + DSELECT_EPS)).sum(dim=1)))
            reps.append(self.combine(experts, q))
        return reps

    # ---- numeric inputs ---------------------------------------------------------------------------------
    def encode_numeric(self, numeric):
        """Raw values [N, F] (NaN = missing) → the encoded columns [N, V] that forward(..., standardized=True)
        takes: standardization (missing → the training mean, i.e. 0), or with inputs.numeric_encodings the encoder
        of the module docstring, in the buffers' dtype (float32, or float64 after .double())."""
        x = numeric.to(self.numeric_mean.dtype)
        if x.shape[1] != len(self.pre["numeric"]):
            raise ValueError(f"numeric: expected {len(self.pre['numeric'])} raw columns ({', '.join(s['column'] for s in self.pre['numeric'])}), got {x.shape[1]}")
        missing = torch.isnan(x)
        x = torch.where(missing, self.numeric_mean, x)  # the mean as the graph holds it (f32)
        if not self.encoder:
            return (x - self.numeric_mean) / self.numeric_std
        z = torch.cat([x, missing.to(x.dtype)], dim=1)  # [N, 2F]
        c = (z[:, self.encoder_cols] - self.encoder_lo) / self.encoder_width  # [N, W], one rounding per op
        c = torch.minimum(torch.maximum(c, self.encoder_cmin), self.encoder_cmax)
        return c @ self.encoder_M  # [N, V]

    def periodic_embed(self, x, c):
        """x [N, 1] (a standardized column), frequencies c [1, k] → [N, 2k]: [sin θ_1..k, cos θ_1..k] with
        θ = x·(2π·c) (2π as float32; the two products rounded in this order, as mtl-wasm's kernel)."""
        theta = x * (c * TWO_PI_F32)
        return torch.cat([torch.sin(theta), torch.cos(theta)], dim=1)

    def numeric_parts(self, e):
        """The encoded columns e [N, V] as the trunk's input blocks: the non-periodic columns as they are, then one
        periodic embedding per periodic column (parameters periodic.<column>.frequencies [1, k], role shared)."""
        V, P = e.shape[1], len(self.periodic)
        parts = [e[:, : V - P]] if V > P else []
        for column, at, k in self.periodic:
            c = self.p(f"periodic.{column}.frequencies", (1, k), "shared")
            parts.append(self.periodic_embed(e[:, at : at + 1], c))
        return parts

    # ---- the whole model --------------------------------------------------------------------------------
    def aitm(self, q, prev, task, role):
        """AITM's attention unit (src/model/funnel.ts): q [N, d] the task's tower output, prev the previous task's z
        → z [N, d]. p = relu(prev @ W_info + b_info); s_u = <u @ h2, u @ h3>/sqrt(d); w = softmax(s_p, s_q);
        z = w_p·(p @ h1) + w_q·(q @ h1); aitm.<task>.h1/h2/h3.weight [d, d] without bias."""
        d, at = q.shape[1], f"aitm.{task}"
        p = self.dense(prev, d, "relu", f"{at}.info", role)
        W1, W2, W3 = (self.p(f"{at}.{k}.weight", (d, d), role) for k in ("h1", "h2", "h3"))
        scale = 1 / math.sqrt(d)
        score = lambda u: ((u @ W2) * (u @ W3)).sum(dim=1, keepdim=True) * scale
        w = torch.softmax(torch.cat([score(p), score(q)], dim=1), dim=-1)
        return self.combine([p @ W1, q @ W1], w)

    def _run(self, numeric, categorical, groups, standardized, tensor=None):
        spec, pre = self.spec, self.pre
        parts = []
        if numeric.shape[1]:
            e = numeric.to(self.numeric_mean.dtype) if standardized else self.encode_numeric(numeric)
            parts += self.numeric_parts(e)
        if self.tensor_width:
            x = tensor.to(self.numeric_mean.dtype)
            im = self.image
            parts.append(x.view(-1, im["channels"], im["height"], im["width"]) if im else x)
        for j, c in enumerate(spec["inputs"]["categorical"]):
            table = self.p(f"embedding.{c['column']}", (self.vocab[j], c["dim"]), "shared")
            parts.append(F.embedding(categorical[:, j], table))
        self._mask = None  # inputs.tokens: the real-token mask [N, L] the conv1d/bigru layers, pooling and tagging heads read
        if spec["inputs"].get("tokens"):
            xt, self._mask = S.token_input(self, self._tokens)
            parts.append(xt)
        x0 = parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)
        x = x0  # DCN-v2 cross layers: x_{l+1} = x0 * (x_l @ W_l + b_l) + x_l
        for l in range(spec["architecture"].get("cross") or 0):
            x = x0 * self.dense(x, x0.shape[1], "none", f"cross.{l}", "shared") + x
        x0 = x
        terms = []
        reps = self.trunk(x0, terms)
        logits, outputs = {}, {}
        funnel = {}  # task → (logits, output, z) for the funnel tasks after it
        gi = 0
        for i, t in enumerate(spec["tasks"]):
            role = f"task:{t['name']}"
            tagging = t["type"] == "tagging"
            rep = S.seq_pool(reps[i], self._mask, t.get("pool") or "max") if self._mask is not None and not tagging else reps[i]
            h = self.mlp(rep, t["tower"], f"tower.{t['name']}", role)
            prev = funnel[t["after"]] if t.get("funnel") else None
            if t.get("funnel") == "aitm":
                h = self.aitm(h, prev[2], t["name"], role)
            width, G = self.widths[i], self.group_counts[i]
            z = S.tag_head(self, h, width, f"head.{t['name']}", role, self._mask) if tagging else self.dense(h, width, "none", f"head.{t['name']}", role)
            if G > 0:
                dev = self.dense(h, G * width, "none", f"head.{t['name']}.groups", role).view(-1, G, width)
                z = z + dev[torch.arange(dev.shape[0]), groups[:, gi]]
                gi += 1
            logits[t["name"]] = z
            if t.get("funnel") == "esmm":  # p(after)·p(task | after); the conditional is the extra output
                given = torch.sigmoid(z)
                outputs[t["name"]] = prev[1] * given
                outputs[f"{t['name']}.given_{t['after']}"] = given
            elif t["type"] in ("multiclass", "tagging"):
                outputs[t["name"]] = torch.softmax(z, dim=-1)
            elif t["type"] == "regression":
                outputs[t["name"]] = z
            else:
                outputs[t["name"]] = torch.sigmoid(z)
            if t.get("funnel") == "aitm" and t.get("calibrator", 0) > 0:  # λ·max(ŷ_t − ŷ_after, 0) per row
                terms.append((f"calibrator.{t['name']}", float(t["calibrator"]), F.relu(outputs[t["name"]] - prev[1]).sum(dim=1)))
            funnel[t["name"]] = (z, outputs[t["name"]], h)
        return {"logits": logits, "outputs": outputs, "terms": terms}

    def forward(self, numeric=None, categorical=None, groups=None, standardized=False, tokens=None, tensor=None):
        """Per task logits and outputs ({"logits": {task: [N, w]}, "outputs": {...}, "terms": [...]}); outputs also
        holds the extra outputs (ESMM's "<task>.given_<after>"). tensor: the inputs.tensor/image rows [N, T] float
        (an image's C·H·W values in NCHW order, as mtl-wasm feeds them).

        terms: the architecture's objective terms (dselect_k), (name, λ, per-row value [N]); loss.py adds them.
        """
        N = next(v.shape[0] for v in (numeric, tokens, tensor, categorical) if v is not None)
        if self.tensor_width and (tensor is None or tensor.dim() != 2 or tensor.shape[1] != self.tensor_width):
            raise ValueError(f"tensor: expected [N, {self.tensor_width}] rows (inputs.tensor), got {None if tensor is None else list(tensor.shape)}")
        self._tokens = tokens  # inputs.tokens: ids [N, L] int64 (seq.token_input checks them)
        if numeric is None:
            numeric = torch.zeros(N, 0)
        if categorical is None:
            categorical = torch.zeros(N, 0, dtype=torch.long)
        if groups is None:
            groups = torch.zeros(N, 0, dtype=torch.long)
        if standardized and numeric.shape[1] != self.encoded_width:
            raise ValueError(f"numeric (standardized=True): expected {self.encoded_width} encoded columns, got {numeric.shape[1]} (pass raw values [N, {len(self.pre['numeric'])}] with standardized=False)")
        if not standardized and numeric.shape[1] != len(self.pre["numeric"]):
            raise ValueError(f"numeric: expected {len(self.pre['numeric'])} raw columns ({', '.join(s['column'] for s in self.pre['numeric'])}), got {numeric.shape[1]}")
        if categorical.shape[1] != len(self.vocab):
            raise ValueError(f"categorical: expected {len(self.vocab)} columns, got {categorical.shape[1]}")
        return self._run(numeric, categorical.long(), groups.long(), standardized, tensor)

    def predict(self, numeric=None, categorical=None, groups=None, standardized=False, tokens=None, tensor=None):
        """Per task outputs as mtl predict and the ONNX export give them: regression in the label's units; then the
        extra outputs ("<task>.given_<after>")."""
        with torch.no_grad():
            out = self.forward(numeric, categorical, groups, standardized=standardized, tokens=tokens, tensor=tensor)["outputs"]
        res = {}
        for i, t in enumerate(self.spec["tasks"]):
            o = out[t["name"]]
            target = self.pre["tasks"][i].get("target")
            if t["type"] == "regression" and target:
                std = torch.tensor([s["std"] for s in target], dtype=torch.float32)
                mean = torch.tensor([s["mean"] for s in target], dtype=torch.float32)
                o = o * std + mean
            res[t["name"]] = o
        res.update((k, v) for k, v in out.items() if k not in res)
        return res

    def encode_categorical(self, rows):
        """Vocabulary indices [N, C] of rows given as lists of the categorical columns' string values."""
        maps = [{v: k + 1 for k, v in enumerate(c["vocab"])} for c in self.pre["categorical"]]
        return torch.tensor([[maps[j].get(str(v), 0) for j, v in enumerate(r)] for r in rows], dtype=torch.long)

    # ---- weights ----------------------------------------------------------------------------------------
    def load_weights(self, path, extra=None):
        """Load weights.safetensors (every parameter present with its shape). 'extra': a dict name → parameter
        (e.g. the loss's weighting.log_var) also filled from the file."""
        tensors = read_safetensors(path)
        targets = dict(self.named_weights() + self.named_state())
        targets.update(extra or {})
        missing = [n for n in targets if n not in tensors]
        if missing:
            raise KeyError(f"{path}: missing tensor {missing[0]!r}")
        with torch.no_grad():
            for n, p in targets.items():
                t = tensors[n]
                if list(t.shape) != list(p.shape):
                    raise ValueError(f"{path}: tensor {n!r} has shape {list(t.shape)}, expected {list(p.shape)}")
                p.copy_(t)

    def save_weights(self, path, extra=None):
        """Write weights.safetensors for 'mtl import' (F32, mtl-wasm's names); 'extra' as in load_weights."""
        tensors = {n: p.detach() for n, p in self.named_weights() + self.named_state()}
        for n, p in (extra or {}).items():
            tensors[n] = p.detach()
        write_safetensors(path, tensors, {"format": "mtl-wasm/model", "model": self.spec["name"]})


def load(folder=None):
    """The model of 'folder' (default: this package's folder) with its weights.safetensors loaded, and its
    model.json as a dict."""
    folder = folder or os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(folder, "model.json"), encoding="utf-8") as f:
        mj = json.load(f)
    model = MTLModel(mj)
    weights = os.path.join(folder, "weights.safetensors")
    if os.path.exists(weights):
        model.load_weights(weights)
    return model, mj
`;
