"""Mouth matching: the avatar's lips part as far as the user's (beyond the paper).

The encoder reads the jaw from the crop (mouth-opening r 0.90 against per-frame dlib on the shared
real clips, where its own input points reach 0.97, docs/expression_layer.md). As for the eyes
(:mod:`models.eye_match`), the expression layer measures the decoded inner lips and adds the
template's jawOpen field until they part as far as the user's:

    gap   = max(x - n, 0)                  the user's inner-lip opening x (|62-66| over |36-45|) above
                                           their closed level n (the jawOpen rule's running P5,
                                           :mod:`models.landmark_expressions`)
    o*    = o_n + gap                      the avatar's target: its neutral opening plus the same gap in
                                           the same unit (the outer-eye-corner distance)
    G'    = G + r_j B_jawOpen              r_j = (o* - opening(G)) / opening'(B_jawOpen), in [-1, 1.5]

``opening`` is the lips' 62 -> 66 vector along the face's down axis (27 -> 8 of the neutral) over
|36-45|: signed and linear in the vertices, so r_j has a closed form, and o* >= o_n keeps the lips
from passing through each other. The gap is smoothed by a 1-euro filter in the speech band
(:class:`MouthMatch`); with z's 4 Hz it lagged syllables (mouth-open r 0.935 instead of 0.958).
"""

from __future__ import annotations

import numpy as np

from .filters import OneEuroConfig, Smoothed

R_JAW = (-1.0, 1.5)
GAP_MAX = 0.6  # the widest gap followed, in outer-eye-corner distances (a wide yawn is ~0.5)


def mouth_opening(P: np.ndarray, axis: np.ndarray) -> float:
    """Signed inner-lip opening of 68 points P (68, D) along ``axis`` (D,) over |36-45|."""
    P = np.asarray(P, np.float64)
    s = max(float(np.linalg.norm(P[45] - P[36])), 1e-12)
    return float((P[66] - P[62]) @ axis) / s


class MouthMatch(Smoothed):
    """jawOpen residual that brings the decoded inner lips to the user's gap.

    ``jaw`` (68, 3): the template's jawOpen field at the landmark vertices; ``neutral`` (68, 3): the
    avatar's neutral landmark vertices (D(z*(0))); ``smoothing``: the tracker's 1-euro settings (None:
    off); the gap is filtered at half their rest cut-off and a beta of 25 Hz per unit/s: the same 5 Hz
    per span/s as the eyes' u, for a signal whose span is ~0.2 (a spoken syllable opens ~0.2 in ~0.1 s).
    """

    rest, beta = 0.5, 25.0

    def __init__(self, jaw: np.ndarray, neutral: np.ndarray, smoothing: OneEuroConfig | None = None,
                 max_gap: float = 0.5) -> None:
        self.jaw = np.asarray(jaw, np.float64)
        N = np.asarray(neutral, np.float64)
        if self.jaw.shape != (68, 3) or N.shape != (68, 3):
            raise ValueError(f"mouth match needs a (68, 3) field and (68, 3) neutral points, got "
                             f"{self.jaw.shape}, {N.shape}")
        down = N[8] - N[27]
        self.axis = down / max(float(np.linalg.norm(down)), 1e-12)  # (3,) the face's down axis
        self.o_n = mouth_opening(N, self.axis)
        self.k_jaw = mouth_opening(N + self.jaw, self.axis) - self.o_n
        if not self.k_jaw > 0:
            raise ValueError("the jawOpen field must part the lips")
        self.max_gap = float(max_gap)
        self.last_gap = 0.0
        self.set_smoothing(smoothing)

    def __call__(self, P: np.ndarray, gap: float, t: float | None = None) -> float:
        """P (68, 3) the decoded landmark vertices, ``gap`` the user's opening above their closed level
        (interoculars), t seconds (the filter; None: unfiltered). -> r_j, the jawOpen weight to add."""
        g = float(np.clip(np.nan_to_num(gap, nan=0.0), 0.0, GAP_MAX))
        g = float(np.clip(self.smooth(np.array([g]), t)[0], 0.0, GAP_MAX))
        self.last_gap = g
        now = mouth_opening(P, self.axis)
        return float(np.clip((self.o_n + g - now) / self.k_jaw, *R_JAW))
