"""Scheduled re-detection without the frame-time spike (issue 16, "the HOG re-detection spike").

A tracked face is checked against the face-box detector every N frames. On the whole frame that
costs dlib's HOG about 25 ms on a 512 px frame and 60+ ms on a 720 x 1280 one, all inside one
frame. Two cheaper parts do the same job:

- :func:`detect_near`: the detector on a window of ``REGION`` box sizes around the tracked box,
  resized so that the face is about ``FACE_PX`` wide (HOG at upsample 0 needs faces of ~80 px):
  about 5 ms whatever the frame size. It answers "is the tracked face still a face, and where is
  its detector box" (the box calibration of :class:`TrackingLandmarks`).
- :class:`FullScan`: the whole-frame detection on a worker thread, which answers "how many faces
  are in view, and is there a larger one than the tracked face". dlib's HOG releases the GIL
  (measured: a pure-Python loop beside it ran at 1.05x its solo speed), so the tracking thread goes
  on meanwhile; the answer arrives some frames later. Because it runs beside the tracking thread,
  it must be given a detector object of its own (``HogBoxDetector.clone()``): dlib's detector and
  OpenCV's cascade keep per-call state.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import cv2
import numpy as np

from models.facebox import Box, box_size, unscale_box

REGION = 2.4  # window side in tracked-box sizes (a face moves < 0.7 box sizes between checks)
FACE_PX = 120.0  # face width in the resized window (HOG at upsample 0 finds faces >= ~80 px)
MIN_SCALE, MAX_SCALE = 0.2, 2.0

Detect = Callable[[np.ndarray], list[tuple[Box, float]]]


def detect_near(detect: Detect, image: np.ndarray, box: Box, region: float = REGION,
                face_px: float = FACE_PX) -> list[tuple[Box, float]]:
    """Face boxes found by ``detect`` in a window around ``box``, in frame pixels, largest first.

    image (H, W[, 3]) uint8; box (x0, y0, x1, y1) frame pixels. The window (``region`` box sizes a
    side, clipped to the frame) is resized by f = face_px / box size (clipped to [0.2, 2]) so
    that the detector sees the face at about ``face_px`` pixels; boxes map back with the
    pixel-centre convention x = (x' + 0.5) / f - 0.5 + x0.
    """
    size = box_size(box)
    if not np.isfinite(size) or size < 1:
        return []
    cx, cy, half = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2, region * size / 2
    h, w = image.shape[:2]
    x0, y0 = max(0, int(np.floor(cx - half))), max(0, int(np.floor(cy - half)))
    x1, y1 = min(w, int(np.ceil(cx + half))), min(h, int(np.ceil(cy + half)))
    if x1 - x0 < 16 or y1 - y0 < 16:
        return []
    f = float(np.clip(face_px / size, MIN_SCALE, MAX_SCALE))
    window = np.ascontiguousarray(image[y0:y1, x0:x1])
    small = cv2.resize(window, None, fx=f, fy=f, interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR)
    out = []
    for b, score in detect(small):
        u = unscale_box(b, f)
        out.append(((u[0] + x0, u[1] + y0, u[2] + x0, u[3] + y0), score))
    return out


class FullScan:
    """Whole-frame face-box detection on one worker thread, one scan at a time.

    ``detect`` must be used by this object only (it runs on the worker thread). ``start(image,
    box)`` starts a scan of a copy of ``image`` unless one is running (then it returns False);
    ``poll()`` returns ``(boxes, box at start)`` once, when the scan has finished, else None.
    ``cancel()`` forgets a running scan (its answer is dropped; the worker still finishes it).
    When the object is collected, its idle worker thread is woken and exits.
    """

    def __init__(self, detect: Detect) -> None:
        self._detect = detect
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._job: tuple[Future, Box] | None = None
        self._last: Future | None = None  # the newest scan, answered or forgotten
        self.scans = self.errors = 0

    def start(self, image: np.ndarray, box: Box) -> bool:
        with self._lock:
            if self._job is not None or (self._last is not None and not self._last.done()):
                return False  # one at a time, a forgotten one included
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="face-scan")
            try:
                fut = self._pool.submit(self._detect, image.copy())
            except RuntimeError:  # the interpreter is shutting down: no more scans
                return False
            self._job, self._last = (fut, box), fut
            self.scans += 1
            return True

    def poll(self) -> tuple[list[tuple[Box, float]], Box] | None:
        with self._lock:
            if self._job is None or not self._job[0].done():
                return None
            fut, box = self._job
            self._job = None
        if fut.exception() is not None:  # a failed scan tells nothing; the track goes on
            self.errors += 1
            return None
        return fut.result(), box

    def wait(self, timeout: float | None = None) -> None:
        """Block until the newest scan (if any, a forgotten one included) has finished."""
        last = self._last
        if last is not None:
            last.exception(timeout)

    def cancel(self) -> None:
        with self._lock:
            self._job = None

    def close(self) -> None:
        self.cancel()
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None
