"""YOLOX training loss: SimOTA label assignment, IoU loss on boxes, BCE on objectness and classes.

Follows the paper's recipe in a compact form: candidate anchors are those whose centre lies inside
a ground-truth box or within 2.5 strides of its centre; each box takes its k cheapest candidates
(cost = class BCE + 3 x -log IoU, anchors outside both regions priced out), with k the rounded sum
of its 10 best IoUs; an anchor claimed by two boxes stays with the cheaper. The L1 term the paper
adds in the last epochs is left out.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

STRIDES = (8, 16, 32)


@functools.lru_cache(maxsize=8)  # one input size per run: built once, not every step
def anchor_grid(height: int, width: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(grid xy [A, 2], stride [A]) for an input of height x width, in the head's output order."""
    grids, strides = [], []
    for s in STRIDES:
        ny, nx = height // s, width // s
        yv, xv = torch.meshgrid(torch.arange(ny, device=device), torch.arange(nx, device=device), indexing="ij")
        grids.append(torch.stack([xv, yv], -1).reshape(-1, 2).float())
        strides.append(torch.full((ny * nx,), float(s), device=device))
    return torch.cat(grids), torch.cat(strides)


def decode_boxes(raw: torch.Tensor, grid: torch.Tensor, stride: torch.Tensor) -> torch.Tensor:
    """Raw [..., A, 4] (cell offsets, log sizes) → xyxy input pixels."""
    centre = (raw[..., :2] + grid) * stride[:, None]
    wh = torch.exp(raw[..., 2:4].clamp(max=10.0)) * stride[:, None]
    return torch.cat([centre - wh / 2, centre + wh / 2], -1)


def pairwise_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    lt = torch.max(a[:, None, :2], b[None, :, :2])
    rb = torch.min(a[:, None, 2:], b[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    area_a = (a[:, 2:] - a[:, :2]).clamp(min=0).prod(-1)
    area_b = (b[:, 2:] - b[:, :2]).clamp(min=0).prod(-1)
    return inter / (area_a[:, None] + area_b[None, :] - inter + 1e-9)


@torch.no_grad()
def simota(boxes: torch.Tensor, obj: torch.Tensor, cls: torch.Tensor, gt_box: torch.Tensor, gt_cls: torch.Tensor,
           grid: torch.Tensor, stride: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(foreground mask [A], matched gt index per foreground anchor, IoU with it) for one image."""
    centre = (grid + 0.5) * stride[:, None]
    inside = ((centre[None] > gt_box[:, None, :2]) & (centre[None] < gt_box[:, None, 2:])).all(-1)
    gt_centre = (gt_box[:, :2] + gt_box[:, 2:]) / 2
    radius = 2.5 * stride[None, :, None]
    near = ((centre[None] > gt_centre[:, None] - radius) & (centre[None] < gt_centre[:, None] + radius)).all(-1)
    candidate = (inside | near).any(0)
    fg = torch.zeros_like(candidate)
    if not candidate.any():
        return fg, gt_cls.new_zeros(0), boxes.new_zeros(0)
    ious = pairwise_iou(gt_box, boxes[candidate])  # [G, Ac]
    probs = (cls[candidate].sigmoid() * obj[candidate, None].sigmoid()).sqrt()  # [Ac, C]
    onehot = F.one_hot(gt_cls, cls.shape[1]).float()  # [G, C]
    cls_cost = F.binary_cross_entropy(probs[None].expand(len(gt_box), -1, -1).clamp(1e-6, 1 - 1e-6),
                                      onehot[:, None].expand(-1, probs.shape[0], -1), reduction="none").sum(-1)
    both = (inside & near)[:, candidate]
    cost = cls_cost + 3.0 * -torch.log(ious + 1e-8) + 1e5 * (~both).float()
    k = torch.topk(ious, min(10, ious.shape[1]), dim=1).values.sum(1).int().clamp(min=1)
    matching = torch.zeros_like(cost)
    for g in range(len(gt_box)):
        matching[g, torch.topk(cost[g], int(k[g]), largest=False).indices] = 1.0
    shared = matching.sum(0) > 1
    if shared.any():
        best = cost[:, shared].argmin(0)
        matching[:, shared] = 0.0
        matching[best, shared.nonzero().squeeze(1)] = 1.0
    taken = matching.sum(0) > 0
    idx = candidate.nonzero().squeeze(1)[taken]
    fg[idx] = True
    gt_index = matching[:, taken].argmax(0)
    return fg, gt_index, ious[gt_index, taken.nonzero().squeeze(1)]


def yolox_loss(raw: torch.Tensor, targets: list[torch.Tensor], grid: torch.Tensor, stride: torch.Tensor) -> torch.Tensor:
    """Loss of a batch: ``raw`` [B, A, 5 + C] logits; ``targets`` per image [n, 5] (class, x1, y1, x2, y2)."""
    boxes = decode_boxes(raw[..., :4], grid, stride)
    obj_t = torch.zeros_like(raw[..., 4])
    iou_losses, cls_losses, n_fg = [], [], 0
    for b, t in enumerate(targets):
        if len(t) == 0:
            continue
        gt_cls, gt_box = t[:, 0].long(), t[:, 1:]
        fg, gt_index, iou = simota(boxes[b].detach(), raw[b, :, 4].detach(), raw[b, :, 5:].detach(), gt_box, gt_cls,
                                   grid, stride)
        if not fg.any():
            continue
        obj_t[b, fg] = 1.0
        n_fg += int(fg.sum())
        matched = gt_box[gt_index]
        pred_iou = torch.diagonal(pairwise_iou(boxes[b, fg], matched))
        iou_losses.append((1.0 - pred_iou ** 2).sum())
        cls_t = F.one_hot(gt_cls[gt_index], raw.shape[-1] - 5).float() * iou[:, None]
        cls_losses.append(F.binary_cross_entropy_with_logits(raw[b, fg, 5:], cls_t, reduction="sum"))
    norm = max(n_fg, 1)
    loss = F.binary_cross_entropy_with_logits(raw[..., 4], obj_t, reduction="sum") / norm
    if iou_losses:
        loss = loss + 5.0 * torch.stack(iou_losses).sum() / norm + torch.stack(cls_losses).sum() / norm
    return loss
