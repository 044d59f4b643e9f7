"""Read an enrollment clip: frames, per-frame 68 landmarks, and the checks of bad input
(issue 17, items 1, 5 and 6).

The first ``1 - HOLD_BACK`` of the clip (in time) is for enrollment, the rest is held back for
verification. Landmarks come from dlib's 68-point predictor on HOG boxes found in every
analysed frame (the same independent detector the benchmarks score against).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from models.files import save_npz, sha256

HOLD_BACK = 0.2
MIN_SECONDS = 5.0
MIN_USABLE = 30  # analysed frames with exactly one well-detected face
MAX_ANALYSED = 360  # frames of a clip that are decoded and detected (evenly spaced)
MAX_SIDE = 640  # frames are downscaled to this longer side before detection
DARK_LUMA = 45.0  # mean face luminance (0-255) below which the clip is too dark
SECOND_FACE = 0.35  # a second face at least this fraction of the main face's area counts


class EnrollInputError(ValueError):
    """Bad enrollment input. ``redo``: the recording prompts to do again (may be empty)."""

    def __init__(self, message: str, redo: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.redo = tuple(redo)


@dataclass
class EnrollClip:
    """Decoded frames (N, h, w, 3) uint8 RGB at analysis size, their landmarks (N, 68, 2)
    (NaN where unusable), source frame numbers (N,), fps, the clip's sha256, its frame count,
    and the held-back split (``train`` / ``held`` boolean masks over N)."""

    frames: np.ndarray
    landmarks: np.ndarray
    index: np.ndarray
    fps: float
    sha256: str
    total_frames: int
    scale: float  # analysis pixels per source pixel

    @property
    def usable(self) -> np.ndarray:
        return ~np.isnan(self.landmarks[:, 0, 0])

    @property
    def held(self) -> np.ndarray:
        return self.index >= int(round((1.0 - HOLD_BACK) * self.total_frames))

    @property
    def train(self) -> np.ndarray:
        return ~self.held

    def save(self, path: Path) -> None:
        save_npz(path, frames=self.frames, landmarks=self.landmarks, index=self.index, fps=self.fps,
                 sha256=self.sha256, total_frames=self.total_frames, scale=self.scale)

    @classmethod
    def load(cls, path: Path) -> EnrollClip:
        with np.load(path) as z:
            return cls(z["frames"], z["landmarks"], z["index"], float(z["fps"]), str(z["sha256"]),
                       int(z["total_frames"]), float(z["scale"]))


def _probe(path: Path) -> tuple[cv2.VideoCapture, int, float]:
    if not path.is_file():
        raise EnrollInputError(f"the clip {path} does not exist")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise EnrollInputError(f"cannot read {path} as a video (is it an mp4/avi/mov file?)")
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    fps = float(cap.get(cv2.CAP_PROP_FPS)) or 30.0
    if n <= 0:  # some containers do not say: count by decoding
        n = 0
        while cap.grab():
            n += 1
        cap.release()
        cap = cv2.VideoCapture(str(path))
    return cap, n, fps


def read_clip(path: str | Path, detector=None, progress=None, cancel=None,
              max_frames: int = MAX_ANALYSED) -> EnrollClip:
    """Decode up to ``max_frames`` evenly spaced frames and detect their landmarks.

    Raises :class:`EnrollInputError` for a missing/unreadable clip, a clip shorter than
    ``MIN_SECONDS``, no face, several faces, too dark, or too few usable frames."""
    from models.landmarks import DlibLandmarks

    path = Path(path)
    cap, n, fps = _probe(path)
    if n / fps < MIN_SECONDS:
        cap.release()
        raise EnrollInputError(f"the clip is {n / fps:.1f} s long; record at least {MIN_SECONDS:.0f} s "
                               "(about 30 s, following the prompts, works best)")
    want = set(np.linspace(0, n - 1, min(n, max_frames)).round().astype(int).tolist())
    det = detector or DlibLandmarks("hog")
    frames, lms, idx, counts, lumas, frame_lumas = [], [], [], [], [], []
    scale = 1.0
    for i in range(n):
        ok = cap.grab()
        if not ok:
            break
        if i not in want:
            continue
        ok, bgr = cap.retrieve()
        if not ok:
            continue
        scale = min(1.0, MAX_SIDE / max(bgr.shape[:2]))
        if scale < 1.0:
            bgr = cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        faces = det.detect(bgr)
        areas = [(f.box[2] - f.box[0]) * (f.box[3] - f.box[1]) for f in faces]
        big = [a for a in areas if areas and a >= SECOND_FACE * max(areas)]
        counts.append(len(big))
        pts = np.full((68, 2), np.nan, np.float32)
        if len(big) == 1:
            pts = faces[0].points.astype(np.float32)
            x0, y0 = np.maximum(pts.min(0).astype(int), 0)
            x1, y1 = pts.max(0).astype(int)
            lumas.append(float(cv2.cvtColor(bgr[y0:y1 + 1, x0:x1 + 1], cv2.COLOR_BGR2GRAY).mean()))
        frame_lumas.append(float(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY).mean()))
        frames.append(np.ascontiguousarray(bgr[..., ::-1]))
        lms.append(pts)
        idx.append(i)
        if progress and len(idx) % 10 == 0:
            progress(len(idx), len(want))
        if cancel and cancel():
            cap.release()
            raise KeyboardInterrupt("cancelled")
    cap.release()
    counts = np.array(counts)
    dark = "the clip is too dark (%s brightness {:.0f}/255): turn on a light in front of you, not behind you, " \
        "and record again"
    if len(counts) == 0 or (counts == 0).mean() > 0.6:
        if frame_lumas and np.median(frame_lumas) < DARK_LUMA:  # no face found because nothing is lit
            raise EnrollInputError((dark % "picture").format(np.median(frame_lumas)), redo=("look_straight",))
        raise EnrollInputError("no face was found in most of the clip: sit facing the camera, about an arm's "
                               "length away, with your whole face in the picture", redo=("look_straight",))
    if (counts >= 2).mean() > 0.2:
        raise EnrollInputError("several faces are in the picture: enroll one person at a time, with nobody "
                               "else (or no poster/photo of a face) in view")
    if lumas and np.median(lumas) < DARK_LUMA:
        raise EnrollInputError((dark % "face").format(np.median(lumas)), redo=("look_straight",))
    clip = EnrollClip(np.stack(frames), np.stack(lms), np.array(idx), fps, sha256(path), n, scale)
    if int((clip.usable & clip.train).sum()) < MIN_USABLE:
        raise EnrollInputError(f"only {int((clip.usable & clip.train).sum())} frames had one clearly detected "
                               f"face (need {MIN_USABLE}): record again with your face in full view",
                               redo=("look_straight",))
    return clip


# Too little head rotation is a warning, not an error: the sides the clip never showed are filled
# from the mirror image and the studio skin in the person's tone, and the avatar is still theirs
# (docs/enrollment.md: a clip whose head stays still scores an identity distance far below the
# default avatar's). The warning names the prompts to redo for a better avatar.
GOOD_YAW_DEG = 12.0  # each way from the median pose


def rotation_coverage(H: np.ndarray, good_deg: float = GOOD_YAW_DEG) -> tuple[str, ...]:
    """The turn prompts not covered well, from the fitted poses H (N, 6) (ry > 0 turns to image-right)."""
    ry = np.degrees(H[:, 2])
    ry = ry - np.median(ry)
    redo = []
    if ry.min() > -good_deg:
        redo.append("turn_left")
    if ry.max() < good_deg:
        redo.append("turn_right")
    return tuple(redo)


def yaw_range(H: np.ndarray) -> float:
    """Total range of the fitted yaw (degrees), robust to a stray frame (2nd to 98th percentile)."""
    ry = np.degrees(H[:, 2])
    return float(np.percentile(ry, 98) - np.percentile(ry, 2))


__all__ = ["EnrollClip", "EnrollInputError", "HOLD_BACK", "read_clip", "rotation_coverage", "yaw_range"]
