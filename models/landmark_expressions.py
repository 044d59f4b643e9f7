"""ARKit-named expression weights in [0, 1] from the detector's 68 points (until an expression head exists).

Each weight comes from one size-normalised signal of :func:`models.face_signals.face_signals`
(divided by the outer-eye-corner distance, so the face's size in the image does not matter)
and a **running per-person calibration**: over the last ``window_s`` seconds (default 30 s) the
signal's neutral level ``n`` and its extreme ``e`` are percentiles of what this person did, so
the same rule works for a wide or a narrow mouth, deep-set or wide eyes, without per-clip constants:

    rising weights  (jawOpen, mouthSmile*, browInnerUp):  w = clip((x - n) / (e - n), 0, 1)
    falling weights (eyeBlink*, mouthPucker, browDown*):   w = clip((n - x) / (n - e), 0, 1)

=================  ===========  =================  ==================================================
weight             signal x     neutral n          extreme e
=================  ===========  =================  ==================================================
eyeBlinkLeft/Right eye_open_l/r P80 (eyes open)    ``closed * n`` (lids meet; 0.2: the lid landmarks
                                                   of a closed eye stay ~20 % of the open height apart)
jawOpen            mouth_open   P5 (lips closed)   max(P98, n + 0.15)
mouthSmileL/R      mouth_width  P50                max(P98, 1.12 n)   (one smile for both sides)
mouthPucker        mouth_width  P50                min(P2, 0.88 n)
browInnerUp        brow_lift    P50                max(P98, 1.12 n)
browDownLeft/Right brow_lift    P50                min(P2, 0.92 n)
eyeWideLeft/Right  eye_open_l/r P80                max(P99, 1.25 n)
browOuterUpL/R     brow_outer_* P50                max(P98, 1.12 n)
mouthFrownL/R      corner_*     P50                max(P98, n + 0.06)
noseSneerL/R       nose_wing_*  P50                min(P2, 0.92 n)
=================  ===========  =================  ==================================================

The signals beyond :mod:`models.face_signals` (each over the outer-eye-corner distance, vertical
distances taken perpendicular to the eye-corner line so a rolled head reads the same):
``brow_outer_*`` the height of the three outer brow points above that eye's corners; ``corner_*``
how far the mouth corner (54 left, 48 right) sits below the middle of the inner lips (62 + 66) / 2
(a frown lowers it, a smile raises it; the middle drops with the jaw about as the corners do, so
talking does not read as a frown); ``nose_wing_*`` the nostril wing (35 / 31) below that eye's
corners (a sneer lifts it). mouthRoll* are not read: the lips' thickness drops as much for a lip
press or a funnel as for a roll.

``brow_lift`` is ours, not :mod:`models.face_signals`' ``brow_height``: the brow centroid's distance to
the midpoint of the four eye corners (36, 39, 42, 45) over the outer-eye-corner distance. The corners
do not move when the lids close, so a blink does not read as a lowered brow.

**Noise dead zone.** Landmark jitter around the neutral level would read as a small weight on
every frame (a brow "raised" by 0.1-0.3 half the time, since its neutral level is the median).
Each weight therefore starts only above ``NOISE_K`` = 2 standard deviations of its signal's own
frame-to-frame noise sigma (:func:`models.face_signals.second_difference_sigma` over the window),
in weight units d = k sigma / |e - n|:  w' = clip((w - d) / (1 - d), 0, 1), d <= 0.5.

The levels are recomputed every ``refresh`` frames (percentiles over ~900 samples cost ~0.5 ms).
The fixed margins (0.15, 1.12, 0.88, 0.92) are the smallest range a weight spreads over: a person
who never opens their mouth in the window does not get jawOpen = 1 from landmark jitter. Left and
right are the *subject's* (ARKit's eyeBlinkLeft is the subject's left eye, iBUG points 42-47).
Signals are 2D: a head pitched far up or down shortens the vertical distances, which reads as a
partial blink or a closed mouth (the expression head will replace this).
"""

from __future__ import annotations

import numpy as np

from .face_signals import face_signals, interocular, second_difference_sigma

SIGNALS = ("mouth_open", "mouth_width", "eye_open_l", "eye_open_r", "brow_lift", "brow_outer_l", "brow_outer_r",
           "corner_l", "corner_r", "nose_wing_l", "nose_wing_r")
NOISE_K = 2.0  # a weight starts above k sigma of its signal's frame-to-frame noise (as face_signals' min_snr)

# The 52 ARKit blendshapes in Live Link Face's CSV column order (PascalCase, as in the CSV header
# "Timecode,BlendShapeCount,EyeBlinkLeft,...,TongueOut,HeadYaw,...").
LIVE_LINK_FACE_NAMES: tuple[str, ...] = (
    "EyeBlinkLeft", "EyeLookDownLeft", "EyeLookInLeft", "EyeLookOutLeft", "EyeLookUpLeft", "EyeSquintLeft",
    "EyeWideLeft", "EyeBlinkRight", "EyeLookDownRight", "EyeLookInRight", "EyeLookOutRight", "EyeLookUpRight",
    "EyeSquintRight", "EyeWideRight", "JawForward", "JawRight", "JawLeft", "JawOpen", "MouthClose", "MouthFunnel",
    "MouthPucker", "MouthRight", "MouthLeft", "MouthSmileLeft", "MouthSmileRight", "MouthFrownLeft",
    "MouthFrownRight", "MouthDimpleLeft", "MouthDimpleRight", "MouthStretchLeft", "MouthStretchRight",
    "MouthRollLower", "MouthRollUpper", "MouthShrugLower", "MouthShrugUpper", "MouthPressLeft", "MouthPressRight",
    "MouthLowerDownLeft", "MouthLowerDownRight", "MouthUpperUpLeft", "MouthUpperUpRight", "BrowDownLeft",
    "BrowDownRight", "BrowInnerUp", "BrowOuterUpLeft", "BrowOuterUpRight", "CheekPuff", "CheekSquintLeft",
    "CheekSquintRight", "NoseSneerLeft", "NoseSneerRight", "TongueOut",
)
ARKIT_NAMES: tuple[str, ...] = tuple(n[0].lower() + n[1:] for n in LIVE_LINK_FACE_NAMES)  # eyeBlinkLeft, ...

# (ARKit name, signal, direction, neutral percentile, extreme percentile, kind of margin, margin)
# direction +1: the weight rises with the signal, -1: it rises as the signal falls.
# margin kinds: "add" e = n +- m, "mul" e = n * m, "closed" e = m * n (fixed, not from a percentile)
RULES: tuple[tuple[str, str, int, float, float, str, float], ...] = (
    ("eyeBlinkLeft", "eye_open_l", -1, 80.0, 0.0, "closed", 0.2),
    ("eyeBlinkRight", "eye_open_r", -1, 80.0, 0.0, "closed", 0.2),
    ("jawOpen", "mouth_open", +1, 5.0, 98.0, "add", 0.15),
    ("mouthSmileLeft", "mouth_width", +1, 50.0, 98.0, "mul", 1.12),
    ("mouthSmileRight", "mouth_width", +1, 50.0, 98.0, "mul", 1.12),
    ("mouthPucker", "mouth_width", -1, 50.0, 2.0, "mul", 0.88),
    ("browInnerUp", "brow_lift", +1, 50.0, 98.0, "mul", 1.12),
    ("browDownLeft", "brow_lift", -1, 50.0, 2.0, "mul", 0.92),
    ("browDownRight", "brow_lift", -1, 50.0, 2.0, "mul", 0.92),
    # beyond the first nine (issue 15's ARKit basis, studio.arkit_basis): per-side and per-lip signals
    ("eyeWideLeft", "eye_open_l", +1, 80.0, 99.0, "mul", 1.25),
    ("eyeWideRight", "eye_open_r", +1, 80.0, 99.0, "mul", 1.25),
    ("browOuterUpLeft", "brow_outer_l", +1, 50.0, 98.0, "mul", 1.12),
    ("browOuterUpRight", "brow_outer_r", +1, 50.0, 98.0, "mul", 1.12),
    ("mouthFrownLeft", "corner_l", +1, 50.0, 98.0, "add", 0.06),
    ("mouthFrownRight", "corner_r", +1, 50.0, 98.0, "add", 0.06),
    ("noseSneerLeft", "nose_wing_l", -1, 50.0, 2.0, "mul", 0.92),
    ("noseSneerRight", "nose_wing_r", -1, 50.0, 2.0, "mul", 0.92),
)
NAMES: tuple[str, ...] = tuple(r[0] for r in RULES)


def signals(L: np.ndarray) -> dict[str, np.ndarray]:
    """The signals the weights read. L (..., 68, 2) -> {name: (...)} (see the module docstring)."""
    L = np.asarray(L, np.float64)
    out = face_signals(L)
    s = np.maximum(interocular(L), 1e-9)
    corners = L[..., [36, 39, 42, 45], :].mean(-2)
    out["brow_lift"] = np.linalg.norm(L[..., 17:27, :].mean(-2) - corners, axis=-1) / s
    # "down" in the face: perpendicular to the outer eye corners' line, so a rolled head reads the same
    u = (L[..., 45, :] - L[..., 36, :]) / s[..., None]
    down = np.stack([-u[..., 1], u[..., 0]], -1)  # (..., 2): u rotated +90 degrees (image y is down)

    def below(p: np.ndarray, q: np.ndarray) -> np.ndarray:  # how far p is below q, in interoculars
        return ((p - q) * down).sum(-1) / s

    eye_l, eye_r = L[..., [42, 45], :].mean(-2), L[..., [36, 39], :].mean(-2)
    out["brow_outer_l"] = -below(L[..., 24:27, :].mean(-2), eye_l)
    out["brow_outer_r"] = -below(L[..., 17:20, :].mean(-2), eye_r)
    lips = 0.5 * (L[..., 62, :] + L[..., 66, :])  # drops with the jaw about as the corners do
    out["corner_l"] = below(L[..., 54, :], lips)  # the subject's left mouth corner (image-right)
    out["corner_r"] = below(L[..., 48, :], lips)
    out["nose_wing_l"] = below(L[..., 35, :], eye_l)
    out["nose_wing_r"] = below(L[..., 31, :], eye_r)
    return {k: out[k] for k in SIGNALS}


def weights_from_levels(x: np.ndarray, n: np.ndarray, e: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """The equation of the module docstring for K weights. x, n, e, direction (K,) -> (K,) in [0, 1]."""
    span = np.where(direction > 0, e - n, n - e)
    w = direction * (x - n) / np.maximum(span, 1e-9)
    return np.clip(np.nan_to_num(w, nan=0.0), 0.0, 1.0)


class LandmarkExpressions:
    """Running estimator: ``update(points (68, 2), t seconds) -> (K,) float32`` in the order :data:`NAMES`.

    Keeps the last ``window_s`` seconds of the signals (at most ``capacity`` frames); time going
    backwards (a looped video, a new source) starts a fresh calibration, as does :meth:`reset`.
    """

    names = NAMES

    def __init__(self, window_s: float = 30.0, capacity: int = 2048, refresh: int = 5) -> None:
        self.window_s, self.capacity, self.refresh = float(window_s), int(capacity), max(1, int(refresh))
        self._sig = [SIGNALS.index(r[1]) for r in RULES]
        self._dir = np.array([r[2] for r in RULES], np.float64)
        self.reset()

    def reset(self) -> None:
        self._x = np.zeros((self.capacity, len(SIGNALS)), np.float64)
        self._t = np.full(self.capacity, -np.inf)
        self._n = 0  # samples written (ring position = n % capacity)
        self._t_last = -np.inf
        self._levels: tuple[np.ndarray, np.ndarray] | None = None
        self._x_last: np.ndarray | None = None  # (S,) the last frame's signals

    @property
    def samples(self) -> int:
        return int(np.sum(self._t >= self._t_last - self.window_s))

    def levels(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Neutral and extreme levels and the noise dead zone d (K,) over the current window."""
        keep = self._t >= self._t_last - self.window_s
        X = self._x[keep]  # (M, S)
        Xt = X[np.argsort(self._t[keep], kind="stable")]  # in time order, for the noise
        sigma = (second_difference_sigma(Xt[2:] - 2 * Xt[1:-1] + Xt[:-2], axis=0) if len(Xt) >= 8
                 else np.zeros(X.shape[1]))  # (S,)
        qs = sorted({q for r in RULES for q in (r[3], r[4])})
        P = np.percentile(X, qs, axis=0)  # (Q, S)
        at = {q: P[i] for i, q in enumerate(qs)}
        n = np.empty(len(RULES))
        e = np.empty(len(RULES))
        for k, (_, _, d, qn, qe, kind, m) in enumerate(RULES):
            s = self._sig[k]
            n[k] = at[qn][s]
            if kind == "closed":
                e[k] = m * n[k]
            elif kind == "add":
                e[k] = max(at[qe][s], n[k] + m) if d > 0 else min(at[qe][s], n[k] - m)
            else:
                e[k] = max(at[qe][s], n[k] * m) if d > 0 else min(at[qe][s], n[k] * m)
        dead = np.clip(NOISE_K * sigma[self._sig] / np.maximum(np.abs(e - n), 1e-9), 0.0, 0.5)
        return n, e, dead

    def update(self, points: np.ndarray, t: float) -> np.ndarray:
        sig = signals(points)
        x = np.array([float(sig[s]) for s in SIGNALS])
        if not np.isfinite(x).all():
            self._x_last = None
            return np.zeros(len(RULES), np.float32)
        if t < self._t_last:
            self.reset()
        i = self._n % self.capacity
        self._x[i], self._t[i] = x, float(t)
        self._n += 1
        self._t_last = float(t)
        self._x_last = x
        if self._levels is None or self._n < 30 or self._n % self.refresh == 0:
            self._levels = self.levels()
        n, e, dead = self._levels
        w = weights_from_levels(x[self._sig], n, e, self._dir)
        return np.clip((w - dead) / (1.0 - dead), 0.0, 1.0).astype(np.float32)

    def eye_ratios(self) -> np.ndarray | None:
        """The last frame's eye openings over their open level n (the eyeBlink rules' P80):
        (2,) subject's left, right (rho of :mod:`models.eye_match`); None before a valid frame."""
        if self._x_last is None or self._levels is None:
            return None
        n = self._levels[0][[_BLINK_L, _BLINK_R]]
        x = self._x_last[[_EYE_L, _EYE_R]]
        return x / np.maximum(n, 1e-9)

    def mouth_gap(self) -> float | None:
        """The last frame's inner-lip opening above its closed level (the jawOpen rule's P5), in
        outer-eye-corner distances (the gap of :mod:`models.mouth_match`); None before a valid frame."""
        if self._x_last is None or self._levels is None:
            return None
        return float(self._x_last[_MOUTH] - self._levels[0][_JAW])


# the rules and signals the matchers read: indices into NAMES and SIGNALS
_BLINK_L, _BLINK_R, _JAW = NAMES.index("eyeBlinkLeft"), NAMES.index("eyeBlinkRight"), NAMES.index("jawOpen")
_EYE_L, _EYE_R, _MOUTH = SIGNALS.index("eye_open_l"), SIGNALS.index("eye_open_r"), SIGNALS.index("mouth_open")


def to_live_link(weights: np.ndarray | None, names: tuple[str, ...]) -> np.ndarray:
    """K named weights (ARKit camelCase or PascalCase names) -> (52,) in Live Link Face order, 0 elsewhere."""
    out = np.zeros(len(LIVE_LINK_FACE_NAMES), np.float32)
    if weights is None:
        return out
    index = {n.lower(): i for i, n in enumerate(LIVE_LINK_FACE_NAMES)}
    for name, w in zip(names, np.asarray(weights, np.float32)):
        j = index.get(name.lower())
        if j is not None:
            out[j] = w
    return out
