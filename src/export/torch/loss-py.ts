// The exported Python package's loss.py: the training objective J as mtl-wasm computes it (masks, weighting, relations, terms, regularizers).
// Written verbatim by src/export/torch.ts (`mtl export DIR --format torch`).
export const LOSS_PY = String.raw`"""The training objective of an mtl-wasm model, as mtl-wasm computes it (src/ops/loss/, src/train/weighting/,
src/train/update.ts makeRegularizers, src/ops/relation.ts):

  J = weighting(L_1 … L_T) + Σ_r λ_r·R_r + Σ architecture terms + shared_l2·‖θ_shared‖² + Σ_t group_l2_t·‖deviation_t‖²

  L_t   the task's loss over its labelled rows: Σ_i w_i·ℓ_i / Σ_i w_i, w_i the row's mask (0 where the label is
        missing; multiclass also 0 where the class index is outside [0, classes)), ℓ_i the mean over the row's
        outputs of bce (pos_weight), mse, mae, huber (δ) or smooth_l1 (β = huber(δ = β)/β), or xent; 0 when no row
        is labelled. Regression labels are standardized ((y − mean)/std with model.json's target statistics).
  weighting  static: Σ w_t·L_t; uncertainty: Σ w_t·(L_t·e^{−s_t}/2 + s_t/2), s = the parameter weighting.log_var.
  R_r   ½·Σ_j (a_j − b_j)² of the two tasks' outputs, mean over the valid rows.
  terms dselect_k's selector entropy (λ = architecture.entropy) and reach terms, mean over the valid rows.
  θ_shared  the parameters model.json marks "shared" (embeddings, the shared trunk and experts); deviation_t the
        group heads head.<task>.groups.weight and .bias.
"""
import torch
import torch.nn.functional as F
from torch import nn


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
            if t["loss"] not in ("bce", "xent", "mse", "mae", "huber", "smooth_l1"):
                raise ValueError(f"{spec['name']}: tasks[{i}] ({t['name']}): loss {t['loss']!r} is not supported by the torch export")
        self.weighting = w
        self.log_var = nn.Parameter(torch.zeros(len(spec["tasks"]))) if w == "uncertainty" else None
        self.shared = [p["name"] for p in model_json["params"] if p.get("shared") and p.get("role") != "state"]
        self.group_l2 = [(t["group_l2"], f"head.{t['name']}.groups") for t in spec["tasks"] if t.get("group_by") and t.get("group_l2", 0) > 0]

    def extra_weights(self):
        """The loss's own parameters by mtl name (weights.safetensors holds them too)."""
        return {"weighting.log_var": self.log_var} if self.log_var is not None else {}

    @staticmethod
    def task_loss(t, z, y, mask):
        """L_t of logits (or standardized values) z [N, w] against labels y and row mask [N]."""
        w = mask.to(z.dtype)
        if t["loss"] == "xent":
            y = y.long().view(-1)
            w = torch.where((y >= 0) & (y < z.shape[1]), w, torch.zeros_like(w))
            per_row = F.cross_entropy(z, torch.where(w > 0, y, torch.zeros_like(y)), reduction="none")
        else:
            y = y.to(z.dtype).view(z.shape)
            y = torch.where((w > 0).unsqueeze(1), y, torch.zeros_like(y))  # a missing label never reaches J or ∇J
            if t["loss"] == "bce":
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
            mask = masks.get(t["name"], valid) * valid
            losses.append(self.task_loss(t, out["logits"][t["name"]], labels[t["name"]], mask))
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
