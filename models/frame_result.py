"""What the tracker gives per frame (:class:`FrameResult`) and its stage-1 half (:class:`Prepared`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch


@dataclass(frozen=True)
class FrameResult:
    """Everything one frame produced. Arrays are numpy on the CPU.

    box (3,) = (x0, y0, side) frame pixels; z (Z,); H_crop, H_frame (6,); G (V, 3) rigid-free;
    texture (3, T, T) colour-corrected in [0, 1]; landmarks (68, 2) the projected model landmarks
    with the per-person corrective (:mod:`models.landmark_identity`; without it when off), frame
    pixels; model_landmarks (68, 2) the avatar's own projected landmarks; detected (68, 2) detector
    points in frame pixels; timings in ms.
    expressions (K,) ARKit-named weights in [0, 1] (names in ``expression_names``; today from the
    detector's points, :mod:`models.landmark_expressions`); gaze (2, 2) yaw/pitch radians per eye
    (subject's left, right; :mod:`models.gaze`: from the iris in the frame) or None when off.
    """

    index: int
    timestamp: float
    found: bool
    message: str = ""
    n_faces: int = 0
    box: np.ndarray | None = None
    crop_size: int = 0
    z: np.ndarray | None = None
    H_crop: np.ndarray | None = None
    H_frame: np.ndarray | None = None
    G: np.ndarray | None = None
    texture: np.ndarray | None = None
    landmarks: np.ndarray | None = None
    detected: np.ndarray | None = None
    timings: dict = field(default_factory=dict)
    expressions: np.ndarray | None = None
    expression_names: tuple[str, ...] = ()
    gaze: np.ndarray | None = None
    model_landmarks: np.ndarray | None = None


@dataclass
class Prepared:
    """A frame after :meth:`Tracker.prepare` (stage 1): the detector's face (None: no face), the
    smoothed box (3,), the crop x (1, 3, S, S) and its keypoints K (1, 68, 2), the landmark rule's
    weights (K,) or None, the gaze (2, 2) or None, timings in ms, the fitted ARKit weights (34,) of
    :mod:`models.landmark_fit` or None, the eye openings over their open level (2,) for eye matching
    (:mod:`models.eye_match`) or None, the inner-lip gap above its closed level for mouth matching
    (:mod:`models.mouth_match`) or None."""

    index: int
    timestamp: float
    face: object | None
    n_faces: int
    box: np.ndarray | None = None
    x: torch.Tensor | None = None
    K: torch.Tensor | None = None
    rule: np.ndarray | None = None
    gaze: np.ndarray | None = None
    timings: dict = field(default_factory=dict)
    fitted: np.ndarray | None = None
    eyes: np.ndarray | None = None
    mouth: float | None = None
