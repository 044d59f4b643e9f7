"""Keypoint-guided expression codes: the detector's blinks, brows and mouth steer z (beyond the paper).

The encoder E_I reads pose and mouth opening well on real faces but blinks and brows only weakly
(docs/crowd_encoder.md): it has seen a crowd of studio persons, not real ones. The detector's 68
points, read by the per-person running calibration of :mod:`models.landmark_expressions`, follow
a real blink much better. This module moves the code z along the avatar's own expression
directions so that the decoded face shows the detector's weights:

    d_b = z*(e_b) - z*(0)                       (Z,)  basis expression b's direction in the avatar's code space
    a   = argmin_a || (z - z*(0)) - D^T a ||^2  (B,)  what z already shows of every basis expression
    z'  = z + sum_{b guided} g (w_c(b) - a_b) d_b  (Z,)  the guided ones replaced by the detector's w_c

The basis is the studio's 16 expressions (both blinks as one), so a squint or a sneer the encoder
reads is not taken for a blink; a channel sets one or more of them (``smile`` both sides).
z*(e) is the avatar person's DAM code for expression e (E_X of its geometry and lab texture,
paper Eq. 2; :func:`studio.retarget.avatar_codes`), so D(z') stays on the avatar's expression
manifold: the decoder, the texture and the calibration are the paper's. The directions are
computed once per avatar (``python -m studio guide-codes --bundle B``) and stored in the bundle
manifest under ``guide_codes``; an enrolled avatar shares the default avatar's code space
(studio/enroll/lab.py) and so its directions. ``g`` in [0, 1] (``gain``): 0 leaves z unchanged.

A channel is symmetric (one weight for both sides): the default avatar's DAM decodes a one-eye
blink code as both eyes half closed (its lab capture has no winks), so the weights of the two eyes
are averaged into one blink; the two eyes' difference (a wink) goes to :mod:`models.expression_layer`.
"""

from __future__ import annotations

import numpy as np
import torch

# the basis of the avatar's expression codes: name -> the studio expressions set to 1 for z*(e_b).
# "blink" is both eyes (a one-eye code decodes as both half closed, see above); the others are the
# studio's own shapes, so that what the encoder reads as a squint or a sneer is not taken for a
# blink or a brow by the least squares below.
BASIS: dict[str, tuple[str, ...]] = {
    "blink": ("blink_L", "blink_R"), "brow_raise": ("brow_raise",), "brow_frown": ("brow_frown",),
    "jaw_open": ("jaw_open",), "smile_L": ("smile_L",), "smile_R": ("smile_R",), "pucker": ("pucker",),
    "funnel": ("funnel",), "cheek_puff": ("cheek_puff",), "sneer": ("sneer",), "lip_press": ("lip_press",),
    "frown": ("frown",), "squint_L": ("squint_L",), "squint_R": ("squint_R",), "mouth_left": ("mouth_left",),
    "mouth_right": ("mouth_right",),
}
# channel -> ((basis directions it sets, ...), the landmark-rule names averaged into its w_c)
CHANNELS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "blink": (("blink",), ("eyeBlinkLeft", "eyeBlinkRight")),
    "brow_up": (("brow_raise",), ("browInnerUp",)),
    "brow_down": (("brow_frown",), ("browDownLeft", "browDownRight")),
    "jaw_open": (("jaw_open",), ("jawOpen",)),
    "smile": (("smile_L", "smile_R"), ("mouthSmileLeft", "mouthSmileRight")),
    "pucker": (("pucker",), ("mouthPucker",)),
}
GROUPS = {"eyes": ("blink",), "brows": ("brow_up", "brow_down"), "mouth": ("jaw_open", "smile", "pucker")}
# the mouth's smile and pucker too (the encoder reads the jaw itself): on the real clips with the
# landmark corrective, mouth-width r 0.74 -> 0.92 for -0.02 on the eyes, docs/expression_guide.md
DEFAULT_GUIDE = ("eyes", "brows", "smile", "pucker")


def parse_guide(spec: str | tuple[str, ...] | None) -> tuple[str, ...]:
    """``"eyes,brows"`` / ``"none"`` / ``"all"`` / a tuple of groups or channels -> channel names."""
    if spec is None:
        return ()
    parts = [p.strip() for p in (spec.split(",") if isinstance(spec, str) else spec) if p.strip()]
    if parts in ([], ["none"]):
        return ()
    if parts == ["all"]:
        parts = list(GROUPS)
    out: list[str] = []
    for p in parts:
        names = GROUPS.get(p, (p,) if p in CHANNELS else None)
        if names is None:
            known = ", ".join([*GROUPS, *CHANNELS])
            raise ValueError(f"unknown guide {p!r}: use none, all, or a comma list of {known}")
        out += [n for n in names if n not in out]
    return tuple(out)


def basis_expressions(names: tuple[str, ...]) -> np.ndarray:
    """Studio weights per basis direction: (B + 1, E) with row 0 = neutral, in the order of BASIS."""
    idx = {n: i for i, n in enumerate(names)}
    e = np.zeros((len(BASIS) + 1, len(names)), np.float32)
    for b, studio in enumerate(BASIS.values()):
        for n in studio:
            e[b + 1, idx[n]] = 1.0
    return e


def codes_to_manifest(z: torch.Tensor | np.ndarray, source: str) -> dict:
    """(B + 1, Z) codes from :func:`basis_expressions`' rows -> the manifest's ``guide_codes``."""
    z = np.asarray(z, np.float64)
    return {"z0": [round(float(v), 6) for v in z[0]], "source": source,
            "directions": {b: [round(float(v), 6) for v in z[i + 1] - z[0]] for i, b in enumerate(BASIS)}}


class CodeGuide:
    """``guide(z (B, Z) tensor, weights (K,), names (K,)) -> z' (B, Z)`` (the module's equation).

    ``codes``: the manifest's ``guide_codes``; ``channels``: which to guide (see :func:`parse_guide`).
    """

    def __init__(self, codes: dict, channels: tuple[str, ...] = (), gain: float = 1.0) -> None:
        dirs = codes["directions"]
        self.all = tuple(dirs)  # the basis directions, in the manifest's order
        missing = [c for c in channels if not set(CHANNELS[c][0]) <= set(dirs)]
        if missing:
            raise ValueError(f"the bundle's guide codes have no direction for {missing}")
        self.channels = tuple(channels)
        self.gain = float(np.clip(gain, 0.0, 1.0))
        self.z0 = torch.tensor(codes["z0"], dtype=torch.float32)  # (Z,)
        self.D = torch.tensor([dirs[b] for b in self.all], dtype=torch.float32)  # (B, Z)
        # least squares a = (D D^T)^-1 D (z - z0): the pseudo-inverse once, (Z, B)
        self.P = torch.linalg.pinv(self.D)
        # each guided basis direction and the channel whose weight it takes
        pairs = [(self.all.index(b), k) for k, c in enumerate(self.channels) for b in CHANNELS[c][0]]
        self._sel = torch.tensor([p[0] for p in pairs], dtype=torch.long)  # (G,) basis index
        self._of = torch.tensor([p[1] for p in pairs], dtype=torch.long)  # (G,) channel index

    @property
    def active(self) -> bool:
        return bool(self.channels) and self.gain > 0

    def coefficients(self, z: torch.Tensor) -> torch.Tensor:
        """What z shows of each basis direction (a of the module's equation). (N, Z) -> (N, B), order ``all``."""
        return (z.float() - self.z0.to(z.device)) @ self.P.to(z.device)

    def targets(self, weights: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
        """The guided channels' w_c from named weights (mean of each channel's rule names). -> (C,)"""
        at = {n: float(w) for n, w in zip(names, np.asarray(weights, np.float64))}
        return np.array([np.mean([at.get(n, 0.0) for n in CHANNELS[c][1]]) for c in self.channels], np.float32)

    def __call__(self, z: torch.Tensor, weights: np.ndarray, names: tuple[str, ...]) -> torch.Tensor:
        if not self.active:
            return z
        w = torch.from_numpy(self.targets(weights, names)).to(z.device)[self._of]  # (G,)
        a = self.coefficients(z)[:, self._sel]  # (N, G)
        D = self.D.to(z.device)[self._sel]  # (G, Z)
        return (z.float() + self.gain * (w[None] - a) @ D).to(z.dtype)
