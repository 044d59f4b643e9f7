"""Pretrained weights for I2ZNet's streams, loaded from the torch hub cache only.

Nothing here downloads: with no network (or simply no cached file) the caller gets a
status line saying which stream stays untrained and how to get the weights, and the
stream is trained from scratch (the paper's "VGG Scratch" row, Table 2).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

log = logging.getLogger(__name__)

VGG16_FILE = "vgg16-397923af.pth"
VGG16_URL = "https://download.pytorch.org/models/" + VGG16_FILE
FAN_FILE = "2DFAN4-11f355bf06.pth.tar"
FAN_URL = "https://www.adrianbulat.com/downloads/python-fan/" + FAN_FILE


@dataclass(frozen=True)
class PretrainedStatus:
    stream: str  # "vgg16" / "fan"
    loaded: bool
    path: str
    message: str


def hub_checkpoint(filename: str) -> Path:
    """Where torch hub (and face-alignment) cache a downloaded checkpoint."""
    return Path(torch.hub.get_dir()) / "checkpoints" / filename


def _missing(stream: str, path: Path, url: str, why: str) -> PretrainedStatus:
    msg = (
        f"{stream} pretrained weights {why} at {path}: the {stream} stream is trained from scratch "
        f"(paper's 'Scratch' setting). To use them, download {url} once (online) into {path.parent}."
    )
    log.warning(msg)
    return PretrainedStatus(stream, False, str(path), msg)


def load_state(module: nn.Module, stream: str, filename: str, url: str, prefix: str = "") -> PretrainedStatus:
    """Load ``module``'s weights from the hub cache file (``weights_only=True``, no pickled code).

    ``prefix`` keeps only keys starting with it (e.g. ``"features."`` of a torchvision VGG16).
    """
    path = hub_checkpoint(filename)
    if not path.exists():
        return _missing(stream, path, url, "not found")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        if prefix:
            state = {k: v for k, v in state.items() if k.startswith(prefix)}
        own = {k for k in module.state_dict() if not k.startswith("norm.")}
        if prefix:
            own = {k for k in own if k.startswith(prefix)}
        missing = own - set(state)
        if missing:
            raise KeyError(f"{len(missing)} keys missing, e.g. {sorted(missing)[:3]}")
        module.load_state_dict(state, strict=False)
    except Exception as e:  # truncated download, wrong file, ...
        return _missing(stream, path, url, f"could not be read ({type(e).__name__}: {e})")
    msg = f"{stream} pretrained weights loaded from {path}"
    log.info(msg)
    return PretrainedStatus(stream, True, str(path), msg)


def make_fan(stacks: int) -> nn.Module | None:
    """face-alignment's FAN architecture (its keys match the cached weights), or None when
    face-alignment cannot be imported."""
    try:
        from face_alignment.models import FAN
    except Exception as e:  # not installed, or its own deps missing
        log.warning("face-alignment not importable (%s); using the project's own hourglass", e)
        return None
    return FAN(stacks)
