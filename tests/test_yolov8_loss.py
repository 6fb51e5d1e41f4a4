"""The YOLOv8 loss on the converted COCO model and a real photo: it is low for what the model
really sees and rises for boxes moved off the objects, given the wrong class or left out; the
task-aligned assignment takes at most 10 anchors per box, all with their centre inside it; a few
steps on shifted boxes lower it."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from streetwarden.datasets.onnx_to_torch import model_from_onnx
from streetwarden.datasets.yolov8_loss import ciou, predicted_boxes, task_aligned_assign, yolov8_loss
from streetwarden.datasets.yolov8_net import REG_MAX
from streetwarden.models.families import FAMILIES
from streetwarden.models.nms import classwise_nms
from tests.conftest import shared_path

SIZE = 320


@pytest.fixture(scope="module")
def seen(yolov8_path):  # type: ignore[no-untyped-def]
    """(net, input [1, 3, S, S], raw head output, targets [n, 5]: what the model itself finds on bus.jpg)."""
    net = model_from_onnx(yolov8_path)
    tensor, _ = FAMILIES["ultralytics"].preprocess(cv2.imread(str(shared_path("media", "bus.jpg"))), SIZE)
    x = torch.from_numpy(tensor[None])
    with torch.no_grad():
        raw, shapes = net.raw(x)
        found = FAMILIES["ultralytics"].decode(net.head.decode(raw, shapes).numpy()[0], (SIZE, SIZE), 0.5)
    keep = classwise_nms(found.xyxy, found.score, found.class_id, 0.45)
    targets = np.concatenate([found.class_id[keep, None].astype(np.float32), found.xyxy[keep]], 1)
    assert len(targets) >= 3 and {0, 5} <= set(targets[:, 0].astype(int))  # people and the bus
    return net, x, (raw, shapes), torch.from_numpy(targets)


def test_loss_is_low_for_what_the_model_sees(seen) -> None:
    _, _, (raw, shapes), targets = seen
    right = float(yolov8_loss(raw, shapes, [targets]))
    moved = targets.clone()
    moved[:, 1:] += torch.tensor([40.0, 25.0, 40.0, 25.0])
    wrong = targets.clone()
    wrong[:, 0] = 2.0  # all "car"
    assert np.isfinite(right)
    assert float(yolov8_loss(raw, shapes, [moved])) > 1.5 * right
    assert float(yolov8_loss(raw, shapes, [wrong])) > 1.5 * right
    assert float(yolov8_loss(raw, shapes, [targets[:0]])) > 1.5 * right  # what it sees would all be false positives


def test_assignment_takes_anchors_inside_their_box(seen) -> None:
    _, _, (raw, shapes), targets = seen
    _, boxes, points, stride = predicted_boxes(raw, shapes)
    tiny = torch.tensor([[0.0, 100.0, 100.0, 110.0, 110.0]])  # holds 2 anchor centres: (108, 108) and (104, 104)
    gt_cls, gt_box = torch.cat([targets, tiny])[:, 0].long(), torch.cat([targets, tiny])[:, 1:]
    fg, gt_index, weight = task_aligned_assign(raw[0, :, 4 * REG_MAX:].sigmoid(), boxes[0], points * stride, gt_box, gt_cls)
    centres = (points * stride)[fg]
    owner = gt_box[gt_index[fg]]
    assert ((centres > owner[:, :2]) & (centres < owner[:, 2:])).all()
    counts = torch.bincount(gt_index[fg], minlength=len(gt_box))
    assert (counts[:-1] >= 1).all() and (counts <= 10).all() and counts[-1] <= 2
    assert (weight[fg] > 0).all() and (weight[fg] <= 1).all() and (weight[~fg] == 0).all()
    # the weights are rescaled so each box's best anchor gets that anchor's IoU: a good model's are high
    best = torch.zeros(len(gt_box)).scatter_reduce(0, gt_index[fg], weight[fg], "amax")
    assert best[:-1].min() > 0.7


def test_ciou_is_one_for_the_same_box_and_falls_with_distance() -> None:
    box = torch.tensor([[10.0, 10.0, 50.0, 90.0]])
    near, far = box + torch.tensor([4.0, 0, 4.0, 0]), box + torch.tensor([60.0, 0, 60.0, 0])
    assert float(ciou(box, box)) == pytest.approx(1.0, abs=1e-5)
    assert 1.0 > float(ciou(box, near)) > 0.0 > float(ciou(box, far)) > -1.0


def test_a_few_steps_on_one_batch_lower_the_loss(seen) -> None:
    net, x, _, targets = seen
    net.train()
    opt = torch.optim.AdamW([p for p in net.parameters() if p.requires_grad], lr=3e-4)
    moved = targets.clone()
    moved[:, 1:] += torch.tensor([12.0, 8.0, 12.0, 8.0])  # teach it slightly shifted boxes
    losses = []
    for _ in range(4):
        loss = yolov8_loss(*net.raw(x), [moved])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    net.eval()
    assert losses[-1] < 0.8 * losses[0], losses
