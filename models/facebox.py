"""Face boxes for the 68-point landmark detectors (``models/landmarks.py``).

Two face-box detectors, both offline and CPU-only:

* ``hog``: dlib's HOG + linear SVM frontal face detector (``dlib.get_frontal_face_detector``).
  Its boxes are what dlib's 68-point shape predictor was trained on.
* ``haar``: OpenCV's Viola-Jones Haar cascade (``haarcascade_frontalface_default.xml``). Its
  boxes sit higher on the face than HOG boxes; they are mapped to HOG-like boxes
  (:data:`HAAR_TO_HOG`) so that the shape predictor sees the geometry it was trained on.

Plus the geometry around them: a face frame from stable landmarks (nose and eye corners, which
move little with expression), the HOG-like box implied by a set of points, the eye/nose patch
whose correlation tells the tracker that a fit still sits on the face, and face-alignment's FAN
crop and heatmap decoding.

Conventions: a box is ``(x0, y0, x1, y1)`` floats with the centre of pixel (col c, row r) at
(c, r), so a dlib rectangle ``(left, top, right, bottom)`` (inclusive) maps to itself and an
OpenCV ``(x, y, w, h)`` maps to ``(x, y, x + w - 1, y + h - 1)``.
"""

from __future__ import annotations

from typing import Protocol

import cv2
import numpy as np

Box = tuple[float, float, float, float]

# Stable iBUG points: nose ridge and base (27-35), outer and inner eye corners.
STABLE_POINTS = (27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 39, 42, 45)

# A dlib HOG box in the face frame of the 68 points it produced, (cx, cy, w, h) in units of the
# frame scale (RMS spread of STABLE_POINTS). Median over 56 real frames (../shared/data/real).
HOG_RELATION = np.array([-0.07, 0.36, 5.34, 5.34])

# Haar box -> HOG box: centre shift (dx, dy) and size ratio, in units of the Haar box width.
# Median over the same frames: Haar boxes sit ~0.09 widths higher and are ~10% larger.
HAAR_TO_HOG = (0.0, 0.09, 0.90)


class BoxDetector(Protocol):
    """Finds face boxes in a grey image: ``[(box, score), ...]``, largest first."""

    name: str

    def __call__(self, gray: np.ndarray) -> list[tuple[Box, float]]: ...


def to_gray(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) BGR or (H, W) uint8 -> (H, W) uint8 contiguous."""
    if image.ndim == 2:
        return np.ascontiguousarray(image, dtype=np.uint8)
    return cv2.cvtColor(np.ascontiguousarray(image, dtype=np.uint8), cv2.COLOR_BGR2GRAY)


def _downscale(gray: np.ndarray, max_side: int | None) -> tuple[np.ndarray, float]:
    """Shrink so that the longer side is <= max_side; returns (image, factor <= 1)."""
    side = max(gray.shape[:2])
    if max_side is None or side <= max_side:
        return gray, 1.0
    f = max_side / side
    size = (max(1, round(gray.shape[1] * f)), max(1, round(gray.shape[0] * f)))
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA), f


def unscale_box(box: Box, f: float) -> Box:
    """Pixel-centre coordinates in an image resized by f back to the original image."""
    if f == 1.0:
        return box
    return tuple((v + 0.5) / f - 0.5 for v in box)  # type: ignore[return-value]


def _sort_largest_first(found: list[tuple[Box, float]]) -> list[tuple[Box, float]]:
    return sorted(found, key=lambda bs: -box_area(bs[0]))


class HogBoxDetector:
    """dlib HOG frontal faces (>= ~80 px at ``upsample=0``); score = SVM margin."""

    name = "hog"

    def __init__(self, upsample: int = 0, threshold: float = 0.0, max_side: int | None = None) -> None:
        import dlib

        self.upsample, self.threshold, self.max_side = upsample, threshold, max_side
        self._detector = dlib.get_frontal_face_detector()

    def clone(self) -> HogBoxDetector:
        """The same detector with its own dlib object (one object must not run in two threads)."""
        return HogBoxDetector(self.upsample, self.threshold, self.max_side)

    def __call__(self, gray: np.ndarray) -> list[tuple[Box, float]]:
        small, f = _downscale(to_gray(gray), self.max_side)
        rects, scores, _ = self._detector.run(small, self.upsample, self.threshold)
        found = [
            (unscale_box((float(r.left()), float(r.top()), float(r.right()), float(r.bottom())), f), float(s))
            for r, s in zip(rects, scores)
        ]
        return _sort_largest_first(found)


class HaarBoxDetector:
    """OpenCV Haar cascade faces, mapped to HOG-like boxes; score = number of merged hits."""

    name = "haar"

    def __init__(
        self,
        scale_factor: float = 1.1,
        min_neighbors: int = 5,
        min_size: int = 60,
        max_side: int | None = None,
        hog_like: bool = True,
    ) -> None:
        path = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"
        self._cascade = cv2.CascadeClassifier(path)
        if self._cascade.empty():
            raise RuntimeError(f"could not load the OpenCV Haar cascade {path}")
        self.scale_factor, self.min_neighbors, self.min_size = scale_factor, min_neighbors, min_size
        self.max_side, self.hog_like = max_side, hog_like

    def clone(self) -> HaarBoxDetector:
        """The same detector with its own cascade (one object must not run in two threads)."""
        return HaarBoxDetector(self.scale_factor, self.min_neighbors, self.min_size, self.max_side, self.hog_like)

    def __call__(self, gray: np.ndarray) -> list[tuple[Box, float]]:
        small, f = _downscale(to_gray(gray), self.max_side)
        min_size = max(1, round(self.min_size * f))
        rects, counts = self._cascade.detectMultiScale2(
            small, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors, minSize=(min_size,) * 2
        )
        found = []
        for (x, y, w, h), n in zip(np.reshape(rects, (-1, 4)), np.ravel(counts)):
            box: Box = (float(x), float(y), float(x + w - 1), float(y + h - 1))
            if self.hog_like:
                dx, dy, k = HAAR_TO_HOG
                cx, cy, half = x + (w - 1) / 2 + dx * w, y + (h - 1) / 2 + dy * w, k * (w - 1) / 2
                box = (float(cx - half), float(cy - half), float(cx + half), float(cy + half))
            found.append((unscale_box(box, f), float(n)))
        return _sort_largest_first(found)


def make_box_detector(name: str | BoxDetector = "hog", **kw) -> BoxDetector:
    """``"hog"`` | ``"haar"`` (keyword arguments go to the detector), or a ready detector."""
    if not isinstance(name, str):
        return name
    if name == "hog":
        return HogBoxDetector(**kw)
    if name == "haar":
        return HaarBoxDetector(**kw)
    raise ValueError(f"unknown face-box detector {name!r}; use 'hog' or 'haar'")


# --- box geometry -------------------------------------------------------------------------


def box_area(box: Box) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def box_size(box: Box) -> float:
    """Geometric mean of width and height (pixels)."""
    return float(np.sqrt(box_area(box)))


def box_iou(a: Box, b: Box) -> float:
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(0.0, iw) * max(0.0, ih)
    union = box_area(a) + box_area(b) - inter
    return inter / union if union > 0 else 0.0


def grow_box(box: Box, factor: float) -> Box:
    """Scale a box about its centre."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    hw, hh = (box[2] - box[0]) / 2 * factor, (box[3] - box[1]) / 2 * factor
    return (cx - hw, cy - hh, cx + hw, cy + hh)


def points_bbox(points: np.ndarray) -> Box:
    """(N, 2) -> tight bounding box."""
    lo, hi = points.min(0), points.max(0)
    return (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))


def face_frame(points: np.ndarray) -> tuple[np.ndarray, float]:
    """(68, 2) -> (centre (2,), scale): mean and RMS spread of the stable points."""
    s = np.asarray(points, np.float64)[list(STABLE_POINTS)]  # (13, 2)
    c = s.mean(0)
    return c, float(np.sqrt(((s - c) ** 2).sum(1).mean()))


def box_relation(box: Box, points: np.ndarray) -> np.ndarray:
    """Box in the face frame of ``points``: (4,) = (cx, cy, w, h) / scale, centre relative."""
    c, s = face_frame(points)
    s = max(s, 1e-6)
    bc = np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])
    return np.array([*((bc - c) / s), (box[2] - box[0]) / s, (box[3] - box[1]) / s])


def box_from_points(points: np.ndarray, relation: np.ndarray = HOG_RELATION) -> Box:
    """Inverse of :func:`box_relation`: the (HOG-like) box implied by 68 points."""
    c, s = face_frame(points)
    cx, cy = c + relation[:2] * s
    hw, hh = relation[2] * s / 2, relation[3] * s / 2
    return (float(cx - hw), float(cy - hh), float(cx + hw), float(cy + hh))


def face_patch(gray: np.ndarray, points: np.ndarray, size: int = 32, extent: float = 2.0) -> np.ndarray:
    """Zero-mean, unit-norm grey patch around the eyes and nose: (size * size,) float32.

    The square spans ``extent`` face-frame scales either side of the stable-point centre; the
    dot product of two patches is their normalised cross-correlation (0 for a flat patch).
    """
    c, s = face_frame(points)
    h, (H, W) = extent * s, gray.shape[:2]
    x0, y0 = max(0, round(c[0] - h)), max(0, round(c[1] - h))
    x1, y1 = min(W, round(c[0] + h) + 1), min(H, round(c[1] + h) + 1)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return np.zeros(size * size, np.float32)
    p = cv2.resize(gray[y0:y1, x0:x1], (size, size), interpolation=cv2.INTER_AREA).astype(np.float32).ravel()
    p -= p.mean()
    n = float(np.linalg.norm(p))
    return p / n if n > 1e-3 * size else np.zeros_like(p)


# --- FAN crops and heatmaps ---------------------------------------------------------------

# iBUG left/right mirror permutation (jaw, brows, nose base, eyes, mouth).
IBUG_MIRROR = np.array(
    [*range(16, -1, -1), *range(26, 16, -1), 27, 28, 29, 30, 35, 34, 33, 32, 31, 45, 44, 43, 42, 47, 46,
     39, 38, 37, 36, 41, 40, 54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55, 64, 63, 62, 61, 60, 67, 66, 65]
)  # fmt: skip


def fan_crop(box: Box, res: int = 256) -> tuple[np.ndarray, np.ndarray, float]:
    """face-alignment's crop for a face box: centre raised by 0.12 box heights, square side
    ``200 * (w + h) / 195``. Returns the (2, 3) frame -> crop affine (pixel centres), the crop's
    top-left corner (2,) in frame pixels and its side in frame pixels; crop pixel u sits at frame
    ``x = corner + (u + 0.5) * side / res``."""
    x0, y0, x1, y1 = box
    side = 200.0 * ((x1 - x0) + (y1 - y0)) / 195.0
    corner = np.array([(x0 + x1) / 2 - side / 2, (y0 + y1) / 2 - 0.12 * (y1 - y0) - side / 2])
    a = side / res  # frame pixels per crop pixel
    M = np.array([[1 / a, 0, -corner[0] / a - 0.5], [0, 1 / a, -corner[1] / a - 0.5]])
    return M, corner, side


def decode_heatmaps(hm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(68, R, R) heatmaps -> argmax points (68, 2) with face-alignment's quarter-pixel nudge
    towards the higher neighbour, in heatmap pixel-centre coords, and the peak values (68,)."""
    n, r, _ = hm.shape
    idx = hm.reshape(n, -1).argmax(1)
    py, px = np.divmod(idx, r)
    peak = hm[np.arange(n), py, px]
    pts = np.stack([px, py], 1).astype(np.float64)
    inner = (px > 0) & (px < r - 1) & (py > 0) & (py < r - 1)
    k, xi, yi = np.nonzero(inner)[0], px[inner], py[inner]
    dx = hm[k, yi, xi + 1] - hm[k, yi, xi - 1]
    dy = hm[k, yi + 1, xi] - hm[k, yi - 1, xi]
    pts[k] += 0.25 * np.sign(np.stack([dx, dy], 1))
    return pts, peak
