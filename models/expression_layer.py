"""Expression layer: winks and wide eyes the avatar's DAM cannot decode, added to its decoded geometry G.

The default avatar's DAM was trained on the studio's 17 lab expressions (``studio.expressions``):
it decodes a one-eye blink code as both eyes half closed and has no code for wide eyes. The
template head carries 34 ARKit-named displacement fields (``studio.arkit_basis``, stored in
``models/assets/head_v1.npz``); this layer adds the part of the detector's named weights w
(``models.landmark_expressions``) that the code z cannot show:

    G' = G + g * sum_n r_n B_n                                     G, G' (V, 3); B_n (V, 3)
    r_eyeBlinkLeft  = (w_eyeBlinkLeft - w_eyeBlinkRight) / 2        a wink: the z guide sets the mean
                                                                     (0 when the guide has no blink)
    r_eyeBlinkRight = -r_eyeBlinkLeft
    r_eyeWide*      = w_eyeWide*                                     not in the lab basis at all

One-sided brows (browOuterUp* beyond the other side) were tried and left out: on held-out studio
persons, whose performances raise both brows, the per-side brow signals' noise added brow motion
the ground truth does not have (brow vertex error 0.0096 -> 0.0109 on p12) for +0.006 of brow r on
the real clips (docs/expression_layer.md). The rule still reports browOuterUp* to the outputs.

r is smoothed with the tracker's output filter settings (a 1-euro filter, as z: the guided z is
filtered, so r must be too, or the detector's frame-to-frame jitter reaches the eyes unfiltered).
Only the geometry changes (the texture T, the DAM and the room calibration stay the paper's);
the texture follows the moved vertices through the UV atlas, so a closing lid carries its skin
over the eye. The avatar's own landmarks are projected from G', so what the benchmarks score is
what the user sees. Cost: one (V, 3) multiply-add per shape in use, 0.2 ms with all four (2-core VM).
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from .filters import OneEuro, OneEuroConfig
from .topology import Topology, arkit_asset

LAYER_NAMES = ("eyeBlinkLeft", "eyeBlinkRight", "eyeWideLeft", "eyeWideRight")


def residual_weights(weights: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """The module's r for :data:`LAYER_NAMES` from named weights (missing names read 0). -> (4,) float32"""
    at = {n: float(w) for n, w in zip(names, np.asarray(weights, np.float64))}
    w = lambda n: at.get(n, 0.0)  # noqa: E731
    wink = 0.5 * (w("eyeBlinkLeft") - w("eyeBlinkRight"))
    return np.array([wink, -wink, w("eyeWideLeft"), w("eyeWideRight")], np.float32)


@functools.lru_cache(maxsize=4)
def _template_fields(name: str, digest: str) -> np.ndarray | None:
    """The :data:`LAYER_NAMES` fields (4, V, 3) of the template asset ``name`` when its digest is
    ``digest`` and it has ARKit fields, else None (read once per process: toggling the layer is free)."""
    asset = arkit_asset(name, digest)
    if asset is None:
        return None
    ex = asset.extras
    names = [str(n) for n in ex["arkit_names"]]
    if not set(LAYER_NAMES) <= set(names):
        return None
    out = np.stack([ex["arkit_blendshapes"][names.index(n)] for n in LAYER_NAMES]).astype(np.float32)
    out.setflags(write=False)
    return out


class ExpressionLayer:
    """``layer(G (B, V, 3) tensor, weights (K,), names (K,)) -> G'`` (the module's equation).

    ``fields``: (4, V, 3) in the order of :data:`LAYER_NAMES`; ``gain`` g in [0, 1]; ``smoothing``:
    the 1-euro filter of r (None: unfiltered), restarted by :meth:`reset` and by a gap of ``max_gap`` s.
    """

    def __init__(self, fields: np.ndarray, gain: float = 1.0, smoothing: OneEuroConfig | None = None,
                 max_gap: float = 0.5) -> None:
        fields = np.asarray(fields, np.float32)
        if fields.ndim != 3 or fields.shape[0] != len(LAYER_NAMES) or fields.shape[2] != 3:
            raise ValueError(f"expression layer fields must be ({len(LAYER_NAMES)}, V, 3), got {fields.shape}")
        self.B = torch.from_numpy(np.array(fields))  # (4, V, 3), a copy: the cached fields stay read-only
        self._B_on = self.B  # B on the device (and dtype) of the last G
        self.gain = float(np.clip(gain, 0.0, 1.0))
        self.last = np.zeros(len(LAYER_NAMES), np.float32)  # the r of the last call
        self.max_gap = float(max_gap)
        self.set_smoothing(smoothing)

    def set_smoothing(self, cfg: OneEuroConfig | None) -> None:
        """The filter of r (None: off); it restarts."""
        self.filter = OneEuro(cfg) if cfg is not None else None

    def reset(self) -> None:
        """Forget the filter's history (the face was lost)."""
        if self.filter is not None:
            self.filter.reset()

    @classmethod
    def for_topology(cls, topology: Topology, gain: float = 1.0, smoothing: OneEuroConfig | None = None,
                     max_gap: float = 0.5) -> ExpressionLayer | None:
        """The layer of the template head the bundle was built on, or None when that template's asset
        has no ARKit fields (a test mesh, an older asset, another topology)."""
        fields = _template_fields(topology.name, topology.digest())
        return None if fields is None else cls(fields, gain, smoothing, max_gap)

    def __call__(self, G: torch.Tensor, weights: np.ndarray | None, names: tuple[str, ...],
                 t: float | None = None, wink: bool = True) -> torch.Tensor:
        """``t``: the frame's time stamp in seconds (for the filter; None: unfiltered). ``wink``: add the
        two eyes' difference; only when the z guide sets their mean (its ``blink`` channel), else the
        open eye would be lifted by half the other's blink."""
        if weights is None or self.gain <= 0:
            self.last = np.zeros(len(LAYER_NAMES), np.float32)
            return G
        r = residual_weights(weights, names) * self.gain
        if not wink:
            r[:2] = 0.0
        f = self.filter
        if f is not None and t is not None:
            if f.t is not None and not 0 <= t - f.t <= self.max_gap:  # a gap, or a looped video
                f.reset()
            r = f(r, t).astype(np.float32)
        self.last = r
        use = np.flatnonzero(np.abs(r) > 1e-4)
        if len(use) == 0:
            return G
        if self._B_on.device != G.device or self._B_on.dtype != G.dtype:  # once per device, not per frame
            self._B_on = self.B.to(G.device, G.dtype)
        B = self._B_on[torch.from_numpy(use).to(G.device)]  # (U, V, 3)
        delta = torch.tensordot(torch.from_numpy(r[use]).to(G.device, G.dtype), B, 1)  # (V, 3)
        return G + delta[None]
