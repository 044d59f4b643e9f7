"""Face identity descriptor: dlib's face recognition ResNet (128-D embedding per face).

:class:`FaceDescriptor` wraps ``dlib.face_recognition_model_v1`` with the model file
``dlib_face_recognition_resnet_model_v1.dat`` shipped by the ``face-recognition-models``
package (the same package that ships the 68-point predictor used by
:class:`models.landmarks.DlibLandmarks`; the file is found next to it through
:func:`models.landmarks.dlib_model_path`, without importing the package, whose ``__init__``
needs ``pkg_resources``). ``describe`` aligns the face from the caller's 68 points (dlib's
``get_face_chip`` alignment, 150 x 150 chip, padding 0.25) and returns the 128-D descriptor;
``distance`` is the Euclidean distance between two descriptors. dlib's own same-person
threshold is :data:`SAME_PERSON_THRESHOLD` = 0.6 (lower = more alike; dlib reports 99.38 % on
LFW with it). Enrollment uses it as the *identity distance* between a rendered avatar and the
real face (issue 17).

Licence: face-recognition-models 0.3.0 (site-packages metadata) declares "License: MIT
license" for the package and its README says the models "were created by Davis King
(https://github.com/davisking/dlib-models) and are licensed in the public domain or under
CC0 1.0 Universal"; its LICENSE file is the CC0 1.0 text. The dlib-models README says Davis
King released the model files into the public domain, and for the 68-point shape predictor
that its training set (iBUG 300-W) has a licence excluding commercial use, so that model must
not be used in a commercial product. The ResNet descriptor used here carries no such note;
this project still treats the 68-point predictor (``models.landmarks``) as non-commercial.
Landmarks from other backends (FAN) can be passed to ``describe`` as well.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from models.landmarks import LandmarkModelMissing, dlib_model_path

SAME_PERSON_THRESHOLD = 0.6
MODEL_FILE = "dlib_face_recognition_resnet_model_v1.dat"
INSTALL_HINT = "pip install dlib face-recognition-models"


class FaceDescriptorMissing(RuntimeError):
    """dlib or the face recognition ResNet model file is not installed."""


def descriptor_model_path() -> Path:
    """Where face-recognition-models keeps the ResNet descriptor (next to the 68-point model)."""
    try:
        return dlib_model_path().parent / MODEL_FILE
    except LandmarkModelMissing as e:
        raise FaceDescriptorMissing(
            f"the dlib face recognition model comes from the 'face-recognition-models' package: {INSTALL_HINT}"
        ) from e


class FaceDescriptor:
    """128-D dlib face descriptor of a face given by its 68 iBUG landmarks.

    ``FaceDescriptor(model_path=None)`` loads the ResNet (about 0.1 s, 22 MB); raises
    :class:`FaceDescriptorMissing` with an install hint when dlib or the model file is missing.
    ``describe`` costs ~15-30 ms per face on one CPU core.
    """

    def __init__(self, model_path: str | os.PathLike | None = None) -> None:
        try:
            import dlib
        except ImportError as e:
            raise FaceDescriptorMissing(f"the face identity descriptor needs dlib ({e}): {INSTALL_HINT}") from e
        path = Path(model_path) if model_path is not None else descriptor_model_path()
        if not path.is_file():
            raise FaceDescriptorMissing(f"dlib face recognition model not found at {path}: {INSTALL_HINT}")
        self._dlib = dlib
        self.model_path = path
        self._net = dlib.face_recognition_model_v1(str(path))

    def describe(self, image_bgr: np.ndarray, landmarks68: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 BGR frame + (68, 2) (x, y) frame pixels -> (128,) float64 descriptor.

        The points are rounded to integer pixels (dlib's ``point``); the rectangle is their
        bounding box (dlib's alignment uses only the points).
        """
        img = np.asarray(image_bgr)
        pts = np.asarray(landmarks68, np.float64)
        if img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f"image_bgr must be (H, W, 3), got {img.shape}")
        if pts.shape != (68, 2) or not np.all(np.isfinite(pts)):
            raise ValueError(f"landmarks68 must be finite (68, 2), got {pts.shape}")
        if img.dtype != np.uint8:
            raise ValueError(f"image_bgr must be uint8, got {img.dtype}")
        rgb = np.ascontiguousarray(img[:, :, ::-1])
        dl = self._dlib
        ip = np.rint(pts).astype(int)
        x0, y0 = ip.min(0)
        x1, y1 = ip.max(0)
        rect = dl.rectangle(int(x0), int(y0), int(x1), int(y1))
        shape = dl.full_object_detection(rect, [dl.point(int(x), int(y)) for x, y in ip])
        return np.asarray(self._net.compute_face_descriptor(rgb, shape, num_jitters=0), np.float64)

    @staticmethod
    def distance(a: np.ndarray, b: np.ndarray) -> float:
        """Euclidean distance between two (128,) descriptors (< 0.6: same person for dlib)."""
        return distance(a, b)


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """Euclidean distance between two descriptors of the same shape -> float."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"descriptor shapes differ: {a.shape} vs {b.shape}")
    return float(np.linalg.norm(a - b))
