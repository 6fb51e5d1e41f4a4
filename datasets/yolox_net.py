"""YOLOX-Nano as a trainable PyTorch module (the [train] extra; never imported by the runtime).

Written from the published architecture (Ge et al. 2021, "YOLOX: Exceeding YOLO Series in 2021"):
a depthwise CSPDarknet backbone (Focus stem, four CSP stages, SPP), a PAFPN neck and a decoupled
head (separate class and box/objectness branches per stride 8/16/32). Nano = depth 0.33,
width 0.25, depthwise convolutions. Module names follow the official model's, so the ONNX export's
node names (``/backbone/backbone/dark2/dark2.1/conv1/conv/Conv``) say which module a weight belongs
to. The shipped ONNX file has BatchNorm folded into the convolutions, so every convolution here
carries a bias and there is no BatchNorm: the converted model computes exactly what the file does.

``forward`` returns what the ONNX file returns: ``[B, anchors, 5 + classes]`` of grid-relative
centre, log size, sigmoided objectness and class scores; input is raw 0-255 BGR, ``[B, 3, H, W]``.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class BaseConv(nn.Module):
    """Convolution (BatchNorm folded into its bias) + SiLU."""

    def __init__(self, cin: int, cout: int, k: int, stride: int = 1, groups: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=True)
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv(x))


class DWConv(nn.Module):
    """Depthwise k x k then pointwise 1 x 1: the Nano's cheap replacement of a full convolution."""

    def __init__(self, cin: int, cout: int, k: int, stride: int = 1) -> None:
        super().__init__()
        self.dconv = BaseConv(cin, cin, k, stride, groups=cin)
        self.pconv = BaseConv(cin, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pconv(self.dconv(x))


class Bottleneck(nn.Module):
    def __init__(self, cin: int, cout: int, shortcut: bool) -> None:
        super().__init__()
        self.conv1 = BaseConv(cin, cout, 1)
        self.conv2 = DWConv(cout, cout, 3)
        self.use_add = shortcut and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv2(self.conv1(x))
        return y + x if self.use_add else y


class CSPLayer(nn.Module):
    """Cross-stage partial block: half the channels through n bottlenecks, half around them."""

    def __init__(self, cin: int, cout: int, n: int, shortcut: bool = True) -> None:
        super().__init__()
        hidden = cout // 2
        self.conv1 = BaseConv(cin, hidden, 1)
        self.conv2 = BaseConv(cin, hidden, 1)
        self.conv3 = BaseConv(2 * hidden, cout, 1)
        self.m = nn.Sequential(*(Bottleneck(hidden, hidden, shortcut) for _ in range(n)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv3(torch.cat([self.m(self.conv1(x)), self.conv2(x)], dim=1))


class SPPBottleneck(nn.Module):
    def __init__(self, cin: int, cout: int, kernels: tuple[int, ...] = (5, 9, 13)) -> None:
        super().__init__()
        hidden = cin // 2
        self.conv1 = BaseConv(cin, hidden, 1)
        self.m = nn.ModuleList(nn.MaxPool2d(k, 1, k // 2) for k in kernels)
        self.conv2 = BaseConv(hidden * (len(kernels) + 1), cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        return self.conv2(torch.cat([x] + [m(x) for m in self.m], dim=1))


class Focus(nn.Module):
    """Space-to-depth: each 2x2 pixel block becomes 4 channels, then a convolution."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = BaseConv(cin * 4, cout, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(torch.cat([x[..., ::2, ::2], x[..., 1::2, ::2], x[..., ::2, 1::2], x[..., 1::2, 1::2]], dim=1))


class CSPDarknet(nn.Module):
    def __init__(self, depth: float, width: float) -> None:
        super().__init__()
        c = int(width * 64)
        d = max(round(depth * 3), 1)
        self.stem = Focus(3, c)
        self.dark2 = nn.Sequential(DWConv(c, c * 2, 3, 2), CSPLayer(c * 2, c * 2, d))
        self.dark3 = nn.Sequential(DWConv(c * 2, c * 4, 3, 2), CSPLayer(c * 4, c * 4, d * 3))
        self.dark4 = nn.Sequential(DWConv(c * 4, c * 8, 3, 2), CSPLayer(c * 8, c * 8, d * 3))
        self.dark5 = nn.Sequential(DWConv(c * 8, c * 16, 3, 2), SPPBottleneck(c * 16, c * 16),
                                   CSPLayer(c * 16, c * 16, d, shortcut=False))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.dark2(self.stem(x))
        p3 = self.dark3(x)
        p4 = self.dark4(p3)
        return p3, p4, self.dark5(p4)


class PAFPN(nn.Module):
    """Top-down then bottom-up feature fusion of strides 8, 16, 32."""

    def __init__(self, depth: float, width: float) -> None:
        super().__init__()
        c3, c4, c5 = (int(v * width) for v in (256, 512, 1024))
        n = max(round(3 * depth), 1)
        self.backbone = CSPDarknet(depth, width)
        self.upsample = nn.Upsample(scale_factor=2, mode="nearest")
        self.lateral_conv0 = BaseConv(c5, c4, 1)
        self.C3_p4 = CSPLayer(2 * c4, c4, n, False)
        self.reduce_conv1 = BaseConv(c4, c3, 1)
        self.C3_p3 = CSPLayer(2 * c3, c3, n, False)
        self.bu_conv2 = DWConv(c3, c3, 3, 2)
        self.C3_n3 = CSPLayer(2 * c3, c4, n, False)
        self.bu_conv1 = DWConv(c4, c4, 3, 2)
        self.C3_n4 = CSPLayer(2 * c4, c5, n, False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x2, x1, x0 = self.backbone(x)
        fpn_out0 = self.lateral_conv0(x0)
        f_out0 = self.C3_p4(torch.cat([self.upsample(fpn_out0), x1], 1))
        fpn_out1 = self.reduce_conv1(f_out0)
        pan_out2 = self.C3_p3(torch.cat([self.upsample(fpn_out1), x2], 1))
        pan_out1 = self.C3_n3(torch.cat([self.bu_conv2(pan_out2), fpn_out1], 1))
        pan_out0 = self.C3_n4(torch.cat([self.bu_conv1(pan_out1), fpn_out0], 1))
        return pan_out2, pan_out1, pan_out0


class DecoupledHead(nn.Module):
    """Per stride: a 1x1 stem, then a class branch and a box + objectness branch."""

    def __init__(self, num_classes: int, width: float, hidden: int = 256) -> None:
        super().__init__()
        h = int(hidden * width)
        self.num_classes = num_classes
        self.stems = nn.ModuleList(BaseConv(int(c * width), h, 1) for c in (256, 512, 1024))
        self.cls_convs = nn.ModuleList(nn.Sequential(DWConv(h, h, 3), DWConv(h, h, 3)) for _ in range(3))
        self.reg_convs = nn.ModuleList(nn.Sequential(DWConv(h, h, 3), DWConv(h, h, 3)) for _ in range(3))
        self.cls_preds = nn.ModuleList(nn.Conv2d(h, num_classes, 1) for _ in range(3))
        self.reg_preds = nn.ModuleList(nn.Conv2d(h, 4, 1) for _ in range(3))
        self.obj_preds = nn.ModuleList(nn.Conv2d(h, 1, 1) for _ in range(3))

    def reset_classes(self, num_classes: int) -> None:
        """A fresh class layer for other classes (the rest keeps its weights); every class starts
        at 1 % so the first epochs are stable."""
        hidden = self.cls_preds[0].in_channels
        self.cls_preds = nn.ModuleList(nn.Conv2d(hidden, num_classes, 1) for _ in range(3))
        for conv in self.cls_preds:
            nn.init.constant_(conv.bias, -math.log((1 - 0.01) / 0.01))
        self.num_classes = num_classes

    def raw(self, feats: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """``[B, anchors, 5 + C]`` before the sigmoids (logits), for the training losses."""
        outs = []
        for i, x in enumerate(feats):
            x = self.stems[i](x)
            cls = self.cls_preds[i](self.cls_convs[i](x))
            reg_feat = self.reg_convs[i](x)
            out = torch.cat([self.reg_preds[i](reg_feat), self.obj_preds[i](reg_feat), cls], 1)
            outs.append(out.flatten(2))
        return torch.cat(outs, 2).permute(0, 2, 1)

    def forward(self, feats: tuple[torch.Tensor, ...]) -> torch.Tensor:
        out = self.raw(feats)
        return torch.cat([out[..., :4], out[..., 4:].sigmoid()], -1)


class YoloxNano(nn.Module):
    """The whole detector; ``forward`` matches the ONNX file's ``output``."""

    family = "yolox"  # the runtime's output family (models/families.py)
    depth, width = 0.33, 0.25

    def __init__(self, num_classes: int = 80) -> None:
        super().__init__()
        self.backbone = PAFPN(self.depth, self.width)
        self.head = DecoupledHead(num_classes, self.width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))
