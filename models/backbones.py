"""Feature streams of I2ZNet (supp. A.2).

* :class:`VGG16Features` -- VGG16 conv layers in plain torch with torchvision-compatible
  state-dict keys (``features.<idx>.weight``), tapped at conv3_3, conv4_3, conv5_3 and
  pool5 (channels 256, 512, 512, 512 at strides 4, 8, 16, 32).
* :class:`MobileFeatures` -- small depthwise-separable CNN with the same 4 taps (lite).
* :class:`TinyFeatures` -- a few plain convs with the same 4 taps (unit tests).
* :class:`Hourglass` -- FAN-style stacked hourglass producing 68 landmark heatmaps at
  stride 4 (the keypoint stream when ``keypoint_source == "hourglass"``).
* :func:`keypoints_to_heatmaps` -- Gaussian heatmaps from detector points (the
  ``"detector"`` keypoint source).

Every backbone maps an image ``(B, 3, S, S)`` in [0, 1] to 4 feature maps at strides
4, 8, 16, 32 and exposes ``channels``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

Tensor = torch.Tensor
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# torchvision's vgg16 "features" layout: conv channels, "M" = max-pool
_VGG16 = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")
# indices in that Sequential after which we tap: relu3_3, relu4_3, relu5_3, pool5
_VGG_TAPS = (15, 22, 29, 30)


class _Normalize(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        return (x - self.mean) / self.std


class VGG16Features(nn.Module):
    """VGG16 ``features`` with torchvision keys; returns [conv3_3, conv4_3, conv5_3, pool5]."""

    channels = (256, 512, 512, 512)

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = 3
        for v in _VGG16:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(cin, v, 3, padding=1), nn.ReLU(inplace=True)]
                cin = v
        self.norm = _Normalize()
        self.features = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> list[Tensor]:
        x = self.norm(x)
        taps = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in _VGG_TAPS:
                taps.append(x)
        return taps


def _dw_block(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False),
        nn.BatchNorm2d(cin),
        nn.ReLU6(inplace=True),
        nn.Conv2d(cin, cout, 1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU6(inplace=True),
    )


class MobileFeatures(nn.Module):
    """MobileNet-style stream (lite profile). Taps at strides 4, 8, 16, 32."""

    channels = (32, 48, 96, 128)

    def __init__(self) -> None:
        super().__init__()
        c = self.channels
        self.norm = _Normalize()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU6(True))
        self.s4 = nn.Sequential(_dw_block(16, 24, 2), _dw_block(24, c[0], 1))
        self.s8 = nn.Sequential(_dw_block(c[0], c[1], 2), _dw_block(c[1], c[1], 1))
        self.s16 = nn.Sequential(_dw_block(c[1], c[2], 2), _dw_block(c[2], c[2], 1), _dw_block(c[2], c[2], 1))
        self.s32 = nn.Sequential(_dw_block(c[2], c[3], 2), _dw_block(c[3], c[3], 1))

    def forward(self, x: Tensor) -> list[Tensor]:
        x = self.stem(self.norm(x))
        f4 = self.s4(x)
        f8 = self.s8(f4)
        f16 = self.s16(f8)
        return [f4, f8, f16, self.s32(f16)]


class TinyFeatures(nn.Module):
    """A handful of plain convs (tiny profile). Taps at strides 4, 8, 16, 32."""

    channels = (8, 16, 24, 32)

    def __init__(self) -> None:
        super().__init__()
        c = (8,) + self.channels
        self.norm = _Normalize()
        self.stages = nn.ModuleList(
            [nn.Sequential(nn.Conv2d(3, c[0], 3, 2, 1), nn.ReLU(True), nn.Conv2d(c[0], c[1], 3, 2, 1), nn.ReLU(True))]
            + [nn.Sequential(nn.Conv2d(c[i], c[i + 1], 3, 2, 1), nn.ReLU(True)) for i in range(1, 4)]
        )

    def forward(self, x: Tensor) -> list[Tensor]:
        x = self.norm(x)
        taps = []
        for stage in self.stages:
            x = stage(x)
            taps.append(x)
        return taps


def make_backbone(name: str) -> nn.Module:
    return {"vgg16": VGG16Features, "mobile": MobileFeatures, "tiny": TinyFeatures}[name]()


# ----------------------------------------------------------------------------- keypoints
class _Residual(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.BatchNorm2d(c), nn.ReLU(True), nn.Conv2d(c, c // 2, 1),
            nn.BatchNorm2d(c // 2), nn.ReLU(True), nn.Conv2d(c // 2, c // 2, 3, 1, 1),
            nn.BatchNorm2d(c // 2), nn.ReLU(True), nn.Conv2d(c // 2, c, 1),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class _HGModule(nn.Module):
    """One recursive hourglass of the given depth."""

    def __init__(self, c: int, depth: int) -> None:
        super().__init__()
        self.skip = _Residual(c)
        self.down = _Residual(c)
        self.inner = _HGModule(c, depth - 1) if depth > 1 else _Residual(c)
        self.up = _Residual(c)

    def forward(self, x: Tensor) -> Tensor:
        y = self.up(self.inner(self.down(F.max_pool2d(x, 2))))
        return self.skip(x) + F.interpolate(y, scale_factor=2, mode="nearest")


class Hourglass(nn.Module):
    """FAN-style stacked hourglass: image (B, 3, S, S) -> 68 heatmaps (B, 68, S/4, S/4).

    Used when face-alignment's pretrained FAN is unavailable (trained on studio data).
    """

    def __init__(self, stacks: int = 1, channels: int = 64, depth: int = 3, n_points: int = 68) -> None:
        super().__init__()
        c = channels
        self.stem = nn.Sequential(
            nn.Conv2d(3, c, 7, 2, 3), nn.BatchNorm2d(c), nn.ReLU(True), _Residual(c), nn.MaxPool2d(2), _Residual(c)
        )
        self.hgs = nn.ModuleList([nn.Sequential(_HGModule(c, depth), _Residual(c)) for _ in range(stacks)])
        self.heads = nn.ModuleList([nn.Conv2d(c, n_points, 1) for _ in range(stacks)])
        self.remaps = nn.ModuleList([nn.Conv2d(n_points, c, 1) for _ in range(stacks - 1)])

    def forward(self, x: Tensor) -> Tensor:
        x = self.stem(x)
        heat = x
        for i, (hg, head) in enumerate(zip(self.hgs, self.heads)):
            y = hg(x)
            heat = head(y)
            if i < len(self.remaps):
                x = x + y + self.remaps[i](heat)
        return heat


def keypoints_to_heatmaps(K: Tensor, size: int, stride: float, sigma: float) -> Tensor:
    """Gaussian heatmaps of 2D points (the ``"detector"`` keypoint source).

    ``K`` are crop pixels (pixel centre at integer coordinates); heatmap cell (r, c) has its
    centre at crop pixel ``(c + 0.5) * stride - 0.5``. Missing points (NaN) give zero maps.

    Shape:
        K: (B, P, 2) -> (B, P, size, size)
    """
    g = (torch.arange(size, device=K.device, dtype=K.dtype) + 0.5) * stride - 0.5  # (size,)
    valid = torch.isfinite(K).all(-1)  # (B, P)
    K = torch.nan_to_num(K, nan=-1e4)
    dx = (g[None, None, :] - K[..., 0:1]) / (sigma * stride)  # (B, P, size)
    dy = (g[None, None, :] - K[..., 1:2]) / (sigma * stride)
    hm = torch.exp(-0.5 * (dy[..., :, None] ** 2 + dx[..., None, :] ** 2))
    return hm * valid[..., None, None].to(hm.dtype)
