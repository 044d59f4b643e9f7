"""A per-person landmark corrective: the avatar's 68 landmarks moved onto the user's features.

The tracker's landmarks are the avatar's mesh points projected with the tracked pose H
(``Pi H X_k``, Eq. 3). The avatar is one studio person, so on anyone else those points sit off
the user's features by the difference of the two faces: wider-set eyes, a longer chin, higher brows.
That difference is a property of the person, not of the frame, so it is estimated once per
track and added to every frame:

    l_k = Pi H (X_k + delta_k),   delta_k = (dx, dy, 0) in head (model) space.

delta_k is the ridge least-squares solution of ``d_k ~ Pi H (X_k + delta_k)`` over the frames of
the track so far, with d the detector's points: per frame the Jacobian is
``J = f R[:2, :2]`` (2, 2) (weak perspective is linear in delta), so the normal equations are one
shared 2 x 2 matrix ``A = sum w J^T J`` and one right-hand side per landmark ``b_k = sum w J^T r_k``
with ``r_k = d_k - Pi H X_k``. Frames are weighted by a running mean that becomes an exponential
window of ``TAU`` seconds (the identity does not change; glasses, light and the detector's bias
may, slowly). Depth is left out: it is seen only through head rotation, and measured on the real
clips a free depth turned yaw into mouth-width changes.

The avatar itself is not changed: ``G``, the texture and the expression signals of the mesh are
the DAM's; only the reported 2D landmarks (``FrameResult.landmarks``) carry the corrective,
and the uncorrected projection stays available (``FrameResult.model_landmarks``).
"""

from __future__ import annotations

import numpy as np

from .camera import rotation_matrix_np
from .face_signals import LID_PAIRS

TAU = 30.0  # seconds: the exponential window of the running estimate
RIDGE = 0.05  # ridge on A: 1/20 of the newest frame's weight in the running mean (it fades as frames come)
GAP = 3.0  # seconds without a face (or time going back) start a new person
# an innovation (residual minus the current corrective) longer than this fraction of the interocular
# distance is clipped (detector slips)
CLIP = 0.25
# the lid points per eye (upper, lower; subject's left, right) and how open an eye must be (its
# opening over the avatar's neutral) for its lids to teach the corrective
LIDS = tuple((tuple(u for u, _ in eye), tuple(lo for _, lo in eye)) for eye in LID_PAIRS)  # ((43, 44), (47, 46)), ...
OPEN_TO_LEARN = 0.8


def jacobian(H: np.ndarray) -> np.ndarray:
    """d(Pi H X)/d(x, y) for a pose H (6,) (f, rx, ry, rz, tx, ty): the first two rows and columns of
    f R (:func:`models.camera.rotation_matrix_np`). -> (2, 2) pixels per model unit."""
    return float(H[0]) * rotation_matrix_np(H[1:4])[:2, :2]


class LandmarkIdentity:
    """Running per-person corrective delta (68, 2) of the projected landmarks (module docstring)."""

    def __init__(self, tau: float = TAU, ridge: float = RIDGE):
        self.tau, self.ridge = float(tau), float(ridge)
        self.reset()

    def reset(self) -> None:
        """Forget the person (a new track, a new avatar)."""
        self.A = np.zeros((2, 2))  # running mean of J^T J
        self.b: np.ndarray | None = None  # (68, 2) running mean of J^T r_k
        self.n, self.last_ts = 0, None
        self._a = 1.0  # the newest frame's weight in the running mean (1 / its effective frame count)

    @property
    def delta(self) -> np.ndarray | None:
        """(68, 2) the current corrective in model units (x, y of head space); None before a frame."""
        if self.b is None:
            return None
        lam = self.ridge * self._a * max(np.trace(self.A) / 2, 1e-12)  # 1/20 of one frame
        return np.linalg.solve(self.A + lam * np.eye(2), self.b.T).T

    def update(self, model_points: np.ndarray, detected: np.ndarray, H: np.ndarray,
               timestamp: float, eyes_open: np.ndarray | None = None) -> np.ndarray:
        """Add one frame and return its corrected landmarks.

        model_points (68, 2) the projected avatar landmarks, detected (68, 2) the detector's points
        (NaN where it has none), both frame px; H (6,) the frame pose. -> (68, 2) frame px.
        ``eyes_open`` (2,): each avatar eye's opening over its neutral (subject's left, right;
        :mod:`models.eye_match`), or None. With it the lids' corrective is an offset of the eye plus a
        difference of the lids' opening that scales with the eye's opening (:func:`scale_lids`): a
        person whose open eyes are narrower than the avatar's gets the avatar's closed lids when
        blinking, not lids pushed past each other; and only open eyes (>= ``OPEN_TO_LEARN``) teach it.
        """
        P = np.asarray(model_points, np.float64)
        d = np.asarray(detected, np.float64)
        J = jacobian(np.asarray(H, np.float64))  # (2, 2)
        r = d - P  # (68, 2)
        ok = np.isfinite(r).all(-1)
        if self.last_ts is not None and not 0.0 <= float(timestamp) - self.last_ts <= GAP:
            self.reset()
        if ok.sum() >= 34:  # a frame with most points: add it
            ref = d if ok[36] and ok[45] else P
            lim = CLIP * max(float(np.hypot(*(ref[36] - ref[45]))), 1.0)  # the outer eye corners' distance
            # clip what the current corrective does not explain (a slip), not the corrective itself:
            # a lasting offset larger than the limit is still learned
            cur = self.delta @ J.T if self.b is not None else np.zeros_like(r)  # (68, 2)
            inn = np.where(ok[:, None], r - cur, 0.0)
            norm = np.linalg.norm(inn, axis=-1, keepdims=True)
            r = np.where(ok[:, None], cur + inn * np.minimum(1.0, lim / np.maximum(norm, 1e-9)), 0.0)
            dt = 0.0 if self.last_ts is None else float(timestamp) - self.last_ts
            self.n += 1
            a = self._a = max(1.0 / self.n, min(dt / self.tau, 1.0))  # running mean, then an exponential window
            Jr = r @ J  # (68, 2): J^T r_k per landmark
            if self.b is None:
                self.b = np.zeros_like(Jr)
            self.A = (1 - a) * self.A + a * (J.T @ J)
            # a point the detector missed keeps its estimate (its own weight is not tracked: rare)
            learn = ok.copy()
            if eyes_open is not None:
                for e, (up, lo) in enumerate(LIDS):
                    if not eyes_open[e] >= OPEN_TO_LEARN:
                        learn[[*up, *lo]] = False
            self.b = np.where(learn[:, None], (1 - a) * self.b + a * Jr, self.b)
            self.last_ts = float(timestamp)
        delta = self.delta
        if delta is None:
            return P.astype(np.float32)
        if eyes_open is not None:
            delta = scale_lids(delta, eyes_open)
        return (P + delta @ J.T).astype(np.float32)


def scale_lids(delta: np.ndarray, eyes_open: np.ndarray) -> np.ndarray:
    """The corrective with each eye's lid-opening part scaled by its opening fraction f (2,) in
    [0, 1.5]: h = (mean delta_upper - mean delta_lower) / 2 becomes f h, the eye's offset (the lids'
    mean) stays. delta (68, 2) -> (68, 2)."""
    out = np.array(delta, np.float64)
    f = np.clip(np.nan_to_num(np.asarray(eyes_open, np.float64), nan=1.0), 0.0, 1.5)
    for e, (up, lo) in enumerate(LIDS):
        h = (out[list(up)].mean(0) - out[list(lo)].mean(0)) / 2
        out[list(up)] -= (1.0 - f[e]) * h
        out[list(lo)] += (1.0 - f[e]) * h
    return out
