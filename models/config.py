"""Frozen model configurations, one per profile (nanoGPT style).

A model is fully described by its :class:`ModelConfig`; bundles carry the config
as JSON so that a model can be rebuilt from its bundle alone.

Profiles (DESIGN.md section 4):

========  ====  ===============================  ===  =======  ========
profile   crop  backbones                        z    texture  vertices
========  ====  ===============================  ===  =======  ========
tiny      64    small convs                      16   32       test mesh / decimated
lite      128   small fast CNN + keypoint stream 128  256      template head (5-8k)
paper     256   VGG16 + FAN (4 stacks), frozen   128  1024     template head (~7k)
========  ====  ===============================  ===  =======  ========
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

BACKBONES = ("tiny", "mobile", "vgg16")
KEYPOINT_SOURCES = ("none", "hourglass", "detector")


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to build the DAM, I2ZNet and colour correction."""

    name: str = "tiny"
    # --- input / latent -------------------------------------------------
    crop_size: int = 64  # S: I2ZNet input is (B, 3, S, S) in [0, 1]
    z_dim: int = 16  # latent code z
    tex_size: int = 32  # T: texture is (B, 3, T, T)
    topology: str = "test"  # "test" (generated mesh) or an asset name in models/assets
    # --- deep appearance model (DAM) -----------------------------------
    dam_hidden: int = 128  # width of the geometry MLP
    view_dim: int = 8  # size of the view-direction embedding fed to the texture branch
    tex_base: int = 4  # spatial size of the first texture feature map
    tex_channels: tuple[int, ...] = (64, 32, 16)  # channels per upsampling stage (len = log2(T/base))
    enc_channels: tuple[int, ...] = (16, 32, 64)  # texture-encoder channels (stride-2 convs)
    enc_tex_size: int = 32  # E_X sees the texture average-pooled to this size (cost; z is low-dimensional)
    # --- I2ZNet -----------------------------------------------------------
    backbone: str = "tiny"  # one of BACKBONES
    pretrained: bool = False  # load ImageNet (VGG16) / FAN weights from the cache when present
    freeze_backbone: bool = False  # paper: frozen when pretrained
    use_skip: bool = True  # multi-level unified features (4 levels) vs deepest level only
    keypoint_source: str = "detector"  # one of KEYPOINT_SOURCES
    hg_stacks: int = 1  # hourglass stacks (paper: FAN 4 stacks)
    hg_channels: int = 64  # hourglass width (FAN: 256)
    heatmap_sigma: float = 1.5  # Gaussian sigma (in feature-map pixels) for detector heatmaps
    compress_ratio: int = 16  # compressor reduces channels to 1/16 (supp. A.3)
    compress_stride: int = 1  # stride of the compressor's second conv (paper profile: 2, memory)
    p_dim: int = 64  # per-level feature vector p_l (paper: 512)
    head_hidden: int = 128  # hidden width of the final FCs
    expr_dim: int = 0  # named expression weights e (K,) in [0, 1] from their own head; 0 = no head
    # --- colour correction --------------------------------------------
    color_bias: bool = True
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.backbone not in BACKBONES:
            raise ValueError(f"backbone must be one of {BACKBONES}, got {self.backbone!r}")
        if self.keypoint_source not in KEYPOINT_SOURCES:
            raise ValueError(f"keypoint_source must be one of {KEYPOINT_SOURCES}, got {self.keypoint_source!r}")
        n_up = (self.tex_size // self.tex_base).bit_length() - 1
        if self.tex_base * 2**n_up != self.tex_size:
            raise ValueError(f"tex_size {self.tex_size} must be tex_base {self.tex_base} times a power of 2")
        if len(self.tex_channels) != n_up:
            raise ValueError(f"tex_channels needs {n_up} entries for {self.tex_base}->{self.tex_size}")

    # --- (de)serialisation ---------------------------------------------
    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["tex_channels"] = list(self.tex_channels)
        d["enc_channels"] = list(self.enc_channels)
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown ModelConfig fields: {sorted(unknown)}")
        d = dict(d)
        for key in ("tex_channels", "enc_channels"):
            if key in d:
                d[key] = tuple(d[key])
        return cls(**d)

    def replace(self, **changes) -> ModelConfig:
        return dataclasses.replace(self, **changes)


_PROFILES: dict[str, ModelConfig] = {
    "tiny": ModelConfig(),
    "lite": ModelConfig(
        name="lite",
        crop_size=128,
        z_dim=128,
        tex_size=256,
        topology="head_v1",
        dam_hidden=256,
        view_dim=16,
        tex_base=8,
        tex_channels=(128, 64, 32, 16, 8),
        enc_channels=(32, 64, 96, 128),
        enc_tex_size=64,
        backbone="mobile",
        keypoint_source="detector",
        hg_stacks=1,
        hg_channels=64,
        heatmap_sigma=1.0,
        p_dim=128,
        head_hidden=256,
    ),
    "paper": ModelConfig(
        name="paper",
        crop_size=256,
        z_dim=128,
        tex_size=1024,
        topology="head_v1",
        dam_hidden=1024,
        view_dim=16,
        tex_base=8,
        tex_channels=(256, 128, 128, 64, 64, 32, 16),
        enc_channels=(32, 64, 128, 128, 256),
        enc_tex_size=128,
        backbone="vgg16",
        pretrained=True,
        freeze_backbone=True,
        keypoint_source="hourglass",
        hg_stacks=4,
        hg_channels=256,
        compress_stride=2,
        p_dim=512,
        head_hidden=512,
    ),
}

PROFILES = tuple(_PROFILES)


def profile(name: str) -> ModelConfig:
    """Return the frozen config of a named profile (``tiny``, ``lite`` or ``paper``)."""
    try:
        return _PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}; choose one of {PROFILES}") from None
