"""Which avatar bundle and device the app runs, with every fallback said out loud.

* ``--bundle PATH`` missing or corrupt -> a warning, then the default avatar;
* the default avatar (``models/assets/default_avatar``) missing -> a LOUD warning with the
  command that builds it, then an untrained avatar of ``fallback_profile`` (tiny by default)
  so the window still opens (it tracks the box but the avatar means nothing);
* ``--device cuda`` without CUDA -> CPU with a notice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import torch

from models import bundle as B
from models.config import profile

log = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parents[1]
DEFAULT_BUNDLE = getattr(B, "DEFAULT_BUNDLE", REPO / "models" / "assets" / "default_avatar")
BUILD_HINT = "python -m bench.build_default_avatar --out models/assets/default_avatar"


@dataclass(frozen=True)
class BundleChoice:
    """A loaded (or built) bundle, what it is, and warnings to show (status bar + log)."""

    bundle: B.AvatarBundle
    path: str | None  # None: built in memory (untrained)
    description: str
    warnings: tuple[str, ...] = field(default_factory=tuple)
    untrained: bool = False


def _describe(bundle: B.AvatarBundle, path: Path) -> str:
    return f"{path.name} ({bundle.cfg.name} profile)"


def choose_bundle(path: str | Path | None = None, fallback_profile: str = "tiny",
                  default: Path | None = None) -> BundleChoice:
    """Load ``path`` (or the default avatar); fall back as described in the module docstring."""
    default = Path(default if default is not None else DEFAULT_BUNDLE)
    warnings: list[str] = []
    if path is not None:
        try:
            b = B.load(path)
            return BundleChoice(b, str(path), _describe(b, Path(path)))
        except B.BundleError as e:
            warnings.append(f"could not load the avatar bundle {path}: {e}. Falling back to the default avatar.")
    try:
        b = B.load(default)
        return BundleChoice(b, str(default), _describe(b, default), tuple(warnings))
    except B.BundleError as e:
        missing = not Path(default).exists()
        what = "is missing" if missing else f"cannot be loaded ({e})"
        warnings.append(f"DEFAULT AVATAR {what.upper() if missing else what}: build it with `{BUILD_HINT}`. "
                        f"Running an UNTRAINED '{fallback_profile}' avatar meanwhile - the avatar and its "
                        "numbers mean nothing until a trained bundle is loaded.")
    for w in warnings:
        log.warning(w)
    with torch.random.fork_rng():
        torch.manual_seed(0)  # the same untrained avatar every run, so its room profiles reload
        b = B.build(profile(fallback_profile), load_pretrained=False)
    return BundleChoice(b, None, f"untrained {fallback_profile} avatar", tuple(warnings), untrained=True)


def choose_device(name: str) -> tuple[torch.device, str]:
    """``auto`` | ``cuda`` | ``cpu`` -> (device, notice). ``cuda`` without CUDA falls back to CPU."""
    if name == "cuda" and not torch.cuda.is_available():
        msg = "CUDA was asked for but is not available (no GPU or a CPU-only torch): tracking on the CPU"
        log.warning(msg)
        return torch.device("cpu"), msg
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu"), ""
    return torch.device(name), ""


def bundle_fingerprint(bundle: B.AvatarBundle) -> str:
    """Identity of the avatar a room profile belongs to: config + topology + DAM decoder weights."""
    import hashlib

    h = hashlib.sha256(bundle.cfg.to_json().encode())
    h.update(bundle.topology.digest().encode())
    for k, v in sorted(bundle.dam.state_dict().items()):
        if not k.startswith("encoder."):
            h.update(k.encode())
            h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]
