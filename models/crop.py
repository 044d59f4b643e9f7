"""Face crop I (S x S) from a frame, and the box that defines it (paper sec. 4: 256 x 256).

A box is ``(x0, y0, side)`` in frame pixels: the square that is resized to the crop.
Frame point p maps to crop point ``(p - (x0, y0)) * S / side`` (pixel centres at integers).
The box is derived from the 68 landmarks so that training crops (studio) and live crops
(tracker) are framed identically; the framing matches :func:`models.i2znet.default_pose`.
"""

from __future__ import annotations

import cv2
import numpy as np

# landmark bbox -> box: side = SIDE_PER_EXTENT * max(w, h); centre shifted up by UP * side
SIDE_PER_EXTENT = 1.5
UP = 0.07


def box_from_landmarks(points: np.ndarray) -> np.ndarray:
    """Square crop box around 68 landmarks. (68, 2) -> (3,) = (x0, y0, side)."""
    p = np.asarray(points, np.float64)
    lo, hi = np.nanmin(p, 0), np.nanmax(p, 0)
    side = SIDE_PER_EXTENT * float(max(hi - lo))
    cx, cy = (lo + hi) / 2.0
    cy -= UP * side
    return np.array([cx - side / 2.0, cy - side / 2.0, side], np.float64)


def crop_matrix(box: np.ndarray, S: int) -> np.ndarray:
    """2x3 affine matrix taking frame pixels to crop pixels."""
    s = S / float(box[2])
    return np.array([[s, 0.0, -box[0] * s], [0.0, s, -box[1] * s]], np.float64)


def crop(frame: np.ndarray, box: np.ndarray, S: int) -> np.ndarray:
    """Resample the box of a frame into an S x S crop (bilinear, area-averaged when shrinking).

    Shape: frame (H, W, 3) uint8 -> (S, S, 3) uint8
    """
    s = S / float(box[2])
    src = frame
    M = crop_matrix(box, S)
    if s < 0.5:  # pre-shrink to avoid aliasing
        k = int(1.0 / s / 1.5)
        if k >= 2:
            src = cv2.resize(frame, (frame.shape[1] // k, frame.shape[0] // k), interpolation=cv2.INTER_AREA)
            fx = frame.shape[1] / src.shape[1]
            fy = frame.shape[0] / src.shape[0]
            M = M @ np.array([[fx, 0.0, (fx - 1) / 2], [0.0, fy, (fy - 1) / 2], [0.0, 0.0, 1.0]])
    return cv2.warpAffine(src, M, (S, S), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def to_crop(points: np.ndarray, box: np.ndarray, S: int) -> np.ndarray:
    """Frame pixels -> crop pixels. (..., 2) -> (..., 2)."""
    return (np.asarray(points, np.float64) - box[:2]) * (S / box[2])


def to_frame(points: np.ndarray, box: np.ndarray, S: int) -> np.ndarray:
    """Crop pixels -> frame pixels. (..., 2) -> (..., 2)."""
    return np.asarray(points, np.float64) * (box[2] / S) + box[:2]


class BoxSmoother:
    """Exponential smoothing of the crop box across frames; resets on a large jump.

    ``strength`` in [0, 1): 0 = no smoothing. A jump larger than ``reset_frac`` of the side
    (re-detection, fast motion) restarts from the new box so the crop never lags far behind.
    """

    def __init__(self, strength: float = 0.5, reset_frac: float = 0.25) -> None:
        self.strength = strength
        self.reset_frac = reset_frac
        self.box: np.ndarray | None = None

    def reset(self) -> None:
        self.box = None

    def __call__(self, box: np.ndarray) -> np.ndarray:
        box = np.asarray(box, np.float64)
        if self.box is None:
            self.box = box.copy()
            return self.box.copy()
        centre_new = box[:2] + box[2] / 2
        centre_old = self.box[:2] + self.box[2] / 2
        jump = np.abs(centre_new - centre_old).max() / self.box[2]
        if jump > self.reset_frac or abs(box[2] / self.box[2] - 1) > self.reset_frac:
            self.box = box.copy()
        else:
            a = self.strength
            centre = a * centre_old + (1 - a) * centre_new
            side = a * self.box[2] + (1 - a) * box[2]
            self.box = np.array([centre[0] - side / 2, centre[1] - side / 2, side])
        return self.box.copy()
