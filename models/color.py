"""Colour correction C (paper sec. 3.2.2): one learned 1x1 convolution.

``C(T) = M T + b`` per texel, i.e. a 3x3 colour (white-balance) matrix plus a bias,
identity at initialisation. Used by MOTC (Eq. 8) and at test time (Fig. 5).
"""

from __future__ import annotations

import torch
from torch import nn


class ColorCorrection(nn.Module):
    """Shape: T (B, 3, H, W) -> (B, 3, H, W)."""

    def __init__(self, bias: bool = True) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, kernel_size=1, bias=bias)
        self.reset()

    def reset(self) -> None:
        with torch.no_grad():
            self.conv.weight.copy_(torch.eye(3).reshape(3, 3, 1, 1))
            if self.conv.bias is not None:
                self.conv.bias.zero_()

    @property
    def matrix(self) -> torch.Tensor:
        """The 3x3 colour matrix M. Shape: (3, 3)."""
        return self.conv.weight[:, :, 0, 0]

    def forward(self, T: torch.Tensor) -> torch.Tensor:
        return self.conv(T)
