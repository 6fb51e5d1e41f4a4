"""YOLOv8 training loss: task-aligned assignment, CIoU + distribution focal loss on boxes, BCE on classes.

Written from the published method. Assignment follows TOOD (Feng et al. 2021, "Task-aligned
One-stage Object Detection"): an anchor whose centre lies inside a ground-truth box scores
``t = s^0.5 · IoU^6`` (``s`` the predicted score of the box's class); each box takes its 10 best
anchors, an anchor claimed by two boxes stays with the one it overlaps most, and the class target
of a positive anchor is ``t`` rescaled so each box's best anchor gets its best IoU. Boxes are
learnt as four distance distributions over 16 bins (Li et al. 2020, "Generalized Focal Loss"):
the distribution focal loss puts the mass on the two bins around the true distance, and CIoU
(Zheng et al. 2020) scores the decoded box; both are weighted by the class target. Gains 7.5 / 0.5
/ 1.5 (box, class, DFL) as the Ultralytics recipe publishes them.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from streetwarden.datasets.yolov8_net import REG_MAX, make_anchors
from streetwarden.datasets.yolox_loss import pairwise_iou

TOPK, ALPHA, BETA = 10, 0.5, 6.0
BOX_GAIN, CLS_GAIN, DFL_GAIN = 7.5, 0.5, 1.5


def ciou(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """Complete IoU of paired xyxy boxes [N, 4]: IoU - centre distance² / enclosing diagonal² - aspect term."""
    wa, ha = a[:, 2] - a[:, 0], (a[:, 3] - a[:, 1]).clamp(min=eps)
    wb, hb = b[:, 2] - b[:, 0], (b[:, 3] - b[:, 1]).clamp(min=eps)
    inter = ((torch.min(a[:, 2], b[:, 2]) - torch.max(a[:, 0], b[:, 0])).clamp(min=0)
             * (torch.min(a[:, 3], b[:, 3]) - torch.max(a[:, 1], b[:, 1])).clamp(min=0))
    iou = inter / (wa * ha + wb * hb - inter + eps)
    cw = torch.max(a[:, 2], b[:, 2]) - torch.min(a[:, 0], b[:, 0])
    ch = torch.max(a[:, 3], b[:, 3]) - torch.min(a[:, 1], b[:, 1])
    rho2 = ((a[:, 0] + a[:, 2] - b[:, 0] - b[:, 2]) ** 2 + (a[:, 1] + a[:, 3] - b[:, 1] - b[:, 3]) ** 2) / 4
    v = (4 / math.pi ** 2) * (torch.atan(wb / hb) - torch.atan(wa / ha)) ** 2
    with torch.no_grad():
        alpha = v / (v - iou + 1 + eps)
    return iou - rho2 / (cw ** 2 + ch ** 2 + eps) - alpha * v


@torch.no_grad()
def task_aligned_assign(scores: torch.Tensor, boxes: torch.Tensor, centres: torch.Tensor, gt_box: torch.Tensor,
                        gt_cls: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(foreground mask [A], matched gt index [A], class-target weight [A]) for one image.

    ``scores`` [A, C] sigmoided, ``boxes`` [A, 4] and ``centres`` [A, 2] in input pixels.
    """
    inside = ((centres[None] - gt_box[:, None, :2]).min(-1).values > 1e-9) & \
             ((gt_box[:, None, 2:] - centres[None]).min(-1).values > 1e-9)  # [G, A]
    iou = pairwise_iou(gt_box, boxes) * inside  # [G, A]
    metric = scores[:, gt_cls].T.pow(ALPHA) * iou.pow(BETA) * inside
    top = torch.topk(metric, min(TOPK, metric.shape[1]), dim=1).indices
    positive = torch.zeros_like(inside).scatter_(1, top, True) & inside
    claimed = positive.sum(0) > 1  # an anchor two boxes want stays with the one it overlaps most
    if claimed.any():
        best = F.one_hot(iou.argmax(0), len(gt_box)).T.bool()
        positive = torch.where(claimed[None], best & inside, positive)
    fg = positive.any(0)
    gt_index = positive.float().argmax(0)
    metric, iou = metric * positive, iou * positive
    norm = metric * (iou.amax(1, keepdim=True) / (metric.amax(1, keepdim=True) + 1e-9))
    return fg, gt_index, norm.amax(0)


def _dfl(dist: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Distribution focal loss per anchor: [N, 4, bins] logits, [N, 4] distances in bins."""
    target = target.clamp(0, REG_MAX - 1 - 0.01)
    left = target.long()
    w_left = left + 1 - target
    ce = F.cross_entropy(dist.reshape(-1, REG_MAX), left.reshape(-1), reduction="none").view(left.shape) * w_left
    ce = ce + F.cross_entropy(dist.reshape(-1, REG_MAX), (left + 1).reshape(-1), reduction="none").view(left.shape) * (1 - w_left)
    return ce.mean(-1)


def predicted_boxes(raw: torch.Tensor, shapes: list[tuple[int, int]]):  # type: ignore[no-untyped-def]
    """(distance logits [B, A, 4, 16], xyxy boxes [B, A, 4] in input pixels, anchor centres [A, 2]
    in grid cells, stride [A, 1]) of the head's logits."""
    points, stride = make_anchors(shapes, raw.device)
    dist = raw[..., :4 * REG_MAX].reshape(*raw.shape[:2], 4, REG_MAX)
    ltrb = dist.softmax(-1) @ torch.arange(REG_MAX, device=raw.device, dtype=raw.dtype)
    return dist, torch.cat((points - ltrb[..., :2], points + ltrb[..., 2:]), -1) * stride, points, stride


def yolov8_loss(raw: torch.Tensor, shapes: list[tuple[int, int]], targets: list[torch.Tensor]) -> torch.Tensor:
    """Loss of a batch: ``raw`` [B, A, 4 * 16 + C] head logits (``YoloV8.raw``), ``shapes`` the
    feature maps' (h, w); ``targets`` per image [n, 5] (class, x1, y1, x2, y2 in input pixels)."""
    dist, boxes, points, stride = predicted_boxes(raw, shapes)
    cls = raw[..., 4 * REG_MAX:]
    centres = points * stride
    cls_target = torch.zeros_like(cls)
    box_terms, dfl_terms = [], []
    for b, t in enumerate(targets):
        if len(t) == 0:
            continue
        gt_cls, gt_box = t[:, 0].long(), t[:, 1:]
        fg, gt_index, weight = task_aligned_assign(cls[b].detach().sigmoid(), boxes[b].detach(), centres, gt_box, gt_cls)
        if not fg.any():
            continue
        cls_target[b, fg] = F.one_hot(gt_cls[gt_index[fg]], cls.shape[-1]).to(cls.dtype) * weight[fg, None]
        matched = gt_box[gt_index[fg]]
        w = weight[fg]
        box_terms.append(((1 - ciou(boxes[b, fg], matched)) * w).sum())
        s = stride[fg]
        target_ltrb = torch.cat((points[fg] - matched[:, :2] / s, matched[:, 2:] / s - points[fg]), -1)
        dfl_terms.append((_dfl(dist[b, fg], target_ltrb) * w).sum())
    norm = cls_target.sum().clamp(min=1.0)
    loss = CLS_GAIN * F.binary_cross_entropy_with_logits(cls, cls_target, reduction="sum") / norm
    if box_terms:
        loss = loss + (BOX_GAIN * torch.stack(box_terms).sum() + DFL_GAIN * torch.stack(dfl_terms).sum()) / norm
    return loss
