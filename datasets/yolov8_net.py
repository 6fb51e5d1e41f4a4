"""YOLOv8n as a trainable PyTorch module (the [train] extra; never imported by the runtime).

Written from the published architecture (Ultralytics YOLOv8, 2023; its model YAML and docs): a
CSP backbone of C2f blocks with an SPPF, an upsample/concatenate neck (top-down to stride 8, then
bottom-up to 32), and a decoupled anchor-free Detect head whose box branch predicts, per side, a
distribution over 16 distances (DFL, Li et al. 2020 "Generalized Focal Loss"); n = depth 0.33,
width 0.25. Module names follow the Ultralytics paths (``model.22.cv2.0.1.conv``) so a weight of
an ONNX export maps by name. BatchNorm is folded into the convolutions' biases, as in the shipped
ONNX file, so there is no BatchNorm layer. No ultralytics import: it is not needed to train.

``forward`` returns what the ONNX file returns: ``[B, 4 + C, anchors]`` of box centre and size in
input pixels and sigmoided class scores; input is RGB scaled to 0-1, ``[B, 3, H, W]``.
``raw`` gives the head's logits ``[B, anchors, 4 * 16 + C]`` for the training loss.
"""

from __future__ import annotations

import math

import torch
from torch import nn

REG_MAX = 16  # distance bins per box side
STRIDES = (8, 16, 32)


class Conv(nn.Module):
    """Convolution (BatchNorm folded into its bias) + SiLU."""

    def __init__(self, cin: int, cout: int, k: int = 1, stride: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, k // 2, bias=True)
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv(x))


class Bottleneck(nn.Module):
    def __init__(self, c: int, shortcut: bool) -> None:
        super().__init__()
        self.cv1 = Conv(c, c, 3)
        self.cv2 = Conv(c, c, 3)
        self.add = shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class C2f(nn.Module):
    """CSP with two convolutions: split in halves, chain n bottlenecks on one half, concatenate
    every intermediate output (the gradient paths of ELAN at a lower cost)."""

    def __init__(self, cin: int, cout: int, n: int, shortcut: bool) -> None:
        super().__init__()
        self.c = cout // 2
        self.cv1 = Conv(cin, 2 * self.c, 1)
        self.cv2 = Conv((2 + n) * self.c, cout, 1)
        self.m = nn.ModuleList(Bottleneck(self.c, shortcut) for _ in range(n))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = list(self.cv1(x).split((self.c, self.c), 1))
        for m in self.m:
            y.append(m(y[-1]))
        return self.cv2(torch.cat(y, 1))


class SPPF(nn.Module):
    """Spatial pyramid pooling, fast: three chained 5x5 max-pools (= 5, 9, 13 receptive fields)."""

    def __init__(self, cin: int, cout: int, k: int = 5) -> None:
        super().__init__()
        hidden = cin // 2
        self.cv1 = Conv(cin, hidden, 1)
        self.cv2 = Conv(hidden * 4, cout, 1)
        self.m = nn.MaxPool2d(k, 1, k // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = [self.cv1(x)]
        for _ in range(3):
            y.append(self.m(y[-1]))
        return self.cv2(torch.cat(y, 1))


class Upsample(nn.Upsample):
    def __init__(self) -> None:
        super().__init__(scale_factor=2.0, mode="nearest")


class Concat(nn.Module):
    def forward(self, xs: list[torch.Tensor]) -> torch.Tensor:
        return torch.cat(xs, 1)


class DFL(nn.Module):
    """Expected distance of a softmax over the bins: a fixed 1x1 convolution with weights 0..15."""

    def __init__(self, bins: int = REG_MAX) -> None:
        super().__init__()
        self.conv = nn.Conv2d(bins, 1, 1, bias=False).requires_grad_(False)
        self.conv.weight.data[:] = torch.arange(bins, dtype=torch.float32).view(1, bins, 1, 1)
        self.bins = bins

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, 4 * bins, A] logits → [B, 4, A] distances in strides."""
        b, _, a = x.shape
        return self.conv(x.view(b, 4, self.bins, a).transpose(2, 1).softmax(1)).view(b, 4, a)


def make_anchors(shapes: list[tuple[int, int]], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(anchor centres [A, 2] in grid cells, +0.5; stride [A, 1]) for the feature maps' (h, w)."""
    points, strides = [], []
    for (h, w), s in zip(shapes, STRIDES):
        sy, sx = torch.meshgrid(torch.arange(h, device=device, dtype=torch.float32) + 0.5,
                                torch.arange(w, device=device, dtype=torch.float32) + 0.5, indexing="ij")
        points.append(torch.stack((sx, sy), -1).view(-1, 2))
        strides.append(torch.full((h * w, 1), float(s), device=device))
    return torch.cat(points), torch.cat(strides)


class Detect(nn.Module):
    """Per stride: a box branch (cv2: 4 x 16 distance logits) and a class branch (cv3)."""

    def __init__(self, num_classes: int, channels: tuple[int, int, int], cls_hidden: int | None = None) -> None:
        super().__init__()
        self.num_classes = num_classes
        c2 = max(16, channels[0] // 4, REG_MAX * 4)
        c3 = cls_hidden or max(channels[0], min(num_classes, 100))
        self.cv2 = nn.ModuleList(nn.Sequential(Conv(c, c2, 3), Conv(c2, c2, 3), nn.Conv2d(c2, 4 * REG_MAX, 1))
                                 for c in channels)
        self.cv3 = nn.ModuleList(nn.Sequential(Conv(c, c3, 3), Conv(c3, c3, 3), nn.Conv2d(c3, num_classes, 1))
                                 for c in channels)
        self.dfl = DFL(REG_MAX)

    def reset_classes(self, num_classes: int) -> None:
        """A fresh last class layer for other classes (the rest of the head keeps its weights);
        biases start every class at ~5 objects per 640² image, as Ultralytics does."""
        self.num_classes = num_classes
        for seq, s in zip(self.cv3, STRIDES):
            old = seq[2]
            seq[2] = nn.Conv2d(old.in_channels, num_classes, 1).to(old.weight.device)
            nn.init.constant_(seq[2].bias, math.log(5 / num_classes / (640 / s) ** 2))

    def raw(self, feats: list[torch.Tensor]) -> tuple[torch.Tensor, list[tuple[int, int]]]:
        """([B, A, 4 * 16 + C] logits, the feature maps' (h, w))."""
        outs = [torch.cat((self.cv2[i](x), self.cv3[i](x)), 1).flatten(2) for i, x in enumerate(feats)]
        return torch.cat(outs, 2).permute(0, 2, 1), [tuple(x.shape[2:]) for x in feats]

    def decode(self, raw: torch.Tensor, shapes: list[tuple[int, int]]) -> torch.Tensor:
        """Logits → ``[B, 4 + C, A]``: xywh in input pixels, sigmoided class scores."""
        points, stride = make_anchors(shapes, raw.device)
        box, cls = raw.permute(0, 2, 1).split((4 * REG_MAX, self.num_classes), 1)
        lt, rb = self.dfl(box).chunk(2, 1)
        anchor = points.T[None]
        x1y1, x2y2 = anchor - lt, anchor + rb
        xywh = torch.cat(((x1y1 + x2y2) / 2, x2y2 - x1y1), 1) * stride.T[None]
        return torch.cat((xywh, cls.sigmoid()), 1)

    def forward(self, feats: list[torch.Tensor]) -> torch.Tensor:
        return self.decode(*self.raw(feats))


class YoloV8(nn.Module):
    """The whole detector as ``model.0`` … ``model.22``, wired as the Ultralytics YAML wires them."""

    family = "ultralytics"  # the runtime's output family (models/families.py)
    depth, width = 0.33, 0.25  # n

    def __init__(self, num_classes: int = 80, cls_hidden: int | None = None) -> None:
        super().__init__()
        c = [int(v * self.width) for v in (64, 128, 256, 512, 1024)]  # 16 32 64 128 256

        def n(repeats: int) -> int:
            return max(round(repeats * self.depth), 1)

        self.model = nn.ModuleList([
            Conv(3, c[0], 3, 2), Conv(c[0], c[1], 3, 2), C2f(c[1], c[1], n(3), True),        # 0-2
            Conv(c[1], c[2], 3, 2), C2f(c[2], c[2], n(6), True),                             # 3-4: P3
            Conv(c[2], c[3], 3, 2), C2f(c[3], c[3], n(6), True),                             # 5-6: P4
            Conv(c[3], c[4], 3, 2), C2f(c[4], c[4], n(3), True), SPPF(c[4], c[4]),           # 7-9: P5
            Upsample(), Concat(), C2f(c[4] + c[3], c[3], n(3), False),                       # 10-12
            Upsample(), Concat(), C2f(c[3] + c[2], c[2], n(3), False),                       # 13-15: out 8
            Conv(c[2], c[2], 3, 2), Concat(), C2f(c[2] + c[3], c[3], n(3), False),           # 16-18: out 16
            Conv(c[3], c[3], 3, 2), Concat(), C2f(c[3] + c[4], c[4], n(3), False),           # 19-21: out 32
            Detect(num_classes, (c[2], c[3], c[4]), cls_hidden),                             # 22
        ])

    @property
    def head(self) -> Detect:
        return self.model[22]  # type: ignore[return-value]

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        m = self.model
        x = m[2](m[1](m[0](x)))
        p3 = m[4](m[3](x))
        p4 = m[6](m[5](p3))
        p5 = m[9](m[8](m[7](p4)))
        h4 = m[12](m[11]([m[10](p5), p4]))
        o8 = m[15](m[14]([m[13](h4), p3]))
        o16 = m[18](m[17]([m[16](o8), h4]))
        o32 = m[21](m[20]([m[19](o16), p5]))
        return [o8, o16, o32]

    def raw(self, x: torch.Tensor) -> tuple[torch.Tensor, list[tuple[int, int]]]:
        """Head logits ``[B, A, 4 * 16 + C]`` and the feature maps' (h, w), for the loss."""
        return self.head.raw(self.features(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))  # a module call, so an export names the head's nodes /model.22/…
