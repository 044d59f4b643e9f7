"""Expression layer: winks, wide eyes and the user's exact lid and lip openings, added to the decoded G.

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

**Matching** (on by default in the tracker): with the avatar's neutral geometry the layer measures
the decoded lids and inner lips and solves the eyeBlink / eyeWide weights per eye
(:mod:`models.eye_match`) and the jawOpen weight (:mod:`models.mouth_match`) that bring them to the
user's openings; those replace the wink and wide-eye residuals above. Real clips, 7 x 200 frames vs
per-frame dlib: eye r 0.78 -> 0.82, mouth-open r 0.90 -> 0.96, blink F1 0.575 -> 0.62
(docs/expression_layer.md).

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

from .eye_match import EyeMatch
from .filters import OneEuroConfig, Smoothed
from .mouth_match import MouthMatch
from .topology import Topology, arkit_asset

LAYER_NAMES = ("eyeBlinkLeft", "eyeBlinkRight", "eyeWideLeft", "eyeWideRight", "jawOpen")


def residual_weights(weights: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """The module's r for :data:`LAYER_NAMES` from named weights (missing names read 0; jawOpen is the
    encoder's, or mouth matching's). -> (5,) float32"""
    at = {n: float(w) for n, w in zip(names, np.asarray(weights, np.float64))}
    w = lambda n: at.get(n, 0.0)  # noqa: E731
    wink = 0.5 * (w("eyeBlinkLeft") - w("eyeBlinkRight"))
    return np.array([wink, -wink, w("eyeWideLeft"), w("eyeWideRight"), 0.0], np.float32)


@functools.lru_cache(maxsize=4)
def _template_fields(name: str, digest: str) -> np.ndarray | None:
    """The :data:`LAYER_NAMES` fields (5, V, 3) of the template asset ``name`` when its digest is
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


@torch.no_grad()
def avatar_neutral(bundle) -> np.ndarray:
    """The avatar's neutral geometry D(z*(0)) (V, 3) float64: the code of its neutral from the manifest's
    guide codes (:mod:`models.code_guide`), or the code mean z = 0 for a bundle without them."""
    z0 = bundle.manifest.get("guide_codes", {}).get("z0")
    z = torch.tensor(z0, dtype=torch.float32) if z0 else torch.zeros(bundle.cfg.z_dim)
    dev = next(bundle.dam.parameters()).device
    return bundle.dam.decode_geometry(z[None].to(dev))[0].double().cpu().numpy()


class ExpressionLayer(Smoothed):
    """``layer(G (B, V, 3) tensor, weights (K,), names (K,)) -> G'`` (the module's equation).

    ``fields``: (5, V, 3) in the order of :data:`LAYER_NAMES`; ``gain`` g in [0, 1]; ``smoothing``:
    the 1-euro filter of r (None: unfiltered), restarted by :meth:`reset` and by a gap of ``max_gap`` s.
    """

    def __init__(self, fields: np.ndarray, gain: float = 1.0, smoothing: OneEuroConfig | None = None,
                 max_gap: float = 0.5, landmark_ids: np.ndarray | None = None) -> None:
        fields = np.asarray(fields, np.float32)
        if fields.ndim != 3 or fields.shape[0] != len(LAYER_NAMES) or fields.shape[2] != 3:
            raise ValueError(f"expression layer fields must be ({len(LAYER_NAMES)}, V, 3), got {fields.shape}")
        self.B = torch.from_numpy(np.array(fields))  # (5, V, 3), a copy: the cached fields stay read-only
        self._B_on = self.B  # B on the device (and dtype) of the last G
        self.gain = float(np.clip(gain, 0.0, 1.0))
        self.last = np.zeros(len(LAYER_NAMES), np.float32)  # the r of the last call
        self.max_gap = float(max_gap)
        self.landmark_ids = None if landmark_ids is None else np.asarray(landmark_ids, np.int64)  # (68,)
        self.eyes: EyeMatch | None = None  # per-eye lid matching (:meth:`match_eyes`)
        self.mouth: MouthMatch | None = None  # inner-lip matching (:meth:`match_mouth`)
        self.set_smoothing(smoothing)

    def match_eyes(self, neutral: np.ndarray | None) -> None:
        """Turn per-eye lid matching (:mod:`models.eye_match`) on with the avatar's neutral geometry
        (V, 3) (its D(z*(0))), or off with None. Needs the landmark ids (:meth:`for_topology`)."""
        if neutral is None:
            self.eyes = None
            return
        if self.landmark_ids is None:
            raise ValueError("eye matching needs the topology's landmark ids")
        ids, B = self.landmark_ids, self.B.numpy()
        self.eyes = EyeMatch(B[:2, ids], B[2:4, ids], np.asarray(neutral)[ids], self._cfg, self.max_gap)

    def match_mouth(self, neutral: np.ndarray | None) -> None:
        """Turn inner-lip matching (:mod:`models.mouth_match`) on with the avatar's neutral geometry
        (V, 3), or off with None. Needs the landmark ids (:meth:`for_topology`)."""
        if neutral is None:
            self.mouth = None
            return
        if self.landmark_ids is None:
            raise ValueError("mouth matching needs the topology's landmark ids")
        ids = self.landmark_ids
        self.mouth = MouthMatch(self.B.numpy()[4, ids], np.asarray(neutral)[ids], self._cfg, self.max_gap)

    def set_smoothing(self, cfg: OneEuroConfig | None) -> None:
        """The filter of r and the matchers' filters (None: off); they restart."""
        self._cfg = cfg
        super().set_smoothing(cfg)
        for m in (self.eyes, self.mouth):
            if m is not None:
                m.set_smoothing(cfg)

    def reset(self) -> None:
        """Forget the filters' history (the face was lost)."""
        super().reset()
        for m in (self.eyes, self.mouth):
            if m is not None:
                m.reset()

    @classmethod
    def for_topology(cls, topology: Topology, gain: float = 1.0, smoothing: OneEuroConfig | None = None,
                     max_gap: float = 0.5) -> ExpressionLayer | None:
        """The layer of the template head the bundle was built on, or None when that template's asset
        has no ARKit fields (a test mesh, an older asset, another topology)."""
        fields = _template_fields(topology.name, topology.digest())
        return None if fields is None else cls(fields, gain, smoothing, max_gap, topology.landmark_ids)

    def __call__(self, G: torch.Tensor, weights: np.ndarray | None, names: tuple[str, ...],
                 t: float | None = None, wink: bool = True, eyes: np.ndarray | None = None,
                 mouth: float | None = None) -> torch.Tensor:
        """``t``: the frame's time stamp in seconds (for the filter; None: unfiltered). ``wink``: add the
        two eyes' difference; only when the z guide sets their mean (its ``blink`` channel), else the
        open eye would be lifted by half the other's blink. ``eyes`` (2,): the user's eye openings over
        their open level (rho of :mod:`models.eye_match`, subject's left, right); with eye matching on
        (:meth:`match_eyes`) the four eye weights are solved from them on the first G of the batch.
        ``mouth``: the user's inner-lip gap above their closed level (:mod:`models.mouth_match`); with
        mouth matching on (:meth:`match_mouth`) the jawOpen weight is solved from it the same way."""
        match_eyes = self.eyes is not None and eyes is not None
        match_mouth = self.mouth is not None and mouth is not None
        if self.gain <= 0 or (weights is None and not match_eyes and not match_mouth):
            self.last = np.zeros(len(LAYER_NAMES), np.float32)
            return G
        r = np.zeros(len(LAYER_NAMES), np.float32)
        if match_eyes or match_mouth:  # measured on the decoded geometry, not filtered again
            P = G[0, torch.from_numpy(self.landmark_ids).to(G.device)].detach().double().cpu().numpy()  # (68, 3)
            if match_eyes:
                r[:4] = self.eyes(P, eyes, t) * self.gain  # type: ignore[misc]
            if match_mouth:
                r[4] = self.mouth(P, mouth, t) * self.gain  # type: ignore[misc]
        if not match_eyes and weights is not None:
            w = residual_weights(weights, names) * self.gain
            if not wink:
                w[:2] = 0.0
            r[:4] = self.smooth(w, t)[:4]
        self.last = r
        use = np.flatnonzero(np.abs(r) > 1e-4)
        if len(use) == 0:
            return G
        if self._B_on.device != G.device or self._B_on.dtype != G.dtype:  # once per device, not per frame
            self._B_on = self.B.to(G.device, G.dtype)
        B = self._B_on[torch.from_numpy(use).to(G.device)]  # (U, V, 3)
        delta = torch.tensordot(torch.from_numpy(r[use]).to(G.device, G.dtype), B, 1)  # (V, 3)
        return G + delta[None]
