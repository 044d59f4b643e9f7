"""I2ZNet E_I: image -> (z, H) (paper sec. 3.1, supp. A).

Two streams -- a perceptual backbone (VGG16 in the paper) and a keypoint stream (FAN
heatmaps, or Gaussian heatmaps of a landmark detector's points) -- are combined into
multi-level unified features ``u_l`` (backbone taps concatenated with the 68 heatmaps
max-pooled to each tap's size, each stream normalised first; paper channels
324/580/580/580). Each level is compressed by two convs to 1/16 of its channels, an FC
per level gives ``p_l^z`` and ``p_l^h`` (paper: R^512), and the concatenations are
regressed by FCs to ``z`` and ``H = (f, rx, ry, rz, tx, ty)``.
"""

from __future__ import annotations

import logging

import torch
import torch.nn.functional as F
from torch import nn

from . import pretrained
from .backbones import Hourglass, VGG16Features, keypoints_to_heatmaps, make_backbone
from .config import ModelConfig

log = logging.getLogger(__name__)
Tensor = torch.Tensor
N_KEYPOINTS = 68


def default_pose(crop_size: int) -> tuple[list[float], list[float]]:
    """Mean and scale of H's output parameterisation for a crop of the given size."""
    S = float(crop_size)
    return [0.35 * S, 0.0, 0.0, 0.0, 0.5 * S, 0.5 * S], [0.1 * S, 0.5, 0.5, 0.5, 0.15 * S, 0.15 * S]


class _Level(nn.Module):
    """Normalise streams, compress to 1/ratio channels (two convs), FC to p^z and p^h."""

    def __init__(self, c_feat: int, c_key: int, size: int, cfg: ModelConfig) -> None:
        super().__init__()
        c_in = c_feat + c_key
        c_mid = max(c_in // 4, 4)
        c_out = max(c_in // cfg.compress_ratio, 2)
        self.norm_feat = nn.GroupNorm(1, c_feat)
        self.norm_key = nn.GroupNorm(1, c_key) if c_key else None
        self.compress = nn.Sequential(
            nn.Conv2d(c_in, c_mid, 3, 1, 1), nn.LeakyReLU(0.2, True),
            nn.Conv2d(c_mid, c_out, 3, cfg.compress_stride, 1), nn.LeakyReLU(0.2, True),
        )
        s = -(-size // cfg.compress_stride)
        self.fc_z = nn.Linear(c_out * s * s, cfg.p_dim)
        self.fc_h = nn.Linear(c_out * s * s, cfg.p_dim)

    def forward(self, feat: Tensor, heat: Tensor | None) -> tuple[Tensor, Tensor]:
        u = self.norm_feat(feat)
        if self.norm_key is not None:
            u = torch.cat([u, self.norm_key(heat)], 1)  # u_l: (B, c_feat + 68, s, s)
        c = self.compress(u).flatten(1)
        return F.leaky_relu(self.fc_z(c), 0.2), F.leaky_relu(self.fc_h(c), 0.2)  # (B, p), (B, p)


class I2ZNet(nn.Module):
    """E_I(I) = (z, H).

    Shape:
        image: (B, 3, S, S) in [0, 1]; keypoints (B, 68, 2) crop pixels (detector source only)
        -> z (B, z_dim), H (B, 6)
    """

    def __init__(self, cfg: ModelConfig, load_pretrained: bool | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        S = cfg.crop_size
        self.backbone = make_backbone(cfg.backbone)
        self.status: list[pretrained.PretrainedStatus] = []
        self.hourglass: nn.Module | None = None
        self.fan_is_external = False
        load = cfg.pretrained if load_pretrained is None else load_pretrained
        if cfg.keypoint_source == "hourglass":
            fan = pretrained.make_fan(cfg.hg_stacks) if cfg.pretrained else None  # FAN keys match its cache
            self.fan_is_external = fan is not None
            self.hourglass = fan if fan is not None else Hourglass(cfg.hg_stacks, cfg.hg_channels)
        if load:
            self._load_pretrained()
        c_key = N_KEYPOINTS if cfg.keypoint_source != "none" else 0
        sizes = [S // 4, S // 8, S // 16, S // 32]
        levels = range(4) if cfg.use_skip else [3]
        self.levels = list(levels)
        self.level_nets = nn.ModuleList(
            [_Level(self.backbone.channels[i], c_key, sizes[i], cfg) for i in self.levels]
        )
        n = len(self.levels) * cfg.p_dim
        self.head_z = nn.Sequential(nn.Linear(n, cfg.head_hidden), nn.LeakyReLU(0.2, True),
                                    nn.Linear(cfg.head_hidden, cfg.z_dim))
        self.head_h = nn.Sequential(nn.Linear(n, cfg.head_hidden), nn.LeakyReLU(0.2, True),
                                    nn.Linear(cfg.head_hidden, 6))
        nn.init.zeros_(self.head_h[-1].weight)
        nn.init.zeros_(self.head_h[-1].bias)
        # named expression weights e (crowd-trained, studio ground truth); reads the z features
        self.head_e: nn.Module | None = None
        if cfg.expr_dim > 0:
            self.head_e = nn.Sequential(nn.Linear(n, cfg.head_hidden), nn.LeakyReLU(0.2, True),
                                        nn.Linear(cfg.head_hidden, cfg.expr_dim))
        mean, scale = default_pose(S)
        self.register_buffer("H_mean", torch.tensor(mean))
        self.register_buffer("H_scale", torch.tensor(scale))

    # ------------------------------------------------------------------ pretrained
    def _load_pretrained(self) -> None:
        cfg = self.cfg
        if isinstance(self.backbone, VGG16Features):
            st = pretrained.load_state(self.backbone, "VGG16 (ImageNet)", pretrained.VGG16_FILE,
                                       pretrained.VGG16_URL, prefix="features.")
            self.status.append(st)
            if st.loaded and cfg.freeze_backbone:
                self.backbone.requires_grad_(False)
        if self.hourglass is not None and self.fan_is_external:
            st = pretrained.load_state(self.hourglass, "FAN (face-alignment)", pretrained.FAN_FILE,
                                       pretrained.FAN_URL)
            self.status.append(st)
            if st.loaded and cfg.freeze_backbone:
                self.hourglass.requires_grad_(False)

    def frozen_modules(self) -> list[nn.Module]:
        """Streams whose weights are frozen (kept in eval mode during training)."""
        return [m for m in (self.backbone, self.hourglass)
                if m is not None and not any(p.requires_grad for p in m.parameters())]

    def train(self, mode: bool = True) -> I2ZNet:
        super().train(mode)
        for m in self.frozen_modules():
            m.eval()  # frozen pretrained streams keep their BatchNorm statistics
        return self

    # ------------------------------------------------------------------ forward
    @property
    def reads_keypoints(self) -> bool:
        """True when the keypoint stream is built from input points (a landmark detector's)."""
        return self.cfg.keypoint_source == "detector"

    def heatmaps(self, image: Tensor, keypoints: Tensor | None) -> Tensor | None:
        """68 keypoint heatmaps at stride 4. (B, 3, S, S) -> (B, 68, S/4, S/4)."""
        cfg = self.cfg
        if cfg.keypoint_source == "none":
            return None
        if self.reads_keypoints:
            if keypoints is None:
                raise ValueError("this I2ZNet uses detector keypoints: pass keypoints (B, 68, 2) in crop pixels")
            return keypoints_to_heatmaps(keypoints.to(image.dtype), cfg.crop_size // 4, 4.0, cfg.heatmap_sigma)
        out = self.hourglass(image)
        heat = out[-1] if isinstance(out, (list, tuple)) else out
        if heat.shape[-1] != cfg.crop_size // 4:
            heat = F.interpolate(heat, size=cfg.crop_size // 4, mode="bilinear", align_corners=False)
        return heat

    @staticmethod
    def _frozen(m: nn.Module | None) -> bool:
        p = next(m.parameters(), None) if m is not None else None
        return p is not None and not p.requires_grad

    def forward(self, image: Tensor, keypoints: Tensor | None = None, return_heatmaps: bool = False,
                keypoints_z: Tensor | None = None, return_expr: bool = False):
        """(B, 3, S, S) in [0, 1], keypoints (B, 68, 2) crop px (detector source) -> z (B, z_dim),
        H (B, 6) [, heatmaps (B, 68, S/4, S/4) when ``return_heatmaps``: the keypoint stream's
        output, supervised during training when the hourglass is learned from studio data].
        ``keypoints_z`` (B, 68, 2), detector source only: z is computed from these points' heatmaps
        and H from ``keypoints``' (the adaptation's jitter augmentation, :mod:`models.adapt`).
        ``return_expr``: also the named expression weights e (B, expr_dim) in [0, 1] (None without
        an expression head), appended after H (before the heatmaps)."""
        # numpy HWC -> permute gives channels-last strides; oneDNN's channels-last conv backward
        # crashes (segfault) for some small shapes in this torch build, so normalise the layout
        image = image.contiguous()
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self._frozen(self.backbone)):
            taps = self.backbone(image)  # frozen streams run without building a graph
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self._frozen(self.hourglass)):
            heat = self.heatmaps(image, keypoints)
        heat_z = heat
        if keypoints_z is not None and self.reads_keypoints:
            heat_z = self.heatmaps(image, keypoints_z)  # (B, 68, S/4, S/4)
        pz, ph = [], []
        for i, net in zip(self.levels, self.level_nets):
            feat = taps[i]
            size = (int(feat.shape[-2]), int(feat.shape[-1]))  # plain ints: an ONNX export keeps the pool static
            h = F.adaptive_max_pool2d(heat, size) if heat is not None else None
            a, b = net(feat, h)
            if heat_z is not heat:  # z from keypoints_z, H from keypoints
                a, _ = net(feat, F.adaptive_max_pool2d(heat_z, size))
            pz.append(a)
            ph.append(b)
        fz = torch.cat(pz, 1)  # (B, levels * p_dim)
        z = self.head_z(fz)  # (B, z_dim)
        H = self.H_mean + self.H_scale * self.head_h(torch.cat(ph, 1))  # (B, 6)
        out: tuple = (z, H)
        if return_expr:
            out += (torch.sigmoid(self.head_e(fz)) if self.head_e is not None else None,)  # (B, expr_dim)
        return out + (heat,) if return_heatmaps else out
