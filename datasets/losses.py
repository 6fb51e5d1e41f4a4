"""The training loss of a batch for the network's family, so `train` does not care which it is.

The batches (:mod:`yolo_data`, :mod:`augment`) are letterboxed the YOLOX way: BGR, raw 0-255,
padded bottom/right. An Ultralytics network is fed them flipped to RGB and scaled to 0-1, as its
runtime feeds it; the padding stays bottom/right (the runtime centres it), which a convolutional
network does not mind and mosaic inputs have anyway.
"""

from __future__ import annotations

import torch

from streetwarden.datasets.yolov8_loss import yolov8_loss
from streetwarden.datasets.yolox_loss import anchor_grid, yolox_loss


def batch_loss(net, images: torch.Tensor, targets: list[torch.Tensor]) -> torch.Tensor:  # type: ignore[no-untyped-def]
    """``images`` [B, 3, S, S] BGR 0-255; ``targets`` per image [n, 5] (class, xyxy input pixels)."""
    if net.family == "ultralytics":
        return yolov8_loss(*net.raw(images.flip(1) / 255.0), targets)
    grid, stride = anchor_grid(images.shape[2], images.shape[3], images.device)
    return yolox_loss(net.head.raw(net.backbone(images)), targets, grid, stride)
