// The exported Python package's loss.py: the training objective J as mtl-wasm computes it (masks, weighting, relations, terms, regularizers).
// Written verbatim by src/export/torch.ts (`mtl export DIR --format torch`).
export const LOSS_PY = String.raw`"""The training objective of an mtl-wasm model, as mtl-wasm computes it (src/ops/loss/, src/train/weighting/,
src/train/update.ts makeRegularizers, src/ops/relation.ts):

  J = weighting(L_1 … L_T) + Σ_r λ_r·R_r + Σ architecture terms + shared_l2·‖θ_shared‖² + Σ_t group_l2_t·‖deviation_t‖²

  L_t   the task's loss over its labelled rows: Σ_i w_i·ℓ_i / Σ_i w_i, w_i the row's mask (0 where the label is
        missing; multiclass also 0 where the class index is outside [0, classes)), ℓ_i the mean over the row's
        outputs of bce (pos_weight), mse, mae, huber (δ) or smooth_l1 (β = huber(δ = β)/β), or xent; 0 when no row
        is labelled. Regression labels are standardized ((y − mean)/std with model.json's target statistics).
        giou: 1 − GIoU of the row's box [x0, y0, x1, y1] (raw units, each pair sorted, ε = 1e-7). An esmm funnel
        task: bce of p = σ(a)·σ(z), a the logit of the task it follows (src/ops/funnel.ts esmm_bce).
        tagging (tag_xent, seq.py): the mean per-token cross-entropy over the labelled real tokens (mask [N, L]).
  weighting  static: Σ w_t·L_t; uncertainty: Σ w_t·(L_t·e^{−s_t}/2 + s_t/2), s = the parameter weighting.log_var.
  R_r   ½·Σ_j (a_j − b_j)² of the two tasks' outputs, mean over the valid rows.
  terms dselect_k's selector entropy (λ = architecture.entropy) and reach terms, an aitm task's calibrator
        (λ = tasks[].calibrator, max(ŷ_t − ŷ_after, 0)), mean over the valid rows.
  θ_shared  the parameters model.json marks "shared" (embeddings, the shared trunk and experts); deviation_t the
        group heads head.<task>.groups.weight and .bias.
"""
import torch
import torch.nn.functional as F
from torch import nn

try:
    from . import seq as S
except ImportError:  # the folder itself on sys.path
    import seq as S

GIOU_EPS = 1e-7


def _giou(p, g):
    """1 − GIoU per row of boxes p, g [N, 4] (x0, y0, x1, y1; each pair sorted first): 2 − I/(U + ε) − (U + ε)/(C + ε)
    (assembly/kernels/loss.ts giou_loss4)."""
    px0, px1 = torch.minimum(p[:, 0], p[:, 2]), torch.maximum(p[:, 0], p[:, 2])
    py0, py1 = torch.minimum(p[:, 1], p[:, 3]), torch.maximum(p[:, 1], p[:, 3])
    gx0, gx1 = torch.minimum(g[:, 0], g[:, 2]), torch.maximum(g[:, 0], g[:, 2])
    gy0, gy1 = torch.minimum(g[:, 1], g[:, 3]), torch.maximum(g[:, 1], g[:, 3])
    iw = (torch.minimum(px1, gx1) - torch.maximum(px0, gx0)).clamp(min=0)
    ih = (torch.minimum(py1, gy1) - torch.maximum(py0, gy0)).clamp(min=0)
    inter = iw * ih
    ue = (px1 - px0) * (py1 - py0) + (gx1 - gx0) * (gy1 - gy0) - inter + GIOU_EPS
    ce = (torch.maximum(px1, gx1) - torch.minimum(px0, gx0)) * (torch.maximum(py1, gy1) - torch.minimum(py0, gy0)) + GIOU_EPS
    return 2 - inter / ue - ue / ce


class MTLLoss(nn.Module):
    """J for one model.json (a dict). forward(model, out, labels, masks, valid=None) → (J, per-task losses [T])."""

    def __init__(self, model_json):
        super().__init__()
        spec = model_json["spec"]
        self.spec = spec
        tr = spec["training"]
        w = tr["weighting"]["type"]
        if w not in ("static", "uncertainty"):
            raise ValueError(f"{spec['name']}: training.weighting {w!r} is not supported by the torch export (static, uncertainty)")
        for i, t in enumerate(spec["tasks"]):
            if t["loss"] not in ("bce", "xent", "mse", "mae", "huber", "smooth_l1", "giou"):
                raise ValueError(f"{spec['name']}: tasks[{i}] ({t['name']}): loss {t['loss']!r} is not supported by the torch export")
        self.weighting = w
        self.log_var = nn.Parameter(torch.zeros(len(spec["tasks"]))) if w == "uncertainty" else None
        self.shared = [p["name"] for p in model_json["params"] if p.get("shared") and p.get("role") != "state"]
        self.group_l2 = [(t["group_l2"], f"head.{t['name']}.groups") for t in spec["tasks"] if t.get("group_by") and t.get("group_l2", 0) > 0]

    def extra_weights(self):
        """The loss's own parameters by mtl name (weights.safetensors holds them too)."""
        return {"weighting.log_var": self.log_var} if self.log_var is not None else {}

    @staticmethod
    def task_loss(t, z, y, mask, a=None):
        """L_t of logits (or standardized values) z [N, w] against labels y and row mask [N]; a: an esmm task's
        earlier logits [N, w]."""
        if t["type"] == "tagging":  # z [N, L, tags], y [N, L], mask [N, L] (the labelled real tokens)
            return S.tag_xent(z, y, mask)
        w = mask.to(z.dtype)
        if t["loss"] == "xent":
            y = y.long().view(-1)
            w = torch.where((y >= 0) & (y < z.shape[1]), w, torch.zeros_like(w))
            per_row = F.cross_entropy(z, torch.where(w > 0, y, torch.zeros_like(y)), reduction="none")
        else:
            y = y.to(z.dtype).view(z.shape)
            y = torch.where((w > 0).unsqueeze(1), y, torch.zeros_like(y))  # a missing label never reaches J or ∇J
            if t.get("funnel") == "esmm":  # -log p or -log(1 - p), p = σ(a)·σ(z), in the stable form of esmm_bce
                lse = torch.logsumexp(torch.stack([-a, -z, -a - z]), dim=0)
                e = F.softplus(-a) + F.softplus(-z) - (1 - y) * lse
            elif t["loss"] == "giou":
                e = _giou(z, y).unsqueeze(1)
            elif t["loss"] == "bce":
                pw = torch.full((z.shape[1],), float(t.get("pos_weight", 1)), dtype=z.dtype)
                e = F.binary_cross_entropy_with_logits(z, y, pos_weight=pw, reduction="none")
            elif t["loss"] == "mse":
                e = (z - y) ** 2
            elif t["loss"] == "mae":
                e = (z - y).abs()
            elif t["loss"] == "huber":
                e = F.huber_loss(z, y, reduction="none", delta=float(t["huber_delta"]))
            else:  # smooth_l1
                beta = float(t["smooth_l1_beta"])
                e = F.huber_loss(z, y, reduction="none", delta=beta) / beta
            per_row = e.mean(dim=1)
        total = w.sum()
        per_row = torch.where(w > 0, per_row, torch.zeros_like(per_row))
        return (w * per_row).sum() / total if total > 0 else per_row.sum() * 0

    def forward(self, model, out, labels, masks, valid=None):
        """J and the per-task losses. out: model(...)'s result; labels, masks: {task: tensor} (a task without a
        mask is labelled on every row); valid: [N] 1 for real rows (default all)."""
        tasks = self.spec["tasks"]
        any_z = next(iter(out["logits"].values()))
        N = any_z.shape[0]
        valid = torch.ones(N, dtype=any_z.dtype) if valid is None else valid.to(any_z.dtype)
        count = max(1.0, float(valid.sum()))
        losses = []
        for t in tasks:
            mask = masks.get(t["name"], valid)
            mask = mask * valid.view(-1, *[1] * (mask.dim() - 1))  # tagging: a token mask [N, L]
            a = out["logits"][t["after"]] if t.get("funnel") == "esmm" else None
            losses.append(self.task_loss(t, out["logits"][t["name"]], labels[t["name"]], mask, a))
        L = torch.stack(losses)
        wt = torch.tensor([float(t.get("weight", 1)) for t in tasks], dtype=L.dtype)
        if self.weighting == "static":
            J = (wt * L).sum()
        else:
            s = self.log_var
            J = (wt * (L * torch.exp(-s) / 2 + s / 2)).sum()
        for r in self.spec["training"].get("relations", []):
            a, b = out["outputs"][r["tasks"][0]], out["outputs"][r["tasks"][1]]
            J = J + r["lambda"] * 0.5 * (valid.unsqueeze(1) * (a - b) ** 2).sum() / count
        for _, lam, per_row in out["terms"]:
            J = J + lam * (valid * per_row).sum() / count
        weights = dict(model.named_weights())
        l2 = float(self.spec["training"].get("shared_l2", 0))
        if l2 > 0:
            J = J + l2 * sum((weights[n] ** 2).sum() for n in self.shared)
        for lam, head in self.group_l2:
            J = J + lam * ((weights[f"{head}.weight"] ** 2).sum() + (weights[f"{head}.bias"] ** 2).sum())
        return J, L.detach()
`;
