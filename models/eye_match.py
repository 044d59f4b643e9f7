"""Eye matching: the avatar's lids open as far as the user's, measured, not guessed (beyond the paper).

The z guide (:mod:`models.code_guide`) moves the code along the avatar's blink direction by the
landmark rule's weight, and the DAM decodes what it learned for that code. On the shared real clips
that reaches eye-opening r 0.78 against per-frame dlib where the tracker's own input points reach
0.85 (docs/expression_layer.md): the rule's dead zone and clipping drop small lid motions, the
DAM's blink is not linear in its code, and a wide-open eye has no code at all. Eye matching closes
that gap on the decoded geometry, per eye, by feedback on what the decoder actually produced:

    rho   = x / n                                  the user's opening x over their open level n
                                                   (the rule's running P80, :mod:`models.landmark_expressions`)
    u     = (rho - c) / (1 - c)                    1 open, 0 closed (c = 0.2: dlib's lids stay 20 % apart)
    o*    = o_c + u (o_n - o_c)                    the avatar's target opening: o_n of its neutral
                                                   D(z*(0)), o_c with a full eyeBlink added
    G'    = G + r_b B_blink + r_w B_wide           r_b, r_w solved so that opening(G') = o*

``opening`` is the iBUG lid distance over the outer-eye-corner distance on the landmark vertices
(:func:`openings`: the signal of :mod:`models.face_signals` taken in the head's frame along each
eye's lid axis of the neutral, so the head pose does not enter and lids that would cross read
negative). That opening is linear in the vertices, so each r has a closed form:
r = (o* - opening(G)) / opening'(B), with opening' the field's change of the opening (corners fixed).
A closing eye uses the template's eyeBlink field (r_b <= 1.5); an eye the decoder left more closed
than the target is opened by a negative eyeBlink (>= -1) up to the neutral opening, and beyond it by
eyeWide (r_w in [0, 1.5]). u >= 0 keeps o* >= o_c > 0: the lids never cross. u is smoothed by the
layer's 1-euro filter; the decode it corrects is already filtered through z.
"""

from __future__ import annotations

import numpy as np

from .face_signals import LID_PAIRS
from .filters import OneEuroConfig, Smoothed

CLOSED = 0.2  # the landmark rule's closed level: dlib's lid points of a shut eye stay ~20 % apart
U_MAX = 1.6  # the widest u followed (a user's P80 is not their widest; beyond this is detector noise)
R_BLINK = (-1.0, 1.5)
R_WIDE = (0.0, 1.5)


def lid_axes(P: np.ndarray) -> np.ndarray:
    """Each eye's opening direction (2, D): the mean of its lower-to-upper lid vectors in the open
    landmark points P (68, D), normalised (subject's left, right)."""
    P = np.asarray(P, np.float64)
    v = np.stack([(P[a] - P[b] + P[c] - P[d]) / 2 for (a, b), (c, d) in LID_PAIRS])
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def openings(P: np.ndarray, axes: np.ndarray) -> np.ndarray:
    """Signed eye openings of 68 landmark points (..., 68, D) along ``axes`` (2, D) -> (..., 2):
    subject's left, right, each the mean of its two lid distances over the outer-eye-corner distance
    |36-45|. Signed, so lids that would cross read negative; linear in P for fixed corners."""
    P = np.asarray(P, np.float64)
    s = np.maximum(np.linalg.norm(P[..., 45, :] - P[..., 36, :], axis=-1), 1e-12)
    out = [((P[..., a, :] - P[..., b, :] + P[..., c, :] - P[..., d, :]) @ axes[e]) / 2
           for e, ((a, b), (c, d)) in enumerate(LID_PAIRS)]
    return np.stack(out, -1) / s[..., None]


class EyeMatch(Smoothed):
    """Per-eye residual weights (r_blink, r_wide) that bring the decoded lids to the user's opening.

    ``blink`` and ``wide``: (2, 68, 3) the template's eyeBlink / eyeWide fields at the landmark
    vertices (subject's left, right); ``neutral`` (68, 3) the avatar's neutral landmark vertices
    (D(z*(0))); ``smoothing``: the 1-euro filter of u (None: off): z's settings, so the lids move in step
    with the blink the z guide puts in the decoded texture. (Half z's rest cut-off with a beta of 5 per
    unit/s was tried: eye r +0.004, blink F1 0.621 -> 0.574 on the shared clips; not taken.)
    """

    def __init__(self, blink: np.ndarray, wide: np.ndarray, neutral: np.ndarray,
                 smoothing: OneEuroConfig | None = None, max_gap: float = 0.5) -> None:
        self.blink = np.asarray(blink, np.float64)
        self.wide = np.asarray(wide, np.float64)
        N = np.asarray(neutral, np.float64)
        if self.blink.shape != (2, 68, 3) or self.wide.shape != (2, 68, 3) or N.shape != (68, 3):
            raise ValueError(f"eye match needs (2, 68, 3) fields and (68, 3) neutral points, got "
                             f"{self.blink.shape}, {self.wide.shape}, {N.shape}")
        self.axes = lid_axes(N)  # (2, 3) each eye's opening direction
        self.o_n = openings(N, self.axes)  # (2,) the avatar's neutral opening
        # (2,) the opening one unit of each field adds (negative for eyeBlink), on the neutral's corners
        self.k_blink = np.array([openings(N + self.blink[e], self.axes)[e] for e in range(2)]) - self.o_n
        self.k_wide = np.array([openings(N + self.wide[e], self.axes)[e] for e in range(2)]) - self.o_n
        if not (np.all(self.k_blink < 0) and np.all(self.k_wide > 0)):
            raise ValueError("the eyeBlink fields must close and the eyeWide fields open the eyes")
        self.o_c = self.o_n + self.k_blink  # (2,) with a full blink
        self.max_gap = float(max_gap)
        self.last_u = np.ones(2)
        self.last_fraction = np.ones(2)  # (2,) the corrected lids' opening over the neutral's, last call
        self.set_smoothing(smoothing)

    @staticmethod
    def openness(ratio: np.ndarray) -> np.ndarray:
        """u of the module's equation from rho (2,) -> (2,) in [0, U_MAX]."""
        rho = np.nan_to_num(np.asarray(ratio, np.float64), nan=1.0)
        return np.clip((rho - CLOSED) / (1.0 - CLOSED), 0.0, U_MAX)

    def targets(self, u: np.ndarray) -> np.ndarray:
        """The avatar's target openings o* (2,) for u (2,)."""
        return self.o_c + np.asarray(u, np.float64) * (self.o_n - self.o_c)

    def __call__(self, P: np.ndarray, ratio: np.ndarray, t: float | None = None) -> np.ndarray:
        """P (68, 3) the decoded landmark vertices, ratio (2,) the user's rho per eye, t seconds (the
        filter; None: unfiltered). -> (4,) r in the order eyeBlinkLeft, eyeBlinkRight, eyeWideLeft,
        eyeWideRight (the expression layer's :data:`models.expression_layer.LAYER_NAMES`)."""
        u = self.openness(ratio)
        u = np.clip(self.smooth(u, t), 0.0, U_MAX)
        self.last_u = u
        now, goal = openings(P, self.axes), self.targets(u)
        r = np.zeros(4)
        for e in range(2):
            if goal[e] <= now[e]:  # close: eyeBlink
                r[e] = min((goal[e] - now[e]) / self.k_blink[e], R_BLINK[1])
                continue
            upto = min(goal[e], max(now[e], self.o_n[e]))  # open up to the neutral: a negative eyeBlink
            r[e] = max((upto - now[e]) / self.k_blink[e], R_BLINK[0])
            reached = now[e] + r[e] * self.k_blink[e]
            if goal[e] > reached:  # beyond the neutral: eyeWide
                r[2 + e] = float(np.clip((goal[e] - reached) / self.k_wide[e], *R_WIDE))
        self.last_fraction = (now + r[:2] * self.k_blink + r[2:] * self.k_wide) / self.o_n
        return r
