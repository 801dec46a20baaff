"""Losses of the reference: sigmoid BCE ×2 + naive Dice ×0.5 on uncertainty-sampled points, next-token CE
×0.1 on samples with masks, and distillation (MSE through linear adapters) as a pluggable hook."""
from __future__ import annotations

from typing import Dict, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

BCE_WEIGHT = 2.0
DICE_WEIGHT = 0.5
LM_WEIGHT_WITH_MASKS = 0.1
DISTILL_WEIGHT = 0.5


def point_sample(maps: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """maps [N, 1, h, w], coords [N, P, 2] in [0, 1] (x, y) → [N, P] bilinear samples (align_corners=False)."""
    grid = (2.0 * coords - 1.0).unsqueeze(2)  # [N, P, 1, 2]
    return F.grid_sample(maps, grid, mode="bilinear", align_corners=False).squeeze(3).squeeze(1)


def uncertain_point_coords(logits: torch.Tensor, num_points: int, oversample_ratio: float = 3.0,
                           importance_sample_ratio: float = 0.75, generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Mask2Former point selection: oversample uniformly, keep the most uncertain (|logit| smallest)
    ``importance_sample_ratio`` share, fill the rest uniformly. logits [N, 1, h, w] → coords [N, P, 2]."""
    n = logits.shape[0]
    sampled = int(num_points * oversample_ratio)
    coords = torch.rand(n, sampled, 2, device=logits.device, generator=generator)
    uncertainty = -point_sample(logits, coords).abs()
    k_important = int(importance_sample_ratio * num_points)
    k_random = num_points - k_important
    idx = torch.topk(uncertainty, k=k_important, dim=1).indices
    important = torch.gather(coords, 1, idx.unsqueeze(-1).expand(-1, -1, 2))
    if k_random == 0:
        return important
    return torch.cat([important, torch.rand(n, k_random, 2, device=logits.device, generator=generator)], dim=1)


def dice_loss(logits: torch.Tensor, targets: torch.Tensor, eps: float = 1.0) -> torch.Tensor:
    """Naive Dice on sigmoid probabilities, per mask: 1 − (2·Σpg + eps) / (Σp + Σg + eps). [N, P] → [N]."""
    p = logits.sigmoid()
    return 1.0 - (2.0 * (p * targets).sum(-1) + eps) / (p.sum(-1) + targets.sum(-1) + eps)


def mask_loss(pred_logits: torch.Tensor, gt_masks: torch.Tensor, num_points: Optional[int] = 12544,
              generator: Optional[torch.Generator] = None) -> Dict[str, torch.Tensor]:
    """BCE ×2 and Dice ×0.5, each averaged over masks. pred [Q, h, w] logits; gt [Q, H, W] in {0, 1}.

    With ``num_points`` the losses use Mask2Former uncertainty sampling (GT sampled at its own
    resolution); with ``None`` they are dense on the prediction grid (GT resized nearest)."""
    if pred_logits.shape[0] != gt_masks.shape[0]:
        raise ValueError("predicted and ground-truth mask counts differ")
    q = pred_logits.shape[0]
    if q == 0:
        zero = pred_logits.sum() * 0.0
        return {"loss_mask": zero, "loss_dice": zero}
    pred = pred_logits.unsqueeze(1).float()
    gt = gt_masks.unsqueeze(1).float()
    if num_points is None:
        gt = F.interpolate(gt, size=pred.shape[-2:], mode="nearest")
        p, g = pred.flatten(1), gt.flatten(1)
    else:
        with torch.no_grad():
            coords = uncertain_point_coords(pred.detach(), num_points, generator=generator)
            g = point_sample(gt, coords)
        p = point_sample(pred, coords)
    bce = F.binary_cross_entropy_with_logits(p, g, reduction="none").mean(-1)
    return {"loss_mask": BCE_WEIGHT * bce.sum() / q, "loss_dice": DICE_WEIGHT * dice_loss(p, g).sum() / q}


def lm_loss(logits: torch.Tensor, labels: torch.Tensor, has_masks: torch.Tensor) -> torch.Tensor:
    """Next-token CE per sample (labels −100 ignored), ×0.1 for samples that carry masks, mean over samples.

    logits [B, L, V]; labels [B, L] aligned with inputs (shifted here); has_masks [B] bool."""
    shift_logits = logits[:, :-1].float()
    shift_labels = labels[:, 1:]
    per_token = F.cross_entropy(shift_logits.transpose(1, 2), shift_labels, ignore_index=-100, reduction="none")
    valid = (shift_labels != -100).float()
    per_sample = (per_token * valid).sum(1) / valid.sum(1).clamp(min=1.0)
    scale = torch.where(has_masks, torch.full_like(per_sample, LM_WEIGHT_WITH_MASKS), torch.ones_like(per_sample))
    return (per_sample * scale).mean()


class DistillationHead(nn.Module):
    """Vision-expert distillation: a linear adapter from student features to the teacher's channels, MSE
    against the teacher map bilinearly resized to the student grid, weighted 0.5. Removed at export."""

    def __init__(self, student_dim: int, teacher_dim: int, weight: float = DISTILL_WEIGHT) -> None:
        super().__init__()
        self.adapter = nn.Linear(student_dim, teacher_dim)
        self.weight = weight

    def forward(self, student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        """student [B, h, w, Cs]; teacher [B, Ct, h', w'] → scalar loss."""
        target = F.interpolate(teacher.float(), size=student.shape[1:3], mode="bilinear", align_corners=False)
        pred = self.adapter(student).permute(0, 3, 1, 2)
        return self.weight * F.mse_loss(pred, target)


class AttributeHead(nn.Module):
    """Dense attribute supervision from the generator (not in the paper; training only, removed at export).

    The shipped model names colours but not shapes, and its [SEG] state cannot find "the hexagon"
    (training/diagnose_seg.py). The generator knows every pixel's shape and pattern, so patch tokens are
    asked to predict them: a LayerNorm + linear read-out per attribute, cross-entropy against the fraction
    of the patch each class covers. Applied to a middle layer too, because text tokens read the image
    through the keys and values of the layers before the last, never through the final hidden state."""

    def __init__(self, hidden_dim: int, class_counts: Dict[str, int], weight: float) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(hidden_dim)
        self.heads = nn.ModuleDict({name: nn.Linear(hidden_dim, n) for name, n in class_counts.items()})
        self.weight = weight

    def forward(self, features: torch.Tensor, targets: Dict[str, torch.Tensor]) -> torch.Tensor:
        """features [B, N, H]; targets name → [B, N, C] class fractions per patch (rows sum to 1)."""
        x = self.norm(features)
        terms = [-(targets[name] * F.log_softmax(head(x).float(), dim=-1)).sum(-1).mean() for name, head in self.heads.items()]
        return self.weight * torch.stack(terms).sum()
