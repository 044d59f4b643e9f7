"""Landmark detectors the app can give the tracker, chosen by ``--landmarks``.

``auto`` picks ``oracle`` (the synthetic source's ground truth) for the synthetic actor and
``dlib`` (offline, non-commercial model) for cameras and videos, and says which.
"""

from __future__ import annotations

import numpy as np

from models.facebox import box_area, points_bbox
from models.landmarks import Face

LANDMARK_BACKENDS = ("auto", "dlib", "fan", "oracle")


class GroundTruthDetector:
    """Oracle for synthetic sources: the capture packet's ground truth, set before each frame.

    Implements what :class:`models.tracker.Tracker` needs (``update``, ``reset``,
    ``n_faces_last_detection``) plus ``detect`` like a :class:`LandmarkDetector`.
    """

    def __init__(self) -> None:
        self.truth: np.ndarray | None = None
        self.n_faces_last_detection = 0

    def set_truth(self, truth: np.ndarray | None) -> None:
        """(K, 68, 2) frame pixels (K may be 0) or None (no ground truth = no face)."""
        self.truth = truth

    def detect(self, image_bgr: np.ndarray) -> list[Face]:
        if self.truth is None:
            return []
        pts = np.asarray(self.truth, np.float32).reshape(-1, 68, 2)
        faces = [Face(points_bbox(p), p, 1.0) for p in pts]
        return sorted(faces, key=lambda f: -box_area(f.box))

    def update(self, image_bgr: np.ndarray) -> Face | None:
        faces = self.detect(image_bgr)
        self.n_faces_last_detection = len(faces)
        return faces[0] if faces else None

    def reset(self) -> None:
        pass


def make_landmarks(name: str, source_kind: str) -> tuple[object, str]:
    """A tracker detector for ``name`` and the source kind. -> (detector, description)

    Raises ValueError (oracle without ground truth) or the backend's own error with its
    message (e.g. :class:`models.landmarks.LandmarkModelMissing`).
    """
    if name not in LANDMARK_BACKENDS:
        raise ValueError(f"unknown landmark backend {name!r}; use one of {LANDMARK_BACKENDS}")
    if name == "auto":
        name = "oracle" if source_kind == "synthetic" else "dlib"
    if name == "oracle":
        if source_kind != "synthetic":
            raise ValueError("--landmarks oracle needs the synthetic source (it reads its ground truth)")
        return GroundTruthDetector(), "landmarks: synthetic ground truth (oracle)"
    from models.landmark_tracking import TrackingLandmarks
    from models.landmarks import make_detector

    det = TrackingLandmarks(make_detector(name))
    note = "landmarks: dlib 68-point (non-commercial model)" if name == "dlib" else "landmarks: FAN"
    return det, note
