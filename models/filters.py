"""Output smoothing of the tracker (beyond the paper): a 1-euro filter on z and a
speed-adaptive constant-velocity Kalman filter (:mod:`models.kalman`) on the head pose.

The encoder E_I answers each frame on its own, so camera noise, crop jitter and detector
jitter reach z and H as small frame-to-frame wobble. A real-time tracker smooths its output
adaptively: still faces are held steady, fast motion passes with little lag. z gets a low-pass
whose cut-off rises with speed (Casiez et al., "1 euro filter", CHI 2012); the pose gets a
filter that also estimates its velocity, so a turning head is followed without lag.

The filters run on the encoder's answer before decoding, so G, T, the projected landmarks
and the avatar all come from the same smoothed (z, H). Pose is filtered in frame pixels
(``H_frame``), so a moving crop box does not read as head motion. Speeds are measured in
natural units: z in latent units, angles in radians, translation in face sizes (box sides)
and the focal scale relatively (its logarithm).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .kalman import PoseKalman, PoseKalmanConfig


@dataclass(frozen=True)
class OneEuroConfig:
    """``min_cutoff`` (Hz): cut-off at rest (lower = steadier, more lag when starting to move);
    ``beta`` (Hz per unit/s): how fast the cut-off opens with speed; ``d_cutoff`` (Hz): the
    low-pass on the speed estimate."""

    min_cutoff: float = 1.0
    beta: float = 1.0
    d_cutoff: float = 1.0


def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
    """Smoothing factor of a first-order low-pass with ``cutoff`` Hz sampled every ``dt`` s."""
    return 1.0 / (1.0 + 1.0 / (2.0 * math.pi * np.asarray(cutoff) * dt))


class OneEuro:
    """Vector 1-euro filter, one cut-off per component.

    ``x_hat_t = x_hat_{t-1} + a(f_c) (x_t - x_hat_{t-1})`` with ``f_c = min_cutoff + beta
    |dx_hat_t| / unit`` and ``dx_hat`` the low-passed speed. Shape: x (D,) -> (D,)."""

    def __init__(self, cfg: OneEuroConfig) -> None:
        self.cfg = cfg
        self.x: np.ndarray | None = None
        self.dx: np.ndarray | None = None
        self.t: float | None = None

    def reset(self) -> None:
        self.x = self.dx = self.t = None

    def __call__(self, x: np.ndarray, t: float, unit: np.ndarray | float = 1.0) -> np.ndarray:
        x = np.asarray(x, np.float64)
        if self.x is None or self.t is None:
            self.x, self.dx, self.t = x.copy(), np.zeros_like(x), t
            return x.copy()
        dt = t - self.t
        if not dt > 0:  # repeated or out-of-order timestamp: assume one 30 FPS frame
            dt = 1.0 / 30.0
        c = self.cfg
        dx = (x - self.x) / dt
        self.dx = self.dx + _alpha(c.d_cutoff, dt) * (dx - self.dx)
        cutoff = c.min_cutoff + c.beta * np.abs(self.dx) / unit
        self.x = self.x + _alpha(cutoff, dt) * (x - self.x)
        self.t = t
        return self.x.copy()


class GapOneEuro(OneEuro):
    """A :class:`OneEuro` that starts again after a gap of more than ``max_gap`` seconds or when time
    goes back (a face lost, a paused source, a looped video). x (D,) -> (D,)."""

    def __init__(self, cfg: OneEuroConfig, max_gap: float = 0.5) -> None:
        super().__init__(cfg)
        self.max_gap = float(max_gap)

    def __call__(self, x: np.ndarray, t: float, unit: np.ndarray | float = 1.0) -> np.ndarray:
        if self.t is not None and not 0 <= t - self.t <= self.max_gap:
            self.reset()
        return super().__call__(x, t, unit)


class Smoothed:
    """Mixin: an optional :class:`GapOneEuro` (``filter``) with ``set_smoothing`` / ``reset`` / ``smooth``;
    the class sets ``max_gap`` before calling ``set_smoothing``. A class with its own ``beta`` (Hz per
    unit/s of its signal) filters with that beta and ``rest`` x the given rest cut-off, so the
    tracker's smoothing slider still scales it."""

    max_gap: float = 0.5
    filter: GapOneEuro | None = None
    rest: float = 1.0
    beta: float | None = None

    def set_smoothing(self, cfg: OneEuroConfig | None) -> None:
        """The filter (None: off); it restarts."""
        if cfg is not None and self.beta is not None:
            cfg = OneEuroConfig(cfg.min_cutoff * self.rest, self.beta, cfg.d_cutoff)
        self.filter = GapOneEuro(cfg, self.max_gap) if cfg is not None else None

    def reset(self) -> None:
        """Forget the filter's history (the face was lost)."""
        if self.filter is not None:
            self.filter.reset()

    def smooth(self, x: np.ndarray, t: float | None) -> np.ndarray:
        """x filtered at time t; unchanged when the filter is off or t is None."""
        return np.asarray(x, np.float64) if self.filter is None or t is None else self.filter(x, t)


@dataclass(frozen=True)
class SmoothingConfig:
    """Output smoothing of the tracker. ``strength`` in [0, 1] scales how hard a still face is
    held (0 = off: the raw per-frame answer; 1 = the steadiest). ``max_gap`` (s): a longer gap
    between two frames (face lost, paused source) or a step back in time (a looped video)
    restarts the filter."""

    strength: float = 0.5
    # chosen on synthetic clips against ground truth (docs/results.md): the pose filter brings
    # the projected landmarks' 2D stability to the ground truth's own level on moving, talking
    # and still heads; z at 4 Hz does not change the geometry error
    z: OneEuroConfig = OneEuroConfig(min_cutoff=4.0, beta=0.5)
    pose: PoseKalmanConfig | OneEuroConfig = PoseKalmanConfig()  # a OneEuroConfig: the 1-euro on pose
    max_gap: float = 0.5

    def scaled(self, c: OneEuroConfig) -> OneEuroConfig:
        """z's rest cut-off for this strength: strength 0.5 -> ``min_cutoff``; every 0.25 halves
        or doubles it (log scale), so the slider feels even."""
        return OneEuroConfig(c.min_cutoff * 2.0 ** (4.0 * (0.5 - self.strength)), c.beta, c.d_cutoff)

    def scaled_pose(self) -> PoseKalmanConfig | OneEuroConfig:
        """The pose filter for this strength. The Kalman filter's bandwidth goes as q^(1/4), so
        ``q_rest`` is scaled by 16 per 0.25 of strength to halve or double it like a cut-off."""
        if isinstance(self.pose, OneEuroConfig):
            return self.scaled(self.pose)
        return self.pose.scaled(16.0 ** (4.0 * (0.5 - self.strength)))


class OutputFilter:
    """A 1-euro filter on z and a Kalman filter on the frame-pixel pose
    ``H_frame = (f, rx, ry, rz, tx, ty)``.

    ``__call__(z (Z,), H_frame (6,), t, side) -> (z, H_frame)``; ``side`` is the face box side
    in frame pixels (the unit of translation). Strength 0 passes values through."""

    def __init__(self, cfg: SmoothingConfig | None = None) -> None:
        self.cfg = cfg or SmoothingConfig()
        self._build()

    def _build(self) -> None:
        self.fz = OneEuro(self.cfg.scaled(self.cfg.z))
        pose = self.cfg.scaled_pose()
        self.fh = PoseKalman(pose) if isinstance(pose, PoseKalmanConfig) else OneEuro(pose)
        self.t: float | None = None

    @property
    def enabled(self) -> bool:
        return self.cfg.strength > 0

    def set_strength(self, strength: float) -> None:
        """Change the strength; the filter restarts from the next frame."""
        self.cfg = SmoothingConfig(float(np.clip(strength, 0.0, 1.0)), self.cfg.z, self.cfg.pose, self.cfg.max_gap)
        self._build()

    def reset(self) -> None:
        self.fz.reset()
        self.fh.reset()
        self.t = None

    def __call__(self, z: np.ndarray, H_frame: np.ndarray, t: float, side: float) -> tuple[np.ndarray, np.ndarray]:
        if not self.enabled:
            return np.asarray(z, np.float64), np.asarray(H_frame, np.float64)
        H = np.asarray(H_frame, np.float64)
        if not (H[0] > 0 and side > 0 and np.isfinite(H).all() and np.isfinite(z).all() and np.isfinite(side)):
            # no valid focal scale (an untrained avatar), no face size or a non-finite answer: pass
            # it through and start again, so one bad frame cannot poison the filter's state
            self.reset()
            return np.asarray(z, np.float64), H
        if self.t is not None and not 0 <= t - self.t <= self.cfg.max_gap:  # a gap, or a looped video
            self.reset()
        self.t = t
        # pose state: (log f, rx, ry, rz, tx, ty); natural units: relative, rad, rad, rad, sides, sides
        p = np.concatenate([[math.log(H[0])], H[1:6]])
        unit = np.array([1.0, 1.0, 1.0, 1.0, side, side])
        p = self.fh(p, t, unit)
        return self.fz(z, t), np.concatenate([[math.exp(p[0])], p[1:6]])


def smooth_sequence(z: np.ndarray, H_frame: np.ndarray, t: np.ndarray, side: np.ndarray,
                    cfg: SmoothingConfig | None = None, found: np.ndarray | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """The live filter run over a recorded track, frame by frame (benchmarks).
    Shapes: z (N, Z), H_frame (N, 6), t (N,) s, side (N,) px, found (N,) bool -> z, H_frame.
    A frame without a face restarts the filter, as in the tracker."""
    f = OutputFilter(cfg)
    zs, Hs = np.array(z, np.float64), np.array(H_frame, np.float64)
    for i in range(len(zs)):
        if found is not None and not found[i]:
            f.reset()
            continue
        zs[i], Hs[i] = f(zs[i], Hs[i], float(t[i]), float(side[i]))
    return zs, Hs
